/*
 * The embedding API (include/baton/baton.h): a node on a libuv loop thread.
 *
 * baton_node_start() binds the sockets (transport.c), makes the sans-IO core
 * (src/core/node.h) and starts the loop thread, which drives the core like
 * the simulator does: what arrives goes in (bt_node_recv,
 * bt_node_recv_stream), the timer calls bt_node_tick at the core's
 * deadline, and after every call rt_pump() (loop.c) sends the outputs and
 * turns the events into queued callbacks. rt.h says what the one mutex
 * guards; user callbacks run from rt_dispatch() on the loop thread without
 * it.
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
           t->reconnect_interval > 0 && t->join_retry_min > 0 &&
           t->join_retry_max >= t->join_retry_min && t->awareness_max > 0 && t->leave_timeout > 0;
}

static void apply_timings(struct bt_swim_timing *t, const struct baton_timings *o)
{
#define OV(field, src)                                                                             \
    if (o->src)                                                                                    \
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
    n->next_session = RT_SESSION_DEFAULT + 1;
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
    uv_async_init(&n->loop, &n->wake, rt_on_wake);
    n->wake.data = n;
    if (rt_transport_start(n) != 0) {
        rc = BATON_EIO;
        uv_close((uv_handle_t *)&n->timer, NULL);
        uv_close((uv_handle_t *)&n->sweep, NULL);
        uv_close((uv_handle_t *)&n->wake, NULL);
        goto fail_core;
    }
    uv_timer_start(&n->sweep, rt_on_sweep, RT_SWEEP_MS, RT_SWEEP_MS);
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
    int trc = uv_thread_create(&n->thread, rt_loop_main, n);
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
    bool self = rt_on_loop_thread(n);
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
    rt_wake(n);
    if (rt_on_loop_thread(n)) {
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
        rt_format_addr((const struct sockaddr *)(n->has_advertise ? &n->advertise_sa : &n->bind_sa),
                       &a);
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
    if (session <= RT_SESSION_DEFAULT || session >= n->next_session) {
        pthread_mutex_unlock(&n->mu);
        return BATON_EINVAL;
    }
    rc = bt_node_session_end(n->core, session, rt_core_now(n));
    rt_wake(n);
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
    uint64_t core_session = session == 0 ? RT_SESSION_DEFAULT : session;
    if (session != 0 && (session <= RT_SESSION_DEFAULT || session >= n->next_session)) {
        pthread_mutex_unlock(&n->mu);
        return BATON_EINVAL;
    }
    uint64_t token = 0;
    rc = bt_node_lead(n->core, core_session, &nm, priority, rt_core_now(n), &token);
    if (rc == 1 && fence)
        rt_own_fence(n, token, fence);
    rt_wake(n);
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
    rt_wake(n);
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

/* A term (token, minter) as the public struct: the minter as its text,
 * "<node>#<boot hex>" ("" if unknown). */
static void term_out(struct baton_fence *out, uint64_t token, const struct bt_minter *minter)
{
    memset(out, 0, sizeof *out);
    out->token = token;
    bt_minter_format(minter, out->minter);
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
    struct bt_minter minter;
    rc = bt_node_fence(n->core, &nm, &token, &minter);
    pthread_mutex_unlock(&n->mu);
    if (rc == 0)
        term_out(fence, token, &minter);
    return rc;
}

int baton_candidates(baton_node *n, const void *name, size_t name_len,
                     char (*out)[BATON_NODE_MAX + 1], size_t cap)
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
    struct bt_minter minter;
    rc = bt_node_high_water_term(n->core, &nm, &token, &minter);
    pthread_mutex_unlock(&n->mu);
    if (rc == 0)
        term_out(out, token, &minter);
    return rc;
}

int baton_observe_mark(baton_node *n, const void *name, size_t name_len,
                       const struct baton_fence *mark)
{
    struct bt_name nm;
    struct bt_minter minter;
    if (!mark || name_of(name, name_len, &nm) != 0)
        return BATON_EINVAL;
    size_t mlen = strnlen(mark->minter, sizeof mark->minter);
    if (mlen == sizeof mark->minter ||
        (mlen > 0 && bt_minter_parse(&minter, mark->minter, mlen) != 0))
        return BATON_EINVAL;
    int rc = lock_running(n);
    if (rc != 0)
        return rc;
    rc =
        bt_node_observe_fence(n->core, &nm, mark->token, mlen > 0 ? &minter : NULL, rt_core_now(n));
    rt_wake(n);
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
        rt_member_of(&v[i], &out[i]);
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
