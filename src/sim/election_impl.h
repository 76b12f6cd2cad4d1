/*
 * The simulated election's internals, shared by election.c (the truth and
 * the engine's hooks), election_check.c (the election invariants),
 * election_timing.c (failover, handover and propagation timings),
 * resource.c (the fenced resource) and sessions.c (the election API of
 * sim.h). Nothing outside these files includes it.
 */
#ifndef BT_SIM_ELECTION_IMPL_H
#define BT_SIM_ELECTION_IMPL_H

#include "sim/sim_impl.h"

#define NONE UINT32_MAX
/* A view code nobody has: the node's answer is not known yet. */
#define VIEW_UNKNOWN UINT64_MAX

/* Links of one intrusive list, by pool index. */
struct link {
    uint32_t next, prev;
};

/* One candidacy of the truth: node's campaign for name. */
struct campaign {
    bool used;        /* the slot holds a campaign (else it is on the free list) */
    uint32_t node;    /* node index */
    uint32_t name;    /* name index */
    uint64_t session; /* the session holding it */
    int64_t priority;
    uint64_t started_at; /* virtual ms of its lead() */
    bool leads;          /* the session believes it leads */
    uint64_t token;      /* its term token while it leads */
    uint64_t hw_seen;    /* the node's high-water mark for name after its last call */
    /* The last lookup of that mark by a service's check (campaign_mark):
     * its answer, and the node's process and marks version it was read at. */
    bool hw_read_valid;
    uint32_t hw_read_gen;
    uint64_t hw_read_version;
    uint64_t hw_read;
    uint64_t stale_token;   /* token already reported as stale (no_stale_term), 0: none */
    uint32_t belief;        /* belief number (low bits of sim_elect.beliefs): its write
                              timer stops when this changes */
    uint64_t refused_token; /* token whose refusal after convergence was reported */
    bool watch_end;         /* it leads an agreed name: its end is a failover or handover */
    uint32_t prop;          /* its propagation record, NONE when not timed */
    struct link by_node, by_name, by_lead;
    uint64_t start_seq; /* sim_elect.seq at its lead(): orders it among candidacy changes */
};

enum list_kind { BY_NODE, BY_NAME, BY_LEAD };

/* Campaigns of one node checked after each service (no_stale_term and the
 * mark before the next call): all of them up to this many, else this many
 * in turn; every poll checks them all. */
#define SERVICE_CHECKS 16

/* Per node slot. */
struct enode {
    uint32_t camps;     /* head of its campaigns (BY_NODE) */
    uint32_t ncamps;    /* how many */
    uint64_t *sessions; /* open sessions of its current process */
    uint32_t nsessions, sessions_cap;
    uint64_t last_view_change; /* virtual ms of its latest membership event */
    uint64_t init_session;     /* the session bt_sim_campaign_all() opened on it */
    uint32_t cursor;           /* next campaign bt_sim_elect_serviced checks; NONE: the head */
    bool clock_refused;        /* BT_EV_CLOCK_REFUSED came, and no BT_EV_CLOCK_OK since:
                                  its candidacies are withdrawn (design.md fix 9) */
    /* Its latest view merge: at merged_at it saw up a member whose process
     * had run since merged_since (election.c, revocation_cause). */
    uint64_t merged_at, merged_since;
};

/* A term minted for a name, for the global monotonic rule. */
struct mint {
    uint64_t at; /* virtual ms */
    uint64_t token;
    uint32_t node;
};

/* Mints remembered per name to find a token minted by two nodes: equal
 * tokens are minted within milliseconds of each other, so a few suffice. */
#define LAST_MINTS 8

/* A failover or handover being timed for one name. */
struct takeover_watch {
    bool open;
    bool failover;        /* a crash (else a resign, session end or leave) */
    uint64_t opened_at;   /* virtual ms of the end of the leader's campaign */
    uint64_t fault_count; /* sim->fault_count then: any later fault voids it */
    uint64_t target;      /* the new leader's session */
    uint32_t need;        /* running nodes that must agree */
    uint32_t count;       /* ...that do */
    uint8_t *bits;        /* which */
};

/* Per name. */
struct ename {
    struct bt_name name;  /* "name-<k>" */
    uint32_t camps;       /* head of its campaigns (BY_NAME) */
    uint64_t last_change; /* virtual ms of its latest candidacy change */
    bool changed;         /* it had one */
    /* The resource. */
    struct baton_guard *guard;
    bool has_term;       /* a term was admitted */
    uint64_t term_token; /* the admitted term: token, session and writer */
    uint64_t term_session;
    uint32_t term_node;
    uint64_t admitted_max; /* greatest token admitted, kept apart from the guard */
    /* Minting, for the global monotonic rule. */
    struct mint *recent; /* mints within prop_bound of the latest, oldest first */
    size_t nrecent, recent_cap;
    bool has_settled;     /* settled_max is valid */
    uint64_t settled_max; /* greatest token of the older mints */
    uint32_t settled_node;
    uint64_t settled_at;
    /* The latest mints, whatever the faults: a leader whose token another
     * node minted too must move above it (shared_token). */
    struct mint last[LAST_MINTS];
    uint32_t nlast; /* mints recorded so far; last[nlast % LAST_MINTS] is next */
    struct takeover_watch w;
    /* The true winner's history, for the revocation rule. */
    uint64_t truth_session; /* the true winner's session (0: none) */
    uint64_t truth_seq;     /* sim_elect.seq of the change that made it so (0: never) */
    uint64_t truth_at;      /* virtual ms of that change */
};

/* A candidacy on its way to every running node. */
struct prop {
    uint32_t campaign; /* pool index */
    uint32_t name, node;
    uint64_t started;    /* virtual ms of the lead() */
    uint8_t *bits;       /* running nodes that list it */
    bool all, reachable; /* prop_poll's verdict: every node lists it; a node that did not could */
};

/* A removal (a campaign ended): its key may hold a tombstone or a stale
 * entry for a while (bounded_state). */
struct removal {
    uint64_t at;
    uint32_t keys;
};

/* A write on its way to the resource, or (reply) the resource's refusal on
 * its way back to the writer, whose application reports the mark to its
 * node (bt_node_observe_fence). */
struct sim_write {
    struct sim_item item; /* SIM_ITEM_WRITE; must stay first */
    uint32_t name, node;
    uint32_t gen;  /* the writer's process (sim_node.gen) */
    uint64_t boot; /* ...and its boot: the minter is (node's name, boot) */
    uint64_t session, token;
    bool late;                    /* sent by a paused leader the moment it resumed */
    bool reply;                   /* the refusal travelling back */
    uint64_t mark;                /* reply: the guard's mark: token... */
    struct bt_minter mark_minter; /* ...and minter (node and boot) */
};

struct sim_elect {
    uint32_t names;
    struct ename *nm;
    struct enode *nd;
    struct campaign *pool;
    uint32_t pool_len, pool_cap, free_head;
    uint32_t leaders; /* head of the believers (BY_LEAD) */
    uint32_t ncamps;  /* campaigns in the truth */
    uint64_t next_session;
    uint32_t beliefs; /* terms believed so far: numbers each belief */
    struct prop *props;
    size_t nprops, props_cap;
    bool prop_armed;  /* the propagation poll timer is queued */
    uint32_t prop_ms; /* its period: 1 ms up to 100 nodes, else check_ms */
    uint64_t *order;  /* prop_poll's scratch: name << 32 | prop index, sorted */
    size_t order_cap;
    uint64_t *listed;     /* per node index: list_serial when the polled node lists it */
    uint64_t list_serial; /* one per bt_node_candidates() of a poll */
    uint32_t *open;       /* names with an open watch */
    uint32_t nopen;
    struct removal *rem; /* oldest first, from rem_head */
    size_t rem_head, rem_len, rem_cap;
    uint64_t rem_keys; /* keys of the removals in the log */
    bool any_removal;
    uint64_t twins_seen;    /* sim->stats.twins at the last fault */
    struct bt_prng res_rng; /* resource latencies */
    struct bt_prng rng;     /* election choices of the helpers */
    uint64_t last_change;   /* the later of the last fault and candidacy change */
    bool epoch_agreed;      /* agreed since then */
    bool agreed_now;        /* agreed at the last poll, and nothing changed since */
    uint64_t agreed_at;     /* when the epoch's agreement was reached */
    bool lost_reported;     /* an agreement lost without cause was reported */
    uint64_t next_poll;     /* virtual ms of the next agreement/stability poll */
    uint64_t prev_poll;     /* of the previous one */
    bool polled;
    uint64_t *views;   /* nodes * names leader answers at the last poll */
    uint64_t *marks;   /* nodes * names high-water marks at the last poll */
    uint32_t *camp_of; /* nodes * names: the node's campaign for the name, or NONE */
    uint64_t polls;    /* polls so far */
    size_t row_bytes;
    struct bt_nodeid *cand; /* scratch for candidates(), one per node */
    bool bounded_reported, stability_reported, view_reported;
    char why[256]; /* verbosity 3: the last non-agreement reason logged */
    /* The revocation rule (docs/simulator.md, `revocation`). */
    uint64_t seq;             /* candidacy changes (campaigns added or removed) so far */
    bool disturbed;           /* a process was paused, resumed or declared dead while running */
    uint64_t disturbed_at;    /* ...the latest time */
    bool formed;              /* the membership converged once */
    uint64_t formed_at;       /* ...first at this virtual ms */
    uint32_t observing;       /* 1 + the node whose observe_fence is being serviced, else 0 */
    bool revocation_reported; /* an uncaused revocation was reported */
};

/* The election's observer on the engine (election.c), registered by
 * bt_sim_elect_init. */
extern const struct sim_observer bt_sim_election_observer;

/* The election's hooks on the engine (its observer, election.c). Every one
 * is a no-op when sim->elect is NULL. */
void bt_sim_elect_destroy(struct bt_sim *sim);
/* A process of sn started (before it joins). */
void bt_sim_elect_started(struct bt_sim *sim, const struct sim_node *sn);
/* Before a crash or leave of sn: note which of its campaigns lead an agreed
 * name, so that their end opens a failover or handover timing. */
void bt_sim_elect_prepare_end(struct bt_sim *sim, const struct sim_node *sn);
/* sn's campaigns ended with its process (crash) or its leave (every
 * candidacy withdrawn by bt_node_leave). */
void bt_sim_elect_node_ended(struct bt_sim *sim, const struct sim_node *sn, bool crashed);
void bt_sim_elect_paused(struct bt_sim *sim, const struct sim_node *sn);
/* sn resumes: before it runs anything, its believing sessions send the write
 * they were making when it stopped. */
void bt_sim_elect_resuming(struct bt_sim *sim, const struct sim_node *sn);
/* BT_EV_ELECTED or BT_EV_REVOKED from observer's node. */
void bt_sim_elect_event(struct bt_sim *sim, const struct sim_node *sn, const struct bt_event *ev);
/* sn processed a call and its outputs and events were drained. */
void bt_sim_elect_serviced(struct bt_sim *sim, const struct sim_node *sn);
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

/* The helpers used across these files, each documented at its definition. */

/* election.c */
bool cluster_calm(const struct bt_sim *sim);
bool is_live(enum bt_sim_node_state s);
bool leads_agreed_name(struct bt_sim *sim, uint32_t c);
bool token_known(struct bt_sim *sim, uint32_t k, uint64_t token);
bool token_taken(const struct sim_elect *e, uint32_t k, const struct campaign *wp);
int session_index(const struct enode *nd, uint64_t session);
uint32_t campaign_add(struct bt_sim *sim, uint32_t node, uint32_t k, uint64_t session,
                      int64_t priority);
uint32_t find_campaign(const struct sim_elect *e, uint32_t node, uint32_t name);
uint32_t true_winner(const struct bt_sim *sim, uint32_t k);
uint64_t gc_window(const struct bt_sim *sim);
uint64_t high_water_of(struct bt_sim *sim, uint32_t x, uint32_t k);
uint64_t view_of(struct bt_sim *sim, uint32_t x, uint32_t k, uint32_t *leader_node);
uint64_t winner_session(const struct bt_sim *sim, uint32_t k);
void believe(struct bt_sim *sim, uint32_t c, uint64_t token);
void campaign_remove(struct bt_sim *sim, uint32_t c, bool crashed);
void candidacy_changed(struct bt_sim *sim, uint32_t k);
void elect_oom(struct bt_sim *sim);
void epoch_restart(struct bt_sim *sim);
/* Virtual ms from a poll to the next (election.c): elect_check_ms, at most
 * AGREE_POLL_MS until the election agreed since its last change. */
#define AGREE_POLL_MS 1000
uint64_t elect_poll_period(const struct bt_sim *sim);

/* election_check.c */
bool all_agreed(struct bt_sim *sim, char *why, size_t whylen);
void check_campaign(struct bt_sim *sim, uint32_t x, struct campaign *cp);
void note_mint(struct bt_sim *sim, uint32_t c, uint64_t token, uint64_t hw_before, const char *how);
void elect_poll(struct bt_sim *sim);
void poll_state(struct bt_sim *sim);

/* election_timing.c */
void prop_finish(struct bt_sim *sim);
void prop_remove(struct sim_elect *e, size_t r);
void prop_start(struct bt_sim *sim, uint32_t c);
void watch_eval(struct bt_sim *sim, uint32_t k, uint32_t x);
void watch_open(struct bt_sim *sim, uint32_t k, bool failover);
void watch_supersede(struct bt_sim *sim, uint32_t k);

/* resource.c */
void send_write(struct bt_sim *sim, uint32_t c, bool late);
void write_timer(struct bt_sim *sim, uint64_t arg);

#endif
