/*
 * The election's waits before a term (leader_internal.h): terms deferred
 * for a rival this node cannot see, retried every round; and settling
 * before a first term (fix 8): the driver says when the node has the
 * cluster's state, and when each settle period ends.
 */
#include "core/leader_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

/* ---- deferred terms -------------------------------------------------------- */

size_t bt_leader_deferred(const struct bt_leader *l) { return l->ndeferred; }

/* 1. Reserve for every wait that may end (nothing changes on failure).
 * 2. One more round has passed; end the waits that lasted `rounds` rounds.
 * 3. Recompute those names. */
int bt_leader_retry_deferred(struct bt_leader *l, unsigned rounds, uint64_t wall_ms)
{
    size_t n = l->ndeferred;
    if (n == 0)
        return 0;
    if (ldr_reserve_outputs(l, n, 2 * n) != 0) /* 1 */
        return BATON_ENOMEM;
    l->retry_round++; /* 2 */
    size_t ended = 0;
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next)
        if (r->camp->deferred && l->retry_round - r->camp->defer_round >= rounds) {
            ldr_view_changed(l, r);
            ended++;
        }
    ldr_recompute_dirty(l, wall_ms); /* 3 */
    return ended > INT_MAX ? INT_MAX : (int)ended;
}

/* ---- settling before minting (fix 8) --------------------------------------- */

int bt_leader_synced(struct bt_leader *l, uint64_t wall_ms)
{
    if (l->synced)
        return 0;
    if (ldr_reserve_outputs(l, l->nlocal, 2 * l->nlocal) != 0)
        return BATON_ENOMEM;
    l->synced = true;
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next)
        ldr_mark_dirty(l, r);
    ldr_recompute_dirty(l, wall_ms);
    return l->nlocal > INT_MAX ? INT_MAX : (int)l->nlocal;
}

bool bt_leader_is_synced(const struct bt_leader *l) { return l->synced || !l->cfg.settle; }

size_t bt_leader_settling(const struct bt_leader *l) { return l->nsettling; }

void bt_leader_settle_schedule(struct bt_leader *l, uint64_t due)
{
    /* Records without a deadline were appended since the last call: they
     * form the tail. */
    for (struct name_rec *r = l->settle_tail; r && r->camp->settle_at == 0;
         r = r->camp->settle_prev)
        r->camp->settle_at = due;
}

uint64_t bt_leader_settle_next(const struct bt_leader *l)
{
    if (!l->settle_head || l->settle_head->camp->settle_at == 0)
        return UINT64_MAX;
    return l->settle_head->camp->settle_at;
}

int bt_leader_settle_expire(struct bt_leader *l, uint64_t now, uint64_t wall_ms)
{
    size_t n = 0;
    for (struct name_rec *r = l->settle_head;
         r && r->camp->settle_at != 0 && r->camp->settle_at <= now; r = r->camp->settle_next)
        n++;
    if (n == 0)
        return 0;
    if (ldr_reserve_outputs(l, n, 2 * n) != 0)
        return BATON_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct name_rec *r = l->settle_head;
        ldr_settle_unlink(l, r);
        r->camp->settled = true;
        ldr_mark_dirty(l, r);
    }
    ldr_recompute_dirty(l, wall_ms);
    l->counters.settled += n;
    return n > INT_MAX ? INT_MAX : (int)n;
}
