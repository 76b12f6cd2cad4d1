/*
 * The deterministic simulator: many nodes running the real sans-IO core
 * (src/core/node.h) on one virtual clock, over a simulated network, under
 * faults chosen by one seeded PRNG. One seed is one exact run on any machine.
 *
 * Shape (tarantool's SWIM test harness is the model): a fake event loop (a
 * heap of deadlines; the virtual clock jumps to the next one), a fake
 * network (latency, loss, duplication, reordering, partitions), and a
 * cluster-level API that scenarios read like prose:
 *
 *     struct bt_sim *sim = bt_sim_new(&cfg);
 *     bt_sim_wait_converged(sim, 10000);
 *     bt_sim_crash(sim, 3);
 *     bt_sim_run_until(sim, 30000);
 *     bt_sim_finish(sim);
 *     ...bt_sim_stats(sim), bt_sim_violations(sim)...
 *
 * While it runs, the simulator checks the membership invariants of
 * docs/simulator.md (detection of every crash, false-positive deaths,
 * convergence after the last fault, name conflicts, core liveness) and
 * records each failure as a named violation string.
 *
 * Node indices are 0..nodes-1; node i is named and addressed "n<i>".
 * Virtual time is in milliseconds from 0. Nothing here reads a clock except
 * the caller measuring wall time for its own report.
 */
#ifndef BT_SIM_H
#define BT_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/node.h"
#include "sim/report.h"

struct bt_sim;

/*
 * The node operations the simulator drives, mirroring node.h with the node
 * as an opaque pointer. bt_sim_core_ops (core_ops.c) binds the real core;
 * tests bind fakes to check the network model on its own.
 */
struct bt_sim_node_ops {
    /* bt_node_new, bt_node_free, bt_node_join */
    void *(*create)(const struct bt_node_config *cfg, struct bt_time now);
    void (*destroy)(void *node);
    int (*join)(void *node, const struct bt_addr *seeds, size_t n, struct bt_time now);
    /* bt_node_leave, bt_node_left (both optional: NULL disables bt_sim_leave) */
    int (*leave)(void *node, struct bt_time now);
    bool (*left)(const void *node);
    /* bt_node_recv, bt_node_recv_stream, bt_node_tick, bt_node_next_deadline */
    void (*recv)(void *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                 struct bt_time now);
    void (*recv_stream)(void *node, const struct bt_addr *from, uint64_t conn, const uint8_t *data,
                        size_t len, struct bt_time now);
    void (*tick)(void *node, struct bt_time now);
    uint64_t (*next_deadline)(const void *node);
    /* bt_node_pop_output, bt_node_pop_event */
    bool (*pop_output)(void *node, struct bt_output *out);
    bool (*pop_event)(void *node, struct bt_event *ev);
    /* bt_node_members, bt_node_membership_digest */
    size_t (*members)(const void *node, struct bt_member_info *out, size_t cap);
    uint64_t (*digest)(const void *node);
};

/* The real core (core_ops.c). */
extern const struct bt_sim_node_ops bt_sim_core_ops;

#define BT_SIM_MAX_NODES 10000

struct bt_sim_config {
    uint64_t seed;                /* the whole run derives from it */
    uint32_t nodes;               /* 1..BT_SIM_MAX_NODES */
    enum bt_profile profile;      /* handed to every node */
    uint32_t latency_min_ms;      /* datagram and stream latency, uniform in */
    uint32_t latency_max_ms;      /*   [min, max] per message */
    double loss;                  /* datagram loss probability, [0, 1) */
    double dup;                   /* datagram duplication probability, [0, 1] */
    double reorder;               /* probability that a datagram is held back an
                                     extra 1..max(10, 4*latency_max) ms */
    uint32_t skew_ms;             /* wall-clock offsets uniform in [-skew, skew] */
    uint32_t drift_ppm;           /* wall-clock drift uniform in [-drift, drift] ppm */
    uint64_t max_clock_offset_ms; /* handed to every node (DESIGN.md §1 fix 5) */
    uint32_t check_ms;            /* convergence check period; 0: 10 ms up to 100
                                     nodes, 100 ms above */
    /* Invariant bounds; 0 derives them from the profile (docs/simulator.md). */
    uint64_t converge_bound_ms;   /* converged this soon after the last fault */
    uint64_t detect_bound_ms;     /* every crash detected this soon */
    uint64_t fp_grace_ms;         /* a fault excuses deaths for this long after it ends */
    uint32_t backlog_max;         /* datagrams queued for a paused node; beyond: dropped */
    FILE *log;                    /* progress lines (borrowed); NULL: silent */
    int verbosity;                /* 1 milestones, 2 every fault, 3 membership events */
    const struct bt_sim_node_ops *ops; /* borrowed; required */
};

/* Fills cfg with the documented defaults for a profile: 5 nodes, seed 1,
 * latencies local 1:1, lan 1:3, wan 10:150 ms, no loss, bounds derived.
 * ops stays NULL. */
void bt_sim_config_defaults(struct bt_sim_config *cfg, enum bt_profile profile);

/* Fills the invariant bounds cfg leaves at 0 from its profile's membership
 * timings (swim.h) and its size n (bt_sim_new does it too):
 *   S  = suspicion_max_mult * suspicion_mult * max(1, log10 n) * probe_interval
 *        (the longest suspicion timeout, before any confirmation),
 *   P  = pushpull_interval * (1 + ceil(log2(n / 32))) above 32 nodes
 *        (the anti-entropy period; jittered up to 1.5 P),
 *   detect_bound = fp_grace = 2 S + 2 awareness_max * probe_interval + 10 latency_max
 *        (twice the longest suspicion, plus probe periods slowed by the
 *        worst Lifeguard health multiplier),
 *   converge_bound = detect_bound + 2 reconnect_interval + 1.5 P
 *        (a dissemination that missed a node is repaired by push-pull). */
void bt_sim_config_derive(struct bt_sim_config *cfg);

/* The state of a node slot as the simulator (the truth) sees it. */
enum bt_sim_node_state {
    BT_SIM_RUNNING, /* a live process */
    BT_SIM_PAUSED,  /* a stopped process: receives into a backlog, runs nothing */
    BT_SIM_CRASHED, /* no process */
    BT_SIM_LEAVING, /* announced a graceful leave, still gossiping */
    BT_SIM_LEFT,    /* left gracefully; no process */
};

/* Counters and samples of one run. */
struct bt_sim_stats {
    uint64_t virtual_ms;         /* virtual time at the end */
    uint64_t datagrams_sent;     /* BT_OUT_PACKET outputs */
    uint64_t datagram_bytes;
    uint64_t stream_msgs_sent;   /* BT_OUT_STREAM outputs */
    uint64_t stream_bytes;
    uint64_t streams_opened;     /* stream outputs with conn 0 */
    uint64_t delivered;          /* messages handed to a node (backlog included) */
    uint64_t dropped_loss;       /* datagrams lost at random */
    uint64_t dropped_partition;  /* messages refused by a blocked link */
    uint64_t dropped_down;       /* messages to a crashed/left node or a dead stream */
    uint64_t dropped_backlog;    /* datagrams beyond a paused node's backlog */
    uint64_t duplicated;         /* extra datagram copies */
    uint64_t reordered;          /* datagrams held back */
    uint64_t bad_address;        /* outputs to an address that is no node */
    uint64_t ticks;              /* bt_node_tick calls */
    /* Node events by kind (enum bt_event_kind). */
    uint64_t ev_up, ev_suspect, ev_alive, ev_dead, ev_left, ev_conflict;
    /* Faults applied: crashes, restarts, pauses, partitions (splits),
     * one-way cuts, loss bursts, graceful leaves. */
    uint64_t crashes, restarts, pauses, partitions, oneway_blocks, loss_bursts, leaves;
    struct bt_samples detection; /* ms from a crash until every live node marked it dead */
    uint64_t detection_superseded; /* crashes restarted before every node noticed */
    uint64_t detection_by_view;  /* detections completed by the convergence check
                                    because some observer dropped the member
                                    without a BT_EV_MEMBER_DEAD event */
    uint64_t false_positive_deaths;
    bool converged;              /* converged after the last fault */
    uint64_t convergence_ms;     /* ...this long after it (valid when converged) */
    uint64_t last_fault_ms;      /* virtual time of the last fault (0: none) */
    bool converged_at_end;       /* the convergence check passes at the very end */
};

/* Creates the cluster: every node starts and joins at virtual time 0
 * (seeds: n0 and two random others). cfg is copied. Returns NULL on a bad
 * config or out of memory. */
struct bt_sim *bt_sim_new(const struct bt_sim_config *cfg);
void bt_sim_free(struct bt_sim *sim);

/* The configuration in force (bounds derived). */
const struct bt_sim_config *bt_sim_config(const struct bt_sim *sim);
uint64_t bt_sim_now(const struct bt_sim *sim);
uint32_t bt_sim_size(const struct bt_sim *sim);
/* The fault-schedule stream: scenarios draw their choices from it. */
struct bt_prng *bt_sim_rng(struct bt_sim *sim);

/* --- running ------------------------------------------------------------ */

/* Processes every event due at or before t, then sets the clock to t. */
void bt_sim_run_until(struct bt_sim *sim, uint64_t t);
void bt_sim_run_for(struct bt_sim *sim, uint64_t ms);
/* Runs until the convergence check passes or timeout_ms pass; returns
 * whether it converged. */
bool bt_sim_wait_converged(struct bt_sim *sim, uint64_t timeout_ms);
/* Whether the latest convergence check passed. */
bool bt_sim_is_converged(const struct bt_sim *sim);
/* Calls fn(sim, arg) at now + delay_ms, between events. Returns 0 or
 * BATON_ENOMEM. */
int bt_sim_after(struct bt_sim *sim, uint64_t delay_ms, void (*fn)(struct bt_sim *, uint64_t),
                 uint64_t arg);
/* Ends the run: if the cluster has not converged since the last fault, runs
 * on (no new faults) until it does or the convergence bound passes; then
 * judges the end-of-run invariants. Call once, after the scenario. */
void bt_sim_finish(struct bt_sim *sim);

/* --- node faults (each returns 0 or BATON_EINVAL when the node's state does
 * not allow it) ------------------------------------------------------------ */

/* The process dies: its state and in-flight stream messages are lost. */
int bt_sim_crash(struct bt_sim *sim, uint32_t i);
/* A crashed or left node starts again: same name and address, new boot id,
 * joins through its seeds. */
int bt_sim_restart(struct bt_sim *sim, uint32_t i);
/* A running process stops (SIGSTOP): datagrams queue up to backlog_max. */
int bt_sim_pause(struct bt_sim *sim, uint32_t i);
/* It continues: overdue timers run first, then the backlog, in order. */
int bt_sim_resume(struct bt_sim *sim, uint32_t i);
/* Graceful leave: the node announces it and is stopped once it reports
 * bt_node_left(). */
int bt_sim_leave(struct bt_sim *sim, uint32_t i);

enum bt_sim_node_state bt_sim_node_state(const struct bt_sim *sim, uint32_t i);
uint64_t bt_sim_boot_id(const struct bt_sim *sim, uint32_t i);
/* The node object (borrowed; NULL when no process runs), for calls the
 * simulator does not wrap. After calling into it, call bt_sim_poke(). */
void *bt_sim_node(struct bt_sim *sim, uint32_t i);
/* Drains node i's outputs and events and reschedules its timer. */
void bt_sim_poke(struct bt_sim *sim, uint32_t i);

/* --- network faults ------------------------------------------------------ */

/* Symmetric partition: nodes with different side[i] (side has one entry per
 * node, copied) cannot exchange messages. Replaces any earlier partition;
 * side NULL ends it (one-way cuts stay). */
void bt_sim_partition(struct bt_sim *sim, const uint8_t *side);
/* Bumped by every bt_sim_partition that changes something: a delayed heal
 * can check that the partition it meant is still the one in force. */
uint64_t bt_sim_partition_gen(const struct bt_sim *sim);
/* One-way cut: messages from `from` to `to` are dropped; the reverse flows. */
void bt_sim_block(struct bt_sim *sim, uint32_t from, uint32_t to);
void bt_sim_unblock(struct bt_sim *sim, uint32_t from, uint32_t to);
/* Ends the partition and every one-way cut. */
void bt_sim_heal(struct bt_sim *sim);
/* Sets the datagram loss probability; above the configured loss it is a
 * fault (a loss burst) until set back. */
void bt_sim_set_loss(struct bt_sim *sim, double loss);
bool bt_sim_link_open(const struct bt_sim *sim, uint32_t from, uint32_t to);
/* Whether any partition, one-way cut or loss burst is in force. */
bool bt_sim_network_faulty(const struct bt_sim *sim);

/* --- results ------------------------------------------------------------- */

/* Counters so far (final after bt_sim_finish). */
struct bt_sim_stats *bt_sim_stats(struct bt_sim *sim);
/* Records an invariant failure "name: detail". */
void bt_sim_violation(struct bt_sim *sim, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How many violations were recorded; the first BT_SIM_MAX_VIOLATIONS are
 * kept as strings (borrowed, valid until bt_sim_free). */
#define BT_SIM_MAX_VIOLATIONS 32
size_t bt_sim_violation_count(const struct bt_sim *sim);
const char *bt_sim_violation_text(const struct bt_sim *sim, size_t k);
/* Appends the run's fields (without braces) to an open JSON object. */
void bt_sim_report_json(struct bt_sim *sim, struct bt_json *j);
/* A progress line "t=<ms> <text>" when verbosity >= level. */
void bt_sim_log(const struct bt_sim *sim, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
