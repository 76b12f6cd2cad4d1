/*
 * A FIFO queue of fixed-size items (the election's broadcasts and events,
 * leader.c; the node's outputs and events, node.c). Room is reserved
 * before a change so that pushes never fail: a caller reserves for the most
 * an input can emit, then pushes.
 */
#ifndef BT_CORE_FIFO_H
#define BT_CORE_FIFO_H

#include <stdbool.h>
#include <stddef.h>

struct bt_fifo {
    unsigned char *items; /* cap slots of size bytes; owned */
    size_t size;          /* bytes per item */
    size_t head;          /* slot of the oldest item */
    size_t len;           /* items queued */
    size_t cap;           /* slots allocated */
    size_t keep;          /* slots an empty queue may keep (see bt_fifo_pop) */
};

/* Slots an empty queue keeps unless it says otherwise (bt_fifo_init). */
#define BT_FIFO_KEEP 256

/* An empty queue of items of size bytes (size > 0) that keeps up to
 * BT_FIFO_KEEP slots once empty; allocates nothing. */
void bt_fifo_init(struct bt_fifo *q, size_t size);

/* The same, keeping up to keep slots once empty: a queue of large items,
 * one per node of a big simulation, keeps fewer. */
void bt_fifo_init_keep(struct bt_fifo *q, size_t size, size_t keep);

/* Frees the items; q is then empty and usable again. */
void bt_fifo_free(struct bt_fifo *q);

/* Makes room for n more pushes without allocation. Returns 0 or
 * BATON_ENOMEM (the queue unchanged). */
int bt_fifo_reserve(struct bt_fifo *q, size_t n);

/* Copies item (size bytes) in at the tail, into room reserved by
 * bt_fifo_reserve() (pushing without it is the caller's bug: asserted). */
void bt_fifo_push(struct bt_fifo *q, const void *item);

/* Copies the oldest item to out and removes it; false when empty (an empty
 * queue that grew past its keep slots then frees them: reserve again before
 * the next push). */
bool bt_fifo_pop(struct bt_fifo *q, void *out);

#endif
