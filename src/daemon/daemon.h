/*
 * batond's parts and how they meet.
 *
 * Threads: the daemon's own libuv loop (main thread) owns the client socket,
 * the sessions and the signals; the library runs the node on its loop
 * thread and calls our callbacks there; libmicrohttpd answers /metrics on a
 * thread of its own. Callbacks only queue an event (struct bd_event) and
 * wake the main loop (uv_async), which delivers it to the clients; the
 * metrics thread only calls the library's thread-safe baton_status() and
 * reads the atomic counters below.
 */
#ifndef BATON_DAEMON_DAEMON_H
#define BATON_DAEMON_DAEMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "baton/baton.h"
#include "daemon/config.h"

/* What the library's callbacks report, queued for the main loop. */
enum bd_event_kind {
    BD_EV_ELECTED,
    BD_EV_REVOKED,
    BD_EV_LEADER,  /* the winner of a name changed (has_leader false: none) */
    BD_EV_CLOCK,   /* refused: the cluster refuses, or accepts again, our clock */
    BD_EV_STOPPED, /* the node stopped by itself; err says why */
};

struct bd_event {
    struct bd_event *next;
    uint64_t seq; /* queue order, from 1 */
    enum bd_event_kind kind;
    uint64_t session;
    struct baton_name name;
    struct baton_fence fence;
    bool has_leader;
    struct baton_leader leader;
    bool refused;
    int err;
};

/* Counters of the daemon's own (the library counts the rest). */
struct bd_counters {
    atomic_uint_fast64_t clients_accepted; /* client connections accepted */
    atomic_uint_fast64_t clients_open;     /* gauge: client connections open */
    atomic_uint_fast64_t requests;         /* requests answered */
    atomic_uint_fast64_t bad_requests;     /* lines refused: bad_json, bad_request, unknown_op */
    atomic_uint_fast64_t long_lines;       /* connections closed for a line over the limit */
    atomic_uint_fast64_t slow_clients;     /* connections closed for not reading their events */
    atomic_uint_fast64_t events_out;       /* events pushed to clients */
    atomic_uint_fast64_t keyring_reloads;  /* SIGHUP reloads that succeeded */
};

struct bd_client;
struct bd_metrics;

struct batond {
    struct bd_config cfg;
    uv_loop_t *loop;
    baton_node *node;
    char node_name[BATON_NODE_MAX + 1];

    uv_pipe_t server;
    bool server_open;    /* the handle is initialised */
    bool socket_created; /* we made the socket file: remove it at the end */
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_async_t wake;
    uv_timer_t stop_timer;

    pthread_mutex_t qlock; /* guards the queue below */
    struct bd_event *qhead, *qtail;
    uint64_t qseq;     /* seq of the last event queued */
    uint64_t qdropped; /* events lost to out of memory (under qlock) */

    struct bd_client *clients; /* doubly linked */
    struct bd_metrics *metrics;
    struct bd_counters counters;

    bool stopping; /* shutdown under way */
    int exit_code;
};

/* ---- server.c: the client socket (requests.c answers the requests) ------ */

/* Creates the socket (mode 0600; a stale one left by a dead daemon is
 * replaced, a live one refuses) and starts accepting. Returns 0 or -1
 * (logged). */
int bd_server_start(struct batond *d);
/* Stops accepting, closes every client connection and removes the socket
 * file. */
void bd_server_stop(struct batond *d);
/* Delivers one event from the library to the clients it concerns. */
void bd_server_deliver(struct batond *d, const struct bd_event *ev);
/* The seq of the last event queued (for watches: events up to it are
 * already reflected in what the library answers now). */
uint64_t bd_queue_seq(struct batond *d);

/* ---- keyring.c: the keyring file ----------------------------------------- */

/* Reads the keyring file at path: one base64 key per line, the first the
 * primary; blank lines and lines starting with # are ignored. Fills up to
 * cap keys into out and returns how many, or -1 with a message in err
 * (errcap bytes). */
int bd_keyring_read(const char *path, struct baton_key *out, size_t cap, char *err, size_t errcap);
/* Makes the node's keyring what the file says (install what is new, use
 * the file's primary, remove what the file no longer has). Returns 0 or -1
 * (logged); on error the keyring may be partly updated but keeps at least
 * the keys it had or the file's. */
int bd_keyring_reload(struct batond *d);
/* Writes the node's current keyring to the keyring file (atomically, mode
 * 0600). Returns 0 or -1 with a message in err. A no-op without --keyring. */
int bd_keyring_save(struct batond *d, char *err, size_t errcap);

/* ---- metrics.c: Prometheus text over libmicrohttpd ----------------------- */

/* Serves /metrics at HOST:PORT (numeric). Returns NULL (logged) on error. */
struct bd_metrics *bd_metrics_start(struct batond *d, const char *hostport);
void bd_metrics_stop(struct bd_metrics *m);

/* ---- helpers ----------------------------------------------------------- */

/* Splits "host:port" or "[v6]:port" into host (hostcap bytes) and port.
 * Returns 0 or -1. */
int bd_split_hostport(const char *s, char *host, size_t hostcap, uint16_t *port);
/* A JSON string of n bytes, or NULL if they are not UTF-8 (or contain NUL). */
json_t *bd_json_bytes(const void *p, size_t n);
/* A token as the protocol carries it: a decimal string. */
json_t *bd_json_token(uint64_t token);

/* Begins the shutdown (signal, or the node stopped): leave, then exit. */
void bd_shutdown(struct batond *d, bool leave, int exit_code);

#endif
