/* The simulator's agenda; see heap.h. A textbook array heap (CLRS ch. 6)
 * whose entries remember their index so they can be removed in place. */
#include "sim/heap.h"

#include <stdlib.h>

#include "baton/baton.h"

static bool before(const struct bt_sim_heap_entry *a, const struct bt_sim_heap_entry *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void place(struct bt_sim_heap *h, size_t i, struct bt_sim_heap_entry *e)
{
    h->items[i] = e;
    e->pos = i;
}

static void sift_up(struct bt_sim_heap *h, size_t i)
{
    struct bt_sim_heap_entry *e = h->items[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(e, h->items[parent]))
            break;
        place(h, i, h->items[parent]);
        i = parent;
    }
    place(h, i, e);
}

static void sift_down(struct bt_sim_heap *h, size_t i)
{
    struct bt_sim_heap_entry *e = h->items[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= h->len)
            break;
        if (child + 1 < h->len && before(h->items[child + 1], h->items[child]))
            child++;
        if (!before(h->items[child], e))
            break;
        place(h, i, h->items[child]);
        i = child;
    }
    place(h, i, e);
}

void bt_sim_heap_init(struct bt_sim_heap *h)
{
    h->items = NULL;
    h->len = 0;
    h->cap = 0;
    h->next_seq = 1;
}

void bt_sim_heap_destroy(struct bt_sim_heap *h)
{
    for (size_t i = 0; i < h->len; i++)
        h->items[i]->pos = BT_SIM_HEAP_NONE;
    free(h->items);
    bt_sim_heap_init(h);
}

int bt_sim_heap_push(struct bt_sim_heap *h, struct bt_sim_heap_entry *e, uint64_t at)
{
    if (bt_sim_heap_queued(e))
        bt_sim_heap_remove(h, e);
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        struct bt_sim_heap_entry **items = realloc(h->items, cap * sizeof *items);
        if (items == NULL)
            return BATON_ENOMEM;
        h->items = items;
        h->cap = cap;
    }
    e->at = at;
    e->seq = h->next_seq++;
    place(h, h->len++, e);
    sift_up(h, e->pos);
    return 0;
}

struct bt_sim_heap_entry *bt_sim_heap_peek(const struct bt_sim_heap *h)
{
    return h->len ? h->items[0] : NULL;
}

struct bt_sim_heap_entry *bt_sim_heap_pop(struct bt_sim_heap *h)
{
    if (h->len == 0)
        return NULL;
    struct bt_sim_heap_entry *top = h->items[0];
    bt_sim_heap_remove(h, top);
    return top;
}

void bt_sim_heap_remove(struct bt_sim_heap *h, struct bt_sim_heap_entry *e)
{
    if (!bt_sim_heap_queued(e))
        return;
    size_t i = e->pos;
    e->pos = BT_SIM_HEAP_NONE;
    struct bt_sim_heap_entry *last = h->items[--h->len];
    if (last == e)
        return;
    place(h, i, last);
    /* The moved entry may belong above or below its new slot. */
    if (i > 0 && before(last, h->items[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}
