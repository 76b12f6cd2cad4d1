/*
 * The sans-IO node (node.h): one cluster member's protocol state behind the
 * small driver-facing API of docs/design.md §2.
 *
 * The node owns three layers and wires them together:
 *   membership   struct bt_swim (swim.c): who is alive, dissemination;
 *   replication  struct bt_replica (replica.c): election state as user
 *                broadcasts and push-pull state of the membership layer;
 *   election     struct bt_leader (leader.c): the winner, terms, tokens.
 * It turns the profile into timings and collects what the layers produce
 * into two FIFO queues that the driver drains: outputs (datagrams and stream
 * messages, each with its own copy of the bytes) and events. Queues rather
 * than callbacks keep the driver's loop simple (call, then drain) and rule
 * out re-entry from driver code, as ngtcp2 and nghttp2 do for their callers.
 *
 * Re-entry inside the core is ruled out the same way. Membership calls its
 * sink while it works; the sink only records: outputs and events into the
 * queues, membership verdicts into a list for the election, received
 * election payloads straight into the replica (which may forward them: the
 * one re-entry swim.h allows). After every call from the driver, settle()
 * hands the verdicts to the election, gossips what the election wrote, and
 * turns the election's events into node events. So a membership DEAD event
 * always precedes the ELECTED it causes.
 *
 * Stopping (node.h). Nothing the layers report may be lost while the node
 * runs: a lost DEAD verdict would leave the election counting a dead node's
 * candidacies for good, a lost ELECTED a leader that does not know it. So
 * when memory runs out where that would happen (queueing an event or a
 * verdict, or inside the replica: replica.h, `fatal`), or when membership
 * reports that another live process keeps our name, the node stops: the
 * membership layer goes silent (bt_swim_stop), the election is no longer
 * fed, and bt_node_pop_event() hands out, after what was queued, what the
 * election still had queued, a REVOKED for every term still held
 * (bt_leader_end_term, which allocates nothing), the conflict that caused the
 * stop if any, and last BT_EV_STOPPED. None of that needs memory, so a node
 * out of memory still ends its terms in order.
 *
 * Time: mono_ms drives every timer; wall_ms feeds the election's HLC.
 */
#include "core/node_internal.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

#define DEFAULT_MAX_PACKET 1400

/* ---- queues ------------------------------------------------------------- */

/* An empty queue that grew past QUEUE_KEEP slots gives its memory back (a
 * join brings an event per member: 16 384 events of 500 bytes kept by each
 * node of a 10 000-node simulation); the next push grows it again. */
#define QUEUE_KEEP 64

static void sink_send(void *ctx, enum bt_output_kind kind, const struct bt_addr *to, uint64_t conn,
                      const uint8_t *data, size_t len)
{
    struct bt_node *n = ctx;
    if (bt_fifo_reserve(&n->out, 1) != 0) {
        n->dropped_oom++;
        return;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        n->dropped_oom++;
        return;
    }
    memcpy(copy, data, len);
    struct bt_out_item it;
    it.kind = kind;
    it.to = *to;
    /* A stream the membership layer opens: conn 0 and its id for the driver. */
    bool own = kind == BT_OUT_STREAM && (conn & BT_STREAM_OWN);
    it.conn = own ? 0 : conn;
    it.stream = own ? conn : 0;
    it.data = copy;
    it.len = len;
    bt_fifo_push(&n->out, &it);
}

/* Queues an event; false if memory ran out (the caller stops the node). */
bool node_push_event(struct bt_node *n, const struct bt_event *ev)
{
    if (bt_fifo_reserve(&n->ev, 1) != 0)
        return false;
    bt_fifo_push(&n->ev, ev);
    return true;
}

/* Stops the node for good (see the essay at the top and node.h). cause: the
 * conflict to report before BT_EV_STOPPED, or NULL. */
void node_stop(struct bt_node *n, int reason, const struct bt_event *cause)
{
    if (n->stopped)
        return;
    n->stopped = reason;
    if (cause) {
        n->cause = *cause;
        n->has_cause = true;
    }
    bt_swim_stop(n->swim);
    n->nverdicts = 0;
    n->retry_at = 0;
}

static void sink_event(void *ctx, const struct bt_event *ev)
{
    struct bt_node *n = ctx;
    if (n->stopped)
        return;
    if (ev->kind == BT_EV_NAME_CONFLICT) {
        node_stop(n, BATON_ECONFLICT, ev);
        return;
    }
    if (n->nverdicts == n->verdicts_cap) {
        size_t cap = n->verdicts_cap ? n->verdicts_cap * 2 : 16;
        struct verdict *v = realloc(n->verdicts, cap * sizeof *v);
        if (!v) {
            node_stop(n, BATON_ENOMEM, NULL);
            return;
        }
        n->verdicts = v;
        n->verdicts_cap = cap;
    }
    if (!node_push_event(n, ev)) {
        node_stop(n, BATON_ENOMEM, NULL);
        return;
    }
    if (ev->kind == BT_EV_MEMBER_LEFT)
        node_clock_forget(n, &ev->member, 0);
    else if (ev->kind == BT_EV_MEMBER_UP)
        node_clock_reboot(n, &ev->member, ev->boot_id);
    else if (ev->kind == BT_EV_MEMBER_DEAD)
        node_clock_dead(n, &ev->member);
    node_clock_verdict(n, &ev->member);
    struct verdict *v = &n->verdicts[n->nverdicts++];
    v->member = ev->member;
    v->boot_id = ev->boot_id;
    v->kind = ev->kind;
}

/* The replication layer's hooks. */
static void user_deliver(void *ctx, const struct bt_nodeid *from, const uint8_t *data, size_t len)
{
    struct bt_node *n = ctx;
    if (!n->stopped && !n->replica.fatal)
        bt_replica_deliver(&n->replica, from, data, len, n->now);
}

static void user_prefetch(void *ctx, const uint8_t *const *data, const size_t *len, size_t n)
{
    const struct bt_node *nd = ctx;
    bt_replica_prefetch(&nd->replica, data, len, n);
}

static size_t user_state(void *ctx, bool join, size_t index, uint8_t *buf, size_t cap)
{
    struct bt_node *n = ctx;
    return bt_replica_state(&n->replica, index, buf, cap, n->now);
}

static void user_merge(void *ctx, const struct bt_nodeid *from, bool join, const uint8_t *data,
                       size_t len)
{
    struct bt_node *n = ctx;
    if (len > 0 && !n->stopped && !n->replica.fatal)
        bt_replica_merge_state(&n->replica, from, join, data, len, n->now);
}

/* Whether the first ALONE_ATTEMPTS join attempts went unanswered (fix 8):
 * known from stream events when the driver reports them (every push-pull of
 * an attempt failed), else from the time those attempts take (alone_at). */
bool node_join_unanswered(const struct bt_node *n)
{
    return (n->alone_at != 0 && n->now.mono_ms >= n->alone_at) ||
           bt_swim_join_unanswered(n->swim) >= ALONE_ATTEMPTS;
}

static size_t user_digest(void *ctx, uint64_t quiet_ms, uint8_t *buf, size_t cap)
{
    struct bt_node *n = ctx;
    if (n->stopped || n->replica.fatal)
        return 0;
    return bt_replica_digest(&n->replica, quiet_ms, buf, cap, n->now);
}

static bool user_digest_check(void *ctx, const struct bt_nodeid *from, uint64_t quiet_ms,
                              const uint8_t *data, size_t len)
{
    struct bt_node *n = ctx;
    if (n->stopped || n->replica.fatal)
        return false;
    return bt_replica_digest_differs(&n->replica, quiet_ms, data, len, n->now);
}

/* An election event as a node event. */
static struct bt_event leader_event(const struct bt_node *n, const struct bt_leader_event *le)
{
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = le->kind == BT_LEADER_ELECTED ? BT_EV_ELECTED : BT_EV_REVOKED;
    ev.member = n->cfg.name;
    ev.addr = n->cfg.addr;
    ev.boot_id = n->cfg.boot_id;
    ev.session = le->session;
    ev.name = le->name;
    ev.fence = le->fence;
    return ev;
}

/* Fix 8, sync before minting: the election mints nothing until the
 * node's first full-state exchange since joining is merged (the membership
 * layer's join is done: its push-pull carried the candidate map and the
 * high-water marks), or its first three join attempts went unanswered
 * (it is alone, or its seeds are down; waiting longer would keep a lone
 * node from ever leading): known from stream events when the driver
 * reports them (every push-pull of the attempt failed), else from the
 * time three attempts take (alone_at); and its clock's first judgement is
 * made (fix 9: a node must know whether its clock is refused before it
 * mints a token with it; until then its candidacies stand, as before the
 * sync). */
static void sync_check(struct bt_node *n)
{
    if (n->synced)
        return;
    if (n->joined && !n->clock_announced)
        return; /* fix 9: the first clock judgement is part of syncing */
    bool alone = node_join_unanswered(n);
    if (!bt_swim_joined(n->swim) && !alone)
        return;
    if (bt_leader_synced(n->leader, n->now.wall_ms) >= 0)
        n->synced = true;
}

/* After every driver call, outside the membership layer's callbacks:
 * 1. hand membership verdicts to the election (fix 1), in order; then, if
 *    the join is now done, tell the election it has the cluster's state
 *    (fix 8: after the verdicts, so the members it learned count);
 * 2. gossip what the election wrote;
 * 3. turn the election's events into node events;
 * 4. give every campaign that started a settle period in this call its
 *    deadline (fix 8).
 * Memory running out in any step stops the node (see the essay). */
static void settle(struct bt_node *n)
{
    if (n->stopped)
        return;
    for (size_t i = 0; i < n->nverdicts && !n->replica.fatal; i++) { /* 1 */
        struct bt_event ev = {.kind = n->verdicts[i].kind,
                              .member = n->verdicts[i].member,
                              .boot_id = n->verdicts[i].boot_id};
        bt_replica_member_event(&n->replica, &ev, n->now);
    }
    n->nverdicts = 0;
    if (n->verdicts_cap > QUEUE_KEEP) {
        /* A join brings a verdict per member: 16 384 slots of 88 bytes
         * kept by each node of a 10 000-node simulation otherwise. The
         * next verdict allocates again. */
        free(n->verdicts);
        n->verdicts = NULL;
        n->verdicts_cap = 0;
    }
    bool rescreen = node_tell_words(n);
    uint64_t judged = n->clock_judged_at;
    if (n->joined && !n->replica.fatal)
        node_judge_clock(n);
    if (n->stopped)
        return; /* no memory for a clock event */
    node_say_word(n);
    /* Items held after a clock refusal are screened again when a word or
     * the reference may have changed: a word, a judgement (fix 9). */
    if ((rescreen || judged != n->clock_judged_at) && !n->replica.fatal)
        bt_replica_rescreen(&n->replica, n->now);
    if (!n->replica.fatal) {
        sync_check(n);
        bt_replica_flush(&n->replica, n->now); /* 2 */
    }
    if (n->replica.fatal) {
        node_stop(n, n->replica.fatal, NULL);
        return;
    }
    struct bt_leader_event le; /* 3 */
    while (bt_leader_pop_event(n->leader, &le)) {
        struct bt_event ev = leader_event(n, &le);
        if (!node_push_event(n, &ev)) {
            n->stash = ev;
            n->has_stash = true;
            node_stop(n, BATON_ENOMEM, NULL);
            return;
        }
    }
    if (n->retry_at == 0 && bt_leader_deferred(n->leader) > 0)
        n->retry_at = n->now.mono_ms + n->retry_interval;
    bt_leader_settle_schedule(n->leader, n->now.mono_ms + n->settle_ms); /* 4 */
}

/* ---- API ---------------------------------------------------------------- */

struct bt_node *bt_node_new(const struct bt_node_config *cfg, struct bt_time now)
{
    if (!cfg)
        return NULL;
    struct bt_node *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->cfg = *cfg;
    bt_fifo_init_keep(&n->out, sizeof(struct bt_out_item), QUEUE_KEEP);
    bt_fifo_init_keep(&n->ev, sizeof(struct bt_event), QUEUE_KEEP);
    struct bt_swim_config sc;
    memset(&sc, 0, sizeof sc);
    sc.name = cfg->name;
    sc.addr = cfg->addr;
    sc.boot_id = cfg->boot_id;
    sc.max_packet = cfg->max_packet ? cfg->max_packet : DEFAULT_MAX_PACKET;
    sc.random = cfg->random;
    sc.random_ctx = cfg->random_ctx;
    sc.member_extra = sizeof(struct clock_reading);
    n->cfg.timing = NULL; /* borrowed for this call only */
    if (cfg->timing)
        sc.timing = *cfg->timing;
    else if (bt_swim_timing_profile(cfg->profile, &sc.timing) != 0) {
        free(n);
        return NULL;
    }
    struct bt_swim_sink sink = {
        .ctx = n,
        .send = sink_send,
        .event = sink_event,
        .user_deliver = user_deliver,
        .user_state = user_state,
        .user_merge = user_merge,
        .user_prefetch = user_prefetch,
        .wall = node_sink_wall,
        .clock = node_sink_clock,
        .word = node_sink_word,
        .user_digest = user_digest,
        .user_digest_check = user_digest_check,
    };
    /* Fix 8: a first term for a name with no known leader waits two gossip
     * periods (local 40 ms, lan 400 ms, wan 1 s): a candidacy made at the
     * same moment elsewhere is an urgent broadcast that crosses the cluster
     * in a few network hops, and a node it missed gets it again at the next
     * gossip round. */
    n->settle_ms = 2 * (uint64_t)sc.timing.gossip_interval;
    struct bt_leader_config lc = {
        .self = cfg->name,
        .boot_id = cfg->boot_id,
        .max_clock_offset_ms = cfg->max_clock_offset_ms,
        .settle = true,
        .settle_ms = n->settle_ms,
        .horizon_ms = cfg->horizon_ms ? cfg->horizon_ms : BT_REPLICA_HORIZON_DEFAULT_MS,
        .max_names = cfg->max_names ? cfg->max_names : BT_NODE_NAMES_DEFAULT,
    };
    n->now = now;
    /* Waiting terms are retried once per protocol period, and each name
     * restarts after DEFER_ROUNDS of them counted from its own step back:
     * between ten and eleven periods, about the time failure detection
     * takes. A term that waits for a rival it cannot see (a minter behind a
     * partition, or one that died unseen) restarts no sooner, so two
     * partition sides do not outbid each other at the resource faster than
     * that. */
    n->retry_interval = (uint64_t)sc.timing.probe_interval;
    /* ...and no term before the join's state exchange, or before the first
     * three join attempts (join_retry_min, then twice, then four times that
     * apart) went unanswered. */
    n->alone_interval = 7 * (uint64_t)sc.timing.join_retry_min;
    n->scratch = malloc(sizeof *n->scratch); /* room for our own offset */
    n->swim = n->scratch ? bt_swim_new(&sc, &sink, now.mono_ms) : NULL;
    n->leader = n->swim ? bt_leader_new(&lc) : NULL;
    if (!n->leader) {
        bt_swim_free(n->swim);
        free(n->scratch);
        free(n);
        return NULL;
    }
    bt_replica_init(&n->replica, n->leader, n->swim, cfg->horizon_ms, now.mono_ms);
    return n;
}

void bt_node_free(struct bt_node *n)
{
    if (!n)
        return;
    bt_replica_destroy(&n->replica);
    bt_leader_free(n->leader);
    bt_swim_free(n->swim);
    free(n->verdicts);
    struct bt_out_item it;
    while (bt_fifo_pop(&n->out, &it))
        free(it.data);
    bt_fifo_free(&n->out);
    free(n->popped);
    bt_fifo_free(&n->ev);
    node_clock_free(n);
    free(n);
}

int bt_node_join(struct bt_node *n, const struct bt_addr *seeds, size_t count, struct bt_time now)
{
    if (n->stopped)
        return n->stopped;
    n->now = now;
    int rc = bt_swim_join(n->swim, seeds, count, now.mono_ms);
    if (rc == 0 && !n->joined) {
        n->joined = true;
        n->joined_at = now.mono_ms;
        /* Through seeds (other than ourselves), the clock is judged once
         * the members met are read (fix 9); alone, at once. Until then
         * the node writes its candidacies but mints nothing: the first
         * judgement is part of fix 8's sync (sync_check). */
        size_t others = 0;
        for (size_t i = 0; i < count; i++)
            others += !bt_addr_eq(&seeds[i], &n->cfg.addr);
        n->clock_settled = others == 0;
        n->clock_dirty = true;
    }
    if (rc == 0 && n->alone_at == 0)
        n->alone_at = now.mono_ms + n->alone_interval;
    settle(n);
    return rc;
}

/* Fix 7: the candidacies are withdrawn (urgent tombstones) before the LEFT
 * announcement is queued, so handover never waits for failure detection. */
int bt_node_leave(struct bt_node *n, struct bt_time now)
{
    if (n->stopped)
        return n->stopped;
    if (n->leaving)
        return BATON_ECLOSED;
    n->now = now;
    /* Nothing changed if this fails: leaving anyway would announce the
     * leave with this node still believing it leads. */
    int rc = bt_leader_resign_all(n->leader, now.wall_ms);
    if (rc < 0)
        return rc;
    settle(n);
    if (n->stopped)
        return n->stopped;
    rc = bt_swim_leave(n->swim, now.mono_ms);
    settle(n);
    if (rc == 0)
        n->leaving = true;
    return rc;
}

bool bt_node_left(const struct bt_node *n) { return n->stopped || bt_swim_left(n->swim); }

int bt_node_stop_reason(const struct bt_node *n) { return n->stopped; }

void bt_node_recv(struct bt_node *n, const struct bt_addr *from, const uint8_t *data, size_t len,
                  struct bt_time now)
{
    if (n->stopped)
        return;
    n->now = now;
    bt_swim_recv_packet(n->swim, from, data, len, now.mono_ms);
    settle(n);
}

void bt_node_recv_stream(struct bt_node *n, const struct bt_addr *from, uint64_t conn,
                         const uint8_t *data, size_t len, struct bt_time now)
{
    if (n->stopped)
        return;
    n->now = now;
    bt_swim_recv_stream(n->swim, from, conn, data, len, now.mono_ms);
    settle(n);
}

void bt_node_stream_event(struct bt_node *n, uint64_t stream, enum bt_stream_event ev, int reason,
                          struct bt_time now)
{
    if (n->stopped)
        return;
    n->now = now;
    bt_swim_stream_event(n->swim, stream, ev, reason, now.mono_ms);
    settle(n);
}

void bt_node_addr_refused(struct bt_node *n, const struct bt_addr *addr, struct bt_time now)
{
    if (n->stopped || addr == NULL)
        return;
    n->now = now;
    bt_swim_addr_refused(n->swim, addr, now.mono_ms);
    settle(n);
}

void bt_node_tick(struct bt_node *n, struct bt_time now)
{
    if (n->stopped)
        return;
    n->now = now;
    bt_swim_tick(n->swim, now.mono_ms);
    node_clock_positions(n);
    if (!n->stopped)
        bt_replica_tick(&n->replica, now);
    if (n->retry_at != 0 && now.mono_ms >= n->retry_at) {
        n->retry_at = 0;
        /* BATON_ENOMEM changes nothing: settle() arms the retry again. */
        bt_leader_retry_deferred(n->leader, DEFER_ROUNDS, now.wall_ms);
    }
    bt_leader_settle_expire(n->leader, now.mono_ms, now.wall_ms);
    settle(n);
}

uint64_t bt_node_next_deadline(const struct bt_node *n)
{
    if (n->stopped)
        return UINT64_MAX;
    uint64_t next = bt_swim_next_deadline(n->swim);
    uint64_t replica = bt_replica_next_deadline(&n->replica);
    if (replica < next)
        next = replica;
    if (n->retry_at != 0 && n->retry_at < next)
        next = n->retry_at;
    uint64_t settle_at = bt_leader_settle_next(n->leader);
    if (settle_at < next)
        next = settle_at;
    /* Past alone_at, a node still unsynced waits for its first clock
     * judgement (fix 9), which the membership layer's own timers bring. */
    if (!n->synced && n->alone_at > n->now.mono_ms && n->alone_at < next)
        next = n->alone_at;
    return next;
}

bool bt_node_pop_output(struct bt_node *n, struct bt_output *out)
{
    free(n->popped);
    n->popped = NULL;
    struct bt_out_item it;
    if (!bt_fifo_pop(&n->out, &it))
        return false;
    n->popped = it.data;
    out->kind = it.kind;
    out->to = it.to;
    out->conn = it.conn;
    out->stream = it.stream;
    out->data = it.data;
    out->len = it.len;
    return true;
}

/* A stopped node's last events, in order, none needing memory: what the
 * election had left queued, a REVOKED per term still held, the conflict
 * that caused the stop, and BT_EV_STOPPED. */
static bool pop_final_event(struct bt_node *n, struct bt_event *ev)
{
    struct bt_leader_event le;
    if (n->has_stash) {
        *ev = n->stash;
        n->has_stash = false;
        return true;
    }
    if (bt_leader_pop_event(n->leader, &le) || bt_leader_end_term(n->leader, &le)) {
        *ev = leader_event(n, &le);
        return true;
    }
    if (n->has_cause) {
        *ev = n->cause;
        n->has_cause = false;
        return true;
    }
    if (n->stop_reported)
        return false;
    n->stop_reported = true;
    memset(ev, 0, sizeof *ev);
    ev->kind = BT_EV_STOPPED;
    ev->member = n->cfg.name;
    ev->addr = n->cfg.addr;
    ev->boot_id = n->cfg.boot_id;
    ev->error = n->stopped;
    return true;
}

bool bt_node_pop_event(struct bt_node *n, struct bt_event *ev)
{
    if (!bt_fifo_pop(&n->ev, ev))
        return n->stopped ? pop_final_event(n, ev) : false;
    return true;
}

size_t bt_node_members(const struct bt_node *n, struct bt_member_info *out, size_t cap)
{
    return bt_swim_members(n->swim, out, cap);
}

uint64_t bt_node_membership_digest(const struct bt_node *n) { return bt_swim_digest(n->swim); }

void bt_node_stats(const struct bt_node *n, struct bt_node_stats *out)
{
    memset(out, 0, sizeof *out);
    bt_swim_stats(n->swim, &out->member);
    out->dropped_oom = n->dropped_oom;

    const struct bt_replica_counters *rc = &n->replica.counters;
    struct bt_leader_counters lc;
    bt_leader_counters(n->leader, &lc);
    const struct bt_cmap *m = bt_leader_cmap(n->leader);
    struct bt_election_stats *e = &out->election;
    e->payloads_in = rc->payloads_in;
    e->copies = rc->copies;
    e->snapshots_in = rc->snapshots_in;
    e->forwarded = lc.regossiped;
    e->broadcasts_out = rc->broadcasts_out;
    e->malformed = rc->malformed;
    e->refused_clock = rc->refused_clock;
    e->refused_stale = rc->refused_stale + lc.fences_too_old;
    e->expired = rc->expired;
    e->refreshed = rc->refreshed;
    e->last_clock_offender = rc->last_clock_offender;
    e->owner_rewrites = lc.owner_rewrites;
    e->terms_minted = lc.terms_minted;
    e->term_refreshes = lc.term_refreshes;
    e->entries = m->nentries;
    e->tombstones = m->nentries - m->nlive;
    e->high_water_marks = bt_leader_high_water_count(n->leader);
    e->clock_withholds = lc.withholds;
    e->clock_refused = n->clock_refused;
    e->clock_pending = n->joined && !n->clock_announced;
    e->clock_ahead_ms = -n->cluster_offset;
    e->clock_readings = n->nclocks;
    e->clock_held = bt_replica_held(&n->replica);
    e->clock_held_merged = rc->held_merged;
    e->clock_held_dropped = rc->held_dropped;
    e->names_refused = lc.names_refused;
    e->last_names_offender = rc->last_names_offender;
    e->last_refused_name = lc.last_refused_name;
    e->marks_expired = lc.marks_expired;
    e->state_failed = rc->state_failed;
    e->digests_malformed = rc->digests_malformed;
    e->digests_foreign = rc->digests_foreign;
    e->broadcasts_failed = rc->send_failed;
    e->names = bt_leader_names(n->leader);
}

/* ---- the election ---------------------------------------------------------- */

int bt_node_lead(struct bt_node *n, uint64_t session, const struct bt_name *name, int64_t priority,
                 struct bt_time now, uint64_t *fence)
{
    if (n->stopped)
        return n->stopped;
    if (n->leaving || bt_swim_refused(n->swim))
        return BATON_ECLOSED;
    n->now = now;
    int rc = bt_leader_lead(n->leader, session, name, priority, now.wall_ms, fence);
    settle(n);
    return rc;
}

int bt_node_resign(struct bt_node *n, const struct bt_name *name, struct bt_time now)
{
    if (n->stopped)
        return n->stopped;
    n->now = now;
    int rc = bt_leader_resign(n->leader, name, now.wall_ms);
    settle(n);
    return rc;
}

int bt_node_session_end(struct bt_node *n, uint64_t session, struct bt_time now)
{
    if (n->stopped)
        return n->stopped;
    n->now = now;
    int rc = bt_leader_session_end(n->leader, session, now.wall_ms);
    settle(n);
    return rc;
}

int bt_node_leader(const struct bt_node *n, const struct bt_name *name, struct bt_nodeid *leader,
                   uint64_t *candidate_id)
{
    if (n->stopped)
        return n->stopped;
    return bt_leader_leader(n->leader, name, leader, candidate_id);
}

bool bt_node_is_leader(const struct bt_node *n, const struct bt_name *name)
{
    if (n->stopped)
        return false;
    return bt_leader_is_leader(n->leader, name);
}

int bt_node_fence(const struct bt_node *n, const struct bt_name *name, uint64_t *fence,
                  struct bt_minter *minter)
{
    if (n->stopped)
        return n->stopped;
    return bt_leader_fence(n->leader, name, fence, minter);
}

size_t bt_node_candidates(const struct bt_node *n, const struct bt_name *name,
                          struct bt_nodeid *out, size_t cap)
{
    if (n->stopped)
        return 0;
    return bt_leader_candidates(n->leader, name, out, cap);
}

int bt_node_high_water(const struct bt_node *n, const struct bt_name *name, uint64_t *token)
{
    if (n->stopped)
        return n->stopped;
    return bt_leader_high_water(n->leader, name, token);
}

uint64_t bt_node_marks_version(const struct bt_node *n)
{
    return n->stopped ? UINT64_MAX : bt_leader_marks_version(n->leader);
}

int bt_node_observe_fence(struct bt_node *n, const struct bt_name *name, uint64_t token,
                          const struct bt_minter *minter, struct bt_time now)
{
    if (n->stopped)
        return n->stopped;
    n->now = now;
    int rc = bt_leader_observe_fence(n->leader, name, token, minter, now.wall_ms);
    settle(n);
    if (rc == BATON_EPROTO)
        return BATON_EINVAL;
    return rc < 0 ? rc : 0;
}

/* ---- driver conveniences ------------------------------------------------------ */

bool bt_node_take_output(struct bt_node *n, struct bt_output *out, uint8_t **owned)
{
    *owned = NULL;
    if (!bt_node_pop_output(n, out))
        return false;
    *owned = n->popped;
    n->popped = NULL;
    return true;
}

/* Collects names for bt_node_names(): a growing array, deduplicated later. */
struct name_list {
    struct bt_name *v;
    size_t len, cap;
    bool oom;
};

static void name_list_add(struct name_list *l, const struct bt_name *name)
{
    if (l->oom)
        return;
    /* Entries of one name come together: skip the easy repeats here. */
    if (l->len > 0 && bt_name_eq(&l->v[l->len - 1], name))
        return;
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct bt_name *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    bt_name_copy(&l->v[l->len++], name);
}

static int names_of_entry(const struct bt_cstored *e, void *ctx)
{
    name_list_add(ctx, e->name);
    return 0;
}

static int names_of_fence(const struct bt_fence *f, void *ctx)
{
    name_list_add(ctx, &f->name);
    return 0;
}

static int name_qcmp(const void *a, const void *b) { return bt_name_cmp(a, b); }

size_t bt_node_names(const struct bt_node *n, struct bt_name *out, size_t cap)
{
    struct name_list l = {0};
    bt_cmap_foreach(bt_leader_cmap(n->leader), names_of_entry, &l);
    bt_leader_foreach_high_water(n->leader, names_of_fence, &l);
    if (l.oom) {
        free(l.v);
        return 0;
    }
    size_t count = 0;
    if (l.len > 0) {
        qsort(l.v, l.len, sizeof *l.v, name_qcmp);
        for (size_t i = 0; i < l.len; i++) {
            if (count > 0 && bt_name_eq(&l.v[i], &l.v[count - 1]))
                continue;
            l.v[count++] = l.v[i];
        }
    }
    for (size_t i = 0; i < count && i < cap; i++)
        out[i] = l.v[i];
    free(l.v);
    return count;
}

struct hw_find {
    const struct bt_name *name;
    uint64_t token;
    struct bt_minter minter;
    bool found;
};

static int hw_of_name(const struct bt_fence *f, void *ctx)
{
    struct hw_find *h = ctx;
    if (!bt_name_eq(&f->name, h->name))
        return 0;
    /* The greatest token wins; an equal one from a named minter beats the
     * resource's anonymous report, then the lowest minter (node name, then
     * boot), so the answer does not depend on the table's order. */
    int c = bt_nodeid_cmp(&f->minter.node, &h->minter.node);
    if (!h->found || f->token > h->token ||
        (f->token == h->token &&
         (h->minter.node.len == 0 ||
          (f->minter.node.len > 0 && (c < 0 || (c == 0 && f->minter.boot < h->minter.boot)))))) {
        h->token = f->token;
        h->minter = f->minter;
        h->found = true;
    }
    return 0;
}

int bt_node_high_water_term(const struct bt_node *n, const struct bt_name *name, uint64_t *token,
                            struct bt_minter *minter)
{
    struct hw_find h = {.name = name};
    bt_leader_foreach_high_water(n->leader, hw_of_name, &h);
    if (!h.found)
        return BATON_ENOENT;
    if (token)
        *token = h.token;
    if (minter)
        *minter = h.minter;
    return 0;
}
