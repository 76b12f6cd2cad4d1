/*
 * The loop thread of a node (api.c makes and starts it): time and logging,
 * the core's events turned into queued callbacks, leader changes found by
 * comparing winners, rt_pump() after every call into the core (outputs to
 * the transport, the timer rearmed) and rt_dispatch(), which runs the
 * user's callbacks without the mutex (rt.h says what it guards).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/rt.h"

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
    return core_session == RT_SESSION_DEFAULT ? 0 : core_session;
}

void rt_own_fence(const struct baton_node *n, uint64_t token, struct baton_fence *f)
{
    struct bt_minter m;
    memset(f, 0, sizeof *f);
    memset(&m, 0, sizeof m);
    f->token = token;
    bt_nodeid_set(&m.node, n->name, strlen(n->name));
    m.boot = n->boot_id;
    bt_minter_format(&m, f->minter);
}

void rt_member_of(const struct bt_member_info *mi, struct baton_member *m)
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
    case BT_EV_MEMBER_UP:
        me = BATON_MEMBER_UP;
        state = BT_MEMBER_ALIVE;
        break;
    case BT_EV_MEMBER_SUSPECT:
        me = BATON_MEMBER_SUSPECTED;
        state = BT_MEMBER_SUSPECT;
        break;
    case BT_EV_MEMBER_ALIVE:
        me = BATON_MEMBER_REFUTED;
        state = BT_MEMBER_ALIVE;
        break;
    case BT_EV_MEMBER_DEAD:
        me = BATON_MEMBER_FAILED;
        state = BT_MEMBER_DEAD;
        break;
    case BT_EV_MEMBER_LEFT:
        me = BATON_MEMBER_DEPARTED;
        state = BT_MEMBER_LEFT;
        break;
    default: return;
    }
    rt_log(n, me == BATON_MEMBER_FAILED ? BATON_LOG_WARN : BATON_LOG_INFO, "member %s (%s) %s",
           ev->member.bytes, ev->addr.s, member_event_name(me));
    if (!n->cb.on_member)
        return;
    struct bt_member_info mi = {
        .name = ev->member, .addr = ev->addr, .boot_id = ev->boot_id, .state = state};
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
    rt_member_of(&mi, &e->member);
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
        rt_log(n, BATON_LOG_INFO, "%s %.*s: token %llu",
               ev->kind == BT_EV_ELECTED ? "elected" : "revoked", (int)ev->name.len,
               (const char *)ev->name.bytes, (unsigned long long)ev->fence);
        e = ev_push(n, ev->kind == BT_EV_ELECTED ? RT_EV_ELECTED : RT_EV_REVOKED);
        if (!e)
            return;
        e->session = public_session(ev->session);
        e->name = ev->name;
        /* The term's minter is the event's member on its boot: this process. */
        memset(&e->fence, 0, sizeof e->fence);
        e->fence.token = ev->fence;
        {
            struct bt_minter m = {.node = ev->member, .boot = ev->boot_id};
            bt_minter_format(&m, e->fence.minter);
        }
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
                   "clock refused: %lld ms ahead of the cluster's; candidacies withdrawn until it "
                   "is back",
                   (long long)ev->clock_ahead_ms);
        } else {
            rt_log(n, BATON_LOG_INFO,
                   "clock back within bounds (%lld ms from the cluster's): campaigning again",
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
    default: on_member_event(n, ev); return;
    }
}

/* Reports the names whose winner changed since the last pump. */
static int seen_cmp(const void *a, const void *b)
{
    return bt_name_cmp(&((const struct rt_leader_seen *)a)->name,
                       &((const struct rt_leader_seen *)b)->name);
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
        rt_log(n, BATON_LOG_WARN,
               "names past max_names (%zu) refused: %llu so far, the last '%s' from %s",
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
                    cb->on_leader(n, n->ud, e->name.bytes, e->name.len,
                                  e->has_leader ? &e->leader : NULL);
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

void rt_on_sweep(uv_timer_t *t)
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

void rt_on_wake(uv_async_t *a)
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

void rt_loop_main(void *arg)
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
void rt_wake(struct baton_node *n)
{
    n->leaders_dirty = true;
    if (n->state == RT_RUNNING)
        uv_async_send(&n->wake);
}

bool rt_on_loop_thread(const struct baton_node *n)
{
    uv_thread_t self = uv_thread_self();
    return n->thread_started && uv_thread_equal(&self, &n->thread);
}
