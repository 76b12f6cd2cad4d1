/*
 * baton/guard.h: the fence guard a protected resource keeps.
 *
 * baton hands every term of leadership a fencing token (docs/design.md §1). A
 * leader that was paused or partitioned may not know it has been replaced,
 * so the resource it writes to must refuse its late operations itself. The
 * rule is one comparison: accept an operation only if its token is strictly
 * greater than the highest token accepted so far (the high-water mark), and
 * raise the high-water mark to it. A guard is that comparison, made atomic
 * across threads and, for a file-backed guard, durable across crashes.
 *
 * Tokens. A valid token is 1..BATON_TOKEN_MAX (INT64_MAX), so it fits a
 * signed 64-bit SQL BIGINT. A high-water mark of 0 means "nothing accepted
 * yet". Token 0 is never a fencing token (baton never mints it; it is what an
 * uninitialised variable holds), so it is refused as BATON_EINVAL rather than
 * accepted against an empty guard; tokens above BATON_TOKEN_MAX are refused as
 * BATON_EINVAL too. Neither changes the guard.
 *
 * Two kinds of guard, one type:
 *  - in memory, baton_guard_new(): the high-water mark lives as long as the
 *    process. For a resource that itself forgets everything when the process
 *    ends (a cache, an in-process queue), or to guard in memory a value the
 *    caller persists elsewhere.
 *  - file-backed, baton_guard_open(): every raise is written and flushed to
 *    stable storage (fdatasync) BEFORE baton_guard_offer() returns 0, so a
 *    crash at any point, including a torn write, never loses an accepted
 *    raise and never rolls the high-water mark back. The file is locked
 *    (flock) for as long as it is open: one open guard per file at a time.
 *
 * One token, one admission. Because the comparison is strict, a token is
 * accepted once. A leader that performs many operations in one term presents
 * its token once, to open a session with the resource (a connection, a
 * batch, a lease row), and its operations ride on that session; the resource
 * ends the session when a greater token is admitted. The strictness is what
 * keeps two leaders out when both sides of a partition mint the same token
 * (two HLCs can read the same millisecond): only the first is admitted.
 *
 * A guard is the gate, not the transaction: accept the token, then perform
 * the operation. If the operation must be atomic with the check (a database
 * row), keep the high-water mark in the database instead and compare it in
 * the same transaction; docs/guard.md shows both patterns.
 *
 * Threads: baton_guard_offer() and baton_guard_high_water() may be called
 * from any number of threads at once on the same guard. Creating and
 * releasing a guard must not race with any other call on it. After fork(),
 * use a file-backed guard in one process only: the lock is shared with the
 * child (it is on the open file description), the mutual exclusion is not.
 *
 * Errors follow baton.h: 0 on success, a negative BATON_E* code on failure.
 * Where a function says it may return BATON_EIO, errno then holds the error
 * of the system call that failed.
 */
#ifndef BATON_GUARD_H
#define BATON_GUARD_H

#include <stdint.h>

#include <baton/baton.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is exported from libbaton.so (BATON_EXPORT). */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(default)
#endif

/* The greatest valid fencing token: INT64_MAX, so tokens fit SQL BIGINT. */
#define BATON_TOKEN_MAX ((uint64_t)INT64_MAX)

/* baton_guard_open() flag: create the file, with high-water mark 0, if it
 * does not exist. Without it a missing file is BATON_ENOENT, never a fresh
 * guard: pass it when the resource is first set up, not on every start, or a
 * deleted guard file silently becomes an empty one. */
#define BATON_GUARD_CREATE 0x1

/* A guard. Opaque: it holds a mutex and, when file-backed, a locked file
 * descriptor. Always on the heap, made by baton_guard_new() or
 * baton_guard_open() and released by baton_guard_free() or
 * baton_guard_close(). */
struct baton_guard;

/*
 * Makes an in-memory guard whose high-water mark starts at high_water (0:
 * nothing accepted yet; pass a value you persisted to resume from it).
 *
 * out: written with the new guard on success, untouched on failure. The
 * caller owns the guard and releases it with baton_guard_free().
 *
 * Returns 0, or
 *   BATON_EINVAL  out is NULL, or high_water > BATON_TOKEN_MAX;
 *   BATON_ENOMEM  allocation or mutex initialisation failed.
 */
int baton_guard_new(uint64_t high_water, struct baton_guard **out);

/*
 * Opens the file-backed guard at path and locks it.
 *
 * path: borrowed for the duration of the call (the guard does not keep it).
 * flags: 0 or BATON_GUARD_CREATE. With BATON_GUARD_CREATE, a missing file is
 *   created atomically: the full file is written under a temporary name
 *   "<path>.XXXXXX" in the same directory, flushed, hard-linked to path
 *   (never replacing a file another process created meanwhile) and the
 *   directory is flushed, so a crash never leaves a partial file at path. A
 *   crash during creation may leave the temporary file behind; it is never
 *   read and may be deleted. A created file has mode 0600. An existing file
 *   is opened as it is.
 * out: written with the guard on success, untouched on failure. The caller
 *   owns it and releases it with baton_guard_close().
 *
 * A file that cannot be trusted is an error, never silently a fresh guard.
 *
 * Returns 0, or
 *   BATON_EINVAL    path or out is NULL, path is empty, or flags has bits
 *                   other than BATON_GUARD_CREATE;
 *   BATON_ENOENT    path (or, with BATON_GUARD_CREATE, its directory) does
 *                   not exist;
 *   BATON_EBUSY     another open guard, in this process or another, holds
 *                   the file's lock;
 *   BATON_EFOREIGN  the file is not a guard file (wrong magic);
 *   BATON_EVERSION  a guard file of a format version this build does not
 *                   know;
 *   BATON_ECORRUPT  a guard file that is truncated or of the wrong size, whose
 *                   header fails its checksum, or whose two slots are both
 *                   invalid;
 *   BATON_EIO       any other system error (permissions, a directory at
 *                   path, a failed read, write or flush...): see errno;
 *   BATON_ENOMEM    allocation failed.
 */
int baton_guard_open(const char *path, int flags, struct baton_guard **out);

/*
 * Offers token to the guard: accepts it, and raises the high-water mark to
 * it, if and only if token > the high-water mark. Compare-and-raise is
 * atomic with respect to every other offer on the guard. For a file-backed
 * guard the raise is on stable storage before 0 is returned.
 *
 * high_water: may be NULL. Otherwise it receives the guard's high-water mark
 *   as of the end of the call, whatever the result (except BATON_EINVAL for a
 *   NULL guard): token itself on success, the mark that beat token on
 *   BATON_ESTALE.
 *
 * Returns 0 (accepted: perform the operation), or
 *   BATON_ESTALE  token <= the high-water mark: refuse the operation, its
 *                 sender is a stale leader;
 *   BATON_EINVAL  guard is NULL, token is 0 or > BATON_TOKEN_MAX;
 *   BATON_EIO     (file-backed only) writing or flushing the raise failed.
 *                 The offer is not accepted, and the guard is poisoned:
 *                 every later offer returns BATON_EIO too, because after a
 *                 failed flush the kernel's view of the file can no longer
 *                 be trusted. Close it and open the file again, which reads
 *                 back what is really on disk. After such a failure (or a
 *                 crash) the reopened mark may equal the token that was
 *                 being written: the guard may refuse a token it never
 *                 accepted, but never accepts one it should refuse.
 */
int baton_guard_offer(struct baton_guard *guard, uint64_t token, uint64_t *high_water);

/*
 * The guard's high-water mark: the greatest token accepted (for a file-backed
 * guard: accepted and on disk), or the starting value; 0 means none. Never
 * waits for a raise in progress. guard is borrowed and must not be NULL.
 */
uint64_t baton_guard_high_water(const struct baton_guard *guard);

/*
 * Releases a guard made by baton_guard_new(). NULL is allowed. It must not be
 * in use by another thread. baton_guard_free() and baton_guard_close() do the
 * same thing and accept either kind of guard; use the one that pairs with
 * how the guard was made.
 */
void baton_guard_free(struct baton_guard *guard);

/*
 * Releases a guard made by baton_guard_open(): closes the file, which drops
 * its lock. Every accepted raise is already on disk, so there is nothing to
 * flush and nothing to fail. NULL is allowed. It must not be in use by
 * another thread.
 */
void baton_guard_close(struct baton_guard *guard);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif
#endif /* BATON_GUARD_H */
