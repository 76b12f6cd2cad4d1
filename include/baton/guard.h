/*
 * baton/guard.h: the fence guard a protected resource keeps.
 *
 * baton hands every term of leadership a fencing token (docs/design.md §1). A
 * leader that was paused or partitioned may not know it has been replaced,
 * so the resource it writes to must refuse its late operations itself. A
 * term is the pair (token, minter): the token, and the process that minted
 * it (its node name and boot). Two sides of a partition can mint the same
 * token (two HLCs can read the same millisecond), even two processes that
 * claim one node name for a while (twins, docs/membership.md), so neither
 * the token alone nor the token and a node name names a term. The
 * rule: keep the greatest term admitted so far (the mark); admit a term
 * whose token is greater than the mark's, or equal to it from the mark's own
 * minter (the same leader process presenting its term again, say after a
 * lost reply), and refuse every other: a lower token, or an equal token from
 * another minter. A guard is that rule, made atomic across threads and, for
 * a file-backed guard, durable across crashes.
 *
 * Tokens. A valid token is 1..BATON_TOKEN_MAX (INT64_MAX), so it fits a
 * signed 64-bit SQL BIGINT. A mark of token 0 means "nothing admitted yet".
 * Token 0 is never a fencing token (baton never mints it; it is what an
 * uninitialised variable holds), so it is refused as BATON_EINVAL rather than
 * admitted against an empty guard; tokens above BATON_TOKEN_MAX are refused as
 * BATON_EINVAL too. Neither changes the guard.
 *
 * Minters. A minter names a process (baton.h, BATON_MINTER_MAX): the node
 * name, '#', and the process's boot id as 16 lowercase hex digits, not all
 * zero, e.g. "n1#0000018c2f3a9b71"; passed as a pointer and a length
 * (18..BATON_MINTER_MAX bytes, no terminator needed). baton_fence(), the
 * on_elected callback and batond's "minter" give it with the token; the
 * guard compares it byte for byte. An empty, overlong or ill-formed minter
 * (a bare node name included) is BATON_EINVAL and changes nothing. A mark
 * can have an unknown minter (minter_len 0): a guard started from a bare
 * token, or a file written by format version 1 or 2. An equal token is then
 * refused from everyone; the next greater token gives the mark a minter
 * again.
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
 * One term, any number of admissions. A leader may present its term as
 * often as it likes (per operation, or once to open a session with the
 * resource); while no greater term has been admitted it gets in, and once
 * one has, it never does again. Another minter's equal token is refused, so
 * when both sides of a partition mint the same token only the first to
 * arrive gets in, and the other's leader learns it must move above it
 * (baton_observe_mark).
 *
 * A guard is the gate, not the transaction: accept the token, then perform
 * the operation. If the operation must be atomic with the check (a database
 * row), keep the high-water mark in the database instead and compare it in
 * the same transaction; docs/guard.md shows both patterns.
 *
 * Threads: baton_guard_offer(), baton_guard_mark() and
 * baton_guard_high_water() may be called from any number of threads at once
 * on the same guard. Creating and
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

#include <stddef.h>
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

/* A guard's mark: the greatest term admitted. Filled by the guard (offer,
 * mark) or by the caller (to start an in-memory guard from a saved mark). */
struct baton_guard_mark {
    uint64_t token;                    /* 0..BATON_TOKEN_MAX; 0: nothing admitted */
    size_t minter_len;                 /* 0 or 18..BATON_MINTER_MAX; 0: minter
                                          unknown (always so when token is 0) */
    char minter[BATON_MINTER_MAX + 1]; /* minter_len bytes ("<node>#<boot hex>"),
                                          then a NUL */
};

/*
 * Makes an in-memory guard whose mark starts at *start, or at "nothing
 * admitted" if start is NULL. Pass a mark you saved (from baton_guard_mark()
 * or an offer) to resume from it; start->minter_len may be 0 (minter
 * unknown: an equal token is refused from everyone). start is borrowed.
 *
 * out: written with the new guard on success, untouched on failure. The
 * caller owns the guard and releases it with baton_guard_free().
 *
 * Returns 0, or
 *   BATON_EINVAL  out is NULL; start->token > BATON_TOKEN_MAX;
 *                 start->minter_len > BATON_MINTER_MAX, or its bytes are
 *                 no minter; or start->token is 0 with a minter;
 *   BATON_ENOMEM  allocation or mutex initialisation failed.
 */
int baton_guard_new(const struct baton_guard_mark *start, struct baton_guard **out);

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
 *   of the current format (version 3) is opened as it is.
 *
 * A file of format version 1 (written before marks had minters) or 2
 * (minters were node names, without the boot) is upgraded while it is open
 * and locked: a version 3 image holding its mark's token, with the minter
 * unknown, is written and flushed under "<path>.XXXXXX", locked, and
 * renamed over path, and the directory is flushed. A crash leaves either the
 * old file or the new one at path (perhaps with the temporary file, never
 * read). An open that finds path replaced by another inode after taking the
 * lock (someone upgraded it meanwhile) starts over. After the upgrade a
 * build that only knows version 1 or 2 refuses the file (BATON_EVERSION).
 *
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
 *   BATON_EBUSY     also: path was replaced by another inode three times in a
 *                   row while this call was opening it;
 *   BATON_EIO       any other system error (permissions, a directory at
 *                   path, a failed read, write or flush...): see errno;
 *   BATON_ENOMEM    allocation failed.
 */
int baton_guard_open(const char *path, int flags, struct baton_guard **out);

/*
 * Offers the term (token, minter) to the guard. Admits it if token is
 * greater than the mark's token, or equal to it and minter is the mark's
 * minter (byte for byte); refuses it otherwise. A greater token raises the
 * mark to (token, minter); an admitted equal term changes nothing (and, for
 * a file-backed guard, writes nothing). Compare-and-raise is atomic with
 * respect to every other call on the guard. For a file-backed guard a raise
 * is on stable storage before 0 is returned.
 *
 * minter: minter_len bytes (borrowed for the call), the process that minted
 *   the token, "<node>#<boot hex>": baton_fence() gives it.
 * mark: may be NULL. Otherwise it receives the guard's mark as of the end of
 *   the call, whatever the result (except BATON_EINVAL for a NULL guard):
 *   the offered term itself on success, the term that beat it on
 *   BATON_ESTALE (hand it to baton_observe_mark()).
 *
 * Returns 0 (admitted: perform the operation), or
 *   BATON_ESTALE  token < the mark's token, or equal to it from another
 *                 minter (or with the mark's minter unknown): refuse the
 *                 operation, its sender's term is over;
 *   BATON_EINVAL  guard is NULL, token is 0 or > BATON_TOKEN_MAX, or minter
 *                 is NULL, empty, longer than BATON_MINTER_MAX or not of
 *                 the form "<node>#<boot hex>";
 *   BATON_EIO     (file-backed only) writing or flushing the raise failed.
 *                 The offer is not admitted, and the guard is poisoned:
 *                 every later offer returns BATON_EIO too, because after a
 *                 failed flush the kernel's view of the file can no longer
 *                 be trusted. Close it and open the file again, which reads
 *                 back what is really on disk. After such a failure (or a
 *                 crash) the reopened mark may be the term that was being
 *                 written: the guard may admit again a term it never
 *                 acknowledged, or refuse one it never admitted, but never
 *                 admits a term it should refuse.
 */
int baton_guard_offer(struct baton_guard *guard, uint64_t token, const char *minter,
                      size_t minter_len, struct baton_guard_mark *mark);

/*
 * Copies the guard's mark into *out: the greatest term admitted (for a
 * file-backed guard: admitted and on disk), or the starting one. Waits for a
 * raise in progress (it takes the guard's mutex). Returns 0, or BATON_EINVAL
 * if guard or out is NULL.
 */
int baton_guard_mark(struct baton_guard *guard, struct baton_guard_mark *out);

/*
 * The token of the guard's mark (0: nothing admitted), without its minter.
 * Never waits for a raise in progress. guard is borrowed and must not be
 * NULL.
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
