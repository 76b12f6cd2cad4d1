/*
 * /metrics in the Prometheus text format (version 0.0.4), served by
 * libmicrohttpd on a thread of its own. The handler reads the library's
 * thread-safe baton_status() and the daemon's atomic counters; it touches
 * nothing else.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

struct bd_metrics {
    struct MHD_Daemon *mhd;
    struct batond *d;
};

struct text {
    char *buf;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *nb = realloc(t->buf, cap);
        if (nb == NULL) {
            t->failed = true;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
}

static void metric(struct text *t, const char *name, const char *type, const char *help,
                   unsigned long long v)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name, v);
}

static char *render(struct batond *d, size_t *len)
{
    struct text t = {.cap = 8192};
    t.buf = malloc(t.cap);
    if (t.buf == NULL)
        return NULL;
    t.buf[0] = '\0';
    struct baton_status s;
    memset(&s, 0, sizeof s);
    int rc = baton_status(d->node, &s);

    put(&t, "# HELP baton_info This node; the value is always 1.\n# TYPE baton_info gauge\n");
    put(&t, "baton_info{node=\"%s\",version=\"%d.%d.%d\"} 1\n", d->node_name, BATON_VERSION_MAJOR,
        BATON_VERSION_MINOR, BATON_VERSION_PATCH);
    metric(&t, "baton_up", "gauge", "1 while the node runs, 0 once it stopped.",
           rc == 0 && !s.leaving);
    metric(&t, "baton_uptime_seconds", "gauge", "Seconds since the node started.",
           s.uptime_ms / 1000);

    put(&t, "# HELP baton_members Members this node knows, itself included, by state.\n"
            "# TYPE baton_members gauge\n");
    put(&t, "baton_members{state=\"alive\"} %u\n", s.members_alive);
    put(&t, "baton_members{state=\"suspect\"} %u\n", s.members_suspect);
    put(&t, "baton_members{state=\"dead\"} %u\n", s.members_dead);
    put(&t, "baton_members{state=\"left\"} %u\n", s.members_left);

    metric(&t, "baton_names", "gauge", "Campaign names this node knows a candidacy or a mark for.",
           s.names);
    metric(&t, "baton_candidacies", "gauge", "Candidacies of this node.", s.candidacies);
    metric(&t, "baton_leaders_held", "gauge", "Names this node leads.", s.leaderships);
    metric(&t, "baton_terms_minted_total", "counter", "Terms (fencing tokens) this node minted.",
           s.terms_minted);
    metric(&t, "baton_term_refreshes_total", "counter",
           "Terms ended because the cluster's mark overtook them.", s.term_refreshes);
    metric(&t, "baton_elected_total", "counter", "Elected events to local candidates.", s.elected);
    metric(&t, "baton_revocations_total", "counter", "Revoked events to local candidates.",
           s.revoked);
    metric(&t, "baton_packets_in_total", "counter", "Datagrams received.", s.packets_in);
    metric(&t, "baton_packets_out_total", "counter", "Datagrams sent.", s.packets_out);
    metric(&t, "baton_bytes_in_total", "counter", "Datagram and stream bytes received.",
           s.bytes_in);
    metric(&t, "baton_bytes_out_total", "counter", "Datagram and stream bytes sent.", s.bytes_out);
    metric(&t, "baton_pushpulls_total", "counter", "Full-state exchanges started.", s.pushpulls);
    metric(&t, "baton_pushpulls_failed_total", "counter",
           "Full-state exchanges whose connection failed, closed or timed out before the reply.",
           s.pushpulls_failed);
    metric(&t, "baton_names_refused_total", "counter",
           "Names peers sent past the names cap, refused.", s.names_refused);
    metric(&t, "baton_max_names", "gauge", "The names cap (--max-names).", s.max_names);
    metric(&t, "baton_refusals_seen_total", "counter",
           "Datagrams and connects refused by an address where nothing listens.", s.refusals_seen);
    metric(&t, "baton_refusals_used_total", "counter",
           "Refusals membership took as evidence of a crash.", s.refusals_used);
    metric(&t, "baton_clock_refusals_total", "counter",
           "Messages refused: a timestamp too far ahead of the local clock.", s.refused_clock);
    metric(&t, "baton_clock_refused", "gauge", "1 while the cluster refuses this node's clock.",
           s.clock_refused);
    metric(&t, "baton_clock_withholds_total", "counter",
           "Times this node's clock was refused and its candidacies withdrawn.", s.clock_withholds);
    put(&t,
        "# HELP baton_clock_ahead_ms This node's clock minus the cluster's, as last judged.\n"
        "# TYPE baton_clock_ahead_ms gauge\nbaton_clock_ahead_ms %lld\n",
        (long long)s.clock_ahead_ms);
    metric(&t, "baton_probes_total", "counter", "Direct probes started.", s.probes);
    metric(&t, "baton_probes_failed_total", "counter", "Probes without an ack.", s.probes_failed);
    metric(&t, "baton_suspicions_total", "counter", "Members this node started suspecting.",
           s.suspicions);
    metric(&t, "baton_deaths_declared_total", "counter", "Members this node declared dead.",
           s.deaths_declared);
    metric(&t, "baton_health", "gauge", "Lifeguard local health score, 0 is healthy.", s.health);
    metric(&t, "baton_keys", "gauge", "Keys in the keyring.", s.keys);

    put(&t, "# HELP baton_dropped_total Input and output dropped, by cause.\n"
            "# TYPE baton_dropped_total counter\n");
    put(&t, "baton_dropped_total{cause=\"auth_failed\"} %llu\n", (unsigned long long)s.auth_failed);
    put(&t, "baton_dropped_total{cause=\"decode_failed\"} %llu\n",
        (unsigned long long)s.decode_failed);
    put(&t, "baton_dropped_total{cause=\"oversize\"} %llu\n", (unsigned long long)s.oversize);
    put(&t, "baton_dropped_total{cause=\"clock_refused\"} %llu\n",
        (unsigned long long)s.refused_clock);
    put(&t, "baton_dropped_total{cause=\"send_error\"} %llu\n", (unsigned long long)s.send_errors);
    put(&t, "baton_dropped_total{cause=\"conn_error\"} %llu\n", (unsigned long long)s.conn_errors);
    put(&t, "baton_dropped_total{cause=\"out_of_memory\"} %llu\n",
        (unsigned long long)s.dropped_oom);

    const struct bd_counters *k = &d->counters;
    metric(&t, "batond_clients", "gauge", "Client connections open.",
           atomic_load(&k->clients_open));
    metric(&t, "batond_clients_accepted_total", "counter", "Client connections accepted.",
           atomic_load(&k->clients_accepted));
    metric(&t, "batond_requests_total", "counter", "Client requests answered.",
           atomic_load(&k->requests));
    metric(&t, "batond_events_total", "counter", "Events pushed to clients.",
           atomic_load(&k->events_out));
    put(&t, "# HELP batond_client_errors_total Client input refused, by cause.\n"
            "# TYPE batond_client_errors_total counter\n");
    put(&t, "batond_client_errors_total{cause=\"bad_request\"} %llu\n",
        (unsigned long long)atomic_load(&k->bad_requests));
    put(&t, "batond_client_errors_total{cause=\"line_too_long\"} %llu\n",
        (unsigned long long)atomic_load(&k->long_lines));
    put(&t, "batond_client_errors_total{cause=\"slow_reader\"} %llu\n",
        (unsigned long long)atomic_load(&k->slow_clients));
    metric(&t, "batond_keyring_reloads_total", "counter",
           "Keyring file reloads (SIGHUP) that succeeded.", atomic_load(&k->keyring_reloads));
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *len = t.len;
    return t.buf;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    struct bd_metrics *m = cls;
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    struct MHD_Response *resp;
    unsigned status;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "only GET\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") == 0) {
        size_t len = 0;
        char *body = render(m->d, &len);
        if (body == NULL) {
            static const char msg[] = "out of memory\n";
            resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                                   MHD_RESPMEM_PERSISTENT);
            status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        } else {
            resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
            status = MHD_HTTP_OK;
            if (resp != NULL)
                MHD_add_response_header(resp, "Content-Type",
                                        "text/plain; version=0.0.4; charset=utf-8");
            else
                free(body);
        }
    } else {
        static const char msg[] = "not found: try /metrics\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    }
    if (resp == NULL)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    bd_warn("metrics: %s", msg);
}

struct bd_metrics *bd_metrics_start(struct batond *d, const char *hostport)
{
    char host[64];
    uint16_t port;
    if (bd_split_hostport(hostport, host, sizeof host, &port) != 0) {
        bd_error("--metrics %s: expected HOST:PORT with a numeric host", hostport);
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    } else {
        bd_error("--metrics %s: expected a numeric host", hostport);
        return NULL;
    }
    struct bd_metrics *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->d = d;
    m->mhd =
        MHD_start_daemon(flags, port, NULL, NULL, answer, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
                         NULL, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (m->mhd == NULL) {
        bd_error("--metrics %s: cannot serve there (address in use?)", hostport);
        free(m);
        return NULL;
    }
    bd_info("metrics: http://%s/metrics", hostport);
    return m;
}

void bd_metrics_stop(struct bd_metrics *m)
{
    if (m == NULL)
        return;
    MHD_stop_daemon(m->mhd);
    free(m);
}
