/*
 * The CLI's connection to batond: JSON lines over the Unix socket, on a
 * libuv loop (docs/protocol.md). Requests go out with conn_send(); every
 * message that comes back (reply or event) is handed to on_message, in
 * order; on_close reports the end of the connection.
 */
#ifndef BATON_CLI_CONN_H
#define BATON_CLI_CONN_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

struct conn;

struct conn_handlers {
    void *ctx;
    /* Connected: 0, or a negative libuv error (then on_close is not called
     * and the conn is freed by conn_close()). */
    void (*on_connect)(struct conn *c, int status, void *ctx);
    /* One message from the daemon, borrowed for the call. */
    void (*on_message)(struct conn *c, json_t *msg, void *ctx);
    /* The daemon closed the connection (status UV_EOF), or reading failed
     * (a negative libuv error), or it sent a line that is not a JSON object
     * (UV_EPROTO). No message follows. */
    void (*on_close)(struct conn *c, int status, void *ctx);
};

/* Starts connecting to the socket at path. Returns NULL on out of memory. */
struct conn *conn_open(uv_loop_t *loop, const char *path, const struct conn_handlers *h);

/* Sends obj as one line; obj is not consumed. Returns 0 or a negative libuv
 * error. */
int conn_send(struct conn *c, json_t *obj);

/* Closes the connection (the daemon then ends the session) and frees c once
 * libuv is done with it. No handler is called afterwards. */
void conn_close(struct conn *c);

/* One request, one reply: connects, sends req, runs the loop until the reply
 * (the first message with "ok") arrives, and returns it (new reference).
 * On failure returns NULL and writes a message to stderr prefixed by `what`.
 * Used by the commands that ask one question. */
json_t *conn_call(const char *path, json_t *req, const char *what);

#endif
