/*
 * The election and fencing state machine (API in leader.h).
 *
 * What the reference does. barrel_p2p_leader (the Erlang module of the barrel_p2p project)
 * keeps a replicated OR-Map of candidacies keyed {Name, node()}, each valued
 * {Pid, Priority}. Every node computes the winner of a name from that map
 * alone: highest priority, ties to the lowest node. There is no vote and no
 * quorum; two nodes with the same map agree. For the names this node
 * campaigns for, it remembers the last winner it computed and, after every
 * input (a local lead or resign, a gossiped delta, a full sync, a peer going
 * down), recomputes and compares: a local candidate that starts winning is
 * sent {elected, Fence}, one that stops winning is sent revoked. Fencing
 * tokens come from the node's HLC: to start a term (become_leader/2) it
 * absorbs the name's replicated high-water mark, takes now(), raises the
 * mark to it, gossips the mark and remembers it as the term's token. So each
 * term's token exceeds every token that reached the minting node. A lead()
 * that wins at once returns the token instead of sending elected; a resign,
 * or the campaigning process dying (its monitor fires), tombstones the entry
 * and sends nothing to that candidate.
 *
 * This file is that module without the gen_server: every input is a call,
 * every message the reference would send is queued (gossip in a broadcast
 * queue, candidate notifications in an event queue) for the caller to
 * drain, and the wall clock is an argument. Sessions stand in for Pids:
 * the entry's candidate_id is the driver's session id, and
 * bt_leader_session_end() is the monitor's DOWN. The map is cmap.c, a
 * last-writer-wins register per key rather than an OR-Map, which is what
 * fix 2 below relies on. High-water marks and local campaigns live in one
 * hash table (htab.c) of per-name records, members in another; a list
 * threads the campaigning records so that a membership change costs one
 * recompute per local name, and an input from the network recomputes only
 * the local names it touched. Only a membership change (every local name) and a session end
 * (a walk of the local names) cost O(local names); nothing costs O(names^2).
 *
 * Where baton departs from the reference (docs/design.md §1; each is a fix):
 *
 * Fix 1, cluster-wide liveness. The reference forgets a node's candidacies
 * when its overlay neighbour sees peer_down, which nodes that were not its
 * neighbours never see, so they keep electing a dead node. Here the
 * membership layer tells every node every verdict (bt_leader_member), and
 * the winner is computed only over live entries whose node is alive or
 * suspect *and* whose boot id is that node's current boot. Nothing is
 * deleted on death: a node declared dead by mistake that comes back with
 * the same boot gets its candidacies back, and a restarted process (new
 * boot) never inherits the sessions of its previous life. Suspect counts as
 * live so that suspicion alone never moves leadership.
 *
 * Fix 2, the owner is the authority on its own keys. Only the node named
 * in a key ever writes that key, so the owner knows the truth: either a
 * local candidacy (session, priority, this boot) or none. When an entry for
 * (name, self) arrives and changes the map to anything else, the owner
 * overwrites it at once with its truth stamped above the intruder: a fresh
 * tombstone if it has no candidacy, its candidacy re-added otherwise. A
 * stale full sync from a lagging peer therefore cannot resurrect a dead
 * candidacy, and a restarted owner whose HLC is behind its old entry's
 * stamp still gets its new candidacy seen (the old entry, merged on top,
 * triggers the re-add above it).
 *
 * Fix 3, term refresh. A leader that was paused or cut off may come back
 * to find that someone else led meanwhile with a greater token. The
 * reference keeps its old token, which the resource now refuses. Here a
 * leader that sees a high-water mark above its own term token (a merged
 * fence or snapshot) ends the term with revoked and, if it still wins,
 * starts a new one at once with elected and a token above the mark.
 *
 * Fix 5, bounded clocks. Every remote stamp and token is checked with
 * bt_hlc_acceptable() before anything in its message is applied; a message
 * holding one too far ahead of the local wall clock is refused as a whole
 * and counted, so one bad clock cannot drag the cluster's tokens into the
 * future. The reference validates the shape of peer input (candidate
 * values, fence timestamps, fence maps); ours arrives decoded by codec.c,
 * which rejects malformed bytes, and is checked again here, because the
 * state machine must not trust its caller with peer data: a malformed item
 * also refuses its whole message.
 *
 * Fix 8, sync and settle before minting (cfg.settle, set by node.c). The
 * reference mints the moment a candidate computes itself the winner, from
 * whatever it knows then. Two ways that flaps terms on a healthy cluster:
 * candidacies made at the same moment on several nodes (each node sees only
 * its own, and mints), and a restarted node that campaigns before it has
 * the cluster's state (it mints, and its mark makes the real leader end and
 * re-mint its term). Here no term starts before the driver says the node
 * has the cluster's state (bt_leader_synced), and a first term waits out a
 * settle period (about one dissemination round, the driver's deadline)
 * unless the winner this node saw before went away in a way every node
 * sees, so that handover and failover are not slowed (may_mint).
 *
 * Fix 11, bounded state. Every name this node holds state for (an entry,
 * a mark or a local campaign) has a record, and max_names caps how many:
 * lead() on a new name past it is BATON_ELIMIT, and a peer's entry or
 * fence for a new name past it is refused alone and counted. Ageing
 * (bt_leader_expire) forgets the mark of a name with no live candidacy
 * once its token is older than the cutoff, and merging refuses a fence
 * that old for a name with no mark and no live candidacy here, so that
 * peers that age later do not bring it back. docs/election.md argues why
 * the next mint is above a forgotten mark while clocks keep to the bound.
 *
 * Outputs never get lost. Before a call changes anything it reserves room
 * in the queues for the most it can emit (per touched local name two
 * events and one fence, per entry for self one rewrite), so once an input
 * is accepted every transition it causes is reported.
 */
#include "core/leader_internal.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/grow.h"

static uint64_t name_hash(const struct bt_name *name)
{
    return bt_hash_bytes(name->bytes, name->len);
}

static bool name_rec_is(const struct bt_hlink *x, const void *name)
{
    return bt_name_eq(&BT_HTAB_ENTRY(x, const struct name_rec, link)->name, name);
}

struct name_rec *ldr_name_find(const struct bt_leader *l, const struct bt_name *name)
{
    struct bt_hlink *x = bt_htab_find(&l->names, name_hash(name), name_rec_is, name);
    return x ? BT_HTAB_ENTRY(x, struct name_rec, link) : NULL;
}

/* bt_cmap.lend_name: the record's copy of name. A record outlives the
 * map's entries of its name (ldr_name_release_if_empty), and is made
 * before any of them (merge_batch, and every own write has its record). */
static const struct bt_name *lend_name(void *ctx, const struct bt_name *name)
{
    const struct name_rec *r = ldr_name_find(ctx, name);
    return r ? &r->name : NULL;
}

/* bt_cmap.mark_of: the name's high-water mark, which the map's digest
 * covers while the name has a live entry (docs/election.md, "Digest
 * exchange"); ldr_raise_high_water and the ageing keep it up to date. */
static uint64_t mark_of(void *ctx, const struct bt_name *name)
{
    const struct name_rec *r = ldr_name_find(ctx, name);
    return r && r->has_high_water ? r->high_water : 0;
}

/* A new, empty record for name, linked. NULL when memory runs out. */
static struct name_rec *name_create(struct bt_leader *l, const struct bt_name *name)
{
    if (bt_htab_reserve(&l->names) != 0)
        return NULL;
    /* Allocated to fit its name: names are mostly short, and a 1000-node
     * simulation of 1000 names keeps a million records. */
    struct name_rec *r = calloc(1, offsetof(struct name_rec, name.bytes) + name->len);
    if (!r)
        return NULL;
    r->name.len = name->len;
    memcpy(r->name.bytes, name->bytes, name->len);
    bt_htab_link(&l->names, &r->link, name_hash(name));
    return r;
}

/* Whether the map holds an entry (live or tombstone) for name. */
static bool name_in_map(const struct bt_leader *l, const struct bt_name *name)
{
    const struct bt_cstored *const *v;
    return bt_cmap_entries(&l->cmap, name, &v) > 0;
}

/* Whether the map holds a live (not removed) entry for name, whatever its
 * node's state: a candidacy that may still count somewhere. */
bool ldr_name_has_live_entry(const struct bt_leader *l, const struct bt_name *name)
{
    const struct bt_cstored *const *v;
    size_t n = bt_cmap_entries(&l->cmap, name, &v);
    for (size_t i = 0; i < n; i++)
        if (!v[i]->removed)
            return true;
    return false;
}

/* The record of name into *out, created if there is none and the cap
 * allows one more name. Returns 0, BATON_ELIMIT or BATON_ENOMEM. */
int ldr_name_obtain(struct bt_leader *l, const struct bt_name *name, struct name_rec **out)
{
    struct name_rec *r = ldr_name_find(l, name);
    if (!r) {
        if (l->cfg.max_names != 0 && l->names.count >= l->cfg.max_names)
            return BATON_ELIMIT;
        if (!(r = name_create(l, name)))
            return BATON_ENOMEM;
    }
    *out = r;
    return 0;
}

/* A peer's item for a new name past the cap: refused, counted, its name
 * kept for the log. */
void ldr_refuse_name(struct bt_leader *l, const struct bt_name *name)
{
    l->counters.names_refused++;
    l->counters.last_refused_name = *name;
}

/* Frees a record that holds nothing any more. */
void ldr_name_release_if_empty(struct bt_leader *l, struct name_rec *r)
{
    if (r->campaigning || r->has_high_water || name_in_map(l, &r->name))
        return;
    assert(!r->dirty && !ldr_leading(r));
    bt_htab_unlink(&l->names, &r->link);
    ldr_name_free(r);
}

static void local_link(struct bt_leader *l, struct name_rec *r)
{
    r->camp->local_prev = NULL;
    r->camp->local_next = l->local_head;
    if (l->local_head)
        l->local_head->camp->local_prev = r;
    l->local_head = r;
    l->nlocal++;
}

static void local_unlink(struct bt_leader *l, struct name_rec *r)
{
    if (r->camp->local_prev)
        r->camp->local_prev->camp->local_next = r->camp->local_next;
    else
        l->local_head = r->camp->local_next;
    if (r->camp->local_next)
        r->camp->local_next->camp->local_prev = r->camp->local_prev;
    r->camp->local_prev = r->camp->local_next = NULL;
    l->nlocal--;
}

/* ---- members -------------------------------------------------------------
 * The records of the members (leader_internal.h, struct member_rec): one
 * array, in no order that matters (nothing iterates it to decide), found
 * through an index of their positions (posindex.h), as the node's clock
 * readings are kept. */

_Static_assert(sizeof(struct member_rec) == 40, "a member record takes 40 bytes");
_Static_assert(MEMBER_NODE_INLINE >= sizeof(char *), "a member record's node[] holds a pointer");

/* m's name bytes (node_len of them). */
static const char *member_bytes(const struct member_rec *m)
{
    return bt_fitname_bytes(m->node, m->node_len, MEMBER_NODE_INLINE);
}

/* The hash m is indexed under: its name's bt_hash_bytes, low 32 bits. */
static uint32_t member_hash(const void *rec)
{
    const struct member_rec *m = rec;
    return (uint32_t)bt_hash_bytes(member_bytes(m), m->node_len);
}

struct member_rec *ldr_member_find(const struct bt_leader *l, const struct bt_nodeid *node)
{
    const struct bt_posindex *x = &l->member_index;
    if (x->cap == 0)
        return NULL;
    uint32_t h = (uint32_t)bt_hash_bytes(node->bytes, node->len);
    for (size_t k = bt_posindex_start(x, h); x->slots[k] != 0; k = bt_posindex_next(x, k)) {
        struct member_rec *m = &l->members[x->slots[k] - 1];
        if (m->node_len == node->len && memcmp(member_bytes(m), node->bytes, node->len) == 0)
            return m;
    }
    return NULL;
}

struct member_rec *ldr_member_add(struct bt_leader *l, const struct bt_nodeid *node)
{
    if (l->nmembers == l->members_cap) {
        size_t cap = bt_grow_cap(l->members_cap);
        if (cap > UINT32_MAX - 1 || cap > SIZE_MAX / sizeof *l->members)
            return NULL;
        struct member_rec *v = realloc(l->members, cap * sizeof *v);
        if (!v)
            return NULL;
        l->members = v;
        l->members_cap = cap;
    }
    if (!bt_posindex_reserve(&l->member_index, l->members, sizeof *l->members, member_hash,
                             l->nmembers))
        return NULL;
    struct member_rec *m = &l->members[l->nmembers];
    memset(m, 0, sizeof *m);
    if (!bt_fitname_set(m->node, MEMBER_NODE_INLINE, node))
        return NULL;
    m->node_len = node->len;
    bt_posindex_put(&l->member_index, (uint32_t)bt_hash_bytes(node->bytes, node->len),
                    l->nmembers++);
    return m;
}

void ldr_members_forget_dead(struct bt_leader *l, uint64_t cutoff)
{
    size_t before = l->nmembers;
    for (size_t i = 0; i < l->nmembers;) {
        struct member_rec *m = &l->members[i];
        if (m->live || m->dead_at >= cutoff) {
            i++;
            continue;
        }
        bt_fitname_free(m->node, m->node_len, MEMBER_NODE_INLINE);
        *m = l->members[--l->nmembers]; /* the last takes its place */
    }
    if (l->nmembers != before)
        bt_posindex_refill(&l->member_index, l->members, sizeof *l->members, member_hash,
                           l->nmembers);
}

/* ---- the winner ----------------------------------------------------------- */

/* Fix 1: an entry counts iff it is live, its node is live, and it belongs
 * to the node's current boot. Self is always live with its own boot. */
static bool entry_counts(const struct bt_leader *l, const struct bt_cstored *e)
{
    if (e->removed)
        return false;
    if (bt_nodeid_eq(&e->node, &l->cfg.self))
        return e->cand.boot_id == l->cfg.boot_id;
    const struct member_rec *m = ldr_member_find(l, &e->node);
    return m && m->live && m->boot_id == e->cand.boot_id && !m->clock_out;
}

/* entry_counts for bt_cmap_best(). */
static bool entry_counts_cb(const struct bt_cstored *e, const void *ctx)
{
    return entry_counts(ctx, e);
}

/* The winning entry for name, or NULL: highest priority, then lowest node.
 * Borrowed from the map: valid until it changes. The entries are sorted by
 * node (bt_nodeid_cmp), so a later one beats the best so far only with a
 * greater priority; bt_cmap_best() passes the others over without
 * entry_counts' member lookup, or even touching them. */
static const struct bt_cstored *winner_of(const struct bt_leader *l, const struct bt_name *name)
{
    return bt_cmap_best(&l->cmap, name, entry_counts_cb, l);
}

bool ldr_is_self(const struct bt_leader *l, const struct bt_cstored *e)
{
    return e && bt_nodeid_eq(&e->node, &l->cfg.self);
}

/* ---- clock, outputs, terms ----------------------------------------------- */

/* Raises the HLC to a stamp that was validated when it entered the node (the
 * wall clock may have gone back since, so the offset check must not run
 * again: the next stamp must exceed it whatever the wall clock says). */
/* A stamp of this node's name came from a peer, before it is absorbed: if
 * this boot did not issue it (it is below the first stamp this boot issued,
 * or above any its clock has reached), an earlier boot did, the cluster
 * holds it, and this node vouches for it (fix 9, bt_leader_own_echo). */
void ldr_note_own_echo(struct bt_leader *l, uint64_t stamp)
{
    bool earlier = l->first_own == 0 || stamp < l->first_own || stamp > l->hlc.last;
    if (earlier && stamp > l->own_echo)
        l->own_echo = stamp;
}

void ldr_absorb_known(struct bt_leader *l, uint64_t stamp)
{
    if (stamp > l->hlc.last && stamp <= BT_HLC_TS_MAX)
        l->hlc.last = stamp;
}

void ldr_push_entry(struct bt_leader *l, const struct bt_centry *e)
{
    struct bt_leader_broadcast b;
    memset(&b, 0, sizeof b);
    b.kind = BT_LEADER_BCAST_ENTRY;
    b.entry = *e;
    bt_fifo_push(&l->broadcasts, &b);
}

void ldr_push_fence(struct bt_leader *l, const struct bt_name *name, uint64_t token,
                    const struct bt_minter *minter)
{
    struct bt_leader_broadcast b;
    memset(&b, 0, sizeof b);
    b.kind = BT_LEADER_BCAST_FENCE;
    bt_name_copy(&b.fence.name, name);
    b.fence.token = token;
    b.fence.minter = *minter;
    bt_fifo_push(&l->broadcasts, &b);
}

void ldr_push_event(struct bt_leader *l, enum bt_leader_event_kind kind, const struct name_rec *r,
                    uint64_t fence)
{
    struct bt_leader_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.session = r->camp->session;
    bt_name_copy(&ev.name, &r->name);
    ev.fence = fence;
    ev.minter = ldr_self_minter(l);
    bt_fifo_push(&l->events, &ev);
    if (kind == BT_LEADER_ELECTED)
        l->counters.elected_events++;
    else
        l->counters.revoked_events++;
}

/* How many of r's minters are named: the (name, minter) pairs a snapshot
 * carries. A mark observed at a resource without its minter is kept with an
 * empty one, which never travels (a fence must name its minter). */
static size_t named_minters(const struct name_rec *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nminters; i++)
        n += ldr_minter(r, i)->node.len != 0;
    return n;
}

void ldr_name_free(struct name_rec *r)
{
    free(r->camp);
    free(r->more_minters);
    free(r);
}

/* Merges the mark (token, minter) into r: a greater token replaces the mark
 * and its minters, an equal one adds its minter. Returns 1 if r changed, 0
 * if not, or BATON_ENOMEM. */
int ldr_raise_high_water(struct bt_leader *l, struct name_rec *r, uint64_t token,
                         const struct bt_minter *minter)
{
    if (!r->has_high_water || token > r->high_water) {
        if (r->has_high_water)
            l->nhigh_water -= named_minters(r);
        r->has_high_water = true;
        r->high_water = token;
        l->marks_version++;
        r->minter0 = *minter;
        r->nminters = 1;
        l->nhigh_water += minter->node.len != 0;
        bt_cmap_set_mark(&l->cmap, &r->name, token);
        return 1;
    }
    if (token < r->high_water || r->nminters == BT_LEADER_MINTERS_MAX)
        return 0;
    for (size_t i = 0; i < r->nminters; i++)
        if (bt_minter_eq(ldr_minter(r, i), minter))
            return 0;
    if (!r->more_minters &&
        !(r->more_minters = malloc((BT_LEADER_MINTERS_MAX - 1) * sizeof *r->more_minters)))
        return BATON_ENOMEM;
    r->more_minters[r->nminters++ - 1] = *minter;
    l->nhigh_water += minter->node.len != 0;
    return 1;
}

/* Whether a minter of the name's high-water mark is a node whose
 * candidacy this node does not count: someone believes it leads a name we
 * think we win, and we cannot see its candidacy (our view is behind, or
 * its is). A resource's report without its minter and the mints of this
 * node's name are no rivals: ours, an earlier boot's (that process is
 * over), or a twin's (another live process claiming our name, on another
 * boot: the membership's one-survivor rule stops one of the two, which
 * waiting here would not do; boot ids are random, so nothing here tells
 * an earlier boot from a twin). A twin's equal token still ends our term
 * (term_shared), and the resource refuses the second of the two. Neither
 * is a minter whose term is known to be over, so that one
 * late or forged fence does not make the leader wait (issue 8):
 *  - its candidacy is a tombstone stamped after the token: it resigned
 *    after minting (a tombstone older than the token means it campaigned
 *    again since, with an entry we have not seen: a rival);
 *  - we hold it dead since before the token reached us: a fence minted
 *    before the verdict. One minted after it means the node lives on behind
 *    a partition or a one-way cut, where stepping back is what keeps two
 *    leaders from outbidding each other (finding E2): a rival.
 * The token is the mark itself (the minters are the mark's). */
static bool unseen_rival(const struct bt_leader *l, const struct name_rec *r)
{
    for (size_t i = 0; i < r->nminters; i++) {
        const struct bt_nodeid *m = &ldr_minter(r, i)->node;
        if (m->len == 0 || bt_nodeid_eq(m, &l->cfg.self))
            continue;
        const struct bt_cstored *e = bt_cmap_get(&l->cmap, &r->name, m);
        if (e && entry_counts(l, e))
            continue;
        if (e && e->removed && e->stamp > r->high_water)
            continue;
        const struct member_rec *mr = ldr_member_find(l, m);
        if (mr && !mr->live && mr->dead_at > r->high_water)
            continue;
        return true;
    }
    return false;
}

/* Whether a process other than this one (another node, or a twin: this
 * node's name on another boot) minted the token this node's term uses. A
 * resource's report of it (an empty minter, which a node that had
 * not yet heard the real fence may have kept) is no second minter: the leader
 * that is refused learns it from its own bt_leader_observe_fence(). */
static bool term_shared(const struct bt_leader *l, const struct name_rec *r)
{
    if (!r->has_high_water || r->high_water != r->camp->term_token)
        return false;
    struct bt_minter self = ldr_self_minter(l);
    for (size_t i = 0; i < r->nminters; i++)
        if (ldr_minter(r, i)->node.len != 0 && !bt_minter_eq(ldr_minter(r, i), &self))
            return true;
    return false;
}

/* Starts a term for r (reference become_leader/2): 1. absorb the name's
 * high-water mark, 2. take now(), strictly above it, 3. raise the mark and
 * queue it for gossip, 4. remember it as the term token. One broadcast slot
 * must be reserved. */
static uint64_t mint(struct bt_leader *l, struct name_rec *r, uint64_t wall_ms)
{
    if (r->has_high_water) /* 1 */
        ldr_absorb_known(l, r->high_water);
    uint64_t token = bt_hlc_now(&l->hlc, wall_ms); /* 2 */
    if (l->first_own == 0)
        l->first_own = token;
    struct bt_minter self = ldr_self_minter(l);
    int raised = ldr_raise_high_water(l, r, token, &self); /* 3: a greater token, no memory */
    assert(raised == 1);
    (void)raised;
    ldr_push_fence(l, &r->name, token, &self);
    r->camp->leading = true; /* 4 */
    r->camp->term_token = token;
    l->counters.terms_minted++;
    return token;
}

void ldr_set_deferred(struct bt_leader *l, struct name_rec *r, bool deferred)
{
    /* A record this node never campaigned for is never deferred. */
    if (r->camp == NULL || r->camp->deferred == deferred)
        return;
    r->camp->deferred = deferred;
    r->camp->defer_round = l->retry_round;
    if (deferred)
        l->ndeferred++;
    else
        l->ndeferred--;
}

/* Starts r's settle period (see may_mint): r joins the tail of the settling
 * records, with no deadline until the driver gives one
 * (bt_leader_settle_schedule). */
static void settle_start(struct bt_leader *l, struct name_rec *r)
{
    if (r->camp->settling)
        return;
    r->camp->settling = true;
    r->camp->settled = false;
    r->camp->settle_at = 0;
    r->camp->settle_next = NULL;
    r->camp->settle_prev = l->settle_tail;
    if (l->settle_tail)
        l->settle_tail->camp->settle_next = r;
    else
        l->settle_head = r;
    l->settle_tail = r;
    l->nsettling++;
}

void ldr_settle_unlink(struct bt_leader *l, struct name_rec *r)
{
    if (r->camp->settle_prev)
        r->camp->settle_prev->camp->settle_next = r->camp->settle_next;
    else
        l->settle_head = r->camp->settle_next;
    if (r->camp->settle_next)
        r->camp->settle_next->camp->settle_prev = r->camp->settle_prev;
    else
        l->settle_tail = r->camp->settle_prev;
    r->camp->settle_prev = r->camp->settle_next = NULL;
    r->camp->settling = false;
    l->nsettling--;
}

/* r does not wait to mint any more (it minted, lost, waits for a rival, or
 * withdrew): a settle period in progress or passed is forgotten. */
static void settle_stop(struct bt_leader *l, struct name_rec *r)
{
    if (r->camp->settling)
        ldr_settle_unlink(l, r);
    r->camp->settled = false;
}

/* Whether the winner r last saw (another node) went away in a way every
 * node sees: its candidacy was withdrawn (a tombstone: resign, session end,
 * graceful leave) or its node was declared dead or left. Then every node
 * that now wins mints at once, and handover and failover take no settle
 * period. A restart of that node (a live entry or member of another boot)
 * is not such a departure: the new process may campaign again and outrank
 * us, so r settles. */
static bool prev_winner_departed(const struct bt_leader *l, const struct name_rec *r)
{
    if (r->camp->prev_node.len == 0 || bt_nodeid_eq(&r->camp->prev_node, &l->cfg.self))
        return false;
    const struct bt_cstored *e = bt_cmap_get(&l->cmap, &r->name, &r->camp->prev_node);
    if (!e || e->removed)
        return true;
    if (e->cand.boot_id != r->camp->prev_boot)
        return false;
    const struct member_rec *m = ldr_member_find(l, &r->camp->prev_node);
    return m == NULL || !m->live;
}

/* Fix 8: whether r, which wins and holds no term, may start one now.
 * Without cfg.settle, always (the reference). Otherwise:
 *  1. not before the first full-state exchange (bt_leader_synced): a node
 *     that has not heard the cluster's state answers follower, so a
 *     restarting candidate never mints a mark that interrupts a leader it
 *     does not outrank;
 *  2. at once if the winner r saw before went away in a way every node
 *     sees (prev_winner_departed): handover and failover stay fast; but not
 *     a campaign younger than cfg.settle_ms. Campaigns started in the very
 *     millisecond a leader went (every node told to campaign as it
 *     restarts, or as a session ends) each skipped the wait and one minted
 *     before an outranking candidacy made in that millisecond reached it,
 *     to be revoked moments later (simulator finding E19). A candidacy that
 *     young has not met the others made with it: that is what the settle
 *     period is for;
 *  3. otherwise only after a settle period (the driver's deadline, about
 *     one dissemination round): a name with no known leader, or one whose
 *     leader we outrank. Candidacies made at the same moment on several
 *     nodes reach each other meanwhile, so a simultaneous start mints once
 *     per name, by the winner. */
static bool may_mint(struct bt_leader *l, struct name_rec *r, uint64_t wall_ms)
{
    if (!l->cfg.settle)
        return true;
    if (!l->synced) /* 1 */
        return false;
    bool young = wall_ms < r->camp->started_ms || wall_ms - r->camp->started_ms < l->cfg.settle_ms;
    if (r->camp->settled || (prev_winner_departed(l, r) && !young)) /* 2 */
        return true;
    settle_start(l, r); /* 3 */
    return false;
}

/* Recomputes the winner of a campaigning record and fires the transition.
 * Needs two event slots and one broadcast slot reserved.
 *  1. Compute the winner over the entries that count (fix 1).
 *  2. Decide: was this node leading, does it win now, and has the cluster
 *     overtaken its term token (fix 3)? Overtaken means a greater token,
 *     or the same token minted by another node too: two nodes that start
 *     terms in the same millisecond mint equal tokens, the resource admits
 *     whichever arrives first and refuses the other as stale, so the winner
 *     must move above it.
 *  3. A term that lost, or was overtaken, ends: revoked.
 *  4. Overtaken by a rival this node cannot see: wait for the view to
 *     change (or the driver's periodic retry) before minting again. Two nodes whose views disagree would
 *     otherwise overtake each other in turn for as long as they disagree
 *     (each refresh is a fence above the other's term); this way the one
 *     that cannot see the other steps back, and the one that sees both
 *     leads (finding E2 of the simulator).
 *  5. A winner without a valid term, not waiting, starts one: elected. An
 *     overtaken term restarts at once; a first term waits as may_mint says
 *     (fix 8).
 *  6. Remember the winner, for the next recompute's may_mint. */
static void recompute(struct bt_leader *l, struct name_rec *r, uint64_t wall_ms)
{
    assert(r->campaigning);
    const struct bt_cstored *w = winner_of(l, &r->name); /* 1 */
    bool wins = ldr_is_self(l, w);
    bool was = r->camp->leading; /* 2 */
    bool overtaken =
        was && r->has_high_water && (r->high_water > r->camp->term_token || term_shared(l, r));

    if (was && (!wins || overtaken)) { /* 3 */
        if (overtaken)
            l->counters.term_refreshes++;
        r->camp->leading = false;
        ldr_push_event(l, BT_LEADER_REVOKED, r, r->camp->term_token);
    }
    if (overtaken && wins && unseen_rival(l, r)) { /* 4 */
        ldr_set_deferred(l, r, true);
        l->counters.term_deferrals++;
    }
    if (wins && !r->camp->deferred && (!was || overtaken) &&
        (overtaken || may_mint(l, r, wall_ms))) /* 5 */
        ldr_push_event(l, BT_LEADER_ELECTED, r, mint(l, r, wall_ms));
    if (!wins || r->camp->leading || r->camp->deferred)
        settle_stop(l, r);
    if (!l->cfg.settle || l->synced) { /* 6 */
        memset(&r->camp->prev_node, 0, sizeof r->camp->prev_node);
        r->camp->prev_boot = 0;
        if (w) {
            bt_nodeid_copy(&r->camp->prev_node, &w->node);
            r->camp->prev_boot = w->cand.boot_id;
        }
    }
}

void ldr_mark_dirty(struct bt_leader *l, struct name_rec *r)
{
    if (!r || !r->campaigning || r->dirty)
        return;
    r->dirty = true;
    r->dirty_next = l->dirty_head;
    l->dirty_head = r;
}

/* The candidacies or the membership behind r changed: a deferred term may
 * start now (see recompute). */
void ldr_view_changed(struct bt_leader *l, struct name_rec *r)
{
    if (!r)
        return;
    ldr_set_deferred(l, r, false);
    ldr_mark_dirty(l, r);
}

void ldr_recompute_dirty(struct bt_leader *l, uint64_t wall_ms)
{
    while (l->dirty_head) {
        struct name_rec *r = l->dirty_head;
        l->dirty_head = r->dirty_next;
        r->dirty = false;
        r->dirty_next = NULL;
        recompute(l, r, wall_ms);
    }
}

int ldr_reserve_outputs(struct bt_leader *l, size_t broadcasts, size_t events)
{
    if (bt_fifo_reserve(&l->broadcasts, broadcasts) != 0 ||
        bt_fifo_reserve(&l->events, events) != 0)
        return BATON_ENOMEM;
    return 0;
}

/* Whether the local truth about (name, self) is a live candidacy: r
 * campaigns and its candidacies are not withheld (fix 9). */
static bool stands(const struct bt_leader *l, const struct name_rec *r)
{
    return r && r->campaigning && !l->withheld;
}

/* The local truth about (name, self) as an entry's candidacy. */
static struct bt_cand local_cand(const struct bt_leader *l, const struct name_rec *r)
{
    struct bt_cand c = {
        .candidate_id = r->camp->session, .priority = r->camp->priority, .boot_id = l->cfg.boot_id};
    return c;
}

/* Writes (name, self) with a stamp above whatever the map holds for it: the
 * local candidacy if r campaigns, a tombstone otherwise. Queues the entry
 * (one broadcast slot must be reserved). Returns 0 or BATON_ENOMEM. */
int ldr_write_own_entry(struct bt_leader *l, const struct bt_name *name, const struct name_rec *r,
                        uint64_t wall_ms)
{
    const struct bt_cstored *old = bt_cmap_get(&l->cmap, name, &l->cfg.self);
    if (old)
        ldr_absorb_known(l, old->stamp);
    uint64_t stamp = bt_hlc_now(&l->hlc, wall_ms);
    if (l->first_own == 0)
        l->first_own = stamp;
    struct bt_centry out;
    int rc;
    if (stands(l, r)) {
        struct bt_cand c = local_cand(l, r);
        rc = bt_cmap_add(&l->cmap, name, &l->cfg.self, &c, stamp, &out);
    } else {
        rc = bt_cmap_remove(&l->cmap, name, &l->cfg.self, stamp, &out);
    }
    if (rc < 0)
        return rc;
    ldr_push_entry(l, &out);
    return 0;
}

/* Fix 2: after the map changed under key (name, self), makes sure it says
 * what this node knows to be true, rewriting it above the intruder if not.
 * Returns 0 or BATON_ENOMEM. */
int ldr_owner_check(struct bt_leader *l, const struct bt_name *name, uint64_t wall_ms)
{
    const struct bt_cstored *s = bt_cmap_get(&l->cmap, name, &l->cfg.self);
    if (!s)
        return 0;
    struct name_rec *r = ldr_name_find(l, name);
    if (stands(l, r)) {
        struct bt_cand want = local_cand(l, r);
        if (!s->removed && s->cand.candidate_id == want.candidate_id &&
            s->cand.priority == want.priority && s->cand.boot_id == want.boot_id)
            return 0;
    } else if (s->removed) {
        return 0;
    }
    int rc = ldr_write_own_entry(l, name, r, wall_ms);
    if (rc == 0)
        l->counters.owner_rewrites++;
    return rc;
}

/* ---- lifecycle ------------------------------------------------------------ */

struct bt_leader *bt_leader_new(const struct bt_leader_config *cfg)
{
    if (!cfg || !bt_nodeid_valid_bytes(cfg->self.bytes, cfg->self.len) || cfg->boot_id == 0)
        return NULL;
    struct bt_leader *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->cfg.boot_id = cfg->boot_id;
    l->cfg.max_clock_offset_ms = cfg->max_clock_offset_ms;
    l->cfg.settle = cfg->settle;
    l->cfg.settle_ms = cfg->settle_ms;
    l->cfg.horizon_ms = cfg->horizon_ms;
    l->cfg.max_names = cfg->max_names;
    /* Canonical copy: bytes past the length zeroed, NUL-terminated. */
    bt_nodeid_set(&l->cfg.self, cfg->self.bytes, cfg->self.len);
    bt_hlc_init(&l->hlc, cfg->max_clock_offset_ms);
    bt_cmap_init(&l->cmap);
    l->cmap.lend_name = lend_name; /* the map's names are the records' */
    l->cmap.mark_of = mark_of;
    l->cmap.ctx = l;
    bt_htab_init(&l->names);
    bt_fifo_init(&l->broadcasts, sizeof(struct bt_leader_broadcast));
    bt_fifo_init(&l->events, sizeof(struct bt_leader_event));
    return l;
}

void bt_leader_free(struct bt_leader *l)
{
    if (!l)
        return;
    bt_cmap_destroy(&l->cmap); /* first: its names are the records' */
    struct bt_hlink *x, *next;
    for (x = bt_htab_first(&l->names); x; x = next) {
        next = bt_htab_next(&l->names, x);
        ldr_name_free(BT_HTAB_ENTRY(x, struct name_rec, link));
    }
    bt_htab_destroy(&l->names);
    for (size_t i = 0; i < l->nmembers; i++)
        bt_fitname_free(l->members[i].node, l->members[i].node_len, MEMBER_NODE_INLINE);
    free(l->members);
    bt_posindex_free(&l->member_index);
    bt_fifo_free(&l->broadcasts);
    bt_fifo_free(&l->events);
    free(l);
}

/* ---- local API ------------------------------------------------------------ */

int bt_leader_lead(struct bt_leader *l, uint64_t session, const struct bt_name *name,
                   int64_t priority, uint64_t wall_ms, uint64_t *fence)
{
    if (session == 0 || name->len == 0)
        return BATON_EINVAL;
    struct name_rec *r = ldr_name_find(l, name);
    if (r && r->campaigning)
        return BATON_EALREADY;
    /* The entry, and a fence if this node wins at once (the recompute of
     * fix 8 is reserved the same room). */
    if (ldr_reserve_outputs(l, 2, 2) != 0)
        return BATON_ENOMEM;
    bool created = !r;
    int orc = ldr_name_obtain(l, name, &r);
    if (orc != 0)
        return orc;
    if (!r->camp && !(r->camp = calloc(1, sizeof *r->camp))) {
        if (created)
            ldr_name_release_if_empty(l, r);
        return BATON_ENOMEM;
    }

    r->campaigning = true;
    r->camp->session = session;
    r->camp->priority = priority;
    r->camp->started_ms = wall_ms;
    /* Withheld (fix 9): the session is kept and campaigns once the clock is
     * back in bounds; nothing is written meanwhile. */
    int rc = l->withheld ? 0 : ldr_write_own_entry(l, &r->name, r, wall_ms);
    if (rc < 0) {
        r->campaigning = false;
        if (created)
            ldr_name_release_if_empty(l, r);
        return rc;
    }
    local_link(l, r);
    memset(&r->camp->prev_node, 0, sizeof r->camp->prev_node);
    r->camp->prev_boot = 0;
    r->camp->settled = false;

    if (l->cfg.settle) {
        /* Fix 8: a new candidacy never mints in this call (may_mint: no
         * departed winner to take over from), it settles first, or waits
         * for the first sync. ELECTED follows if it still wins. */
        ldr_mark_dirty(l, r);
        ldr_recompute_dirty(l, wall_ms);
        assert(!r->camp->leading);
        return 0;
    }
    if (l->withheld || !ldr_is_self(l, winner_of(l, &r->name)))
        return 0;
    uint64_t token = mint(l, r, wall_ms);
    if (fence)
        *fence = token;
    return 1;
}

/* Withdraws r's candidacy: tombstone, broadcast, no event. One broadcast
 * slot must be reserved. Returns 0 or BATON_ENOMEM (nothing changed). */
int ldr_withdraw(struct bt_leader *l, struct name_rec *r, uint64_t wall_ms)
{
    r->campaigning = false;
    /* Withheld, the entry is already a tombstone (or absent): a new one
     * would only be refused for its stamp everywhere. */
    const struct bt_cstored *own = bt_cmap_get(&l->cmap, &r->name, &l->cfg.self);
    int rc =
        l->withheld && (!own || own->removed) ? 0 : ldr_write_own_entry(l, &r->name, r, wall_ms);
    if (rc < 0) {
        r->campaigning = true;
        return rc;
    }
    r->camp->leading = false;
    ldr_set_deferred(l, r, false);
    settle_stop(l, r);
    local_unlink(l, r);
    ldr_name_release_if_empty(l, r);
    return 0;
}

int bt_leader_resign(struct bt_leader *l, const struct bt_name *name, uint64_t wall_ms)
{
    struct name_rec *r = ldr_name_find(l, name);
    if (!r || !r->campaigning)
        return BATON_ENOENT;
    if (ldr_reserve_outputs(l, 1, 0) != 0)
        return BATON_ENOMEM;
    return ldr_withdraw(l, r, wall_ms);
}

int bt_leader_session_end(struct bt_leader *l, uint64_t session, uint64_t wall_ms)
{
    size_t n = 0;
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next)
        n += r->camp->session == session;
    if (n == 0)
        return 0;
    if (ldr_reserve_outputs(l, n, 0) != 0)
        return BATON_ENOMEM;
    int ended = 0;
    struct name_rec *next;
    for (struct name_rec *r = l->local_head; r; r = next) {
        next = r->camp->local_next;
        if (r->camp->session != session)
            continue;
        int rc = ldr_withdraw(l, r, wall_ms);
        if (rc < 0)
            return rc;
        if (ended < INT_MAX)
            ended++;
    }
    return ended;
}

int bt_leader_leader(const struct bt_leader *l, const struct bt_name *name, struct bt_nodeid *node,
                     uint64_t *candidate_id)
{
    const struct bt_cstored *w = winner_of(l, name);
    if (!w)
        return BATON_ENOLEADER;
    if (node)
        bt_nodeid_copy(node, &w->node);
    if (candidate_id)
        *candidate_id = w->cand.candidate_id;
    return 0;
}

bool bt_leader_is_leader(const struct bt_leader *l, const struct bt_name *name)
{
    return ldr_is_self(l, winner_of(l, name));
}

int bt_leader_fence(const struct bt_leader *l, const struct bt_name *name, uint64_t *fence,
                    struct bt_minter *minter)
{
    const struct name_rec *r = ldr_name_find(l, name);
    if (!r || !ldr_leading(r))
        return BATON_ENOTLEADER;
    if (fence)
        *fence = r->camp->term_token;
    if (minter)
        *minter = ldr_self_minter(l);
    return 0;
}

size_t bt_leader_candidates(const struct bt_leader *l, const struct bt_name *name,
                            struct bt_nodeid *out, size_t cap)
{
    const struct bt_cstored *const *v;
    size_t n = bt_cmap_entries(&l->cmap, name, &v);
    size_t count = 0;
    /* The map keeps one entry per node, sorted by node: already unique and
     * in order. */
    for (size_t i = 0; i < n; i++) {
        if (!entry_counts(l, v[i]))
            continue;
        if (count < cap)
            bt_nodeid_copy(&out[count], &v[i]->node);
        count++;
    }
    return count;
}

int bt_leader_high_water(const struct bt_leader *l, const struct bt_name *name, uint64_t *token)
{
    const struct name_rec *r = ldr_name_find(l, name);
    if (!r || !r->has_high_water)
        return BATON_ENOENT;
    *token = r->high_water;
    return 0;
}

/* ---- outputs and inspection ------------------------------------------------ */

bool bt_leader_pop_broadcast(struct bt_leader *l, struct bt_leader_broadcast *out)
{
    return bt_fifo_pop(&l->broadcasts, out);
}

bool bt_leader_pop_event(struct bt_leader *l, struct bt_leader_event *out)
{
    return bt_fifo_pop(&l->events, out);
}

void bt_leader_counters(const struct bt_leader *l, struct bt_leader_counters *out)
{
    *out = l->counters;
}

uint64_t bt_leader_names_refused(const struct bt_leader *l) { return l->counters.names_refused; }

uint64_t bt_leader_fences_too_old(const struct bt_leader *l) { return l->counters.fences_too_old; }

const struct bt_cmap *bt_leader_cmap(const struct bt_leader *l) { return &l->cmap; }

int bt_leader_foreach_high_water(const struct bt_leader *l,
                                 int (*fn)(const struct bt_fence *f, void *ctx), void *ctx)
{
    struct bt_fence f;
    for (const struct bt_hlink *x = bt_htab_first(&l->names); x; x = bt_htab_next(&l->names, x)) {
        const struct name_rec *r = BT_HTAB_ENTRY(x, const struct name_rec, link);
        if (!r->has_high_water)
            continue;
        memset(&f, 0, sizeof f);
        bt_name_copy(&f.name, &r->name);
        f.token = r->high_water;
        for (size_t i = 0; i < r->nminters; i++) {
            if (ldr_minter(r, i)->node.len == 0)
                continue; /* observed without its minter: kept here only */
            f.minter = *ldr_minter(r, i);
            int rc = fn(&f, ctx);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

size_t bt_leader_high_water_count(const struct bt_leader *l) { return l->nhigh_water; }

uint64_t bt_leader_marks_version(const struct bt_leader *l) { return l->marks_version; }

bool bt_leader_end_term(struct bt_leader *l, struct bt_leader_event *out)
{
    for (struct name_rec *r = l->local_head; r; r = r->camp->local_next) {
        if (!r->camp->leading)
            continue;
        r->camp->leading = false;
        memset(out, 0, sizeof *out);
        out->kind = BT_LEADER_REVOKED;
        out->session = r->camp->session;
        bt_name_copy(&out->name, &r->name);
        out->fence = r->camp->term_token;
        l->counters.revoked_events++;
        return true;
    }
    return false;
}

size_t bt_leader_names(const struct bt_leader *l) { return l->names.count; }

int bt_leader_foreach_name(const struct bt_leader *l,
                           int (*fn)(const struct bt_name *name, const struct bt_cstored *const *e,
                                     size_t n, const struct bt_fence *f, size_t nf, void *ctx),
                           void *ctx)
{
    struct bt_fence f[BT_LEADER_MINTERS_MAX];
    for (const struct bt_hlink *x = bt_htab_first(&l->names); x; x = bt_htab_next(&l->names, x)) {
        const struct name_rec *r = BT_HTAB_ENTRY(x, const struct name_rec, link);
        size_t nf = 0;
        if (r->has_high_water) {
            for (; nf < r->nminters; nf++) {
                memset(&f[nf], 0, sizeof f[nf]);
                bt_name_copy(&f[nf].name, &r->name);
                f[nf].token = r->high_water;
                f[nf].minter = *ldr_minter(r, nf);
            }
        }
        const struct bt_cstored *const *e;
        size_t n = bt_cmap_entries(&l->cmap, &r->name, &e);
        int rc = fn(&r->name, e, n, f, nf, ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}
