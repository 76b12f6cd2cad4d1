/*
 * The election and fencing state machine of one node (the reference's
 * barrel_p2p_leader, sans-IO). See the essay at the top of leader.c.
 *
 * Inputs: the local API (lead, resign, session end), replicated payloads
 * already decoded by the caller (candidate-map entries, fence high-water
 * marks, full snapshots) and membership verdicts. Outputs, drained by the
 * caller after every call: broadcasts to gossip (bt_leader_pop_broadcast)
 * and events for local candidates (bt_leader_pop_event). Every call takes
 * the caller's wall clock in milliseconds, which feeds the node's HLC; the
 * module reads no clock of its own.
 *
 * Ownership: every pointer argument is borrowed for the duration of the call
 * and copied where kept; nothing returned points into the caller's input.
 * Not thread-safe; no function may be called from another's inside.
 *
 * Memory: an accepted input never loses an output. Each call reserves room
 * in the output queues for everything it may emit before it changes any
 * state, and fails with BATON_ENOMEM, changing nothing, if it cannot.
 */
#ifndef BT_LEADER_H
#define BT_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmap.h"
#include "core/codec.h"
#include "core/names.h"

/* Minters remembered per high-water mark (equal tokens from several nodes). */
#define BT_LEADER_MINTERS_MAX 4

struct bt_leader_config {
    struct bt_nodeid self;        /* this node's name, valid (names.h) */
    uint64_t boot_id;             /* this process's boot, nonzero */
    uint64_t max_clock_offset_ms; /* docs/design.md §1 fix 5; 0 disables the check */
    /* docs/design.md §1 fix 8. false: a winner mints at once, as the
     * reference does. true (node.c): no term before bt_leader_synced(), and
     * a first term waits out a settle period (bt_leader_settle_*) unless the
     * previous winner went away in a way every node sees; lead() then never
     * returns 1 (ELECTED follows). */
    bool settle;
    /* With settle: a campaign younger than this (the wall ms given to
     * lead()) settles even when the previous winner went away, since a
     * candidacy made in the same moment as others has not met them yet
     * (simulator finding E19). The driver's settle period; 0: none does. */
    uint64_t settle_ms;
    /* Fix 11. A fence older than this (by its token's wall time) for a name
     * this node holds no mark and no live candidacy for is refused, so that
     * a mark aged out by bt_leader_expire() is not brought back by a peer
     * that has not aged it yet. 0: no such refusal. */
    uint64_t horizon_ms;
    /* Fix 11. Most names with state here (entries or a mark); 0: no cap. */
    size_t max_names;
};

enum bt_leader_broadcast_kind {
    BT_LEADER_BCAST_ENTRY = 1, /* a candidate-map entry this node wrote */
    BT_LEADER_BCAST_FENCE = 2, /* a high-water mark this node minted */
};

/* Something to gossip to every other node (a DELTA or a FENCE payload). */
struct bt_leader_broadcast {
    enum bt_leader_broadcast_kind kind;
    struct bt_centry entry; /* BT_LEADER_BCAST_ENTRY: the entry; zeroed otherwise */
    struct bt_fence fence;  /* BT_LEADER_BCAST_FENCE: (name, token); zeroed otherwise */
};

enum bt_leader_event_kind {
    /* The local candidate became leader after its lead() call returned
     * follower, or started a fresh term (fix 3). fence: the new term token. */
    BT_LEADER_ELECTED = 1,
    /* The local candidate lost leadership (to another node, to a node that
     * now outranks it, or because the cluster overtook its token: fix 3).
     * fence: the token of the term that ended. Never sent for a resign or a
     * session end. */
    BT_LEADER_REVOKED = 2,
};

/* A notification for one local candidate. */
struct bt_leader_event {
    enum bt_leader_event_kind kind;
    uint64_t session;        /* the candidate's session, as given to lead() */
    struct bt_name name;     /* the campaign */
    uint64_t fence;          /* ELECTED: the new token; REVOKED: the ended one */
    struct bt_minter minter; /* the term's minter: always this process (self, boot_id) */
};

/* Monotonic counters, for metrics and tests. */
struct bt_leader_counters {
    uint64_t entries_merged;          /* received entries that changed the map */
    uint64_t entries_stale;           /* received entries already known or older */
    uint64_t fences_raised;           /* received fences that raised a high-water mark */
    uint64_t fences_stale;            /* received fences at or below the mark */
    uint64_t deltas;                  /* DELTA inputs accepted (merge_entry, DELTA payloads) */
    uint64_t fence_msgs;              /* FENCE inputs accepted (merge_fence, FENCE payloads) */
    uint64_t snapshots;               /* SNAPSHOT inputs accepted */
    uint64_t fences_observed;         /* marks handed back from resources (observe_fence) */
    uint64_t refused_clock;           /* inputs refused whole: a stamp too far ahead (fix 5) */
    uint64_t refused_malformed;       /* inputs refused whole: invalid content */
    uint64_t owner_rewrites;          /* entries for self overwritten by the owner (fix 2) */
    uint64_t terms_minted;            /* terms started by this node */
    uint64_t term_refreshes;          /* terms ended because the cluster overtook them (fix 3) */
    uint64_t term_deferrals;          /* overtaken by a rival this node cannot see: waited */
    uint64_t elected_events;          /* ELECTED events queued */
    uint64_t revoked_events;          /* REVOKED events queued */
    uint64_t member_changes;          /* membership inputs that changed the view */
    uint64_t regossiped;              /* received items queued again as broadcasts (news) */
    uint64_t settled;                 /* settle periods that ran out (fix 8; a term follows if
                                   the campaign still wins) */
    uint64_t names_refused;           /* received entries and fences refused: a new name past
                                   max_names (the rest of their input is merged) */
    uint64_t fences_too_old;          /* received fences refused: older than horizon_ms for a
                                   name with no mark and no live candidacy here */
    uint64_t marks_expired;           /* high-water marks aged out by bt_leader_expire() */
    struct bt_name last_refused_name; /* the name of the last names_refused item */
    uint64_t withholds;               /* times the candidacies were withheld (fix 9) */
};

struct bt_leader;

/* A new state machine, with no candidacy and no known member but self.
 * cfg is copied. Returns NULL if cfg->self is no valid node name, boot_id is
 * 0, or memory runs out. */
struct bt_leader *bt_leader_new(const struct bt_leader_config *cfg);
/* Frees l and everything it holds, undrained outputs included. NULL is ok. */
void bt_leader_free(struct bt_leader *l);

/* ---- local API (docs/design.md §1 table) -------------------------------------- */

/* Campaigns for name (copied) on behalf of session, with priority. Writes
 * and queues for broadcast the entry (name, self) -> {candidate_id =
 * session, priority, boot_id}; if this node then wins, mints a term (and
 * queues its fence), or with cfg.settle waits as fix 8 says (below) and
 * returns 0. While the candidacies are withheld (fix 9, below) it only
 * registers the session's candidacy, writes nothing and answers 0.
 * Returns
 *   1                  leader: *fence (if fence is not NULL) gets the token;
 *                      no ELECTED event is queued for it;
 *   0                  follower: ELECTED comes later if this node wins;
 *   BATON_EALREADY     this node already campaigns for name;
 *   BATON_EINVAL       session is 0 or name is empty;
 *   BATON_ELIMIT       name is new here and max_names names hold state
 *                      already (fix 11); nothing changed;
 *   BATON_ENOMEM       nothing changed. */
int bt_leader_lead(struct bt_leader *l, uint64_t session, const struct bt_name *name,
                   int64_t priority, uint64_t wall_ms, uint64_t *fence);

/* Withdraws this node's candidacy for name: tombstones and broadcasts its
 * entry, ends its term if it led, queues no event. Returns 0, BATON_ENOENT
 * (no local candidacy for name) or BATON_ENOMEM (nothing changed). */
int bt_leader_resign(struct bt_leader *l, const struct bt_name *name, uint64_t wall_ms);

/* The session is gone (handle released, client disconnected): resigns every
 * candidacy it holds, queuing no event. Returns how many it ended (0 if
 * none) or BATON_ENOMEM (nothing changed). */
int bt_leader_session_end(struct bt_leader *l, uint64_t session, uint64_t wall_ms);

/* The current winner for any name: *node and *candidate_id (each optional)
 * receive it. Returns 0 or BATON_ENOLEADER (no live candidacy). */
int bt_leader_leader(const struct bt_leader *l, const struct bt_name *name, struct bt_nodeid *node,
                     uint64_t *candidate_id);

/* True iff the current winner for name lives on this node. (A winner that
 * stepped back for a rival it cannot see, or that waits to sync or settle
 * before its first term (fix 8), holds no term meanwhile: bt_leader_fence()
 * then says BATON_ENOTLEADER.) */
bool bt_leader_is_leader(const struct bt_leader *l, const struct bt_name *name);

/* This node's current term for name: its token into *fence and its minter
 * (this process: cfg.self and cfg.boot_id) into *minter, each optional
 * (NULL). The pair is what a guard is offered (include/baton/guard.h, the
 * minter in its text form, bt_minter_format). Returns 0 or
 * BATON_ENOTLEADER (then nothing is written). */
int bt_leader_fence(const struct bt_leader *l, const struct bt_name *name, uint64_t *fence,
                    struct bt_minter *minter);

/* The nodes with a live candidacy for name (live: not a tombstone, node
 * known alive or suspect, entry of the node's current boot), sorted by
 * bt_nodeid_cmp and unique. Copies the first min(count, cap) into out
 * (NULL allowed when cap is 0) and returns count. */
size_t bt_leader_candidates(const struct bt_leader *l, const struct bt_name *name,
                            struct bt_nodeid *out, size_t cap);

/* The greatest token observed for name into *token. Returns 0 or
 * BATON_ENOENT (none observed). */
int bt_leader_high_water(const struct bt_leader *l, const struct bt_name *name, uint64_t *token);

/* ---- replication input -------------------------------------------------- */
/*
 * All of these take decoded peer input (borrowed) and validate it again:
 * a malformed item (empty name, bad node name, a stamp or token above
 * BT_HLC_TS_MAX, a tombstone with candidacy fields, a live entry with
 * candidate_id or boot_id 0) refuses the whole input with BATON_EPROTO, and
 * a stamp or token more than max_clock_offset_ms ahead of wall_ms refuses it
 * with BATON_ECLOCK; both are counted and change nothing. Accepted stamps
 * and tokens are absorbed into the HLC. An entry for (name, self) that
 * contradicts this node's local truth is overwritten at once (fix 2; the
 * rewrite is queued for broadcast). Then every local campaign the input
 * touched is recomputed and its transitions queued as events.
 *
 * An entry or fence for a name new here past max_names is refused alone
 * (names_refused, last_refused_name) and the rest of the input merged; a
 * fence older than horizon_ms for a name with no mark and no live
 * candidacy here (after the input's entries) is refused alone too
 * (fences_too_old). Fix 11.
 *
 * Each returns the number of items that changed state (entries that changed
 * the map, fences that raised a mark), or BATON_EPROTO, BATON_ECLOCK, or
 * BATON_ENOMEM (nothing changed if the queues could not be reserved; if the
 * map or a mark failed to grow midway, what was merged stays merged and is
 * recomputed).
 */
int bt_leader_merge_entry(struct bt_leader *l, const struct bt_centry *entry, uint64_t wall_ms);
int bt_leader_merge_fence(struct bt_leader *l, const struct bt_name *name, uint64_t token,
                          const struct bt_minter *minter, uint64_t wall_ms);
int bt_leader_merge_snapshot(struct bt_leader *l, const struct bt_centry *entries, size_t n,
                             const struct bt_fence *fences, size_t nf, uint64_t wall_ms);
/* Dispatches a decoded payload (borrowed) by type: DELTA, FENCE or
 * SNAPSHOT as above; BT_PAYLOAD_NONE or an unknown type is BATON_EPROTO
 * (counted). With regossip, every item that changed state is also queued
 * as a broadcast, one per item, so news spreads on whether it came by
 * gossip or by push-pull (an entry for self is answered by the owner
 * instead, fix 2). */
int bt_leader_merge_payload(struct bt_leader *l, const struct bt_payload *p, bool regossip,
                            uint64_t wall_ms);

/* A hint before merging n gossiped items one after another: asks the
 * processor for the records of their names (hash[i], bt_hash_bytes of the
 * name; the map's record of an entry's name, the leader's of a fence's),
 * all the buckets first, then the records, so that their cache misses
 * overlap. Changes nothing. */
void bt_leader_prefetch(const struct bt_leader *l, const uint64_t *hash, const bool *fence,
                        size_t n);

/* A high-water mark seen outside the cluster: a resource refused this
 * node's term and reported its own mark (BATON_ESTALE from the guard): the
 * token and, if the resource knows it, the minter (NULL or a node-less
 * minter: unknown).
 * The mark is absorbed into the HLC. If its token is above every known
 * token, or equal with a minter not yet known for it, it is merged like a
 * fence and, with a known minter, queued for gossip; a mark with an unknown
 * minter stays local (a fence must name its minter). A term whose token is
 * below the mark, or equal to it when the mark is not this process's own
 * (another node, or another boot of this node's name: a twin), ends
 * (REVOKED) and waits like a term overtaken by an unseen rival (see
 * bt_leader_retry_deferred), then restarts above the mark. Returns 1 if the
 * mark was news, 0 if not, BATON_EPROTO (empty name, token above
 * BT_HLC_TS_MAX, or a known minter whose node is no node name or whose boot
 * is 0), BATON_ECLOCK (too far ahead), BATON_ELIMIT (a new name past
 * max_names) or BATON_ENOMEM. */
int bt_leader_observe_fence(struct bt_leader *l, const struct bt_name *name, uint64_t token,
                            const struct bt_minter *minter, uint64_t wall_ms);

/* ---- membership input ---------------------------------------------------- */

/* The membership's verdict on node (copied): its current boot and whether
 * it is alive or suspect (live = true) or dead or gone (live = false). Only
 * candidacies of live nodes' current boots count (fix 1); unknown nodes are
 * not live. A live node declared dead is remembered as dead, with the time
 * of the verdict, until bt_leader_expire() passes it: a fence it minted
 * before then makes no leader wait (see unseen_rival in leader.c). Input about self is ignored (self is always live with its own
 * boot). Recomputes every local campaign. Returns 1 if the view changed, 0
 * if not, BATON_EINVAL (node is no valid node name) or BATON_ENOMEM
 * (nothing changed). */
int bt_leader_member(struct bt_leader *l, const struct bt_nodeid *node, uint64_t boot_id, bool live,
                     uint64_t wall_ms);

/* ---- deferred terms ------------------------------------------------------ */

/* How many local campaigns wait, after stepping back for a rival they
 * cannot see (see recompute in leader.c), for their view to change. */
size_t bt_leader_deferred(const struct bt_leader *l);

/* One retry round: ends the wait of every campaign that has waited at least
 * `rounds` rounds, counting this one (0 or 1: every wait), and recomputes
 * those campaigns. A rival that minted and died before this node ever heard
 * of it brings no view change, so the driver calls this at a steady pace
 * while any wait lasts (node.c: once per protocol period, with rounds such
 * that each name waits from its own step back, not from a shared timer).
 * Returns how many waits it ended, or BATON_ENOMEM (nothing changed, the
 * round not counted). */
int bt_leader_retry_deferred(struct bt_leader *l, unsigned rounds, uint64_t wall_ms);

/* ---- settling before minting (docs/design.md §1 fix 8; cfg.settle) ------- */
/*
 * With cfg.settle, a campaign that wins mints its first term only
 *  - once this node has its cluster's state: the driver calls
 *    bt_leader_synced() after its first full-state exchange since joining
 *    (or when it found itself alone); until then every local campaign
 *    answers follower;
 *  - then at once if the winner it saw before went away in a way every node
 *    sees (resigned, session ended, left, declared dead): handover and
 *    failover are not delayed;
 *  - otherwise after a settle period: the campaign waits, still winning,
 *    until the deadline the driver gives it. Candidacies made at the same
 *    time on other nodes reach it meanwhile, so only the true winner mints.
 * An overtaken term (fix 3) restarts at once, as before. The leader keeps
 * no clock: deadlines are the driver's numbers, only compared.
 */

/* The first full-state exchange after joining is done (or the node found
 * itself alone): recomputes every local campaign, which may now settle or
 * mint. Idempotent. Returns how many campaigns were recomputed, 0 when
 * already synced, or BATON_ENOMEM (nothing changed). */
int bt_leader_synced(struct bt_leader *l, uint64_t wall_ms);
/* Whether bt_leader_synced() was called (always true without cfg.settle). */
bool bt_leader_is_synced(const struct bt_leader *l);

/* How many local campaigns wait out a settle period. */
size_t bt_leader_settling(const struct bt_leader *l);
/* Gives every campaign that started settling since the last call the
 * deadline `due` (the driver's monotonic ms: now + the settle period). Call
 * after every call that may have started one (node.c: after each input). */
void bt_leader_settle_schedule(struct bt_leader *l, uint64_t due);
/* The earliest deadline given, UINT64_MAX when none. */
uint64_t bt_leader_settle_next(const struct bt_leader *l);
/* Ends the settle periods whose deadline is at or before now (the driver's
 * clock) and recomputes those campaigns: each that still wins mints
 * (ELECTED). Returns how many ended, or BATON_ENOMEM (nothing changed). */
int bt_leader_settle_expire(struct bt_leader *l, uint64_t now, uint64_t wall_ms);

/* ---- clock outliers (docs/design.md §1 fix 9) ---------------------------- */

/* How far the cluster's clock is ahead of this node's wall clock (0 when it
 * is not): remote stamps and tokens are judged against wall_ms + ahead_ms,
 * so a node whose clock is behind absorbs the cluster's time instead of
 * refusing everything fresh. The driver (node.c) measures it. */
void bt_leader_set_clock_ahead(struct bt_leader *l, uint64_t ahead_ms);

/* withhold = true: this node's clock is too far ahead of the cluster's for
 * its stamps to be accepted, so every local candidacy is withdrawn from the
 * cluster (tombstoned and broadcast; a term ends with REVOKED) while the
 * sessions stay: lead() keeps registering candidacies and answers follower,
 * resign() and session_end() work as usual, nothing is refreshed.
 * withhold = false: every local candidacy is written again and recomputed
 * (ELECTED for one that wins). Returns how many candidacies changed (0 when
 * the state was already so) or BATON_ENOMEM (nothing changed). */
int bt_leader_withhold(struct bt_leader *l, bool withhold, uint64_t wall_ms);
/* Whether node, on boot boot_id, says its clock is refused (out = true:
 * it withholds its candidacies, fix 9) or not; ignored unless boot_id is
 * its live boot here. An out node's candidacies do not count here,
 * whatever entries of it arrive: it has withdrawn them, and an entry it
 * wrote while its own view of the cluster differed (a partition side of
 * fast clocks) may only now pass the clock bound here, while its tombstone
 * may not yet. The flag lasts while the node is a live member (a new boot
 * or a death clears it).
 * Recomputes every local campaign. Returns 1 if it changed, 0 if not (or
 * node is no live member on that boot), BATON_ENOMEM (nothing changed). */
int bt_leader_member_clock(struct bt_leader *l, const struct bt_nodeid *node, uint64_t boot_id,
                           bool out, uint64_t wall_ms);
/* Whether the local candidacies are withheld. */
bool bt_leader_withheld(const struct bt_leader *l);
/* The greatest timestamp this node's clock has issued or absorbed: its
 * next stamp is above it. */
uint64_t bt_leader_clock(const struct bt_leader *l);
/* Whether a remote stamp or token would pass the clock bound now (fix 5,
 * judged against the cluster's clock when it is ahead). Changes nothing. */
bool bt_leader_acceptable(const struct bt_leader *l, uint64_t stamp, uint64_t wall_ms);

/* What a member last said of its own clock on its PINGs and ACKs (fix 9). */
enum bt_clock_word {
    BT_CLOCK_WORD_UNHEARD = 0, /* nothing yet from this boot */
    BT_CLOCK_WORD_PENDING = 1, /* not judged yet (it joined and has not read the clocks) */
    BT_CLOCK_WORD_FINE = 2,    /* judged within bounds */
    BT_CLOCK_WORD_REFUSED = 3, /* judged too far ahead: withholds its candidacies */
};
/* The generous limit on the stamps of an author whose word vouches for
 * them (bt_leader_acceptable_from): a quarter of the horizon (ten minutes
 * when cfg.horizon_ms is 0), at least twice max_clock_offset_ms;
 * BT_HLC_CEILING_MS when max_clock_offset_ms is 0. */
#define BT_LEADER_HORIZON_FALLBACK_MS (10u * 60u * 1000u)
/* The greatest stamp or token of this node's name that an earlier boot
 * wrote and a peer holds (merged from it; 0: none): what the cluster
 * accepted from this name before this process started. A node refused
 * at its first judgement still vouches for it (its ceiling, node.c), so
 * that the nodes that refused it before merge it too. */
uint64_t bt_leader_own_echo(const struct bt_leader *l);
uint64_t bt_leader_vouched_ms(const struct bt_leader *l);
/* Records what member node (on boot boot_id; ignored unless that is its
 * live boot here) said of its clock: word, and with
 * BT_CLOCK_WORD_REFUSED the greatest stamp it issued while its clock was
 * fine (0: none). A new boot starts BT_CLOCK_WORD_UNHEARD. Affects only
 * bt_leader_acceptable_from(); recomputes nothing. Returns whether it was
 * recorded (false: no live member on that boot here yet; tell it again
 * once the membership verdict has come). */
bool bt_leader_member_word(struct bt_leader *l, const struct bt_nodeid *node, uint64_t boot_id,
                           enum bt_clock_word word, uint64_t ceiling);
/* Whether a remote stamp or token written by author (an entry's node, a
 * fence's minter; NULL or empty: unknown) is accepted now (fix 9,
 * docs/election.md "Screening"): it passes the bound (bt_leader_acceptable),
 * or its author vouches for it (this node's name; a member whose last word was
 * BT_CLOCK_WORD_FINE; or BT_CLOCK_WORD_REFUSED with stamp at most its
 * ceiling) and it is within bt_leader_vouched_ms() of the same reference.
 * Changes nothing. */
bool bt_leader_acceptable_from(const struct bt_leader *l, uint64_t stamp,
                               const struct bt_nodeid *author, uint64_t wall_ms);
/* Whether entry e, held back already by screening (the replica holds an
 * entry of its key), stays held whatever its stamp until its author judges
 * its own clock (finding E14, docs/election.md "Screening"): e is a live
 * candidacy of another node, this node is synced (bt_leader_synced: its
 * own clock judged, so its reference is the cluster's clock), and e's
 * author, on e's boot, has said no verdict here yet (its word is
 * BT_CLOCK_WORD_UNHEARD or BT_CLOCK_WORD_PENDING). false when the author is
 * no member here or is one on another boot (gone, or not known yet: e
 * counts nowhere here then). Changes nothing. */
bool bt_leader_awaits_verdict(const struct bt_leader *l, const struct bt_centry *e);

/* ---- leaving and ageing ------------------------------------------------ */

/* Withdraws every local candidacy, as resigns (no events): the first step of
 * a graceful leave (fix 7). Returns how many it ended or BATON_ENOMEM
 * (nothing changed). */
int bt_leader_resign_all(struct bt_leader *l, uint64_t wall_ms);

/* Re-stamps this node's own live entries stamped before `before` (an HLC
 * timestamp) and queues them for broadcast, so that they never age past the
 * replication horizon while their candidacy lives. Returns how many, or
 * BATON_ENOMEM (nothing changed). */
int bt_leader_refresh(struct bt_leader *l, uint64_t before, uint64_t wall_ms);

/* Forgets every entry stamped before `cutoff` (an HLC timestamp), live or
 * tombstone, except this node's own live entries (bt_leader_refresh keeps
 * those young), and every member held dead since before `cutoff` (kept
 * until then to judge its late fences: see bt_leader_member), and
 * recomputes the local campaigns that lost an entry.
 * Then ages out the high-water mark of every name with no live candidacy
 * (no local campaign, no live entry left) whose token is below `cutoff`
 * (fix 11; docs/election.md says why a fresh mint is still above it), and
 * forgets names left with no state. Returns how many entries were
 * forgotten (marks are counted in marks_expired), or BATON_ENOMEM
 * (nothing changed). */
int bt_leader_expire(struct bt_leader *l, uint64_t cutoff, uint64_t wall_ms);

/* ---- outputs and inspection --------------------------------------------- */

/* Pops the oldest queued broadcast into *out; false when none is left. */
bool bt_leader_pop_broadcast(struct bt_leader *l, struct bt_leader_broadcast *out);
/* Pops the oldest queued event into *out; false when none is left. */
bool bt_leader_pop_event(struct bt_leader *l, struct bt_leader_event *out);

/* A copy of the counters. */
void bt_leader_counters(const struct bt_leader *l, struct bt_leader_counters *out);

/* counters.names_refused alone, without copying the counters (which hold
 * names): the replication layer reads it around every payload it merges. */
uint64_t bt_leader_names_refused(const struct bt_leader *l);
/* counters.fences_too_old alone, likewise. */
uint64_t bt_leader_fences_too_old(const struct bt_leader *l);

/* The replicated candidate map, for full-state snapshots. Borrowed: valid
 * until the next call that changes l. */
const struct bt_cmap *bt_leader_cmap(const struct bt_leader *l);

/* Calls fn once per (name, minter) of every known high-water mark, minter
 * named (a mark observed at a resource without its minter is not a fence
 * and is skipped; names in no particular order; the fence is borrowed for
 * the call); stops early and returns fn's value when it is nonzero. fn must
 * not call into l. */
int bt_leader_foreach_high_water(const struct bt_leader *l,
                                 int (*fn)(const struct bt_fence *f, void *ctx), void *ctx);

/* How many (name, minter) pairs, minter named, the high-water marks hold:
 * the fences a snapshot carries (what bt_leader_foreach_high_water visits).
 * Usually one per name. */
size_t bt_leader_high_water_count(const struct bt_leader *l);

/* A count that moves whenever some name's high-water mark changes token
 * (raised, or aged out); a new minter at the same token does not move it.
 * While it stands still, bt_leader_high_water answers as before for every
 * name: a caller that polls marks may keep its answers until it moves. */
uint64_t bt_leader_marks_version(const struct bt_leader *l);

/* ---- stopping ------------------------------------------------------------ */

/* Ends one term this node holds and fills *out with its REVOKED event
 * (counted), queuing nothing, gossiping nothing and allocating nothing;
 * false when no term is left. For a node that stops for good (node.c):
 * drain bt_leader_pop_event() first, then call this until it returns false;
 * no other call into l may follow but bt_leader_free(). */
bool bt_leader_end_term(struct bt_leader *l, struct bt_leader_event *out);

/* Calls fn once per name this node holds state for (in no particular
 * order) with its entries (e[0..n), tombstones included, sorted by node; n
 * may be 0) and its high-water mark as fences (f[0..nf), one per minter;
 * nf 0 when it has none); all borrowed for the call. Stops early and
 * returns fn's value when it is nonzero. fn must not call into l. This is
 * how a full state is taken name by name (replica.c). */
int bt_leader_foreach_name(const struct bt_leader *l,
                           int (*fn)(const struct bt_name *name, const struct bt_cstored *const *e,
                                     size_t n, const struct bt_fence *f, size_t nf, void *ctx),
                           void *ctx);

/* How many names this node holds state for: names with an entry in the
 * map, a high-water mark or a local candidacy (at most max_names). */
size_t bt_leader_names(const struct bt_leader *l);

#endif
