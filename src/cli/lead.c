/*
 * The CLI's long-running sessions that only print: `baton lead` (hold a
 * candidacy, print its transitions) and `baton watch` (print leader
 * changes). Both end on SIGINT/SIGTERM (exit 0) or when the daemon goes
 * away (exit 1).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/conn.h"

/* After SIGINT/SIGTERM, how long `lead` waits for its resign to be
 * answered before it exits anyway (the session ends with the connection
 * in any case). */
#define RESIGN_WAIT_MS 2000

struct session {
    struct cli_opts *o;
    const char *name;
    bool watch; /* watch instead of lead */
    uv_loop_t loop;
    struct conn *conn;
    uv_signal_t sig_int, sig_term;
    uv_timer_t timer;
    bool answered;  /* the first reply came */
    bool resigning; /* a signal came: resign sent */
    bool done;
    int status;
};

static void finish(struct session *s, int status)
{
    if (s->done)
        return;
    s->done = true;
    s->status = status;
    uv_stop(&s->loop);
}

static void on_connect(struct conn *c, int status, void *ctx)
{
    struct session *s = ctx;
    const char *what = s->watch ? "watch" : "lead";
    if (status != 0) {
        fprintf(stderr, "baton: %s: cannot reach batond at %s: %s\n", what, s->o->sockpath,
                uv_strerror(status));
        finish(s, EXIT_ERR);
        return;
    }
    json_t *req = json_object();
    json_object_set_new(req, "id", json_integer(1));
    json_object_set_new(req, "op", json_string(s->watch ? "watch" : "lead"));
    json_object_set_new(req, "name", json_string(s->name));
    if (!s->watch)
        json_object_set_new(req, "priority", json_integer(s->o->priority));
    if (conn_send(c, req) != 0) {
        fprintf(stderr, "baton: %s: cannot send to batond\n", what);
        finish(s, EXIT_ERR);
    }
    json_decref(req);
}

/* Copies the fields a lead line carries from msg into out. */
static void copy_term(json_t *out, json_t *msg)
{
    json_t *f = json_object_get(msg, "fence");
    if (f != NULL)
        json_object_set(out, "fence", f);
    json_t *m = json_object_get(msg, "minter");
    if (m != NULL)
        json_object_set(out, "minter", m);
}

static void lead_message(struct session *s, json_t *msg)
{
    json_t *ok = json_object_get(msg, "ok");
    if (ok != NULL) {
        if (s->resigning) {
            finish(s, EXIT_OK);
            return;
        }
        if (s->answered)
            return;
        s->answered = true;
        if (!json_is_true(ok)) {
            char what[300];
            snprintf(what, sizeof what, "lead %s", s->name);
            cli_print_error(what, msg);
            finish(s, EXIT_ERR);
            return;
        }
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(s->name));
        json_object_set(out, "role", json_object_get(msg, "role"));
        copy_term(out, msg);
        cli_print_json(out);
        json_decref(out);
        return;
    }
    const char *ev = json_string_value(json_object_get(msg, "event"));
    if (ev == NULL)
        return;
    if (!strcmp(ev, "elected") || !strcmp(ev, "revoked")) {
        const char *n = json_string_value(json_object_get(msg, "name"));
        if (n == NULL || strcmp(n, s->name) != 0)
            return;
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(s->name));
        json_object_set_new(out, "event", json_string(ev));
        copy_term(out, msg);
        cli_print_json(out);
        json_decref(out);
    } else if (!strcmp(ev, "clock")) {
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(s->name));
        json_object_set_new(out, "event", json_string("clock"));
        json_object_set(out, "refused", json_object_get(msg, "refused"));
        cli_print_json(out);
        json_decref(out);
    } else if (!strcmp(ev, "stopped")) {
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(s->name));
        json_object_set_new(out, "event", json_string("stopped"));
        json_object_set(out, "error", json_object_get(msg, "error"));
        cli_print_json(out);
        json_decref(out);
        fprintf(stderr, "baton: lead %s: the node stopped: %s\n", s->name,
                json_string_value(json_object_get(msg, "message")));
        finish(s, EXIT_ERR);
    }
}

static void watch_message(struct session *s, json_t *msg)
{
    json_t *ok = json_object_get(msg, "ok");
    if (ok != NULL) {
        if (!json_is_true(ok)) {
            char what[300];
            snprintf(what, sizeof what, "watch %s", s->name);
            cli_print_error(what, msg);
            finish(s, EXIT_ERR);
        }
        s->answered = true;
        return;
    }
    const char *ev = json_string_value(json_object_get(msg, "event"));
    if (ev == NULL)
        return;
    if (!strcmp(ev, "leader")) {
        const char *n = json_string_value(json_object_get(msg, "name"));
        if (n == NULL || strcmp(n, s->name) != 0)
            return;
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(s->name));
        json_t *node = json_object_get(msg, "node");
        json_object_set(out, "node", node ? node : json_null());
        json_t *cand = json_object_get(msg, "candidate");
        if (cand != NULL && !json_is_null(node))
            json_object_set(out, "candidate", cand);
        cli_print_json(out);
        json_decref(out);
    } else if (!strcmp(ev, "stopped")) {
        fprintf(stderr, "baton: watch %s: the node stopped: %s\n", s->name,
                json_string_value(json_object_get(msg, "message")));
        finish(s, EXIT_ERR);
    }
}

static void on_message(struct conn *c, json_t *msg, void *ctx)
{
    (void)c;
    struct session *s = ctx;
    if (s->done)
        return;
    if (s->watch)
        watch_message(s, msg);
    else
        lead_message(s, msg);
}

static void on_close(struct conn *c, int status, void *ctx)
{
    (void)c;
    struct session *s = ctx;
    if (s->done)
        return;
    if (s->resigning) {
        finish(s, EXIT_OK);
        return;
    }
    fprintf(stderr, "baton: %s %s: batond went away (%s)\n", s->watch ? "watch" : "lead", s->name,
            status == UV_EOF ? "connection closed" : uv_strerror(status));
    finish(s, EXIT_ERR);
}

static void on_resign_timeout(uv_timer_t *t) { finish(t->data, EXIT_OK); }

static void on_signal(uv_signal_t *sig, int signum)
{
    struct session *s = sig->data;
    (void)signum;
    if (s->done || s->resigning)
        return;
    if (s->watch || !s->answered) {
        finish(s, EXIT_OK);
        return;
    }
    /* Resign, wait (bounded) for the answer, exit 0. */
    s->resigning = true;
    json_t *req = json_object();
    json_object_set_new(req, "id", json_integer(2));
    json_object_set_new(req, "op", json_string("resign"));
    json_object_set_new(req, "name", json_string(s->name));
    int rc = conn_send(s->conn, req);
    json_decref(req);
    if (rc != 0) {
        finish(s, EXIT_OK);
        return;
    }
    uv_timer_start(&s->timer, on_resign_timeout, RESIGN_WAIT_MS, 0);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static int session_run(struct cli_opts *o, bool watch)
{
    struct session s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.name = o->pos[0];
    s.watch = watch;
    if (uv_loop_init(&s.loop) != 0) {
        fprintf(stderr, "baton: cannot start an event loop\n");
        return EXIT_ERR;
    }
    uv_signal_init(&s.loop, &s.sig_int);
    uv_signal_init(&s.loop, &s.sig_term);
    s.sig_int.data = s.sig_term.data = &s;
    uv_signal_start(&s.sig_int, on_signal, SIGINT);
    uv_signal_start(&s.sig_term, on_signal, SIGTERM);
    uv_timer_init(&s.loop, &s.timer);
    s.timer.data = &s;
    signal(SIGPIPE, SIG_IGN);
    struct conn_handlers h = {
        .ctx = &s, .on_connect = on_connect, .on_message = on_message, .on_close = on_close};
    s.conn = conn_open(&s.loop, o->sockpath, &h);
    if (s.conn == NULL) {
        fprintf(stderr, "baton: out of memory\n");
        return EXIT_ERR;
    }
    uv_run(&s.loop, UV_RUN_DEFAULT);
    conn_close(s.conn);
    uv_walk(&s.loop, close_walk, NULL);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    uv_loop_close(&s.loop);
    return s.status;
}

int cmd_lead(struct cli_opts *o) { return session_run(o, false); }

int cmd_watch(struct cli_opts *o) { return session_run(o, true); }
