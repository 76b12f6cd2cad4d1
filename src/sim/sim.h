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
 * With cfg.names > 0 it also runs the election on top (election*.c, resource.c, sessions.c): sessions on
 * each node campaign for names "name-0".."name-<K-1>", every session that
 * believes it leads writes to a simulated resource per name guarded by the
 * real fence guard (include/baton/guard.h), and the election invariants of
 * docs/simulator.md (agreement, fencing, no stale term, monotonic tokens,
 * stability, bounded state) are checked as the run goes.
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
    /* The election (node.h), all optional: a simulation with names > 0
     * needs every one of them; fakes without them run with names = 0. */
    int (*lead)(void *node, uint64_t session, const struct bt_name *name, int64_t priority,
                struct bt_time now, uint64_t *fence);
    int (*resign)(void *node, const struct bt_name *name, struct bt_time now);
    int (*session_end)(void *node, uint64_t session, struct bt_time now);
    int (*leader)(const void *node, const struct bt_name *name, struct bt_nodeid *leader,
                  uint64_t *candidate_id);
    bool (*is_leader)(const void *node, const struct bt_name *name);
    int (*fence)(const void *node, const struct bt_name *name, uint64_t *fence,
                 struct bt_minter *minter);
    size_t (*candidates)(const void *node, const struct bt_name *name, struct bt_nodeid *out,
                         size_t cap);
    int (*high_water)(const void *node, const struct bt_name *name, uint64_t *token);
    /* bt_node_marks_version: high_water's answers are read again only when
     * it moved (optional: NULL, they are read every time). */
    uint64_t (*marks_version)(const void *node);
    /* bt_node_observe_fence: the simulated application reports every
     * refusal's mark (token and minter) with it (optional: NULL, it does
     * not). */
    int (*observe_fence)(void *node, const struct bt_name *name, uint64_t token,
                         const struct bt_minter *minter, struct bt_time now);
    /* bt_node_stats (the election part is read for bounded_state) */
    void (*stats)(const void *node, struct bt_node_stats *out);
    /* bt_node_addr_refused: a datagram or connection this node sent to addr
     * was refused (a crashed process on a host that stays up). Optional:
     * NULL, refusals are not delivered (as if every crash were silent). */
    void (*addr_refused)(void *node, const struct bt_addr *addr, struct bt_time now);
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
    uint64_t max_clock_offset_ms; /* handed to every node (docs/design.md §1 fix 5) */
    uint32_t check_ms;            /* convergence check period; 0: 10 ms up to 100
                                     nodes, 100 ms above */
    /* Invariant bounds; 0 derives them from the profile (docs/simulator.md). */
    uint64_t converge_bound_ms; /* converged this soon after the last fault */
    uint64_t detect_bound_ms;   /* every crash detected this soon */
    uint64_t fp_grace_ms;       /* a fault excuses deaths for this long after it ends */
    uint32_t backlog_max;       /* datagrams queued for a paused node; beyond: dropped */
    /* The election (election.c); names 0 runs membership alone. */
    uint32_t names;                    /* names campaigned on: "name-0".."name-<names-1>" */
    uint32_t campaigners;              /* nodes bt_sim_campaign_all() starts per name; 0: all */
    uint64_t campaign_spread_ms;       /* bt_sim_campaign_all() spreads its leads over this long */
    uint64_t write_interval_ms;        /* a believing leader writes this often; 0: never */
    uint64_t horizon_ms;               /* handed to every node (bt_node_config); 0: the core's */
    uint64_t agree_bound_ms;           /* every name agreed this soon after the last change;
                                     0: derived */
    uint64_t prop_bound_ms;            /* a candidacy or fence reaches every node this soon in a
                                     calm network; 0: derived */
    uint32_t elect_check_ms;           /* agreement, stability and state poll period; 0: derived */
    FILE *log;                         /* progress lines (borrowed); NULL: silent */
    int verbosity;                     /* 1 milestones, 2 every fault, 3 membership events */
    const struct bt_sim_node_ops *ops; /* borrowed; required */
    uint32_t name_bytes;               /* names are padded with '.' to this many bytes, up to
                                     BATON_NAME_MAX (0: "name-<k>" as is) */
    double host_crash;                 /* probability, [0, 1], that bt_sim_crash() is a host
                                     crash (its address silent) rather than a process
                                     crash (its host refuses datagrams and connects to
                                     it); default 0.5 */
    size_t chunk_above_bytes;          /* datagrams share their broadcasts' bytes (chunks.h)
                                     while this many payload bytes are in flight;
                                     default 64 MiB. The bytes delivered are the same */
};

/* Fills cfg with the documented defaults for a profile: 5 nodes, seed 1,
 * latencies local 1:1, lan 1:3, wan 10:150 ms, no loss, bounds derived,
 * no election (names 0; write interval 20 ms once names are set), chunks
 * above 64 MiB in flight. ops stays NULL. */
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
 *        (a dissemination that missed a node is repaired by push-pull),
 *   prop_bound = 1.5 P + 2 reconnect_interval + 20 latency_max
 *        (a broadcast that missed a node is repaired by push-pull),
 *   agree_bound = converge_bound + prop_bound, both as derived (overriding
 *        converge_bound does not shrink it): membership first, then the
 *        election state riding on it,
 *   elect_check_ms = max(check_ms, nodes * names / 25)
 *        (a poll asks every node about every name). */
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
    uint64_t virtual_ms;     /* virtual time at the end */
    uint64_t datagrams_sent; /* BT_OUT_PACKET outputs */
    uint64_t datagram_bytes;
    uint64_t stream_msgs_sent; /* BT_OUT_STREAM outputs */
    uint64_t stream_bytes;
    uint64_t streams_opened;    /* stream outputs with conn 0 */
    uint64_t delivered;         /* messages handed to a node (backlog included) */
    uint64_t dropped_loss;      /* datagrams lost at random */
    uint64_t dropped_partition; /* messages refused by a blocked link */
    uint64_t dropped_down;      /* messages to a crashed/left node or a dead stream */
    uint64_t dropped_backlog;   /* datagrams beyond a paused node's backlog */
    uint64_t duplicated;        /* extra datagram copies */
    uint64_t reordered;         /* datagrams held back */
    uint64_t bad_address;       /* outputs to an address that is no node */
    uint64_t ticks;             /* bt_node_tick calls */
    /* Node events by kind (enum bt_event_kind). */
    uint64_t ev_up, ev_suspect, ev_alive, ev_dead, ev_left, ev_conflict;
    /* Faults applied: crashes, restarts, pauses, partitions (splits),
     * one-way cuts, loss bursts, graceful leaves. */
    uint64_t crashes, restarts, pauses, partitions, oneway_blocks, loss_bursts, leaves;
    struct bt_samples detection;   /* ms from a crash until every live node marked it dead */
    uint64_t detection_superseded; /* crashes restarted before every node noticed */
    uint64_t detection_by_view;    /* detections completed by the convergence check
                                    because some observer dropped the member
                                    without a BT_EV_MEMBER_DEAD event */
    uint64_t false_positive_deaths;
    bool converged;          /* converged after the last fault */
    uint64_t convergence_ms; /* ...this long after it (valid when converged) */
    uint64_t last_fault_ms;  /* virtual time of the last fault (0: none) */
    bool converged_at_end;   /* the convergence check passes at the very end */
    /* The election (zero when names is 0). */
    struct bt_samples failover;      /* ms from a leader's crash until every running node agrees
                                    on the new leader (clean cases only, docs/simulator.md) */
    struct bt_samples handover;      /* the same from a leader's resign, session end or leave */
    struct bt_samples propagation;   /* ms from a lead() until every running node lists it */
    uint64_t watches_superseded;     /* failovers/handovers not timed: a fault or another
                                    change of the name came first */
    uint64_t propagation_superseded; /* candidacies not timed: ended, or a fault came first */
    uint64_t
        propagation_pending;  /* candidacies that had not reached every node when the run ended */
    uint64_t campaigns;       /* successful bt_sim_lead calls */
    uint64_t resigns;         /* successful bt_sim_resign calls */
    uint64_t session_ends;    /* bt_sim_session_end calls */
    uint64_t leader_changes;  /* sessions that started to believe they lead: lead()
                                    returned leader, or BT_EV_ELECTED */
    uint64_t revocations;     /* BT_EV_REVOKED events */
    uint64_t writes_sent;     /* writes the believing leaders sent */
    uint64_t writes_accepted; /* ...that the resource accepted */
    uint64_t writes_rejected; /* ...that it refused (stale token or session) */
    uint64_t writes_rejected_unknown; /* refused writes of the converged leader because the
                                    resource admitted a token no running node knows */
    uint64_t refusals_observed;       /* refusals the application reported back to its node
                                    (bt_node_observe_fence) */
    uint64_t late_writes;             /* writes a paused leader sent the moment it resumed */
    uint64_t late_writes_accepted;    /* ...accepted (no newer term had been admitted) */
    uint64_t terms_admitted;          /* tokens the resource admitted */
    bool agreed;                      /* every name agreed after the last change */
    uint64_t agreement_ms;            /* ...this long after it (valid when agreed) */
    uint64_t last_change_ms;       /* the later of the last fault and the last candidacy change */
    size_t max_entries;            /* greatest candidate-map size seen on a node */
    size_t max_tombstones;         /* greatest tombstone count seen on a node */
    size_t max_high_water_marks;   /* greatest high-water mark count seen on a node */
    bool gc_observed;              /* tombstones were required to be gone (every removal
                                    older than the GC window) and were */
    uint64_t ev_stopped;           /* BT_EV_STOPPED events (processes that stopped) */
    uint64_t twins;                /* twin processes started (bt_sim_start_twin) */
    uint64_t revocations_uncaused; /* BT_EV_REVOKED events nothing explains (the
                                    `revocation` invariant; docs/simulator.md) */
    uint64_t host_crashes;         /* crashes that took the host down (silent); the
                                    others were process crashes (refusing) */
    uint64_t refusals_sent;        /* refusals a refusing address sent back */
    uint64_t refusals_delivered;   /* ...handed to the sender (bt_node_addr_refused) */
};

/* Creates the cluster: every node starts and joins at virtual time 0
 * (seeds: n0 and two random others). cfg is copied. Returns NULL on a bad
 * config (names > 0 needs every election op) or out of memory. */
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

/* The process dies: its state and in-flight stream messages are lost. With
 * probability host_crash its host goes down with it (datagrams and connects
 * to its address vanish); otherwise only the process does, and its host
 * refuses them (docs/simulator.md, "Crashes"). */
int bt_sim_crash(struct bt_sim *sim, uint32_t i);
/* The same, with the kind chosen: host true, a host crash; false, a process
 * crash. */
int bt_sim_crash_kind(struct bt_sim *sim, uint32_t i, bool host);
/* on: a (re)start of a process no longer excuses deaths of or by it for
 * fp_grace (false_positive_death, docs/simulator.md): on a network with no
 * fault but random loss, nothing may declare a running process dead, however
 * new (the bounce scenario). Off by default. */
void bt_sim_strict_restarts(struct bt_sim *sim, bool on);
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
/* A twin: crashed or left slot i starts a process named like node `of`
 * (i != of), at i's own address, with a new boot: two live processes with
 * one name (docs/membership.md, one process per name). It joins through up
 * to three running nodes it can reach now. The name conflict that follows is
 * legitimate: the process that loses reports BT_EV_STOPPED and the
 * simulator ends it (slot state BT_SIM_CRASHED, bt_sim_stop_error() says
 * why). A later bt_sim_restart(i) starts slot i under its own name again.
 * Returns 0 or BATON_EINVAL. */
int bt_sim_start_twin(struct bt_sim *sim, uint32_t i, uint32_t of);
/* The error of the BT_EV_STOPPED that ended slot i's last process, or 0. */
int bt_sim_stop_error(const struct bt_sim *sim, uint32_t i);

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
/* --- the election (names > 0; see sessions.c) ----------------------------
 * Names are indices 0..names-1 ("name-<k>"). A session is a nonzero id,
 * unique in the whole run, owned by one node process: it dies with the
 * process (crash, leave) and is never reused. A node holds at most one
 * campaign per name (the core refuses a second: BATON_EALREADY). Each call
 * below drives the node and services it (outputs leave, events are checked).
 * Node faults act on sessions too: a crash or a leave ends every campaign of
 * the node; a paused node's sessions keep their belief and stop writing. */

uint32_t bt_sim_names(const struct bt_sim *sim);
/* The name of index k (borrowed), or NULL. */
const struct bt_name *bt_sim_name(const struct bt_sim *sim, uint32_t k);
/* Opens a new session on node i (running). Returns its id, or 0. */
uint64_t bt_sim_session_new(struct bt_sim *sim, uint32_t i);
/* Node i campaigns for name k with priority in session (one of node i's
 * open sessions; 0 opens a new one). *session_out (optional) gets the
 * session, *fence (optional) the term token when it leads at once. Returns
 * 1 (leader), 0 (follower) or BATON_EINVAL (node not running, bad name or
 * session), BATON_EALREADY (already campaigning), or what the core
 * returned. */
int bt_sim_lead(struct bt_sim *sim, uint32_t i, uint32_t k, int64_t priority, uint64_t session,
                uint64_t *session_out, uint64_t *fence);
/* Node i withdraws its candidacy for k. Returns 0, BATON_EINVAL, BATON_ENOENT. */
int bt_sim_resign(struct bt_sim *sim, uint32_t i, uint32_t k);
/* Session ends on node i: every campaign it holds is withdrawn. Returns how
 * many, or BATON_EINVAL. */
int bt_sim_session_end(struct bt_sim *sim, uint32_t i, uint64_t session);
/* Node i's open sessions: copies up to cap ids, returns how many. */
size_t bt_sim_sessions(const struct bt_sim *sim, uint32_t i, uint64_t *out, size_t cap);
/* The session of node i's campaign for k, or 0 when it does not campaign. */
uint64_t bt_sim_campaign_session(const struct bt_sim *sim, uint32_t i, uint32_t k);
/* Whether node i's campaign for k believes it leads; *token its term. */
bool bt_sim_believes(const struct bt_sim *sim, uint32_t i, uint32_t k, uint64_t *token);
/* The truth: the winner of docs/design.md §1 among the campaigns of live
 * processes (highest priority, then lowest node name, bytewise). Returns
 * false when nobody campaigns for k. */
bool bt_sim_true_leader(const struct bt_sim *sim, uint32_t k, uint32_t *node, uint64_t *session);
/* Node i's view: 0 with *node (index) and *session, BATON_ENOLEADER, or
 * BATON_EINVAL (no process, or a leader that is no node). */
int bt_sim_leader_view(struct bt_sim *sim, uint32_t i, uint32_t k, uint32_t *node,
                       uint64_t *session);
/* Whether name k is agreed (docs/simulator.md, agreement): every node runs
 * (none paused or leaving), each reports the true leader, exactly that
 * session believes it leads, with the node's current term, at or above
 * every node's high-water mark. On false, why (optional) says what is not. */
bool bt_sim_agreed(struct bt_sim *sim, uint32_t k, char *why, size_t whylen);
/* Runs until name k (every name when k is UINT32_MAX) is agreed or
 * timeout_ms pass, checking every check_ms; returns whether it is. */
bool bt_sim_wait_agreed(struct bt_sim *sim, uint32_t k, uint64_t timeout_ms);
/* The initial campaigns: for every name, cfg.campaigners running nodes
 * picked at random (every running node when 0) campaign with priority 0,
 * each node in one new session holding all its names, at times spread
 * uniformly over cfg.campaign_spread_ms (all now when 0). */
void bt_sim_campaign_all(struct bt_sim *sim);
/* Every running node that does not campaign for a name starts to, with
 * priority 0, in one new session per node. */
void bt_sim_campaign_everywhere(struct bt_sim *sim);
/* The resource of name k: the greatest token its guard admitted (0: none). */
uint64_t bt_sim_resource_high_water(const struct bt_sim *sim, uint32_t k);

/* Appends the run's fields (without braces) to an open JSON object. */
void bt_sim_report_json(struct bt_sim *sim, struct bt_json *j);
/* A progress line "t=<ms> <text>" when verbosity >= level. */
void bt_sim_log(const struct bt_sim *sim, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
