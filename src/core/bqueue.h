/*
 * The membership protocol's broadcast queue (used by swim.c): encoded
 * broadcasts waiting to be piggybacked on datagrams, membership rumors
 * before everything else (the layer above's broadcasts and clock words),
 * as memberlist's own go before its delegate's (bqueue.c, "Why membership
 * goes first"), and the least transmitted first within each class; each
 * is retired after a retransmit limit. A keyed broadcast (a member's name,
 * or a user key) replaces the queued one with the same key. A held
 * broadcast (below) is one whose bytes its owner keeps and writes when it
 * is packed.
 *
 * The queue is an array of lists indexed by class and transmit count plus
 * a hash index by key, so pushing, replacing and packing cost O(1) per
 * broadcast in the cluster size. The broadcasts live in one array of
 * 48-byte slots linked by 32-bit slot numbers (bqueue.c says why). It owns
 * its entries and knows nothing of the node: what a call removed (dropped
 * because the queue was full, or the leave broadcast leaving the queue) is
 * reported to the caller, which counts it.
 */
#ifndef BT_CORE_BQUEUE_H
#define BT_CORE_BQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wire.h"

#define BT_BQUEUE_BUCKETS 64 /* transmit counts tracked exactly; more share the last */
#define BT_BQUEUE_LISTS (2 * BT_BQUEUE_BUCKETS) /* the rumors' lists, then the others' */
#define BT_BQUEUE_MAX_PICK 256                  /* broadcasts per datagram */

/* What a broadcast's key is (the key and the kind together identify it). */
enum bt_bcast_key_kind {
    BT_BKEY_NONE = 0,   /* unkeyed: never replaced */
    BT_BKEY_MEMBER = 1, /* a member's name */
    BT_BKEY_USER = 2,   /* a user key (bt_swim_broadcast_user) */
};

struct bt_bcast; /* one queued broadcast's slot, private to bqueue.c */
struct bt_bheld; /* one held broadcast's place, private to bqueue.c */

/* Held broadcasts. The owner numbers them by id (swim: its member
 * positions, each member's word on its clock) and may give each a payload
 * of a fixed size, which the queue keeps beside its place in the lists
 * (16 bytes), one entry per id, queued or not; the owner writes the
 * encoded bytes when the broadcast is packed, from the payload or from
 * what it keeps itself (swim keeps no payload: the word is the one its
 * sink holds for the member, sink.word). At a join every node queues the
 * word of every member (bqueue.c, "Why slots"), so they were most of the
 * queue, each in a 48-byte slot with a key index entry. A held broadcast is of the second class (not a
 * membership rumor) and never the leave. At most BT_BQUEUE_HELD_MAX bytes
 * encoded. */
#define BT_BQUEUE_HELD_MAX 96

/* Writes held broadcast id's encoded bytes, from its payload, into buf
 * (BT_BQUEUE_HELD_MAX bytes) and returns their length, at least one. */
typedef size_t (*bt_bqueue_put_held)(void *ctx, uint32_t id, const void *payload, uint8_t *buf);

/* Says that held broadcast id is about to be written (bt_bqueue_pack calls
 * it a few entries ahead of put): a hint to fetch what put will read. */
typedef void (*bt_bqueue_near_held)(void *ctx, uint32_t id);

/* Slots are numbered from 1 in the fields below; 0 means none. */
struct bt_bqueue {
    struct bt_bcast *slots;         /* nslots slots, in use or free */
    uint32_t nslots;                /* slots allocated */
    uint32_t free_head;             /* first free slot (chained through their next) */
    uint32_t head[BT_BQUEUE_LISTS]; /* newest first in each list */
    uint32_t tail[BT_BQUEUE_LISTS];
    uint32_t *keys;      /* the keyed broadcasts by key hash: nkeys chains of slots */
    uint32_t nkeys;      /* a power of two; 0 before bt_bqueue_reserve() */
    uint32_t nkeyed;     /* keyed broadcasts queued */
    size_t count;        /* broadcasts queued, held ones included */
    unsigned char *held; /* the held broadcasts, by id: nheld entries (struct bt_bheld,
                            then the payload) */
    uint32_t nheld;
    size_t held_size;    /* a held broadcast's payload (bt_bqueue_init_held) */
    size_t nheld_queued; /* how many of them are queued */
};

/* What one call took out of the queue besides what it was asked to. */
struct bt_bqueue_removed {
    uint32_t dropped; /* oldest most-sent broadcasts dropped because the queue was full */
    bool leave_gone;  /* the leave broadcast left the queue (replaced, dropped or retired) */
};

/* An empty queue; allocates nothing. */
void bt_bqueue_init(struct bt_bqueue *q);

/* Sets the payload of a held broadcast to size bytes (8-aligned in the
 * entry), before the first bt_bqueue_push_held(). */
void bt_bqueue_init_held(struct bt_bqueue *q, size_t size);

/* Allocates the key index's first chains. Returns 0 or BATON_ENOMEM. */
int bt_bqueue_reserve(struct bt_bqueue *q);

/* Frees every queued broadcast, the slots and the key index; q is then
 * unusable until bt_bqueue_init(). */
void bt_bqueue_free(struct bt_bqueue *q);

/* Queues len encoded bytes (copied; len and key_len under 64 KiB). A keyed
 * broadcast (kind != BT_BKEY_NONE; key copied) first removes the queued one
 * with the same kind and key. While count >= capacity, the oldest of the
 * most-sent broadcasts is dropped (a rumor after the others at equal
 * counts). is_leave marks our own LEFT, whose removal *rm reports. *rm
 * (zeroed by the caller) accumulates what was removed. Returns 0 or
 * BATON_ENOMEM (nothing queued then). */
int bt_bqueue_push(struct bt_bqueue *q, enum bt_bcast_key_kind kind, const void *key,
                   size_t key_len, const uint8_t *bytes, size_t len, bool is_leave, size_t capacity,
                   struct bt_bqueue_removed *rm);

/* Queues held broadcast id (id < 2^31 - 1) saying payload (held_size
 * bytes, copied; NULL when held_size is 0), as never sent; one queued
 * already under id is replaced, as a keyed broadcast is. Drops as
 * bt_bqueue_push() does while full. Returns 0 or BATON_ENOMEM. */
int bt_bqueue_push_held(struct bt_bqueue *q, uint32_t id, const void *payload, size_t capacity,
                        struct bt_bqueue_removed *rm);

/* Takes held broadcast id out of the queue if it is queued. */
void bt_bqueue_drop_held(struct bt_bqueue *q, uint32_t id);

/* Held broadcast from becomes to, keeping its place and its payload (to
 * is not queued): for an owner whose ids move, as swim's member positions
 * do. */
void bt_bqueue_move_held(struct bt_bqueue *q, uint32_t from, uint32_t to);

/* Appends queued broadcasts to w, membership rumors first and the least
 * sent first within each class, as many as fit (at most
 * BT_BQUEUE_MAX_PICK), put writing the held ones (near, unless NULL,
 * hinted of each a few entries earlier); counts their sends and retires
 * those that reached limit (leave_limit for the leave broadcast),
 * reporting a retired leave in *rm. Returns how many were appended. */
size_t bt_bqueue_pack(struct bt_bqueue *q, struct bt_wbuf *w, uint32_t limit, uint32_t leave_limit,
                      bt_bqueue_put_held put, bt_bqueue_near_held near, void *ctx,
                      struct bt_bqueue_removed *rm);

/* memberlist's retransmit limit, mult * ceil(log10(n_live + 1)), with a floor
 * of three decades unless is_leave (see bqueue.c). At least mult. */
uint32_t bt_bqueue_retransmit_limit(uint32_t mult, size_t n_live, bool is_leave);

#endif
