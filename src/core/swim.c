/*
 * Membership: SWIM with the Lifeguard refinements, sans-IO.
 *
 * References: A. Das, I. Gupta, A. Motivala, "SWIM: Scalable Weakly-consistent
 * Infection-style Process Group Membership Protocol" (DSN 2002); A. Dadgar,
 * J. Phillips, J. Currey, "Lifeguard: Local Health Awareness for More
 * Accurate Failure Detection" (2018); and the observable behaviour of
 * HashiCorp memberlist, which implements both. The code is our own.
 *
 * Each protocol period the node probes one member, walking a shuffled list
 * round-robin and reshuffling it after each pass (SWIM §4.3), so every member
 * is probed within two passes. No ack by the probe timeout: k other members
 * are asked to probe it (PING_REQ) and answer ACK or, Lifeguard's addition,
 * NACK when their own probe failed. No ack by the end of the period: the
 * member becomes suspect. A suspect member refutes by raising its
 * incarnation; otherwise it is declared dead when its suspicion timer runs
 * out. The timer starts at a maximum and shrinks toward a minimum with every
 * independent suspector (Lifeguard's "LHA-Suspicion"):
 *
 *     min = suspicion_mult * max(1, log10 n) * probe_interval
 *     max = suspicion_max_mult * min
 *     timeout(c) = max(min, max - (max - min) * ln(c + 1) / ln(K + 1))
 *     K = min(suspicion_mult - 2, n - 2), at least 0
 *
 * where c counts suspectors other than the first. The local health score
 * (Lifeguard's LHM, 0..awareness_max-1) rises on a failed probe (by the
 * number of missing NACKs when some were expected, else by one) and on
 * refuting a suspicion about ourselves, falls on every acked probe, and
 * multiplies our probe interval and timeout by (score + 1): a node that
 * is itself slow or losing packets slows its own verdicts instead of
 * accusing healthy peers.
 *
 * State changes travel as broadcasts piggybacked on every datagram,
 * membership rumors first, then the least transmitted first, each retired
 * after retransmit_mult * max(3, ceil(log10(n+1))) sends; a newer broadcast
 * about the same member (or with the same user key) replaces the older one.
 * A gossip round every gossip_interval sends the queue to gossip_fanout
 * random members (including recently dead ones, so a wrongly declared node
 * learns it and refutes); an urgent broadcast triggers a round at once.
 * Full state is exchanged by push-pull over a stream on join, periodically
 * (memberlist's interval scaled up above 32 nodes), and, our addition, with
 * a random dead member every reconnect_interval, so the two sides of a
 * healed partition find each other again without a new join.
 *
 * Departures from the papers and from memberlist, and why:
 *  - Identity is (name, boot id). A restarted process keeps its name; it
 *    learns its previous self's incarnation (push-pull on join, or a direct
 *    correction when a peer rejects its too-low claim) and refutes above it.
 *    A claim for a name held by a live member at another address is judged
 *    by one rule every node applies alike: of two live processes with one
 *    name, the one with the greater boot id keeps it. So a node probes the
 *    process that would keep the name, and only that one: the holder when it
 *    outranks the claimant (an ack refuses the claimant with CONFLICT,
 *    BT_EV_NAME_CONFLICT on its side; a failed probe hands the name over at
 *    once, without waiting for the suspicion timeout), the claimant when it
 *    outranks the holder (an ack from that very boot hands the name over and
 *    refuses the holder; silence drops the claim). The holder judges a claim
 *    on its own name the same way. Both sides of a healed partition thus
 *    converge on the same survivor (docs/membership.md has the argument).
 *  - PING_REQ carries the requester's remaining budget, and the helper NACKs
 *    when it runs out, so the NACK arrives before the requester's period
 *    ends rather than racing it.
 *  - Every node that starts suspecting a member tells it directly, and again
 *    each period while the suspicion lasts; a probe of a suspect member
 *    carries the suspicion first (Lifeguard's "buddy system"); a member
 *    that hears a rumor about itself answers its sender directly with its
 *    alive (refuted now or earlier), and a refutation triggers an immediate
 *    gossip round. With retransmit limits of a few sends, gossip alone
 *    missed a refutation in ~2% of suspicions at 10% loss; these make a
 *    false suspicion short-lived.
 *  - A datagram from a (name, boot) we do not hold triggers a push-pull with
 *    its sender (once per period at most): after a join burst or a healed
 *    partition, the first contact repairs the view instead of the next
 *    periodic push-pull. Conversely, the members a joiner learns from its
 *    seed's reply are not re-broadcast (everyone else knows them), which
 *    keeps a join O(1) in broadcasts instead of O(n).
 *  - A leave goes directly to every live member as well as by gossip, and a
 *    member that hears a rumor (or a PING_REQ) about one it knows has left
 *    answers with the LEFT: a handover must not wait for failure detection.
 *  - Dead members are kept for dead_reap (minutes, not memberlist's 30 s)
 *    so that the reconnect push-pull can heal long partitions.
 *  - "dead" from a push-pull is merged as "suspect", as memberlist does, so
 *    a stale full state cannot kill a live node outright.
 *
 * Data structures are chosen so that per-packet work is O(1) in the cluster
 * size: members in an open-addressing index by name (swim_members.c;
 * iteration always follows the members' positions, never the index, so
 * runs are deterministic), the records in chunks of 256; suspects and dead/left
 * members at the two ends of one array; the digest is an XOR
 * of per-member hashes updated on each change (all in swim_members.c); the
 * broadcast queue (bqueue.c) is an array of lists indexed by transmit count
 * plus a hash table by key, a member's clock word in it held by the
 * member's position (gossip_word). Name checks are in swim_names.c,
 * push-pull in swim_pushpull.c, Lifeguard's arithmetic in lifeguard.c, the
 * timing profiles in swim_profile.c; swim_internal.h lists what they
 * share.
 */
#include "core/swim_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

/* ---- the broadcast queue (bqueue.c) ------------------------------------- */

/* Counts what the queue removed on its own: broadcasts dropped when full,
 * and our leave leaving it, which completes the leave. */
static void q_account(struct bt_swim *s, const struct bt_bqueue_removed *rm)
{
    s->stats.bcasts_dropped += rm->dropped;
    if (rm->leave_gone)
        s->leave_done = true;
}

static size_t q_capacity(const struct bt_swim *s)
{
    size_t c = 4 * s->n_members + 256;
    return c;
}

/* Queues an encoded broadcast; a keyed one replaces the queued one with the
 * same key. Returns 0 or BATON_ENOMEM. */
static int q_push(struct bt_swim *s, enum bt_bcast_key_kind key_kind, const void *key,
                  size_t key_len, const uint8_t *bytes, size_t len, bool is_leave)
{
    struct bt_bqueue_removed rm = {0};
    int rc =
        bt_bqueue_push(&s->q, key_kind, key, key_len, bytes, len, is_leave, q_capacity(s), &rm);
    q_account(s, &rm);
    return rc;
}

/* Fills *b with a rumor of kind (ALIVE/SUSPECT/DEAD/LEFT) about m's current
 * boot and incarnation, told by from (NULL: nobody; only SUSPECT and DEAD
 * carry it). */
void swim_member_rumor(struct bt_swim_bcast *b, uint8_t kind, const struct bt_member *m,
                       const struct bt_nodeid *from)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->name = member_name(m);
    b->boot = m->boot_id;
    b->incarnation = m->incarnation;
    b->addr = member_addr(m);
    if (from)
        b->from = *from;
}

/* Queues a broadcast about member m (kind ALIVE/SUSPECT/DEAD/LEFT). */
void swim_bcast_member(struct bt_swim *s, uint8_t kind, const struct bt_member *m,
                       const struct bt_nodeid *from, bool is_leave)
{
    struct bt_swim_bcast b;
    swim_member_rumor(&b, kind, m, from);
    uint8_t buf[BT_SWIM_BCAST_MAX];
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert(!w.overflow);
    (void)q_push(s, BT_BKEY_MEMBER, member_str(m), m->name_len, buf, w.len, is_leave);
}

_Static_assert(BT_SWIM_CLOCK_BCAST_SIZE(BATON_NODE_MAX) <= BT_BQUEUE_HELD_MAX,
               "a CLOCK broadcast fits a held broadcast's bytes");

/* Writes the CLOCK broadcast of the word queued for the member at
 * position pos (a held broadcast: gossip_word), the word as the sink says
 * it now, the name and boot from the member's record. */
static size_t put_word(void *ctx, uint32_t pos, const void *payload, uint8_t *buf)
{
    const struct bt_swim *s = ctx;
    (void)payload;
    struct bt_member *m = swim_member_at(s, pos);
    struct bt_swim_clock c;
    memset(&c, 0, sizeof c);
    s->sink.word(s->sink.ctx, pos == SELF_POS ? NULL : member_extra(m), &c);
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, BT_BQUEUE_HELD_MAX);
    bt_swim_put_clock_bcast(&w, member_str(m), m->name_len, m->boot_id, &c);
    assert(!w.overflow);
    return w.len;
}

/* Fetches the record and the extra bytes of the member at pos, whose
 * word is written soon (bt_bqueue_near_held). */
static void near_word(void *ctx, uint32_t pos)
{
    const struct bt_swim *s = ctx;
    swim_prefetch_record(s, swim_member_at(s, pos));
}

/* Appends queued broadcasts to w in the queue's order (bqueue.h), as many
 * as fit; counts the sends and retires those that reached the limit.
 * Returns how many. */
static size_t pack_broadcasts(struct bt_swim *s, struct bt_wbuf *w)
{
    struct bt_bqueue_removed rm = {0};
    uint32_t mult = s->t.retransmit_mult;
    size_t n = bt_bqueue_pack(&s->q, w, bt_bqueue_retransmit_limit(mult, s->n_live, false),
                              bt_bqueue_retransmit_limit(mult, s->n_live, true), put_word,
                              near_word, s, &rm);
    q_account(s, &rm);
    return n;
}

/* ---- sending ------------------------------------------------------------ */

/* The clock block PINGs and ACKs carry (fix 9); zero when the sink has
 * none. */
struct bt_swim_clock swim_local_clock(const struct bt_swim *s)
{
    struct bt_swim_clock c = {0, 0, 0, 0};
    if (s->sink.wall)
        s->sink.wall(s->sink.ctx, &c);
    return c;
}

void swim_packet_begin(struct bt_swim *s, struct bt_wbuf *w, enum bt_swim_type type)
{
    bt_wbuf_init(w, s->pkt, s->cfg.max_packet);
    bt_swim_put_header(w, type, &s->cfg.name, s->self->boot_id);
}

void swim_packet_send(struct bt_swim *s, struct bt_wbuf *w, const struct bt_addr *to,
                      bool piggyback)
{
    if (piggyback)
        pack_broadcasts(s, w);
    /* Headers and bodies are bounded far below BT_SWIM_MIN_PACKET. */
    assert(!w->overflow);
    s->stats.packets_out++;
    s->stats.bytes_out += w->len;
    s->sink.send(s->sink.ctx, BT_OUT_PACKET, to, 0, w->p, w->len);
}

static void send_ping(struct bt_swim *s, const struct bt_member *m, uint32_t seq)
{
    struct bt_wbuf w;
    swim_packet_begin(s, &w, BT_SWIM_PING);
    struct bt_swim_clock lc = swim_local_clock(s);
    bt_swim_put_ping(&w, seq, MEMBER_NAME_P(m), &lc);
    if (m->state == BT_MEMBER_SUSPECT) {
        /* Lifeguard's buddy system: tell the suspect first. */
        struct bt_swim_bcast b;
        swim_member_rumor(&b, BT_SWIM_B_SUSPECT, m, &s->cfg.name);
        bt_swim_put_bcast(&w, &b);
    }
    swim_packet_send(s, &w, MEMBER_ADDR_P(m), true);
}

static void send_seq(struct bt_swim *s, enum bt_swim_type type, const struct bt_addr *to,
                     uint32_t seq)
{
    struct bt_wbuf w;
    swim_packet_begin(s, &w, type);
    struct bt_swim_clock lc = swim_local_clock(s);
    if (type == BT_SWIM_ACK)
        bt_swim_put_ack(&w, seq, &lc);
    else
        bt_swim_put_seq(&w, seq);
    swim_packet_send(s, &w, to, true);
}

/* One datagram carrying exactly one broadcast, for direct notices. */
static void send_notice(struct bt_swim *s, const struct bt_addr *to, const struct bt_swim_bcast *b)
{
    struct bt_wbuf w;
    swim_packet_begin(s, &w, BT_SWIM_GOSSIP);
    bt_swim_put_bcast(&w, b);
    swim_packet_send(s, &w, to, false);
}

void swim_notice_member(struct bt_swim *s, const struct bt_addr *to, uint8_t kind,
                        const struct bt_member *m)
{
    struct bt_swim_bcast b;
    swim_member_rumor(&b, kind, m, &s->cfg.name);
    send_notice(s, to, &b);
}

/* Picks up to want distinct random members other than self that are live,
 * or dead for less than gossip_to_dead when with_dead. Deterministic given
 * the random stream. */
static size_t pick_members(struct bt_swim *s, struct bt_member **out, size_t want, uint64_t now,
                           bool with_dead, const struct bt_member *exclude)
{
    size_t got = 0;
    if (want == 0)
        return 0;
#define PICK_OK(m)                                                                                 \
    ((m) != s->self && (m) != exclude &&                                                           \
     (is_live((m)->state) || (with_dead && (m)->state == BT_MEMBER_DEAD &&                         \
                              now - (m)->state_since < s->t.gossip_to_dead)))
    if (s->n_members <= 64) {
        /* Small clusters: a partial Fisher-Yates over the eligible ones. */
        struct bt_member *cand[64];
        size_t nc = 0;
        for (size_t i = 0; i < s->n_members; i++) {
            struct bt_member *m = swim_member_at(s, i);
            if (PICK_OK(m))
                cand[nc++] = m;
        }
        for (size_t i = 0; i < nc && got < want; i++) {
            size_t j = i + rnd_below(s, nc - i);
            struct bt_member *tmp = cand[i];
            cand[i] = cand[j];
            cand[j] = tmp;
            out[got++] = cand[i];
        }
        return got;
    }
    for (size_t tries = 0; tries < 4 * want + 8 && got < want; tries++) {
        struct bt_member *m = swim_member_at(s, rnd_below(s, s->n_members));
        if (!PICK_OK(m))
            continue;
        bool dup = false;
        for (size_t i = 0; i < got; i++)
            dup = dup || out[i] == m;
        if (!dup)
            out[got++] = m;
    }
#undef PICK_OK
    return got;
}

static void gossip_round(struct bt_swim *s, uint64_t now)
{
    struct bt_member *targets[32];
    size_t want = s->t.gossip_fanout < 32 ? s->t.gossip_fanout : 32;
    size_t n = pick_members(s, targets, want, now, true, NULL);
    for (size_t i = 0; i < n && s->q.count > 0; i++) {
        struct bt_wbuf w;
        swim_packet_begin(s, &w, BT_SWIM_GOSSIP);
        if (pack_broadcasts(s, &w) == 0)
            break;
        swim_packet_send(s, &w, MEMBER_ADDR_P(targets[i]), false);
    }
}

/* ---- receiving ---------------------------------------------------------- */

/* Queues a CLOCK broadcast of the word on its clock (fix 9) of the member
 * at position pos: a held broadcast numbered by the position, whose word
 * the sink gives when it is packed (put_word), so a newer word takes a
 * queued older one's place. A word passed on rides the next gossip round
 * (a gossip period away at most: urgent forwarding cost a tenth more
 * datagrams in the chaos campaigns, for no seed more);
 * bt_swim_broadcast_clock starts one at once for this node's own. Returns
 * 0 or BATON_ENOMEM. */
static int gossip_word(struct bt_swim *s, size_t pos)
{
    struct bt_bqueue_removed rm = {0};
    int rc = bt_bqueue_push_held(&s->q, (uint32_t)pos, NULL, q_capacity(s), &rm);
    q_account(s, &rm);
    return rc;
}

/* A member's word by gossip: told to the sink when we hold that member
 * alive or suspect on that boot (a word for a boot we do not know yet is
 * left to those that do; one of a member dead or gone is of no use, and
 * the sink keeps no word for a member gone: told again, it would be news
 * again, gossiped on again, for ever), and gossiped on when it was news
 * there. */
static void apply_clock(struct bt_swim *s, const struct bt_swim_bcast *b)
{
    size_t pos;
    struct bt_member *m = swim_find_pos(s, &b->name, &pos);
    if (!m || m == s->self || m->boot_id != b->boot || !is_live(m->state) || !s->sink.clock)
        return;
    /* A copy of a word the sink holds already, or an older one (most of
     * what gossip brings): the sink would change nothing and say no. */
    if (m->word_seq != 0 && b->clock.seq <= m->word_seq)
        return;
    struct bt_swim_clock c = b->clock;
    c.wall_ms = 0;
    if (s->sink.clock(s->sink.ctx, m->boot_id, pos, member_extra(m), &c)) {
        m->word_seq = c.seq;
        (void)gossip_word(s, pos); /* out of memory: it rides the member's probes still */
    }
}

static void apply_bcast(struct bt_swim *s, const struct bt_swim_bcast *b,
                        const struct bt_nodeid *sender, uint64_t now)
{
    switch (b->kind) {
    case BT_SWIM_B_ALIVE: swim_apply_alive(s, b, now); break;
    case BT_SWIM_B_SUSPECT: swim_apply_suspect(s, b, now); break;
    case BT_SWIM_B_DEAD: swim_apply_dead(s, b, now); break;
    case BT_SWIM_B_LEFT: swim_apply_left(s, b, now); break;
    case BT_SWIM_B_USER:
        s->stats.user_delivered++;
        if (s->sink.user_deliver)
            s->sink.user_deliver(s->sink.ctx, sender, b->user, b->user_len);
        break;
    case BT_SWIM_B_CLOCK: apply_clock(s, b); break;
    default: break;
    }
}

static void on_ack(struct bt_swim *s, uint32_t seq, bool nack, uint64_t sender_boot, uint64_t now)
{
    if (s->probe.active && seq == s->probe.seq) {
        if (nack) {
            s->stats.nacks_received++;
            s->probe.nacks++;
        } else if (!s->probe.acked) {
            s->probe.acked = true;
            swim_health_add(s, -1);
        }
        return;
    }
    if (nack)
        return;
    for (size_t i = 0; i < s->n_relays; i++) {
        struct bt_relay *r = &s->relays[i];
        if (r->seq == seq) {
            send_seq(s, BT_SWIM_ACK, &r->requester, r->orig_seq);
            s->relays[i] = s->relays[--s->n_relays];
            return;
        }
    }
    for (size_t i = 0; i < s->n_checks; i++) {
        struct bt_name_check *c = &s->checks[i];
        /* Only the very process probed counts: not another boot that took
         * its address since. */
        if (c->seq == seq &&
            sender_boot == (c->probe_claimant ? c->claimant_boot : c->holder_boot)) {
            swim_check_answered(s, c, now);
            return;
        }
    }
}

static void on_ping_req(struct bt_swim *s, const struct bt_swim_packet *p,
                        const struct bt_addr *from, uint64_t now)
{
    if (bt_nodeid_eq(&p->target, &s->cfg.name)) {
        send_seq(s, BT_SWIM_ACK, from, p->seq);
        return;
    }
    const struct bt_member *target = swim_find(s, &p->target);
    if (target && target->state == BT_MEMBER_LEFT) {
        /* The requester missed a leave: tell it, and NACK so that its own
         * health does not pay for our shortcut. */
        swim_notice_member(s, from, BT_SWIM_B_LEFT, target);
        send_seq(s, BT_SWIM_NACK, from, p->seq);
        s->stats.nacks_sent++;
        return;
    }
    if (s->n_relays == MAX_RELAYS) {
        s->stats.relays_dropped++;
        return;
    }
    uint32_t budget = p->budget_ms;
    if (budget == 0)
        budget = 1;
    if (budget > 60000)
        budget = 60000;
    struct bt_relay *r = &s->relays[s->n_relays++];
    r->seq = ++s->seq;
    r->orig_seq = p->seq;
    r->requester = *from;
    r->deadline = now + budget;
    s->stats.relays++;

    struct bt_wbuf w;
    swim_packet_begin(s, &w, BT_SWIM_PING);
    struct bt_swim_clock lc = swim_local_clock(s);
    bt_swim_put_ping(&w, r->seq, &p->target, &lc);
    swim_packet_send(s, &w, &p->target_addr, true);
}

/* Another live process keeps our name (at keeper): fall silent for good. */
void swim_refuse_self(struct bt_swim *s, const struct bt_addr *keeper)
{
    if (s->refused)
        return;
    s->refused = true;
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = BT_EV_NAME_CONFLICT;
    ev.member = s->cfg.name;
    ev.addr = s->cfg.addr;
    ev.boot_id = s->self->boot_id;
    ev.other_addr = *keeper;
    s->sink.event(s->sink.ctx, &ev);
}

/* A CONFLICT counts only if it names this process as the refused one and a
 * keeper that outranks it (the greater boot keeps the name, everywhere). */
static void on_conflict(struct bt_swim *s, const struct bt_swim_packet *p)
{
    if (s->refused || !bt_nodeid_eq(&p->target, &s->cfg.name) ||
        p->claimant_boot != s->self->boot_id || bt_addr_eq(&p->target_addr, &s->cfg.addr) ||
        p->holder_boot <= s->self->boot_id)
        return;
    swim_refuse_self(s, &p->target_addr);
}

void swim_flush(struct bt_swim *s, uint64_t now)
{
    if (s->depth == 0 && s->gossip_now && !s->refused) {
        s->gossip_now = false;
        gossip_round(s, now);
        s->next_gossip_at = now + s->t.gossip_interval;
    }
}

/* A member's DIGEST: push-pull with it when the layer above finds a
 * difference that held still (at most once per bt_swim_digest_gap_ms). */
static void on_digest(struct bt_swim *s, const struct bt_swim_packet *p, const struct bt_addr *from,
                      uint64_t now)
{
    if (!s->sink.user_digest_check || !s->joined || s->leaving || now < s->next_digest_pp_at)
        return;
    const struct bt_member *m = swim_find(s, &p->hdr.sender);
    if (!m || m->boot_id != p->hdr.sender_boot || !is_live(m->state))
        return;
    if (!s->sink.user_digest_check(s->sink.ctx, MEMBER_NAME_P(m), bt_swim_gossip_span_ms(s),
                                   p->digest, p->digest_len))
        return;
    s->next_digest_pp_at = now + bt_swim_digest_gap_ms(s);
    s->stats.digest_pulls++;
    swim_send_pp(s, from, 0, BT_SWIM_PP_REQ, false);
}

void swim_count_bad_input(struct bt_swim *s, int rc)
{
    if (rc == BATON_EVERSION)
        s->stats.bad_version++;
    else
        s->stats.malformed++;
}

/* How many members (and user broadcasts) of a datagram prefetch_lookups()
 * looks up ahead. */
#define PREFETCH_MEMBERS 64

/* Asks the processor for the records of p's sender and of the members its
 * broadcasts are about, before they are looked up one after another, and
 * hands the user broadcasts to the sink's hint (user_prefetch). A
 * node's member table is cold when its datagram comes (a simulator runs a
 * thousand nodes in turn), and a full datagram of gossip carries dozens of
 * rumors and clock words, each a lookup: fetched ahead, their cache misses
 * overlap instead of following one another (a quarter of a 1000-node
 * run's time was these lookups): the index slots first, then the
 * records they name. A hint only: nothing
 * changes. Always inlined (htab.h says why). */
BT_HTAB_HINT void prefetch_lookups(const struct bt_swim *s, const struct bt_swim_packet *p)
{
    uint32_t h[PREFETCH_MEMBERS];
    size_t n = 0;
    const uint8_t *user[PREFETCH_MEMBERS];
    size_t user_len[PREFETCH_MEMBERS];
    size_t nuser = 0;
    h[n] = (uint32_t)bt_hash_bytes(p->hdr.sender.bytes, p->hdr.sender.len);
    swim_index_prefetch(s, h[n++]);
    const uint8_t *at = p->bcasts;
    size_t left = p->bcasts_len;
    while (n < PREFETCH_MEMBERS && nuser < PREFETCH_MEMBERS) {
        const uint8_t *name;
        size_t name_len;
        size_t step = bt_swim_peek_bcast(at, left, &name, &name_len);
        if (step == 0)
            break;
        if (name_len > 0) {
            h[n] = (uint32_t)bt_hash_bytes(name, name_len);
            swim_index_prefetch(s, h[n++]);
        } else if (at[0] == BT_SWIM_B_USER && step > BT_SWIM_BCAST_HEAD) {
            user[nuser] = at + BT_SWIM_BCAST_HEAD;
            user_len[nuser++] = step - BT_SWIM_BCAST_HEAD;
        }
        at += step;
        left -= step;
    }
    if (nuser > 0 && s->sink.user_prefetch)
        s->sink.user_prefetch(s->sink.ctx, user, user_len, nuser);
    for (size_t i = 0; i < n; i++)
        swim_index_prefetch_member(s, h[i]);
}

void bt_swim_recv_packet(struct bt_swim *s, const struct bt_addr *from, const uint8_t *data,
                         size_t len, uint64_t now)
{
    if (s->refused)
        return;
    s->stats.packets_in++;
    s->stats.bytes_in += len;
    struct bt_swim_packet p;
    int rc = bt_swim_decode_packet(data, len, &p);
    if (rc < 0) {
        swim_count_bad_input(s, rc);
        return;
    }
    s->depth++;
    prefetch_lookups(s, &p);
    size_t sender_pos; /* positions hold until a member is reaped (bt_swim_tick) */
    struct bt_member *sender = swim_find_pos(s, &p.hdr.sender, &sender_pos);
    if (!sender || sender->boot_id != p.hdr.sender_boot) {
        /* A process we do not know talks to us: an unknown name, or a boot
         * other than the one we hold for its name. Our view is missing what
         * its view has (a burst of joins outran the gossip, or a restart's
         * refutation retired before a healed partition could hear it), so
         * exchange full state with it, at most once per protocol period. */
        if (!sender)
            s->stats.unknown_sender++;
        if (s->joined && !s->leaving && now >= s->next_unknown_pp_at) {
            s->next_unknown_pp_at = now + (uint64_t)s->t.probe_interval;
            swim_start_pp(s, from, PP_OTHER, NULL);
        }
    }

    /* A clock reading of a member we know on this boot (fix 9). */
    if ((p.hdr.type == BT_SWIM_PING || p.hdr.type == BT_SWIM_ACK) && p.clock.wall_ms != 0 &&
        sender && sender != s->self && sender->boot_id == p.hdr.sender_boot && s->sink.clock &&
        s->sink.clock(s->sink.ctx, sender->boot_id, sender_pos, member_extra(sender), &p.clock) &&
        is_live(sender->state)) {
        sender->word_seq = p.clock.seq;
        (void)gossip_word(s, sender_pos); /* a newer word: gossiped on as well */
    }

    switch (p.hdr.type) {
    case BT_SWIM_PING:
        if (bt_nodeid_eq(&p.target, &s->cfg.name))
            send_seq(s, BT_SWIM_ACK, from, p.seq);
        else
            s->stats.misdirected++;
        break;
    case BT_SWIM_ACK: on_ack(s, p.seq, false, p.hdr.sender_boot, now); break;
    case BT_SWIM_NACK: on_ack(s, p.seq, true, p.hdr.sender_boot, now); break;
    case BT_SWIM_PING_REQ: on_ping_req(s, &p, from, now); break;
    case BT_SWIM_CONFLICT: on_conflict(s, &p); break;
    case BT_SWIM_DIGEST: on_digest(s, &p, from, now); break;
    default: break;
    }

    struct bt_rbuf r;
    struct bt_swim_bcast b;
    bt_rbuf_init(&r, p.bcasts, p.bcasts_len);
    s->rumor_src = from;
    while (!s->refused && bt_swim_next_bcast(&r, &b) == 1)
        apply_bcast(s, &b, &p.hdr.sender, now);
    s->rumor_src = NULL;
    s->depth--;
    swim_flush(s, now);
}

/* ---- the clock ---------------------------------------------------------- */

static struct bt_member *next_probe_target(struct bt_swim *s)
{
    for (size_t tries = 0; tries <= s->n_probe; tries++) {
        if (s->probe_cursor >= s->n_probe) {
            /* End of a pass: reshuffle (Fisher-Yates). */
            for (size_t i = s->n_probe; i > 1; i--) {
                size_t j = rnd_below(s, i);
                uint32_t tmp = s->probe_order[i - 1];
                s->probe_order[i - 1] = s->probe_order[j];
                s->probe_order[j] = tmp;
                swim_member_at(s, s->probe_order[i - 1])->probe_slot = (uint32_t)(i - 1);
                swim_member_at(s, s->probe_order[j])->probe_slot = (uint32_t)j;
            }
            s->probe_cursor = 0;
            if (s->n_probe == 0)
                return NULL;
        }
        struct bt_member *m = swim_member_at(s, s->probe_order[s->probe_cursor++]);
        if (is_live(m->state))
            return m;
    }
    return NULL;
}

static void probe_finish(struct bt_swim *s, uint64_t now)
{
    struct bt_probe *p = &s->probe;
    if (!p->active)
        return;
    p->active = false;
    if (p->acked)
        return;
    s->stats.probes_failed++;
    if (p->expected_nacks > 0)
        swim_health_add(s, (int)(p->expected_nacks -
                                 (p->nacks < p->expected_nacks ? p->nacks : p->expected_nacks)));
    else
        swim_health_add(s, 1);
    struct bt_member *m = swim_find(s, &p->target);
    if (m && m->boot_id == p->target_boot && is_live(m->state))
        swim_suspect_locally(s, m, now);
}

/* The layer above's state summary, to the member just probed: one
 * datagram per protocol period, so a node that gossip missed is found
 * within a few periods of the state holding still (docs/membership.md,
 * "Anti-entropy"). Not piggybacked: broadcasts keep their own rounds. */
static void send_digest(struct bt_swim *s, const struct bt_member *m)
{
    if (!s->sink.user_digest || !s->sink.user_digest_check || !s->joined || s->leaving)
        return;
    uint8_t buf[BT_SWIM_DIGEST_MAX];
    size_t len = s->sink.user_digest(s->sink.ctx, bt_swim_gossip_span_ms(s), buf, sizeof buf);
    if (len == 0 || len > sizeof buf)
        return;
    struct bt_wbuf w;
    swim_packet_begin(s, &w, BT_SWIM_DIGEST);
    bt_swim_put_digest(&w, buf, len);
    s->stats.digests_out++;
    swim_packet_send(s, &w, MEMBER_ADDR_P(m), false);
}

static void probe_start(struct bt_swim *s, uint64_t now)
{
    uint64_t period = (uint64_t)s->t.probe_interval * scale(s);
    s->next_probe_at = now + period;
    struct bt_member *m = next_probe_target(s);
    if (!m)
        return;
    struct bt_probe *p = &s->probe;
    memset(p, 0, sizeof *p);
    p->active = true;
    p->target = member_name(m);
    p->target_boot = m->boot_id;
    p->seq = ++s->seq;
    p->timeout_at = now + (uint64_t)s->t.probe_timeout * scale(s);
    p->end_at = now + period;
    s->stats.probes++;
    send_ping(s, m, p->seq);
    send_digest(s, m);
}

static void probe_indirect(struct bt_swim *s, uint64_t now)
{
    struct bt_probe *p = &s->probe;
    p->indirect_sent = true;
    struct bt_member *target = swim_find(s, &p->target);
    if (!target || target->boot_id != p->target_boot)
        return;
    struct bt_member *helpers[16];
    size_t want = s->t.indirect_checks < 16 ? s->t.indirect_checks : 16;
    size_t n = pick_members(s, helpers, want, now, false, target);
    uint64_t left = p->end_at > now ? p->end_at - now : 1;
    uint32_t budget = (uint32_t)(left * 4 / 5);
    if (budget == 0)
        budget = 1;
    for (size_t i = 0; i < n; i++) {
        struct bt_wbuf w;
        swim_packet_begin(s, &w, BT_SWIM_PING_REQ);
        bt_swim_put_ping_req(&w, p->seq, budget, MEMBER_NAME_P(target), MEMBER_ADDR_P(target));
        swim_packet_send(s, &w, MEMBER_ADDR_P(helpers[i]), true);
        s->stats.indirect_probes++;
    }
    p->expected_nacks = (uint32_t)n;
    /* Our addition: ping the target directly once more. It costs one
     * datagram and rescues a probe whose first ping or ack was lost, which
     * matters on lossy links where every helper path is longer. */
    send_ping(s, target, p->seq);
}

uint64_t swim_pushpull_period(const struct bt_swim *s)
{
    uint64_t base = s->t.pushpull_interval;
    size_t n = s->n_live;
    if (n <= 32)
        return base;
    /* memberlist: interval * (ceil(log2(n) - log2(32)) + 1) */
    uint32_t mult = 1;
    for (size_t v = 32; v < n; v *= 2)
        mult++;
    return base * mult;
}

uint64_t swim_jittered(struct bt_swim *s, uint64_t period)
{
    /* Uniform in [period/2, 3*period/2): mean period, no lockstep. */
    return period / 2 + (period > 0 ? rnd_below(s, (size_t)period) : 0);
}

struct bt_member *swim_pick_peer(struct bt_swim *s, uint64_t now, const struct bt_member *exclude)
{
    struct bt_member *peer;
    return pick_members(s, &peer, 1, now, false, exclude) == 1 ? peer : NULL;
}

void swim_join_attempt(struct bt_swim *s, uint64_t now)
{
    s->join_attempts++;
    s->last_join_at = now;
    s->attempt_open = 0;
    for (size_t i = 0; i < s->n_seeds; i++)
        s->attempt_open += swim_start_pp(s, &s->seeds[i], PP_JOIN, NULL);
    s->next_join_at = now + s->join_backoff;
    s->join_backoff =
        s->join_backoff * 2 > s->t.join_retry_max ? s->t.join_retry_max : s->join_backoff * 2;
}

static void reconnect(struct bt_swim *s, uint64_t now)
{
    /* Try one random dead member (not left: it does not come back). */
    if (s->n_gone > 0) {
        for (int tries = 0; tries < 4; tries++) {
            struct bt_member *m = gone_member(s, rnd_below(s, s->n_gone));
            if (m->state == BT_MEMBER_DEAD) {
                swim_start_pp(s, MEMBER_ADDR_P(m), PP_OTHER, NULL);
                return;
            }
        }
    }
    /* Alone after having joined: the seeds are the only way back. */
    if (s->n_live == 1 && s->n_seeds > 0) {
        swim_start_pp(s, &s->seeds[rnd_below(s, s->n_seeds)], PP_OTHER, NULL);
        return;
    }
    /* A seed that never answered: we may have joined without it, through
     * a process that knew no more than we did. Two processes restarted
     * while their seeds were cut off, each the other's seed, made an
     * island that outlived the heal: the rest of the cluster held them
     * left or never knew them, and they knew nobody else (finding F3,
     * docs/simulator.md). One such seed is asked, at random, until each
     * has answered once; in a cluster that joined whole, none is left. */
    size_t unanswered = 0;
    for (size_t i = 0; i < s->n_seeds; i++)
        unanswered += !s->seed_answered[i];
    if (unanswered == 0)
        return;
    size_t k = rnd_below(s, unanswered);
    for (size_t i = 0; i < s->n_seeds; i++)
        if (!s->seed_answered[i] && k-- == 0) {
            swim_start_pp(s, &s->seeds[i], PP_OTHER, NULL);
            return;
        }
}

static void reap(struct bt_swim *s, uint64_t now)
{
    size_t i = 0;
    while (i < s->n_gone) {
        struct bt_member *m = gone_member(s, i);
        if (m == s->self) {
            i++;
            continue;
        }
        uint64_t keep = m->state == BT_MEMBER_LEFT ? s->t.left_reap : s->t.dead_reap;
        if (now - m->state_since >= keep) {
            s->stats.reaped++;
            swim_member_remove(s, m); /* moves the last gone[] entry into slot i */
        } else {
            i++;
        }
    }
}

void bt_swim_tick(struct bt_swim *s, uint64_t now)
{
    if (s->refused)
        return;
    s->depth++;
    /* 1. Join retries. */
    if (s->join_called && !s->joined && !s->leaving && now >= s->next_join_at)
        swim_join_attempt(s, now);

    /* 2. The probe: indirect at the timeout, verdict and next probe at the
     *    end of the period. */
    if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent && now >= s->probe.timeout_at)
        probe_indirect(s, now);
    if (now >= s->next_probe_at) {
        probe_finish(s, now);
        if (!s->leaving)
            probe_start(s, now);
        else
            s->next_probe_at = now + s->t.probe_interval;
    }

    /* 3. Relays whose budget ran out: NACK. */
    size_t i = 0;
    while (i < s->n_relays) {
        if (now >= s->relays[i].deadline) {
            send_seq(s, BT_SWIM_NACK, &s->relays[i].requester, s->relays[i].orig_seq);
            s->stats.nacks_sent++;
            s->relays[i] = s->relays[--s->n_relays];
        } else {
            i++;
        }
    }

    /* 4. Name checks: re-ping the holder, or hand the name over. */
    i = 0;
    while (i < s->n_checks) {
        struct bt_name_check *c = &s->checks[i];
        if (now >= c->deadline) {
            swim_check_expired(s, c, now);
            continue;
        }
        if (now >= c->next_ping) {
            c->next_ping = now + check_window(s) / 3;
            swim_check_ping(s, c);
        }
        i++;
    }

    /* 5. Suspicions that ran out: dead. */
    i = 0;
    while (i < s->n_suspects) {
        struct bt_member *m = suspect_member(s, i);
        struct bt_suspicion *sp = s->susps[i];
        if (now >= sp->deadline) {
            swim_set_state(s, m, BT_MEMBER_DEAD, now); /* leaves suspects[] */
            s->stats.deaths_declared++;
            swim_emit(s, BT_EV_MEMBER_DEAD, m);
            swim_bcast_member(s, BT_SWIM_B_DEAD, m, &s->cfg.name, false);
        } else {
            if (now >= sp->next_tell) {
                sp->next_tell = now + s->t.probe_interval;
                swim_notice_member(s, MEMBER_ADDR_P(m), BT_SWIM_B_SUSPECT, m);
            }
            i++;
        }
    }

    /* 6. Gossip. */
    if (now >= s->next_gossip_at) {
        if (s->q.count > 0)
            gossip_round(s, now);
        s->next_gossip_at = now + s->t.gossip_interval;
    }

    /* 7. Anti-entropy and reconnection. */
    if (s->joined && !s->leaving && now >= s->next_pushpull_at) {
        struct bt_member *peer;
        if (pick_members(s, &peer, 1, now, false, NULL) == 1)
            swim_start_pp(s, MEMBER_ADDR_P(peer), PP_PERIODIC, MEMBER_NAME_P(peer));
        s->next_pushpull_at = now + swim_jittered(s, swim_pushpull_period(s));
    }
    if (s->joined && !s->leaving && s->resync && now >= s->next_resync_at) {
        s->resync = false;
        const struct bt_member *m = swim_find(s, &s->resync_with);
        if (m && is_live(m->state)) {
            swim_start_pp(s, MEMBER_ADDR_P(m), PP_RESYNC, MEMBER_NAME_P(m));
            s->stats.resyncs++;
            s->next_resync_at = now + s->t.reconnect_interval;
        }
    }
    if (s->joined && !s->leaving && now >= s->next_reconnect_at) {
        reconnect(s, now);
        s->next_reconnect_at = now + swim_jittered(s, s->t.reconnect_interval);
    }

    /* 8. Forget the long dead. */
    if (now >= s->next_reap_at) {
        reap(s, now);
        s->next_reap_at = now + REAP_CHECK_MS;
    }

    /* 9. The leave completes at the latest at its deadline. */
    if (s->leaving && now >= s->leave_deadline)
        s->leave_done = true;
    s->depth--;
    swim_flush(s, now);
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t bt_swim_next_deadline(const struct bt_swim *s)
{
    if (s->refused)
        return UINT64_MAX;
    uint64_t d = s->next_probe_at;
    if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent)
        d = min_u64(d, s->probe.timeout_at);
    if (s->join_called && !s->joined && !s->leaving)
        d = min_u64(d, s->next_join_at);
    for (size_t i = 0; i < s->n_relays; i++)
        d = min_u64(d, s->relays[i].deadline);
    for (size_t i = 0; i < s->n_checks; i++)
        d = min_u64(d, min_u64(s->checks[i].deadline, s->checks[i].next_ping));
    for (size_t i = 0; i < s->n_suspects; i++)
        d = min_u64(d, min_u64(s->susps[i]->deadline, s->susps[i]->next_tell));
    if (s->q.count > 0)
        d = min_u64(d, s->next_gossip_at);
    if (s->joined && !s->leaving) {
        d = min_u64(d, s->next_pushpull_at);
        d = min_u64(d, s->next_reconnect_at);
        if (s->resync)
            d = min_u64(d, s->next_resync_at);
    }
    if (s->n_gone > 0)
        d = min_u64(d, s->next_reap_at);
    if (s->leaving && !s->leave_done)
        d = min_u64(d, s->leave_deadline);
    return d;
}

/* ---- lifecycle and API -------------------------------------------------- */

struct bt_swim *bt_swim_new(const struct bt_swim_config *cfg, const struct bt_swim_sink *sink,
                            uint64_t now)
{
    if (!cfg || !sink || !sink->send || !sink->event || !cfg->random || cfg->boot_id == 0 ||
        !bt_nodeid_valid_bytes(cfg->name.bytes, cfg->name.len) ||
        !bt_swim_addr_valid(cfg->addr.s, cfg->addr.len) || cfg->max_packet < BT_SWIM_MIN_PACKET ||
        cfg->max_packet > BT_SWIM_PACKET_MAX || !bt_swim_timing_valid(&cfg->timing) ||
        cfg->member_extra > BT_SWIM_EXTRA_MAX || (sink->clock && !sink->word))
        return NULL;
    struct bt_swim *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->rec_size = sizeof(struct bt_member) + ((cfg->member_extra + 7) & ~(size_t)7);
    s->t = cfg->timing;
    s->sink = *sink;
    bt_bqueue_init(&s->q);
    bt_bqueue_init_held(&s->q, 0);
    s->pkt = malloc(cfg->max_packet);
    if (bt_bqueue_reserve(&s->q) != 0 || !s->pkt)
        goto fail;
    struct bt_nodeid name;
    struct bt_addr addr;
    bt_nodeid_set(&name, cfg->name.bytes, cfg->name.len);
    bt_swim_addr_set(&addr, cfg->addr.s, cfg->addr.len);
    /* Kept in cfg as normalized copies: the code uses them for self. */
    s->cfg.name = name;
    s->cfg.addr = addr;
    s->self = swim_member_add(s, &name, &addr, cfg->boot_id, 0, now, true);
    if (!s->self)
        goto fail;
    s->next_probe_at = now + rnd_below(s, s->t.probe_interval);
    s->next_gossip_at = now + s->t.gossip_interval;
    s->next_pushpull_at = now + swim_jittered(s, swim_pushpull_period(s));
    s->next_reconnect_at = now + swim_jittered(s, s->t.reconnect_interval);
    s->next_reap_at = now + REAP_CHECK_MS;
    return s;
fail:
    bt_swim_free(s);
    return NULL;
}

void bt_swim_free(struct bt_swim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_suspects; i++)
        free(s->susps[i]);
    free(s->susps);
    for (size_t i = 0; i < s->n_members; i++)
        swim_member_strs_free(swim_member_at(s, i));
    bt_bqueue_free(&s->q);
    for (size_t c = 0; c < s->n_chunks; c++)
        free(s->chunks[c]);
    free(s->chunks);
    swim_index_free(s);
    free(s->probe_order);
    free(s->watch);
    free(s->pkt);
    free(s);
}

int bt_swim_join(struct bt_swim *s, const struct bt_addr *seeds, size_t n, uint64_t now)
{
    if (s->join_called || s->refused || (n > 0 && !seeds))
        return BATON_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!bt_swim_addr_valid(seeds[i].s, seeds[i].len))
            return BATON_EINVAL;
    s->join_called = true;
    s->n_seeds = 0;
    for (size_t i = 0; i < n && s->n_seeds < MAX_SEEDS; i++) {
        if (bt_addr_eq(&seeds[i], &s->cfg.addr))
            continue;
        bool dup = false;
        for (size_t j = 0; j < s->n_seeds; j++)
            dup = dup || bt_addr_eq(&s->seeds[j], &seeds[i]);
        if (!dup)
            bt_swim_addr_set(&s->seeds[s->n_seeds++], seeds[i].s, seeds[i].len);
    }
    s->depth++;
    if (s->n_seeds == 0) {
        s->joined = true;
    } else {
        swim_bcast_member(s, BT_SWIM_B_ALIVE, s->self, NULL, false);
        s->join_backoff = s->t.join_retry_min;
        swim_join_attempt(s, now);
    }
    s->depth--;
    swim_flush(s, now);
    return 0;
}

int bt_swim_leave(struct bt_swim *s, uint64_t now)
{
    if (s->leaving || s->refused)
        return BATON_ECLOSED;
    s->depth++;
    s->leaving = true;
    s->leave_deadline = now + s->t.leave_timeout;
    swim_set_state(s, s->self, BT_MEMBER_LEFT, now);
    if (s->n_live == 0) {
        s->leave_done = true;
    } else {
        /* Tell every live member directly (one datagram each, once), then
         * gossip it as well: a leave must not be learned by failure
         * detection (simulator finding F2: with gossip alone, 1-2% of
         * leaves missed a member in a 7-node cluster). */
        for (size_t i = 0; i < s->n_members; i++) {
            const struct bt_member *m = swim_member_at(s, i);
            if (m != s->self && is_live(m->state))
                swim_notice_member(s, MEMBER_ADDR_P(m), BT_SWIM_B_LEFT, s->self);
        }
        swim_bcast_member(s, BT_SWIM_B_LEFT, s->self, NULL, true);
        s->gossip_now = true;
    }
    s->depth--;
    swim_flush(s, now);
    return 0;
}

bool bt_swim_left(const struct bt_swim *s) { return s->leaving && s->leave_done; }

bool bt_swim_refused(const struct bt_swim *s) { return s->refused; }

void bt_swim_stop(struct bt_swim *s) { s->refused = true; }

int bt_swim_broadcast_user(struct bt_swim *s, const void *key, size_t keylen, const void *data,
                           size_t len, bool urgent, uint64_t now)
{
    if (s->refused)
        return BATON_ECLOSED;
    if (!data || len == 0 || keylen > BT_SWIM_USER_KEY_MAX || (keylen > 0 && !key))
        return BATON_EINVAL;
    if (len > BT_SWIM_USER_MAX)
        return BATON_E2BIG;
    struct bt_swim_bcast b;
    memset(&b, 0, sizeof b);
    b.kind = BT_SWIM_B_USER;
    b.user = data;
    b.user_len = len;
    uint8_t buf[BT_SWIM_BCAST_MAX];
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert(!w.overflow);
    int rc = q_push(s, keylen ? BT_BKEY_USER : BT_BKEY_NONE, key, keylen, buf, w.len, false);
    if (rc != 0)
        return rc;
    if (urgent) {
        s->gossip_now = true;
        swim_flush(s, now);
    }
    return 0;
}

int bt_swim_broadcast_clock(struct bt_swim *s, uint64_t now)
{
    if (s->refused)
        return BATON_ECLOSED;
    int rc = gossip_word(s, SELF_POS);
    if (rc != 0)
        return rc;
    s->gossip_now = true;
    swim_flush(s, now);
    return 0;
}

void bt_swim_gossip_now(struct bt_swim *s, uint64_t now)
{
    if (s->refused || s->q.count == 0)
        return;
    s->gossip_now = true;
    swim_flush(s, now);
}

size_t bt_swim_members(const struct bt_swim *s, struct bt_member_info *out, size_t cap)
{
    for (size_t i = 0; i < s->n_members && i < cap; i++)
        swim_info_of(swim_member_at(s, i), &out[i]);
    return s->n_members;
}

bool bt_swim_member(const struct bt_swim *s, const struct bt_nodeid *name,
                    struct bt_member_info *out)
{
    const struct bt_member *m = swim_find(s, name);
    if (!m)
        return false;
    if (out)
        swim_info_of(m, out);
    return true;
}

size_t bt_swim_live_count(const struct bt_swim *s) { return s->n_live; }

size_t bt_swim_positions(const struct bt_swim *s) { return s->n_members; }

uint64_t bt_swim_reaped(const struct bt_swim *s) { return s->stats.reaped; }

enum bt_member_state bt_swim_state_at(const struct bt_swim *s, size_t pos, uint64_t *boot_id)
{
    const struct bt_member *m = swim_member_at(s, pos);
    *boot_id = m->boot_id;
    return (enum bt_member_state)m->state;
}

struct bt_nodeid bt_swim_name_at(const struct bt_swim *s, size_t pos)
{
    return member_name(swim_member_at(s, pos));
}

void *bt_swim_extra_at(struct bt_swim *s, size_t pos)
{
    return member_extra(swim_member_at(s, pos));
}

void *bt_swim_extra_of(struct bt_swim *s, const struct bt_nodeid *name, size_t *pos)
{
    struct bt_member *m = swim_find_pos(s, name, pos);
    return m ? member_extra(m) : NULL;
}

uint64_t bt_swim_digest(const struct bt_swim *s) { return s->digest; }

uint64_t bt_swim_gossip_span_ms(const struct bt_swim *s)
{
    uint64_t limit = bt_bqueue_retransmit_limit(s->t.retransmit_mult, s->n_live, false);
    return 2 * limit * s->t.gossip_interval;
}

uint64_t bt_swim_digest_gap_ms(const struct bt_swim *s) { return swim_pushpull_period(s) / 4; }

bool bt_swim_joined(const struct bt_swim *s) { return s->joined; }

void bt_swim_stats(const struct bt_swim *s, struct bt_member_stats *out)
{
    *out = s->stats;
    out->health = s->health;
    out->queue_len = (uint32_t)s->q.count;
}
