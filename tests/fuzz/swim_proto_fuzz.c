/*
 * Fuzz target for src/core/swim_proto.c, and for the membership state
 * machine behind it. Any input must decode to a message or to BATON_EPROTO /
 * BATON_EVERSION. A message that decodes is held to the format's promises:
 *   1. the iterators never fail on what the decoder accepted, and yield
 *      exactly the announced number of members;
 *   2. canonical: re-encoding the decoded message gives the input bytes back.
 * Then the input is fed, as a datagram and as a stream message, to a fresh
 * struct bt_swim that knows a couple of members, whose clock is then moved
 * on: nothing it does with peer input may crash or trip a sanitizer.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/swim.h"
#include "core/swim_proto.h"
#include "fuzz/fuzz.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "swim_proto_fuzz: %s:%d: oracle failed: %s\n", __FILE__, __LINE__,     \
                    #cond);                                                                        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_packet(const uint8_t *data, size_t size)
{
    struct bt_swim_packet p;
    int rc = bt_swim_decode_packet(data, size, &p);
    if (rc < 0) {
        CHECK(rc == BATON_EPROTO || rc == BATON_EVERSION);
        return;
    }
    CHECK((size_t)rc == size);

    uint8_t *again = malloc(size + 1);
    CHECK(again != NULL);
    struct bt_wbuf w;
    bt_wbuf_init(&w, again, size + 1);
    bt_swim_put_header(&w, (enum bt_swim_type)p.hdr.type, &p.hdr.sender, p.hdr.sender_boot);
    switch (p.hdr.type) {
    case BT_SWIM_PING: bt_swim_put_ping(&w, p.seq, &p.target, &p.clock); break;
    case BT_SWIM_ACK: bt_swim_put_ack(&w, p.seq, &p.clock); break;
    case BT_SWIM_NACK: bt_swim_put_seq(&w, p.seq); break;
    case BT_SWIM_PING_REQ:
        bt_swim_put_ping_req(&w, p.seq, p.budget_ms, &p.target, &p.target_addr);
        break;
    case BT_SWIM_CONFLICT:
        bt_swim_put_conflict(&w, &p.target, p.claimant_boot, p.holder_boot, &p.target_addr);
        break;
    default: break;
    }
    struct bt_rbuf r;
    struct bt_swim_bcast b;
    bt_rbuf_init(&r, p.bcasts, p.bcasts_len);
    while ((rc = bt_swim_next_bcast(&r, &b)) == 1)
        bt_swim_put_bcast(&w, &b);
    CHECK(rc == 0);
    CHECK(!w.overflow && w.len == size && memcmp(again, data, size) == 0);
    free(again);
}

static void check_pp(const uint8_t *data, size_t size)
{
    struct bt_swim_pp pp;
    int rc = bt_swim_decode_pp(data, size, &pp);
    if (rc < 0) {
        CHECK(rc == BATON_EPROTO || rc == BATON_EVERSION);
        return;
    }
    CHECK((size_t)rc == size);
    uint8_t *again = malloc(size + 1);
    CHECK(again != NULL);
    struct bt_wbuf w;
    bt_wbuf_init(&w, again, size + 1);
    bt_swim_put_pp_head(&w, (enum bt_swim_type)pp.hdr.type, &pp.hdr.sender, pp.hdr.sender_boot,
                        pp.flags, pp.count);
    struct bt_rbuf r;
    struct bt_member_info m;
    uint32_t n = 0;
    bt_rbuf_init(&r, pp.members, pp.members_len);
    while ((rc = bt_swim_next_pp_member(&r, &m)) == 1) {
        bt_swim_put_pp_entry(&w, m.name.bytes, m.name.len, m.addr.s, m.addr.len, m.boot_id,
                             m.incarnation, (uint8_t)m.state);
        n++;
    }
    CHECK(rc == 0 && n == pp.count);
    bt_swim_put_pp_user(&w, pp.user, pp.user_len);
    CHECK(!w.overflow && w.len == size && memcmp(again, data, size) == 0);
    free(again);
}

/* ---- a live instance -------------------------------------------------- */

static uint64_t fixed_random(void *ctx)
{
    uint64_t *s = ctx;
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s >> 11;
}

static void discard_send(void *ctx, enum bt_output_kind kind, const struct bt_addr *to,
                         uint64_t conn, const uint8_t *data, size_t len)
{
    /* Everything we send must itself decode. */
    if (kind == BT_OUT_PACKET) {
        struct bt_swim_packet p;
        CHECK(bt_swim_decode_packet(data, len, &p) == (int)len);
    } else {
        struct bt_swim_pp pp;
        CHECK(bt_swim_decode_pp(data, len, &pp) == (int)len);
    }
}

static void discard_event(void *ctx, const struct bt_event *ev) {}

static void deliver_and_forward(void *ctx, const struct bt_nodeid *from, const uint8_t *data,
                                size_t len)
{
    struct bt_swim *s = *(struct bt_swim **)ctx;
    (void)bt_swim_broadcast_user(s, data, len > 8 ? 8 : len, data, len, true, 0);
}

static void feed_swim(const uint8_t *data, size_t size)
{
    static struct bt_swim *holder;
    uint64_t rng = 42;
    struct bt_swim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bt_nodeid_set(&cfg.name, "node-a", 6);
    bt_swim_addr_set(&cfg.addr, "10.0.0.1:7946", 13);
    cfg.boot_id = 1;
    bt_swim_timing_profile(BT_PROFILE_LOCAL, &cfg.timing);
    cfg.max_packet = 1400;
    cfg.random = fixed_random;
    cfg.random_ctx = &rng;
    struct bt_swim_sink sink = {
        .ctx = &holder,
        .send = discard_send,
        .event = discard_event,
        .user_deliver = deliver_and_forward,
    };
    struct bt_swim *s = bt_swim_new(&cfg, &sink, 1000);
    CHECK(s != NULL);
    holder = s;
    CHECK(bt_swim_join(s, NULL, 0, 1000) == 0);

    /* Teach it two members with a well-formed gossip packet. */
    uint8_t buf[512];
    struct bt_wbuf w;
    struct bt_nodeid peer;
    bt_nodeid_set(&peer, "node-b", 6);
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &peer, 2);
    const char *names[] = {"node-b", "node-c"};
    for (int i = 0; i < 2; i++) {
        struct bt_swim_bcast b;
        memset(&b, 0, sizeof b);
        b.kind = BT_SWIM_B_ALIVE;
        bt_nodeid_set(&b.name, names[i], 6);
        b.boot = 2 + (uint64_t)i;
        char a[32];
        int n = snprintf(a, sizeof a, "10.0.0.%d:7946", 2 + i);
        bt_swim_addr_set(&b.addr, a, (size_t)n);
        bt_swim_put_bcast(&w, &b);
    }
    struct bt_addr from;
    bt_swim_addr_set(&from, "10.0.0.2:7946", 13);
    bt_swim_recv_packet(s, &from, buf, w.len, 1001);

    bt_swim_recv_packet(s, &from, data, size, 1002);
    bt_swim_recv_stream(s, &from, 7, data, size, 1003);
    for (uint64_t t = 1100; t < 20000; t += 250)
        bt_swim_tick(s, t);
    bt_swim_free(s);
    holder = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_packet(data, size);
    check_pp(data, size);
    feed_swim(data, size);
    return 0;
}
