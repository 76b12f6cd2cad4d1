/*
 * What batond and the baton CLI share about the client protocol
 * (docs/protocol.md): the default socket path, the wire names of errors,
 * and a line splitter for JSON lines.
 */
#ifndef BATON_DAEMON_PROTO_H
#define BATON_DAEMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>

/* The protocol version a hello reply reports. */
#define BATON_PROTO_VERSION 1

/* The longest line a client may send, newline included. A longer one is
 * answered with line_too_long and the connection is closed. */
#define BATON_PROTO_LINE_MAX 65536

/* The default client socket: /run/baton/baton.sock for root (whatever
 * XDG_RUNTIME_DIR says, so that a login shell and a system service agree),
 * otherwise $XDG_RUNTIME_DIR/baton.sock. Writes it into buf (cap bytes) and
 * returns 0; returns -1 with *why set to a static explanation when there is
 * no default (an unprivileged user without XDG_RUNTIME_DIR) or it does not
 * fit. */
int proto_default_socket(char *buf, size_t cap, const char **why);

/* The socket to use: `given` if not NULL, else $BATON_SOCKET if set and
 * non-empty (only when use_env), else the default. Same return as above. */
int proto_socket_path(const char *given, bool use_env, char *buf, size_t cap, const char **why);

/* The protocol's name for a baton error code (BATON_E*), e.g.
 * "already_candidate" for BATON_EALREADY; "internal" for codes it does not
 * know. Never NULL; a static string. */
const char *proto_err_name(int err);

/* Splits a byte stream into lines. Bytes go in with linebuf_feed(); complete
 * lines come out of linebuf_next(). A line longer than `max` bytes
 * (newline included) sets `overflow`, after which nothing more is kept. */
struct linebuf {
    char *buf;     /* owned; the bytes not yet returned */
    size_t len;    /* bytes held */
    size_t cap;    /* allocated */
    size_t start;  /* where the next line starts */
    size_t max;    /* 0: no limit */
    bool overflow; /* a line exceeded max */
};

void linebuf_init(struct linebuf *lb, size_t max);
void linebuf_free(struct linebuf *lb);
/* Appends n bytes. Returns 0, or -1 on out of memory or overflow (then
 * lb->overflow tells which). */
int linebuf_feed(struct linebuf *lb, const char *p, size_t n);
/* The next complete line, without its newline (and without a "\r" before
 * it), NUL-terminated in place; *n gets its length. NULL when no complete
 * line is held. The pointer is valid until the next feed. */
char *linebuf_next(struct linebuf *lb, size_t *n);

#endif
