/*
 * Wire encoding of the election's replicated payloads: candidate-map deltas,
 * fence high-water marks, and the full state exchanged by push-pull.
 *
 * These payloads ride inside the membership protocol's broadcasts (DELTA,
 * FENCE) and its TCP push-pull (SNAPSHOT); the framing around them belongs
 * to swim_proto.c. Integers are big-endian (wire.h). Every payload opens
 * with the same two bytes:
 *
 *      0          1          2
 *     +----------+----------+--------------------------------+
 *     | version  |   type   |  body (by type, below)         |
 *     +----------+----------+--------------------------------+
 *     version: BT_CODEC_VERSION (2; version 1 fences had no minter boot)
 *     type:    1 DELTA, 2 FENCE, 3 SNAPSHOT
 *
 * DELTA body: candidate-map entries, 0..BT_CODEC_DELTA_MAX of them.
 *
 *     +----------+----------+-----------+-----------+-----
 *     |   count (u16 BE)    |  entry 0  |  entry 1  | ...
 *     +----------+----------+-----------+-----------+-----
 *
 * FENCE body: high-water marks, 0..BT_CODEC_FENCE_MAX of them.
 *
 *     +----------+----------+-----------+-----------+-----
 *     |   count (u16 BE)    |  fence 0  |  fence 1  | ...
 *     +----------+----------+-----------+-----------+-----
 *
 * SNAPSHOT body: 0..BT_CODEC_SNAPSHOT_MAX entries, then as many fences.
 *
 *     +----------------------+---------+-----+----------------------+---------+-----
 *     | nentries (u32 BE)    | entry 0 | ... | nfences (u32 BE)     | fence 0 | ...
 *     +----------------------+---------+-----+----------------------+---------+-----
 *
 * entry: 35 + name_len + node_len bytes (37..354).
 *
 *      0          1                     1+N        2+N                 2+N+M
 *     +----------+---------------------+----------+-------------------+
 *     | name_len |  name (N = 1..255)  | node_len | node (M = 1..64)  |
 *     +----------+---------------------+----------+-------------------+
 *     |  stamp (u64 BE, <= BT_HLC_TS_MAX)                             |
 *     +----------+----------------------------------------------------+
 *     | removed  |  0: live candidacy, 1: tombstone; nothing else
 *     +----------+----------------------------------------------------+
 *     |  candidate_id (u64 BE)                                        |
 *     +---------------------------------------------------------------+
 *     |  priority (i64 BE, two's complement)                          |
 *     +---------------------------------------------------------------+
 *     |  boot_id (u64 BE)                                             |
 *     +---------------------------------------------------------------+
 *     The node name is bytes of [A-Za-z0-9._:@-]. In a tombstone the
 *     three candidacy fields are all zero.
 *
 * fence: 18 + name_len + minter_len bytes (20..337).
 *
 *     +----------+---------------------+-------------------------------+
 *     | name_len |  name (N = 1..255)  |  token (u64 BE, <= TS_MAX)    |
 *     +----------+---------------------+-------------------------------+
 *     | min_len  |  minter (M = 1..64)                                 |
 *     +----------+-----------------------------------------------------+
 *     |  minter boot (u64 BE, nonzero)                                 |
 *     +---------------------------------------------------------------+
 *     The minter is the process that minted the token: its node name and
 *     its boot id. A fence without a minter, or with boot 0, is refused.
 *     Two processes can mint the same token, even two claiming one node
 *     name (twins, docs/membership.md); the minter is what tells a leader
 *     its token is shared. Version 1 (no boot) is refused whole
 *     (BATON_EVERSION): a cluster runs one codec version.
 *
 * Bounds. A DELTA or FENCE is meant to fit one datagram: the count limits
 * admit every list a 64 KiB datagram could carry (65 535 / 37 < 2048
 * minimal entries, 65 535 / 20 < 8192 minimal fences) and nothing far
 * beyond. A SNAPSHOT carries part of a node's full state over a stream: the
 * replica cuts the state into SNAPSHOTs of at most one stream message
 * (replica.c), so in practice each holds well under 2^20 items; the format
 * allows up to 2^20 entries and 2^20 fences. The decoder checks every count
 * against the bytes actually left before it allocates, so n input bytes
 * never cost more than BT_CODEC_DECODE_RATIO (32) n bytes of memory (a
 * struct bt_fence of about 344 bytes per 20-byte minimal fence is the worst case;
 * tests/unit/codec_test.c counts the allocations).
 *
 * The encoding is canonical: each payload has exactly one encoding, and the
 * decoder accepts nothing else (no trailing bytes, no second spelling of a
 * flag), so decode(encode(x)) == x and encode(decode(b)) == b.
 */
#ifndef BT_CODEC_H
#define BT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/cmap.h"
#include "core/names.h"

#define BT_CODEC_VERSION 2

#define BT_CODEC_DELTA_MAX 2048          /* entries in one DELTA */
#define BT_CODEC_FENCE_MAX 8192          /* fences in one FENCE */
#define BT_CODEC_SNAPSHOT_MAX (1u << 20) /* entries, and fences, in one SNAPSHOT */

#define BT_CODEC_LIST_HEADER 4      /* version, type, u16 count */
#define BT_CODEC_SNAPSHOT_HEADER 10 /* version, type, two u32 counts */
#define BT_CODEC_ENTRY_MIN 37       /* an entry with 1-byte names */
#define BT_CODEC_ENTRY_MAX 354      /* an entry with 255- and 64-byte names */
#define BT_CODEC_FENCE_MIN 20       /* a fence with a 1-byte name and minter */
#define BT_CODEC_FENCE_ENC_MAX 337  /* a fence with 255- and 64-byte names */
/* bt_codec_decode() allocates at most this many bytes per input byte. */
#define BT_CODEC_DECODE_RATIO 32

/* A fencing high-water mark: the greatest token seen for a campaign. */
struct bt_fence {
    struct bt_name name;     /* campaign name */
    uint64_t token;          /* packed HLC timestamp, <= BT_HLC_TS_MAX */
    struct bt_minter minter; /* who minted it: node name and boot (never unknown on the wire) */
};

enum bt_payload_type {
    BT_PAYLOAD_NONE = 0,     /* an empty struct bt_payload */
    BT_PAYLOAD_DELTA = 1,    /* entries only */
    BT_PAYLOAD_FENCE = 2,    /* fences only */
    BT_PAYLOAD_SNAPSHOT = 3, /* entries and fences: the sender's full state */
};

/* A decoded payload. Owns its arrays; release with bt_payload_free(). */
struct bt_payload {
    enum bt_payload_type type; /* BT_PAYLOAD_NONE when empty */
    struct bt_centry *entries; /* nentries entries in wire order; NULL if none */
    size_t nentries;           /* 0 for FENCE */
    struct bt_fence *fences;   /* nfences fences in wire order; NULL if none */
    size_t nfences;            /* 0 for DELTA */
    bool borrowed;             /* the arrays are the caller's room (bt_codec_decode_in):
                                  bt_payload_free() leaves them */
};

/* The encoded size of one entry or fence, assuming it is valid. */
size_t bt_codec_entry_size(const struct bt_centry *e);
size_t bt_codec_fence_size(const struct bt_fence *f);

/* Encodes a DELTA of the n entries e[] (borrowed) into buf[0..cap).
 * Returns the bytes written, or
 *   BATON_E2BIG   n > BT_CODEC_DELTA_MAX;
 *   BATON_ENOSPC  the message does not fit in cap bytes;
 *   BATON_EINVAL  an entry would not decode (empty name, bad node name,
 *                 stamp above BT_HLC_TS_MAX, tombstone with candidacy).
 * buf holds garbage after a failure. */
int bt_codec_encode_delta(const struct bt_centry *e, size_t n, uint8_t *buf, size_t cap);

/* As bt_codec_encode_delta, for a FENCE of fences f[] (borrowed); limit
 * BT_CODEC_FENCE_MAX; BATON_EINVAL for an empty name or a token above
 * BT_HLC_TS_MAX. */
int bt_codec_encode_fences(const struct bt_fence *f, size_t n, uint8_t *buf, size_t cap);

/* Encodes a SNAPSHOT of the n entries e[] (borrowed, tombstones included,
 * in array order) and the nf fences f[] (borrowed) into a new malloc'd
 * buffer of exactly the right size: *out receives it (the caller frees it
 * with free()) and *out_len its length. Two passes over the entries, one to
 * size and one to write; no reallocation. Returns 0, or
 *   BATON_E2BIG   more than BT_CODEC_SNAPSHOT_MAX entries or fences;
 *   BATON_EINVAL  an entry or fence would not decode;
 *   BATON_ENOMEM.
 * On failure *out is NULL and *out_len 0. */
int bt_codec_encode_snapshot_array(const struct bt_centry *e, size_t n, const struct bt_fence *f,
                                   size_t nf, uint8_t **out, size_t *out_len);

/* Decodes one whole payload from buf[0..len) (borrowed; nothing in out
 * points into it). The whole input is validated before anything is
 * allocated; out is overwritten (a payload already in it is not freed) and
 * is filled only on success. Returns 0, or
 *   BATON_EVERSION  the first byte is not BT_CODEC_VERSION;
 *   BATON_EPROTO    anything else malformed: unknown type, truncation, a
 *                   count above its limit or above what the bytes left can
 *                   hold, an empty name, a bad node name, removed not 0/1,
 *                   a tombstone with candidacy fields, a stamp or token
 *                   above BT_HLC_TS_MAX, trailing bytes;
 *   BATON_ENOMEM.
 * On failure out is empty (type BT_PAYLOAD_NONE, no arrays). Any byte string
 * at all is a valid argument. */
int bt_codec_decode(const uint8_t *buf, size_t len, struct bt_payload *out);

/* A look-ahead that decodes nothing: the name of the first item of a DELTA
 * or FENCE payload (*name borrows from buf) and its length, *fence telling
 * which; 0 for any other payload or bytes too short to hold one. Not
 * checked: only a hint of what decoding will find. */
size_t bt_codec_peek_name(const uint8_t *buf, size_t len, const uint8_t **name, bool *fence);

/* Room for the gossiped payloads of one datagram: a DELTA or FENCE that
 * fits in a packet holds a few items, and decoding one into this much room
 * on the caller's stack costs no allocation (bt_codec_decode_in). */
#define BT_CODEC_ROOM 8

/* As bt_codec_decode(), except that a payload whose entries fit in room_e
 * (nroom_e of them) and whose fences fit in room_f (nroom_f) is decoded
 * there instead of into new arrays: out->borrowed is then set and out's
 * arrays are the room (the caller's, valid as long as it is). A larger
 * payload is allocated as bt_codec_decode() does. room_e and room_f may be
 * NULL when their counts are 0. In a simulation of 1000 nodes the
 * allocation of every gossiped payload's arrays was a tenth of the time. */
int bt_codec_decode_in(const uint8_t *buf, size_t len, struct bt_payload *out,
                       struct bt_centry *room_e, size_t nroom_e, struct bt_fence *room_f,
                       size_t nroom_f);

/* Frees the arrays of p (unless borrowed) and leaves it empty. Safe on an
 * empty payload. */
void bt_payload_free(struct bt_payload *p);

#endif
