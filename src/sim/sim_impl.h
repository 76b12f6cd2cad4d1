/*
 * The simulator's internals, shared by engine.c (event loop, construction,
 * report), network.c (the network model and its faults), process.c (node
 * processes and their faults), membership_check.c (the membership
 * invariants) and the election's files (election_impl.h: the
 * election: sessions, the fenced resource and the election invariants). Not
 * for scenarios or tests: they use sim.h.
 */
#ifndef BT_SIM_IMPL_H
#define BT_SIM_IMPL_H

#include "sim/chunks.h"
#include "sim/heap.h"
#include "sim/prng.h"
#include "sim/sim.h"

/* What a heap entry is; every agenda object starts with a struct sim_item,
 * which carries the callback that handles it when its time comes. The kind
 * says who frees it (bt_sim_free frees the allocated ones still queued) and
 * tells a datagram from a stream message. */
enum sim_item_kind {
    SIM_ITEM_DATAGRAM, /* a struct sim_msg in flight, unreliable */
    SIM_ITEM_STREAM,   /* a struct sim_msg in flight on a connection */
    SIM_ITEM_TICK,     /* a node's timer (embedded in struct sim_node) */
    SIM_ITEM_CHECK,    /* the periodic invariant check (embedded in struct bt_sim) */
    SIM_ITEM_TIMER,    /* a struct sim_timer: a scenario action */
    SIM_ITEM_WRITE,    /* a write on its way to the resource (resource.c owns it) */
    SIM_ITEM_REFUSAL,  /* a struct sim_msg (len 0): from's address refused a datagram or
                          connect of to's process (conn: that process's gen) */
};

struct sim_item {
    struct bt_sim_heap_entry h; /* must stay first */
    enum sim_item_kind kind;
    /* Handles the item once the clock reached it; it was popped from the
     * agenda already, and the callback frees or requeues it. */
    void (*fire)(struct bt_sim *sim, struct sim_item *item);
};

/* A message's payload is its head, held inline after the chunk pointers,
 * then its chunks' bytes in order. Only a datagram has chunks: the
 * broadcasts it piggybacks, shared with every other message in flight
 * that carries the same bytes (chunks.h); the rest is its head. */
struct sim_msg {
    struct sim_item item;      /* SIM_ITEM_DATAGRAM, SIM_ITEM_STREAM or SIM_ITEM_REFUSAL */
    struct sim_msg *next;      /* next in a paused node's backlog */
    uint64_t conn;             /* stream connection id; 0 for a datagram */
    size_t len;                /* payload bytes, head and chunks */
    uint32_t from;             /* sending node index */
    uint32_t to;               /* receiving node index */
    uint32_t from_gen;         /* the sending process (its node's gen when sent) */
    uint8_t end;               /* stream: the receiving end of conn (0 opener, 1 acceptor) */
    uint16_t nchunks;          /* a packet of BT_SWIM_PACKET_MAX bytes has fewer broadcasts */
    struct sim_chunk *chunk[]; /* then the head's bytes: len less the chunks' */
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
    uint32_t index; /* position in bt_sim.nodes */
    void *node;     /* the process; NULL when crashed or left */
    enum bt_sim_node_state state;
    uint32_t gen;           /* process starts so far; 0 before the first */
    uint64_t boot_id;       /* of the current (or last) process */
    struct bt_prng rng;     /* the process's random stream */
    struct bt_nodeid name;  /* "n<i>" */
    struct bt_addr addr;    /* "n<i>" */
    uint64_t mono_origin;   /* mono_ms = virtual + mono_origin (machine uptime) */
    int64_t wall_offset_ms; /* wall_ms = epoch + virtual + offset + drift */
    int32_t drift_ppm;
    struct sim_item tick;    /* SIM_ITEM_TICK, queued at the node's next deadline */
    uint64_t tick_vt;        /* virtual time of the last tick, for the livelock guard */
    uint32_t ticks_at_vt;    /* ticks at tick_vt so far */
    struct sim_msg *backlog; /* messages that arrived while paused, oldest first */
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
    uint64_t started_at;      /* virtual ms its current process started */
    uint64_t restarted_until; /* deaths of or by this node are excused before this
                                 virtual time because its process (re)started
                                 recently; not under bt_sim_strict_restarts */
    int stopped_error;        /* error of the BT_EV_STOPPED its process reported; 0: none */
};

/* What membership_check.c keeps per node: a crash being timed. */
struct sim_watch {
    bool open;               /* a crash of this node is being timed */
    uint64_t crashed_at;     /* when */
    uint64_t boot_id;        /* of the crashed process */
    uint32_t pending;        /* live observers that have not marked it dead */
    bool marked;             /* some observer marked it dead */
    uint64_t last_marked_at; /* when the latest one did */
    uint8_t *pending_bits;   /* one bit per observer; NULL when not open */
};

/*
 * A checker riding on the engine: the membership checker
 * (membership_check.c) and the election (election.c) each register one
 * with sim_observe. At every point of a run the engine calls that hook of
 * every observer, in the order they registered; a NULL hook is skipped.
 * The engine knows nothing else about them. Checkers see a node slot
 * read-only (const struct sim_node *): its state, process, clock and
 * excuses are the engine's to change.
 */
struct sim_observer {
    /* An event sn's process reported (sn is the observer node). */
    void (*event)(struct bt_sim *sim, const struct sim_node *sn, const struct bt_event *ev);
    /* A fault happens now (bt_sim_fault_now). */
    void (*fault)(struct bt_sim *sim);
    /* The periodic check, every check_ms. */
    void (*periodic)(struct bt_sim *sim);
    /* bt_sim_finish, once the run settled or its deadline passed. */
    void (*finish)(struct bt_sim *sim);
    /* Its fields of the JSON summary (bt_sim_report_json). */
    void (*report)(struct bt_sim *sim, struct bt_json *j);
    /* Node processes: one started (before it joins); one is about to end
     * by a crash or a leave; one ended (sn->state says how: crashed or
     * left; sn->stopped_error whether it stopped itself); one announced its
     * leave (every candidacy withdrawn); one paused; one is resuming
     * (before it runs anything); one made a call and its outputs and events
     * were drained. */
    void (*started)(struct bt_sim *sim, const struct sim_node *sn);
    void (*ending)(struct bt_sim *sim, const struct sim_node *sn);
    void (*stopped)(struct bt_sim *sim, const struct sim_node *sn);
    void (*leaving)(struct bt_sim *sim, const struct sim_node *sn);
    void (*paused)(struct bt_sim *sim, const struct sim_node *sn);
    void (*resuming)(struct bt_sim *sim, const struct sim_node *sn);
    void (*serviced)(struct bt_sim *sim, const struct sim_node *sn);
    /* bt_sim_finish runs on until every observer is settled (NULL: it is)
     * or the latest of their deadlines (virtual ms) passed. */
    bool (*settled)(const struct bt_sim *sim);
    uint64_t (*deadline)(const struct bt_sim *sim);
    /* bt_sim_free: free what it keeps. */
    void (*destroy)(struct bt_sim *sim);
};

/* Observers a simulator holds at most. */
#define SIM_MAX_OBSERVERS 4

/* Calls hook of every registered observer that has one, with the
 * arguments that follow. */
#define SIM_NOTIFY(sim, hook, ...)                                                                 \
    do {                                                                                           \
        for (uint32_t o_ = 0; o_ < (sim)->nobservers; o_++)                                        \
            if ((sim)->observers[o_]->hook != NULL)                                                \
                (sim)->observers[o_]->hook(__VA_ARGS__);                                           \
    } while (0)

struct bt_sim {
    struct bt_sim_config cfg;
    uint64_t now; /* virtual ms */
    struct bt_sim_heap agenda;
    struct bt_prng net_rng;    /* latency, loss, duplication, reordering */
    struct bt_prng fault_rng;  /* scenario choices, seeds, clock offsets */
    struct bt_prng refuse_rng; /* crash kinds, and the refusals' latency and loss */
    struct sim_node *nodes;    /* cfg.nodes slots */
    uint32_t n;
    uint8_t *cut_bits;          /* n*n bits: one-way cut from row to column */
    uint32_t cut_count;         /* one-way cuts in force */
    bool partitioned;           /* some side differs from another */
    double loss;                /* current datagram loss */
    uint64_t net_excused_until; /* every death is excused before this time (a
                                      partition or loss burst ended recently) */
    uint64_t partition_gen;     /* bumped by every bt_sim_partition */
    uint64_t net_calm_since;    /* when a partition, cut or loss burst last ended */
    uint64_t reorder_max_ms;    /* extra delay bound for held-back datagrams */
    struct sim_conn *conns;     /* conns[id - 1] */
    size_t nconns, conns_cap;
    struct sim_chunks chunks;   /* the broadcasts of the datagrams in flight */
    size_t datagram_bytes_held; /* payload bytes of the datagrams on the agenda */
    uint8_t *joined;            /* BT_SWIM_PACKET_MAX bytes: a chunked payload, joined */
    struct sim_item check;      /* SIM_ITEM_CHECK */
    uint32_t check_ms;
    bool waiting_converged; /* bt_sim_wait_converged is running */
    bool stop;              /* leave the event loop now */
    bool finished;          /* bt_sim_finish ran */
    bool oom;               /* an allocation failed: the run is void */
    bool
        stream_too_long_reported; /* bad_output for a stream message past BT_STREAM_MSG_MAX given */
    struct bt_sim_stats stats;
    char *violations[BT_SIM_MAX_VIOLATIONS];
    size_t nviolations; /* recorded, possibly more than kept */
    /* membership_check.c */
    uint8_t *view_bits;      /* n rows of row_bytes: row's view holds column
                                      alive or suspect, from its events */
    size_t row_bytes;        /* (n + 7) / 8 */
    uint8_t *seen;           /* n bytes of scratch for the convergence check */
    bool livelock_reported;  /* a tick livelock was already recorded */
    char last_why[256];      /* verbosity 3: the last non-convergence reason logged */
    struct sim_watch *watch; /* per node */
    uint32_t open_watches;
    bool converged_now;             /* the latest check passed */
    bool epoch_converged;           /* converged since the last fault */
    struct bt_member_info *members; /* scratch for bt_node_members, n + 16 slots */
    size_t members_cap;
    uint64_t fault_count; /* bt_sim_fault_now calls so far */
    /* election*.c: everything about sessions and the resource; NULL when
     * cfg.names is 0. */
    struct sim_elect *elect;
    /* The checkers riding on the engine (sim_observe), in call order. */
    const struct sim_observer *observers[SIM_MAX_OBSERVERS];
    uint32_t nobservers;
    bool strict_restarts; /* bt_sim_strict_restarts: restarts excuse no death */
};

/* engine.c, process.c */
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

/* engine.c: records the sim_out_of_memory violation (once) and voids the run. */
void sim_note_oom(struct bt_sim *sim);
/* Registers obs (static storage: the engine keeps the pointer); 0, or
 * BATON_EINVAL when SIM_MAX_OBSERVERS are registered already. */
int sim_observe(struct bt_sim *sim, const struct sim_observer *obs);
/* bt_sim_new in two halves, for cluster.c: a checked config becomes an
 * engine with no observer and no process yet (NULL: a bad config or no
 * memory); then, once the observers registered, every node's process
 * starts (0, or BATON_ENOMEM). */
struct bt_sim *sim_engine_new(const struct bt_sim_config *cfg);
int sim_engine_start(struct bt_sim *sim);

/* network.c */
/* Queues item on the agenda at virtual time at (an OOM voids the run). */
void sim_schedule(struct bt_sim *sim, struct sim_item *item, uint64_t at);
/* out (BT_OUT_DATAGRAM from src's process) onto the network: loss,
 * duplication, latency and reordering drawn from the network's stream. */
void sim_send_datagram(struct bt_sim *sim, struct sim_node *src, const struct bt_output *out);
/* out (BT_OUT_STREAM from src's process) onto its connection, opening one
 * when out->conn is 0; reliable and ordered per direction. */
void sim_send_stream(struct bt_sim *sim, struct sim_node *src, const struct bt_output *out);
/* The connection with this id, or NULL when there is none. */
struct sim_conn *sim_conn_get(struct bt_sim *sim, uint64_t id);
/* m reached a host that refuses its address (a process crash): a refusal
 * (SIM_ITEM_REFUSAL) goes back to its sender over the network, with its own
 * latency, loss and reordering drawn from the refusals' stream. */
void sim_refuse(struct bt_sim *sim, const struct sim_msg *m);
/* m's payload, m->len bytes: its own, or its chunks joined in sim->joined,
 * valid until the next call. */
const uint8_t *sim_msg_payload(struct bt_sim *sim, const struct sim_msg *m);
/* Frees m and gives back its chunks. */
void sim_msg_free(struct bt_sim *sim, struct sim_msg *m);

/* process.c */
/* Starts a new process on sn (a boot): its clock, random stream and join. */
int sim_start_process(struct bt_sim *sim, struct sim_node *sn);
/* Frees sn's backlog; count: as dropped datagrams in the stats. */
void sim_free_backlog(struct bt_sim *sim, struct sim_node *sn, bool count);
/* A message reached its destination's host: delivered, backlogged or dropped. */
void sim_arrive(struct bt_sim *sim, struct sim_msg *m);
/* sn's timer fired: tick its process and service it. */
void sim_tick_node(struct bt_sim *sim, struct sim_node *sn);
/* The agenda callbacks of a message (sim_arrive) and of a node's timer
 * (sim_tick_node). */
void sim_fire_msg(struct bt_sim *sim, struct sim_item *item);
void sim_fire_tick(struct bt_sim *sim, struct sim_item *item);
/* A refusal reached the process that sent what was refused: addr_refused,
 * if that very process still runs (not paused) and the link is open. */
void sim_fire_refusal(struct bt_sim *sim, struct sim_item *item);

/* The checkers' installers, called by cluster.c (bt_sim_new) before any
 * process starts: each registers its observer (sim_observe) and allocates
 * its state; 0 or BATON_ENOMEM (bt_sim_free then frees what was made). */
int bt_sim_check_init(struct bt_sim *sim); /* membership_check.c */
int bt_sim_elect_init(struct bt_sim *sim); /* election.c */

/* PRNG stream tags for bt_prng_init_stream: the network's, the fault
 * schedule's, each node process's (engine.c, process.c), the resource's and
 * the election helpers' (election.c). */
enum { TAG_NET = 1, TAG_FAULT = 2, TAG_NODE = 3, TAG_RESOURCE = 4, TAG_ELECT = 5, TAG_REFUSE = 6 };

static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static inline bool bt_sim_bit(const uint8_t *bits, size_t k)
{
    return (bits[k >> 3] >> (k & 7)) & 1;
}

static inline void bt_sim_bit_set(uint8_t *bits, size_t k, bool v)
{
    if (v)
        bits[k >> 3] |= (uint8_t)(1u << (k & 7));
    else
        bits[k >> 3] &= (uint8_t) ~(1u << (k & 7));
}

#endif
