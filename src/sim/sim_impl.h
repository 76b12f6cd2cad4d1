/*
 * The simulator's internals, shared by sim.c (event loop, network, node
 * lifecycle, faults), check.c (the membership invariants) and elect.c (the
 * election: sessions, the fenced resource and the election invariants). Not
 * for scenarios or tests: they use sim.h.
 */
#ifndef BT_SIM_IMPL_H
#define BT_SIM_IMPL_H

#include "sim/heap.h"
#include "sim/prng.h"
#include "sim/sim.h"

/* What a heap entry is; every agenda object starts with a struct sim_item. */
enum sim_item_kind {
    SIM_ITEM_DATAGRAM, /* a struct sim_msg in flight, unreliable */
    SIM_ITEM_STREAM,   /* a struct sim_msg in flight on a connection */
    SIM_ITEM_TICK,     /* a node's timer (embedded in struct sim_node) */
    SIM_ITEM_CHECK,    /* the periodic invariant check (embedded in struct bt_sim) */
    SIM_ITEM_TIMER,    /* a struct sim_timer: a scenario action */
    SIM_ITEM_WRITE,    /* a write on its way to the resource (elect.c owns it) */
    SIM_ITEM_REFUSAL,  /* a struct sim_msg (len 0): from's address refused a datagram or
                          connect of to's process (conn: that process's gen) */
};

struct sim_item {
    struct bt_sim_heap_entry h; /* must stay first */
    enum sim_item_kind kind;
};

struct sim_msg {
    struct sim_item item;  /* SIM_ITEM_DATAGRAM or SIM_ITEM_STREAM */
    struct sim_msg *next;  /* next in a paused node's backlog */
    uint32_t from;         /* sending node index */
    uint32_t to;           /* receiving node index */
    uint64_t conn;         /* stream connection id; 0 for a datagram */
    uint8_t end;           /* stream: the receiving end of conn (0 opener, 1 acceptor) */
    size_t len;            /* payload bytes */
    uint32_t from_gen;     /* the sending process (its node's gen when sent) */
    uint8_t data[];        /* the payload, copied from the sender's output */
};

struct sim_timer {
    struct sim_item item;                  /* SIM_ITEM_TIMER */
    void (*fn)(struct bt_sim *, uint64_t); /* the action */
    uint64_t arg;                          /* its argument */
};

/* A reliable connection between two node processes, opened by end[0]. */
struct sim_conn {
    uint32_t end[2];     /* node indices: opener, acceptor */
    uint32_t gen[2];     /* the processes (boot counts) it binds; a restart kills it */
    uint64_t last_at[2]; /* latest delivery time scheduled toward end[k], for FIFO order */
    bool broken;         /* a partition cut it: every later message is dropped */
};

struct sim_node {
    uint32_t index;           /* position in bt_sim.nodes */
    void *node;               /* the process; NULL when crashed or left */
    enum bt_sim_node_state state;
    uint32_t gen;             /* process starts so far; 0 before the first */
    uint64_t boot_id;         /* of the current (or last) process */
    struct bt_prng rng;       /* the process's random stream */
    struct bt_nodeid name;    /* "n<i>" */
    struct bt_addr addr;      /* "n<i>" */
    uint64_t mono_origin;     /* mono_ms = virtual + mono_origin (machine uptime) */
    int64_t wall_offset_ms;   /* wall_ms = epoch + virtual + offset + drift */
    int32_t drift_ppm;
    struct sim_item tick;     /* SIM_ITEM_TICK, queued at the node's next deadline */
    uint64_t tick_vt;         /* virtual time of the last tick, for the livelock guard */
    uint32_t ticks_at_vt;     /* ticks at tick_vt so far */
    struct sim_msg *backlog;  /* messages that arrived while paused, oldest first */
    struct sim_msg *backlog_tail;
    uint32_t backlog_len;     /* datagrams in backlog */
    uint8_t side;             /* partition side */
    uint32_t cuts;            /* one-way cuts from or to this node in force */
    uint64_t excused_until;   /* deaths of or by this node are excused before this
                                 virtual time (a fault touching it ended recently) */
    uint32_t name_of;         /* the node whose name the process carries: index, or
                                 another node's for a twin (bt_sim_start_twin) */
    bool refuses;             /* no process, and the host refuses its address (a
                                 process crash, a stop, or a leave) */
    uint64_t restarted_until; /* deaths of or by this node are excused before this
                                 virtual time because its process (re)started
                                 recently; not under bt_sim_strict_restarts */
    int stopped_error;        /* error of the BT_EV_STOPPED its process reported; 0: none */
};

/* What check.c keeps per node. */
struct sim_watch {
    bool open;              /* a crash of this node is being timed */
    uint64_t crashed_at;    /* when */
    uint64_t boot_id;       /* of the crashed process */
    uint32_t pending;       /* live observers that have not marked it dead */
    bool marked;            /* some observer marked it dead */
    uint64_t last_marked_at; /* when the latest one did */
    uint8_t *pending_bits;  /* one bit per observer; NULL when not open */
};

struct bt_sim {
    struct bt_sim_config cfg;
    uint64_t now;                  /* virtual ms */
    struct bt_sim_heap agenda;
    struct bt_prng net_rng;        /* latency, loss, duplication, reordering */
    struct bt_prng fault_rng;      /* scenario choices, seeds, clock offsets */
    struct bt_prng refuse_rng;     /* crash kinds, and the refusals' latency and loss */
    struct sim_node *nodes;        /* cfg.nodes slots */
    uint32_t n;
    uint8_t *cut_bits;             /* n*n bits: one-way cut from row to column */
    uint32_t cut_count;            /* one-way cuts in force */
    bool partitioned;              /* some side differs from another */
    double loss;                   /* current datagram loss */
    uint64_t net_excused_until;    /* every death is excused before this time (a
                                      partition or loss burst ended recently) */
    uint64_t partition_gen;        /* bumped by every bt_sim_partition */
    uint64_t net_calm_since;       /* when a partition, cut or loss burst last ended */
    uint64_t reorder_max_ms;       /* extra delay bound for held-back datagrams */
    struct sim_conn *conns;        /* conns[id - 1] */
    size_t nconns, conns_cap;
    struct sim_item check;         /* SIM_ITEM_CHECK */
    uint32_t check_ms;
    bool waiting_converged;        /* bt_sim_wait_converged is running */
    bool stop;                     /* leave the event loop now */
    bool finished;                 /* bt_sim_finish ran */
    bool oom;                      /* an allocation failed: the run is void */
    bool stream_too_long_reported; /* bad_output for a stream message past BT_STREAM_MSG_MAX given */
    struct bt_sim_stats stats;
    char *violations[BT_SIM_MAX_VIOLATIONS];
    size_t nviolations;            /* recorded, possibly more than kept */
    /* check.c */
    uint8_t *view_bits;            /* n rows of row_bytes: row's view holds column
                                      alive or suspect, from its events */
    size_t row_bytes;              /* (n + 7) / 8 */
    uint8_t *seen;                 /* n bytes of scratch for the convergence check */
    bool livelock_reported;        /* a tick livelock was already recorded */
    char last_why[256];            /* verbosity 3: the last non-convergence reason logged */
    struct sim_watch *watch;       /* per node */
    uint32_t open_watches;
    bool converged_now;            /* the latest check passed */
    bool epoch_converged;          /* converged since the last fault */
    struct bt_member_info *members; /* scratch for bt_node_members, n + 16 slots */
    size_t members_cap;
    uint64_t fault_count;          /* bt_sim_fault_now calls so far */
    /* elect.c: everything about sessions and the resource; NULL when
     * cfg.names is 0. */
    struct sim_elect *elect;
    bool strict_restarts;          /* bt_sim_strict_restarts: restarts excuse no death */
};

/* sim.c */
struct bt_time bt_sim_node_time(const struct bt_sim *sim, const struct sim_node *sn);
/* Parses "n<i>" (no leading zeros) into a node index < n; -1 otherwise. */
int64_t bt_sim_parse_index(const struct bt_sim *sim, const char *s, size_t len);
/* Marks a fault happening now: convergence is timed from the last one. */
void bt_sim_fault_now(struct bt_sim *sim);
/* The slot whose process carries node name m (m < n): a running, paused or
 * leaving slot with name_of == m (the first, when a twin runs too), else m. */
uint32_t bt_sim_holder(const struct bt_sim *sim, uint32_t m);
/* How many slots with a process carry node name m. */
uint32_t bt_sim_carriers(const struct bt_sim *sim, uint32_t m);
/* Whether name m was ever given to a twin (bt_sim_start_twin). */
bool bt_sim_name_twinned(const struct bt_sim *sim, uint32_t m);

/* check.c */
int bt_sim_check_init(struct bt_sim *sim);
void bt_sim_check_destroy(struct bt_sim *sim);
void bt_sim_check_event(struct bt_sim *sim, struct sim_node *observer, const struct bt_event *ev);
/* The process of sn ended: crashed (a crash to time) or left gracefully. */
void bt_sim_check_stopped(struct bt_sim *sim, struct sim_node *sn, bool crashed);
void bt_sim_check_started(struct bt_sim *sim, struct sim_node *sn);
void bt_sim_check_paused(struct bt_sim *sim, struct sim_node *sn);
void bt_sim_check_periodic(struct bt_sim *sim);
/* Whether every live node has the same digest and its view matches the
 * truth; on failure writes the first reason into why (may be NULL). */
bool bt_sim_check_converged(struct bt_sim *sim, char *why, size_t whylen);
void bt_sim_check_finish(struct bt_sim *sim);

/* elect.c. Every hook is a no-op when sim->elect is NULL. */
int bt_sim_elect_init(struct bt_sim *sim);
void bt_sim_elect_destroy(struct bt_sim *sim);
/* A process of sn started (before it joins). */
void bt_sim_elect_started(struct bt_sim *sim, struct sim_node *sn);
/* Before a crash or leave of sn: note which of its campaigns lead an agreed
 * name, so that their end opens a failover or handover timing. */
void bt_sim_elect_prepare_end(struct bt_sim *sim, struct sim_node *sn);
/* sn's campaigns ended with its process (crash) or its leave (every
 * candidacy withdrawn by bt_node_leave). */
void bt_sim_elect_node_ended(struct bt_sim *sim, struct sim_node *sn, bool crashed);
void bt_sim_elect_paused(struct bt_sim *sim, struct sim_node *sn);
/* sn resumes: before it runs anything, its believing sessions send the write
 * they were making when it stopped. */
void bt_sim_elect_resuming(struct bt_sim *sim, struct sim_node *sn);
/* BT_EV_ELECTED or BT_EV_REVOKED from observer's node. */
void bt_sim_elect_event(struct bt_sim *sim, struct sim_node *sn, const struct bt_event *ev);
/* sn processed a call and its outputs and events were drained. */
void bt_sim_elect_serviced(struct bt_sim *sim, struct sim_node *sn);
/* A fault happened now (bt_sim_fault_now). */
void bt_sim_elect_fault(struct bt_sim *sim);
void bt_sim_elect_periodic(struct bt_sim *sim);
/* A SIM_ITEM_WRITE reached the resource; frees it. */
void bt_sim_elect_write_arrives(struct bt_sim *sim, struct sim_item *item);
/* bt_sim_finish: whether the election has settled since the last change,
 * and until when it may still take. */
bool bt_sim_elect_settled(const struct bt_sim *sim);
uint64_t bt_sim_elect_deadline(const struct bt_sim *sim);
void bt_sim_elect_finish(struct bt_sim *sim);
void bt_sim_elect_report_json(struct bt_sim *sim, struct bt_json *j);

static inline bool bt_sim_bit(const uint8_t *bits, size_t k)
{
    return (bits[k >> 3] >> (k & 7)) & 1;
}

static inline void bt_sim_bit_set(uint8_t *bits, size_t k, bool v)
{
    if (v)
        bits[k >> 3] |= (uint8_t)(1u << (k & 7));
    else
        bits[k >> 3] &= (uint8_t)~(1u << (k & 7));
}

#endif
