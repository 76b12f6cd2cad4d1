/* An index of records' positions by hash (posindex.h). */
#include "core/posindex.h"

#include <stdlib.h>
#include <string.h>

void bt_posindex_put(struct bt_posindex *x, uint32_t hash, size_t pos)
{
    size_t k = bt_posindex_start(x, hash);
    while (x->slots[k] != 0)
        k = bt_posindex_next(x, k);
    x->slots[k] = (uint32_t)pos + 1;
}

void bt_posindex_refill(struct bt_posindex *x, const void *recs, size_t stride,
                        bt_posindex_hash_fn *hash, size_t n)
{
    memset(x->slots, 0, x->cap * sizeof *x->slots);
    for (size_t i = 0; i < n; i++)
        bt_posindex_put(x, hash((const char *)recs + i * stride), i);
}

bool bt_posindex_reserve(struct bt_posindex *x, const void *recs, size_t stride,
                         bt_posindex_hash_fn *hash, size_t n)
{
    if (4 * (n + 1) <= 3 * x->cap)
        return true;
    size_t cap = x->cap ? x->cap * 2 : 32;
    while (4 * (n + 1) > 3 * cap)
        cap *= 2;
    if (n >= UINT32_MAX || cap > SIZE_MAX / sizeof *x->slots)
        return false;
    uint32_t *slots = malloc(cap * sizeof *slots);
    if (!slots)
        return false;
    free(x->slots);
    x->slots = slots;
    x->cap = cap;
    bt_posindex_refill(x, recs, stride, hash, n);
    return true;
}

void bt_posindex_free(struct bt_posindex *x)
{
    free(x->slots);
    x->slots = NULL;
    x->cap = 0;
}
