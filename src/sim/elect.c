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
 * The resource. One per name, its own endpoint: partitions between nodes do
 * not cut it, a crashed node stops writing, a paused one writes nothing
 * until it resumes, and then first sends the write it was making when it
 * stopped (the application thread was frozen mid-operation), with its old
 * belief. A believer writes (token, session) the moment it learns it leads,
 * then every write_interval_ms while the belief lasts; a write arrives after
 * a latency drawn like a datagram's from a stream of its own. The resource
 * follows docs/guard.md: every write offers its term, (token, the writer
 * node's name as minter), to an in-memory baton_guard, the public one, and
 * is accepted if and only if the guard admits it: a token above the mark
 * opens a new term (ending the older one), the admitted term itself rides
 * on, anything else is refused. We keep our own record of the admitted term
 * and check the guard against it (fencing). A refusal goes back to the
 * writer (one more latency), whose application reports the guard's mark
 * (token and minter) to its node with bt_node_observe_fence, as
 * docs/guard.md asks; if the writer still leads with a term that mark beats
 * once the call is over, its term is stale (no_stale_term).
 *
 * The checks. Some are immediate, on every node service: a minted token
 * must exceed the high-water mark the minting node held before the call
 * (monotonic), and a session that believes it leads must never hold a token
 * below its own node's high-water mark once the call is over (fix 3,
 * no_stale_term). Some are periodic: every elect_check_ms every running
 * node is asked for every name's leader; the answers feed agreement (is the
 * whole cluster on the true winner, with one believer holding the current
 * term?) and stability (did a node's answer change with no reason?); node
 * stats feed bounded_state. Failover and handover are timed event by event:
 * after every service of a node its answer for the names being timed is
 * compared with the target, so a sample is exact to the millisecond.
 *
 * Costs. Nothing here is O(nodes) per event. A poll is O(nodes * names),
 * which is why elect_check_ms grows with nodes * names; propagation polls
 * only the candidacies still on their way (every millisecond up to 100
 * nodes, every check_ms above).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "baton/guard.h"
#include "core/leader.h"
#include "core/replica.h"
#include "sim/sim_impl.h"

#define NONE UINT32_MAX
/* A view code nobody has: the node's answer is not known yet. */
#define VIEW_UNKNOWN UINT64_MAX

/* PRNG stream tags (sim.c uses 1..3). */
enum { TAG_RESOURCE = 4, TAG_ELECT = 5 };

/* Links of one intrusive list, by pool index. */
struct link {
    uint32_t next, prev;
};

/* One candidacy of the truth: node's campaign for name. */
struct campaign {
    bool used;             /* the slot holds a campaign (else it is on the free list) */
    uint32_t node;         /* node index */
    uint32_t name;         /* name index */
    uint64_t session;      /* the session holding it */
    int64_t priority;
    uint64_t started_at;   /* virtual ms of its lead() */
    bool leads;            /* the session believes it leads */
    uint64_t token;        /* its term token while it leads */
    uint64_t hw_seen;      /* the node's high-water mark for name after its last call */
    uint64_t stale_token;  /* token already reported as stale (no_stale_term), 0: none */
    uint32_t belief;       /* belief number (low bits of sim_elect.beliefs): its write
                              timer stops when this changes */
    uint64_t refused_token; /* token whose refusal after convergence was reported */
    bool watch_end;        /* it leads an agreed name: its end is a failover or handover */
    uint32_t prop;         /* its propagation record, NONE when not timed */
    struct link by_node, by_name, by_lead;
    uint64_t start_seq;    /* sim_elect.seq at its lead(): orders it among candidacy changes */
};

enum list_kind { BY_NODE, BY_NAME, BY_LEAD };

/* Campaigns of one node checked after each service (no_stale_term and the
 * mark before the next call): all of them up to this many, else this many
 * in turn; every poll checks them all. */
#define SERVICE_CHECKS 16

/* Per node slot. */
struct enode {
    uint32_t camps;            /* head of its campaigns (BY_NODE) */
    uint32_t ncamps;           /* how many */
    uint64_t *sessions;        /* open sessions of its current process */
    uint32_t nsessions, sessions_cap;
    uint64_t last_view_change; /* virtual ms of its latest membership event */
    uint64_t init_session;     /* the session bt_sim_campaign_all() opened on it */
    uint32_t cursor;           /* next campaign bt_sim_elect_serviced checks; NONE: the head */
};

/* A term minted for a name, for the global monotonic rule. */
struct mint {
    uint64_t at;    /* virtual ms */
    uint64_t token;
    uint32_t node;
};

/* Mints remembered per name to find a token minted by two nodes: equal
 * tokens are minted within milliseconds of each other, so a few suffice. */
#define LAST_MINTS 8

/* A failover or handover being timed for one name. */
struct watch {
    bool open;
    bool failover;           /* a crash (else a resign, session end or leave) */
    uint64_t opened_at;      /* virtual ms of the end of the leader's campaign */
    uint64_t fault_count;    /* sim->fault_count then: any later fault voids it */
    uint64_t target;         /* the new leader's session */
    uint32_t need;           /* running nodes that must agree */
    uint32_t count;          /* ...that do */
    uint8_t *bits;           /* which */
};

/* Per name. */
struct ename {
    struct bt_name name;     /* "name-<k>" */
    uint32_t camps;          /* head of its campaigns (BY_NAME) */
    uint64_t last_change;    /* virtual ms of its latest candidacy change */
    bool changed;            /* it had one */
    /* The resource. */
    struct baton_guard *guard;
    bool has_term;           /* a term was admitted */
    uint64_t term_token;     /* the admitted term: token, session and writer */
    uint64_t term_session;
    uint32_t term_node;
    uint64_t admitted_max;   /* greatest token admitted, kept apart from the guard */
    /* Minting, for the global monotonic rule. */
    struct mint *recent;     /* mints within prop_bound of the latest, oldest first */
    size_t nrecent, recent_cap;
    bool has_settled;        /* settled_max is valid */
    uint64_t settled_max;    /* greatest token of the older mints */
    uint32_t settled_node;
    uint64_t settled_at;
    /* The latest mints, whatever the faults: a leader whose token another
     * node minted too must move above it (shared_token). */
    struct mint last[LAST_MINTS];
    uint32_t nlast;          /* mints recorded so far; last[nlast % LAST_MINTS] is next */
    struct watch w;
    /* The true winner's history, for the revocation rule. */
    uint64_t truth_session;  /* the true winner's session (0: none) */
    uint64_t truth_seq;      /* sim_elect.seq of the change that made it so (0: never) */
    uint64_t truth_at;       /* virtual ms of that change */
};

/* A candidacy on its way to every running node. */
struct prop {
    uint32_t campaign;   /* pool index */
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
    uint32_t gen;         /* the writer's process (sim_node.gen) */
    uint64_t session, token;
    bool late;            /* sent by a paused leader the moment it resumed */
    bool reply;           /* the refusal travelling back */
    uint64_t mark;        /* reply: the guard's mark: token... */
    struct bt_nodeid mark_minter; /* ...and minter */
};

struct sim_elect {
    uint32_t names;
    struct ename *nm;
    struct enode *nd;
    struct campaign *pool;
    uint32_t pool_len, pool_cap, free_head;
    uint32_t leaders;          /* head of the believers (BY_LEAD) */
    uint32_t ncamps;           /* campaigns in the truth */
    uint64_t next_session;
    uint32_t beliefs;          /* terms believed so far: numbers each belief */
    struct prop *props;
    size_t nprops, props_cap;
    bool prop_armed;           /* the propagation poll timer is queued */
    uint32_t prop_ms;          /* its period: 1 ms up to 100 nodes, else check_ms */
    uint64_t *order;           /* prop_poll's scratch: name << 32 | prop index, sorted */
    size_t order_cap;
    uint64_t *listed;          /* per node index: list_serial when the polled node lists it */
    uint64_t list_serial;      /* one per bt_node_candidates() of a poll */
    uint32_t *open;            /* names with an open watch */
    uint32_t nopen;
    struct removal *rem;       /* oldest first, from rem_head */
    size_t rem_head, rem_len, rem_cap;
    uint64_t rem_keys;         /* keys of the removals in the log */
    bool any_removal;
    struct bt_prng res_rng;    /* resource latencies */
    struct bt_prng rng;        /* election choices of the helpers */
    uint64_t last_change;      /* the later of the last fault and candidacy change */
    bool epoch_agreed;         /* agreed since then */
    bool agreed_now;           /* agreed at the last poll, and nothing changed since */
    uint64_t agreed_at;        /* when the epoch's agreement was reached */
    bool lost_reported;        /* an agreement lost without cause was reported */
    uint64_t next_poll;        /* virtual ms of the next agreement/stability poll */
    uint64_t prev_poll;        /* of the previous one */
    bool polled;
    uint64_t *views;           /* nodes * names leader answers at the last poll */
    uint64_t *marks;           /* nodes * names high-water marks at the last poll */
    uint32_t *camp_of;         /* nodes * names: the node's campaign for the name, or NONE */
    uint64_t polls;            /* polls so far */
    size_t row_bytes;
    struct bt_nodeid *cand;    /* scratch for candidates(), one per node */
    bool bounded_reported, stability_reported, view_reported;
    char why[256];             /* verbosity 3: the last non-agreement reason logged */
    /* The revocation rule (docs/simulator.md, `revocation`). */
    uint64_t seq;              /* candidacy changes (campaigns added or removed) so far */
    bool disturbed;            /* a process was paused, resumed or declared dead while running */
    uint64_t disturbed_at;     /* ...the latest time */
    bool formed;               /* the membership converged once */
    uint64_t formed_at;        /* ...first at this virtual ms */
    uint32_t observing;        /* 1 + the node whose observe_fence is being serviced, else 0 */
    bool revocation_reported;  /* an uncaused revocation was reported */
};

/* --- small helpers --------------------------------------------------------- */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

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

static bool is_live(enum bt_sim_node_state s)
{
    return s == BT_SIM_RUNNING || s == BT_SIM_PAUSED || s == BT_SIM_LEAVING;
}

static void elect_oom(struct bt_sim *sim)
{
    if (!sim->oom)
        bt_sim_violation(sim, "sim_out_of_memory", "the election ran out of memory; the run is void");
    sim->oom = true;
    sim->stop = true;
}

static uint32_t find_campaign(const struct sim_elect *e, uint32_t node, uint32_t name)
{
    return e->camp_of[(size_t)node * e->names + name];
}

/* The true winner of name k (docs/design.md §1), or NONE. */
static uint32_t true_winner(const struct bt_sim *sim, uint32_t k)
{
    const struct sim_elect *e = sim->elect;
    uint32_t best = NONE;
    for (uint32_t c = e->nm[k].camps; c != NONE; c = e->pool[c].by_name.next) {
        const struct campaign *cp = &e->pool[c];
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
static bool token_taken(const struct sim_elect *e, uint32_t k, const struct campaign *wp)
{
    const struct ename *m = &e->nm[k];
    return m->has_term && m->term_token == wp->token && m->term_node != wp->node;
}

/* Whether a node other than the leader's minted the leader's token too (two
 * nodes started terms in the same millisecond). Once that node's fence
 * reaches the leader, the leader moves above it (docs/election.md), even if
 * the resource admitted the leader's term first: it cannot know. *other
 * gets that node. */
static bool shared_token(const struct sim_elect *e, uint32_t k, const struct campaign *wp, uint32_t *other)
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
static void epoch_restart(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    e->last_change = max_u64(e->last_change, sim->now);
    sim->stats.last_change_ms = max_u64(sim->stats.last_change_ms, sim->now);
    e->epoch_agreed = false;
    e->agreed_now = false;
    sim->stats.agreed = false;
}

static uint64_t winner_session(const struct bt_sim *sim, uint32_t k)
{
    uint32_t w = true_winner(sim, k);
    return w == NONE ? 0 : sim->elect->pool[w].session;
}

/* Node x's answer for name k as a code: the leader's candidate id (session
 * ids are unique in the run), 0 for no leader. *leader_node gets the
 * leader's index (NONE when none). A leader that is no node is reported. */
static uint64_t view_of(struct bt_sim *sim, uint32_t x, uint32_t k, uint32_t *leader_node)
{
    struct sim_elect *e = sim->elect;
    struct bt_nodeid who;
    uint64_t cid = 0;
    *leader_node = NONE;
    int rc = sim->cfg.ops->leader(sim->nodes[x].node, &e->nm[k].name, &who, &cid);
    if (rc != 0) {
        if (rc != BATON_ENOLEADER && !e->view_reported) {
            e->view_reported = true;
            bt_sim_violation(sim, "bad_result", "bt_node_leader on n%" PRIu32 " for name-%" PRIu32 " returned %d (%s)",
                             x, k, rc, baton_err_name(rc));
        }
        return 0;
    }
    int64_t idx = who.len <= BATON_NODE_MAX ? bt_sim_parse_index(sim, who.bytes, who.len) : -1;
    if (idx < 0 || cid == 0) {
        if (!e->view_reported) {
            e->view_reported = true;
            bt_sim_violation(sim, "bad_result",
                             "n%" PRIu32 " names a leader for name-%" PRIu32 " that is no node or no session",
                             x, k);
        }
        return 0;
    }
    /* A twin may carry the name: a node's own name is itself. */
    *leader_node = sim->nodes[x].name_of == (uint32_t)idx ? x : bt_sim_holder(sim, (uint32_t)idx);
    return cid;
}

static uint64_t high_water_of(struct bt_sim *sim, uint32_t x, uint32_t k)
{
    uint64_t hw = 0;
    if (sim->cfg.ops->high_water(sim->nodes[x].node, &sim->elect->nm[k].name, &hw) != 0)
        return 0;
    return hw;
}

/* The GC window of bounded_state: how long a removed candidacy's key may
 * hold a tombstone or a stale entry. docs/simulator.md says why. */
static uint64_t gc_window(const struct bt_sim *sim)
{
    uint64_t h = sim->cfg.horizon_ms ? sim->cfg.horizon_ms : BT_REPLICA_HORIZON_DEFAULT_MS;
    uint64_t drift = (uint64_t)sim->cfg.drift_ppm * sim->now / 1000000;
    return 2 * h + h / 4 + 2 * (uint64_t)sim->cfg.skew_ms + 2 * drift + 1000;
}

/* --- failover and handover timing ------------------------------------------ */

static void watch_close(struct sim_elect *e, uint32_t k)
{
    struct watch *w = &e->nm[k].w;
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

static void watch_supersede(struct bt_sim *sim, uint32_t k)
{
    struct sim_elect *e = sim->elect;
    if (!e->nm[k].w.open)
        return;
    sim->stats.watches_superseded++;
    bt_sim_log(sim, 3, "name-%" PRIu32 ": %s timing superseded", k, e->nm[k].w.failover ? "failover" : "handover");
    watch_close(e, k);
}

/* Node x's answer for k, compared with the watch's target. */
static void watch_eval(struct bt_sim *sim, uint32_t k, uint32_t x)
{
    struct sim_elect *e = sim->elect;
    struct watch *w = &e->nm[k].w;
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
    bt_sim_log(sim, 2, "name-%" PRIu32 ": %s done: every running node agrees on the new leader after %" PRIu64 " ms",
               k, w->failover ? "failover" : "handover", took);
    watch_close(e, k);
}

/* The leader of an agreed name lost its campaign: time until every running
 * node agrees on the new true winner. */
static void watch_open(struct bt_sim *sim, uint32_t k, bool failover)
{
    struct sim_elect *e = sim->elect;
    struct watch *w = &e->nm[k].w;
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

static void prop_remove(struct sim_elect *e, size_t r)
{
    struct prop *p = &e->props[r];
    e->pool[p->campaign].prop = NONE;
    free(p->bits);
    e->props[r] = e->props[--e->nprops];
    if (r < e->nprops)
        e->pool[e->props[r].campaign].prop = (uint32_t)r;
}

static void prop_timer(struct bt_sim *sim, uint64_t unused);

static void prop_start(struct bt_sim *sim, uint32_t c)
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
                    bt_sim_log(sim, 4, "n%" PRIu32 " lists n%" PRIu32 " for name-%" PRIu32 " after %" PRIu64 " ms", x,
                               p->node, p->name, sim->now - p->started);
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
        bt_sim_log(sim, 3, "name-%" PRIu32 ": n%" PRIu32 "'s candidacy reached every running node in %" PRIu64 " ms",
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

/* --- campaigns --------------------------------------------------------------- */

/* A candidacy of name k changed (a lead, a resign, an end): the election's
 * epoch restarts, and a timing whose target is no longer the winner is void. */
static void candidacy_changed(struct bt_sim *sim, uint32_t k)
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

static uint32_t campaign_add(struct bt_sim *sim, uint32_t node, uint32_t k, uint64_t session, int64_t priority)
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

static void write_timer(struct bt_sim *sim, uint64_t arg);
static void send_write(struct bt_sim *sim, uint32_t c, bool late);

/* Campaign c's session learned it leads with token: it writes at once, and
 * then every write_interval_ms until the belief ends. */
static void believe(struct bt_sim *sim, uint32_t c, uint64_t token)
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
    e->rem[(e->rem_head + e->rem_len) % e->rem_cap] = (struct removal){.at = sim->now, .keys = keys};
    e->rem_len++;
    e->rem_keys += keys;
    e->any_removal = true;
}

/* The campaign ended (resign, session end, leave or crash): out of the
 * truth; a failover or handover starts if it led an agreed name. */
static void campaign_remove(struct bt_sim *sim, uint32_t c, bool crashed)
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
static bool leads_agreed_name(struct bt_sim *sim, uint32_t c)
{
    struct sim_elect *e = sim->elect;
    uint32_t k = e->pool[c].name;
    return true_winner(sim, k) == c && bt_sim_agreed(sim, k, NULL, 0);
}

static int session_index(const struct enode *nd, uint64_t session)
{
    for (uint32_t j = 0; j < nd->nsessions; j++)
        if (nd->sessions[j] == session)
            return (int)j;
    return -1;
}

/* A term started for campaign c (lead() won, or ELECTED): the monotonic
 * rules. hw_before is the mark the node held before the call. */
static void note_mint(struct bt_sim *sim, uint32_t c, uint64_t token, uint64_t hw_before, const char *how)
{
    struct sim_elect *e = sim->elect;
    struct campaign *cp = &e->pool[c];
    struct ename *m = &e->nm[cp->name];
    struct bt_sim_stats *st = &sim->stats;
    st->leader_changes++;
    bt_sim_log(sim, 3, "n%" PRIu32 " leads name-%" PRIu32 " (%s, session %" PRIu64 ", token %" PRIu64 ")", cp->node,
               cp->name, how, cp->session, token);
    if (token <= hw_before)
        bt_sim_violation(sim, "monotonic",
                         "n%" PRIu32 " minted %" PRIu64 " for name-%" PRIu32 " (%s) at %" PRIu64
                         " ms, not above the high-water mark %" PRIu64 " it already held",
                         cp->node, token, cp->name, how, sim->now, hw_before);
    m->last[m->nlast % LAST_MINTS] = (struct mint){.at = sim->now, .token = token, .node = cp->node};
    m->nlast++;
    /* The global rule holds only in runs with no partition, crash or pause. */
    if (st->crashes != 0 || st->pauses != 0 || st->partitions != 0 || st->oneway_blocks != 0)
        return;
    uint64_t window = sim->cfg.prop_bound_ms;
    size_t drop = 0;
    while (drop < m->nrecent && m->recent[drop].at + window < sim->now) {
        const struct mint *old = &m->recent[drop];
        if (!m->has_settled || old->token > m->settled_max) {
            m->settled_max = old->token;
            m->settled_node = old->node;
            m->settled_at = old->at;
        }
        m->has_settled = true;
        drop++;
    }
    if (drop > 0) {
        memmove(m->recent, m->recent + drop, (m->nrecent - drop) * sizeof *m->recent);
        m->nrecent -= drop;
    }
    if (m->has_settled && token <= m->settled_max)
        bt_sim_violation(sim, "monotonic",
                         "n%" PRIu32 " minted %" PRIu64 " for name-%" PRIu32 " at %" PRIu64
                         " ms, not above %" PRIu64 " minted by n%" PRIu32 " at %" PRIu64
                         " ms (more than %" PRIu64 " ms earlier)",
                         cp->node, token, cp->name, sim->now, m->settled_max, m->settled_node, m->settled_at,
                         window);
    if (m->nrecent == m->recent_cap) {
        size_t cap = m->recent_cap ? m->recent_cap * 2 : 8;
        struct mint *r = realloc(m->recent, cap * sizeof *r);
        if (r == NULL) {
            elect_oom(sim);
            return;
        }
        m->recent = r;
        m->recent_cap = cap;
    }
    m->recent[m->nrecent++] = (struct mint){.at = sim->now, .token = token, .node = cp->node};
}

/* No network fault in force, and every process running (none paused or
 * leaving): what "after faults stop" means at an instant. */
static bool cluster_calm(const struct bt_sim *sim)
{
    if (bt_sim_network_faulty(sim))
        return false;
    for (uint32_t x = 0; x < sim->n; x++)
        if (sim->nodes[x].state == BT_SIM_PAUSED || sim->nodes[x].state == BT_SIM_LEAVING)
            return false;
    return true;
}

/* Whether some running node's high-water mark for k has reached token. */
static bool token_known(struct bt_sim *sim, uint32_t k, uint64_t token)
{
    for (uint32_t x = 0; x < sim->n; x++)
        if (sim->nodes[x].state == BT_SIM_RUNNING && high_water_of(sim, x, k) >= token)
            return true;
    return false;
}

/* --- writes and the resource ------------------------------------------------- */

static void send_write(struct bt_sim *sim, uint32_t c, bool late)
{
    struct sim_elect *e = sim->elect;
    const struct campaign *cp = &e->pool[c];
    struct sim_write *w = malloc(sizeof *w);
    if (w == NULL) {
        elect_oom(sim);
        return;
    }
    bt_sim_heap_entry_init(&w->item.h);
    w->item.kind = SIM_ITEM_WRITE;
    w->name = cp->name;
    w->node = cp->node;
    w->gen = sim->nodes[cp->node].gen;
    w->session = cp->session;
    w->token = cp->token;
    w->late = late;
    w->reply = false;
    w->mark = 0;
    memset(&w->mark_minter, 0, sizeof w->mark_minter);
    uint64_t at = sim->now + bt_prng_range(&e->res_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
    if (bt_sim_heap_push(&sim->agenda, &w->item.h, at) != 0) {
        free(w);
        elect_oom(sim);
        return;
    }
    sim->stats.writes_sent++;
    if (late)
        sim->stats.late_writes++;
}

/* A believer's next write (arg: campaign << 32 | belief number). A paused
 * node writes nothing; the timer stops when the belief ends. */
static void write_timer(struct bt_sim *sim, uint64_t arg)
{
    struct sim_elect *e = sim->elect;
    uint32_t c = (uint32_t)(arg >> 32), belief = (uint32_t)arg;
    if (c >= e->pool_len || !e->pool[c].used || !e->pool[c].leads || e->pool[c].belief != belief)
        return;
    enum bt_sim_node_state s = sim->nodes[e->pool[c].node].state;
    if (s == BT_SIM_RUNNING || s == BT_SIM_LEAVING)
        send_write(sim, c, false);
    bt_sim_after(sim, sim->cfg.write_interval_ms, write_timer, arg);
}

/* The resource's refusal reached the writer: its application reports the
 * mark to its node, which must then end a term at or below it. */
static void reply_arrives(struct bt_sim *sim, struct sim_write *w)
{
    struct sim_elect *e = sim->elect;
    struct sim_node *sn = &sim->nodes[w->node];
    if (sn->node == NULL || sn->gen != w->gen || sn->state == BT_SIM_CRASHED || sn->state == BT_SIM_LEFT) {
        free(w);
        return;
    }
    if (sn->state == BT_SIM_PAUSED) {
        /* The answer waits in the stopped process's socket. */
        if (bt_sim_heap_push(&sim->agenda, &w->item.h, sim->now + 10) != 0) {
            free(w);
            elect_oom(sim);
        }
        return;
    }
    int rc = sim->cfg.ops->observe_fence(sn->node, &e->nm[w->name].name, w->mark, &w->mark_minter,
                                         bt_sim_node_time(sim, sn));
    sim->stats.refusals_observed++;
    /* An input from outside the cluster: the election may move (a leader
     * refused at its own token starts a new term), so the epoch restarts. */
    epoch_restart(sim);
    bt_sim_log(sim, 3, "n%" PRIu32 " observes the resource's mark %" PRIu64 " for name-%" PRIu32 " (rc %d)", w->node,
               w->mark, w->name, rc);
    e->observing = w->node + 1;
    bt_sim_poke(sim, w->node);
    e->observing = 0;
    uint32_t c = find_campaign(e, w->node, w->name);
    bool beaten = c != NONE && (e->pool[c].token < w->mark ||
                                (e->pool[c].token == w->mark && !bt_nodeid_eq(&w->mark_minter, &sn->name)));
    if (rc == 0 && beaten && e->pool[c].leads && e->pool[c].stale_token != e->pool[c].token) {
        e->pool[c].stale_token = e->pool[c].token;
        bt_sim_violation(sim, "no_stale_term",
                         "n%" PRIu32 " observed the resource's mark %" PRIu64 " for name-%" PRIu32 " at %" PRIu64
                         " ms and still leads with %" PRIu64,
                         w->node, w->mark, w->name, sim->now, e->pool[c].token);
    }
    free(w);
}

void bt_sim_elect_write_arrives(struct bt_sim *sim, struct sim_item *item)
{
    struct sim_write *w = (struct sim_write *)item;
    struct sim_elect *e = sim->elect;
    struct bt_sim_stats *st = &sim->stats;
    struct ename *m = &e->nm[w->name];
    bool accepted = false;
    uint64_t mark = 0;
    if (w->reply) {
        reply_arrives(sim, w);
        return;
    }
    /* The term the guard should admit: above the admitted one, or the
     * admitted one itself (the same token from the same minter). */
    const struct bt_nodeid *minter = &sim->nodes[w->node].name;
    bool same_term = m->has_term && w->token == m->term_token && w->node == m->term_node;
    bool admissible = !m->has_term || w->token > m->term_token || same_term;
    struct baton_guard_mark gm;
    int rc = baton_guard_offer(m->guard, w->token, minter->bytes, minter->len, &gm);
    mark = gm.token;
    if (rc == 0) {
        accepted = true;
        if (!admissible)
            bt_sim_violation(sim, "fencing",
                             "name-%" PRIu32 ": the guard admitted %" PRIu64 " from n%" PRIu32
                             ", not above %" PRIu64 " admitted before from n%" PRIu32,
                             w->name, w->token, w->node, m->term_token, m->term_node);
        if (!same_term) {
            m->admitted_max = max_u64(m->admitted_max, w->token);
            m->has_term = true;
            m->term_token = w->token;
            m->term_session = w->session;
            m->term_node = w->node;
            st->terms_admitted++;
            bt_sim_log(sim, 3, "resource name-%" PRIu32 ": term %" PRIu64 " of n%" PRIu32 " (session %" PRIu64 ") admitted",
                       w->name, w->token, w->node, w->session);
            /* The true leader's token, admitted as another minter's term:
             * the leader has to move above it (token_taken), so an
             * agreement reached before this admission no longer holds. */
            uint32_t lead = true_winner(sim, w->name);
            if (lead != NONE && token_taken(e, w->name, &e->pool[lead]))
                epoch_restart(sim);
        }
    } else if (rc == BATON_ESTALE) {
        if (admissible)
            bt_sim_violation(sim, "fencing",
                             "name-%" PRIu32 ": the guard refused %" PRIu64 " from n%" PRIu32
                             ", above every term admitted or the admitted one (%" PRIu64 " from n%" PRIu32 ")",
                             w->name, w->token, w->node, m->term_token, m->term_node);
    } else {
        bt_sim_violation(sim, "fencing", "name-%" PRIu32 ": baton_guard_offer(%" PRIu64 ") returned %d (%s)", w->name,
                         w->token, rc, baton_err_name(rc));
    }
    if (accepted) {
        st->writes_accepted++;
        if (w->late)
            st->late_writes_accepted++;
    } else {
        st->writes_rejected++;
        /* After convergence, the leader's writes are accepted, unless the
         * resource admitted a token no running node knows: its minter
         * departed before its fence could reach anyone (docs/simulator.md). */
        uint32_t c = e->agreed_now && cluster_calm(sim) ? true_winner(sim, w->name) : NONE;
        if (c != NONE && e->pool[c].session == w->session && e->pool[c].leads && e->pool[c].token == w->token &&
            !token_known(sim, w->name, m->term_token)) {
            st->writes_rejected_unknown++;
            if (e->pool[c].refused_token != w->token) {
                e->pool[c].refused_token = w->token;
                bt_sim_log(sim, 2,
                           "name-%" PRIu32 ": leader n%" PRIu32 "'s token %" PRIu64 " is below %" PRIu64
                           ", which only the resource knows (minted by n%" PRIu32 ", now %s)",
                           w->name, w->node, w->token, m->term_token, m->term_node,
                           bt_sim_node_state(sim, m->term_node) == BT_SIM_RUNNING ? "running a new process"
                                                                                 : "gone");
            }
        } else if (c != NONE && e->pool[c].session == w->session && e->pool[c].leads &&
                   e->pool[c].token == w->token && e->pool[c].refused_token != w->token) {
            e->pool[c].refused_token = w->token;
            const struct sim_node *holder = &sim->nodes[m->term_node];
            bt_sim_violation(sim, "no_stale_term",
                             "after convergence, leader n%" PRIu32 "'s write for name-%" PRIu32 " (token %" PRIu64
                             ") was refused at %" PRIu64 " ms: the resource had admitted %" PRIu64
                             " from n%" PRIu32 " (session %" PRIu64 ", node now %s)%s",
                             w->node, w->name, w->token, sim->now, m->term_token, m->term_node, m->term_session,
                             holder->state == BT_SIM_RUNNING ? "running" : "not running",
                             m->term_token == w->token ? ": the same token, minted by two nodes" : "");
        }
        /* The refusal, with the guard's mark, goes back to the writer. */
        if (sim->cfg.ops->observe_fence != NULL && mark > 0) {
            w->reply = true;
            w->mark = mark;
            bt_nodeid_set(&w->mark_minter, gm.minter, gm.minter_len);
            uint64_t at = sim->now + bt_prng_range(&e->res_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
            bt_sim_heap_entry_init(&w->item.h);
            if (bt_sim_heap_push(&sim->agenda, &w->item.h, at) == 0)
                return;
            elect_oom(sim);
        }
    }
    free(w);
}

/* --- hooks from sim.c and check.c --------------------------------------------- */

int bt_sim_elect_init(struct bt_sim *sim)
{
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
    if (e->nm == NULL || e->nd == NULL || e->open == NULL || e->cand == NULL || e->listed == NULL || e->views == NULL ||
        e->marks == NULL || e->camp_of == NULL)
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

void bt_sim_elect_started(struct bt_sim *sim, struct sim_node *sn)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    struct enode *nd = &e->nd[sn->index];
    nd->nsessions = 0;
    nd->init_session = 0;
    nd->last_view_change = sim->now;
    for (uint32_t k = 0; k < e->names; k++)
        e->views[(size_t)sn->index * e->names + k] = VIEW_UNKNOWN;
    for (size_t r = 0; r < e->nprops; r++)
        bt_sim_bit_set(e->props[r].bits, sn->index, false);
}

void bt_sim_elect_prepare_end(struct bt_sim *sim, struct sim_node *sn)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    for (uint32_t c = e->nd[sn->index].camps; c != NONE; c = e->pool[c].by_node.next)
        e->pool[c].watch_end = leads_agreed_name(sim, c);
}

void bt_sim_elect_node_ended(struct bt_sim *sim, struct sim_node *sn, bool crashed)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    struct enode *nd = &e->nd[sn->index];
    if (nd->ncamps > 0)
        bt_sim_log(sim, 2, "n%" PRIu32 ": %" PRIu32 " campaigns end with its %s", sn->index, nd->ncamps,
                   crashed ? "crash" : "leave");
    while (nd->camps != NONE)
        campaign_remove(sim, nd->camps, crashed);
    nd->nsessions = 0;
    nd->init_session = 0;
}

void bt_sim_elect_paused(struct bt_sim *sim, struct sim_node *sn)
{
    (void)sn;
    /* Its believers simply stop writing: write_timer skips paused nodes. */
    if (sim->elect != NULL) {
        sim->elect->disturbed = true;
        sim->elect->disturbed_at = sim->now;
    }
}

void bt_sim_elect_resuming(struct bt_sim *sim, struct sim_node *sn)
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
    if (bt_sim_network_faulty(sim) || (sim->net_calm_since != 0 && sim->now < sim->net_calm_since + w))
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
    return NULL;
}

void bt_sim_elect_event(struct bt_sim *sim, struct sim_node *sn, const struct bt_event *ev)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    uint32_t x = sn->index;
    if (ev->kind != BT_EV_ELECTED && ev->kind != BT_EV_REVOKED) {
        if (ev->kind != BT_EV_NAME_CONFLICT)
            e->nd[x].last_view_change = sim->now;
        if (ev->kind == BT_EV_MEMBER_DEAD) {
            /* A death of a process that still runs (or is paused): a cause
             * of revocations (a crashed one's is not; its campaigns' end is). */
            int64_t t = ev->member.len <= BATON_NODE_MAX
                            ? bt_sim_parse_index(sim, ev->member.bytes, ev->member.len)
                            : -1;
            if (t >= 0 && sim->nodes[t].node != NULL && sim->nodes[t].boot_id == ev->boot_id) {
                e->disturbed = true;
                e->disturbed_at = sim->now;
            }
        }
        return;
    }
    const char *what = ev->kind == BT_EV_ELECTED ? "ELECTED" : "REVOKED";
    int64_t k = parse_name(e, &ev->name);
    if (k < 0) {
        bt_sim_violation(sim, "bad_event", "n%" PRIu32 " got %s for a name nobody campaigns for", x, what);
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
    bt_sim_log(sim, 3, "n%" PRIu32 " revoked for name-%" PRId64 " (token %" PRIu64 ")", x, k, ev->fence);
    /* A term another node minted too was overtaken: the fence that did it
     * may have been on its way when the election was judged agreed (the
     * leader's own term may even have been the one admitted), so agreement
     * is judged anew, as after a resource's admission (finding E9). */
    uint32_t other = NONE;
    if (cp->leads && ev->fence == cp->token && shared_token(e, (uint32_t)k, cp, &other)) {
        bt_sim_log(sim, 3, "name-%" PRId64 ": n%" PRIu32 "'s token %" PRIu64 " was minted by n%" PRIu32 " too", k, x,
                   cp->token, other);
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
            bt_sim_violation(sim, "revocation",
                             "n%" PRIu32 " (session %" PRIu64 ") was revoked for name-%" PRId64 " (token %" PRIu64
                             ") at %" PRIu64 " ms with no cause: the true winner (session %" PRIu64
                             ") has not changed since its campaign began, and no fault, pause or death",
                             x, cp->session, k, ev->fence, sim->now, e->nm[k].truth_session);
        }
    } else {
        bt_sim_log(sim, 3, "n%" PRIu32 " revoked for name-%" PRId64 ": %s", x, k, cause);
    }
    disbelieve(e, c);
}

/* No campaign of a node holds a token below the node's mark once a call is
 * over (fix 3), and its hw_seen is the mark before the next call. */
static void check_campaign_at(struct bt_sim *sim, uint32_t x, struct campaign *cp, uint64_t hw)
{
    /* Fix 3: once a call is over, a leader never holds a token below a
     * mark its own node knows. */
    if (cp->leads && hw > cp->token && cp->stale_token != cp->token) {
        cp->stale_token = cp->token;
        bt_sim_violation(sim, "no_stale_term",
                         "n%" PRIu32 " still believes it leads name-%" PRIu32 " with %" PRIu64 " at %" PRIu64
                         " ms, below its own high-water mark %" PRIu64 " (fix 3)",
                         x, cp->name, cp->token, sim->now, hw);
    }
    cp->hw_seen = hw;
}

static void check_campaign(struct bt_sim *sim, uint32_t x, struct campaign *cp)
{
    check_campaign_at(sim, x, cp, high_water_of(sim, x, cp->name));
}

void bt_sim_elect_serviced(struct bt_sim *sim, struct sim_node *sn)
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
    epoch_restart(sim);
    while (e->nopen > 0)
        watch_supersede(sim, e->open[0]);
    sim->stats.propagation_superseded += e->nprops;
    while (e->nprops > 0)
        prop_remove(e, e->nprops - 1);
}

/* --- the periodic poll ------------------------------------------------------- */

#define WHY(...)                                                                                   \
    do {                                                                                           \
        if (why != NULL)                                                                           \
            snprintf(why, whylen, __VA_ARGS__);                                                    \
        return false;                                                                              \
    } while (0)

bool bt_sim_agreed(struct bt_sim *sim, uint32_t k, char *why, size_t whylen)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || k >= e->names)
        WHY("no such name");
    uint32_t w = true_winner(sim, k);
    uint64_t target = w == NONE ? 0 : e->pool[w].session;
    uint64_t max_hw = 0;
    uint32_t max_hw_node = NONE;
    for (uint32_t x = 0; x < sim->n; x++) {
        enum bt_sim_node_state s = sim->nodes[x].state;
        if (s == BT_SIM_PAUSED)
            WHY("n%" PRIu32 " is paused", x);
        if (s == BT_SIM_LEAVING)
            WHY("n%" PRIu32 " is leaving", x);
        if (s != BT_SIM_RUNNING)
            continue;
        uint32_t who;
        uint64_t code = view_of(sim, x, k, &who);
        if (code != target) {
            if (target == 0)
                WHY("name-%" PRIu32 ": nobody campaigns, but n%" PRIu32 " sees n%" PRIu32 " (session %" PRIu64 ") lead",
                    k, x, who, code);
            if (code == 0)
                WHY("name-%" PRIu32 ": n%" PRIu32 " sees no leader; truth: n%" PRIu32 " (session %" PRIu64 ")", k, x,
                    e->pool[w].node, target);
            WHY("name-%" PRIu32 ": n%" PRIu32 " sees n%" PRIu32 " (session %" PRIu64 "); truth: n%" PRIu32
                " (session %" PRIu64 ")",
                k, x, who, code, e->pool[w].node, target);
        }
        uint64_t hw = high_water_of(sim, x, k);
        /* Nobody campaigns: a node may have aged the mark out already
         * (design.md fix 11; each node ages on its own schedule), so only
         * the nodes that still hold one must agree on it. */
        if (w == NONE && hw == 0)
            continue;
        if (max_hw_node != NONE && hw != max_hw)
            WHY("name-%" PRIu32 ": n%" PRIu32 "'s high-water mark is %" PRIu64 ", n%" PRIu32 "'s %" PRIu64, k, x, hw,
                max_hw_node, max_hw);
        max_hw = hw;
        max_hw_node = x;
    }
    for (uint32_t c = e->nm[k].camps; c != NONE; c = e->pool[c].by_name.next)
        if (e->pool[c].leads && c != w)
            WHY("name-%" PRIu32 ": n%" PRIu32 " (session %" PRIu64 ") still believes it leads", k, e->pool[c].node,
                e->pool[c].session);
    if (w == NONE)
        return true;
    const struct campaign *wp = &e->pool[w];
    if (!wp->leads)
        WHY("name-%" PRIu32 ": the leader n%" PRIu32 " (session %" PRIu64 ") does not know it leads", k, wp->node,
            wp->session);
    uint64_t fence = 0;
    if (sim->cfg.ops->fence(sim->nodes[wp->node].node, &e->nm[k].name, &fence, NULL) != 0 || fence != wp->token)
        WHY("name-%" PRIu32 ": n%" PRIu32 "'s term is %" PRIu64 " but its session believes %" PRIu64, k, wp->node,
            fence, wp->token);
    if (max_hw != wp->token)
        WHY("name-%" PRIu32 ": the leader n%" PRIu32 " holds %" PRIu64 ", but the high-water mark is %" PRIu64, k,
            wp->node, wp->token, max_hw);
    if (token_taken(e, k, wp))
        WHY("name-%" PRIu32 ": the resource admitted the leader n%" PRIu32 "'s token %" PRIu64 " for session %" PRIu64,
            k, wp->node, wp->token, e->nm[k].term_session);
    return true;
}

#undef WHY

/* Each running node's answer for each name and its high-water mark, asked
 * once per poll (e->views, e->marks); a change of answer that neither a
 * candidacy change of the name nor a membership event at the node (nor a
 * fault) within prop_bound explains breaks stability. bt_node_is_leader is
 * checked against the answer for one name per node and poll, in turn. */
static void poll_views(struct bt_sim *sim, bool judge)
{
    struct sim_elect *e = sim->elect;
    uint64_t window = sim->cfg.prop_bound_ms;
    uint64_t since = e->prev_poll > window ? e->prev_poll - window : 0;
    e->polls++;
    for (uint32_t x = 0; x < sim->n; x++) {
        if (sim->nodes[x].state != BT_SIM_RUNNING)
            continue;
        uint32_t sampled = (uint32_t)((e->polls + x) % e->names);
        for (uint32_t k = 0; k < e->names; k++) {
            uint32_t who;
            uint64_t code = view_of(sim, x, k, &who);
            uint64_t hw = high_water_of(sim, x, k);
            e->marks[(size_t)x * e->names + k] = hw;
            /* Every campaign is checked here too (services check a slice
             * of a node's campaigns when it has many). */
            uint32_t c = find_campaign(e, x, k);
            if (c != NONE)
                check_campaign_at(sim, x, &e->pool[c], hw);
            bool self = k == sampled ? sim->cfg.ops->is_leader(sim->nodes[x].node, &e->nm[k].name)
                                     : (code != 0 && who == x);
            if (self != (code != 0 && who == x) && !e->view_reported) {
                e->view_reported = true;
                bt_sim_violation(sim, "bad_result",
                                 "n%" PRIu32 ": bt_node_is_leader(name-%" PRIu32 ") is %s but bt_node_leader says n%" PRId64,
                                 x, k, self ? "true" : "false", who == NONE ? (int64_t)-1 : (int64_t)who);
            }
            uint64_t *prev = &e->views[(size_t)x * e->names + k];
            if (judge && *prev != VIEW_UNKNOWN && *prev != code && e->nd[x].last_view_change < since &&
                (!e->nm[k].changed || e->nm[k].last_change < since) && !e->stability_reported) {
                e->stability_reported = true;
                bt_sim_violation(sim, "stability",
                                 "n%" PRIu32 "'s leader for name-%" PRIu32 " changed from session %" PRIu64
                                 " to %" PRIu64 " between %" PRIu64 " and %" PRIu64
                                 " ms, with no candidacy change of the name, no membership event at n%" PRIu32
                                 " and no fault since %" PRIu64 " ms",
                                 x, k, *prev, code, e->prev_poll, sim->now, x, since);
            }
            *prev = code;
        }
    }
}

static void poll_state(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    struct bt_sim_stats *st = &sim->stats;
    uint64_t window = gc_window(sim);
    while (e->rem_len > 0 && e->rem[e->rem_head].at + window < sim->now) {
        e->rem_keys -= e->rem[e->rem_head].keys;
        e->rem_head = (e->rem_head + 1) % e->rem_cap;
        e->rem_len--;
    }
    bool clean = true;
    for (uint32_t x = 0; x < sim->n; x++) {
        if (!is_live(sim->nodes[x].state) || sim->nodes[x].node == NULL)
            continue;
        struct bt_node_stats ns;
        sim->cfg.ops->stats(sim->nodes[x].node, &ns);
        const struct bt_election_stats *es = &ns.election;
        if (es->entries > st->max_entries)
            st->max_entries = es->entries;
        if (es->tombstones > st->max_tombstones)
            st->max_tombstones = es->tombstones;
        if (es->high_water_marks > st->max_high_water_marks)
            st->max_high_water_marks = es->high_water_marks;
        uint64_t entry_bound = (uint64_t)e->ncamps + e->rem_keys;
        uint64_t key_bound = (uint64_t)sim->n * e->names;
        if (entry_bound > key_bound)
            entry_bound = key_bound;
        if (es->entries > entry_bound || es->tombstones > e->rem_keys ||
            es->high_water_marks > (size_t)e->names * BT_LEADER_MINTERS_MAX) {
            clean = false;
            if (!e->bounded_reported) {
                e->bounded_reported = true;
                bt_sim_violation(sim, "bounded_state",
                                 "n%" PRIu32 " holds %zu entries (%zu tombstones) and %zu high-water marks at %" PRIu64
                                 " ms; %" PRIu32 " live candidacies, %" PRIu64
                                 " removals within the GC window of %" PRIu64 " ms and %" PRIu32
                                 " names account for at most %" PRIu64 " entries, %" PRIu64 " tombstones, %" PRIu64
                                 " marks",
                                 x, es->entries, es->tombstones, es->high_water_marks, sim->now, e->ncamps, e->rem_keys,
                                 window, e->names, entry_bound, e->rem_keys,
                                 (uint64_t)e->names * BT_LEADER_MINTERS_MAX);
            }
        }
    }
    if (clean && e->any_removal && e->rem_keys == 0)
        st->gc_observed = true;
}

/* Whether the membership converged (the last check passed) and every name
 * is agreed (bt_sim_agreed: the same leader and the same high-water token on
 * every running node). Who minted a token is not compared: that set grows by
 * gossip and may differ for a while without changing any decision. The first
 * reason why not into why. */
static bool all_agreed(struct bt_sim *sim, char *why, size_t whylen)
{
    struct sim_elect *e = sim->elect;
    if (!sim->converged_now) {
        if (why != NULL)
            snprintf(why, whylen, "the membership has not converged");
        return false;
    }
    for (uint32_t k = 0; k < e->names; k++)
        if (!bt_sim_agreed(sim, k, why, whylen))
            return false;
    return true;
}

#define WHY(...)                                                                                   \
    do {                                                                                           \
        if (why != NULL)                                                                           \
            snprintf(why, whylen, __VA_ARGS__);                                                    \
        return false;                                                                              \
    } while (0)

/* all_agreed() from the answers poll_views() just gathered. */
static bool agreed_cached(struct bt_sim *sim, char *why, size_t whylen)
{
    struct sim_elect *e = sim->elect;
    if (!sim->converged_now)
        WHY("the membership has not converged");
    for (uint32_t x = 0; x < sim->n; x++) {
        if (sim->nodes[x].state == BT_SIM_PAUSED)
            WHY("n%" PRIu32 " is paused", x);
        if (sim->nodes[x].state == BT_SIM_LEAVING)
            WHY("n%" PRIu32 " is leaving", x);
    }
    for (uint32_t k = 0; k < e->names; k++) {
        uint32_t w = true_winner(sim, k);
        uint64_t target = w == NONE ? 0 : e->pool[w].session;
        uint32_t first = NONE;
        uint64_t mark = 0;
        for (uint32_t x = 0; x < sim->n; x++) {
            if (sim->nodes[x].state != BT_SIM_RUNNING)
                continue;
            uint64_t code = e->views[(size_t)x * e->names + k];
            uint64_t hw = e->marks[(size_t)x * e->names + k];
            if (code != target)
                WHY("name-%" PRIu32 ": n%" PRIu32 " sees session %" PRIu64 " lead; truth: session %" PRIu64, k, x,
                    code, target);
            if (w == NONE && hw == 0)
                continue; /* aged out here already (see bt_sim_agreed) */
            if (first != NONE && hw != mark)
                WHY("name-%" PRIu32 ": n%" PRIu32 "'s high-water mark is %" PRIu64 ", n%" PRIu32 "'s %" PRIu64, k, x,
                    hw, first, mark);
            first = x;
            mark = hw;
        }
        for (uint32_t c = e->nm[k].camps; c != NONE; c = e->pool[c].by_name.next)
            if (e->pool[c].leads && c != w)
                WHY("name-%" PRIu32 ": n%" PRIu32 " (session %" PRIu64 ") still believes it leads", k,
                    e->pool[c].node, e->pool[c].session);
        if (w == NONE)
            continue;
        const struct campaign *wp = &e->pool[w];
        uint64_t fence = 0;
        if (!wp->leads)
            WHY("name-%" PRIu32 ": the leader n%" PRIu32 " does not know it leads", k, wp->node);
        if (sim->cfg.ops->fence(sim->nodes[wp->node].node, &e->nm[k].name, &fence, NULL) != 0 || fence != wp->token)
            WHY("name-%" PRIu32 ": n%" PRIu32 "'s term is %" PRIu64 " but its session believes %" PRIu64, k,
                wp->node, fence, wp->token);
        if (mark != wp->token)
            WHY("name-%" PRIu32 ": the leader n%" PRIu32 " holds %" PRIu64 ", but the high-water mark is %" PRIu64, k,
                wp->node, wp->token, mark);
        if (token_taken(e, k, wp))
            WHY("name-%" PRIu32 ": the resource admitted the leader n%" PRIu32 "'s token %" PRIu64
                " for session %" PRIu64,
                k, wp->node, wp->token, e->nm[k].term_session);
    }
    return true;
}

#undef WHY

static void poll(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    struct bt_sim_stats *st = &sim->stats;
    /* Stability is judged in fault-free stretches with at most 10% loss. */
    bool calm = sim->cfg.loss <= 0.1 && !bt_sim_network_faulty(sim) &&
                (sim->fault_count == 0 || sim->stats.last_fault_ms + sim->cfg.prop_bound_ms < e->prev_poll);
    for (uint32_t x = 0; x < sim->n && calm; x++)
        calm = sim->nodes[x].state == BT_SIM_RUNNING || sim->nodes[x].state == BT_SIM_CRASHED ||
               sim->nodes[x].state == BT_SIM_LEFT;
    poll_views(sim, calm && e->polled);
    poll_state(sim);
    char why[256];
    bool verbose = sim->cfg.log != NULL && sim->cfg.verbosity >= 3;
    bool lost_check = e->epoch_agreed && !e->lost_reported;
    e->agreed_now = agreed_cached(sim, verbose || lost_check ? why : NULL, sizeof why);
    if (e->agreed_now && !e->epoch_agreed) {
        e->epoch_agreed = true;
        e->agreed_at = sim->now;
        st->agreed = true;
        st->agreement_ms = sim->now - e->last_change;
        bt_sim_log(sim, 2, "election agreed on every name, %" PRIu64 " ms after the last change", st->agreement_ms);
    } else if (!e->agreed_now && e->epoch_agreed && sim->converged_now) {
        /* Nothing changed since the agreement (a change would have ended
         * the epoch) and the membership still agrees. In a calm cluster
         * that is a flap; under a network fault it is the fault being
         * noticed: judge again later. A membership that stops agreeing
         * (a suspicion under loss) is the membership checker's business. */
        if (cluster_calm(sim) && !e->lost_reported) {
            e->lost_reported = true;
            bt_sim_violation(sim, "agreement",
                             "lost at %" PRIu64 " ms with no fault or candidacy change since it was reached at %" PRIu64
                             " ms: %s",
                             sim->now, e->agreed_at, why);
        }
        e->epoch_agreed = false;
        st->agreed = false;
    }
    if (!e->agreed_now && verbose && strcmp(why, e->why) != 0) {
        bt_sim_log(sim, 3, "not agreed: %s", why);
        memcpy(e->why, why, sizeof why);
    }
    e->prev_poll = sim->now;
    e->polled = true;
}

void bt_sim_elect_periodic(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    if (!e->formed && sim->converged_now) {
        e->formed = true;
        e->formed_at = sim->now;
    }
    if (sim->now < e->next_poll)
        return;
    e->next_poll = sim->now + sim->cfg.elect_check_ms;
    poll(sim);
}

bool bt_sim_elect_settled(const struct bt_sim *sim)
{
    return sim->elect == NULL || sim->elect->epoch_agreed;
}

uint64_t bt_sim_elect_deadline(const struct bt_sim *sim)
{
    if (sim->elect == NULL)
        return 0;
    return sim->elect->last_change + sim->cfg.agree_bound_ms + sim->cfg.elect_check_ms;
}

/* Candidacies still on their way when the run ends: counted, logged, and a
 * violation once older than prop_bound (anti-entropy repairs any miss
 * within it). */
static void prop_finish(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    prop_poll(sim);
    for (size_t r = 0; r < e->nprops; r++) {
        const struct prop *p = &e->props[r];
        uint32_t missing = 0;
        while (missing < sim->n && (sim->nodes[missing].state != BT_SIM_RUNNING || bt_sim_bit(p->bits, missing)))
            missing++;
        uint64_t age = sim->now - p->started;
        sim->stats.propagation_pending++;
        bt_sim_log(sim, 1, "name-%" PRIu32 ": n%" PRIu32 "'s candidacy has not reached n%" PRIu32 " after %" PRIu64 " ms",
                   p->name, p->node, missing, age);
        if (age > sim->cfg.prop_bound_ms)
            bt_sim_violation(sim, "propagation",
                             "name-%" PRIu32 ": n%" PRIu32 "'s candidacy has not reached n%" PRIu32
                             " after %" PRIu64 " ms; bound %" PRIu64 " ms",
                             p->name, p->node, missing, age, sim->cfg.prop_bound_ms);
    }
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
                             "not agreed %" PRIu64 " ms after the last change (at %" PRIu64 " ms): %s",
                             sim->now - e->last_change, e->last_change, why);
            return;
        }
        e->epoch_agreed = true;
        st->agreed = true;
        st->agreement_ms = sim->now - e->last_change;
    }
    if (st->agreement_ms > sim->cfg.agree_bound_ms)
        bt_sim_violation(sim, "agreement",
                         "agreed %" PRIu64 " ms after the last change (at %" PRIu64 " ms); bound %" PRIu64 " ms",
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

/* --- the election API of sim.h ----------------------------------------------- */

uint32_t bt_sim_names(const struct bt_sim *sim)
{
    return sim->elect ? sim->elect->names : 0;
}

const struct bt_name *bt_sim_name(const struct bt_sim *sim, uint32_t k)
{
    return sim->elect && k < sim->elect->names ? &sim->elect->nm[k].name : NULL;
}

uint64_t bt_sim_session_new(struct bt_sim *sim, uint32_t i)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || sim->nodes[i].state != BT_SIM_RUNNING)
        return 0;
    struct enode *nd = &e->nd[i];
    if (nd->nsessions == nd->sessions_cap) {
        uint32_t cap = nd->sessions_cap ? nd->sessions_cap * 2 : 4;
        uint64_t *s = realloc(nd->sessions, cap * sizeof *s);
        if (s == NULL) {
            elect_oom(sim);
            return 0;
        }
        nd->sessions = s;
        nd->sessions_cap = cap;
    }
    uint64_t id = e->next_session++;
    nd->sessions[nd->nsessions++] = id;
    return id;
}

int bt_sim_lead(struct bt_sim *sim, uint32_t i, uint32_t k, int64_t priority, uint64_t session,
                uint64_t *session_out, uint64_t *fence)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    if (find_campaign(e, i, k) != NONE)
        return BATON_EALREADY;
    if (session == 0)
        session = bt_sim_session_new(sim, i);
    else if (session_index(&e->nd[i], session) < 0)
        return BATON_EINVAL;
    if (session == 0)
        return BATON_ENOMEM;
    struct sim_node *sn = &sim->nodes[i];
    uint64_t hw_before = high_water_of(sim, i, k);
    uint64_t token = 0;
    int rc = sim->cfg.ops->lead(sn->node, session, &e->nm[k].name, priority, bt_sim_node_time(sim, sn), &token);
    if (rc != 0 && rc != 1) {
        bt_sim_violation(sim, "bad_result", "bt_node_lead on n%" PRIu32 " for name-%" PRIu32 " returned %d (%s)", i, k,
                         rc, baton_err_name(rc));
        bt_sim_poke(sim, i);
        return rc;
    }
    uint32_t c = campaign_add(sim, i, k, session, priority);
    if (c == NONE)
        return BATON_ENOMEM;
    sim->stats.campaigns++;
    e->pool[c].hw_seen = hw_before;
    bt_sim_log(sim, 2, "n%" PRIu32 " campaigns for name-%" PRIu32 " (session %" PRIu64 ", priority %" PRId64 "): %s", i,
               k, session, priority, rc == 1 ? "leader" : "follower");
    if (rc == 1) {
        note_mint(sim, c, token, hw_before, "lead");
        believe(sim, c, token);
        e->pool[c].hw_seen = max_u64(hw_before, token);
    }
    candidacy_changed(sim, k);
    prop_start(sim, c);
    if (session_out != NULL)
        *session_out = session;
    if (fence != NULL)
        *fence = rc == 1 ? token : 0;
    bt_sim_poke(sim, i);
    return rc;
}

int bt_sim_resign(struct bt_sim *sim, uint32_t i, uint32_t k)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    uint32_t c = find_campaign(e, i, k);
    if (c == NONE)
        return BATON_ENOENT;
    struct sim_node *sn = &sim->nodes[i];
    e->pool[c].watch_end = leads_agreed_name(sim, c);
    int rc = sim->cfg.ops->resign(sn->node, &e->nm[k].name, bt_sim_node_time(sim, sn));
    if (rc != 0)
        bt_sim_violation(sim, "bad_result", "bt_node_resign on n%" PRIu32 " for name-%" PRIu32 " returned %d (%s)", i, k,
                         rc, baton_err_name(rc));
    bt_sim_log(sim, 2, "n%" PRIu32 " resigns name-%" PRIu32 " (session %" PRIu64 "%s)", i, k, e->pool[c].session,
               e->pool[c].leads ? ", the leader" : "");
    sim->stats.resigns++;
    campaign_remove(sim, c, false);
    bt_sim_poke(sim, i);
    return 0;
}

int bt_sim_session_end(struct bt_sim *sim, uint32_t i, uint64_t session)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || sim->nodes[i].state != BT_SIM_RUNNING)
        return BATON_EINVAL;
    struct enode *nd = &e->nd[i];
    int at = session_index(nd, session);
    if (at < 0)
        return BATON_EINVAL;
    int held = 0;
    for (uint32_t c = nd->camps; c != NONE; c = e->pool[c].by_node.next) {
        if (e->pool[c].session == session) {
            held++;
            e->pool[c].watch_end = leads_agreed_name(sim, c);
        }
    }
    struct sim_node *sn = &sim->nodes[i];
    int rc = sim->cfg.ops->session_end(sn->node, session, bt_sim_node_time(sim, sn));
    if (rc != held)
        bt_sim_violation(sim, "bad_result",
                         "bt_node_session_end on n%" PRIu32 " (session %" PRIu64 ") returned %d; it held %d campaigns",
                         i, session, rc, held);
    bt_sim_log(sim, 2, "n%" PRIu32 " ends session %" PRIu64 " (%d campaigns)", i, session, held);
    sim->stats.session_ends++;
    for (uint32_t c = nd->camps, next; c != NONE; c = next) {
        next = e->pool[c].by_node.next;
        if (e->pool[c].session == session)
            campaign_remove(sim, c, false);
    }
    nd->sessions[at] = nd->sessions[--nd->nsessions];
    if (nd->init_session == session)
        nd->init_session = 0;
    bt_sim_poke(sim, i);
    return held;
}

size_t bt_sim_sessions(const struct bt_sim *sim, uint32_t i, uint64_t *out, size_t cap)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n)
        return 0;
    const struct enode *nd = &e->nd[i];
    for (uint32_t j = 0; j < nd->nsessions && j < cap; j++)
        out[j] = nd->sessions[j];
    return nd->nsessions;
}

uint64_t bt_sim_campaign_session(const struct bt_sim *sim, uint32_t i, uint32_t k)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names)
        return 0;
    uint32_t c = find_campaign(e, i, k);
    return c == NONE ? 0 : e->pool[c].session;
}

bool bt_sim_believes(const struct bt_sim *sim, uint32_t i, uint32_t k, uint64_t *token)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names)
        return false;
    uint32_t c = find_campaign(e, i, k);
    if (c == NONE || !e->pool[c].leads)
        return false;
    if (token != NULL)
        *token = e->pool[c].token;
    return true;
}

bool bt_sim_true_leader(const struct bt_sim *sim, uint32_t k, uint32_t *node, uint64_t *session)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || k >= e->names)
        return false;
    uint32_t w = true_winner(sim, k);
    if (w == NONE)
        return false;
    if (node != NULL)
        *node = e->pool[w].node;
    if (session != NULL)
        *session = e->pool[w].session;
    return true;
}

int bt_sim_leader_view(struct bt_sim *sim, uint32_t i, uint32_t k, uint32_t *node, uint64_t *session)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL || i >= sim->n || k >= e->names || sim->nodes[i].node == NULL)
        return BATON_EINVAL;
    uint32_t who;
    uint64_t code = view_of(sim, i, k, &who);
    if (code == 0)
        return BATON_ENOLEADER;
    if (node != NULL)
        *node = who;
    if (session != NULL)
        *session = code;
    return 0;
}

bool bt_sim_wait_agreed(struct bt_sim *sim, uint32_t k, uint64_t timeout_ms)
{
    if (sim->elect == NULL)
        return true;
    uint64_t deadline = sim->now + timeout_ms;
    for (;;) {
        bool ok = k == UINT32_MAX ? all_agreed(sim, NULL, 0) : bt_sim_agreed(sim, k, NULL, 0);
        if (ok)
            return true;
        if (sim->now >= deadline || sim->oom)
            return false;
        uint64_t next = sim->now + sim->check_ms;
        bt_sim_run_until(sim, next < deadline ? next : deadline);
    }
}

/* A delayed initial lead: arg = node * names + name. */
static void lead_later(struct bt_sim *sim, uint64_t arg)
{
    struct sim_elect *e = sim->elect;
    uint32_t i = (uint32_t)(arg / e->names), k = (uint32_t)(arg % e->names);
    if (sim->nodes[i].state != BT_SIM_RUNNING || find_campaign(e, i, k) != NONE)
        return;
    struct enode *nd = &e->nd[i];
    if (nd->init_session == 0 || session_index(nd, nd->init_session) < 0)
        nd->init_session = bt_sim_session_new(sim, i);
    if (nd->init_session != 0)
        bt_sim_lead(sim, i, k, 0, nd->init_session, NULL, NULL);
}

void bt_sim_campaign_all(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    uint32_t *running = malloc((size_t)sim->n * sizeof *running);
    uint8_t *chosen = calloc((size_t)sim->n * e->names, 1);
    if (running == NULL || chosen == NULL) {
        free(running);
        free(chosen);
        elect_oom(sim);
        return;
    }
    uint32_t nrun = 0;
    for (uint32_t i = 0; i < sim->n; i++)
        if (sim->nodes[i].state == BT_SIM_RUNNING)
            running[nrun++] = i;
    uint32_t want = sim->cfg.campaigners == 0 || sim->cfg.campaigners > nrun ? nrun : sim->cfg.campaigners;
    for (uint32_t k = 0; k < e->names; k++) {
        /* A partial Fisher-Yates shuffle picks `want` distinct nodes. */
        for (uint32_t j = 0; j < want; j++) {
            uint32_t r = want == nrun ? j : j + (uint32_t)bt_prng_below(&e->rng, nrun - j);
            uint32_t t = running[j];
            running[j] = running[r];
            running[r] = t;
            chosen[(size_t)running[j] * e->names + k] = 1;
        }
    }
    bt_sim_log(sim, 1, "%" PRIu32 " names, %" PRIu32 " campaigners each, start campaigning", e->names, want);
    for (uint32_t i = 0; i < sim->n; i++) {
        for (uint32_t k = 0; k < e->names; k++) {
            if (!chosen[(size_t)i * e->names + k])
                continue;
            uint64_t delay = sim->cfg.campaign_spread_ms ? bt_prng_range(&e->rng, 0, sim->cfg.campaign_spread_ms) : 0;
            if (delay == 0)
                lead_later(sim, (uint64_t)i * e->names + k);
            else
                bt_sim_after(sim, delay, lead_later, (uint64_t)i * e->names + k);
        }
    }
    free(running);
    free(chosen);
}

void bt_sim_campaign_everywhere(struct bt_sim *sim)
{
    struct sim_elect *e = sim->elect;
    if (e == NULL)
        return;
    for (uint32_t i = 0; i < sim->n; i++) {
        if (sim->nodes[i].state != BT_SIM_RUNNING)
            continue;
        uint64_t session = 0;
        for (uint32_t k = 0; k < e->names; k++)
            if (find_campaign(e, i, k) == NONE)
                bt_sim_lead(sim, i, k, 0, session, &session, NULL);
    }
}

uint64_t bt_sim_resource_high_water(const struct bt_sim *sim, uint32_t k)
{
    const struct sim_elect *e = sim->elect;
    if (e == NULL || k >= e->names)
        return 0;
    return baton_guard_high_water(e->nm[k].guard);
}
