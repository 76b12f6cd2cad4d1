/*
 * The simulator's engine: the agenda (event loop), the network model, node
 * processes and the faults that act on them. The invariants live in
 * check.c; the scenarios that drive this API in scenario.c.
 *
 * Event loop. Every future happening is an entry in one heap ordered by
 * (virtual ms, push order): a message arriving, a node's next timer, the
 * periodic invariant check, a scenario action. The loop pops the earliest,
 * moves the clock to it and handles it; after every call into a node the
 * node is "serviced": its outputs become messages on the agenda, its events
 * go to the checker, and its timer entry moves to bt_node_next_deadline().
 * Nothing scans all nodes per event, so a step costs O(log agenda).
 *
 * Determinism. Three kinds of PRNG stream derive from the seed (prng.h):
 * the network's (latency, loss, duplication, reordering), the fault
 * schedule's (scenario choices, join seeds, clock offsets) and one per node
 * process (its `random` callback and its boot id). Ties in time go to the
 * earlier push. No wall clock, address or hash of a pointer reaches the run.
 *
 * Network model. Datagrams: latency uniform in [latency_min, latency_max],
 * lost with probability `loss`, duplicated with probability `dup` (the copy
 * draws its own latency), and with probability `reorder` held back a further
 * 1..max(10, 4*latency_max) ms; reordering also falls out of random latency.
 * A message crosses only if its link is open both when sent and when it
 * arrives (a partition also eats what is in flight). Streams (BT_OUT_STREAM)
 * are reliable and ordered per direction: no loss, no duplicates, the same
 * latency draw but never overtaking the previous message of the connection.
 * A connection binds the two processes it joins: a crash or restart of
 * either end, or a partition between them, kills it and later messages on
 * it are dropped. A paused node's traffic waits in a backlog (datagrams up
 * to backlog_max, like a socket buffer); a crashed node's is dropped.
 *
 * Refusals. A process that crashed on a host that stays up (a process
 * crash, the default for half the crashes: host_crash), stopped, or left
 * leaves its address refusing: a datagram arriving there, or the first
 * message of a connection opened to it, sends a refusal back to the sending
 * process (like an ICMP port unreachable, or a refused connect), with its
 * own latency, loss and reordering, across links open both ways, delivered
 * by addr_refused only to the very process that sent (not to a restart of
 * it, nor while it is paused). A host crash, a paused process, a cut link
 * and a partition stay silent. Crash kinds and refusals draw from their own
 * stream, so runs without refusals keep the network's draws.
 *
 * Clocks. mono_ms = virtual ms + a per-machine origin (the core must accept
 * any origin); wall_ms = a fixed epoch + virtual ms + a per-node offset +
 * drift (ppm of virtual time). A restarted process keeps its machine's
 * clock.
 *
 * The election (elect.c) rides on this engine through hooks: a process
 * starting, ending, pausing and resuming, every node event, every service of
 * a node, every fault and every periodic check. Its writes to the fenced
 * resource are agenda items of their own (SIM_ITEM_WRITE).
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

/* Stream tags for bt_prng_init_stream. */
enum { TAG_NET = 1, TAG_FAULT = 2, TAG_NODE = 3, TAG_REFUSE = 4 };

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

void bt_sim_config_defaults(struct bt_sim_config *cfg, enum bt_profile profile)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = 1;
    cfg->nodes = 5;
    cfg->profile = profile;
    cfg->max_clock_offset_ms = 10000;
    cfg->backlog_max = 4096;
    cfg->write_interval_ms = 20;
    cfg->verbosity = 1;
    cfg->host_crash = 0.5;
    switch (profile) {
    case BT_PROFILE_LOCAL:
        cfg->latency_min_ms = 1;
        cfg->latency_max_ms = 1;
        break;
    case BT_PROFILE_LAN:
        cfg->latency_min_ms = 1;
        cfg->latency_max_ms = 3;
        break;
    case BT_PROFILE_WAN:
        cfg->latency_min_ms = 10;
        cfg->latency_max_ms = 150;
        break;
    }
}

/* See sim.h for the formulas; docs/simulator.md for why. */
void bt_sim_config_derive(struct bt_sim_config *cfg)
{
    struct bt_swim_timing t;
    if (bt_swim_timing_profile(cfg->profile, &t) != 0)
        return;
    double scale = cfg->nodes > 10 ? log10((double)cfg->nodes) : 1.0;
    uint64_t smax = (uint64_t)((double)t.suspicion_max_mult * t.suspicion_mult * scale * t.probe_interval);
    uint64_t pushpull = t.pushpull_interval;
    for (uint64_t v = 32; v < cfg->nodes; v *= 2)
        pushpull += t.pushpull_interval;
    uint64_t detect = 2 * smax + 2 * (uint64_t)t.awareness_max * t.probe_interval +
                      10 * (uint64_t)cfg->latency_max_ms;
    if (cfg->detect_bound_ms == 0)
        cfg->detect_bound_ms = detect;
    if (cfg->fp_grace_ms == 0)
        cfg->fp_grace_ms = detect;
    /* The derived bounds, whatever the command line overrides: the
     * election's bound must not shrink when a test tightens the
     * membership's. */
    uint64_t converge = detect + 2 * (uint64_t)t.reconnect_interval + pushpull * 3 / 2;
    uint64_t prop = pushpull * 3 / 2 + 2 * (uint64_t)t.reconnect_interval + 20 * (uint64_t)cfg->latency_max_ms;
    if (cfg->converge_bound_ms == 0)
        cfg->converge_bound_ms = converge;
    if (cfg->prop_bound_ms == 0)
        cfg->prop_bound_ms = prop;
    if (cfg->agree_bound_ms == 0)
        cfg->agree_bound_ms = converge + prop;
    if (cfg->elect_check_ms == 0) {
        /* A poll asks every node about every name: keep it near 25 000
         * (node, name) pairs per virtual second. */
        uint64_t base = cfg->check_ms ? cfg->check_ms : (cfg->nodes <= 100 ? 10 : 100);
        uint64_t load = (uint64_t)cfg->nodes * cfg->names / 25;
        uint64_t v = load > base ? load : base;
        cfg->elect_check_ms = (uint32_t)(v < 600000 ? v : 600000);
    }
}

/* --- small helpers --------------------------------------------------------- */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

int64_t bt_sim_parse_index(const struct bt_sim *sim, const char *s, size_t len)
{
    if (len < 2 || len > 12 || s[0] != 'n')
        return -1;
    if (s[1] == '0' && len > 2)
        return -1;
    int64_t v = 0;
    for (size_t k = 1; k < len; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -1;
        v = v * 10 + (s[k] - '0');
    }
    return v < (int64_t)sim->n ? v : -1;
}

struct bt_time bt_sim_node_time(const struct bt_sim *sim, const struct sim_node *sn)
{
    struct bt_time t;
    int64_t drift = (int64_t)sim->now * sn->drift_ppm / 1000000;
    t.mono_ms = sim->now + sn->mono_origin;
    t.wall_ms = (uint64_t)(SIM_EPOCH_MS + (int64_t)sim->now + sn->wall_offset_ms + drift);
    return t;
}

static void note_oom(struct bt_sim *sim)
{
    if (!sim->oom)
        bt_sim_violation(sim, "sim_out_of_memory", "the simulator ran out of memory; the run is void");
    sim->oom = true;
    sim->stop = true;
}

void bt_sim_log(const struct bt_sim *sim, int level, const char *fmt, ...)
{
    if (sim->cfg.log == NULL || sim->cfg.verbosity < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(sim->cfg.log, "t=%" PRIu64 " ", sim->now);
    vfprintf(sim->cfg.log, fmt, ap);
    fputc('\n', sim->cfg.log);
    va_end(ap);
}

void bt_sim_violation(struct bt_sim *sim, const char *name, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    if (sim->nviolations < BT_SIM_MAX_VIOLATIONS) {
        size_t len = strlen(name) + strlen(detail) + 3;
        char *text = malloc(len);
        if (text != NULL) {
            snprintf(text, len, "%s: %s", name, detail);
            sim->violations[sim->nviolations] = text;
        }
    }
    sim->nviolations++;
    bt_sim_log(sim, 1, "VIOLATION %s: %s", name, detail);
}

size_t bt_sim_violation_count(const struct bt_sim *sim)
{
    return sim->nviolations;
}

const char *bt_sim_violation_text(const struct bt_sim *sim, size_t k)
{
    if (k >= sim->nviolations || k >= BT_SIM_MAX_VIOLATIONS || sim->violations[k] == NULL)
        return "(violation text lost: out of memory)";
    return sim->violations[k];
}

void bt_sim_fault_now(struct bt_sim *sim)
{
    sim->stats.last_fault_ms = sim->now;
    sim->stats.converged = false;
    sim->epoch_converged = false;
    sim->converged_now = false;
    sim->fault_count++;
    bt_sim_elect_fault(sim);
}

/* --- the network ----------------------------------------------------------- */

bool bt_sim_link_open(const struct bt_sim *sim, uint32_t from, uint32_t to)
{
    if (sim->partitioned && sim->nodes[from].side != sim->nodes[to].side)
        return false;
    if (sim->cut_count > 0 && bt_sim_bit(sim->cut_bits, (size_t)from * sim->n + to))
        return false;
    return true;
}

bool bt_sim_network_faulty(const struct bt_sim *sim)
{
    return sim->partitioned || sim->cut_count > 0 || sim->loss > sim->cfg.loss;
}

/* A printable length for an address from the core: never past its storage. */
static int addr_len(const struct bt_addr *a)
{
    return a->len <= BT_ADDR_MAX ? a->len : BT_ADDR_MAX;
}

static uint64_t draw_latency(struct bt_sim *sim, bool may_reorder)
{
    uint64_t lat = bt_prng_range(&sim->net_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
    if (may_reorder && bt_prng_chance(&sim->net_rng, sim->cfg.reorder)) {
        lat += bt_prng_range(&sim->net_rng, 1, sim->reorder_max_ms);
        sim->stats.reordered++;
    }
    return lat;
}

static struct sim_msg *msg_new(struct bt_sim *sim, enum sim_item_kind kind, uint32_t from, uint32_t to,
                               const uint8_t *data, size_t len)
{
    struct sim_msg *m = malloc(sizeof *m + len);
    if (m == NULL) {
        note_oom(sim);
        return NULL;
    }
    bt_sim_heap_entry_init(&m->item.h);
    m->item.kind = kind;
    m->next = NULL;
    m->from = from;
    m->to = to;
    m->conn = 0;
    m->end = 0;
    m->len = len;
    m->from_gen = sim->nodes[from].gen;
    if (len > 0)
        memcpy(m->data, data, len);
    return m;
}

static void schedule(struct bt_sim *sim, struct sim_item *item, uint64_t at)
{
    if (bt_sim_heap_push(&sim->agenda, &item->h, at) != 0)
        note_oom(sim);
}

static void send_datagram(struct bt_sim *sim, struct sim_node *src, const struct bt_output *out)
{
    sim->stats.datagrams_sent++;
    sim->stats.datagram_bytes += out->len;
    int64_t to = bt_sim_parse_index(sim, out->to.s, out->to.len);
    if (to < 0) {
        sim->stats.bad_address++;
        bt_sim_violation(sim, "bad_output", "n%" PRIu32 " sent a datagram to \"%.*s\", which is no node",
                         src->index, addr_len(&out->to), out->to.s);
        return;
    }
    if (!bt_sim_link_open(sim, src->index, (uint32_t)to)) {
        sim->stats.dropped_partition++;
        return;
    }
    if (bt_prng_chance(&sim->net_rng, sim->loss)) {
        sim->stats.dropped_loss++;
        return;
    }
    int copies = 1;
    if (bt_prng_chance(&sim->net_rng, sim->cfg.dup)) {
        copies = 2;
        sim->stats.duplicated++;
    }
    for (int c = 0; c < copies; c++) {
        struct sim_msg *m = msg_new(sim, SIM_ITEM_DATAGRAM, src->index, (uint32_t)to, out->data, out->len);
        if (m == NULL)
            return;
        schedule(sim, &m->item, sim->now + draw_latency(sim, true));
    }
}

static struct sim_conn *conn_get(struct bt_sim *sim, uint64_t id)
{
    return id >= 1 && id <= sim->nconns ? &sim->conns[id - 1] : NULL;
}

static void send_stream(struct bt_sim *sim, struct sim_node *src, const struct bt_output *out)
{
    sim->stats.stream_msgs_sent++;
    sim->stats.stream_bytes += out->len;
    if (out->len > BT_STREAM_MSG_MAX && !sim->stream_too_long_reported) {
        /* A runtime would refuse to frame it (node.h); delivered anyway,
         * reported once. */
        sim->stream_too_long_reported = true;
        bt_sim_violation(sim, "bad_output",
                         "n%" PRIu32 " sent a stream message of %zu bytes, above BT_STREAM_MSG_MAX (%u)",
                         src->index, out->len, (unsigned)BT_STREAM_MSG_MAX);
    }
    struct sim_conn *c;
    uint64_t id = out->conn;
    uint8_t dst_end;
    if (id == 0) {
        int64_t to = bt_sim_parse_index(sim, out->to.s, out->to.len);
        if (to < 0) {
            sim->stats.bad_address++;
            bt_sim_violation(sim, "bad_output", "n%" PRIu32 " opened a stream to \"%.*s\", which is no node",
                             src->index, addr_len(&out->to), out->to.s);
            return;
        }
        if (sim->nconns == sim->conns_cap) {
            size_t cap = sim->conns_cap ? sim->conns_cap * 2 : 64;
            struct sim_conn *conns = realloc(sim->conns, cap * sizeof *conns);
            if (conns == NULL) {
                note_oom(sim);
                return;
            }
            sim->conns = conns;
            sim->conns_cap = cap;
        }
        c = &sim->conns[sim->nconns++];
        id = sim->nconns;
        c->end[0] = src->index;
        c->gen[0] = src->gen;
        c->end[1] = (uint32_t)to;
        c->gen[1] = 0; /* bound to the acceptor's process at first delivery */
        c->last_at[0] = c->last_at[1] = 0;
        c->broken = false;
        sim->stats.streams_opened++;
        dst_end = 1;
    } else {
        c = conn_get(sim, id);
        if (c != NULL && c->end[0] == src->index && c->gen[0] == src->gen)
            dst_end = 1;
        else if (c != NULL && c->end[1] == src->index && c->gen[1] == src->gen)
            dst_end = 0;
        else {
            bt_sim_violation(sim, "bad_output",
                             "n%" PRIu32 " replied on stream %" PRIu64 ", which it was never given",
                             src->index, id);
            return;
        }
    }
    uint32_t to = c->end[dst_end];
    if (c->broken || !bt_sim_link_open(sim, src->index, to)) {
        c->broken = true;
        sim->stats.dropped_partition++;
        return;
    }
    struct sim_msg *m = msg_new(sim, SIM_ITEM_STREAM, src->index, to, out->data, out->len);
    if (m == NULL)
        return;
    m->conn = id;
    m->end = dst_end;
    uint64_t at = sim->now + draw_latency(sim, false);
    if (at < c->last_at[dst_end])
        at = c->last_at[dst_end];
    c->last_at[dst_end] = at;
    schedule(sim, &m->item, at);
}

/* --- node processes -------------------------------------------------------- */

static uint64_t node_random(void *ctx)
{
    return bt_prng_next(&((struct sim_node *)ctx)->rng);
}

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
    schedule(sim, &sn->tick, vt);
}

static void free_backlog(struct bt_sim *sim, struct sim_node *sn, bool count)
{
    while (sn->backlog != NULL) {
        struct sim_msg *m = sn->backlog;
        sn->backlog = m->next;
        if (count)
            sim->stats.dropped_down++;
        free(m);
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
    free_backlog(sim, sn, true);
    bt_sim_check_stopped(sim, sn, state == BT_SIM_CRASHED && sn->stopped_error == 0);
    if (state == BT_SIM_CRASHED)
        bt_sim_elect_node_ended(sim, sn, true);
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
            send_datagram(sim, sn, &out);
        else
            send_stream(sim, sn, &out);
    }
    while (ops->pop_event(sn->node, &ev))
        bt_sim_check_event(sim, sn, &ev);
    bt_sim_elect_serviced(sim, sn);
    if (sn->stopped_error != 0) {
        /* The process stopped for good (a lost name): like an embedder,
         * end it. No crash to time: it fell silent on purpose. */
        bt_sim_log(sim, 2, "n%" PRIu32 " stopped (%s)", sn->index, baton_err_name(sn->stopped_error));
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
 * never itself: SIM_JOIN_SEEDS in all when the cluster is big enough. */
static size_t pick_seeds(struct bt_sim *sim, const struct sim_node *sn, struct bt_addr *seeds)
{
    uint32_t chosen[SIM_JOIN_SEEDS];
    size_t k = 0;
    if (sn->name_of != sn->index) {
        /* A twin: running nodes it can reach now, from a random start. */
        uint32_t start = (uint32_t)bt_prng_below(&sim->fault_rng, sim->n);
        for (uint32_t d = 0; d < sim->n && k < SIM_JOIN_SEEDS; d++) {
            uint32_t c = (start + d) % sim->n;
            if (c != sn->index && sim->nodes[c].state == BT_SIM_RUNNING && bt_sim_link_open(sim, sn->index, c))
                seeds[k++] = sim->nodes[c].addr;
        }
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
    for (size_t j = 0; j < k; j++)
        seeds[j] = sim->nodes[chosen[j]].addr;
    return k;
}

static int start_process(struct bt_sim *sim, struct sim_node *sn)
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
        bt_sim_violation(sim, "node_failed", "bt_node_new refused n%" PRIu32 "'s configuration", sn->index);
        return BATON_EINVAL;
    }
    sn->state = BT_SIM_RUNNING;
    bt_sim_check_started(sim, sn);
    bt_sim_elect_started(sim, sn);
    struct bt_addr seeds[SIM_JOIN_SEEDS];
    size_t nseeds = pick_seeds(sim, sn, seeds);
    int rc = ops->join(sn->node, seeds, nseeds, now);
    if (rc != 0)
        bt_sim_violation(sim, "node_failed", "bt_node_join on n%" PRIu32 " returned %d (%s)", sn->index,
                         rc, baton_err_name(rc));
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
        ops->recv(sn->node, from, m->data, m->len, now);
    else
        ops->recv_stream(sn->node, from, m->conn, m->data, m->len, now);
    free(m);
    service(sim, sn);
}

/* m reached host sn, which refuses it: a refusal goes back to its sender,
 * over the network like any datagram (see the essay). */
static void refuse(struct bt_sim *sim, const struct sim_msg *m)
{
    if (sim->cfg.ops->addr_refused == NULL || !bt_sim_link_open(sim, m->to, m->from))
        return;
    sim->stats.refusals_sent++;
    if (bt_prng_chance(&sim->refuse_rng, sim->loss))
        return;
    struct sim_msg *r = msg_new(sim, SIM_ITEM_REFUSAL, m->to, m->from, NULL, 0);
    if (r == NULL)
        return;
    r->conn = m->from_gen;
    uint64_t lat = bt_prng_range(&sim->refuse_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
    if (bt_prng_chance(&sim->refuse_rng, sim->cfg.reorder))
        lat += bt_prng_range(&sim->refuse_rng, 1, sim->reorder_max_ms);
    schedule(sim, &r->item, sim->now + lat);
}

/* A refusal reaches the process that sent what was refused, if it still
 * runs (not paused: the refusal is lost then) and the link is open. */
static void refusal_arrives(struct bt_sim *sim, struct sim_msg *r)
{
    struct sim_node *sn = &sim->nodes[r->to];
    if (sn->node != NULL && sn->gen == r->conn &&
        (sn->state == BT_SIM_RUNNING || sn->state == BT_SIM_LEAVING) &&
        bt_sim_link_open(sim, r->from, r->to)) {
        sim->stats.refusals_delivered++;
        sim->cfg.ops->addr_refused(sn->node, &sim->nodes[r->from].addr, bt_sim_node_time(sim, sn));
        free(r);
        service(sim, sn);
        return;
    }
    free(r);
}

static void arrive(struct bt_sim *sim, struct sim_msg *m)
{
    struct sim_node *sn = &sim->nodes[m->to];
    bool alive = sn->state == BT_SIM_RUNNING || sn->state == BT_SIM_LEAVING || sn->state == BT_SIM_PAUSED;
    if (m->item.kind == SIM_ITEM_STREAM) {
        struct sim_conn *c = conn_get(sim, m->conn);
        if (!alive && sn->refuses && m->end == 1 && c->gen[1] == 0 && !c->broken &&
            bt_sim_link_open(sim, m->from, m->to)) {
            /* A connect to a refusing address: refused once, and the
             * connection is dead. */
            c->broken = true;
            refuse(sim, m);
        }
        if (alive && c->gen[m->end] == 0)
            c->gen[m->end] = sn->gen;
        if (!alive || c->gen[m->end] != sn->gen || c->gen[1 - m->end] != sim->nodes[m->from].gen) {
            sim->stats.dropped_down++;
            free(m);
            return;
        }
        if (c->broken || !bt_sim_link_open(sim, m->from, m->to)) {
            c->broken = true;
            sim->stats.dropped_partition++;
            free(m);
            return;
        }
    } else {
        if (!alive) {
            if (sn->refuses && bt_sim_link_open(sim, m->from, m->to))
                refuse(sim, m);
            sim->stats.dropped_down++;
            free(m);
            return;
        }
        if (!bt_sim_link_open(sim, m->from, m->to)) {
            sim->stats.dropped_partition++;
            free(m);
            return;
        }
    }
    if (sn->state == BT_SIM_PAUSED) {
        if (m->item.kind == SIM_ITEM_DATAGRAM) {
            if (sn->backlog_len >= sim->cfg.backlog_max) {
                sim->stats.dropped_backlog++;
                free(m);
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

static void tick_node(struct bt_sim *sim, struct sim_node *sn)
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

/* --- the event loop -------------------------------------------------------- */

static void step(struct bt_sim *sim)
{
    struct bt_sim_heap_entry *e = bt_sim_heap_pop(&sim->agenda);
    if (e->at > sim->now)
        sim->now = e->at;
    struct sim_item *item = (struct sim_item *)e;
    switch (item->kind) {
    case SIM_ITEM_DATAGRAM:
    case SIM_ITEM_STREAM:
        arrive(sim, (struct sim_msg *)item);
        break;
    case SIM_ITEM_TICK: {
        struct sim_node *sn = (struct sim_node *)((char *)item - offsetof(struct sim_node, tick));
        tick_node(sim, sn);
        break;
    }
    case SIM_ITEM_CHECK:
        bt_sim_check_periodic(sim);
        bt_sim_elect_periodic(sim);
        schedule(sim, &sim->check, sim->now + sim->check_ms);
        if (sim->waiting_converged && sim->converged_now)
            sim->stop = true;
        break;
    case SIM_ITEM_TIMER: {
        struct sim_timer *t = (struct sim_timer *)item;
        t->fn(sim, t->arg);
        free(t);
        break;
    }
    case SIM_ITEM_WRITE:
        bt_sim_elect_write_arrives(sim, item);
        break;
    case SIM_ITEM_REFUSAL:
        refusal_arrives(sim, (struct sim_msg *)item);
        break;
    }
}

void bt_sim_run_until(struct bt_sim *sim, uint64_t t)
{
    while (!sim->stop) {
        struct bt_sim_heap_entry *e = bt_sim_heap_peek(&sim->agenda);
        if (e == NULL || e->at > t)
            break;
        step(sim);
    }
    if (!sim->stop && sim->now < t)
        sim->now = t;
}

void bt_sim_run_for(struct bt_sim *sim, uint64_t ms)
{
    bt_sim_run_until(sim, sim->now + ms);
}

bool bt_sim_wait_converged(struct bt_sim *sim, uint64_t timeout_ms)
{
    if (sim->converged_now)
        return true;
    if (sim->oom)
        return false;
    sim->waiting_converged = true;
    bt_sim_run_until(sim, sim->now + timeout_ms);
    sim->waiting_converged = false;
    if (!sim->oom)
        sim->stop = false;
    return sim->converged_now;
}

bool bt_sim_is_converged(const struct bt_sim *sim)
{
    return sim->converged_now;
}

int bt_sim_after(struct bt_sim *sim, uint64_t delay_ms, void (*fn)(struct bt_sim *, uint64_t), uint64_t arg)
{
    struct sim_timer *t = malloc(sizeof *t);
    if (t == NULL) {
        note_oom(sim);
        return BATON_ENOMEM;
    }
    bt_sim_heap_entry_init(&t->item.h);
    t->item.kind = SIM_ITEM_TIMER;
    t->fn = fn;
    t->arg = arg;
    if (bt_sim_heap_push(&sim->agenda, &t->item.h, sim->now + delay_ms) != 0) {
        free(t);
        note_oom(sim);
        return BATON_ENOMEM;
    }
    return 0;
}

void bt_sim_finish(struct bt_sim *sim)
{
    if (sim->finished)
        return;
    sim->finished = true;
    /* Run on (the scenario adds no faults now) until the cluster converged,
     * every crash was detected and the election settled, or the bounds that
     * judge them passed. */
    uint64_t limit = max_u64(sim->now, sim->stats.last_fault_ms + sim->cfg.converge_bound_ms);
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->watch[i].open)
            limit = max_u64(limit, sim->watch[i].crashed_at + sim->cfg.detect_bound_ms);
    limit = max_u64(limit, bt_sim_elect_deadline(sim));
    limit += sim->check_ms;
    while (!sim->oom && !(sim->epoch_converged && sim->open_watches == 0 && bt_sim_elect_settled(sim)) &&
           sim->now < limit) {
        uint64_t next = sim->now + sim->check_ms;
        bt_sim_run_until(sim, next < limit ? next : limit);
    }
    bt_sim_check_finish(sim);
    bt_sim_elect_finish(sim);
    sim->stats.virtual_ms = sim->now;
}

/* --- construction ---------------------------------------------------------- */

struct bt_sim *bt_sim_new(const struct bt_sim_config *cfg)
{
    const struct bt_sim_node_ops *ops = cfg->ops;
    if (ops == NULL || ops->create == NULL || ops->destroy == NULL || ops->join == NULL ||
        ops->recv == NULL || ops->recv_stream == NULL || ops->tick == NULL ||
        ops->next_deadline == NULL || ops->pop_output == NULL || ops->pop_event == NULL ||
        ops->members == NULL || ops->digest == NULL)
        return NULL;
    if (cfg->names > 0 &&
        (ops->lead == NULL || ops->resign == NULL || ops->session_end == NULL || ops->leader == NULL ||
         ops->is_leader == NULL || ops->fence == NULL || ops->candidates == NULL ||
         ops->high_water == NULL || ops->stats == NULL))
        return NULL;
    if (cfg->nodes < 1 || cfg->nodes > BT_SIM_MAX_NODES || cfg->latency_min_ms > cfg->latency_max_ms ||
        !(cfg->loss >= 0.0 && cfg->loss < 1.0) || !(cfg->dup >= 0.0 && cfg->dup <= 1.0) ||
        !(cfg->reorder >= 0.0 && cfg->reorder <= 1.0) ||
        !(cfg->host_crash >= 0.0 && cfg->host_crash <= 1.0))
        return NULL;

    struct bt_sim *sim = calloc(1, sizeof *sim);
    if (sim == NULL)
        return NULL;
    sim->cfg = *cfg;
    bt_sim_config_derive(&sim->cfg);
    sim->n = cfg->nodes;
    bt_sim_heap_init(&sim->agenda);
    bt_samples_init(&sim->stats.detection);
    bt_prng_init_stream(&sim->net_rng, cfg->seed, TAG_NET, 0);
    bt_prng_init_stream(&sim->fault_rng, cfg->seed, TAG_FAULT, 0);
    bt_prng_init_stream(&sim->refuse_rng, cfg->seed, TAG_REFUSE, 0);
    sim->loss = cfg->loss;
    sim->reorder_max_ms = max_u64(10, 4 * (uint64_t)cfg->latency_max_ms);
    sim->check_ms = cfg->check_ms ? cfg->check_ms : (sim->n <= 100 ? 10 : 100);
    sim->nodes = calloc(sim->n, sizeof *sim->nodes);
    sim->cut_bits = calloc(((size_t)sim->n * sim->n + 7) / 8, 1);
    if (sim->nodes == NULL || sim->cut_bits == NULL || bt_sim_check_init(sim) != 0 ||
        bt_sim_elect_init(sim) != 0) {
        bt_sim_free(sim);
        return NULL;
    }
    for (uint32_t i = 0; i < sim->n; i++) {
        struct sim_node *sn = &sim->nodes[i];
        char text[16];
        int len = snprintf(text, sizeof text, "n%" PRIu32, i);
        sn->index = i;
        sn->name_of = i;
        sn->state = BT_SIM_CRASHED; /* until its first start, below */
        bt_nodeid_set(&sn->name, text, (size_t)len);
        sn->addr.len = (uint8_t)len;
        memcpy(sn->addr.s, text, (size_t)len + 1);
        /* Machine uptime between a second and about four months. */
        sn->mono_origin = bt_prng_range(&sim->fault_rng, 1000, UINT64_C(10000000000));
        if (cfg->skew_ms > 0)
            sn->wall_offset_ms =
                (int64_t)bt_prng_range(&sim->fault_rng, 0, 2 * (uint64_t)cfg->skew_ms) - cfg->skew_ms;
        if (cfg->drift_ppm > 0)
            sn->drift_ppm =
                (int32_t)((int64_t)bt_prng_range(&sim->fault_rng, 0, 2 * (uint64_t)cfg->drift_ppm) -
                          cfg->drift_ppm);
        bt_sim_heap_entry_init(&sn->tick.h);
        sn->tick.kind = SIM_ITEM_TICK;
    }
    bt_sim_heap_entry_init(&sim->check.h);
    sim->check.kind = SIM_ITEM_CHECK;
    schedule(sim, &sim->check, sim->check_ms);
    bt_sim_log(sim, 2, "%" PRIu32 " nodes start and join", sim->n);
    for (uint32_t i = 0; i < sim->n; i++)
        start_process(sim, &sim->nodes[i]);
    if (sim->oom) {
        bt_sim_free(sim);
        return NULL;
    }
    return sim;
}

void bt_sim_free(struct bt_sim *sim)
{
    if (sim == NULL)
        return;
    if (sim->nodes != NULL) {
        for (uint32_t i = 0; i < sim->n; i++) {
            struct sim_node *sn = &sim->nodes[i];
            if (sn->node != NULL)
                sim->cfg.ops->destroy(sn->node);
            sn->node = NULL;
            free_backlog(sim, sn, false);
        }
    }
    struct bt_sim_heap_entry *e;
    while ((e = bt_sim_heap_pop(&sim->agenda)) != NULL) {
        struct sim_item *item = (struct sim_item *)e;
        if (item->kind == SIM_ITEM_DATAGRAM || item->kind == SIM_ITEM_STREAM || item->kind == SIM_ITEM_TIMER ||
            item->kind == SIM_ITEM_WRITE || item->kind == SIM_ITEM_REFUSAL)
            free(item);
    }
    bt_sim_heap_destroy(&sim->agenda);
    bt_sim_check_destroy(sim);
    bt_sim_elect_destroy(sim);
    for (size_t k = 0; k < sim->nviolations && k < BT_SIM_MAX_VIOLATIONS; k++)
        free(sim->violations[k]);
    bt_samples_destroy(&sim->stats.detection);
    free(sim->conns);
    free(sim->cut_bits);
    free(sim->nodes);
    free(sim);
}

const struct bt_sim_config *bt_sim_config(const struct bt_sim *sim)
{
    return &sim->cfg;
}

uint64_t bt_sim_now(const struct bt_sim *sim)
{
    return sim->now;
}

uint32_t bt_sim_size(const struct bt_sim *sim)
{
    return sim->n;
}

struct bt_prng *bt_sim_rng(struct bt_sim *sim)
{
    return &sim->fault_rng;
}

struct bt_sim_stats *bt_sim_stats(struct bt_sim *sim)
{
    return &sim->stats;
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

void *bt_sim_node(struct bt_sim *sim, uint32_t i)
{
    return i < sim->n ? sim->nodes[i].node : NULL;
}

int bt_sim_crash_kind(struct bt_sim *sim, uint32_t i, bool host)
{
    if (i >= sim->n || sim->nodes[i].node == NULL)
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    bt_sim_log(sim, 2, "crash n%" PRIu32 " (%s, %s)", i, state_name(sn->state), host ? "host" : "process");
    bt_sim_elect_prepare_end(sim, sn);
    sim->stats.crashes++;
    if (host)
        sim->stats.host_crashes++;
    bt_sim_fault_now(sim);
    stop_process(sim, sn, BT_SIM_CRASHED);
    sn->refuses = !host;
    return 0;
}

void bt_sim_strict_restarts(struct bt_sim *sim, bool on)
{
    sim->strict_restarts = on;
}

int bt_sim_crash(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n || sim->nodes[i].node == NULL)
        return BATON_EINVAL;
    return bt_sim_crash_kind(sim, i, bt_prng_chance(&sim->refuse_rng, sim->cfg.host_crash));
}

int bt_sim_restart(struct bt_sim *sim, uint32_t i)
{
    if (i >= sim->n || (sim->nodes[i].state != BT_SIM_CRASHED && sim->nodes[i].state != BT_SIM_LEFT))
        return BATON_EINVAL;
    struct sim_node *sn = &sim->nodes[i];
    sim->stats.restarts++;
    bt_sim_fault_now(sim);
    if (sn->name_of != i) { /* a twin's slot: its own name again */
        sn->name_of = i;
        bt_nodeid_set(&sn->name, sn->addr.s, sn->addr.len);
    }
    int rc = start_process(sim, sn);
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
    int rc = start_process(sim, sn);
    bt_sim_log(sim, 2, "n%" PRIu32 " starts a twin of n%" PRIu32 " (boot %016" PRIx64 ")", i, of, sn->boot_id);
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
    bt_sim_check_paused(sim, sn);
    bt_sim_elect_paused(sim, sn);
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
    bt_sim_elect_resuming(sim, sn);
    /* Like an event loop waking from SIGSTOP: overdue timers first (libuv
     * runs timers before polling), then everything that queued, in order. */
    uint64_t deadline = sim->cfg.ops->next_deadline(sn->node);
    if (deadline != UINT64_MAX && deadline <= sim->now + sn->mono_origin)
        tick_node(sim, sn);
    struct sim_msg *m = sn->backlog;
    sn->backlog = sn->backlog_tail = NULL;
    sn->backlog_len = 0;
    while (m != NULL) {
        struct sim_msg *next = m->next;
        if (sn->node != NULL && sn->state != BT_SIM_PAUSED && sn->state != BT_SIM_CRASHED &&
            sn->state != BT_SIM_LEFT)
            hand_over(sim, sn, m);
        else
            free(m);
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
    bt_sim_elect_prepare_end(sim, sn);
    int rc = sim->cfg.ops->leave(sn->node, bt_sim_node_time(sim, sn));
    if (rc != 0)
        return rc;
    bt_sim_log(sim, 2, "leave n%" PRIu32 " (announced)", i);
    sim->stats.leaves++;
    bt_sim_fault_now(sim);
    sn->state = BT_SIM_LEAVING;
    /* bt_node_leave withdrew every candidacy of the node (fix 7). */
    bt_sim_elect_node_ended(sim, sn, false);
    service(sim, sn);
    return 0;
}

/* --- network faults -------------------------------------------------------- */

/* A network fault (partition, cut, loss burst) ended now. */
static void network_fault_ended(struct bt_sim *sim)
{
    sim->net_calm_since = sim->now;
}

static void excuse_all(struct bt_sim *sim)
{
    sim->net_excused_until = max_u64(sim->net_excused_until, sim->now + sim->cfg.fp_grace_ms);
    network_fault_ended(sim);
}

void bt_sim_partition(struct bt_sim *sim, const uint8_t *side)
{
    bool split = false;
    for (uint32_t i = 0; i < sim->n; i++) {
        sim->nodes[i].side = side != NULL ? side[i] : 0;
        split = split || sim->nodes[i].side != sim->nodes[0].side;
    }
    if (!split && !sim->partitioned)
        return;
    sim->partition_gen++;
    if (split) {
        sim->stats.partitions++;
        bt_sim_log(sim, 2, "partition #%" PRIu64, sim->partition_gen);
    } else {
        bt_sim_log(sim, 2, "partition healed");
    }
    if (sim->partitioned)
        excuse_all(sim);
    sim->partitioned = split;
    bt_sim_fault_now(sim);
}

uint64_t bt_sim_partition_gen(const struct bt_sim *sim)
{
    return sim->partition_gen;
}

void bt_sim_block(struct bt_sim *sim, uint32_t from, uint32_t to)
{
    size_t k = (size_t)from * sim->n + to;
    if (from >= sim->n || to >= sim->n || bt_sim_bit(sim->cut_bits, k))
        return;
    bt_sim_log(sim, 2, "cut n%" PRIu32 " -> n%" PRIu32, from, to);
    bt_sim_bit_set(sim->cut_bits, k, true);
    sim->cut_count++;
    sim->nodes[from].cuts++;
    sim->nodes[to].cuts++;
    sim->stats.oneway_blocks++;
    bt_sim_fault_now(sim);
}

void bt_sim_unblock(struct bt_sim *sim, uint32_t from, uint32_t to)
{
    size_t k = (size_t)from * sim->n + to;
    if (from >= sim->n || to >= sim->n || !bt_sim_bit(sim->cut_bits, k))
        return;
    bt_sim_log(sim, 2, "uncut n%" PRIu32 " -> n%" PRIu32, from, to);
    bt_sim_bit_set(sim->cut_bits, k, false);
    sim->cut_count--;
    network_fault_ended(sim);
    uint32_t ends[2] = {from, to};
    for (int e = 0; e < 2; e++) {
        struct sim_node *sn = &sim->nodes[ends[e]];
        sn->cuts--;
        sn->excused_until = max_u64(sn->excused_until, sim->now + sim->cfg.fp_grace_ms);
    }
    bt_sim_fault_now(sim);
}

void bt_sim_heal(struct bt_sim *sim)
{
    bt_sim_partition(sim, NULL);
    if (sim->cut_count == 0)
        return;
    bt_sim_log(sim, 2, "every one-way cut healed");
    for (uint32_t i = 0; i < sim->n; i++) {
        struct sim_node *sn = &sim->nodes[i];
        if (sn->cuts > 0)
            sn->excused_until = max_u64(sn->excused_until, sim->now + sim->cfg.fp_grace_ms);
        sn->cuts = 0;
    }
    memset(sim->cut_bits, 0, ((size_t)sim->n * sim->n + 7) / 8);
    sim->cut_count = 0;
    network_fault_ended(sim);
    bt_sim_fault_now(sim);
}

void bt_sim_set_loss(struct bt_sim *sim, double loss)
{
    if (!(loss >= 0.0 && loss < 1.0) || loss == sim->loss)
        return;
    bool burst = loss > sim->cfg.loss, was_burst = sim->loss > sim->cfg.loss;
    if (burst && !was_burst)
        sim->stats.loss_bursts++;
    if (was_burst)
        excuse_all(sim);
    bt_sim_log(sim, 2, "datagram loss %.3f", loss);
    sim->loss = loss;
    bt_sim_fault_now(sim);
}

/* --- report ---------------------------------------------------------------- */

void bt_sim_report_json(struct bt_sim *sim, struct bt_json *j)
{
    struct bt_sim_stats *st = &sim->stats;
    bt_json_key(j, "virtual_ms");
    bt_json_u64(j, sim->now);
    bt_json_key(j, "packets_sent");
    bt_json_u64(j, st->datagrams_sent + st->stream_msgs_sent);
    bt_json_key(j, "bytes_sent");
    bt_json_u64(j, st->datagram_bytes + st->stream_bytes);
    bt_json_key(j, "datagrams_sent");
    bt_json_u64(j, st->datagrams_sent);
    bt_json_key(j, "datagram_bytes");
    bt_json_u64(j, st->datagram_bytes);
    bt_json_key(j, "stream_msgs_sent");
    bt_json_u64(j, st->stream_msgs_sent);
    bt_json_key(j, "stream_bytes");
    bt_json_u64(j, st->stream_bytes);
    bt_json_key(j, "streams_opened");
    bt_json_u64(j, st->streams_opened);
    bt_json_key(j, "delivered");
    bt_json_u64(j, st->delivered);
    bt_json_key(j, "dropped");
    bt_json_obj_begin(j);
    bt_json_key(j, "loss");
    bt_json_u64(j, st->dropped_loss);
    bt_json_key(j, "partition");
    bt_json_u64(j, st->dropped_partition);
    bt_json_key(j, "down");
    bt_json_u64(j, st->dropped_down);
    bt_json_key(j, "backlog");
    bt_json_u64(j, st->dropped_backlog);
    bt_json_obj_end(j);
    bt_json_key(j, "duplicated");
    bt_json_u64(j, st->duplicated);
    bt_json_key(j, "reordered");
    bt_json_u64(j, st->reordered);
    bt_json_key(j, "ticks");
    bt_json_u64(j, st->ticks);
    bt_json_key(j, "events");
    bt_json_obj_begin(j);
    bt_json_key(j, "up");
    bt_json_u64(j, st->ev_up);
    bt_json_key(j, "suspect");
    bt_json_u64(j, st->ev_suspect);
    bt_json_key(j, "alive");
    bt_json_u64(j, st->ev_alive);
    bt_json_key(j, "dead");
    bt_json_u64(j, st->ev_dead);
    bt_json_key(j, "left");
    bt_json_u64(j, st->ev_left);
    bt_json_key(j, "name_conflict");
    bt_json_u64(j, st->ev_conflict);
    bt_json_key(j, "stopped");
    bt_json_u64(j, st->ev_stopped);
    bt_json_obj_end(j);
    bt_json_key(j, "faults");
    bt_json_obj_begin(j);
    bt_json_key(j, "crash");
    bt_json_u64(j, st->crashes);
    bt_json_key(j, "host_crash");
    bt_json_u64(j, st->host_crashes);
    bt_json_key(j, "refusals_sent");
    bt_json_u64(j, st->refusals_sent);
    bt_json_key(j, "refusals_delivered");
    bt_json_u64(j, st->refusals_delivered);
    bt_json_key(j, "restart");
    bt_json_u64(j, st->restarts);
    bt_json_key(j, "pause");
    bt_json_u64(j, st->pauses);
    bt_json_key(j, "partition");
    bt_json_u64(j, st->partitions);
    bt_json_key(j, "oneway");
    bt_json_u64(j, st->oneway_blocks);
    bt_json_key(j, "loss_burst");
    bt_json_u64(j, st->loss_bursts);
    bt_json_key(j, "leave");
    bt_json_u64(j, st->leaves);
    bt_json_obj_end(j);
    bt_json_key(j, "last_fault_ms");
    bt_json_u64(j, st->last_fault_ms);
    bt_json_key(j, "detection_ms");
    bt_json_samples(j, &st->detection);
    bt_json_key(j, "detection_superseded");
    bt_json_u64(j, st->detection_superseded);
    bt_json_key(j, "detection_by_view");
    bt_json_u64(j, st->detection_by_view);
    bt_json_key(j, "false_positive_deaths");
    bt_json_u64(j, st->false_positive_deaths);
    bt_json_key(j, "converged");
    bt_json_bool(j, st->converged);
    bt_json_key(j, "converged_at_end");
    bt_json_bool(j, st->converged_at_end);
    bt_json_key(j, "convergence_ms");
    if (st->converged)
        bt_json_u64(j, st->convergence_ms);
    else
        bt_json_null(j);
    bt_sim_elect_report_json(sim, j);
    bt_json_key(j, "violation_count");
    bt_json_u64(j, sim->nviolations);
    bt_json_key(j, "violations");
    bt_json_arr_begin(j);
    for (size_t k = 0; k < sim->nviolations && k < BT_SIM_MAX_VIOLATIONS; k++)
        bt_json_str(j, bt_sim_violation_text(sim, k));
    if (sim->nviolations > BT_SIM_MAX_VIOLATIONS) {
        char more[64];
        snprintf(more, sizeof more, "... and %zu more", sim->nviolations - BT_SIM_MAX_VIOLATIONS);
        bt_json_str(j, more);
    }
    bt_json_arr_end(j);
}
