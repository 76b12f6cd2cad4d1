/* Shared pieces of the client protocol; see proto.h and docs/protocol.md. */
#include "daemon/proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton/baton.h"

int proto_default_socket(char *buf, size_t cap, const char **why)
{
    int n;
    if (geteuid() == 0) {
        n = snprintf(buf, cap, "/run/baton/baton.sock");
    } else {
        const char *dir = getenv("XDG_RUNTIME_DIR");
        if (dir == NULL || dir[0] == '\0') {
            *why = "XDG_RUNTIME_DIR is not set: give --socket PATH (or BATON_SOCKET)";
            return -1;
        }
        n = snprintf(buf, cap, "%s/baton.sock", dir);
    }
    if (n < 0 || (size_t)n >= cap) {
        *why = "the socket path is too long";
        return -1;
    }
    return 0;
}

int proto_socket_path(const char *given, bool use_env, char *buf, size_t cap, const char **why)
{
    if (given == NULL && use_env) {
        const char *env = getenv("BATON_SOCKET");
        if (env != NULL && env[0] != '\0')
            given = env;
    }
    if (given == NULL)
        return proto_default_socket(buf, cap, why);
    if (given[0] == '\0') {
        *why = "the socket path is empty";
        return -1;
    }
    size_t n = strlen(given);
    if (n >= cap) {
        *why = "the socket path is too long";
        return -1;
    }
    memcpy(buf, given, n + 1);
    return 0;
}

const char *proto_err_name(int err)
{
    switch (err) {
    case BATON_EINVAL: return "invalid_argument";
    case BATON_ENOMEM: return "no_memory";
    case BATON_EALREADY: return "already_candidate";
    case BATON_ENOTLEADER: return "not_leader";
    case BATON_ENOLEADER: return "no_leader";
    case BATON_ENOENT: return "not_found";
    case BATON_ECLOCK: return "clock_ahead";
    case BATON_E2BIG: return "too_big";
    case BATON_ECLOSED: return "closed";
    case BATON_ECONFLICT: return "name_conflict";
    case BATON_EIO: return "io_error";
    case BATON_EBUSY: return "busy";
    case -19: return "clock_skew"; /* BATON_ESKEW, landing on another branch */
    case BATON_ELIMIT: return "limit";
    default: return "internal";
    }
}

void linebuf_init(struct linebuf *lb, size_t max)
{
    memset(lb, 0, sizeof *lb);
    lb->max = max;
}

void linebuf_free(struct linebuf *lb)
{
    free(lb->buf);
    memset(lb, 0, sizeof *lb);
}

int linebuf_feed(struct linebuf *lb, const char *p, size_t n)
{
    if (lb->overflow)
        return -1;
    /* Drop what was already returned before growing. */
    if (lb->start > 0) {
        memmove(lb->buf, lb->buf + lb->start, lb->len - lb->start);
        lb->len -= lb->start;
        lb->start = 0;
    }
    if (lb->len + n + 1 > lb->cap) {
        size_t cap = lb->cap ? lb->cap : 4096;
        while (cap < lb->len + n + 1)
            cap *= 2;
        char *nb = realloc(lb->buf, cap);
        if (nb == NULL)
            return -1;
        lb->buf = nb;
        lb->cap = cap;
    }
    memcpy(lb->buf + lb->len, p, n);
    lb->len += n;
    /* The pending (unterminated) line must stay within max. */
    if (lb->max > 0) {
        const char *nl = memchr(lb->buf, '\n', lb->len);
        size_t from = 0;
        while (nl != NULL) {
            size_t line = (size_t)(nl - (lb->buf + from)) + 1;
            if (line > lb->max)
                goto over;
            from += line;
            nl = memchr(lb->buf + from, '\n', lb->len - from);
        }
        if (lb->len - from >= lb->max)
            goto over;
    }
    return 0;
over:
    lb->overflow = true;
    free(lb->buf);
    lb->buf = NULL;
    lb->len = lb->cap = lb->start = 0;
    return -1;
}

char *linebuf_next(struct linebuf *lb, size_t *n)
{
    if (lb->buf == NULL || lb->start >= lb->len)
        return NULL;
    char *s = lb->buf + lb->start;
    char *nl = memchr(s, '\n', lb->len - lb->start);
    if (nl == NULL)
        return NULL;
    size_t len = (size_t)(nl - s);
    lb->start += len + 1;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    s[len] = '\0';
    *n = len;
    return s;
}
