/*
 * batond's client connections, as server.c (the socket, reading, writing,
 * closing, events) and requests.c (the answers) share them. Internal to the
 * daemon.
 */
#ifndef BATON_DAEMON_CLIENT_H
#define BATON_DAEMON_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "baton/baton.h"
#include "daemon/proto.h"

struct batond;

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

/* ---- server.c ---------------------------------------------------------- */

/* The index of name p[0..n) in the session's names or watches; -1: none. */
ssize_t bd_find_name(const struct bd_client *c, const void *p, size_t n);
ssize_t bd_find_watch(const struct bd_client *c, const void *p, size_t n);

/* Sends obj (consumed) as one line; a client whose unread output passes
 * its limit, or a failed write, closes the connection. */
void bd_send_json(struct bd_client *c, json_t *obj);

/* A new {"ok":true} reply echoing id (NULL: none), for the caller to fill
 * and send. */
json_t *bd_reply_ok(json_t *id);

/* Sends {"ok":false,"error":error,"message":message} echoing id. */
void bd_reply_error(struct bd_client *c, json_t *id, const char *error, const char *message);

/* bd_reply_error with the library error err's name and message. */
void bd_reply_baton_error(struct bd_client *c, json_t *id, int err);

/* A bad_request error: counted, and answered with message. */
void bd_bad_request(struct bd_client *c, json_t *id, const char *message);

/* ---- requests.c --------------------------------------------------------- */

/* Answers the request req (a JSON object, borrowed) named op, echoing id.
 * Returns false when op names no request (nothing was sent). */
bool bd_request(struct bd_client *c, const char *op, json_t *req, json_t *id);

/* Adds a term's fields ("fence", "minter") to o; returns o. */
json_t *bd_fence_fields(json_t *o, const struct baton_fence *f);

/* A "leader" event for name[0..len): the leader l, or none (l NULL).
 * NULL if the name cannot be put in JSON. */
json_t *bd_leader_event(const void *name, size_t len, const struct baton_leader *l);

#endif
