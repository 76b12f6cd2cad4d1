/*
 * The unit tests' network: see testnet.h.
 */
#include "support/testnet.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "sim/prng.h"

void testnet_init(struct testnet *w, int n, uint64_t now, uint64_t loss_seed,
                  const struct testnet_ops *ops, void *ctx)
{
    assert(n >= 0 && n <= TESTNET_MAXN);
    memset(w, 0, sizeof *w);
    w->n = n;
    w->now = now;
    w->next_conn = 1;
    w->loss_rng = loss_seed;
    w->ops = ops;
    w->ctx = ctx;
}

void testnet_free(struct testnet *w)
{
    for (size_t i = 0; i < w->nq; i++)
        free(w->q[i].data);
    free(w->q);
    w->q = NULL;
    w->nq = w->capq = 0;
}

struct testnet_msg *testnet_queue(struct testnet *w, uint64_t at, int from, int to,
                                  enum bt_output_kind kind, uint64_t conn, const uint8_t *data,
                                  size_t len)
{
    if (w->nq == w->capq) {
        w->capq = w->capq ? 2 * w->capq : 1024;
        w->q = realloc(w->q, w->capq * sizeof *w->q);
        assert(w->q != NULL);
    }
    struct testnet_msg *m = &w->q[w->nq++];
    memset(m, 0, sizeof *m);
    m->at = at;
    m->from = from;
    m->to = to;
    m->kind = kind;
    m->conn = conn;
    if (data != NULL) {
        m->data = malloc(len ? len : 1);
        assert(m->data != NULL);
        memcpy(m->data, data, len);
        m->len = len;
    }
    return m;
}

uint64_t testnet_conn_open(struct testnet *w, int owner)
{
    uint64_t id = w->next_conn++;
    assert(id < TESTNET_CONNS);
    w->conn_owner[id] = owner;
    return id;
}

bool testnet_lost(struct testnet *w)
{
    return w->loss > 0 &&
           (double)(bt_splitmix64(&w->loss_rng) >> 11) / 9007199254740992.0 < w->loss;
}

void testnet_run_until(struct testnet *w, uint64_t until)
{
    for (;;) {
        uint64_t next = UINT64_MAX;
        for (int i = 0; i < w->n; i++) {
            uint64_t d = w->ops->deadline(w, i);
            if (d < next)
                next = d;
        }
        for (size_t k = 0; k < w->nq; k++)
            if (w->q[k].at < next)
                next = w->q[k].at;
        if (next > until) {
            if (until > w->now)
                w->now = until;
            break;
        }
        if (next > w->now)
            w->now = next;
        /* Deliveries due now, in queue order; the rest are compacted in
         * order (the loop bound is re-read: deliveries append, and what
         * they append is due later, so it is moved down too). */
        size_t due = 0;
        for (size_t k = 0; k < w->nq; k++) {
            if (w->q[k].at > w->now) {
                w->q[due++] = w->q[k];
                continue;
            }
            struct testnet_msg m = w->q[k];
            w->ops->deliver(w, &m);
            free(m.data);
        }
        w->nq = due;
        for (int i = 0; i < w->n; i++)
            if (w->ops->deadline(w, i) <= w->now)
                w->ops->tick(w, i);
    }
}
