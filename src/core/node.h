/*
 * The sans-IO node: one cluster member's whole protocol state, driven by its
 * caller. Bytes and time go in; datagrams, stream messages and events come
 * out. The node reads no clock, opens no socket, starts no thread and draws
 * no randomness of its own: the libuv runtime and the simulator are two
 * drivers of this same code, which is what makes a simulator seed replay one
 * exact run forever.
 *
 * Driving loop (runtime or simulator):
 *   1. deliver what arrived: bt_node_recv() for datagrams, bt_node_recv_stream()
 *      for whole stream messages;
 *   2. call bt_node_tick() whenever now >= bt_node_next_deadline();
 *   3. after any call, drain bt_node_pop_output() (send each) and
 *      bt_node_pop_event() (report each).
 * No function of this API may be called from inside another (no re-entry).
 *
 * Time: every call takes struct bt_time. mono_ms drives timers and must never
 * go backwards; wall_ms feeds the HLC and may jump either way.
 *
 * Layers: membership (swim.c) carries the replication layer (replica.c),
 * which carries the election state machine (leader.c). The election API
 * below is docs/design.md §1's table; its events come out of bt_node_pop_event()
 * with the membership events.
 */
#ifndef BT_NODE_H
#define BT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/names.h"
#include "core/types.h"

struct bt_swim_timing; /* core/swim.h */

struct bt_node_config {
    struct bt_nodeid name;        /* unique in the cluster */
    struct bt_addr addr;          /* where peers reach this node */
    uint64_t boot_id;             /* nonzero, different at every process start */
    enum bt_profile profile;      /* timings; see docs/membership.md */
    uint64_t max_clock_offset_ms; /* docs/design.md §1 fixes 5 and 9; 0: only the hard
                                      ceiling of a century (BT_HLC_CEILING_MS) */
    size_t max_packet;            /* datagram payload budget in bytes; 0: 1400 */
    uint64_t horizon_ms;          /* age past which replicated entries expire;
                                      0: ten minutes (docs/election.md) */
    /* Uniform 64-bit random numbers: the node's only source of randomness. */
    uint64_t (*random)(void *ctx);
    void *random_ctx;
    /* Most campaign names this node holds state for (entries or a
     * high-water mark); 0: BT_NODE_NAMES_DEFAULT. lead() on a new name
     * beyond it returns BATON_ELIMIT; names arriving from peers beyond it
     * are refused and counted (docs/election.md, design.md §1 fix 11). */
    size_t max_names;
    /* NULL: the profile's timings. Otherwise these timings (swim.h), used
     * as they are instead of the profile's; read by bt_node_new() only. */
    const struct bt_swim_timing *timing;
};

/* The default of bt_node_config.max_names. */
#define BT_NODE_NAMES_DEFAULT 1000000u

struct bt_output {
    enum bt_output_kind kind;
    struct bt_addr to;
    /* BT_OUT_STREAM: 0 opens a new stream to `to`; otherwise the conn given
     * to bt_node_recv_stream(), and this message is the reply on it. */
    uint64_t conn;
    const uint8_t *data; /* borrowed: valid until the next pop or call */
    size_t len;
    /* BT_OUT_STREAM with conn 0: the core's id of the stream the message
     * goes on (see "Streams the core opens" below); 0 otherwise. */
    uint64_t stream;
};

/* ---- streams the core opens --------------------------------------------------
 * Every push-pull this node starts is one exchange on one stream. Its
 * messages come out as BT_OUT_STREAM with conn 0 and `stream` set to the
 * exchange's id: nonzero, with BT_STREAM_OWN set, and greater than every
 * id before it. The first output with a new id opens a stream to `to`;
 * later outputs with the same id (the continuations of a full state, swim
 * message types 18 and 19) belong on that same stream, after it, and are
 * dropped if it is gone. What arrives on that stream (the peer's reply) is
 * delivered with bt_node_recv_stream() with conn = the stream id; a
 * driver's own ids for streams it accepted must not have BT_STREAM_OWN
 * set. The driver reports what becomes of the stream with
 * bt_node_stream_event(), at most one of CLOSED, FAILED and TIMEOUT per
 * stream, so the core acts at once: a join whose push-pulls all failed is
 * an unanswered attempt (fix 8 counts three of them as "alone") and the
 * seeds are tried again join_retry_min after the last attempt instead of
 * after the backoff; a periodic push-pull that failed goes to another
 * member at once (once); a resync that failed is armed again; every
 * failure before the reply is counted (bt_member_stats.pushpulls_failed)
 * and its state freed. An exchange is answered, and forgotten, when the
 * first message of the reply arrives: later events for it are ignored.
 * A driver may ignore all this (open a stream per message, report
 * nothing, as the simulator does): the core's timers retry as before.
 * BT_STREAM_OWN and enum bt_stream_event are in core/types.h. */

/* Counters of the election layers, and the size of their state. */
struct bt_election_stats {
    uint64_t payloads_in;    /* election broadcasts received */
    uint64_t copies;         /* of which dropped unread: a copy of one merged whole */
    uint64_t snapshots_in;   /* full-state chunks received by push-pull */
    uint64_t forwarded;      /* received entries and fences that were news, gossiped on */
    uint64_t broadcasts_out; /* entries and fences this node gossiped */
    uint64_t malformed;      /* payloads refused as malformed or of another codec version */
    uint64_t refused_clock;  /* payloads with items refused: a stamp too far ahead (fix 5) */
    uint64_t refused_stale;  /* entries refused: older than the horizon; and fences that old
                                 for a name with no mark and no live candidacy here */
    uint64_t expired;        /* entries forgotten by age */
    uint64_t refreshed;      /* own entries re-stamped before they aged */
    uint64_t owner_rewrites; /* entries for self rewritten by this owner (fix 2) */
    uint64_t terms_minted;   /* terms this node started */
    uint64_t term_refreshes; /* terms ended because the cluster overtook them (fix 3) */
    struct bt_nodeid last_clock_offender; /* author of the last item refused for its clock */
    size_t entries;                       /* gauge: candidate-map entries, tombstones included */
    size_t tombstones;                    /* gauge: of which tombstones */
    size_t high_water_marks;              /* gauge: high-water marks, one per name and minter */
    /* Fix 11, bounded state. Names beyond bt_node_config.max_names are
     * refused, never dropped silently: "logged" in this sans-IO core means
     * this counter plus the last offender (the sender and the name), which
     * a driver logs whenever the counter moves. */
    uint64_t names_refused;               /* entries and fences refused: a new name past the cap */
    struct bt_nodeid last_names_offender; /* sender of the last such refusal */
    struct bt_name last_refused_name;     /* the name it carried */
    uint64_t marks_expired; /* high-water marks aged out (no live candidacy, older than
                                 the horizon) */
    uint64_t state_failed;  /* push-pull states this node could not encode (out of memory),
                                 so it sent its member list alone */
    size_t names;           /* gauge: names this node holds state for (<= max_names) */
    /* Clock outliers (docs/design.md §1 fix 9). */
    uint64_t clock_withholds; /* times the candidacies were withheld (clock refused) */
    uint32_t clock_refused;   /* gauge: 1 while this node's clock is refused as too far
                                 ahead of the cluster's: candidacies withdrawn */
    uint32_t clock_pending;   /* gauge: 1 while, after joining through seeds, the clock
                                 is not judged yet: candidacies written, no term minted */
    int64_t clock_ahead_ms;   /* gauge: this node's wall clock minus the cluster's, as
                                 last judged (0 before) */
    size_t clock_readings;    /* gauge: live members whose clock was read */
    /* Items (entries, fences) refused for their stamp and held to be
     * screened again as words and the reference change (fix 9): gauge,
     * merged later, and dropped (the hold full, or out of memory). */
    size_t clock_held;
    uint64_t clock_held_merged;
    uint64_t clock_held_dropped;
    uint64_t digests_malformed; /* election digests (DIGEST datagrams) that could not be read */
    uint64_t digests_foreign;   /* election digests of another summary version, ignored */
    uint64_t broadcasts_failed; /* entries and fences the membership layer would not gossip
                                 (out of memory stops the node; anything else is a bug): they
                                 travel with the next push-pull */
};

/* Counters of the whole node (bt_node_stats()). */
struct bt_node_stats {
    struct bt_member_stats member;     /* membership layer */
    struct bt_election_stats election; /* replication and election layers */
    uint64_t dropped_oom;              /* outputs lost to out of memory (like lost
                                          datagrams; events are never dropped: the
                                          node stops instead) */
};

struct bt_node;

/* A new node, not yet joined. cfg is copied. Returns NULL on bad config or
 * out of memory. */
struct bt_node *bt_node_new(const struct bt_node_config *cfg, struct bt_time now);
void bt_node_free(struct bt_node *node);

/* Starts joining through seed addresses (copied); with n == 0 the node forms
 * a cluster of its own. Returns 0, BATON_EINVAL or the stop reason of a
 * stopped node. */
int bt_node_join(struct bt_node *node, const struct bt_addr *seeds, size_t n, struct bt_time now);

/* Leaves gracefully: withdraws every local candidacy (no events), then
 * announces the leave; the node keeps gossiping until bt_node_left() is
 * true, then the driver may stop it. Returns 0, BATON_ECLOSED (already
 * leaving), BATON_ENOMEM (nothing changed: the candidacies could not be
 * withdrawn; call again) or the stop reason of a stopped node. */
int bt_node_leave(struct bt_node *node, struct bt_time now);
/* True once a leave completed, or once the node stopped (nothing more to
 * send either way). */
bool bt_node_left(const struct bt_node *node);

/* A datagram arrived from `from`. Malformed input is dropped and counted. */
void bt_node_recv(struct bt_node *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                  struct bt_time now);

/* A whole stream message arrived on connection conn (nonzero, chosen by the
 * driver) from `from`; on a stream the core opened, `from` is the address it
 * was opened to (a seed that answers is told apart that way). A reply, if
 * any, comes out as BT_OUT_STREAM with the same conn. */
void bt_node_recv_stream(struct bt_node *node, const struct bt_addr *from, uint64_t conn,
                         const uint8_t *data, size_t len, struct bt_time now);

/* What became of the stream `stream` (an id from bt_output.stream) the
 * core opened (see "Streams the core opens"). reason: a positive errno
 * value from <errno.h> saying why (FAILED: ECONNREFUSED for a refused
 * connect, ECONNRESET, EHOSTUNREACH, EPROTO for a peer whose bytes no key
 * opens, EMSGSIZE, ENOBUFS when the driver had no room for the stream...;
 * TIMEOUT: ETIMEDOUT), or 0 when there is none (CONNECTED, CLOSED). Ids
 * the core does not know (answered or forgotten exchanges, other
 * drivers' ids) are ignored. The reason reaches the membership layer
 * (swim.h, bt_swim_stream_event) with the address; no membership verdict
 * is taken from it there. */
void bt_node_stream_event(struct bt_node *node, uint64_t stream, enum bt_stream_event ev,
                          int reason, struct bt_time now);

void bt_node_tick(struct bt_node *node, struct bt_time now);

/* Datagrams or connections to addr are refused: nothing listens there (an
 * ICMP port unreachable for a datagram we sent, a refused connect). A
 * crashed process on a host that stays up leaves exactly this behind; a
 * paused process, a lost packet, a cut link or a crashed host never do.
 * The membership layer takes it as evidence against the member it is
 * probing, or suspects, at addr (docs/membership.md, "Refused
 * addresses"); other refusals are counted and ignored. The driver calls it
 * for every refusal it sees, as it sees it. */
void bt_node_addr_refused(struct bt_node *node, const struct bt_addr *addr, struct bt_time now);

/* The monotonic time at which bt_node_tick() must next be called
 * (UINT64_MAX once the node stopped). */
uint64_t bt_node_next_deadline(const struct bt_node *node);

bool bt_node_pop_output(struct bt_node *node, struct bt_output *out);
bool bt_node_pop_event(struct bt_node *node, struct bt_event *ev);

/* Copies up to cap members (self included) into out; returns how many there
 * are in all. */
size_t bt_node_members(const struct bt_node *node, struct bt_member_info *out, size_t cap);

/* A digest of the live members (name, boot, alive or suspect), maintained
 * incrementally: two nodes with the same digest count the same members as
 * live. Dead, departed and unknown members are alike to it. */
uint64_t bt_node_membership_digest(const struct bt_node *node);

/* Copies the node's counters into out. */
void bt_node_stats(const struct bt_node *node, struct bt_node_stats *out);

/* ---- stopping --------------------------------------------------------------
 * A node stops for good when another live process keeps its name
 * (docs/membership.md, one process per name: BATON_ECONFLICT) or when memory
 * runs out where going on would lose a membership verdict, an election
 * event or election state (BATON_ENOMEM). It first ends every term it holds
 * (BT_EV_REVOKED for each, after the events already queued), reports why
 * (BT_EV_NAME_CONFLICT for a conflict) and then BT_EV_STOPPED with the
 * reason in `error`, its last event. From the moment it stops it ignores
 * input, sends nothing, and every election call below fails with the
 * reason: the int-returning ones return it, bt_node_is_leader() is false,
 * bt_node_candidates() returns 0. bt_node_stop_reason() tells it at any
 * time. Inspection (members, digest, stats) still works. */

/* 0 while the node runs; once it stopped, why (BATON_ECONFLICT or
 * BATON_ENOMEM). */
int bt_node_stop_reason(const struct bt_node *node);

/* ---- the election (docs/design.md §1) ------------------------------------------
 * Names are copied. A session is a nonzero id the driver chooses (an
 * embedding handle, a client connection); it is the candidate id others see.
 * No call here produces an event for the session that made it: lead()
 * returns leadership directly, resign() and session_end() are silent.
 * A stopped node fails each call with its stop reason (see above). */

/* Campaigns for name with priority. Returns 1 (leader: *fence, if not NULL,
 * gets the term token), 0 (follower: BT_EV_ELECTED comes if this node wins
 * later; always while the clock is refused (BT_EV_CLOCK_REFUSED: the
 * candidacies are withheld) and, after joining through seeds, until the
 * clock's first judgement, which is part of the sync below (design.md §1
 * fix 9)), BATON_EALREADY (this
 * node already campaigns for name),
 * BATON_EINVAL (session 0), BATON_ECLOSED (leaving) or BATON_ENOMEM.
 * A node mints no term before its first full-state exchange after
 * bt_node_join() (or its first three join attempts went unanswered) and its
 * clock's first judgement (fix 9), and a
 * first term waits a settle period of two gossip periods (docs/design.md §1
 * fix 8): so this returns 0, and BT_EV_ELECTED follows when the candidacy
 * still wins at the end of the period.
 * BATON_ELIMIT: the name is new here and the node holds state for
 * max_names names already. */
int bt_node_lead(struct bt_node *node, uint64_t session, const struct bt_name *name,
                 int64_t priority, struct bt_time now, uint64_t *fence);
/* Withdraws this node's candidacy for name. Returns 0, BATON_ENOENT or
 * BATON_ENOMEM (nothing changed). */
int bt_node_resign(struct bt_node *node, const struct bt_name *name, struct bt_time now);
/* The session ended: withdraws all its candidacies. Returns how many, or
 * BATON_ENOMEM (nothing changed). */
int bt_node_session_end(struct bt_node *node, uint64_t session, struct bt_time now);
/* The winner for name as this node sees it: its node and candidate id
 * (each optional). Returns 0 or BATON_ENOLEADER. Any name, any node. */
int bt_node_leader(const struct bt_node *node, const struct bt_name *name, struct bt_nodeid *leader,
                   uint64_t *candidate_id);
/* True iff the winner for name lives on this node. */
bool bt_node_is_leader(const struct bt_node *node, const struct bt_name *name);
/* This node's current term for name: the token into *fence and its minter
 * (this process: the node's name and cfg.boot_id) into *minter, each
 * optional (NULL): the pair a guard is offered (include/baton/guard.h; the
 * minter as text by bt_minter_format, names.h). Returns 0 or
 * BATON_ENOTLEADER (then nothing is written). */
int bt_node_fence(const struct bt_node *node, const struct bt_name *name, uint64_t *fence,
                  struct bt_minter *minter);
/* Sorted unique nodes with a live candidacy for name; copies up to cap,
 * returns the count. */
size_t bt_node_candidates(const struct bt_node *node, const struct bt_name *name,
                          struct bt_nodeid *out, size_t cap);
/* The greatest token observed for name. Returns 0 or BATON_ENOENT. */
int bt_node_high_water(const struct bt_node *node, const struct bt_name *name, uint64_t *token);
/* A count that moves whenever bt_node_high_water's answer for some name may
 * have changed (bt_leader_marks_version; UINT64_MAX once stopped). */
uint64_t bt_node_marks_version(const struct bt_node *node);
/* A resource refused this node's term and reported its mark (the guard's
 * BATON_ESTALE): the token and its minter (NULL, or node empty and boot 0,
 * if the resource does not know it; bt_minter_parse reads the guard's
 * text). If this node leads name with a token below the mark, or equal to
 * it and minted by another process (another node, or this node's name on
 * another boot: a twin), it ends that term
 * (BT_EV_REVOKED) and, after ten to eleven protocol periods (counted for
 * name from this refusal) or as soon as its view of
 * the name changes, starts one above the mark (BT_EV_ELECTED) if it still
 * wins. Call it with every refusal: a token minted by a node that died
 * before gossiping may exist only at the resource. A mark with its minter
 * is gossiped to the cluster. Returns 0, BATON_EINVAL (empty name, token
 * above BATON_TOKEN_MAX, or a known minter whose node is no node name or
 * whose boot is 0, or an unknown one with a boot), BATON_ECLOCK
 * (mark too far ahead of the local clock, refused), BATON_ELIMIT (a name
 * new here past max_names) or BATON_ENOMEM. */
int bt_node_observe_fence(struct bt_node *node, const struct bt_name *name, uint64_t token,
                          const struct bt_minter *minter, struct bt_time now);

/* ---- driver conveniences ------------------------------------------------------ */

/* Like bt_node_pop_output(), but the caller takes the output's bytes: on
 * true, *owned is the allocation out->data points into, which the caller
 * must release with free() (it is no longer freed by the node), so a driver
 * that sends asynchronously keeps the bytes without copying them. On false
 * (no output) *owned is NULL. */
bool bt_node_take_output(struct bt_node *node, struct bt_output *out, uint8_t **owned);

/* The campaign names the node knows an entry (live or tombstone) or a
 * high-water mark for, sorted by bt_name_cmp and unique. Copies the first
 * min(count, cap) into out (NULL allowed when cap is 0) and returns count,
 * or 0 when out of memory. */
size_t bt_node_names(const struct bt_node *node, struct bt_name *out, size_t cap);

/* The greatest term observed for name: its token and minter, node and
 * boot (of equal tokens, the lowest minter by node name, then boot; node
 * empty and boot 0 when the greatest mark was only observed at a
 * resource). Returns 0 or BATON_ENOENT. Either output may be NULL. */
int bt_node_high_water_term(const struct bt_node *node, const struct bt_name *name, uint64_t *token,
                            struct bt_minter *minter);

#endif
