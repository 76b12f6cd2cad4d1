/*
 * Clock outliers (docs/design.md §1 fix 9): the node reads its members'
 * clocks from their PINGs and ACKs, judges its own against the cluster's,
 * withholds its candidacies while it is refused, and tells the election
 * what each member says of its own clock. node.c calls in from its swim
 * sink and from settle(); node_internal.h declares what is shared.
 */
#include "core/node_internal.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/grow.h"

/* ---- clock outliers (docs/design.md §1 fix 9) ----------------------------------
 *
 * Fix 5 refuses a remote stamp more than max_clock_offset_ms (B) ahead of
 * the local wall clock. Judged by each node against its own clock alone,
 * that goes wrong both ways. A node whose clock is far ahead has its
 * stamps refused by everyone, yet computes that it leads and mints tokens
 * nobody else accepts. A node whose clock is far behind refuses everyone
 * else's fresh stamps, and if it is the one the others believe, every
 * other node looks like the outlier. So every node measures the others:
 * each PING and ACK carries its sender's wall clock, and the node keeps the
 * last reading of every live member. The cluster's clock is the lower
 * median of the live members' clocks (ours included): one bad clock, fast
 * or slow, cannot move it, and with two nodes it is the slower one, whose
 * view is the conservative one. Then:
 *  - a node behind the cluster's clock judges remote stamps against the
 *    cluster's clock instead of its own (bt_leader_set_clock_ahead), so it
 *    absorbs the cluster's time rather than refusing it;
 *  - a node more than 9/10 B ahead of the cluster's clock would have its
 *    stamps refused: it withdraws its candidacies (bt_leader_withhold),
 *    keeps its sessions, says so (BT_EV_CLOCK_REFUSED, election.clock_refused),
 *    and campaigns again (BT_EV_CLOCK_OK) once it is back within 8/10 B
 *    (the gap keeps a clock near the edge from flapping);
 *  - a node that joined through seeds judges nothing until it has met a
 *    member, read the clock of every live member it knows (seven of them
 *    in a larger cluster), and three protocol periods have passed; until
 *    then it writes its candidacies but mints nothing (the first judgement
 *    is part of fix 8's sync, sync_check), and says "not judged yet", so
 *    that what it writes meets the bound alone: otherwise a fast node
 *    campaigning alone at start (or restarted behind a partition) would
 *    mint a token far ahead before learning that it is the outlier; one
 *    with no other live member is alone and judges at once, when its
 *    first three join attempts went unanswered (fix 8) or when every
 *    member it met since its join left or died;
 *  - every PING and ACK carries this node's word on its clock (node_sink_wall):
 *    fine, refused (with a ceiling: what it stamped while fine, and what
 *    earlier boots of its name wrote that the cluster holds), or not
 *    judged yet; the election screens what each member wrote by that word
 *    (node_tell_words, bt_leader_acceptable_from; docs/election.md,
 *    "Screening"), so that acceptance does not hang on each node's median;
 *  - readings of members held dead are kept (until membership forgets them
 *    or they restart), so that a partition does not hide the other side's
 *    clocks from the median.
 * With B = 0 (the bound disabled) nobody is judged an outlier. */

/* ---- the readings, in the members' records --------------------------------
 * Every member's PING, ACK and gossiped word comes with its reading (the
 * swim passes its extra bytes to node_sink_clock); a verdict finds it by
 * the member's name, the judgement by position. */

_Static_assert(sizeof(struct clock_reading) == 32, "a clock reading takes 32 bytes");

static struct clock_reading *reading_at(struct bt_node *n, size_t pos)
{
    return bt_swim_extra_at(n->swim, pos);
}

/* member's reading and its position in *pos, or NULL when there is none. */
static struct clock_reading *find_reading(struct bt_node *n, const struct bt_nodeid *member,
                                          size_t *pos)
{
    struct clock_reading *c = bt_swim_extra_of(n->swim, member, pos);
    return c && c->has ? c : NULL;
}

void node_clock_free(struct bt_node *n)
{
    free(n->clock_pending);
    free(n->scratch);
}

static void pending_refill(struct bt_node *n);

void node_clock_positions(struct bt_node *n)
{
    uint64_t reaped = bt_swim_reaped(n->swim);
    if (reaped == n->clock_reaped)
        return;
    n->clock_reaped = reaped;
    n->nclocks = 0;
    n->nlive_read = 0;
    for (size_t pos = 0, np = bt_swim_positions(n->swim); pos < np; pos++) {
        const struct clock_reading *c = reading_at(n, pos);
        n->nclocks += c->has;
        n->nlive_read += c->has && c->read && c->live;
    }
    pending_refill(n);
    n->clock_dirty = true;
}

/* Removes reading c; the caller lists the marked ones again
 * (pending_refill). */
static void reading_remove(struct bt_node *n, struct clock_reading *c)
{
    n->nlive_read -= c->read && c->live;
    n->nclocks--;
    memset(c, 0, sizeof *c);
}

/* ---- what the next judgement has to look at --------------------------------
 * At 1000 nodes, checking every reading against membership and telling the
 * election every reading's verdict at every judgement (once a period on
 * every node) was a fifth of the simulator's time, for nothing new in
 * nearly every case. A reading can stop matching membership only at a
 * verdict on its member, when it is new or takes another boot, or when
 * membership reaps its member; the election's view of its clock can differ
 * from its word only after a verdict on it or when it is new. So those
 * mark it (check, retell) and list it in clock_pending; a reaped member
 * makes the next judgement check every reading. A reading whose word the
 * election has not taken yet (word_told false) is listed too, so that
 * node_tell_words looks at those alone. The list holds the members'
 * positions and is walked in their order, the order of a walk over every
 * reading; it is taken again when positions move (node_clock_positions). */

/* Lists reading c, at pos, in clock_pending (it is not, or marked
 * already). There is room: at most one entry per reading, and room for
 * every position whenever a reading is added (node_sink_clock). */
static void pend(struct bt_node *n, struct clock_reading *c, size_t pos)
{
    if (c->listed)
        return;
    c->listed = true;
    if (n->npending > 0 && n->clock_pending[n->npending - 1] > pos)
        n->pending_unsorted = true;
    n->clock_pending[n->npending++] = (uint32_t)pos;
}

/* Whether reading c has to stay listed. */
static bool pending(const struct clock_reading *c)
{
    return c->has && (c->check || c->retell || !c->word_told);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Puts clock_pending in the readings' order. */
static void pending_sort(struct bt_node *n)
{
    if (n->pending_unsorted)
        qsort(n->clock_pending, n->npending, sizeof *n->clock_pending, cmp_u32);
    n->pending_unsorted = false;
}

/* Unlists the readings that need nothing more. */
static void pending_trim(struct bt_node *n)
{
    size_t keep = 0;
    for (size_t j = 0; j < n->npending; j++) {
        struct clock_reading *c = reading_at(n, n->clock_pending[j]);
        if (pending(c))
            n->clock_pending[keep++] = n->clock_pending[j];
        else
            c->listed = false;
    }
    n->npending = keep;
}

/* Lists every marked reading again (their positions moved, or one was
 * removed). */
static void pending_refill(struct bt_node *n)
{
    n->npending = 0;
    n->pending_unsorted = false;
    for (size_t pos = 0, np = bt_swim_positions(n->swim); pos < np; pos++) {
        struct clock_reading *c = reading_at(n, pos);
        c->listed = false;
        if (pending(c))
            pend(n, c, pos);
    }
}

/* Marks reading c, at pos, to be checked against membership and told to
 * the election at the next judgement. */
static void mark(struct bt_node *n, struct clock_reading *c, size_t pos)
{
    c->check = true;
    c->retell = true;
    c->out_told = false; /* a verdict may have changed the election's view */
    pend(n, c, pos);
}

void node_clock_forget(struct bt_node *n, const struct bt_nodeid *member, uint64_t keep_boot)
{
    size_t pos;
    struct clock_reading *c = find_reading(n, member, &pos);
    if (!c || c->boot_id == keep_boot)
        return;
    reading_remove(n, c);
    pending_refill(n);
    n->clock_dirty = true;
}

/* A member restarted: the new process most likely runs on the same clock,
 * so its last reading stands for it until a fresh one comes (the median
 * must not lurch at every restart); the judgement of it starts over. */
void node_clock_reboot(struct bt_node *n, const struct bt_nodeid *member, uint64_t boot_id)
{
    size_t pos;
    struct clock_reading *c = find_reading(n, member, &pos);
    if (!c || c->boot_id == boot_id)
        return;
    c->boot_id = boot_id;
    c->flags = 0;
    c->ceiling = 0;
    c->seq = 0;
    c->word_told = true; /* the election starts it unheard */
    c->heard = false;
    n->clock_dirty = true;
    mark(n, c, pos);
}

/* A member held dead keeps its reading (a partition must not hide the other
 * side's clocks from the median) and its word (the election keeps it too,
 * for the boot's return); the median is taken again. */
void node_clock_dead(struct bt_node *n, const struct bt_nodeid *member)
{
    size_t pos;
    if (find_reading(n, member, &pos))
        n->clock_dirty = true;
}

/* The election takes every verdict (settle(), before the judgement): a
 * death keeps its record, a new boot starts it unheard and not out, a
 * return on the same boot takes its last word again. So the reading is told
 * again at the next judgement (it changes nothing when the election agrees
 * already); and a verdict (a restart, a leave) may leave a reading that
 * does not match membership any more. */
void node_clock_verdict(struct bt_node *n, const struct bt_nodeid *member)
{
    size_t pos;
    struct clock_reading *c = find_reading(n, member, &pos);
    if (c)
        mark(n, c, pos);
}

/* Whether reading c's word says its clock is refused. */
static bool word_refused(const struct clock_reading *c)
{
    return c->heard && (c->flags & BT_SWIM_CLOCK_REFUSED) != 0;
}

/* Tells the election whether reading c's member's clock is out (name:
 * its member's), unless it was told so since the last mark. Returns what
 * bt_leader_member_clock returns, or 0. */
static int tell_out(struct bt_node *n, struct clock_reading *c, const struct bt_nodeid *name)
{
    bool out = word_refused(c);
    if (c->out_told && c->out_refused == out)
        return 0;
    int rc = bt_leader_member_clock(n->leader, name, c->boot_id, out, n->now.wall_ms);
    if (rc >= 0) {
        c->out_told = true;
        c->out_refused = out;
    }
    return rc;
}

/* A member's clock block (a PING or ACK: a reading and its word), or its
 * word alone (a CLOCK broadcast: wall_ms 0). Its word is taken when it is
 * newer than the one held for that boot (a greater seq), never older:
 * datagrams are reordered and queue up behind a pause, and gossip may
 * bring a word after the member's next PING. Returns whether it was news
 * to gossip on: a newer word, but not "not judged yet", which the
 * election takes as it takes a boot not heard from (neither vouches for
 * anything, bt_leader_acceptable_from), so it rides the member's own PINGs
 * and ACKs only. Gossiped, it was half of every join's CLOCK broadcasts
 * (a joiner says "not judged yet", then "fine" a few periods later), the
 * largest share of a 1000-node start's gossip, for no change anywhere. */
bool node_sink_clock(void *ctx, uint64_t boot_id, size_t pos, void *extra,
                     const struct bt_swim_clock *clock)
{
    struct bt_node *n = ctx;
    int64_t offset = 0;
    if (clock->wall_ms != 0) {
        uint64_t their_wall_ms = clock->wall_ms;
        uint64_t mine = n->now.wall_ms;
        /* Saturating difference: a reading never overflows the gauge. */
        if (their_wall_ms >= mine)
            offset = their_wall_ms - mine > (uint64_t)INT64_MAX ? INT64_MAX
                                                                : (int64_t)(their_wall_ms - mine);
        else
            offset = mine - their_wall_ms > (uint64_t)INT64_MAX ? -INT64_MAX
                                                                : -(int64_t)(mine - their_wall_ms);
        n->clock_dirty = true;
    }
    struct clock_reading *c = extra;
    if (!c->has) {
        /* Room to list every position (pend): grown as grow.h says. */
        size_t np = bt_swim_positions(n->swim);
        if (n->pending_cap < np) {
            size_t cap = bt_grow_cap(n->pending_cap);
            if (cap < np)
                cap = np;
            uint32_t *pd =
                cap <= SIZE_MAX / sizeof *pd ? realloc(n->clock_pending, cap * sizeof *pd) : NULL;
            if (!pd) {
                n->dropped_oom++;
                return false;
            }
            n->clock_pending = pd;
            n->pending_cap = cap;
        }
        c->has = true;
        c->boot_id = boot_id;
        n->nclocks++;
        mark(n, c, pos);
    }
    if (clock->wall_ms != 0) {
        c->offset_ms = offset;
        n->nlive_read += !c->read && c->live;
        c->read = true;
    }
    if (c->boot_id == boot_id && c->heard && clock->seq <= c->seq)
        return false; /* the same word, or an older one */
    if (c->boot_id != boot_id) {
        c->boot_id = boot_id;
        mark(n, c, pos);
    }
    c->flags = clock->flags;
    c->ceiling = clock->ceiling;
    c->seq = clock->seq;
    c->word_told = false;
    c->heard = true;
    pend(n, c, pos);
    n->words_dirty = true;
    return (clock->flags & BT_SWIM_CLOCK_PENDING) == 0;
}

/* The swim sink's `word`: what a queued CLOCK broadcast says, the word in
 * the member's reading (the last one node_sink_clock called news), or
 * this node's own. */
void node_sink_word(void *ctx, const void *extra, struct bt_swim_clock *out)
{
    struct bt_node *n = ctx;
    const struct clock_reading *c = extra;
    out->wall_ms = 0;
    out->flags = c ? c->flags : n->word_flags;
    out->ceiling = c ? c->ceiling : n->word_ceiling;
    out->seq = c ? c->seq : n->word_seq;
}

/* What this node says of its clock: not judged yet (joined, no judgement
 * made), refused (with the ceiling of what it stamped while fine, and of
 * what earlier boots of its name wrote that the cluster holds:
 * bt_leader_own_echo), or fine. Counts a change in word_seq. */
static void own_word(struct bt_node *n)
{
    uint8_t flags = 0;
    uint64_t ceiling = 0;
    if (n->clock_refused) {
        uint64_t echo = bt_leader_own_echo(n->leader);
        flags = BT_SWIM_CLOCK_REFUSED;
        ceiling = n->clock_ceiling > echo ? n->clock_ceiling : echo;
    } else if (n->joined && !n->clock_announced) {
        flags = BT_SWIM_CLOCK_PENDING;
    }
    if (flags != n->word_flags || ceiling != n->word_ceiling) {
        n->word_flags = flags;
        n->word_ceiling = ceiling;
        n->word_seq++;
    }
}

/* The clock block of this node's PINGs and ACKs: its wall clock and its
 * word. */
void node_sink_wall(void *ctx, struct bt_swim_clock *out)
{
    struct bt_node *n = ctx;
    own_word(n);
    out->wall_ms = n->now.wall_ms;
    out->flags = n->word_flags;
    out->ceiling = n->word_ceiling;
    out->seq = n->word_seq;
}

/* Gossips a change of this node's word, but not "not judged yet" (see
 * node_sink_clock): that one rides its PINGs and ACKs only. */
void node_say_word(struct bt_node *n)
{
    own_word(n);
    if (n->word_seq != n->word_gossiped && (n->word_flags & BT_SWIM_CLOCK_PENDING) == 0 &&
        bt_swim_broadcast_clock(n->swim, n->now.mono_ms) == 0)
        n->word_gossiped = n->word_seq;
}

/* Tells the election what each member last said of its clock (for
 * screening what it wrote, bt_leader_acceptable_from); called from
 * settle() after the verdicts, so that a new boot's record exists. Returns
 * whether any word changed. */
bool node_tell_words(struct bt_node *n)
{
    if (!n->words_dirty)
        return false;
    n->words_dirty = false;
    bool any = false;
    pending_sort(n);
    for (size_t j = 0; j < n->npending; j++) {
        size_t pos = n->clock_pending[j];
        struct clock_reading *c = reading_at(n, pos);
        if (!c->has || c->word_told)
            continue;
        const struct bt_nodeid name = bt_swim_name_at(n->swim, pos);
        enum bt_clock_word w = c->flags & BT_SWIM_CLOCK_REFUSED   ? BT_CLOCK_WORD_REFUSED
                               : c->flags & BT_SWIM_CLOCK_PENDING ? BT_CLOCK_WORD_PENDING
                                                                  : BT_CLOCK_WORD_FINE;
        if (!bt_leader_member_word(n->leader, &name, c->boot_id, w, c->ceiling)) {
            /* The election does not hold that boot live yet (its verdict is
             * to come): tell it again at the next call. */
            n->words_dirty = true;
            continue;
        }
        /* Whether the member counts follows its word at once, not at the
         * next judgement: until then a candidacy it has withdrawn could
         * still elect it here (a live entry that only now passes the
         * bound, while its tombstone does not yet). */
        if (tell_out(n, c, &name) < 0) {
            n->words_dirty = true; /* out of memory: told again at the next call */
            continue;
        }
        c->word_told = true;
        any = true;
    }
    pending_trim(n);
    return any;
}

/* The k-th smallest (from 0) of v[0..len), len > k; reorders v. A
 * quickselect with three-way partitions (readings often repeat): linear
 * time on average, where sorting every reading at every judgement was a
 * tenth of a 1000-node simulation's time. */
static int64_t kth_smallest(int64_t *v, size_t len, size_t k)
{
    size_t lo = 0, hi = len;
    while (hi - lo > 1) {
        int64_t a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        int64_t pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        /* [lo, lt) < pivot, [lt, i) == pivot, [gt, hi) > pivot */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            int64_t x = v[i];
            if (x < pivot) {
                v[i++] = v[lt];
                v[lt++] = x;
            } else if (x > pivot) {
                v[i] = v[--gt];
                v[gt] = x;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return pivot;
    }
    return v[lo];
}

/* Whether reading c, at pos, still matches membership: its member on the
 * reading's boot, not left; *live then says whether it is alive or
 * suspect. */
static bool matches(struct bt_node *n, const struct clock_reading *c, size_t pos, bool *live)
{
    uint64_t boot;
    enum bt_member_state st = bt_swim_state_at(n->swim, pos, &boot);
    *live = st == BT_MEMBER_ALIVE || st == BT_MEMBER_SUSPECT;
    return boot == c->boot_id && st != BT_MEMBER_LEFT;
}

/* Drops the readings of members membership knows under another boot, or
 * saw leave; returns how many of the rest are readings of live members. */
static size_t drop_forgotten(struct bt_node *n)
{
    size_t live = 0;
    for (size_t pos = 0, np = bt_swim_positions(n->swim); pos < np; pos++) {
        struct clock_reading *c = reading_at(n, pos);
        bool is_live;
        if (!c->has)
            continue;
        if (!matches(n, c, pos, &is_live)) {
            reading_remove(n, c);
            continue;
        }
        c->live = is_live;
        live += c->read && c->live;
        c->check = false;
    }
    pending_refill(n);
    n->nlive_read = live;
    return live;
}

/* Checks the readings marked since the last check against membership:
 * one that stopped matching it has every reading checked again
 * (drop_forgotten). Returns how many readings of live members there
 * are. */
static size_t check_marked(struct bt_node *n)
{
    bool all = false;
    for (size_t j = 0; j < n->npending && !all; j++) {
        size_t pos = n->clock_pending[j];
        struct clock_reading *c = reading_at(n, pos);
        bool live;
        if (!c->check)
            continue;
        if (!matches(n, c, pos, &live)) {
            all = true;
        } else {
            if (c->read && live != c->live)
                n->nlive_read += live ? 1 : (size_t)-1;
            c->live = live;
            c->check = false;
        }
    }
    return all ? drop_forgotten(n) : n->nlive_read;
}

/* Tells the election again what each marked reading says of its clock, in
 * the order of their positions, and unlists them. */
static void retell_marked(struct bt_node *n)
{
    pending_sort(n);
    for (size_t j = 0; j < n->npending; j++) {
        size_t pos = n->clock_pending[j];
        struct clock_reading *c = reading_at(n, pos);
        if (!c->retell)
            continue;
        const struct bt_nodeid name = bt_swim_name_at(n->swim, pos);
        /* Out of memory: told again next time. */
        if (tell_out(n, c, &name) >= 0)
            c->retell = false;
    }
    pending_trim(n);
}

/* Whether enough live members have a clock reading to judge: every live
 * member but self, or seven of them in a larger cluster (the median of
 * eight clocks; reading every member of a large cluster takes many
 * periods, and the judgement goes on improving as readings come). Drops the
 * readings of members membership forgot. */
#define CLOCK_SAMPLE 7
static bool all_read(struct bt_node *n)
{
    size_t live = check_marked(n);
    size_t others = bt_swim_live_count(n->swim) - 1;
    return live > 0 && live >= (others < CLOCK_SAMPLE ? others : CLOCK_SAMPLE);
}

static void clock_event(struct bt_node *n, enum bt_event_kind kind)
{
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.member = n->cfg.name;
    ev.addr = n->cfg.addr;
    ev.boot_id = n->cfg.boot_id;
    ev.clock_ahead_ms = -n->cluster_offset;
    if (!node_push_event(n, &ev)) {
        /* Out of memory: the node stops, and reports this event first. */
        n->stash = ev;
        n->has_stash = true;
        node_stop(n, BATON_ENOMEM, NULL);
    }
}

/* Judges this node's clock against the cluster's (see above) and acts on
 * a change. Called from settle(). */
void node_judge_clock(struct bt_node *n)
{
    uint64_t period = n->retry_interval; /* one protocol period */
    if (!n->clock_settled) {
        /* Alone: no other live member, and either the first three join
         * attempts went unanswered (fix 8) or the join was answered and
         * every member met since left or died. Its clock is the cluster's;
         * waiting for its join timer would only delay its terms. */
        bool alone = (node_join_unanswered(n) || bt_swim_joined(n->swim)) &&
                     bt_swim_live_count(n->swim) <= 1;
        if (!alone && (!all_read(n) || n->now.mono_ms - n->joined_at < 3 * period))
            return;
        n->clock_settled = true;
        n->clock_dirty = true;
    }
    /* At most once per protocol period: readings move slowly. */
    if (!n->clock_dirty || (n->clock_announced && n->now.mono_ms < n->clock_judged_at + period))
        return;
    /* Room for the offsets, allocated for the judgement only: kept
     * between judgements, it was 8 bytes per (node, member) pair. nclocks
     * counts the readings, or more until node_clock_positions counts them
     * again after a reaping. Out of memory, the judgement waits for the
     * next call. */
    int64_t *offs = n->nclocks ? malloc((n->nclocks + 1) * sizeof *offs) : n->scratch;
    if (!offs) {
        n->dropped_oom++;
        return;
    }
    n->clock_dirty = false;
    n->clock_judged_at = n->now.mono_ms;
    (void)check_marked(n); /* drops the readings of members forgotten since */

    /* The lower median of the live members' offsets, ours (0) included. */
    size_t k = 0;
    offs[k++] = 0;
    for (size_t pos = 0, np = bt_swim_positions(n->swim); pos < np; pos++) {
        const struct clock_reading *c = reading_at(n, pos);
        if (c->has && c->read)
            offs[k++] = c->offset_ms;
    }
    n->cluster_offset = kth_smallest(offs, k, (k - 1) / 2);
    if (offs != n->scratch)
        free(offs);
    uint64_t bound = n->cfg.max_clock_offset_ms;
    bt_leader_set_clock_ahead(n->leader,
                              bound && n->cluster_offset > 0 ? (uint64_t)n->cluster_offset : 0);

    /* A member that says its clock is refused does not count here: it has
     * withdrawn its candidacies, and an entry it wrote while it saw the
     * cluster otherwise (a partition side of fast clocks) must not elect it
     * once its stamp passes our bound, nor may a tombstone our bound still
     * refuses keep it elected. Its own word, not our reading of its clock:
     * every node then agrees with it, whatever the members each has read. */
    /* Told again at the judgement after each verdict on the member and
     * for a new reading, not only when its word changes (node_tell_words):
     * the election starts a new boot not out, takes a return on the same
     * boot back to its last word, and a verdict may reach it after the
     * reading (it changes nothing when it agrees already). */
    retell_marked(n);

    /* How far our wall clock, and our HLC (which never goes back: a clock
     * put right still stamps above what it stamped while ahead), are ahead
     * of the cluster's clock. The wall clock decides against the bound B;
     * the HLC against the generous limit V within which the others accept
     * what a member whose clock is fine wrote (bt_leader_vouched_ms): it
     * may legitimately run ahead by what it absorbed from such members (a
     * partition side of fast clocks), and is refused only near V, where its
     * stamps would stop being accepted. */
    uint64_t ahead = n->cluster_offset < 0 ? (uint64_t)-n->cluster_offset : 0;
    uint64_t reference = n->now.wall_ms;
    if (n->cluster_offset > 0)
        reference += (uint64_t)n->cluster_offset;
    else
        reference = reference > ahead ? reference - ahead : 0;
    uint64_t stamp_wall = bt_hlc_wall(bt_leader_clock(n->leader));
    uint64_t stamp_ahead = stamp_wall > reference ? stamp_wall - reference : 0;
    uint64_t vouched = bt_leader_vouched_ms(n->leader);
    bool refused =
        bound != 0 &&
        (n->clock_refused ? ahead > bound - bound / 5 || stamp_ahead > vouched - 2 * bound
                          : ahead > bound - bound / 10 || stamp_ahead > vouched - bound);
    bool first = !n->clock_announced;
    if (refused || first) {
        n->clock_ok_since = 0;
    } else if (n->clock_refused) {
        /* Back within bounds: only after ten periods in a row of being so,
         * since the median moves while membership does (a restart, a
         * partition's verdicts), and every return is a candidacy written
         * with this clock's stamps. */
        uint64_t wait = 10;
        if (n->clock_ok_since == 0)
            n->clock_ok_since = n->now.mono_ms;
        if (n->now.mono_ms - n->clock_ok_since < wait * period) {
            n->clock_dirty = true; /* judged again next period */
            return;
        }
    }
    if (refused == n->clock_refused && !first)
        return;
    /* The ceiling it says with its refusal: what it stamped while judged
     * fine stays vouched for (0 when it never was: a first judgement). */
    uint64_t ceiling = refused && !first ? bt_leader_clock(n->leader) : 0;
    if (bt_leader_withhold(n->leader, refused, n->now.wall_ms) < 0) {
        n->clock_dirty = true; /* out of memory: judged again at the next call */
        return;
    }
    n->clock_refused = refused;
    n->clock_ceiling = ceiling;
    n->clock_announced = true;
    clock_event(n, refused ? BT_EV_CLOCK_REFUSED : BT_EV_CLOCK_OK);
}
