/*
 * An intrusive chained hash table: the caller's records embed a struct
 * bt_hlink and the table strings those links into bucket chains. The table
 * never allocates or frees a record, hashes no key and compares none: the
 * caller hands it each link's 64-bit hash and, to look up, a predicate that
 * recognises the wanted record. Keys must be unique in a table (insert only
 * after a failed lookup); the table does not check.
 *
 * Policy, in full:
 *   - The bucket count is 0 until bt_htab_reserve() gives the table
 *     BT_HTAB_INITIAL_BUCKETS, then a power of two.
 *   - A link that would make count exceed nbuckets first doubles the bucket
 *     array. If that allocation fails the link goes in anyway and chains
 *     only get longer: bt_htab_link() cannot fail, so a caller that reserved
 *     first never has to undo anything.
 *   - A new link goes to the head of its chain. Doubling walks the old
 *     buckets in index order and each chain from its head, pushing every
 *     link onto the head of its new chain. So the position of every link,
 *     and the order bt_htab_first()/bt_htab_next() visit them in, is a
 *     function of the hashes and of the sequence of links and unlinks alone,
 *     never of pointer values or of where the allocator put anything: two
 *     runs with the same inputs iterate in the same order.
 *   - The table never shrinks; bt_htab_destroy() frees the bucket array.
 */
#ifndef BT_HTAB_H
#define BT_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bucket count bt_htab_reserve() starts an empty table with. */
#define BT_HTAB_INITIAL_BUCKETS 16

/* The record of type `type` whose member `member` is the struct bt_hlink at
 * `link` (which must not be NULL). */
#define BT_HTAB_ENTRY(link, type, member) ((type *)(void *)((char *)(link)-offsetof(type, member)))

/* The part of a record the table owns while the record is linked. */
struct bt_hlink {
    struct bt_hlink *next; /* next link in the same bucket's chain, NULL at its end */
    uint64_t hash;         /* the record's key hash, set by bt_htab_link(); kept for rehashing */
};

struct bt_htab {
    struct bt_hlink **buckets; /* nbuckets chain heads, NULL for an empty chain */
    size_t nbuckets;           /* a power of two, or 0 before bt_htab_reserve() */
    size_t count;              /* links in the table */
};

/* An empty table with no buckets; allocates nothing. */
void bt_htab_init(struct bt_htab *t);

/* Frees the bucket array and leaves t empty, as after bt_htab_init(). The
 * linked records are not touched: free them first if they are the caller's
 * to free (walk them with bt_htab_first()/bt_htab_next(), taking each next
 * link before freeing the current one). */
void bt_htab_destroy(struct bt_htab *t);

/* Gives a table without buckets its first ones, so that bt_htab_link()
 * cannot be left without a chain to use. Returns 0 (also when t already had
 * buckets) or BATON_ENOMEM, t then unchanged. */
int bt_htab_reserve(struct bt_htab *t);

/* Links x (borrowed until unlinked or the table destroyed) under hash,
 * which x->hash records. The table must have buckets (bt_htab_reserve()
 * succeeded) and x must not be linked. Never fails (see the policy above). */
void bt_htab_link(struct bt_htab *t, struct bt_hlink *x, uint64_t hash);

/* Unlinks x, which must be linked in t. */
void bt_htab_unlink(struct bt_htab *t, struct bt_hlink *x);

/* The link under hash for which is_key(link, key) is true, or NULL. is_key
 * is only asked about links whose hash equals hash; key (borrowed) is passed
 * through. Works on a table without buckets (finds nothing). */
struct bt_hlink *bt_htab_find(const struct bt_htab *t, uint64_t hash,
                              bool (*is_key)(const struct bt_hlink *x, const void *key),
                              const void *key);

/* The bucket of hash in a table of nbuckets (a power of two) buckets: its
 * low bits after folding in the high half (htab.c says why). */
static inline size_t bt_htab_bucket(uint64_t hash, size_t nbuckets)
{
    return (size_t)((hash ^ (hash >> 32)) & (nbuckets - 1));
}

/* Hints for a caller about to look up many hashes at once, each a cache
 * miss when the table is cold: asks the processor to fetch hash's bucket
 * (bt_htab_prefetch) and then, once the buckets are at hand, the first
 * span bytes of the first link of its chain (bt_htab_prefetch_chain), so
 * that the misses overlap instead of following one another. They change
 * nothing and find nothing; any table (one without buckets too). Always
 * inlined, and so must their callers be: GCC at -O2 finds a separate
 * function that only prefetches free of side effects and drops its calls. */
#if defined(__GNUC__)
#define BT_HTAB_HINT static inline __attribute__((always_inline))
#else
#define BT_HTAB_HINT static inline
#endif

BT_HTAB_HINT void bt_htab_prefetch(const struct bt_htab *t, uint64_t hash)
{
#if defined(__GNUC__)
    if (t->nbuckets != 0)
        __builtin_prefetch(&t->buckets[bt_htab_bucket(hash, t->nbuckets)]);
#else
    (void)t;
    (void)hash;
#endif
}

BT_HTAB_HINT void bt_htab_prefetch_chain(const struct bt_htab *t, uint64_t hash, size_t span)
{
#if defined(__GNUC__)
    if (t->nbuckets == 0)
        return;
    const char *x = (const char *)t->buckets[bt_htab_bucket(hash, t->nbuckets)];
    if (x)
        for (size_t off = 0; off < span; off += 64)
            __builtin_prefetch(x + off);
#else
    (void)t;
    (void)hash;
    (void)span;
#endif
}

/* The first link in iteration order (bucket by bucket, each chain from its
 * head), or NULL for an empty table. */
struct bt_hlink *bt_htab_first(const struct bt_htab *t);

/* The link after x (linked in t) in iteration order, or NULL after the last.
 * Unlinking or freeing x after taking its successor is safe; any other
 * change to the table invalidates an iteration. */
struct bt_hlink *bt_htab_next(const struct bt_htab *t, const struct bt_hlink *x);

#endif
