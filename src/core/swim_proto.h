/*
 * Wire format of the membership protocol (src/core/swim.c): datagrams for
 * probes and gossip, stream messages for push-pull.
 *
 * Every message starts with the same header. Integers are big-endian; a
 * "str8" is one length byte (1..255) followed by that many bytes. Node names
 * are validated as node names (names.h) and addresses as printable ASCII of
 * 1..BT_ADDR_MAX bytes wherever they are decoded, so nothing that leaves a
 * decoder needs checking again.
 *
 * Header (every datagram and stream message):
 *
 *    0        1        2
 *   +--------+--------+--------+----------------------+-------------------+
 *   |version | type   | nlen   | sender name (nlen)   | sender boot (u64) |
 *   +--------+--------+--------+----------------------+-------------------+
 *
 * Datagram bodies, by type:
 *
 *   PING      +-----------+------------------+-------------+
 *             | seq (u32) | target name str8 | clock block |      "are you alive, target?"
 *             +-----------+------------------+-------------+
 *   ACK       +-----------+-------------+
 *             | seq (u32) | clock block |                        answer to PING / PING_REQ
 *             +-----------+-------------+
 *   clock block: +----------------+------------+---------------+-----------+
 *                | wall ms (u64)  | clock (u8) | ceiling (u64) | seq (u32) |
 *                +----------------+------------+---------------+-----------+
 *   NACK      +-----------+
 *             | seq (u32) |                      no answer from the target (Lifeguard)
 *             +-----------+
 *             wall ms: the sender's wall clock when it sent the message
 *             (Unix ms; 0: not known), from which the receiver measures
 *             how far apart their clocks are (docs/design.md §1 fix 9)
 *             clock: what the sender says of its own clock (fix 9): bit 0
 *             = refused (its candidacies are withheld), bit 1 = not judged
 *             yet (it joined and has not read the members' clocks); at most
 *             one of them; other bits 0
 *             ceiling: with bit 0, the greatest stamp the sender issued
 *             while its clock was judged fine (0: none); 0 otherwise. What
 *             it wrote up to there is still vouched for (docs/election.md)
 *             seq: how many times the sender's word (clock, ceiling) has
 *             changed on this boot; a receiver keeps, per member boot, the
 *             word with the greatest seq, whichever way it came (a PING, an
 *             ACK, a CLOCK broadcast), so a late datagram cannot bring back
 *             an older word
 *   PING_REQ  +-----------+------------------+------------------+-------------------+
 *             | seq (u32) | budget ms (u32)  | target name str8 | target addr str8  |
 *             +-----------+------------------+------------------+-------------------+
 *             probe target for me; ACK seq if it answers, NACK seq when the
 *             budget runs out (Lifeguard)
 *   GOSSIP    (no body: only broadcasts follow)
 *   CONFLICT  +------------+---------------------+------------------+------------------+
 *             | name str8  | claimant boot (u64) | holder boot u64  | holder addr str8 |
 *             +------------+---------------------+------------------+------------------+
 *             "your name is held by a live process at holder addr"
 *   DIGEST    +-----------+----------------------+
 *             | len (u16) | user digest (len)    |   len 1..BT_SWIM_DIGEST_MAX
 *             +-----------+----------------------+
 *             a summary of the layer above's state, opaque here; the
 *             receiver may answer with a push-pull (docs/membership.md)
 *
 * After the body of any datagram, zero or more piggybacked broadcasts fill
 * the rest of the packet up to its end:
 *
 *   +--------+------------+------------------+
 *   | kind   | len (u16)  | broadcast body   |   repeated until the end
 *   +--------+------------+------------------+
 *
 *   ALIVE    name str8 | boot u64 | incarnation u32 | addr str8
 *   SUSPECT  name str8 | boot u64 | incarnation u32 | suspector name str8
 *   DEAD     name str8 | boot u64 | incarnation u32 | declarer name str8
 *   LEFT     name str8 | boot u64 | incarnation u32
 *   USER     opaque bytes (1..BT_SWIM_USER_MAX), for the layer above
 *   CLOCK    name str8 | boot u64 | clock u8 | ceiling u64 | seq u32
 *            a member's word on its own clock, as in its clock block
 *            (fix 9): the member gossips each change of it, and a node
 *            that learns a newer word from it gossips it on, so every
 *            node hears it within a few gossip rounds, not only from the
 *            member's own PINGs and ACKs
 *
 * A broadcast's body must be exactly len bytes; an unknown kind makes the
 * whole datagram malformed (the version byte, not silent skipping, is how the
 * format evolves).
 *
 * Stream messages (push-pull request PP_REQ and its reply PP_REPLY, and
 * their continuations PP_REQ_MORE and PP_REPLY_MORE), each at most
 * BT_STREAM_MSG_MAX bytes (types.h):
 *
 *   header | flags u8 | count u32 | count x member | user len u32 | user bytes
 *
 * A full state that does not fit one message travels as the opening
 * message (REQ or REPLY) and continuations of the same layout, sent right
 * after it to the same peer (a REPLY's on the same connection): members
 * first, then the user state, at most one user chunk per message. Each
 * message is merged on its own; only the opening one starts anything (the
 * reply to a REQ, the end of a join).
 *
 *   member:  name str8 | addr str8 | boot u64 | incarnation u32 | state u8
 *   flags:   bit 0 = join (the sender is joining through us); other bits 0
 *   state:   0 alive, 1 suspect, 2 dead, 3 left
 *
 * Decoders are total: they return the bytes consumed or BATON_EPROTO /
 * BATON_EVERSION, never read outside [p, p + len), and validate the whole
 * message (broadcasts and member entries included) before saying yes, so the
 * iterators below cannot fail on a message the decoder accepted.
 */
#ifndef BT_SWIM_PROTO_H
#define BT_SWIM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/names.h"
#include "core/types.h"
#include "core/wire.h"

/* 2: PING and ACK carry the sender's wall clock, clock flags, ceiling and
 * word seq; CLOCK broadcasts (the format changed within version 2 while
 * fix 9 was unreleased: docs/membership.md). */
#define BT_SWIM_VERSION 2

/* Bounds. A datagram never exceeds the UDP payload limit; a user broadcast
 * must fit one datagram with room to spare; a stream message is at most
 * BT_STREAM_MSG_MAX bytes, of which at most BT_SWIM_USER_CHUNK_MAX are user
 * state (what is left beside the longest head), and names at most
 * BT_SWIM_MEMBERS_MAX members. */
#define BT_SWIM_PACKET_MAX 65507
#define BT_SWIM_USER_MAX 1024
/* Largest user digest a DIGEST datagram carries. */
#define BT_SWIM_DIGEST_MAX 512
#define BT_SWIM_MEMBERS_MAX 100000
/* Smallest datagram budget the protocol works with (the IPv6 minimum MTU):
 * room for a header, a PING_REQ and one user broadcast of BT_SWIM_USER_MAX
 * bytes. */
#define BT_SWIM_MIN_PACKET 1280
/* Largest header: version, type, str8 name, boot. */
#define BT_SWIM_HEADER_MAX (2 + 1 + BATON_NODE_MAX + 8)
/* A broadcast's head: its kind (u8) and its body's length (u16). A USER
 * broadcast's body is the user's bytes. */
#define BT_SWIM_BCAST_HEAD 3
/* Largest broadcast on the wire, kind and length included. */
#define BT_SWIM_BCAST_MAX (BT_SWIM_BCAST_HEAD + BT_SWIM_USER_MAX)
/* Largest push-pull head: header, flags, member count. */
#define BT_SWIM_PP_HEAD_MAX (BT_SWIM_HEADER_MAX + 1 + 4)
/* Most user bytes one push-pull message carries: a message with no member
 * has room for this much (and its 4-byte length). */
#define BT_SWIM_USER_CHUNK_MAX (BT_STREAM_MSG_MAX - BT_SWIM_PP_HEAD_MAX - 4)

enum bt_swim_type {
    BT_SWIM_PING = 1,
    BT_SWIM_ACK = 2,
    BT_SWIM_NACK = 3,
    BT_SWIM_PING_REQ = 4,
    BT_SWIM_GOSSIP = 5,
    BT_SWIM_CONFLICT = 6,
    BT_SWIM_DIGEST = 7,
    BT_SWIM_PP_REQ = 16,
    BT_SWIM_PP_REPLY = 17,
    BT_SWIM_PP_REQ_MORE = 18,   /* more of the requester's state */
    BT_SWIM_PP_REPLY_MORE = 19, /* more of the replier's state */
};

enum bt_swim_bkind {
    BT_SWIM_B_ALIVE = 1,
    BT_SWIM_B_SUSPECT = 2,
    BT_SWIM_B_DEAD = 3,
    BT_SWIM_B_LEFT = 4,
    BT_SWIM_B_USER = 5,
    BT_SWIM_B_CLOCK = 6, /* a member's word on its clock (fix 9) */
};

#define BT_SWIM_PP_JOIN 0x01u

/* The common header. */
struct bt_swim_header {
    uint8_t type;            /* enum bt_swim_type */
    struct bt_nodeid sender; /* who sent it (validated node name) */
    uint64_t sender_boot;    /* the sender's boot id */
};

/* A decoded datagram. Which fields mean something depends on hdr.type. */
struct bt_swim_packet {
    struct bt_swim_header hdr;
    uint32_t seq;               /* PING, ACK, NACK, PING_REQ */
    uint32_t budget_ms;         /* PING_REQ: when to give up and NACK */
    struct bt_nodeid target;    /* PING, PING_REQ target; CONFLICT: contested name */
    struct bt_addr target_addr; /* PING_REQ: target's address; CONFLICT: holder's */
    uint64_t claimant_boot;     /* CONFLICT: the refused process's boot */
    uint64_t holder_boot;       /* CONFLICT: the live holder's boot */
    const uint8_t *bcasts;      /* piggybacked broadcasts (validated), borrowed */
    size_t bcasts_len;          /* their total size */
    struct bt_swim_clock clock; /* PING, ACK: the sender's clock block */
    const uint8_t *digest;      /* DIGEST: the user digest, borrowed */
    size_t digest_len;          /* DIGEST: its length, 1..BT_SWIM_DIGEST_MAX */
};

/* One broadcast, decoded or to encode. */
struct bt_swim_bcast {
    uint8_t kind;               /* enum bt_swim_bkind */
    struct bt_nodeid name;      /* member concerned (not USER) */
    uint64_t boot;              /* its boot id (not USER) */
    uint32_t incarnation;       /* its incarnation (not USER) */
    struct bt_addr addr;        /* ALIVE: where it is reached */
    struct bt_nodeid from;      /* SUSPECT, DEAD: who suspects or declares */
    const uint8_t *user;        /* USER: payload, borrowed */
    size_t user_len;            /* USER: its length, 1..BT_SWIM_USER_MAX */
    struct bt_swim_clock clock; /* CLOCK: the member's word (wall_ms 0) */
};

/* A decoded push-pull message. */
struct bt_swim_pp {
    struct bt_swim_header hdr;
    uint8_t flags;          /* BT_SWIM_PP_JOIN or 0 */
    uint32_t count;         /* member entries */
    const uint8_t *members; /* the entries (validated), borrowed */
    size_t members_len;     /* their total size */
    const uint8_t *user;    /* user state, borrowed (NULL when empty) */
    size_t user_len;        /* its length */
};

/* True if n bytes at p are an address: printable ASCII, 1..BT_ADDR_MAX. */
bool bt_swim_addr_valid(const void *p, size_t n);
/* Fills a from n bytes; returns 0 or BATON_EINVAL. */
int bt_swim_addr_set(struct bt_addr *a, const void *p, size_t n);
static inline bool bt_addr_eq(const struct bt_addr *a, const struct bt_addr *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Encoders append to w; the caller checks w->overflow once at the end. */
void bt_swim_put_header(struct bt_wbuf *w, enum bt_swim_type type, const struct bt_nodeid *sender,
                        uint64_t boot);
void bt_swim_put_ping(struct bt_wbuf *w, uint32_t seq, const struct bt_nodeid *target,
                      const struct bt_swim_clock *clock);
void bt_swim_put_ack(struct bt_wbuf *w, uint32_t seq, const struct bt_swim_clock *clock);
void bt_swim_put_seq(struct bt_wbuf *w, uint32_t seq); /* NACK body */
void bt_swim_put_ping_req(struct bt_wbuf *w, uint32_t seq, uint32_t budget_ms,
                          const struct bt_nodeid *target, const struct bt_addr *target_addr);
void bt_swim_put_conflict(struct bt_wbuf *w, const struct bt_nodeid *name, uint64_t claimant_boot,
                          uint64_t holder_boot, const struct bt_addr *holder_addr);
/* DIGEST body: len (1..BT_SWIM_DIGEST_MAX, the caller's to check) bytes. */
void bt_swim_put_digest(struct bt_wbuf *w, const uint8_t *digest, size_t len);
/* Appends one broadcast (kind, length, body). */
void bt_swim_put_bcast(struct bt_wbuf *w, const struct bt_swim_bcast *b);
/* The encoded size of a CLOCK broadcast about a name of name_len bytes:
 * kind, body length, then the name's str8, boot, flags, ceiling, seq. */
#define BT_SWIM_CLOCK_BCAST_SIZE(name_len)                                                         \
    (BT_SWIM_BCAST_HEAD + 1 + (size_t)(name_len) + 8 + 1 + 8 + 4)
/* The same for a CLOCK broadcast of member name (name_len within its
 * limit) on boot saying c (its wall_ms not sent), from the raw name: for a
 * writer holding the name where it lies (swim's held words). */
void bt_swim_put_clock_bcast(struct bt_wbuf *w, const char *name, size_t name_len, uint64_t boot,
                             const struct bt_swim_clock *c);
/* The encoded size of b, kind and length included. */
size_t bt_swim_bcast_size(const struct bt_swim_bcast *b);

/* Push-pull: the head, then count members, then the user state. */
void bt_swim_put_pp_head(struct bt_wbuf *w, enum bt_swim_type type, const struct bt_nodeid *sender,
                         uint64_t boot, uint8_t flags, uint32_t count);
/* One member entry (name_len and addr_len within their limits), what
 * bt_swim_next_pp_member() reads back into a struct bt_member_info. */
void bt_swim_put_pp_entry(struct bt_wbuf *w, const char *name, size_t name_len, const char *addr,
                          size_t addr_len, uint64_t boot_id, uint32_t incarnation, uint8_t state);
void bt_swim_put_pp_user(struct bt_wbuf *w, const uint8_t *data, size_t len);
/* The encoded size of one member entry (name and address str8s, boot,
 * incarnation, state), and the largest. */
#define BT_SWIM_PP_ENTRY_SIZE(name_len, addr_len)                                                  \
    (1 + (size_t)(name_len) + 1 + (size_t)(addr_len) + 8 + 4 + 1)
#define BT_SWIM_PP_MEMBER_MAX BT_SWIM_PP_ENTRY_SIZE(BATON_NODE_MAX, BT_ADDR_MAX)

/* Decodes a datagram, validating it whole. Returns len, BATON_EVERSION for an
 * unknown version, or BATON_EPROTO for anything else wrong (including a
 * stream message type). out borrows from p. */
int bt_swim_decode_packet(const uint8_t *p, size_t len, struct bt_swim_packet *out);
/* The same up to where the broadcasts start (out->bcasts), which it does not
 * look at: for a reader that only needs to find them (the simulator's
 * network, which keeps a datagram's broadcasts apart). */
int bt_swim_decode_head(const uint8_t *p, size_t len, struct bt_swim_packet *out);

/* Iterates the broadcasts of a decoded packet: init r over
 * (pkt.bcasts, pkt.bcasts_len), then call until it returns 0. Returns 1 with
 * *out filled, 0 at the end, BATON_EPROTO on malformed input (never after a
 * successful bt_swim_decode_packet()). out borrows from the input; with out
 * NULL the broadcast is only checked and skipped. The fields its kind does
 * not carry (struct bt_swim_bcast) are zero, and its names and address
 * empty (length 0, their bytes past the first not cleared). */
int bt_swim_next_bcast(struct bt_rbuf *r, struct bt_swim_bcast *out);

/* A look-ahead over the same broadcasts that decodes nothing: the length
 * of the broadcast at p (len bytes left of pkt.bcasts), 0 at the end or
 * when the bytes do not hold a whole one; *name and *name_len (borrowed
 * from p) get the member it is about, or NULL and 0 for a USER broadcast.
 * The name is not checked: this is only a hint of what comes. */
size_t bt_swim_peek_bcast(const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len);

/* Decodes a push-pull stream message (any of the four types), validating
 * every entry; a message longer than BT_STREAM_MSG_MAX is malformed.
 * Returns len, BATON_EVERSION or BATON_EPROTO. out borrows from p. */
int bt_swim_decode_pp(const uint8_t *p, size_t len, struct bt_swim_pp *out);

/* Iterates the member entries of a decoded push-pull (r over pp.members,
 * pp.members_len). Returns 1, 0 at the end, or BATON_EPROTO. */
int bt_swim_next_pp_member(struct bt_rbuf *r, struct bt_member_info *out);

#endif
