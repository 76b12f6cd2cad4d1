/*
 * The runtime's internals, shared by api.c (the public API: configuration,
 * lifecycle, the calls), loop.c (the loop thread: events, callbacks, the
 * pump) and transport.c (UDP, TCP, sealing on the wire).
 *
 * Locking: one mutex per node, `mu`. Under it: the core node, the keyring,
 * the counters, the state. The loop thread holds it while it feeds the core
 * and sends what the core produced, and releases it before it runs user
 * callbacks (rt_dispatch). API calls from any thread take it around their
 * core call and wake the loop (uv_async_send, only while RUNNING, under mu)
 * to send what the call produced. Fields marked "loop" belong to the loop
 * thread alone.
 */
#ifndef BT_RT_RT_H
#define BT_RT_RT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "baton/baton.h"
#include "core/node.h"
#include "core/swim.h"
#include "runtime/frame.h"
#include "runtime/keyring.h"

/* Limits of the transport. */
#define RT_MSG_MAX BT_STREAM_MSG_MAX /* largest stream message accepted (node.h) */
#define RT_MAX_CONNS_IN 96           /* accepted TCP connections open at once */
#define RT_MAX_CONNS_OUT 64          /* opened TCP connections open at once */
#define RT_HELLO_MS 3000             /* an accepted connection must say HELLO by then */
#define RT_CONN_IDLE_MS 10000        /* a connection idle this long is closed */
#define RT_CONNECT_MS 3000           /* an opened connection must connect by then */
#define RT_REPLY_MS                                                                                \
    RT_CONN_IDLE_MS      /* ...and its reply must start by then, counted
                                       from the last progress (a write or a read): a
                                       busy peer merging a large state is waited for
                                       as long as any connection */
#define RT_SWEEP_MS 1000 /* period of the idle sweep */
#define RT_WRITE_QUEUE_MAX                                                                         \
    ((size_t)256 << 20) /* unsent bytes per connection (full state is
                                                 several messages, queued at once) */
#define RT_RBUF 65536   /* read buffer (a datagram's largest size) */

enum rt_state {
    RT_NEW,      /* made, not started */
    RT_RUNNING,  /* loop thread running */
    RT_STOPPING, /* handles closing; no more wake-ups */
    RT_STOPPED,  /* loop thread done (or never started and stopped) */
};

/* Something for a user callback, queued under mu, run without it. */
enum rt_ev_kind {
    RT_EV_ELECTED,
    RT_EV_REVOKED,
    RT_EV_LEADER,
    RT_EV_MEMBER,
    RT_EV_CLOCK,
    RT_EV_STOPPED,
    RT_EV_LOG,
};

struct rt_ev {
    enum rt_ev_kind kind;
    uint64_t session;
    struct bt_name name;
    struct baton_fence fence;
    bool has_leader;
    struct baton_leader leader;
    enum baton_member_event mev;
    struct baton_member member;
    bool flag;                  /* RT_EV_CLOCK: refused */
    int err;                    /* RT_EV_STOPPED */
    enum baton_log_level level; /* RT_EV_LOG */
    char *msg;                  /* RT_EV_LOG, owned */
};

/* The last winner the node reported for a name (on_leader). */
struct rt_leader_seen {
    struct bt_name name;
    bool has;
    struct bt_nodeid node;
    uint64_t candidate_id;
};

struct rt_conn;

struct baton_node {
    /* Immutable after baton_node_new(). */
    char name[BATON_NODE_MAX + 1];
    struct bt_nodeid nodeid;
    struct sockaddr_storage bind_sa;
    bool has_advertise;
    struct sockaddr_storage advertise_sa;
    struct bt_addr *seeds;
    size_t nseeds;
    enum baton_profile profile;
    struct bt_swim_timing timing;
    uint64_t max_clock_offset_ms;
    _Atomic int64_t wall_offset_ms; /* rt_set_wall_offset(); 0 */
    size_t max_packet;
    size_t max_names;
    enum baton_log_level log_level;
    struct baton_callbacks cb;
    void *ud;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Under mu. */
    enum rt_state state;
    bool leaving;
    bool fatal; /* a fatal stop is under way */
    int fatal_err;
    bool clock_refused;       /* the core's last clock judgement refused this node's clock */
    uint64_t clock_withholds; /* times it did (BT_EV_CLOCK_REFUSED after a fine clock) */
    int64_t clock_ahead_ms;   /* this node's clock minus the cluster's, as last judged */
    bool join_claimed, joined;
    struct bt_keyring kr;
    struct bt_node *core; /* made at start */
    struct bt_addr addr;  /* advertised address, set at start */
    uint64_t boot_id;
    uint64_t start_mono;
    uint64_t next_session;
    struct baton_status st; /* transport counters (the rest comes from the core) */
    uint64_t elected, revoked;
    struct rt_ev *evq; /* events waiting for rt_dispatch() */
    size_t nev, ev_cap;

    /* Loop. */
    uv_loop_t loop;
    uv_udp_t udp;
    uv_tcp_t listener;
    uv_timer_t timer;
    uv_timer_t sweep;
    uv_async_t wake;
    uv_thread_t thread;
    bool thread_started;
    unsigned handles_open;
    struct rt_conn *conns; /* open connections, a list */
    size_t nconns_in, nconns_out;
    uint64_t next_conn_id;       /* ids of accepted connections */
    uint64_t last_stream;        /* the core's greatest stream id opened so far */
    struct rt_leader_seen *seen; /* sorted by name */
    size_t nseen;
    /* Under mu: the winners may have changed since the last comparison (a
     * core event, an election payload, an expiry, a local call). */
    bool leaders_dirty;
    uint64_t election_inputs; /* payloads + snapshots + expiries seen so far */
    uint64_t names_refused;   /* the core's names_refused last logged */
    uint8_t rbuf[RT_RBUF];
    uint8_t sbuf[RT_RBUF + BT_SEAL_DGRAM_OVERHEAD];
};

#define RT_SESSION_DEFAULT 1 /* the core's id of public session 0 (api.c) */

/* ---- loop.c ---- */
struct bt_time rt_now(void);
/* rt_now() with the node's wall clock offset (rt_set_wall_offset) added:
 * the time every call into the core is given. */
struct bt_time rt_core_now(const struct baton_node *n);
/* Shifts this node's wall clock, as the core sees it, by offset_ms (0 by
 * default): what a machine whose clock is that far off would read. For
 * tests of the clock outliers (design.md fix 9); any thread. */
void rt_set_wall_offset(struct baton_node *n, int64_t offset_ms);
/* Queues a log line (under mu). */
void rt_log(struct baton_node *n, enum baton_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Drains the core (under mu): sends outputs, queues events, rearms the
 * timer, reports leader changes, starts a shutdown that is due. */
void rt_pump(struct baton_node *n);
/* Runs the queued user callbacks (loop thread, mu NOT held). */
void rt_dispatch(struct baton_node *n);
/* Starts closing every handle (loop thread, under mu). */
void rt_shutdown(struct baton_node *n);
/* The loop thread's body: runs the loop, then marks the node stopped. */
void rt_loop_main(void *arg);
/* The timers' and the wake-up handle's callbacks (loop thread). */
void rt_on_sweep(uv_timer_t *t);
void rt_on_wake(uv_async_t *a);
/* After an API call changed the core (under mu): leaders may have changed,
 * and the loop thread is woken to pump. */
void rt_wake(struct baton_node *n);
/* Whether the caller is n's loop thread (a callback calling the API). */
bool rt_on_loop_thread(const struct baton_node *n);
/* This node's own term token as a public fence (minter: this process,
 * "<name>#<boot hex>"). */
void rt_own_fence(const struct baton_node *n, uint64_t token, struct baton_fence *f);
/* A core member record as a public one. */
void rt_member_of(const struct bt_member_info *mi, struct baton_member *m);

/* ---- transport.c ---- */
/* Parses "a.b.c.d:port" or "[v6]:port" (numeric). Returns 0 or BATON_EINVAL. */
int rt_parse_addr(const char *s, size_t len, struct sockaddr_storage *sa);
/* Formats sa as the core's address text. */
void rt_format_addr(const struct sockaddr *sa, struct bt_addr *out);
/* Binds UDP and TCP on the loop (caller's thread, before the loop runs).
 * Returns 0 or BATON_EIO / BATON_EINVAL, logging why. */
int rt_transport_open(struct baton_node *n);
/* Starts receiving (loop not yet running, or on the loop thread). */
int rt_transport_start(struct baton_node *n);
/* Sends one core output (under mu, loop thread); takes `owned`. */
void rt_send(struct baton_node *n, const struct bt_output *out, uint8_t *owned);
/* Closes the sockets and every connection (loop thread, under mu). */
void rt_transport_close(struct baton_node *n);
/* Closes idle connections and times out opened ones, reporting them to
 * the core (loop thread, under mu; the caller pumps). */
void rt_sweep(struct baton_node *n, uint64_t now_mono);

#endif
