/* The keyring and sealing (keyring.h). */
#include "runtime/keyring.h"

#include <string.h>

#include <sodium.h>

static int find_key(const struct bt_keyring *kr, const struct baton_key *key)
{
    for (size_t i = 0; i < kr->n; i++)
        if (sodium_memcmp(kr->keys[i].bytes, key->bytes, BATON_KEY_BYTES) == 0)
            return (int)i;
    return -1;
}

int bt_keyring_init(struct bt_keyring *kr, const struct baton_key *keys, size_t n, bool insecure)
{
    memset(kr, 0, sizeof *kr);
    kr->insecure = insecure;
    if (insecure)
        return n == 0 ? 0 : BATON_EINVAL;
    if (n == 0 || n > BATON_KEYRING_MAX || keys == NULL)
        return BATON_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (find_key(kr, &keys[i]) < 0)
            kr->keys[kr->n++] = keys[i];
    return 0;
}

int bt_keyring_install(struct bt_keyring *kr, const struct baton_key *key)
{
    if (kr->insecure || key == NULL)
        return BATON_EINVAL;
    if (find_key(kr, key) >= 0)
        return 0;
    if (kr->n == BATON_KEYRING_MAX)
        return BATON_ENOSPC;
    kr->keys[kr->n++] = *key;
    return 0;
}

int bt_keyring_use(struct bt_keyring *kr, const struct baton_key *key)
{
    if (kr->insecure || key == NULL)
        return BATON_EINVAL;
    int i = find_key(kr, key);
    if (i < 0)
        return BATON_ENOENT;
    /* The old primary takes the new one's place: every key stays. */
    struct baton_key old = kr->keys[0];
    kr->keys[0] = kr->keys[i];
    kr->keys[i] = old;
    sodium_memzero(&old, sizeof old);
    return 0;
}

int bt_keyring_remove(struct bt_keyring *kr, const struct baton_key *key)
{
    if (kr->insecure || key == NULL)
        return BATON_EINVAL;
    int i = find_key(kr, key);
    if (i < 0)
        return BATON_ENOENT;
    if (i == 0)
        return BATON_EINVAL;
    memmove(&kr->keys[i], &kr->keys[i + 1], (kr->n - (size_t)i - 1) * sizeof kr->keys[0]);
    kr->n--;
    sodium_memzero(&kr->keys[kr->n], sizeof kr->keys[0]);
    return 0;
}

void bt_keyring_wipe(struct bt_keyring *kr) { sodium_memzero(kr, sizeof *kr); }

size_t bt_seal_datagram(const struct bt_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
                        size_t cap)
{
    if (kr->insecure) {
        if (cap < len + 1)
            return 0;
        out[0] = BT_SEAL_PLAIN;
        memmove(out + 1, in, len);
        return len + 1;
    }
    if (cap < len + BT_SEAL_DGRAM_OVERHEAD)
        return 0;
    uint8_t ad[2] = {BT_SEAL_V1, 'D'};
    out[0] = BT_SEAL_V1;
    uint8_t *nonce = out + 1;
    randombytes_buf(nonce, BT_SEAL_NONCE);
    unsigned long long maclen;
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        out + 1 + BT_SEAL_NONCE, out + 1 + BT_SEAL_NONCE + len, &maclen, in, len, ad, sizeof ad,
        NULL, nonce, kr->keys[0].bytes);
    return len + BT_SEAL_DGRAM_OVERHEAD;
}

/* Opens ct (clen bytes) with tag and ad in place under the first key that
 * authenticates it. Returns 0 or BATON_EPROTO. */
static int open_any(const struct bt_keyring *kr, uint8_t *ct, size_t clen, const uint8_t *tag,
                    const uint8_t *ad, size_t adlen, const uint8_t *nonce)
{
    for (size_t i = 0; i < kr->n; i++) {
        /* Verify first (NULL output): a failed attempt must not touch ct,
         * which the next key needs. */
        if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
                NULL, NULL, ct, clen, tag, ad, adlen, nonce, kr->keys[i].bytes) != 0)
            continue;
        if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(ct, NULL, ct, clen, tag, ad, adlen,
                                                                nonce, kr->keys[i].bytes) != 0)
            return BATON_EPROTO;
        return 0;
    }
    return BATON_EPROTO;
}

int bt_open_datagram(const struct bt_keyring *kr, uint8_t *buf, size_t len, uint8_t **payload,
                     size_t *plen)
{
    if (kr->insecure) {
        if (len < 1 || buf[0] != BT_SEAL_PLAIN)
            return BATON_EPROTO;
        *payload = buf + 1;
        *plen = len - 1;
        return 0;
    }
    if (len < BT_SEAL_DGRAM_OVERHEAD || buf[0] != BT_SEAL_V1)
        return BATON_EPROTO;
    uint8_t ad[2] = {BT_SEAL_V1, 'D'};
    size_t clen = len - BT_SEAL_DGRAM_OVERHEAD;
    uint8_t *ct = buf + 1 + BT_SEAL_NONCE;
    int rc = open_any(kr, ct, clen, ct + clen, ad, sizeof ad, buf + 1);
    if (rc != 0)
        return rc;
    *payload = ct;
    *plen = clen;
    return 0;
}

static void chunk_ad(uint8_t ad[11], uint8_t ver, uint8_t flags, uint64_t seq)
{
    ad[0] = ver;
    ad[1] = 'S';
    ad[2] = flags;
    for (int i = 0; i < 8; i++)
        ad[3 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

size_t bt_seal_chunk(const struct bt_keyring *kr, uint8_t flags, uint64_t seq, uint8_t *p,
                     size_t len, uint8_t *head, uint8_t *tail, size_t *tail_len)
{
    if (kr->insecure) {
        head[0] = BT_SEAL_PLAIN;
        head[1] = flags;
        *tail_len = 0;
        return 2;
    }
    uint8_t ad[11];
    chunk_ad(ad, BT_SEAL_V1, flags, seq);
    head[0] = BT_SEAL_V1;
    head[1] = flags;
    randombytes_buf(head + 2, BT_SEAL_NONCE);
    unsigned long long maclen;
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(p, tail, &maclen, p, len, ad, sizeof ad,
                                                        NULL, head + 2, kr->keys[0].bytes);
    *tail_len = BT_SEAL_TAG;
    return BT_SEAL_CHUNK_HEAD;
}

int bt_open_chunk(const struct bt_keyring *kr, uint8_t *body, size_t len, uint64_t seq,
                  uint8_t *flags, uint8_t **payload, size_t *plen)
{
    if (kr->insecure) {
        if (len < 2 || body[0] != BT_SEAL_PLAIN)
            return BATON_EPROTO;
        *flags = body[1];
        *payload = body + 2;
        *plen = len - 2;
        return 0;
    }
    if (len < BT_SEAL_CHUNK_HEAD + BT_SEAL_CHUNK_TAIL || body[0] != BT_SEAL_V1)
        return BATON_EPROTO;
    uint8_t ad[11];
    chunk_ad(ad, BT_SEAL_V1, body[1], seq);
    size_t clen = len - BT_SEAL_CHUNK_HEAD - BT_SEAL_CHUNK_TAIL;
    uint8_t *ct = body + BT_SEAL_CHUNK_HEAD;
    int rc = open_any(kr, ct, clen, ct + clen, ad, sizeof ad, body + 2);
    if (rc != 0)
        return rc;
    *flags = body[1];
    *payload = ct;
    *plen = clen;
    return 0;
}
