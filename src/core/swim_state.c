/*
 * Membership's state changes (swim_internal.h): suspicion with Lifeguard's
 * confirmations, refutation, and applying ALIVE, SUSPECT, DEAD and LEFT
 * rumors to the member table; and refused addresses taken as evidence of a
 * crash (docs/membership.md). The protocol that sends and receives them is
 * swim.c; the arithmetic is lifeguard.c.
 */
#include "core/swim_internal.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

/* ---- suspicion ---------------------------------------------------------- */

static uint64_t suspicion_timeout(const struct bt_suspicion *sp)
{
    return bt_lg_suspicion_timeout(sp->min_ms, sp->max_ms, sp->k, sp->n > 0 ? sp->n - 1 : 0);
}

static void suspicion_init(struct bt_swim *s, struct bt_suspicion *sp, uint64_t from_hash,
                           uint64_t now)
{
    memset(sp, 0, sizeof *sp);
    sp->min_ms = bt_lg_suspicion_min(s->t.suspicion_mult, s->t.probe_interval, s->n_live);
    sp->max_ms = sp->min_ms * s->t.suspicion_max_mult;
    sp->k = bt_lg_confirmations(s->t.suspicion_mult, s->n_live, MAX_SUSPECTORS - 1);
    sp->start = now;
    sp->suspectors[0] = from_hash;
    sp->n = 1;
    sp->deadline = now + suspicion_timeout(sp);
}

/* Records an independent suspector; returns true if it was new. */
static bool suspicion_confirm(struct bt_swim *s, struct bt_member *m, uint64_t from_hash)
{
    struct bt_suspicion *sp = member_susp(s, m);
    for (uint32_t i = 0; i < sp->n; i++)
        if (sp->suspectors[i] == from_hash)
            return false;
    if (sp->n >= sp->k + 1 || sp->n >= MAX_SUSPECTORS)
        return false;
    sp->suspectors[sp->n++] = from_hash;
    sp->deadline = sp->start + suspicion_timeout(sp);
    if (sp->refused_by != 0 && sp->refused_by < sp->deadline)
        sp->deadline = sp->refused_by;
    return true;
}

/* ---- applying state ----------------------------------------------------- */

void swim_health_add(struct bt_swim *s, int delta)
{
    s->health = bt_lg_health_add(s->health, delta, s->t.awareness_max);
}

/* Refutes a claim about ourselves at incarnation inc. */
static void refute(struct bt_swim *s, uint32_t inc, bool about_this_boot)
{
    if (s->leaving || s->refused)
        return;
    uint32_t next = (inc >= s->self->incarnation ? inc : s->self->incarnation) + 1;
    if (next == 0)
        next = UINT32_MAX; /* 4 billion refutations: saturate */
    s->self->incarnation = next;
    s->stats.refutations++;
    /* Lifeguard: being suspected hints that we are the slow one. A claim
     * about a previous boot of ours says nothing about our health. */
    if (about_this_boot)
        swim_health_add(s, 1);
    swim_bcast_member(s, BT_SWIM_B_ALIVE, s->self, NULL, false);
    s->gossip_now = true;
}

/* A broadcast about our own name. */
static void apply_self(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (s->leaving || s->refused)
        return;
    struct bt_member *me = s->self;
    bool refuted = false;
    if (b->boot == me->boot_id) {
        if (b->kind == BT_SWIM_B_ALIVE ? b->incarnation > me->incarnation
                                       : b->incarnation >= me->incarnation) {
            refute(s, b->incarnation, true);
            refuted = true;
        }
        /* Whoever spreads a suspicion or death of us, refuted or not, gets
         * our alive straight away: gossip alone may miss it (with a retransmit
         * limit of a few sends, it does in a few percent of cases on a lossy
         * network), and its suspicion timer is running. */
        refuted = refuted || b->kind != BT_SWIM_B_ALIVE;
    } else {
        /* Another boot under our name. A live rival elsewhere is for third
         * parties to judge (they probe the holder); our own previous boot
         * (same address) or a dead/left one is simply outbid. */
        bool same_addr = b->kind == BT_SWIM_B_ALIVE && bt_addr_eq(&b->addr, &s->cfg.addr);
        if ((same_addr || b->kind == BT_SWIM_B_DEAD || b->kind == BT_SWIM_B_LEFT) &&
            b->incarnation >= me->incarnation) {
            refute(s, b->incarnation, false);
            refuted = true;
        } else if (b->kind == BT_SWIM_B_ALIVE && !same_addr) {
            /* A live rival elsewhere: the greater boot keeps the name. We
             * outrank it: refuse it directly (third parties do as well). It
             * outranks us: make sure it is alive, then yield (check_answered). */
            if (b->boot < me->boot_id)
                swim_send_conflict(s, &b->addr, &s->cfg.name, b->boot, me->boot_id, &s->cfg.addr);
            else
                swim_check_start(s, me, b, now);
        }
    }
    /* The one who told us holds the stale view for sure: answer it
     * directly, besides the gossip (simulator finding F1: a restart's
     * refutation could miss the very seed that prompted it). */
    if (refuted && s->rumor_src)
        swim_notice_member(s, s->rumor_src, BT_SWIM_B_ALIVE, me);
}

/* A rumor that m is alive, suspect or dead reached us while we know it left:
 * the sender missed the leave (it was partitioned, or the leaver did not
 * know it yet) and would otherwise find out only by failure detection and a
 * push-pull. Tell it. Left is final, so this cannot ping-pong. */
static bool correct_left(struct bt_swim *s, const struct bt_member *m,
                         const struct bt_swim_bcast *b)
{
    if (m->state != BT_MEMBER_LEFT || m->boot_id != b->boot || b->incarnation > m->incarnation)
        return false;
    s->stats.stale++;
    if (s->rumor_src)
        swim_notice_member(s, s->rumor_src, BT_SWIM_B_LEFT, m);
    return true;
}

void swim_apply_alive(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->cfg.name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = swim_find(s, &b->name);
    if (!m) {
        m = swim_member_add(s, &b->name, &b->addr, b->boot, b->incarnation, now, false);
        if (!m)
            return;
        swim_emit(s, BT_EV_MEMBER_UP, m);
        /* Members a joiner learns from its seed's reply are old news to
         * everyone else: re-broadcasting them all would make every join
         * cost O(n) broadcasts, the whole of a 1000-node join storm. */
        if (!s->quiet_adds)
            swim_bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
        return;
    }
    enum bt_member_state was = m->state;
    if (correct_left(s, m, b))
        return;
    if (b->boot == m->boot_id) {
        if (b->incarnation <= m->incarnation) {
            s->stats.stale++;
            return;
        }
        if (!member_addr_is(m, &b->addr)) {
            /* Out of memory for a longer address: the rumor is dropped
             * before anything changed (it comes again). */
            if (!swim_member_set_addr(m, &b->addr))
                return;
            m->addr_since = now;
        }
        m->incarnation = b->incarnation;
        swim_set_state(s, m, BT_MEMBER_ALIVE, now);
        if (was == BT_MEMBER_SUSPECT)
            swim_emit(s, BT_EV_MEMBER_ALIVE, m);
        else if (was != BT_MEMBER_ALIVE)
            swim_emit(s, BT_EV_MEMBER_UP, m);
        if (was == BT_MEMBER_DEAD && !s->resync) {
            s->resync = true;
            s->resync_with = member_name(m);
        }
        swim_bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
        return;
    }
    /* A different boot under a known name. */
    bool same_addr = member_addr_is(m, &b->addr);
    if (is_live(was) && !same_addr) {
        swim_check_start(s, m, b, now);
        return;
    }
    if (b->incarnation <= m->incarnation) {
        /* Too low to win: tell the claimant what we hold, so it can refute
         * above it instead of waiting for a push-pull. */
        s->stats.stale++;
        uint8_t kind = was == BT_MEMBER_DEAD   ? BT_SWIM_B_DEAD
                       : was == BT_MEMBER_LEFT ? BT_SWIM_B_LEFT
                                               : BT_SWIM_B_ALIVE;
        swim_notice_member(s, &b->addr, kind, m);
        return;
    }
    /* A restart: same address, or the name's holder is gone. */
    if (!swim_member_set_addr(m, &b->addr))
        return; /* out of memory: dropped before anything changed */
    swim_set_boot(s, m, b->boot);
    m->incarnation = b->incarnation;
    m->addr_since = now;
    swim_set_state(s, m, BT_MEMBER_ALIVE, now);
    swim_emit(s, BT_EV_MEMBER_UP, m);
    swim_bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
}

void swim_apply_suspect(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->cfg.name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = swim_find(s, &b->name);
    if (m && correct_left(s, m, b))
        return;
    if (!m || m->boot_id != b->boot || b->incarnation < m->incarnation) {
        s->stats.stale++;
        return;
    }
    uint64_t from_hash = bt_hash_bytes(b->from.bytes, b->from.len);
    if (m->state == BT_MEMBER_ALIVE) {
        /* Suspicion state lives apart from the member: few are suspect. */
        struct bt_suspicion *sp = calloc(1, sizeof *sp);
        if (!sp || !swim_susp_reserve(s)) {
            free(sp);
            return;
        }
        m->incarnation = b->incarnation;
        swim_set_state(s, m, BT_MEMBER_SUSPECT, now);
        s->susps[m->watch_slot] = sp;
        suspicion_init(s, sp, from_hash, now);
        swim_emit(s, BT_EV_MEMBER_SUSPECT, m);
        swim_bcast_member(s, BT_SWIM_B_SUSPECT, m, &b->from, false);
        /* Tell the suspect at once, and again every period while the
         * suspicion lasts (tick step 5): it refutes, or answers with the
         * refutation we missed. */
        swim_notice_member(s, MEMBER_ADDR_P(m), BT_SWIM_B_SUSPECT, m);
        sp->next_tell = now + s->t.probe_interval;
    } else if (m->state == BT_MEMBER_SUSPECT) {
        if (b->incarnation > m->incarnation)
            m->incarnation = b->incarnation;
        /* Re-broadcast new confirmations so every node counts them. */
        if (suspicion_confirm(s, m, from_hash))
            swim_bcast_member(s, BT_SWIM_B_SUSPECT, m, &b->from, false);
    } else {
        s->stats.stale++;
    }
}

void swim_apply_dead(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->cfg.name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = swim_find(s, &b->name);
    if (m && correct_left(s, m, b))
        return;
    if (!m || m->boot_id != b->boot || b->incarnation < m->incarnation || !is_live(m->state)) {
        s->stats.stale++;
        return;
    }
    m->incarnation = b->incarnation;
    swim_set_state(s, m, BT_MEMBER_DEAD, now);
    swim_emit(s, BT_EV_MEMBER_DEAD, m);
    swim_bcast_member(s, BT_SWIM_B_DEAD, m, &b->from, false);
}

void swim_apply_left(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->cfg.name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = swim_find(s, &b->name);
    if (!m || m->boot_id != b->boot || b->incarnation < m->incarnation ||
        m->state == BT_MEMBER_LEFT) {
        s->stats.stale++;
        return;
    }
    m->incarnation = b->incarnation;
    swim_set_state(s, m, BT_MEMBER_LEFT, now);
    swim_emit(s, BT_EV_MEMBER_LEFT, m);
    swim_bcast_member(s, BT_SWIM_B_LEFT, m, NULL, false);
    /* A leave is a handover (docs/design.md fix 7): pass it on at once. */
    s->gossip_now = true;
}

/* Our probe (or a push-pull's) concluded that m looks dead: suspect it, or
 * confirm an existing suspicion. */
void swim_suspect_locally(struct bt_swim *s, struct bt_member *m, uint64_t now)
{
    struct bt_swim_bcast b;
    swim_member_rumor(&b, BT_SWIM_B_SUSPECT, m, &s->cfg.name);
    bool was_alive = m->state == BT_MEMBER_ALIVE;
    swim_apply_suspect(s, &b, now);
    if (was_alive && m->state == BT_MEMBER_SUSPECT)
        s->stats.suspicions++;
}

/* ---- refused addresses -------------------------------------------------- */

/* How long after a member's (boot, address) changed a refusal of that
 * address may still be an echo of a datagram sent before the process bound
 * it: such a refusal is not held against the new boot. A probe timeout: the
 * round trip we trust a live member to answer within, far above the time a
 * refusal takes to come back (it had to lose a race against the new
 * process's start and its alive reaching us). */
static uint64_t refusal_guard(const struct bt_swim *s) { return s->t.probe_timeout; }

/* The member a refusal of addr is evidence against: the one we hold alive
 * or suspect at that address (the target of our probe first), there since
 * well before now. NULL if none. The driver reports refusals of what we
 * sent, so we did send it something. */
static struct bt_member *refused_member(struct bt_swim *s, const struct bt_addr *addr, uint64_t now)
{
    struct bt_member *m = NULL;
    if (s->probe.active) {
        struct bt_member *t = swim_find(s, &s->probe.target);
        if (t && t->boot_id == s->probe.target_boot && member_addr_is(t, addr))
            m = t;
    }
    for (size_t i = 0; !m && i < s->n_members; i++) {
        struct bt_member *t = swim_member_at(s, i);
        if (member_addr_is(t, addr) && is_live(t->state))
            m = t;
    }
    if (!m || m == s->self || !is_live(m->state) || now < m->addr_since + refusal_guard(s))
        return NULL;
    return m;
}

void bt_swim_addr_refused(struct bt_swim *s, const struct bt_addr *addr, uint64_t now)
{
    if (s->refused || addr == NULL)
        return;
    s->depth++;
    struct bt_member *m = refused_member(s, addr, now);
    if (!m) {
        s->stats.refusals_ignored++;
        s->depth--;
        swim_flush(s, now);
        return;
    }
    s->stats.refusals++;
    if (s->probe.active && !s->probe.acked && member_name_is(m, &s->probe.target)) {
        /* The probe has its answer: a failure that says nothing about our
         * own health (no Lifeguard penalty). */
        s->probe.active = false;
        s->stats.probes_failed++;
    }
    if (m->state == BT_MEMBER_ALIVE)
        swim_suspect_locally(s, m, now);
    struct bt_suspicion *sp = member_susp(s, m);
    if (sp) {
        /* One period for the process at that address, if any, to refute:
         * it is told now and again halfway. */
        uint64_t wait = (uint64_t)s->t.probe_interval * scale(s);
        if (sp->refused_by == 0 || now + wait < sp->refused_by)
            sp->refused_by = now + wait;
        if (sp->refused_by < sp->deadline)
            sp->deadline = sp->refused_by;
        if (now + wait / 2 < sp->next_tell)
            sp->next_tell = now + wait / 2;
    }
    s->depth--;
    swim_flush(s, now);
}
