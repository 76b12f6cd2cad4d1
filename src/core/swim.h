/*
 * Membership: SWIM with the Lifeguard refinements, sans-IO (see the essay at
 * the top of swim.c and docs/membership.md).
 *
 * A struct bt_swim is one node's view of the cluster. Its caller (node.c, or
 * a test) feeds it datagrams, stream messages and time, and receives what it
 * produces through a struct bt_swim_sink: datagrams and stream messages to
 * send, membership events, and the user-layer hooks (opaque broadcasts and
 * push-pull state for the replication layer above).
 *
 * Re-entry: no bt_swim_* function may be called from inside a sink callback,
 * with one exception: user_deliver may call bt_swim_broadcast_user() (to
 * forward what it learned). An urgent broadcast queued that way is sent when
 * the outer call returns.
 */
#ifndef BT_SWIM_H
#define BT_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/names.h"
#include "core/types.h"

/* The timings and sizes of one profile (docs/membership.md explains the
 * values). All times in milliseconds. */
struct bt_swim_timing {
    uint32_t probe_interval;     /* protocol period, before Lifeguard scaling */
    uint32_t probe_timeout;      /* wait for a direct ack before indirect probes */
    uint32_t indirect_checks;    /* k: members asked to probe indirectly */
    uint32_t suspicion_mult;     /* min suspicion = mult * max(1, log10 n) * interval */
    uint32_t suspicion_max_mult; /* max suspicion = this * min */
    uint32_t retransmit_mult;    /* broadcast retired after mult * ceil(log10(n+1)) sends */
    uint32_t gossip_interval;    /* period of gossip rounds */
    uint32_t gossip_fanout;      /* members per gossip round */
    uint32_t gossip_to_dead;     /* dead members still gossiped to for this long */
    uint32_t pushpull_interval;  /* base anti-entropy period (scaled above 32 nodes) */
    uint32_t reconnect_interval; /* period of push-pull attempts to dead members */
    uint32_t dead_reap;          /* dead members forgotten after this long */
    uint32_t left_reap;          /* left members forgotten after this long */
    uint32_t join_retry_min;     /* first retry of the seeds */
    uint32_t join_retry_max;     /* retry backoff cap */
    uint32_t leave_timeout;      /* bt_swim_left() turns true at the latest after this */
    uint32_t awareness_max;      /* Lifeguard LHM: score stays below this (8) */
};

/* Fills t with the timings of a profile; returns 0 or BATON_EINVAL. */
int bt_swim_timing_profile(enum bt_profile profile, struct bt_swim_timing *t);

/* True when t is usable: 0 < probe_timeout < probe_interval; suspicion_mult,
 * suspicion_max_mult, retransmit_mult, gossip_interval, gossip_fanout,
 * pushpull_interval, reconnect_interval, join_retry_min, awareness_max and
 * leave_timeout nonzero; join_retry_max >= join_retry_min. bt_swim_new()
 * refuses any other (swim_profile.c). */
bool bt_swim_timing_valid(const struct bt_swim_timing *t);

/* Where a swim's output goes. Every pointer handed to a callback is borrowed
 * for the duration of the call. */
struct bt_swim_sink {
    void *ctx; /* passed to every callback */
    /* Send a datagram (BT_OUT_PACKET) or stream message (BT_OUT_STREAM).
     * A stream message's conn is either the conn it replies on (one given
     * to bt_swim_recv_stream) or, with BT_STREAM_OWN set (node.h), the id
     * of a stream this swim opens for a push-pull: the first message with
     * a new id opens it, the next ones with that id continue it (node.h,
     * "Streams the core opens"). Required. */
    void (*send)(void *ctx, enum bt_output_kind kind, const struct bt_addr *to, uint64_t conn,
                 const uint8_t *data, size_t len);
    /* A membership event. Required. */
    void (*event)(void *ctx, const struct bt_event *ev);
    /* A user broadcast arrived from `from` (the packet's sender). Optional. */
    void (*user_deliver)(void *ctx, const struct bt_nodeid *from, const uint8_t *data, size_t len);
    /* The local user state for a push-pull, in chunks of at most
     * BT_SWIM_USER_CHUNK_MAX bytes (swim_proto.h), each merged on its own
     * by the peer: write chunk `index` into buf (cap bytes) and return its
     * length, or 0 when there is no such chunk (the state is over). If the
     * chunk is longer than cap, return its length without writing: it is
     * asked for again, with room for it if it fits a message. One
     * push-pull asks for index 0, 1, 2... in turn within one call into the
     * swim, so the state may be taken at index 0 (taken again if index 0
     * is asked for again: it has not changed meanwhile). join: the
     * exchange is a join sync. Optional (no user state). */
    size_t (*user_state)(void *ctx, bool join, size_t index, uint8_t *buf, size_t cap);
    /* One chunk of the peer's user state, from one push-pull message
     * (request, reply or a continuation; never called with len 0).
     * Optional. */
    void (*user_merge)(void *ctx, const struct bt_nodeid *from, bool join, const uint8_t *data,
                       size_t len);
    /* A hint: the n user broadcasts of a datagram (data[i], len[i] bytes,
     * borrowed for the call) are about to be delivered one after another
     * (user_deliver). The layer above may ask the processor for what those
     * deliveries will read, so that their cache misses overlap; it must
     * change nothing. Optional. */
    void (*user_prefetch)(void *ctx, const uint8_t *const *data, const size_t *len, size_t n);
    /* The local wall clock (Unix ms) and what this node says of its own
     * clock (refused, not judged yet, with a ceiling: swim_proto.h), sent
     * on every PING and ACK so that peers can measure how far apart the
     * clocks are, know who stands aside and screen what each wrote
     * (docs/design.md §1 fix 9). Fills *out. Optional: without it a zero
     * block ("not known", fine) is sent. */
    void (*wall)(void *ctx, struct bt_swim_clock *out);
    /* A PING or ACK from member (a known member, on the boot we hold for
     * it) carried its clock block (wall_ms nonzero), or a CLOCK broadcast
     * carried its word (wall_ms 0: no reading). Returns whether the word
     * was news to pass on (a greater seq than the one held for that boot;
     * the node passes no "not judged yet" on): the swim then gossips a
     * CLOCK broadcast of it on. Once it returned true for a live member's
     * word, the swim asks it about no CLOCK broadcast of that member with
     * a seq no greater until the member's state or boot changes: the sink
     * must hold such a word as no news (the node keeps the reading of a
     * member it holds alive, suspect or dead on that boot). The member is
     * the one at position pos, extra its extra bytes (see "Members by
     * position"). Optional. */
    bool (*clock)(void *ctx, uint64_t boot_id, size_t pos, void *extra,
                  const struct bt_swim_clock *clock);
    /* The word a queued CLOCK broadcast about a member says, asked each
     * time it is packed (the swim keeps no copy: every node holds one for
     * every member): the last word clock() called news for that member's
     * boot, extra being the member's extra bytes, or, extra NULL, this
     * node's own word as `wall` gave it last (wall_ms not used). A
     * member's queued word leaves the queue when the member takes another
     * boot, leaves or is forgotten. Required with clock. */
    void (*word)(void *ctx, const void *extra, struct bt_swim_clock *out);
    /* A summary of the local user state, sent in a DIGEST datagram to each
     * probe target: write at most cap (BT_SWIM_DIGEST_MAX) bytes into buf
     * and return the length (0: send none). quiet_ms is how long news takes
     * to cross the cluster by gossip (bt_swim_gossip_span_ms), for the
     * layer to say which parts of its state have held still that long.
     * Optional, with user_digest_check. */
    size_t (*user_digest)(void *ctx, uint64_t quiet_ms, uint8_t *buf, size_t cap);
    /* A peer's summary (data, len borrowed): return true when it shows a
     * difference gossip will not repair (both sides held still for
     * quiet_ms and still differ); the swim then push-pulls with the peer,
     * at most once per bt_swim_digest_gap_ms. Optional. */
    bool (*user_digest_check)(void *ctx, const struct bt_nodeid *from, uint64_t quiet_ms,
                              const uint8_t *data, size_t len);
};

struct bt_swim_config {
    struct bt_nodeid name;         /* this node's name */
    struct bt_addr addr;           /* where peers reach it */
    uint64_t boot_id;              /* nonzero, new at every process start */
    struct bt_swim_timing timing;  /* usually from bt_swim_timing_profile() */
    size_t max_packet;             /* datagram budget, >= BT_SWIM_MIN_PACKET */
    uint64_t (*random)(void *ctx); /* uniform 64-bit random numbers */
    void *random_ctx;
    /* Bytes of the caller's own state kept with every member (0 to
     * BT_SWIM_EXTRA_MAX): zeroed when the member is added, forgotten with
     * it (see "Members by position" below). The clock readings live
     * there: every node keeps one for every member, and beside the
     * member's record they need no name and no index of their own. */
    size_t member_extra;
};

#define BT_SWIM_EXTRA_MAX 64

struct bt_swim;

/* A new membership instance knowing only itself (alive, incarnation 0).
 * cfg and sink are copied. Returns NULL on a bad config (invalid name or
 * address, zero boot id, max_packet below BT_SWIM_MIN_PACKET, zero timings,
 * missing random/send/event, member_extra above BT_SWIM_EXTRA_MAX) or out
 * of memory. */
struct bt_swim *bt_swim_new(const struct bt_swim_config *cfg, const struct bt_swim_sink *sink,
                            uint64_t now_ms);
void bt_swim_free(struct bt_swim *swim);

/* Joins through seed addresses (copied; our own address is skipped): a
 * join push-pull goes to every seed, retried with exponential backoff until
 * one answers (sooner when stream events say every push-pull of an attempt
 * failed: bt_swim_stream_event). With no usable seed the node forms its own cluster. When the
 * node finds itself alone later it retries the seeds. Returns 0 or
 * BATON_EINVAL (bad address, or called twice), BATON_ENOMEM. */
int bt_swim_join(struct bt_swim *swim, const struct bt_addr *seeds, size_t n, uint64_t now_ms);

/* Announces a graceful leave (an urgent LEFT broadcast about ourselves) and
 * stops probing. Returns 0, or BATON_ECLOSED if already leaving or refused. */
int bt_swim_leave(struct bt_swim *swim, uint64_t now_ms);
/* True once the leave has been disseminated (the LEFT broadcast reached its
 * retransmit limit, nobody is left to tell, or leave_timeout passed). */
bool bt_swim_left(const struct bt_swim *swim);
/* True once a BT_EV_NAME_CONFLICT refused this node, or bt_swim_stop() was
 * called: it is silent since. */
bool bt_swim_refused(const struct bt_swim *swim);
/* Silences the node for good, as a refusal does, without an event: it
 * ignores input, sends nothing and queues nothing (node.c, when the node
 * stops). */
void bt_swim_stop(struct bt_swim *swim);

void bt_swim_recv_packet(struct bt_swim *swim, const struct bt_addr *from, const uint8_t *data,
                         size_t len, uint64_t now_ms);
void bt_swim_recv_stream(struct bt_swim *swim, const struct bt_addr *from, uint64_t conn,
                         const uint8_t *data, size_t len, uint64_t now_ms);
/* What became of the stream `stream` this swim opened (node.h,
 * bt_node_stream_event, which this is). A reply that arrives on it
 * (bt_swim_recv_stream with conn = stream) answers the push-pull; a
 * CLOSED, FAILED or TIMEOUT before that fails it: counted
 * (pushpulls_failed), forgotten, and acted on at once (a join attempt
 * whose push-pulls all failed is unanswered and the seeds are tried again
 * join_retry_min after the attempt; a periodic push-pull goes to another
 * member once; a resync is armed again). reason is the driver's errno
 * value or 0; no membership verdict is taken from it here. Unknown ids
 * are ignored. */
void bt_swim_stream_event(struct bt_swim *swim, uint64_t stream, enum bt_stream_event ev,
                          int reason, uint64_t now_ms);
/* Datagrams or connections to addr are refused (node.h,
 * bt_node_addr_refused). If addr is where the target of our unanswered
 * probe, or a suspect, has lived for at least probe_timeout, that member
 * is suspected at once (the probe ends, with no local health penalty) and
 * its suspicion runs out at the latest one probe period (scaled by local
 * health) from now, unless it refutes; it is told at once and again
 * halfway. Otherwise the refusal is counted in refusals_ignored. */
void bt_swim_addr_refused(struct bt_swim *swim, const struct bt_addr *addr, uint64_t now_ms);
void bt_swim_tick(struct bt_swim *swim, uint64_t now_ms);
/* When bt_swim_tick() is next due (monotonic ms). */
uint64_t bt_swim_next_deadline(const struct bt_swim *swim);

/* Gossips this node's word on its clock (the flags, ceiling and seq that
 * sink.wall gives now; fix 9) as a CLOCK broadcast, replacing a queued
 * older one, and starts a gossip round at once. The caller calls it when
 * its word changed (a greater seq). Returns 0, BATON_ECLOSED once stopped,
 * or BATON_ENOMEM (nothing queued: the word still rides every PING and
 * ACK). */
int bt_swim_broadcast_clock(struct bt_swim *swim, uint64_t now);

/* Longest key of a user broadcast: the election's keys are a name and a
 * node, or a name and a minter (replica.c), up to 329 bytes. */
#define BT_SWIM_USER_KEY_MAX 512

/* Queues an opaque user broadcast (data copied, 1..BT_SWIM_USER_MAX bytes)
 * for dissemination. key (copied, 0..BT_SWIM_USER_KEY_MAX bytes; NULL/0 for
 * none) invalidates a queued user broadcast with the same key. urgent: a
 * gossip round goes out at once instead of at the next gossip tick. Returns 0, BATON_EINVAL,
 * BATON_E2BIG, BATON_ENOMEM or BATON_ECLOSED (refused). */
int bt_swim_broadcast_user(struct bt_swim *swim, const void *key, size_t keylen, const void *data,
                           size_t len, bool urgent, uint64_t now_ms);

/* Sends a gossip round at once if broadcasts are queued: what urgent does,
 * once for many broadcasts queued without it. */
void bt_swim_gossip_now(struct bt_swim *swim, uint64_t now_ms);

/* Copies up to cap members (self included), in a deterministic order, into
 * out; returns how many there are. */
size_t bt_swim_members(const struct bt_swim *swim, struct bt_member_info *out, size_t cap);
/* Looks one member up by name; returns false if unknown. */
bool bt_swim_member(const struct bt_swim *swim, const struct bt_nodeid *name,
                    struct bt_member_info *out);
/* Members alive or suspect, self included (the "n" of the formulas). */
size_t bt_swim_live_count(const struct bt_swim *swim);

/* Members by position: every known member (self at 0) has a position
 * below bt_swim_positions(). A member keeps its position until a member is
 * forgotten (reaped: bt_member_stats.reaped counts them), when the last
 * one takes the forgotten one's; a caller that keeps positions takes them
 * again when that count moves. The extra bytes (config.member_extra) move
 * with their member. */
size_t bt_swim_positions(const struct bt_swim *swim);
/* The member at position pos (below bt_swim_positions()): its state, and
 * its boot in *boot_id. */
enum bt_member_state bt_swim_state_at(const struct bt_swim *swim, size_t pos, uint64_t *boot_id);
/* Its name. */
struct bt_nodeid bt_swim_name_at(const struct bt_swim *swim, size_t pos);
/* How many members were forgotten so far (bt_member_stats.reaped): when it
 * moves, positions have. */
uint64_t bt_swim_reaped(const struct bt_swim *swim);
/* Its extra bytes. */
void *bt_swim_extra_at(struct bt_swim *swim, size_t pos);
/* The extra bytes of the member named name and its position in *pos, or
 * NULL when it is not known. */
void *bt_swim_extra_of(struct bt_swim *swim, const struct bt_nodeid *name, size_t *pos);
/* XOR of a hash of (name, boot, state) over the live (alive or suspect)
 * members; dead and departed members count as absent. */
uint64_t bt_swim_digest(const struct bt_swim *swim);

/* How long a broadcast takes to be sent its retransmit limit of times at the
 * current cluster size, doubled: twice retransmit_limit * gossip_interval.
 * A state that held still this long is what gossip delivered. */
uint64_t bt_swim_gossip_span_ms(const struct bt_swim *swim);
/* The least time between two push-pulls this node starts on a digest
 * difference: a quarter of the (scaled) push-pull period. */
uint64_t bt_swim_digest_gap_ms(const struct bt_swim *swim);
void bt_swim_stats(const struct bt_swim *swim, struct bt_member_stats *out);
/* True once the join is done: a push-pull with a member completed (its
 * state, user state included, was merged), or bt_swim_join() had no usable
 * seed (the node forms its own cluster). Join retries continue while it is
 * false. */
bool bt_swim_joined(const struct bt_swim *swim);
/* Join attempts known to have gone unanswered: every push-pull of the
 * attempt was reported failed before a reply (bt_swim_stream_event). Only
 * stream events count here; a driver that reports none leaves it 0. */
uint32_t bt_swim_join_unanswered(const struct bt_swim *swim);

#endif
