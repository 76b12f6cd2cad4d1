/*
 * The membership protocol's broadcast queue: see bqueue.h.
 */
#include "core/bqueue.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/grow.h"
#include "core/names.h"

/* Why slots, and why held broadcasts. A node queues a broadcast or two for
 * every member when it learns of them (its ALIVE and its CLOCK word), so
 * at a join every node holds about one queued broadcast per member, n^2 in
 * an n-node simulation: the queue was the largest thing per (node, member)
 * pair at 1000 nodes. An entry allocated on its own took 80 bytes with
 * malloc's header (two list pointers, a hash link, then the bytes), and
 * the key table's buckets about 12 more. A slot takes 48 bytes: the links
 * are 32-bit slot numbers, the key's hash is not kept (it is computed
 * again when the index grows), and a member's rumor for a short name (up
 * to about 6 bytes with a short address, as in the simulator) fits
 * inline; a longer broadcast's bytes are allocated apart, the slot holding
 * their address. The slots never move a broadcast from one list position
 * to another, so the order of packing is exactly that of the linked lists
 * they replaced. The words were still three quarters of the slots at 2000
 * nodes; as held broadcasts they take one entry per member, queued or not,
 * and no key index: 16 bytes of place, the word not copied (swim writes it
 * from the member's clock reading when it is packed). With a 48-byte
 * entry holding a copy, 4000 simulated nodes went from 304 to 283 bytes
 * of max RSS per (node, member) pair, for 7% more user CPU; without the
 * copy, 16 bytes a pair less again (docs/simulator.md, "Scale", the tenth
 * and twelfth rounds). */
#define INLINE_BYTES 31

struct bt_bcast {
    uint32_t prev, next; /* neighbours in its transmit bucket (slot numbers, 0: none);
                            a free slot's next is the next free slot */
    uint32_t hnext;      /* next in its key chain (keyed broadcasts) */
    uint16_t len;        /* encoded length */
    uint16_t transmits;  /* times sent (saturating) */
    uint8_t flags;       /* BC_*: the key's kind, whether it is our leave, where the
                            bytes and the key are */
    /* BC_OUT clear: the len encoded bytes, then, for a keyed broadcast
     * whose bytes do not hold its key, the key's length (u16, native) and
     * its bytes. BC_OUT set: the address of an allocation holding the
     * same, owned. */
    uint8_t bytes[INLINE_BYTES];
};

_Static_assert(sizeof(struct bt_bcast) == 48, "a queued broadcast takes 48 bytes");

#define BC_KIND_MASK 0x03    /* enum bt_bcast_key_kind */
#define BC_LEAVE 0x04        /* our own LEFT: its retirement completes the leave */
#define BC_KEY_IN_BYTES 0x08 /* the key is the str8 at KEY_OFF - 1 in the bytes: not copied */
#define BC_OUT 0x10          /* the bytes are allocated apart */

_Static_assert(BT_BKEY_USER <= BC_KIND_MASK, "a key kind fits BC_KIND_MASK");

/* Where a member's rumor carries the member's name, which is its key:
 * after the kind (u8), the body length (u16) and the name's length byte
 * (swim_proto.c, bt_swim_put_bcast). Any key found there is read from the
 * bytes instead of being copied. */
#define KEY_OFF 4

#define KEYS_INITIAL 16 /* chains in a new key index */

/* A held broadcast's place (bqueue.h), its payload after it. In the
 * lists, held broadcast id is numbered HELD | id, slots from 1 below
 * HELD. */
struct bt_bheld {
    uint32_t prev, next; /* neighbours in its transmit bucket, as a slot's */
    uint16_t transmits;  /* times sent (saturating) */
    bool queued;
    uint64_t payload[]; /* held_size bytes */
};

_Static_assert(sizeof(struct bt_bheld) == 16, "a held broadcast's place takes 16 bytes");

/* The bytes of one held entry. */
static size_t held_stride(const struct bt_bqueue *q)
{
    return sizeof(struct bt_bheld) + ((q->held_size + 7) & ~(size_t)7);
}

/* Held broadcast id's entry. */
static struct bt_bheld *held_entry(const struct bt_bqueue *q, uint32_t id)
{
    return (struct bt_bheld *)(q->held + (size_t)id * held_stride(q));
}

#define HELD 0x80000000u

/* Slot i (numbered from 1). */
static struct bt_bcast *slot(const struct bt_bqueue *q, uint32_t i) { return &q->slots[i - 1]; }

static struct bt_bheld *held(const struct bt_bqueue *q, uint32_t i)
{
    return held_entry(q, i & ~HELD);
}

/* Entry i's next link (or its prev), a slot's numbered in slots. */
static uint32_t *link_of(const struct bt_bqueue *q, struct bt_bcast *slots, uint32_t i, bool next)
{
    if (i & HELD) {
        struct bt_bheld *h = held(q, i);
        return next ? &h->next : &h->prev;
    }
    struct bt_bcast *e = &slots[i - 1];
    return next ? &e->next : &e->prev;
}

static uint32_t *prev_of(const struct bt_bqueue *q, uint32_t i)
{
    return link_of(q, q->slots, i, false);
}

static uint32_t *next_of(const struct bt_bqueue *q, uint32_t i)
{
    return link_of(q, q->slots, i, true);
}

/* Entry i's send count. */
static uint16_t *transmits_of(const struct bt_bqueue *q, uint32_t i)
{
    return i & HELD ? &held(q, i)->transmits : &slot(q, i)->transmits;
}

/* e's key kind (enum bt_bcast_key_kind). */
static uint8_t kind_of(const struct bt_bcast *e) { return e->flags & BC_KIND_MASK; }

/* e's encoded bytes, then its copied key if any. */
static const uint8_t *data_of(const struct bt_bcast *e)
{
    if (!(e->flags & BC_OUT))
        return e->bytes;
    const uint8_t *out;
    memcpy(&out, e->bytes, sizeof out);
    return out;
}

/* e's key (*len bytes); e is keyed. */
static const uint8_t *key_of(const struct bt_bcast *e, size_t *len)
{
    const uint8_t *d = data_of(e);
    if (e->flags & BC_KEY_IN_BYTES) {
        *len = d[KEY_OFF - 1];
        return d + KEY_OFF;
    }
    uint16_t n;
    memcpy(&n, d + e->len, sizeof n);
    *len = n;
    return d + e->len + sizeof n;
}

static uint64_t key_hash(uint8_t kind, const void *key, size_t len)
{
    return bt_mix64(bt_hash_bytes(key, len) ^ kind);
}

/* The chain of the key index a hash falls in (nkeys is a power of two). */
static uint32_t chain_of(const struct bt_bqueue *q, uint64_t h)
{
    return (uint32_t)((h ^ (h >> 32)) & (q->nkeys - 1));
}

/* Why membership goes first. When a cluster forms, every member's rumor
 * (its ALIVE) and its word on its clock ("fine", once it is judged) are
 * news to every node at once: two broadcasts per member, sent least sent
 * first, sharing the room of every datagram. Half of that room went to
 * words, and a member's rumor retired on most nodes before it reached the
 * last few, which then learned of it only at a push-pull: 4000 nodes
 * started at once took 66 virtual seconds to agree on who is a member.
 * With membership rumors packed first, 12.6 s (docs/simulator.md,
 * "Scale"). The words keep their place beside the layer above's
 * broadcasts: the election waits for a member's word before it counts
 * what the member wrote, and behind a thousand names' candidacies the
 * words made 70 nodes agree a second later (finding E16's test).
 * memberlist likewise fills a datagram with its own membership broadcasts
 * before the delegate's. */

/* Entry i's list: its class (membership rumors first, then the rest, held
 * broadcasts among them), then its transmit count. */
static uint32_t bucket_of(const struct bt_bqueue *q, uint32_t i)
{
    uint16_t t = *transmits_of(q, i);
    uint32_t sent = t < BT_BQUEUE_BUCKETS ? t : BT_BQUEUE_BUCKETS - 1;
    bool rumor = !(i & HELD) && kind_of(slot(q, i)) == BT_BKEY_MEMBER;
    return rumor ? sent : BT_BQUEUE_BUCKETS + sent;
}

/* In list b, makes the entry after prev (prev 0: the head) after_prev and
 * the one before next (next 0: the tail) before_next. */
static void relink(struct bt_bqueue *q, uint32_t b, uint32_t prev, uint32_t next,
                   uint32_t after_prev, uint32_t before_next)
{
    if (prev)
        *next_of(q, prev) = after_prev;
    else
        q->head[b] = after_prev;
    if (next)
        *prev_of(q, next) = before_next;
    else
        q->tail[b] = before_next;
}

static void unlink_bucket(struct bt_bqueue *q, uint32_t i)
{
    uint32_t prev = *prev_of(q, i), next = *next_of(q, i);
    relink(q, bucket_of(q, i), prev, next, next, prev);
    *prev_of(q, i) = *next_of(q, i) = 0;
}

static void link_bucket(struct bt_bqueue *q, uint32_t i)
{
    uint32_t b = bucket_of(q, i);
    *prev_of(q, i) = 0;
    *next_of(q, i) = q->head[b];
    if (q->head[b])
        *prev_of(q, q->head[b]) = i;
    else
        q->tail[b] = i;
    q->head[b] = i;
}

/* Puts keyed slot i in the key index under hash h. */
static void link_key(struct bt_bqueue *q, uint32_t i, uint64_t h)
{
    uint32_t c = chain_of(q, h);
    slot(q, i)->hnext = q->keys[c];
    q->keys[c] = i;
}

static void unlink_key(struct bt_bqueue *q, uint32_t i)
{
    struct bt_bcast *e = slot(q, i);
    size_t len;
    const uint8_t *key = key_of(e, &len);
    uint32_t *at = &q->keys[chain_of(q, key_hash(kind_of(e), key, len))];
    while (*at != i)
        at = &slot(q, *at)->hnext;
    *at = e->hnext;
    e->hnext = 0;
    q->nkeyed--;
}

/* Doubles the key index, or leaves it as it is when that cannot be
 * allocated (still correct, only slower). Every key is hashed again. */
static void grow_keys(struct bt_bqueue *q)
{
    uint32_t n = q->nkeys * 2;
    uint32_t *fresh = n > q->nkeys ? calloc(n, sizeof *fresh) : NULL;
    if (!fresh)
        return;
    uint32_t *old = q->keys, nold = q->nkeys;
    q->keys = fresh;
    q->nkeys = n;
    for (uint32_t c = 0; c < nold; c++) {
        uint32_t i = old[c];
        while (i) {
            struct bt_bcast *e = slot(q, i);
            uint32_t next = e->hnext;
            size_t len;
            const uint8_t *key = key_of(e, &len);
            link_key(q, i, key_hash(kind_of(e), key, len));
            i = next;
        }
    }
    free(old);
}

/* Gives slots back once at most half of them are in use (after a join's
 * burst, the queue drains over seconds): the queued broadcasts move, in
 * the order of their lists, to an array half again as large as they need
 * (none when the queue is empty), and the key index is rebuilt, smaller if
 * it can be. Each move is paid for by the removals since the last resize,
 * so it costs O(1) per broadcast. Out of memory, nothing changes. */
static void shrink(struct bt_bqueue *q)
{
    size_t used = q->count - q->nheld_queued; /* slots in use */
    if (q->nslots <= 64 || used * 2 > q->nslots)
        return;
    if (used == 0) {
        free(q->slots);
        q->slots = NULL;
        q->nslots = 0;
        q->free_head = 0;
        return;
    }
    size_t cap = used + used / 2 > 64 ? used + used / 2 : 64;
    struct bt_bcast *v = malloc(cap * sizeof *v);
    if (!v)
        return;
    /* Held broadcasts keep their numbers; the links are rewritten as the
     * lists are walked (each entry's next read before it changes). */
    uint32_t n = 0; /* slots moved */
    for (int b = 0; b < BT_BQUEUE_LISTS; b++) {
        uint32_t last = 0;
        for (uint32_t i = q->head[b], next; i; i = next) {
            next = *next_of(q, i);
            uint32_t at = i;
            if (!(i & HELD)) {
                v[n] = *slot(q, i);
                v[n].hnext = 0;
                at = ++n;
            }
            *link_of(q, v, at, false) = last;
            *link_of(q, v, at, true) = 0;
            if (last)
                *link_of(q, v, last, true) = at;
            else
                q->head[b] = at;
            last = at;
        }
        q->tail[b] = last;
    }
    free(q->slots);
    q->slots = v;
    q->nslots = (uint32_t)cap;
    q->free_head = 0;
    for (uint32_t i = (uint32_t)cap; i > n; i--) {
        slot(q, i)->next = q->free_head;
        q->free_head = i;
    }
    /* The key index: as small as load one allows, or the old one. */
    if (q->nkeys == 0)
        return; /* never reserved: nothing keyed */
    uint32_t nkeys = KEYS_INITIAL;
    while (nkeys < q->nkeyed && nkeys < q->nkeys)
        nkeys *= 2;
    uint32_t *keys = nkeys < q->nkeys ? calloc(nkeys, sizeof *keys) : NULL;
    if (keys) {
        free(q->keys);
        q->keys = keys;
        q->nkeys = nkeys;
    } else {
        memset(q->keys, 0, q->nkeys * sizeof *q->keys);
    }
    for (uint32_t i = 1; i <= n; i++) {
        const struct bt_bcast *e = slot(q, i);
        if (kind_of(e) == BT_BKEY_NONE)
            continue;
        size_t len;
        const uint8_t *key = key_of(e, &len);
        link_key(q, i, key_hash(kind_of(e), key, len));
    }
}

static void remove_entry(struct bt_bqueue *q, uint32_t i, struct bt_bqueue_removed *rm)
{
    unlink_bucket(q, i);
    q->count--;
    if (i & HELD) {
        held(q, i)->queued = false;
        q->nheld_queued--;
        return;
    }
    struct bt_bcast *e = slot(q, i);
    if (kind_of(e) != BT_BKEY_NONE)
        unlink_key(q, i);
    if (e->flags & BC_LEAVE)
        rm->leave_gone = true;
    if (e->flags & BC_OUT)
        free((void *)data_of(e));
    e->flags = 0;
    e->next = q->free_head;
    q->free_head = i;
}

/* A free slot's number, the slots growing (grow.h) when none is free; 0
 * when out of memory. */
static uint32_t take_slot(struct bt_bqueue *q)
{
    if (!q->free_head) {
        size_t n = bt_grow_cap(q->nslots);
        if (n >= HELD || n > SIZE_MAX / sizeof *q->slots)
            return 0;
        struct bt_bcast *v = realloc(q->slots, n * sizeof *v);
        if (!v)
            return 0;
        q->slots = v;
        /* Chained lowest first. */
        for (uint32_t i = (uint32_t)n; i > q->nslots; i--) {
            slot(q, i)->next = q->free_head;
            q->free_head = i;
        }
        q->nslots = (uint32_t)n;
    }
    uint32_t i = q->free_head;
    q->free_head = slot(q, i)->next;
    memset(slot(q, i), 0, sizeof *q->slots);
    return i;
}

/* The queued broadcast of kind and key (h its key_hash), or 0. */
static uint32_t find(const struct bt_bqueue *q, uint64_t h, uint8_t kind, const void *key,
                     size_t key_len)
{
    for (uint32_t i = q->keys[chain_of(q, h)]; i; i = slot(q, i)->hnext) {
        const struct bt_bcast *e = slot(q, i);
        size_t len;
        const uint8_t *k = key_of(e, &len);
        if (kind_of(e) == kind && len == key_len && memcmp(k, key, key_len) == 0)
            return i;
    }
    return 0;
}

void bt_bqueue_init(struct bt_bqueue *q) { memset(q, 0, sizeof *q); }

int bt_bqueue_reserve(struct bt_bqueue *q)
{
    if (q->nkeys != 0)
        return 0;
    if (!(q->keys = calloc(KEYS_INITIAL, sizeof *q->keys)))
        return BATON_ENOMEM;
    q->nkeys = KEYS_INITIAL;
    return 0;
}

void bt_bqueue_free(struct bt_bqueue *q)
{
    for (int b = 0; b < BT_BQUEUE_LISTS; b++)
        for (uint32_t i = q->head[b]; i; i = *next_of(q, i))
            if (!(i & HELD) && slot(q, i)->flags & BC_OUT)
                free((void *)data_of(slot(q, i)));
    free(q->slots);
    free(q->keys);
    free(q->held);
    bt_bqueue_init(q);
}

/* The oldest of the most-sent broadcasts, of the second class when both
 * have as many sends; 0 when the queue is empty. */
static uint32_t most_sent(const struct bt_bqueue *q)
{
    for (int b = BT_BQUEUE_BUCKETS - 1; b >= 0; b--) {
        if (q->tail[BT_BQUEUE_BUCKETS + b])
            return q->tail[BT_BQUEUE_BUCKETS + b];
        if (q->tail[b])
            return q->tail[b];
    }
    return 0;
}

/* Drops the oldest most-sent broadcasts while count >= capacity. */
static void make_room(struct bt_bqueue *q, size_t capacity, struct bt_bqueue_removed *rm)
{
    for (uint32_t i; q->count >= capacity && (i = most_sent(q)) != 0;) {
        remove_entry(q, i, rm);
        rm->dropped++;
    }
}

int bt_bqueue_push(struct bt_bqueue *q, enum bt_bcast_key_kind kind, const void *key,
                   size_t key_len, const uint8_t *bytes, size_t len, bool is_leave, size_t capacity,
                   struct bt_bqueue_removed *rm)
{
    uint64_t h = 0;
    if (kind != BT_BKEY_NONE) {
        h = key_hash((uint8_t)kind, key, key_len);
        uint32_t old = q->nkeys ? find(q, h, (uint8_t)kind, key, key_len) : 0;
        if (old)
            remove_entry(q, old, rm);
    }
    make_room(q, capacity, rm);
    if (kind != BT_BKEY_NONE && q->nkeys == 0 && bt_bqueue_reserve(q) != 0)
        return BATON_ENOMEM;
    /* A key the encoded bytes hold as the str8 at KEY_OFF - 1 is not
     * copied. */
    bool in_bytes = key_len > 0 && len >= KEY_OFF + key_len && bytes[KEY_OFF - 1] == key_len &&
                    memcmp(bytes + KEY_OFF, key, key_len) == 0;
    size_t copy = kind != BT_BKEY_NONE && !in_bytes ? sizeof(uint16_t) + key_len : 0;
    uint8_t *out = NULL;
    if (len + copy > INLINE_BYTES && !(out = malloc(len + copy)))
        return BATON_ENOMEM;
    uint32_t i = take_slot(q);
    if (!i) {
        free(out);
        return BATON_ENOMEM;
    }
    struct bt_bcast *e = slot(q, i);
    e->len = (uint16_t)len;
    e->flags = (uint8_t)((uint8_t)kind | (is_leave ? BC_LEAVE : 0) |
                         (in_bytes ? BC_KEY_IN_BYTES : 0) | (out ? BC_OUT : 0));
    uint8_t *d = out ? out : e->bytes;
    if (out)
        memcpy(e->bytes, &out, sizeof out);
    memcpy(d, bytes, len);
    if (copy) {
        uint16_t n = (uint16_t)key_len;
        memcpy(d + len, &n, sizeof n);
        memcpy(d + len + sizeof n, key, key_len);
    }
    link_bucket(q, i);
    if (kind != BT_BKEY_NONE) {
        if (q->nkeyed >= q->nkeys)
            grow_keys(q);
        link_key(q, i, h);
        q->nkeyed++;
    }
    q->count++;
    return 0;
}

void bt_bqueue_init_held(struct bt_bqueue *q, size_t size)
{
    assert(q->nheld == 0);
    q->held_size = size;
}

int bt_bqueue_push_held(struct bt_bqueue *q, uint32_t id, const void *payload, size_t capacity,
                        struct bt_bqueue_removed *rm)
{
    if (id >= HELD - 1)
        return BATON_EINVAL;
    if (id >= q->nheld) {
        size_t n = q->nheld, stride = held_stride(q);
        while (n <= id)
            n = bt_grow_cap(n);
        if (n >= HELD)
            n = HELD - 1;
        if (n > SIZE_MAX / stride)
            return BATON_ENOMEM;
        unsigned char *v = realloc(q->held, n * stride);
        if (!v)
            return BATON_ENOMEM;
        memset(v + (size_t)q->nheld * stride, 0, (n - q->nheld) * stride);
        q->held = v;
        q->nheld = (uint32_t)n;
    }
    bt_bqueue_drop_held(q, id);
    make_room(q, capacity, rm);
    struct bt_bheld *h = held_entry(q, id);
    if (q->held_size > 0)
        memcpy(h->payload, payload, q->held_size);
    h->transmits = 0;
    h->queued = true;
    link_bucket(q, HELD | id);
    q->count++;
    q->nheld_queued++;
    return 0;
}

void bt_bqueue_drop_held(struct bt_bqueue *q, uint32_t id)
{
    if (id < q->nheld && held_entry(q, id)->queued) {
        struct bt_bqueue_removed rm = {0}; /* a held broadcast is never the leave */
        remove_entry(q, HELD | id, &rm);
    }
}

void bt_bqueue_move_held(struct bt_bqueue *q, uint32_t from, uint32_t to)
{
    if (from >= q->nheld || !held_entry(q, from)->queued)
        return;
    assert(to < q->nheld && !held_entry(q, to)->queued);
    struct bt_bheld *h = held_entry(q, to);
    memcpy(h, held_entry(q, from), held_stride(q));
    held_entry(q, from)->queued = false;
    relink(q, bucket_of(q, HELD | to), h->prev, h->next, HELD | to, HELD | to);
}

/* The entry after i (0: the first) in packing's order, the lists from
 * *b on (-1: the first list); 0 past the last. */
static uint32_t walk_next(const struct bt_bqueue *q, int *b, uint32_t i)
{
    uint32_t j = i ? *next_of(q, i) : 0;
    while (!j && ++*b < BT_BQUEUE_LISTS)
        j = q->head[*b];
    return j;
}

/* How many entries ahead of the one being written packing walks, hinting
 * the owner of the held ones (bt_bqueue_near_held). Each step of the walk
 * and each held broadcast's write read memory no cache holds in a large
 * simulation: writing the words was a sixth of a 2000-node run's time,
 * mostly waiting on the members' records, before the walk ran ahead. */
#define PACK_AHEAD 8

size_t bt_bqueue_pack(struct bt_bqueue *q, struct bt_wbuf *w, uint32_t limit, uint32_t leave_limit,
                      bt_bqueue_put_held put, bt_bqueue_near_held near, void *ctx,
                      struct bt_bqueue_removed *rm)
{
    uint32_t picked[BT_BQUEUE_MAX_PICK];
    uint8_t buf[BT_BQUEUE_HELD_MAX];
    size_t n = 0, skipped = 0;
    int b = -1, ahead_b = -1;
    uint32_t ahead = 0;
    for (int k = 0; k < PACK_AHEAD; k++) {
        ahead = walk_next(q, &ahead_b, ahead);
        if (!ahead)
            break;
        if (near && (ahead & HELD))
            near(ctx, ahead & ~HELD);
    }
    for (uint32_t i = walk_next(q, &b, 0); i && n < BT_BQUEUE_MAX_PICK; i = walk_next(q, &b, i)) {
        if (ahead) {
            ahead = walk_next(q, &ahead_b, ahead);
            if (near && (ahead & HELD))
                near(ctx, ahead & ~HELD);
        }
        size_t room = w->cap - w->len;
        if (room < 16)
            goto full;
        const uint8_t *bytes;
        size_t len;
        if (i & HELD) {
            len = put(ctx, i & ~HELD, held(q, i)->payload, buf);
            assert(len > 0 && len <= sizeof buf);
            bytes = buf;
        } else {
            bytes = data_of(slot(q, i));
            len = slot(q, i)->len;
        }
        if (len > room) {
            if (++skipped > 32)
                goto full;
            continue;
        }
        bt_put_bytes(w, bytes, len);
        picked[n++] = i;
    }
full:;
    for (size_t k = 0; k < n; k++) {
        uint32_t i = picked[k];
        unlink_bucket(q, i);
        uint16_t *t = transmits_of(q, i);
        if (*t < UINT16_MAX)
            (*t)++;
        link_bucket(q, i);
        bool leave = !(i & HELD) && (slot(q, i)->flags & BC_LEAVE);
        uint32_t lim = leave ? leave_limit : limit;
        if (*t >= (lim < UINT16_MAX ? lim : UINT16_MAX))
            remove_entry(q, i, rm);
    }
    shrink(q);
    return n;
}

/* ceil(log10(x)) for x >= 1, exactly. */
static uint32_t ceil_log10(uint64_t x)
{
    uint32_t c = 0;
    for (uint64_t p = 1; p < x && c < 19; p *= 10)
        c++;
    return c;
}

/* memberlist's limit, mult * ceil(log10(n + 1)), with a floor of three
 * "decades": in a cluster of ten or fewer it gives 4 sends, and with every
 * node forwarding news to 3 random peers per round a given node was missed by
 * all of them about once in a thousand broadcasts (the simulator found it,
 * finding E1). Three rounds' worth more makes that about 1e-7, for a few
 * datagrams more in small clusters and none in large ones. Our own LEFT also
 * goes straight to every live member (bt_swim_leave), so it needs no floor;
 * without one, leaving completes sooner. */
uint32_t bt_bqueue_retransmit_limit(uint32_t mult, size_t n_live, bool is_leave)
{
    uint32_t decades = ceil_log10((uint64_t)n_live + 1);
    if (decades < 3 && !is_leave)
        decades = 3;
    return mult * (decades ? decades : 1);
}
