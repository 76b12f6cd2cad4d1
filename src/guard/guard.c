/*
 * The fence guard: compare-and-raise of a high-water mark, in memory or on
 * disk. See include/baton/guard.h for the contract, docs/guard.md for usage.
 *
 * The rule is docs/design.md §1's: accept a token only if it is strictly greater
 * than every token accepted before. In memory that is a compare and a store
 * under a mutex. The interesting part is the file-backed guard, which must
 * never forget an accepted raise and never go backwards, whatever a crash or
 * a power cut does to the write in flight.
 *
 * The file uses the classic ping-pong (double-buffered) record of database
 * control files: two slots, each carrying a sequence number, the high-water
 * mark and a checksum. A raise writes the slot that does NOT hold the newest
 * state, with the next sequence number, and flushes it (fdatasync) before the
 * offer is acknowledged. A torn or lost write can then only damage the slot
 * being written, which held the older state; the newest acknowledged state
 * survives intact in the other slot. Open takes the valid slot with the
 * greatest sequence number.
 *
 * Choices, and why:
 *  - Each slot sits alone in its own 4096-byte page. The kernel writes back
 *    whole pages and a disk tears within them, so two slots sharing a page
 *    would be rewritten together and could be destroyed together.
 *  - The file is created at full size, so a raise overwrites blocks that
 *    already exist: fdatasync then has no metadata to flush, and no write
 *    can fail for lack of space.
 *  - Each slot names its own position (tag "SLT0"/"SLT1") inside its
 *    checksum, so a write misdirected to the other slot's page is caught.
 *  - The checksum is CRC32C (Castagnoli), computed bit by bit: a slot is 20
 *    bytes and a raise already pays for a disk flush, so a table buys
 *    nothing.
 *  - Distrust is loud. A short file, a foreign magic, an unknown version, a
 *    damaged header or two damaged slots are errors, never a silent reset to
 *    zero, which would let every stale leader back in. A missing file is an
 *    error unless the caller asks for creation.
 *  - Creation is atomic without rename: the image is written and flushed
 *    under a temporary name, then link()ed into place. Unlike rename, link
 *    never replaces a guard another process created (and may already be
 *    using) meanwhile.
 *  - After a failed write or flush the guard refuses everything (BATON_EIO).
 *    Linux may drop the dirty page and report success on the next fsync
 *    (PostgreSQL's "fsyncgate"), so retrying could acknowledge a raise that
 *    is not on disk. Reopening reads back what is.
 *  - flock(), not fcntl() locks: POSIX record locks belong to the process,
 *    so a second open in the same process would not conflict, and closing
 *    any descriptor of the file would silently drop the lock.
 *  - The high-water mark is an atomic, written only under the mutex after
 *    the flush, so readers never wait behind a disk flush and never see a
 *    mark that is not yet durable.
 */
#include <baton/guard.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wire.h"

/*
 * On-disk format, version 1. Integers are big-endian (wire.h).
 *
 *   offset 0      header, then zeros up to 4096
 *     +0   8  magic "BATONGRD"
 *     +8   4  format version (1)
 *     +12  4  CRC32C of bytes +0..+11
 *   offset 4096   slot 0, then zeros up to 8192
 *   offset 8192   slot 1, then zeros up to 12288 (the file size)
 *     +0   4  tag "SLT0" or "SLT1": the slot this record belongs in
 *     +4   8  sequence number
 *     +12  8  high-water mark (0..INT64_MAX)
 *     +20  4  CRC32C of bytes +0..+19
 */
#define GUARD_MAGIC "BATONGRD"
#define GUARD_MAGIC_LEN 8
#define GUARD_VERSION 1
#define GUARD_HEADER_LEN 16
#define GUARD_PAGE 4096
#define GUARD_SLOT_LEN 24
#define GUARD_FILE_SIZE (3 * GUARD_PAGE)

struct baton_guard {
    pthread_mutex_t lock;        /* serialises offers: compare, write, flush, raise */
    _Atomic uint64_t high_water; /* greatest accepted (and, if file-backed, durable) token; 0 = none */
    int fd;                      /* the locked guard file, or -1 for an in-memory guard */
    uint64_t seq;                /* file-backed: sequence number of the newest valid slot */
    unsigned next_slot;          /* file-backed: 0 or 1, the slot the next raise overwrites */
    int io_errno;                /* 0, or the errno of the write or flush that poisoned the guard */
};

/* Decoded slot. */
struct slot {
    bool valid;          /* tag, checksum and range checks passed */
    uint64_t seq;        /* sequence number */
    uint64_t high_water; /* high-water mark it records */
};

static uint32_t crc32c(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (n--) {
        crc ^= *p++;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static off_t slot_offset(unsigned index) { return (off_t)GUARD_PAGE * (off_t)(1 + index); }

static void encode_header(uint8_t out[GUARD_HEADER_LEN])
{
    struct bt_wbuf w;
    bt_wbuf_init(&w, out, GUARD_HEADER_LEN);
    bt_put_bytes(&w, GUARD_MAGIC, GUARD_MAGIC_LEN);
    bt_put_u32(&w, GUARD_VERSION);
    bt_put_u32(&w, crc32c(out, w.len));
}

static void encode_slot(uint8_t out[GUARD_SLOT_LEN], unsigned index, uint64_t seq, uint64_t high_water)
{
    const uint8_t tag[4] = {'S', 'L', 'T', (uint8_t)('0' + index)};
    struct bt_wbuf w;
    bt_wbuf_init(&w, out, GUARD_SLOT_LEN);
    bt_put_bytes(&w, tag, sizeof tag);
    bt_put_u64(&w, seq);
    bt_put_u64(&w, high_water);
    bt_put_u32(&w, crc32c(out, w.len));
}

static struct slot decode_slot(const uint8_t *page, unsigned index)
{
    const uint8_t tag[4] = {'S', 'L', 'T', (uint8_t)('0' + index)};
    struct slot s = {false, 0, 0};
    struct bt_rbuf r;
    bt_rbuf_init(&r, page, GUARD_SLOT_LEN);
    const uint8_t *got_tag = bt_get_span(&r, sizeof tag);
    s.seq = bt_get_u64(&r);
    s.high_water = bt_get_u64(&r);
    size_t covered = r.off;
    uint32_t crc = bt_get_u32(&r);
    s.valid = !r.error && memcmp(got_tag, tag, sizeof tag) == 0 && crc == crc32c(page, covered) &&
              s.high_water <= BATON_TOKEN_MAX;
    return s;
}

/*
 * Decodes a whole file image of n bytes (at most GUARD_FILE_SIZE + 1 were
 * read, so n > GUARD_FILE_SIZE means "too long"). On success fills the
 * guard's high water, seq and next_slot.
 */
static int decode_file(const uint8_t *image, size_t n, struct baton_guard *guard)
{
    /* 1. Identify the file. Too short to hold the magic: a truncated guard
     *    if what is there is a prefix of it (an empty file included),
     *    someone else's file otherwise. */
    if (n < GUARD_MAGIC_LEN)
        return memcmp(image, GUARD_MAGIC, n) == 0 ? BATON_ECORRUPT : BATON_EFOREIGN;
    if (memcmp(image, GUARD_MAGIC, GUARD_MAGIC_LEN) != 0)
        return BATON_EFOREIGN;

    /* 2. The version decides the rest of the layout, so it comes before the
     *    header checksum, whose place is version 1's. */
    struct bt_rbuf r;
    bt_rbuf_init(&r, image, n);
    bt_get_span(&r, GUARD_MAGIC_LEN);
    uint32_t version = bt_get_u32(&r);
    if (r.error)
        return BATON_ECORRUPT;
    if (version != GUARD_VERSION)
        return BATON_EVERSION;
    size_t covered = r.off;
    uint32_t crc = bt_get_u32(&r);
    if (r.error || crc != crc32c(image, covered))
        return BATON_ECORRUPT;
    if (n != GUARD_FILE_SIZE)
        return BATON_ECORRUPT;

    /* 3. Take the valid slot with the greatest sequence number; the next
     *    raise goes to the other one. */
    struct slot slots[2] = {decode_slot(image + slot_offset(0), 0), decode_slot(image + slot_offset(1), 1)};
    if (!slots[0].valid && !slots[1].valid)
        return BATON_ECORRUPT;
    unsigned newest;
    if (slots[0].valid && slots[1].valid)
        newest = slots[1].seq > slots[0].seq ? 1 : 0;
    else
        newest = slots[0].valid ? 0 : 1;
    /* The sequence number cannot run out in practice (one raise per ns for
     * 584 years); a file claiming it has is not one we wrote. */
    if (slots[newest].seq == UINT64_MAX)
        return BATON_ECORRUPT;
    uint64_t high_water = slots[newest].high_water;
    /* The mark only grows with the sequence number, so the older slot never
     * holds more. If a damaged file says otherwise, keep the greater value:
     * refusing too much is safe, accepting a stale token is not. */
    unsigned older = 1 - newest;
    if (slots[older].valid && slots[older].high_water > high_water)
        high_water = slots[older].high_water;

    atomic_store(&guard->high_water, high_water);
    guard->seq = slots[newest].seq;
    guard->next_slot = older;
    return 0;
}

/* errno of a failed system call as a baton code; errno is kept. */
static int from_errno(void)
{
    switch (errno) {
    case ENOENT:
        return BATON_ENOENT;
    case ENOMEM:
        return BATON_ENOMEM;
    default:
        return BATON_EIO;
    }
}

static int pwrite_full(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t done = pwrite(fd, p, n, off);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (done == 0) {
            errno = EIO;
            return -1;
        }
        p += done;
        n -= (size_t)done;
        off += done;
    }
    return 0;
}

/* Reads up to n bytes from offset 0 until end of file; returns the count or -1. */
static ssize_t pread_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t done = pread(fd, p + got, n - got, (off_t)got);
        if (done < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (done == 0)
            break;
        got += (size_t)done;
    }
    return (ssize_t)got;
}

static int sync_data(int fd)
{
    int rc;
    do
        rc = fdatasync(fd);
    while (rc != 0 && errno == EINTR);
    return rc;
}

/* Flushes the directory holding path, making a new name in it durable. */
static int sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = strdup(".");
    else if (slash == path)
        dir = strdup("/");
    else
        dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        return BATON_ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return from_errno();
    int rc = 0;
    if (fsync(fd) != 0)
        rc = from_errno();
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/*
 * Creates a fresh guard file (high-water mark 0) at path, atomically:
 *  1. write the whole image to a temporary file beside it and fsync it;
 *  2. link() it to path: all of it appears at once, and an existing path,
 *     created meanwhile by someone else, is left alone (EEXIST is success);
 *  3. remove the temporary name and fsync the directory, so the new name
 *     survives a crash before we hand out the guard.
 */
static int create_file(const char *path)
{
    static const char suffix[] = ".XXXXXX";
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof suffix);
    uint8_t *image = calloc(1, GUARD_FILE_SIZE);
    int rc = 0, saved;
    if (!tmp || !image) {
        free(tmp);
        free(image);
        return BATON_ENOMEM;
    }
    memcpy(tmp, path, len);
    memcpy(tmp + len, suffix, sizeof suffix);
    encode_header(image);
    encode_slot(image + slot_offset(0), 0, 1, 0);
    encode_slot(image + slot_offset(1), 1, 0, 0);

    /* 1. */
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = from_errno();
        goto out;
    }
    if (pwrite_full(fd, image, GUARD_FILE_SIZE, 0) != 0 || fsync(fd) != 0)
        rc = from_errno();
    saved = errno;
    close(fd);
    errno = saved;
    /* 2. */
    if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
        rc = from_errno();
    saved = errno;
    unlink(tmp);
    errno = saved;
    /* 3. */
    if (rc == 0)
        rc = sync_parent_dir(path);
out:
    free(tmp);
    free(image);
    return rc;
}

static struct baton_guard *guard_alloc(uint64_t high_water, int fd)
{
    struct baton_guard *guard = malloc(sizeof *guard);
    if (!guard)
        return NULL;
    if (pthread_mutex_init(&guard->lock, NULL) != 0) {
        free(guard);
        return NULL;
    }
    atomic_init(&guard->high_water, high_water);
    guard->fd = fd;
    guard->seq = 0;
    guard->next_slot = 0;
    guard->io_errno = 0;
    return guard;
}

int baton_guard_new(uint64_t high_water, struct baton_guard **out)
{
    if (!out || high_water > BATON_TOKEN_MAX)
        return BATON_EINVAL;
    struct baton_guard *guard = guard_alloc(high_water, -1);
    if (!guard)
        return BATON_ENOMEM;
    *out = guard;
    return 0;
}

/*
 * 1. Open the file; if it is missing and creation was asked for, create it
 *    and open it again.
 * 2. Lock it, without waiting: a held lock means another live guard.
 * 3. Read and decode it (after locking, so no other guard is writing).
 */
int baton_guard_open(const char *path, int flags, struct baton_guard **out)
{
    if (!path || !*path || !out || (flags & ~BATON_GUARD_CREATE) != 0)
        return BATON_EINVAL;

    /* 1. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && (flags & BATON_GUARD_CREATE)) {
        int rc = create_file(path);
        if (rc != 0)
            return rc;
        fd = open(path, O_RDWR | O_CLOEXEC);
    }
    if (fd < 0)
        return from_errno();

    int rc = 0, saved;
    uint8_t *image = NULL;
    struct baton_guard *guard = NULL;

    /* 2. */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? BATON_EBUSY : from_errno();
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = from_errno();
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = BATON_EFOREIGN;
        goto fail;
    }

    /* 3. One byte more than a guard file, to tell "too long" apart. */
    image = calloc(1, GUARD_FILE_SIZE + 1);
    guard = guard_alloc(0, fd);
    if (!image || !guard) {
        rc = BATON_ENOMEM;
        goto fail;
    }
    ssize_t n = pread_full(fd, image, GUARD_FILE_SIZE + 1);
    if (n < 0) {
        rc = from_errno();
        goto fail;
    }
    rc = decode_file(image, (size_t)n, guard);
    if (rc != 0)
        goto fail;
    free(image);
    *out = guard;
    return 0;

fail:
    saved = errno;
    if (guard) {
        pthread_mutex_destroy(&guard->lock);
        free(guard);
    }
    free(image);
    close(fd);
    errno = saved;
    return rc;
}

/*
 * 1. Check the token's range (no lock needed).
 * 2. Under the mutex: refuse if poisoned or if token <= the mark.
 * 3. File-backed: write the next slot and flush it; on failure poison.
 * 4. Raise the mark, which readers may now see, and advance the slot.
 */
int baton_guard_offer(struct baton_guard *guard, uint64_t token, uint64_t *high_water)
{
    if (!guard)
        return BATON_EINVAL;
    /* 1. */
    if (token == 0 || token > BATON_TOKEN_MAX) {
        if (high_water)
            *high_water = atomic_load(&guard->high_water);
        return BATON_EINVAL;
    }

    /* 2. */
    pthread_mutex_lock(&guard->lock);
    int rc = 0;
    uint64_t current = atomic_load(&guard->high_water);
    if (guard->io_errno != 0) {
        rc = BATON_EIO;
    } else if (token <= current) {
        rc = BATON_ESTALE;
    } else {
        /* 3. */
        if (guard->fd >= 0) {
            uint8_t slot[GUARD_SLOT_LEN];
            encode_slot(slot, guard->next_slot, guard->seq + 1, token);
            if (pwrite_full(guard->fd, slot, sizeof slot, slot_offset(guard->next_slot)) != 0 ||
                sync_data(guard->fd) != 0) {
                guard->io_errno = errno != 0 ? errno : EIO;
                rc = BATON_EIO;
            }
        }
        /* 4. */
        if (rc == 0) {
            guard->seq++;
            guard->next_slot ^= 1u;
            atomic_store(&guard->high_water, token);
            current = token;
        }
    }
    int io_errno = guard->io_errno;
    pthread_mutex_unlock(&guard->lock);

    if (high_water)
        *high_water = current;
    if (rc == BATON_EIO)
        errno = io_errno;
    return rc;
}

uint64_t baton_guard_high_water(const struct baton_guard *guard)
{
    return atomic_load(&guard->high_water);
}

void baton_guard_free(struct baton_guard *guard)
{
    if (!guard)
        return;
    if (guard->fd >= 0)
        close(guard->fd); /* drops the flock; every raise is already flushed */
    pthread_mutex_destroy(&guard->lock);
    free(guard);
}

void baton_guard_close(struct baton_guard *guard) { baton_guard_free(guard); }
