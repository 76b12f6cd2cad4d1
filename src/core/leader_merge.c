/*
 * The election's input from peers (leader_internal.h): replicated entries,
 * fences, snapshots and payloads, each checked (shape, clock bound, the
 * names cap) before anything in its message is applied; and the
 * membership layer's verdicts. leader.c's opening comment has the fixes
 * they implement (1, 2, 3, 5, 11).
 */
#include "core/leader_internal.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

/* ---- replication input ---------------------------------------------------- */

static bool entry_well_formed(const struct bt_centry *e)
{
    if (e->name.len == 0 || !bt_nodeid_valid_bytes(e->node.bytes, e->node.len) ||
        e->stamp > BT_HLC_TS_MAX)
        return false;
    if (e->removed)
        return e->cand.candidate_id == 0 && e->cand.priority == 0 && e->cand.boot_id == 0;
    return e->cand.candidate_id != 0 && e->cand.boot_id != 0;
}

/* A fence names its minter, node and boot (codec.c refuses one that does
 * not, and so do we: a term is (token, minter)). */
static bool fence_well_formed(const struct bt_fence *f)
{
    return f->name.len != 0 && f->token <= BT_HLC_TS_MAX && bt_minter_valid(&f->minter);
}

/* Fix 11: a fence older than the horizon for a name with no mark here (r
 * is NULL or holds none) and no live candidacy is refused. Such a mark is
 * one this node aged out (or never needed): taking it back from a peer
 * that has not aged it yet would only start the ageing again, and a fresh
 * mint is above it anyway (docs/election.md, "Ageing"). The payload's own
 * entries are merged first, so a fence that travels with a live entry of
 * its name is kept. */
static bool fence_too_old(const struct bt_leader *l, const struct name_rec *r,
                          const struct bt_fence *f, uint64_t wall_ms)
{
    uint64_t h = l->cfg.horizon_ms;
    if (h == 0 || wall_ms <= h || f->token >= bt_hlc_pack(wall_ms - h, 0))
        return false;
    return !(r && r->campaigning) && !ldr_name_has_live_entry(l, &f->name);
}

enum batch_kind { BATCH_DELTA, BATCH_FENCES, BATCH_SNAPSHOT };

/* Applies one message: entries and fences, all or nothing as far as
 * validation goes.
 *  1. Validate every item; any malformed one refuses the message.
 *  2. Check every stamp and token against the clock bound (fix 5).
 *  3. Reserve the outputs the message can cause.
 *  4. Absorb every stamp and token into the HLC.
 *  5. Merge the entries; an entry that changed key (name, self) gets the
 *     owner's check (fix 2); touched local names are queued.
 *  6. Raise the high-water marks; local names whose mark rose are queued
 *     (fix 3 acts in the recompute).
 *  7. Recompute the queued names and fire transitions.
 * With regossip, every item that changed state in 5 or 6 is queued for
 * broadcast as well (news spreads on; see bt_leader_merge_payload). */
static int merge_batch(struct bt_leader *l, const struct bt_centry *entries, size_t n,
                       const struct bt_fence *fences, size_t nf, uint64_t wall_ms,
                       enum batch_kind kind, bool regossip)
{
    size_t nself = 0;

    for (size_t i = 0; i < n; i++) /* 1 */
        if (!entry_well_formed(&entries[i])) {
            l->counters.refused_malformed++;
            return BATON_EPROTO;
        }
    for (size_t i = 0; i < nf; i++)
        if (!fence_well_formed(&fences[i])) {
            l->counters.refused_malformed++;
            return BATON_EPROTO;
        }
    for (size_t i = 0; i < n; i++) { /* 2 */
        if (!bt_leader_acceptable_from(l, entries[i].stamp, &entries[i].node, wall_ms)) {
            l->counters.refused_clock++;
            return BATON_ECLOCK;
        }
        nself += bt_nodeid_eq(&entries[i].node, &l->cfg.self);
    }
    for (size_t i = 0; i < nf; i++)
        if (!bt_leader_acceptable_from(l, fences[i].token, &fences[i].minter.node, wall_ms)) {
            l->counters.refused_clock++;
            return BATON_ECLOCK;
        }

    size_t touched = n + nf < l->nlocal ? n + nf : l->nlocal; /* 3 */
    size_t news = regossip ? n + nf : 0;
    if (touched > SIZE_MAX / 4 || news > SIZE_MAX / 4 ||
        ldr_reserve_outputs(l, nself + touched + news, 2 * touched) != 0)
        return BATON_ENOMEM;

    for (size_t i = 0; i < n; i++)
        if (bt_nodeid_eq(&entries[i].node, &l->cfg.self))
            ldr_note_own_echo(l, entries[i].stamp);
    for (size_t i = 0; i < nf; i++)
        if (bt_nodeid_eq(&fences[i].minter.node, &l->cfg.self))
            ldr_note_own_echo(l, fences[i].token);
    for (size_t i = 0; i < n; i++) /* 4 */
        ldr_absorb_known(l, entries[i].stamp);
    for (size_t i = 0; i < nf; i++)
        ldr_absorb_known(l, fences[i].token);

    size_t changed = 0;
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i++) { /* 5 */
        const struct bt_centry *e = &entries[i];
        if (bt_cmap_known(&l->cmap, e)) {
            /* A copy already held (most of what gossip brings): the map
             * holds an entry of the name, so its record exists too, and
             * merging would change nothing. One lookup instead of three. */
            assert(ldr_name_find(l, &e->name) != NULL);
            l->counters.entries_stale++;
            continue;
        }
        struct name_rec *r;
        int rc = ldr_name_obtain(l, &e->name, &r);
        if (rc == BATON_ELIMIT) {
            ldr_refuse_name(l, &e->name);
            continue;
        }
        if (rc < 0) {
            err = rc;
            break;
        }
        rc = bt_cmap_merge_entry(&l->cmap, e);
        if (rc < 0) {
            ldr_name_release_if_empty(l, r); /* a record made for it above */
            err = rc;
            break;
        }
        if (rc == 0) {
            l->counters.entries_stale++;
            continue;
        }
        l->counters.entries_merged++;
        changed++;
        if (bt_nodeid_eq(&e->node, &l->cfg.self)) {
            err = ldr_owner_check(l, &e->name, wall_ms); /* the owner's word goes out instead */
        } else if (regossip) {
            ldr_push_entry(l, e);
            l->counters.regossiped++;
        }
        ldr_view_changed(l, r);
    }
    for (size_t i = 0; i < nf && err == 0; i++) { /* 6 */
        const struct bt_fence *f = &fences[i];
        struct name_rec *r = ldr_name_find(l, &f->name);
        if ((!r || !r->has_high_water) && fence_too_old(l, r, f, wall_ms)) {
            l->counters.fences_too_old++;
            continue;
        }
        int rc = r ? 0 : ldr_name_obtain(l, &f->name, &r);
        if (rc == BATON_ELIMIT) {
            ldr_refuse_name(l, &f->name);
            continue;
        }
        if (rc != 0) {
            err = rc;
            break;
        }
        rc = ldr_raise_high_water(l, r, f->token, &f->minter);
        if (rc < 0) {
            ldr_name_release_if_empty(l, r); /* a record made for it above */
            err = rc;
            break;
        }
        if (rc == 0) {
            l->counters.fences_stale++;
            continue;
        }
        l->counters.fences_raised++;
        changed++;
        if (regossip) {
            ldr_push_fence(l, &f->name, f->token, &f->minter);
            l->counters.regossiped++;
        }
        ldr_mark_dirty(l, r);
    }
    ldr_recompute_dirty(l, wall_ms); /* 7 */

    if (err != 0)
        return err;
    if (kind == BATCH_DELTA)
        l->counters.deltas++;
    else if (kind == BATCH_FENCES)
        l->counters.fence_msgs++;
    else
        l->counters.snapshots++;
    return changed > INT_MAX ? INT_MAX : (int)changed;
}

/* The bytes of a record that a merge reads first: its link and hash, then
 * the name's head and the vectors' addresses of cmap.c's struct bt_cname,
 * or the mark of the leader's name record. */
#define PREFETCH_SPAN 128

void bt_leader_prefetch(const struct bt_leader *l, const uint64_t *hash, const bool *fence,
                        size_t n)
{
    for (size_t i = 0; i < n; i++)
        bt_htab_prefetch(fence[i] ? &l->names : &l->cmap.names, hash[i]);
    for (size_t i = 0; i < n; i++)
        bt_htab_prefetch_chain(fence[i] ? &l->names : &l->cmap.names, hash[i], PREFETCH_SPAN);
}

int bt_leader_merge_entry(struct bt_leader *l, const struct bt_centry *entry, uint64_t wall_ms)
{
    return merge_batch(l, entry, 1, NULL, 0, wall_ms, BATCH_DELTA, false);
}

int bt_leader_merge_fence(struct bt_leader *l, const struct bt_name *name, uint64_t token,
                          const struct bt_minter *minter, uint64_t wall_ms)
{
    struct bt_fence f;
    memset(&f, 0, sizeof f);
    bt_name_copy(&f.name, name);
    f.token = token;
    f.minter = *minter;
    return merge_batch(l, NULL, 0, &f, 1, wall_ms, BATCH_FENCES, false);
}

/* A resource's mark, handed back by the application.
 *  1. Validate it like a fence, clock bound included (fix 5); the minter
 *     may be unknown (NULL, or no node: then its boot must be 0 too).
 *  2. Absorb it: the next mint exceeds it.
 *  3. Merge it like a fence. With its minter, news is gossiped; without
 *     one it is kept here only, minted by nobody we know (a fence must name
 *     its minter), and only if its token is above everything known.
 *  4. A term below it, or equal to it from another minter (another node,
 *     a twin of this one on another boot, or an unknown one), is refused
 *     at the resource: end it, and wait (as for an unseen
 *     rival) before minting again. Re-minting at once would make the leaders
 *     of two partition sides outbid each other at the resource on every
 *     write (simulator finding E7); after the wait, a mark whose minter died
 *     (finding E5) is overtaken. */
int bt_leader_observe_fence(struct bt_leader *l, const struct bt_name *name, uint64_t token,
                            const struct bt_minter *minter, uint64_t wall_ms)
{
    static const struct bt_minter nobody;
    if (!minter)
        minter = &nobody;
    bool known = minter->node.len != 0;
    if (name->len == 0 || token > BT_HLC_TS_MAX ||
        (known ? !bt_minter_valid(minter) : minter->boot != 0)) { /* 1 */
        l->counters.refused_malformed++;
        return BATON_EPROTO;
    }
    if (!bt_leader_acceptable_from(l, token, &minter->node, wall_ms)) {
        l->counters.refused_clock++;
        return BATON_ECLOCK;
    }
    struct name_rec *r;
    if (ldr_reserve_outputs(l, 1, 1) != 0)
        return BATON_ENOMEM;
    int orc = ldr_name_obtain(l, name, &r);
    if (orc != 0)
        return orc;
    ldr_absorb_known(l, token); /* 2 */
    l->counters.fences_observed++;
    int raised = 0;
    if (known) { /* 3 */
        raised = ldr_raise_high_water(l, r, token, minter);
        if (raised < 0) {
            ldr_name_release_if_empty(l, r); /* a record made for it above */
            return raised;
        }
        if (raised)
            ldr_push_fence(l, &r->name, token, minter);
    } else if (!r->has_high_water || token > r->high_water) {
        raised = ldr_raise_high_water(l, r, token, &nobody);
    }
    struct bt_minter self = ldr_self_minter(l);
    bool own = known && bt_minter_eq(minter, &self);
    if (ldr_leading(r) &&
        (token > r->camp->term_token || (token == r->camp->term_token && !own))) { /* 4 */
        r->camp->leading = false;
        l->counters.term_refreshes++;
        ldr_push_event(l, BT_LEADER_REVOKED, r, r->camp->term_token);
        ldr_set_deferred(l, r, true);
        l->counters.term_deferrals++;
    }
    return raised;
}

int bt_leader_merge_snapshot(struct bt_leader *l, const struct bt_centry *entries, size_t n,
                             const struct bt_fence *fences, size_t nf, uint64_t wall_ms)
{
    return merge_batch(l, entries, n, fences, nf, wall_ms, BATCH_SNAPSHOT, false);
}

int bt_leader_merge_payload(struct bt_leader *l, const struct bt_payload *p, bool regossip,
                            uint64_t wall_ms)
{
    switch (p->type) {
    case BT_PAYLOAD_DELTA:
        return merge_batch(l, p->entries, p->nentries, NULL, 0, wall_ms, BATCH_DELTA, regossip);
    case BT_PAYLOAD_FENCE:
        return merge_batch(l, NULL, 0, p->fences, p->nfences, wall_ms, BATCH_FENCES, regossip);
    case BT_PAYLOAD_SNAPSHOT:
        return merge_batch(l, p->entries, p->nentries, p->fences, p->nfences, wall_ms,
                           BATCH_SNAPSHOT, regossip);
    case BT_PAYLOAD_NONE:
    default: l->counters.refused_malformed++; return BATON_EPROTO;
    }
}

/* ---- membership input ----------------------------------------------------- */

int bt_leader_member(struct bt_leader *l, const struct bt_nodeid *node, uint64_t boot_id, bool live,
                     uint64_t wall_ms)
{
    if (!bt_nodeid_valid_bytes(node->bytes, node->len))
        return BATON_EINVAL;
    if (bt_nodeid_eq(node, &l->cfg.self))
        return 0;
    struct member_rec *m = ldr_member_find(l, node);
    bool was_live = m && m->live;
    if (live ? (was_live && m->boot_id == boot_id) : !was_live)
        return 0;
    if (ldr_reserve_outputs(l, l->nlocal, 2 * l->nlocal) != 0)
        return BATON_ENOMEM;

    if (!live) {
        /* Kept, dead, with the time of the verdict: at least every stamp
         * and token this node has seen, and its wall clock. */
        uint64_t wall = bt_hlc_pack(wall_ms <= BT_HLC_WALL_MAX ? wall_ms : BT_HLC_WALL_MAX, 0);
        m->live = false;
        m->dead_at = wall > l->hlc.last ? wall : l->hlc.last;
    } else if (m) {
        m->live = true;
        if (m->boot_id != boot_id) {
            m->clock_word = BT_CLOCK_WORD_UNHEARD; /* a new process: not heard yet */
            m->clock_ceiling = 0;
        }
        m->boot_id = boot_id;
        /* Back from a death on the same boot, its word stands (fix 9). */
        m->clock_out = m->clock_word == BT_CLOCK_WORD_REFUSED;
    } else {
        if (!(m = ldr_member_add(l, node)))
            return BATON_ENOMEM;
        m->boot_id = boot_id;
        m->live = true;
    }
    l->counters.member_changes++;

    /* Any local campaign may have a candidate on that node. */
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next)
        ldr_view_changed(l, r);
    ldr_recompute_dirty(l, wall_ms);
    return 1;
}
