/*
 * The intrusive chained hash table behind the core's lookups (API and
 * policy in htab.h).
 *
 * Why one table, and this one. The candidate map (names), the election
 * state (names and members) and the membership layer (members and the
 * broadcast queue's keys) each need a map from a short byte key to a record
 * they allocate themselves. Each used to carry its own copy of the same
 * chained table; this file is that table once. It is the textbook
 * separate-chaining design (Knuth, TAOCP vol. 3, §6.4) with the links
 * embedded in the records, as in the Linux kernel's hlist: a lookup costs
 * no allocation, a record is in a table without a second object, and
 * unlinking needs no search beyond the record's own chain.
 *
 * Choices and why:
 *  - The caller hashes. Every key here is hashed already for other reasons
 *    (a digest, a broadcast key), and the caller knows how to compare its
 *    own keys, so the table takes a hash and a predicate rather than key
 *    bytes and a length.
 *  - Buckets are a power of two and the bucket of a hash is its low bits
 *    after folding in the high half: the keys are mostly short names hashed
 *    with FNV-1a, whose low bits alone mix poorly for short inputs.
 *  - Growth doubles at load factor 1 and is best effort. A failed doubling
 *    costs only longer chains, so linking never fails and callers keep
 *    their all-or-nothing updates simple: reserve, allocate the record,
 *    then link, with nothing to undo after the last allocation.
 *  - Order depends on history only. The membership layer is replayed from a
 *    seed by the simulator, and the election state iterates its table to
 *    build the full state it ships; neither may depend on where malloc put
 *    a record. Chains are therefore built from hashes and the sequence of
 *    operations alone (htab.h says exactly how).
 */
#include "core/htab.h"

#include <stdlib.h>

#include "baton/baton.h"

void bt_htab_init(struct bt_htab *t)
{
    t->buckets = NULL;
    t->nbuckets = 0;
    t->count = 0;
}

void bt_htab_destroy(struct bt_htab *t)
{
    free(t->buckets);
    bt_htab_init(t);
}

int bt_htab_reserve(struct bt_htab *t)
{
    if (t->nbuckets != 0)
        return 0;
    t->buckets = calloc(BT_HTAB_INITIAL_BUCKETS, sizeof *t->buckets);
    if (!t->buckets)
        return BATON_ENOMEM;
    t->nbuckets = BT_HTAB_INITIAL_BUCKETS;
    return 0;
}

/* Doubles the bucket array, or leaves the table as it is when that cannot
 * be allocated (still correct, only slower). */
static void grow(struct bt_htab *t)
{
    size_t n = t->nbuckets * 2;
    if (n < t->nbuckets || n > SIZE_MAX / sizeof *t->buckets)
        return;
    struct bt_hlink **fresh = calloc(n, sizeof *fresh);
    if (!fresh)
        return;
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct bt_hlink *x = t->buckets[i];
        while (x) {
            struct bt_hlink *next = x->next;
            size_t at = bt_htab_bucket(x->hash, n);
            x->next = fresh[at];
            fresh[at] = x;
            x = next;
        }
    }
    free(t->buckets);
    t->buckets = fresh;
    t->nbuckets = n;
}

void bt_htab_link(struct bt_htab *t, struct bt_hlink *x, uint64_t hash)
{
    if (t->count >= t->nbuckets)
        grow(t);
    size_t at = bt_htab_bucket(hash, t->nbuckets);
    x->hash = hash;
    x->next = t->buckets[at];
    t->buckets[at] = x;
    t->count++;
}

void bt_htab_unlink(struct bt_htab *t, struct bt_hlink *x)
{
    struct bt_hlink **p = &t->buckets[bt_htab_bucket(x->hash, t->nbuckets)];
    while (*p != x)
        p = &(*p)->next;
    *p = x->next;
    x->next = NULL;
    t->count--;
}

struct bt_hlink *bt_htab_find(const struct bt_htab *t, uint64_t hash,
                              bool (*is_key)(const struct bt_hlink *x, const void *key),
                              const void *key)
{
    if (t->nbuckets == 0)
        return NULL;
    for (struct bt_hlink *x = t->buckets[bt_htab_bucket(hash, t->nbuckets)]; x; x = x->next)
        if (x->hash == hash && is_key(x, key))
            return x;
    return NULL;
}

/* The head of the first non-empty chain at or after bucket i, or NULL. */
static struct bt_hlink *first_from(const struct bt_htab *t, size_t i)
{
    for (; i < t->nbuckets; i++)
        if (t->buckets[i])
            return t->buckets[i];
    return NULL;
}

struct bt_hlink *bt_htab_first(const struct bt_htab *t) { return first_from(t, 0); }

struct bt_hlink *bt_htab_next(const struct bt_htab *t, const struct bt_hlink *x)
{
    if (x->next)
        return x->next;
    return first_from(t, bt_htab_bucket(x->hash, t->nbuckets) + 1);
}
