/* Tests of src/core/swim_proto.c: round trips of every message, and rejects:
 * every truncation, bad versions and types, every bound. Inputs are decoded
 * from heap copies of exactly their length, so under ASan a read one byte
 * past the end fails loudly. */
#include "unit/test_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/swim_proto.h"

static struct bt_nodeid nid(const char *s)
{
    struct bt_nodeid id;
    assert_int_equal(bt_nodeid_set(&id, s, strlen(s)), 0);
    return id;
}

static struct bt_addr addr(const char *s)
{
    struct bt_addr a;
    assert_int_equal(bt_swim_addr_set(&a, s, strlen(s)), 0);
    return a;
}

/* Decoders run on an exact-size heap copy: the input ends at the end of an
 * allocation. */
static int decode_packet_exact(const uint8_t *p, size_t len, struct bt_swim_packet *out,
                               uint8_t **keep)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    int rc = bt_swim_decode_packet(copy, len, out);
    if (keep)
        *keep = copy;
    else
        free(copy);
    return rc;
}

static int decode_pp_exact(const uint8_t *p, size_t len, struct bt_swim_pp *out, uint8_t **keep)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    int rc = bt_swim_decode_pp(copy, len, out);
    if (keep)
        *keep = copy;
    else
        free(copy);
    return rc;
}

/* A PING carrying one broadcast of each kind; boundaries[] receives the
 * offsets at which a prefix is itself a whole packet. */
static size_t build_ping_with_all_broadcasts(uint8_t *buf, size_t cap, size_t *boundaries,
                                             size_t *nb)
{
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, cap);
    struct bt_nodeid me = nid("node-a"), target = nid("node-b");
    bt_swim_put_header(&w, BT_SWIM_PING, &me, 0x1122334455667788u);
    struct bt_swim_clock clock = {1700000000123u, BT_SWIM_CLOCK_REFUSED, 0x0102030405060708u, 9};
    bt_swim_put_ping(&w, 77, &target, &clock);
    *nb = 0;
    boundaries[(*nb)++] = w.len;

    struct bt_swim_bcast b;
    memset(&b, 0, sizeof b);
    b.kind = BT_SWIM_B_ALIVE;
    b.name = nid("node-c");
    b.boot = 42;
    b.incarnation = 7;
    b.addr = addr("10.1.2.3:7946");
    bt_swim_put_bcast(&w, &b);
    boundaries[(*nb)++] = w.len;
    b.kind = BT_SWIM_B_SUSPECT;
    b.from = nid("node-d");
    bt_swim_put_bcast(&w, &b);
    boundaries[(*nb)++] = w.len;
    b.kind = BT_SWIM_B_DEAD;
    bt_swim_put_bcast(&w, &b);
    boundaries[(*nb)++] = w.len;
    b.kind = BT_SWIM_B_LEFT;
    bt_swim_put_bcast(&w, &b);
    boundaries[(*nb)++] = w.len;
    memset(&b, 0, sizeof b);
    b.kind = BT_SWIM_B_USER;
    b.user = (const uint8_t *)"opaque user bytes";
    b.user_len = 17;
    bt_swim_put_bcast(&w, &b);
    boundaries[(*nb)++] = w.len;
    memset(&b, 0, sizeof b);
    b.kind = BT_SWIM_B_CLOCK;
    b.name = nid("node-c");
    b.boot = 42;
    b.clock.flags = BT_SWIM_CLOCK_REFUSED;
    b.clock.ceiling = 0x0a0b0c0d0e0f1011u;
    b.clock.seq = 0xfffffff0u;
    bt_swim_put_bcast(&w, &b);
    boundaries[(*nb)++] = w.len;
    assert_false(w.overflow);
    return w.len;
}

static void ping_with_every_broadcast_kind_round_trips(void **state)
{
    uint8_t buf[1400];
    size_t bounds[8], nb;
    size_t len = build_ping_with_all_broadcasts(buf, sizeof buf, bounds, &nb);
    struct bt_swim_packet p;
    uint8_t *keep;
    assert_int_equal(decode_packet_exact(buf, len, &p, &keep), (int)len);
    assert_int_equal(p.hdr.type, BT_SWIM_PING);
    assert_string_equal(p.hdr.sender.bytes, "node-a");
    assert_true(p.hdr.sender_boot == 0x1122334455667788u);
    assert_int_equal(p.seq, 77);
    assert_string_equal(p.target.bytes, "node-b");
    assert_true(p.clock.wall_ms == 1700000000123u);
    assert_int_equal(p.clock.flags, BT_SWIM_CLOCK_REFUSED);
    assert_true(p.clock.ceiling == 0x0102030405060708u);
    assert_int_equal(p.clock.seq, 9);

    struct bt_rbuf r;
    struct bt_swim_bcast b;
    bt_rbuf_init(&r, p.bcasts, p.bcasts_len);
    const uint8_t kinds[] = {BT_SWIM_B_ALIVE, BT_SWIM_B_SUSPECT, BT_SWIM_B_DEAD,
                             BT_SWIM_B_LEFT,  BT_SWIM_B_USER,    BT_SWIM_B_CLOCK};
    for (size_t i = 0; i < sizeof kinds; i++) {
        assert_int_equal(bt_swim_next_bcast(&r, &b), 1);
        assert_int_equal(b.kind, kinds[i]);
        /* What its kind does not carry is empty, whatever the broadcast
         * before it left in b (the kinds above follow one another so that
         * each would show the last one's). */
        if (b.kind != BT_SWIM_B_ALIVE)
            assert_int_equal(b.addr.len, 0);
        if (b.kind != BT_SWIM_B_SUSPECT && b.kind != BT_SWIM_B_DEAD)
            assert_int_equal(b.from.len, 0);
        if (b.kind != BT_SWIM_B_USER)
            assert_true(b.user == NULL && b.user_len == 0);
        if (b.kind != BT_SWIM_B_CLOCK)
            assert_true(b.clock.seq == 0 && b.clock.ceiling == 0 && b.clock.flags == 0);
        if (b.kind == BT_SWIM_B_USER || b.kind == BT_SWIM_B_CLOCK)
            assert_int_equal(b.incarnation, 0);
        if (b.kind == BT_SWIM_B_USER) {
            assert_int_equal(b.name.len, 0);
            assert_int_equal(b.boot, 0);
            assert_int_equal(b.user_len, 17);
            assert_memory_equal(b.user, "opaque user bytes", 17);
            continue;
        }
        if (b.kind == BT_SWIM_B_CLOCK) {
            assert_string_equal(b.name.bytes, "node-c");
            assert_int_equal(b.boot, 42);
            assert_int_equal(b.clock.flags, BT_SWIM_CLOCK_REFUSED);
            assert_true(b.clock.ceiling == 0x0a0b0c0d0e0f1011u);
            assert_true(b.clock.seq == 0xfffffff0u);
            continue;
        }
        assert_string_equal(b.name.bytes, "node-c");
        assert_int_equal(b.boot, 42);
        assert_int_equal(b.incarnation, 7);
        if (b.kind == BT_SWIM_B_ALIVE)
            assert_string_equal(b.addr.s, "10.1.2.3:7946");
        if (b.kind == BT_SWIM_B_SUSPECT || b.kind == BT_SWIM_B_DEAD)
            assert_string_equal(b.from.bytes, "node-d");
    }
    assert_int_equal(bt_swim_next_bcast(&r, &b), 0);

    /* The look-ahead finds the same broadcasts, each's member but USER's. */
    const uint8_t *at = p.bcasts;
    size_t left = p.bcasts_len;
    for (size_t i = 0; i < sizeof kinds; i++) {
        const uint8_t *name;
        size_t name_len;
        size_t step = bt_swim_peek_bcast(at, left, &name, &name_len);
        assert_int_equal(step, bounds[i + 1] - bounds[i]);
        if (kinds[i] == BT_SWIM_B_USER) {
            assert_null(name);
            assert_int_equal(name_len, 0);
        } else {
            assert_int_equal(name_len, 6);
            assert_memory_equal(name, "node-c", 6);
        }
        at += step;
        left -= step;
    }
    const uint8_t *name;
    size_t name_len;
    assert_int_equal(bt_swim_peek_bcast(at, left, &name, &name_len), 0);
    assert_int_equal(bt_swim_peek_bcast(p.bcasts, 2, &name, &name_len), 0); /* cut short */
    free(keep);
}

static void every_datagram_type_round_trips(void **state)
{
    uint8_t buf[512];
    struct bt_wbuf w;
    struct bt_swim_packet p;
    struct bt_nodeid me = nid("a"), target = nid("b");
    struct bt_addr where = addr("[::1]:9");

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_ACK, &me, 1);
    struct bt_swim_clock ack_clock = {UINT64_MAX, 0, 0, UINT32_MAX};
    bt_swim_put_ack(&w, 0xfffffffeu, &ack_clock);
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), (int)w.len);
    assert_int_equal(p.hdr.type, BT_SWIM_ACK);
    assert_true(p.seq == 0xfffffffeu);
    assert_true(p.clock.wall_ms == UINT64_MAX);
    assert_int_equal(p.clock.flags, 0);
    assert_true(p.clock.ceiling == 0);
    assert_true(p.clock.seq == UINT32_MAX);
    /* A ceiling without BT_SWIM_CLOCK_REFUSED is malformed (one spelling). */
    buf[w.len - 5] = 0x01;
    assert_int_equal(bt_swim_decode_packet(buf, w.len, &p), BATON_EPROTO);
    buf[w.len - 5] = 0x00;
    /* Unknown flags, and both flags at once, are malformed. */
    buf[w.len - 13] = 0x04;
    assert_int_equal(bt_swim_decode_packet(buf, w.len, &p), BATON_EPROTO);
    buf[w.len - 13] = BT_SWIM_CLOCK_REFUSED | BT_SWIM_CLOCK_PENDING;
    assert_int_equal(bt_swim_decode_packet(buf, w.len, &p), BATON_EPROTO);
    buf[w.len - 13] = BT_SWIM_CLOCK_PENDING;
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), (int)w.len);
    assert_int_equal(p.clock.flags, BT_SWIM_CLOCK_PENDING);
    assert_int_equal(p.bcasts_len, 0);

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_NACK, &me, 1);
    bt_swim_put_seq(&w, 5);
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), (int)w.len);
    assert_int_equal(p.hdr.type, BT_SWIM_NACK);

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_PING_REQ, &me, 1);
    bt_swim_put_ping_req(&w, 9, 250, &target, &where);
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), (int)w.len);
    assert_int_equal(p.seq, 9);
    assert_int_equal(p.budget_ms, 250);
    assert_string_equal(p.target.bytes, "b");
    assert_string_equal(p.target_addr.s, "[::1]:9");

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &me, 1);
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), (int)w.len);
    assert_int_equal(p.hdr.type, BT_SWIM_GOSSIP);

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_CONFLICT, &me, 1);
    bt_swim_put_conflict(&w, &target, 11, 22, &where);
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), (int)w.len);
    assert_string_equal(p.target.bytes, "b");
    assert_int_equal(p.claimant_boot, 11);
    assert_int_equal(p.holder_boot, 22);
    assert_string_equal(p.target_addr.s, "[::1]:9");

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_DIGEST, &me, 1);
    bt_swim_put_digest(&w, (const uint8_t *)"summary", 7);
    uint8_t *keep = NULL;
    assert_int_equal(decode_packet_exact(buf, w.len, &p, &keep), (int)w.len);
    assert_int_equal(p.hdr.type, BT_SWIM_DIGEST);
    assert_int_equal(p.digest_len, 7);
    assert_memory_equal(p.digest, "summary", 7);
    assert_int_equal(p.bcasts_len, 0);
    free(keep);
}

/* A DIGEST carries 1..BT_SWIM_DIGEST_MAX bytes, all of them present. */
static void digest_bounds_are_enforced(void **state)
{
    static uint8_t buf[2048], body[BT_SWIM_DIGEST_MAX + 1];
    struct bt_wbuf w;
    struct bt_swim_packet p;
    struct bt_nodeid me = nid("a");
    memset(body, 0xab, sizeof body);
    const size_t lens[] = {0, 1, BT_SWIM_DIGEST_MAX, BT_SWIM_DIGEST_MAX + 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        bt_wbuf_init(&w, buf, sizeof buf);
        bt_swim_put_header(&w, BT_SWIM_DIGEST, &me, 1);
        bt_swim_put_digest(&w, body, lens[i]);
        assert_false(w.overflow);
        bool ok = lens[i] >= 1 && lens[i] <= BT_SWIM_DIGEST_MAX;
        assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), ok ? (int)w.len : BATON_EPROTO);
        /* Any truncation of a good one is refused. */
        for (size_t cut = 0; ok && cut < w.len; cut++)
            assert_int_equal(decode_packet_exact(buf, cut, &p, NULL), BATON_EPROTO);
    }
}

static void every_truncation_of_a_datagram_is_rejected_or_a_whole_prefix(void **state)
{
    uint8_t buf[1400];
    size_t bounds[8], nb;
    size_t len = build_ping_with_all_broadcasts(buf, sizeof buf, bounds, &nb);
    for (size_t cut = 0; cut < len; cut++) {
        struct bt_swim_packet p;
        int rc = decode_packet_exact(buf, cut, &p, NULL);
        bool whole = false;
        for (size_t i = 0; i < nb; i++)
            whole = whole || bounds[i] == cut;
        if (whole)
            assert_int_equal(rc, (int)cut);
        else
            assert_int_equal(rc, BATON_EPROTO);
    }
}

static void bad_version_and_type_are_rejected(void **state)
{
    uint8_t buf[64];
    struct bt_wbuf w;
    struct bt_swim_packet p;
    struct bt_swim_pp pp;
    struct bt_nodeid me = nid("a");

    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &me, 1);
    buf[0] = BT_SWIM_VERSION + 1;
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), BATON_EVERSION);
    assert_int_equal(decode_pp_exact(buf, w.len, &pp, NULL), BATON_EVERSION);
    buf[0] = 0;
    assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), BATON_EVERSION);
    buf[0] = BT_SWIM_VERSION;

    const uint8_t bad_types[] = {0, 8, 15, BT_SWIM_PP_REQ, BT_SWIM_PP_REPLY, 255};
    for (size_t i = 0; i < sizeof bad_types; i++) {
        buf[1] = bad_types[i];
        assert_int_equal(decode_packet_exact(buf, w.len, &p, NULL), BATON_EPROTO);
    }
    /* A datagram type is no push-pull. */
    buf[1] = BT_SWIM_GOSSIP;
    assert_int_equal(decode_pp_exact(buf, w.len, &pp, NULL), BATON_EPROTO);
    assert_int_equal(decode_packet_exact(buf, 0, &p, NULL), BATON_EPROTO);
    assert_int_equal(decode_pp_exact(buf, 0, &pp, NULL), BATON_EPROTO);
}

/* A GOSSIP header followed by one raw broadcast (kind, len, body). */
static size_t gossip_with_raw_bcast(uint8_t *buf, size_t cap, uint8_t kind, const uint8_t *body,
                                    size_t body_len, size_t claimed_len)
{
    struct bt_wbuf w;
    struct bt_nodeid me = nid("a");
    bt_wbuf_init(&w, buf, cap);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &me, 1);
    bt_put_u8(&w, kind);
    bt_put_u16(&w, (uint16_t)claimed_len);
    bt_put_bytes(&w, body, body_len);
    assert_false(w.overflow);
    return w.len;
}

static void broadcast_bounds_are_enforced(void **state)
{
    uint8_t buf[4096], body[2048];
    struct bt_swim_packet p;
    size_t len;

    /* A well-formed LEFT body, to break one field at a time. */
    struct bt_wbuf bw;
    bt_wbuf_init(&bw, body, sizeof body);
    bt_put_str8(&bw, "node-c", 6);
    bt_put_u64(&bw, 1);
    bt_put_u32(&bw, 2);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_LEFT, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), (int)len);

    assert_int_equal(bt_swim_decode_packet(buf, len, &p), (int)len);
    const uint8_t *bcasts = p.bcasts; /* in buf */

    /* Unknown kinds. */
    len = gossip_with_raw_bcast(buf, sizeof buf, 0, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    /* The head alone does not look at the broadcasts: it finds them where
     * the whole decode does. */
    memset(&p, 0xa5, sizeof p);
    assert_int_equal(bt_swim_decode_head(buf, len, &p), (int)len);
    assert_ptr_equal(p.bcasts, bcasts);
    assert_int_equal(p.bcasts_len, 3 + bw.len);
    assert_int_equal(bt_swim_decode_head(buf, (size_t)(bcasts - buf) - 1, &p), BATON_EPROTO);
    len = gossip_with_raw_bcast(buf, sizeof buf, 7, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    /* A LEFT body is no CLOCK body (one byte short of one). */
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_CLOCK, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    /* A trailing byte inside the body. */
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_LEFT, body, bw.len + 1, bw.len + 1);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    /* A length beyond the packet. */
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_LEFT, body, bw.len, bw.len + 1);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    /* An empty body. */
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_USER, body, 0, 0);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    /* User payloads: at the bound, and one past it. */
    memset(body, 'u', sizeof body);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_USER, body, BT_SWIM_USER_MAX,
                                BT_SWIM_USER_MAX);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), (int)len);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_USER, body, BT_SWIM_USER_MAX + 1,
                                BT_SWIM_USER_MAX + 1);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);

    /* Names: a bad character, too long, empty. */
    bt_wbuf_init(&bw, body, sizeof body);
    bt_put_str8(&bw, "node c", 6);
    bt_put_u64(&bw, 1);
    bt_put_u32(&bw, 2);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_LEFT, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    char longname[BATON_NODE_MAX + 1];
    memset(longname, 'n', sizeof longname);
    bt_wbuf_init(&bw, body, sizeof body);
    bt_put_str8(&bw, longname, sizeof longname);
    bt_put_u64(&bw, 1);
    bt_put_u32(&bw, 2);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_LEFT, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    bt_wbuf_init(&bw, body, sizeof body);
    bt_put_u8(&bw, 0);
    bt_put_u64(&bw, 1);
    bt_put_u32(&bw, 2);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_LEFT, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);

    /* Addresses: a space, and one byte too long. */
    char longaddr[BT_ADDR_MAX + 1];
    memset(longaddr, 'x', sizeof longaddr);
    const char *bad_addrs[] = {"10.0.0.1 7946", longaddr};
    size_t bad_lens[] = {13, sizeof longaddr};
    for (int i = 0; i < 2; i++) {
        bt_wbuf_init(&bw, body, sizeof body);
        bt_put_str8(&bw, "node-c", 6);
        bt_put_u64(&bw, 1);
        bt_put_u32(&bw, 2);
        bt_put_str8(&bw, bad_addrs[i], bad_lens[i]);
        len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_ALIVE, body, bw.len, bw.len);
        assert_int_equal(decode_packet_exact(buf, len, &p, NULL), BATON_EPROTO);
    }
    /* CLOCK words: well formed; a ceiling without BT_SWIM_CLOCK_REFUSED,
     * unknown flags and both flags are malformed, as in a clock block. */
    const struct {
        uint8_t flags;
        uint64_t ceiling;
        bool ok;
    } words[] = {{0, 0, true},
                 {BT_SWIM_CLOCK_PENDING, 0, true},
                 {BT_SWIM_CLOCK_REFUSED, 5, true},
                 {0, 5, false},
                 {BT_SWIM_CLOCK_PENDING, 5, false},
                 {0x04, 0, false},
                 {BT_SWIM_CLOCK_REFUSED | BT_SWIM_CLOCK_PENDING, 0, false}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        bt_wbuf_init(&bw, body, sizeof body);
        bt_put_str8(&bw, "node-c", 6);
        bt_put_u64(&bw, 1);
        bt_put_u8(&bw, words[i].flags);
        bt_put_u64(&bw, words[i].ceiling);
        bt_put_u32(&bw, 3);
        len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_CLOCK, body, bw.len, bw.len);
        assert_int_equal(decode_packet_exact(buf, len, &p, NULL),
                         words[i].ok ? (int)len : BATON_EPROTO);
    }
    /* The same with an address exactly BT_ADDR_MAX long is fine. */
    bt_wbuf_init(&bw, body, sizeof body);
    bt_put_str8(&bw, "node-c", 6);
    bt_put_u64(&bw, 1);
    bt_put_u32(&bw, 2);
    bt_put_str8(&bw, longaddr, BT_ADDR_MAX);
    len = gossip_with_raw_bcast(buf, sizeof buf, BT_SWIM_B_ALIVE, body, bw.len, bw.len);
    assert_int_equal(decode_packet_exact(buf, len, &p, NULL), (int)len);
}

static void oversized_datagram_is_rejected(void **state)
{
    size_t len = BT_SWIM_PACKET_MAX + 1;
    uint8_t *buf = calloc(1, len);
    assert_non_null(buf);
    struct bt_wbuf w;
    struct bt_nodeid me = nid("a");
    bt_wbuf_init(&w, buf, len);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &me, 1);
    struct bt_swim_packet p;
    assert_int_equal(bt_swim_decode_packet(buf, len, &p), BATON_EPROTO);
    free(buf);
}

static void encoders_refuse_what_decoders_would_refuse(void **state)
{
    uint8_t buf[4096], big[BT_SWIM_USER_MAX + 1];
    struct bt_wbuf w;
    struct bt_swim_bcast b;
    memset(&b, 0, sizeof b);
    memset(big, 1, sizeof big);
    b.kind = BT_SWIM_B_USER;
    b.user = big;
    b.user_len = sizeof big;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert_true(w.overflow);

    b.user_len = 0;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert_true(w.overflow);

    b.kind = 99;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert_true(w.overflow);

    /* bt_swim_bcast_size() matches what is written. */
    memset(&b, 0, sizeof b);
    b.kind = BT_SWIM_B_SUSPECT;
    b.name = nid("some-node");
    b.from = nid("other");
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert_int_equal(w.len, bt_swim_bcast_size(&b));
}

static size_t build_pp(uint8_t *buf, size_t cap, uint32_t n, const uint8_t *user, size_t ulen,
                       size_t *member_ends)
{
    struct bt_wbuf w;
    struct bt_nodeid me = nid("seed-1");
    bt_wbuf_init(&w, buf, cap);
    bt_swim_put_pp_head(&w, BT_SWIM_PP_REQ, &me, 99, BT_SWIM_PP_JOIN, n);
    for (uint32_t i = 0; i < n; i++) {
        struct bt_member_info m;
        memset(&m, 0, sizeof m);
        char name[32], a[32];
        snprintf(name, sizeof name, "member-%u", i);
        snprintf(a, sizeof a, "10.0.%u.%u:7946", i / 256, i % 256);
        m.name = nid(name);
        m.addr = addr(a);
        m.boot_id = 1000 + i;
        m.incarnation = i * 3;
        m.state = (enum bt_member_state)(i % 4);
        bt_swim_put_pp_entry(&w, m.name.bytes, m.name.len, m.addr.s, m.addr.len, m.boot_id,
                             m.incarnation, (uint8_t)m.state);
        if (member_ends)
            member_ends[i] = w.len;
    }
    bt_swim_put_pp_user(&w, user, ulen);
    assert_false(w.overflow);
    return w.len;
}

static void push_pull_round_trips(void **state)
{
    uint8_t buf[8192];
    const uint8_t user[] = "the replication layer's snapshot";
    size_t len = build_pp(buf, sizeof buf, 20, user, sizeof user, NULL);
    struct bt_swim_pp pp;
    uint8_t *keep;
    assert_int_equal(decode_pp_exact(buf, len, &pp, &keep), (int)len);
    assert_int_equal(pp.hdr.type, BT_SWIM_PP_REQ);
    assert_string_equal(pp.hdr.sender.bytes, "seed-1");
    assert_int_equal(pp.hdr.sender_boot, 99);
    assert_int_equal(pp.flags, BT_SWIM_PP_JOIN);
    assert_int_equal(pp.count, 20);
    assert_int_equal(pp.user_len, sizeof user);
    assert_memory_equal(pp.user, user, sizeof user);
    struct bt_rbuf r;
    struct bt_member_info m;
    bt_rbuf_init(&r, pp.members, pp.members_len);
    for (uint32_t i = 0; i < 20; i++) {
        assert_int_equal(bt_swim_next_pp_member(&r, &m), 1);
        char name[32];
        snprintf(name, sizeof name, "member-%u", i);
        assert_string_equal(m.name.bytes, name);
        assert_int_equal(m.boot_id, 1000 + i);
        assert_int_equal(m.incarnation, i * 3);
        assert_int_equal(m.state, (enum bt_member_state)(i % 4));
    }
    assert_int_equal(bt_swim_next_pp_member(&r, &m), 0);
    free(keep);

    /* Empty member list and no user state. */
    len = build_pp(buf, sizeof buf, 0, NULL, 0, NULL);
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), (int)len);
    assert_int_equal(pp.count, 0);
    assert_null(pp.user);
}

static void every_truncation_of_a_push_pull_is_rejected(void **state)
{
    uint8_t buf[8192];
    const uint8_t user[] = "abc";
    size_t len = build_pp(buf, sizeof buf, 6, user, sizeof user, NULL);
    struct bt_swim_pp pp;
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(decode_pp_exact(buf, cut, &pp, NULL), BATON_EPROTO);
    /* And a trailing byte. */
    buf[len] = 0;
    assert_int_equal(decode_pp_exact(buf, len + 1, &pp, NULL), BATON_EPROTO);
}

static void push_pull_bounds_are_enforced(void **state)
{
    uint8_t buf[8192];
    size_t ends[4];
    struct bt_swim_pp pp;
    size_t len = build_pp(buf, sizeof buf, 4, NULL, 0, ends);
    size_t head = BT_SWIM_HEADER_MAX - (BATON_NODE_MAX - 6); /* "seed-1" */
    /* flags at head, count at head + 1. */
    assert_int_equal(buf[head], BT_SWIM_PP_JOIN);

    buf[head] = 0x02; /* unknown flag */
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), BATON_EPROTO);
    buf[head] = BT_SWIM_PP_JOIN;

    /* A count beyond the bytes, and beyond the bound. */
    buf[head + 4] = 5;
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), BATON_EPROTO);
    buf[head + 1] = 0xff;
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), BATON_EPROTO);
    buf[head + 1] = 0;
    buf[head + 4] = 4;
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), (int)len);

    /* A member state beyond LEFT (the last byte of the first entry). */
    buf[ends[0] - 1] = 4;
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), BATON_EPROTO);
    buf[ends[0] - 1] = 0;

    /* A user length beyond the bytes. */
    buf[len - 1] = 1;
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), BATON_EPROTO);
    buf[len - 4] = 0xff; /* and beyond BT_SWIM_USER_CHUNK_MAX */
    assert_int_equal(decode_pp_exact(buf, len, &pp, NULL), BATON_EPROTO);
}

/* The continuations decode like the opening messages; a message longer
 * than BT_STREAM_MSG_MAX is refused whatever it holds, and the longest
 * allowed user chunk fits one message. */
static void push_pull_continuations_and_the_message_bound(void **state)
{
    size_t cap = BT_STREAM_MSG_MAX + 64;
    uint8_t *buf = calloc(1, cap);
    uint8_t *user = calloc(1, BT_SWIM_USER_CHUNK_MAX + 1);
    assert_non_null(buf);
    assert_non_null(user);
    /* The longest node name makes the longest head. */
    char longest[BATON_NODE_MAX + 1];
    memset(longest, 'a', BATON_NODE_MAX);
    longest[BATON_NODE_MAX] = 0;
    struct bt_nodeid me = nid(longest);
    struct bt_swim_pp pp;
    const enum bt_swim_type types[] = {BT_SWIM_PP_REQ, BT_SWIM_PP_REPLY, BT_SWIM_PP_REQ_MORE,
                                       BT_SWIM_PP_REPLY_MORE};
    for (size_t k = 0; k < 4; k++) {
        struct bt_wbuf w;
        bt_wbuf_init(&w, buf, cap);
        bt_swim_put_pp_head(&w, types[k], &me, 7, 0, 0);
        assert_int_equal(w.len, BT_SWIM_PP_HEAD_MAX);
        bt_swim_put_pp_user(&w, user, BT_SWIM_USER_CHUNK_MAX);
        assert_false(w.overflow);
        assert_int_equal(w.len, BT_STREAM_MSG_MAX);
        assert_int_equal(bt_swim_decode_pp(buf, w.len, &pp), (int)w.len);
        assert_int_equal(pp.hdr.type, types[k]);
        assert_int_equal(pp.user_len, BT_SWIM_USER_CHUNK_MAX);
    }
    /* One more user byte does not encode, and does not decode. */
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, cap);
    bt_swim_put_pp_head(&w, BT_SWIM_PP_REQ_MORE, &me, 7, 0, 0);
    bt_swim_put_pp_user(&w, user, BT_SWIM_USER_CHUNK_MAX + 1);
    assert_true(w.overflow);
    size_t head = BT_SWIM_PP_HEAD_MAX;
    size_t ulen = BT_SWIM_USER_CHUNK_MAX + 1;
    buf[head] = (uint8_t)(ulen >> 24);
    buf[head + 1] = (uint8_t)(ulen >> 16);
    buf[head + 2] = (uint8_t)(ulen >> 8);
    buf[head + 3] = (uint8_t)ulen;
    assert_int_equal(bt_swim_decode_pp(buf, head + 4 + ulen, &pp), BATON_EPROTO);
    /* No other type is a push-pull. */
    buf[1] = 20;
    assert_int_equal(bt_swim_decode_pp(buf, BT_SWIM_PP_HEAD_MAX + 4, &pp), BATON_EPROTO);
    free(buf);
    free(user);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void random_mutations_never_crash(void **state)
{
    uint64_t seed = 0x5eed5eedu;
    const char *env = getenv("BT_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    printf("random_mutations_never_crash: seed %llu (replay: BT_SEED=%llu swim_proto_test "
           "random_mutations_never_crash)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    uint64_t rng = seed ? seed : 1;
    uint8_t good_pkt[1400], good_pp[8192];
    size_t bounds[8], nb;
    size_t plen = build_ping_with_all_broadcasts(good_pkt, sizeof good_pkt, bounds, &nb);
    size_t pplen = build_pp(good_pp, sizeof good_pp, 5, (const uint8_t *)"xy", 2, NULL);
    for (int iter = 0; iter < 20000; iter++) {
        bool pp = iter & 1;
        const uint8_t *src = pp ? good_pp : good_pkt;
        size_t len = pp ? pplen : plen;
        uint8_t *m = malloc(len);
        memcpy(m, src, len);
        int flips = 1 + (int)(xorshift(&rng) % 4);
        for (int f = 0; f < flips; f++)
            m[xorshift(&rng) % len] ^= (uint8_t)(1u << (xorshift(&rng) % 8));
        size_t cut = len - (size_t)(xorshift(&rng) % 3);
        if (pp) {
            struct bt_swim_pp out;
            int rc = bt_swim_decode_pp(m, cut, &out);
            if (rc >= 0) {
                struct bt_rbuf r;
                struct bt_member_info mi;
                bt_rbuf_init(&r, out.members, out.members_len);
                uint32_t c = 0;
                while ((rc = bt_swim_next_pp_member(&r, &mi)) == 1)
                    c++;
                assert_int_equal(rc, 0);
                assert_int_equal(c, out.count);
            }
        } else {
            struct bt_swim_packet out;
            int rc = bt_swim_decode_packet(m, cut, &out);
            if (rc >= 0) {
                struct bt_rbuf r;
                struct bt_swim_bcast b;
                bt_rbuf_init(&r, out.bcasts, out.bcasts_len);
                while ((rc = bt_swim_next_bcast(&r, &b)) == 1)
                    ;
                assert_int_equal(rc, 0);
            }
        }
        free(m);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ping_with_every_broadcast_kind_round_trips),
    cmocka_unit_test(every_datagram_type_round_trips),
    cmocka_unit_test(every_truncation_of_a_datagram_is_rejected_or_a_whole_prefix),
    cmocka_unit_test(bad_version_and_type_are_rejected),
    cmocka_unit_test(broadcast_bounds_are_enforced),
    cmocka_unit_test(oversized_datagram_is_rejected),
    cmocka_unit_test(encoders_refuse_what_decoders_would_refuse),
    cmocka_unit_test(push_pull_round_trips),
    cmocka_unit_test(every_truncation_of_a_push_pull_is_rejected),
    cmocka_unit_test(push_pull_bounds_are_enforced),
    cmocka_unit_test(push_pull_continuations_and_the_message_bound),
    cmocka_unit_test(random_mutations_never_crash),
    cmocka_unit_test(digest_bounds_are_enforced),
};

BT_TEST_MAIN(tests)
