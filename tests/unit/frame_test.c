/* Tests of src/runtime/frame.c: stream messages cut into sealed chunks and
 * put back together, whatever pieces the bytes arrive in. */
#include "unit/test_main.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/frame.h"

static struct bt_keyring ring(bool insecure)
{
    struct bt_keyring kr;
    struct baton_key k;
    memset(k.bytes, 7, sizeof k.bytes);
    assert_int_equal(bt_keyring_init(&kr, insecure ? NULL : &k, insecure ? 0 : 1, insecure), 0);
    return kr;
}

/* Seals len bytes of pattern as one message (flags) onto wire at *wlen. */
static void seal(const struct bt_keyring *kr, uint64_t *seq, uint8_t flags, size_t len,
                 uint8_t *wire, size_t *wlen)
{
    size_t nchunks = bt_frame_chunks(len);
    uint8_t *msg = malloc(len + 1);
    uint8_t *heads = malloc(nchunks * BT_FRAME_PREFIX);
    uint8_t *tails = malloc(nchunks * BT_SEAL_CHUNK_TAIL);
    struct bt_iov *iov = malloc(nchunks * 3 * sizeof *iov);
    assert_true(msg && heads && tails && iov);
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)(i * 31 + 5);
    size_t niov = bt_frame_seal(kr, seq, flags, msg, len, heads, tails, iov);
    for (size_t i = 0; i < niov; i++) {
        memcpy(wire + *wlen, iov[i].base, iov[i].len);
        *wlen += iov[i].len;
    }
    free(msg);
    free(heads);
    free(tails);
    free(iov);
}

static void check_pattern(const uint8_t *m, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (m[i] != (uint8_t)(i * 31 + 5))
            fail_msg("byte %zu differs", i);
}

static void messages_survive_any_split(void **state)
{
    for (int insecure = 0; insecure < 2; insecure++) {
        struct bt_keyring kr = ring(insecure);
        size_t sizes[] = {0, 1, BT_FRAME_CHUNK_MAX, BT_FRAME_CHUNK_MAX + 1,
                          3 * BT_FRAME_CHUNK_MAX + 17};
        size_t cap = 8 * BT_FRAME_BODY_MAX;
        uint8_t *wire = malloc(cap);
        size_t wlen = 0;
        uint64_t seq = 0;
        seal(&kr, &seq, BT_FRAME_HELLO, 5, wire, &wlen);
        for (size_t i = 0; i < 5; i++)
            seal(&kr, &seq, 0, sizes[i], wire, &wlen);
        assert_true(wlen <= cap);
        size_t pieces[] = {1, 3, 1000, 70000, cap};
        for (size_t pi = 0; pi < 5; pi++) {
            struct bt_frame_rx rx;
            bt_frame_rx_init(&rx, 1u << 20);
            size_t off = 0;
            int got = 0;
            while (off < wlen) {
                size_t n = pieces[pi] < wlen - off ? pieces[pi] : wlen - off;
                size_t used;
                uint8_t flags;
                const uint8_t *msg;
                size_t mlen;
                int rc = bt_frame_rx_feed(&rx, &kr, wire + off, n, &used, &flags, &msg, &mlen);
                assert_true(rc >= 0);
                off += used;
                if (rc == 1) {
                    if (got == 0) {
                        assert_int_equal(flags, BT_FRAME_HELLO | BT_FRAME_FINAL);
                        assert_int_equal(mlen, 5);
                    } else {
                        assert_int_equal(flags, BT_FRAME_FINAL);
                        assert_int_equal(mlen, sizes[got - 1]);
                        check_pattern(msg, mlen);
                    }
                    got++;
                }
            }
            assert_int_equal(got, 6);
            bt_frame_rx_free(&rx);
        }
        free(wire);
    }
}

static int feed_all(struct bt_frame_rx *rx, const struct bt_keyring *kr, const uint8_t *wire,
                    size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t used;
        uint8_t flags;
        const uint8_t *msg;
        size_t mlen;
        int rc = bt_frame_rx_feed(rx, kr, wire + off, len - off, &used, &flags, &msg, &mlen);
        off += used;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void limits_and_forgeries_fail(void **state)
{
    struct bt_keyring kr = ring(false);
    size_t cap = 4 * BT_FRAME_BODY_MAX;
    uint8_t *wire = malloc(cap);
    size_t wlen = 0;
    uint64_t seq = 0;
    seal(&kr, &seq, 0, 2 * BT_FRAME_CHUNK_MAX + 1, wire, &wlen);
    struct bt_frame_rx rx;
    /* Over the receiver's limit. */
    bt_frame_rx_init(&rx, BT_FRAME_CHUNK_MAX);
    assert_int_equal(feed_all(&rx, &kr, wire, wlen), BATON_E2BIG);
    bt_frame_rx_free(&rx);
    /* The chunks out of order: the second one first. */
    size_t first = 4 + BT_SEAL_CHUNK_HEAD + BT_FRAME_CHUNK_MAX + BT_SEAL_CHUNK_TAIL;
    bt_frame_rx_init(&rx, 1u << 20);
    assert_int_equal(feed_all(&rx, &kr, wire + first, wlen - first), BATON_EPROTO);
    bt_frame_rx_free(&rx);
    /* Another key. */
    struct bt_keyring other;
    struct baton_key k;
    memset(k.bytes, 8, sizeof k.bytes);
    assert_int_equal(bt_keyring_init(&other, &k, 1, false), 0);
    bt_frame_rx_init(&rx, 1u << 20);
    assert_int_equal(feed_all(&rx, &other, wire, wlen), BATON_EPROTO);
    bt_frame_rx_free(&rx);
    /* Impossible lengths. */
    uint8_t big[8] = {0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0};
    uint8_t tiny[8] = {0, 0, 0, 1, 1, 0, 0, 0};
    bt_frame_rx_init(&rx, 1u << 20);
    assert_int_equal(feed_all(&rx, &kr, big, sizeof big), BATON_EPROTO);
    bt_frame_rx_free(&rx);
    bt_frame_rx_init(&rx, 1u << 20);
    assert_int_equal(feed_all(&rx, &kr, tiny, sizeof tiny), BATON_EPROTO);
    bt_frame_rx_free(&rx);
    free(wire);
}

static void hello_may_not_change_inside_a_message(void **state)
{
    struct bt_keyring kr = ring(true);
    /* Two plaintext chunks: the first HELLO, not final; the second not HELLO. */
    uint8_t wire[] = {0, 0, 0, 3, 0, BT_FRAME_HELLO, 'a', 0, 0, 0, 3, 0, BT_FRAME_FINAL, 'b'};
    struct bt_frame_rx rx;
    bt_frame_rx_init(&rx, 1u << 20);
    assert_int_equal(feed_all(&rx, &kr, wire, sizeof wire), BATON_EPROTO);
    bt_frame_rx_free(&rx);
    uint8_t unknown[] = {0, 0, 0, 3, 0, 0x80 | BT_FRAME_FINAL, 'a'};
    bt_frame_rx_init(&rx, 1u << 20);
    assert_int_equal(feed_all(&rx, &kr, unknown, sizeof unknown), BATON_EPROTO);
    bt_frame_rx_free(&rx);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(messages_survive_any_split),
    cmocka_unit_test(limits_and_forgeries_fail),
    cmocka_unit_test(hello_may_not_change_inside_a_message),
};

BT_TEST_MAIN(tests)
