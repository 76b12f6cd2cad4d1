/*
 * The embedding API (include/baton/baton.h): a node on a libuv loop thread.
 *
 * baton_node_start() binds the sockets (transport.c), makes the sans-IO core
 * (src/core/node.h) and starts the loop thread, which drives the core like
 * the simulator does: what arrives goes in (bt_node_recv,
 * bt_node_recv_stream), the timer calls bt_node_tick at the core's
 * deadline, and after every call rt_pump() sends the outputs and turns the
 * events into queued callbacks. rt.h says what the one mutex guards; user
 * callbacks run from rt_dispatch() on the loop thread without it.
 *
 * Sessions: the public session 0 is the core's session 1; baton_session_open()
 * hands out the core's ids 2, 3, ... unchanged.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "core/swim_proto.h"
#include "runtime/rt.h"

#define DEFAULT_BIND "0.0.0.0:7946"
#define DEFAULT_MAX_PACKET 1400
#define DEFAULT_CLOCK_OFFSET 10000
#define SESSION_DEFAULT 1 /* the core's id of public session 0 */

/* ---- time and logging --------------------------------------------------------- */

struct bt_time rt_now(void)
{
    struct timespec m, w;
    clock_gettime(CLOCK_MONOTONIC, &m);
    clock_gettime(CLOCK_REALTIME, &w);
    struct bt_time t = {
        .mono_ms = (uint64_t)m.tv_sec * 1000 + (uint64_t)m.tv_nsec / 1000000,
        .wall_ms = (uint64_t)w.tv_sec * 1000 + (uint64_t)w.tv_nsec / 1000000,
    };
    return t;
}

struct bt_time rt_core_now(const struct baton_node *n)
{
    struct bt_time t = rt_now();
    int64_t off = atomic_load(&n->wall_offset_ms);
    if (off < 0)
        t.wall_ms = (uint64_t)-off < t.wall_ms ? t.wall_ms - (uint64_t)-off : 0;
    else
        t.wall_ms += (uint64_t)off;
    return t;
}

void rt_set_wall_offset(struct baton_node *n, int64_t offset_ms)
{
    atomic_store(&n->wall_offset_ms, offset_ms);
}

static struct rt_ev *ev_push(struct baton_node *n, enum rt_ev_kind kind)
{
    if (n->nev == n->ev_cap) {
        size_t cap = n->ev_cap ? n->ev_cap * 2 : 16;
        struct rt_ev *q = realloc(n->evq, cap * sizeof *q);
        if (!q) {
            n->st.dropped_oom++;
            return NULL;
        }
        n->evq = q;
        n->ev_cap = cap;
    }
    struct rt_ev *e = &n->evq[n->nev++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

void rt_log(struct baton_node *n, enum baton_log_level level, const char *fmt, ...)
{
    if (!n->cb.on_log || level > n->log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *msg = strdup(buf);
    if (!msg) {
        n->st.dropped_oom++;
        return;
    }
    struct rt_ev *e = ev_push(n, RT_EV_LOG);
    if (!e) {
        free(msg);
        return;
    }
    e->level = level;
    e->msg = msg;
}

/* ---- events ---------------------------------------------------------------------- */

static uint64_t public_session(uint64_t core_session)
{
    return core_session == SESSION_DEFAULT ? 0 : core_session;
}

static void own_fence(const struct baton_node *n, uint64_t token, struct baton_fence *f)
{
    memset(f, 0, sizeof *f);
    f->token = token;
    memcpy(f->minter, n->name, sizeof f->minter);
}

static void member_of(const struct bt_member_info *mi, struct baton_member *m)
{
    memset(m, 0, sizeof *m);
    memcpy(m->name, mi->name.bytes, mi->name.len);
    memcpy(m->addr, mi->addr.s, mi->addr.len);
    m->boot_id = mi->boot_id;
    m->incarnation = mi->incarnation;
    switch (mi->state) {
    case BT_MEMBER_ALIVE: m->state = BATON_MEMBER_ALIVE; break;
    case BT_MEMBER_SUSPECT: m->state = BATON_MEMBER_SUSPECT; break;
    case BT_MEMBER_DEAD: m->state = BATON_MEMBER_DEAD; break;
    case BT_MEMBER_LEFT: m->state = BATON_MEMBER_LEFT; break;
    }
}

static const char *member_event_name(enum baton_member_event e)
{
    switch (e) {
    case BATON_MEMBER_UP: return "up";
    case BATON_MEMBER_SUSPECTED: return "suspected";
    case BATON_MEMBER_REFUTED: return "alive again";
    case BATON_MEMBER_FAILED: return "failed";
    case BATON_MEMBER_DEPARTED: return "left";
    }
    return "?";
}

static void on_member_event(struct baton_node *n, const struct bt_event *ev)
{
    enum baton_member_event me;
    enum bt_member_state state;
    switch (ev->kind) {
    case BT_EV_MEMBER_UP: me = BATON_MEMBER_UP; state = BT_MEMBER_ALIVE; break;
    case BT_EV_MEMBER_SUSPECT: me = BATON_MEMBER_SUSPECTED; state = BT_MEMBER_SUSPECT; break;
    case BT_EV_MEMBER_ALIVE: me = BATON_MEMBER_REFUTED; state = BT_MEMBER_ALIVE; break;
    case BT_EV_MEMBER_DEAD: me = BATON_MEMBER_FAILED; state = BT_MEMBER_DEAD; break;
    case BT_EV_MEMBER_LEFT: me = BATON_MEMBER_DEPARTED; state = BT_MEMBER_LEFT; break;
    default: return;
    }
    rt_log(n, me == BATON_MEMBER_FAILED ? BATON_LOG_WARN : BATON_LOG_INFO, "member %s (%s) %s",
           ev->member.bytes, ev->addr.s, member_event_name(me));
    if (!n->cb.on_member)
        return;
    struct bt_member_info mi = {.name = ev->member, .addr = ev->addr, .boot_id = ev->boot_id,
                                .state = state};
    /* The event carries no incarnation: take it from the member list. */
    size_t count = bt_node_members(n->core, NULL, 0);
    struct bt_member_info *all = calloc(count ? count : 1, sizeof *all);
    if (all) {
        count = bt_node_members(n->core, all, count);
        for (size_t i = 0; i < count; i++)
            if (bt_nodeid_eq(&all[i].name, &ev->member) && all[i].boot_id == ev->boot_id)
                mi.incarnation = all[i].incarnation;
        free(all);
    }
    struct rt_ev *e = ev_push(n, RT_EV_MEMBER);
    if (!e)
        return;
    e->mev = me;
    member_of(&mi, &e->member);
}

static void on_core_event(struct baton_node *n, const struct bt_event *ev)
{
    struct rt_ev *e;
    switch (ev->kind) {
    case BT_EV_ELECTED:
    case BT_EV_REVOKED:
        if (ev->kind == BT_EV_ELECTED)
            n->elected++;
        else
            n->revoked++;
        rt_log(n, BATON_LOG_INFO, "%s %.*s: token %llu", ev->kind == BT_EV_ELECTED ? "elected" : "revoked",
               (int)ev->name.len, (const char *)ev->name.bytes, (unsigned long long)ev->fence);
        e = ev_push(n, ev->kind == BT_EV_ELECTED ? RT_EV_ELECTED : RT_EV_REVOKED);
        if (!e)
            return;
        e->session = public_session(ev->session);
        e->name = ev->name;
        /* The term's minter is the event's member: this node. */
        memset(&e->fence, 0, sizeof e->fence);
        e->fence.token = ev->fence;
        memcpy(e->fence.minter, ev->member.bytes, ev->member.len);
        return;
    case BT_EV_CLOCK_REFUSED:
    case BT_EV_CLOCK_OK: {
        /* Fix 9: the core judged this node's clock against the cluster's.
         * on_clock fires on a change (the first judgement, usually "fine",
         * changes nothing). */
        bool refused = ev->kind == BT_EV_CLOCK_REFUSED;
        n->clock_ahead_ms = ev->clock_ahead_ms;
        if (refused == n->clock_refused) {
            rt_log(n, BATON_LOG_DEBUG, "clock within bounds: %lld ms from the cluster's",
                   (long long)ev->clock_ahead_ms);
            return;
        }
        n->clock_refused = refused;
        if (refused) {
            n->clock_withholds++;
            rt_log(n, BATON_LOG_WARN,
                   "clock refused: %lld ms ahead of the cluster's; candidacies withdrawn until it is back",
                   (long long)ev->clock_ahead_ms);
        } else {
            rt_log(n, BATON_LOG_INFO, "clock back within bounds (%lld ms from the cluster's): campaigning again",
                   (long long)ev->clock_ahead_ms);
        }
        e = ev_push(n, RT_EV_CLOCK);
        if (!e)
            return;
        e->flag = refused;
        return;
    }
    case BT_EV_NAME_CONFLICT:
        rt_log(n, BATON_LOG_ERROR, "node name %s is held by another live process at %s: stopping",
               n->name, ev->other_addr.s);
        return;
    case BT_EV_STOPPED:
        /* The core's last event, after the revocations: stop once this
         * pump's events are queued. */
        rt_log(n, BATON_LOG_ERROR, "node stopped: %s", baton_strerror(ev->error));
        n->fatal = true;
        n->fatal_err = ev->error ? ev->error : BATON_ECLOSED;
        return;
    default:
        on_member_event(n, ev);
        return;
    }
}

/* Reports the names whose winner changed since the last pump. */
static int seen_cmp(const void *a, const void *b)
{
    return bt_name_cmp(&((const struct rt_leader_seen *)a)->name, &((const struct rt_leader_seen *)b)->name);
}

static void diff_leaders(struct baton_node *n)
{
    size_t cap = n->nseen + 16;
    struct bt_name *names = NULL;
    size_t count;
    for (;;) {
        struct bt_name *v = realloc(names, cap * sizeof *v);
        if (!v) {
            free(names);
            n->st.dropped_oom++;
            return;
        }
        names = v;
        count = bt_node_names(n->core, names, cap);
        if (count <= cap)
            break;
        cap = count;
    }
    struct rt_leader_seen *now = malloc((count ? count : 1) * sizeof *now);
    if (!now) {
        free(names);
        n->st.dropped_oom++;
        return;
    }
    size_t nnow = 0;
    for (size_t i = 0; i < count; i++) {
        struct rt_leader_seen *s = &now[nnow];
        memset(s, 0, sizeof *s);
        s->name = names[i];
        s->has = bt_node_leader(n->core, &names[i], &s->node, &s->candidate_id) == 0;
        nnow++;
    }
    free(names);
    /* Merge the two sorted lists. */
    size_t i = 0, j = 0;
    while (i < n->nseen || j < nnow) {
        int c = i == n->nseen ? 1 : j == nnow ? -1 : seen_cmp(&n->seen[i], &now[j]);
        const struct rt_leader_seen *old = c <= 0 ? &n->seen[i] : NULL;
        const struct rt_leader_seen *cur = c >= 0 ? &now[j] : NULL;
        bool had = old && old->has, has = cur && cur->has;
        bool changed = had != has || (has && (!bt_nodeid_eq(&old->node, &cur->node) ||
                                              old->candidate_id != cur->candidate_id));
        if (changed) {
            struct rt_ev *e = ev_push(n, RT_EV_LEADER);
            if (e) {
                e->name = cur ? cur->name : old->name;
                e->has_leader = has;
                if (has) {
                    memcpy(e->leader.node, cur->node.bytes, cur->node.len);
                    e->leader.candidate_id = cur->candidate_id;
                }
            }
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    free(n->seen);
    n->seen = now;
    n->nseen = nnow;
}

static void on_timer(uv_timer_t *t);

void rt_pump(struct baton_node *n)
{
    if (n->state != RT_RUNNING || !n->core)
        return;
    struct bt_output out;
    uint8_t *owned;
    while (bt_node_take_output(n->core, &out, &owned))
        rt_send(n, &out, owned);
    struct bt_event ev;
    while (bt_node_pop_event(n->core, &ev)) {
        on_core_event(n, &ev);
        n->leaders_dirty = true;
    }
    struct bt_node_stats ns;
    bt_node_stats(n->core, &ns);
    if (ns.election.names_refused != n->names_refused) {
        /* Fix 11: a refusal is logged, never silent (docs/election.md). */
        n->names_refused = ns.election.names_refused;
        /* Names are bytes: printable ASCII as is, the rest as \xNN. */
        char name[4 * BATON_NAME_MAX + 1];
        size_t k = 0;
        const struct bt_name *rn = &ns.election.last_refused_name;
        for (size_t i = 0; i < rn->len && i < BATON_NAME_MAX; i++) {
            uint8_t ch = rn->bytes[i];
            if (ch >= 0x20 && ch < 0x7f && ch != '\\')
                name[k++] = (char)ch;
            else
                k += (size_t)snprintf(name + k, sizeof name - k, "\\x%02x", ch);
        }
        name[k] = '\0';
        rt_log(n, BATON_LOG_WARN, "names past max_names (%zu) refused: %llu so far, the last '%s' from %s",
               n->max_names, (unsigned long long)n->names_refused, name,
               ns.election.last_names_offender.bytes);
    }
    if (n->cb.on_leader) {
        /* A winner changes only with the candidacies or the liveness the
         * election sees: a member event, an election payload, a full state,
         * an expiry, or a local call. Compare every name only then. */
        uint64_t inputs = ns.election.payloads_in + ns.election.snapshots_in + ns.election.expired;
        if (inputs != n->election_inputs || n->leaders_dirty) {
            n->election_inputs = inputs;
            n->leaders_dirty = false;
            diff_leaders(n);
        }
    }
    if (n->fatal) {
        struct rt_ev *e = ev_push(n, RT_EV_STOPPED);
        if (e)
            e->err = n->fatal_err;
        rt_shutdown(n);
        return;
    }
    if (n->leaving && bt_node_left(n->core)) {
        rt_log(n, BATON_LOG_INFO, "left the cluster");
        rt_shutdown(n);
        return;
    }
    uint64_t now = rt_now().mono_ms;
    uint64_t at = bt_node_next_deadline(n->core);
    uint64_t delay = at > now ? at - now : 0;
    if (delay > 60000)
        delay = 60000;
    uv_timer_start(&n->timer, on_timer, delay, 0);
}

void rt_shutdown(struct baton_node *n)
{
    if (n->state == RT_STOPPED || uv_is_closing((uv_handle_t *)&n->wake))
        return;
    n->state = RT_STOPPING;
    uv_close((uv_handle_t *)&n->timer, NULL);
    uv_close((uv_handle_t *)&n->sweep, NULL);
    uv_close((uv_handle_t *)&n->wake, NULL);
    rt_transport_close(n);
}

void rt_dispatch(struct baton_node *n)
{
    for (;;) {
        pthread_mutex_lock(&n->mu);
        struct rt_ev *q = n->evq;
        size_t len = n->nev;
        n->evq = NULL;
        n->nev = n->ev_cap = 0;
        pthread_mutex_unlock(&n->mu);
        if (len == 0) {
            free(q);
            return;
        }
        const struct baton_callbacks *cb = &n->cb;
        for (size_t i = 0; i < len; i++) {
            struct rt_ev *e = &q[i];
            switch (e->kind) {
            case RT_EV_ELECTED:
                if (cb->on_elected)
                    cb->on_elected(n, n->ud, e->session, e->name.bytes, e->name.len, &e->fence);
                break;
            case RT_EV_REVOKED:
                if (cb->on_revoked)
                    cb->on_revoked(n, n->ud, e->session, e->name.bytes, e->name.len, &e->fence);
                break;
            case RT_EV_LEADER:
                if (cb->on_leader)
                    cb->on_leader(n, n->ud, e->name.bytes, e->name.len, e->has_leader ? &e->leader : NULL);
                break;
            case RT_EV_MEMBER:
                if (cb->on_member)
                    cb->on_member(n, n->ud, e->mev, &e->member);
                break;
            case RT_EV_CLOCK:
                if (cb->on_clock)
                    cb->on_clock(n, n->ud, e->flag);
                break;
            case RT_EV_STOPPED:
                if (cb->on_stopped)
                    cb->on_stopped(n, n->ud, e->err);
                break;
            case RT_EV_LOG:
                if (cb->on_log)
                    cb->on_log(n, n->ud, e->level, e->msg);
                free(e->msg);
                break;
            }
        }
        free(q);
    }
}

/* ---- the loop thread ------------------------------------------------------------------ */

static void on_timer(uv_timer_t *t)
{
    struct baton_node *n = t->data;
    pthread_mutex_lock(&n->mu);
    if (n->state == RT_RUNNING) {
        bt_node_tick(n->core, rt_core_now(n));
        rt_pump(n);
    }
    pthread_mutex_unlock(&n->mu);
    rt_dispatch(n);
}

static void on_sweep(uv_timer_t *t)
{
    struct baton_node *n = t->data;
    pthread_mutex_lock(&n->mu);
    if (n->state == RT_RUNNING) {
        rt_sweep(n, rt_now().mono_ms);
        rt_pump(n);
    }
    pthread_mutex_unlock(&n->mu);
    rt_dispatch(n);
}

static void on_wake(uv_async_t *a)
{
    struct baton_node *n = a->data;
    pthread_mutex_lock(&n->mu);
    if (n->state == RT_STOPPING)
        rt_shutdown(n);
    else
        rt_pump(n);
    pthread_mutex_unlock(&n->mu);
    rt_dispatch(n);
}

static void loop_main(void *arg)
{
    struct baton_node *n = arg;
    uv_run(&n->loop, UV_RUN_DEFAULT);
    rt_dispatch(n);
    pthread_mutex_lock(&n->mu);
    n->state = RT_STOPPED;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

/* Wakes the loop to send what a call produced, and to compare the winners
 * again (under mu). Every call that changes the core comes here. */
static void wake(struct baton_node *n)
{
    n->leaders_dirty = true;
    if (n->state == RT_RUNNING)
        uv_async_send(&n->wake);
}

static bool on_loop_thread(const struct baton_node *n)
{
    uv_thread_t self = uv_thread_self();
    return n->thread_started && uv_thread_equal(&self, &n->thread);
}

/* ---- configuration and lifecycle ------------------------------------------------------ */

void baton_config_init(struct baton_config *cfg)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->profile = BATON_PROFILE_LAN;
    cfg->max_clock_offset_ms = DEFAULT_CLOCK_OFFSET;
    cfg->max_packet = DEFAULT_MAX_PACKET;
    cfg->log_level = BATON_LOG_INFO;
    cfg->max_names = BATON_MAX_NAMES_DEFAULT;
}

static uint64_t core_random(void *ctx)
{
    uint64_t v;
    randombytes_buf(&v, sizeof v);
    return v;
}

/* The membership layer's rules for timings (swim.c checks them again). */
static bool timing_ok(const struct bt_swim_timing *t)
{
    return t->probe_interval > 0 && t->probe_timeout > 0 && t->probe_timeout < t->probe_interval &&
           t->suspicion_mult > 0 && t->suspicion_max_mult > 0 && t->retransmit_mult > 0 &&
           t->gossip_interval > 0 && t->gossip_fanout > 0 && t->pushpull_interval > 0 &&
           t->reconnect_interval > 0 && t->join_retry_min > 0 && t->join_retry_max >= t->join_retry_min &&
           t->awareness_max > 0 && t->leave_timeout > 0;
}

static void apply_timings(struct bt_swim_timing *t, const struct baton_timings *o)
{
#define OV(field, src) \
    if (o->src)        \
        t->field = o->src;
    OV(probe_interval, probe_interval_ms)
    OV(probe_timeout, probe_timeout_ms)
    OV(indirect_checks, indirect_checks)
    OV(suspicion_mult, suspicion_mult)
    OV(suspicion_max_mult, suspicion_max_mult)
    OV(retransmit_mult, retransmit_mult)
    OV(gossip_interval, gossip_interval_ms)
    OV(gossip_fanout, gossip_fanout)
    OV(gossip_to_dead, gossip_to_dead_ms)
    OV(pushpull_interval, pushpull_interval_ms)
    OV(reconnect_interval, reconnect_interval_ms)
    OV(dead_reap, dead_reap_ms)
    OV(left_reap, left_reap_ms)
    OV(join_retry_min, join_retry_min_ms)
    OV(join_retry_max, join_retry_max_ms)
    OV(leave_timeout, leave_timeout_ms)
#undef OV
}

int baton_node_new(const struct baton_config *cfg, baton_node **out)
{
    if (!cfg || !out)
        return BATON_EINVAL;
    *out = NULL;
    if (sodium_init() < 0)
        return BATON_EIO;
    if (!cfg->name || (cfg->nseeds > 0 && !cfg->seeds) || (cfg->nkeys > 0 && !cfg->keys))
        return BATON_EINVAL;
    if (cfg->max_packet < BT_SWIM_MIN_PACKET || cfg->max_packet > 65000 ||
        cfg->log_level > BATON_LOG_DEBUG)
        return BATON_EINVAL;
    enum bt_profile profile;
    switch (cfg->profile) {
    case BATON_PROFILE_LOCAL: profile = BT_PROFILE_LOCAL; break;
    case BATON_PROFILE_LAN: profile = BT_PROFILE_LAN; break;
    case BATON_PROFILE_WAN: profile = BT_PROFILE_WAN; break;
    default: return BATON_EINVAL;
    }
    struct baton_node *n = calloc(1, sizeof *n);
    if (!n)
        return BATON_ENOMEM;
    int rc = BATON_EINVAL;
    size_t nlen = strlen(cfg->name);
    if (bt_nodeid_set(&n->nodeid, cfg->name, nlen) != 0)
        goto fail;
    memcpy(n->name, cfg->name, nlen);
    const char *bind = cfg->bind_addr ? cfg->bind_addr : DEFAULT_BIND;
    if (rt_parse_addr(bind, strlen(bind), &n->bind_sa) != 0)
        goto fail;
    if (cfg->advertise_addr) {
        n->has_advertise = true;
        if (rt_parse_addr(cfg->advertise_addr, strlen(cfg->advertise_addr), &n->advertise_sa) != 0)
            goto fail;
    }
    if (cfg->nseeds > 0) {
        n->seeds = calloc(cfg->nseeds, sizeof *n->seeds);
        if (!n->seeds) {
            rc = BATON_ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < cfg->nseeds; i++) {
            struct sockaddr_storage sa;
            const char *s = cfg->seeds[i];
            if (!s || rt_parse_addr(s, strlen(s), &sa) != 0)
                goto fail;
            /* Normalised, so it compares bytewise with advertised addresses. */
            rt_format_addr((const struct sockaddr *)&sa, &n->seeds[i]);
        }
        n->nseeds = cfg->nseeds;
    }
    n->profile = cfg->profile;
    if (bt_swim_timing_profile(profile, &n->timing) != 0)
        goto fail;
    apply_timings(&n->timing, &cfg->timings);
    if (!timing_ok(&n->timing))
        goto fail;
    if (bt_keyring_init(&n->kr, cfg->keys, cfg->nkeys, cfg->insecure_no_encryption) != 0)
        goto fail;
    n->max_clock_offset_ms = cfg->max_clock_offset_ms;
    n->max_packet = cfg->max_packet;
    n->max_names = cfg->max_names ? cfg->max_names : BATON_MAX_NAMES_DEFAULT;
    n->log_level = cfg->log_level;
    n->cb = cfg->callbacks;
    n->ud = cfg->userdata;
    n->next_session = SESSION_DEFAULT + 1;
    n->state = RT_NEW;
    pthread_mutex_init(&n->mu, NULL);
    pthread_cond_init(&n->cv, NULL);
    *out = n;
    return 0;
fail:
    bt_keyring_wipe(&n->kr);
    free(n->seeds);
    free(n);
    return rc;
}

static void close_all_and_run(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_NOWAIT);
    uv_loop_close(loop);
}

int baton_node_start(baton_node *n)
{
    if (!n)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    if (n->state != RT_NEW) {
        pthread_mutex_unlock(&n->mu);
        return BATON_ECLOSED;
    }
    int rc;
    if (uv_loop_init(&n->loop) != 0) {
        pthread_mutex_unlock(&n->mu);
        return BATON_ENOMEM;
    }
    rc = rt_transport_open(n);
    if (rc != 0)
        goto fail_loop;
    randombytes_buf(&n->boot_id, sizeof n->boot_id);
    n->boot_id |= 1;
    struct bt_time now = rt_core_now(n);
    n->start_mono = now.mono_ms;
    struct bt_node_config nc;
    memset(&nc, 0, sizeof nc);
    nc.name = n->nodeid;
    nc.addr = n->addr;
    nc.boot_id = n->boot_id;
    nc.profile = (enum bt_profile)n->profile;
    nc.max_clock_offset_ms = n->max_clock_offset_ms;
    nc.max_packet = n->max_packet;
    nc.max_names = n->max_names;
    nc.random = core_random;
    nc.timing = &n->timing;
    n->core = bt_node_new(&nc, now);
    if (!n->core) {
        rc = BATON_ENOMEM;
        goto fail_sockets;
    }
    if (bt_node_join(n->core, n->seeds, n->nseeds, now) != 0) {
        rc = BATON_EINVAL;
        goto fail_core;
    }
    uv_timer_init(&n->loop, &n->timer);
    n->timer.data = n;
    uv_timer_init(&n->loop, &n->sweep);
    n->sweep.data = n;
    uv_async_init(&n->loop, &n->wake, on_wake);
    n->wake.data = n;
    if (rt_transport_start(n) != 0) {
        rc = BATON_EIO;
        uv_close((uv_handle_t *)&n->timer, NULL);
        uv_close((uv_handle_t *)&n->sweep, NULL);
        uv_close((uv_handle_t *)&n->wake, NULL);
        goto fail_core;
    }
    uv_timer_start(&n->sweep, on_sweep, RT_SWEEP_MS, RT_SWEEP_MS);
    n->state = RT_RUNNING;
    rt_log(n, BATON_LOG_INFO, "node %s started at %s (%s)", n->name, n->addr.s,
           n->kr.insecure ? "NOT ENCRYPTED" : "encrypted");
    uv_async_send(&n->wake); /* the first pump sends the join */
    /* The loop thread blocks every signal: the host's handlers run on the
     * host's threads, and a write to a connection the peer closed fails
     * with EPIPE instead of killing the process with SIGPIPE (which is
     * directed at the writing thread, where it then stays pending). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int trc = uv_thread_create(&n->thread, loop_main, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (trc != 0) {
        n->state = RT_NEW;
        rc = BATON_ENOMEM;
        rt_transport_close(n);
        uv_close((uv_handle_t *)&n->timer, NULL);
        uv_close((uv_handle_t *)&n->sweep, NULL);
        uv_close((uv_handle_t *)&n->wake, NULL);
        goto fail_core;
    }
    n->thread_started = true;
    pthread_mutex_unlock(&n->mu);
    return 0;
fail_core:
    bt_node_free(n->core);
    n->core = NULL;
fail_sockets:
    if (!uv_is_closing((uv_handle_t *)&n->udp)) {
        uv_close((uv_handle_t *)&n->udp, NULL);
        uv_close((uv_handle_t *)&n->listener, NULL);
    }
fail_loop:
    close_all_and_run(&n->loop);
    pthread_mutex_unlock(&n->mu);
    /* Explain the failure here, on the caller's thread (baton.h's on_log). */
    rt_dispatch(n);
    return rc;
}

/* Joins the loop thread once, whoever asks first (not from the loop). */
static void join_loop(struct baton_node *n)
{
    pthread_mutex_lock(&n->mu);
    if (!n->thread_started || n->joined) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    if (n->join_claimed) {
        while (!n->joined)
            pthread_cond_wait(&n->cv, &n->mu);
        pthread_mutex_unlock(&n->mu);
        return;
    }
    n->join_claimed = true;
    pthread_mutex_unlock(&n->mu);
    uv_thread_join(&n->thread);
    uv_loop_close(&n->loop);
    pthread_mutex_lock(&n->mu);
    n->joined = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

void baton_node_stop(baton_node *n)
{
    if (!n)
        return;
    pthread_mutex_lock(&n->mu);
    if (n->state == RT_NEW) {
        n->state = RT_STOPPED;
        pthread_mutex_unlock(&n->mu);
        return;
    }
    if (n->state == RT_RUNNING) {
        n->state = RT_STOPPING;
        uv_async_send(&n->wake);
    }
    /* From a callback (which baton.h forbids) the loop cannot join itself:
     * it stops once the callback returns. */
    bool self = on_loop_thread(n);
    pthread_mutex_unlock(&n->mu);
    if (!self)
        join_loop(n);
}

int baton_node_leave(baton_node *n)
{
    if (!n)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    if (n->state != RT_RUNNING || n->leaving || bt_node_stop_reason(n->core) != 0) {
        pthread_mutex_unlock(&n->mu);
        return BATON_ECLOSED;
    }
    int rc = bt_node_leave(n->core, rt_core_now(n));
    if (rc != 0) {
        pthread_mutex_unlock(&n->mu);
        return rc == BATON_ENOMEM ? rc : BATON_ECLOSED;
    }
    n->leaving = true;
    rt_log(n, BATON_LOG_INFO, "leaving the cluster");
    wake(n);
    if (on_loop_thread(n)) {
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    while (n->state != RT_STOPPED)
        pthread_cond_wait(&n->cv, &n->mu);
    pthread_mutex_unlock(&n->mu);
    join_loop(n);
    return 0;
}

void baton_node_free(baton_node *n)
{
    if (!n)
        return;
    baton_node_stop(n);
    bt_node_free(n->core);
    for (size_t i = 0; i < n->nev; i++)
        free(n->evq[i].msg);
    free(n->evq);
    free(n->seen);
    free(n->seeds);
    bt_keyring_wipe(&n->kr);
    pthread_mutex_destroy(&n->mu);
    pthread_cond_destroy(&n->cv);
    free(n);
}

static int copy_str(const char *s, size_t len, char *buf, size_t cap)
{
    if (!buf)
        return BATON_EINVAL;
    if (len + 1 > cap)
        return BATON_ENOSPC;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return (int)len;
}

int baton_node_name(const baton_node *n, char *buf, size_t cap)
{
    if (!n)
        return BATON_EINVAL;
    return copy_str(n->name, n->nodeid.len, buf, cap);
}

int baton_node_addr(const baton_node *cn, char *buf, size_t cap)
{
    if (!cn)
        return BATON_EINVAL;
    struct baton_node *n = (struct baton_node *)cn; /* the lock is not part of the value */
    pthread_mutex_lock(&n->mu);
    struct bt_addr a = n->addr;
    pthread_mutex_unlock(&n->mu);
    if (a.len == 0)
        rt_format_addr((const struct sockaddr *)(n->has_advertise ? &n->advertise_sa : &n->bind_sa), &a);
    return copy_str(a.s, a.len, buf, cap);
}

/* ---- sessions and the election ------------------------------------------------------------ */

/* Locks n if it runs; returns 0 (locked) or BATON_EINVAL / BATON_ECLOSED (not locked). */
static int lock_running(struct baton_node *n)
{
    if (!n)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    /* A core that stopped (its BT_EV_STOPPED not yet pumped) is closed too. */
    if (n->state != RT_RUNNING || !n->core || bt_node_stop_reason(n->core) != 0) {
        pthread_mutex_unlock(&n->mu);
        return BATON_ECLOSED;
    }
    return 0;
}

static int name_of(const void *name, size_t len, struct bt_name *out)
{
    if (!name)
        return BATON_EINVAL;
    return bt_name_set(out, name, len);
}

int baton_session_open(baton_node *n, uint64_t *session)
{
    if (!session)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    *session = n->next_session++;
    pthread_mutex_unlock(&n->mu);
    return 0;
}

int baton_session_close(baton_node *n, uint64_t session)
{
    if (session == 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    if (session <= SESSION_DEFAULT || session >= n->next_session) {
        pthread_mutex_unlock(&n->mu);
        return BATON_EINVAL;
    }
    rc = bt_node_session_end(n->core, session, rt_core_now(n));
    wake(n);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_lead(baton_node *n, uint64_t session, const void *name, size_t name_len, int64_t priority,
               struct baton_fence *fence)
{
    struct bt_name nm;
    if (name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    uint64_t core_session = session == 0 ? SESSION_DEFAULT : session;
    if (session != 0 && (session <= SESSION_DEFAULT || session >= n->next_session)) {
        pthread_mutex_unlock(&n->mu);
        return BATON_EINVAL;
    }
    uint64_t token = 0;
    rc = bt_node_lead(n->core, core_session, &nm, priority, rt_core_now(n), &token);
    if (rc == 1 && fence)
        own_fence(n, token, fence);
    wake(n);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_resign(baton_node *n, const void *name, size_t name_len)
{
    struct bt_name nm;
    if (name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    rc = bt_node_resign(n->core, &nm, rt_core_now(n));
    wake(n);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_leader(baton_node *n, const void *name, size_t name_len, struct baton_leader *out)
{
    struct bt_name nm;
    if (name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    struct bt_nodeid node;
    uint64_t cid;
    rc = bt_node_leader(n->core, &nm, &node, &cid);
    pthread_mutex_unlock(&n->mu);
    if (rc == 0 && out) {
        memset(out, 0, sizeof *out);
        memcpy(out->node, node.bytes, node.len);
        out->candidate_id = cid;
    }
    return rc;
}

int baton_is_leader(baton_node *n, const void *name, size_t name_len)
{
    struct bt_name nm;
    if (name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    rc = bt_node_is_leader(n->core, &nm) ? 1 : 0;
    pthread_mutex_unlock(&n->mu);
    return rc;
}

/* A term (token, minter) as the public struct. */
static void term_out(struct baton_fence *out, uint64_t token, const struct bt_nodeid *minter)
{
    memset(out, 0, sizeof *out);
    out->token = token;
    memcpy(out->minter, minter->bytes, minter->len);
}

int baton_fence(baton_node *n, const void *name, size_t name_len, struct baton_fence *fence)
{
    struct bt_name nm;
    if (!fence || name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    uint64_t token;
    struct bt_nodeid minter;
    rc = bt_node_fence(n->core, &nm, &token, &minter);
    pthread_mutex_unlock(&n->mu);
    if (rc == 0)
        term_out(fence, token, &minter);
    return rc;
}

int baton_candidates(baton_node *n, const void *name, size_t name_len, char (*out)[BATON_NODE_MAX + 1],
                     size_t cap)
{
    struct bt_name nm;
    if ((cap > 0 && !out) || name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    struct bt_nodeid *ids = cap > 0 ? calloc(cap, sizeof *ids) : NULL;
    if (cap > 0 && !ids)
        return BATON_ENOMEM;
    int rc = lock_running(n);
    if (rc != 0) {
        free(ids);
        return rc;
    }
    size_t count = bt_node_candidates(n->core, &nm, ids, cap);
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < count && i < cap; i++) {
        memset(out[i], 0, sizeof out[i]);
        memcpy(out[i], ids[i].bytes, ids[i].len);
    }
    free(ids);
    return count > (size_t)INT32_MAX ? INT32_MAX : (int)count;
}

int baton_high_water(baton_node *n, const void *name, size_t name_len, struct baton_fence *out)
{
    struct bt_name nm;
    if (!out || name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    uint64_t token;
    struct bt_nodeid minter;
    rc = bt_node_high_water_term(n->core, &nm, &token, &minter);
    pthread_mutex_unlock(&n->mu);
    if (rc == 0)
        term_out(out, token, &minter);
    return rc;
}

int baton_observe_mark(baton_node *n, const void *name, size_t name_len, const struct baton_fence *mark)
{
    struct bt_name nm;
    struct bt_nodeid minter;
    if (!mark || name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    size_t mlen = strnlen(mark->minter, sizeof mark->minter);
    if (mlen == sizeof mark->minter || (mlen > 0 && bt_nodeid_set(&minter, mark->minter, mlen) != 0))
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    rc = bt_node_observe_fence(n->core, &nm, mark->token, mlen > 0 ? &minter : NULL, rt_core_now(n));
    wake(n);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_observe_fence(baton_node *n, const void *name, size_t name_len, uint64_t token)
{
    struct baton_fence mark;
    memset(&mark, 0, sizeof mark);
    mark.token = token;
    return baton_observe_mark(n, name, name_len, &mark);
}

int baton_names(baton_node *n, struct baton_name *out, size_t cap)
{
    if (cap > 0 && !out)
        return BATON_EINVAL;
    struct bt_name *v = cap > 0 ? calloc(cap, sizeof *v) : NULL;
    if (cap > 0 && !v)
        return BATON_ENOMEM;
    int rc = lock_running(n);
    if (rc != 0) {
        free(v);
        return rc;
    }
    size_t count = bt_node_names(n->core, v, cap);
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < count && i < cap; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].len = v[i].len;
        memcpy(out[i].bytes, v[i].bytes, v[i].len);
    }
    free(v);
    return count > (size_t)INT32_MAX ? INT32_MAX : (int)count;
}

/* ---- introspection ------------------------------------------------------------------------ */

int baton_members(baton_node *n, struct baton_member *out, size_t cap)
{
    if (cap > 0 && !out)
        return BATON_EINVAL;
    struct bt_member_info *v = cap > 0 ? calloc(cap, sizeof *v) : NULL;
    if (cap > 0 && !v)
        return BATON_ENOMEM;
    int rc = lock_running(n);
    if (rc != 0) {
        free(v);
        return rc;
    }
    size_t count = bt_node_members(n->core, v, cap);
    pthread_mutex_unlock(&n->mu);
    for (size_t i = 0; i < count && i < cap; i++)
        member_of(&v[i], &out[i]);
    free(v);
    return count > (size_t)INT32_MAX ? INT32_MAX : (int)count;
}

int baton_status(baton_node *n, struct baton_status *out)
{
    if (!n || !out)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    if (!n->core) {
        pthread_mutex_unlock(&n->mu);
        return BATON_ECLOSED;
    }
    struct bt_time now = rt_now();
    *out = n->st;
    memcpy(out->name, n->name, sizeof out->name);
    memcpy(out->addr, n->addr.s, sizeof out->addr);
    out->boot_id = n->boot_id;
    out->uptime_ms = now.mono_ms - n->start_mono;
    out->encrypted = !n->kr.insecure;
    out->clock_refused = n->clock_refused;
    out->clock_withholds = n->clock_withholds;
    out->clock_ahead_ms = n->clock_ahead_ms;
    out->leaving = n->leaving;
    out->keys = (uint32_t)n->kr.n;
    out->elected = n->elected;
    out->revoked = n->revoked;
    struct bt_node_stats s;
    bt_node_stats(n->core, &s);
    out->health = s.member.health;
    out->decode_failed += s.member.malformed + s.member.bad_version + s.election.malformed;
    out->dropped_oom += s.dropped_oom;
    out->probes = s.member.probes;
    out->probes_failed = s.member.probes_failed;
    out->suspicions = s.member.suspicions;
    out->deaths_declared = s.member.deaths_declared;
    out->refutations = s.member.refutations;
    out->pushpulls = s.member.pushpulls;
    out->pushpulls_failed = s.member.pushpulls_failed;
    out->names_refused = s.election.names_refused;
    out->max_names = n->max_names;
    out->refusals_used = s.member.refusals;
    out->terms_minted = s.election.terms_minted;
    out->term_refreshes = s.election.term_refreshes;
    out->refused_clock = s.election.refused_clock;
    size_t nm = bt_node_members(n->core, NULL, 0);
    struct bt_member_info *mv = calloc(nm ? nm : 1, sizeof *mv);
    if (mv) {
        nm = bt_node_members(n->core, mv, nm);
        for (size_t i = 0; i < nm; i++) {
            switch (mv[i].state) {
            case BT_MEMBER_ALIVE: out->members_alive++; break;
            case BT_MEMBER_SUSPECT: out->members_suspect++; break;
            case BT_MEMBER_DEAD: out->members_dead++; break;
            case BT_MEMBER_LEFT: out->members_left++; break;
            }
        }
        free(mv);
    }
    size_t nn = bt_node_names(n->core, NULL, 0);
    struct bt_name *names = calloc(nn ? nn : 1, sizeof *names);
    if (names) {
        nn = bt_node_names(n->core, names, nn);
        out->names = nn;
        for (size_t i = 0; i < nn; i++) {
            if (bt_node_is_leader(n->core, &names[i]))
                out->leaderships++;
            size_t nc = bt_node_candidates(n->core, &names[i], NULL, 0);
            struct bt_nodeid *cands = calloc(nc ? nc : 1, sizeof *cands);
            if (!cands)
                continue;
            nc = bt_node_candidates(n->core, &names[i], cands, nc);
            for (size_t j = 0; j < nc; j++)
                if (bt_nodeid_eq(&cands[j], &n->nodeid))
                    out->candidacies++;
            free(cands);
        }
        free(names);
    }
    pthread_mutex_unlock(&n->mu);
    return 0;
}

/* ---- keys and the keyring ----------------------------------------------------------------- */

int baton_key_generate(struct baton_key *key)
{
    if (!key)
        return BATON_EINVAL;
    if (sodium_init() < 0)
        return BATON_EIO;
    randombytes_buf(key->bytes, sizeof key->bytes);
    return 0;
}

int baton_key_encode(const struct baton_key *key, char *out)
{
    if (!key || !out)
        return BATON_EINVAL;
    sodium_bin2base64(out, BATON_KEY_B64_LEN + 1, key->bytes, BATON_KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
    return 0;
}

int baton_key_decode(const char *text, struct baton_key *key)
{
    if (!text || !key)
        return BATON_EINVAL;
    size_t len = strlen(text);
    while (len > 0 && (text[0] == ' ' || text[0] == '\t' || text[0] == '\n' || text[0] == '\r')) {
        text++;
        len--;
    }
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r'))
        len--;
    if (len != BATON_KEY_B64_LEN)
        return BATON_EINVAL;
    if (sodium_init() < 0)
        return BATON_EIO;
    struct baton_key k;
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(k.bytes, sizeof k.bytes, text, len, NULL, &got, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != BATON_KEY_BYTES || end != text + len) {
        sodium_memzero(&k, sizeof k);
        return BATON_EINVAL;
    }
    *key = k;
    sodium_memzero(&k, sizeof k);
    return 0;
}

int baton_keyring_install(baton_node *n, const struct baton_key *key)
{
    if (!n || !key)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    int rc = bt_keyring_install(&n->kr, key);
    if (rc == 0)
        rt_log(n, BATON_LOG_INFO, "keyring: key installed (%zu keys)", n->kr.n);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_keyring_use(baton_node *n, const struct baton_key *key)
{
    if (!n || !key)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    int rc = bt_keyring_use(&n->kr, key);
    if (rc == 0)
        rt_log(n, BATON_LOG_INFO, "keyring: primary key changed");
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_keyring_remove(baton_node *n, const struct baton_key *key)
{
    if (!n || !key)
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    int rc = bt_keyring_remove(&n->kr, key);
    if (rc == 0)
        rt_log(n, BATON_LOG_INFO, "keyring: key removed (%zu keys)", n->kr.n);
    pthread_mutex_unlock(&n->mu);
    return rc;
}

int baton_keyring_list(baton_node *n, struct baton_key *out, size_t cap)
{
    if (!n || (cap > 0 && !out))
        return BATON_EINVAL;
    pthread_mutex_lock(&n->mu);
    if (n->kr.insecure) {
        pthread_mutex_unlock(&n->mu);
        return BATON_EINVAL;
    }
    size_t count = n->kr.n;
    for (size_t i = 0; i < count && i < cap; i++)
        out[i] = n->kr.keys[i];
    pthread_mutex_unlock(&n->mu);
    return (int)count;
}
