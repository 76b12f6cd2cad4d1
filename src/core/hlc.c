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
 * our own wall clock and count them (docs/design.md §1, fix 5).
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
    if (hlc->max_offset_ms == 0)
        return true;
    /* Compare in the wall domain so the sum cannot overflow 64 bits. */
    return bt_hlc_wall(remote) <= wall_ms + hlc->max_offset_ms;
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
