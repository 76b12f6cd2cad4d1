/*
 * Fuzz target for what the runtime does with bytes from the network before
 * and after they reach the core: opening sealed datagrams
 * (src/runtime/keyring.c), reassembling and opening stream chunks
 * (src/runtime/frame.c), and handing what opens to a core node
 * (bt_node_recv, bt_node_recv_stream). The first input byte picks a mode:
 *
 *   0  the rest is a datagram from the network: opened under a two-key
 *      ring (it must fail: the fuzzer cannot forge a tag) and under the
 *      insecure ring, whose plaintext goes to a node;
 *   1  the rest is a TCP byte stream, fed in pieces (sizes from the input)
 *      to a sealed receiver (any message out of it would be a forgery) and
 *      to an insecure one, whose messages go to a node;
 *   2  the rest is a payload we seal ourselves, as a datagram and as a
 *      stream message, under the ring's second key after making it the
 *      primary: each must open to exactly the payload (also in pieces),
 *      and each must refuse the same bytes with one bit flipped.
 * A broken promise aborts; sanitizers report the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/node.h"
#include "fuzz/fuzz.h"
#include "runtime/frame.h"
#include "runtime/keyring.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "seal_fuzz: %s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t fixed_random(void *ctx)
{
    uint64_t *s = ctx;
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s;
}

static struct bt_node *new_node(uint64_t *rng)
{
    struct bt_node_config cfg;
    memset(&cfg, 0, sizeof cfg);
    bt_nodeid_set(&cfg.name, "n1", 2);
    memcpy(cfg.addr.s, "127.0.0.1:7001", 14);
    cfg.addr.len = 14;
    cfg.boot_id = 7;
    cfg.profile = BT_PROFILE_LOCAL;
    cfg.max_clock_offset_ms = 10000;
    cfg.random = fixed_random;
    cfg.random_ctx = rng;
    struct bt_time now = {1000, 1700000000000ULL};
    struct bt_node *n = bt_node_new(&cfg, now);
    CHECK(n != NULL);
    CHECK(bt_node_join(n, NULL, 0, now) == 0);
    return n;
}

static void drain(struct bt_node *n)
{
    struct bt_output out;
    uint8_t *owned;
    struct bt_event ev;
    while (bt_node_take_output(n, &out, &owned))
        free(owned);
    while (bt_node_pop_event(n, &ev)) {
    }
}

static void keyrings(struct bt_keyring *sealed, struct bt_keyring *plain)
{
    struct baton_key keys[2];
    memset(keys[0].bytes, 0x11, sizeof keys[0].bytes);
    memset(keys[1].bytes, 0x22, sizeof keys[1].bytes);
    CHECK(bt_keyring_init(sealed, keys, 2, false) == 0);
    CHECK(bt_keyring_init(plain, NULL, 0, true) == 0);
}

static void datagram(const uint8_t *data, size_t size)
{
    struct bt_keyring kr, plain;
    keyrings(&kr, &plain);
    uint8_t *buf = malloc(size ? size : 1);
    CHECK(buf != NULL);
    memcpy(buf, data, size);
    uint8_t *p;
    size_t plen;
    CHECK(bt_open_datagram(&kr, buf, size, &p, &plen) == BATON_EPROTO);
    CHECK(memcmp(buf, data, size) == 0); /* a failed open writes nothing */
    if (bt_open_datagram(&plain, buf, size, &p, &plen) == 0) {
        uint64_t rng = 1;
        struct bt_node *n = new_node(&rng);
        struct bt_addr from = {.len = 14};
        memcpy(from.s, "127.0.0.1:7002", 14);
        bt_node_recv(n, &from, p, plen, (struct bt_time){1010, 1700000000010ULL});
        drain(n);
        bt_node_tick(n, (struct bt_time){5000, 1700000004000ULL});
        drain(n);
        bt_node_free(n);
    }
    free(buf);
}

static void stream(const uint8_t *data, size_t size)
{
    struct bt_keyring kr, plain;
    keyrings(&kr, &plain);
    uint64_t rng = 1;
    struct bt_node *n = new_node(&rng);
    struct bt_addr from = {.len = 14};
    memcpy(from.s, "127.0.0.1:7002", 14);
    struct bt_frame_rx rx_sealed, rx_plain;
    bt_frame_rx_init(&rx_sealed, 1u << 20);
    bt_frame_rx_init(&rx_plain, 1u << 20);
    bool sealed_ok = true, plain_ok = true;
    size_t off = 0;
    /* Piece sizes come from the data itself: 1..64 bytes at a time. */
    while (off < size && (sealed_ok || plain_ok)) {
        size_t piece = 1 + data[off] % 64;
        if (piece > size - off)
            piece = size - off;
        const uint8_t *p = data + off;
        size_t left = piece;
        while (sealed_ok && left > 0) {
            size_t used;
            uint8_t flags;
            const uint8_t *msg;
            size_t mlen;
            int rc = bt_frame_rx_feed(&rx_sealed, &kr, p, left, &used, &flags, &msg, &mlen);
            CHECK(rc <= 0); /* nothing opens without the key */
            CHECK(used <= left);
            if (rc < 0)
                sealed_ok = false;
            p += used;
            left -= used;
            if (rc == 0)
                break;
        }
        p = data + off;
        left = piece;
        while (plain_ok && left > 0) {
            size_t used;
            uint8_t flags;
            const uint8_t *msg;
            size_t mlen;
            int rc = bt_frame_rx_feed(&rx_plain, &plain, p, left, &used, &flags, &msg, &mlen);
            CHECK(used <= left);
            p += used;
            left -= used;
            if (rc < 0) {
                CHECK(rc == BATON_EPROTO || rc == BATON_E2BIG || rc == BATON_ENOMEM);
                plain_ok = false;
                break;
            }
            if (rc == 0)
                break;
            CHECK((flags & BT_FRAME_FINAL) && mlen <= (1u << 20));
            bt_node_recv_stream(n, &from, 1, msg, mlen, (struct bt_time){1010, 1700000000010ULL});
            drain(n);
        }
        off += piece;
    }
    bt_frame_rx_free(&rx_sealed);
    bt_frame_rx_free(&rx_plain);
    bt_node_free(n);
}

/* Feeds wire bytes to a fresh receiver in pieces of `piece`; returns the
 * message (copied into out) length, or -1 if none or a failure. */
static long receive(const struct bt_keyring *kr, const uint8_t *wire, size_t len, size_t piece,
                    uint8_t *out)
{
    struct bt_frame_rx rx;
    bt_frame_rx_init(&rx, 1u << 20);
    long got = -1;
    size_t off = 0;
    while (off < len && got < 0) {
        size_t n = piece < len - off ? piece : len - off;
        size_t used;
        uint8_t flags;
        const uint8_t *msg;
        size_t mlen;
        int rc = bt_frame_rx_feed(&rx, kr, wire + off, n, &used, &flags, &msg, &mlen);
        off += used;
        if (rc < 0)
            break;
        if (rc == 1) {
            memcpy(out, msg, mlen);
            got = (long)mlen;
        }
    }
    bt_frame_rx_free(&rx);
    return got;
}

static void roundtrip(const uint8_t *data, size_t size)
{
    struct bt_keyring kr, plain;
    keyrings(&kr, &plain);
    struct baton_key second;
    memset(second.bytes, 0x22, sizeof second.bytes);
    CHECK(bt_keyring_use(&kr, &second) == 0);
    /* Datagram. */
    uint8_t *dg = malloc(size + BT_SEAL_DGRAM_OVERHEAD);
    CHECK(dg != NULL);
    size_t dlen = bt_seal_datagram(&kr, data, size, dg, size + BT_SEAL_DGRAM_OVERHEAD);
    CHECK(dlen == size + BT_SEAL_DGRAM_OVERHEAD);
    size_t flip = size > 0 ? data[0] % dlen : 0;
    dg[flip] ^= 0x01;
    uint8_t *p;
    size_t plen;
    CHECK(bt_open_datagram(&kr, dg, dlen, &p, &plen) == BATON_EPROTO);
    dg[flip] ^= 0x01;
    CHECK(bt_open_datagram(&kr, dg, dlen, &p, &plen) == 0);
    CHECK(plen == size && memcmp(p, data, size) == 0);
    free(dg);
    /* Stream message: seal, lay the pieces out as the wire would, reopen. */
    size_t nchunks = bt_frame_chunks(size);
    uint8_t *msg = malloc(size ? size : 1);
    uint8_t *heads = malloc(nchunks * BT_FRAME_PREFIX);
    uint8_t *tails = malloc(nchunks * BT_SEAL_CHUNK_TAIL);
    struct bt_iov *iov = malloc(nchunks * 3 * sizeof *iov);
    size_t wcap = size + nchunks * (BT_FRAME_PREFIX + BT_SEAL_CHUNK_TAIL);
    uint8_t *wire = malloc(wcap);
    uint8_t *back = malloc(size ? size : 1);
    CHECK(msg && heads && tails && iov && wire && back);
    memcpy(msg, data, size);
    uint64_t seq = 0;
    size_t niov = bt_frame_seal(&kr, &seq, 0, msg, size, heads, tails, iov);
    CHECK(seq == nchunks);
    size_t wlen = 0;
    for (size_t i = 0; i < niov; i++) {
        CHECK(wlen + iov[i].len <= wcap);
        memcpy(wire + wlen, iov[i].base, iov[i].len);
        wlen += iov[i].len;
    }
    size_t piece = size > 1 ? 1 + data[1] % 200 : 7;
    CHECK(receive(&kr, wire, wlen, piece, back) == (long)size);
    CHECK(memcmp(back, data, size) == 0);
    flip = size > 2 ? (data[2] * 131u + data[1]) % wlen : wlen / 2;
    wire[flip] ^= 0x80;
    CHECK(receive(&kr, wire, wlen, piece, back) == -1);
    free(msg);
    free(heads);
    free(tails);
    free(iov);
    free(wire);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 18))
        return 0;
    switch (data[0] % 3) {
    case 0: datagram(data + 1, size - 1); break;
    case 1: stream(data + 1, size - 1); break;
    default: roundtrip(data + 1, size - 1); break;
    }
    return 0;
}
