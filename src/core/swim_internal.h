/*
 * The membership protocol's internals, shared by the files that implement
 * it and by nothing else (swim.h is the API):
 *
 *   swim.c           the protocol: probes, gossip, applying broadcasts,
 *                    suspicion, receiving, the clock, lifecycle and API
 *   swim_members.c   the member table: lookup by name, state changes, the
 *                    digest, the suspects/gone arrays and the probe order
 *   swim_names.c     name checks: two live processes claiming one name
 *   swim_pushpull.c  push-pull: sending and merging full state over streams
 *
 * and below them bqueue.c (the broadcast queue), lifeguard.c (Lifeguard's
 * arithmetic) and swim_proto.c (the wire format). swim.c's opening comment
 * describes the protocol as a whole.
 */
#ifndef BT_CORE_SWIM_INTERNAL_H
#define BT_CORE_SWIM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/bqueue.h"
#include "core/htab.h"
#include "core/lifeguard.h"
#include "core/swim.h"
#include "core/swim_proto.h"
#include "core/wire.h"

#define NO_SLOT UINT32_MAX
#define SELF_POS 0        /* self's position: added first (bt_swim_new), never removed */
#define MAX_SUSPECTORS 16 /* bound on K + 1 */
#define MAX_RELAYS 64     /* PING_REQs served at once */
#define MAX_CHECKS 16     /* name checks at once */
#define MAX_SEEDS 64
#define REAP_CHECK_MS 1000
#define MAX_EXCHANGES 64 /* push-pulls we started whose stream we follow */

/* Lifeguard suspicion state of one suspect member. */
struct bt_suspicion {
    uint64_t start;                      /* when the suspicion started */
    uint64_t min_ms;                     /* its minimum duration */
    uint64_t max_ms;                     /* its maximum duration */
    uint64_t deadline;                   /* when it expires with the confirmations so far */
    uint64_t next_tell;                  /* when to tell the suspect again */
    uint32_t k;                          /* confirmations expected */
    uint32_t n;                          /* suspectors recorded (first one included) */
    uint64_t suspectors[MAX_SUSPECTORS]; /* hashes of their names */
    uint64_t refused_by;                 /* 0, or the latest deadline a refusal of the suspect's
                            address allows (bt_swim_addr_refused) */
};

/* Why a push-pull we started was started: what its failure changes. */
enum pp_why {
    PP_JOIN,     /* one seed of a join attempt */
    PP_PERIODIC, /* anti-entropy with a random member */
    PP_RETRY,    /* anti-entropy again, after a periodic one failed */
    PP_RESYNC,   /* with a member we held dead that came back */
    PP_OTHER,    /* reconnect, unknown sender */
};

/* A push-pull this node started, followed until its reply arrives or its
 * stream is reported closed, failed or timed out (node.h, "Streams the
 * core opens"). */
struct bt_exchange {
    uint64_t id; /* its stream id, BT_STREAM_OWN set */
    struct bt_addr to;
    enum pp_why why;
    bool connected;        /* BT_STREAM_CONNECTED was reported */
    uint32_t attempt;      /* PP_JOIN: the join attempt it belongs to */
    struct bt_nodeid peer; /* PP_PERIODIC, PP_RESYNC: the member */
};

/* One known member. The records are kept in chunks of MEMBER_CHUNK
 * (bt_swim.chunks; swim_member_at), not allocated one by one: a member of
 * a 10 000-node cluster costs 56 bytes, where a record allocated to fit
 * cost 64 with malloc's header and 8 more for its pointer in an array of
 * members (and a lookup read that pointer before the record). A record
 * holds no hash link (bt_swim.index finds it) and no position (the index
 * holds that too; the probe order and the watch arrays hold positions,
 * not pointers). A record's address holds until a member is removed (the
 * last member then moves into the removed one's place). Its name and
 * address are in str[] when they fit, else in an allocation it owns
 * (member_str); read them with member_name(), member_addr() and the
 * comparisons below. A suspect's suspicion state is not here but in
 * bt_swim.susps (member_susp): few members are ever suspect, and every
 * node holds a record for every member. */
#define MEMBER_STR_INLINE 12

struct bt_member {
    uint64_t boot_id;
    uint64_t state_since; /* when state last changed */
    uint64_t addr_since;  /* when (boot, addr) last changed: a refusal of addr
                           counts against this boot only well after it */
    uint32_t incarnation;
    uint32_t probe_slot; /* index in probe_order[], NO_SLOT for self */
    uint32_t watch_slot; /* index among the suspects or the gone (bt_swim.watch), or NO_SLOT */
    uint8_t state;       /* enum bt_member_state */
    uint8_t name_len;    /* 1..BATON_NODE_MAX */
    uint8_t addr_len;    /* 1..BT_ADDR_MAX */
    uint8_t addr_cap;    /* room for the address, its NUL not counted */
    /* 0, or the seq of the last clock word of this boot the sink called
     * news (bt_swim_sink.clock): a gossiped copy of a word no newer is
     * dropped before the sink is asked (most gossiped words are such
     * copies). Reset at every change of state or boot. */
    uint32_t word_seq;
    /* name_len name bytes, a NUL, then addr_len address bytes and a NUL, in
     * room for addr_cap + 1: here when MEMBER_STR_FITS, else in an
     * allocation whose address str[] holds (swim_member_set_addr gives
     * the strings more room when a longer address comes). The simulator's
     * names and addresses ("n1234" twice, with their NULs) fit. */
    char str[MEMBER_STR_INLINE];
};

_Static_assert(sizeof(struct bt_member) == 56, "a member record takes 56 bytes");
_Static_assert(MEMBER_STR_INLINE >= sizeof(char *), "a record's str[] holds a pointer");

/* Members per chunk of bt_swim.chunks (each record followed by the
 * caller's extra bytes: bt_swim_config.member_extra). */
#define MEMBER_CHUNK_BITS 8
#define MEMBER_CHUNK ((size_t)1 << MEMBER_CHUNK_BITS)

/* Whether the strings of a record with a name of name_len bytes and room
 * for an address of addr_cap bytes fit in its str[]. */
#define MEMBER_STR_FITS(name_len, addr_cap)                                                        \
    ((size_t)(name_len) + (size_t)(addr_cap) + 2 <= MEMBER_STR_INLINE)

/* m's strings: its name, a NUL, its address and a NUL. */
static inline const char *member_str(const struct bt_member *m)
{
    if (MEMBER_STR_FITS(m->name_len, m->addr_cap))
        return m->str;
    const char *out;
    memcpy(&out, m->str, sizeof out);
    return out;
}

/* m's name and address as the fixed-size structs the rest of the core
 * passes around (zero beyond their length). */
static inline struct bt_nodeid member_name(const struct bt_member *m)
{
    return bt_nodeid_of(member_str(m), m->name_len);
}

static inline const char *member_addr_bytes(const struct bt_member *m)
{
    return member_str(m) + m->name_len + 1;
}

static inline struct bt_addr member_addr(const struct bt_member *m)
{
    struct bt_addr a;
    memset(&a, 0, sizeof a);
    a.len = m->addr_len;
    memcpy(a.s, member_addr_bytes(m), m->addr_len);
    return a;
}

/* The same as pointers to temporaries (compound literals) that live until
 * the end of the enclosing block: for passing to a call. */
#define MEMBER_NAME_P(m) ((const struct bt_nodeid *)(struct bt_nodeid[1]){member_name(m)})
#define MEMBER_ADDR_P(m) ((const struct bt_addr *)(struct bt_addr[1]){member_addr(m)})

/* Whether m's name is name, its address addr (bytewise). */
static inline bool member_name_is(const struct bt_member *m, const struct bt_nodeid *name)
{
    return m->name_len == name->len && memcmp(member_str(m), name->bytes, name->len) == 0;
}

static inline bool member_addr_is(const struct bt_member *m, const struct bt_addr *addr)
{
    return m->addr_len == addr->len && memcmp(member_addr_bytes(m), addr->s, addr->len) == 0;
}

/* A PING_REQ we are serving. */
struct bt_relay {
    uint32_t seq;      /* our PING to the target */
    uint32_t orig_seq; /* the requester's seq */
    struct bt_addr requester;
    uint64_t deadline; /* NACK then */
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
    uint32_t seq; /* our PING to the probed process */
    uint64_t next_ping;
    uint64_t deadline; /* the claim wins (holder probed) or is dropped (claimant probed) */
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
    struct bt_swim_config cfg; /* its name and addr normalized: self's (bt_swim_new) */
    struct bt_swim_timing t;
    struct bt_swim_sink sink;
    struct bt_member *self;

    /* Every known member, self included (at SELF_POS), in chunks of
     * MEMBER_CHUNK records (swim_member_at): n_members of them, room for
     * n_chunks * MEMBER_CHUNK. A chunk is raw storage: its records are
     * rec_size bytes apart, each followed by its extra bytes. */
    char **chunks;
    size_t n_members, n_chunks;
    size_t rec_size; /* a record and its extra bytes, rounded up to 8 */
    /* Members by name (swim_members.c, "the index"): index_cap slots, a
     * power of two, at most three quarters full, linear probing from the
     * slot the low bits of the name's bt_hash_bytes (low 32 bits) pick;
     * each slot 0 (empty) or the hash's bits above those (its tag) over
     * the member's position + 1 in the low bits (index_entry,
     * swim_members.c). */
    uint32_t *index;
    size_t index_cap;
    /* The members but self in probe order, as positions (4
     * bytes a member instead of a pointer's 8; kept in step when a member
     * moves, swim_member_remove). */
    uint32_t *probe_order;
    size_t n_probe, cap_probe, probe_cursor;
    /* The suspects and the dead or left members share one array of
     * cap_watch slots, reserved for every member (a member is in one of
     * them at most): suspect i at watch[i] (suspect_at), gone i at
     * watch[cap_watch - 1 - i] (gone_at); positions, as in
     * probe_order. */
    uint32_t *watch;
    size_t cap_watch;
    size_t n_suspects, n_gone;
    size_t n_live; /* alive + suspect, self included */
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
    /* Whether a push-pull of ours to seeds[i] was answered: one never
     * answered is tried again after joining (reconnect, swim.c). */
    bool seed_answered[MAX_SEEDS];
    size_t n_seeds;
    bool join_called, joined;
    uint64_t next_join_at;
    uint32_t join_backoff;
    uint64_t last_join_at;    /* when the last join attempt went */
    uint32_t join_attempts;   /* join attempts made */
    uint32_t attempt_open;    /* push-pulls of the last attempt not yet failed */
    uint32_t join_unanswered; /* attempts whose push-pulls all failed */

    struct bt_exchange xs[MAX_EXCHANGES]; /* oldest first */
    size_t n_xs;
    uint64_t next_stream; /* the last stream id handed out, BT_STREAM_OWN clear */

    bool leaving, leave_done, refused;
    uint64_t leave_deadline;

    bool gossip_now; /* an urgent broadcast awaits the end of the call */
    /* Source of the datagram whose broadcasts are being applied (NULL
     * otherwise): a rumor about ourselves is answered there directly. */
    const struct bt_addr *rumor_src;
    /* Set while merging the reply to our join: new members are not
     * re-broadcast (see apply_alive). */
    bool quiet_adds;
    int depth; /* nesting of public calls (user_deliver re-entry) */

    struct bt_bqueue q; /* its held broadcasts: members' words (swim.c, gossip_word) */
    uint8_t *pkt;       /* max_packet bytes */
    size_t pp_buf;      /* the size the last push-pull's buffer grew to: the next starts there */
    struct bt_member_stats stats;
    /* The suspects' suspicion state, parallel to the suspects' part of
     * watch: susps[i] (owned, non-NULL) is the suspicion of suspect i,
     * *suspect_at(s, i); cap_susps slots, grown when a suspicion starts
     * (swim_susp_reserve), so a member record needs no pointer to it. */
    struct bt_suspicion **susps;
    size_t cap_susps;
};

/* ---- small helpers ------------------------------------------------------ */

static inline uint64_t rnd(struct bt_swim *s) { return s->cfg.random(s->cfg.random_ctx); }

/* The member at position pos (pos < n_members). */
static inline struct bt_member *swim_member_at(const struct bt_swim *s, size_t pos)
{
    char *chunk = s->chunks[pos >> MEMBER_CHUNK_BITS];
    return (struct bt_member *)(chunk + (pos & (MEMBER_CHUNK - 1)) * s->rec_size);
}

/* m's extra bytes (bt_swim_config.member_extra), after its record. */
static inline void *member_extra(struct bt_member *m) { return m + 1; }

/* Where the position of the i-th suspect (i < n_suspects)
 * and of the i-th dead or left member (i < n_gone) is: see bt_swim.watch. */
static inline uint32_t *suspect_at(const struct bt_swim *s, size_t i) { return &s->watch[i]; }

static inline uint32_t *gone_at(const struct bt_swim *s, size_t i)
{
    return &s->watch[s->cap_watch - 1 - i];
}

/* The i-th suspect and the i-th dead or left member themselves. */
static inline struct bt_member *suspect_member(const struct bt_swim *s, size_t i)
{
    return swim_member_at(s, *suspect_at(s, i));
}

static inline struct bt_member *gone_member(const struct bt_swim *s, size_t i)
{
    return swim_member_at(s, *gone_at(s, i));
}

/* m's suspicion state: non-NULL exactly while m is suspect (and counted
 * in bt_swim.susps). */
static inline struct bt_suspicion *member_susp(const struct bt_swim *s, const struct bt_member *m)
{
    if (m->state != BT_MEMBER_SUSPECT || m->watch_slot == NO_SLOT || m->watch_slot >= s->cap_susps)
        return NULL;
    return s->susps[m->watch_slot];
}

/* Uniform-ish in [0, n); n > 0. The modulo bias is below 2^-40 for any n we
 * use. */
static inline size_t rnd_below(struct bt_swim *s, size_t n) { return (size_t)(rnd(s) % n); }

static inline uint32_t scale(const struct bt_swim *s) { return bt_lg_scale(s->health); }

static inline bool is_live(enum bt_member_state st)
{
    return st == BT_MEMBER_ALIVE || st == BT_MEMBER_SUSPECT;
}

/* Our name checks' probe window: twice the probe timeout. */
static inline uint32_t check_window(const struct bt_swim *s) { return 2 * s->t.probe_timeout; }

/* ---- the member table (swim_members.c) ---------------------------------- */

/* The member named name, or NULL. */
struct bt_member *swim_find(const struct bt_swim *s, const struct bt_nodeid *name);
/* The same, with its position in *pos (for a caller that needs both:
 * swim_member_pos would look the name up again). */
struct bt_member *swim_find_pos(const struct bt_swim *s, const struct bt_nodeid *name, size_t *pos);
/* Frees the index of members by name (bt_swim_free). */
void swim_index_free(struct bt_swim *s);

/* Hints for a caller about to look up many names at once (htab.h's
 * BT_HTAB_HINT: always inlined, and so must their callers be): with hash a
 * name's bt_hash_bytes, low 32 bits, swim_index_prefetch asks for the
 * index slot where its search starts, and swim_index_prefetch_member, once
 * that slot is at hand, for the record of the first slot from there with
 * that name's tag (swim_prefetch_record). Each pass lets the misses of all
 * the names overlap. They change nothing. */

/* Asks for the cache lines of record m and its extra bytes: three touches
 * no more than a line apart (a record and its extra bytes take at most
 * 120 bytes, so three lines at most). */
_Static_assert(sizeof(struct bt_member) + BT_SWIM_EXTRA_MAX <= 128,
               "three touches half a record apart cover a record and its extra bytes");

BT_HTAB_HINT void swim_prefetch_record(const struct bt_swim *s, const struct bt_member *m)
{
#if defined(__GNUC__)
    const char *r = (const char *)m;
    __builtin_prefetch(r);
    __builtin_prefetch(r + s->rec_size / 2);
    __builtin_prefetch(r + s->rec_size - 1);
#else
    (void)s;
    (void)m;
#endif
}

BT_HTAB_HINT void swim_index_prefetch(const struct bt_swim *s, uint32_t hash)
{
#if defined(__GNUC__)
    if (s->index_cap != 0)
        __builtin_prefetch(&s->index[hash & (s->index_cap - 1)]);
#else
    (void)s;
    (void)hash;
#endif
}

BT_HTAB_HINT void swim_index_prefetch_member(const struct bt_swim *s, uint32_t hash)
{
#if defined(__GNUC__)
    if (s->index_cap == 0)
        return;
    uint32_t mask = (uint32_t)s->index_cap - 1;
    for (size_t k = hash & mask; s->index[k] != 0; k = (k + 1) & mask) {
        if ((s->index[k] & ~mask) == (hash & ~mask)) {
            swim_prefetch_record(s, swim_member_at(s, (s->index[k] & mask) - 1));
            return;
        }
    }
#else
    (void)s;
    (void)hash;
#endif
}

/* Adds a member, alive, at (name, addr, boot, inc) and at a random place in
 * the probe order unless is_self; reserves room for it in every array so
 * that its later state changes never allocate. Returns it (owned by s), or
 * NULL when out of memory (nothing changed then). */
struct bt_member *swim_member_add(struct bt_swim *s, const struct bt_nodeid *name,
                                  const struct bt_addr *addr, uint64_t boot, uint32_t inc,
                                  uint64_t now, bool is_self);

/* Gives m the address addr, its strings more room when addr does not fit
 * in what they have. Returns false when out of memory, m then unchanged.
 * Does not touch addr_since. */
bool swim_member_set_addr(struct bt_member *m, const struct bt_addr *addr);

/* Removes m from every table and array: the last member moves into its
 * place. */
void swim_member_remove(struct bt_swim *s, struct bt_member *m);

/* Frees what m's strings took apart from the record, if anything. */
void swim_member_strs_free(struct bt_member *m);

/* m's position (m is there): its index entry says. */
size_t swim_member_pos(const struct bt_swim *s, const struct bt_member *m);

/* Every state change goes through here: counts, arrays, digest; a suspect
 * leaving SUSPECT has its suspicion freed. The arrays have room reserved at
 * member creation, so this cannot fail. Entering SUSPECT, the caller first
 * reserves a slot in bt_swim.susps (swim_susp_reserve) and then puts the
 * suspicion at susps[m->watch_slot]. */
void swim_set_state(struct bt_swim *s, struct bt_member *m, enum bt_member_state st, uint64_t now);

/* Room in bt_swim.susps for one more suspect. Returns false when out of
 * memory (nothing changed). */
bool swim_susp_reserve(struct bt_swim *s);

/* Gives m a new boot id, keeping the digest in step. */
void swim_set_boot(struct bt_swim *s, struct bt_member *m, uint64_t boot);

/* Fills *out with m's public view. */
void swim_info_of(const struct bt_member *m, struct bt_member_info *out);

/* Hands the sink an event of kind about m. */
void swim_emit(struct bt_swim *s, enum bt_event_kind kind, const struct bt_member *m);

/* ---- the protocol (swim.c) ---------------------------------------------- */

/* Starts a datagram of type in s->pkt: the header. */
void swim_packet_begin(struct bt_swim *s, struct bt_wbuf *w, enum bt_swim_type type);
/* The clock block this node's PINGs and ACKs carry (fix 9, sink.wall). */
struct bt_swim_clock swim_local_clock(const struct bt_swim *s);

/* Sends the datagram in w to `to`, first filling its room with queued
 * broadcasts if piggyback. */
void swim_packet_send(struct bt_swim *s, struct bt_wbuf *w, const struct bt_addr *to,
                      bool piggyback);

/* Queues a broadcast about member m (kind ALIVE/SUSPECT/DEAD/LEFT), told by
 * from (NULL: nobody); is_leave marks our own LEFT. */
void swim_bcast_member(struct bt_swim *s, uint8_t kind, const struct bt_member *m,
                       const struct bt_nodeid *from, bool is_leave);

/* Fills *b with a rumor of kind about member m, told by from (NULL: nobody). */
void swim_member_rumor(struct bt_swim_bcast *b, uint8_t kind, const struct bt_member *m,
                       const struct bt_nodeid *from);

/* Sends `to` a datagram with one rumor of kind about m (no piggyback). */
void swim_notice_member(struct bt_swim *s, const struct bt_addr *to, uint8_t kind,
                        const struct bt_member *m);

/* ---- state changes (swim_state.c) --------------------------------------- */

/* Adds delta to the local health score, clamped (Lifeguard's LHM). */
void swim_health_add(struct bt_swim *s, int delta);

/* Our own probe of m failed: m becomes suspect on our word. */
void swim_suspect_locally(struct bt_swim *s, struct bt_member *m, uint64_t now);

/* Apply an ALIVE, SUSPECT, DEAD or LEFT rumor b (from a broadcast or a push-pull). */
void swim_apply_dead(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now);
void swim_apply_alive(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now);
void swim_apply_suspect(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now);
void swim_apply_left(struct bt_swim *s, const struct bt_swim_bcast *b, uint64_t now);

/* Counts a datagram or stream message that did not decode (rc from
 * swim_proto.c): bad_version for another wire version, else malformed. */
void swim_count_bad_input(struct bt_swim *s, int rc);

/* Another live process keeps our name (at keeper): fall silent for good. */
void swim_refuse_self(struct bt_swim *s, const struct bt_addr *keeper);

/* At the end of a public call (once no call is nested): runs the gossip
 * round an urgent broadcast asked for. */
void swim_flush(struct bt_swim *s, uint64_t now);

/* The push-pull period: the base interval, scaled up above 32 members. */
uint64_t swim_pushpull_period(const struct bt_swim *s);

/* Uniform in [period/2, 3*period/2): mean period, no lockstep. */
uint64_t swim_jittered(struct bt_swim *s, uint64_t period);

/* ---- name checks (swim_names.c) ----------------------------------------- */

/* Starts checking claim, a rival of holder for holder's name (one check per
 * name at a time; at most MAX_CHECKS, more are dropped and counted). */
void swim_check_start(struct bt_swim *s, struct bt_member *holder,
                      const struct bt_swim_bcast *claim, uint64_t now);

/* Pings the process c probes. */
void swim_check_ping(struct bt_swim *s, struct bt_name_check *c);

/* The probed process answered: it keeps the name. The holder: refuse the
 * claimant. The claimant (it outranks the holder): it takes the name over
 * and the holder is refused; if the holder is this node, it yields. c is
 * removed. */
void swim_check_answered(struct bt_swim *s, struct bt_name_check *c, uint64_t now);

/* The probed process did not answer in time. The holder: the claim takes
 * the name over. The claimant: the claim is dropped (stale, or cut off). c
 * is removed. */
void swim_check_expired(struct bt_swim *s, struct bt_name_check *c, uint64_t now);

/* Tells `to` that the process of claimant_boot may not use name, which
 * holder_boot at holder_addr keeps. */
void swim_send_conflict(struct bt_swim *s, const struct bt_addr *to, const struct bt_nodeid *name,
                        uint64_t claimant_boot, uint64_t holder_boot,
                        const struct bt_addr *holder_addr);

/* ---- push-pull (swim_pushpull.c) ---------------------------------------- */

/* Sends our full state for a push-pull: one message of `type` (PP_REQ or
 * PP_REPLY), then as many continuations as it takes (docs/membership.md). */
bool swim_send_pp(struct bt_swim *s, const struct bt_addr *to, uint64_t conn,
                  enum bt_swim_type type, bool join);

/* Starts a push-pull with `to` on a stream of its own (node.h, "Streams the
 * core opens") and follows it until its reply or its stream's end (see
 * bt_swim_stream_event). peer: the member, or NULL. Returns false if
 * nothing could be sent (no memory for the message buffer). */
bool swim_start_pp(struct bt_swim *s, const struct bt_addr *to, enum pp_why why,
                   const struct bt_nodeid *peer);
/* A join attempt: a join push-pull to every seed, and the next attempt
 * scheduled with the backoff (swim.c). */
void swim_join_attempt(struct bt_swim *s, uint64_t now);
/* One random live member other than self and exclude (which may be NULL),
 * or NULL if there is none (swim.c). */
struct bt_member *swim_pick_peer(struct bt_swim *s, uint64_t now, const struct bt_member *exclude);

#endif
