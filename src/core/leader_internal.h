/*
 * The election state machine's internals, shared by the files that
 * implement it and by nothing else (leader.h is the API):
 *
 *   leader.c          name and member records, the winner, terms (minting,
 *                     marks, settling, recompute), lifecycle, local
 *                     candidacies, outputs and inspection
 *   leader_merge.c    input from peers: merging entries, fences, snapshots
 *                     and payloads; membership verdicts
 *   leader_settle.c   deferred terms and settling before minting (fix 8)
 *   leader_ageing.c   leaving (resign all), refreshing and ageing out state
 *
 * leader.c's opening comment describes the machine and its fixes.
 */
#ifndef BT_CORE_LEADER_INTERNAL_H
#define BT_CORE_LEADER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/fifo.h"
#include "core/hlc.h"
#include "core/htab.h"
#include "core/leader.h"
#include "core/posindex.h"

/* This node's candidacy for a name and its term: what only a campaigning
 * record needs, allocated when this node first campaigns for the name
 * (bt_leader_lead) and kept until the record goes. A 1000-node simulation
 * of 1000 names keeps a million records, three thousand of them
 * campaigning. */
struct campaign {
    uint64_t session;            /* its session (= candidate id); valid if campaigning */
    int64_t priority;            /* its priority; valid if campaigning */
    struct name_rec *local_prev; /* campaigning records, doubly linked */
    struct name_rec *local_next;
    bool leading;         /* this node holds a term for the name */
    bool deferred;        /* stepped down for a rival it cannot see; no new
                              term until its view of the name changes or
                              bt_leader_retry_deferred() */
    uint64_t defer_round; /* l->retry_round when the wait began */
    uint64_t term_token;  /* the term's token; valid if leading */
    /* Settling before a first term (fix 8; see may_mint). Valid while
     * campaigning. */
    struct bt_nodeid prev_node;   /* the winner at the last recompute (len 0: none) */
    uint64_t prev_boot;           /* its boot */
    bool settling;                /* wins, and waits out the settle period to mint */
    bool settled;                 /* the settle period passed: mints if it still wins */
    uint64_t started_ms;          /* the wall ms given to lead() */
    uint64_t settle_at;           /* the driver's deadline for it; 0: not set yet */
    struct name_rec *settle_prev; /* settling records, oldest first */
    struct name_rec *settle_next;
};

/* What this node knows about one campaign name: its high-water mark and,
 * if this node campaigns for it, the local candidacy and its term. A record
 * exists while either is present, or the map holds an entry for the name:
 * so the records are the names this node holds state for, and their count
 * is what max_names caps (fix 11). */
struct name_rec {
    struct bt_hlink link; /* in bt_leader.names, hashed by name */
    bool has_high_water;  /* a token was observed for the name */
    uint64_t high_water;  /* the greatest token observed */
    /* Who minted high_water: processes, node and boot (an unknown minter:
     * observed at a resource). Two processes can mint the same token in the
     * same millisecond, even two of one node name (twins); a leader whose
     * token another process minted too must not keep it (see recompute).
     * Past BT_LEADER_MINTERS_MAX the set stops growing: it is only ever
     * asked whether it holds anyone but this process. The first is kept
     * here, the others (rare: a second minter needs an equal token) in
     * more_minters, BT_LEADER_MINTERS_MAX - 1 slots allocated when the
     * second comes and kept until the record goes: four inline took 320
     * of a record's 744 bytes, and a 1000-node simulation of 1000 names
     * keeps a million records. Read them with ldr_minter(). */
    struct bt_minter minter0;
    struct bt_minter *more_minters; /* NULL until a second minter came */
    uint8_t nminters;
    bool campaigning;            /* this node has a local candidacy */
    bool dirty;                  /* queued for recompute by the current input */
    struct name_rec *dirty_next; /* next record queued for recompute */
    struct campaign *camp;       /* NULL until this node first campaigned for the name */
    /* The key, allocated to fit: only its len and len bytes are there
     * (name_create), so it is never copied whole (bt_name_copy). */
    struct bt_name name;
};

/* Whether this node holds a term for r's name. */
static inline bool ldr_leading(const struct name_rec *r)
{
    return r->camp != NULL && r->camp->leading;
}

/* A member the membership layer reported: alive or suspect (live), or dead
 * or departed after it was live here. Unknown means not live. A dead record
 * remembers when the verdict came, to tell a fence the node minted before
 * it died (no rival: see unseen_rival) from one minted since (it lives on
 * behind a cut); it is forgotten with the entries of its age
 * (bt_leader_expire), or revived by a live verdict.
 *
 * Every node holds one for every other member, so the records are kept in
 * one array of 40-byte records with an index of 32-bit positions
 * (leader.c, "members"; the record does not keep its name's hash, which
 * the index asks for only when it is built again), a member's name inline
 * up to MEMBER_NODE_INLINE bytes: 40 bytes and about 5 to 11 of index
 * instead of 64 with malloc's header and 8 to 16 of hash buckets when each
 * was allocated to fit its name (and 144 with a struct bt_nodeid inline
 * before that; docs/election.md, "State"). A record's address holds until
 * the next record is added or forgotten. */
#define MEMBER_NODE_INLINE 12

struct member_rec {
    uint64_t boot_id; /* its current (live) or last (dead) boot */
    uint64_t dead_at; /* dead: this node's HLC time of the verdict */
    /* What it last said of its own clock, on this boot (fix 9), for
     * screening what it wrote: see bt_leader_acceptable_from(). */
    uint64_t clock_ceiling; /* BT_CLOCK_WORD_REFUSED: its last stamp while fine */
    uint8_t clock_word;     /* enum bt_clock_word */
    bool live;              /* alive or suspect */
    bool clock_out;   /* its clock is beyond the bound: its candidacies do not count (fix 9) */
    uint8_t node_len; /* the key, the member's name: 1..BATON_NODE_MAX bytes, see node */
    /* node_len <= MEMBER_NODE_INLINE: the name's bytes (no NUL); longer:
     * the bytes of a char * to them, owned. */
    char node[MEMBER_NODE_INLINE];
};

struct bt_leader {
    struct bt_leader_config cfg; /* copied at creation */
    struct bt_hlc hlc;           /* this node's clock: stamps and tokens */
    struct bt_cmap cmap;         /* the replicated candidate map */
    struct bt_htab names;        /* struct name_rec by name */
    size_t nhigh_water;          /* (name, minter) pairs at the high-water marks */
    uint64_t marks_version;      /* moves when a mark's token changes (bt_leader_marks_version) */
    size_t ndeferred;            /* campaigning records with deferred set */
    uint64_t retry_round;        /* bt_leader_retry_deferred() calls so far */
    struct member_rec *members;  /* every member heard of, in no order (leader.c, "members") */
    size_t nmembers, members_cap;
    struct bt_posindex member_index; /* members by name */
    struct name_rec *local_head;     /* campaigning records */
    size_t nlocal;                   /* how many */
    struct name_rec *dirty_head;     /* records to recompute after this input */
    struct bt_fifo broadcasts;       /* struct bt_leader_broadcast */
    struct bt_fifo events;           /* struct bt_leader_event */
    struct bt_leader_counters counters;
    bool synced;                  /* fix 8: the first full-state exchange is done */
    struct name_rec *settle_head; /* settling records, by deadline */
    struct name_rec *settle_tail;
    size_t nsettling;   /* how many */
    bool withheld;      /* fix 9: candidacies withdrawn while the clock is refused */
    uint64_t first_own; /* the first stamp this boot issued (0: none yet) */
    uint64_t own_echo;  /* the greatest stamp of this node's name, written by an
                                     earlier boot, merged from a peer (bt_leader_own_echo) */
};

/* ---- records (leader.c) --------------------------------------------------- */

/* The record of name, or NULL. */
struct name_rec *ldr_name_find(const struct bt_leader *l, const struct bt_name *name);

/* The record of name into *out, created if there is none and the cap
 * allows one more name. Returns 0, BATON_ELIMIT or BATON_ENOMEM. */
int ldr_name_obtain(struct bt_leader *l, const struct bt_name *name, struct name_rec **out);

/* Whether the map holds a live (not removed) entry for name, whatever its
 * node's state: a candidacy that may still count somewhere. */
bool ldr_name_has_live_entry(const struct bt_leader *l, const struct bt_name *name);

/* A peer's item for a new name past the cap: refused, counted, its name
 * kept for the log. */
void ldr_refuse_name(struct bt_leader *l, const struct bt_name *name);

/* Frees a record that holds nothing any more. */
void ldr_name_release_if_empty(struct bt_leader *l, struct name_rec *r);

/* The record of member node, or NULL. */
struct member_rec *ldr_member_find(const struct bt_leader *l, const struct bt_nodeid *node);
/* A new record for node (not held yet), zeroed but for its name. NULL: out
 * of memory, nothing changed. Earlier records' addresses may change. */
struct member_rec *ldr_member_add(struct bt_leader *l, const struct bt_nodeid *node);
/* Forgets the records of members dead since before cutoff (dead_at <
 * cutoff). Records' addresses may change. */
void ldr_members_forget_dead(struct bt_leader *l, uint64_t cutoff);

/* Whether e (may be NULL) is an entry of this node. */
bool ldr_is_self(const struct bt_leader *l, const struct bt_cstored *e);

/* ---- clock, outputs, terms (leader.c) ------------------------------------- */

/* Raises the HLC to a stamp that was validated when it entered the node (the
 * wall clock may have gone back since, so the offset check must not run
 * again: the next stamp must exceed it whatever the wall clock says). */
void ldr_absorb_known(struct bt_leader *l, uint64_t stamp);
/* A stamp of this node's name came from a peer, before it is absorbed
 * (fix 9, bt_leader_own_echo). */
void ldr_note_own_echo(struct bt_leader *l, uint64_t stamp);

/* Queue a broadcast of entry e, of the mark (name, token, minter), or an
 * event of kind about r's candidacy with fence, into room reserved by
 * ldr_reserve_outputs(). */
void ldr_push_entry(struct bt_leader *l, const struct bt_centry *e);
void ldr_push_fence(struct bt_leader *l, const struct bt_name *name, uint64_t token,
                    const struct bt_minter *minter);
void ldr_push_event(struct bt_leader *l, enum bt_leader_event_kind kind, const struct name_rec *r,
                    uint64_t fence);

/* Reserves room for that many broadcasts and events. Returns 0 or
 * BATON_ENOMEM (then nothing may change). */
int ldr_reserve_outputs(struct bt_leader *l, size_t broadcasts, size_t events);

/* Merges the mark (token, minter) into r: a greater token replaces the mark
 * and its minters, an equal one adds its minter. Returns 1 if r changed, 0
 * if not, or BATON_ENOMEM (r unchanged; only a second minter needs
 * memory, never a greater token). */
int ldr_raise_high_water(struct bt_leader *l, struct name_rec *r, uint64_t token,
                         const struct bt_minter *minter);

/* The i-th minter of r's mark, i < r->nminters. */
static inline const struct bt_minter *ldr_minter(const struct name_rec *r, size_t i)
{
    return i == 0 ? &r->minter0 : &r->more_minters[i - 1];
}

/* Frees a record unlinked from bt_leader.names, with its minters. */
void ldr_name_free(struct name_rec *r);

/* This process as a minter: the node's name and its boot. */
static inline struct bt_minter ldr_self_minter(const struct bt_leader *l)
{
    struct bt_minter m;
    m.node = l->cfg.self;
    m.boot = l->cfg.boot_id;
    return m;
}

/* Sets or clears r's deferred flag, keeping the count and the round it
 * began in step. */
void ldr_set_deferred(struct bt_leader *l, struct name_rec *r, bool deferred);

/* Takes r out of the settling list (it stops settling). */
void ldr_settle_unlink(struct bt_leader *l, struct name_rec *r);

/* Queues r (if it campaigns; NULL is ignored) for recompute after this
 * input. */
void ldr_mark_dirty(struct bt_leader *l, struct name_rec *r);

/* The candidacies or the membership behind r changed: a deferred term may
 * start now (see recompute). Queues r for recompute. */
void ldr_view_changed(struct bt_leader *l, struct name_rec *r);

/* Recomputes every queued record, emitting what changed into reserved room. */
void ldr_recompute_dirty(struct bt_leader *l, uint64_t wall_ms);

/* Writes (name, self) with a stamp above whatever the map holds for it: the
 * local candidacy if r campaigns, a tombstone otherwise. Queues the entry
 * (one broadcast slot must be reserved). Returns 0 or BATON_ENOMEM. */
int ldr_write_own_entry(struct bt_leader *l, const struct bt_name *name, const struct name_rec *r,
                        uint64_t wall_ms);

/* Fix 2: after the map changed under key (name, self), makes sure it says
 * what this node knows to be true, rewriting it above the intruder if not.
 * Returns 0 or BATON_ENOMEM. */
int ldr_owner_check(struct bt_leader *l, const struct bt_name *name, uint64_t wall_ms);

/* Withdraws r's candidacy: tombstone, broadcast, no event. One broadcast
 * slot must be reserved. Returns 0 or BATON_ENOMEM (nothing changed). */
int ldr_withdraw(struct bt_leader *l, struct name_rec *r, uint64_t wall_ms);

#endif
