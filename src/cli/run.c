/*
 * `baton run NAME -- CMD [ARGS...]`: CMD runs only while this node leads
 * NAME. A small state machine over three inputs: the daemon (leader,
 * elected, revoked, gone), the child (exited) and signals (SIGINT,
 * SIGTERM). Progress is logged to stderr; stdin, stdout and stderr are
 * inherited by CMD.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/conn.h"

extern char **environ;

#define RESIGN_WAIT_MS 2000

struct runner {
    struct cli_opts *o;
    const char *name;
    uv_loop_t loop;
    struct conn *conn;
    uv_signal_t sig_int, sig_term;
    uv_timer_t kill_timer; /* SIGKILL after the grace */
    uv_timer_t exit_timer; /* bounded wait for the resign's answer */
    uv_process_t *child;   /* the running command, if any */
    bool child_running;    /* uv_spawn succeeded and no exit yet */
    bool child_stopping;   /* we sent SIGTERM */
    bool leader;           /* the daemon's latest word */
    char fence[32];        /* the token of the current term */
    char minter[128];      /* its minter, "<node>#<boot hex>" ("" if the daemon gave none) */
    bool answered;         /* the lead was answered */
    bool ending;           /* exiting once the child is gone */
    int end_status;
    bool daemon_gone;
    bool resigning;
    bool done;
    int status;
};

static void finish(struct runner *r, int status)
{
    if (r->done)
        return;
    r->done = true;
    r->status = status;
    uv_stop(&r->loop);
}

static void on_exit_timer(uv_timer_t *t)
{
    struct runner *r = t->data;
    finish(r, r->end_status);
}

/* No child any more: resign (if the daemon is there) and exit. */
static void resign_and_exit(struct runner *r, int status)
{
    r->end_status = status;
    if (r->daemon_gone || !r->answered) {
        finish(r, status);
        return;
    }
    r->resigning = true;
    json_t *req = json_object();
    json_object_set_new(req, "id", json_integer(2));
    json_object_set_new(req, "op", json_string("resign"));
    json_object_set_new(req, "name", json_string(r->name));
    int rc = conn_send(r->conn, req);
    json_decref(req);
    if (rc != 0) {
        finish(r, status);
        return;
    }
    uv_timer_start(&r->exit_timer, on_exit_timer, RESIGN_WAIT_MS, 0);
}

static void on_kill_timer(uv_timer_t *t)
{
    struct runner *r = t->data;
    if (r->child_running) {
        fprintf(stderr, "baton: run %s: the grace is over: SIGKILL\n", r->name);
        uv_process_kill(r->child, SIGKILL);
    }
}

static void stop_child(struct runner *r)
{
    if (!r->child_running || r->child_stopping)
        return;
    r->child_stopping = true;
    fprintf(stderr, "baton: run %s: stopping the command (SIGTERM, SIGKILL after %g s)\n", r->name,
            r->o->grace);
    uv_process_kill(r->child, SIGTERM);
    uv_timer_start(&r->kill_timer, on_kill_timer, (uint64_t)(r->o->grace * 1000.0), 0);
}

static void start_child(struct runner *r);

static void free_handle(uv_handle_t *h) { free(h); }

static void on_child_exit(uv_process_t *p, int64_t exit_status, int term_signal)
{
    struct runner *r = p->data;
    bool stopped_by_us = r->child_stopping;
    r->child_running = false;
    r->child_stopping = false;
    uv_timer_stop(&r->kill_timer);
    r->child = NULL;
    uv_close((uv_handle_t *)p, free_handle);
    int status = term_signal ? 128 + term_signal : (int)exit_status;
    if (term_signal)
        fprintf(stderr, "baton: run %s: the command ended by signal %d\n", r->name, term_signal);
    else
        fprintf(stderr, "baton: run %s: the command exited with status %d\n", r->name, status);
    if (r->ending) {
        resign_and_exit(r, r->end_status);
        return;
    }
    if (!stopped_by_us) {
        /* CMD ended on its own: baton is done too. */
        r->ending = true;
        resign_and_exit(r, status);
        return;
    }
    /* Stopped for a revoke; re-elected meanwhile? */
    if (r->leader)
        start_child(r);
}

static void start_child(struct runner *r)
{
    if (r->child_running || r->ending)
        return;
    /* The environment, with BATON_NAME, BATON_FENCE and BATON_MINTER set. */
    static const char *const vars[] = {"BATON_NAME", "BATON_FENCE", "BATON_MINTER"};
    const char *values[] = {r->name, r->fence, r->minter};
    enum { NVARS = sizeof vars / sizeof vars[0] };
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + NVARS + 1, sizeof *env);
    char *set[NVARS] = {NULL};
    bool nomem = env == NULL;
    for (size_t j = 0; j < NVARS; j++) {
        set[j] = malloc(strlen(vars[j]) + strlen(values[j]) + 2);
        if (set[j] == NULL)
            nomem = true;
        else
            sprintf(set[j], "%s=%s", vars[j], values[j]);
    }
    if (nomem) {
        free(env);
        for (size_t j = 0; j < NVARS; j++)
            free(set[j]);
        fprintf(stderr, "baton: run %s: out of memory\n", r->name);
        r->ending = true;
        resign_and_exit(r, EXIT_ERR);
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool ours = false;
        for (size_t j = 0; j < NVARS; j++) {
            size_t len = strlen(vars[j]);
            if (strncmp(environ[i], vars[j], len) == 0 && environ[i][len] == '=')
                ours = true;
        }
        if (!ours)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < NVARS; j++)
        env[k++] = set[j];
    env[k] = NULL;

    uv_stdio_container_t stdio[3];
    for (int i = 0; i < 3; i++) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = i;
    }
    uv_process_options_t opts;
    memset(&opts, 0, sizeof opts);
    opts.file = r->o->cmd[0];
    opts.args = r->o->cmd;
    opts.env = env;
    opts.exit_cb = on_child_exit;
    opts.stdio = stdio;
    opts.stdio_count = 3;
    uv_process_t *child = calloc(1, sizeof *child);
    int rc = child ? uv_spawn(&r->loop, child, &opts) : UV_ENOMEM;
    free(env);
    for (size_t j = 0; j < NVARS; j++)
        free(set[j]);
    if (rc != 0) {
        if (child != NULL)
            uv_close((uv_handle_t *)child, free_handle);
        fprintf(stderr, "baton: run %s: cannot start %s: %s\n", r->name, r->o->cmd[0],
                uv_strerror(rc));
        r->ending = true;
        resign_and_exit(r, rc == UV_ENOENT ? 127 : 126);
        return;
    }
    child->data = r;
    r->child = child;
    r->child_running = true;
    fprintf(stderr, "baton: run %s: leader, fence %s: started %s (pid %d)\n", r->name, r->fence,
            r->o->cmd[0], child->pid);
}

static void on_connect(struct conn *c, int status, void *ctx)
{
    struct runner *r = ctx;
    if (status != 0) {
        fprintf(stderr, "baton: run %s: cannot reach batond at %s: %s\n", r->name, r->o->sockpath,
                uv_strerror(status));
        r->daemon_gone = true;
        finish(r, EXIT_ERR);
        return;
    }
    json_t *req = json_object();
    json_object_set_new(req, "id", json_integer(1));
    json_object_set_new(req, "op", json_string("lead"));
    json_object_set_new(req, "name", json_string(r->name));
    json_object_set_new(req, "priority", json_integer(r->o->priority));
    if (conn_send(c, req) != 0) {
        fprintf(stderr, "baton: run %s: cannot send to batond\n", r->name);
        finish(r, EXIT_ERR);
    }
    json_decref(req);
}

static void set_fence(struct runner *r, json_t *msg)
{
    const char *f = json_string_value(json_object_get(msg, "fence"));
    const char *m = json_string_value(json_object_get(msg, "minter"));
    snprintf(r->fence, sizeof r->fence, "%s", f ? f : "");
    snprintf(r->minter, sizeof r->minter, "%s", m ? m : "");
}

static void on_message(struct conn *c, json_t *msg, void *ctx)
{
    (void)c;
    struct runner *r = ctx;
    if (r->done)
        return;
    json_t *ok = json_object_get(msg, "ok");
    if (ok != NULL) {
        if (r->resigning) {
            finish(r, r->end_status);
            return;
        }
        if (r->answered)
            return;
        r->answered = true;
        if (!json_is_true(ok)) {
            char what[300];
            snprintf(what, sizeof what, "run %s", r->name);
            cli_print_error(what, msg);
            finish(r, EXIT_ERR);
            return;
        }
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (role != NULL && !strcmp(role, "leader")) {
            r->leader = true;
            set_fence(r, msg);
            start_child(r);
        } else {
            fprintf(stderr, "baton: run %s: follower, waiting to lead\n", r->name);
        }
        return;
    }
    const char *ev = json_string_value(json_object_get(msg, "event"));
    const char *name = json_string_value(json_object_get(msg, "name"));
    if (ev == NULL)
        return;
    if (!strcmp(ev, "stopped")) {
        fprintf(stderr, "baton: run %s: the node stopped: %s\n", r->name,
                json_string_value(json_object_get(msg, "message")));
        return; /* the connection closes next */
    }
    if (name == NULL || strcmp(name, r->name) != 0)
        return;
    if (!strcmp(ev, "elected")) {
        r->leader = true;
        set_fence(r, msg);
        if (!r->child_running)
            start_child(r);
        /* else: the old term's command is still stopping; it restarts on exit. */
    } else if (!strcmp(ev, "revoked")) {
        r->leader = false;
        fprintf(stderr, "baton: run %s: revoked\n", r->name);
        stop_child(r);
    }
}

static void on_close(struct conn *c, int status, void *ctx)
{
    (void)c;
    struct runner *r = ctx;
    r->daemon_gone = true;
    if (r->done)
        return;
    if (r->resigning) {
        finish(r, r->end_status);
        return;
    }
    fprintf(stderr, "baton: run %s: batond went away (%s)\n", r->name,
            status == UV_EOF ? "connection closed" : uv_strerror(status));
    r->leader = false;
    if (!r->ending) {
        r->ending = true;
        r->end_status = EXIT_ERR;
    }
    if (r->child_running)
        stop_child(r);
    else
        finish(r, r->end_status);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct runner *r = sig->data;
    if (r->done)
        return;
    if (r->ending) {
        /* A second signal while stopping: no more waiting. */
        if (r->child_running)
            uv_process_kill(r->child, SIGKILL);
        return;
    }
    fprintf(stderr, "baton: run %s: %s: stopping\n", r->name,
            signum == SIGINT ? "SIGINT" : "SIGTERM");
    r->ending = true;
    r->end_status = EXIT_OK;
    if (r->child_running)
        stop_child(r);
    else
        resign_and_exit(r, EXIT_OK);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int cmd_run(struct cli_opts *o)
{
    struct runner r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.name = o->pos[0];
    if (uv_loop_init(&r.loop) != 0) {
        fprintf(stderr, "baton: cannot start an event loop\n");
        return EXIT_ERR;
    }
    signal(SIGPIPE, SIG_IGN);
    uv_signal_init(&r.loop, &r.sig_int);
    uv_signal_init(&r.loop, &r.sig_term);
    r.sig_int.data = r.sig_term.data = &r;
    uv_signal_start(&r.sig_int, on_signal, SIGINT);
    uv_signal_start(&r.sig_term, on_signal, SIGTERM);
    uv_timer_init(&r.loop, &r.kill_timer);
    uv_timer_init(&r.loop, &r.exit_timer);
    r.kill_timer.data = r.exit_timer.data = &r;
    struct conn_handlers h = {
        .ctx = &r, .on_connect = on_connect, .on_message = on_message, .on_close = on_close};
    r.conn = conn_open(&r.loop, o->sockpath, &h);
    if (r.conn == NULL) {
        fprintf(stderr, "baton: out of memory\n");
        return EXIT_ERR;
    }
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (r.child_running) {
        /* Never leave CMD running behind us. */
        uv_process_kill(r.child, SIGKILL);
    }
    conn_close(r.conn);
    uv_walk(&r.loop, close_walk, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    uv_loop_close(&r.loop);
    return r.status;
}
