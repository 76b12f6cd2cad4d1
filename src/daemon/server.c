/*
 * batond's client socket: JSON lines over a Unix stream socket, one
 * connection = one session (docs/protocol.md is the specification; this
 * file follows it request by request).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/proto.h"

/* A client that lets this much output pile up unread is closed. */
#define BD_CLIENT_WRITE_MAX (8u << 20)

struct bd_watch {
    struct baton_name name;
    uint64_t since;  /* events up to this seq are older than the first answer */
    bool sent;       /* something was sent */
    bool had_leader; /* what was sent last */
    struct baton_leader last;
};

struct bd_client {
    uv_pipe_t pipe;
    struct batond *d;
    struct bd_client *prev, *next;
    uint64_t id;      /* for the log */
    uint64_t session; /* the library session of this connection */
    struct linebuf lb;
    struct baton_name *names; /* the names this session campaigns for */
    size_t nnames, capnames;
    struct bd_watch *watches;
    size_t nwatches, capwatches;
    bool closing;   /* the session ended; the handle closes soon */
    bool draining;  /* discarding input until end of stream */
    bool drain_eof; /* ... which came */
    bool shut;      /* our side's shutdown completed */
    size_t drained; /* bytes discarded */
};

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

static ssize_t find_name(const struct bd_client *c, const void *p, size_t n)
{
    for (size_t i = 0; i < c->nnames; i++)
        if (name_eq(&c->names[i], p, n))
            return (ssize_t)i;
    return -1;
}

static ssize_t find_watch(const struct bd_client *c, const void *p, size_t n)
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
static void send_json(struct bd_client *c, json_t *obj)
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

static json_t *reply_ok(json_t *id)
{
    json_t *o = json_object();
    if (id != NULL)
        json_object_set(o, "id", id);
    json_object_set_new(o, "ok", json_true());
    return o;
}

static void reply_error(struct bd_client *c, json_t *id, const char *error, const char *message)
{
    json_t *o = json_object();
    if (id != NULL)
        json_object_set(o, "id", id);
    json_object_set_new(o, "ok", json_false());
    json_object_set_new(o, "error", json_string(error));
    json_object_set_new(o, "message", json_string(message));
    send_json(c, o);
}

static void reply_baton_error(struct bd_client *c, json_t *id, int err)
{
    reply_error(c, id, proto_err_name(err), baton_strerror(err));
}

static void bad_request(struct bd_client *c, json_t *id, const char *message)
{
    atomic_fetch_add(&c->d->counters.bad_requests, 1);
    reply_error(c, id, "bad_request", message);
}

/* ---- request arguments --------------------------------------------------- */

/* The "name" field: 1..BATON_NAME_MAX bytes of UTF-8. */
static bool arg_name(struct bd_client *c, json_t *req, json_t *id, const char **p, size_t *n)
{
    json_t *v = json_object_get(req, "name");
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > BATON_NAME_MAX) {
        bad_request(c, id, "\"name\" must be a string of 1 to 255 bytes");
        return false;
    }
    *p = json_string_value(v);
    *n = json_string_length(v);
    if (memchr(*p, '\0', *n) != NULL) {
        bad_request(c, id, "\"name\" must not contain NUL");
        return false;
    }
    return true;
}

/* A uint64 given as a decimal string or a non-negative JSON integer. */
static bool arg_u64(json_t *v, uint64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return false;
        *out = (uint64_t)i;
        return true;
    }
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    if (*s < '0' || *s > '9' || json_string_length(v) > 20)
        return false;
    errno = 0;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = (uint64_t)x;
    return true;
}

static bool arg_key(struct bd_client *c, json_t *req, json_t *id, struct baton_key *key)
{
    json_t *v = json_object_get(req, "key");
    if (!json_is_string(v)) {
        bad_request(c, id, "\"key\" must be a string (a base64 key from `baton keygen`)");
        return false;
    }
    if (baton_key_decode(json_string_value(v), key) != 0) {
        reply_error(c, id, "invalid_argument", "not a key: 32 bytes in base64 expected");
        return false;
    }
    return true;
}

static json_t *fence_fields(json_t *o, const struct baton_fence *f)
{
    json_object_set_new(o, "fence", bd_json_token(f->token));
    if (f->minter[0] != '\0')
        json_object_set_new(o, "minter", json_string(f->minter));
    return o;
}

/* ---- the requests --------------------------------------------------------- */

static void op_hello(struct bd_client *c, json_t *req, json_t *id)
{
    (void)req;
    json_t *o = reply_ok(id);
    json_object_set_new(o, "node", json_string(c->d->node_name));
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", BATON_VERSION_MAJOR, BATON_VERSION_MINOR,
             BATON_VERSION_PATCH);
    json_object_set_new(o, "version", json_string(v));
    json_object_set_new(o, "protocol", json_integer(BATON_PROTO_VERSION));
    json_object_set_new(o, "session", bd_json_token(c->session));
    send_json(c, o);
}

static void op_lead(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    json_int_t prio = 0;
    json_t *pv = json_object_get(req, "priority");
    if (pv != NULL) {
        if (!json_is_integer(pv)) {
            bad_request(c, id, "\"priority\" must be an integer");
            return;
        }
        prio = json_integer_value(pv);
    }
    if (c->nnames == c->capnames) {
        size_t cap = c->capnames ? 2 * c->capnames : 4;
        struct baton_name *nn = realloc(c->names, cap * sizeof *nn);
        if (nn == NULL) {
            reply_baton_error(c, id, BATON_ENOMEM);
            return;
        }
        c->names = nn;
        c->capnames = cap;
    }
    struct baton_fence f;
    memset(&f, 0, sizeof f);
    int rc = baton_lead(c->d->node, c->session, name, len, (int64_t)prio, &f);
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    struct baton_name *slot = &c->names[c->nnames++];
    slot->len = len;
    memcpy(slot->bytes, name, len);
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    if (rc == 1) {
        json_object_set_new(o, "role", json_string("leader"));
        fence_fields(o, &f);
        bd_info("client %" PRIu64 ": leads %.*s, fence %" PRIu64, c->id, (int)len, name, f.token);
    } else {
        json_object_set_new(o, "role", json_string("follower"));
        bd_info("client %" PRIu64 ": campaigns for %.*s, follower", c->id, (int)len, name);
    }
    send_json(c, o);
}

static void op_resign(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    ssize_t i = find_name(c, name, len);
    if (i < 0) {
        reply_error(c, id, "not_candidate", "this session does not campaign for that name");
        return;
    }
    c->names[i] = c->names[--c->nnames];
    int rc = baton_resign(c->d->node, name, len);
    if (rc < 0 && rc != BATON_ENOENT) {
        reply_baton_error(c, id, rc);
        return;
    }
    bd_info("client %" PRIu64 ": resigned %.*s", c->id, (int)len, name);
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    send_json(c, o);
}

static json_t *leader_fields(json_t *o, const struct baton_leader *l)
{
    json_object_set_new(o, "node", json_string(l->node));
    json_object_set_new(o, "candidate", bd_json_token(l->candidate_id));
    return o;
}

static void op_leader(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    struct baton_leader l;
    int rc = baton_leader(c->d->node, name, len, &l);
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    send_json(c, leader_fields(o, &l));
}

static void op_is_leader(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    int rc = baton_is_leader(c->d->node, name, len);
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    json_object_set_new(o, "leader", json_boolean(rc == 1));
    send_json(c, o);
}

static void op_fence(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    struct baton_fence f;
    int rc = baton_fence(c->d->node, name, len, &f);
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    send_json(c, fence_fields(o, &f));
}

static void op_high_water(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    struct baton_fence f;
    int rc = baton_high_water(c->d->node, name, len, &f);
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    json_object_set_new(o, "token", bd_json_token(f.token));
    if (f.minter[0] != '\0')
        json_object_set_new(o, "minter", json_string(f.minter));
    send_json(c, o);
}

static void op_observe_fence(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    uint64_t token;
    if (!arg_u64(json_object_get(req, "token"), &token)) {
        bad_request(c, id, "\"token\" must be a decimal string (or a non-negative integer)");
        return;
    }
    /* The mark's minter, if the resource knows it: "<node>#<boot hex>". */
    json_t *jm = json_object_get(req, "minter");
    int rc;
    if (jm && !json_is_null(jm)) {
        struct baton_fence mark;
        memset(&mark, 0, sizeof mark);
        mark.token = token;
        size_t mlen = json_is_string(jm) ? json_string_length(jm) : 0;
        if (mlen == 0 || mlen > BATON_MINTER_MAX || strlen(json_string_value(jm)) != mlen) {
            bad_request(c, id, "\"minter\" must be a string \"<node>#<boot as 16 hex digits>\"");
            return;
        }
        memcpy(mark.minter, json_string_value(jm), mlen);
        rc = baton_observe_mark(c->d->node, name, len, &mark);
        if (rc == BATON_EINVAL) {
            bad_request(c, id, "\"minter\" must be a string \"<node>#<boot as 16 hex digits>\"");
            return;
        }
    } else {
        rc = baton_observe_fence(c->d->node, name, len, token);
    }
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    send_json(c, o);
}

static void op_candidates(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    size_t cap = 16;
    char(*out)[BATON_NODE_MAX + 1] = NULL;
    int n;
    for (;;) {
        void *p = realloc(out, cap * sizeof *out);
        if (p == NULL) {
            free(out);
            reply_baton_error(c, id, BATON_ENOMEM);
            return;
        }
        out = p;
        n = baton_candidates(c->d->node, name, len, out, cap);
        if (n < 0 || (size_t)n <= cap)
            break;
        cap = (size_t)n;
    }
    if (n < 0) {
        free(out);
        reply_baton_error(c, id, n);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_string(out[i]));
    free(out);
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    json_object_set_new(o, "candidates", arr);
    send_json(c, o);
}

/* Every name the node knows, in *out (caller frees); returns the count or
 * a negative error. */
static int all_names(struct batond *d, struct baton_name **out)
{
    size_t cap = 64;
    struct baton_name *v = NULL;
    int n;
    for (;;) {
        void *p = realloc(v, cap * sizeof *v);
        if (p == NULL) {
            free(v);
            return BATON_ENOMEM;
        }
        v = p;
        n = baton_names(d->node, v, cap);
        if (n < 0 || (size_t)n <= cap)
            break;
        cap = (size_t)n;
    }
    if (n < 0) {
        free(v);
        return n;
    }
    *out = v;
    return n;
}

static int cmp_name(const void *a, const void *b)
{
    const struct baton_name *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->bytes, y->bytes, n);
    if (r != 0)
        return r;
    return (x->len > y->len) - (x->len < y->len);
}

static void op_names(struct bd_client *c, json_t *req, json_t *id)
{
    (void)req;
    struct baton_name *v = NULL;
    int n = all_names(c->d, &v);
    if (n < 0) {
        reply_baton_error(c, id, n);
        return;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_name);
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *s = bd_json_bytes(v[i].bytes, v[i].len);
        if (s != NULL) /* names that are not UTF-8 (embedders' bytes) are left out */
            json_array_append_new(arr, s);
    }
    free(v);
    json_t *o = reply_ok(id);
    json_object_set_new(o, "names", arr);
    send_json(c, o);
}

static const char *state_name(enum baton_member_state s)
{
    switch (s) {
    case BATON_MEMBER_ALIVE: return "alive";
    case BATON_MEMBER_SUSPECT: return "suspect";
    case BATON_MEMBER_DEAD: return "dead";
    case BATON_MEMBER_LEFT: return "left";
    }
    return "unknown";
}

static void op_members(struct bd_client *c, json_t *req, json_t *id)
{
    (void)req;
    size_t cap = 64;
    struct baton_member *v = NULL;
    int n;
    for (;;) {
        void *p = realloc(v, cap * sizeof *v);
        if (p == NULL) {
            free(v);
            reply_baton_error(c, id, BATON_ENOMEM);
            return;
        }
        v = p;
        n = baton_members(c->d->node, v, cap);
        if (n < 0 || (size_t)n <= cap)
            break;
        cap = (size_t)n;
    }
    if (n < 0) {
        free(v);
        reply_baton_error(c, id, n);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        json_t *m = json_object();
        json_object_set_new(m, "name", json_string(v[i].name));
        json_object_set_new(m, "address", json_string(v[i].addr));
        json_object_set_new(m, "state", json_string(state_name(v[i].state)));
        json_object_set_new(m, "incarnation", json_integer(v[i].incarnation));
        json_object_set_new(m, "boot_id", bd_json_token(v[i].boot_id));
        json_array_append_new(arr, m);
    }
    free(v);
    json_t *o = reply_ok(id);
    json_object_set_new(o, "members", arr);
    send_json(c, o);
}

#define U(x) json_integer((json_int_t)(x))

static void op_status(struct bd_client *c, json_t *req, json_t *id)
{
    (void)req;
    struct batond *d = c->d;
    struct baton_status s;
    int rc = baton_status(d->node, &s);
    if (rc < 0) {
        reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "node", json_string(s.name));
    json_object_set_new(o, "address", json_string(s.addr));
    json_object_set_new(o, "boot_id", bd_json_token(s.boot_id));
    json_object_set_new(o, "uptime_ms", U(s.uptime_ms));
    json_object_set_new(o, "profile", json_string(bd_profile_name(d->cfg.profile)));
    json_object_set_new(o, "encrypted", json_boolean(s.encrypted));
    json_object_set_new(o, "keys", U(s.keys));
    json_object_set_new(o, "clock_refused", json_boolean(s.clock_refused));
    json_object_set_new(o, "clock_ahead_ms", json_integer((json_int_t)s.clock_ahead_ms));
    json_object_set_new(o, "leaving", json_boolean(s.leaving));
    json_object_set_new(o, "health", U(s.health));

    json_t *m = json_object();
    json_object_set_new(m, "alive", U(s.members_alive));
    json_object_set_new(m, "suspect", U(s.members_suspect));
    json_object_set_new(m, "dead", U(s.members_dead));
    json_object_set_new(m, "left", U(s.members_left));
    json_object_set_new(o, "members", m);

    /* The names this node leads, with their tokens. */
    json_t *led = json_array();
    struct baton_name *v = NULL;
    int n = all_names(d, &v);
    if (n > 0) {
        qsort(v, (size_t)n, sizeof *v, cmp_name);
        for (int i = 0; i < n; i++) {
            struct baton_fence f;
            if (baton_fence(d->node, v[i].bytes, v[i].len, &f) != 0)
                continue;
            json_t *name = bd_json_bytes(v[i].bytes, v[i].len);
            if (name == NULL)
                continue;
            json_t *e = json_object();
            json_object_set_new(e, "name", name);
            json_array_append_new(led, fence_fields(e, &f));
        }
    }
    free(v);
    json_object_set_new(o, "leading", led);

    json_t *k = json_object();
    json_object_set_new(k, "names", U(s.names));
    json_object_set_new(k, "candidacies", U(s.candidacies));
    json_object_set_new(k, "leaderships", U(s.leaderships));
    json_object_set_new(k, "terms_minted", U(s.terms_minted));
    json_object_set_new(k, "term_refreshes", U(s.term_refreshes));
    json_object_set_new(k, "elected", U(s.elected));
    json_object_set_new(k, "revoked", U(s.revoked));
    json_object_set_new(k, "packets_in", U(s.packets_in));
    json_object_set_new(k, "packets_out", U(s.packets_out));
    json_object_set_new(k, "bytes_in", U(s.bytes_in));
    json_object_set_new(k, "bytes_out", U(s.bytes_out));
    json_object_set_new(k, "frames_in", U(s.frames_in));
    json_object_set_new(k, "frames_out", U(s.frames_out));
    json_object_set_new(k, "conns_in", U(s.conns_in));
    json_object_set_new(k, "conns_out", U(s.conns_out));
    json_object_set_new(k, "probes", U(s.probes));
    json_object_set_new(k, "probes_failed", U(s.probes_failed));
    json_object_set_new(k, "suspicions", U(s.suspicions));
    json_object_set_new(k, "deaths_declared", U(s.deaths_declared));
    json_object_set_new(k, "refutations", U(s.refutations));
    json_object_set_new(k, "pushpulls", U(s.pushpulls));
    json_object_set_new(k, "pushpulls_failed", U(s.pushpulls_failed));
    json_object_set_new(k, "names_refused", U(s.names_refused));
    json_object_set_new(k, "max_names", U(s.max_names));
    json_object_set_new(k, "refusals_seen", U(s.refusals_seen));
    json_object_set_new(k, "refusals_used", U(s.refusals_used));
    json_object_set_new(k, "clock_refusals", U(s.refused_clock));
    json_object_set_new(k, "clock_withholds", U(s.clock_withholds));
    json_object_set_new(k, "clients", U(atomic_load(&d->counters.clients_open)));
    json_object_set_new(k, "client_requests", U(atomic_load(&d->counters.requests)));
    json_object_set_new(o, "counters", k);

    json_t *x = json_object();
    json_object_set_new(x, "auth_failed", U(s.auth_failed));
    json_object_set_new(x, "decode_failed", U(s.decode_failed));
    json_object_set_new(x, "oversize", U(s.oversize));
    json_object_set_new(x, "send_errors", U(s.send_errors));
    json_object_set_new(x, "conn_errors", U(s.conn_errors));
    json_object_set_new(x, "out_of_memory", U(s.dropped_oom));
    json_object_set_new(x, "clock_refusals", U(s.refused_clock));
    json_object_set_new(x, "client_bad_requests", U(atomic_load(&d->counters.bad_requests)));
    json_object_set_new(x, "client_long_lines", U(atomic_load(&d->counters.long_lines)));
    json_object_set_new(x, "client_slow", U(atomic_load(&d->counters.slow_clients)));
    json_object_set_new(o, "dropped", x);
    send_json(c, o);
}

static json_t *leader_event(const void *name, size_t len, const struct baton_leader *l)
{
    json_t *s = bd_json_bytes(name, len);
    if (s == NULL)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "event", json_string("leader"));
    json_object_set_new(o, "name", s);
    if (l != NULL)
        return leader_fields(o, l);
    json_object_set_new(o, "node", json_null());
    return o;
}

static void op_watch(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    if (find_watch(c, name, len) >= 0) {
        reply_error(c, id, "already_watching", "this session already watches that name");
        return;
    }
    if (c->nwatches == c->capwatches) {
        size_t cap = c->capwatches ? 2 * c->capwatches : 4;
        struct bd_watch *nw = realloc(c->watches, cap * sizeof *nw);
        if (nw == NULL) {
            reply_baton_error(c, id, BATON_ENOMEM);
            return;
        }
        c->watches = nw;
        c->capwatches = cap;
    }
    /* Events queued before this point are older than the answer below. */
    uint64_t since = bd_queue_seq(c->d);
    struct baton_leader l;
    int rc = baton_leader(c->d->node, name, len, &l);
    if (rc < 0 && rc != BATON_ENOLEADER) {
        reply_baton_error(c, id, rc);
        return;
    }
    struct bd_watch *w = &c->watches[c->nwatches++];
    memset(w, 0, sizeof *w);
    w->name.len = len;
    memcpy(w->name.bytes, name, len);
    w->since = since;
    w->sent = true;
    w->had_leader = rc == 0;
    if (rc == 0)
        w->last = l;
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    send_json(c, o);
    json_t *ev = leader_event(name, len, rc == 0 ? &l : NULL);
    atomic_fetch_add(&c->d->counters.events_out, 1);
    send_json(c, ev);
}

static void op_unwatch(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    ssize_t i = find_watch(c, name, len);
    if (i < 0) {
        reply_error(c, id, "not_watching", "this session does not watch that name");
        return;
    }
    c->watches[i] = c->watches[--c->nwatches];
    json_t *o = reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    send_json(c, o);
}

static bool has_keyring(struct bd_client *c, json_t *id)
{
    if (!c->d->cfg.insecure)
        return true;
    reply_error(c, id, "invalid_argument",
                "this node runs with --insecure-no-encryption: it has no keyring");
    return false;
}

static void op_keyring_list(struct bd_client *c, json_t *req, json_t *id)
{
    (void)req;
    if (!has_keyring(c, id))
        return;
    struct baton_key keys[BATON_KEYRING_MAX];
    int n = baton_keyring_list(c->d->node, keys, BATON_KEYRING_MAX);
    if (n < 0) {
        reply_baton_error(c, id, n);
        return;
    }
    if (n > BATON_KEYRING_MAX)
        n = BATON_KEYRING_MAX;
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char b64[BATON_KEY_B64_LEN + 1];
        if (baton_key_encode(&keys[i], b64) != 0)
            continue;
        json_t *k = json_object();
        json_object_set_new(k, "key", json_string(b64));
        json_object_set_new(k, "primary", json_boolean(i == 0));
        json_array_append_new(arr, k);
    }
    json_t *o = reply_ok(id);
    json_object_set_new(o, "keys", arr);
    send_json(c, o);
}

static void op_keyring_change(struct bd_client *c, json_t *req, json_t *id, const char *op)
{
    struct batond *d = c->d;
    if (!has_keyring(c, id))
        return;
    struct baton_key key;
    if (!arg_key(c, req, id, &key))
        return;
    int rc;
    if (!strcmp(op, "keyring_install"))
        rc = baton_keyring_install(d->node, &key);
    else if (!strcmp(op, "keyring_use"))
        rc = baton_keyring_use(d->node, &key);
    else
        rc = baton_keyring_remove(d->node, &key);
    if (rc < 0) {
        if (rc == BATON_ENOSPC)
            reply_error(c, id, "keyring_full", "the keyring holds the most keys it can");
        else if (rc == BATON_EINVAL && !strcmp(op, "keyring_remove"))
            reply_error(c, id, "primary_key",
                        "the primary key cannot be removed: use another first");
        else if (rc == BATON_ENOENT)
            reply_error(c, id, "not_found", "that key is not installed");
        else
            reply_baton_error(c, id, rc);
        return;
    }
    bd_info("client %" PRIu64 ": %s done", c->id, op);
    char err[256];
    if (bd_keyring_save(d, err, sizeof err) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "applied, but the keyring file was not updated: %s", err);
        bd_error("%s: %s", op, msg);
        reply_error(c, id, "io_error", msg);
        return;
    }
    send_json(c, reply_ok(id));
}

/* ---- dispatch ------------------------------------------------------------- */

static void handle_line(struct bd_client *c, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL || !json_is_object(req)) {
        json_decref(req);
        atomic_fetch_add(&c->d->counters.bad_requests, 1);
        reply_error(c, NULL, "bad_json", "each line must be one JSON object");
        return;
    }
    atomic_fetch_add(&c->d->counters.requests, 1);
    json_t *id = json_object_get(req, "id");
    json_t *opv = json_object_get(req, "op");
    if (!json_is_string(opv)) {
        bad_request(c, id, "\"op\" must be a string");
        json_decref(req);
        return;
    }
    const char *op = json_string_value(opv);
    static const struct {
        const char *op;
        void (*fn)(struct bd_client *, json_t *, json_t *);
    } ops[] = {
        {"hello", op_hello},
        {"lead", op_lead},
        {"resign", op_resign},
        {"leader", op_leader},
        {"is_leader", op_is_leader},
        {"fence", op_fence},
        {"candidates", op_candidates},
        {"high_water", op_high_water},
        {"observe_fence", op_observe_fence},
        {"names", op_names},
        {"members", op_members},
        {"status", op_status},
        {"watch", op_watch},
        {"unwatch", op_unwatch},
        {"keyring_list", op_keyring_list},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (!strcmp(op, ops[i].op)) {
            ops[i].fn(c, req, id);
            json_decref(req);
            return;
        }
    }
    if (!strcmp(op, "keyring_install") || !strcmp(op, "keyring_use") ||
        !strcmp(op, "keyring_remove")) {
        op_keyring_change(c, req, id, op);
        json_decref(req);
        return;
    }
    atomic_fetch_add(&c->d->counters.bad_requests, 1);
    reply_error(c, id, "unknown_op", "no such request");
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
            reply_error(c, NULL, "line_too_long", "a line longer than 65536 bytes; closing");
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
        reply_baton_error(c, NULL, rc);
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
        if (c == NULL || find_name(c, ev->name.bytes, ev->name.len) < 0)
            return;
        json_t *o = json_object();
        json_object_set_new(o, "event",
                            json_string(ev->kind == BD_EV_ELECTED ? "elected" : "revoked"));
        json_object_set_new(o, "name", json_stringn((const char *)ev->name.bytes, ev->name.len));
        fence_fields(o, &ev->fence);
        atomic_fetch_add(&d->counters.events_out, 1);
        send_json(c, o);
        return;
    }
    case BD_EV_LEADER: {
        struct bd_client *next;
        for (struct bd_client *c = d->clients; c != NULL; c = next) {
            next = c->next;
            ssize_t i = find_watch(c, ev->name.bytes, ev->name.len);
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
                leader_event(ev->name.bytes, ev->name.len, ev->has_leader ? &ev->leader : NULL);
            if (o != NULL) {
                atomic_fetch_add(&d->counters.events_out, 1);
                send_json(c, o);
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
            send_json(c, o);
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
            send_json(c, o);
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
