/*
 * A FIFO queue of fixed-size items: see fifo.h.
 */
#include "core/fifo.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

#define INITIAL_QUEUE 16

void bt_fifo_init(struct bt_fifo *q, size_t size) { bt_fifo_init_keep(q, size, BT_FIFO_KEEP); }

void bt_fifo_init_keep(struct bt_fifo *q, size_t size, size_t keep)
{
    memset(q, 0, sizeof *q);
    q->size = size;
    q->keep = keep;
}

/* Makes room for n more pushes without allocation. 0 or BATON_ENOMEM. */
int bt_fifo_reserve(struct bt_fifo *q, size_t n)
{
    if (q->head + q->len + n <= q->cap)
        return 0;
    if (q->head > 0) {
        memmove(q->items, q->items + q->head * q->size, q->len * q->size);
        q->head = 0;
    }
    if (q->len + n <= q->cap)
        return 0;
    size_t want = q->cap ? q->cap * 2 : INITIAL_QUEUE;
    if (want < q->len + n)
        want = q->len + n;
    if (want > SIZE_MAX / q->size)
        return BATON_ENOMEM;
    unsigned char *p = realloc(q->items, want * q->size);
    if (!p)
        return BATON_ENOMEM;
    q->items = p;
    q->cap = want;
    return 0;
}

/* Pushes into reserved room (a missing reservation is our bug). */
void bt_fifo_push(struct bt_fifo *q, const void *item)
{
    assert(q->head + q->len < q->cap);
    memcpy(q->items + (q->head + q->len) * q->size, item, q->size);
    q->len++;
}

bool bt_fifo_pop(struct bt_fifo *q, void *out)
{
    if (q->len == 0) {
        /* A merged snapshot reserves a slot per item it carries (thousands
         * of names: megabytes per node, kept for good, gigabytes of a
         * 1000-node simulation), and mostly pushes none. Found empty, a
         * grown queue gives its memory back; the next input that needs
         * room reserves it again before changing anything. */
        if (q->cap > q->keep) {
            free(q->items);
            q->items = NULL;
            q->cap = 0;
            q->head = 0;
        }
        return false;
    }
    memcpy(out, q->items + q->head * q->size, q->size);
    q->head++;
    q->len--;
    if (q->len == 0)
        q->head = 0;
    return true;
}

void bt_fifo_free(struct bt_fifo *q)
{
    free(q->items);
    q->items = NULL;
    q->head = q->len = q->cap = 0;
}
