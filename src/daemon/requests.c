/*
 * batond's requests (docs/protocol.md, request by request): each checks its
 * arguments, asks the library and answers on the client's connection
 * (server.c owns the connection and the writing).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/proto.h"

/* ---- request arguments --------------------------------------------------- */

/* The "name" field: 1..BATON_NAME_MAX bytes of UTF-8. */
static bool arg_name(struct bd_client *c, json_t *req, json_t *id, const char **p, size_t *n)
{
    json_t *v = json_object_get(req, "name");
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > BATON_NAME_MAX) {
        bd_bad_request(c, id, "\"name\" must be a string of 1 to 255 bytes");
        return false;
    }
    *p = json_string_value(v);
    *n = json_string_length(v);
    if (memchr(*p, '\0', *n) != NULL) {
        bd_bad_request(c, id, "\"name\" must not contain NUL");
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
        bd_bad_request(c, id, "\"key\" must be a string (a base64 key from `baton keygen`)");
        return false;
    }
    if (baton_key_decode(json_string_value(v), key) != 0) {
        bd_reply_error(c, id, "invalid_argument", "not a key: 32 bytes in base64 expected");
        return false;
    }
    return true;
}

json_t *bd_fence_fields(json_t *o, const struct baton_fence *f)
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
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "node", json_string(c->d->node_name));
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", BATON_VERSION_MAJOR, BATON_VERSION_MINOR,
             BATON_VERSION_PATCH);
    json_object_set_new(o, "version", json_string(v));
    json_object_set_new(o, "protocol", json_integer(BATON_PROTO_VERSION));
    json_object_set_new(o, "session", bd_json_token(c->session));
    bd_send_json(c, o);
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
            bd_bad_request(c, id, "\"priority\" must be an integer");
            return;
        }
        prio = json_integer_value(pv);
    }
    if (c->nnames == c->capnames) {
        size_t cap = c->capnames ? 2 * c->capnames : 4;
        struct baton_name *nn = realloc(c->names, cap * sizeof *nn);
        if (nn == NULL) {
            bd_reply_baton_error(c, id, BATON_ENOMEM);
            return;
        }
        c->names = nn;
        c->capnames = cap;
    }
    struct baton_fence f;
    memset(&f, 0, sizeof f);
    int rc = baton_lead(c->d->node, c->session, name, len, (int64_t)prio, &f);
    if (rc < 0) {
        bd_reply_baton_error(c, id, rc);
        return;
    }
    struct baton_name *slot = &c->names[c->nnames++];
    slot->len = len;
    memcpy(slot->bytes, name, len);
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    if (rc == 1) {
        json_object_set_new(o, "role", json_string("leader"));
        bd_fence_fields(o, &f);
        bd_info("client %" PRIu64 ": leads %.*s, fence %" PRIu64, c->id, (int)len, name, f.token);
    } else {
        json_object_set_new(o, "role", json_string("follower"));
        bd_info("client %" PRIu64 ": campaigns for %.*s, follower", c->id, (int)len, name);
    }
    bd_send_json(c, o);
}

static void op_resign(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    ssize_t i = bd_find_name(c, name, len);
    if (i < 0) {
        bd_reply_error(c, id, "not_candidate", "this session does not campaign for that name");
        return;
    }
    c->names[i] = c->names[--c->nnames];
    int rc = baton_resign(c->d->node, name, len);
    if (rc < 0 && rc != BATON_ENOENT) {
        bd_reply_baton_error(c, id, rc);
        return;
    }
    bd_info("client %" PRIu64 ": resigned %.*s", c->id, (int)len, name);
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    bd_send_json(c, o);
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
        bd_reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    bd_send_json(c, leader_fields(o, &l));
}

static void op_is_leader(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    int rc = baton_is_leader(c->d->node, name, len);
    if (rc < 0) {
        bd_reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    json_object_set_new(o, "leader", json_boolean(rc == 1));
    bd_send_json(c, o);
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
        bd_reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    bd_send_json(c, bd_fence_fields(o, &f));
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
        bd_reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    json_object_set_new(o, "token", bd_json_token(f.token));
    if (f.minter[0] != '\0')
        json_object_set_new(o, "minter", json_string(f.minter));
    bd_send_json(c, o);
}

static void op_observe_fence(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    uint64_t token;
    if (!arg_u64(json_object_get(req, "token"), &token)) {
        bd_bad_request(c, id, "\"token\" must be a decimal string (or a non-negative integer)");
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
            bd_bad_request(c, id, "\"minter\" must be a string \"<node>#<boot as 16 hex digits>\"");
            return;
        }
        memcpy(mark.minter, json_string_value(jm), mlen);
        rc = baton_observe_mark(c->d->node, name, len, &mark);
        if (rc == BATON_EINVAL) {
            bd_bad_request(c, id, "\"minter\" must be a string \"<node>#<boot as 16 hex digits>\"");
            return;
        }
    } else {
        rc = baton_observe_fence(c->d->node, name, len, token);
    }
    if (rc < 0) {
        bd_reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    bd_send_json(c, o);
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
            bd_reply_baton_error(c, id, BATON_ENOMEM);
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
        bd_reply_baton_error(c, id, n);
        return;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(arr, json_string(out[i]));
    free(out);
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    json_object_set_new(o, "candidates", arr);
    bd_send_json(c, o);
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
        bd_reply_baton_error(c, id, n);
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
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "names", arr);
    bd_send_json(c, o);
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
            bd_reply_baton_error(c, id, BATON_ENOMEM);
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
        bd_reply_baton_error(c, id, n);
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
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "members", arr);
    bd_send_json(c, o);
}

#define U(x) json_integer((json_int_t)(x))

static void op_status(struct bd_client *c, json_t *req, json_t *id)
{
    (void)req;
    struct batond *d = c->d;
    struct baton_status s;
    int rc = baton_status(d->node, &s);
    if (rc < 0) {
        bd_reply_baton_error(c, id, rc);
        return;
    }
    json_t *o = bd_reply_ok(id);
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
            json_array_append_new(led, bd_fence_fields(e, &f));
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
    bd_send_json(c, o);
}

json_t *bd_leader_event(const void *name, size_t len, const struct baton_leader *l)
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
    if (bd_find_watch(c, name, len) >= 0) {
        bd_reply_error(c, id, "already_watching", "this session already watches that name");
        return;
    }
    if (c->nwatches == c->capwatches) {
        size_t cap = c->capwatches ? 2 * c->capwatches : 4;
        struct bd_watch *nw = realloc(c->watches, cap * sizeof *nw);
        if (nw == NULL) {
            bd_reply_baton_error(c, id, BATON_ENOMEM);
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
        bd_reply_baton_error(c, id, rc);
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
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    bd_send_json(c, o);
    json_t *ev = bd_leader_event(name, len, rc == 0 ? &l : NULL);
    atomic_fetch_add(&c->d->counters.events_out, 1);
    bd_send_json(c, ev);
}

static void op_unwatch(struct bd_client *c, json_t *req, json_t *id)
{
    const char *name;
    size_t len;
    if (!arg_name(c, req, id, &name, &len))
        return;
    ssize_t i = bd_find_watch(c, name, len);
    if (i < 0) {
        bd_reply_error(c, id, "not_watching", "this session does not watch that name");
        return;
    }
    c->watches[i] = c->watches[--c->nwatches];
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "name", json_stringn(name, len));
    bd_send_json(c, o);
}

static bool has_keyring(struct bd_client *c, json_t *id)
{
    if (!c->d->cfg.insecure)
        return true;
    bd_reply_error(c, id, "invalid_argument",
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
        bd_reply_baton_error(c, id, n);
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
    json_t *o = bd_reply_ok(id);
    json_object_set_new(o, "keys", arr);
    bd_send_json(c, o);
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
            bd_reply_error(c, id, "keyring_full", "the keyring holds the most keys it can");
        else if (rc == BATON_EINVAL && !strcmp(op, "keyring_remove"))
            bd_reply_error(c, id, "primary_key",
                           "the primary key cannot be removed: use another first");
        else if (rc == BATON_ENOENT)
            bd_reply_error(c, id, "not_found", "that key is not installed");
        else
            bd_reply_baton_error(c, id, rc);
        return;
    }
    bd_info("client %" PRIu64 ": %s done", c->id, op);
    char err[256];
    if (bd_keyring_save(d, err, sizeof err) != 0) {
        char msg[400];
        snprintf(msg, sizeof msg, "applied, but the keyring file was not updated: %s", err);
        bd_error("%s: %s", op, msg);
        bd_reply_error(c, id, "io_error", msg);
        return;
    }
    bd_send_json(c, bd_reply_ok(id));
}

/* ---- dispatch ------------------------------------------------------------- */

bool bd_request(struct bd_client *c, const char *op, json_t *req, json_t *id)
{
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
            return true;
        }
    }
    if (!strcmp(op, "keyring_install") || !strcmp(op, "keyring_use") ||
        !strcmp(op, "keyring_remove")) {
        op_keyring_change(c, req, id, op);
        return true;
    }
    return false;
}
