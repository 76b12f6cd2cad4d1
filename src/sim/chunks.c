/* Shared chunks (chunks.h): a chained hash table of counted byte strings. */
#include "sim/chunks.h"

#include <stdlib.h>
#include <string.h>

#include "core/names.h"

void sim_chunks_init(struct sim_chunks *t)
{
    t->buckets = NULL;
    t->mask = 0;
    t->count = 0;
}

void sim_chunks_destroy(struct sim_chunks *t)
{
    free(t->buckets);
    sim_chunks_init(t);
}

/* Doubles the buckets (or makes the first 1024); keeps the old ones when
 * out of memory, which only lengthens the chains. */
static void grow(struct sim_chunks *t)
{
    size_t n = t->buckets != NULL ? (t->mask + 1) * 2 : 1024;
    struct sim_chunk **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; t->buckets != NULL && i <= t->mask; i++) {
        struct sim_chunk *c = t->buckets[i];
        while (c != NULL) {
            struct sim_chunk *next = c->next;
            c->next = b[c->hash & (n - 1)];
            b[c->hash & (n - 1)] = c;
            c = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->mask = n - 1;
}

struct sim_chunk *sim_chunks_get(struct sim_chunks *t, const uint8_t *p, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    if (t->buckets == NULL || t->count > t->mask)
        grow(t);
    if (t->buckets == NULL)
        return NULL;
    uint32_t hash = (uint32_t)bt_hash_bytes(p, len);
    struct sim_chunk **head = &t->buckets[hash & t->mask];
    for (struct sim_chunk *c = *head; c != NULL; c = c->next) {
        if (c->hash == hash && c->len == len && memcmp(c->data, p, len) == 0) {
            c->refs++;
            return c;
        }
    }
    struct sim_chunk *c = malloc(offsetof(struct sim_chunk, data) + len);
    if (c == NULL)
        return NULL;
    c->hash = hash;
    c->refs = 1;
    c->len = (uint32_t)len;
    memcpy(c->data, p, len);
    c->next = *head;
    *head = c;
    t->count++;
    return c;
}

void sim_chunks_put(struct sim_chunks *t, struct sim_chunk *c)
{
    if (--c->refs > 0)
        return;
    struct sim_chunk **at = &t->buckets[c->hash & t->mask];
    while (*at != c)
        at = &(*at)->next;
    *at = c->next;
    t->count--;
    free(c);
}
