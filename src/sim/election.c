/*
 * The election in the simulator: sessions that campaign on every node, a
 * protected resource per name behind the real fence guard, and the election
 * invariants of docs/simulator.md (agreement, fencing, no_stale_term,
 * monotonic, stability, bounded_state), with the failover, handover and
 * propagation timings.
 *
 * The truth. The simulator knows every campaign: which node process holds
 * it, in which session, with which priority, and whether that session
 * believes it leads (lead() returned leader, or BT_EV_ELECTED came, and no
 * BT_EV_REVOKED, resign or session end since). Campaigns live in one pool,
 * threaded on three intrusive lists: by node (a crash ends them all), by
 * name (the winner is computed over them) and the believers (they write).
 * The true winner of a name is docs/design.md §1 over the campaigns of live
 * processes: highest priority, then lowest node name, bytewise. Session ids
 * are unique in the whole run, so a candidate id names one campaign.
 *
 * Costs. Nothing here is O(nodes) per event. A poll is O(nodes * names),
 * which is why elect_check_ms grows with nodes * names; propagation polls
 * only the candidacies still on their way (every millisecond up to 100
 * nodes, every check_ms above).
 *
 * This file holds the truth (the campaign pool and its lists), the engine's
 * election hooks and the report; the election invariants are checked in
 * election_check.c, the timings in election_timing.c, the resource in
 * resource.c, and sessions.c is the election API of sim.h.
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

/* --- small helpers --------------------------------------------------------- */

static struct link *lk(struct sim_elect *e, uint32_t c, enum list_kind kind)
{
    struct campaign *cp = &e->pool[c];
    return kind == BY_NODE ? &cp->by_node : kind == BY_NAME ? &cp->by_name : &cp->by_lead;
}

static void list_push(struct sim_elect *e, uint32_t *head, uint32_t c, enum list_kind kind)
{
    struct link *l = lk(e, c, kind);
    l->prev = NONE;
    l->next = *head;
    if (*head != NONE)
        lk(e, *head, kind)->prev = c;
    *head = c;
}

static void list_unlink(struct sim_elect *e, uint32_t *head, uint32_t c, enum list_kind kind)
{
    struct link *l = lk(e, c, kind);
    if (l->prev != NONE)
        lk(e, l->prev, kind)->next = l->next;
    else
        *head = l->next;
    if (l->next != NONE)
        lk(e, l->next, kind)->prev = l->prev;
    l->next = l->prev = NONE;
}

bool is_live(enum bt_sim_node_state s)
{
    return s == BT_SIM_RUNNING || s == BT_SIM_PAUSED || s == BT_SIM_LEAVING;
}

void elect_oom(struct bt_sim *sim)
{
    if (!sim->oom)
        bt_sim_violation(sim, "sim_out_of_memory",
                         "the election ran out of memory; the run is void");
    sim->oom = true;
    sim->stop = true;
}

uint32_t find_campaign(const struct sim_elect *e, uint32_t node, uint32_t name)
{
    return e->camp_of[(size_t)node * e->names + name];
}

/* The true winner of name k (docs/design.md §1), or NONE. */
uint32_t true_winner(const struct bt_sim *sim, uint32_t k)
{
    const struct sim_elect *e = sim->elect;
    uint32_t best = NONE;
    for (uint32_t c = e->nm[k].camps; c != NONE; c = e->pool[c].by_name.next) {
        const struct campaign *cp = &e->pool[c];
        if (e->nd[cp->node].clock_refused)
            continue; /* withdrawn while its clock is refused (fix 9) */
        if (best == NONE) {
            best = c;
            continue;
        }
        const struct campaign *b = &e->pool[best];
        if (cp->priority > b->priority ||
            (cp->priority == b->priority &&
             bt_nodeid_cmp(&sim->nodes[cp->node].name, &sim->nodes[b->node].name) < 0))
            best = c;
    }
    return best;
}

/* Whether the resource admitted the leader's token as another minter's
 * term: two nodes minted it concurrently (docs/design.md allows that), and
 * the leader's writes are refused until it moves above it (finding E9).
 * Not yet agreed. */
bool token_taken(const struct sim_elect *e, uint32_t k, const struct campaign *wp)
{
    const struct ename *m = &e->nm[k];
    return m->has_term && m->term_token == wp->token && m->term_node != wp->node;
}

/* Whether a node other than the leader's minted the leader's token too (two
 * nodes started terms in the same millisecond). Once that node's fence
 * reaches the leader, the leader moves above it (docs/election.md), even if
 * the resource admitted the leader's term first: it cannot know. *other
 * gets that node. */
static bool shared_token(const struct sim_elect *e, uint32_t k, const struct campaign *wp,
                         uint32_t *other)
{
    const struct ename *m = &e->nm[k];
    uint32_t n = m->nlast < LAST_MINTS ? m->nlast : LAST_MINTS;
    for (uint32_t i = 0; i < n; i++)
        if (m->last[i].token == wp->token && m->last[i].node != wp->node) {
            *other = m->last[i].node;
            return true;
        }
    return false;
}

/* An input the election must react to (a candidacy change, a fault, a
 * resource's word): agreement is judged anew from now. */
void epoch_restart(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    e->last_change = max_u64(e->last_change, sim->now);
    sim->stats.last_change_ms = max_u64(sim->stats.last_change_ms, sim->now);
    e->epoch_agreed = false;
    e->agreed_now = false;
    sim->stats.agreed = false;
    e->next_poll = min_u64(e->next_poll, sim->now + elect_poll_period(sim));
}

/* The poll period: elect_check_ms, but no more than AGREE_POLL_MS while the
 * election has not agreed since the last change. A poll costs nodes * names
 * queries, so elect_check_ms grows with them (40 s at 1000 x 1000); waiting
 * that long to look again made a run that agreed within a second report
 * agreement 39 s after its last change and last twice its duration
 * (finding E16). */
uint64_t elect_poll_period(const struct bt_sim *sim)
{
    uint64_t p = sim->cfg.elect_check_ms;
    return sim->elect->epoch_agreed || p < AGREE_POLL_MS ? p : AGREE_POLL_MS;
}

uint64_t winner_session(const struct bt_sim *sim, uint32_t k)
{
    uint32_t w = true_winner(sim, k);
    return w == NONE ? 0 : sim->elect->pool[w].session;
}

/* Node x's answer for name k as a code: the leader's candidate id (session
 * ids are unique in the run), 0 for no leader. *leader_node gets the
 * leader's index (NONE when none). A leader that is no node is reported. */
uint64_t view_of(struct bt_sim *sim, uint32_t x, uint32_t k, uint32_t *leader_node)
{
    struct sim_elect *e = sim->elect;
    struct bt_nodeid who;
    uint64_t cid = 0;
    *leader_node = NONE;
    int rc = sim->cfg.ops->leader(sim->nodes[x].node, &e->nm[k].name, &who, &cid);
    if (rc != 0) {
        if (rc != BATON_ENOLEADER && !e->view_reported) {
            e->view_reported = true;
            bt_sim_violation(sim, "bad_result",
                             "bt_node_leader on n%" PRIu32 " for name-%" PRIu32 " returned %d (%s)",
                             x, k, rc, baton_err_name(rc));
        }
        return 0;
    }
    int64_t idx = who.len <= BATON_NODE_MAX ? bt_sim_parse_index(sim, who.bytes, who.len) : -1;
    if (idx < 0 || cid == 0) {
        if (!e->view_reported) {
            e->view_reported = true;
            bt_sim_violation(sim, "bad_result",
                             "n%" PRIu32 " names a leader for name-%" PRIu32
                             " that is no node or no session",
                             x, k);
        }
        return 0;
    }
    /* A twin may carry the name: a node's own name is itself. */
    *leader_node = sim->nodes[x].name_of == (uint32_t)idx ? x : bt_sim_holder(sim, (uint32_t)idx);
    return cid;
}

uint64_t high_water_of(struct bt_sim *sim, uint32_t x, uint32_t k)
{
    uint64_t hw = 0;
    if (sim->cfg.ops->high_water(sim->nodes[x].node, &sim->elect->nm[k].name, &hw) != 0)
        return 0;
    return hw;
}

/* The GC window of bounded_state: how long a removed candidacy's key may
 * hold a tombstone or a stale entry. docs/simulator.md says why. */
uint64_t gc_window(const struct bt_sim *sim)
{
    uint64_t h = sim->cfg.horizon_ms ? sim->cfg.horizon_ms : BT_REPLICA_HORIZON_DEFAULT_MS;
    uint64_t drift = (uint64_t)sim->cfg.drift_ppm * sim->now / 1000000;
    return 2 * h + h / 4 + 2 * (uint64_t)sim->cfg.skew_ms + 2 * drift + 1000;
}

/* --- campaigns --------------------------------------------------------------- */

/* A candidacy of name k changed (a lead, a resign, an end): the election's
 * epoch restarts, and a timing whose target is no longer the winner is void. */
void candidacy_changed(struct bt_sim *sim, uint32_t k)
{
    struct sim_elect *e = sim->elect;
    e->nm[k].last_change = sim->now;
    e->nm[k].changed = true;
    uint64_t truth = winner_session(sim, k);
    if (truth != e->nm[k].truth_session) {
        e->nm[k].truth_session = truth;
        e->nm[k].truth_seq = e->seq;
        e->nm[k].truth_at = sim->now;
    }
    epoch_restart(sim);
    if (e->nm[k].w.open && e->nm[k].w.target != winner_session(sim, k))
        watch_supersede(sim, k);
}

uint32_t campaign_add(struct bt_sim *sim, uint32_t node, uint32_t k, uint64_t session,
                      int64_t priority)
{
    struct sim_elect *e = sim->elect;
    uint32_t c = e->free_head;
    if (c != NONE) {
        e->free_head = e->pool[c].by_node.next;
    } else {
        if (e->pool_len == e->pool_cap) {
            uint32_t cap = e->pool_cap ? e->pool_cap * 2 : 64;
            struct campaign *p = realloc(e->pool, (size_t)cap * sizeof *p);
            if (p == NULL) {
                elect_oom(sim);
                return NONE;
            }
            e->pool = p;
            e->pool_cap = cap;
        }
        c = e->pool_len++;
    }
    struct campaign *cp = &e->pool[c];
    memset(cp, 0, sizeof *cp);
    cp->used = true;
    cp->node = node;
    cp->name = k;
    cp->session = session;
    cp->priority = priority;
    cp->started_at = sim->now;
    cp->start_seq = ++e->seq;
    cp->prop = NONE;
    list_push(e, &e->nd[node].camps, c, BY_NODE);
    list_push(e, &e->nm[k].camps, c, BY_NAME);
    e->camp_of[(size_t)node * e->names + k] = c;
    cp->by_lead.next = cp->by_lead.prev = NONE;
    e->nd[node].ncamps++;
    e->ncamps++;
    return c;
}

/* Campaign c's session learned it leads with token: it writes at once, and
 * then every write_interval_ms until the belief ends. */
void believe(struct bt_sim *sim, uint32_t c, uint64_t token)
{
    struct sim_elect *e = sim->elect;
    struct campaign *cp = &e->pool[c];
    if (!cp->leads)
        list_push(e, &e->leaders, c, BY_LEAD);
    cp->leads = true;
    cp->token = token;
    cp->belief = ++e->beliefs;
    if (sim->cfg.write_interval_ms == 0)
        return;
    send_write(sim, c, false);
    bt_sim_after(sim, sim->cfg.write_interval_ms, write_timer, (uint64_t)c << 32 | cp->belief);
}

static void disbelieve(struct sim_elect *e, uint32_t c)
{
    struct campaign *cp = &e->pool[c];
    if (cp->leads)
        list_unlink(e, &e->leaders, c, BY_LEAD);
    cp->leads = false;
    cp->belief = 0;
}

static void removal_log(struct bt_sim *sim, uint32_t keys)
{
    struct sim_elect *e = sim->elect;
    if (e->rem_len == e->rem_cap) {
        size_t cap = e->rem_cap ? e->rem_cap * 2 : 64;
        struct removal *r = malloc(cap * sizeof *r);
        if (r == NULL) {
            elect_oom(sim);
            return;
        }
        for (size_t j = 0; j < e->rem_len; j++)
            r[j] = e->rem[(e->rem_head + j) % e->rem_cap];
        free(e->rem);
        e->rem = r;
        e->rem_cap = cap;
        e->rem_head = 0;
    }
    e->rem[(e->rem_head + e->rem_len) % e->rem_cap] =
        (struct removal){.at = sim->now, .keys = keys};
    e->rem_len++;
    e->rem_keys += keys;
    e->any_removal = true;
}

/* The campaign ended (resign, session end, leave or crash): out of the
 * truth; a failover or handover starts if it led an agreed name. */
void campaign_remove(struct bt_sim *sim, uint32_t c, bool crashed)
{
    struct sim_elect *e = sim->elect;
    struct campaign *cp = &e->pool[c];
    uint32_t k = cp->name;
    bool watch = cp->watch_end;
    if (cp->prop != NONE) {
        sim->stats.propagation_superseded++;
        prop_remove(e, cp->prop);
    }
    disbelieve(e, c);
    if (e->nd[cp->node].cursor == c)
        e->nd[cp->node].cursor = cp->by_node.next;
    e->camp_of[(size_t)cp->node * e->names + k] = NONE;
    list_unlink(e, &e->nd[cp->node].camps, c, BY_NODE);
    list_unlink(e, &e->nm[k].camps, c, BY_NAME);
    e->nd[cp->node].ncamps--;
    e->ncamps--;
    cp->used = false;
    cp->by_node.next = e->free_head;
    e->free_head = c;
    e->seq++;
    removal_log(sim, 1);
    candidacy_changed(sim, k);
    if (watch)
        watch_open(sim, k, crashed);
}

/* Whether campaign c is the true winner of an agreed name. */
bool leads_agreed_name(struct bt_sim *sim, uint32_t c)
{
    struct sim_elect *e = sim->elect;
    uint32_t k = e->pool[c].name;
    return true_winner(sim, k) == c && bt_sim_agreed(sim, k, NULL, 0);
}

int session_index(const struct enode *nd, uint64_t session)
{
    for (uint32_t j = 0; j < nd->nsessions; j++)
        if (nd->sessions[j] == session)
            return (int)j;
    return -1;
}

/* No network fault in force, and every process running (none paused or
 * leaving): what "after faults stop" means at an instant. */
bool cluster_calm(const struct bt_sim *sim)
{
    if (bt_sim_network_faulty(sim))
        return false;
    for (uint32_t x = 0; x < sim->n; x++)
        if (sim->nodes[x].state == BT_SIM_PAUSED || sim->nodes[x].state == BT_SIM_LEAVING)
            return false;
    return true;
}

/* Whether some running node's high-water mark for k has reached token. */
bool token_known(struct bt_sim *sim, uint32_t k, uint64_t token)
{
    for (uint32_t x = 0; x < sim->n; x++)
        if (sim->nodes[x].state == BT_SIM_RUNNING && high_water_of(sim, x, k) >= token)
            return true;
    return false;
}

/* --- hooks from the engine and the membership checker ------------------------ */

int bt_sim_elect_init(struct bt_sim *sim)
{
    int rc = sim_observe(sim, &bt_sim_election_observer);
    if (rc != 0)
        return rc;
    bt_samples_init(&sim->stats.failover);
    bt_samples_init(&sim->stats.handover);
    bt_samples_init(&sim->stats.propagation);
    uint32_t names = sim->cfg.names;
    if (names == 0)
        return 0;
    struct sim_elect *e = calloc(1, sizeof *e);
    if (e == NULL)
        return BATON_ENOMEM;
    sim->elect = e;
    e->names = names;
    e->row_bytes = (sim->n + 7) / 8;
    e->nm = calloc(names, sizeof *e->nm);
    e->nd = calloc(sim->n, sizeof *e->nd);
    e->open = calloc(names, sizeof *e->open);
    e->cand = calloc(sim->n, sizeof *e->cand);
    e->listed = calloc(sim->n, sizeof *e->listed);
    e->views = malloc((size_t)sim->n * names * sizeof *e->views);
    e->marks = calloc((size_t)sim->n * names, sizeof *e->marks);
    e->camp_of = malloc((size_t)sim->n * names * sizeof *e->camp_of);
    if (e->nm == NULL || e->nd == NULL || e->open == NULL || e->cand == NULL || e->listed == NULL ||
        e->views == NULL || e->marks == NULL || e->camp_of == NULL)
        return BATON_ENOMEM;
    for (size_t v = 0; v < (size_t)sim->n * names; v++) {
        e->views[v] = VIEW_UNKNOWN;
        e->camp_of[v] = NONE;
    }
    for (uint32_t k = 0; k < names; k++) {
        char text[BATON_NAME_MAX + 1];
        int len = snprintf(text, sizeof text, "name-%" PRIu32, k);
        while ((uint32_t)len < sim->cfg.name_bytes)
            text[len++] = '.';
        bt_name_set(&e->nm[k].name, text, (size_t)len);
        e->nm[k].camps = NONE;
        if (baton_guard_new(NULL, &e->nm[k].guard) != 0)
            return BATON_ENOMEM;
    }
    for (uint32_t i = 0; i < sim->n; i++)
        e->nd[i].camps = e->nd[i].cursor = NONE;
    e->leaders = NONE;
    e->free_head = NONE;
    e->prop_ms = sim->n <= 100 ? 1 : sim->check_ms;
    e->next_session = 1;
    bt_prng_init_stream(&e->res_rng, sim->cfg.seed, TAG_RESOURCE, 0);
    bt_prng_init_stream(&e->rng, sim->cfg.seed, TAG_ELECT, 0);
    return 0;
}

void bt_sim_elect_destroy(struct bt_sim *sim)
{
    bt_samples_destroy(&sim->stats.failover);
    bt_samples_destroy(&sim->stats.handover);
    bt_samples_destroy(&sim->stats.propagation);
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    if (e->nm != NULL) {
        for (uint32_t k = 0; k < e->names; k++) {
            baton_guard_free(e->nm[k].guard);
            free(e->nm[k].recent);
            free(e->nm[k].w.bits);
        }
    }
    if (e->nd != NULL)
        for (uint32_t i = 0; i < sim->n; i++)
            free(e->nd[i].sessions);
    for (size_t r = 0; r < e->nprops; r++)
        free(e->props[r].bits);
    free(e->props);
    free(e->pool);
    free(e->nm);
    free(e->nd);
    free(e->open);
    free(e->cand);
    free(e->listed);
    free(e->order);
    free(e->views);
    free(e->camp_of);
    free(e->marks);
    free(e->rem);
    free(e);
    sim->elect = NULL;
}

void bt_sim_elect_started(struct bt_sim *sim, const struct sim_node *sn)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    struct enode *nd = &e->nd[sn->index];
    nd->nsessions = 0;
    nd->init_session = 0;
    nd->clock_refused = false;
    nd->last_view_change = sim->now;
    nd->merged_at = 0;
    for (uint32_t k = 0; k < e->names; k++)
        e->views[(size_t)sn->index * e->names + k] = VIEW_UNKNOWN;
    for (size_t r = 0; r < e->nprops; r++)
        bt_sim_bit_set(e->props[r].bits, sn->index, false);
}

void bt_sim_elect_prepare_end(struct bt_sim *sim, const struct sim_node *sn)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    for (uint32_t c = e->nd[sn->index].camps; c != NONE; c = e->pool[c].by_node.next)
        e->pool[c].watch_end = leads_agreed_name(sim, c);
}

void bt_sim_elect_node_ended(struct bt_sim *sim, const struct sim_node *sn, bool crashed)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    struct enode *nd = &e->nd[sn->index];
    if (nd->ncamps > 0)
        bt_sim_log(sim, 2, "n%" PRIu32 ": %" PRIu32 " campaigns end with its %s", sn->index,
                   nd->ncamps, crashed ? "crash" : "leave");
    while (nd->camps != NONE)
        campaign_remove(sim, nd->camps, crashed);
    nd->nsessions = 0;
    nd->init_session = 0;
}

void bt_sim_elect_paused(struct bt_sim *sim, const struct sim_node *sn)
{
    (void)sn;
    /* Its believers simply stop writing: write_timer skips paused nodes. */
    if (sim->elect != NULL) {
        sim->elect->disturbed = true;
        sim->elect->disturbed_at = sim->now;
    }
}

void bt_sim_elect_resuming(struct bt_sim *sim, const struct sim_node *sn)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    e->disturbed = true;
    e->disturbed_at = sim->now;
    for (uint32_t c = e->nd[sn->index].camps; c != NONE; c = e->pool[c].by_node.next)
        if (e->pool[c].leads)
            send_write(sim, c, true);
}

/* "name-<k>" with k < names, else -1. */
static int64_t parse_name(const struct sim_elect *e, const struct bt_name *name)
{
    static const char prefix[] = "name-";
    size_t plen = sizeof prefix - 1;
    /* The digits end where the '.' padding (--name-bytes) starts. */
    size_t end = name->len;
    while (end > plen && name->bytes[end - 1] == '.')
        end--;
    if (end <= plen || end > plen + 10 || memcmp(name->bytes, prefix, plen) != 0)
        return -1;
    if (name->bytes[plen] == '0' && end > plen + 1)
        return -1;
    uint64_t v = 0;
    for (size_t j = plen; j < end; j++) {
        if (name->bytes[j] < '0' || name->bytes[j] > '9')
            return -1;
        v = v * 10 + (uint64_t)(name->bytes[j] - '0');
    }
    if (v >= e->names || !bt_name_eq(name, &e->nm[v].name))
        return -1;
    return (int64_t)v;
}

/* Why campaign c may lose its term now (docs/simulator.md, `revocation`),
 * or NULL when nothing explains it: within agree_bound, the true winner of
 * its name changed after c's campaign began; a process was paused, resumed
 * or declared dead while it ran; a partition, one-way cut or loss burst was
 * in force or ended; c's campaign began before the membership first
 * converged; or the resource's refusal is being reported to c's node. */
static const char *revocation_cause(struct bt_sim *sim, uint32_t c)
{
    struct sim_elect *e = sim->elect;
    const struct campaign *cp = &e->pool[c];
    const struct ename *m = &e->nm[cp->name];
    uint64_t w = sim->cfg.agree_bound_ms;
    if (e->observing == cp->node + 1)
        return "the resource's refusal";
    if (!e->formed || (cp->started_at < e->formed_at && sim->now < e->formed_at + w))
        return "its campaign began while the cluster formed";
    if (bt_sim_network_faulty(sim) ||
        (sim->net_calm_since != 0 && sim->now < sim->net_calm_since + w))
        return "a network fault";
    if (e->disturbed && sim->now < e->disturbed_at + w)
        return "a pause or a death";
    /* A second process with a node's name (the twin scenario): until the
     * conflict is settled, nodes may count either process's candidacies,
     * and the refused one ends its terms before it says why. */
    if (sim->stats.twins > 0 && sim->now < sim->stats.last_fault_ms + w)
        return "a twin claims a node name";
    if (m->truth_seq > cp->start_seq && sim->now < m->truth_at + w)
        return "the winner changed";
    /* The revoked node's view merged with a part of the cluster it did not
     * know when its campaign began: a process whose seeds were all down
     * (or in such an island) is alone after three unanswered joins and
     * mints on its own (design.md fix 8) until a reconnect finds it, which
     * may be later than every window above (finding E20). */
    const struct enode *nd = &e->nd[cp->node];
    if (nd->merged_at != 0 && nd->merged_since < cp->started_at && cp->started_at < nd->merged_at &&
        sim->now < nd->merged_at + w)
        return "its view merged with members it did not know";
    return NULL;
}

/* Node x judged its clock (design.md fix 9): refused, its candidacies are
 * out of the truth until it says its clock is back; a change either way is
 * an election change, and a candidacy change for each of its names. A
 * candidacy's propagation is timed while it is in the race: from the
 * lead(), or from the clock's return. The first judgement after a start
 * changes nothing when it finds the clock within bounds (BT_EV_CLOCK_OK):
 * the candidacies made before it were written, only minting waited (fix
 * 8's sync). */
static void clock_judged(struct bt_sim *sim, uint32_t x, bool refused, int64_t ahead_ms)
{
    struct sim_elect *e = sim->elect;
    struct enode *nd = &e->nd[x];
    bt_sim_log(sim, refused != nd->clock_refused ? 1 : 2,
               "n%" PRIu32 ": clock %s (%" PRId64 " ms ahead of the cluster's)", x,
               refused ? "refused: candidacies withdrawn" : "within bounds", ahead_ms);
    bool was = nd->clock_refused;
    if (refused == was)
        return;
    nd->clock_refused = refused;
    e->seq++; /* a change of its own: campaigns begun before it see the truth change */
    /* An election change even for a node without campaigns: which of what
     * it wrote and holds the others count changes with its word (finding
     * E17). */
    epoch_restart(sim);
    if (refused && !was && nd->ncamps > 0)
        removal_log(sim, nd->ncamps); /* its entries turn into tombstones */
    for (uint32_t c = nd->camps; c != NONE; c = e->pool[c].by_node.next) {
        struct campaign *cp = &e->pool[c];
        candidacy_changed(sim, cp->name);
        if (refused && cp->prop != NONE) {
            sim->stats.propagation_superseded++;
            prop_remove(e, cp->prop);
        } else if (!refused && was && cp->prop == NONE) {
            prop_start(sim, c);
        }
    }
}

/* The node whose process named member runs on boot boot_id (or is
 * paused), or -1. */
static int64_t running_process(const struct bt_sim *sim, const struct bt_nodeid *member,
                               uint64_t boot_id)
{
    int64_t t =
        member->len <= BATON_NODE_MAX ? bt_sim_parse_index(sim, member->bytes, member->len) : -1;
    return t >= 0 && sim->nodes[t].node != NULL && sim->nodes[t].boot_id == boot_id ? t : -1;
}

void bt_sim_elect_event(struct bt_sim *sim, const struct sim_node *sn, const struct bt_event *ev)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    uint32_t x = sn->index;
    if (ev->kind == BT_EV_CLOCK_REFUSED || ev->kind == BT_EV_CLOCK_OK) {
        clock_judged(sim, x, ev->kind == BT_EV_CLOCK_REFUSED, ev->clock_ahead_ms);
        return;
    }
    if (ev->kind != BT_EV_ELECTED && ev->kind != BT_EV_REVOKED) {
        if (ev->kind != BT_EV_NAME_CONFLICT)
            e->nd[x].last_view_change = sim->now;
        /* The process an UP or DEAD verdict is about, if it still runs. */
        int64_t t = ev->kind == BT_EV_MEMBER_UP || ev->kind == BT_EV_MEMBER_DEAD
                        ? running_process(sim, &ev->member, ev->boot_id)
                        : -1;
        if (t >= 0 && ev->kind == BT_EV_MEMBER_UP) {
            /* A member that had run all along, new to this node's view: two
             * parts of the cluster that did not know each other merged. */
            e->nd[x].merged_at = sim->now;
            e->nd[x].merged_since = sim->nodes[t].started_at;
        }
        if (t >= 0 && ev->kind == BT_EV_MEMBER_DEAD) {
            /* A death of a process that still runs (or is paused): a cause
             * of revocations (a crashed one's is not; its campaigns' end is). */
            e->disturbed = true;
            e->disturbed_at = sim->now;
        }
        if (ev->kind == BT_EV_STOPPED) {
            /* A process may stop only once it leads nothing: every term
             * ended (REVOKED) before. */
            for (uint32_t k = 0; k < bt_sim_names(sim); k++)
                if (bt_sim_believes(sim, sn->index, k, NULL))
                    bt_sim_violation(sim, "stopped_leading",
                                     "n%" PRIu32 " stopped while it believed it led name-%" PRIu32
                                     " (no REVOKED came first)",
                                     sn->index, k);
        }
        return;
    }
    const char *what = ev->kind == BT_EV_ELECTED ? "ELECTED" : "REVOKED";
    int64_t k = parse_name(e, &ev->name);
    if (k < 0) {
        bt_sim_violation(sim, "bad_event", "n%" PRIu32 " got %s for a name nobody campaigns for", x,
                         what);
        return;
    }
    uint32_t c = find_campaign(e, x, (uint32_t)k);
    if (c == NONE || e->pool[c].session != ev->session) {
        bt_sim_violation(sim, "bad_event",
                         "n%" PRIu32 " got %s for name-%" PRId64 " session %" PRIu64 " at %" PRIu64
                         " ms, but its campaign there is %s %" PRIu64,
                         x, what, k, ev->session, sim->now, c == NONE ? "none" : "session",
                         c == NONE ? (uint64_t)0 : e->pool[c].session);
        return;
    }
    struct campaign *cp = &e->pool[c];
    if (ev->kind == BT_EV_ELECTED) {
        if (cp->leads)
            bt_sim_violation(sim, "bad_event",
                             "n%" PRIu32 " got ELECTED (token %" PRIu64 ") for name-%" PRId64
                             " while it already led with %" PRIu64 " (no REVOKED between)",
                             x, ev->fence, k, cp->token);
        note_mint(sim, c, ev->fence, cp->hw_seen, "elected");
        believe(sim, c, ev->fence);
        cp->hw_seen = max_u64(cp->hw_seen, ev->fence);
        return;
    }
    sim->stats.revocations++;
    bt_sim_log(sim, 3, "n%" PRIu32 " revoked for name-%" PRId64 " (token %" PRIu64 ")", x, k,
               ev->fence);
    /* A term another node minted too was overtaken: the fence that did it
     * may have been on its way when the election was judged agreed (the
     * leader's own term may even have been the one admitted), so agreement
     * is judged anew, as after a resource's admission (finding E9). */
    uint32_t other = NONE;
    if (cp->leads && ev->fence == cp->token && shared_token(e, (uint32_t)k, cp, &other)) {
        bt_sim_log(sim, 3,
                   "name-%" PRId64 ": n%" PRIu32 "'s token %" PRIu64 " was minted by n%" PRIu32
                   " too",
                   k, x, cp->token, other);
        epoch_restart(sim);
    }
    if (!cp->leads)
        bt_sim_violation(sim, "bad_event",
                         "n%" PRIu32 " got REVOKED (token %" PRIu64 ") for name-%" PRId64
                         " at %" PRIu64 " ms, but it did not lead",
                         x, ev->fence, k, sim->now);
    else if (ev->fence != cp->token)
        bt_sim_violation(sim, "bad_event",
                         "n%" PRIu32 " got REVOKED with token %" PRIu64 " for name-%" PRId64
                         ", but its term is %" PRIu64,
                         x, ev->fence, k, cp->token);
    const char *cause = revocation_cause(sim, c);
    if (cause == NULL) {
        sim->stats.revocations_uncaused++;
        if (!e->revocation_reported) {
            e->revocation_reported = true;
            bt_sim_violation(
                sim, "revocation",
                "n%" PRIu32 " (session %" PRIu64 ") was revoked for name-%" PRId64
                " (token %" PRIu64 ") at %" PRIu64
                " ms with no cause: the true winner (session %" PRIu64
                ") has not changed since its campaign began, and no fault, pause or death",
                x, cp->session, k, ev->fence, sim->now, e->nm[k].truth_session);
        }
    } else {
        bt_sim_log(sim, 3, "n%" PRIu32 " revoked for name-%" PRId64 ": %s", x, k, cause);
    }
    disbelieve(e, c);
}

void bt_sim_elect_serviced(struct bt_sim *sim, const struct sim_node *sn)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || sn->node == NULL)
        return;
    uint32_t x = sn->index;
    struct enode *nd = &e->nd[x];
    if (nd->ncamps <= SERVICE_CHECKS) {
        for (uint32_t c = nd->camps; c != NONE; c = e->pool[c].by_node.next)
            check_campaign(sim, x, &e->pool[c]);
    } else {
        /* Many campaigns: SERVICE_CHECKS of them per service, in turn (a
         * lookup per campaign per service dominated runs with 10^4 names
         * and more; docs/simulator.md). */
        uint32_t c = nd->cursor != NONE ? nd->cursor : nd->camps;
        for (uint32_t i = 0; i < SERVICE_CHECKS && c != NONE; i++) {
            check_campaign(sim, x, &e->pool[c]);
            c = e->pool[c].by_node.next;
            if (c == NONE)
                c = nd->camps;
        }
        nd->cursor = c;
    }
    for (uint32_t j = 0; j < e->nopen;) {
        uint32_t k = e->open[j];
        watch_eval(sim, k, x);
        /* watch_eval may close it, moving another name into slot j. */
        if (j < e->nopen && e->open[j] == k)
            j++;
    }
}

void bt_sim_elect_fault(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    if (sim->stats.twins != e->twins_seen) {
        /* A twin started: until one of the two stops, each withdraws the
         * other's candidacies under their shared node name as an intruder's
         * (the owner's check, docs/election.md), one tombstone per name at
         * most, which no campaign's end accounts for (finding E18). */
        e->twins_seen = sim->stats.twins;
        removal_log(sim, e->names);
    }
    epoch_restart(sim);
    while (e->nopen > 0)
        watch_supersede(sim, e->open[0]);
    sim->stats.propagation_superseded += e->nprops;
    while (e->nprops > 0)
        prop_remove(e, e->nprops - 1);
}

void bt_sim_elect_finish(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    struct bt_sim_stats *st = &sim->stats;
    prop_finish(sim);
    poll_state(sim);
    if (!e->epoch_agreed) {
        char why[256];
        if (!all_agreed(sim, why, sizeof why)) {
            bt_sim_violation(sim, "agreement",
                             "not agreed %" PRIu64 " ms after the last change (at %" PRIu64
                             " ms): %s",
                             sim->now - e->last_change, e->last_change, why);
            return;
        }
        e->epoch_agreed = true;
        st->agreed = true;
        st->agreement_ms = sim->now - e->last_change;
    }
    if (st->agreement_ms > sim->cfg.agree_bound_ms)
        bt_sim_violation(sim, "agreement",
                         "agreed %" PRIu64 " ms after the last change (at %" PRIu64
                         " ms); bound %" PRIu64 " ms",
                         st->agreement_ms, e->last_change, sim->cfg.agree_bound_ms);
}

void bt_sim_elect_report_json(struct bt_sim *sim, struct bt_json *j)
{
    struct bt_sim_stats *st = &sim->stats;
    bt_json_key(j, "failover_ms");
    bt_json_samples(j, &st->failover);
    bt_json_key(j, "handover_ms");
    bt_json_samples(j, &st->handover);
    bt_json_key(j, "propagation_ms");
    bt_json_samples(j, &st->propagation);
    bt_json_key(j, "leader_changes");
    bt_json_u64(j, st->leader_changes);
    bt_json_key(j, "writes_accepted");
    bt_json_u64(j, st->writes_accepted);
    bt_json_key(j, "writes_rejected");
    bt_json_u64(j, st->writes_rejected);
    bt_json_key(j, "election");
    bt_json_obj_begin(j);
    bt_json_key(j, "campaigns");
    bt_json_u64(j, st->campaigns);
    bt_json_key(j, "resigns");
    bt_json_u64(j, st->resigns);
    bt_json_key(j, "session_ends");
    bt_json_u64(j, st->session_ends);
    bt_json_key(j, "revocations");
    bt_json_u64(j, st->revocations);
    bt_json_key(j, "revocations_uncaused");
    bt_json_u64(j, st->revocations_uncaused);
    bt_json_key(j, "writes_sent");
    bt_json_u64(j, st->writes_sent);
    bt_json_key(j, "late_writes");
    bt_json_u64(j, st->late_writes);
    bt_json_key(j, "late_writes_accepted");
    bt_json_u64(j, st->late_writes_accepted);
    bt_json_key(j, "terms_admitted");
    bt_json_u64(j, st->terms_admitted);
    bt_json_key(j, "rejected_unknown_token");
    bt_json_u64(j, st->writes_rejected_unknown);
    bt_json_key(j, "refusals_observed");
    bt_json_u64(j, st->refusals_observed);
    bt_json_key(j, "timings_superseded");
    bt_json_u64(j, st->watches_superseded);
    bt_json_key(j, "propagation_superseded");
    bt_json_u64(j, st->propagation_superseded);
    bt_json_key(j, "propagation_pending");
    bt_json_u64(j, st->propagation_pending);
    bt_json_key(j, "agreed");
    bt_json_bool(j, st->agreed);
    bt_json_key(j, "agreement_ms");
    if (st->agreed)
        bt_json_u64(j, st->agreement_ms);
    else
        bt_json_null(j);
    bt_json_key(j, "last_change_ms");
    bt_json_u64(j, st->last_change_ms);
    bt_json_key(j, "state");
    bt_json_obj_begin(j);
    bt_json_key(j, "max_entries");
    bt_json_u64(j, st->max_entries);
    bt_json_key(j, "max_tombstones");
    bt_json_u64(j, st->max_tombstones);
    bt_json_key(j, "max_high_water_marks");
    bt_json_u64(j, st->max_high_water_marks);
    bt_json_key(j, "gc_observed");
    bt_json_bool(j, st->gc_observed);
    bt_json_obj_end(j);
    bt_json_obj_end(j);
}

/* --- the observer ------------------------------------------------------------ */

/* A crashed process's campaigns end with it (a left one's ended with its
 * leave). */
static void election_stopped(struct bt_sim *sim, const struct sim_node *sn)
{
    if (sn->state == BT_SIM_CRASHED)
        bt_sim_elect_node_ended(sim, sn, true);
}

/* bt_node_leave withdrew every candidacy of the node (fix 7). */
static void election_leaving(struct bt_sim *sim, const struct sim_node *sn)
{
    bt_sim_elect_node_ended(sim, sn, false);
}

const struct sim_observer bt_sim_election_observer = {
    .event = bt_sim_elect_event,
    .fault = bt_sim_elect_fault,
    .periodic = bt_sim_elect_periodic,
    .finish = bt_sim_elect_finish,
    .report = bt_sim_elect_report_json,
    .started = bt_sim_elect_started,
    .ending = bt_sim_elect_prepare_end,
    .stopped = election_stopped,
    .leaving = election_leaving,
    .paused = bt_sim_elect_paused,
    .resuming = bt_sim_elect_resuming,
    .serviced = bt_sim_elect_serviced,
    .settled = bt_sim_elect_settled,
    .deadline = bt_sim_elect_deadline,
    .destroy = bt_sim_elect_destroy,
};
