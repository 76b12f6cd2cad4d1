/*
 * Replication of the election state over membership (API in replica.h).
 *
 * The reference rides barrel_p2p_replica: candidate adds and removes are
 * gossiped deltas, fence high-water marks a custom broadcast, a full sync is
 * pushed on peer_up, and a node's entries are pruned on peer_down. baton
 * keeps the shape and changes what makes it fragile:
 *
 * Deltas travel as membership broadcasts. Every entry and every fence the
 * leader writes becomes one user broadcast on the SWIM dissemination queue,
 * marked urgent so that a gossip round leaves at once: a resign or a
 * graceful leave reaches the cluster in network hops, not gossip periods.
 * A node that receives an entry or fence which changed its state queues it
 * again (urgent too), so news spreads epidemically and then dies out
 * through the queue's retransmit limit; stale news is not forwarded. The
 * broadcast key (the entry's (name, node), or the fence's (name, minter))
 * lets a newer broadcast replace a queued older one.
 *
 * Full state rides push-pull (fix 4). SWIM's push-pull runs on join and
 * periodically; each side sends its map and marks as SNAPSHOT chunks, and
 * merges the other's. What a snapshot brings that is news is gossiped on
 * like a broadcast's news: after a partition heals, the first push-pull
 * across the old cut spreads each side's writes to the whole other side in
 * network hops, instead of every node waiting for a push-pull of its own
 * (simulator finding E8). A join's exchange is not gossiped on: the
 * newcomer's news is the cluster's old state.
 *
 * Every input is screened before it reaches the map or the clock. Decoding
 * (codec.c) rejects malformed bytes; the leader re-validates and refuses a
 * payload holding a stamp too far ahead of the local wall clock (fix 5).
 * Before that, we drop the items too far ahead and merge the rest (a
 * snapshot carries everyone's entries, and one author's clock must not cut
 * the receiver off from the others', fix 9), keeping the author of the last
 * refused item for the log. What is refused is counted here.
 *
 * Liveness replaces pruning (fix 1). Instead of deleting a node's entries
 * when one neighbour loses it, every membership verdict goes to the leader,
 * which counts a candidacy only while its node is alive or suspect and on
 * the boot that made it.
 *
 * Ageing. A map that only ever grows is a leak: every resign leaves a
 * tombstone, every dead boot its entries. So state has a horizon H
 * (default ten minutes): an entry stamped more than H ago is forgotten, and
 * an incoming entry that old is refused. That is safe only if nothing that
 * is still true ever gets that old, so every node re-stamps its own live
 * entries every H/4 (bt_leader_refresh). A removed candidacy can then never
 * come back: the live entry a tombstone superseded is older than the
 * tombstone, so by the time the tombstone is forgotten, that live entry is
 * refused everywhere; and if a node still holds it in its map, the owner
 * re-tombstones it on sight (fix 2). The price is that clocks must agree to
 * well within H - H/4 (the offset bound of fix 5 is 10 s by default).
 * High-water marks age in the same pass once their name has no live
 * candidacy, and a fence that old for a name with no mark here is refused
 * (fix 11: leader.c; docs/election.md argues that a fresh mint is still
 * above such a mark).
 *
 * Bounded messages (fix 11). The full state is cut into chunks of whole
 * names, each a SNAPSHOT payload no larger than one push-pull message can
 * carry (BT_SWIM_USER_CHUNK_MAX); the membership layer sends one per stream
 * message and the peer merges each on its own. So a state of any size
 * travels, no message grows with it, and a receiver never holds more than
 * one chunk's decoding at a time.
 *
 * Copies. Gossip brings each broadcast to each node about as many times as
 * the retransmit limit (16 at 1000 nodes), and all but the first copy
 * change nothing. Merging a copy still decodes it and looks its items up
 * in the map and the marks, cache misses that dominated large
 * simulations. So a broadcast that merged whole (decoded, nothing dropped
 * or refused by a screen, the clock bound or the names cap) leaves its
 * fingerprint, a 64-bit hash of its bytes, in a direct-mapped table, and a
 * later broadcast with the same fingerprint is dropped unread (counted in
 * copies). That is exact: merging it again would change no state. Its
 * stamps are in the HLC already, its entries and fences are held or
 * superseded (the map and the marks only move forward), and its items
 * passed the screens once. Only ageing moves backwards (an entry or a mark
 * forgotten, after which a copy would be refused or, for a fence whose
 * name has a live candidacy, taken back), so the table is emptied at every
 * ageing pass. What is dropped differs only in the counters: a copy is
 * not counted as a stale entry or fence. A payload that was refused or
 * screened, in whole or part, leaves no fingerprint: its copies are merged
 * as before, and may pass later.
 */
#include "core/replica.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "core/names.h"
#include "core/swim_proto.h"
#include "core/wire.h"

void bt_replica_init(struct bt_replica *r, struct bt_leader *leader, struct bt_swim *swim,
                     uint64_t horizon_ms, uint64_t now_mono)
{
    memset(r, 0, sizeof *r);
    r->leader = leader;
    r->swim = swim;
    r->horizon_ms = horizon_ms ? horizon_ms : BT_REPLICA_HORIZON_DEFAULT_MS;
    r->next_expiry = now_mono + r->horizon_ms / 4;
    for (size_t b = 0; b < BT_CMAP_DIGEST_BUCKETS; b++)
        r->digest_since[b] = now_mono;
}

static void drop_state(struct bt_replica *r)
{
    for (size_t i = 0; i < r->nchunks; i++)
        free(r->chunks[i].buf);
    free(r->chunks);
    r->chunks = NULL;
    r->nchunks = 0;
}

void bt_replica_destroy(struct bt_replica *r)
{
    drop_state(r);
    free(r->seen);
    r->seen = NULL;
    free(r->held_e);
    free(r->held_f);
    r->held_e = NULL;
    r->held_f = NULL;
    r->nheld_e = r->nheld_f = 0;
}

/* The broadcast key of one payload: 'E' name node, or 'F' name. */
static size_t entry_key(const struct bt_centry *e, uint8_t *key)
{
    key[0] = 'E';
    key[1] = e->name.len;
    memcpy(key + 2, e->name.bytes, e->name.len);
    memcpy(key + 2 + e->name.len, e->node.bytes, e->node.len);
    return 2 + (size_t)e->name.len + e->node.len;
}

/* Keyed by minter too, node and boot: equal tokens from two minters (two
 * twins of one node name included) are both news. */
static size_t fence_key(const struct bt_fence *f, uint8_t *key)
{
    key[0] = 'F';
    key[1] = f->name.len;
    memcpy(key + 2, f->name.bytes, f->name.len);
    size_t n = 2 + (size_t)f->name.len;
    memcpy(key + n, f->minter.node.bytes, f->minter.node.len);
    n += f->minter.node.len;
    for (int i = 0; i < 8; i++)
        key[n + (size_t)i] = (uint8_t)(f->minter.boot >> (56 - 8 * i));
    return n + 8;
}

void bt_replica_flush(struct bt_replica *r, struct bt_time now)
{
    struct bt_leader_broadcast b;
    _Static_assert(BT_CODEC_ENTRY_MAX >= BT_CODEC_FENCE_ENC_MAX, "buf holds a fence too");
    uint8_t buf[BT_CODEC_LIST_HEADER + BT_CODEC_ENTRY_MAX];
    uint8_t key[2 + BATON_NAME_MAX + BATON_NODE_MAX + 8];
    _Static_assert(sizeof key <= BT_SWIM_USER_KEY_MAX, "the membership layer takes every key");
    bool queued = false;

    while (bt_leader_pop_broadcast(r->leader, &b)) {
        int len;
        size_t keylen;
        if (b.kind == BT_LEADER_BCAST_ENTRY) {
            len = bt_codec_encode_delta(&b.entry, 1, buf, sizeof buf);
            keylen = entry_key(&b.entry, key);
        } else {
            len = bt_codec_encode_fences(&b.fence, 1, buf, sizeof buf);
            keylen = fence_key(&b.fence, key);
        }
        /* The leader only writes what the codec accepts; a failure here is
         * our bug, counted rather than asserted so a node keeps running. */
        if (len < 0) {
            r->counters.send_failed++;
            continue;
        }
        int rc = bt_swim_broadcast_user(r->swim, key, keylen, buf, (size_t)len, false, now.mono_ms);
        if (rc != 0) {
            /* Our own write, told to nobody: stop rather than lose it. */
            if (rc == BATON_ENOMEM)
                r->fatal = BATON_ENOMEM;
            r->counters.send_failed++;
            continue;
        }
        r->counters.broadcasts_out++;
        queued = true;
    }
    /* Urgent, once for all: a gossip round per broadcast would spend their
     * sends in the same millisecond, in as many packets. */
    if (queued)
        bt_swim_gossip_now(r->swim, now.mono_ms);
}

/* Drops, in place, the entries older than the horizon (see the essay). */
static void drop_stale(struct bt_replica *r, struct bt_payload *p, uint64_t wall_ms)
{
    if (wall_ms <= r->horizon_ms)
        return;
    uint64_t cutoff = bt_hlc_pack(wall_ms - r->horizon_ms, 0);
    size_t kept = 0;
    for (size_t i = 0; i < p->nentries; i++) {
        if (p->entries[i].stamp < cutoff) {
            r->counters.refused_stale++;
            continue;
        }
        p->entries[kept++] = p->entries[i];
    }
    p->nentries = kept;
}

/* Drops, in place, the entries and fences whose stamp or token the leader
 * would refuse as too far ahead (fix 5), and keeps the rest: a payload
 * bundles items written by many nodes (a snapshot holds everyone's), and
 * one refused author must not cut the receiver off from all the others'
 * state (fix 9). Counts the payload once and keeps the author of its last
 * refused item (the entry's node, the fence's minter, else the sender). */
/* Keeps a refused entry to screen it again: the newest per (name, node). */
static void hold_entry(struct bt_replica *r, const struct bt_centry *e)
{
    for (size_t i = 0; i < r->nheld_e; i++) {
        struct bt_centry *h = &r->held_e[i];
        if (bt_name_eq(&h->name, &e->name) && bt_nodeid_eq(&h->node, &e->node)) {
            if (e->stamp > h->stamp)
                *h = *e;
            return;
        }
    }
    if (!r->held_e && !(r->held_e = malloc(BT_REPLICA_HELD_MAX * sizeof *r->held_e))) {
        r->counters.held_dropped++;
        return;
    }
    if (r->nheld_e == BT_REPLICA_HELD_MAX) {
        r->counters.held_dropped++;
        return;
    }
    r->held_e[r->nheld_e++] = *e;
}

/* Keeps a refused fence: the greatest token per (name, minter process). */
static void hold_fence(struct bt_replica *r, const struct bt_fence *f)
{
    for (size_t i = 0; i < r->nheld_f; i++) {
        struct bt_fence *h = &r->held_f[i];
        if (bt_name_eq(&h->name, &f->name) && bt_minter_eq(&h->minter, &f->minter)) {
            if (f->token > h->token)
                *h = *f;
            return;
        }
    }
    if (!r->held_f && !(r->held_f = malloc(BT_REPLICA_HELD_MAX * sizeof *r->held_f))) {
        r->counters.held_dropped++;
        return;
    }
    if (r->nheld_f == BT_REPLICA_HELD_MAX) {
        r->counters.held_dropped++;
        return;
    }
    r->held_f[r->nheld_f++] = *f;
}

/* The held entry of e's key (name, node), or NULL. If it is newer than e,
 * the owner wrote it after e, so e is no longer its state: merging e would
 * bring back what its owner has already replaced, e.g. a live candidacy
 * its tombstone (stamped further ahead, and held) ended: e's own stamp
 * passes the bound once real time catches up with it, the tombstone's
 * later (docs/election.md, "Screening"). The held entry stands for e: it
 * is merged as soon as it passes. */
static const struct bt_centry *held_of(const struct bt_replica *r, const struct bt_centry *e)
{
    for (size_t i = 0; i < r->nheld_e; i++) {
        const struct bt_centry *h = &r->held_e[i];
        if (bt_name_eq(&h->name, &e->name) && bt_nodeid_eq(&h->node, &e->node))
            return h;
    }
    return NULL;
}

/* Screening (fix 9): an item passes if the leader accepts its stamp from
 * its author (bt_leader_acceptable_from: the bound, or the author's word
 * and the generous limit). The rest is held (hold_*) and screened again
 * when words or the reference change, so that what one node accepted
 * reaches the others as soon as they accept it too, not only at the next
 * push-pull after that. A candidacy held already (held: the payload is
 * the held items; else a candidacy of its key and boot is held) whose
 * author has not judged its clock yet stays held, whatever its stamp,
 * until the author's verdict (bt_leader_awaits_verdict, finding E14).
 * Returns the author of the last refused item. */
static const struct bt_nodeid *screen(struct bt_replica *r, const struct bt_nodeid *from,
                                      struct bt_payload *p, bool held, uint64_t wall_ms)
{
    const struct bt_nodeid *offender = NULL;
    size_t kept = 0;
    for (size_t i = 0; i < p->nentries; i++) {
        const struct bt_centry *h = held ? NULL : held_of(r, &p->entries[i]);
        if (h && bt_centry_cmp(h, &p->entries[i]) > 0)
            continue; /* a newer write of its key is held: that one stands for it */
        /* Held already: this very item, or a candidacy of its key's boot. */
        bool again = held || (h && !h->removed && h->cand.boot_id == p->entries[i].cand.boot_id);
        if ((again && bt_leader_awaits_verdict(r->leader, &p->entries[i])) ||
            !bt_leader_acceptable_from(r->leader, p->entries[i].stamp, &p->entries[i].node,
                                       wall_ms)) {
            offender = &p->entries[i].node;
            hold_entry(r, &p->entries[i]);
            continue;
        }
        p->entries[kept++] = p->entries[i];
    }
    p->nentries = kept;
    kept = 0;
    for (size_t i = 0; i < p->nfences; i++) {
        if (!bt_leader_acceptable_from(r->leader, p->fences[i].token, &p->fences[i].minter.node,
                                       wall_ms)) {
            offender = p->fences[i].minter.node.len ? &p->fences[i].minter.node : from;
            hold_fence(r, &p->fences[i]);
            continue;
        }
        p->fences[kept++] = p->fences[i];
    }
    p->nfences = kept;
    return offender;
}

static void drop_ahead(struct bt_replica *r, const struct bt_nodeid *from, struct bt_payload *p,
                       uint64_t wall_ms)
{
    const struct bt_nodeid *offender = screen(r, from, p, false, wall_ms);
    if (offender) {
        r->counters.refused_clock++;
        r->counters.last_clock_offender = *offender;
    }
}

size_t bt_replica_held(const struct bt_replica *r) { return r->nheld_e + r->nheld_f; }

void bt_replica_rescreen(struct bt_replica *r, struct bt_time now)
{
    if (r->fatal || (r->nheld_e == 0 && r->nheld_f == 0))
        return;
    /* Take the held items as one payload; screen() holds again what still
     * does not pass. */
    struct bt_payload p;
    memset(&p, 0, sizeof p);
    p.type = BT_PAYLOAD_SNAPSHOT;
    p.entries = r->held_e;
    p.nentries = r->nheld_e;
    p.fences = r->held_f;
    p.nfences = r->nheld_f;
    r->held_e = NULL;
    r->held_f = NULL;
    r->nheld_e = r->nheld_f = 0;
    drop_stale(r, &p, now.wall_ms);
    screen(r, NULL, &p, true, now.wall_ms);
    if (p.nentries + p.nfences > 0) {
        int rc = bt_leader_merge_payload(r->leader, &p, true, now.wall_ms);
        if (rc == 0)
            r->counters.held_merged += p.nentries + p.nfences;
        else if (rc == BATON_ENOMEM)
            r->fatal = BATON_ENOMEM; /* accepted state would be lost: stop (replica.h) */
    }
    bt_payload_free(&p);
}

/* Decodes, screens and merges one payload; with regossip, what was news is
 * queued for gossip again. */
static bool ingest(struct bt_replica *r, const struct bt_nodeid *from, const uint8_t *data,
                   size_t len, enum bt_payload_type want, bool regossip, struct bt_time now)
{
    struct bt_payload p;
    struct bt_centry room_e[BT_CODEC_ROOM]; /* a gossiped payload decodes here */
    struct bt_fence room_f[BT_CODEC_ROOM];
    uint64_t refused_before = bt_leader_names_refused(r->leader);
    uint64_t screened_before =
        r->counters.refused_clock + r->counters.refused_stale + bt_leader_fences_too_old(r->leader);
    int rc = bt_codec_decode_in(data, len, &p, room_e, BT_CODEC_ROOM, room_f, BT_CODEC_ROOM);
    if (rc == 0 && (p.type == BT_PAYLOAD_SNAPSHOT) != (want == BT_PAYLOAD_SNAPSHOT))
        rc = BATON_EPROTO;
    if (rc == 0) {
        drop_stale(r, &p, now.wall_ms);
        drop_ahead(r, from, &p, now.wall_ms);
        rc = bt_leader_merge_payload(r->leader, &p, regossip, now.wall_ms);
    }
    if (rc == BATON_ECLOCK) {
        r->counters.refused_clock++;
        if (from)
            r->counters.last_clock_offender = *from;
    } else if (rc == BATON_EPROTO || rc == BATON_EVERSION) {
        r->counters.malformed++; /* another codec version too: a peer of another build */
    } else if (rc == BATON_ENOMEM) {
        r->fatal = BATON_ENOMEM; /* the news would be lost: stop (replica.h) */
    }
    bool names_refused = bt_leader_names_refused(r->leader) != refused_before;
    if (names_refused && from)
        r->counters.last_names_offender = *from;
    bt_payload_free(&p);
    return rc >= 0 && !names_refused &&
           r->counters.refused_clock + r->counters.refused_stale +
                   bt_leader_fences_too_old(r->leader) ==
               screened_before;
}

/* A broadcast's fingerprint (see "Copies"): never 0, an empty slot. */
static uint64_t fingerprint(const uint8_t *data, size_t len)
{
    uint64_t h = bt_mix64(len);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        h = bt_mix64(h ^ w);
    }
    uint64_t w = 0;
    memcpy(&w, data + i, len - i);
    return bt_mix64(h ^ w) | 1;
}

static uint64_t *seen_slot(const struct bt_replica *r, uint64_t fp)
{
    return &r->seen[(fp >> 32) & (BT_REPLICA_SEEN - 1)];
}

void bt_replica_prefetch(const struct bt_replica *r, const uint8_t *const *data, const size_t *len,
                         size_t n)
{
    enum { MAX = 64 };
    uint64_t fp[MAX], hash[MAX];
    bool fence[MAX];
    size_t k = 0;
    if (n > MAX)
        n = MAX;
    if (r->seen) {
        for (size_t i = 0; i < n; i++) {
            fp[i] = fingerprint(data[i], len[i]);
#if defined(__GNUC__)
            __builtin_prefetch(seen_slot(r, fp[i]));
#endif
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (r->seen && *seen_slot(r, fp[i]) == fp[i])
            continue; /* a copy: dropped unread */
        const uint8_t *name;
        size_t name_len = bt_codec_peek_name(data[i], len[i], &name, &fence[k]);
        if (name_len > 0)
            hash[k++] = bt_hash_bytes(name, name_len);
    }
    bt_leader_prefetch(r->leader, hash, fence, k);
}

void bt_replica_deliver(struct bt_replica *r, const struct bt_nodeid *from, const uint8_t *data,
                        size_t len, struct bt_time now)
{
    r->counters.payloads_in++;
    if (!r->seen)
        r->seen = calloc(BT_REPLICA_SEEN, sizeof *r->seen); /* none: every copy is merged */
    uint64_t fp = fingerprint(data, len);
    if (r->seen && *seen_slot(r, fp) == fp) {
        r->counters.copies++;
        return;
    }
    if (ingest(r, from, data, len, BT_PAYLOAD_DELTA, true, now) && r->seen)
        *seen_slot(r, fp) = fp;
}

/* Cuts the full state into chunks (see bt_replica_state in replica.h).
 * Items gather in e[] and f[] until the next name would not fit; then they
 * are encoded as one SNAPSHOT. A name's entries and fences go together, so
 * a receiver that ages marks sees a mark with its name's live candidacy
 * (leader.c, fence_too_old); a name too large for one chunk on its own
 * (thousands of candidates) is split, its fences and live entries first. */
struct chunker {
    struct bt_replica *r;
    struct bt_centry *e; /* pending entries */
    size_t ne, cape;
    struct bt_fence *f; /* pending fences */
    size_t nf, capf;
    size_t size; /* encoded size of the pending chunk, header included */
    int err;
};

static int chunk_flush(struct chunker *c)
{
    if (c->ne == 0 && c->nf == 0)
        return 0;
    struct bt_replica *r = c->r;
    if (r->nchunks % 64 == 0) {
        struct bt_replica_chunk *v = realloc(r->chunks, (r->nchunks + 64) * sizeof *v);
        if (!v)
            return BATON_ENOMEM;
        r->chunks = v;
    }
    struct bt_replica_chunk *k = &r->chunks[r->nchunks];
    int rc = bt_codec_encode_snapshot_array(c->e, c->ne, c->f, c->nf, &k->buf, &k->len);
    if (rc != 0)
        return rc;
    r->nchunks++;
    c->ne = c->nf = 0;
    c->size = BT_CODEC_SNAPSHOT_HEADER;
    return 0;
}

static int chunk_add_entry(struct chunker *c, const struct bt_centry *e)
{
    size_t one = bt_codec_entry_size(e);
    if (c->size + one > BT_SWIM_USER_CHUNK_MAX && chunk_flush(c) != 0)
        return BATON_ENOMEM;
    if (c->ne == c->cape) {
        size_t cap = c->cape ? 2 * c->cape : 256;
        struct bt_centry *v = realloc(c->e, cap * sizeof *v);
        if (!v)
            return BATON_ENOMEM;
        c->e = v;
        c->cape = cap;
    }
    c->e[c->ne++] = *e;
    c->size += one;
    return 0;
}

static int chunk_add_fence(struct chunker *c, const struct bt_fence *f)
{
    size_t one = bt_codec_fence_size(f);
    if (c->size + one > BT_SWIM_USER_CHUNK_MAX && chunk_flush(c) != 0)
        return BATON_ENOMEM;
    if (c->nf == c->capf) {
        size_t cap = c->capf ? 2 * c->capf : 256;
        struct bt_fence *v = realloc(c->f, cap * sizeof *v);
        if (!v)
            return BATON_ENOMEM;
        c->f = v;
        c->capf = cap;
    }
    c->f[c->nf++] = *f;
    c->size += one;
    return 0;
}

static int chunk_name(const struct bt_name *name, const struct bt_cstored *const *e, size_t n,
                      const struct bt_fence *f, size_t nf, void *ctx)
{
    struct chunker *c = ctx;
    struct bt_centry full;
    size_t group = 0;
    for (size_t i = 0; i < n; i++) {
        bt_cstored_entry(e[i], &full);
        group += bt_codec_entry_size(&full);
    }
    for (size_t i = 0; i < nf; i++)
        group += bt_codec_fence_size(&f[i]);
    /* A name that fits a chunk is never split across two. */
    if (c->size + group > BT_SWIM_USER_CHUNK_MAX && (c->err = chunk_flush(c)) != 0)
        return 1;
    for (size_t i = 0; i < nf; i++)
        if ((c->err = chunk_add_fence(c, &f[i])) != 0)
            return 1;
    for (int live = 1; live >= 0; live--)
        for (size_t i = 0; i < n; i++)
            if (e[i]->removed != (live == 1)) {
                bt_cstored_entry(e[i], &full);
                if ((c->err = chunk_add_entry(c, &full)) != 0)
                    return 1;
            }
    return 0;
}

/* Encodes the full state into r->chunks. Returns 0 or a negative code
 * (nothing kept then). */
static int encode_state(struct bt_replica *r)
{
    struct chunker c = {.r = r, .size = BT_CODEC_SNAPSHOT_HEADER};
    drop_state(r);
    (void)bt_leader_foreach_name(r->leader, chunk_name, &c);
    if (c.err == 0)
        c.err = chunk_flush(&c);
    free(c.e);
    free(c.f);
    if (c.err != 0)
        drop_state(r);
    return c.err;
}

size_t bt_replica_state(struct bt_replica *r, size_t index, uint8_t *buf, size_t cap,
                        struct bt_time now)
{
    if (index == 0 && encode_state(r) != 0) {
        /* The members still travel; the state goes with the next
         * push-pull. Counted, never silent. */
        r->counters.state_failed++;
        return 0;
    }
    if (index >= r->nchunks) {
        drop_state(r);
        return 0;
    }
    size_t len = r->chunks[index].len;
    if (len <= cap)
        memcpy(buf, r->chunks[index].buf, len);
    return len;
}

_Static_assert(BT_CMAP_DIGEST_BUCKETS <= 32, "the quiet mask is a u32");

/* The summary's version (replica.h). */
#define DIGEST_VERSION 3

/* The still mask when every bucket held still. */
#define DIGEST_ALL_STILL UINT32_MAX
_Static_assert(BT_CMAP_DIGEST_BUCKETS == 32, "the still mask is a u32");

/* Notes which buckets of the digest changed since last looked at; returns
 * the mask of those that have held still for quiet_ms. A change is seen at
 * the next look (a probe period at most later), so a bucket is never
 * called still for longer than it has been. */
static uint32_t digest_still(struct bt_replica *r, uint64_t quiet_ms, uint64_t now)
{
    const uint64_t *d = bt_leader_cmap(r->leader)->digest;
    uint32_t mask = 0;
    for (size_t b = 0; b < BT_CMAP_DIGEST_BUCKETS; b++) {
        if (d[b] != r->digest_seen[b]) {
            r->digest_seen[b] = d[b];
            r->digest_since[b] = now;
        }
        if (now >= r->digest_since[b] && now - r->digest_since[b] >= quiet_ms)
            mask |= UINT32_C(1) << b;
    }
    return mask;
}

/* One word for all the buckets (the compact summary): each bucket's digest
 * mixed with its index, so that equal digests in different buckets do not
 * cancel. */
static uint64_t digest_root(const uint64_t *d)
{
    uint64_t root = 0;
    for (size_t b = 0; b < BT_CMAP_DIGEST_BUCKETS; b++)
        root ^= bt_mix64(d[b] + b);
    return root;
}

size_t bt_replica_digest(struct bt_replica *r, uint64_t quiet_ms, uint8_t *buf, size_t cap,
                         struct bt_time now)
{
    if (cap < BT_REPLICA_DIGEST_LEN)
        return 0;
    uint32_t still = digest_still(r, quiet_ms, now.mono_ms);
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, cap);
    bt_put_u8(&w, DIGEST_VERSION);
    bt_put_u32(&w, still);
    if (still == DIGEST_ALL_STILL) {
        bt_put_u64(&w, digest_root(r->digest_seen));
    } else {
        for (size_t b = 0; b < BT_CMAP_DIGEST_BUCKETS; b++)
            bt_put_u64(&w, r->digest_seen[b]);
    }
    return w.len;
}

bool bt_replica_digest_differs(struct bt_replica *r, uint64_t quiet_ms, const uint8_t *data,
                               size_t len, struct bt_time now)
{
    struct bt_rbuf rd;
    bt_rbuf_init(&rd, data, len);
    uint8_t version = bt_get_u8(&rd);
    if (!rd.error && version != DIGEST_VERSION) {
        /* Another version digests something else (versions 1 and 2: the
         * live entries without the marks): nothing to compare it with. */
        r->counters.digests_foreign++;
        return false;
    }
    uint32_t theirs = bt_get_u32(&rd);
    bool compact = theirs == DIGEST_ALL_STILL && len == BT_REPLICA_DIGEST_MIN;
    if (rd.error || (!compact && len != BT_REPLICA_DIGEST_LEN)) {
        r->counters.digests_malformed++;
        return false;
    }
    uint32_t mine = digest_still(r, quiet_ms, now.mono_ms);
    if (compact) {
        /* Every bucket held still there; unless all did here too, say
         * nothing: our own summary, which then lists the buckets, lets the
         * other side compare the ones both held still. */
        return mine == DIGEST_ALL_STILL && bt_get_u64(&rd) != digest_root(r->digest_seen);
    }
    uint32_t both = theirs & mine;
    bool differs = false;
    for (size_t b = 0; b < BT_CMAP_DIGEST_BUCKETS; b++) {
        uint64_t d = bt_get_u64(&rd);
        if ((both >> b & 1u) && d != r->digest_seen[b])
            differs = true;
    }
    return differs;
}

void bt_replica_merge_state(struct bt_replica *r, const struct bt_nodeid *from, bool join,
                            const uint8_t *data, size_t len, struct bt_time now)
{
    r->counters.snapshots_in++;
    (void)ingest(r, from, data, len, BT_PAYLOAD_SNAPSHOT, !join, now);
}

void bt_replica_member_event(struct bt_replica *r, const struct bt_event *ev, struct bt_time now)
{
    bool live;
    switch (ev->kind) {
    case BT_EV_MEMBER_UP:
    case BT_EV_MEMBER_SUSPECT:
    case BT_EV_MEMBER_ALIVE: live = true; break;
    case BT_EV_MEMBER_DEAD:
    case BT_EV_MEMBER_LEFT: live = false; break;
    default: return;
    }
    /* A lost verdict would desynchronise the election from membership for
     * good (a dead node's candidacies counted forever): stop instead. */
    if (bt_leader_member(r->leader, &ev->member, ev->boot_id, live, now.wall_ms) == BATON_ENOMEM)
        r->fatal = BATON_ENOMEM;
}

void bt_replica_tick(struct bt_replica *r, struct bt_time now)
{
    if (now.mono_ms < r->next_expiry)
        return;
    r->next_expiry = now.mono_ms + r->horizon_ms / 4;
    if (now.wall_ms > r->horizon_ms) {
        int n =
            bt_leader_expire(r->leader, bt_hlc_pack(now.wall_ms - r->horizon_ms, 0), now.wall_ms);
        if (n > 0)
            r->counters.expired += (uint64_t)n;
        if (r->seen) /* what ageing forgot, a copy could bring back ("Copies") */
            memset(r->seen, 0, BT_REPLICA_SEEN * sizeof *r->seen);
    }
    /* Re-stamp what is older than a quarter horizon: at most H/2 old when
     * the next pass comes, far from H even with skewed clocks. */
    if (now.wall_ms > r->horizon_ms / 4) {
        int n = bt_leader_refresh(r->leader, bt_hlc_pack(now.wall_ms - r->horizon_ms / 4, 0),
                                  now.wall_ms);
        if (n > 0)
            r->counters.refreshed += (uint64_t)n;
        else if (n == BATON_ENOMEM)
            r->fatal = BATON_ENOMEM; /* own entries would age out everywhere */
    }
}

uint64_t bt_replica_next_deadline(const struct bt_replica *r) { return r->next_expiry; }
