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
 * periodically; each side sends a SNAPSHOT of its map and marks, and
 * merges the other's. What a snapshot brings that is news is gossiped on
 * like a broadcast's news: after a partition heals, the first push-pull
 * across the old cut spreads each side's writes to the whole other side in
 * network hops, instead of every node waiting for a push-pull of its own
 * (simulator finding E8). A join's exchange is not gossiped on: the
 * newcomer's news is the cluster's old state.
 *
 * Every input is screened before it reaches the map or the clock. Decoding
 * (codec.c) rejects malformed bytes; the leader re-validates and refuses a
 * payload holding a stamp too far ahead of the local wall clock (fix 5), and
 * we keep the sender of the last such payload for the log. What is refused
 * is counted here.
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
 * High-water marks are kept for good: one per name ever used.
 */
#include "core/replica.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/codec.h"
#include "core/hlc.h"

void bt_replica_init(struct bt_replica *r, struct bt_leader *leader, struct bt_swim *swim,
                     uint64_t horizon_ms, uint64_t now_mono)
{
    memset(r, 0, sizeof *r);
    r->leader = leader;
    r->swim = swim;
    r->horizon_ms = horizon_ms ? horizon_ms : BT_REPLICA_HORIZON_DEFAULT_MS;
    r->next_expiry = now_mono + r->horizon_ms / 4;
}

static void drop_state(struct bt_replica *r)
{
    free(r->state);
    r->state = NULL;
    r->state_len = 0;
}

void bt_replica_destroy(struct bt_replica *r)
{
    drop_state(r);
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

/* Keyed by minter too: equal tokens from two minters are both news. */
static size_t fence_key(const struct bt_fence *f, uint8_t *key)
{
    key[0] = 'F';
    key[1] = f->name.len;
    memcpy(key + 2, f->name.bytes, f->name.len);
    memcpy(key + 2 + f->name.len, f->minter.bytes, f->minter.len);
    return 2 + (size_t)f->name.len + f->minter.len;
}

void bt_replica_flush(struct bt_replica *r, struct bt_time now)
{
    struct bt_leader_broadcast b;
    _Static_assert(BT_CODEC_ENTRY_MAX >= BT_CODEC_FENCE_ENC_MAX, "buf holds a fence too");
    uint8_t buf[BT_CODEC_LIST_HEADER + BT_CODEC_ENTRY_MAX];
    uint8_t key[2 + BATON_NAME_MAX + BATON_NODE_MAX];
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

/* Decodes, screens and merges one payload; with regossip, what was news is
 * queued for gossip again. */
static void ingest(struct bt_replica *r, const struct bt_nodeid *from, const uint8_t *data,
                   size_t len, enum bt_payload_type want, bool regossip, struct bt_time now)
{
    struct bt_payload p;
    drop_state(r);
    int rc = bt_codec_decode(data, len, &p);
    if (rc == 0 && (p.type == BT_PAYLOAD_SNAPSHOT) != (want == BT_PAYLOAD_SNAPSHOT))
        rc = BATON_EPROTO;
    if (rc == 0) {
        drop_stale(r, &p, now.wall_ms);
        rc = bt_leader_merge_payload(r->leader, &p, regossip, now.wall_ms);
    }
    if (rc == BATON_ECLOCK) {
        r->counters.refused_clock++;
        if (from)
            r->counters.last_clock_offender = *from;
    } else if (rc == BATON_EPROTO) {
        r->counters.malformed++;
    } else if (rc == BATON_ENOMEM) {
        r->fatal = BATON_ENOMEM; /* the news would be lost: stop (replica.h) */
    }
    bt_payload_free(&p);
}

void bt_replica_deliver(struct bt_replica *r, const struct bt_nodeid *from, const uint8_t *data,
                        size_t len, struct bt_time now)
{
    r->counters.payloads_in++;
    ingest(r, from, data, len, BT_PAYLOAD_DELTA, true, now);
}

struct fence_list {
    struct bt_fence *v;
    size_t n;
};

static int collect_fence(const struct bt_fence *fence, void *ctx)
{
    struct fence_list *f = ctx;
    f->v[f->n++] = *fence;
    return 0;
}

/* Encodes the full state into r->state. Returns 0 or a negative code. */
static int encode_state(struct bt_replica *r)
{
    size_t nf = bt_leader_high_water_count(r->leader);
    struct fence_list f = {.v = calloc(nf ? nf : 1, sizeof *f.v)};
    if (!f.v)
        return BATON_ENOMEM;
    bt_leader_foreach_high_water(r->leader, collect_fence, &f);

    drop_state(r);
    int rc = bt_codec_encode_snapshot(bt_leader_cmap(r->leader), f.v, f.n, &r->state, &r->state_len);
    free(f.v);
    return rc;
}

size_t bt_replica_state(struct bt_replica *r, uint8_t *buf, size_t cap, struct bt_time now)
{
    /* The membership layer asks twice, at once, when the first buffer is too
     * small: the encoding is kept for that second call and for nothing else
     * (ingest drops it, and so does a call at another time). */
    if ((!r->state || r->state_at != now.mono_ms) && encode_state(r) != 0)
        return 0;
    r->state_at = now.mono_ms;
    size_t len = r->state_len;
    if (len > cap)
        return len;
    memcpy(buf, r->state, len);
    drop_state(r);
    r->counters.snapshots_out++;
    return len;
}

void bt_replica_merge_state(struct bt_replica *r, const struct bt_nodeid *from, bool join,
                            const uint8_t *data, size_t len, struct bt_time now)
{
    r->counters.snapshots_in++;
    ingest(r, from, data, len, BT_PAYLOAD_SNAPSHOT, !join, now);
}

void bt_replica_member_event(struct bt_replica *r, const struct bt_event *ev, struct bt_time now)
{
    bool live;
    switch (ev->kind) {
    case BT_EV_MEMBER_UP:
    case BT_EV_MEMBER_SUSPECT:
    case BT_EV_MEMBER_ALIVE:
        live = true;
        break;
    case BT_EV_MEMBER_DEAD:
    case BT_EV_MEMBER_LEFT:
        live = false;
        break;
    default:
        return;
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
        int n = bt_leader_expire(r->leader, bt_hlc_pack(now.wall_ms - r->horizon_ms, 0), now.wall_ms);
        if (n > 0)
            r->counters.expired += (uint64_t)n;
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

uint64_t bt_replica_next_deadline(const struct bt_replica *r)
{
    return r->next_expiry;
}
