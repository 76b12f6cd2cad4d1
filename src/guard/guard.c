/*
 * The fence guard: compare-and-raise of a high-water mark, in memory or on
 * disk. See include/baton/guard.h for the contract, docs/guard.md for usage.
 *
 * The rule is docs/design.md §1's: a term is (token, minter), the minter
 * naming a process ("<node>#<boot hex>", baton.h); admit a term whose
 * token is greater than the mark's, or equal to it from the mark's minter,
 * and raise the mark to it. In memory that is a compare and a store under a
 * mutex. The interesting part is the file-backed guard, which must
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
 *  - The checksum is CRC32C (Castagnoli), computed bit by bit: a slot is 102
 *    bytes and a raise already pays for a disk flush, so a table buys
 *    nothing.
 *  - A slot records the mark's minter (version 2: a node name; version 3:
 *    a process, node and boot). Version 1 files, from before terms had
 *    minters, and version 2 files, from before minters named their boot,
 *    are upgraded at open by writing a version 3 file beside them and
 *    renaming it over them while both are locked: an in-place upgrade
 *    would have to rewrite the header, and a torn header
 *    write would leave a file nobody can open. Rename is safe there, unlike
 *    at creation, because the file it replaces is the one we hold locked;
 *    every open checks, once it holds the lock, that the path still names
 *    the inode it locked.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/names.h"
#include "core/wire.h"

/*
 * On-disk format, version 3. Integers are big-endian (wire.h).
 *
 *   offset 0      header, then zeros up to 4096
 *     +0   8  magic "BATONGRD"
 *     +8   4  format version (3)
 *     +12  4  CRC32C of bytes +0..+11
 *   offset 4096   slot 0, then zeros up to 8192
 *   offset 8192   slot 1, then zeros up to 12288 (the file size)
 *     +0   4  tag "SLT0" or "SLT1": the slot this record belongs in
 *     +4   8  sequence number
 *     +12  8  the mark's token (0..INT64_MAX)
 *     +20  1  the length of its minter, 0 or 18..81 (0: unknown; always 0
 *             with token 0)
 *     +21  81 the minter ("<node>#<boot as 16 hex digits>", baton.h's
 *             BATON_MINTER_MAX), then zeros up to the 81 bytes
 *     +102 4  CRC32C of bytes +0..+101
 *
 * Earlier versions (read, then upgraded: see baton_guard_open) had the same
 * header and pages with shorter slots. Version 2: 89-byte slots, the
 * minter being a node name of 0..64 bytes (+20 length, +21 64 bytes, +85
 * CRC32C). Version 1: 24-byte slots: tag, sequence number, token, CRC32C
 * of bytes +0..+19; no minter.
 */
#define GUARD_MAGIC "BATONGRD"
#define GUARD_MAGIC_LEN 8
#define GUARD_VERSION 3
#define GUARD_VERSION_2 2
#define GUARD_VERSION_1 1
#define GUARD_HEADER_LEN 16
#define GUARD_PAGE 4096
#define GUARD_SLOT_LEN 106
#define GUARD_SLOT_V2_LEN 89
#define GUARD_SLOT_V1_LEN 24
#define GUARD_MINTER_MAX BATON_MINTER_MAX
#define GUARD_MINTER_V2_MAX BATON_NODE_MAX
#define GUARD_FILE_SIZE (3 * GUARD_PAGE)
#define GUARD_OPEN_TRIES 3

/* The mark's minter, inline. len 0: unknown. */
struct minter {
    uint8_t len;
    char bytes[GUARD_MINTER_MAX + 1]; /* len bytes, then zeros */
};

struct baton_guard {
    pthread_mutex_t lock;        /* serialises offers: compare, write, flush, raise */
    _Atomic uint64_t high_water; /* the mark's token (if file-backed: durable); 0 = none */
    struct minter minter;        /* the mark's minter; read and written under lock */
    int fd;                      /* the locked guard file, or -1 for an in-memory guard */
    uint64_t seq;                /* file-backed: sequence number of the newest valid slot */
    unsigned next_slot;          /* file-backed: 0 or 1, the slot the next raise overwrites */
    int io_errno;                /* 0, or the errno of the write or flush that poisoned the guard */
};

/* Decoded slot. */
struct slot {
    bool valid;           /* tag, checksum and range checks passed */
    uint64_t seq;         /* sequence number */
    uint64_t high_water;  /* the mark's token */
    struct minter minter; /* the mark's minter (version 3; unknown in versions 1 and 2) */
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

static void encode_slot(uint8_t out[GUARD_SLOT_LEN], unsigned index, uint64_t seq,
                        uint64_t high_water, const struct minter *minter)
{
    const uint8_t tag[4] = {'S', 'L', 'T', (uint8_t)('0' + index)};
    uint8_t padded[GUARD_MINTER_MAX];
    memset(padded, 0, sizeof padded);
    memcpy(padded, minter->bytes, minter->len);
    struct bt_wbuf w;
    bt_wbuf_init(&w, out, GUARD_SLOT_LEN);
    bt_put_bytes(&w, tag, sizeof tag);
    bt_put_u64(&w, seq);
    bt_put_u64(&w, high_water);
    bt_put_u8(&w, minter->len);
    bt_put_bytes(&w, padded, sizeof padded);
    bt_put_u32(&w, crc32c(out, w.len));
}

/* Whether p, n is a valid minter: a process, "<node>#<boot hex>" (names.h). */
static bool minter_valid(const void *p, size_t n)
{
    struct bt_minter m;
    return p && bt_minter_parse(&m, p, n) == 0;
}

/* A slot of the given format version at page. Version 3 slots must also
 * hold a well-formed minter (a process, zero padding, none with token 0);
 * version 2 slots a node name so (it is checked, then dropped: a version 2
 * minter does not say which process of that name minted the mark). */
static struct slot decode_slot(const uint8_t *page, unsigned index, uint32_t version)
{
    const uint8_t tag[4] = {'S', 'L', 'T', (uint8_t)('0' + index)};
    struct slot s;
    memset(&s, 0, sizeof s);
    struct bt_rbuf r;
    bt_rbuf_init(&r, page,
                 version == GUARD_VERSION_1   ? GUARD_SLOT_V1_LEN
                 : version == GUARD_VERSION_2 ? GUARD_SLOT_V2_LEN
                                              : GUARD_SLOT_LEN);
    const uint8_t *got_tag = bt_get_span(&r, sizeof tag);
    s.seq = bt_get_u64(&r);
    s.high_water = bt_get_u64(&r);
    bool minter_ok = true;
    if (version != GUARD_VERSION_1) {
        size_t max = version == GUARD_VERSION_2 ? GUARD_MINTER_V2_MAX : GUARD_MINTER_MAX;
        size_t len = bt_get_u8(&r);
        const uint8_t *bytes = bt_get_span(&r, max);
        minter_ok = bytes && len <= max && (len == 0) == (s.high_water == 0) &&
                    (len == 0 || (version == GUARD_VERSION_2 ? bt_nodeid_valid_bytes(bytes, len)
                                                             : minter_valid(bytes, len)));
        for (size_t i = len; minter_ok && i < max; i++)
            minter_ok = bytes[i] == 0;
        if (minter_ok && version == GUARD_VERSION) {
            s.minter.len = (uint8_t)len;
            memcpy(s.minter.bytes, bytes, len);
        }
    }
    size_t covered = r.off;
    uint32_t crc = bt_get_u32(&r);
    s.valid = !r.error && memcmp(got_tag, tag, sizeof tag) == 0 && crc == crc32c(page, covered) &&
              s.high_water <= BATON_TOKEN_MAX && minter_ok;
    if (!s.valid)
        memset(&s.minter, 0, sizeof s.minter);
    return s;
}

/*
 * Decodes a whole file image of n bytes (at most GUARD_FILE_SIZE + 1 were
 * read, so n > GUARD_FILE_SIZE means "too long"). On success fills the
 * guard's mark, seq and next_slot, and *version with the file's format
 * version (1, 2 or 3).
 */
static int decode_file(const uint8_t *image, size_t n, struct baton_guard *guard,
                       uint32_t *version_out)
{
    /* 1. Identify the file. Too short to hold the magic: a truncated guard
     *    if what is there is a prefix of it (an empty file included),
     *    someone else's file otherwise. */
    if (n < GUARD_MAGIC_LEN)
        return memcmp(image, GUARD_MAGIC, n) == 0 ? BATON_ECORRUPT : BATON_EFOREIGN;
    if (memcmp(image, GUARD_MAGIC, GUARD_MAGIC_LEN) != 0)
        return BATON_EFOREIGN;

    /* 2. The version decides the rest of the layout, so it comes before the
     *    header checksum, whose place is the same in versions 1 to 3. */
    struct bt_rbuf r;
    bt_rbuf_init(&r, image, n);
    bt_get_span(&r, GUARD_MAGIC_LEN);
    uint32_t version = bt_get_u32(&r);
    if (r.error)
        return BATON_ECORRUPT;
    if (version != GUARD_VERSION && version != GUARD_VERSION_2 && version != GUARD_VERSION_1)
        return BATON_EVERSION;
    size_t covered = r.off;
    uint32_t crc = bt_get_u32(&r);
    if (r.error || crc != crc32c(image, covered))
        return BATON_ECORRUPT;
    if (n != GUARD_FILE_SIZE)
        return BATON_ECORRUPT;

    /* 3. Take the valid slot with the greatest sequence number; the next
     *    raise goes to the other one. */
    struct slot slots[2] = {decode_slot(image + slot_offset(0), 0, version),
                            decode_slot(image + slot_offset(1), 1, version)};
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
    struct minter minter = slots[newest].minter;
    /* The mark only grows with the sequence number, so the older slot never
     * holds more. If a damaged file says otherwise, keep the greater token,
     * minter unknown: refusing too much is safe, admitting a stale term is
     * not. */
    unsigned older = 1 - newest;
    if (slots[older].valid && slots[older].high_water > high_water) {
        high_water = slots[older].high_water;
        memset(&minter, 0, sizeof minter);
    }

    atomic_store(&guard->high_water, high_water);
    guard->minter = minter;
    *version_out = version;
    guard->seq = slots[newest].seq;
    guard->next_slot = older;
    return 0;
}

/* errno of a failed system call as a baton code; errno is kept. */
static int from_errno(void)
{
    switch (errno) {
    case ENOENT: return BATON_ENOENT;
    case ENOMEM: return BATON_ENOMEM;
    default: return BATON_EIO;
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
 * Writes a whole version 3 image whose mark is (high_water, minter unknown)
 * to a new temporary file "<path>.XXXXXX" beside path and fsyncs it. On
 * success *tmp_out is the temporary name (the caller frees it) and *fd_out
 * its open descriptor; on failure nothing is left behind.
 */
static int write_temp_image(const char *path, uint64_t high_water, char **tmp_out, int *fd_out)
{
    static const char suffix[] = ".XXXXXX";
    static const struct minter unknown;
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
    encode_slot(image + slot_offset(0), 0, 1, high_water, &unknown);
    encode_slot(image + slot_offset(1), 1, 0, 0, &unknown);

    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = from_errno();
        free(tmp);
        free(image);
        return rc;
    }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 || pwrite_full(fd, image, GUARD_FILE_SIZE, 0) != 0 ||
        fsync(fd) != 0) {
        rc = from_errno();
        saved = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        errno = saved;
    } else {
        *tmp_out = tmp;
        *fd_out = fd;
    }
    free(image);
    return rc;
}

/*
 * Creates a fresh guard file (mark 0) at path, atomically:
 *  1. write the whole image to a temporary file beside it and fsync it;
 *  2. link() it to path: all of it appears at once, and an existing path,
 *     created meanwhile by someone else, is left alone (EEXIST is success);
 *  3. remove the temporary name and fsync the directory, so the new name
 *     survives a crash before we hand out the guard.
 */
static int create_file(const char *path)
{
    char *tmp = NULL;
    int fd = -1, saved;
    int rc = write_temp_image(path, 0, &tmp, &fd); /* 1. */
    if (rc != 0)
        return rc;
    close(fd);
    /* 2. */
    if (link(tmp, path) != 0 && errno != EEXIST)
        rc = from_errno();
    saved = errno;
    unlink(tmp);
    errno = saved;
    /* 3. */
    if (rc == 0)
        rc = sync_parent_dir(path);
    free(tmp);
    return rc;
}

/*
 * Replaces the version 1 or 2 file at path, open and locked as *fd, by a
 * version 3 file holding the same mark with its minter unknown:
 *  1. write the image to a temporary file beside it, fsync it, and lock it
 *     (nobody else can hold it yet, so the lock cannot fail as busy);
 *  2. rename() it over path: the path names the old file or the new one,
 *     never a partial file; we hold both locks, so no other guard can have
 *     either open;
 *  3. fsync the directory, so the rename survives a crash before we hand
 *     out the guard, then let go of the old file.
 * An open elsewhere that locks the old inode after we let it go finds path
 * naming another inode and starts over (baton_guard_open).
 */
static int upgrade_file(const char *path, uint64_t high_water, int *fd)
{
    char *tmp = NULL;
    int nfd = -1, saved;
    int rc = write_temp_image(path, high_water, &tmp, &nfd); /* 1. */
    if (rc != 0)
        return rc;
    struct stat st;
    if (fstat(*fd, &st) != 0 || fchmod(nfd, st.st_mode & 07777) != 0 ||
        flock(nfd, LOCK_EX | LOCK_NB) != 0 || rename(tmp, path) != 0) { /* 2. */
        rc = from_errno();
        saved = errno;
        close(nfd);
        unlink(tmp);
        free(tmp);
        errno = saved;
        return rc;
    }
    free(tmp);
    rc = sync_parent_dir(path); /* 3. */
    if (rc != 0) {
        saved = errno;
        close(nfd);
        errno = saved;
        return rc;
    }
    close(*fd);
    *fd = nfd;
    return 0;
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
    memset(&guard->minter, 0, sizeof guard->minter);
    guard->fd = fd;
    guard->seq = 0;
    guard->next_slot = 0;
    guard->io_errno = 0;
    return guard;
}

static void mark_out(const struct baton_guard *guard, uint64_t token, struct baton_guard_mark *out)
{
    memset(out, 0, sizeof *out);
    out->token = token;
    out->minter_len = guard->minter.len;
    memcpy(out->minter, guard->minter.bytes, guard->minter.len);
}

int baton_guard_new(const struct baton_guard_mark *start, struct baton_guard **out)
{
    if (!out)
        return BATON_EINVAL;
    uint64_t token = start ? start->token : 0;
    size_t len = start ? start->minter_len : 0;
    if (token > BATON_TOKEN_MAX || len > GUARD_MINTER_MAX || (len > 0 && token == 0) ||
        (len > 0 && !minter_valid(start->minter, len)))
        return BATON_EINVAL;
    struct baton_guard *guard = guard_alloc(token, -1);
    if (!guard)
        return BATON_ENOMEM;
    guard->minter.len = (uint8_t)len;
    if (len > 0)
        memcpy(guard->minter.bytes, start->minter, len);
    *out = guard;
    return 0;
}

/*
 * One attempt at opening path; 1 means "path was replaced under us: try
 * again".
 * 1. Open the file; if it is missing and creation was asked for, create it
 *    and open it again.
 * 2. Lock it, without waiting: a held lock means another live guard. Then
 *    check that path still names the inode we locked (a version 1 or 2 file
 *    may have been upgraded, that is replaced, meanwhile).
 * 3. Read and decode it (after locking, so no other guard is writing).
 * 4. A version 1 or 2 file is upgraded to version 3.
 */
static int open_once(const char *path, int flags, struct baton_guard **out)
{
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
    struct stat st, at_path;
    if (fstat(fd, &st) != 0) {
        rc = from_errno();
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = BATON_EFOREIGN;
        goto fail;
    }
    if (stat(path, &at_path) != 0 || at_path.st_dev != st.st_dev || at_path.st_ino != st.st_ino) {
        rc = 1;
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
    uint32_t version = 0;
    rc = decode_file(image, (size_t)n, guard, &version);
    if (rc != 0)
        goto fail;

    /* 4. The new file's slot 0 (seq 1) holds the mark; slot 1 is next. */
    if (version != GUARD_VERSION) {
        rc = upgrade_file(path, atomic_load(&guard->high_water), &fd);
        if (rc != 0)
            goto fail;
        memset(&guard->minter, 0, sizeof guard->minter);
        guard->fd = fd;
        guard->seq = 1;
        guard->next_slot = 1;
    }
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

int baton_guard_open(const char *path, int flags, struct baton_guard **out)
{
    if (!path || !*path || !out || (flags & ~BATON_GUARD_CREATE) != 0)
        return BATON_EINVAL;
    for (int attempt = 0; attempt < GUARD_OPEN_TRIES; attempt++) {
        int rc = open_once(path, flags, out);
        if (rc != 1)
            return rc;
    }
    return BATON_EBUSY;
}

/*
 * 1. Check the arguments (no lock needed).
 * 2. Under the mutex: refuse if poisoned, if token < the mark's, or if equal
 *    to it from another (or an unknown) minter; admit an equal token from
 *    the mark's minter without writing anything.
 * 3. File-backed: write the next slot and flush it; on failure poison.
 * 4. Raise the mark, which readers may now see, and advance the slot.
 */
int baton_guard_offer(struct baton_guard *guard, uint64_t token, const char *minter,
                      size_t minter_len, struct baton_guard_mark *mark)
{
    if (!guard)
        return BATON_EINVAL;
    /* 1. */
    if (token == 0 || token > BATON_TOKEN_MAX || !minter_valid(minter, minter_len)) {
        if (mark) {
            pthread_mutex_lock(&guard->lock);
            mark_out(guard, atomic_load(&guard->high_water), mark);
            pthread_mutex_unlock(&guard->lock);
        }
        return BATON_EINVAL;
    }

    /* 2. */
    pthread_mutex_lock(&guard->lock);
    int rc = 0;
    uint64_t current = atomic_load(&guard->high_water);
    if (guard->io_errno != 0) {
        rc = BATON_EIO;
    } else if (token < current) {
        rc = BATON_ESTALE;
    } else if (token == current) {
        if (guard->minter.len != minter_len || memcmp(guard->minter.bytes, minter, minter_len) != 0)
            rc = BATON_ESTALE;
    } else {
        struct minter next;
        memset(&next, 0, sizeof next);
        next.len = (uint8_t)minter_len;
        memcpy(next.bytes, minter, minter_len);
        /* 3. */
        if (guard->fd >= 0) {
            uint8_t slot[GUARD_SLOT_LEN];
            encode_slot(slot, guard->next_slot, guard->seq + 1, token, &next);
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
            guard->minter = next;
            atomic_store(&guard->high_water, token);
            current = token;
        }
    }
    int io_errno = guard->io_errno;
    if (mark)
        mark_out(guard, current, mark);
    pthread_mutex_unlock(&guard->lock);

    if (rc == BATON_EIO)
        errno = io_errno;
    return rc;
}

int baton_guard_mark(struct baton_guard *guard, struct baton_guard_mark *out)
{
    if (!guard || !out)
        return BATON_EINVAL;
    pthread_mutex_lock(&guard->lock);
    mark_out(guard, atomic_load(&guard->high_water), out);
    pthread_mutex_unlock(&guard->lock);
    return 0;
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
