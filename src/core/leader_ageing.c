/*
 * The election's leaving and ageing (leader_internal.h): resigning every
 * local candidacy, refreshing this node's entries before they age, and
 * forgetting entries, dead members and marks older than a cutoff (fix 11;
 * docs/election.md argues why that is safe).
 */
#include "core/leader_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

/* ---- leaving and ageing ---------------------------------------------------- */

int bt_leader_resign_all(struct bt_leader *l, uint64_t wall_ms)
{
    if (l->nlocal == 0)
        return 0;
    if (ldr_reserve_outputs(l, l->nlocal, 0) != 0)
        return BATON_ENOMEM;
    int ended = 0;
    while (l->local_head) {
        int rc = ldr_withdraw(l, l->local_head, wall_ms);
        if (rc < 0)
            return rc;
        if (ended < INT_MAX)
            ended++;
    }
    return ended;
}

int bt_leader_refresh(struct bt_leader *l, uint64_t before, uint64_t wall_ms)
{
    if (l->withheld)
        return 0; /* nothing live to keep young (fix 9) */
    if (ldr_reserve_outputs(l, l->nlocal, 0) != 0)
        return BATON_ENOMEM;
    int refreshed = 0;
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next) {
        const struct bt_cstored *e = bt_cmap_get(&l->cmap, &r->name, &l->cfg.self);
        if (e && e->stamp >= before)
            continue;
        int rc = ldr_write_own_entry(l, &r->name, r, wall_ms);
        if (rc < 0)
            return rc;
        if (refreshed < INT_MAX)
            refreshed++;
    }
    return refreshed;
}

struct expiry {
    const struct bt_leader *l;
    uint64_t cutoff;
    struct bt_centry *old; /* keys to forget */
    size_t n, cap;
    bool oom;
};

static int collect_expired(const struct bt_cstored *e, void *ctx)
{
    struct expiry *x = ctx;
    if (e->stamp >= x->cutoff || (!e->removed && ldr_is_self(x->l, e)))
        return 0;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        struct bt_centry *v = realloc(x->old, cap * sizeof *v);
        if (!v) {
            x->oom = true;
            return 1;
        }
        x->old = v;
        x->cap = cap;
    }
    bt_cstored_entry(e, &x->old[x->n++]);
    return 0;
}

/* 1. Collect the expired keys (the map must not change under foreach).
 * 2. Reserve the outputs the recomputes can cause.
 * 3. Forget them, queueing the local campaigns they belonged to, and the
 *    dead members whose verdict is as old (their fences are older still).
 * 4. Recompute those.
 * 5. Age out the marks older than the cutoff of names with no live
 *    candidacy (no local campaign, no live entry), and free the records
 *    left with nothing (fix 11; docs/election.md argues the safety). */
int bt_leader_expire(struct bt_leader *l, uint64_t cutoff, uint64_t wall_ms)
{
    struct expiry x = {.l = l, .cutoff = cutoff};
    bt_cmap_foreach(&l->cmap, collect_expired, &x);                       /* 1 */
    if (x.oom || ldr_reserve_outputs(l, l->nlocal, 2 * l->nlocal) != 0) { /* 2 */
        free(x.old);
        return BATON_ENOMEM;
    }
    for (size_t i = 0; i < x.n; i++) { /* 3 */
        bt_cmap_forget(&l->cmap, &x.old[i].name, &x.old[i].node);
        ldr_view_changed(l, ldr_name_find(l, &x.old[i].name));
    }
    ldr_members_forget_dead(l, cutoff);
    ldr_recompute_dirty(l, wall_ms); /* 4 */
    free(x.old);
    struct bt_hlink *next;
    for (struct bt_hlink *link = bt_htab_first(&l->names); link; link = next) { /* 5 */
        next = bt_htab_next(&l->names, link);
        struct name_rec *r = BT_HTAB_ENTRY(link, struct name_rec, link);
        if (r->has_high_water && !r->campaigning && r->high_water < cutoff &&
            !ldr_name_has_live_entry(l, &r->name)) {
            l->nhigh_water -= r->nminters;
            r->has_high_water = false;
            l->marks_version++;
            r->nminters = 0;
            bt_cmap_set_mark(&l->cmap, &r->name, 0); /* held with the name's tombstones */
            l->counters.marks_expired++;
        }
        ldr_name_release_if_empty(l, r);
    }
    return x.n > INT_MAX ? INT_MAX : (int)x.n;
}
