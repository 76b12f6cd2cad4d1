/*
 * The node's insides (node.c), shared with the clock judgement
 * (node_clock.c, docs/design.md §1 fix 9). Not part of node.h's API.
 */
#ifndef BATON_CORE_NODE_INTERNAL_H
#define BATON_CORE_NODE_INTERNAL_H

#include "core/fifo.h"
#include "core/hlc.h"
#include "core/leader.h"
#include "core/node.h"
#include "core/replica.h"
#include "core/swim.h"
#include "core/swim_proto.h"

/* One queued output; data is owned by the queue until popped. */
struct bt_out_item {
    enum bt_output_kind kind;
    struct bt_addr to;
    uint64_t conn;
    uint64_t stream; /* bt_output.stream */
    uint8_t *data;
    size_t len;
};

/* The last clock reading of one live member (fix 9): its wall clock minus
 * ours when its PING or ACK arrived; and its word on its own clock, the
 * newest heard (by seq) from a PING, an ACK or a CLOCK broadcast. Every
 * node holds one per member, so it is kept in the member's record at
 * membership (bt_swim_config.member_extra): 32 bytes, with no name and no
 * index of its own, found where the member is, by name or by position
 * (swim.h, "Members by position"). It was 40 bytes in an array of its
 * own with the member's name and an index by name: 16 bytes per (node,
 * member) pair more, and a lookup for every PING, ACK and word. */
struct clock_reading {
    /* The word first: a queued CLOCK broadcast reads it beside the
     * member's name, which ends the record before it (node_sink_word). */
    uint64_t ceiling;   /* its word's ceiling */
    uint32_t seq;       /* its word's seq: a word with a greater one is newer */
    uint8_t flags;      /* its word's flags (BT_SWIM_CLOCK_*) */
    bool has : 1;       /* there is a reading (all else is zero when not) */
    bool heard : 1;     /* the word came from this boot */
    bool read : 1;      /* offset_ms is a reading (a word by gossip brings none) */
    bool word_told : 1; /* the election has the word (bt_leader_member_word, _clock) */
    /* Marked for the next judgement (node_clock.c, "what the next
     * judgement has to look at"): check, to be checked against membership;
     * retell, to be told to the election (bt_leader_member_clock); listed,
     * in clock_pending; live, its member was alive or suspect at its last
     * check. */
    bool check : 1, retell : 1, listed : 1, live : 1;
    /* out_told: the election was told since the last mark whether the
     * member's clock is out (out_refused; bt_leader_member_clock), so a
     * new word that does not change that needs no telling. */
    bool out_told : 1, out_refused : 1;
    uint64_t boot_id;
    int64_t offset_ms;
};

/* A membership verdict waiting for the election (see settle()). */
struct verdict {
    struct bt_nodeid member;
    uint64_t boot_id;
    enum bt_event_kind kind;
};

/* Fix 8: join attempts known unanswered (every push-pull of the attempt
 * failed, from stream events) after which a node is alone. */
#define ALONE_ATTEMPTS 3

/* Retry rounds (protocol periods) a waiting term waits, counted from its
 * own step back; the first round may come at once, so eleven rounds are at
 * least ten periods. */
#define DEFER_ROUNDS 11

struct bt_node {
    struct bt_node_config cfg;
    struct bt_swim *swim;
    struct bt_leader *leader;
    struct bt_replica replica;
    struct bt_time now;      /* time of the call in progress, for the sink */
    uint64_t retry_interval; /* one retry round of waiting terms: a protocol period */
    uint64_t retry_at;       /* monotonic ms of the next retry; 0: none waits */
    bool leaving;            /* bt_node_leave() called */
    bool joined;             /* bt_node_join() called */

    struct verdict *verdicts; /* membership events not yet given to the election */
    size_t nverdicts, verdicts_cap;

    struct bt_fifo out; /* outputs: struct bt_out_item */
    uint8_t *popped;    /* data of the last popped output, freed at the next pop */

    struct bt_fifo ev; /* events: struct bt_event */

    /* Clock outliers (fix 9): readings of the members' clocks, nclocks of
     * them, in their records at membership (struct clock_reading). */
    size_t nclocks;
    int64_t *scratch;         /* one offset, ours: the median's room when there is no
                                 reading (node_judge_clock allocates it otherwise) */
    bool clock_dirty;         /* readings or verdicts changed since the last judgement */
    bool clock_settled;       /* enough readings to judge (see judge_clock()) */
    bool clock_refused;       /* judged too far ahead: candidacies withheld */
    bool clock_announced;     /* the first judgement was made (and its event queued) */
    uint64_t clock_judged_at; /* monotonic ms of the last judgement */
    uint64_t clock_ok_since;  /* refused, but judged within bounds since (0: not) */
    uint64_t joined_at;       /* monotonic ms of bt_node_join() */
    int64_t cluster_offset;   /* the cluster's clock minus ours, as last judged */
    uint64_t clock_ceiling;   /* refused: the greatest stamp issued while judged fine */
    bool words_dirty;         /* a member's word on its clock is not told to the election */
    /* This node's word on its clock (node_sink_wall): flags, ceiling, and
     * seq counting its changes; word_gossiped is the seq last gossiped
     * (bt_swim_broadcast_clock). */
    uint8_t word_flags;
    uint64_t word_ceiling;
    uint32_t word_seq, word_gossiped;
    /* The readings marked for the next judgement (check or retell) or
     * whose word the election has not taken, by their members' positions:
     * npending of them, room for pending_cap; and membership's reaped
     * count when those positions were last taken (node_clock.c). */
    uint32_t *clock_pending;
    size_t npending, pending_cap;
    bool pending_unsorted; /* clock_pending is not in increasing order */
    uint64_t clock_reaped;
    size_t nlive_read; /* readings with read and live set */

    uint64_t dropped_oom; /* outputs and clock readings lost to out of memory */

    int stopped;    /* 0, or why the node stopped (node.h) */
    bool has_stash; /* an election or clock event not queued (no memory) */
    struct bt_event stash;
    bool has_cause; /* the BT_EV_NAME_CONFLICT that stopped the node, unreported */
    struct bt_event cause;
    bool stop_reported; /* BT_EV_STOPPED was popped */

    /* Fix 8 (see sync_check and settle()). */
    uint64_t settle_ms;      /* the settle period of a first term */
    bool synced;             /* the election was told the node has the cluster's state */
    uint64_t alone_at;       /* monotonic ms when unanswered joins mean alone; 0: none */
    uint64_t alone_interval; /* how long after bt_node_join() that is */
};

/* ---- node.c ---- */

/* Queues an event; false when memory ran out (the caller stops the node). */
bool node_push_event(struct bt_node *n, const struct bt_event *ev);
/* Stops the node for good with reason (a negative BATON_E*), reporting
 * cause first if not NULL (node.h, "Stopping"). */
void node_stop(struct bt_node *n, int reason, const struct bt_event *cause);
/* Whether the first ALONE_ATTEMPTS join attempts went unanswered (fix 8). */
bool node_join_unanswered(const struct bt_node *n);

/* ---- node_clock.c (fix 9) ---- */

/* Membership's verdicts, for the clock readings: a member restarted (its
 * reading stands until a fresh one), was declared dead (its reading kept,
 * its judgement dropped), or was forgotten (readings of other boots than
 * keep_boot dropped). */
void node_clock_reboot(struct bt_node *n, const struct bt_nodeid *member, uint64_t boot_id);
void node_clock_dead(struct bt_node *n, const struct bt_nodeid *member);
void node_clock_forget(struct bt_node *n, const struct bt_nodeid *member, uint64_t keep_boot);
/* Positions move only when membership forgets a member, in bt_swim_tick
 * (the last one takes the forgotten one's place, and the forgotten one's
 * reading goes with it): the readings are counted and listed again after
 * it. Until then nothing walks the pending list (settle() comes after),
 * and what a verdict inside the tick lists is listed again. */
void node_clock_positions(struct bt_node *n);
/* Frees what the readings take beside the members' records (bt_node_free). */
void node_clock_free(struct bt_node *n);
/* Any membership verdict on member (after the calls above): the election's
 * record of it may change, so its reading is told again at the next
 * judgement, and the readings are checked against membership. */
void node_clock_verdict(struct bt_node *n, const struct bt_nodeid *member);
/* The swim sink's `clock` and `wall` (swim.h): a member's clock block read,
 * and this node's own block to send. */
bool node_sink_clock(void *ctx, uint64_t boot_id, size_t pos, void *extra,
                     const struct bt_swim_clock *clock);
void node_sink_wall(void *ctx, struct bt_swim_clock *out);
/* The swim sink's `word` (swim.h): the word a queued CLOCK broadcast says. */
void node_sink_word(void *ctx, const void *extra, struct bt_swim_clock *out);
/* Tells the election what each member last said of its clock; returns
 * whether any word changed. From settle(), after the verdicts. */
bool node_tell_words(struct bt_node *n);
/* Gossips this node's word on its clock when it changed since it was last
 * gossiped (bt_swim_broadcast_clock). From settle(), after the judgement. */
void node_say_word(struct bt_node *n);
/* Judges this node's clock against the cluster's and acts on a change
 * (BT_EV_CLOCK_REFUSED / BT_EV_CLOCK_OK). From settle(). */
void node_judge_clock(struct bt_node *n);

#endif
