/*
 * The fenced resource of the simulated election, one per name.
 *
 * The resource. One per name, its own endpoint: partitions between nodes do
 * not cut it, a crashed node stops writing, a paused one writes nothing
 * until it resumes, and then first sends the write it was making when it
 * stopped (the application thread was frozen mid-operation), with its old
 * belief. A believer writes (token, session) the moment it learns it leads,
 * then every write_interval_ms while the belief lasts; a write arrives after
 * a latency drawn like a datagram's from a stream of its own. The resource
 * follows docs/guard.md: every write offers its term, (token, the writer
 * process as minter: its node's name and boot, "<name>#<boot hex>"), to an
 * in-memory baton_guard, the public one, and
 * is accepted if and only if the guard admits it: a token above the mark
 * opens a new term (ending the older one), the admitted term itself rides
 * on, anything else is refused. We keep our own record of the admitted term
 * and check the guard against it (fencing). A refusal goes back to the
 * writer (one more latency), whose application reports the guard's mark
 * (token and minter) to its node with bt_node_observe_fence, as
 * docs/guard.md asks; if the writer still leads with a term that mark beats
 * once the call is over, its term is stale (no_stale_term).
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

/* --- writes and the resource ------------------------------------------------- */

void send_write(struct bt_sim *sim, uint32_t c, bool late)
{
    struct sim_elect *e = sim->elect;
    const struct campaign *cp = &e->pool[c];
    struct sim_write *w = malloc(sizeof *w);
    if (w == NULL) {
        elect_oom(sim);
        return;
    }
    bt_sim_heap_entry_init(&w->item.h);
    w->item.kind = SIM_ITEM_WRITE;
    w->item.fire = bt_sim_elect_write_arrives;
    w->name = cp->name;
    w->node = cp->node;
    w->gen = sim->nodes[cp->node].gen;
    w->boot = sim->nodes[cp->node].boot_id;
    w->session = cp->session;
    w->token = cp->token;
    w->late = late;
    w->reply = false;
    w->mark = 0;
    memset(&w->mark_minter, 0, sizeof w->mark_minter);
    uint64_t at =
        sim->now + bt_prng_range(&e->res_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
    if (bt_sim_heap_push(&sim->agenda, &w->item.h, at) != 0) {
        free(w);
        elect_oom(sim);
        return;
    }
    sim->stats.writes_sent++;
    if (late)
        sim->stats.late_writes++;
}

/* A believer's next write (arg: campaign << 32 | belief number). A paused
 * node writes nothing; the timer stops when the belief ends. */
void write_timer(struct bt_sim *sim, uint64_t arg)
{
    struct sim_elect *e = sim->elect;
    uint32_t c = (uint32_t)(arg >> 32), belief = (uint32_t)arg;
    if (c >= e->pool_len || !e->pool[c].used || !e->pool[c].leads || e->pool[c].belief != belief)
        return;
    enum bt_sim_node_state s = sim->nodes[e->pool[c].node].state;
    if (s == BT_SIM_RUNNING || s == BT_SIM_LEAVING)
        send_write(sim, c, false);
    bt_sim_after(sim, sim->cfg.write_interval_ms, write_timer, arg);
}

/* The resource's refusal reached the writer: its application reports the
 * mark to its node, which must then end a term at or below it. */
static void reply_arrives(struct bt_sim *sim, struct sim_write *w)
{
    struct sim_elect *e = sim->elect;
    struct sim_node *sn = &sim->nodes[w->node];
    if (sn->node == NULL || sn->gen != w->gen || sn->state == BT_SIM_CRASHED ||
        sn->state == BT_SIM_LEFT) {
        free(w);
        return;
    }
    if (sn->state == BT_SIM_PAUSED) {
        /* The answer waits in the stopped process's socket. */
        if (bt_sim_heap_push(&sim->agenda, &w->item.h, sim->now + 10) != 0) {
            free(w);
            elect_oom(sim);
        }
        return;
    }
    int rc = sim->cfg.ops->observe_fence(sn->node, &e->nm[w->name].name, w->mark, &w->mark_minter,
                                         bt_sim_node_time(sim, sn));
    sim->stats.refusals_observed++;
    /* An input from outside the cluster: the election may move (a leader
     * refused at its own token starts a new term), so the epoch restarts. */
    epoch_restart(sim);
    bt_sim_log(sim, 3,
               "n%" PRIu32 " observes the resource's mark %" PRIu64 " for name-%" PRIu32 " (rc %d)",
               w->node, w->mark, w->name, rc);
    e->observing = w->node + 1;
    bt_sim_poke(sim, w->node);
    e->observing = 0;
    uint32_t c = find_campaign(e, w->node, w->name);
    struct bt_minter self = {.node = sn->name, .boot = sn->boot_id};
    bool beaten =
        c != NONE && (e->pool[c].token < w->mark ||
                      (e->pool[c].token == w->mark && !bt_minter_eq(&w->mark_minter, &self)));
    if (rc == 0 && beaten && e->pool[c].leads && e->pool[c].stale_token != e->pool[c].token) {
        e->pool[c].stale_token = e->pool[c].token;
        bt_sim_violation(sim, "no_stale_term",
                         "n%" PRIu32 " observed the resource's mark %" PRIu64 " for name-%" PRIu32
                         " at %" PRIu64 " ms and still leads with %" PRIu64,
                         w->node, w->mark, w->name, sim->now, e->pool[c].token);
    }
    free(w);
}

void bt_sim_elect_write_arrives(struct bt_sim *sim, struct sim_item *item)
{
    struct sim_write *w = (struct sim_write *)item;
    struct sim_elect *e = sim->elect;
    struct bt_sim_stats *st = &sim->stats;
    struct ename *m = &e->nm[w->name];
    bool accepted = false;
    uint64_t mark = 0;
    if (w->reply) {
        reply_arrives(sim, w);
        return;
    }
    /* The term the guard should admit: above the admitted one, or the
     * admitted one itself (the same token from the same minter). */
    struct bt_minter writer = {.node = sim->nodes[w->node].name, .boot = w->boot};
    char minter[BATON_MINTER_MAX + 1];
    size_t minter_len = bt_minter_format(&writer, minter);
    bool same_term = m->has_term && w->token == m->term_token && w->node == m->term_node;
    bool admissible = !m->has_term || w->token > m->term_token || same_term;
    struct baton_guard_mark gm;
    int rc = baton_guard_offer(m->guard, w->token, minter, minter_len, &gm);
    mark = gm.token;
    if (rc == 0) {
        accepted = true;
        if (!admissible)
            bt_sim_violation(sim, "fencing",
                             "name-%" PRIu32 ": the guard admitted %" PRIu64 " from n%" PRIu32
                             ", not above %" PRIu64 " admitted before from n%" PRIu32,
                             w->name, w->token, w->node, m->term_token, m->term_node);
        if (!same_term) {
            m->admitted_max = max_u64(m->admitted_max, w->token);
            m->has_term = true;
            m->term_token = w->token;
            m->term_session = w->session;
            m->term_node = w->node;
            st->terms_admitted++;
            bt_sim_log(sim, 3,
                       "resource name-%" PRIu32 ": term %" PRIu64 " of n%" PRIu32
                       " (session %" PRIu64 ") admitted",
                       w->name, w->token, w->node, w->session);
            /* The true leader's token, admitted as another minter's term:
             * the leader has to move above it (token_taken), so an
             * agreement reached before this admission no longer holds. */
            uint32_t lead = true_winner(sim, w->name);
            if (lead != NONE && token_taken(e, w->name, &e->pool[lead]))
                epoch_restart(sim);
        }
    } else if (rc == BATON_ESTALE) {
        if (admissible)
            bt_sim_violation(sim, "fencing",
                             "name-%" PRIu32 ": the guard refused %" PRIu64 " from n%" PRIu32
                             ", above every term admitted or the admitted one (%" PRIu64
                             " from n%" PRIu32 ")",
                             w->name, w->token, w->node, m->term_token, m->term_node);
    } else {
        bt_sim_violation(sim, "fencing",
                         "name-%" PRIu32 ": baton_guard_offer(%" PRIu64 ") returned %d (%s)",
                         w->name, w->token, rc, baton_err_name(rc));
    }
    if (accepted) {
        st->writes_accepted++;
        if (w->late)
            st->late_writes_accepted++;
    } else {
        st->writes_rejected++;
        /* After convergence, the leader's writes are accepted, unless the
         * resource admitted a token no running node knows: its minter
         * departed before its fence could reach anyone (docs/simulator.md). */
        uint32_t c = e->agreed_now && cluster_calm(sim) ? true_winner(sim, w->name) : NONE;
        if (c != NONE && e->pool[c].session == w->session && e->pool[c].leads &&
            e->pool[c].token == w->token && !token_known(sim, w->name, m->term_token)) {
            st->writes_rejected_unknown++;
            if (e->pool[c].refused_token != w->token) {
                e->pool[c].refused_token = w->token;
                bt_sim_log(
                    sim, 2,
                    "name-%" PRIu32 ": leader n%" PRIu32 "'s token %" PRIu64 " is below %" PRIu64
                    ", which only the resource knows (minted by n%" PRIu32 ", now %s)",
                    w->name, w->node, w->token, m->term_token, m->term_node,
                    bt_sim_node_state(sim, m->term_node) == BT_SIM_RUNNING ? "running a new process"
                                                                           : "gone");
            }
        } else if (c != NONE && e->pool[c].session == w->session && e->pool[c].leads &&
                   e->pool[c].token == w->token && e->pool[c].refused_token != w->token) {
            e->pool[c].refused_token = w->token;
            const struct sim_node *holder = &sim->nodes[m->term_node];
            bt_sim_violation(
                sim, "no_stale_term",
                "after convergence, leader n%" PRIu32 "'s write for name-%" PRIu32
                " (token %" PRIu64 ") was refused at %" PRIu64
                " ms: the resource had admitted %" PRIu64 " from n%" PRIu32 " (session %" PRIu64
                ", node now %s)%s",
                w->node, w->name, w->token, sim->now, m->term_token, m->term_node, m->term_session,
                holder->state == BT_SIM_RUNNING ? "running" : "not running",
                m->term_token == w->token ? ": the same token, minted by two nodes" : "");
        }
        /* The refusal, with the guard's mark, goes back to the writer. */
        if (sim->cfg.ops->observe_fence != NULL && mark > 0) {
            w->reply = true;
            w->mark = mark;
            if (bt_minter_parse(&w->mark_minter, gm.minter, gm.minter_len) != 0)
                memset(&w->mark_minter, 0, sizeof w->mark_minter); /* unknown */
            uint64_t at = sim->now + bt_prng_range(&e->res_rng, sim->cfg.latency_min_ms,
                                                   sim->cfg.latency_max_ms);
            bt_sim_heap_entry_init(&w->item.h);
            if (bt_sim_heap_push(&sim->agenda, &w->item.h, at) == 0)
                return;
            elect_oom(sim);
        }
    }
    free(w);
}

uint64_t bt_sim_resource_high_water(const struct bt_sim *sim, uint32_t k)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || k >= e->names)
        return 0;
    return baton_guard_high_water(e->nm[k].guard);
}
