/*
 * Hybrid logical clock. See hlc.h for the packing.
 *
 * The textbook HLC keeps (l, c) and has three cases per event. On the packed
 * integer they fold into one rule: the next timestamp is max(last + 1,
 * wall << 16), where last is the greatest timestamp seen. "+1" bumps the
 * logical counter and, at 0xFFFF, carries into the wall part, which is the
 * overflow rule of docs/design.md §1. Absorbing a remote timestamp only raises
 * last; the next now() then exceeds it.
 *
 * The reference (barrel_p2p_hlc) absorbs any remote timestamp. A peer with a
 * clock a year ahead would then drag every token in the cluster a year into
 * the future, forever. We refuse timestamps more than max_offset_ms ahead of
 * our own wall clock and count them (docs/design.md §1, fix 5). With the
 * bound disabled (0) a hard ceiling of a century still applies, so that no
 * stamp can drive the clock to its saturation point. When the cluster's
 * clock is ahead of ours (ahead_ms, fix 9), the bound counts from it.
 */
#include "core/hlc.h"

#include "baton/baton.h"

static uint64_t wall_part(uint64_t wall_ms)
{
    return bt_hlc_pack(wall_ms > BT_HLC_WALL_MAX ? BT_HLC_WALL_MAX : wall_ms, 0);
}

void bt_hlc_init(struct bt_hlc *hlc, uint64_t max_offset_ms)
{
    hlc->last = 0;
    hlc->max_offset_ms = max_offset_ms;
    hlc->refused = 0;
    hlc->ahead_ms = 0;
}

uint64_t bt_hlc_now(struct bt_hlc *hlc, uint64_t wall_ms)
{
    uint64_t physical = wall_part(wall_ms);
    uint64_t next = hlc->last < BT_HLC_TS_MAX ? hlc->last + 1 : BT_HLC_TS_MAX;

    if (physical > next)
        next = physical;
    hlc->last = next;
    return next;
}

bool bt_hlc_acceptable(const struct bt_hlc *hlc, uint64_t remote, uint64_t wall_ms)
{
    if (remote > BT_HLC_TS_MAX)
        return false;
    uint64_t bound = hlc->max_offset_ms;
    if (bound == 0 || bound > BT_HLC_CEILING_MS)
        bound = BT_HLC_CEILING_MS;
    /* Compare in the wall domain, the sum saturating: no 64-bit overflow. */
    uint64_t limit = wall_ms;
    limit = limit > UINT64_MAX - hlc->ahead_ms ? UINT64_MAX : limit + hlc->ahead_ms;
    limit = limit > UINT64_MAX - bound ? UINT64_MAX : limit + bound;
    return bt_hlc_wall(remote) <= limit;
}

int bt_hlc_update(struct bt_hlc *hlc, uint64_t remote, uint64_t wall_ms)
{
    if (!bt_hlc_acceptable(hlc, remote, wall_ms)) {
        hlc->refused++;
        return BATON_ECLOCK;
    }
    if (remote > hlc->last)
        hlc->last = remote;
    return 0;
}
