/*
 * The simulator's node processes: starting one (a boot, its clock and its
 * random stream), servicing it after every call (its outputs become messages,
 * its events go to the checkers, its timer moves to its next deadline), and
 * the node faults (crash, restart, twin, pause, resume, leave).
 *
 * Clocks. mono_ms = virtual ms + a per-machine origin (the core must accept
 * any origin); wall_ms = a fixed epoch + virtual ms + a per-node offset +
 * drift (ppm of virtual time). A restarted process keeps its machine's
 * clock.
 */
#include "sim/sim_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/swim.h"

/* 2026-01-01T00:00:00Z: the virtual wall clock's origin. */
#define SIM_EPOCH_MS INT64_C(1767225600000)
/* A node asking to tick at the same millisecond more often than this is
 * stuck in a loop; the simulator reports it and moves its timer on. */
#define SIM_LIVELOCK_TICKS 10000
/* How many seeds a process joins through. */
#define SIM_JOIN_SEEDS 3

struct bt_time bt_sim_node_time(const struct bt_sim *sim, const struct sim_node *sn)
{
    struct bt_time t;
    int64_t drift = (int64_t)sim->now * sn->drift_ppm / 1000000;
    t.mono_ms = sim->now + sn->mono_origin;
    t.wall_ms = (uint64_t)(SIM_EPOCH_MS + (int64_t)sim->now + sn->wall_offset_ms + drift);
    return t;
}

static const char *state_name(enum bt_sim_node_state s)
{
    switch (s) {
    case BT_SIM_RUNNING: return "running";
    case BT_SIM_PAUSED: return "paused";
    case BT_SIM_CRASHED: return "crashed";
    case BT_SIM_LEAVING: return "leaving";
    case BT_SIM_LEFT: return "left";
    }
    return "?";
}

/* --- node processes -------------------------------------------------------- */

static uint64_t node_random(void *ctx) { return bt_prng_next(&((struct sim_node *)ctx)->rng); }

static void reschedule(struct bt_sim *sim, struct sim_node *sn)
{
    if (sn->node == NULL || (sn->state != BT_SIM_RUNNING && sn->state != BT_SIM_LEAVING)) {
        bt_sim_heap_remove(&sim->agenda, &sn->tick.h);
        return;
    }
    uint64_t deadline = sim->cfg.ops->next_deadline(sn->node);
    if (deadline == UINT64_MAX) {
        bt_sim_heap_remove(&sim->agenda, &sn->tick.h);
        return;
    }
    uint64_t vt = deadline > sn->mono_origin ? deadline - sn->mono_origin : 0;
    if (vt < sim->now)
        vt = sim->now;
    if (vt == sim->now && sn->tick_vt == sim->now && sn->ticks_at_vt >= SIM_LIVELOCK_TICKS) {
        if (!sim->livelock_reported)
            bt_sim_violation(sim, "tick_livelock",
                             "n%" PRIu32 " asked to tick again at the same millisecond %d times",
                             sn->index, SIM_LIVELOCK_TICKS);
        sim->livelock_reported = true;
        vt = sim->now + 1;
    }
    if (bt_sim_heap_queued(&sn->tick.h) && sn->tick.h.at == vt)
        return;
    sim_schedule(sim, &sn->tick, vt);
}

void sim_free_backlog(struct bt_sim *sim, struct sim_node *sn, bool count)
{
    while (sn->backlog != NULL) {
        struct sim_msg *m = sn->backlog;
        sn->backlog = m->next;
        if (count)
            sim->stats.dropped_down++;
        sim_msg_free(sim, m);
    }
    sn->backlog_tail = NULL;
    sn->backlog_len = 0;
}

static void stop_process(struct bt_sim *sim, struct sim_node *sn, enum bt_sim_node_state state)
{
    if (sn->node != NULL)
        sim->cfg.ops->destroy(sn->node);
    sn->node = NULL;
    sn->state = state;
    /* A host crash (bt_sim_crash_kind) clears it again right after. */
    sn->refuses = true;
    bt_sim_heap_remove(&sim->agenda, &sn->tick.h);
    sim_free_backlog(sim, sn, true);
    SIM_NOTIFY(sim, stopped, sim, sn);
}

/* Hands the node's outputs to the network and its events to the checker,
 * then moves its timer. */
static void service(struct bt_sim *sim, struct sim_node *sn)
{
    const struct bt_sim_node_ops *ops = sim->cfg.ops;
    struct bt_output out;
    struct bt_event ev;
    if (sn->node == NULL)
        return;
    while (ops->pop_output(sn->node, &out)) {
        if (out.kind == BT_OUT_PACKET)
            sim_send_datagram(sim, sn, &out);
        else
            sim_send_stream(sim, sn, &out);
    }
    while (ops->pop_event(sn->node, &ev)) {
        /* Only a process that lost its name to a twin may stop (the
         * membership checker judges it); the engine ends it below. */
        if (ev.kind == BT_EV_STOPPED)
            sn->stopped_error = ev.error != 0 ? ev.error : BATON_EINVAL;
        SIM_NOTIFY(sim, event, sim, sn, &ev);
    }
    SIM_NOTIFY(sim, serviced, sim, sn);
    if (sn->stopped_error != 0) {
        /* The process stopped for good (a lost name): like an embedder,
         * end it. No crash to time: it fell silent on purpose. */
        bt_sim_log(sim, 2, "n%" PRIu32 " stopped (%s)", sn->index,
                   baton_err_name(sn->stopped_error));
        stop_process(sim, sn, BT_SIM_CRASHED);
        return;
    }
    if (sn->state == BT_SIM_LEAVING && ops->left != NULL && ops->left(sn->node)) {
        bt_sim_log(sim, 2, "n%" PRIu32 " has left", sn->index);
        stop_process(sim, sn, BT_SIM_LEFT);
        return;
    }
    reschedule(sim, sn);
}

void bt_sim_poke(struct bt_sim *sim, uint32_t i)
{
    if (i < sim->n)
        service(sim, &sim->nodes[i]);
}

/* The seeds of a process: n0 (unless it is n0) and random others, distinct,
 * never itself: SIM_JOIN_SEEDS in all when the cluster is big enough.
 * *running gets how many of them run now. */
static size_t pick_seeds(struct bt_sim *sim, const struct sim_node *sn, struct bt_addr *seeds,
                         size_t *running)
{
    uint32_t chosen[SIM_JOIN_SEEDS];
    size_t k = 0;
    if (sn->name_of != sn->index) {
        /* A twin: running nodes it can reach now, from a random start. */
        uint32_t start = (uint32_t)bt_prng_below(&sim->fault_rng, sim->n);
        for (uint32_t d = 0; d < sim->n && k < SIM_JOIN_SEEDS; d++) {
            uint32_t c = (start + d) % sim->n;
            if (c != sn->index && sim->nodes[c].state == BT_SIM_RUNNING &&
                bt_sim_link_open(sim, sn->index, c))
                seeds[k++] = sim->nodes[c].addr;
        }
        *running = k;
        return k;
    }
    size_t want = sim->n - 1 < SIM_JOIN_SEEDS ? sim->n - 1 : SIM_JOIN_SEEDS;
    if (sn->index != 0 && want > 0)
        chosen[k++] = 0;
    while (k < want) {
        uint32_t c = (uint32_t)bt_prng_below(&sim->fault_rng, sim->n);
        bool dup = c == sn->index;
        for (size_t j = 0; j < k && !dup; j++)
            dup = chosen[j] == c;
        if (!dup)
            chosen[k++] = c;
    }
    *running = 0;
    for (size_t j = 0; j < k; j++) {
        seeds[j] = sim->nodes[chosen[j]].addr;
        if (sim->nodes[chosen[j]].state == BT_SIM_RUNNING)
            (*running)++;
    }
    return k;
}

int sim_start_process(struct bt_sim *sim, struct sim_node *sn)
{
    const struct bt_sim_node_ops *ops = sim->cfg.ops;
    sn->gen++;
    bt_prng_init_stream(&sn->rng, sim->cfg.seed, TAG_NODE, ((uint64_t)sn->index << 32) | sn->gen);
    uint64_t boot;
    do {
        boot = bt_prng_next(&sn->rng);
    } while (boot == 0 || boot == sn->boot_id);
    sn->boot_id = boot;
    sn->stopped_error = 0;
    sn->refuses = false;

    struct bt_node_config nc;
    memset(&nc, 0, sizeof nc);
    nc.name = sn->name;
    nc.addr = sn->addr;
    nc.boot_id = boot;
    nc.profile = sim->cfg.profile;
    nc.max_clock_offset_ms = sim->cfg.max_clock_offset_ms;
    nc.max_packet = 0;
    nc.horizon_ms = sim->cfg.horizon_ms;
    nc.random = node_random;
    nc.random_ctx = sn;
    struct bt_time now = bt_sim_node_time(sim, sn);
    sn->ticks_at_vt = 0;
    sn->node = ops->create(&nc, now);
    if (sn->node == NULL) {
        sn->state = BT_SIM_CRASHED;
        bt_sim_violation(sim, "node_failed", "bt_node_new refused n%" PRIu32 "'s configuration",
                         sn->index);
        return BATON_EINVAL;
    }
    sn->state = BT_SIM_RUNNING;
    sn->started_at = sim->now;
    /* A fresh process is joining: its first seconds are a fault for the
     * false-positive rule, except at the very start of the run. */
    if (sn->gen > 1 && sn->restarted_until < sim->now + sim->cfg.fp_grace_ms)
        sn->restarted_until = sim->now + sim->cfg.fp_grace_ms;
    SIM_NOTIFY(sim, started, sim, sn);
    struct bt_addr seeds[SIM_JOIN_SEEDS];
    size_t running;
    size_t nseeds = pick_seeds(sim, sn, seeds, &running);
    bt_sim_log(sim, 2, "n%" PRIu32 " joins through %zu seeds, %zu of them running", sn->index,
               nseeds, running);
    int rc = ops->join(sn->node, seeds, nseeds, now);
    if (rc != 0)
        bt_sim_violation(sim, "node_failed", "bt_node_join on n%" PRIu32 " returned %d (%s)",
                         sn->index, rc, baton_err_name(rc));
    service(sim, sn);
    return 0;
}

/* A message reaches a running node. */
static void hand_over(struct bt_sim *sim, struct sim_node *sn, struct sim_msg *m)
{
    const struct bt_sim_node_ops *ops = sim->cfg.ops;
    struct bt_time now = bt_sim_node_time(sim, sn);
    const struct bt_addr *from = &sim->nodes[m->from].addr;
    sim->stats.delivered++;
    if (m->item.kind == SIM_ITEM_DATAGRAM)
        ops->recv(sn->node, from, sim_msg_payload(sim, m), m->len, now);
    else
        ops->recv_stream(sn->node, from, m->conn, sim_msg_payload(sim, m), m->len, now);
    sim_msg_free(sim, m);
    service(sim, sn);
}

void sim_arrive(struct bt_sim *sim, struct sim_msg *m)
{
    struct sim_node *sn = &sim->nodes[m->to];
    bool alive =
        sn->state == BT_SIM_RUNNING || sn->state == BT_SIM_LEAVING || sn->state == BT_SIM_PAUSED;
    if (m->item.kind == SIM_ITEM_STREAM) {
        struct sim_conn *c = sim_conn_get(sim, m->conn);
        if (!alive && sn->refuses && m->end == 1 && c->gen[1] == 0 && !c->broken &&
            bt_sim_link_open(sim, m->from, m->to)) {
            /* A connect to a refusing address: refused once, and the
             * connection is dead. */
            c->broken = true;
            sim_refuse(sim, m);
        }
        if (alive && c->gen[m->end] == 0)
            c->gen[m->end] = sn->gen;
        if (!alive || c->gen[m->end] != sn->gen || c->gen[1 - m->end] != sim->nodes[m->from].gen) {
            sim->stats.dropped_down++;
            sim_msg_free(sim, m);
            return;
        }
        if (c->broken || !bt_sim_link_open(sim, m->from, m->to)) {
            c->broken = true;
            sim->stats.dropped_partition++;
            sim_msg_free(sim, m);
            return;
        }
    } else {
        if (!alive) {
            if (sn->refuses && bt_sim_link_open(sim, m->from, m->to))
                sim_refuse(sim, m);
            sim->stats.dropped_down++;
            sim_msg_free(sim, m);
            return;
        }
        if (!bt_sim_link_open(sim, m->from, m->to)) {
            sim->stats.dropped_partition++;
            sim_msg_free(sim, m);
            return;
        }
    }
    if (sn->state == BT_SIM_PAUSED) {
        if (m->item.kind == SIM_ITEM_DATAGRAM) {
            if (sn->backlog_len >= sim->cfg.backlog_max) {
                sim->stats.dropped_backlog++;
                sim_msg_free(sim, m);
                return;
            }
            sn->backlog_len++;
        }
        m->next = NULL;
        if (sn->backlog_tail != NULL)
            sn->backlog_tail->next = m;
        else
            sn->backlog = m;
        sn->backlog_tail = m;
        return;
    }
    hand_over(sim, sn, m);
}

void sim_tick_node(struct bt_sim *sim, struct sim_node *sn)
{
    if (sn->tick_vt == sim->now) {
        sn->ticks_at_vt++;
    } else {
        sn->tick_vt = sim->now;
        sn->ticks_at_vt = 1;
    }
    sim->stats.ticks++;
    sim->cfg.ops->tick(sn->node, bt_sim_node_time(sim, sn));
    service(sim, sn);
}

void sim_fire_msg(struct bt_sim *sim, struct sim_item *item)
{
    sim_arrive(sim, (struct sim_msg *)item);
}

void sim_fire_refusal(struct bt_sim *sim, struct sim_item *item)
{
    struct sim_msg *r = (struct sim_msg *)item;
    struct sim_node *sn = &sim->nodes[r->to];
    if (sn->node != NULL && sn->gen == r->conn &&
        (sn->state == BT_SIM_RUNNING || sn->state == BT_SIM_LEAVING) &&
        bt_sim_link_open(sim, r->from, r->to)) {
        sim->stats.refusals_delivered++;
        sim->cfg.ops->addr_refused(sn->node, &sim->nodes[r->from].addr, bt_sim_node_time(sim, sn));
        sim_msg_free(sim, r);
        service(sim, sn);
        return;
    }
    sim_msg_free(sim, r);
}

void sim_fire_tick(struct bt_sim *sim, struct sim_item *item)
{
    struct sim_node *sn = (struct sim_node *)((char *)item - offsetof(struct sim_node, tick));
    sim_tick_node(sim, sn);
}

/* --- node faults ----------------------------------------------------------- */

enum bt_sim_node_state bt_sim_node_state(const struct bt_sim *sim, uint32_t i)
{
    return i < sim->n ? sim->nodes[i].state : BT_SIM_CRASHED;
}

uint64_t bt_sim_boot_id(const struct bt_sim *sim, uint32_t i)
{
    return i < sim->n ? sim->nodes[i].boot_id : 0;
}

void *bt_sim_node(struct bt_sim *sim, uint32_t i) { return i < sim->n ? sim->nodes[i].node : NULL; }

int bt_sim_crash_kind(struct bt_sim *sim, uint32_t i, bool host)
{
    if (i >= sim->n || sim->nodes[i].node == NULL)
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    bt_sim_log(sim, 2, "crash n%" PRIu32 " (%s, %s)", i, state_name(sn->state),
               host ? "host" : "process");
    SIM_NOTIFY(sim, ending, sim, sn);
    sim->stats.crashes++;
    if (host)
        sim->stats.host_crashes++;
    bt_sim_fault_now(sim);
    stop_process(sim, sn, BT_SIM_CRASHED);
    sn->refuses = !host;
    return 0;
}

int bt_sim_crash(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n || sim->nodes[i].node == NULL)
        return BATON_EINVAL;
    return bt_sim_crash_kind(sim, i, bt_prng_chance(&sim->refuse_rng, sim->cfg.host_crash));
}

void bt_sim_strict_restarts(struct bt_sim *sim, bool on) { sim->strict_restarts = on; }

int bt_sim_restart(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n ||
        (sim->nodes[i].state != BT_SIM_CRASHED && sim->nodes[i].state != BT_SIM_LEFT))
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    sim->stats.restarts++;
    bt_sim_fault_now(sim);
    if (sn->name_of != i) { /* a twin's slot: its own name again */
        sn->name_of = i;
        bt_nodeid_set(&sn->name, sn->addr.s, sn->addr.len);
    }
    int rc = sim_start_process(sim, sn);
    bt_sim_log(sim, 2, "restart n%" PRIu32 " (boot %016" PRIx64 ")", i, sn->boot_id);
    return rc;
}

int bt_sim_start_twin(struct bt_sim *sim, uint32_t i, uint32_t of)
{
    if (i >= sim->n || of >= sim->n || i == of ||
        (sim->nodes[i].state != BT_SIM_CRASHED && sim->nodes[i].state != BT_SIM_LEFT))
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    sim->stats.twins++;
    bt_sim_fault_now(sim);
    sn->name_of = of;
    sn->name = sim->nodes[of].name;
    int rc = sim_start_process(sim, sn);
    bt_sim_log(sim, 2, "n%" PRIu32 " starts a twin of n%" PRIu32 " (boot %016" PRIx64 ")", i, of,
               sn->boot_id);
    return rc;
}

int bt_sim_stop_error(const struct bt_sim *sim, uint32_t i)
{
    return i < sim->n ? sim->nodes[i].stopped_error : 0;
}

static bool has_process(const struct sim_node *sn)
{
    return sn->state != BT_SIM_CRASHED && sn->state != BT_SIM_LEFT;
}

uint32_t bt_sim_holder(const struct bt_sim *sim, uint32_t m)
{
    if (has_process(&sim->nodes[m]) && sim->nodes[m].name_of == m)
        return m;
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->nodes[i].name_of == m && has_process(&sim->nodes[i]))
            return i;
    return m;
}

uint32_t bt_sim_carriers(const struct bt_sim *sim, uint32_t m)
{
    /* Without a twin every slot carries its own name: one lookup, not a
     * walk over every slot (the convergence check asks for every member). */
    if (sim->stats.twins == 0)
        return has_process(&sim->nodes[m]) ? 1 : 0;
    uint32_t c = 0;
    for (uint32_t i = 0; i < sim->n; i++)
        c += sim->nodes[i].name_of == m && has_process(&sim->nodes[i]);
    return c;
}

bool bt_sim_name_twinned(const struct bt_sim *sim, uint32_t m)
{
    if (sim->stats.twins == 0)
        return false;
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->nodes[i].name_of == m && i != m)
            return true;
    return false;
}

int bt_sim_pause(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    bt_sim_log(sim, 2, "pause n%" PRIu32, i);
    sim->stats.pauses++;
    bt_sim_fault_now(sim);
    sn->state = BT_SIM_PAUSED;
    bt_sim_heap_remove(&sim->agenda, &sn->tick.h);
    SIM_NOTIFY(sim, paused, sim, sn);
    return 0;
}

int bt_sim_resume(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n || sim->nodes[i].state != BT_SIM_PAUSED)
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    bt_sim_log(sim, 2, "resume n%" PRIu32 " (%" PRIu32 " datagrams waiting)", i, sn->backlog_len);
    bt_sim_fault_now(sim);
    sn->state = BT_SIM_RUNNING;
    sn->excused_until = max_u64(sn->excused_until, sim->now + sim->cfg.fp_grace_ms);
    SIM_NOTIFY(sim, resuming, sim, sn);
    /* Like an event loop waking from SIGSTOP: overdue timers first (libuv
     * runs timers before polling), then everything that queued, in order. */
    uint64_t deadline = sim->cfg.ops->next_deadline(sn->node);
    if (deadline != UINT64_MAX && deadline <= sim->now + sn->mono_origin)
        sim_tick_node(sim, sn);
    struct sim_msg *m = sn->backlog;
    sn->backlog = sn->backlog_tail = NULL;
    sn->backlog_len = 0;
    while (m != NULL) {
        struct sim_msg *next = m->next;
        if (sn->node != NULL && sn->state != BT_SIM_PAUSED && sn->state != BT_SIM_CRASHED &&
            sn->state != BT_SIM_LEFT)
            hand_over(sim, sn, m);
        else
            sim_msg_free(sim, m);
        m = next;
    }
    service(sim, sn);
    return 0;
}

int bt_sim_leave(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n || sim->nodes[i].state != BT_SIM_RUNNING || sim->cfg.ops->leave == NULL)
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    SIM_NOTIFY(sim, ending, sim, sn);
    int rc = sim->cfg.ops->leave(sn->node, bt_sim_node_time(sim, sn));
    if (rc != 0)
        return rc;
    bt_sim_log(sim, 2, "leave n%" PRIu32 " (announced)", i);
    sim->stats.leaves++;
    bt_sim_fault_now(sim);
    sn->state = BT_SIM_LEAVING;
    /* bt_node_leave withdrew every candidacy of the node (fix 7). */
    SIM_NOTIFY(sim, leaving, sim, sn);
    service(sim, sn);
    return 0;
}
