/*
 * batond: one baton cluster node per machine, serving local clients on a
 * Unix socket (docs/protocol.md). See daemon.h for how the parts meet.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/proto.h"

/* SIGTERM must end the daemon within 2 s: the leave gets at most this. */
#define BD_LEAVE_MAX_MS 1500

int bd_split_hostport(const char *s, char *host, size_t hostcap, uint16_t *port)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return -1;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= hostcap)
        return -1;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || p > 65535)
        return -1;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return 0;
}

/* ---- the event queue: library thread -> main loop ------------------------- */

static void enqueue(struct batond *d, struct bd_event *ev)
{
    pthread_mutex_lock(&d->qlock);
    if (ev == NULL) {
        d->qdropped++;
    } else {
        ev->seq = ++d->qseq;
        if (d->qtail)
            d->qtail->next = ev;
        else
            d->qhead = ev;
        d->qtail = ev;
    }
    pthread_mutex_unlock(&d->qlock);
    uv_async_send(&d->wake);
}

uint64_t bd_queue_seq(struct batond *d)
{
    pthread_mutex_lock(&d->qlock);
    uint64_t s = d->qseq;
    pthread_mutex_unlock(&d->qlock);
    return s;
}

static struct bd_event *new_event(enum bd_event_kind kind, const void *name, size_t len)
{
    struct bd_event *ev = calloc(1, sizeof *ev);
    if (ev == NULL)
        return NULL;
    ev->kind = kind;
    if (name != NULL && len <= BATON_NAME_MAX) {
        ev->name.len = len;
        memcpy(ev->name.bytes, name, len);
    }
    return ev;
}

static void cb_elected(baton_node *node, void *ud, uint64_t session, const void *name, size_t len,
                       const struct baton_fence *fence)
{
    (void)node;
    struct bd_event *ev = new_event(BD_EV_ELECTED, name, len);
    if (ev) {
        ev->session = session;
        ev->fence = *fence;
    }
    enqueue(ud, ev);
}

static void cb_revoked(baton_node *node, void *ud, uint64_t session, const void *name, size_t len,
                       const struct baton_fence *fence)
{
    (void)node;
    struct bd_event *ev = new_event(BD_EV_REVOKED, name, len);
    if (ev) {
        ev->session = session;
        ev->fence = *fence;
    }
    enqueue(ud, ev);
}

static void cb_leader(baton_node *node, void *ud, const void *name, size_t len,
                      const struct baton_leader *leader)
{
    (void)node;
    struct bd_event *ev = new_event(BD_EV_LEADER, name, len);
    if (ev && leader) {
        ev->has_leader = true;
        ev->leader = *leader;
    }
    enqueue(ud, ev);
}

static const char *member_event_name(enum baton_member_event e)
{
    switch (e) {
    case BATON_MEMBER_UP: return "up";
    case BATON_MEMBER_SUSPECTED: return "suspect";
    case BATON_MEMBER_REFUTED: return "alive again";
    case BATON_MEMBER_FAILED: return "dead";
    case BATON_MEMBER_DEPARTED: return "left";
    }
    return "?";
}

static void cb_member(baton_node *node, void *ud, enum baton_member_event event,
                      const struct baton_member *m)
{
    (void)node;
    (void)ud;
    /* The library logs member changes itself; this adds the incarnation. */
    bd_debug("member %s (%s): %s, incarnation %" PRIu32, m->name, m->addr, member_event_name(event),
             m->incarnation);
}

static void cb_clock(baton_node *node, void *ud, bool refused)
{
    (void)node;
    if (refused)
        bd_error("the cluster refuses this node's clock as too far ahead: candidacies withdrawn");
    else
        bd_warn("the cluster accepts this node's clock again");
    struct bd_event *ev = new_event(BD_EV_CLOCK, NULL, 0);
    if (ev)
        ev->refused = refused;
    enqueue(ud, ev);
}

static void cb_stopped(baton_node *node, void *ud, int err)
{
    (void)node;
    bd_error("the node stopped: %s (%s)", baton_strerror(err), baton_err_name(err));
    struct bd_event *ev = new_event(BD_EV_STOPPED, NULL, 0);
    if (ev)
        ev->err = err;
    enqueue(ud, ev);
}

static void cb_log(baton_node *node, void *ud, enum baton_log_level level, const char *msg)
{
    (void)node;
    (void)ud;
    bd_log(level, "%s", msg);
}

static void on_wake(uv_async_t *a)
{
    struct batond *d = a->data;
    pthread_mutex_lock(&d->qlock);
    struct bd_event *ev = d->qhead;
    d->qhead = d->qtail = NULL;
    uint64_t dropped = d->qdropped;
    d->qdropped = 0;
    pthread_mutex_unlock(&d->qlock);
    if (dropped > 0)
        bd_error("%" PRIu64 " event(s) lost to out of memory", dropped);
    while (ev != NULL) {
        struct bd_event *next = ev->next;
        if (ev->kind == BD_EV_STOPPED) {
            bd_server_deliver(d, ev);
            bd_shutdown(d, false, 1);
        } else if (!d->stopping) {
            bd_server_deliver(d, ev);
        }
        free(ev);
        ev = next;
    }
}

/* ---- shutdown -------------------------------------------------------------- */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop_timer(uv_timer_t *t) { uv_walk(t->loop, close_walk, NULL); }

void bd_shutdown(struct batond *d, bool leave, int exit_code)
{
    if (d->stopping)
        return;
    d->stopping = true;
    d->exit_code = exit_code;
    if (leave) {
        /* Withdraws every candidacy, announces the leave, stops the node:
         * waits at most the leave timeout (capped at BD_LEAVE_MAX_MS). */
        int rc = baton_node_leave(d->node);
        if (rc != 0)
            bd_warn("leave: %s", baton_strerror(rc));
    }
    baton_node_stop(d->node);
    bd_server_stop(d);
    bd_metrics_stop(d->metrics);
    d->metrics = NULL;
    uv_signal_stop(&d->sig_term);
    uv_signal_stop(&d->sig_int);
    uv_signal_stop(&d->sig_hup);
    /* The last lines to clients get a moment to go out, then every handle
     * closes and the loop ends. */
    uv_timer_start(&d->stop_timer, on_stop_timer, 200, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct batond *d = s->data;
    if (signum == SIGHUP) {
        bd_info("SIGHUP: reloading the keyring file");
        bd_keyring_reload(d);
        return;
    }
    bd_info("%s: shutting down", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    bd_shutdown(d, true, 0);
}

/* ---- start -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    static struct batond daemon;
    struct batond *d = &daemon;
    switch (bd_config_load(&d->cfg, argc, argv)) {
    case BD_CONFIG_OK: break;
    case BD_CONFIG_HELP: return 0;
    case BD_CONFIG_USAGE: return 2;
    }
    bd_log_setup(d->cfg.log_level, d->cfg.log_json);
    signal(SIGPIPE, SIG_IGN);

    struct baton_key keys[BATON_KEYRING_MAX];
    int nkeys = 0;
    if (d->cfg.keyring != NULL) {
        char err[512];
        nkeys = bd_keyring_read(d->cfg.keyring, keys, BATON_KEYRING_MAX, err, sizeof err);
        if (nkeys < 0) {
            bd_error("keyring: %s", err);
            bd_config_free(&d->cfg);
            return 1;
        }
    }

    struct baton_config bc;
    baton_config_init(&bc);
    bc.name = d->cfg.name;
    bc.bind_addr = d->cfg.bind;
    bc.advertise_addr = d->cfg.advertise;
    bc.seeds = (const char *const *)d->cfg.join;
    bc.nseeds = d->cfg.njoin;
    bc.keys = nkeys > 0 ? keys : NULL;
    bc.nkeys = (size_t)nkeys;
    bc.insecure_no_encryption = d->cfg.insecure;
    bc.profile = d->cfg.profile;
    /* The profile's leave timeout, capped so that SIGTERM exits within 2 s. */
    uint32_t leave_ms[] = {1000, 3000, 10000};
    if (leave_ms[d->cfg.profile] > BD_LEAVE_MAX_MS)
        bc.timings.leave_timeout_ms = BD_LEAVE_MAX_MS;
    bc.log_level = d->cfg.log_level;
    if (d->cfg.max_names > 0)
        bc.max_names = d->cfg.max_names;
    bc.callbacks.on_elected = cb_elected;
    bc.callbacks.on_revoked = cb_revoked;
    bc.callbacks.on_leader = cb_leader;
    bc.callbacks.on_member = cb_member;
    bc.callbacks.on_clock = cb_clock;
    bc.callbacks.on_stopped = cb_stopped;
    bc.callbacks.on_log = cb_log;
    bc.userdata = d;

    int rc = baton_node_new(&bc, &d->node);
    if (rc != 0) {
        bd_error("cannot make the node (check --name, --bind, --advertise, --join): %s",
                 baton_strerror(rc));
        bd_config_free(&d->cfg);
        return rc == BATON_EINVAL ? 2 : 1;
    }
    baton_node_name(d->node, d->node_name, sizeof d->node_name);

    d->loop = uv_default_loop();
    pthread_mutex_init(&d->qlock, NULL);
    uv_async_init(d->loop, &d->wake, on_wake);
    d->wake.data = d;
    uv_timer_init(d->loop, &d->stop_timer);
    d->stop_timer.data = d;
    uv_signal_init(d->loop, &d->sig_term);
    uv_signal_init(d->loop, &d->sig_int);
    uv_signal_init(d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, on_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_signal, SIGINT);
    uv_signal_start(&d->sig_hup, on_signal, SIGHUP);

    /* The socket before the node: a second daemon on the same socket stops
     * here, before it binds any cluster port. */
    int status = 1;
    if (bd_server_start(d) != 0)
        goto out;
    rc = baton_node_start(d->node);
    if (rc != 0) {
        bd_error("cannot start the node on %s: %s", d->cfg.bind, baton_strerror(rc));
        goto out;
    }
    char addr[BATON_ADDR_MAX + 1] = "";
    baton_node_addr(d->node, addr, sizeof addr);
    bd_info("batond %d.%d.%d: node %s at %s, profile %s, %s, %zu seed(s)", BATON_VERSION_MAJOR,
            BATON_VERSION_MINOR, BATON_VERSION_PATCH, d->node_name, addr,
            bd_profile_name(d->cfg.profile),
            d->cfg.insecure ? "UNENCRYPTED (--insecure-no-encryption)" : "encrypted", d->cfg.njoin);
    if (d->cfg.metrics != NULL && (d->metrics = bd_metrics_start(d, d->cfg.metrics)) == NULL)
        goto out;

    uv_run(d->loop, UV_RUN_DEFAULT);
    status = d->exit_code;
out:
    if (!d->stopping) {
        d->stopping = true;
        baton_node_stop(d->node);
        bd_server_stop(d);
        bd_metrics_stop(d->metrics);
        d->metrics = NULL;
    }
    /* Close whatever is left and let the loop finish the closes. */
    uv_walk(d->loop, close_walk, NULL);
    uv_run(d->loop, UV_RUN_DEFAULT);
    uv_loop_close(d->loop);
    baton_node_free(d->node);
    /* Events queued after the last wake-up. */
    struct bd_event *ev = d->qhead;
    while (ev != NULL) {
        struct bd_event *next = ev->next;
        free(ev);
        ev = next;
    }
    pthread_mutex_destroy(&d->qlock);
    bd_info("stopped");
    bd_config_free(&d->cfg);
    return status;
}
