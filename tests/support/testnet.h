/*
 * The unit tests' network: swim_test.c runs membership layers (struct
 * bt_swim) on it, node_test.c whole nodes (struct bt_node). One queue of
 * messages in flight, a fake clock that jumps to the next delivery or
 * deadline, per-link cuts, optional seeded datagram loss, and stream
 * connection ids.
 *
 * What runs on it is the test's: the network knows its endpoints only by
 * index (0..n-1) and reaches them through three callbacks (struct
 * testnet_ops). A test queues what an endpoint sends (testnet_queue) and
 * decides itself what a cut, a loss or a down endpoint does to it, since
 * the two layers are driven differently (a sink called during the call,
 * outputs drained after it).
 *
 * Running (testnet_run_until): the clock jumps to the earliest of the
 * endpoints' deadlines and the queued messages' times; every message due
 * then is delivered in queue order (the order it was queued), then every
 * endpoint whose deadline has come is ticked, in index order. The tests
 * queue every message for later than now (links of 1 ms or more). Times
 * are virtual; nothing reads a clock.
 *
 * The simulator's network (src/sim/network.c) is the model for whole-cluster
 * runs, but it is tied to its engine: it creates, names and joins the nodes
 * itself, at time 0, and drives only whole nodes. Unit tests that build
 * their cluster by hand and call one layer directly use this one.
 */
#ifndef BT_TESTS_SUPPORT_TESTNET_H
#define BT_TESTS_SUPPORT_TESTNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

#define TESTNET_MAXN 16    /* endpoints */
#define TESTNET_CONNS 8192 /* stream connection ids, 1..TESTNET_CONNS-1 */

/* A message in flight. */
struct testnet_msg {
    uint64_t at;              /* virtual ms of delivery */
    int to, from;             /* endpoint indices */
    enum bt_output_kind kind; /* datagram or stream message */
    uint64_t conn;            /* the stream connection (testnet_conn_open), or 0 */
    uint8_t *data;            /* owned copy; freed once delivered */
    size_t len;
    int note;   /* 0: data for `to`; else the test's own meaning
                                  (a refusal, a stream event, ...) */
    int reason; /* with a note: an errno or 0 */
};

struct testnet;

/* How the network reaches its endpoints. */
struct testnet_ops {
    /* Endpoint i's next deadline (virtual ms); UINT64_MAX: none (or down). */
    uint64_t (*deadline)(struct testnet *w, int i);
    /* m is due: hand it to endpoint m->to if it can take it. m (a copy) and
     * m->data are borrowed for the call. */
    void (*deliver)(struct testnet *w, const struct testnet_msg *m);
    /* Endpoint i's deadline has come. */
    void (*tick)(struct testnet *w, int i);
};

struct testnet {
    int n;                 /* endpoints, at most TESTNET_MAXN; a test may add one */
    uint64_t now;          /* virtual ms */
    struct testnet_msg *q; /* in flight, in the order queued */
    size_t nq, capq;
    bool cut[TESTNET_MAXN][TESTNET_MAXN]; /* cut[a][b]: nothing from a reaches b */
    double loss;                          /* datagram loss probability (testnet_lost) */
    uint64_t loss_rng;                    /* its random state */
    uint64_t next_conn;                   /* the next stream connection id */
    int conn_owner[TESTNET_CONNS];        /* connection id -> the endpoint that opened it */
    const struct testnet_ops *ops;        /* borrowed */
    void *ctx;                            /* the test's, for its callbacks */
};

/* A network of n endpoints at virtual time now: nothing in flight, no cuts,
 * no loss (loss_rng seeded with loss_seed). */
void testnet_init(struct testnet *w, int n, uint64_t now, uint64_t loss_seed,
                  const struct testnet_ops *ops, void *ctx);

/* Frees what is in flight. */
void testnet_free(struct testnet *w);

/* Queues a message from `from` to `to`, delivered at `at`, with a copy of
 * data[0..len) (data may be NULL); the other fields are 0. Returns it, to
 * fill in further until the next call that queues. */
struct testnet_msg *testnet_queue(struct testnet *w, uint64_t at, int from, int to,
                                  enum bt_output_kind kind, uint64_t conn, const uint8_t *data,
                                  size_t len);

/* A new stream connection id opened by endpoint owner. */
uint64_t testnet_conn_open(struct testnet *w, int owner);

/* Whether a datagram is lost now: a draw with probability loss (none when
 * loss is 0). */
bool testnet_lost(struct testnet *w);

/* Runs until virtual time `until` (see the top of this file); the clock
 * ends at until. */
void testnet_run_until(struct testnet *w, uint64_t until);

#endif
