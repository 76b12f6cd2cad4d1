/*
 * Tests of src/guard/guard.c: strictly-greater acceptance, atomicity under
 * threads, durability across reopen and SIGKILL, and the refusal to trust a
 * damaged, foreign, truncated, missing or locked file.
 *
 * Files live in a fresh mkdtemp directory per case, removed by the teardown.
 * The on-disk layout constants below restate the format documented at the
 * top of guard.c; file_format_v3_is_stable pins it byte for byte, and
 * version_1_file_is_upgraded_keeping_its_mark and
 * version_2_file_is_upgraded_minter_unknown start from older bytes.
 *
 * Randomized cases draw from a seed: BATON_TEST_SEED if set, else one from
 * the clock. On failure they print it with the command that replays it.
 */
#include "unit/test_main.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "baton/baton.h"
#include "baton/guard.h"
#include "sim/prng.h"

/* The v3 layout (guard.c): header page, then one page per slot. Version 2
 * had the same pages with 89-byte slots (a node name as minter), version 1
 * with 24-byte slots and no minter. */
#define PAGE 4096
#define FILE_SIZE (3 * PAGE)
#define SLOT0 PAGE
#define SLOT1 (2 * PAGE)
#define SLOT_LEN 106
#define SLOT_V2_LEN 89
#define SLOT_V1_LEN 24

/* Minters name processes: node, '#', boot as 16 hex digits (baton.h). */
#define M1 "n1#0000000000000001"
#define M2 "n2#0000000000000002"
#define M7 "n7#0000000000000007"
#define M1_TWIN "n1#00000000000000f1" /* another process claiming node n1 */

/* ---- fixture: a private directory and a guard path inside it ---------- */

struct fixture {
    char dir[PATH_MAX / 2]; /* the mkdtemp directory */
    char path[PATH_MAX];    /* dir/guard, the guard file under test */
};

static int setup_dir(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    const char *base = getenv("TMPDIR");
    snprintf(fx->dir, sizeof fx->dir, "%s/baton-guard-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    snprintf(fx->path, sizeof fx->path, "%s/guard", fx->dir);
    *state = fx;
    return 0;
}

static int teardown_dir(void **state)
{
    struct fixture *fx = *state;
    DIR *d = opendir(fx->dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[PATH_MAX + 256];
            snprintf(p, sizeof p, "%s/%s", fx->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* ---- offers ---------------------------------------------------------------- */

/* Offers the term (token, minter), reporting only the mark's token in *hw
 * (if not NULL). */
static int offer_as(struct baton_guard *g, uint64_t token, const char *minter, uint64_t *hw)
{
    struct baton_guard_mark m;
    memset(&m, 0xA5, sizeof m);
    int rc = baton_guard_offer(g, token, minter, minter ? strlen(minter) : 0, hw ? &m : NULL);
    if (hw)
        *hw = m.token;
    return rc;
}

/* Most cases offer every term as minted by process M1. */
static int offer(struct baton_guard *g, uint64_t token, uint64_t *hw)
{
    return offer_as(g, token, M1, hw);
}

/* ---- file helpers -------------------------------------------------------- */

static size_t read_whole(const char *path, uint8_t *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        assert_true(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got;
}

static void write_at(const char *path, off_t off, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
    close(fd);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    if (n > 0)
        assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void flip_byte(const char *path, off_t off)
{
    uint8_t b;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x5A;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh guard file at path whose slots hold, in order, the given raises. */
static void make_guard_file(const char *path, const uint64_t *raises, size_t n)
{
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(path, BATON_GUARD_CREATE, &g), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(offer(g, raises[i], NULL), 0);
    baton_guard_close(g);
}

static int open_status(const char *path, uint64_t *high_water)
{
    struct baton_guard *g = NULL;
    int rc = baton_guard_open(path, 0, &g);
    if (rc == 0) {
        if (high_water)
            *high_water = baton_guard_high_water(g);
        baton_guard_close(g);
    } else {
        assert_null(g);
    }
    return rc;
}

/* ---- flush interposition ------------------------------------------------ */

/*
 * tests/CMakeLists.txt links this test with -Wl,--wrap=fdatasync,--wrap=fsync,
 * so the guard's flushes come here first. The wrappers count them, can fail
 * the next fdatasync, and record what the world looked like at each flush:
 * the only way short of pulling the power to check that the guard flushes,
 * in the right order.
 */
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
int __real_fsync(int fd);
int __wrap_fsync(int fd);

static atomic_int fdatasync_calls;                   /* fdatasync calls so far */
static atomic_int fdatasync_fail_next;               /* 1: the next one fails with EIO */
static const struct baton_guard *_Atomic sync_watch; /* guard whose visible mark to record */
static _Atomic uint64_t mark_seen_at_sync;           /* its mark at the last fdatasync */
static const char *_Atomic fsync_watch;              /* path whose existence to record */
static char fsync_log[16];     /* per fsync: F/f file, D/d dir; upper: path existed */
static atomic_int fsync_count; /* entries in fsync_log */

int __wrap_fdatasync(int fd)
{
    atomic_fetch_add(&fdatasync_calls, 1);
    const struct baton_guard *g = atomic_load(&sync_watch);
    if (g)
        atomic_store(&mark_seen_at_sync, baton_guard_high_water(g));
    if (atomic_exchange(&fdatasync_fail_next, 0)) {
        errno = EIO;
        return -1;
    }
    return __real_fdatasync(fd);
}

int __wrap_fsync(int fd)
{
    const char *path = atomic_load(&fsync_watch);
    int i = atomic_fetch_add(&fsync_count, 1);
    if (path && i < (int)sizeof fsync_log - 1) {
        struct stat st, at_path;
        bool is_dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
        bool path_exists = stat(path, &at_path) == 0;
        fsync_log[i] = is_dir ? (path_exists ? 'D' : 'd') : (path_exists ? 'F' : 'f');
    }
    return __real_fsync(fd);
}

/* ---- seeded randomness --------------------------------------------------- */

/* splitmix64, the simulator's. */
static uint64_t splitmix64(uint64_t *s) { return bt_splitmix64(s); }

static uint64_t test_seed(const char *name)
{
    const char *env = getenv("BATON_TEST_SEED");
    uint64_t seed;
    if (env && *env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t mix =
            (uint64_t)ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20) ^ ((uint64_t)getpid() << 40);
        seed = splitmix64(&mix);
    }
    print_message("%s: seed %" PRIu64 "\n", name, seed);
    return seed;
}

/* fail_msg with the seed and the replay command appended. */
#define seeded_check(cond, seed, name, ...)                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error(__VA_ARGS__);                                                              \
            fail_msg("%s:%d: %s; seed %" PRIu64 ", replay from the build directory: "              \
                     "BATON_TEST_SEED=%" PRIu64 " ctest -R '^guard.%s$' --output-on-failure",      \
                     __FILE__, __LINE__, #cond, (seed), (seed), (name));                           \
        }                                                                                          \
    } while (0)

/* ---- the rule: strictly greater ------------------------------------------ */

static void check_strictly_greater(struct baton_guard *g)
{
    uint64_t hw = 99;
    assert_int_equal(baton_guard_high_water(g), 0);
    assert_int_equal(offer(g, 1, &hw), 0);
    assert_int_equal(hw, 1);
    assert_int_equal(offer(g, 10, &hw), 0);
    assert_int_equal(hw, 10);
    assert_int_equal(offer(g, 11, NULL), 0);
    /* Gaps are fine: only the order matters. */
    assert_int_equal(offer(g, 5000, &hw), 0);
    assert_int_equal(hw, 5000);
    assert_int_equal(baton_guard_high_water(g), 5000);
}

static void check_equal_and_lower_refused(struct baton_guard *g)
{
    uint64_t hw = 0;
    assert_int_equal(offer(g, 700, &hw), 0);
    /* Equal from the same minter: the same term presented again (a lost
     * reply, a new session) is admitted, and changes nothing. */
    hw = 0;
    assert_int_equal(offer(g, 700, &hw), 0);
    assert_int_equal(hw, 700);
    /* Equal from another minter: the other side of a partition minted the
     * same token; only the first term in gets in. */
    hw = 0;
    assert_int_equal(offer_as(g, 700, M2, &hw), BATON_ESTALE);
    assert_int_equal(hw, 700);
    struct baton_guard_mark m;
    memset(&m, 0, sizeof m);
    assert_int_equal(baton_guard_offer(g, 700, M1 "x", strlen(M1), &m),
                     0); /* the length counts, not the NUL */
    /* Equal from a twin: another process claiming the same node name
     * (issue 8 item 5, simulator finding E13) minted it: another term. */
    assert_int_equal(baton_guard_offer(g, 700, M1_TWIN, strlen(M1_TWIN), &m), BATON_ESTALE);
    assert_int_equal(m.token, 700);
    assert_int_equal(m.minter_len, strlen(M1));
    assert_string_equal(m.minter, M1);
    /* Lower: a stale leader, told what beat it. */
    hw = 0;
    assert_int_equal(offer(g, 699, &hw), BATON_ESTALE);
    assert_int_equal(hw, 700);
    hw = 0;
    assert_int_equal(offer_as(g, 1, M2, &hw), BATON_ESTALE);
    assert_int_equal(hw, 700);
    assert_int_equal(offer(g, 1, NULL), BATON_ESTALE);
    assert_int_equal(baton_guard_high_water(g), 700);
    /* A refusal raises nothing: 701 is still acceptable, from anyone, and
     * then it is n2's term that may be presented again, not n1's. */
    assert_int_equal(offer_as(g, 701, M2, &hw), 0);
    assert_int_equal(hw, 701);
    assert_int_equal(offer_as(g, 701, M2, NULL), 0);
    assert_int_equal(offer(g, 701, NULL), BATON_ESTALE);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, 701);
    assert_string_equal(m.minter, M2);
}

static void memory_guard_accepts_only_strictly_greater_tokens(void **state)
{
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_new(NULL, &g), 0);
    check_strictly_greater(g);
    baton_guard_free(g);
}

static void memory_guard_refuses_lower_and_another_minters_equal_token(void **state)
{
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_new(NULL, &g), 0);
    check_equal_and_lower_refused(g);
    baton_guard_free(g);
}

static void file_guard_accepts_only_strictly_greater_tokens(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    check_strictly_greater(g);
    baton_guard_close(g);
}

static void file_guard_refuses_lower_and_another_minters_equal_token(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    check_equal_and_lower_refused(g);
    baton_guard_close(g);
}

static void refused_offers_do_not_touch_the_file(void **state)
{
    struct fixture *fx = *state;
    static uint8_t before[FILE_SIZE + 1], after[FILE_SIZE + 1];
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    assert_int_equal(offer(g, 50, NULL), 0);
    size_t n = read_whole(fx->path, before, sizeof before);
    assert_int_equal(offer(g, 50, NULL), 0); /* the same term again: nothing to write */
    assert_int_equal(offer_as(g, 50, M2, NULL), BATON_ESTALE);
    assert_int_equal(offer(g, 3, NULL), BATON_ESTALE);
    assert_int_equal(offer(g, 0, NULL), BATON_EINVAL);
    assert_int_equal(read_whole(fx->path, after, sizeof after), n);
    assert_memory_equal(before, after, n);
    baton_guard_close(g);
}

static void new_guard_starts_at_the_given_mark(void **state)
{
    struct baton_guard *g = NULL;
    uint64_t hw = 0;
    struct baton_guard_mark start, m;
    /* A bare token (minter unknown): an equal token is refused from anyone. */
    memset(&start, 0, sizeof start);
    start.token = 1000;
    assert_int_equal(baton_guard_new(&start, &g), 0);
    assert_int_equal(baton_guard_high_water(g), 1000);
    assert_int_equal(offer(g, 1000, &hw), BATON_ESTALE);
    assert_int_equal(hw, 1000);
    assert_int_equal(offer_as(g, 1000, M2, &hw), BATON_ESTALE);
    assert_int_equal(offer(g, 1001, NULL), 0);
    baton_guard_free(g);

    /* A saved mark with its minter: that minter's term is admitted again. */
    g = NULL;
    memcpy(start.minter, M7, sizeof M7);
    start.minter_len = strlen(M7);
    assert_int_equal(baton_guard_new(&start, &g), 0);
    assert_int_equal(offer_as(g, 1000, M7, NULL), 0);
    assert_int_equal(offer(g, 1000, NULL), BATON_ESTALE);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, 1000);
    assert_int_equal(m.minter_len, strlen(M7));
    assert_string_equal(m.minter, M7);
    baton_guard_free(g);

    g = NULL;
    memset(&start, 0, sizeof start);
    start.token = BATON_TOKEN_MAX;
    assert_int_equal(baton_guard_new(&start, &g), 0);
    assert_int_equal(offer(g, BATON_TOKEN_MAX, NULL), BATON_ESTALE);
    baton_guard_free(g);

    /* Invalid marks. */
    g = NULL;
    start.token = BATON_TOKEN_MAX + 1;
    assert_int_equal(baton_guard_new(&start, &g), BATON_EINVAL);
    start.token = 0; /* nothing admitted, yet a minter */
    start.minter_len = strlen(M1);
    memcpy(start.minter, M1, sizeof M1);
    assert_int_equal(baton_guard_new(&start, &g), BATON_EINVAL);
    start.token = 5;
    start.minter_len = BATON_MINTER_MAX + 1;
    assert_int_equal(baton_guard_new(&start, &g), BATON_EINVAL);
    start.minter_len = 2;
    memcpy(start.minter, "n ", 3);
    assert_int_equal(baton_guard_new(&start, &g), BATON_EINVAL);
    memcpy(start.minter, "n1", 3); /* a node name is no process */
    assert_int_equal(baton_guard_new(&start, &g), BATON_EINVAL);
    assert_null(g);
    assert_int_equal(baton_guard_new(NULL, NULL), BATON_EINVAL);
    assert_int_equal(baton_guard_new(NULL, &g), 0);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, 0);
    assert_int_equal(m.minter_len, 0);
    assert_int_equal(baton_guard_mark(g, NULL), BATON_EINVAL);
    assert_int_equal(baton_guard_mark(NULL, &m), BATON_EINVAL);
    baton_guard_free(g);
}

/* The minter names a process: a node name (1..64 bytes of
 * [A-Za-z0-9._:@-]), '#', and the boot as 16 lowercase hex digits, not all
 * zero. Anything else, a bare node name included, is invalid and changes
 * nothing. */
static void bad_minters_are_invalid(void **state)
{
    struct baton_guard *g = NULL;
    struct baton_guard_mark m;
    char longest[BATON_MINTER_MAX + 2];
    memset(longest, 'a', BATON_NODE_MAX);
    memcpy(longest + BATON_NODE_MAX, "#0123456789abcdef", 18);
    assert_int_equal(strlen(longest), BATON_MINTER_MAX);
    assert_int_equal(baton_guard_new(NULL, &g), 0);
    assert_int_equal(baton_guard_offer(g, 5, NULL, 2, &m), BATON_EINVAL);
    assert_int_equal(m.token, 0);
    assert_int_equal(baton_guard_offer(g, 5, M1, 0, NULL), BATON_EINVAL);
    const char *bad[] = {
        "n1",                   /* a node name alone: which process? */
        "n1#",                  /* no boot */
        "n1#000000000000001",   /* 15 digits */
        "n1#00000000000000001", /* 17 digits */
        "n1#0000000000000000",  /* boot 0 */
        "n1#000000000000000A",  /* upper case */
        "n1#000000000000000g",  /* no hex digit */
        "#0000000000000001",    /* no node name */
        "n 1#0000000000000001", /* no node name */
        "n/1#0000000000000001", /* no node name */
        "n1#0000000000000001 ", /* a trailing byte */
        "n1#0000#00000000001",  /* '#' inside the boot */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(baton_guard_offer(g, 5, bad[i], strlen(bad[i]), NULL), BATON_EINVAL);
    assert_int_equal(baton_guard_offer(g, 5, "n\0001#0000000000000001", 20, NULL), BATON_EINVAL);
    char too_long[BATON_MINTER_MAX + 2];
    memset(too_long, 'a', BATON_NODE_MAX + 1);
    memcpy(too_long + BATON_NODE_MAX + 1, "#0123456789abcdef", 18);
    assert_int_equal(baton_guard_offer(g, 5, too_long, BATON_MINTER_MAX + 1, NULL), BATON_EINVAL);
    assert_int_equal(baton_guard_high_water(g), 0);
    assert_int_equal(baton_guard_offer(g, 5, longest, BATON_MINTER_MAX, &m), 0);
    assert_int_equal(m.minter_len, BATON_MINTER_MAX);
    assert_string_equal(m.minter, longest);
    assert_int_equal(baton_guard_offer(g, 6, "A-z.0_9:x@y#ffffffffffffffff", 28, &m), 0);
    assert_string_equal(m.minter, "A-z.0_9:x@y#ffffffffffffffff");
    baton_guard_free(g);
}

/* Token 0 is never a fencing token and tokens above INT64_MAX do not fit
 * BIGINT: both are invalid, not stale, and leave the guard as it was. */
static void token_zero_and_tokens_above_int64_max_are_invalid(void **state)
{
    struct baton_guard *g = NULL;
    uint64_t hw = 99;
    assert_int_equal(baton_guard_new(NULL, &g), 0);
    assert_int_equal(offer(g, 0, &hw), BATON_EINVAL);
    assert_int_equal(hw, 0);
    assert_int_equal(offer(g, BATON_TOKEN_MAX + 1, &hw), BATON_EINVAL);
    assert_int_equal(offer(g, UINT64_MAX, &hw), BATON_EINVAL);
    assert_int_equal(hw, 0);
    assert_int_equal(baton_guard_high_water(g), 0);
    assert_int_equal(offer(g, 7, NULL), 0);
    assert_int_equal(offer(g, UINT64_MAX, &hw), BATON_EINVAL);
    assert_int_equal(hw, 7);
    assert_int_equal(offer(g, BATON_TOKEN_MAX, &hw), 0);
    assert_int_equal(hw, BATON_TOKEN_MAX);
    assert_int_equal(offer(g, 0, NULL), BATON_EINVAL);
    assert_int_equal(offer(g, 8, NULL), BATON_ESTALE);
    baton_guard_free(g);
    assert_int_equal(offer(NULL, 5, &hw), BATON_EINVAL);
    baton_guard_free(NULL);
    baton_guard_close(NULL);
}

/* ---- flushing ------------------------------------------------------------ */

/* Each accepted raise costs exactly one fdatasync, made while readers still
 * see the old mark; refusals, invalid tokens and a term presented again
 * cost none. */
static void every_accepted_raise_is_flushed_before_it_is_visible(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    atomic_store(&sync_watch, g);
    uint64_t previous = 0;
    for (uint64_t t = 10; t <= 50; t += 10) {
        int before = atomic_load(&fdatasync_calls);
        assert_int_equal(offer(g, t, NULL), 0);
        assert_int_equal(atomic_load(&fdatasync_calls), before + 1);
        assert_int_equal(atomic_load(&mark_seen_at_sync), previous);
        assert_int_equal(baton_guard_high_water(g), t);
        previous = t;
    }
    int before = atomic_load(&fdatasync_calls);
    assert_int_equal(offer(g, 50, NULL), 0); /* the same term again */
    assert_int_equal(offer_as(g, 50, M2, NULL), BATON_ESTALE);
    assert_int_equal(offer(g, 20, NULL), BATON_ESTALE);
    assert_int_equal(offer(g, 0, NULL), BATON_EINVAL);
    assert_int_equal(atomic_load(&fdatasync_calls), before);
    atomic_store(&sync_watch, NULL);
    baton_guard_close(g);
}

/* Creation flushes the temporary file before the guard's name exists, then
 * the directory once it does. */
static void creation_flushes_the_file_then_the_directory(void **state)
{
    struct fixture *fx = *state;
    atomic_store(&fsync_count, 0);
    memset(fsync_log, 0, sizeof fsync_log);
    atomic_store(&fsync_watch, fx->path);
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    atomic_store(&fsync_watch, NULL);
    assert_string_equal(fsync_log, "fD");
    baton_guard_close(g);
    /* Opening an existing file flushes nothing. */
    atomic_store(&fsync_count, 0);
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    assert_int_equal(atomic_load(&fsync_count), 0);
    baton_guard_close(g);
}

/* A failed flush poisons the guard even though the next flush would work
 * (after a failed fsync, Linux may have dropped the dirty page and report
 * success next time). Reopening reads back whatever reached the file: the
 * old mark or the token whose flush failed, never anything else. */
static void failed_flush_poisons_the_guard_until_reopened(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {100};
    uint64_t hw = 0;
    make_guard_file(fx->path, raises, 1);
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    atomic_store(&fdatasync_fail_next, 1);
    errno = 0;
    assert_int_equal(offer(g, 200, &hw), BATON_EIO);
    assert_int_equal(errno, EIO);
    assert_int_equal(hw, 100);
    int before = atomic_load(&fdatasync_calls);
    assert_int_equal(offer(g, 300, &hw), BATON_EIO);
    assert_int_equal(hw, 100);
    assert_int_equal(atomic_load(&fdatasync_calls), before);
    assert_int_equal(baton_guard_high_water(g), 100);
    baton_guard_close(g);

    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_true(hw == 100 || hw == 200);
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(offer(g, 300, NULL), 0);
    baton_guard_close(g);
}

/* ---- concurrency ---------------------------------------------------------- */

/* One offer as a thread saw it, bracketed by tickets from a global counter:
 * start is taken before the call, end after it. */
struct offer_record {
    uint64_t token;      /* offered */
    uint64_t high_water; /* what the call reported */
    int rc;              /* what it returned */
    uint64_t start, end; /* tickets around the call */
    size_t thread;       /* the offering thread, whose index is its minter */
};

struct offer_thread {
    struct baton_guard *guard;    /* shared by all threads */
    atomic_uint_fast64_t *ticket; /* shared ticket counter */
    pthread_barrier_t *start;     /* all threads begin offering together */
    uint64_t seed;                /* this thread's PRNG seed */
    size_t count;                 /* offers to make */
    struct offer_record *records; /* count records, filled by the thread */
    uint64_t max_offered;         /* greatest token it offered */
    size_t index; /* this thread's number; it offers as minter "t<index>#<index+1>" */
};

static void *offer_thread_main(void *arg)
{
    struct offer_thread *t = arg;
    uint64_t rng = t->seed;
    char minter[48];
    snprintf(minter, sizeof minter, "t%zu#%016zx", t->index, t->index + 1);
    t->max_offered = 0;
    pthread_barrier_wait(t->start);
    for (size_t k = 0; k < t->count; k++) {
        uint64_t r = splitmix64(&rng);
        uint64_t token;
        /* Mostly tokens near 2k, overlapping the other threads' (so equal
         * and slightly lower tokens race), sometimes a long-stale one. */
        if (r % 8 == 0)
            token = 1 + (r >> 8) % (2 * k + 1);
        else
            token = 2 * (uint64_t)k + 1 + (r >> 8) % 6;
        if (token > t->max_offered)
            t->max_offered = token;
        struct offer_record *rec = &t->records[k];
        rec->token = token;
        rec->thread = t->index;
        rec->start = atomic_fetch_add(t->ticket, 1);
        rec->rc = offer_as(t->guard, token, minter, &rec->high_water);
        rec->end = atomic_fetch_add(t->ticket, 1);
    }
    return NULL;
}

static int by_end(const void *a, const void *b)
{
    const struct offer_record *x = *(const struct offer_record *const *)a;
    const struct offer_record *y = *(const struct offer_record *const *)b;
    return (x->end > y->end) - (x->end < y->end);
}

static int by_token(const void *a, const void *b)
{
    const struct offer_record *x = *(const struct offer_record *const *)a;
    const struct offer_record *y = *(const struct offer_record *const *)b;
    return (x->token > y->token) - (x->token < y->token);
}

/*
 * Runs nthreads threads of count offers each on g and checks that what they
 * saw is explainable by one sequence of atomic compare-and-raise steps:
 *  1. every result is 0 (and reports the token) or ESTALE (and reports a mark
 *     >= the token);
 *  2. no token is accepted from two minters (threads);
 *  3. an offer that began after an accepted offer of token a had returned saw
 *     a mark >= a: if accepted, its token is >= a (the accepted sequence
 *     never decreases in real time, and by 2 an equal token is the same
 *     minter's); if refused, it reported >= a;
 *  4. the final mark is the greatest token offered.
 * Returns the final mark.
 */
static uint64_t run_concurrent_offers(struct baton_guard *g, size_t nthreads, size_t count,
                                      uint64_t seed, const char *name)
{
    atomic_uint_fast64_t ticket;
    atomic_init(&ticket, 0);
    struct offer_thread threads[8];
    pthread_t ids[8];
    pthread_barrier_t start;
    assert_true(nthreads <= 8);
    assert_int_equal(pthread_barrier_init(&start, NULL, (unsigned)nthreads), 0);
    uint64_t rng = seed, max_offered = 0;
    for (size_t i = 0; i < nthreads; i++) {
        threads[i] = (struct offer_thread){g, &ticket, &start, splitmix64(&rng), count, NULL, 0, i};
        threads[i].records = calloc(count, sizeof *threads[i].records);
        assert_non_null(threads[i].records);
    }
    for (size_t i = 0; i < nthreads; i++)
        assert_int_equal(pthread_create(&ids[i], NULL, offer_thread_main, &threads[i]), 0);
    for (size_t i = 0; i < nthreads; i++)
        assert_int_equal(pthread_join(ids[i], NULL), 0);
    pthread_barrier_destroy(&start);

    struct offer_record **accepted = calloc(nthreads * count, sizeof *accepted);
    struct offer_record **all = calloc(nthreads * count, sizeof *all);
    assert_non_null(accepted);
    assert_non_null(all);
    size_t naccepted = 0, nall = 0;
    for (size_t i = 0; i < nthreads; i++) {
        if (threads[i].max_offered > max_offered)
            max_offered = threads[i].max_offered;
        for (size_t k = 0; k < count; k++) {
            struct offer_record *rec = &threads[i].records[k];
            all[nall++] = rec;
            /* 1. */
            if (rec->rc == 0) {
                seeded_check(rec->high_water == rec->token, seed, name,
                             "accepted %" PRIu64 " reported %" PRIu64 "\n", rec->token,
                             rec->high_water);
                accepted[naccepted++] = rec;
            } else {
                seeded_check(rec->rc == BATON_ESTALE, seed, name,
                             "offer of %" PRIu64 " returned %d\n", rec->token, rec->rc);
                seeded_check(rec->high_water >= rec->token, seed, name,
                             "refused %" PRIu64 " reporting lower mark %" PRIu64 "\n", rec->token,
                             rec->high_water);
            }
        }
    }
    seeded_check(naccepted > 0, seed, name, "nothing accepted\n");

    /* 2. */
    qsort(accepted, naccepted, sizeof *accepted, by_token);
    for (size_t i = 1; i < naccepted; i++)
        seeded_check(accepted[i]->token != accepted[i - 1]->token ||
                         accepted[i]->thread == accepted[i - 1]->thread,
                     seed, name, "token %" PRIu64 " accepted from two minters\n",
                     accepted[i]->token);

    /* 3. prefix_max[i] = greatest token among the i accepted offers that
     *    ended first. For each offer, the accepted offers that ended before
     *    it started form such a prefix. */
    qsort(accepted, naccepted, sizeof *accepted, by_end);
    uint64_t *prefix_max = calloc(naccepted + 1, sizeof *prefix_max);
    assert_non_null(prefix_max);
    for (size_t i = 0; i < naccepted; i++)
        prefix_max[i + 1] = accepted[i]->token > prefix_max[i] ? accepted[i]->token : prefix_max[i];
    for (size_t j = 0; j < nall; j++) {
        struct offer_record *rec = all[j];
        size_t lo = 0, hi = naccepted; /* count of accepted with end < rec->start */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (accepted[mid]->end < rec->start)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint64_t before = prefix_max[lo];
        if (rec->rc == 0)
            seeded_check(rec->token >= before, seed, name,
                         "accepted %" PRIu64 " after %" PRIu64 " had already been accepted\n",
                         rec->token, before);
        else
            seeded_check(rec->high_water >= before, seed, name,
                         "refusal reported %" PRIu64 " after %" PRIu64 " had been accepted\n",
                         rec->high_water, before);
    }

    /* 4. */
    uint64_t final = baton_guard_high_water(g);
    seeded_check(final == max_offered, seed, name,
                 "final mark %" PRIu64 ", greatest offered %" PRIu64 "\n", final, max_offered);

    free(prefix_max);
    free(accepted);
    free(all);
    for (size_t i = 0; i < nthreads; i++)
        free(threads[i].records);
    return final;
}

static void concurrent_offers_accept_a_strictly_increasing_sequence(void **state)
{
    const char *name = "concurrent_offers_accept_a_strictly_increasing_sequence";
    uint64_t seed = test_seed(name);
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_new(NULL, &g), 0);
    run_concurrent_offers(g, 4, 20000, seed, name);
    baton_guard_free(g);
}

static void concurrent_offers_on_a_file_guard_persist_the_maximum(void **state)
{
    const char *name = "concurrent_offers_on_a_file_guard_persist_the_maximum";
    struct fixture *fx = *state;
    uint64_t seed = test_seed(name);
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    /* Every accepted raise is an fdatasync: keep the count small. */
    uint64_t final = run_concurrent_offers(g, 3, 40, seed, name);
    baton_guard_close(g);
    uint64_t reopened = 0;
    assert_int_equal(open_status(fx->path, &reopened), 0);
    seeded_check(reopened == final, seed, name, "reopened at %" PRIu64 ", closed at %" PRIu64 "\n",
                 reopened, final);
}

/* ---- durability ------------------------------------------------------------ */

static void reopen_keeps_the_mark_and_its_minter(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *g = NULL;
    uint64_t hw = 0;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    assert_int_equal(baton_guard_high_water(g), 0);
    assert_int_equal(offer(g, 1234, NULL), 0);
    baton_guard_close(g);

    g = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(baton_guard_high_water(g), 1234);
    /* The minter survives too: its term is admitted again, no other's. */
    assert_int_equal(offer_as(g, 1234, M2, &hw), BATON_ESTALE);
    assert_int_equal(hw, 1234);
    assert_int_equal(offer(g, 1234, &hw), 0);
    /* Many raises, so both slots take turns more than once. */
    for (uint64_t t = 2000; t < 2010; t++)
        assert_int_equal(offer(g, t, NULL), 0);
    baton_guard_close(g);

    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 2009);
}

static void create_flag_on_an_existing_file_keeps_its_high_water(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {42};
    make_guard_file(fx->path, raises, 1);
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), 0);
    assert_int_equal(baton_guard_high_water(g), 42);
    baton_guard_close(g);
}

static void create_leaves_only_the_guard_file(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {1, 2, 3};
    make_guard_file(fx->path, raises, 3);
    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    size_t entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        assert_string_equal(e->d_name, "guard");
        entries++;
    }
    closedir(d);
    assert_int_equal(entries, 1);
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_size, FILE_SIZE);
}

/* A slot's bytes: tag, seq, token, minter length, minter padded to 81
 * bytes (version 3) or 64 (version 2), then the given checksum. */
static void any_slot(uint8_t *out, size_t len, unsigned index, uint64_t seq, uint64_t token,
                     const char *minter, const uint8_t crc[4])
{
    memset(out, 0, len);
    memcpy(out, "SLT", 3);
    out[3] = (uint8_t)('0' + index);
    for (int i = 0; i < 8; i++) {
        out[4 + i] = (uint8_t)(seq >> (56 - 8 * i));
        out[12 + i] = (uint8_t)(token >> (56 - 8 * i));
    }
    out[20] = (uint8_t)strlen(minter);
    memcpy(out + 21, minter, strlen(minter));
    memcpy(out + len - 4, crc, 4);
}

static void v3_slot(uint8_t out[SLOT_LEN], unsigned index, uint64_t seq, uint64_t token,
                    const char *minter, const uint8_t crc[4])
{
    any_slot(out, SLOT_LEN, index, seq, token, minter, crc);
}

static void v2_slot(uint8_t out[SLOT_V2_LEN], unsigned index, uint64_t seq, uint64_t token,
                    const char *minter, const uint8_t crc[4])
{
    any_slot(out, SLOT_V2_LEN, index, seq, token, minter, crc);
}

/* The exact bytes of a version 3 file: a format change must be deliberate.
 * The checksums were computed independently (Python, CRC32C checked against
 * the standard "123456789" -> 0xE3069283 vector, and against the version 2
 * values pinned before). */
static void file_format_v3_is_stable(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t header[16] = {'B', 'A', 'T', 'O', 'N',  'G',  'R',  'D',
                                       0,   0,   0,   3,   0xa9, 0x31, 0xf6, 0x28};
    static const uint8_t crc_s0_created[4] = {0xd9, 0x50, 0x10, 0x98};
    static const uint8_t crc_s1_created[4] = {0xd7, 0x1d, 0x43, 0x11};
    static const uint8_t crc_s1_raised[4] = {0xca, 0x66, 0xd6, 0x6b};
    static const uint8_t crc_s0_raised[4] = {0x9b, 0xd7, 0x0e, 0x99};
    static uint8_t image[FILE_SIZE + 1], expect[FILE_SIZE];
    uint8_t slot[SLOT_LEN];

    /* Created: slot 0 = (seq 1, mark 0, no minter), slot 1 = (seq 0, same). */
    make_guard_file(fx->path, NULL, 0);
    memset(expect, 0, sizeof expect);
    memcpy(expect, header, sizeof header);
    v3_slot(slot, 0, 1, 0, "", crc_s0_created);
    memcpy(expect + SLOT0, slot, SLOT_LEN);
    v3_slot(slot, 1, 0, 0, "", crc_s1_created);
    memcpy(expect + SLOT1, slot, SLOT_LEN);
    assert_int_equal(read_whole(fx->path, image, sizeof image), FILE_SIZE);
    assert_memory_equal(image, expect, FILE_SIZE);

    /* One raise goes to slot 1 with seq 2. */
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(offer_as(g, UINT64_C(0x0123456789abcdef), "node-7#00000000000000a7", NULL), 0);
    v3_slot(slot, 1, 2, UINT64_C(0x0123456789abcdef), "node-7#00000000000000a7", crc_s1_raised);
    memcpy(expect + SLOT1, slot, SLOT_LEN);
    assert_int_equal(read_whole(fx->path, image, sizeof image), FILE_SIZE);
    assert_memory_equal(image, expect, FILE_SIZE);

    /* The next raise goes back to slot 0 with seq 3. */
    assert_int_equal(offer_as(g, UINT64_C(0x0123456789abcdf0), "n@x:1#ffffffffffffffff", NULL), 0);
    baton_guard_close(g);
    v3_slot(slot, 0, 3, UINT64_C(0x0123456789abcdf0), "n@x:1#ffffffffffffffff", crc_s0_raised);
    memcpy(expect + SLOT0, slot, SLOT_LEN);
    assert_int_equal(read_whole(fx->path, image, sizeof image), FILE_SIZE);
    assert_memory_equal(image, expect, FILE_SIZE);
}

/* A version 3 slot whose minter is ill-formed is invalid although its
 * checksum (computed as above) is right: the older slot is used. After raises
 * 5 then 9, slot 0 holds (seq 3, 9) and slot 1 (seq 2, 5); each case rewrites
 * slot 0 with seq 3 and a bad minter. */
static void slot_with_a_bad_minter_is_invalid(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5, 9};
    static const uint8_t crc_zero_token[4] = {0x51, 0x63, 0x3b, 0xb3};
    static const uint8_t crc_padding[4] = {0x4d, 0x50, 0x03, 0x1c};
    static const uint8_t crc_bad_char[4] = {0x88, 0x08, 0xbb, 0xb7};
    static const uint8_t crc_bare_name[4] = {0x83, 0xe3, 0xb1, 0x37};
    static const uint8_t crc_boot_zero[4] = {0xd2, 0xdc, 0xad, 0xbb};
    uint8_t slot[SLOT_LEN];
    uint64_t hw = 0;

    /* A minter with token 0. */
    make_guard_file(fx->path, raises, 2);
    v3_slot(slot, 0, 3, 0, M1, crc_zero_token);
    write_at(fx->path, SLOT0, slot, SLOT_LEN);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);
    /* Nonzero padding after the minter. */
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    v3_slot(slot, 0, 3, 9, M1, crc_padding);
    slot[21 + strlen(M1) + 10] = 'x';
    write_at(fx->path, SLOT0, slot, SLOT_LEN);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);
    /* A byte no node name may hold. */
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    v3_slot(slot, 0, 3, 9, "n 1#0000000000000001", crc_bad_char);
    write_at(fx->path, SLOT0, slot, SLOT_LEN);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);
    /* A node name without the boot (a version 2 minter in a version 3 slot). */
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    v3_slot(slot, 0, 3, 9, "n1", crc_bare_name);
    write_at(fx->path, SLOT0, slot, SLOT_LEN);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);
    /* Boot 0. */
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    v3_slot(slot, 0, 3, 9, "n1#0000000000000000", crc_boot_zero);
    write_at(fx->path, SLOT0, slot, SLOT_LEN);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);
}

/* A version 1 file (bytes pinned by the old format test) opens with its mark,
 * minter unknown, and is rewritten as version 3 in place of the old file:
 * the same mode, one file in the directory, the old inode gone. */
static void version_1_file_is_upgraded_keeping_its_mark(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t header[16] = {'B', 'A', 'T', 'O', 'N',  'G',  'R',  'D',
                                       0,   0,   0,   1,   0x48, 0x0a, 0x86, 0xdf};
    static const uint8_t slot0[SLOT_V1_LEN] = {
        'S', 'L', 'T', '0', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x5c, 0x8e, 0x0b, 0xc3};
    static const uint8_t slot1_raised[SLOT_V1_LEN] = {
        'S',  'L',  'T',  '1',  0,    0,    0,    0,    0,    0,    0,    2,
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xb9, 0x9f, 0x66, 0x1f};
    static uint8_t image[FILE_SIZE + 1];
    memset(image, 0, sizeof image);
    memcpy(image, header, sizeof header);
    memcpy(image + SLOT0, slot0, sizeof slot0);
    memcpy(image + SLOT1, slot1_raised, sizeof slot1_raised);
    write_file(fx->path, image, FILE_SIZE);
    assert_int_equal(chmod(fx->path, 0640), 0);
    struct stat before, after;
    assert_int_equal(stat(fx->path, &before), 0);

    struct baton_guard *g = NULL;
    struct baton_guard_mark m;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, UINT64_C(0x0123456789abcdef));
    assert_int_equal(m.minter_len, 0);
    /* Minter unknown: the equal token is refused from everyone, as in v1. */
    assert_int_equal(offer(g, UINT64_C(0x0123456789abcdef), NULL), BATON_ESTALE);
    assert_int_equal(stat(fx->path, &after), 0);
    assert_true(after.st_ino != before.st_ino);
    assert_int_equal(after.st_mode & 07777, 0640);
    assert_int_equal(read_whole(fx->path, image, sizeof image), FILE_SIZE);
    assert_int_equal(image[11], 3);
    /* The upgraded file is locked by this guard. */
    struct baton_guard *other = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &other), BATON_EBUSY);
    assert_int_equal(offer(g, UINT64_C(0x0123456789abcdf0), NULL), 0);
    baton_guard_close(g);

    DIR *d = opendir(fx->dir);
    assert_non_null(d);
    size_t entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    assert_int_equal(entries, 1);

    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, UINT64_C(0x0123456789abcdf0));
    assert_string_equal(m.minter, M1);
    assert_int_equal(offer(g, UINT64_C(0x0123456789abcdf0), NULL), 0);
    baton_guard_close(g);
}

/* A version 2 file (bytes pinned by the version 2 format test: mark
 * 0x0123456789abcdef minted by node "node-7") opens with its mark's token,
 * minter unknown (a version 2 minter names a node, not which of its
 * processes: issue 8 item 5), and is rewritten as version 3 in place. */
static void version_2_file_is_upgraded_minter_unknown(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t header[16] = {'B', 'A', 'T', 'O', 'N',  'G',  'R',  'D',
                                       0,   0,   0,   2,   0x5b, 0x5a, 0x75, 0x2b};
    static const uint8_t crc_s0_created[4] = {0xdd, 0x04, 0x9c, 0x3f};
    static const uint8_t crc_s1_raised[4] = {0xff, 0xb9, 0x3c, 0x8e};
    static uint8_t image[FILE_SIZE + 1];
    uint8_t slot[SLOT_V2_LEN];
    memset(image, 0, sizeof image);
    memcpy(image, header, sizeof header);
    v2_slot(slot, 0, 1, 0, "", crc_s0_created);
    memcpy(image + SLOT0, slot, SLOT_V2_LEN);
    v2_slot(slot, 1, 2, UINT64_C(0x0123456789abcdef), "node-7", crc_s1_raised);
    memcpy(image + SLOT1, slot, SLOT_V2_LEN);
    write_file(fx->path, image, FILE_SIZE);
    struct stat before, after;
    assert_int_equal(stat(fx->path, &before), 0);

    struct baton_guard *g = NULL;
    struct baton_guard_mark m;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, UINT64_C(0x0123456789abcdef));
    assert_int_equal(m.minter_len, 0);
    /* Minter unknown: the equal token is refused from every process, those
     * of node-7 included. */
    const char *node7 = "node-7#00000000000000a7";
    assert_int_equal(offer_as(g, UINT64_C(0x0123456789abcdef), node7, NULL), BATON_ESTALE);
    assert_int_equal(stat(fx->path, &after), 0);
    assert_true(after.st_ino != before.st_ino);
    assert_int_equal(read_whole(fx->path, image, sizeof image), FILE_SIZE);
    assert_int_equal(image[11], 3);
    assert_int_equal(offer_as(g, UINT64_C(0x0123456789abcdf0), node7, NULL), 0);
    baton_guard_close(g);

    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(baton_guard_mark(g, &m), 0);
    assert_int_equal(m.token, UINT64_C(0x0123456789abcdf0));
    assert_string_equal(m.minter, node7);
    baton_guard_close(g);
}

/* After create (slot 0 newest), raises alternate 1, 0, 1...: raising 5 then 9
 * leaves 9 in slot 0 and 5 in slot 1. */
static void corrupt_newest_slot_falls_back_to_the_older_slot(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5, 9};
    uint64_t hw = 0;
    /* A flipped bit in the mark. */
    make_guard_file(fx->path, raises, 2);
    flip_byte(fx->path, SLOT0 + 19);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);

    /* A torn write: the second half of the slot never reached the disk. */
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    static const uint8_t zeros[SLOT_LEN / 2];
    write_at(fx->path, SLOT0 + SLOT_LEN / 2, zeros, sizeof zeros);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);

    /* A lost write to a slot that was never written: all zeros. */
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    static const uint8_t page[SLOT_LEN];
    write_at(fx->path, SLOT0, page, sizeof page);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 5);
}

static void corrupt_older_slot_keeps_the_newest_high_water(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5, 9};
    uint64_t hw = 0;
    make_guard_file(fx->path, raises, 2);
    flip_byte(fx->path, SLOT1 + 2);
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 9);
}

/* After a fallback the next raise must overwrite the damaged slot, never the
 * only good one: damage the other slot afterwards and the raise survives. */
static void raise_after_fallback_overwrites_the_corrupt_slot(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5, 9};
    uint64_t hw = 0;
    make_guard_file(fx->path, raises, 2);
    flip_byte(fx->path, SLOT0 + SLOT_LEN - 2); /* the checksum of the slot holding 9 */

    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    assert_int_equal(baton_guard_high_water(g), 5);
    assert_int_equal(offer(g, 7, NULL), 0);
    baton_guard_close(g);

    flip_byte(fx->path, SLOT1 + 10); /* the slot that held 5 */
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 7);
}

static void both_slots_corrupt_is_ecorrupt(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5, 9};
    make_guard_file(fx->path, raises, 2);
    flip_byte(fx->path, SLOT0 + 12);
    flip_byte(fx->path, SLOT1 + 12);
    assert_int_equal(open_status(fx->path, NULL), BATON_ECORRUPT);
    /* A slot copied into the other's page (a misdirected write) does not
     * count as valid there either. */
    static uint8_t slot[SLOT_LEN];
    unlink(fx->path);
    make_guard_file(fx->path, raises, 2);
    static uint8_t image[FILE_SIZE + 1];
    read_whole(fx->path, image, sizeof image);
    memcpy(slot, image + SLOT0, SLOT_LEN);
    write_at(fx->path, SLOT1, slot, SLOT_LEN);
    flip_byte(fx->path, SLOT0 + 12);
    assert_int_equal(open_status(fx->path, NULL), BATON_ECORRUPT);
    /* The file is left as it was for a human to look at. */
    struct stat st;
    assert_int_equal(stat(fx->path, &st), 0);
    assert_int_equal(st.st_size, FILE_SIZE);
}

static void wrong_magic_is_eforeign(void **state)
{
    struct fixture *fx = *state;
    make_guard_file(fx->path, NULL, 0);
    write_at(fx->path, 0, "SQLite f", 8);
    assert_int_equal(open_status(fx->path, NULL), BATON_EFOREIGN);

    /* Short files that are not a prefix of the magic are foreign too. */
    write_file(fx->path, "hi\n", 3);
    assert_int_equal(open_status(fx->path, NULL), BATON_EFOREIGN);
    static uint8_t text[FILE_SIZE];
    memset(text, 'x', sizeof text);
    write_file(fx->path, text, sizeof text);
    assert_int_equal(open_status(fx->path, NULL), BATON_EFOREIGN);
}

static void unknown_version_is_eversion_and_damaged_header_is_ecorrupt(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5};
    make_guard_file(fx->path, raises, 1);
    static const uint8_t v4[4] = {0, 0, 0, 4};
    write_at(fx->path, 8, v4, sizeof v4);
    assert_int_equal(open_status(fx->path, NULL), BATON_EVERSION);

    unlink(fx->path);
    make_guard_file(fx->path, raises, 1);
    flip_byte(fx->path, 14); /* header checksum */
    assert_int_equal(open_status(fx->path, NULL), BATON_ECORRUPT);
}

static void truncated_or_extended_file_is_ecorrupt(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {5, 9};
    static uint8_t image[FILE_SIZE + 1];
    make_guard_file(fx->path, raises, 2);
    assert_int_equal(read_whole(fx->path, image, sizeof image), FILE_SIZE);

    const size_t lengths[] = {
        0, 1, 7, 8, 11, 12, 15, 16, PAGE, SLOT0 + SLOT_LEN, SLOT1 + 1, FILE_SIZE - 1};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        write_file(fx->path, image, lengths[i]);
        assert_int_equal(open_status(fx->path, NULL), BATON_ECORRUPT);
        /* Never repaired behind the caller's back. */
        struct stat st;
        assert_int_equal(stat(fx->path, &st), 0);
        assert_int_equal(st.st_size, (off_t)lengths[i]);
    }
    image[FILE_SIZE] = 0;
    write_file(fx->path, image, FILE_SIZE + 1);
    assert_int_equal(open_status(fx->path, NULL), BATON_ECORRUPT);

    /* Even with the create flag, an empty file is not a fresh guard. */
    write_file(fx->path, image, 0);
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g), BATON_ECORRUPT);
    assert_null(g);
}

static void missing_file_without_create_is_enoent_and_creates_nothing(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), BATON_ENOENT);
    assert_null(g);
    assert_false(exists(fx->path));

    char deeper[PATH_MAX + 16];
    snprintf(deeper, sizeof deeper, "%s/no/such/dir/guard", fx->dir);
    assert_int_equal(baton_guard_open(deeper, BATON_GUARD_CREATE, &g), BATON_ENOENT);
    assert_null(g);
}

static void bad_arguments_and_non_files_are_refused(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(NULL, 0, &g), BATON_EINVAL);
    assert_int_equal(baton_guard_open("", BATON_GUARD_CREATE, &g), BATON_EINVAL);
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, NULL), BATON_EINVAL);
    assert_int_equal(baton_guard_open(fx->path, 0x2, &g), BATON_EINVAL);
    assert_int_equal(baton_guard_open(fx->path, -1, &g), BATON_EINVAL);
    assert_null(g);
    assert_false(exists(fx->path));
    /* A directory at the path is a system error, reported with errno. */
    errno = 0;
    assert_int_equal(baton_guard_open(fx->dir, 0, &g), BATON_EIO);
    assert_int_equal(errno, EISDIR);
    assert_null(g);
}

/* ---- locking ----------------------------------------------------------- */

static void second_open_in_the_same_process_is_ebusy(void **state)
{
    struct fixture *fx = *state;
    struct baton_guard *a = NULL, *b = NULL;
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &a), 0);
    assert_int_equal(offer(a, 77, NULL), 0);
    assert_int_equal(baton_guard_open(fx->path, 0, &b), BATON_EBUSY);
    assert_null(b);
    assert_int_equal(baton_guard_open(fx->path, BATON_GUARD_CREATE, &b), BATON_EBUSY);
    /* The failed opens must not have dropped a's lock. */
    assert_int_equal(baton_guard_open(fx->path, 0, &b), BATON_EBUSY);
    baton_guard_close(a);
    assert_int_equal(baton_guard_open(fx->path, 0, &b), 0);
    assert_int_equal(baton_guard_high_water(b), 77);
    baton_guard_close(b);
}

static void open_held_by_another_process_is_ebusy(void **state)
{
    struct fixture *fx = *state;
    make_guard_file(fx->path, NULL, 0);
    int ready[2], release[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Only the parent's copy of release[1] may keep the pipe open, so
         * that its close (or its exit, should it fail first) wakes us. */
        close(ready[0]);
        close(release[1]);
        struct baton_guard *g = NULL;
        char c = baton_guard_open(fx->path, 0, &g) == 0 ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1)
            _exit(2);
        if (read(release[0], &c, 1) < 0)
            _exit(3);
        _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');

    struct baton_guard *g = NULL;
    assert_int_equal(baton_guard_open(fx->path, 0, &g), BATON_EBUSY);
    assert_null(g);

    close(release[1]); /* the child reads EOF and exits, dropping the lock */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(ready[0]);
    assert_int_equal(baton_guard_open(fx->path, 0, &g), 0);
    baton_guard_close(g);
}

/*
 * Two processes start with no file and open it with the create flag at the
 * same moment, several times: exactly one may get a guard, the other must
 * see EBUSY. Were creation to replace the path (rename) instead of linking,
 * the loser would install a second, empty file over the winner's and both
 * would hold a guard, each on its own inode.
 */
static void concurrent_creates_yield_exactly_one_guard(void **state)
{
    struct fixture *fx = *state;
    for (int round = 0; round < 5; round++) {
        unlink(fx->path);
        int go[2], result[2], release[2];
        assert_int_equal(pipe(go), 0);
        assert_int_equal(pipe(result), 0);
        assert_int_equal(pipe(release), 0);
        pid_t pids[2];
        for (int i = 0; i < 2; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                close(go[1]);
                close(result[0]);
                close(release[1]);
                char c;
                if (read(go[0], &c, 1) != 0) /* EOF is the start signal */
                    _exit(2);
                struct baton_guard *g = NULL;
                int rc = baton_guard_open(fx->path, BATON_GUARD_CREATE, &g);
                c = rc == 0 ? 'G' : rc == BATON_EBUSY ? 'B' : 'E';
                if (write(result[1], &c, 1) != 1)
                    _exit(3);
                if (read(release[0], &c, 1) < 0) /* hold the guard until released */
                    _exit(4);
                _exit(0);
            }
        }
        close(go[0]);
        close(result[1]);
        close(release[0]);
        close(go[1]); /* both children start */
        char got[2] = {0, 0};
        for (int i = 0; i < 2; i++)
            assert_int_equal(read(result[0], &got[i], 1), 1);
        close(release[1]);
        close(result[0]);
        for (int i = 0; i < 2; i++) {
            int status = 0;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        if (!((got[0] == 'G' && got[1] == 'B') || (got[0] == 'B' && got[1] == 'G')))
            fail_msg(
                "round %d: the two opens returned '%c' and '%c' (G: guard, B: EBUSY, E: other)",
                round, got[0], got[1]);
    }
}

/*
 * A write that fails poisons the guard: the offer and every later one return
 * EIO with errno set, even once the cause is gone, until the file is
 * reopened, which reads back the last durable mark. The failure is made in
 * a child by a file-size limit below the slots' offsets (writes there fail
 * with EFBIG).
 */
static void failed_write_poisons_the_guard_until_reopened(void **state)
{
    struct fixture *fx = *state;
    const uint64_t raises[] = {100};
    make_guard_file(fx->path, raises, 1);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct baton_guard *g = NULL;
        uint64_t hw = 0;
        struct rlimit saved, low;
        signal(SIGXFSZ, SIG_IGN);
        if (baton_guard_open(fx->path, 0, &g) != 0 || getrlimit(RLIMIT_FSIZE, &saved) != 0)
            _exit(10);
        low = saved;
        low.rlim_cur = PAGE;
        if (setrlimit(RLIMIT_FSIZE, &low) != 0)
            _exit(11);
        errno = 0;
        if (offer(g, 200, &hw) != BATON_EIO || errno != EFBIG || hw != 100)
            _exit(12);
        if (setrlimit(RLIMIT_FSIZE, &saved) != 0)
            _exit(13);
        /* The cause is gone, the guard still refuses, even higher tokens. */
        errno = 0;
        if (offer(g, 300, &hw) != BATON_EIO || errno != EFBIG || hw != 100)
            _exit(14);
        if (baton_guard_high_water(g) != 100)
            _exit(15);
        /* Lower tokens are not told they are merely stale either. */
        if (offer(g, 50, NULL) != BATON_EIO)
            _exit(16);
        baton_guard_close(g);
        if (baton_guard_open(fx->path, 0, &g) != 0 || baton_guard_high_water(g) != 100)
            _exit(17);
        if (offer(g, 300, &hw) != 0 || hw != 300)
            _exit(18);
        baton_guard_close(g);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("child failed at step %d (status 0x%x)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, status);
    uint64_t hw = 0;
    assert_int_equal(open_status(fx->path, &hw), 0);
    assert_int_equal(hw, 300);
}

/* ---- crashes ----------------------------------------------------------- */

/* The child: open (creating if asked), then offer mark+1, mark+2, ... and
 * report each accepted token on the pipe, until killed. */
static _Noreturn void crash_child(const char *path, int flags, int report_fd)
{
    struct baton_guard *g = NULL;
    if (baton_guard_open(path, flags, &g) != 0)
        _exit(10);
    for (uint64_t t = baton_guard_high_water(g) + 1; t < 100000000; t++) {
        if (offer(g, t, NULL) != 0)
            _exit(11);
        if (write(report_fd, &t, sizeof t) != (ssize_t)sizeof t)
            _exit(12);
    }
    _exit(13);
}

/*
 * Twenty times: a child raises the mark one token at a time and reports each
 * acceptance; the parent SIGKILLs it at a seeded moment, reopens the file and
 * requires last <= mark <= last + 1, where last is the last token reported
 * (or the mark before the round): nothing accepted is lost, and at most the
 * one raise in flight, never acknowledged, may have landed. Every fourth
 * round starts without the file, so kills also land inside creation; the
 * file must then be absent (only if nothing was accepted) or valid.
 *
 * SIGKILL kills the process, not the machine: the page cache survives, so
 * this checks the write protocol and the locking, not the flushes. Torn
 * writes are what the corrupt-slot cases above simulate.
 */
static void sigkill_during_offers_never_loses_an_accepted_token(void **state)
{
    const char *name = "sigkill_during_offers_never_loses_an_accepted_token";
    struct fixture *fx = *state;
    uint64_t seed = test_seed(name);
    uint64_t rng = seed;
    uint64_t mark = 0;
    /* What the kills hit, for the log: no assertion depends on timing. */
    unsigned in_create = 0, in_flight_landed = 0, reports = 0;

    for (int round = 0; round < 20; round++) {
        bool fresh = round % 4 == 0;
        if (fresh) {
            unlink(fx->path);
            mark = 0;
        } else {
            struct baton_guard *g = NULL;
            seeded_check(baton_guard_open(fx->path, BATON_GUARD_CREATE, &g) == 0, seed, name,
                         "round %d\n", round);
            mark = baton_guard_high_water(g);
            baton_guard_close(g);
        }
        /* Acceptances to wait for, then a delay, before the kill. A fresh
         * round kills early, to land inside creation. */
        uint64_t wait_for = fresh ? 0 : splitmix64(&rng) % 25;
        uint64_t delay_us =
            splitmix64(&rng) % 3 == 0 ? 0 : splitmix64(&rng) % (fresh ? 1500 : 3000);

        int pipefd[2];
        assert_int_equal(pipe(pipefd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pipefd[0]);
            crash_child(fx->path, fresh ? BATON_GUARD_CREATE : 0, pipefd[1]);
        }
        close(pipefd[1]);

        uint64_t last = 0, seen = 0, t;
        bool eof = false;
        while (seen < wait_for) {
            ssize_t n = read(pipefd[0], &t, sizeof t);
            if (n == 0) {
                eof = true;
                break;
            }
            seeded_check(n == (ssize_t)sizeof t, seed, name, "round %d: short read %zd\n", round,
                         n);
            last = t;
            seen++;
        }
        if (delay_us > 0) {
            struct timespec ts = {0, (long)delay_us * 1000};
            nanosleep(&ts, NULL);
        }
        kill(pid, SIGKILL);
        /* Drain what the child reported before it died. */
        while (!eof) {
            ssize_t n = read(pipefd[0], &t, sizeof t);
            if (n <= 0)
                break;
            seeded_check(n == (ssize_t)sizeof t, seed, name, "round %d: short read %zd\n", round,
                         n);
            last = t;
        }
        close(pipefd[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        seeded_check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, seed, name,
                     "round %d: child ended on its own (status 0x%x)\n", round, status);

        uint64_t base = last ? last : mark, reopened = 0;
        int rc = open_status(fx->path, &reopened);
        if (fresh && last == 0 && rc == BATON_ENOENT) {
            mark = 0;
            in_create++;
            continue; /* killed before creation completed: nothing was accepted */
        }
        seeded_check(rc == 0, seed, name, "round %d (fresh %d): reopen returned %s\n", round, fresh,
                     baton_err_name(rc));
        seeded_check(reopened >= base && reopened <= base + 1, seed, name,
                     "round %d: last reported %" PRIu64 ", mark before %" PRIu64
                     ", reopened at %" PRIu64 "\n",
                     round, last, mark, reopened);
        in_flight_landed += reopened == base + 1;
        reports += (unsigned)(last > mark ? last - mark : 0);
        mark = reopened;
    }
    print_message("%s: %u acceptances reported, %u kills inside creation, %u with the unreported "
                  "raise on disk\n",
                  name, reports, in_create, in_flight_landed);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(memory_guard_accepts_only_strictly_greater_tokens),
    cmocka_unit_test(memory_guard_refuses_lower_and_another_minters_equal_token),
    cmocka_unit_test_setup_teardown(file_guard_accepts_only_strictly_greater_tokens, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(file_guard_refuses_lower_and_another_minters_equal_token,
                                    setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(refused_offers_do_not_touch_the_file, setup_dir, teardown_dir),
    cmocka_unit_test(new_guard_starts_at_the_given_mark),
    cmocka_unit_test(bad_minters_are_invalid),
    cmocka_unit_test(token_zero_and_tokens_above_int64_max_are_invalid),
    cmocka_unit_test_setup_teardown(every_accepted_raise_is_flushed_before_it_is_visible, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(creation_flushes_the_file_then_the_directory, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(failed_flush_poisons_the_guard_until_reopened, setup_dir,
                                    teardown_dir),
    cmocka_unit_test(concurrent_offers_accept_a_strictly_increasing_sequence),
    cmocka_unit_test_setup_teardown(concurrent_offers_on_a_file_guard_persist_the_maximum,
                                    setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(reopen_keeps_the_mark_and_its_minter, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(create_flag_on_an_existing_file_keeps_its_high_water, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(create_leaves_only_the_guard_file, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(file_format_v3_is_stable, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(slot_with_a_bad_minter_is_invalid, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(version_2_file_is_upgraded_minter_unknown, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(version_1_file_is_upgraded_keeping_its_mark, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(corrupt_newest_slot_falls_back_to_the_older_slot, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(corrupt_older_slot_keeps_the_newest_high_water, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(raise_after_fallback_overwrites_the_corrupt_slot, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(both_slots_corrupt_is_ecorrupt, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(wrong_magic_is_eforeign, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(unknown_version_is_eversion_and_damaged_header_is_ecorrupt,
                                    setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(truncated_or_extended_file_is_ecorrupt, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(missing_file_without_create_is_enoent_and_creates_nothing,
                                    setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(bad_arguments_and_non_files_are_refused, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(second_open_in_the_same_process_is_ebusy, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(open_held_by_another_process_is_ebusy, setup_dir, teardown_dir),
    cmocka_unit_test_setup_teardown(concurrent_creates_yield_exactly_one_guard, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(failed_write_poisons_the_guard_until_reopened, setup_dir,
                                    teardown_dir),
    cmocka_unit_test_setup_teardown(sigkill_during_offers_never_loses_an_accepted_token, setup_dir,
                                    teardown_dir),
};
BT_TEST_MAIN(tests)
