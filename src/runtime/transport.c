/*
 * The transport: UDP datagrams for probes and gossip, TCP streams for
 * push-pull, everything sealed by keyring.h (frame.h for streams).
 *
 * Every libuv callback here runs on the loop thread; the ones that touch
 * the core or the counters take the node's mutex, feed the core, pump
 * (rt_pump), release the mutex and only then run user callbacks
 * (rt_dispatch). Connections belong to the loop thread alone.
 *
 * Connections. An output with conn 0 carries the core's stream id
 * (node.h, "Streams the core opens"): the first output with a new id
 * opens a TCP connection to its address, named by that id; its first
 * message is the HELLO (our advertised address), then the core's
 * message; later outputs with the same id (full-state continuations) go
 * on the same connection, and are dropped if it is gone. The acceptor
 * learns who speaks from the HELLO and refuses anything else first.
 * Replies go back on the same connection (the core names it by the id:
 * ours for accepted connections, its own for opened ones, which is also
 * the conn the reply is delivered with). Either side closes a connection
 * idle for RT_CONN_IDLE_MS, and the acceptor one without a HELLO after
 * RT_HELLO_MS; a failed connect, a read or write error, a chunk no key
 * opens or an oversize message closes it at once. Accepted and opened
 * connections have separate caps, so strangers filling the accepted ones
 * cannot stop this node's own push-pulls.
 *
 * Stream lifecycle. What becomes of an opened connection is reported to
 * the core (bt_node_stream_event), under mu, before the outputs it causes
 * are pumped: CONNECTED when the connect succeeds; then exactly one of
 * FAILED (a failed connect or write, a read error, bytes no key opens:
 * the errno value as reason, EPROTO for authentication and framing,
 * EMSGSIZE for an oversize message, ENOBUFS when the opened connections
 * are at their cap), CLOSED (end of stream, or idle) or TIMEOUT
 * (ETIMEDOUT: no connect within RT_CONNECT_MS, or no reply within
 * RT_REPLY_MS of the last progress). The core acts on it at once (a join
 * tries its seeds again, a failed push-pull goes elsewhere) instead of
 * waiting for its timers. Accepted connections are not reported: the
 * core started nothing on them.
 *
 * Refusals. A process that crashed on a host that stays up leaves its port
 * refusing: a datagram sent there comes back as an ICMP port unreachable,
 * a connect as ECONNREFUSED. Both go to the core (bt_node_addr_refused),
 * which may take them as evidence of the crash (docs/membership.md); a
 * refused connect is then also the stream's FAILED. An unconnected UDP
 * socket hears ICMP errors only with IP_RECVERR (UV_UDP_LINUX_RECVERR,
 * Linux): each arrives on the socket's error queue with the destination of
 * the refused datagram, and sets a pending error that the next receive (or
 * send) returns once. So every wake-up of the UDP socket without a datagram
 * drains the error queue (the queue keeps the socket readable until it is
 * empty), and a send that fails with the pending ECONNREFUSED is tried
 * again once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <time.h> /* linux/errqueue.h uses struct timespec */
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

#include "runtime/rt.h"

struct rt_wreq;

struct rt_conn {
    uv_tcp_t tcp;
    struct baton_node *node;
    uint64_t id;
    bool outbound;
    bool connected;
    bool hello_ok;       /* inbound: the HELLO arrived */
    bool answered;       /* outbound: a message (the reply) arrived */
    bool reported;       /* outbound: CLOSED, FAILED or TIMEOUT went to the core */
    struct bt_addr peer; /* outbound: where we connect; inbound: the HELLO's */
    struct bt_frame_rx rx;
    uint64_t tx_seq;
    uint64_t last_active;    /* monotonic ms */
    uint64_t created;        /* monotonic ms */
    struct rt_wreq *pending; /* messages waiting for the connect, in order */
    struct rt_wreq **pending_tail;
    uv_connect_t creq;
    struct rt_conn *next, **pprev; /* node->conns list; pprev NULL once unlinked */
};

/* One message being written: the sealed chunks' heads and tails and the
 * buffer list, in one allocation with the request. */
struct rt_wreq {
    uv_write_t req;
    struct rt_conn *conn;
    uint8_t *owned; /* the message bytes, sealed in place */
    uv_buf_t *bufs;
    unsigned nbufs;
    struct rt_wreq *next;
};

/* ---- addresses ------------------------------------------------------------ */

int rt_parse_addr(const char *s, size_t len, struct sockaddr_storage *sa)
{
    char host[BT_ADDR_MAX + 1];
    memset(sa, 0, sizeof *sa);
    if (s == NULL || len == 0 || len > BT_ADDR_MAX)
        return BATON_EINVAL;
    const char *colon;
    size_t hlen;
    const char *port;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close + 1 >= s + len || close[1] != ':')
            return BATON_EINVAL;
        hlen = (size_t)(close - s - 1);
        memcpy(host, s + 1, hlen);
        port = close + 2;
    } else {
        colon = NULL;
        for (size_t i = 0; i < len; i++)
            if (s[i] == ':')
                colon = s + i;
        if (!colon)
            return BATON_EINVAL;
        hlen = (size_t)(colon - s);
        memcpy(host, s, hlen);
        port = colon + 1;
    }
    host[hlen] = '\0';
    size_t plen = (size_t)(s + len - port);
    if (plen == 0 || plen > 5)
        return BATON_EINVAL;
    unsigned p = 0;
    for (size_t i = 0; i < plen; i++) {
        if (port[i] < '0' || port[i] > '9')
            return BATON_EINVAL;
        p = p * 10 + (unsigned)(port[i] - '0');
    }
    if (p > 65535)
        return BATON_EINVAL;
    if (s[0] == '[') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return BATON_EINVAL;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return BATON_EINVAL;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
    }
    return 0;
}

void rt_format_addr(const struct sockaddr *sa, struct bt_addr *out)
{
    char host[INET6_ADDRSTRLEN];
    memset(out, 0, sizeof *out);
    int n;
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
        n = snprintf(out->s, sizeof out->s, "[%s]:%u", host, (unsigned)ntohs(a6->sin6_port));
    } else {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
        n = snprintf(out->s, sizeof out->s, "%s:%u", host, (unsigned)ntohs(a4->sin_port));
    }
    out->len = (uint8_t)(n > 0 && n <= BT_ADDR_MAX ? n : 0);
}

static uint16_t sa_port(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void sa_set_port(struct sockaddr_storage *sa, uint16_t port)
{
    if (sa->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
}

/* ---- connections ------------------------------------------------------------ */

static void conn_unlink(struct rt_conn *c)
{
    if (!c->pprev)
        return;
    *c->pprev = c->next;
    if (c->next)
        c->next->pprev = c->pprev;
    c->pprev = NULL;
    if (c->outbound)
        c->node->nconns_out--;
    else
        c->node->nconns_in--;
}

static void conn_on_close(uv_handle_t *h)
{
    struct rt_conn *c = h->data;
    bt_frame_rx_free(&c->rx);
    while (c->pending) {
        struct rt_wreq *w = c->pending;
        c->pending = w->next;
        free(w->owned);
        free(w);
    }
    free(c);
}

/* Tells the core what became of its stream `id` (under mu). */
static void report_id(struct baton_node *n, uint64_t id, enum bt_stream_event ev, int reason)
{
    if (n->state != RT_RUNNING || !n->core || id == 0)
        return;
    bt_node_stream_event(n->core, id, ev, reason, rt_now());
}

/* The same for connection c: once for the end, and only for connections
 * this node opened (under mu). */
static void conn_report(struct rt_conn *c, enum bt_stream_event ev, int reason)
{
    if (!c->outbound || c->reported)
        return;
    if (ev != BT_STREAM_CONNECTED) {
        static const char *const what[] = {"connected", "closed", "failed", "timed out"};
        c->reported = true;
        rt_log(c->node, BATON_LOG_DEBUG, "push-pull stream to %s %s before its reply%s%s",
               c->peer.s, what[ev], reason ? ": " : "", reason ? strerror(reason) : "");
    }
    report_id(c->node, c->id, ev, reason);
}

/* A libuv status as the errno value the core takes (libuv's codes are
 * negated errno values on Unix). */
static int uv_reason(int status) { return status < 0 ? -status : status; }

/* Closes c (loop thread; under mu or not: it touches loop fields only). */
static void conn_close(struct rt_conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    conn_unlink(c);
    uv_close((uv_handle_t *)&c->tcp, conn_on_close);
}

static struct rt_conn *conn_new(struct baton_node *n, bool outbound)
{
    if (outbound ? n->nconns_out >= RT_MAX_CONNS_OUT : n->nconns_in >= RT_MAX_CONNS_IN)
        return NULL;
    struct rt_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (uv_tcp_init(&n->loop, &c->tcp) != 0) {
        free(c);
        return NULL;
    }
    c->tcp.data = c;
    c->node = n;
    c->outbound = outbound;
    c->id = ++n->next_conn_id;
    c->last_active = c->created = rt_now().mono_ms;
    c->pending_tail = &c->pending;
    bt_frame_rx_init(&c->rx, RT_MSG_MAX);
    c->next = n->conns;
    if (n->conns)
        n->conns->pprev = &c->next;
    c->pprev = &n->conns;
    n->conns = c;
    if (outbound)
        n->nconns_out++;
    else
        n->nconns_in++;
    return c;
}

static struct rt_conn *conn_find(struct baton_node *n, uint64_t id)
{
    for (struct rt_conn *c = n->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void on_write(uv_write_t *req, int status)
{
    struct rt_wreq *w = (struct rt_wreq *)req;
    struct rt_conn *c = w->conn;
    struct baton_node *n = c->node;
    free(w->owned);
    free(w);
    if (status == 0)
        c->last_active = rt_now().mono_ms; /* a long write is no idle connection */
    if (status != 0 && status != UV_ECANCELED) {
        pthread_mutex_lock(&n->mu);
        n->st.conn_errors++;
        conn_report(c, BT_STREAM_FAILED, uv_reason(status));
        rt_pump(n);
        pthread_mutex_unlock(&n->mu);
        conn_close(c);
        rt_dispatch(n);
    }
}

static void conn_write(struct rt_conn *c, struct rt_wreq *w)
{
    struct baton_node *n = c->node;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > RT_WRITE_QUEUE_MAX) {
        n->st.conn_errors++;
        free(w->owned);
        free(w);
        conn_report(c, BT_STREAM_FAILED, ENOBUFS);
        conn_close(c);
        return;
    }
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, w->bufs, w->nbufs, on_write);
    if (rc != 0) {
        n->st.conn_errors++;
        free(w->owned);
        free(w);
        conn_report(c, BT_STREAM_FAILED, uv_reason(rc));
        conn_close(c);
    }
}

/* Seals msg (len bytes of `owned`, which the request takes) as one stream
 * message with flags. Returns NULL when out of memory (owned freed). */
static struct rt_wreq *wreq_new(struct baton_node *n, struct rt_conn *c, uint8_t flags,
                                uint8_t *owned, uint8_t *msg, size_t len)
{
    size_t nchunks = bt_frame_chunks(len);
    size_t size = sizeof(struct rt_wreq) + nchunks * 3 * sizeof(uv_buf_t) +
                  nchunks * 3 * sizeof(struct bt_iov) +
                  nchunks * (BT_FRAME_PREFIX + BT_SEAL_CHUNK_TAIL);
    struct rt_wreq *w = malloc(size);
    if (!w) {
        free(owned);
        n->st.dropped_oom++;
        return NULL;
    }
    memset(w, 0, sizeof *w);
    w->conn = c;
    w->owned = owned;
    w->bufs = (uv_buf_t *)(w + 1);
    struct bt_iov *iov = (struct bt_iov *)(w->bufs + nchunks * 3);
    uint8_t *heads = (uint8_t *)(iov + nchunks * 3);
    uint8_t *tails = heads + nchunks * BT_FRAME_PREFIX;
    size_t niov = bt_frame_seal(&n->kr, &c->tx_seq, flags, msg, len, heads, tails, iov);
    for (size_t i = 0; i < niov; i++) {
        w->bufs[i] = uv_buf_init((char *)iov[i].base, (unsigned)iov[i].len);
        n->st.bytes_out += iov[i].len;
    }
    w->nbufs = (unsigned)niov;
    n->st.frames_out++;
    return w;
}

/* Writes, or queues until the connect completes. */
static void conn_send(struct rt_conn *c, struct rt_wreq *w)
{
    if (c->connected) {
        conn_write(c, w);
        return;
    }
    *c->pending_tail = w;
    c->pending_tail = &w->next;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void alloc_read(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct baton_node *n = h->type == UV_UDP ? h->data : ((struct rt_conn *)h->data)->node;
    *buf = uv_buf_init((char *)n->rbuf, sizeof n->rbuf);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct rt_conn *c = req->data;
    struct baton_node *n = c->node;
    if (status == UV_ECANCELED)
        return; /* closing: conn_on_close frees what waits */
    pthread_mutex_lock(&n->mu);
    if (status == 0)
        status = uv_read_start((uv_stream_t *)&c->tcp, alloc_read, on_read);
    if (status != 0) {
        if (status == UV_ECONNREFUSED) {
            /* Nothing listens at c->peer: evidence for the core, before
             * the failed stream (which sends the push-pull elsewhere). */
            n->st.refusals_seen++;
            if (n->state == RT_RUNNING && n->core != NULL)
                bt_node_addr_refused(n->core, &c->peer, rt_now());
        }
        n->st.conn_errors++;
        conn_report(c, BT_STREAM_FAILED, uv_reason(status));
        rt_pump(n);
        pthread_mutex_unlock(&n->mu);
        conn_close(c);
        rt_dispatch(n);
        return;
    }
    c->connected = true;
    c->last_active = rt_now().mono_ms;
    conn_report(c, BT_STREAM_CONNECTED, 0);
    while (c->pending) {
        struct rt_wreq *w = c->pending;
        c->pending = w->next;
        w->next = NULL;
        conn_write(c, w);
        if (uv_is_closing((uv_handle_t *)&c->tcp))
            break;
    }
    c->pending_tail = &c->pending;
    rt_pump(n);
    pthread_mutex_unlock(&n->mu);
    rt_dispatch(n);
}

/* Opens a connection to `to` for the core's stream `id` and queues the
 * HELLO. On failure the core hears FAILED at once (under mu). */
static struct rt_conn *conn_open(struct baton_node *n, const struct bt_addr *to, uint64_t id)
{
    struct sockaddr_storage sa;
    if (rt_parse_addr(to->s, to->len, &sa) != 0) {
        n->st.send_errors++;
        report_id(n, id, BT_STREAM_FAILED, EINVAL);
        return NULL;
    }
    struct rt_conn *c = conn_new(n, true);
    if (!c) {
        n->st.conn_errors++;
        report_id(n, id, BT_STREAM_FAILED, ENOBUFS);
        return NULL;
    }
    c->id = id;
    c->peer = *to;
    c->creq.data = c;
    int rc = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&sa, on_connect);
    if (rc != 0) {
        n->st.conn_errors++;
        conn_report(c, BT_STREAM_FAILED, uv_reason(rc));
        conn_close(c);
        return NULL;
    }
    n->st.conns_out++;
    uint8_t *hello = malloc(n->addr.len ? n->addr.len : 1);
    if (!hello) {
        n->st.dropped_oom++;
        conn_report(c, BT_STREAM_FAILED, ENOMEM);
        conn_close(c);
        return NULL;
    }
    memcpy(hello, n->addr.s, n->addr.len);
    struct rt_wreq *w = wreq_new(n, c, BT_FRAME_HELLO, hello, hello, n->addr.len);
    if (!w) {
        conn_report(c, BT_STREAM_FAILED, ENOMEM);
        conn_close(c);
        return NULL;
    }
    conn_send(c, w);
    return c;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rt_conn *c = s->data;
    struct baton_node *n = c->node;
    if (nread == 0)
        return;
    pthread_mutex_lock(&n->mu);
    if (nread < 0) {
        if (nread != UV_EOF)
            n->st.conn_errors++;
        if (nread == UV_EOF)
            conn_report(c, BT_STREAM_CLOSED, 0);
        else
            conn_report(c, BT_STREAM_FAILED, uv_reason((int)nread));
        rt_pump(n);
        pthread_mutex_unlock(&n->mu);
        conn_close(c);
        rt_dispatch(n);
        return;
    }
    if (n->state != RT_RUNNING) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    n->st.bytes_in += (uint64_t)nread;
    struct bt_time now = rt_core_now(n);
    c->last_active = now.mono_ms;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left = (size_t)nread;
    bool close = false;
    while (left > 0 && !close) {
        size_t used;
        uint8_t flags;
        const uint8_t *msg;
        size_t mlen;
        int rc = bt_frame_rx_feed(&c->rx, &n->kr, p, left, &used, &flags, &msg, &mlen);
        p += used;
        left -= used;
        if (rc < 0) {
            if (rc == BATON_E2BIG)
                n->st.oversize++;
            else if (rc == BATON_ENOMEM)
                n->st.dropped_oom++;
            else
                n->st.auth_failed++;
            conn_report(c, BT_STREAM_FAILED,
                        rc == BATON_E2BIG    ? EMSGSIZE
                        : rc == BATON_ENOMEM ? ENOMEM
                                             : EPROTO);
            close = true;
            break;
        }
        if (rc == 0)
            break;
        n->st.frames_in++;
        bool hello = (flags & BT_FRAME_HELLO) != 0;
        if (!c->outbound && !c->hello_ok) {
            /* The opener's address: the core's address rules, checked again. */
            struct sockaddr_storage sa;
            if (!hello || mlen == 0 || mlen > BT_ADDR_MAX ||
                rt_parse_addr((const char *)msg, mlen, &sa) != 0) {
                n->st.decode_failed++;
                close = true;
                break;
            }
            memset(&c->peer, 0, sizeof c->peer);
            memcpy(c->peer.s, msg, mlen);
            c->peer.len = (uint8_t)mlen;
            c->hello_ok = true;
            continue;
        }
        if (hello) {
            n->st.decode_failed++;
            conn_report(c, BT_STREAM_FAILED, EPROTO);
            close = true;
            break;
        }
        c->answered = true;
        if (n->core)
            bt_node_recv_stream(n->core, &c->peer, c->id, msg, mlen, now);
    }
    rt_pump(n);
    pthread_mutex_unlock(&n->mu);
    if (close)
        conn_close(c);
    rt_dispatch(n);
}

static void free_handle(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *server, int status)
{
    struct baton_node *n = server->data;
    if (status != 0)
        return;
    pthread_mutex_lock(&n->mu);
    struct rt_conn *c = conn_new(n, false);
    if (!c) {
        /* Full: take the connection off the backlog and close it. */
        n->st.conn_errors++;
        uv_tcp_t *t = malloc(sizeof *t);
        if (t && uv_tcp_init(&n->loop, t) == 0) {
            (void)uv_accept(server, (uv_stream_t *)t);
            uv_close((uv_handle_t *)t, free_handle);
        } else {
            free(t);
        }
        pthread_mutex_unlock(&n->mu);
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        uv_read_start((uv_stream_t *)&c->tcp, alloc_read, on_read) != 0) {
        n->st.conn_errors++;
        pthread_mutex_unlock(&n->mu);
        conn_close(c);
        return;
    }
    c->connected = true;
    n->st.conns_in++;
    pthread_mutex_unlock(&n->mu);
}

/* ---- datagrams ------------------------------------------------------------------ */

/* Reads the UDP socket's error queue (under n->mu): every ICMP port
 * unreachable is counted and, when feed (the node runs), goes to the core
 * as a refusal of the address the refused datagram was sent to; other
 * errors are only drained. At most RT_ERRQUEUE_BATCH per call: the socket
 * stays readable while more wait. */
#define RT_ERRQUEUE_BATCH 64
static void drain_errqueue(struct baton_node *n, bool feed)
{
#ifdef __linux__
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&n->udp, &fd) != 0)
        return;
    for (int k = 0; k < RT_ERRQUEUE_BATCH; k++) {
        struct sockaddr_storage to;
        uint8_t data[64]; /* the refused datagram's head: not needed */
        union {
            struct cmsghdr align;
            uint8_t buf[CMSG_SPACE(sizeof(struct sock_extended_err) + sizeof(struct sockaddr_in6))];
        } ctl;
        struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        memset(&to, 0, sizeof to);
        msg.msg_name = &to;
        msg.msg_namelen = sizeof to;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        ssize_t r;
        do {
            r = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
        } while (r < 0 && errno == EINTR);
        if (r < 0)
            return; /* EAGAIN: empty */
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            bool v4 = cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR;
            bool v6 = cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR;
            if (!v4 && !v6)
                continue;
            struct sock_extended_err ee;
            memcpy(&ee, CMSG_DATA(cm), sizeof ee);
            if (ee.ee_errno != ECONNREFUSED ||
                (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) ||
                msg.msg_namelen == 0)
                continue;
            struct bt_addr a;
            rt_format_addr((const struct sockaddr *)&to, &a);
            n->st.refusals_seen++;
            if (feed)
                bt_node_addr_refused(n->core, &a, rt_now());
        }
    }
#else
    (void)n;
    (void)feed;
#endif
}

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags)
{
    struct baton_node *n = h->data;
    if (nread < 0 || (nread == 0 && addr == NULL)) {
        /* A pending error (ECONNREFUSED), or a wake-up by the error queue
         * with nothing to read: see "Refusals" above. */
        pthread_mutex_lock(&n->mu);
        if (n->state != RT_RUNNING || n->core == NULL) {
            drain_errqueue(n, false); /* or the socket stays readable */
            pthread_mutex_unlock(&n->mu);
            return;
        }
        drain_errqueue(n, true);
        rt_pump(n);
        pthread_mutex_unlock(&n->mu);
        rt_dispatch(n);
        return;
    }
    if (nread <= 0 || addr == NULL)
        return;
    pthread_mutex_lock(&n->mu);
    if (n->state != RT_RUNNING || n->core == NULL) {
        pthread_mutex_unlock(&n->mu);
        return;
    }
    n->st.packets_in++;
    n->st.bytes_in += (uint64_t)nread;
    if (flags & UV_UDP_PARTIAL) {
        n->st.oversize++;
        pthread_mutex_unlock(&n->mu);
        return;
    }
    uint8_t *payload;
    size_t plen;
    if (bt_open_datagram(&n->kr, (uint8_t *)buf->base, (size_t)nread, &payload, &plen) != 0) {
        n->st.auth_failed++;
        pthread_mutex_unlock(&n->mu);
        return;
    }
    struct bt_addr from;
    rt_format_addr(addr, &from);
    bt_node_recv(n->core, &from, payload, plen, rt_core_now(n));
    rt_pump(n);
    pthread_mutex_unlock(&n->mu);
    rt_dispatch(n);
}

struct rt_udp_req {
    uv_udp_send_t req;
    uint8_t data[];
};

static void on_udp_sent(uv_udp_send_t *req, int status) { free(req); }

static void send_datagram(struct baton_node *n, const struct bt_output *out)
{
    struct sockaddr_storage sa;
    if (rt_parse_addr(out->to.s, out->to.len, &sa) != 0) {
        n->st.send_errors++;
        return;
    }
    size_t len = bt_seal_datagram(&n->kr, out->data, out->len, n->sbuf, sizeof n->sbuf);
    if (len == 0 || len > 65507) {
        n->st.oversize++;
        return;
    }
    n->st.packets_out++;
    n->st.bytes_out += len;
    uv_buf_t b = uv_buf_init((char *)n->sbuf, (unsigned)len);
    int rc = uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&sa);
    if (rc == UV_ECONNREFUSED) /* an earlier datagram's refusal, returned once */
        rc = uv_udp_try_send(&n->udp, &b, 1, (const struct sockaddr *)&sa);
    if (rc >= 0)
        return;
    if (rc != UV_EAGAIN) {
        n->st.send_errors++;
        return;
    }
    /* The socket is full for now: queue a copy. */
    struct rt_udp_req *r = malloc(sizeof *r + len);
    if (!r) {
        n->st.dropped_oom++;
        return;
    }
    memcpy(r->data, n->sbuf, len);
    b = uv_buf_init((char *)r->data, (unsigned)len);
    if (uv_udp_send(&r->req, &n->udp, &b, 1, (const struct sockaddr *)&sa, on_udp_sent) != 0) {
        n->st.send_errors++;
        free(r);
    }
}

/* ---- the transport's entry points ------------------------------------------------ */

void rt_send(struct baton_node *n, const struct bt_output *out, uint8_t *owned)
{
    if (out->kind == BT_OUT_PACKET) {
        send_datagram(n, out);
        free(owned);
        return;
    }
    struct rt_conn *c;
    if (out->conn == 0 && out->stream == 0) {
        /* A stream the core does not follow (none today): ours to name. */
        c = conn_open(n, &out->to, ++n->next_conn_id);
    } else if (out->conn == 0 && out->stream > n->last_stream) {
        n->last_stream = out->stream;
        c = conn_open(n, &out->to, out->stream);
    } else if (out->conn == 0) {
        /* More of a stream already opened (a full state's continuation):
         * on its connection, or nowhere if it is gone (the core heard). */
        c = conn_find(n, out->stream);
        if (!c || uv_is_closing((uv_handle_t *)&c->tcp)) {
            free(owned);
            return;
        }
    } else {
        c = conn_find(n, out->conn);
        if (c && uv_is_closing((uv_handle_t *)&c->tcp))
            c = NULL;
    }
    if (!c) {
        n->st.send_errors++;
        free(owned);
        return;
    }
    if (out->len > RT_MSG_MAX) {
        n->st.oversize++;
        free(owned);
        return;
    }
    struct rt_wreq *w = wreq_new(n, c, 0, owned, (uint8_t *)out->data, out->len);
    if (w)
        conn_send(c, w);
}

int rt_transport_open(struct baton_node *n)
{
    struct sockaddr_storage sa = n->bind_sa;
    bool any_port = sa_port(&sa) == 0;
    int rc = 0;
    /* UDP first; TCP on the same port. With port 0 the kernel picks the UDP
     * port, which may be taken for TCP: then try again. */
    for (int attempt = 0; attempt < 32; attempt++) {
        if (uv_udp_init(&n->loop, &n->udp) != 0)
            return BATON_EIO;
        n->udp.data = n;
#ifdef __linux__
        rc = uv_udp_bind(&n->udp, (const struct sockaddr *)&sa, UV_UDP_LINUX_RECVERR);
#else
        rc = uv_udp_bind(&n->udp, (const struct sockaddr *)&sa, 0);
#endif
        struct sockaddr_storage got;
        int glen = sizeof got;
        if (rc == 0)
            rc = uv_udp_getsockname(&n->udp, (struct sockaddr *)&got, &glen);
        if (rc != 0) {
            uv_close((uv_handle_t *)&n->udp, NULL);
            uv_run(&n->loop, UV_RUN_NOWAIT);
            break;
        }
        struct sockaddr_storage tsa = sa;
        sa_set_port(&tsa, sa_port(&got));
        uv_tcp_init(&n->loop, &n->listener);
        n->listener.data = n;
        rc = uv_tcp_bind(&n->listener, (const struct sockaddr *)&tsa, 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&n->listener, 128, on_connection);
        if (rc == 0) {
            sa = tsa;
            break;
        }
        uv_close((uv_handle_t *)&n->listener, NULL);
        uv_close((uv_handle_t *)&n->udp, NULL);
        uv_run(&n->loop, UV_RUN_NOWAIT);
        if (!any_port)
            break;
    }
    if (rc != 0) {
        struct bt_addr a;
        rt_format_addr((const struct sockaddr *)&n->bind_sa, &a);
        rt_log(n, BATON_LOG_ERROR, "cannot bind %s: %s", a.s, uv_strerror(rc));
        return BATON_EIO;
    }
    /* The advertised address: given, or the bound one. */
    struct sockaddr_storage adv = n->has_advertise ? n->advertise_sa : sa;
    if (sa_port(&adv) == 0)
        sa_set_port(&adv, sa_port(&sa));
    bool wildcard;
    if (adv.ss_family == AF_INET6) {
        static const struct in6_addr any6 = IN6ADDR_ANY_INIT;
        wildcard = memcmp(&((struct sockaddr_in6 *)&adv)->sin6_addr, &any6, sizeof any6) == 0;
    } else {
        wildcard = ((struct sockaddr_in *)&adv)->sin_addr.s_addr == htonl(INADDR_ANY);
    }
    rt_format_addr((const struct sockaddr *)&adv, &n->addr);
    if (wildcard) {
        rt_log(n, BATON_LOG_ERROR, "bound to a wildcard address: set an advertise address");
        uv_close((uv_handle_t *)&n->listener, NULL);
        uv_close((uv_handle_t *)&n->udp, NULL);
        uv_run(&n->loop, UV_RUN_NOWAIT);
        return BATON_EINVAL;
    }
    return 0;
}

int rt_transport_start(struct baton_node *n)
{
    int rc = uv_udp_recv_start(&n->udp, alloc_read, on_udp);
    return rc == 0 ? 0 : BATON_EIO;
}

void rt_transport_close(struct baton_node *n)
{
    while (n->conns)
        conn_close(n->conns);
    if (!uv_is_closing((uv_handle_t *)&n->udp))
        uv_close((uv_handle_t *)&n->udp, NULL);
    if (!uv_is_closing((uv_handle_t *)&n->listener))
        uv_close((uv_handle_t *)&n->listener, NULL);
}

void rt_sweep(struct baton_node *n, uint64_t now_mono)
{
    /* Close first, report after: a report may open connections. */
    struct rt_conn *next, *timed_out = NULL, *idle = NULL;
    for (struct rt_conn *c = n->conns; c; c = next) {
        next = c->next;
        /* An opened connection that never connected, or that waits for its
         * reply without progress, times out; any connection idle long
         * enough is closed. A connection that never authenticated goes
         * sooner, so strangers cannot hold the accepted ones for long. */
        bool timeout = c->outbound && !c->reported &&
                       (c->connected ? !c->answered && now_mono - c->last_active >= RT_REPLY_MS
                                     : now_mono - c->created >= RT_CONNECT_MS);
        if (timeout || now_mono - c->last_active >= RT_CONN_IDLE_MS ||
            (!c->outbound && !c->hello_ok && now_mono - c->created >= RT_HELLO_MS)) {
            conn_close(c);
            if (c->outbound && !c->reported) {
                /* Unlinked by conn_close; freed only by its close callback. */
                c->next = timeout ? timed_out : idle;
                if (timeout)
                    timed_out = c;
                else
                    idle = c;
            }
        }
    }
    for (struct rt_conn *c = timed_out; c; c = c->next) {
        if (!c->connected)
            n->st.conn_errors++;
        conn_report(c, BT_STREAM_TIMEOUT, ETIMEDOUT);
    }
    for (struct rt_conn *c = idle; c; c = c->next)
        conn_report(c, BT_STREAM_CLOSED, 0);
}
