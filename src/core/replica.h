/*
 * Replication of the election state over membership (see the essay at the
 * top of replica.c).
 *
 * The replica sits between the membership layer (struct bt_swim), which
 * moves opaque user broadcasts and push-pull state, and the election state
 * machine (struct bt_leader), which speaks decoded entries and fences. It
 * encodes what the leader wants gossiped, decodes and screens what peers
 * send, forwards news, exchanges full state on push-pull, and expires old
 * state. Both pointers are borrowed: the node owns the leader and the swim.
 *
 * Every function takes the caller's time; the replica reads no clock.
 * Not thread-safe; no re-entry.
 */
#ifndef BT_REPLICA_H
#define BT_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmap.h"
#include "core/leader.h"
#include "core/names.h"
#include "core/types.h"
#include "core/swim.h"

/* Default age past which entries and tombstones are forgotten and refused
 * (docs/election.md: why ten minutes). */
#define BT_REPLICA_HORIZON_DEFAULT_MS (10u * 60u * 1000u)

/* Counters of what the replica received, refused and sent. */
struct bt_replica_counters {
    uint64_t payloads_in;    /* user broadcasts received */
    uint64_t snapshots_in;   /* push-pull state chunks received (each merged on its own) */
    uint64_t broadcasts_out; /* leader broadcasts queued for gossip */
    uint64_t malformed;      /* payloads that failed to decode or validate, or
                                of another codec version (codec.h) */
    uint64_t refused_clock;  /* payloads with items dropped: a stamp too far ahead (fix 5) */
    uint64_t refused_stale;  /* entries dropped: older than the horizon */
    uint64_t expired;        /* entries forgotten by age */
    uint64_t refreshed;      /* own live entries re-stamped before they aged */
    uint64_t send_failed;    /* broadcasts the membership layer refused */
    /* The author (entry node, fence minter, else sender) of the last item
     * dropped for its clock, for the log. */
    struct bt_nodeid last_clock_offender;
    uint64_t state_failed; /* full states that could not be encoded (out of memory) */
    /* The sender of the last payload holding a name refused at the names cap
     * (the leader counts the refusals and keeps the name). */
    struct bt_nodeid last_names_offender;
    /* Fix 9: items refused for their clock are held and screened again
     * (bt_replica_rescreen); these were not (the hold was full, or out of
     * memory), and these were merged on a later screening. */
    uint64_t held_dropped;
    uint64_t held_merged;
    /* Broadcasts not merged: a copy of one merged whole lately (payloads_in
     * counts them too). */
    uint64_t copies;
    uint64_t digests_malformed; /* DIGESTs whose summary could not be read */
    uint64_t digests_foreign;   /* DIGESTs of another summary version, ignored */
};

/* One encoded chunk of the full state: a SNAPSHOT payload (codec.h). */
struct bt_replica_chunk {
    uint8_t *buf; /* malloc'd */
    size_t len;   /* at most BT_SWIM_USER_CHUNK_MAX */
};

struct bt_replica {
    struct bt_leader *leader;        /* borrowed */
    struct bt_swim *swim;            /* borrowed */
    uint64_t horizon_ms;             /* expiry age of entries and tombstones */
    uint64_t next_expiry;            /* monotonic ms of the next expiry/refresh pass */
    struct bt_replica_chunk *chunks; /* the full state being sent, chunk by chunk */
    size_t nchunks;                  /* how many */
    struct bt_replica_counters counters;
    /* 0, or BATON_ENOMEM once memory ran out where going on would lose
     * election state: an accepted payload or full state that could not be
     * merged, a membership verdict the leader could not take, a broadcast of
     * this node's own writes that could not be queued, or a refresh of its
     * own entries that could not be made. The node stops then (node.h);
     * nothing else should be called but bt_replica_destroy. */
    int fatal;
    /* Items refused for their clock (fix 9), newest stamp per (name, node)
     * or (name, minter), at most BT_REPLICA_HELD_MAX of each kind: the
     * author's word or the reference may change, and then they pass. */
    struct bt_centry *held_e;
    size_t nheld_e;
    struct bt_fence *held_f;
    size_t nheld_f;
    /* The digest's buckets as last observed, and since when (monotonic ms)
     * each has held that value: how long each part of the state held
     * still (bt_replica_digest). */
    uint64_t digest_seen[BT_CMAP_DIGEST_BUCKETS];
    uint64_t digest_since[BT_CMAP_DIGEST_BUCKETS];
    /* Fingerprints of broadcasts merged whole lately, BT_REPLICA_SEEN slots
     * (0: empty), allocated at the first broadcast: a copy of one is dropped
     * unread (replica.c, "Copies"). */
    uint64_t *seen;
};

#define BT_REPLICA_SEEN 8192

#define BT_REPLICA_HELD_MAX 512

/* Ready to run; leader and swim are borrowed. horizon_ms 0 means
 * BT_REPLICA_HORIZON_DEFAULT_MS. */
void bt_replica_init(struct bt_replica *r, struct bt_leader *leader, struct bt_swim *swim,
                     uint64_t horizon_ms, uint64_t now_mono);
void bt_replica_destroy(struct bt_replica *r);

/* Screens again the items held after a clock refusal (fix 9) and merges
 * those that now pass, gossiping them on as news; the rest stay held, and
 * those older than the horizon go. Call it when a member's word on its
 * clock or this node's reference changed (node.c: after each clock
 * judgement and reading). Out of memory on a merge sets fatal. */
void bt_replica_rescreen(struct bt_replica *r, struct bt_time now);
/* How many items are held (entries + fences). */
size_t bt_replica_held(const struct bt_replica *r);

/* Drains the leader's broadcasts into urgent membership broadcasts. The
 * other functions only queue them in the leader (the membership layer must
 * not be re-entered from its own callbacks, bar one: see swim.h), so call
 * this after every call into the replica or the leader, outside them. */
void bt_replica_flush(struct bt_replica *r, struct bt_time now);

/* The membership layer's hooks (struct bt_swim_sink). data is borrowed.
 * What a broadcast or a push-pull brought that was news is gossiped on (not
 * from a join's exchange: a newcomer catching up has no news for anyone). */
void bt_replica_deliver(struct bt_replica *r, const struct bt_nodeid *from, const uint8_t *data,
                        size_t len, struct bt_time now);
/* The membership's user_prefetch hook (swim.h): the names of the n
 * broadcasts about to be delivered, but for the copies bt_replica_deliver
 * will drop, handed to bt_leader_prefetch. */
void bt_replica_prefetch(const struct bt_replica *r, const uint8_t *const *data, const size_t *len,
                         size_t n);
/* The membership's user_state hook (swim.h): index 0 encodes the full state
 * into chunks, each a SNAPSHOT of whole names (a name's entries and its
 * mark together, unless one name alone outgrows a chunk), at most
 * BT_SWIM_USER_CHUNK_MAX bytes; every index returns its chunk, and the
 * first index past the end returns 0 and frees them. */
size_t bt_replica_state(struct bt_replica *r, size_t index, uint8_t *buf, size_t cap,
                        struct bt_time now);
void bt_replica_merge_state(struct bt_replica *r, const struct bt_nodeid *from, bool join,
                            const uint8_t *data, size_t len, struct bt_time now);

/* The membership's digest hooks (swim.h user_digest, user_digest_check;
 * docs/election.md, "What gossip misses"). The summary is the candidate
 * map's digest of the live entries and of their names' high-water marks
 * (cmap.h), BT_CMAP_DIGEST_BUCKETS buckets of names, with a mask of the
 * buckets that have held still for quiet_ms:
 *
 *   version u8 (3) | still mask u32 | BT_CMAP_DIGEST_BUCKETS x u64
 *   version u8 (3) | still mask u32 (all ones) | u64 root
 *
 * The second, compact form is sent when every bucket held still (an idle
 * cluster): root mixes every bucket's digest with its index. Versions 1 and
 * 2 (the same forms, digesting the live entries alone) are not compared:
 * a summary of another version is counted (digests_foreign) and ignored.
 *
 * bt_replica_digest writes it into buf (cap bytes, at least
 * BT_REPLICA_DIGEST_LEN) and returns its length (0 if cap is too small).
 * bt_replica_digest_differs returns true when some bucket differs from ours
 * while both sides held it still for quiet_ms: gossip has delivered what it
 * will, so one side missed something and a push-pull repairs it. A compact
 * summary is compared only when every bucket held still here too; otherwise
 * our own summary, which lists the buckets, lets the sender compare. A
 * summary of this version that cannot be read is counted
 * (digests_malformed) and returns false. */
#define BT_REPLICA_DIGEST_LEN (1 + 4 + 8 * BT_CMAP_DIGEST_BUCKETS)
#define BT_REPLICA_DIGEST_MIN (1 + 4 + 8)
size_t bt_replica_digest(struct bt_replica *r, uint64_t quiet_ms, uint8_t *buf, size_t cap,
                         struct bt_time now);
bool bt_replica_digest_differs(struct bt_replica *r, uint64_t quiet_ms, const uint8_t *data,
                               size_t len, struct bt_time now);

/* A membership event: feeds the leader's liveness view (fix 1). */
void bt_replica_member_event(struct bt_replica *r, const struct bt_event *ev, struct bt_time now);

/* Expires old state and refreshes this node's own entries when due. */
void bt_replica_tick(struct bt_replica *r, struct bt_time now);
uint64_t bt_replica_next_deadline(const struct bt_replica *r);

#endif
