/*
 * The simulator's agenda: an intrusive binary min-heap of deadlines.
 *
 * Entries live inside the caller's objects (a node's tick timer, a message
 * in flight, a scheduled fault), so the heap never allocates per entry and an
 * entry can be removed or moved in O(log n) through its stored position. The
 * order is (at, seq): seq is a counter stamped at every push, so entries due
 * at the same virtual millisecond come out in the order they were scheduled.
 * That tie-break is what makes a simulation independent of the heap's
 * internal layout, and so of everything but the seed.
 */
#ifndef BT_SIM_HEAP_H
#define BT_SIM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BT_SIM_HEAP_NONE SIZE_MAX

struct bt_sim_heap_entry {
    uint64_t at;  /* virtual time at which the entry is due */
    uint64_t seq; /* push order, the tie-break among equal `at` */
    size_t pos;   /* index in the heap array; BT_SIM_HEAP_NONE when not queued */
};

struct bt_sim_heap {
    struct bt_sim_heap_entry **items; /* items[0] is the earliest */
    size_t len;                       /* queued entries */
    size_t cap;                       /* allocated slots in items */
    uint64_t next_seq;                /* seq stamped on the next push */
};

void bt_sim_heap_init(struct bt_sim_heap *h);
/* Frees the array; the entries belong to the caller and are left alone. */
void bt_sim_heap_destroy(struct bt_sim_heap *h);

/* Marks e as not queued. Call once before the first push. */
static inline void bt_sim_heap_entry_init(struct bt_sim_heap_entry *e)
{
    e->at = 0;
    e->seq = 0;
    e->pos = BT_SIM_HEAP_NONE;
}

static inline bool bt_sim_heap_queued(const struct bt_sim_heap_entry *e)
{
    return e->pos != BT_SIM_HEAP_NONE;
}

/* Queues e (borrowed until popped or removed) due at `at`; an entry already
 * queued is moved to `at` and stamped with a fresh seq. Returns 0 or
 * BATON_ENOMEM. */
int bt_sim_heap_push(struct bt_sim_heap *h, struct bt_sim_heap_entry *e, uint64_t at);

/* The earliest entry, or NULL when empty. */
struct bt_sim_heap_entry *bt_sim_heap_peek(const struct bt_sim_heap *h);

/* Removes and returns the earliest entry, or NULL when empty. */
struct bt_sim_heap_entry *bt_sim_heap_pop(struct bt_sim_heap *h);

/* Removes e if queued; a no-op otherwise. */
void bt_sim_heap_remove(struct bt_sim_heap *h, struct bt_sim_heap_entry *e);

#endif
