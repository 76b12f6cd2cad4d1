/*
 * The election's timings in the simulator: failover and handover (a name's
 * leader ended; how long until every running node names the new winner),
 * timed event by event, and propagation (how long a new candidacy takes to
 * reach every running node's candidate list).
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

/* --- failover and handover timing ------------------------------------------ */

static void watch_close(struct sim_elect *e, uint32_t k)
{
    struct takeover_watch *w = &e->nm[k].w;
    if (!w->open)
        return;
    free(w->bits);
    w->bits = NULL;
    w->open = false;
    for (uint32_t j = 0; j < e->nopen; j++) {
        if (e->open[j] == k) {
            e->open[j] = e->open[--e->nopen];
            break;
        }
    }
}

void watch_supersede(struct bt_sim *sim, uint32_t k)
{
    struct sim_elect *e = sim->elect;
    if (!e->nm[k].w.open)
        return;
    sim->stats.watches_superseded++;
    bt_sim_log(sim, 3, "name-%" PRIu32 ": %s timing superseded", k,
               e->nm[k].w.failover ? "failover" : "handover");
    watch_close(e, k);
}

/* Node x's answer for k, compared with the watch's target. */
void watch_eval(struct bt_sim *sim, uint32_t k, uint32_t x)
{
    struct sim_elect *e = sim->elect;
    struct takeover_watch *w = &e->nm[k].w;
    if (!w->open || sim->nodes[x].state != BT_SIM_RUNNING)
        return;
    if (sim->fault_count != w->fault_count) {
        watch_supersede(sim, k);
        return;
    }
    uint32_t who;
    bool agrees = view_of(sim, x, k, &who) == w->target;
    size_t bit = x;
    if (agrees != bt_sim_bit(w->bits, bit)) {
        bt_sim_bit_set(w->bits, bit, agrees);
        if (agrees)
            w->count++;
        else
            w->count--;
    }
    if (w->count < w->need)
        return;
    uint64_t took = sim->now - w->opened_at;
    struct bt_samples *s = w->failover ? &sim->stats.failover : &sim->stats.handover;
    if (bt_samples_add(s, took) != 0)
        elect_oom(sim);
    bt_sim_log(sim, 2,
               "name-%" PRIu32
               ": %s done: every running node agrees on the new leader after %" PRIu64 " ms",
               k, w->failover ? "failover" : "handover", took);
    watch_close(e, k);
}

/* The leader of an agreed name lost its campaign: time until every running
 * node agrees on the new true winner. */
void watch_open(struct bt_sim *sim, uint32_t k, bool failover)
{
    struct sim_elect *e = sim->elect;
    struct takeover_watch *w = &e->nm[k].w;
    uint64_t target = winner_session(sim, k);
    if (w->open || target == 0)
        return;
    w->bits = calloc(e->row_bytes, 1);
    if (w->bits == NULL) {
        elect_oom(sim);
        return;
    }
    w->open = true;
    w->failover = failover;
    w->opened_at = sim->now;
    w->fault_count = sim->fault_count;
    w->target = target;
    w->need = 0;
    w->count = 0;
    e->open[e->nopen++] = k;
    for (uint32_t x = 0; x < sim->n; x++)
        w->need += sim->nodes[x].state == BT_SIM_RUNNING;
    bt_sim_log(sim, 2, "name-%" PRIu32 ": %s starts (new leader session %" PRIu64 ")", k,
               failover ? "failover" : "handover", target);
    for (uint32_t x = 0; x < sim->n && w->open; x++)
        watch_eval(sim, k, x);
}

/* --- propagation timing ---------------------------------------------------- */

void prop_remove(struct sim_elect *e, size_t r)
{
    struct prop *p = &e->props[r];
    e->pool[p->campaign].prop = NONE;
    free(p->bits);
    e->props[r] = e->props[--e->nprops];
    if (r < e->nprops)
        e->pool[e->props[r].campaign].prop = (uint32_t)r;
}

static void prop_timer(struct bt_sim *sim, uint64_t unused);

void prop_start(struct bt_sim *sim, uint32_t c)
{
    struct sim_elect *e = sim->elect;
    if (e->nprops == e->props_cap) {
        size_t cap = e->props_cap ? e->props_cap * 2 : 64;
        struct prop *p = realloc(e->props, cap * sizeof *p);
        if (p == NULL) {
            elect_oom(sim);
            return;
        }
        e->props = p;
        e->props_cap = cap;
    }
    struct prop *p = &e->props[e->nprops];
    p->bits = calloc(e->row_bytes, 1);
    if (p->bits == NULL) {
        elect_oom(sim);
        return;
    }
    p->campaign = c;
    p->name = e->pool[c].name;
    p->node = e->pool[c].node;
    p->started = sim->now;
    e->pool[c].prop = (uint32_t)e->nprops++;
    if (!e->prop_armed && bt_sim_after(sim, e->prop_ms, prop_timer, 0) == 0)
        e->prop_armed = true;
}

/* Orders (name << 32 | prop index) keys. */
static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Marks in e->listed (with e->list_serial) the node names that running
 * node x lists among name k's candidates: one bt_node_candidates() per
 * node and name, however many candidacies of the name are on their way. */
static void list_candidates(struct bt_sim *sim, uint32_t x, uint32_t k)
{
    struct sim_elect *e = sim->elect;
    size_t count = sim->cfg.ops->candidates(sim->nodes[x].node, &e->nm[k].name, e->cand, sim->n);
    if (count > sim->n)
        count = sim->n;
    for (size_t j = 0; j < count; j++) {
        int64_t idx = bt_sim_parse_index(sim, e->cand[j].bytes, e->cand[j].len);
        if (idx >= 0)
            e->listed[idx] = e->list_serial;
    }
}

/* Whether node x was found, by the last list_candidates(), to list the node
 * name that `node` carries. */
static bool listed(struct bt_sim *sim, uint32_t node)
{
    struct sim_elect *e = sim->elect;
    const struct bt_nodeid *nm = &sim->nodes[node].name;
    int64_t idx = bt_sim_parse_index(sim, nm->bytes, nm->len);
    return idx >= 0 && e->listed[idx] == e->list_serial;
}

/* One poll of the candidacies on their way. The candidacies of one name are
 * polled together (a storm of 1000 campaigns for one name on 1000 nodes
 * asked every node for the name's candidates once per campaign: 347 s of a
 * 60 s run), then each is judged as before: reached everywhere (a sample),
 * unreachable (void), or still on its way. */
static void prop_poll(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e->nprops == 0)
        return;
    if (e->nprops > e->order_cap) {
        uint64_t *o = realloc(e->order, e->nprops * sizeof *o);
        if (o == NULL) {
            elect_oom(sim);
            return;
        }
        e->order = o;
        e->order_cap = e->nprops;
    }
    for (size_t r = 0; r < e->nprops; r++) {
        e->order[r] = (uint64_t)e->props[r].name << 32 | r;
        e->props[r].all = true;
        e->props[r].reachable = false;
    }
    qsort(e->order, e->nprops, sizeof *e->order, cmp_u64);
    for (size_t a = 0, b; a < e->nprops; a = b) {
        uint32_t k = (uint32_t)(e->order[a] >> 32);
        for (b = a + 1; b < e->nprops && (uint32_t)(e->order[b] >> 32) == k; b++)
            ;
        for (uint32_t x = 0; x < sim->n; x++) {
            if (sim->nodes[x].state != BT_SIM_RUNNING)
                continue;
            bool asked = false;
            for (size_t i = a; i < b; i++) {
                struct prop *p = &e->props[(uint32_t)e->order[i]];
                if (bt_sim_bit(p->bits, x))
                    continue;
                /* Across a partition nothing arrives until the heal, which
                 * voids the timing anyway. */
                if (sim->partitioned && sim->nodes[x].side != sim->nodes[p->node].side) {
                    p->all = false;
                    continue;
                }
                p->reachable = true;
                if (!asked) {
                    e->list_serial++;
                    list_candidates(sim, x, k);
                    asked = true;
                }
                if (listed(sim, p->node)) {
                    bt_sim_bit_set(p->bits, x, true);
                    bt_sim_log(sim, 4,
                               "n%" PRIu32 " lists n%" PRIu32 " for name-%" PRIu32 " after %" PRIu64
                               " ms",
                               x, p->node, p->name, sim->now - p->started);
                } else
                    p->all = false;
            }
        }
    }
    for (size_t r = e->nprops; r-- > 0;) {
        struct prop *p = &e->props[r];
        if (!p->all && !p->reachable) {
            /* Only nodes across the partition miss it: void now, as the
             * heal would (100 000 such campaigns polled every millisecond
             * kept a 5-node run from finishing). */
            sim->stats.propagation_superseded++;
            prop_remove(e, r);
            continue;
        }
        if (!p->all)
            continue;
        if (bt_samples_add(&sim->stats.propagation, sim->now - p->started) != 0)
            elect_oom(sim);
        bt_sim_log(sim, 3,
                   "name-%" PRIu32 ": n%" PRIu32
                   "'s candidacy reached every running node in %" PRIu64 " ms",
                   p->name, p->node, sim->now - p->started);
        prop_remove(e, r);
    }
}

/* Polls the candidacies on their way while there are any. */
static void prop_timer(struct bt_sim *sim, uint64_t unused)
{
    struct sim_elect *e = sim->elect;
    e->prop_armed = false;
    if (e->nprops == 0)
        return;
    prop_poll(sim);
    if (e->nprops > 0 && bt_sim_after(sim, e->prop_ms, prop_timer, 0) == 0)
        e->prop_armed = true;
}

/* Candidacies still on their way when the run ends: counted, logged, and a
 * violation once older than prop_bound (anti-entropy repairs any miss
 * within it). */
void prop_finish(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    prop_poll(sim);
    for (size_t r = 0; r < e->nprops; r++) {
        const struct prop *p = &e->props[r];
        uint32_t missing = 0;
        while (missing < sim->n &&
               (sim->nodes[missing].state != BT_SIM_RUNNING || bt_sim_bit(p->bits, missing)))
            missing++;
        uint64_t age = sim->now - p->started;
        sim->stats.propagation_pending++;
        bt_sim_log(sim, 1,
                   "name-%" PRIu32 ": n%" PRIu32 "'s candidacy has not reached n%" PRIu32
                   " after %" PRIu64 " ms",
                   p->name, p->node, missing, age);
        if (age > sim->cfg.prop_bound_ms)
            bt_sim_violation(sim, "propagation",
                             "name-%" PRIu32 ": n%" PRIu32 "'s candidacy has not reached n%" PRIu32
                             " after %" PRIu64 " ms; bound %" PRIu64 " ms",
                             p->name, p->node, missing, age, sim->cfg.prop_bound_ms);
    }
}
