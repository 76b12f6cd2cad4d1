/*
 * The membership protocol's broadcast queue: see bqueue.h.
 */
#include "core/bqueue.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/names.h"

/* A queued broadcast; its encoded bytes, then its key unless the bytes
 * hold it already, follow the struct. A node queues a broadcast or two for
 * every member when it learns of them (its ALIVE and its CLOCK word), so
 * the entry is kept small: a member's rumor for a short name takes 80 bytes
 * with malloc's header (bt_bqueue_push). */
struct bt_bcast {
    struct bt_bcast *prev, *next; /* in its transmit bucket */
    struct bt_hlink link;         /* in bt_bqueue.table if keyed, hashed by key_hash() */
    uint32_t transmits;           /* times sent */
    uint16_t len;                 /* encoded length */
    uint16_t key_len;             /* key length (0: no key) */
    uint8_t flags;                /* BC_*: the key's kind, whether it is our leave, where the
                                     key is */
    uint8_t bytes[];              /* len encoded bytes, then the key's key_len bytes unless
                                     BC_KEY_IN_BYTES */
};

#define BC_KIND_MASK 0x03    /* enum bt_bcast_key_kind */
#define BC_LEAVE 0x04        /* our own LEFT: its retirement completes the leave */
#define BC_KEY_IN_BYTES 0x08 /* the key is bytes[KEY_OFF .. KEY_OFF + key_len): not copied */

_Static_assert(BT_BKEY_CLOCK <= BC_KIND_MASK, "a key kind fits BC_KIND_MASK");

/* Where a member's rumor and a clock word carry the member's name, which
 * is their key: after the kind (u8), the body length (u16) and the name's
 * length byte (swim_proto.c, bt_swim_put_bcast). Any key found there is
 * read from the bytes instead of being copied. */
#define KEY_OFF 4

/* e's key kind (enum bt_bcast_key_kind). */
static uint8_t kind_of(const struct bt_bcast *e) { return e->flags & BC_KIND_MASK; }

/* e's key (key_len bytes). */
static const uint8_t *key_of(const struct bt_bcast *e)
{
    return e->bytes + ((e->flags & BC_KEY_IN_BYTES) ? KEY_OFF : e->len);
}

static uint64_t key_hash(uint8_t kind, const void *key, size_t len)
{
    return bt_mix64(bt_hash_bytes(key, len) ^ kind);
}

static void unlink_bucket(struct bt_bqueue *q, struct bt_bcast *e)
{
    uint32_t b = e->transmits < BT_BQUEUE_BUCKETS ? e->transmits : BT_BQUEUE_BUCKETS - 1;
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head[b] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail[b] = e->prev;
    e->prev = e->next = NULL;
}

static void link_bucket(struct bt_bqueue *q, struct bt_bcast *e)
{
    uint32_t b = e->transmits < BT_BQUEUE_BUCKETS ? e->transmits : BT_BQUEUE_BUCKETS - 1;
    e->prev = NULL;
    e->next = q->head[b];
    if (q->head[b])
        q->head[b]->prev = e;
    else
        q->tail[b] = e;
    q->head[b] = e;
}

static void remove_entry(struct bt_bqueue *q, struct bt_bcast *e, struct bt_bqueue_removed *rm)
{
    unlink_bucket(q, e);
    if (kind_of(e) != BT_BKEY_NONE)
        bt_htab_unlink(&q->table, &e->link);
    if (e->flags & BC_LEAVE)
        rm->leave_gone = true;
    q->count--;
    free(e);
}

/* A broadcast key being looked up. */
struct bcast_key {
    uint8_t kind;      /* enum bt_bcast_key_kind, not NONE */
    const void *bytes; /* the key (borrowed) */
    size_t len;        /* its length */
};

static bool bcast_is(const struct bt_hlink *x, const void *key)
{
    const struct bt_bcast *e = BT_HTAB_ENTRY(x, const struct bt_bcast, link);
    const struct bcast_key *k = key;
    return kind_of(e) == k->kind && e->key_len == k->len &&
           memcmp(key_of(e), k->bytes, k->len) == 0;
}

static struct bt_bcast *find(struct bt_bqueue *q, uint64_t h, const struct bcast_key *key)
{
    struct bt_hlink *x = bt_htab_find(&q->table, h, bcast_is, key);
    return x ? BT_HTAB_ENTRY(x, struct bt_bcast, link) : NULL;
}

void bt_bqueue_init(struct bt_bqueue *q)
{
    memset(q, 0, sizeof *q);
    bt_htab_init(&q->table);
}

int bt_bqueue_reserve(struct bt_bqueue *q) { return bt_htab_reserve(&q->table); }

void bt_bqueue_free(struct bt_bqueue *q)
{
    for (int b = 0; b < BT_BQUEUE_BUCKETS; b++) {
        struct bt_bcast *e = q->head[b];
        while (e) {
            struct bt_bcast *next = e->next;
            free(e);
            e = next;
        }
        q->head[b] = q->tail[b] = NULL;
    }
    bt_htab_destroy(&q->table);
    q->count = 0;
}

int bt_bqueue_push(struct bt_bqueue *q, enum bt_bcast_key_kind kind, const void *key,
                   size_t key_len, const uint8_t *bytes, size_t len, bool is_leave, size_t capacity,
                   struct bt_bqueue_removed *rm)
{
    uint64_t h = 0;
    if (kind != BT_BKEY_NONE) {
        struct bcast_key k = {.kind = (uint8_t)kind, .bytes = key, .len = key_len};
        h = key_hash((uint8_t)kind, key, key_len);
        struct bt_bcast *old = find(q, h, &k);
        if (old)
            remove_entry(q, old, rm);
    }
    while (q->count >= capacity) {
        /* Full: drop the oldest of the most-sent broadcasts. */
        int b = BT_BQUEUE_BUCKETS - 1;
        while (b >= 0 && !q->tail[b])
            b--;
        if (b < 0)
            break;
        remove_entry(q, q->tail[b], rm);
        rm->dropped++;
    }
    /* A key the encoded bytes hold at KEY_OFF is not copied: the entry is
     * then sized from the offset of bytes[] (not sizeof, whose padding the
     * bytes may use) and the encoding alone. */
    bool in_bytes =
        key_len > 0 && len >= KEY_OFF + key_len && memcmp(bytes + KEY_OFF, key, key_len) == 0;
    size_t copy = in_bytes ? 0 : key_len;
    struct bt_bcast *e = calloc(1, offsetof(struct bt_bcast, bytes) + len + copy);
    if (!e)
        return BATON_ENOMEM;
    e->len = (uint16_t)len;
    e->key_len = (uint16_t)key_len;
    e->flags =
        (uint8_t)((uint8_t)kind | (is_leave ? BC_LEAVE : 0) | (in_bytes ? BC_KEY_IN_BYTES : 0));
    memcpy(e->bytes, bytes, len);
    if (copy)
        memcpy(e->bytes + len, key, copy);
    link_bucket(q, e);
    if (kind != BT_BKEY_NONE)
        bt_htab_link(&q->table, &e->link, h);
    q->count++;
    return 0;
}

size_t bt_bqueue_pack(struct bt_bqueue *q, struct bt_wbuf *w, uint32_t limit, uint32_t leave_limit,
                      struct bt_bqueue_removed *rm)
{
    struct bt_bcast *picked[BT_BQUEUE_MAX_PICK];
    size_t n = 0, skipped = 0;
    for (int b = 0; b < BT_BQUEUE_BUCKETS && n < BT_BQUEUE_MAX_PICK; b++) {
        for (struct bt_bcast *e = q->head[b]; e && n < BT_BQUEUE_MAX_PICK; e = e->next) {
            size_t room = w->cap - w->len;
            if (room < 16)
                goto full;
            if (e->len > room) {
                if (++skipped > 32)
                    goto full;
                continue;
            }
            bt_put_bytes(w, e->bytes, e->len);
            picked[n++] = e;
        }
    }
full:;
    for (size_t i = 0; i < n; i++) {
        struct bt_bcast *e = picked[i];
        unlink_bucket(q, e);
        e->transmits++;
        if (e->transmits >= ((e->flags & BC_LEAVE) ? leave_limit : limit)) {
            /* Relink first so remove_entry unlinks it from a valid list. */
            link_bucket(q, e);
            remove_entry(q, e, rm);
        } else {
            link_bucket(q, e);
        }
    }
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
