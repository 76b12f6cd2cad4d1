/*
 * The simulator's membership invariants (docs/simulator.md defines each).
 *
 * The checker knows the truth (which process runs where, with which boot id,
 * and every fault in force) and watches two things: the events each node
 * emits, and, at a bounded rate, the nodes' membership digests.
 *
 *  - Views. From its events, each node's opinion of each other node is kept
 *    as one bit (alive or suspect versus dead, left or unknown): n*n bits.
 *    It is what a crash has to overturn.
 *  - Detection. When a node crashes, every running node whose view holds it
 *    alive becomes a pending observer; the crash is detected when the last
 *    of them emits BT_EV_MEMBER_DEAD (or LEFT) for it. Observers that crash
 *    or pause meanwhile drop out (we time detection by nodes that ran
 *    throughout). A restart before that ends the timing ("superseded").
 *    The crash is overdue when detect_bound_ms have passed since the later
 *    of the crash and the end of the last network fault (a partition, cut
 *    or loss burst slows detection legitimately), and no network fault is
 *    in force now.
 *  - False positives. A DEAD event about the current process of a node that
 *    is running, when neither that node nor the observer is touched by a
 *    fault now or within fp_grace_ms, and no partition or loss burst is in
 *    force or ended within fp_grace_ms.
 *  - Convergence. Every check_ms: all live nodes report the same digest,
 *    and the member list of one of them matches the truth (every running
 *    node alive with its current boot, every crashed or departed one dead,
 *    left or absent). Timed from the last fault. O(n) per check, and the
 *    member list is copied only when the digests agree.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "sim/sim_impl.h"

/* A printable length for a name from the core: never past its storage. */
static int name_len(const struct bt_nodeid *name)
{
    return name->len <= BATON_NODE_MAX ? name->len : BATON_NODE_MAX;
}

static const char *member_state_name(enum bt_member_state s)
{
    switch (s) {
    case BT_MEMBER_ALIVE: return "alive";
    case BT_MEMBER_SUSPECT: return "suspect";
    case BT_MEMBER_DEAD: return "dead";
    case BT_MEMBER_LEFT: return "left";
    }
    return "?";
}

static const char *event_name(enum bt_event_kind k)
{
    switch (k) {
    case BT_EV_MEMBER_UP: return "up";
    case BT_EV_MEMBER_SUSPECT: return "suspect";
    case BT_EV_MEMBER_ALIVE: return "alive";
    case BT_EV_MEMBER_DEAD: return "dead";
    case BT_EV_MEMBER_LEFT: return "left";
    case BT_EV_NAME_CONFLICT: return "name_conflict";
    case BT_EV_ELECTED: return "elected";
    case BT_EV_REVOKED: return "revoked";
    case BT_EV_STOPPED: return "stopped";
    case BT_EV_CLOCK_REFUSED: return "clock_refused";
    case BT_EV_CLOCK_OK: return "clock_ok";
    }
    return "?";
}

static uint8_t *view_row(struct bt_sim *sim, uint32_t observer)
{
    return sim->view_bits + (size_t)observer * sim->row_bytes;
}

static void bt_sim_check_destroy(struct bt_sim *sim)
{
    if (sim->watch != NULL)
        for (uint32_t i = 0; i < sim->n; i++)
            free(sim->watch[i].pending_bits);
    free(sim->watch);
    free(sim->view_bits);
    free(sim->seen);
    free(sim->members);
    sim->watch = NULL;
    sim->view_bits = NULL;
    sim->seen = NULL;
    sim->members = NULL;
}

/* --- detection ------------------------------------------------------------- */

static void watch_close(struct bt_sim *sim, struct sim_watch *w)
{
    free(w->pending_bits);
    w->pending_bits = NULL;
    w->open = false;
    w->pending = 0;
    sim->open_watches--;
}

/* Observer o marked member dead (saw = true) or stopped counting (it
 * crashed or paused: saw = false). When no observer is left pending, the
 * crash was detected by every node that ran throughout, at the time the
 * last of them marked it. */
static void watch_observed(struct bt_sim *sim, uint32_t observer, uint32_t member, bool saw)
{
    struct sim_watch *w = &sim->watch[member];
    if (!w->open || !bt_sim_bit(w->pending_bits, observer))
        return;
    bt_sim_bit_set(w->pending_bits, observer, false);
    if (saw) {
        w->marked = true;
        w->last_marked_at = sim->now;
    }
    if (--w->pending > 0)
        return;
    if (w->marked) {
        uint64_t took = w->last_marked_at - w->crashed_at;
        if (bt_samples_add(&sim->stats.detection, took) != 0)
            bt_sim_violation(sim, "sim_out_of_memory", "detection sample lost");
        bt_sim_log(sim, 2, "crash of n%" PRIu32 " detected by every live node in %" PRIu64 " ms",
                   member, took);
    }
    watch_close(sim, w);
}

/* Observer o no longer counts for any crash being timed. */
static void drop_observer(struct bt_sim *sim, uint32_t o)
{
    if (sim->open_watches == 0)
        return;
    for (uint32_t j = 0; j < sim->n; j++)
        if (sim->watch[j].open)
            watch_observed(sim, o, j, false);
}

static void bt_sim_check_stopped(struct bt_sim *sim, const struct sim_node *sn, bool crashed)
{
    uint32_t i = sn->index;
    drop_observer(sim, i);
    memset(view_row(sim, i), 0, sim->row_bytes);
    if (!crashed)
        return;
    struct sim_watch *w = &sim->watch[i];
    w->pending_bits = calloc(sim->row_bytes, 1);
    if (w->pending_bits == NULL) {
        bt_sim_violation(sim, "sim_out_of_memory", "cannot time the crash of n%" PRIu32, i);
        return;
    }
    w->open = true;
    w->crashed_at = sim->now;
    w->boot_id = sn->boot_id;
    w->pending = 0;
    w->marked = false;
    w->last_marked_at = 0;
    sim->open_watches++;
    for (uint32_t o = 0; o < sim->n; o++) {
        const struct sim_node *obs = &sim->nodes[o];
        if (o == i || (obs->state != BT_SIM_RUNNING && obs->state != BT_SIM_LEAVING))
            continue;
        if (bt_sim_bit(view_row(sim, o), i)) {
            bt_sim_bit_set(w->pending_bits, o, true);
            w->pending++;
        }
    }
    if (w->pending == 0) {
        /* Nobody knew it (it crashed while joining): nothing to time. */
        watch_close(sim, w);
    }
}

static void bt_sim_check_started(struct bt_sim *sim, const struct sim_node *sn)
{
    struct sim_watch *w = &sim->watch[sn->index];
    if (w->open) {
        sim->stats.detection_superseded++;
        bt_sim_log(sim, 2, "n%" PRIu32 " restarted before %" PRIu32 " nodes marked its crash",
                   sn->index, w->pending);
        watch_close(sim, w);
    }
    memset(view_row(sim, sn->index), 0, sim->row_bytes);
}

static void bt_sim_check_paused(struct bt_sim *sim, const struct sim_node *sn)
{
    drop_observer(sim, sn->index);
}

/* --- events ---------------------------------------------------------------- */

static void check_false_positive(struct bt_sim *sim, const struct sim_node *obs, uint32_t member,
                                 const struct bt_event *ev)
{
    const struct sim_node *t = &sim->nodes[bt_sim_holder(sim, member)];
    if (t->state != BT_SIM_RUNNING || ev->boot_id != t->boot_id || member == obs->index)
        return;
    if (bt_sim_network_faulty(sim) || t->cuts > 0 || obs->cuts > 0)
        return;
    if (sim->now < t->excused_until || sim->now < obs->excused_until ||
        sim->now < sim->net_excused_until)
        return;
    if (!sim->strict_restarts && (sim->now < t->restarted_until || sim->now < obs->restarted_until))
        return;
    sim->stats.false_positive_deaths++;
    bt_sim_violation(sim, "false_positive_death",
                     "n%" PRIu32 " marked n%" PRIu32 " dead at %" PRIu64 " ms; n%" PRIu32
                     " was running and no fault excused it",
                     obs->index, member, sim->now, member);
}

static void check_phantom_leave(struct bt_sim *sim, const struct sim_node *obs, uint32_t member,
                                const struct bt_event *ev)
{
    const struct sim_node *t = &sim->nodes[bt_sim_holder(sim, member)];
    if ((t->state != BT_SIM_RUNNING && t->state != BT_SIM_PAUSED) || ev->boot_id != t->boot_id)
        return;
    bt_sim_violation(sim, "phantom_leave",
                     "n%" PRIu32 " saw n%" PRIu32 " leave at %" PRIu64 " ms, but it never left",
                     obs->index, member, sim->now);
}

static void bt_sim_check_event(struct bt_sim *sim, const struct sim_node *obs,
                               const struct bt_event *ev)
{
    struct bt_sim_stats *st = &sim->stats;
    /* The election's checker sees every event too, after this one, as an
     * observer of its own: ELECTED and REVOKED are its business, membership
     * events time its stability rule. */
    switch (ev->kind) {
    case BT_EV_MEMBER_UP: st->ev_up++; break;
    case BT_EV_MEMBER_SUSPECT: st->ev_suspect++; break;
    case BT_EV_MEMBER_ALIVE: st->ev_alive++; break;
    case BT_EV_MEMBER_DEAD: st->ev_dead++; break;
    case BT_EV_MEMBER_LEFT: st->ev_left++; break;
    case BT_EV_NAME_CONFLICT: st->ev_conflict++; break;
    case BT_EV_STOPPED: st->ev_stopped++; break;
    case BT_EV_ELECTED:
    case BT_EV_REVOKED:
    case BT_EV_CLOCK_REFUSED:
    case BT_EV_CLOCK_OK: return; /* the election's business (election.c) */
    }
    if (ev->kind == BT_EV_STOPPED) {
        /* Only a process that lost its name to a twin may stop, and only
         * once it leads nothing: every term ended (REVOKED) before (the
         * election checks that: stopped_leading). */
        if (ev->error != BATON_ECONFLICT || !bt_sim_name_twinned(sim, obs->name_of))
            bt_sim_violation(sim, "node_stopped", "n%" PRIu32 " stopped: %d (%s)", obs->index,
                             ev->error, baton_err_name(ev->error));
        return;
    }
    if (ev->kind == BT_EV_NAME_CONFLICT && bt_sim_name_twinned(sim, obs->name_of)) {
        bt_sim_log(sim, 2, "n%" PRIu32 " lost its name to a twin", obs->index);
        return;
    }
    if (ev->kind == BT_EV_NAME_CONFLICT) {
        /* Every name in the simulator belongs to one slot and one address:
         * a restart reuses both, so no conflict is legitimate but between
         * twins (bt_sim_start_twin). */
        int alen = ev->addr.len <= BT_ADDR_MAX ? ev->addr.len : BT_ADDR_MAX;
        int olen = ev->other_addr.len <= BT_ADDR_MAX ? ev->other_addr.len : BT_ADDR_MAX;
        bt_sim_violation(sim, "name_conflict",
                         "n%" PRIu32
                         " reports a name conflict about %.*s: held at \"%.*s\" and \"%.*s\"",
                         obs->index, name_len(&ev->member), ev->member.bytes, alen, ev->addr.s,
                         olen, ev->other_addr.s);
        return;
    }
    int64_t m = bt_sim_parse_index(sim, ev->member.bytes, ev->member.len);
    if (m < 0 || ev->member.len > BATON_NODE_MAX) {
        bt_sim_violation(sim, "bad_event",
                         "n%" PRIu32 " reported an event about unknown member \"%.*s\"", obs->index,
                         (int)(ev->member.len <= BATON_NODE_MAX ? ev->member.len : 0),
                         ev->member.bytes);
        return;
    }
    uint32_t member = (uint32_t)m;
    bt_sim_log(sim, 3, "n%" PRIu32 ": %s n%" PRIu32 " (boot %016" PRIx64 ")", obs->index,
               event_name(ev->kind), member, ev->boot_id);
    if (member == obs->name_of)
        return;
    uint8_t *row = view_row(sim, obs->index);
    switch (ev->kind) {
    case BT_EV_MEMBER_UP:
    case BT_EV_MEMBER_SUSPECT:
    case BT_EV_MEMBER_ALIVE: bt_sim_bit_set(row, member, true); break;
    case BT_EV_MEMBER_DEAD:
        bt_sim_bit_set(row, member, false);
        watch_observed(sim, obs->index, member, true);
        check_false_positive(sim, obs, member, ev);
        break;
    case BT_EV_MEMBER_LEFT:
        bt_sim_bit_set(row, member, false);
        watch_observed(sim, obs->index, member, true);
        check_phantom_leave(sim, obs, member, ev);
        break;
    case BT_EV_NAME_CONFLICT:
    case BT_EV_STOPPED:
    case BT_EV_ELECTED:
    case BT_EV_REVOKED:
    case BT_EV_CLOCK_REFUSED:
    case BT_EV_CLOCK_OK: break;
    }
}

/* --- convergence ----------------------------------------------------------- */

static const struct bt_member_info *find_member(const struct bt_member_info *list, size_t n,
                                                const struct bt_nodeid *name)
{
    for (size_t k = 0; k < n; k++)
        if (bt_nodeid_eq(&list[k].name, name))
            return &list[k];
    return NULL;
}

/* Why two nodes' digests differ: the first member they disagree on. */
static void describe_difference(struct bt_sim *sim, const struct sim_node *a,
                                const struct sim_node *b, char *why, size_t whylen)
{
    const struct bt_sim_node_ops *ops = sim->cfg.ops;
    size_t cap = sim->members_cap;
    struct bt_member_info *la = calloc(cap, sizeof *la), *lb = calloc(cap, sizeof *lb);
    snprintf(why, whylen, "n%" PRIu32 " and n%" PRIu32 " have different membership digests",
             a->index, b->index);
    if (la != NULL && lb != NULL) {
        size_t na = ops->members(a->node, la, cap), nb = ops->members(b->node, lb, cap);
        na = na < cap ? na : cap;
        nb = nb < cap ? nb : cap;
        for (int pass = 0; pass < 2; pass++) {
            const struct sim_node *x = pass ? b : a, *y = pass ? a : b;
            const struct bt_member_info *lx = pass ? lb : la, *ly = pass ? la : lb;
            size_t nx = pass ? nb : na, ny = pass ? na : nb;
            for (size_t k = 0; k < nx; k++) {
                const struct bt_member_info *other = find_member(ly, ny, &lx[k].name);
                if (other == NULL) {
                    snprintf(why, whylen,
                             "n%" PRIu32 " lists %.*s (%s, boot %016" PRIx64 ") and n%" PRIu32
                             " does not",
                             x->index, name_len(&lx[k].name), lx[k].name.bytes,
                             member_state_name(lx[k].state), lx[k].boot_id, y->index);
                    goto out;
                }
                if (other->state != lx[k].state || other->boot_id != lx[k].boot_id) {
                    snprintf(why, whylen,
                             "n%" PRIu32 " sees %.*s %s (boot %016" PRIx64 ", inc %" PRIu32
                             "), n%" PRIu32 " sees it %s (boot %016" PRIx64 ", inc %" PRIu32 ")",
                             x->index, name_len(&lx[k].name), lx[k].name.bytes,
                             member_state_name(lx[k].state), lx[k].boot_id, lx[k].incarnation,
                             y->index, member_state_name(other->state), other->boot_id,
                             other->incarnation);
                    goto out;
                }
            }
        }
    }
out:
    free(la);
    free(lb);
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        if (why != NULL)                                                                           \
            snprintf(why, whylen, __VA_ARGS__);                                                    \
        return false;                                                                              \
    } while (0)

static bool bt_sim_check_converged(struct bt_sim *sim, char *why, size_t whylen)
{
    const struct bt_sim_node_ops *ops = sim->cfg.ops;
    const struct sim_node *ref = NULL;
    uint64_t digest = 0;
    for (uint32_t i = 0; i < sim->n; i++) {
        const struct sim_node *sn = &sim->nodes[i];
        if (sn->state == BT_SIM_CRASHED || sn->state == BT_SIM_LEFT)
            continue;
        if (sn->state == BT_SIM_PAUSED)
            FAIL("n%" PRIu32 " is paused", i);
        if (sn->state == BT_SIM_LEAVING)
            FAIL("n%" PRIu32 " is still leaving", i);
        uint64_t d = ops->digest(sn->node);
        if (ref == NULL) {
            ref = sn;
            digest = d;
        } else if (d != digest) {
            if (why != NULL)
                describe_difference(sim, ref, sn, why, whylen);
            return false;
        }
    }
    if (ref == NULL)
        return true;

    size_t count = ops->members(ref->node, sim->members, sim->members_cap);
    if (count > sim->members_cap)
        FAIL("n%" PRIu32 " lists %zu members, more than the %" PRIu32 " nodes there are",
             ref->index, count, sim->n);
    memset(sim->seen, 0, sim->n);
    for (size_t k = 0; k < count; k++) {
        const struct bt_member_info *mi = &sim->members[k];
        int64_t m = -1;
        if (mi->name.len <= BATON_NODE_MAX)
            m = bt_sim_parse_index(sim, mi->name.bytes, mi->name.len);
        if (m < 0)
            FAIL("n%" PRIu32 " lists an unknown member", ref->index);
        if (sim->seen[m])
            FAIL("n%" PRIu32 " lists n%" PRId64 " twice", ref->index, m);
        sim->seen[m] = 1;
        uint32_t carriers = bt_sim_carriers(sim, (uint32_t)m);
        if (carriers > 1)
            FAIL("two processes run as n%" PRId64, m);
        const struct sim_node *t = &sim->nodes[bt_sim_holder(sim, (uint32_t)m)];
        if (carriers == 1 && t->state == BT_SIM_RUNNING) {
            if (mi->state != BT_MEMBER_ALIVE || mi->boot_id != t->boot_id)
                FAIL("n%" PRIu32 " sees n%" PRId64 " %s with boot %016" PRIx64
                     "; truth: alive with boot %016" PRIx64,
                     ref->index, m, member_state_name(mi->state), mi->boot_id, t->boot_id);
            if (mi->addr.len != t->addr.len || memcmp(mi->addr.s, t->addr.s, t->addr.len) != 0)
                FAIL("n%" PRIu32 " has a wrong address for n%" PRId64, ref->index, m);
        } else if (mi->state != BT_MEMBER_DEAD && mi->state != BT_MEMBER_LEFT) {
            FAIL("n%" PRIu32 " sees n%" PRId64 " %s; truth: %s", ref->index, m,
                 member_state_name(mi->state),
                 carriers == 0 && t->state == BT_SIM_RUNNING ? "no process carries the name"
                 : t->state == BT_SIM_CRASHED                ? "crashed"
                                                             : "left");
        }
    }
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->nodes[i].state == BT_SIM_RUNNING && !sim->seen[sim->nodes[i].name_of])
            FAIL("n%" PRIu32 " is missing from n%" PRIu32 "'s member list", i, ref->index);
    return true;
}

#undef FAIL

static void bt_sim_check_periodic(struct bt_sim *sim)
{
    if (sim->cfg.log != NULL && sim->cfg.verbosity >= 3) {
        /* Tracing: say why the cluster is not converged, when that changes. */
        char why[256];
        sim->converged_now = bt_sim_check_converged(sim, why, sizeof why);
        if (!sim->converged_now && strcmp(why, sim->last_why) != 0)
            bt_sim_log(sim, 3, "not converged: %s", why);
        snprintf(sim->last_why, sizeof sim->last_why, "%s", sim->converged_now ? "" : why);
    } else {
        sim->converged_now = bt_sim_check_converged(sim, NULL, 0);
    }
    if (sim->converged_now && !sim->epoch_converged) {
        sim->epoch_converged = true;
        sim->stats.converged = true;
        sim->stats.convergence_ms = sim->now - sim->stats.last_fault_ms;
        bt_sim_log(sim, 2, "converged, %" PRIu64 " ms after the last fault",
                   sim->stats.convergence_ms);
    }
    if (sim->open_watches == 0)
        return;
    for (uint32_t j = 0; j < sim->n; j++) {
        struct sim_watch *w = &sim->watch[j];
        if (!w->open)
            continue;
        if (sim->converged_now) {
            /* Every view now holds the node dead or absent, yet some
             * observer said nothing: the check completes the timing. */
            uint64_t took = sim->now - w->crashed_at;
            sim->stats.detection_by_view++;
            if (bt_samples_add(&sim->stats.detection, took) != 0)
                bt_sim_violation(sim, "sim_out_of_memory", "detection sample lost");
            bt_sim_log(sim, 2,
                       "crash of n%" PRIu32 " detected in %" PRIu64
                       " ms (by the convergence check: %" PRIu32
                       " nodes dropped it without a dead event)",
                       j, took, w->pending);
            watch_close(sim, w);
        } else if (!bt_sim_network_faulty(sim) &&
                   sim->now - max_u64(w->crashed_at, sim->net_calm_since) >
                       sim->cfg.detect_bound_ms) {
            char who[128] = "";
            size_t len = 0;
            unsigned listed = 0;
            for (uint32_t o = 0; o < sim->n && listed < 5; o++) {
                if (bt_sim_bit(w->pending_bits, o)) {
                    int r =
                        snprintf(who + len, sizeof who - len, "%sn%" PRIu32, listed ? ", " : "", o);
                    if (r > 0 && (size_t)r < sizeof who - len)
                        len += (size_t)r;
                    listed++;
                }
            }
            bt_sim_violation(sim, "crash_undetected",
                             "n%" PRIu32 " crashed at %" PRIu64 " ms and %" PRIu32
                             " live nodes (%s%s) still held it alive %" PRIu64
                             " ms later (network calm since %" PRIu64 " ms)",
                             j, w->crashed_at, w->pending, who, w->pending > listed ? ", ..." : "",
                             sim->now - w->crashed_at, max_u64(w->crashed_at, sim->net_calm_since));
            watch_close(sim, w);
        }
    }
}

static void bt_sim_check_finish(struct bt_sim *sim)
{
    char why[256];
    sim->stats.converged_at_end = bt_sim_check_converged(sim, NULL, 0);
    if (!sim->epoch_converged) {
        if (!bt_sim_check_converged(sim, why, sizeof why)) {
            bt_sim_violation(sim, "not_converged",
                             "%" PRIu64 " ms after the last fault (at %" PRIu64 " ms): %s",
                             sim->now - sim->stats.last_fault_ms, sim->stats.last_fault_ms, why);
            return;
        }
        sim->epoch_converged = true;
        sim->stats.converged = true;
        sim->stats.convergence_ms = sim->now - sim->stats.last_fault_ms;
    }
    if (sim->stats.convergence_ms > sim->cfg.converge_bound_ms)
        bt_sim_violation(sim, "slow_convergence",
                         "converged %" PRIu64 " ms after the last fault (at %" PRIu64
                         " ms); bound %" PRIu64 " ms",
                         sim->stats.convergence_ms, sim->stats.last_fault_ms,
                         sim->cfg.converge_bound_ms);
}

/* --- the observer ------------------------------------------------------------ */

static void membership_stopped(struct bt_sim *sim, const struct sim_node *sn)
{
    bt_sim_check_stopped(sim, sn, sn->state == BT_SIM_CRASHED && sn->stopped_error == 0);
}

/* bt_sim_finish waits for convergence after the last fault and for every
 * crash being timed to be detected, ... */
static bool membership_settled(const struct bt_sim *sim)
{
    return sim->epoch_converged && sim->open_watches == 0;
}

/* ...up to the bounds that judge them. */
static uint64_t membership_deadline(const struct bt_sim *sim)
{
    uint64_t limit = max_u64(sim->now, sim->stats.last_fault_ms + sim->cfg.converge_bound_ms);
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->watch[i].open)
            limit = max_u64(limit, sim->watch[i].crashed_at + sim->cfg.detect_bound_ms);
    return limit;
}

static const struct sim_observer membership_observer = {
    .event = bt_sim_check_event,
    .periodic = bt_sim_check_periodic,
    .finish = bt_sim_check_finish,
    .started = bt_sim_check_started,
    .stopped = membership_stopped,
    .paused = bt_sim_check_paused,
    .settled = membership_settled,
    .deadline = membership_deadline,
    .destroy = bt_sim_check_destroy,
};

int bt_sim_check_init(struct bt_sim *sim)
{
    int rc = sim_observe(sim, &membership_observer);
    if (rc != 0)
        return rc;
    sim->row_bytes = (sim->n + 7) / 8;
    sim->view_bits = calloc(sim->n, sim->row_bytes);
    sim->watch = calloc(sim->n, sizeof *sim->watch);
    sim->seen = calloc(sim->n, 1);
    sim->members_cap = (size_t)sim->n + 16;
    sim->members = calloc(sim->members_cap, sizeof *sim->members);
    if (sim->view_bits == NULL || sim->watch == NULL || sim->seen == NULL || sim->members == NULL)
        return BATON_ENOMEM;
    return 0;
}
