/*
 * batond's client socket: JSON lines over a Unix stream socket, one
 * connection = one session (docs/protocol.md is the specification). This
 * file owns the socket and the connections: reading lines, writing replies
 * and events, closing; requests.c answers each request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/proto.h"

/* A client that lets this much output pile up unread is closed. */
#define BD_CLIENT_WRITE_MAX (8u << 20)

enum close_mode { CLOSE_NOW, CLOSE_FLUSH, CLOSE_DRAIN };

/* The most input read and discarded after a line over the limit. */
#define BD_DRAIN_MAX (1u << 20)

struct bd_write {
    uv_write_t req;
    char *data;
};

/* ---- small helpers ------------------------------------------------------- */

json_t *bd_json_bytes(const void *p, size_t n)
{
    if (n > 0 && memchr(p, '\0', n) != NULL)
        return NULL;
    return json_stringn(p, n);
}

json_t *bd_json_token(uint64_t token)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, token);
    return json_string(buf);
}

static bool name_eq(const struct baton_name *a, const void *p, size_t n)
{
    return a->len == n && memcmp(a->bytes, p, n) == 0;
}

ssize_t bd_find_name(const struct bd_client *c, const void *p, size_t n)
{
    for (size_t i = 0; i < c->nnames; i++)
        if (name_eq(&c->names[i], p, n))
            return (ssize_t)i;
    return -1;
}

ssize_t bd_find_watch(const struct bd_client *c, const void *p, size_t n)
{
    for (size_t i = 0; i < c->nwatches; i++)
        if (name_eq(&c->watches[i].name, p, n))
            return (ssize_t)i;
    return -1;
}

/* ---- closing and writing -------------------------------------------------- */

static void client_closed(uv_handle_t *h)
{
    struct bd_client *c = h->data;
    linebuf_free(&c->lb);
    free(c->names);
    free(c->watches);
    free(c);
}

static void close_handle(struct bd_client *c)
{
    if (!uv_is_closing((uv_handle_t *)&c->pipe))
        uv_close((uv_handle_t *)&c->pipe, client_closed);
}

static void shutdown_done(uv_shutdown_t *req, int status)
{
    struct bd_client *c = req->data;
    (void)status;
    free(req);
    c->shut = true;
    /* Draining: the close waits for the client's end of stream, so that
     * unread input does not turn the close into a reset that would lose
     * the error line. */
    if (!c->draining || c->drain_eof)
        close_handle(c);
}

/* Ends the session and closes the connection. CLOSE_NOW drops what is not
 * sent yet; CLOSE_FLUSH sends what was written first (an error line, a
 * stopped event); CLOSE_DRAIN also reads and discards the client's
 * remaining input (at most BD_DRAIN_MAX bytes) before closing. */
static void client_end(struct bd_client *c, const char *why, enum close_mode mode)
{
    if (c->closing)
        return;
    c->closing = true;
    struct batond *d = c->d;
    if (c->session != 0) {
        int n = baton_session_close(d->node, c->session);
        if (n > 0)
            bd_info("client %" PRIu64 ": %s; %d candidacy(ies) withdrawn", c->id, why, n);
        else
            bd_debug("client %" PRIu64 ": %s", c->id, why);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        d->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    atomic_fetch_sub(&d->counters.clients_open, 1);
    if (mode != CLOSE_DRAIN)
        uv_read_stop((uv_stream_t *)&c->pipe);
    if (mode != CLOSE_NOW) {
        uv_shutdown_t *req = malloc(sizeof *req);
        if (req != NULL) {
            req->data = c;
            c->draining = mode == CLOSE_DRAIN;
            if (uv_shutdown(req, (uv_stream_t *)&c->pipe, shutdown_done) == 0)
                return;
            c->draining = false;
            free(req);
        }
    }
    close_handle(c);
}

static void client_close(struct bd_client *c, const char *why) { client_end(c, why, CLOSE_NOW); }

static void write_done(uv_write_t *req, int status)
{
    struct bd_write *w = (struct bd_write *)req;
    (void)status; /* a broken connection shows up as a failed read */
    free(w->data);
    free(w);
}

/* Sends obj (consumed) as one line. */
void bd_send_json(struct bd_client *c, json_t *obj)
{
    if (c->closing) {
        json_decref(obj);
        return;
    }
    char *s = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    struct bd_write *w = malloc(sizeof *w);
    size_t n = s ? strlen(s) : 0;
    char *line = s ? realloc(s, n + 2) : NULL;
    if (w == NULL || line == NULL) {
        free(w);
        free(line ? line : s);
        client_close(c, "out of memory writing to it");
        return;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    w->data = line;
    uv_buf_t buf = uv_buf_init(line, (unsigned)(n + 1));
    if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_done) != 0) {
        free(line);
        free(w);
        client_close(c, "write failed");
        return;
    }
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > BD_CLIENT_WRITE_MAX) {
        atomic_fetch_add(&c->d->counters.slow_clients, 1);
        client_close(c, "closed: it does not read what it is sent");
    }
}

json_t *bd_reply_ok(json_t *id)
{
    json_t *o = json_object();
    if (id != NULL)
        json_object_set(o, "id", id);
    json_object_set_new(o, "ok", json_true());
    return o;
}

void bd_reply_error(struct bd_client *c, json_t *id, const char *error, const char *message)
{
    json_t *o = json_object();
    if (id != NULL)
        json_object_set(o, "id", id);
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(error));
    json_object_set_new(o, "message", json_string(message));
    bd_send_json(c, o);
}

void bd_reply_baton_error(struct bd_client *c, json_t *id, int err)
{
    bd_reply_error(c, id, proto_err_name(err), baton_strerror(err));
}

void bd_bad_request(struct bd_client *c, json_t *id, const char *message)
{
    atomic_fetch_add(&c->d->counters.bad_requests, 1);
    bd_reply_error(c, id, "bad_request", message);
}

/* ---- dispatch ------------------------------------------------------------- */

static void handle_line(struct bd_client *c, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL || !json_is_object(req)) {
        json_decref(req);
        atomic_fetch_add(&c->d->counters.bad_requests, 1);
        bd_reply_error(c, NULL, "bad_json", "each line must be one JSON object");
        return;
    }
    atomic_fetch_add(&c->d->counters.requests, 1);
    json_t *id = json_object_get(req, "id");
    json_t *opv = json_object_get(req, "op");
    if (!json_is_string(opv)) {
        bd_bad_request(c, id, "\"op\" must be a string");
        json_decref(req);
        return;
    }
    if (!bd_request(c, json_string_value(opv), req, id)) {
        atomic_fetch_add(&c->d->counters.bad_requests, 1);
        bd_reply_error(c, id, "unknown_op", "no such request");
    }
    json_decref(req);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];
    (void)h;
    (void)suggested;
    /* One loop thread, each read consumed before the next one. */
    buf->base = slab;
    buf->len = sizeof slab;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct bd_client *c = s->data;
    if (c->draining) {
        if (n < 0) {
            uv_read_stop(s);
            c->drain_eof = true;
            if (c->shut)
                close_handle(c);
        } else if ((c->drained += (size_t)n) > BD_DRAIN_MAX) {
            close_handle(c);
        }
        return;
    }
    if (n < 0) {
        client_close(c, n == UV_EOF ? "disconnected" : uv_strerror((int)n));
        return;
    }
    if (n == 0 || c->closing)
        return;
    if (linebuf_feed(&c->lb, buf->base, (size_t)n) != 0) {
        if (c->lb.overflow) {
            atomic_fetch_add(&c->d->counters.long_lines, 1);
            bd_reply_error(c, NULL, "line_too_long", "a line longer than 65536 bytes; closing");
            client_end(c, "sent a line over the limit", CLOSE_DRAIN);
        } else {
            client_close(c, "out of memory reading from it");
        }
        return;
    }
    char *line;
    size_t len;
    while (!c->closing && (line = linebuf_next(&c->lb, &len)) != NULL) {
        if (len == 0)
            continue; /* blank lines are ignored */
        handle_line(c, line, len);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct batond *d = server->data;
    if (status < 0) {
        bd_warn("client socket: accept failed: %s", uv_strerror(status));
        return;
    }
    struct bd_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        bd_error("client socket: out of memory");
        return;
    }
    c->d = d;
    linebuf_init(&c->lb, BATON_PROTO_LINE_MAX);
    uv_pipe_init(d->loop, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        uv_close((uv_handle_t *)&c->pipe, client_closed);
        return;
    }
    static uint64_t next_id = 1;
    c->id = next_id++;
    c->next = d->clients;
    if (d->clients)
        d->clients->prev = c;
    d->clients = c;
    atomic_fetch_add(&d->counters.clients_accepted, 1);
    atomic_fetch_add(&d->counters.clients_open, 1);
    int rc = d->stopping ? BATON_ECLOSED : baton_session_open(d->node, &c->session);
    if (rc != 0) {
        c->session = 0;
        bd_reply_baton_error(c, NULL, rc);
        client_end(c, "no session: the node is stopping", CLOSE_FLUSH);
        return;
    }
    bd_debug("client %" PRIu64 ": connected, session %" PRIu64, c->id, c->session);
    uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

/* ---- events from the library ---------------------------------------------- */

static struct bd_client *client_of_session(struct batond *d, uint64_t session)
{
    for (struct bd_client *c = d->clients; c != NULL; c = c->next)
        if (c->session == session && !c->closing)
            return c;
    return NULL;
}

static bool leader_same(const struct bd_watch *w, const struct bd_event *ev)
{
    if (w->had_leader != ev->has_leader)
        return false;
    if (!ev->has_leader)
        return true;
    return w->last.candidate_id == ev->leader.candidate_id &&
           !strcmp(w->last.node, ev->leader.node);
}

void bd_server_deliver(struct batond *d, const struct bd_event *ev)
{
    switch (ev->kind) {
    case BD_EV_ELECTED:
    case BD_EV_REVOKED: {
        struct bd_client *c = client_of_session(d, ev->session);
        /* Nobody to tell, or an event from before a resign. */
        if (c == NULL || bd_find_name(c, ev->name.bytes, ev->name.len) < 0)
            return;
        json_t *o = json_object();
        json_object_set_new(o, "event",
                            json_string(ev->kind == BD_EV_ELECTED ? "elected" : "revoked"));
        json_object_set_new(o, "name", json_stringn((const char *)ev->name.bytes, ev->name.len));
        bd_fence_fields(o, &ev->fence);
        atomic_fetch_add(&d->counters.events_out, 1);
        bd_send_json(c, o);
        return;
    }
    case BD_EV_LEADER: {
        struct bd_client *next;
        for (struct bd_client *c = d->clients; c != NULL; c = next) {
            next = c->next;
            ssize_t i = bd_find_watch(c, ev->name.bytes, ev->name.len);
            if (i < 0)
                continue;
            struct bd_watch *w = &c->watches[i];
            if (ev->seq <= w->since || (w->sent && leader_same(w, ev)))
                continue;
            w->sent = true;
            w->had_leader = ev->has_leader;
            if (ev->has_leader)
                w->last = ev->leader;
            json_t *o =
                bd_leader_event(ev->name.bytes, ev->name.len, ev->has_leader ? &ev->leader : NULL);
            if (o != NULL) {
                atomic_fetch_add(&d->counters.events_out, 1);
                bd_send_json(c, o);
            }
        }
        return;
    }
    case BD_EV_CLOCK: {
        struct bd_client *next;
        for (struct bd_client *c = d->clients; c != NULL; c = next) {
            next = c->next;
            if (c->nnames == 0)
                continue;
            json_t *o = json_object();
            json_object_set_new(o, "event", json_string("clock"));
            json_object_set_new(o, "refused", json_boolean(ev->refused));
            atomic_fetch_add(&d->counters.events_out, 1);
            bd_send_json(c, o);
        }
        return;
    }
    case BD_EV_STOPPED: {
        struct bd_client *next;
        for (struct bd_client *c = d->clients; c != NULL; c = next) {
            next = c->next;
            json_t *o = json_object();
            json_object_set_new(o, "event", json_string("stopped"));
            json_object_set_new(o, "error", json_string(proto_err_name(ev->err)));
            json_object_set_new(o, "message", json_string(baton_strerror(ev->err)));
            atomic_fetch_add(&d->counters.events_out, 1);
            bd_send_json(c, o);
        }
        return;
    }
    }
}

/* ---- the listening socket -------------------------------------------------- */

/* A socket file left by a dead daemon answers no connect: remove it. A live
 * one is in use. Returns 0 (free now) or -1 (logged). */
static int clear_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        bd_error("client socket %s: exists and is not a socket; not touching it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    close(fd);
    if (rc == 0) {
        bd_error("client socket %s: another batond answers there", path);
        return -1;
    }
    if (err != ECONNREFUSED) {
        bd_error("client socket %s: %s", path, strerror(err));
        return -1;
    }
    if (unlink(path) != 0) {
        bd_error("client socket %s: cannot remove the stale socket: %s", path, strerror(errno));
        return -1;
    }
    bd_info("client socket %s: removed a stale socket", path);
    return 0;
}

int bd_server_start(struct batond *d)
{
    const char *path = d->cfg.socket;
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) {
        bd_error("client socket %s: path too long (at most %zu bytes)", path,
                 sizeof sa.sun_path - 1);
        return -1;
    }
    /* /run/baton may not exist yet: make it, private. */
    if (!strcmp(path, "/run/baton/baton.sock"))
        (void)mkdir("/run/baton", 0700);
    if (clear_stale(path) != 0)
        return -1;
    uv_pipe_init(d->loop, &d->server, 0);
    d->server.data = d;
    d->server_open = true;
    mode_t old = umask(0177); /* the socket is created mode 0600 */
    int rc = uv_pipe_bind(&d->server, path);
    umask(old);
    d->socket_created = rc == 0;
    if (rc == 0 && chmod(path, 0600) != 0)
        rc = uv_translate_sys_error(errno);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&d->server, 64, on_connection);
    if (rc != 0) {
        bd_error("client socket %s: %s", path, uv_strerror(rc));
        return -1;
    }
    bd_info("client socket %s: listening", path);
    return 0;
}

void bd_server_stop(struct batond *d)
{
    while (d->clients != NULL)
        client_end(d->clients, "daemon stopping", CLOSE_FLUSH);
    if (d->server_open) {
        d->server_open = false;
        uv_close((uv_handle_t *)&d->server, NULL);
    }
    if (d->socket_created) {
        d->socket_created = false;
        unlink(d->cfg.socket);
    }
}
