/*
 * Stream framing: how one stream message crosses a TCP connection.
 *
 * A message is cut into chunks of at most BT_FRAME_CHUNK_MAX payload bytes;
 * each chunk travels as a 4-byte big-endian body length and a body sealed
 * by keyring.h (bt_seal_chunk) with the connection direction's next
 * sequence number. The last chunk of a message carries BT_FRAME_FINAL.
 * The first message the opener of a connection sends carries
 * BT_FRAME_HELLO: the opener's advertised address, so the acceptor knows
 * who is speaking (the TCP source port says nothing).
 *
 * Memory: the receiver holds at most one chunk body that has not been
 * authenticated yet (BT_FRAME_BODY_MAX bytes, allocated when its length
 * arrives); a message grows only by authenticated chunks, up to the limit
 * the receiver sets. So a sender without the key costs one chunk buffer.
 *
 * Pure code (no I/O): the transport and the fuzz target drive it.
 */
#ifndef BT_RT_FRAME_H
#define BT_RT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/keyring.h"

#define BT_FRAME_FINAL 0x01u /* last chunk of its message */
#define BT_FRAME_HELLO 0x02u /* the opener's address, first message only */
#define BT_FRAME_FLAGS (BT_FRAME_FINAL | BT_FRAME_HELLO)

/* Payload bytes per chunk, and the largest body a chunk may announce. */
#define BT_FRAME_CHUNK_MAX 65536u
#define BT_FRAME_BODY_MAX (BT_FRAME_CHUNK_MAX + BT_SEAL_CHUNK_HEAD + BT_SEAL_CHUNK_TAIL)
/* The bytes before a chunk's payload: length prefix and seal head. */
#define BT_FRAME_PREFIX (4 + BT_SEAL_CHUNK_HEAD)

/* The receiving half of a connection. Zero it (or bt_frame_rx_init), feed
 * it what arrives, release it with bt_frame_rx_free(). */
struct bt_frame_rx {
    uint8_t hdr[4]; /* the length prefix being read */
    size_t hdr_got;
    uint8_t *body; /* the chunk body being read (not yet authentic) */
    size_t body_len, body_got, body_cap;
    uint8_t *msg; /* authenticated payload of the message so far */
    size_t msg_len, msg_cap;
    bool msg_done;     /* msg was handed out; reset at the next feed */
    uint64_t seq;      /* the next chunk's sequence number */
    size_t msg_max;    /* the largest message accepted */
    uint8_t msg_flags; /* flags of the message's chunks so far (HELLO) */
};

void bt_frame_rx_init(struct bt_frame_rx *rx, size_t msg_max);
void bt_frame_rx_free(struct bt_frame_rx *rx);

/* Consumes bytes of data (len) until a message is complete or the data is
 * used up; *used gets the bytes consumed. Returns 1 with a whole message
 * (*msg, *msg_len, valid until the next call; *flags its flags: FINAL and
 * maybe HELLO), 0 when everything was consumed without completing one, or
 * a failure after which the connection must be closed: BATON_EPROTO (a
 * chunk no key opens, or an impossible length or flag), BATON_E2BIG (the
 * message would pass msg_max) or BATON_ENOMEM. */
int bt_frame_rx_feed(struct bt_frame_rx *rx, const struct bt_keyring *kr, const uint8_t *data,
                     size_t len, size_t *used, uint8_t *flags, const uint8_t **msg,
                     size_t *msg_len);

/* The chunks a message of len bytes needs (at least 1). */
size_t bt_frame_chunks(size_t len);

/* One piece of a sealed message to write, in order. */
struct bt_iov {
    uint8_t *base;
    size_t len;
};

/* Seals msg (len bytes, in place) as bt_frame_chunks(len) chunks with
 * sequence numbers from *seq on (advanced), every chunk flagged `flags`
 * and the last also FINAL. heads must hold BT_FRAME_PREFIX bytes per chunk
 * and tails BT_SEAL_CHUNK_TAIL per chunk; iov gets up to 3 entries per
 * chunk, pointing into heads, msg and tails. Returns the iov count. */
size_t bt_frame_seal(const struct bt_keyring *kr, uint64_t *seq, uint8_t flags, uint8_t *msg,
                     size_t len, uint8_t *heads, uint8_t *tails, struct bt_iov *iov);

#endif
