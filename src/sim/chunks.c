/* Shared chunks (chunks.h): counted byte strings in an htab.h table. */
#include "sim/chunks.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"

void sim_chunks_init(struct sim_chunks *t) { bt_htab_init(&t->table); }

void sim_chunks_destroy(struct sim_chunks *t) { bt_htab_destroy(&t->table); }

struct bytes {
    const uint8_t *p;
    size_t len;
};

static bool same_bytes(const struct bt_hlink *x, const void *key)
{
    const struct sim_chunk *c = BT_HTAB_ENTRY(x, struct sim_chunk, link);
    const struct bytes *b = key;
    return c->len == b->len && memcmp(c->data, b->p, b->len) == 0;
}

/* The chunk of p's len bytes, whose hash is given, with one more
 * reference; NULL when out of memory. */
static struct sim_chunk *get_hashed(struct sim_chunks *t, const uint8_t *p, size_t len,
                                    uint64_t hash)
{
    if (len > UINT32_MAX || bt_htab_reserve(&t->table) != 0)
        return NULL;
    struct bytes key = {p, len};
    struct bt_hlink *x = bt_htab_find(&t->table, hash, same_bytes, &key);
    if (x != NULL) {
        struct sim_chunk *c = BT_HTAB_ENTRY(x, struct sim_chunk, link);
        c->refs++;
        return c;
    }
    struct sim_chunk *c = malloc(offsetof(struct sim_chunk, data) + len);
    if (c == NULL)
        return NULL;
    c->refs = 1;
    c->len = (uint32_t)len;
    memcpy(c->data, p, len);
    bt_htab_link(&t->table, &c->link, hash);
    return c;
}

bool sim_chunks_get_many(struct sim_chunks *t, const uint8_t *const *p, const size_t *len, size_t n,
                         struct sim_chunk **out)
{
    enum { SPAN = 64 }; /* a chunk's link, count, length and first bytes */
    uint64_t hash[SIM_CHUNKS_AHEAD];
    assert(n <= SIM_CHUNKS_AHEAD);
    for (size_t i = 0; i < n; i++) {
        hash[i] = bt_hash_bytes(p[i], len[i]);
        bt_htab_prefetch(&t->table, hash[i]);
    }
    for (size_t i = 0; i < n; i++)
        bt_htab_prefetch_chain(&t->table, hash[i], SPAN);
    for (size_t i = 0; i < n; i++)
        if ((out[i] = get_hashed(t, p[i], len[i], hash[i])) == NULL)
            return false;
    return true;
}

void sim_chunks_put(struct sim_chunks *t, struct sim_chunk *c)
{
    if (--c->refs > 0)
        return;
    bt_htab_unlink(&t->table, &c->link);
    free(c);
}
