/* Tests of src/runtime/keyring.c: the keyring's rules and sealing. */
#include "unit/test_main.h"

#include <string.h>

#include "runtime/keyring.h"

static struct baton_key key(uint8_t b)
{
    struct baton_key k;
    memset(k.bytes, b, sizeof k.bytes);
    return k;
}

static void init_rules(void **state)
{
    struct bt_keyring kr;
    struct baton_key ks[BATON_KEYRING_MAX + 1];
    for (int i = 0; i <= BATON_KEYRING_MAX; i++)
        ks[i] = key((uint8_t)(i + 1));
    assert_int_equal(bt_keyring_init(&kr, NULL, 0, false), BATON_EINVAL); /* no key */
    assert_int_equal(bt_keyring_init(&kr, ks, 1, true), BATON_EINVAL);    /* key and insecure */
    assert_int_equal(bt_keyring_init(&kr, ks, BATON_KEYRING_MAX + 1, false), BATON_EINVAL);
    assert_int_equal(bt_keyring_init(&kr, NULL, 0, true), 0);
    assert_int_equal(bt_keyring_install(&kr, &ks[0]), BATON_EINVAL); /* insecure: no keyring */
    struct baton_key dup[2] = {key(9), key(9)};
    assert_int_equal(bt_keyring_init(&kr, dup, 2, false), 0);
    assert_int_equal(kr.n, 1);
}

static void install_use_remove(void **state)
{
    struct bt_keyring kr;
    struct baton_key a = key(1), b = key(2), c = key(3);
    assert_int_equal(bt_keyring_init(&kr, &a, 1, false), 0);
    assert_int_equal(bt_keyring_install(&kr, &b), 0);
    assert_int_equal(bt_keyring_install(&kr, &b), 0); /* idempotent */
    assert_int_equal(kr.n, 2);
    assert_int_equal(bt_keyring_use(&kr, &c), BATON_ENOENT);
    assert_int_equal(bt_keyring_remove(&kr, &a), BATON_EINVAL); /* the primary */
    assert_int_equal(bt_keyring_use(&kr, &b), 0);
    assert_memory_equal(kr.keys[0].bytes, b.bytes, BATON_KEY_BYTES);
    assert_int_equal(bt_keyring_remove(&kr, &a), 0);
    assert_int_equal(bt_keyring_remove(&kr, &a), BATON_ENOENT);
    assert_int_equal(kr.n, 1);
    for (int i = 0; i < BATON_KEYRING_MAX - 1; i++) {
        struct baton_key k = key((uint8_t)(100 + i));
        assert_int_equal(bt_keyring_install(&kr, &k), 0);
    }
    assert_int_equal(bt_keyring_install(&kr, &c), BATON_ENOSPC);
}

static void datagrams_open_under_any_installed_key(void **state)
{
    struct bt_keyring old, both, fresh;
    struct baton_key a = key(1), b = key(2);
    assert_int_equal(bt_keyring_init(&old, &a, 1, false), 0);
    assert_int_equal(bt_keyring_init(&fresh, &b, 1, false), 0);
    struct baton_key ab[2] = {b, a};
    assert_int_equal(bt_keyring_init(&both, ab, 2, false), 0);
    const uint8_t msg[] = "probe";
    uint8_t buf[64];
    size_t len = bt_seal_datagram(&old, msg, sizeof msg, buf, sizeof buf);
    assert_int_equal(len, sizeof msg + BT_SEAL_DGRAM_OVERHEAD);
    assert_int_equal(bt_seal_datagram(&old, msg, sizeof msg, buf, len - 1), 0); /* too small */
    uint8_t copy[64];
    memcpy(copy, buf, len);
    uint8_t *p;
    size_t plen;
    /* A ring without the sealing key refuses it and leaves it as it was. */
    assert_int_equal(bt_open_datagram(&fresh, buf, len, &p, &plen), BATON_EPROTO);
    assert_memory_equal(buf, copy, len);
    /* A ring with it, as a second key, opens it. */
    assert_int_equal(bt_open_datagram(&both, buf, len, &p, &plen), 0);
    assert_int_equal(plen, sizeof msg);
    assert_memory_equal(p, msg, sizeof msg);
    /* Every bit matters. */
    for (size_t i = 0; i < len; i++) {
        memcpy(buf, copy, len);
        buf[i] ^= 0x04;
        assert_int_equal(bt_open_datagram(&old, buf, len, &p, &plen), BATON_EPROTO);
    }
    /* Plaintext and sealed never mix. */
    struct bt_keyring plain;
    assert_int_equal(bt_keyring_init(&plain, NULL, 0, true), 0);
    memcpy(buf, copy, len);
    assert_int_equal(bt_open_datagram(&plain, buf, len, &p, &plen), BATON_EPROTO);
    len = bt_seal_datagram(&plain, msg, sizeof msg, buf, sizeof buf);
    assert_int_equal(len, sizeof msg + 1);
    assert_int_equal(bt_open_datagram(&old, buf, len, &p, &plen), BATON_EPROTO);
    assert_int_equal(bt_open_datagram(&plain, buf, len, &p, &plen), 0);
    assert_memory_equal(p, msg, sizeof msg);
}

static void chunks_are_bound_to_their_sequence_number(void **state)
{
    struct bt_keyring kr;
    struct baton_key a = key(1);
    assert_int_equal(bt_keyring_init(&kr, &a, 1, false), 0);
    uint8_t body[BT_SEAL_CHUNK_HEAD + 5 + BT_SEAL_CHUNK_TAIL];
    memcpy(body + BT_SEAL_CHUNK_HEAD, "hello", 5);
    size_t tail_len;
    size_t head = bt_seal_chunk(&kr, 1, 7, body + BT_SEAL_CHUNK_HEAD, 5, body,
                                body + BT_SEAL_CHUNK_HEAD + 5, &tail_len);
    assert_int_equal(head, BT_SEAL_CHUNK_HEAD);
    assert_int_equal(tail_len, BT_SEAL_CHUNK_TAIL);
    uint8_t copy[sizeof body];
    memcpy(copy, body, sizeof body);
    uint8_t flags, *p;
    size_t plen;
    assert_int_equal(bt_open_chunk(&kr, body, sizeof body, 8, &flags, &p, &plen), BATON_EPROTO);
    body[1] ^= 2; /* the flags are authenticated too */
    assert_int_equal(bt_open_chunk(&kr, body, sizeof body, 7, &flags, &p, &plen), BATON_EPROTO);
    memcpy(body, copy, sizeof body);
    assert_int_equal(bt_open_chunk(&kr, body, sizeof body, 7, &flags, &p, &plen), 0);
    assert_int_equal(flags, 1);
    assert_int_equal(plen, 5);
    assert_memory_equal(p, "hello", 5);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(init_rules),
    cmocka_unit_test(install_use_remove),
    cmocka_unit_test(datagrams_open_under_any_installed_key),
    cmocka_unit_test(chunks_are_bound_to_their_sequence_number),
};

BT_TEST_MAIN(tests)
