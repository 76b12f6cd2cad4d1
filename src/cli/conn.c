/* The CLI's JSON-lines connection to batond; see conn.h. */
#include "cli/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/proto.h"

struct conn {
    uv_pipe_t pipe;
    uv_connect_t connect_req;
    struct conn_handlers h;
    struct linebuf lb;
    bool closing;
    bool connected;
};

struct write_req {
    uv_write_t req;
    char *data;
};

static void on_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    linebuf_free(&c->lb);
    free(c);
}

void conn_close(struct conn *c)
{
    if (c == NULL || c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->pipe, on_closed);
}

static void fail(struct conn *c, int status)
{
    if (c->closing)
        return;
    void (*cb)(struct conn *, int, void *) = c->h.on_close;
    void *ctx = c->h.ctx;
    uv_read_stop((uv_stream_t *)&c->pipe);
    /* The handler decides; the conn stays valid until it calls conn_close. */
    c->h.on_message = NULL;
    c->h.on_close = NULL;
    if (cb != NULL)
        cb(c, status, ctx);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];
    (void)h;
    (void)suggested;
    /* One loop thread, and every read is consumed before the next: one
     * static slab is enough. */
    buf->base = slab;
    buf->len = sizeof slab;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (n < 0) {
        fail(c, (int)n);
        return;
    }
    if (n == 0)
        return;
    if (linebuf_feed(&c->lb, buf->base, (size_t)n) != 0) {
        fail(c, UV_ENOMEM);
        return;
    }
    char *line;
    size_t len;
    while (!c->closing && c->h.on_message != NULL && (line = linebuf_next(&c->lb, &len)) != NULL) {
        if (len == 0)
            continue;
        json_error_t err;
        json_t *msg = json_loadb(line, len, 0, &err);
        if (msg == NULL || !json_is_object(msg)) {
            json_decref(msg);
            fail(c, UV_EPROTO);
            return;
        }
        c->h.on_message(c, msg, c->h.ctx);
        json_decref(msg);
    }
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status == 0) {
        c->connected = true;
        status = uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
    }
    if (c->h.on_connect != NULL)
        c->h.on_connect(c, status, c->h.ctx);
}

struct conn *conn_open(uv_loop_t *loop, const char *path, const struct conn_handlers *h)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->h = *h;
    linebuf_init(&c->lb, 0);
    if (uv_pipe_init(loop, &c->pipe, 0) != 0) {
        free(c);
        return NULL;
    }
    c->pipe.data = c;
    c->connect_req.data = c;
    uv_pipe_connect(&c->connect_req, &c->pipe, path, connect_cb);
    return c;
}

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    (void)status; /* a failed write shows up as a failed read */
    free(w->data);
    free(w);
}

int conn_send(struct conn *c, json_t *obj)
{
    if (c->closing || !c->connected)
        return UV_ENOTCONN;
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s == NULL)
        return UV_ENOMEM;
    size_t n = strlen(s);
    struct write_req *w = malloc(sizeof *w);
    char *line = realloc(s, n + 2);
    if (w == NULL || line == NULL) {
        free(w);
        free(line ? line : s);
        return UV_ENOMEM;
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    w->data = line;
    uv_buf_t buf = uv_buf_init(line, (unsigned)(n + 1));
    int rc = uv_write(&w->req, (uv_stream_t *)&c->pipe, &buf, 1, write_cb);
    if (rc != 0) {
        free(line);
        free(w);
    }
    return rc;
}

/* ---- one request, one reply --------------------------------------------- */

/* How long a one-shot request waits for its reply. */
#define CONN_CALL_TIMEOUT_MS 30000

struct call {
    json_t *req;
    json_t *reply;
    const char *path;
    const char *what;
    bool done;
};

static void call_connect(struct conn *c, int status, void *ctx)
{
    struct call *k = ctx;
    if (status == 0)
        status = conn_send(c, k->req);
    if (status != 0) {
        fprintf(stderr, "baton: %s: cannot reach batond at %s: %s\n", k->what, k->path,
                uv_strerror(status));
        k->done = true;
    }
}

static void call_message(struct conn *c, json_t *msg, void *ctx)
{
    struct call *k = ctx;
    if (k->done || json_object_get(msg, "ok") == NULL)
        return; /* an event: not what a one-shot request waits for */
    k->reply = json_incref(msg);
    k->done = true;
}

static void call_close(struct conn *c, int status, void *ctx)
{
    struct call *k = ctx;
    if (!k->done)
        fprintf(stderr, "baton: %s: batond closed the connection before replying (%s)\n", k->what,
                status == UV_EOF ? "end of stream" : uv_strerror(status));
    k->done = true;
}

static void call_timeout(uv_timer_t *t)
{
    struct call *k = t->data;
    if (!k->done)
        fprintf(stderr, "baton: %s: no reply from batond at %s within %d s\n", k->what, k->path,
                CONN_CALL_TIMEOUT_MS / 1000);
    k->done = true;
}

json_t *conn_call(const char *path, json_t *req, const char *what)
{
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        fprintf(stderr, "baton: %s: cannot start an event loop\n", what);
        return NULL;
    }
    struct call k = {.req = req, .path = path, .what = what};
    struct conn_handlers h = {
        .ctx = &k, .on_connect = call_connect, .on_message = call_message, .on_close = call_close};
    struct conn *c = conn_open(&loop, path, &h);
    if (c == NULL) {
        fprintf(stderr, "baton: %s: out of memory\n", what);
        uv_loop_close(&loop);
        return NULL;
    }
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = &k;
    uv_timer_start(&timer, call_timeout, CONN_CALL_TIMEOUT_MS, 0);
    while (!k.done && uv_run(&loop, UV_RUN_ONCE) != 0)
        ;
    uv_close((uv_handle_t *)&timer, NULL);
    conn_close(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return k.reply;
}
