/*
 * Clock outliers (docs/design.md §1 fix 9; leader_internal.h): the
 * cluster's clock as the reference for remote stamps, withholding this
 * node's candidacies while its clock is refused, members whose clocks are
 * refused, and screening each stamp by its author's word
 * (docs/election.md, "Screening").
 */
#include "core/leader_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "baton/baton.h"
#include "core/hlc.h"

void bt_leader_set_clock_ahead(struct bt_leader *l, uint64_t ahead_ms)
{
    l->hlc.ahead_ms = ahead_ms;
}

/* 1. Reserve, per local candidacy, its entry and its recompute's outputs.
 * 2. Write each candidacy's entry as the new local truth: a tombstone when
 *    withheld, the live candidacy again when not (stamped above the
 *    tombstone, so it supersedes it everywhere).
 * 3. Recompute: a term whose candidacy was withdrawn ends (REVOKED); a
 *    candidacy back in the race may win and start one (ELECTED). */
int bt_leader_withhold(struct bt_leader *l, bool withhold, uint64_t wall_ms)
{
    if (l->withheld == withhold)
        return 0;
    if (l->nlocal > SIZE_MAX / 4 ||
        ldr_reserve_outputs(l, 2 * l->nlocal, 2 * l->nlocal) != 0) /* 1 */
        return BATON_ENOMEM;
    l->withheld = withhold;
    if (withhold)
        l->counters.withholds++;
    int n = 0;
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next) { /* 2 */
        if (ldr_write_own_entry(l, &r->name, r, wall_ms) != 0) {
            /* The map could not grow: the old entry stays, and the owner
             * check rewrites it the next time it comes back. */
            continue;
        }
        ldr_view_changed(l, r);
        if (n < INT_MAX)
            n++;
    }
    ldr_recompute_dirty(l, wall_ms); /* 3 */
    return n;
}

int bt_leader_member_clock(struct bt_leader *l, const struct bt_nodeid *node, uint64_t boot_id,
                           bool out, uint64_t wall_ms)
{
    struct member_rec *m = ldr_member_find(l, node);
    if (!m || !m->live || m->boot_id != boot_id || m->clock_out == out)
        return 0;
    if (ldr_reserve_outputs(l, l->nlocal, 2 * l->nlocal) != 0)
        return BATON_ENOMEM;
    m->clock_out = out;
    l->counters.member_changes++;
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next)
        ldr_view_changed(l, r);
    ldr_recompute_dirty(l, wall_ms);
    return 1;
}

bool bt_leader_withheld(const struct bt_leader *l) { return l->withheld; }

uint64_t bt_leader_clock(const struct bt_leader *l) { return l->hlc.last; }

bool bt_leader_acceptable(const struct bt_leader *l, uint64_t stamp, uint64_t wall_ms)
{
    return bt_hlc_acceptable(&l->hlc, stamp, wall_ms);
}

uint64_t bt_leader_own_echo(const struct bt_leader *l) { return l->own_echo; }

uint64_t bt_leader_vouched_ms(const struct bt_leader *l)
{
    uint64_t b = l->cfg.max_clock_offset_ms;
    if (b == 0 || b > BT_HLC_CEILING_MS)
        return BT_HLC_CEILING_MS;
    uint64_t h = l->cfg.horizon_ms ? l->cfg.horizon_ms : BT_LEADER_HORIZON_FALLBACK_MS;
    uint64_t v = h / 4 > 2 * b ? h / 4 : 2 * b;
    return v < BT_HLC_CEILING_MS ? v : BT_HLC_CEILING_MS;
}

/* Whether author's word vouches for stamp: this node's name (its own
 * item coming back, or an earlier boot's, which it then vouches for in
 * turn: bt_leader_own_echo); a member that said on this boot that its
 * clock is fine; or one that says it is refused now but issued stamp while
 * it was fine, or holds it from an earlier boot (stamp <= its ceiling). */
static bool vouched(const struct bt_leader *l, uint64_t stamp, const struct bt_nodeid *author)
{
    if (!author || author->len == 0)
        return false;
    if (bt_nodeid_eq(author, &l->cfg.self))
        return true;
    const struct member_rec *m = ldr_member_find(l, author);
    if (!m)
        return false;
    switch (m->clock_word) {
    case BT_CLOCK_WORD_FINE: return true;
    case BT_CLOCK_WORD_REFUSED: return stamp <= m->clock_ceiling;
    case BT_CLOCK_WORD_UNHEARD:
    case BT_CLOCK_WORD_PENDING: break;
    }
    return false;
}

bool bt_leader_acceptable_from(const struct bt_leader *l, uint64_t stamp,
                               const struct bt_nodeid *author, uint64_t wall_ms)
{
    if (bt_hlc_acceptable(&l->hlc, stamp, wall_ms))
        return true;
    if (stamp > BT_HLC_TS_MAX || !vouched(l, stamp, author))
        return false;
    /* The generous limit, from the same reference as the bound. */
    uint64_t limit = wall_ms;
    uint64_t v = bt_leader_vouched_ms(l);
    limit = limit > UINT64_MAX - l->hlc.ahead_ms ? UINT64_MAX : limit + l->hlc.ahead_ms;
    limit = limit > UINT64_MAX - v ? UINT64_MAX : limit + v;
    return bt_hlc_wall(stamp) <= limit;
}

/* Real time brings every fast stamp within the bound sooner or later, so
 * the bound alone would let in the candidacy of a node that is far ahead
 * and has not judged its clock yet: counted, it outranks a leader elected
 * meanwhile and revokes it, and the node's first judgement then withdraws
 * it (finding E14). Only its author's verdict settles such an entry. A
 * node that is not synced judges against its own wall clock still (no
 * reference yet): what it holds then is screened again at its judgement
 * like any held item, and sticks only if it is still refused. */
bool bt_leader_awaits_verdict(const struct bt_leader *l, const struct bt_centry *e)
{
    if (!l->synced || e->removed || bt_nodeid_eq(&e->node, &l->cfg.self))
        return false;
    const struct member_rec *m = ldr_member_find(l, &e->node);
    if (!m || m->boot_id != e->cand.boot_id)
        return false;
    return m->clock_word == BT_CLOCK_WORD_UNHEARD || m->clock_word == BT_CLOCK_WORD_PENDING;
}

bool bt_leader_member_word(struct bt_leader *l, const struct bt_nodeid *node, uint64_t boot_id,
                           enum bt_clock_word word, uint64_t ceiling)
{
    struct member_rec *m = ldr_member_find(l, node);
    if (!m || !m->live || m->boot_id != boot_id)
        return false;
    m->clock_word = word;
    m->clock_ceiling = word == BT_CLOCK_WORD_REFUSED ? ceiling : 0;
    return true;
}
