/*
 * The election API of sim.h for scenarios and tests: names, sessions,
 * lead, resign, session end, the true leader and each node's view, and the
 * helpers that start campaigns on every node.
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

/* --- the election API of sim.h ----------------------------------------------- */

uint32_t bt_sim_names(const struct bt_sim *sim) { return sim->elect ? sim->elect->names : 0; }

const struct bt_name *bt_sim_name(const struct bt_sim *sim, uint32_t k)
{
    return sim->elect && k < sim->elect->names ? &sim->elect->nm[k].name : NULL;
}

uint64_t bt_sim_session_new(struct bt_sim *sim, uint32_t i)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || sim->nodes[i].state != BT_SIM_RUNNING)
        return 0;
    struct enode *nd = &e->nd[i];
    if (nd->nsessions == nd->sessions_cap) {
        uint32_t cap = nd->sessions_cap ? nd->sessions_cap * 2 : 4;
        uint64_t *s = realloc(nd->sessions, cap * sizeof *s);
        if (s == NULL) {
            elect_oom(sim);
            return 0;
        }
        nd->sessions = s;
        nd->sessions_cap = cap;
    }
    uint64_t id = e->next_session++;
    nd->sessions[nd->nsessions++] = id;
    return id;
}

int bt_sim_lead(struct bt_sim *sim, uint32_t i, uint32_t k, int64_t priority, uint64_t session,
                uint64_t *session_out, uint64_t *fence)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    if (find_campaign(e, i, k) != NONE)
        return BATON_EALREADY;
    if (session == 0)
        session = bt_sim_session_new(sim, i);
    else if (session_index(&e->nd[i], session) < 0)
        return BATON_EINVAL;
    if (session == 0)
        return BATON_ENOMEM;
    struct sim_node *sn = &sim->nodes[i];
    uint64_t hw_before = high_water_of(sim, i, k);
    uint64_t token = 0;
    int rc = sim->cfg.ops->lead(sn->node, session, &e->nm[k].name, priority,
                                bt_sim_node_time(sim, sn), &token);
    if (rc != 0 && rc != 1) {
        bt_sim_violation(sim, "bad_result",
                         "bt_node_lead on n%" PRIu32 " for name-%" PRIu32 " returned %d (%s)", i, k,
                         rc, baton_err_name(rc));
        bt_sim_poke(sim, i);
        return rc;
    }
    uint32_t c = campaign_add(sim, i, k, session, priority);
    if (c == NONE)
        return BATON_ENOMEM;
    sim->stats.campaigns++;
    e->pool[c].hw_seen = hw_before;
    bt_sim_log(sim, 2,
               "n%" PRIu32 " campaigns for name-%" PRIu32 " (session %" PRIu64 ", priority %" PRId64
               "): %s",
               i, k, session, priority, rc == 1 ? "leader" : "follower");
    if (rc == 1) {
        note_mint(sim, c, token, hw_before, "lead");
        believe(sim, c, token);
        e->pool[c].hw_seen = max_u64(hw_before, token);
    }
    candidacy_changed(sim, k);
    if (!e->nd[i].clock_refused) /* else timed once the clock is back (fix 9) */
        prop_start(sim, c);
    if (session_out != NULL)
        *session_out = session;
    if (fence != NULL)
        *fence = rc == 1 ? token : 0;
    bt_sim_poke(sim, i);
    return rc;
}

int bt_sim_resign(struct bt_sim *sim, uint32_t i, uint32_t k)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    uint32_t c = find_campaign(e, i, k);
    if (c == NONE)
        return BATON_ENOENT;
    struct sim_node *sn = &sim->nodes[i];
    e->pool[c].watch_end = leads_agreed_name(sim, c);
    int rc = sim->cfg.ops->resign(sn->node, &e->nm[k].name, bt_sim_node_time(sim, sn));
    if (rc != 0)
        bt_sim_violation(sim, "bad_result",
                         "bt_node_resign on n%" PRIu32 " for name-%" PRIu32 " returned %d (%s)", i,
                         k, rc, baton_err_name(rc));
    bt_sim_log(sim, 2, "n%" PRIu32 " resigns name-%" PRIu32 " (session %" PRIu64 "%s)", i, k,
               e->pool[c].session, e->pool[c].leads ? ", the leader" : "");
    sim->stats.resigns++;
    campaign_remove(sim, c, false);
    bt_sim_poke(sim, i);
    return 0;
}

int bt_sim_session_end(struct bt_sim *sim, uint32_t i, uint64_t session)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    struct enode *nd = &e->nd[i];
    int at = session_index(nd, session);
    if (at < 0)
        return BATON_EINVAL;
    int held = 0;
    for (uint32_t c = nd->camps; c != NONE; c = e->pool[c].by_node.next) {
        if (e->pool[c].session == session) {
            held++;
            e->pool[c].watch_end = leads_agreed_name(sim, c);
        }
    }
    struct sim_node *sn = &sim->nodes[i];
    int rc = sim->cfg.ops->session_end(sn->node, session, bt_sim_node_time(sim, sn));
    if (rc != held)
        bt_sim_violation(sim, "bad_result",
                         "bt_node_session_end on n%" PRIu32 " (session %" PRIu64
                         ") returned %d; it held %d campaigns",
                         i, session, rc, held);
    bt_sim_log(sim, 2, "n%" PRIu32 " ends session %" PRIu64 " (%d campaigns)", i, session, held);
    sim->stats.session_ends++;
    for (uint32_t c = nd->camps, next; c != NONE; c = next) {
        next = e->pool[c].by_node.next;
        if (e->pool[c].session == session)
            campaign_remove(sim, c, false);
    }
    nd->sessions[at] = nd->sessions[--nd->nsessions];
    if (nd->init_session == session)
        nd->init_session = 0;
    bt_sim_poke(sim, i);
    return held;
}

size_t bt_sim_sessions(const struct bt_sim *sim, uint32_t i, uint64_t *out, size_t cap)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n)
        return 0;
    const struct enode *nd = &e->nd[i];
    for (uint32_t j = 0; j < nd->nsessions && j < cap; j++)
        out[j] = nd->sessions[j];
    return nd->nsessions;
}

uint64_t bt_sim_campaign_session(const struct bt_sim *sim, uint32_t i, uint32_t k)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names)
        return 0;
    uint32_t c = find_campaign(e, i, k);
    return c == NONE ? 0 : e->pool[c].session;
}

bool bt_sim_believes(const struct bt_sim *sim, uint32_t i, uint32_t k, uint64_t *token)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names)
        return false;
    uint32_t c = find_campaign(e, i, k);
    if (c == NONE || !e->pool[c].leads)
        return false;
    if (token != NULL)
        *token = e->pool[c].token;
    return true;
}

bool bt_sim_true_leader(const struct bt_sim *sim, uint32_t k, uint32_t *node, uint64_t *session)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || k >= e->names)
        return false;
    uint32_t w = true_winner(sim, k);
    if (w == NONE)
        return false;
    if (node != NULL)
        *node = e->pool[w].node;
    if (session != NULL)
        *session = e->pool[w].session;
    return true;
}

int bt_sim_leader_view(struct bt_sim *sim, uint32_t i, uint32_t k, uint32_t *node,
                       uint64_t *session)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names || sim->nodes[i].node == NULL)
        return BATON_EINVAL;
    uint32_t who;
    uint64_t code = view_of(sim, i, k, &who);
    if (code == 0)
        return BATON_ENOLEADER;
    if (node != NULL)
        *node = who;
    if (session != NULL)
        *session = code;
    return 0;
}

bool bt_sim_wait_agreed(struct bt_sim *sim, uint32_t k, uint64_t timeout_ms)
{
    if (sim->elect == NULL)
        return true;
    uint64_t deadline = sim->now + timeout_ms;
    for (;;) {
        bool ok = k == UINT32_MAX ? all_agreed(sim, NULL, 0) : bt_sim_agreed(sim, k, NULL, 0);
        if (ok)
            return true;
        if (sim->now >= deadline || sim->oom)
            return false;
        uint64_t next = sim->now + sim->check_ms;
        bt_sim_run_until(sim, next < deadline ? next : deadline);
    }
}

/* A delayed initial lead: arg = node * names + name. */
static void lead_later(struct bt_sim *sim, uint64_t arg)
{
    struct sim_elect *e = sim->elect;
    uint32_t i = (uint32_t)(arg / e->names), k = (uint32_t)(arg % e->names);
    if (sim->nodes[i].state != BT_SIM_RUNNING || find_campaign(e, i, k) != NONE)
        return;
    struct enode *nd = &e->nd[i];
    if (nd->init_session == 0 || session_index(nd, nd->init_session) < 0)
        nd->init_session = bt_sim_session_new(sim, i);
    if (nd->init_session != 0)
        bt_sim_lead(sim, i, k, 0, nd->init_session, NULL, NULL);
}

void bt_sim_campaign_all(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    uint32_t *running = malloc((size_t)sim->n * sizeof *running);
    uint8_t *chosen = calloc((size_t)sim->n * e->names, 1);
    if (running == NULL || chosen == NULL) {
        free(running);
        free(chosen);
        elect_oom(sim);
        return;
    }
    uint32_t nrun = 0;
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->nodes[i].state == BT_SIM_RUNNING)
            running[nrun++] = i;
    uint32_t want =
        sim->cfg.campaigners == 0 || sim->cfg.campaigners > nrun ? nrun : sim->cfg.campaigners;
    for (uint32_t k = 0; k < e->names; k++) {
        /* A partial Fisher-Yates shuffle picks `want` distinct nodes. */
        for (uint32_t j = 0; j < want; j++) {
            uint32_t r = want == nrun ? j : j + (uint32_t)bt_prng_below(&e->rng, nrun - j);
            uint32_t t = running[j];
            running[j] = running[r];
            running[r] = t;
            chosen[(size_t)running[j] * e->names + k] = 1;
        }
    }
    bt_sim_log(sim, 1, "%" PRIu32 " names, %" PRIu32 " campaigners each, start campaigning",
               e->names, want);
    for (uint32_t i = 0; i < sim->n; i++) {
        for (uint32_t k = 0; k < e->names; k++) {
            if (!chosen[(size_t)i * e->names + k])
                continue;
            uint64_t delay = sim->cfg.campaign_spread_ms
                                 ? bt_prng_range(&e->rng, 0, sim->cfg.campaign_spread_ms)
                                 : 0;
            if (delay == 0)
                lead_later(sim, (uint64_t)i * e->names + k);
            else
                bt_sim_after(sim, delay, lead_later, (uint64_t)i * e->names + k);
        }
    }
    free(running);
    free(chosen);
}

void bt_sim_campaign_everywhere(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    for (uint32_t i = 0; i < sim->n; i++) {
        if (sim->nodes[i].state != BT_SIM_RUNNING)
            continue;
        uint64_t session = 0;
        for (uint32_t k = 0; k < e->names; k++)
            if (find_campaign(e, i, k) == NONE)
                bt_sim_lead(sim, i, k, 0, session, &session, NULL);
    }
}
