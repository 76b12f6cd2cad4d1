/*
 * The election invariants of docs/simulator.md (agreement, fencing,
 * no_stale_term, monotonic, stability, bounded_state).
 *
 * The checks. Some are immediate, on every node service: a minted token
 * must exceed the high-water mark the minting node held before the call
 * (monotonic), and a session that believes it leads must never hold a token
 * below its own node's high-water mark once the call is over (fix 3,
 * no_stale_term). Some are periodic: every elect_check_ms every running
 * node is asked for every name's leader; the answers feed agreement (is the
 * whole cluster on the true winner, with one believer holding the current
 * term?) and stability (did a node's answer change with no reason?); node
 * stats feed bounded_state. Failover and handover are timed event by event:
 * after every service of a node its answer for the names being timed is
 * compared with the target, so a sample is exact to the millisecond.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "baton/guard.h"
#include "core/leader.h"
#include "core/replica.h"
#include "sim/election_impl.h"

/* A term started for campaign c (lead() won, or ELECTED): the monotonic
 * rules. hw_before is the mark the node held before the call. */
void note_mint(struct bt_sim *sim, uint32_t c, uint64_t token, uint64_t hw_before, const char *how)
{
    struct sim_elect *e = sim->elect;
    struct campaign *cp = &e->pool[c];
    struct ename *m = &e->nm[cp->name];
    struct bt_sim_stats *st = &sim->stats;
    st->leader_changes++;
    bt_sim_log(sim, 3,
               "n%" PRIu32 " leads name-%" PRIu32 " (%s, session %" PRIu64 ", token %" PRIu64 ")",
               cp->node, cp->name, how, cp->session, token);
    if (token <= hw_before)
        bt_sim_violation(sim, "monotonic",
                         "n%" PRIu32 " minted %" PRIu64 " for name-%" PRIu32 " (%s) at %" PRIu64
                         " ms, not above the high-water mark %" PRIu64 " it already held",
                         cp->node, token, cp->name, how, sim->now, hw_before);
    m->last[m->nlast % LAST_MINTS] =
        (struct mint){.at = sim->now, .token = token, .node = cp->node};
    m->nlast++;
    /* The global rule holds only in runs with no partition, crash or pause. */
    if (st->crashes != 0 || st->pauses != 0 || st->partitions != 0 || st->oneway_blocks != 0)
        return;
    uint64_t window = sim->cfg.prop_bound_ms;
    size_t drop = 0;
    while (drop < m->nrecent && m->recent[drop].at + window < sim->now) {
        const struct mint *old = &m->recent[drop];
        if (!m->has_settled || old->token > m->settled_max) {
            m->settled_max = old->token;
            m->settled_node = old->node;
            m->settled_at = old->at;
        }
        m->has_settled = true;
        drop++;
    }
    if (drop > 0) {
        memmove(m->recent, m->recent + drop, (m->nrecent - drop) * sizeof *m->recent);
        m->nrecent -= drop;
    }
    if (m->has_settled && token <= m->settled_max)
        bt_sim_violation(sim, "monotonic",
                         "n%" PRIu32 " minted %" PRIu64 " for name-%" PRIu32 " at %" PRIu64
                         " ms, not above %" PRIu64 " minted by n%" PRIu32 " at %" PRIu64
                         " ms (more than %" PRIu64 " ms earlier)",
                         cp->node, token, cp->name, sim->now, m->settled_max, m->settled_node,
                         m->settled_at, window);
    if (m->nrecent == m->recent_cap) {
        size_t cap = m->recent_cap ? m->recent_cap * 2 : 8;
        struct mint *r = realloc(m->recent, cap * sizeof *r);
        if (r == NULL) {
            elect_oom(sim);
            return;
        }
        m->recent = r;
        m->recent_cap = cap;
    }
    m->recent[m->nrecent++] = (struct mint){.at = sim->now, .token = token, .node = cp->node};
}

/* No campaign of a node holds a token below the node's mark once a call is
 * over (fix 3), and its hw_seen is the mark before the next call. */
static void check_campaign_at(struct bt_sim *sim, uint32_t x, struct campaign *cp, uint64_t hw)
{
    /* Fix 3: once a call is over, a leader never holds a token below a
     * mark its own node knows. */
    if (cp->leads && hw > cp->token && cp->stale_token != cp->token) {
        cp->stale_token = cp->token;
        bt_sim_violation(sim, "no_stale_term",
                         "n%" PRIu32 " still believes it leads name-%" PRIu32 " with %" PRIu64
                         " at %" PRIu64 " ms, below its own high-water mark %" PRIu64 " (fix 3)",
                         x, cp->name, cp->token, sim->now, hw);
    }
    cp->hw_seen = hw;
}

/* Node x's mark for cp's name, looked up again only when x's marks moved
 * since cp's last lookup (bt_node_marks_version): in a storm of news the
 * lookups after every service were about a twentieth of the run, and
 * nearly all found what the last one had. */
static uint64_t campaign_mark(struct bt_sim *sim, uint32_t x, struct campaign *cp)
{
    const struct bt_sim_node_ops *ops = sim->cfg.ops;
    if (ops->marks_version == NULL)
        return high_water_of(sim, x, cp->name);
    uint64_t version = ops->marks_version(sim->nodes[x].node);
    uint32_t gen = sim->nodes[x].gen;
    if (!cp->hw_read_valid || cp->hw_read_version != version || cp->hw_read_gen != gen) {
        cp->hw_read = high_water_of(sim, x, cp->name);
        cp->hw_read_valid = true;
        cp->hw_read_gen = gen;
        cp->hw_read_version = version;
    }
    return cp->hw_read;
}

void check_campaign(struct bt_sim *sim, uint32_t x, struct campaign *cp)
{
    check_campaign_at(sim, x, cp, campaign_mark(sim, x, cp));
}

/* --- the periodic poll ------------------------------------------------------- */

#define WHY(...)                                                                                   \
    do {                                                                                           \
        if (why != NULL)                                                                           \
            snprintf(why, whylen, __VA_ARGS__);                                                    \
        return false;                                                                              \
    } while (0)

/* Whether running node x has not judged its clock yet (design.md fix 9: it
 * joined through seeds and has not read its members' clocks): it mints
 * nothing (its candidacies are written, but it has not synced, fix 8), so
 * nothing is agreed meanwhile. */
static bool clock_pending(const struct bt_sim *sim, uint32_t x)
{
    if (sim->cfg.ops->stats == NULL)
        return false;
    struct bt_node_stats ns;
    sim->cfg.ops->stats(sim->nodes[x].node, &ns);
    return ns.election.clock_pending != 0;
}

bool bt_sim_agreed(struct bt_sim *sim, uint32_t k, char *why, size_t whylen)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || k >= e->names)
        WHY("no such name");
    uint32_t w = true_winner(sim, k);
    uint64_t target = w == NONE ? 0 : e->pool[w].session;
    uint64_t max_hw = 0;
    uint32_t max_hw_node = NONE;
    for (uint32_t x = 0; x < sim->n; x++) {
        enum bt_sim_node_state s = sim->nodes[x].state;
        if (s == BT_SIM_PAUSED)
            WHY("n%" PRIu32 " is paused", x);
        if (s == BT_SIM_LEAVING)
            WHY("n%" PRIu32 " is leaving", x);
        if (s != BT_SIM_RUNNING)
            continue;
        if (clock_pending(sim, x))
            WHY("n%" PRIu32 " has not judged its clock yet", x);
        uint32_t who;
        uint64_t code = view_of(sim, x, k, &who);
        if (code != target) {
            if (target == 0)
                WHY("name-%" PRIu32 ": nobody campaigns, but n%" PRIu32 " sees n%" PRIu32
                    " (session %" PRIu64 ") lead",
                    k, x, who, code);
            if (code == 0)
                WHY("name-%" PRIu32 ": n%" PRIu32 " sees no leader; truth: n%" PRIu32
                    " (session %" PRIu64 ")",
                    k, x, e->pool[w].node, target);
            WHY("name-%" PRIu32 ": n%" PRIu32 " sees n%" PRIu32 " (session %" PRIu64
                "); truth: n%" PRIu32 " (session %" PRIu64 ")",
                k, x, who, code, e->pool[w].node, target);
        }
        uint64_t hw = high_water_of(sim, x, k);
        /* Nobody campaigns: a node may have aged the mark out already
         * (design.md fix 11; each node ages on its own schedule), so only
         * the nodes that still hold one must agree on it. */
        if (w == NONE && hw == 0)
            continue;
        if (max_hw_node != NONE && hw != max_hw)
            WHY("name-%" PRIu32 ": n%" PRIu32 "'s high-water mark is %" PRIu64 ", n%" PRIu32
                "'s %" PRIu64,
                k, x, hw, max_hw_node, max_hw);
        max_hw = hw;
        max_hw_node = x;
    }
    for (uint32_t c = e->nm[k].camps; c != NONE; c = e->pool[c].by_name.next)
        if (e->pool[c].leads && c != w)
            WHY("name-%" PRIu32 ": n%" PRIu32 " (session %" PRIu64 ") still believes it leads", k,
                e->pool[c].node, e->pool[c].session);
    if (w == NONE)
        return true;
    const struct campaign *wp = &e->pool[w];
    if (!wp->leads)
        WHY("name-%" PRIu32 ": the leader n%" PRIu32 " (session %" PRIu64
            ") does not know it leads",
            k, wp->node, wp->session);
    uint64_t fence = 0;
    if (sim->cfg.ops->fence(sim->nodes[wp->node].node, &e->nm[k].name, &fence, NULL) != 0 ||
        fence != wp->token)
        WHY("name-%" PRIu32 ": n%" PRIu32 "'s term is %" PRIu64
            " but its session believes %" PRIu64,
            k, wp->node, fence, wp->token);
    if (max_hw != wp->token)
        WHY("name-%" PRIu32 ": the leader n%" PRIu32 " holds %" PRIu64
            ", but the high-water mark is %" PRIu64,
            k, wp->node, wp->token, max_hw);
    if (token_taken(e, k, wp))
        WHY("name-%" PRIu32 ": the resource admitted the leader n%" PRIu32 "'s token %" PRIu64
            " for session %" PRIu64,
            k, wp->node, wp->token, e->nm[k].term_session);
    return true;
}

#undef WHY

/* Each running node's answer for each name and its high-water mark, asked
 * once per poll (e->views, e->marks); a change of answer that neither a
 * candidacy change of the name nor a membership event at the node (nor a
 * fault) within prop_bound explains breaks stability. bt_node_is_leader is
 * checked against the answer for one name per node and poll, in turn. */
static void poll_views(struct bt_sim *sim, bool judge)
{
    struct sim_elect *e = sim->elect;
    uint64_t window = sim->cfg.prop_bound_ms;
    uint64_t since = e->prev_poll > window ? e->prev_poll - window : 0;
    e->polls++;
    for (uint32_t x = 0; x < sim->n; x++) {
        if (sim->nodes[x].state != BT_SIM_RUNNING)
            continue;
        uint32_t sampled = (uint32_t)((e->polls + x) % e->names);
        for (uint32_t k = 0; k < e->names; k++) {
            uint32_t who;
            uint64_t code = view_of(sim, x, k, &who);
            uint64_t hw = high_water_of(sim, x, k);
            e->marks[(size_t)x * e->names + k] = hw;
            /* Every campaign is checked here too (services check a slice
             * of a node's campaigns when it has many). */
            uint32_t c = find_campaign(e, x, k);
            if (c != NONE)
                check_campaign_at(sim, x, &e->pool[c], hw);
            bool self = k == sampled ? sim->cfg.ops->is_leader(sim->nodes[x].node, &e->nm[k].name)
                                     : (code != 0 && who == x);
            if (self != (code != 0 && who == x) && !e->view_reported) {
                e->view_reported = true;
                bt_sim_violation(sim, "bad_result",
                                 "n%" PRIu32 ": bt_node_is_leader(name-%" PRIu32
                                 ") is %s but bt_node_leader says n%" PRId64,
                                 x, k, self ? "true" : "false",
                                 who == NONE ? (int64_t)-1 : (int64_t)who);
            }
            uint64_t *prev = &e->views[(size_t)x * e->names + k];
            if (judge && *prev != VIEW_UNKNOWN && *prev != code &&
                e->nd[x].last_view_change < since &&
                (!e->nm[k].changed || e->nm[k].last_change < since) && !e->stability_reported) {
                e->stability_reported = true;
                bt_sim_violation(
                    sim, "stability",
                    "n%" PRIu32 "'s leader for name-%" PRIu32 " changed from session %" PRIu64
                    " to %" PRIu64 " between %" PRIu64 " and %" PRIu64
                    " ms, with no candidacy change of the name, no membership event at n%" PRIu32
                    " and no fault since %" PRIu64 " ms",
                    x, k, *prev, code, e->prev_poll, sim->now, x, since);
            }
            *prev = code;
        }
    }
}

void poll_state(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    struct bt_sim_stats *st = &sim->stats;
    uint64_t window = gc_window(sim);
    while (e->rem_len > 0 && e->rem[e->rem_head].at + window < sim->now) {
        e->rem_keys -= e->rem[e->rem_head].keys;
        e->rem_head = (e->rem_head + 1) % e->rem_cap;
        e->rem_len--;
    }
    bool clean = true;
    for (uint32_t x = 0; x < sim->n; x++) {
        if (!is_live(sim->nodes[x].state) || sim->nodes[x].node == NULL)
            continue;
        struct bt_node_stats ns;
        sim->cfg.ops->stats(sim->nodes[x].node, &ns);
        const struct bt_election_stats *es = &ns.election;
        if (es->entries > st->max_entries)
            st->max_entries = es->entries;
        if (es->tombstones > st->max_tombstones)
            st->max_tombstones = es->tombstones;
        if (es->high_water_marks > st->max_high_water_marks)
            st->max_high_water_marks = es->high_water_marks;
        uint64_t entry_bound = (uint64_t)e->ncamps + e->rem_keys;
        uint64_t key_bound = (uint64_t)sim->n * e->names;
        if (entry_bound > key_bound)
            entry_bound = key_bound;
        if (es->entries > entry_bound || es->tombstones > e->rem_keys ||
            es->high_water_marks > (size_t)e->names * BT_LEADER_MINTERS_MAX) {
            clean = false;
            if (!e->bounded_reported) {
                e->bounded_reported = true;
                bt_sim_violation(
                    sim, "bounded_state",
                    "n%" PRIu32
                    " holds %zu entries (%zu tombstones) and %zu high-water marks at %" PRIu64
                    " ms; %" PRIu32 " live candidacies, %" PRIu64
                    " removals within the GC window of %" PRIu64 " ms and %" PRIu32
                    " names account for at most %" PRIu64 " entries, %" PRIu64
                    " tombstones, %" PRIu64 " marks",
                    x, es->entries, es->tombstones, es->high_water_marks, sim->now, e->ncamps,
                    e->rem_keys, window, e->names, entry_bound, e->rem_keys,
                    (uint64_t)e->names * BT_LEADER_MINTERS_MAX);
            }
        }
    }
    if (clean && e->any_removal && e->rem_keys == 0)
        st->gc_observed = true;
}

/* Whether the membership converged (the last check passed) and every name
 * is agreed (bt_sim_agreed: the same leader and the same high-water token on
 * every running node). Who minted a token is not compared: that set grows by
 * gossip and may differ for a while without changing any decision. The first
 * reason why not into why. */
bool all_agreed(struct bt_sim *sim, char *why, size_t whylen)
{
    struct sim_elect *e = sim->elect;
    if (!sim->converged_now) {
        if (why != NULL)
            snprintf(why, whylen, "the membership has not converged");
        return false;
    }
    for (uint32_t k = 0; k < e->names; k++)
        if (!bt_sim_agreed(sim, k, why, whylen))
            return false;
    return true;
}

#define WHY(...)                                                                                   \
    do {                                                                                           \
        if (why != NULL)                                                                           \
            snprintf(why, whylen, __VA_ARGS__);                                                    \
        return false;                                                                              \
    } while (0)

/* all_agreed() from the answers poll_views() just gathered. */
static bool agreed_cached(struct bt_sim *sim, char *why, size_t whylen)
{
    struct sim_elect *e = sim->elect;
    if (!sim->converged_now)
        WHY("the membership has not converged");
    for (uint32_t x = 0; x < sim->n; x++) {
        if (sim->nodes[x].state == BT_SIM_PAUSED)
            WHY("n%" PRIu32 " is paused", x);
        if (sim->nodes[x].state == BT_SIM_LEAVING)
            WHY("n%" PRIu32 " is leaving", x);
        if (sim->nodes[x].state == BT_SIM_RUNNING && clock_pending(sim, x))
            WHY("n%" PRIu32 " has not judged its clock yet", x);
    }
    for (uint32_t k = 0; k < e->names; k++) {
        uint32_t w = true_winner(sim, k);
        uint64_t target = w == NONE ? 0 : e->pool[w].session;
        uint32_t first = NONE;
        uint64_t mark = 0;
        for (uint32_t x = 0; x < sim->n; x++) {
            if (sim->nodes[x].state != BT_SIM_RUNNING)
                continue;
            uint64_t code = e->views[(size_t)x * e->names + k];
            uint64_t hw = e->marks[(size_t)x * e->names + k];
            if (code != target)
                WHY("name-%" PRIu32 ": n%" PRIu32 " sees session %" PRIu64
                    " lead; truth: session %" PRIu64,
                    k, x, code, target);
            if (w == NONE && hw == 0)
                continue; /* aged out here already (see bt_sim_agreed) */
            if (first != NONE && hw != mark)
                WHY("name-%" PRIu32 ": n%" PRIu32 "'s high-water mark is %" PRIu64 ", n%" PRIu32
                    "'s %" PRIu64,
                    k, x, hw, first, mark);
            first = x;
            mark = hw;
        }
        for (uint32_t c = e->nm[k].camps; c != NONE; c = e->pool[c].by_name.next)
            if (e->pool[c].leads && c != w)
                WHY("name-%" PRIu32 ": n%" PRIu32 " (session %" PRIu64 ") still believes it leads",
                    k, e->pool[c].node, e->pool[c].session);
        if (w == NONE)
            continue;
        const struct campaign *wp = &e->pool[w];
        uint64_t fence = 0;
        if (!wp->leads)
            WHY("name-%" PRIu32 ": the leader n%" PRIu32 " does not know it leads", k, wp->node);
        if (sim->cfg.ops->fence(sim->nodes[wp->node].node, &e->nm[k].name, &fence, NULL) != 0 ||
            fence != wp->token)
            WHY("name-%" PRIu32 ": n%" PRIu32 "'s term is %" PRIu64
                " but its session believes %" PRIu64,
                k, wp->node, fence, wp->token);
        if (mark != wp->token)
            WHY("name-%" PRIu32 ": the leader n%" PRIu32 " holds %" PRIu64
                ", but the high-water mark is %" PRIu64,
                k, wp->node, wp->token, mark);
        if (token_taken(e, k, wp))
            WHY("name-%" PRIu32 ": the resource admitted the leader n%" PRIu32 "'s token %" PRIu64
                " for session %" PRIu64,
                k, wp->node, wp->token, e->nm[k].term_session);
    }
    return true;
}

#undef WHY

void elect_poll(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    struct bt_sim_stats *st = &sim->stats;
    /* Stability is judged in fault-free stretches with at most 10% loss. */
    bool calm =
        sim->cfg.loss <= 0.1 && !bt_sim_network_faulty(sim) &&
        (sim->fault_count == 0 || sim->stats.last_fault_ms + sim->cfg.prop_bound_ms < e->prev_poll);
    for (uint32_t x = 0; x < sim->n && calm; x++)
        calm = sim->nodes[x].state == BT_SIM_RUNNING || sim->nodes[x].state == BT_SIM_CRASHED ||
               sim->nodes[x].state == BT_SIM_LEFT;
    poll_views(sim, calm && e->polled);
    poll_state(sim);
    char why[256];
    bool verbose = sim->cfg.log != NULL && sim->cfg.verbosity >= 3;
    bool lost_check = e->epoch_agreed && !e->lost_reported;
    e->agreed_now = agreed_cached(sim, verbose || lost_check ? why : NULL, sizeof why);
    if (e->agreed_now && !e->epoch_agreed) {
        e->epoch_agreed = true;
        e->agreed_at = sim->now;
        st->agreed = true;
        st->agreement_ms = sim->now - e->last_change;
        bt_sim_log(sim, 2, "election agreed on every name, %" PRIu64 " ms after the last change",
                   st->agreement_ms);
    } else if (!e->agreed_now && e->epoch_agreed && sim->converged_now) {
        /* Nothing changed since the agreement (a change would have ended
         * the epoch) and the membership still agrees. In a calm cluster
         * that is a flap; under a network fault it is the fault being
         * noticed: judge again later. A membership that stops agreeing
         * (a suspicion under loss) is the membership checker's business. */
        if (cluster_calm(sim) && !e->lost_reported) {
            e->lost_reported = true;
            bt_sim_violation(
                sim, "agreement",
                "lost at %" PRIu64
                " ms with no fault or candidacy change since it was reached at %" PRIu64 " ms: %s",
                sim->now, e->agreed_at, why);
        }
        e->epoch_agreed = false;
        st->agreed = false;
    }
    if (!e->agreed_now && verbose && strcmp(why, e->why) != 0) {
        bt_sim_log(sim, 3, "not agreed: %s", why);
        memcpy(e->why, why, sizeof why);
    }
    e->prev_poll = sim->now;
    e->polled = true;
}

void bt_sim_elect_periodic(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    if (!e->formed && sim->converged_now) {
        e->formed = true;
        e->formed_at = sim->now;
    }
    if (sim->now < e->next_poll)
        return;
    elect_poll(sim);
    e->next_poll = sim->now + elect_poll_period(sim);
}

bool bt_sim_elect_settled(const struct bt_sim *sim)
{
    return sim->elect == NULL || sim->elect->epoch_agreed;
}

uint64_t bt_sim_elect_deadline(const struct bt_sim *sim)
{
    if (sim->elect == NULL)
        return 0;
    return sim->elect->last_change + sim->cfg.agree_bound_ms + sim->cfg.elect_check_ms;
}
