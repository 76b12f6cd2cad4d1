/*
 * The keyring and the sealing of everything baton sends (docs/embedding.md,
 * "Wire security").
 *
 * Every datagram and every stream chunk is sealed with XChaCha20-Poly1305
 * (libsodium) under the primary key with a fresh random 24-byte nonce; every
 * installed key is tried to open, so keys rotate without downtime. The
 * envelope's first byte is its version: BT_SEAL_V1 for sealed, BT_SEAL_PLAIN
 * for a node made with insecure_no_encryption (which opens only plaintext,
 * and which sealed nodes refuse: the two never mix).
 *
 *   datagram   [ver 1][nonce 24][ciphertext][tag 16]   AD = ver, 'D'
 *   chunk body [ver 1][flags 1][nonce 24][ciphertext][tag 16]
 *                                  AD = ver, 'S', flags, seq (u64 big-endian)
 *   plaintext  [0][payload] / [0][flags][payload]
 *
 * A chunk's sequence number counts the chunks of one connection direction
 * from 0, so chunks cannot be dropped, reordered or moved to another
 * position without failing authentication. Opening works in place and
 * writes nothing unless a key authenticates the input.
 *
 * Not thread-safe: the runtime holds its node lock around every call.
 */
#ifndef BT_RT_KEYRING_H
#define BT_RT_KEYRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "baton/baton.h"

#define BT_SEAL_PLAIN 0x00u /* envelope version: plaintext (insecure mode) */
#define BT_SEAL_V1 0x01u    /* envelope version: XChaCha20-Poly1305 */
#define BT_SEAL_NONCE 24
#define BT_SEAL_TAG 16
/* Bytes a sealed datagram adds to its payload. */
#define BT_SEAL_DGRAM_OVERHEAD (1 + BT_SEAL_NONCE + BT_SEAL_TAG)
/* Bytes before a chunk's payload (version, flags, nonce) and after it. */
#define BT_SEAL_CHUNK_HEAD (2 + BT_SEAL_NONCE)
#define BT_SEAL_CHUNK_TAIL BT_SEAL_TAG

struct bt_keyring {
    struct baton_key keys[BATON_KEYRING_MAX]; /* keys[0] is the primary */
    size_t n;
    bool insecure; /* plaintext, no keys */
};

/* Initialises kr from a config's keys (copied). Returns 0 or BATON_EINVAL
 * (keys with insecure, none without, more than BATON_KEYRING_MAX). Equal
 * keys are kept once. */
int bt_keyring_init(struct bt_keyring *kr, const struct baton_key *keys, size_t n, bool insecure);
/* baton.h's keyring calls, same returns. Wipes removed keys. */
int bt_keyring_install(struct bt_keyring *kr, const struct baton_key *key);
int bt_keyring_use(struct bt_keyring *kr, const struct baton_key *key);
int bt_keyring_remove(struct bt_keyring *kr, const struct baton_key *key);
/* Wipes every key. */
void bt_keyring_wipe(struct bt_keyring *kr);

/* Seals a datagram payload (len bytes) into out (cap bytes, which must
 * hold len + BT_SEAL_DGRAM_OVERHEAD, or len + 1 in insecure mode). Returns
 * the sealed length, or 0 if out is too small. */
size_t bt_seal_datagram(const struct bt_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
                        size_t cap);
/* Opens a datagram in place: on 0, *payload / *plen point into buf.
 * Returns 0 or BATON_EPROTO (no installed key opens it, wrong envelope
 * version, or too short); buf is unchanged on failure. */
int bt_open_datagram(const struct bt_keyring *kr, uint8_t *buf, size_t len, uint8_t **payload,
                     size_t *plen);

/* Seals chunk payload p (len bytes) in place, writing the chunk head
 * (BT_SEAL_CHUNK_HEAD bytes, or 2 in insecure mode) into head and the tag
 * (BT_SEAL_CHUNK_TAIL bytes, or none in insecure mode) into tail. Returns
 * the number of head bytes written; *tail_len gets the tail's. */
size_t bt_seal_chunk(const struct bt_keyring *kr, uint8_t flags, uint64_t seq, uint8_t *p,
                     size_t len, uint8_t *head, uint8_t *tail, size_t *tail_len);
/* Opens a chunk body (everything after its length prefix) in place: on 0,
 * *flags, *payload and *plen describe it. Returns 0 or BATON_EPROTO (not
 * authentic, wrong version, too short); body unchanged on failure. */
int bt_open_chunk(const struct bt_keyring *kr, uint8_t *body, size_t len, uint64_t seq,
                  uint8_t *flags, uint8_t **payload, size_t *plen);

#endif
