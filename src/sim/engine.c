/*
 * The simulator's engine: the agenda (event loop), construction and
 * teardown, the run's log and violations, and the report. The network model
 * is in network.c, node processes and their faults in process.c; the
 * invariants ride on the engine's hooks (membership_check.c, election*.c);
 * the scenarios that drive this API are in scenario.c.
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
 * The election (election.c) rides on this engine through hooks: a process
 * starting, ending, pausing and resuming, every node event, every service of
 * a node, every fault and every periodic check. Its writes to the fenced
 * resource are agenda items of their own (SIM_ITEM_WRITE).
 */
#include "sim/sim_impl.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/swim.h"
#include "core/swim_proto.h"

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
    cfg->chunk_above_bytes = (size_t)64 << 20;
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
    uint64_t smax =
        (uint64_t)((double)t.suspicion_max_mult * t.suspicion_mult * scale * t.probe_interval);
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
    uint64_t prop =
        pushpull * 3 / 2 + 2 * (uint64_t)t.reconnect_interval + 20 * (uint64_t)cfg->latency_max_ms;
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

void sim_note_oom(struct bt_sim *sim)
{
    if (!sim->oom)
        bt_sim_violation(sim, "sim_out_of_memory",
                         "the simulator ran out of memory; the run is void");
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

size_t bt_sim_violation_count(const struct bt_sim *sim) { return sim->nviolations; }

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
    SIM_NOTIFY(sim, fault, sim);
}

/* --- the event loop -------------------------------------------------------- */

/* The periodic check's agenda callback: every observer's periodic hook. */
static void fire_check(struct bt_sim *sim, struct sim_item *item)
{
    (void)item;
    SIM_NOTIFY(sim, periodic, sim);
    sim_schedule(sim, &sim->check, sim->now + sim->check_ms);
    if (sim->waiting_converged && sim->converged_now)
        sim->stop = true;
}

/* A scenario action's agenda callback (bt_sim_after). */
static void fire_timer(struct bt_sim *sim, struct sim_item *item)
{
    struct sim_timer *t = (struct sim_timer *)item;
    t->fn(sim, t->arg);
    free(t);
}

static void step(struct bt_sim *sim)
{
    struct bt_sim_heap_entry *e = bt_sim_heap_pop(&sim->agenda);
    if (e->at > sim->now)
        sim->now = e->at;
    struct sim_item *item = (struct sim_item *)e;
    item->fire(sim, item);
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

void bt_sim_run_for(struct bt_sim *sim, uint64_t ms) { bt_sim_run_until(sim, sim->now + ms); }

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

bool bt_sim_is_converged(const struct bt_sim *sim) { return sim->converged_now; }

int bt_sim_after(struct bt_sim *sim, uint64_t delay_ms, void (*fn)(struct bt_sim *, uint64_t),
                 uint64_t arg)
{
    struct sim_timer *t = malloc(sizeof *t);
    if (t == NULL) {
        sim_note_oom(sim);
        return BATON_ENOMEM;
    }
    bt_sim_heap_entry_init(&t->item.h);
    t->item.kind = SIM_ITEM_TIMER;
    t->item.fire = fire_timer;
    t->fn = fn;
    t->arg = arg;
    if (bt_sim_heap_push(&sim->agenda, &t->item.h, sim->now + delay_ms) != 0) {
        free(t);
        sim_note_oom(sim);
        return BATON_ENOMEM;
    }
    return 0;
}

/* Whether every observer is settled (bt_sim_finish). */
static bool observers_settled(const struct bt_sim *sim)
{
    for (uint32_t o = 0; o < sim->nobservers; o++)
        if (sim->observers[o]->settled != NULL && !sim->observers[o]->settled(sim))
            return false;
    return true;
}

void bt_sim_finish(struct bt_sim *sim)
{
    if (sim->finished)
        return;
    sim->finished = true;
    /* Run on (the scenario adds no faults now) until the cluster converged,
     * every crash was detected and the election settled, or the bounds that
     * judge them passed. */
    uint64_t limit = sim->now;
    for (uint32_t o = 0; o < sim->nobservers; o++)
        if (sim->observers[o]->deadline != NULL)
            limit = max_u64(limit, sim->observers[o]->deadline(sim));
    limit += sim->check_ms;
    while (!sim->oom && !observers_settled(sim) && sim->now < limit) {
        uint64_t next = sim->now + sim->check_ms;
        bt_sim_run_until(sim, next < limit ? next : limit);
    }
    SIM_NOTIFY(sim, finish, sim);
    sim->stats.virtual_ms = sim->now;
}

/* --- construction ---------------------------------------------------------- */

struct bt_sim *sim_engine_new(const struct bt_sim_config *cfg)
{
    const struct bt_sim_node_ops *ops = cfg->ops;
    if (ops == NULL || ops->create == NULL || ops->destroy == NULL || ops->join == NULL ||
        ops->recv == NULL || ops->recv_stream == NULL || ops->tick == NULL ||
        ops->next_deadline == NULL || ops->pop_output == NULL || ops->pop_event == NULL ||
        ops->members == NULL || ops->digest == NULL)
        return NULL;
    if (cfg->names > 0 &&
        (ops->lead == NULL || ops->resign == NULL || ops->session_end == NULL ||
         ops->leader == NULL || ops->is_leader == NULL || ops->fence == NULL ||
         ops->candidates == NULL || ops->high_water == NULL || ops->stats == NULL))
        return NULL;
    if (cfg->nodes < 1 || cfg->nodes > BT_SIM_MAX_NODES ||
        cfg->latency_min_ms > cfg->latency_max_ms || !(cfg->loss >= 0.0 && cfg->loss < 1.0) ||
        !(cfg->dup >= 0.0 && cfg->dup <= 1.0) || !(cfg->reorder >= 0.0 && cfg->reorder <= 1.0) ||
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
    sim_chunks_init(&sim->chunks);
    sim->joined = malloc(BT_SWIM_PACKET_MAX);
    if (sim->nodes == NULL || sim->cut_bits == NULL || sim->joined == NULL) {
        bt_sim_free(sim);
        return NULL;
    }
    return sim;
}

int sim_observe(struct bt_sim *sim, const struct sim_observer *obs)
{
    if (sim->nobservers >= SIM_MAX_OBSERVERS)
        return BATON_EINVAL;
    sim->observers[sim->nobservers++] = obs;
    return 0;
}

int sim_engine_start(struct bt_sim *sim)
{
    const struct bt_sim_config *cfg = &sim->cfg;
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
                (int64_t)bt_prng_range(&sim->fault_rng, 0, 2 * (uint64_t)cfg->skew_ms) -
                cfg->skew_ms;
        if (cfg->drift_ppm > 0)
            sn->drift_ppm =
                (int32_t)((int64_t)bt_prng_range(&sim->fault_rng, 0, 2 * (uint64_t)cfg->drift_ppm) -
                          cfg->drift_ppm);
        bt_sim_heap_entry_init(&sn->tick.h);
        sn->tick.kind = SIM_ITEM_TICK;
        sn->tick.fire = sim_fire_tick;
    }
    bt_sim_heap_entry_init(&sim->check.h);
    sim->check.kind = SIM_ITEM_CHECK;
    sim->check.fire = fire_check;
    sim_schedule(sim, &sim->check, sim->check_ms);
    bt_sim_log(sim, 2, "%" PRIu32 " nodes start and join", sim->n);
    for (uint32_t i = 0; i < sim->n; i++)
        sim_start_process(sim, &sim->nodes[i]);
    return sim->oom ? BATON_ENOMEM : 0;
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
            sim_free_backlog(sim, sn, false);
        }
    }
    struct bt_sim_heap_entry *e;
    while ((e = bt_sim_heap_pop(&sim->agenda)) != NULL) {
        struct sim_item *item = (struct sim_item *)e;
        if (item->kind == SIM_ITEM_DATAGRAM || item->kind == SIM_ITEM_STREAM ||
            item->kind == SIM_ITEM_REFUSAL)
            sim_msg_free(sim, (struct sim_msg *)item);
        else if (item->kind == SIM_ITEM_TIMER || item->kind == SIM_ITEM_WRITE)
            free(item);
    }
    bt_sim_heap_destroy(&sim->agenda);
    SIM_NOTIFY(sim, destroy, sim);
    for (size_t k = 0; k < sim->nviolations && k < BT_SIM_MAX_VIOLATIONS; k++)
        free(sim->violations[k]);
    bt_samples_destroy(&sim->stats.detection);
    assert(sim->datagram_bytes_held == 0); /* every datagram was freed once */
    sim_chunks_destroy(&sim->chunks);
    free(sim->joined);
    free(sim->conns);
    free(sim->cut_bits);
    free(sim->nodes);
    free(sim);
}

const struct bt_sim_config *bt_sim_config(const struct bt_sim *sim) { return &sim->cfg; }

uint64_t bt_sim_now(const struct bt_sim *sim) { return sim->now; }

uint32_t bt_sim_size(const struct bt_sim *sim) { return sim->n; }

struct bt_prng *bt_sim_rng(struct bt_sim *sim) { return &sim->fault_rng; }

struct bt_sim_stats *bt_sim_stats(struct bt_sim *sim) { return &sim->stats; }

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
    SIM_NOTIFY(sim, report, sim, j);
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
