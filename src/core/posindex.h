/*
 * An index of the positions of records kept in one array, found by a
 * 32-bit hash of each record's key: the election's member records
 * (leader.c) and the node's clock readings (node_clock.c), which every
 * node holds for every member. Open addressing with linear probing: each
 * slot is 0 (empty) or a position + 1, and the index is at most three
 * quarters full, so it costs about 5 to 11 bytes a record and no hash
 * link inside it. The records do not keep their hashes either (4 bytes
 * each, n^2 of them in an n-node simulation): the index asks for one
 * (bt_posindex_hash_fn) only when it is built again, and the caller
 * compares keys:
 *
 *     for (size_t k = bt_posindex_start(x, h); x->slots[k]; k = bt_posindex_next(x, k))
 *         ... the record at x->slots[k] - 1 ...
 *
 * (only when x->cap is not 0).
 */
#ifndef BT_CORE_POSINDEX_H
#define BT_CORE_POSINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bt_posindex {
    uint32_t *slots; /* cap of them, owned; NULL while cap is 0 */
    size_t cap;      /* 0, or a power of two; at most three quarters of it used */
};

/* The hash a record's key was put in under (rec points at the record). */
typedef uint32_t bt_posindex_hash_fn(const void *rec);

/* Where hash's probe path starts, and the slot after k on it (x->cap not 0). */
static inline size_t bt_posindex_start(const struct bt_posindex *x, uint32_t hash)
{
    return hash & (x->cap - 1);
}

static inline size_t bt_posindex_next(const struct bt_posindex *x, size_t k)
{
    return (k + 1) & (x->cap - 1);
}

/* Puts position pos, whose record's key hashes to hash, in x (which has
 * room: bt_posindex_reserve). */
void bt_posindex_put(struct bt_posindex *x, uint32_t hash, size_t pos);

/* Indexes the n records of the array at recs again (each stride bytes,
 * hashed by hash): after records moved or were removed. */
void bt_posindex_refill(struct bt_posindex *x, const void *recs, size_t stride,
                        bt_posindex_hash_fn *hash, size_t n);

/* Room in x for n + 1 positions, the n records at recs re-indexed if the
 * slots were replaced. false: out of memory (x unchanged). */
bool bt_posindex_reserve(struct bt_posindex *x, const void *recs, size_t stride,
                         bt_posindex_hash_fn *hash, size_t n);

/* Frees the slots; x is empty (and usable) again. */
void bt_posindex_free(struct bt_posindex *x);

#endif
