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
 * State changes travel as broadcasts piggybacked on every datagram, least
 * transmitted first, each retired after retransmit_mult * max(3, ceil(log10(n+1)))
 * sends; a newer broadcast about the same member (or with the same user key)
 * replaces the older one. A gossip round every gossip_interval sends the
 * queue to gossip_fanout random members (including recently dead ones, so a
 * wrongly declared node learns it and refutes); an urgent broadcast triggers
 * a round at once. Full state is exchanged by push-pull over a stream on
 * join, periodically (memberlist's interval scaled up above 32 nodes), and,
 * our addition, with a random dead member every reconnect_interval, so the
 * two sides of a healed partition find each other again without a new join.
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
 * size: members in a chained hash table by name (htab.c; iteration always
 * follows the members[] array, never the table, so runs are deterministic);
 * suspects and dead/left members in their own arrays; the digest is an XOR
 * of per-member hashes updated on each change; the broadcast queue is an
 * array of lists indexed by transmit count plus a hash table by key.
 */
#include "core/swim.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/htab.h"
#include "core/swim_proto.h"
#include "core/wire.h"

#define NO_SLOT UINT32_MAX
#define MAX_SUSPECTORS 16  /* bound on K + 1 */
#define MAX_RELAYS 64      /* PING_REQs served at once */
#define MAX_CHECKS 16      /* name checks at once */
#define MAX_SEEDS 64
#define QUEUE_BUCKETS 64   /* transmit counts tracked exactly; more share the last */
#define MAX_PICK 256       /* broadcasts per datagram */
#define REAP_CHECK_MS 1000

/* Lifeguard suspicion state of one suspect member. */
struct bt_suspicion {
    uint64_t start;      /* when the suspicion started */
    uint64_t min_ms;     /* its minimum duration */
    uint64_t max_ms;     /* its maximum duration */
    uint64_t deadline;   /* when it expires with the confirmations so far */
    uint64_t next_tell;  /* when to tell the suspect again */
    uint32_t k;          /* confirmations expected */
    uint32_t n;          /* suspectors recorded (first one included) */
    uint64_t suspectors[MAX_SUSPECTORS]; /* hashes of their names */
};

struct bt_member {
    struct bt_nodeid name;
    struct bt_addr addr;
    uint64_t boot_id;
    uint32_t incarnation;
    enum bt_member_state state;
    uint64_t state_since;     /* when state last changed */
    uint64_t name_hash;       /* bt_hash_bytes(name) */
    uint64_t digest_term;     /* this member's share of the digest */
    uint32_t slot;            /* index in members[] */
    uint32_t probe_slot;      /* index in probe_order[], NO_SLOT for self */
    uint32_t watch_slot;      /* index in suspects[] or gone[], NO_SLOT otherwise */
    struct bt_hlink link;     /* in bt_swim.table, hashed by name_hash */
    struct bt_suspicion *susp; /* owned; non-NULL exactly while state == SUSPECT */
};

/* A queued broadcast; its encoded bytes, then its key, follow the struct. */
struct bt_bcast {
    struct bt_bcast *prev, *next; /* in its transmit bucket */
    struct bt_hlink link;         /* in bt_bqueue.table if keyed, hashed by key_hash() */
    uint32_t transmits;           /* times sent */
    uint16_t len;                 /* encoded length */
    uint16_t key_len;             /* key length (0: no key) */
    uint8_t key_kind;             /* 0 none, 1 member name, 2 user key */
    bool is_leave;                /* our own LEFT: its retirement completes the leave */
    uint8_t bytes[];              /* len encoded bytes, then key_len key bytes */
};

struct bt_bqueue {
    struct bt_bcast *head[QUEUE_BUCKETS]; /* newest first in each bucket */
    struct bt_bcast *tail[QUEUE_BUCKETS];
    struct bt_htab table;                 /* the keyed broadcasts, by key */
    size_t count;
};

/* A PING_REQ we are serving. */
struct bt_relay {
    uint32_t seq;           /* our PING to the target */
    uint32_t orig_seq;      /* the requester's seq */
    struct bt_addr requester;
    uint64_t deadline;      /* NACK then */
};

/* A rival claim for a name under check. */
struct bt_name_check {
    struct bt_nodeid name;
    uint64_t holder_boot;
    struct bt_addr holder_addr;
    uint64_t claimant_boot;
    struct bt_addr claimant_addr;
    uint32_t claimant_inc;
    /* Who is probed: the process that keeps the name if it is alive, the
     * one with the greater boot (see the essay). */
    bool probe_claimant;
    uint32_t seq;           /* our PING to the probed process */
    uint64_t next_ping;
    uint64_t deadline;      /* the claim wins (holder probed) or is dropped (claimant probed) */
};

struct bt_probe {
    bool active;
    bool acked;
    bool indirect_sent;
    struct bt_nodeid target;
    uint64_t target_boot;
    uint32_t seq;
    uint64_t timeout_at;
    uint64_t end_at;
    uint32_t expected_nacks;
    uint32_t nacks;
};

struct bt_swim {
    struct bt_swim_config cfg;
    struct bt_swim_timing t;
    struct bt_swim_sink sink;
    struct bt_member *self;

    struct bt_member **members; /* every known member, self included */
    size_t n_members, cap_members;
    struct bt_htab table;       /* members by name */
    struct bt_member **probe_order; /* members but self */
    size_t n_probe, cap_probe, probe_cursor;
    struct bt_member **suspects;
    size_t n_suspects, cap_suspects;
    struct bt_member **gone;    /* dead or left */
    size_t n_gone, cap_gone;
    size_t n_live;              /* alive + suspect, self included */
    uint64_t digest;

    struct bt_probe probe;
    uint64_t next_probe_at;
    uint32_t seq;
    struct bt_relay relays[MAX_RELAYS];
    size_t n_relays;
    struct bt_name_check checks[MAX_CHECKS];
    size_t n_checks;
    uint32_t health;

    uint64_t next_gossip_at, next_pushpull_at, next_reconnect_at, next_reap_at;
    uint64_t next_unknown_pp_at; /* rate limit of push-pulls with unknown senders */
    uint64_t next_digest_pp_at;  /* rate limit of push-pulls on a digest difference */
    /* A member we held dead came back: exchange state with it (at most once
     * per reconnect_interval), since we heard nothing from it meanwhile. */
    bool resync;
    struct bt_nodeid resync_with;
    uint64_t next_resync_at;

    struct bt_addr seeds[MAX_SEEDS];
    size_t n_seeds;
    bool join_called, joined;
    uint64_t next_join_at;
    uint32_t join_backoff;

    bool leaving, leave_done, refused;
    uint64_t leave_deadline;

    bool gossip_now;   /* an urgent broadcast awaits the end of the call */
    /* Source of the datagram whose broadcasts are being applied (NULL
     * otherwise): a rumor about ourselves is answered there directly. */
    const struct bt_addr *rumor_src;
    /* Set while merging the reply to our join: new members are not
     * re-broadcast (see apply_alive). */
    bool quiet_adds;
    int depth;         /* nesting of public calls (user_deliver re-entry) */

    struct bt_bqueue q;
    uint8_t *pkt;      /* max_packet bytes */
    uint8_t *stream;   /* push-pull message buffer: BT_STREAM_MSG_MAX bytes, or NULL */
    struct bt_member_stats stats;
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t rnd(struct bt_swim *s) { return s->cfg.random(s->cfg.random_ctx); }

/* Uniform-ish in [0, n); n > 0. The modulo bias is below 2^-40 for any n we
 * use. */
static size_t rnd_below(struct bt_swim *s, size_t n) { return (size_t)(rnd(s) % n); }

/* Natural logarithm for x >= 1 without libm: halve into [1, 2), then
 * ln(x) = 2 atanh((x-1)/(x+1)) by its series, which converges fast there. */
static double ln_pos(double x)
{
    double e = 0;
    while (x >= 2.0) {
        x /= 2.0;
        e += 1.0;
    }
    double t = (x - 1.0) / (x + 1.0), t2 = t * t, term = t, sum = 0;
    for (int k = 1; k < 41; k += 2) {
        sum += term / k;
        term *= t2;
    }
    return 2.0 * sum + e * 0.69314718055994530942;
}

static double log10_pos(double x) { return ln_pos(x) / 2.30258509299404568402; }

static uint32_t scale(const struct bt_swim *s) { return s->health + 1; }

static bool is_live(enum bt_member_state st) { return st == BT_MEMBER_ALIVE || st == BT_MEMBER_SUSPECT; }

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

/* ceil(log10(x)) for x >= 1, exactly. */
static uint32_t ceil_log10(uint64_t x)
{
    uint32_t c = 0;
    for (uint64_t p = 1; p < x && c < 19; p *= 10)
        c++;
    return c;
}

/* memberlist's limit, mult * ceil(log10(n + 1)), with a floor of three
 * "decades": in a cluster of ten or fewer it gives 4 sends, and with every
 * node forwarding news to 3 random peers per round a given node was missed by
 * all of them about once in a thousand broadcasts (the simulator found it,
 * finding E1). Three rounds' worth more makes that about 1e-7, for a few
 * datagrams more in small clusters and none in large ones. */
static uint32_t retransmit_limit(const struct bt_swim *s, const struct bt_bcast *e)
{
    uint32_t decades = ceil_log10((uint64_t)s->n_live + 1);
    /* Our own LEFT also went straight to every live member (bt_swim_leave),
     * so it needs no floor; without one, leaving completes sooner. */
    if (decades < 3 && !e->is_leave)
        decades = 3;
    return s->t.retransmit_mult * (decades ? decades : 1);
}

static void info_of(const struct bt_member *m, struct bt_member_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = m->name;
    out->addr = m->addr;
    out->boot_id = m->boot_id;
    out->incarnation = m->incarnation;
    out->state = m->state;
}

static void emit(struct bt_swim *s, enum bt_event_kind kind, const struct bt_member *m)
{
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.member = m->name;
    ev.addr = m->addr;
    ev.boot_id = m->boot_id;
    s->sink.event(s->sink.ctx, &ev);
}

/* ---- the member table --------------------------------------------------- */

/* A member's share of the digest. Dead and departed members count as
 * absent: a record that only waits to be reaped, and that a fresh process
 * never learned, must not keep two views apart (for the election, dead,
 * left and unknown all mean "not live"). */
static uint64_t digest_term(const struct bt_member *m)
{
    if (!is_live(m->state))
        return 0;
    return mix64(m->name_hash ^ mix64(m->boot_id + 0x9e3779b97f4a7c15u * ((uint64_t)m->state + 1)));
}

static bool member_is(const struct bt_hlink *x, const void *name)
{
    return bt_nodeid_eq(&BT_HTAB_ENTRY(x, const struct bt_member, link)->name, name);
}

static struct bt_member *find(const struct bt_swim *s, const struct bt_nodeid *name)
{
    uint64_t h = bt_hash_bytes(name->bytes, name->len);
    struct bt_hlink *x = bt_htab_find(&s->table, h, member_is, name);
    return x ? BT_HTAB_ENTRY(x, struct bt_member, link) : NULL;
}

/* Moves m into the suspects[] or gone[] array that matches its state. */
static void watch_remove(struct bt_swim *s, struct bt_member *m)
{
    if (m->watch_slot == NO_SLOT)
        return;
    struct bt_member ***arr;
    size_t *n;
    if (m->state == BT_MEMBER_SUSPECT) {
        arr = &s->suspects;
        n = &s->n_suspects;
    } else {
        arr = &s->gone;
        n = &s->n_gone;
    }
    uint32_t i = m->watch_slot;
    struct bt_member *last = (*arr)[*n - 1];
    (*arr)[i] = last;
    last->watch_slot = i;
    (*n)--;
    m->watch_slot = NO_SLOT;
}

static bool watch_add(struct bt_swim *s, struct bt_member *m)
{
    if (m->state == BT_MEMBER_ALIVE)
        return true;
    if (m->state == BT_MEMBER_SUSPECT) {
        if (!grow((void **)&s->suspects, &s->cap_suspects, s->n_suspects + 1, sizeof *s->suspects))
            return false;
        m->watch_slot = (uint32_t)s->n_suspects;
        s->suspects[s->n_suspects++] = m;
    } else {
        if (!grow((void **)&s->gone, &s->cap_gone, s->n_gone + 1, sizeof *s->gone))
            return false;
        m->watch_slot = (uint32_t)s->n_gone;
        s->gone[s->n_gone++] = m;
    }
    return true;
}

/* Every state change goes through here: counts, arrays, digest. The arrays
 * have room reserved at member creation, so this cannot fail. */
static void set_state(struct bt_swim *s, struct bt_member *m, enum bt_member_state st, uint64_t now)
{
    if (m->state == st)
        return;
    watch_remove(s, m);
    if (m->state == BT_MEMBER_SUSPECT) {
        free(m->susp);
        m->susp = NULL;
    }
    if (is_live(m->state))
        s->n_live--;
    s->digest ^= m->digest_term;
    m->state = st;
    m->state_since = now;
    m->digest_term = digest_term(m);
    s->digest ^= m->digest_term;
    if (is_live(st))
        s->n_live++;
    (void)watch_add(s, m);
}

static void set_boot(struct bt_swim *s, struct bt_member *m, uint64_t boot)
{
    s->digest ^= m->digest_term;
    m->boot_id = boot;
    m->digest_term = digest_term(m);
    s->digest ^= m->digest_term;
}

static struct bt_member *member_add(struct bt_swim *s, const struct bt_nodeid *name,
                                    const struct bt_addr *addr, uint64_t boot, uint32_t inc,
                                    uint64_t now, bool is_self)
{
    size_t need = s->n_members + 1;
    /* Reserve room in every array the member may enter, so that later state
     * changes never allocate. */
    if (!grow((void **)&s->members, &s->cap_members, need, sizeof *s->members) ||
        !grow((void **)&s->probe_order, &s->cap_probe, need, sizeof *s->probe_order) ||
        !grow((void **)&s->suspects, &s->cap_suspects, need, sizeof *s->suspects) ||
        !grow((void **)&s->gone, &s->cap_gone, need, sizeof *s->gone))
        return NULL;
    struct bt_member *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->name = *name;
    m->addr = *addr;
    m->boot_id = boot;
    m->incarnation = inc;
    m->state = BT_MEMBER_ALIVE;
    m->state_since = now;
    m->name_hash = bt_hash_bytes(name->bytes, name->len);
    m->digest_term = digest_term(m);
    m->watch_slot = NO_SLOT;
    m->probe_slot = NO_SLOT;
    s->digest ^= m->digest_term;
    s->n_live++;

    bt_htab_link(&s->table, &m->link, m->name_hash);
    m->slot = (uint32_t)s->n_members;
    s->members[s->n_members++] = m;

    if (!is_self) {
        /* Insert at a random place in the probe order (memberlist does the
         * same), so a newcomer is not always probed last. */
        size_t n = s->n_probe;
        size_t j = rnd_below(s, n + 1);
        if (j != n) {
            s->probe_order[n] = s->probe_order[j];
            s->probe_order[n]->probe_slot = (uint32_t)n;
        }
        s->probe_order[j] = m;
        m->probe_slot = (uint32_t)j;
        s->n_probe++;
    }
    return m;
}

static void member_remove(struct bt_swim *s, struct bt_member *m)
{
    watch_remove(s, m);
    free(m->susp);
    if (is_live(m->state))
        s->n_live--;
    s->digest ^= m->digest_term;

    bt_htab_unlink(&s->table, &m->link);

    struct bt_member *last = s->members[s->n_members - 1];
    s->members[m->slot] = last;
    last->slot = m->slot;
    s->n_members--;

    if (m->probe_slot != NO_SLOT) {
        struct bt_member *plast = s->probe_order[s->n_probe - 1];
        s->probe_order[m->probe_slot] = plast;
        plast->probe_slot = m->probe_slot;
        s->n_probe--;
        if (s->probe_cursor > s->n_probe)
            s->probe_cursor = s->n_probe;
    }
    free(m);
}

/* ---- the broadcast queue ------------------------------------------------ */

static uint64_t key_hash(uint8_t kind, const void *key, size_t len)
{
    return mix64(bt_hash_bytes(key, len) ^ kind);
}

static void q_unlink_bucket(struct bt_bqueue *q, struct bt_bcast *e)
{
    uint32_t b = e->transmits < QUEUE_BUCKETS ? e->transmits : QUEUE_BUCKETS - 1;
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head[b] = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail[b] = e->prev;
    e->prev = e->next = NULL;
}

static void q_link_bucket(struct bt_bqueue *q, struct bt_bcast *e)
{
    uint32_t b = e->transmits < QUEUE_BUCKETS ? e->transmits : QUEUE_BUCKETS - 1;
    e->prev = NULL;
    e->next = q->head[b];
    if (q->head[b])
        q->head[b]->prev = e;
    else
        q->tail[b] = e;
    q->head[b] = e;
}

static void q_remove(struct bt_swim *s, struct bt_bcast *e)
{
    struct bt_bqueue *q = &s->q;
    q_unlink_bucket(q, e);
    if (e->key_kind != 0)
        bt_htab_unlink(&q->table, &e->link);
    if (e->is_leave)
        s->leave_done = true;
    q->count--;
    free(e);
}

/* A broadcast key being looked up. */
struct bcast_key {
    uint8_t kind;      /* 1 member name, 2 user key */
    const void *bytes; /* the key (borrowed) */
    size_t len;        /* its length */
};

static bool bcast_is(const struct bt_hlink *x, const void *key)
{
    const struct bt_bcast *e = BT_HTAB_ENTRY(x, const struct bt_bcast, link);
    const struct bcast_key *k = key;
    return e->key_kind == k->kind && e->key_len == k->len &&
           memcmp(e->bytes + e->len, k->bytes, k->len) == 0;
}

static struct bt_bcast *q_find(struct bt_bqueue *q, uint64_t h, const struct bcast_key *key)
{
    struct bt_hlink *x = bt_htab_find(&q->table, h, bcast_is, key);
    return x ? BT_HTAB_ENTRY(x, struct bt_bcast, link) : NULL;
}

static size_t q_capacity(const struct bt_swim *s)
{
    size_t c = 4 * s->n_members + 256;
    return c;
}

/* Queues an encoded broadcast; a keyed one replaces the queued one with the
 * same key. Returns 0 or BATON_ENOMEM. */
static int q_push(struct bt_swim *s, uint8_t key_kind, const void *key, size_t key_len,
                  const uint8_t *bytes, size_t len, bool is_leave)
{
    struct bt_bqueue *q = &s->q;
    uint64_t h = 0;
    if (key_kind != 0) {
        struct bcast_key k = {.kind = key_kind, .bytes = key, .len = key_len};
        h = key_hash(key_kind, key, key_len);
        struct bt_bcast *old = q_find(q, h, &k);
        if (old)
            q_remove(s, old);
    }
    while (q->count >= q_capacity(s)) {
        /* Full: drop the oldest of the most-sent broadcasts. */
        int b = QUEUE_BUCKETS - 1;
        while (b >= 0 && !q->tail[b])
            b--;
        if (b < 0)
            break;
        q_remove(s, q->tail[b]);
        s->stats.bcasts_dropped++;
    }
    struct bt_bcast *e = calloc(1, sizeof *e + len + key_len);
    if (!e)
        return BATON_ENOMEM;
    e->len = (uint16_t)len;
    e->key_len = (uint16_t)key_len;
    e->key_kind = key_kind;
    e->is_leave = is_leave;
    memcpy(e->bytes, bytes, len);
    if (key_len)
        memcpy(e->bytes + len, key, key_len);
    q_link_bucket(q, e);
    if (key_kind != 0)
        bt_htab_link(&q->table, &e->link, h);
    q->count++;
    return 0;
}

/* Fills *b with a rumor of kind (ALIVE/SUSPECT/DEAD/LEFT) about m's current
 * boot and incarnation, told by from (NULL: nobody; only SUSPECT and DEAD
 * carry it). */
static void member_rumor(struct bt_swim_bcast *b, uint8_t kind, const struct bt_member *m,
                         const struct bt_nodeid *from)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->name = m->name;
    b->boot = m->boot_id;
    b->incarnation = m->incarnation;
    b->addr = m->addr;
    if (from)
        b->from = *from;
}

/* Queues a broadcast about member m (kind ALIVE/SUSPECT/DEAD/LEFT). */
static void bcast_member(struct bt_swim *s, uint8_t kind, const struct bt_member *m,
                         const struct bt_nodeid *from, bool is_leave)
{
    struct bt_swim_bcast b;
    member_rumor(&b, kind, m, from);
    uint8_t buf[BT_SWIM_BCAST_MAX];
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_bcast(&w, &b);
    assert(!w.overflow);
    (void)q_push(s, 1, m->name.bytes, m->name.len, buf, w.len, is_leave);
}

/* Appends queued broadcasts to w, least sent first, as many as fit; counts
 * the sends and retires those that reached the limit. Returns how many. */
static size_t pack_broadcasts(struct bt_swim *s, struct bt_wbuf *w)
{
    struct bt_bqueue *q = &s->q;
    struct bt_bcast *picked[MAX_PICK];
    size_t n = 0, skipped = 0;
    for (int b = 0; b < QUEUE_BUCKETS && n < MAX_PICK; b++) {
        for (struct bt_bcast *e = q->head[b]; e && n < MAX_PICK; e = e->next) {
            size_t room = w->cap - w->len;
            if (room < 16)
                goto full;
            if (e->len > room) {
                if (++skipped > 32)
                    goto full;
                continue;
            }
            bt_put_bytes(w, e->bytes, e->len);
            picked[n++] = e;
        }
    }
full:;
    for (size_t i = 0; i < n; i++) {
        struct bt_bcast *e = picked[i];
        q_unlink_bucket(q, e);
        e->transmits++;
        if (e->transmits >= retransmit_limit(s, e)) {
            /* Relink first so q_remove unlinks it from a valid list. */
            q_link_bucket(q, e);
            q_remove(s, e);
        } else {
            q_link_bucket(q, e);
        }
    }
    return n;
}

/* ---- sending ------------------------------------------------------------ */

static void packet_begin(struct bt_swim *s, struct bt_wbuf *w, enum bt_swim_type type)
{
    bt_wbuf_init(w, s->pkt, s->cfg.max_packet);
    bt_swim_put_header(w, type, &s->self->name, s->self->boot_id);
}

static void packet_send(struct bt_swim *s, struct bt_wbuf *w, const struct bt_addr *to,
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
    packet_begin(s, &w, BT_SWIM_PING);
    bt_swim_put_ping(&w, seq, &m->name);
    if (m->state == BT_MEMBER_SUSPECT) {
        /* Lifeguard's buddy system: tell the suspect first. */
        struct bt_swim_bcast b;
        member_rumor(&b, BT_SWIM_B_SUSPECT, m, &s->self->name);
        bt_swim_put_bcast(&w, &b);
    }
    packet_send(s, &w, &m->addr, true);
}

static void send_seq(struct bt_swim *s, enum bt_swim_type type, const struct bt_addr *to,
                     uint32_t seq)
{
    struct bt_wbuf w;
    packet_begin(s, &w, type);
    bt_swim_put_seq(&w, seq);
    packet_send(s, &w, to, true);
}

/* One datagram carrying exactly one broadcast, for direct notices. */
static void send_notice(struct bt_swim *s, const struct bt_addr *to, const struct bt_swim_bcast *b)
{
    struct bt_wbuf w;
    packet_begin(s, &w, BT_SWIM_GOSSIP);
    bt_swim_put_bcast(&w, b);
    packet_send(s, &w, to, false);
}

static void notice_member(struct bt_swim *s, const struct bt_addr *to, uint8_t kind,
                          const struct bt_member *m)
{
    struct bt_swim_bcast b;
    member_rumor(&b, kind, m, &s->self->name);
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
#define PICK_OK(m)                                                                             \
    ((m) != s->self && (m) != exclude &&                                                       \
     (is_live((m)->state) ||                                                                   \
      (with_dead && (m)->state == BT_MEMBER_DEAD && now - (m)->state_since < s->t.gossip_to_dead)))
    if (s->n_members <= 64) {
        /* Small clusters: a partial Fisher-Yates over the eligible ones. */
        struct bt_member *cand[64];
        size_t nc = 0;
        for (size_t i = 0; i < s->n_members; i++)
            if (PICK_OK(s->members[i]))
                cand[nc++] = s->members[i];
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
        struct bt_member *m = s->members[rnd_below(s, s->n_members)];
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
        packet_begin(s, &w, BT_SWIM_GOSSIP);
        if (pack_broadcasts(s, &w) == 0)
            break;
        packet_send(s, &w, &targets[i]->addr, false);
    }
}

/* One push-pull message being assembled in s->stream (at most
 * BT_STREAM_MSG_MAX bytes): head, members, then room for one user chunk. */
struct pp_out {
    struct bt_wbuf w;
    size_t count_at;  /* offset of the u32 member count */
    uint32_t count;   /* members written */
};

static void pp_begin(struct bt_swim *s, struct pp_out *m, enum bt_swim_type type, bool join)
{
    bt_wbuf_init(&m->w, s->stream, BT_STREAM_MSG_MAX);
    bt_swim_put_pp_head(&m->w, type, &s->self->name, s->self->boot_id, join ? BT_SWIM_PP_JOIN : 0, 0);
    m->count_at = m->w.len - 4;
    m->count = 0;
}

/* Completes m with the ulen user bytes already written 4 bytes past its
 * end, and sends it. */
static void pp_send(struct bt_swim *s, struct pp_out *m, size_t ulen, const struct bt_addr *to,
                    uint64_t conn)
{
    uint8_t *c = s->stream + m->count_at;
    c[0] = (uint8_t)(m->count >> 24);
    c[1] = (uint8_t)(m->count >> 16);
    c[2] = (uint8_t)(m->count >> 8);
    c[3] = (uint8_t)m->count;
    bt_put_u32(&m->w, (uint32_t)ulen);
    m->w.len += ulen;
    assert(!m->w.overflow && m->w.len <= BT_STREAM_MSG_MAX);
    s->stats.streams_out++;
    s->stats.bytes_out += m->w.len;
    s->sink.send(s->sink.ctx, BT_OUT_STREAM, to, conn, s->stream, m->w.len);
}

/* Sends our full state for a push-pull: one message of `type` (PP_REQ or
 * PP_REPLY), then as many continuations (PP_REQ_MORE or PP_REPLY_MORE) as
 * it takes, each at most BT_STREAM_MSG_MAX bytes: the member list first,
 * then the user layer's state, one chunk per message (docs/membership.md).
 * Every message is merged on its own at the other end. */
static void send_pp(struct bt_swim *s, const struct bt_addr *to, uint64_t conn,
                    enum bt_swim_type type, bool join)
{
    if (!s->stream && !(s->stream = malloc(BT_STREAM_MSG_MAX)))
        return;
    enum bt_swim_type more = type == BT_SWIM_PP_REQ ? BT_SWIM_PP_REQ_MORE : BT_SWIM_PP_REPLY_MORE;
    struct pp_out m;
    bool first = true; /* m is the opening message: it goes even if empty */
    if (type == BT_SWIM_PP_REQ)
        s->stats.pushpulls++;
    pp_begin(s, &m, type, join);
    for (size_t i = 0; i < s->n_members; i++) {
        struct bt_member_info info;
        info_of(s->members[i], &info);
        size_t size = 1 + (size_t)info.name.len + 1 + (size_t)info.addr.len + 8 + 4 + 1;
        if (m.w.len + size + 4 > BT_STREAM_MSG_MAX) {
            pp_send(s, &m, 0, to, conn);
            first = false;
            pp_begin(s, &m, more, join);
        }
        bt_swim_put_pp_member(&m.w, &info);
        m.count++;
    }
    for (size_t i = 0; s->sink.user_state; i++) {
        size_t room = BT_STREAM_MSG_MAX - m.w.len - 4;
        size_t ulen = s->sink.user_state(s->sink.ctx, join, i, s->stream + m.w.len + 4, room);
        if (ulen > room && ulen <= BT_SWIM_USER_CHUNK_MAX && (m.count > 0 || first)) {
            /* No room left next to the members: the chunk opens a message. */
            pp_send(s, &m, 0, to, conn);
            first = false;
            pp_begin(s, &m, more, join);
            room = BT_STREAM_MSG_MAX - m.w.len - 4;
            ulen = s->sink.user_state(s->sink.ctx, join, i, s->stream + m.w.len + 4, room);
        }
        if (ulen == 0 || ulen > room)
            break; /* the end (a chunk too large breaks the sink's contract; it counts it) */
        pp_send(s, &m, ulen, to, conn);
        first = false;
        pp_begin(s, &m, more, join);
    }
    if (first || m.count > 0)
        pp_send(s, &m, 0, to, conn);
    /* The buffer goes back: kept, it held up to 1 MiB per node between
     * push-pulls (a 1000-node simulation kept a gigabyte of them). */
    free(s->stream);
    s->stream = NULL;
}

/* ---- suspicion ---------------------------------------------------------- */

static uint64_t suspicion_timeout(const struct bt_suspicion *sp)
{
    uint32_t c = sp->n > 0 ? sp->n - 1 : 0;
    if (sp->k == 0 || c >= sp->k)
        return sp->min_ms;
    double frac = ln_pos((double)c + 1) / ln_pos((double)sp->k + 1);
    double span = (double)(sp->max_ms - sp->min_ms);
    double t = (double)sp->max_ms - frac * span;
    if (t < (double)sp->min_ms)
        t = (double)sp->min_ms;
    return (uint64_t)t;
}

static void suspicion_init(struct bt_swim *s, struct bt_suspicion *sp, uint64_t from_hash,
                           uint64_t now)
{
    memset(sp, 0, sizeof *sp);
    double n = (double)s->n_live;
    double node_scale = n > 10 ? log10_pos(n) : 1.0;
    sp->min_ms = (uint64_t)((double)s->t.suspicion_mult * node_scale * s->t.probe_interval);
    sp->max_ms = sp->min_ms * s->t.suspicion_max_mult;
    int64_t k = (int64_t)s->t.suspicion_mult - 2;
    if ((int64_t)s->n_live - 2 < k)
        k = (int64_t)s->n_live - 2;
    if (k < 0)
        k = 0;
    if (k > MAX_SUSPECTORS - 1)
        k = MAX_SUSPECTORS - 1;
    sp->k = (uint32_t)k;
    sp->start = now;
    sp->suspectors[0] = from_hash;
    sp->n = 1;
    sp->deadline = now + suspicion_timeout(sp);
}

/* Records an independent suspector; returns true if it was new. */
static bool suspicion_confirm(struct bt_member *m, uint64_t from_hash)
{
    struct bt_suspicion *sp = m->susp;
    for (uint32_t i = 0; i < sp->n; i++)
        if (sp->suspectors[i] == from_hash)
            return false;
    if (sp->n >= sp->k + 1 || sp->n >= MAX_SUSPECTORS)
        return false;
    sp->suspectors[sp->n++] = from_hash;
    sp->deadline = sp->start + suspicion_timeout(sp);
    return true;
}

/* ---- applying state ----------------------------------------------------- */

static void health_add(struct bt_swim *s, int delta)
{
    int64_t h = (int64_t)s->health + delta;
    if (h < 0)
        h = 0;
    if (h > (int64_t)s->t.awareness_max - 1)
        h = (int64_t)s->t.awareness_max - 1;
    s->health = (uint32_t)h;
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
        health_add(s, 1);
    bcast_member(s, BT_SWIM_B_ALIVE, s->self, NULL, false);
    s->gossip_now = true;
}

static void check_start(struct bt_swim *s, struct bt_member *holder, const struct bt_swim_bcast *claim,
                        uint64_t now);
static void send_conflict(struct bt_swim *s, const struct bt_addr *to, const struct bt_nodeid *name,
                          uint64_t claimant_boot, uint64_t holder_boot,
                          const struct bt_addr *holder_addr);

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
        bool same_addr = b->kind == BT_SWIM_B_ALIVE && bt_addr_eq(&b->addr, &me->addr);
        if ((same_addr || b->kind == BT_SWIM_B_DEAD || b->kind == BT_SWIM_B_LEFT) &&
            b->incarnation >= me->incarnation) {
            refute(s, b->incarnation, false);
            refuted = true;
        } else if (b->kind == BT_SWIM_B_ALIVE && !same_addr) {
            /* A live rival elsewhere: the greater boot keeps the name. We
             * outrank it: refuse it directly (third parties do as well). It
             * outranks us: make sure it is alive, then yield (check_answered). */
            if (b->boot < me->boot_id)
                send_conflict(s, &b->addr, &me->name, b->boot, me->boot_id, &me->addr);
            else
                check_start(s, me, b, now);
        }
    }
    /* The one who told us holds the stale view for sure: answer it
     * directly, besides the gossip (simulator finding F1: a restart's
     * refutation could miss the very seed that prompted it). */
    if (refuted && s->rumor_src)
        notice_member(s, s->rumor_src, BT_SWIM_B_ALIVE, me);
}

/* A rumor that m is alive, suspect or dead reached us while we know it left:
 * the sender missed the leave (it was partitioned, or the leaver did not
 * know it yet) and would otherwise find out only by failure detection and a
 * push-pull. Tell it. Left is final, so this cannot ping-pong. */
static bool correct_left(struct bt_swim *s, const struct bt_member *m, const struct bt_swim_bcast *b)
{
    if (m->state != BT_MEMBER_LEFT || m->boot_id != b->boot || b->incarnation > m->incarnation)
        return false;
    s->stats.stale++;
    if (s->rumor_src)
        notice_member(s, s->rumor_src, BT_SWIM_B_LEFT, m);
    return true;
}

static void apply_alive(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->self->name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = find(s, &b->name);
    if (!m) {
        m = member_add(s, &b->name, &b->addr, b->boot, b->incarnation, now, false);
        if (!m)
            return;
        emit(s, BT_EV_MEMBER_UP, m);
        /* Members a joiner learns from its seed's reply are old news to
         * everyone else: re-broadcasting them all would make every join
         * cost O(n) broadcasts, the whole of a 1000-node join storm. */
        if (!s->quiet_adds)
            bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
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
        m->incarnation = b->incarnation;
        m->addr = b->addr;
        set_state(s, m, BT_MEMBER_ALIVE, now);
        if (was == BT_MEMBER_SUSPECT)
            emit(s, BT_EV_MEMBER_ALIVE, m);
        else if (was != BT_MEMBER_ALIVE)
            emit(s, BT_EV_MEMBER_UP, m);
        if (was == BT_MEMBER_DEAD && !s->resync) {
            s->resync = true;
            s->resync_with = m->name;
        }
        bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
        return;
    }
    /* A different boot under a known name. */
    bool same_addr = bt_addr_eq(&b->addr, &m->addr);
    if (is_live(was) && !same_addr) {
        check_start(s, m, b, now);
        return;
    }
    if (b->incarnation <= m->incarnation) {
        /* Too low to win: tell the claimant what we hold, so it can refute
         * above it instead of waiting for a push-pull. */
        s->stats.stale++;
        uint8_t kind = was == BT_MEMBER_DEAD ? BT_SWIM_B_DEAD
                       : was == BT_MEMBER_LEFT ? BT_SWIM_B_LEFT
                                               : BT_SWIM_B_ALIVE;
        notice_member(s, &b->addr, kind, m);
        return;
    }
    /* A restart: same address, or the name's holder is gone. */
    set_boot(s, m, b->boot);
    m->incarnation = b->incarnation;
    m->addr = b->addr;
    set_state(s, m, BT_MEMBER_ALIVE, now);
    emit(s, BT_EV_MEMBER_UP, m);
    bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
}

static void apply_suspect(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->self->name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = find(s, &b->name);
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
        if (!sp)
            return;
        m->incarnation = b->incarnation;
        set_state(s, m, BT_MEMBER_SUSPECT, now);
        m->susp = sp;
        suspicion_init(s, sp, from_hash, now);
        emit(s, BT_EV_MEMBER_SUSPECT, m);
        bcast_member(s, BT_SWIM_B_SUSPECT, m, &b->from, false);
        /* Tell the suspect at once, and again every period while the
         * suspicion lasts (tick step 5): it refutes, or answers with the
         * refutation we missed. */
        notice_member(s, &m->addr, BT_SWIM_B_SUSPECT, m);
        m->susp->next_tell = now + s->t.probe_interval;
    } else if (m->state == BT_MEMBER_SUSPECT) {
        if (b->incarnation > m->incarnation)
            m->incarnation = b->incarnation;
        /* Re-broadcast new confirmations so every node counts them. */
        if (suspicion_confirm(m, from_hash))
            bcast_member(s, BT_SWIM_B_SUSPECT, m, &b->from, false);
    } else {
        s->stats.stale++;
    }
}

static void apply_dead(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->self->name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = find(s, &b->name);
    if (m && correct_left(s, m, b))
        return;
    if (!m || m->boot_id != b->boot || b->incarnation < m->incarnation || !is_live(m->state)) {
        s->stats.stale++;
        return;
    }
    m->incarnation = b->incarnation;
    set_state(s, m, BT_MEMBER_DEAD, now);
    emit(s, BT_EV_MEMBER_DEAD, m);
    bcast_member(s, BT_SWIM_B_DEAD, m, &b->from, false);
}

static void apply_left(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now)
{
    if (bt_nodeid_eq(&b->name, &s->self->name)) {
        apply_self(s, b, now);
        return;
    }
    struct bt_member *m = find(s, &b->name);
    if (!m || m->boot_id != b->boot || b->incarnation < m->incarnation ||
        m->state == BT_MEMBER_LEFT) {
        s->stats.stale++;
        return;
    }
    m->incarnation = b->incarnation;
    set_state(s, m, BT_MEMBER_LEFT, now);
    emit(s, BT_EV_MEMBER_LEFT, m);
    bcast_member(s, BT_SWIM_B_LEFT, m, NULL, false);
    /* A leave is a handover (docs/design.md fix 7): pass it on at once. */
    s->gossip_now = true;
}

/* Our probe (or a push-pull's) concluded that m looks dead: suspect it, or
 * confirm an existing suspicion. */
static void suspect_locally(struct bt_swim *s, struct bt_member *m, uint64_t now)
{
    struct bt_swim_bcast b;
    member_rumor(&b, BT_SWIM_B_SUSPECT, m, &s->self->name);
    bool was_alive = m->state == BT_MEMBER_ALIVE;
    apply_suspect(s, &b, now);
    if (was_alive && m->state == BT_MEMBER_SUSPECT)
        s->stats.suspicions++;
}

/* ---- name checks -------------------------------------------------------- */

static struct bt_name_check *check_find(struct bt_swim *s, const struct bt_nodeid *name)
{
    for (size_t i = 0; i < s->n_checks; i++)
        if (bt_nodeid_eq(&s->checks[i].name, name))
            return &s->checks[i];
    return NULL;
}

static uint32_t check_window(const struct bt_swim *s) { return 2 * s->t.probe_timeout; }

static void check_ping(struct bt_swim *s, struct bt_name_check *c)
{
    struct bt_wbuf w;
    packet_begin(s, &w, BT_SWIM_PING);
    bt_swim_put_ping(&w, c->seq, &c->name);
    packet_send(s, &w, c->probe_claimant ? &c->claimant_addr : &c->holder_addr, true);
}

static void check_start(struct bt_swim *s, struct bt_member *holder, const struct bt_swim_bcast *claim,
                        uint64_t now)
{
    struct bt_name_check *c = check_find(s, &holder->name);
    if (c) {
        /* One check per name at a time; a fresher claim by the same boot
         * updates what would win. */
        if (c->claimant_boot == claim->boot && claim->incarnation > c->claimant_inc)
            c->claimant_inc = claim->incarnation;
        return;
    }
    if (s->n_checks == MAX_CHECKS) {
        s->stats.name_checks_dropped++;
        return;
    }
    c = &s->checks[s->n_checks++];
    memset(c, 0, sizeof *c);
    c->name = holder->name;
    c->holder_boot = holder->boot_id;
    c->holder_addr = holder->addr;
    c->claimant_boot = claim->boot;
    c->claimant_addr = claim->addr;
    c->claimant_inc = claim->incarnation;
    c->probe_claimant = claim->boot > holder->boot_id;
    c->seq = ++s->seq;
    c->deadline = now + check_window(s);
    c->next_ping = now + check_window(s) / 3;
    s->stats.name_checks++;
    check_ping(s, c);
}

static void check_remove(struct bt_swim *s, struct bt_name_check *c)
{
    size_t i = (size_t)(c - s->checks);
    s->checks[i] = s->checks[--s->n_checks];
}

static void send_conflict(struct bt_swim *s, const struct bt_addr *to, const struct bt_nodeid *name,
                          uint64_t claimant_boot, uint64_t holder_boot,
                          const struct bt_addr *holder_addr)
{
    struct bt_wbuf w;
    packet_begin(s, &w, BT_SWIM_CONFLICT);
    bt_swim_put_conflict(&w, name, claimant_boot, holder_boot, holder_addr);
    packet_send(s, &w, to, false);
    s->stats.name_conflicts++;
}

/* The claimant of c takes the name over from the holder we still hold. */
static void take_over(struct bt_swim *s, const struct bt_name_check *c, uint64_t now)
{
    struct bt_member *m = find(s, &c->name);
    if (m && m != s->self && m->boot_id == c->holder_boot && is_live(m->state)) {
        set_boot(s, m, c->claimant_boot);
        m->addr = c->claimant_addr;
        if (c->claimant_inc > m->incarnation)
            m->incarnation = c->claimant_inc;
        set_state(s, m, BT_MEMBER_ALIVE, now);
        s->stats.name_takeovers++;
        emit(s, BT_EV_MEMBER_UP, m);
        bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
    }
}

static void refuse_self(struct bt_swim *s, const struct bt_addr *keeper);

/* The probed process answered: it keeps the name. The holder: refuse the
 * claimant. The claimant (it outranks the holder): it takes the name over
 * and the holder is refused; if the holder is this node, it yields. */
static void check_answered(struct bt_swim *s, struct bt_name_check *c, uint64_t now)
{
    if (!c->probe_claimant) {
        send_conflict(s, &c->claimant_addr, &c->name, c->claimant_boot, c->holder_boot,
                      &c->holder_addr);
    } else if (bt_nodeid_eq(&c->name, &s->self->name)) {
        struct bt_addr keeper = c->claimant_addr;
        check_remove(s, c);
        refuse_self(s, &keeper);
        return;
    } else {
        take_over(s, c, now);
        send_conflict(s, &c->holder_addr, &c->name, c->holder_boot, c->claimant_boot,
                      &c->claimant_addr);
    }
    check_remove(s, c);
}

/* The probed process did not answer in time. The holder: the claim takes
 * the name over. The claimant: the claim is dropped (stale, or cut off). */
static void check_expired(struct bt_swim *s, struct bt_name_check *c, uint64_t now)
{
    if (!c->probe_claimant)
        take_over(s, c, now);
    check_remove(s, c);
}

/* ---- receiving ---------------------------------------------------------- */

static void apply_bcast(struct bt_swim *s, const struct bt_swim_bcast *b,
                        const struct bt_nodeid *sender, uint64_t now)
{
    switch (b->kind) {
    case BT_SWIM_B_ALIVE:
        apply_alive(s, b, now);
        break;
    case BT_SWIM_B_SUSPECT:
        apply_suspect(s, b, now);
        break;
    case BT_SWIM_B_DEAD:
        apply_dead(s, b, now);
        break;
    case BT_SWIM_B_LEFT:
        apply_left(s, b, now);
        break;
    case BT_SWIM_B_USER:
        s->stats.user_delivered++;
        if (s->sink.user_deliver)
            s->sink.user_deliver(s->sink.ctx, sender, b->user, b->user_len);
        break;
    default:
        break;
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
            health_add(s, -1);
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
        if (c->seq == seq && sender_boot == (c->probe_claimant ? c->claimant_boot : c->holder_boot)) {
            check_answered(s, c, now);
            return;
        }
    }
}

static void on_ping_req(struct bt_swim *s, const struct bt_swim_packet *p,
                        const struct bt_addr *from, uint64_t now)
{
    if (bt_nodeid_eq(&p->target, &s->self->name)) {
        send_seq(s, BT_SWIM_ACK, from, p->seq);
        return;
    }
    const struct bt_member *target = find(s, &p->target);
    if (target && target->state == BT_MEMBER_LEFT) {
        /* The requester missed a leave: tell it, and NACK so that its own
         * health does not pay for our shortcut. */
        notice_member(s, from, BT_SWIM_B_LEFT, target);
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
    packet_begin(s, &w, BT_SWIM_PING);
    bt_swim_put_ping(&w, r->seq, &p->target);
    packet_send(s, &w, &p->target_addr, true);
}

/* Another live process keeps our name (at keeper): fall silent for good. */
static void refuse_self(struct bt_swim *s, const struct bt_addr *keeper)
{
    if (s->refused)
        return;
    s->refused = true;
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = BT_EV_NAME_CONFLICT;
    ev.member = s->self->name;
    ev.addr = s->self->addr;
    ev.boot_id = s->self->boot_id;
    ev.other_addr = *keeper;
    s->sink.event(s->sink.ctx, &ev);
}

/* A CONFLICT counts only if it names this process as the refused one and a
 * keeper that outranks it (the greater boot keeps the name, everywhere). */
static void on_conflict(struct bt_swim *s, const struct bt_swim_packet *p)
{
    if (s->refused || !bt_nodeid_eq(&p->target, &s->self->name) ||
        p->claimant_boot != s->self->boot_id || bt_addr_eq(&p->target_addr, &s->self->addr) ||
        p->holder_boot <= s->self->boot_id)
        return;
    refuse_self(s, &p->target_addr);
}

/* A member's DIGEST: push-pull with it when the layer above finds a
 * difference that held still (at most once per bt_swim_digest_gap_ms). */
static void on_digest(struct bt_swim *s, const struct bt_swim_packet *p, const struct bt_addr *from,
                      uint64_t now)
{
    if (!s->sink.user_digest_check || !s->joined || s->leaving || now < s->next_digest_pp_at)
        return;
    const struct bt_member *m = find(s, &p->hdr.sender);
    if (!m || m->boot_id != p->hdr.sender_boot || !is_live(m->state))
        return;
    if (!s->sink.user_digest_check(s->sink.ctx, &m->name, bt_swim_gossip_span_ms(s), p->digest,
                                   p->digest_len))
        return;
    s->next_digest_pp_at = now + bt_swim_digest_gap_ms(s);
    s->stats.digest_pulls++;
    send_pp(s, from, 0, BT_SWIM_PP_REQ, false);
}

static void flush(struct bt_swim *s, uint64_t now)
{
    if (s->depth == 0 && s->gossip_now && !s->refused) {
        s->gossip_now = false;
        gossip_round(s, now);
        s->next_gossip_at = now + s->t.gossip_interval;
    }
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
        if (rc == BATON_EVERSION)
            s->stats.bad_version++;
        else
            s->stats.malformed++;
        return;
    }
    s->depth++;
    const struct bt_member *sender = find(s, &p.hdr.sender);
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
            send_pp(s, from, 0, BT_SWIM_PP_REQ, false);
        }
    }

    switch (p.hdr.type) {
    case BT_SWIM_PING:
        if (bt_nodeid_eq(&p.target, &s->self->name))
            send_seq(s, BT_SWIM_ACK, from, p.seq);
        else
            s->stats.misdirected++;
        break;
    case BT_SWIM_ACK:
        on_ack(s, p.seq, false, p.hdr.sender_boot, now);
        break;
    case BT_SWIM_NACK:
        on_ack(s, p.seq, true, p.hdr.sender_boot, now);
        break;
    case BT_SWIM_PING_REQ:
        on_ping_req(s, &p, from, now);
        break;
    case BT_SWIM_CONFLICT:
        on_conflict(s, &p);
        break;
    case BT_SWIM_DIGEST:
        on_digest(s, &p, from, now);
        break;
    default:
        break;
    }

    struct bt_rbuf r;
    struct bt_swim_bcast b;
    bt_rbuf_init(&r, p.bcasts, p.bcasts_len);
    s->rumor_src = from;
    while (!s->refused && bt_swim_next_bcast(&r, &b) == 1)
        apply_bcast(s, &b, &p.hdr.sender, now);
    s->rumor_src = NULL;
    s->depth--;
    flush(s, now);
}

/* Merges a push-pull's member list. "dead" becomes "suspect" (see the essay). */
static void merge_pp(struct bt_swim *s, const struct bt_swim_pp *pp, uint64_t now)
{
    struct bt_rbuf r;
    struct bt_member_info mi;
    /* Most entries of a full state are old news: do not count them stale. */
    uint64_t stale = s->stats.stale;
    bt_rbuf_init(&r, pp->members, pp->members_len);
    while (!s->refused && bt_swim_next_pp_member(&r, &mi) == 1) {
        struct bt_swim_bcast b;
        memset(&b, 0, sizeof b);
        b.name = mi.name;
        b.boot = mi.boot_id;
        b.incarnation = mi.incarnation;
        b.addr = mi.addr;
        b.from = pp->hdr.sender;
        switch (mi.state) {
        case BT_MEMBER_ALIVE:
            b.kind = BT_SWIM_B_ALIVE;
            apply_alive(s, &b, now);
            break;
        case BT_MEMBER_SUSPECT:
        case BT_MEMBER_DEAD:
            b.kind = BT_SWIM_B_SUSPECT;
            apply_suspect(s, &b, now);
            break;
        case BT_MEMBER_LEFT:
            b.kind = BT_SWIM_B_LEFT;
            apply_left(s, &b, now);
            break;
        }
    }
    s->stats.stale = stale;
}

static uint64_t pushpull_period(const struct bt_swim *s);
static uint64_t jittered(struct bt_swim *s, uint64_t period);

void bt_swim_recv_stream(struct bt_swim *s, const struct bt_addr *from, uint64_t conn,
                         const uint8_t *data, size_t len, uint64_t now)
{
    if (s->refused)
        return;
    s->stats.streams_in++;
    s->stats.bytes_in += len;
    struct bt_swim_pp pp;
    int rc = bt_swim_decode_pp(data, len, &pp);
    if (rc < 0) {
        if (rc == BATON_EVERSION)
            s->stats.bad_version++;
        else
            s->stats.malformed++;
        return;
    }
    s->depth++;
    bool join = (pp.flags & BT_SWIM_PP_JOIN) != 0;
    bool is_req = pp.hdr.type == BT_SWIM_PP_REQ;
    /* A continuation carries more of its sender's state, merged the same
     * way; it starts nothing (no reply, no join). */
    bool more = pp.hdr.type == BT_SWIM_PP_REQ_MORE || pp.hdr.type == BT_SWIM_PP_REPLY_MORE;
    bool from_reply = pp.hdr.type == BT_SWIM_PP_REPLY || pp.hdr.type == BT_SWIM_PP_REPLY_MORE;
    if (is_req && join && bt_nodeid_eq(&pp.hdr.sender, &s->self->name) &&
        pp.hdr.sender_boot < s->self->boot_id && !bt_addr_eq(from, &s->self->addr) &&
        !s->leaving) {
        /* A newcomer joins under our own name through us and we outrank it:
         * we keep the name, so refuse it directly and tell it nothing else.
         * One that outranks us is merged like any claim (apply_self). */
        send_conflict(s, from, &s->self->name, pp.hdr.sender_boot, s->self->boot_id,
                      &s->self->addr);
        s->depth--;
        return;
    }
    s->quiet_adds = join && from_reply;
    /* A request gets our state in the reply; a reply's sender gets nothing
     * back, so rumors about us in it are answered directly. */
    s->rumor_src = is_req ? NULL : from;
    merge_pp(s, &pp, now);
    s->rumor_src = NULL;
    s->quiet_adds = false;
    /* This exchange is the one a resync with its sender would make. */
    if (!more && s->resync && bt_nodeid_eq(&s->resync_with, &pp.hdr.sender))
        s->resync = false;
    if (!s->refused && s->sink.user_merge && pp.user_len > 0)
        s->sink.user_merge(s->sink.ctx, &pp.hdr.sender, join, pp.user, pp.user_len);
    if (!s->refused && !more) {
        if (is_req)
            send_pp(s, from, conn, BT_SWIM_PP_REPLY, join);
        if (!s->joined && (s->n_live > 1 || !is_req)) {
            s->joined = true;
            /* The seed's reply cannot hold members that join at the same
             * time, and gossip about them may retire before reaching us
             * (at 10% loss, about one pair in a few thousand). A first
             * periodic push-pull a few periods after joining catches them
             * instead of one a whole interval later. */
            uint64_t soon = 5 * (uint64_t)s->t.probe_interval;
            if (soon < pushpull_period(s))
                s->next_pushpull_at = now + jittered(s, soon);
        }
    }
    s->depth--;
    flush(s, now);
}

/* ---- the clock ---------------------------------------------------------- */

static struct bt_member *next_probe_target(struct bt_swim *s)
{
    for (size_t tries = 0; tries <= s->n_probe; tries++) {
        if (s->probe_cursor >= s->n_probe) {
            /* End of a pass: reshuffle (Fisher-Yates). */
            for (size_t i = s->n_probe; i > 1; i--) {
                size_t j = rnd_below(s, i);
                struct bt_member *tmp = s->probe_order[i - 1];
                s->probe_order[i - 1] = s->probe_order[j];
                s->probe_order[j] = tmp;
                s->probe_order[i - 1]->probe_slot = (uint32_t)(i - 1);
                s->probe_order[j]->probe_slot = (uint32_t)j;
            }
            s->probe_cursor = 0;
            if (s->n_probe == 0)
                return NULL;
        }
        struct bt_member *m = s->probe_order[s->probe_cursor++];
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
        health_add(s, (int)(p->expected_nacks - (p->nacks < p->expected_nacks ? p->nacks : p->expected_nacks)));
    else
        health_add(s, 1);
    struct bt_member *m = find(s, &p->target);
    if (m && m->boot_id == p->target_boot && is_live(m->state))
        suspect_locally(s, m, now);
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
    packet_begin(s, &w, BT_SWIM_DIGEST);
    bt_swim_put_digest(&w, buf, len);
    s->stats.digests_out++;
    packet_send(s, &w, &m->addr, false);
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
    p->target = m->name;
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
    struct bt_member *target = find(s, &p->target);
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
        packet_begin(s, &w, BT_SWIM_PING_REQ);
        bt_swim_put_ping_req(&w, p->seq, budget, &target->name, &target->addr);
        packet_send(s, &w, &helpers[i]->addr, true);
        s->stats.indirect_probes++;
    }
    p->expected_nacks = (uint32_t)n;
    /* Our addition: ping the target directly once more. It costs one
     * datagram and rescues a probe whose first ping or ack was lost, which
     * matters on lossy links where every helper path is longer. */
    send_ping(s, target, p->seq);
}

static uint64_t pushpull_period(const struct bt_swim *s)
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

static uint64_t jittered(struct bt_swim *s, uint64_t period)
{
    /* Uniform in [period/2, 3*period/2): mean period, no lockstep. */
    return period / 2 + (period > 0 ? rnd_below(s, (size_t)period) : 0);
}

static void join_attempt(struct bt_swim *s, uint64_t now)
{
    for (size_t i = 0; i < s->n_seeds; i++)
        send_pp(s, &s->seeds[i], 0, BT_SWIM_PP_REQ, true);
    s->next_join_at = now + s->join_backoff;
    s->join_backoff = s->join_backoff * 2 > s->t.join_retry_max ? s->t.join_retry_max
                                                                : s->join_backoff * 2;
}

static void reconnect(struct bt_swim *s, uint64_t now)
{
    /* Try one random dead member (not left: it does not come back). */
    if (s->n_gone > 0) {
        for (int tries = 0; tries < 4; tries++) {
            struct bt_member *m = s->gone[rnd_below(s, s->n_gone)];
            if (m->state == BT_MEMBER_DEAD) {
                send_pp(s, &m->addr, 0, BT_SWIM_PP_REQ, false);
                return;
            }
        }
    }
    /* Alone after having joined: the seeds are the only way back. */
    if (s->n_live == 1 && s->n_seeds > 0)
        send_pp(s, &s->seeds[rnd_below(s, s->n_seeds)], 0, BT_SWIM_PP_REQ, false);
}

static void reap(struct bt_swim *s, uint64_t now)
{
    size_t i = 0;
    while (i < s->n_gone) {
        struct bt_member *m = s->gone[i];
        if (m == s->self) {
            i++;
            continue;
        }
        uint64_t keep = m->state == BT_MEMBER_LEFT ? s->t.left_reap : s->t.dead_reap;
        if (now - m->state_since >= keep) {
            s->stats.reaped++;
            member_remove(s, m); /* moves the last gone[] entry into slot i */
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
        join_attempt(s, now);

    /* 2. The probe: indirect at the timeout, verdict and next probe at the
     *    end of the period. */
    if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent &&
        now >= s->probe.timeout_at)
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
            check_expired(s, c, now);
            continue;
        }
        if (now >= c->next_ping) {
            c->next_ping = now + check_window(s) / 3;
            check_ping(s, c);
        }
        i++;
    }

    /* 5. Suspicions that ran out: dead. */
    i = 0;
    while (i < s->n_suspects) {
        struct bt_member *m = s->suspects[i];
        if (now >= m->susp->deadline) {
            set_state(s, m, BT_MEMBER_DEAD, now); /* leaves suspects[] */
            s->stats.deaths_declared++;
            emit(s, BT_EV_MEMBER_DEAD, m);
            bcast_member(s, BT_SWIM_B_DEAD, m, &s->self->name, false);
        } else {
            if (now >= m->susp->next_tell) {
                m->susp->next_tell = now + s->t.probe_interval;
                notice_member(s, &m->addr, BT_SWIM_B_SUSPECT, m);
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
            send_pp(s, &peer->addr, 0, BT_SWIM_PP_REQ, false);
        s->next_pushpull_at = now + jittered(s, pushpull_period(s));
    }
    if (s->joined && !s->leaving && s->resync && now >= s->next_resync_at) {
        s->resync = false;
        const struct bt_member *m = find(s, &s->resync_with);
        if (m && is_live(m->state)) {
            send_pp(s, &m->addr, 0, BT_SWIM_PP_REQ, false);
            s->stats.resyncs++;
            s->next_resync_at = now + s->t.reconnect_interval;
        }
    }
    if (s->joined && !s->leaving && now >= s->next_reconnect_at) {
        reconnect(s, now);
        s->next_reconnect_at = now + jittered(s, s->t.reconnect_interval);
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
    flush(s, now);
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
        d = min_u64(d, min_u64(s->suspects[i]->susp->deadline, s->suspects[i]->susp->next_tell));
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

int bt_swim_timing_profile(enum bt_profile profile, struct bt_swim_timing *t)
{
    memset(t, 0, sizeof *t);
    switch (profile) {
    case BT_PROFILE_LOCAL:
        *t = (struct bt_swim_timing){
            .probe_interval = 100,
            .probe_timeout = 40,
            .indirect_checks = 3,
            .suspicion_mult = 3,
            .suspicion_max_mult = 6,
            .retransmit_mult = 4,
            .gossip_interval = 20,
            .gossip_fanout = 3,
            .gossip_to_dead = 5000,
            .pushpull_interval = 10000,
            .reconnect_interval = 1000,
            .dead_reap = 300000,
            .left_reap = 30000,
            .join_retry_min = 100,
            .join_retry_max = 2000,
            .leave_timeout = 1000,
            .awareness_max = 8,
        };
        return 0;
    case BT_PROFILE_LAN:
        *t = (struct bt_swim_timing){
            .probe_interval = 1000,
            .probe_timeout = 500,
            .indirect_checks = 3,
            .suspicion_mult = 4,
            .suspicion_max_mult = 6,
            .retransmit_mult = 4,
            .gossip_interval = 200,
            .gossip_fanout = 3,
            .gossip_to_dead = 30000,
            .pushpull_interval = 30000,
            .reconnect_interval = 2000,
            .dead_reap = 1800000,
            .left_reap = 60000,
            .join_retry_min = 200,
            .join_retry_max = 10000,
            .leave_timeout = 3000,
            .awareness_max = 8,
        };
        return 0;
    case BT_PROFILE_WAN:
        *t = (struct bt_swim_timing){
            .probe_interval = 5000,
            .probe_timeout = 3000,
            .indirect_checks = 3,
            .suspicion_mult = 6,
            .suspicion_max_mult = 6,
            .retransmit_mult = 4,
            .gossip_interval = 500,
            .gossip_fanout = 4,
            .gossip_to_dead = 60000,
            .pushpull_interval = 60000,
            .reconnect_interval = 10000,
            .dead_reap = 3600000,
            .left_reap = 120000,
            .join_retry_min = 1000,
            .join_retry_max = 30000,
            .leave_timeout = 10000,
            .awareness_max = 8,
        };
        return 0;
    }
    return BATON_EINVAL;
}

static bool timing_valid(const struct bt_swim_timing *t)
{
    return t->probe_interval > 0 && t->probe_timeout > 0 && t->probe_timeout < t->probe_interval &&
           t->suspicion_mult > 0 && t->suspicion_max_mult > 0 && t->retransmit_mult > 0 &&
           t->gossip_interval > 0 && t->gossip_fanout > 0 && t->pushpull_interval > 0 &&
           t->reconnect_interval > 0 && t->join_retry_min > 0 &&
           t->join_retry_max >= t->join_retry_min && t->awareness_max > 0 &&
           t->leave_timeout > 0;
}

struct bt_swim *bt_swim_new(const struct bt_swim_config *cfg, const struct bt_swim_sink *sink,
                            uint64_t now)
{
    if (!cfg || !sink || !sink->send || !sink->event || !cfg->random || cfg->boot_id == 0 ||
        !bt_nodeid_valid_bytes(cfg->name.bytes, cfg->name.len) ||
        !bt_swim_addr_valid(cfg->addr.s, cfg->addr.len) || cfg->max_packet < BT_SWIM_MIN_PACKET ||
        cfg->max_packet > BT_SWIM_PACKET_MAX || !timing_valid(&cfg->timing))
        return NULL;
    struct bt_swim *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->t = cfg->timing;
    s->sink = *sink;
    bt_htab_init(&s->table);
    bt_htab_init(&s->q.table);
    s->pkt = malloc(cfg->max_packet);
    if (bt_htab_reserve(&s->table) != 0 || bt_htab_reserve(&s->q.table) != 0 || !s->pkt)
        goto fail;
    struct bt_nodeid name;
    struct bt_addr addr;
    bt_nodeid_set(&name, cfg->name.bytes, cfg->name.len);
    bt_swim_addr_set(&addr, cfg->addr.s, cfg->addr.len);
    s->self = member_add(s, &name, &addr, cfg->boot_id, 0, now, true);
    if (!s->self)
        goto fail;
    s->next_probe_at = now + rnd_below(s, s->t.probe_interval);
    s->next_gossip_at = now + s->t.gossip_interval;
    s->next_pushpull_at = now + jittered(s, pushpull_period(s));
    s->next_reconnect_at = now + jittered(s, s->t.reconnect_interval);
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
    for (size_t i = 0; i < s->n_members; i++) {
        free(s->members[i]->susp);
        free(s->members[i]);
    }
    for (int b = 0; b < QUEUE_BUCKETS; b++) {
        struct bt_bcast *e = s->q.head[b];
        while (e) {
            struct bt_bcast *next = e->next;
            free(e);
            e = next;
        }
    }
    bt_htab_destroy(&s->q.table);
    free(s->members);
    bt_htab_destroy(&s->table);
    free(s->probe_order);
    free(s->suspects);
    free(s->gone);
    free(s->pkt);
    free(s->stream);
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
        if (bt_addr_eq(&seeds[i], &s->self->addr))
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
        bcast_member(s, BT_SWIM_B_ALIVE, s->self, NULL, false);
        s->join_backoff = s->t.join_retry_min;
        join_attempt(s, now);
    }
    s->depth--;
    flush(s, now);
    return 0;
}

int bt_swim_leave(struct bt_swim *s, uint64_t now)
{
    if (s->leaving || s->refused)
        return BATON_ECLOSED;
    s->depth++;
    s->leaving = true;
    s->leave_deadline = now + s->t.leave_timeout;
    set_state(s, s->self, BT_MEMBER_LEFT, now);
    if (s->n_live == 0) {
        s->leave_done = true;
    } else {
        /* Tell every live member directly (one datagram each, once), then
         * gossip it as well: a leave must not be learned by failure
         * detection (simulator finding F2: with gossip alone, 1-2% of
         * leaves missed a member in a 7-node cluster). */
        for (size_t i = 0; i < s->n_members; i++) {
            const struct bt_member *m = s->members[i];
            if (m != s->self && is_live(m->state))
                notice_member(s, &m->addr, BT_SWIM_B_LEFT, s->self);
        }
        bcast_member(s, BT_SWIM_B_LEFT, s->self, NULL, true);
        s->gossip_now = true;
    }
    s->depth--;
    flush(s, now);
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
    if (!data || len == 0 || keylen > 255 || (keylen > 0 && !key))
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
    int rc = q_push(s, keylen ? 2 : 0, key, keylen, buf, w.len, false);
    if (rc != 0)
        return rc;
    if (urgent) {
        s->gossip_now = true;
        flush(s, now);
    }
    return 0;
}

void bt_swim_gossip_now(struct bt_swim *s, uint64_t now)
{
    if (s->refused || s->q.count == 0)
        return;
    s->gossip_now = true;
    flush(s, now);
}

size_t bt_swim_members(const struct bt_swim *s, struct bt_member_info *out, size_t cap)
{
    for (size_t i = 0; i < s->n_members && i < cap; i++)
        info_of(s->members[i], &out[i]);
    return s->n_members;
}

bool bt_swim_member(const struct bt_swim *s, const struct bt_nodeid *name, struct bt_member_info *out)
{
    const struct bt_member *m = find(s, name);
    if (!m)
        return false;
    if (out)
        info_of(m, out);
    return true;
}

size_t bt_swim_live_count(const struct bt_swim *s) { return s->n_live; }

uint64_t bt_swim_digest(const struct bt_swim *s) { return s->digest; }

uint64_t bt_swim_gossip_span_ms(const struct bt_swim *s)
{
    uint32_t decades = ceil_log10((uint64_t)s->n_live + 1);
    if (decades < 3)
        decades = 3;
    return 2 * (uint64_t)s->t.retransmit_mult * decades * s->t.gossip_interval;
}

uint64_t bt_swim_digest_gap_ms(const struct bt_swim *s) { return pushpull_period(s) / 4; }

bool bt_swim_joined(const struct bt_swim *s) { return s->joined; }

void bt_swim_stats(const struct bt_swim *s, struct bt_member_stats *out)
{
    *out = s->stats;
    out->health = s->health;
    out->queue_len = (uint32_t)s->q.count;
}
