/* Tests of src/core/leader.c: the cases of the reference's own suite
 * (barrel_p2p_leader, prefixed ref_), then baton's fixes (docs/design.md §1).
 *
 * Each test builds two or three state machines and carries their
 * broadcasts between them by hand, through the codec's bytes (encode,
 * decode, merge), so the wire path is exercised on every hop. Time is a
 * plain variable: no test reads a clock or asserts on durations. */
#include "unit/test_main.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "core/leader.h"
#include "sim/prng.h"
#include "support/oracle.h"

/* A plausible Unix time in ms (2023-11-14). */
#define WALL UINT64_C(1700000000000)
#define DEFAULT_OFFSET 10000

/* ---- helpers ---------------------------------------------------------------- */

static struct bt_name nm(const char *s)
{
    struct bt_name n;
    assert_int_equal(bt_name_set(&n, s, strlen(s)), 0);
    return n;
}

static struct bt_nodeid nid(const char *s)
{
    struct bt_nodeid id;
    assert_int_equal(bt_nodeid_set(&id, s, strlen(s)), 0);
    return id;
}

/* A minter: the process (node, boot). */
static struct bt_minter mt(const char *node, uint64_t boot)
{
    struct bt_minter m;
    m.node = nid(node);
    m.boot = boot;
    return m;
}

static struct bt_leader *node_new(const char *self, uint64_t boot_id, uint64_t max_offset_ms)
{
    struct bt_leader_config cfg = {
        .self = nid(self), .boot_id = boot_id, .max_clock_offset_ms = max_offset_ms};
    struct bt_leader *l = bt_leader_new(&cfg);
    assert_non_null(l);
    return l;
}

/* Tells l that node is alive (or suspect) with boot_id. */
static void see_alive(struct bt_leader *l, const char *node, uint64_t boot_id, uint64_t wall)
{
    struct bt_nodeid id = nid(node);
    assert_true(bt_leader_member(l, &id, boot_id, true, wall) >= 0);
}

static void see_dead(struct bt_leader *l, const char *node, uint64_t boot_id, uint64_t wall)
{
    struct bt_nodeid id = nid(node);
    assert_true(bt_leader_member(l, &id, boot_id, false, wall) >= 0);
}

static int lead(struct bt_leader *l, uint64_t session, const char *name, int64_t prio,
                uint64_t wall, uint64_t *fence)
{
    struct bt_name n = nm(name);
    return bt_leader_lead(l, session, &n, prio, wall, fence);
}

static bool is_leader(struct bt_leader *l, const char *name)
{
    struct bt_name n = nm(name);
    return bt_leader_is_leader(l, &n);
}

/* Asserts that l sees node/candidate_id as the leader of name. */
static void assert_leader(struct bt_leader *l, const char *name, const char *node,
                          uint64_t candidate_id)
{
    struct bt_name n = nm(name);
    struct bt_nodeid who;
    uint64_t cid = 0;
    assert_int_equal(bt_leader_leader(l, &n, &who, &cid), 0);
    assert_string_equal(who.bytes, node);
    assert_int_equal(cid, candidate_id);
}

static void assert_no_leader(struct bt_leader *l, const char *name)
{
    struct bt_name n = nm(name);
    struct bt_nodeid who;
    uint64_t cid;
    assert_int_equal(bt_leader_leader(l, &n, &who, &cid), BATON_ENOLEADER);
    assert_false(bt_leader_is_leader(l, &n));
}

static uint64_t fence_of(struct bt_leader *l, const char *name)
{
    struct bt_name n = nm(name);
    uint64_t f = 0;
    struct bt_minter minter;
    memset(&minter, 0, sizeof minter);
    assert_int_equal(bt_leader_fence(l, &n, &f, &minter), 0);
    assert_int_equal(bt_leader_fence(l, &n, NULL, NULL), 0);
    assert_true(minter.node.len > 0 &&
                minter.boot != 0); /* this node: term_is_token_and_this_node checks which */
    return f;
}

static void assert_not_leader(struct bt_leader *l, const char *name)
{
    struct bt_name n = nm(name);
    uint64_t f;
    assert_int_equal(bt_leader_fence(l, &n, &f, NULL), BATON_ENOTLEADER);
    assert_false(bt_leader_is_leader(l, &n));
}

/* l holds no term for name (whoever it computes as the winner). */
static void assert_not_leader_term(struct bt_leader *l, const char *name)
{
    struct bt_name n = nm(name);
    uint64_t f;
    assert_int_equal(bt_leader_fence(l, &n, &f, NULL), BATON_ENOTLEADER);
}

static uint64_t high_water_of(struct bt_leader *l, const char *name)
{
    struct bt_name n = nm(name);
    uint64_t t = 0;
    assert_int_equal(bt_leader_high_water(l, &n, &t), 0);
    return t;
}

/* Asserts the candidates of name are exactly the nodes listed (sorted). */
static void assert_candidates(struct bt_leader *l, const char *name, size_t n,
                              const char *const *want)
{
    struct bt_name nn = nm(name);
    struct bt_nodeid out[8];
    size_t count = bt_leader_candidates(l, &nn, out, 8);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(out[i].bytes, want[i]);
}

static uint64_t expect_event(struct bt_leader *l, enum bt_leader_event_kind kind, uint64_t session,
                             const char *name)
{
    struct bt_leader_event ev;
    assert_true(bt_leader_pop_event(l, &ev));
    assert_int_equal(ev.kind, kind);
    assert_int_equal(ev.session, session);
    struct bt_name n = nm(name);
    assert_true(bt_name_eq(&ev.name, &n));
    return ev.fence;
}

static void expect_no_event(struct bt_leader *l)
{
    struct bt_leader_event ev;
    assert_false(bt_leader_pop_event(l, &ev));
}

/* Encodes one broadcast as the wire would carry it. Returns its length. */
static size_t encode_broadcast(const struct bt_leader_broadcast *b, uint8_t *buf, size_t cap)
{
    int n;
    if (b->kind == BT_LEADER_BCAST_ENTRY)
        n = bt_codec_encode_delta(&b->entry, 1, buf, cap);
    else
        n = bt_codec_encode_fences(&b->fence, 1, buf, cap);
    assert_true(n > 0);
    return (size_t)n;
}

/* Decodes bytes and merges them into to; returns the merge's result. */
static int deliver_bytes(struct bt_leader *to, const uint8_t *buf, size_t len, uint64_t wall)
{
    struct bt_payload p;
    assert_int_equal(bt_codec_decode(buf, len, &p), 0);
    int rc = bt_leader_merge_payload(to, &p, false, wall);
    bt_payload_free(&p);
    return rc;
}

/* Drains from's broadcasts, delivering each to the n leaders of to (a
 * network that reaches only them; the others miss these messages).
 * Returns how many broadcasts there were. */
static size_t send_to(struct bt_leader *from, struct bt_leader *const *to, size_t n, uint64_t wall)
{
    struct bt_leader_broadcast b;
    size_t count = 0;
    while (bt_leader_pop_broadcast(from, &b)) {
        uint8_t buf[512];
        size_t len = encode_broadcast(&b, buf, sizeof buf);
        for (size_t i = 0; i < n; i++)
            assert_true(deliver_bytes(to[i], buf, len, wall) >= 0);
        count++;
    }
    return count;
}

/* Gossips among all n leaders until none has anything left to say. */
static void gossip(struct bt_leader *const *nodes, size_t n, uint64_t wall)
{
    for (int round = 0; round < 32; round++) {
        size_t moved = 0;
        for (size_t i = 0; i < n; i++) {
            struct bt_leader *others[8];
            size_t k = 0;
            for (size_t j = 0; j < n; j++)
                if (j != i)
                    others[k++] = nodes[j];
            moved += send_to(nodes[i], others, k, wall);
        }
        if (moved == 0)
            return;
    }
    fail_msg("gossip did not quiesce in 32 rounds");
}

/* Drops whatever l wanted to gossip (a partition, or a dead process). */
static void drop_broadcasts(struct bt_leader *l)
{
    struct bt_leader_broadcast b;
    while (bt_leader_pop_broadcast(l, &b))
        ;
}

struct fence_list {
    struct bt_fence *f;
    size_t n;
};

static int collect_fence(const struct bt_fence *f, void *ctx)
{
    struct fence_list *fl = ctx;
    fl->f[fl->n++] = *f;
    return 0;
}

/* from's full state (candidate map and high-water marks) as SNAPSHOT
 * bytes; the caller frees *out. */
static size_t snapshot_bytes(struct bt_leader *from, uint8_t **out)
{
    size_t nf = bt_leader_high_water_count(from);
    struct fence_list fl = {.f = calloc(nf + 1, sizeof(struct bt_fence)), .n = 0};
    assert_non_null(fl.f);
    assert_int_equal(bt_leader_foreach_high_water(from, collect_fence, &fl), 0);
    assert_int_equal(fl.n, nf);
    size_t len = 0;
    assert_int_equal(bt_codec_encode_snapshot(bt_leader_cmap(from), fl.f, fl.n, out, &len), 0);
    free(fl.f);
    return len;
}

/* A push-pull: from's full state, through the codec, merged into to. */
static int full_sync(struct bt_leader *from, struct bt_leader *to, uint64_t wall)
{
    uint8_t *buf;
    size_t len = snapshot_bytes(from, &buf);
    int rc = deliver_bytes(to, buf, len, wall);
    free(buf);
    return rc;
}

/* The marks version moves when a mark's token changes (a mint, a fence
 * that raises it), and stands still when an input changes no mark, so a
 * caller may keep the marks it read while it does. */
static void marks_version_moves_only_with_the_marks(void **state)
{
    (void)state;
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    uint64_t fence = 0;
    uint64_t va = bt_leader_marks_version(a), vb = bt_leader_marks_version(b);
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fence), 1);
    assert_true(bt_leader_marks_version(a) != va);
    va = bt_leader_marks_version(a);

    assert_true(full_sync(a, b, WALL + 1) > 0);
    assert_int_equal(high_water_of(b, "job"), fence);
    assert_true(bt_leader_marks_version(b) != vb);
    vb = bt_leader_marks_version(b);
    /* The same state again raises nothing, in either direction. */
    assert_int_equal(full_sync(a, b, WALL + 2), 0);
    assert_int_equal(bt_leader_marks_version(b), vb);
    assert_int_equal(full_sync(b, a, WALL + 2), 0);
    assert_int_equal(bt_leader_marks_version(a), va);
    bt_leader_free(a);
    bt_leader_free(b);
}

/* ---- the reference's suite ------------------------------------------------- */

static void ref_sole_candidate_becomes_leader(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    uint64_t fence = 0;

    assert_int_equal(lead(a, 11, "job", 0, WALL, &fence), 1);

    assert_true(fence > 0);
    assert_int_equal(bt_hlc_wall(fence), WALL);
    assert_true(is_leader(a, "job"));
    assert_leader(a, "job", "a", 11);
    assert_int_equal(fence_of(a, "job"), fence);
    assert_int_equal(high_water_of(a, "job"), fence);
    assert_candidates(a, "job", 1, (const char *[]){"a"});
    /* The lead() call itself returned leader: no elected event on top. */
    expect_no_event(a);
    /* Gossip: the entry, then the fence. */
    struct bt_leader_broadcast b;
    assert_true(bt_leader_pop_broadcast(a, &b));
    assert_int_equal(b.kind, BT_LEADER_BCAST_ENTRY);
    assert_string_equal(b.entry.node.bytes, "a");
    assert_false(b.entry.removed);
    assert_int_equal(b.entry.cand.candidate_id, 11);
    assert_int_equal(b.entry.cand.boot_id, 1);
    assert_true(bt_leader_pop_broadcast(a, &b));
    assert_int_equal(b.kind, BT_LEADER_BCAST_FENCE);
    assert_int_equal(b.fence.token, fence);
    assert_false(bt_leader_pop_broadcast(a, &b));
    bt_leader_free(a);
}

static void ref_resign_clears_leadership(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    uint64_t fence;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fence), 1);
    gossip(both, 2, WALL);
    assert_leader(b, "job", "a", 11);

    struct bt_name job = nm("job");
    assert_int_equal(bt_leader_resign(a, &job, WALL + 1), 0);

    assert_not_leader(a, "job");
    assert_no_leader(a, "job");
    assert_candidates(a, "job", 0, NULL);
    /* The high-water mark outlives the term. */
    assert_int_equal(high_water_of(a, "job"), fence);
    /* No revoked for a resign. */
    expect_no_event(a);
    assert_int_equal(bt_leader_resign(a, &job, WALL + 2), BATON_ENOENT);
    /* The tombstone reaches the other node. */
    gossip(both, 2, WALL + 2);
    assert_no_leader(b, "job");
    assert_candidates(b, "job", 0, NULL);
    expect_no_event(b);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void ref_session_end_removes_candidacy(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 7, "job1", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 7, "job2", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 8, "job3", 0, WALL, NULL), 1);
    gossip(both, 2, WALL);

    /* Session 7 goes away, like the reference's monitor DOWN. */
    assert_int_equal(bt_leader_session_end(a, 7, WALL + 1), 2);

    assert_no_leader(a, "job1");
    assert_no_leader(a, "job2");
    assert_leader(a, "job3", "a", 8);
    expect_no_event(a);
    assert_int_equal(bt_leader_session_end(a, 7, WALL + 2), 0);
    gossip(both, 2, WALL + 2);
    assert_no_leader(b, "job1");
    assert_no_leader(b, "job2");
    assert_leader(b, "job3", "a", 8);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void ref_duplicate_candidacy_is_already_candidate(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    uint64_t fence, again = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fence), 1);
    drop_broadcasts(a);

    assert_int_equal(lead(a, 11, "job", 0, WALL + 1, &again), BATON_EALREADY);
    assert_int_equal(lead(a, 12, "job", 99, WALL + 1, &again), BATON_EALREADY);

    /* The first candidacy stands, untouched, and nothing was gossiped. */
    assert_int_equal(again, 0);
    assert_leader(a, "job", "a", 11);
    assert_int_equal(fence_of(a, "job"), fence);
    struct bt_leader_broadcast b;
    assert_false(bt_leader_pop_broadcast(a, &b));
    expect_no_event(a);
    bt_leader_free(a);
}

static void ref_lower_node_revokes_us_and_its_death_reelects_us(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    uint64_t fb = 0, fa = 0;
    /* We are b, alone in the race at first. */
    assert_int_equal(lead(b, 22, "job", 0, WALL, &fb), 1);
    gossip(both, 2, WALL);

    /* a, lower in name order, campaigns with the same priority and wins. */
    assert_int_equal(lead(a, 11, "job", 0, WALL + 10, &fa), 1);
    assert_true(fa > fb);
    gossip(both, 2, WALL + 10);

    assert_int_equal(expect_event(b, BT_LEADER_REVOKED, 22, "job"), fb);
    expect_no_event(b);
    assert_not_leader(b, "job");
    assert_leader(b, "job", "a", 11);
    assert_candidates(b, "job", 2, (const char *[]){"a", "b"});

    /* a dies: b leads again, with a token above everything a minted. */
    see_dead(b, "a", 1, WALL + 20);

    uint64_t f2 = expect_event(b, BT_LEADER_ELECTED, 22, "job");
    expect_no_event(b);
    assert_true(f2 > fa);
    assert_int_equal(fence_of(b, "job"), f2);
    assert_leader(b, "job", "b", 22);
    assert_candidates(b, "job", 1, (const char *[]){"b"});
    bt_leader_free(a);
    bt_leader_free(b);
}

static void ref_priority_beats_lower_node_name(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(b, 22, "job", 10, WALL, NULL), 1);
    gossip(both, 2, WALL);

    assert_int_equal(lead(a, 11, "job", 0, WALL + 1, NULL), 0);
    gossip(both, 2, WALL + 1);

    assert_leader(a, "job", "b", 22);
    assert_leader(b, "job", "b", 22);
    assert_not_leader(a, "job");
    assert_true(is_leader(b, "job"));
    assert_candidates(a, "job", 2, (const char *[]){"a", "b"});
    expect_no_event(a);
    expect_no_event(b);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void ref_fence_strictly_increases_across_resign_and_relead(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    struct bt_name job = nm("job");
    uint64_t prev = 0;

    /* On one node, even with its wall clock going backwards. */
    for (int i = 0; i < 5; i++) {
        uint64_t f = 0;
        assert_int_equal(lead(a, 11, "job", 0, WALL - 1000 * (uint64_t)i, &f), 1);
        assert_true(f > prev);
        prev = f;
        assert_int_equal(bt_leader_resign(a, &job, WALL - 1000 * (uint64_t)i), 0);
    }
    gossip(both, 2, WALL);

    /* And across nodes: b's clock is a minute behind, its token is not. */
    uint64_t fb = 0;
    assert_int_equal(lead(b, 22, "job", 0, WALL - 60000, &fb), 1);
    assert_true(fb > prev);
    /* (Receivers' clocks are right: b's stamps are not from the future.) */
    gossip(both, 2, WALL);
    assert_int_equal(high_water_of(a, "job"), fb);
    assert_int_equal(bt_leader_resign(b, &job, WALL - 60000), 0);
    gossip(both, 2, WALL);
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL - 120000, &fa), 1);
    assert_true(fa > fb);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void ref_far_future_fence_forces_next_mint_above_it(void **state)
{
    struct bt_leader *a = node_new("a", 1, 0); /* offset check disabled */
    struct bt_name job = nm("job");
    uint64_t far = bt_hlc_pack(WALL + UINT64_C(365) * 24 * 3600 * 1000, 7);

    assert_int_equal(
        bt_leader_merge_fence(
            a, &job, far, &(struct bt_minter){.node = {.len = 1, .bytes = "z"}, .boot = 9}, WALL),
        1);

    assert_int_equal(high_water_of(a, "job"), far);
    uint64_t f = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &f), 1);
    assert_true(f > far);
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.refused_clock, 0);
    assert_int_equal(c.fences_raised, 1);
    bt_leader_free(a);
}

static void ref_far_future_fence_refused_with_offset_check(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_name job = nm("job");
    uint64_t far = bt_hlc_pack(WALL + UINT64_C(365) * 24 * 3600 * 1000, 7);

    assert_int_equal(
        bt_leader_merge_fence(
            a, &job, far, &(struct bt_minter){.node = {.len = 1, .bytes = "z"}, .boot = 9}, WALL),
        BATON_ECLOCK);

    uint64_t hw;
    assert_int_equal(bt_leader_high_water(a, &job, &hw), BATON_ENOENT);
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.refused_clock, 1);
    assert_int_equal(c.fences_raised, 0);

    /* A message holding one bad stamp among good ones is refused whole. */
    struct bt_centry ok = {.name = nm("other"),
                           .node = nid("b"),
                           .stamp = bt_hlc_pack(WALL, 0),
                           .cand = {.candidate_id = 5, .priority = 0, .boot_id = 2}};
    struct bt_centry bad = ok;
    bad.name = nm("third");
    bad.stamp = far;
    struct bt_centry delta[] = {ok, bad};
    uint8_t buf[1024];
    int len = bt_codec_encode_delta(delta, 2, buf, sizeof buf);
    assert_true(len > 0);
    see_alive(a, "b", 2, WALL);
    assert_int_equal(deliver_bytes(a, buf, (size_t)len, WALL), BATON_ECLOCK);
    assert_no_leader(a, "other");
    struct bt_fence fences[] = {
        {.name = nm("job"), .token = bt_hlc_pack(WALL, 1), .minter = mt("z", 9)},
        {.name = nm("job2"), .token = far, .minter = mt("z", 9)}};
    assert_int_equal(bt_leader_merge_snapshot(a, &ok, 1, fences, 2, WALL), BATON_ECLOCK);
    assert_no_leader(a, "other");
    assert_int_equal(bt_leader_high_water(a, &job, &hw), BATON_ENOENT);
    bt_leader_counters(a, &c);
    assert_int_equal(c.refused_clock, 3);
    assert_int_equal(c.entries_merged, 0);

    /* The next term's token stays at wall-clock time. */
    uint64_t f = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &f), 1);
    assert_int_equal(bt_hlc_wall(f), WALL);
    bt_leader_free(a);
}

/* ---- malformed gossip ---------------------------------------------------------- */

/* splitmix64, the simulator's. */
static uint64_t splitmix64(uint64_t *s) { return bt_splitmix64(s); }

static uint64_t test_seed(void)
{
    const char *s = getenv("BT_SEED");
    return s && *s ? strtoull(s, NULL, 0) : UINT64_C(0x1eade5);
}

/* Decodes len bytes copied against the end of an exact allocation (so
 * ASan catches any over-read) and, only if they decode, merges them.
 * Returns the decode's result; *merge_rc gets the merge's, or 1 if none. */
static int feed(struct bt_leader *l, const uint8_t *bytes, size_t len, uint64_t wall, int *merge_rc)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, bytes, len);
    struct bt_payload p;
    int rc = bt_codec_decode(copy, len, &p);
    *merge_rc = 1;
    if (rc == 0) {
        *merge_rc = bt_leader_merge_payload(l, &p, false, wall);
        bt_payload_free(&p);
    }
    free(copy);
    return rc;
}

/* A DELTA of one live entry: name "job", node "a". Offsets of its fields: */
enum {
    OFF_VERSION = 0,
    OFF_TYPE = 1,
    OFF_COUNT = 2,
    OFF_NAME_LEN = 4,
    OFF_NODE_LEN = 8,
    OFF_NODE = 9,
    OFF_STAMP = 10,
    OFF_REMOVED = 18,
    OFF_CAND_ID = 19,
    OFF_BOOT = 35,
    DELTA_LEN = 43,
};

static size_t valid_delta(uint8_t *buf, size_t cap, uint64_t candidate_id, uint64_t boot_id)
{
    struct bt_centry e = {
        .name = nm("job"),
        .node = nid("z"),
        .stamp = bt_hlc_pack(WALL, 3),
        .cand = {.candidate_id = candidate_id, .priority = 5, .boot_id = boot_id}};
    uint8_t tmp[DELTA_LEN];
    assert_int_equal(bt_codec_encode_delta(&e, 1, tmp, sizeof tmp), DELTA_LEN);
    assert_true(cap >= DELTA_LEN);
    memcpy(buf, tmp, DELTA_LEN);
    return DELTA_LEN;
}

/* A random well-formed DELTA, FENCE or SNAPSHOT about names r0..r7 and
 * nodes a, b, y, z, stamps around WALL (some beyond the clock bound). */
static size_t random_payload(uint64_t *rng, uint8_t *buf, size_t cap)
{
    static const char *const nodes[] = {"a", "b", "y", "z"};
    struct bt_centry e[4];
    struct bt_fence f[4];
    size_t ne = (size_t)(splitmix64(rng) % 4), nf = (size_t)(splitmix64(rng) % 4);
    char rname[16];

    memset(e, 0, sizeof e);
    memset(f, 0, sizeof f);
    for (size_t i = 0; i < ne; i++) {
        snprintf(rname, sizeof rname, "r%d", (int)(splitmix64(rng) % 8));
        e[i].name = nm(rname);
        e[i].node = nid(nodes[splitmix64(rng) % 4]);
        e[i].stamp = bt_hlc_pack(WALL - 20000 + splitmix64(rng) % 40000, (uint32_t)splitmix64(rng));
        e[i].removed = splitmix64(rng) % 3 == 0;
        if (!e[i].removed) {
            e[i].cand.candidate_id = 1 + splitmix64(rng) % 3;
            e[i].cand.priority = (int64_t)(splitmix64(rng) % 5) - 2;
            e[i].cand.boot_id = 1 + splitmix64(rng) % 3;
        }
    }
    for (size_t i = 0; i < nf; i++) {
        snprintf(rname, sizeof rname, "r%d", (int)(splitmix64(rng) % 8));
        f[i].name = nm(rname);
        f[i].token = bt_hlc_pack(WALL - 20000 + splitmix64(rng) % 40000, (uint32_t)splitmix64(rng));
        f[i].minter = mt(nodes[splitmix64(rng) % 4], 1 + splitmix64(rng) % 3);
    }
    int n;
    switch (splitmix64(rng) % 3) {
    case 0: n = bt_codec_encode_delta(e, ne, buf, cap); break;
    case 1: n = bt_codec_encode_fences(f, nf, buf, cap); break;
    default: {
        uint8_t *snap;
        size_t len;
        assert_int_equal(bt_codec_encode_snapshot_array(e, ne, f, nf, &snap, &len), 0);
        assert_true(len <= cap);
        memcpy(buf, snap, len);
        free(snap);
        n = (int)len;
    }
    }
    assert_true(n > 0);
    return (size_t)n;
}

static void ref_malformed_gossip_is_dropped_and_election_still_works(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    /* Each says its clock is fine (fix 9): a vouches for the entries of
     * its own name that the random payloads below carry, so its clock may
     * run ahead within the generous limit, and b accepts what a writes
     * then because a's word vouches for it. */
    struct bt_nodeid ida = nid("a"), idb = nid("b");
    bt_leader_member_word(a, &idb, 2, BT_CLOCK_WORD_FINE, 0);
    bt_leader_member_word(b, &ida, 1, BT_CLOCK_WORD_FINE, 0);
    /* z is a live member, so a well-formed entry of z would count. */
    see_alive(a, "z", 9, WALL);
    uint64_t seed = test_seed();
    print_message("seed %" PRIu64 "; replay: BT_SEED=%" PRIu64
                  " ./tests/leader_test ref_malformed_gossip_is_dropped_and_election_still_works\n",
                  seed, seed);
    size_t decode_rejects = 0, leader_rejects = 0;
    int mrc;
    uint8_t buf[1024];
    size_t len;

    /* 1. Every malformed shape, as bytes. The reference's shapes (a
     * candidate value that is no {Pid, Priority}, a fence that is no
     * timestamp, a fence set that is no map) become, on our wire: */
    struct mutation {
        size_t off;
        uint8_t byte;
    } mutations[] = {
        {OFF_VERSION, 0},  {OFF_VERSION, 1},    {OFF_TYPE, 0},       {OFF_TYPE, 4},
        {OFF_TYPE, 0xFF},  {OFF_COUNT, 0xFF},   {OFF_COUNT + 1, 2},  {OFF_COUNT + 1, 0},
        {OFF_NAME_LEN, 0}, {OFF_NAME_LEN, 200}, {OFF_NODE_LEN, 0},   {OFF_NODE_LEN, 65},
        {OFF_NODE, '/'},   {OFF_NODE, ' '},     {OFF_NODE, 0},       {OFF_STAMP, 0x80},
        {OFF_STAMP, 0xFF}, {OFF_REMOVED, 2},    {OFF_REMOVED, 0xFF}, {OFF_REMOVED, 1},
    };
    for (size_t i = 0; i < sizeof mutations / sizeof mutations[0]; i++) {
        len = valid_delta(buf, sizeof buf, 11, 9);
        buf[mutations[i].off] = mutations[i].byte;
        assert_true(feed(a, buf, len, WALL, &mrc) < 0);
        decode_rejects++;
    }
    /* A trailing byte, and the empty and one-byte inputs. */
    len = valid_delta(buf, sizeof buf, 11, 9);
    buf[len++] = 0;
    assert_true(feed(a, buf, len, WALL, &mrc) < 0);
    assert_true(feed(a, buf, 0, WALL, &mrc) < 0);
    assert_true(feed(a, buf, 1, WALL, &mrc) < 0);
    decode_rejects += 3;
    /* A fence that is no timestamp (above INT64_MAX), or has no name. */
    struct bt_fence fence = {
        .name = nm("job"), .token = bt_hlc_pack(WALL, 1), .minter = mt("z", 9)};
    int flen = bt_codec_encode_fences(&fence, 1, buf, sizeof buf);
    assert_true(flen > 0);
    buf[flen - 18] = 0x80; /* the token's top byte (the minter is "z", then its boot) */
    assert_true(feed(a, buf, (size_t)flen, WALL, &mrc) < 0);
    buf[4] = 0;
    assert_true(feed(a, buf, (size_t)flen, WALL, &mrc) < 0);
    decode_rejects += 2;
    /* A fence set that is no list: counts that lie about what follows. */
    uint8_t *snap;
    size_t slen = snapshot_bytes(a, &snap);
    assert_true(slen >= BT_CODEC_SNAPSHOT_HEADER);
    snap[2] = 0xFF; /* nentries far beyond the bytes */
    assert_true(feed(a, snap, slen, WALL, &mrc) < 0);
    snap[2] = 0;
    snap[slen - 1] = 1; /* nfences 1, no fence */
    assert_true(feed(a, snap, slen, WALL, &mrc) < 0);
    decode_rejects += 2;
    free(snap);

    /* 2. Shapes the codec accepts but no honest node sends: a candidacy
     * with candidate id 0 or boot 0. The leader refuses them itself. */
    len = valid_delta(buf, sizeof buf, 0, 9);
    assert_int_equal(feed(a, buf, len, WALL, &mrc), 0);
    assert_int_equal(mrc, BATON_EPROTO);
    len = valid_delta(buf, sizeof buf, 11, 0);
    assert_int_equal(feed(a, buf, len, WALL, &mrc), 0);
    assert_int_equal(mrc, BATON_EPROTO);
    struct bt_payload empty = {.type = BT_PAYLOAD_NONE};
    assert_int_equal(bt_leader_merge_payload(a, &empty, false, WALL), BATON_EPROTO);
    struct bt_centry bad_tomb = {.name = nm("job"),
                                 .node = nid("z"),
                                 .stamp = 5,
                                 .removed = true,
                                 .cand = {.candidate_id = 3}};
    assert_int_equal(bt_leader_merge_entry(a, &bad_tomb, WALL), BATON_EPROTO);
    leader_rejects += 4;

    /* 3. Every truncation of valid DELTA, FENCE and SNAPSHOT payloads. */
    assert_int_equal(lead(b, 22, "job", 0, WALL, NULL), 1);
    uint8_t *full;
    size_t flen_full = snapshot_bytes(b, &full);
    len = valid_delta(buf, sizeof buf, 11, 9);
    for (size_t cut = 0; cut < len; cut++) {
        assert_true(feed(a, buf, cut, WALL, &mrc) < 0);
        decode_rejects++;
    }
    for (size_t cut = 0; cut < flen_full; cut++) {
        assert_true(feed(a, full, cut, WALL, &mrc) < 0);
        decode_rejects++;
    }
    flen = bt_codec_encode_fences(&fence, 1, buf, sizeof buf);
    for (size_t cut = 0; cut < (size_t)flen; cut++) {
        assert_true(feed(a, buf, cut, WALL, &mrc) < 0);
        decode_rejects++;
    }
    free(full);
    drop_broadcasts(b);

    /* 4. Random bytes: 10 000 strings. A third are pure noise, a third
     * open like a real payload so the decoder gets past the header, and a
     * third are real payloads of random well-formed content (other names
     * than "job", some of them a's own keys and campaigns) with zero to two
     * bytes changed, so that many decode and reach the leader. Whatever
     * decodes goes to the leader, which must take it or refuse it, never
     * crash, and never lose an output. */
    for (int i = 0; i < 4; i++) {
        char rname[16];
        snprintf(rname, sizeof rname, "r%d", i);
        assert_true(lead(a, 100 + (uint64_t)i, rname, i, WALL, NULL) >= 0);
    }
    uint64_t rng = seed;
    size_t decoded = 0, accepted = 0;
    for (int i = 0; i < 10000; i++) {
        if (i % 3 == 2) {
            len = random_payload(&rng, buf, sizeof buf);
            for (uint64_t k = splitmix64(&rng) % 3; k > 0 && len > 0; k--)
                buf[splitmix64(&rng) % len] = (uint8_t)splitmix64(&rng);
        } else {
            len = (size_t)(splitmix64(&rng) % 200);
            for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)splitmix64(&rng);
            if (len >= 2 && i % 3 == 1) {
                buf[0] = BT_CODEC_VERSION;
                buf[1] = (uint8_t)(1 + splitmix64(&rng) % 3);
            }
        }
        if (feed(a, buf, len, WALL, &mrc) == 0) {
            decoded++;
            if (mrc == BATON_EPROTO)
                leader_rejects++;
            else
                assert_true(mrc >= 0 || mrc == BATON_ECLOCK);
            accepted += mrc >= 0;
        } else {
            decode_rejects++;
        }
        /* Drain like a driver would; the queues must stay bounded. */
        drop_broadcasts(a);
        while (bt_leader_pop_event(a, &(struct bt_leader_event){0}))
            ;
    }
    print_message("random: %zu of 10000 decoded, %zu accepted\n", decoded, accepted);
    assert_true(accepted > 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(bt_leader_session_end(a, 100 + (uint64_t)i, WALL), 1);
    drop_broadcasts(a);

    /* 5. Nothing of that elected anyone, and a well-formed election works. */
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.refused_malformed, leader_rejects);
    assert_true(decode_rejects >= 27 + 43); /* parts 1 and 3 at least */
    drop_broadcasts(a);
    assert_no_leader(a, "job");
    assert_candidates(a, "job", 0, NULL);
    struct bt_name job = nm("job");
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL + 1, &fa), 1);
    assert_true(fa > 0);
    gossip(both, 2, WALL + 1);
    assert_leader(a, "job", "a", 11);
    assert_leader(b, "job", "a", 11);
    assert_true(expect_event(b, BT_LEADER_REVOKED, 22, "job") > 0);
    assert_int_equal(bt_leader_resign(a, &job, WALL + 2), 0);
    gossip(both, 2, WALL + 2);
    uint64_t fb2 = expect_event(b, BT_LEADER_ELECTED, 22, "job");
    assert_true(fb2 > fa);
    bt_leader_free(a);
    bt_leader_free(b);
}

/* ---- baton's fixes ---------------------------------------------------------------- */

static void term_refresh_when_high_water_overtakes_term(void **state)
{
    /* a and b are cut off from each other and each leads on its side. */
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    uint64_t fa = 0, fb = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    assert_int_equal(lead(b, 22, "job", 0, WALL + 5000, &fb), 1);
    assert_true(fb > fa);
    drop_broadcasts(a);
    drop_broadcasts(b);

    /* The partition heals; a receives b's full state first. a still wins
     * (lower name), but the cluster has seen a token above a's term. */
    assert_true(full_sync(b, a, WALL + 5001) > 0);

    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    uint64_t fa2 = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    expect_no_event(a);
    assert_true(fa2 > fb);
    assert_int_equal(fence_of(a, "job"), fa2);
    assert_int_equal(high_water_of(a, "job"), fa2);
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.term_refreshes, 1);

    /* b hears a's full state (its entry and its new term) and steps down;
     * both agree. */
    assert_true(full_sync(a, b, WALL + 5001) > 0);
    assert_int_equal(expect_event(b, BT_LEADER_REVOKED, 22, "job"), fb);
    expect_no_event(b);
    send_to(a, (struct bt_leader *[]){b}, 1, WALL + 5001);
    expect_no_event(b);
    assert_leader(b, "job", "a", 11);
    assert_int_equal(high_water_of(b, "job"), fa2);
    /* An echo of a's own token changes nothing. */
    struct bt_name job = nm("job");
    assert_int_equal(
        bt_leader_merge_fence(a, &job, fa2,
                              &(struct bt_minter){.node = {.len = 1, .bytes = "a"}, .boot = 1},
                              WALL + 5002),
        0);
    expect_no_event(a);
    bt_leader_free(a);
    bt_leader_free(b);
}

/* Whether two leaders' candidate maps have the same digest. */
static bool same_digest(struct bt_leader *a, struct bt_leader *b)
{
    return memcmp(bt_leader_cmap(a)->digest, bt_leader_cmap(b)->digest,
                  sizeof bt_leader_cmap(a)->digest) == 0;
}

/* Finding E15: the digest covers a name's high-water mark while the name
 * has a live entry, so a replica that missed a fence shows in it; with no
 * live entry the mark is out (replicas age such marks each on its own). */
static void digest_covers_the_mark_of_a_name_with_a_live_entry(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_name job = nm("job");
    struct bt_minter c = mt("c", 3);
    struct bt_centry e = {.name = job, .node = c.node, .stamp = bt_hlc_pack(WALL, 1)};
    e.cand = (struct bt_cand){.candidate_id = 33, .boot_id = 3};
    assert_int_equal(bt_leader_merge_entry(a, &e, WALL), 1);
    assert_int_equal(bt_leader_merge_entry(b, &e, WALL), 1);
    assert_true(same_digest(a, b));

    /* c's term reaches a alone: the digests differ until b has it too. */
    uint64_t t1 = bt_hlc_pack(WALL, 2);
    assert_int_equal(bt_leader_merge_fence(a, &job, t1, &c, WALL), 1);
    assert_false(same_digest(a, b));
    assert_int_equal(bt_leader_merge_fence(b, &job, t1, &c, WALL), 1);
    assert_true(same_digest(a, b));
    /* Another minter of the same token is the same mark. */
    struct bt_minter d = mt("d", 4);
    assert_int_equal(bt_leader_merge_fence(a, &job, t1, &d, WALL), 1);
    assert_true(same_digest(a, b));

    /* The last live entry goes: the marks are out, equal or not. */
    uint64_t t2 = bt_hlc_pack(WALL, 3);
    assert_int_equal(bt_leader_merge_fence(a, &job, t2, &c, WALL), 1);
    assert_false(same_digest(a, b));
    struct bt_centry gone = {.name = job, .node = c.node, .stamp = bt_hlc_pack(WALL, 4)};
    gone.removed = true;
    assert_int_equal(bt_leader_merge_entry(a, &gone, WALL), 1);
    assert_int_equal(bt_leader_merge_entry(b, &gone, WALL), 1);
    assert_true(same_digest(a, b));
    assert_int_equal(high_water_of(a, "job"), t2);
    assert_int_equal(high_water_of(b, "job"), t1);

    /* A new live entry brings them back in, as each replica holds them. */
    e.stamp = bt_hlc_pack(WALL, 5);
    assert_int_equal(bt_leader_merge_entry(a, &e, WALL), 1);
    assert_int_equal(bt_leader_merge_entry(b, &e, WALL), 1);
    assert_false(same_digest(a, b));
    assert_int_equal(bt_leader_merge_fence(b, &job, t2, &c, WALL), 1);
    assert_true(same_digest(a, b));
    bt_leader_free(a);
    bt_leader_free(b);
}

static void owner_authority_retombstones_stale_entry_for_self(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 1);
    gossip((struct bt_leader *[]){a, b}, 2, WALL);
    assert_leader(b, "job", "a", 11);

    /* a's process crashes and restarts (boot 3) before b has noticed: b
     * still believes a is boot 1 and still counts a's old candidacy. */
    bt_leader_free(a);
    a = node_new("a", 3, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL + 100);

    /* b's full sync hands the restarted a its own stale entry. */
    assert_true(full_sync(b, a, WALL + 100) > 0);

    /* a tombstones it above the stale stamp and tells everyone. */
    struct bt_leader_broadcast bc;
    assert_true(bt_leader_pop_broadcast(a, &bc));
    assert_int_equal(bc.kind, BT_LEADER_BCAST_ENTRY);
    assert_string_equal(bc.entry.node.bytes, "a");
    assert_true(bc.entry.removed);
    struct bt_name job = nm("job");
    struct bt_nodeid self = nid("a");
    const struct bt_cstored *stale = bt_cmap_get(bt_leader_cmap(b), &job, &self);
    assert_non_null(stale);
    assert_true(bc.entry.stamp > stale->stamp);
    uint8_t buf[512];
    size_t len = encode_broadcast(&bc, buf, sizeof buf);
    assert_int_equal(deliver_bytes(b, buf, len, WALL + 100), 1);
    assert_no_leader(b, "job");
    assert_candidates(b, "job", 0, NULL);
    assert_no_leader(a, "job");
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.owner_rewrites, 1);
    /* A second stale sync now changes nothing anywhere. */
    assert_int_equal(full_sync(b, a, WALL + 101), 0);
    assert_false(bt_leader_pop_broadcast(a, &bc));
    bt_leader_free(a);
    bt_leader_free(b);
}

static void owner_authority_readds_live_candidacy_over_newer_stale_entry(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    uint64_t old_fence = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &old_fence), 1);
    gossip((struct bt_leader *[]){a, b}, 2, WALL);

    /* a restarts (boot 3) with its wall clock 5 s behind and campaigns
     * again: its new entry carries a smaller stamp than its old one. */
    bt_leader_free(a);
    a = node_new("a", 3, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL - 5000);
    see_alive(b, "a", 3, WALL);
    uint64_t new_fence = 0;
    assert_int_equal(lead(a, 33, "job", 0, WALL - 5000, &new_fence), 1);
    assert_true(new_fence < old_fence);
    send_to(a, (struct bt_leader *[]){b}, 1, WALL);
    /* b keeps the old entry (greater stamp), of a dead boot: no leader. */
    assert_no_leader(b, "job");

    /* b's full sync brings the old entry to a, which re-adds its live
     * candidacy above it. */
    assert_true(full_sync(b, a, WALL - 5000) > 0);

    struct bt_leader_broadcast bc;
    assert_true(bt_leader_pop_broadcast(a, &bc));
    assert_int_equal(bc.kind, BT_LEADER_BCAST_ENTRY);
    assert_false(bc.entry.removed);
    assert_int_equal(bc.entry.cand.candidate_id, 33);
    assert_int_equal(bc.entry.cand.boot_id, 3);
    struct bt_name job = nm("job");
    struct bt_nodeid self = nid("a");
    assert_true(bc.entry.stamp > bt_cmap_get(bt_leader_cmap(b), &job, &self)->stamp);
    uint8_t buf[512];
    size_t len = encode_broadcast(&bc, buf, sizeof buf);
    assert_int_equal(deliver_bytes(b, buf, len, WALL), 1);
    assert_leader(b, "job", "a", 33);
    assert_leader(a, "job", "a", 33);
    /* The same sync showed a the old boot's token, above its current term:
     * fix 3 ends that term and starts one above it. */
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 33, "job"), new_fence);
    uint64_t refreshed = expect_event(a, BT_LEADER_ELECTED, 33, "job");
    expect_no_event(a);
    assert_true(refreshed > old_fence);
    assert_true(is_leader(a, "job"));
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.owner_rewrites, 1);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void restarted_boot_entries_do_not_count(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "job", 5, WALL, NULL), 1);
    gossip((struct bt_leader *[]){a, b}, 2, WALL);
    assert_int_equal(lead(b, 22, "job", 0, WALL, NULL), 0);
    assert_leader(b, "job", "a", 11);

    /* Membership reports a back with a new boot: it restarted, so the
     * candidacy of its previous life is over, live entry or not. */
    see_alive(b, "a", 4, WALL + 10);

    uint64_t f = expect_event(b, BT_LEADER_ELECTED, 22, "job");
    assert_true(f > 0);
    assert_leader(b, "job", "b", 22);
    assert_candidates(b, "job", 1, (const char *[]){"b"});
    /* The entry is still in the map: it just does not count. */
    struct bt_name job = nm("job");
    struct bt_nodeid an = nid("a");
    const struct bt_cstored *old = bt_cmap_get(bt_leader_cmap(b), &job, &an);
    assert_non_null(old);
    assert_false(old->removed);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void suspect_node_keeps_its_candidacy(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 1);
    gossip((struct bt_leader *[]){a, b}, 2, WALL);
    assert_int_equal(lead(b, 22, "job", 0, WALL, NULL), 0);

    /* a turns suspect, is refuted, turns suspect again: all "live". */
    struct bt_nodeid an = nid("a");
    for (int i = 0; i < 5; i++)
        assert_int_equal(bt_leader_member(b, &an, 1, true, WALL + 10 * (uint64_t)i), 0);

    expect_no_event(b);
    assert_leader(b, "job", "a", 11);
    struct bt_leader_counters c;
    bt_leader_counters(b, &c);
    assert_int_equal(c.member_changes, 1); /* only the first see_alive */
    bt_leader_free(a);
    bt_leader_free(b);
}

/* Scale: a thousand local campaigns all lose to, and win back from, one
 * node on membership changes, each with its own event. */
static void thousand_names_follow_membership(void **state)
{
    enum { N = 1000 };
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "shard-%d", i);
        assert_int_equal(lead(a, 11, name, 1, WALL, NULL), 1);
        assert_int_equal(lead(b, 22, name, 0, WALL, NULL), 1);
    }
    gossip((struct bt_leader *[]){a, b}, 2, WALL);
    /* b did not know a as a member yet; whatever it felt so far is moot. */
    while (bt_leader_pop_event(b, &(struct bt_leader_event){0}))
        ;
    /* Both minted in the same millisecond: equal tokens. a, the winner,
     * moved each of its terms above b's (a revoked/elected pair per name),
     * and leads with a token above everything b minted. */
    size_t pairs = 0;
    struct bt_leader_event ev;
    while (bt_leader_pop_event(a, &ev)) {
        assert_int_equal(ev.kind, BT_LEADER_REVOKED);
        assert_true(bt_leader_pop_event(a, &ev));
        assert_int_equal(ev.kind, BT_LEADER_ELECTED);
        pairs++;
    }
    assert_int_equal(pairs, N);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "shard-%d", i);
        assert_true(is_leader(a, name));
        assert_int_equal(fence_of(a, name), high_water_of(b, name));
    }

    see_dead(a, "b", 2, WALL + 1);
    expect_no_event(a); /* b had lower priority everywhere */
    /* b, which could not see a, stepped back when a's terms overtook its
     * own; once it sees a, it stays back. */
    see_alive(b, "a", 1, WALL + 2);
    expect_no_event(b);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "shard-%d", i);
        struct bt_name n = nm(name);
        uint64_t f;
        assert_int_equal(bt_leader_fence(b, &n, &f, NULL), BATON_ENOTLEADER);
    }
    see_dead(b, "a", 1, WALL + 3);
    size_t elected = 0;
    while (bt_leader_pop_event(b, &ev)) {
        assert_int_equal(ev.kind, BT_LEADER_ELECTED);
        elected++;
    }
    assert_int_equal(elected, N);
    struct bt_name last = nm("shard-999");
    assert_int_equal(bt_leader_session_end(a, 11, WALL + 4), N);
    assert_false(bt_leader_is_leader(a, &last));
    bt_leader_free(a);
    bt_leader_free(b);
}

static void bad_arguments_are_refused(void **state)
{
    struct bt_leader_config cfg = {.self = nid("a"), .boot_id = 0};
    assert_null(bt_leader_new(&cfg));
    cfg.boot_id = 1;
    cfg.self.bytes[0] = '/';
    assert_null(bt_leader_new(&cfg));
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    assert_int_equal(lead(a, 0, "job", 0, WALL, NULL), BATON_EINVAL);
    struct bt_nodeid bad = nid("b");
    bad.bytes[0] = ' ';
    assert_int_equal(bt_leader_member(a, &bad, 1, true, WALL), BATON_EINVAL);
    /* Input about self is ignored: self is always live. */
    struct bt_nodeid self = nid("a");
    assert_int_equal(bt_leader_member(a, &self, 99, false, WALL), 0);
    assert_int_equal(lead(a, 1, "job", 0, WALL, NULL), 1);
    bt_leader_free(a);
    bt_leader_free(NULL);
}

/* Fix 4 with finding E8: news a push-pull brings is gossiped on, once, so a
 * healed partition spreads it in hops; a merge without regossip (a join's
 * catch-up) queues nothing. */
static void snapshot_news_is_regossiped_once(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *c = node_new("c", 3, DEFAULT_OFFSET);
    see_alive(b, "a", 1, WALL);
    see_alive(c, "a", 1, WALL);
    uint64_t fence;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fence), 1);
    drop_broadcasts(a); /* a was cut off when it led: nobody heard */

    uint8_t *snap;
    size_t len = snapshot_bytes(a, &snap);
    struct bt_payload p;
    assert_int_equal(bt_codec_decode(snap, len, &p), 0);
    assert_int_equal(bt_leader_merge_payload(b, &p, true, WALL), 2);
    struct bt_leader_broadcast bc;
    assert_true(bt_leader_pop_broadcast(b, &bc));
    assert_int_equal(bc.kind, BT_LEADER_BCAST_ENTRY);
    assert_string_equal(bc.entry.node.bytes, "a");
    assert_int_equal(bc.entry.cand.candidate_id, 11);
    assert_true(bt_leader_pop_broadcast(b, &bc));
    assert_int_equal(bc.kind, BT_LEADER_BCAST_FENCE);
    assert_int_equal(bc.fence.token, fence);
    assert_string_equal(bc.fence.minter.node.bytes, "a");
    assert_false(bt_leader_pop_broadcast(b, &bc));
    /* The same state again is no news: nothing more to say. */
    assert_int_equal(bt_leader_merge_payload(b, &p, true, WALL), 0);
    assert_false(bt_leader_pop_broadcast(b, &bc));
    /* Without regossip the state is merged and nothing is queued. */
    assert_int_equal(bt_leader_merge_payload(c, &p, false, WALL), 2);
    assert_false(bt_leader_pop_broadcast(c, &bc));
    assert_leader(c, "job", "a", 11);
    /* A broadcast's news is gossiped on the same way. */
    struct bt_leader *d = node_new("d", 4, DEFAULT_OFFSET);
    struct bt_name jn = nm("job");
    struct bt_nodeid an = nid("a");
    struct bt_centry e;
    bt_cstored_entry(bt_cmap_get(bt_leader_cmap(a), &jn, &an), &e);
    struct bt_payload delta = {.type = BT_PAYLOAD_DELTA, .entries = &e, .nentries = 1};
    assert_int_equal(bt_leader_merge_payload(d, &delta, true, WALL), 1);
    assert_true(bt_leader_pop_broadcast(d, &bc));
    assert_int_equal(bc.kind, BT_LEADER_BCAST_ENTRY);
    assert_false(bt_leader_pop_broadcast(d, &bc));
    bt_leader_free(d);
    struct bt_leader_counters n;
    bt_leader_counters(b, &n);
    assert_int_equal(n.regossiped, 2);
    bt_leader_counters(c, &n);
    assert_int_equal(n.regossiped, 0);

    bt_payload_free(&p);
    free(snap);
    bt_leader_free(a);
    bt_leader_free(b);
    bt_leader_free(c);
}

/* ---- leaving and ageing ------------------------------------------------------ */

static void resign_all_withdraws_every_candidacy_without_events(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "x", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 12, "y", 0, WALL, NULL), 1);
    gossip(both, 2, WALL);
    assert_int_equal(lead(b, 21, "x", 0, WALL, NULL), 0);
    gossip(both, 2, WALL);

    assert_int_equal(bt_leader_resign_all(a, WALL + 1), 2);
    expect_no_event(a);
    gossip(both, 2, WALL + 1);

    assert_leader(b, "x", "b", 21);
    assert_no_leader(b, "y");
    assert_true(expect_event(b, BT_LEADER_ELECTED, 21, "x") > 0);
    assert_int_equal(bt_leader_resign_all(a, WALL + 2), 0);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void refresh_restamps_only_old_own_live_entries(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "old", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 12, "new", 0, WALL + 5000, NULL), 1);
    gossip(both, 2, WALL + 5000);

    /* Only the entry stamped before the cut is re-stamped, above the cut. */
    uint64_t cut = bt_hlc_pack(WALL + 1000, 0);
    assert_int_equal(bt_leader_refresh(a, cut, WALL + 6000), 1);
    struct bt_leader_broadcast bc;
    assert_true(bt_leader_pop_broadcast(a, &bc));
    assert_int_equal(bc.kind, BT_LEADER_BCAST_ENTRY);
    assert_memory_equal(bc.entry.name.bytes, "old", 3);
    assert_false(bc.entry.removed);
    assert_true(bc.entry.stamp >= bt_hlc_pack(WALL + 6000, 0));
    assert_false(bt_leader_pop_broadcast(a, &bc));
    /* The term is untouched: no event, same leader everywhere. */
    expect_no_event(a);
    assert_true(is_leader(a, "old"));
    assert_int_equal(bt_leader_refresh(a, cut, WALL + 6001), 0);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void expire_forgets_old_entries_but_keeps_own_live_ones(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(b, 21, "job", 0, WALL, NULL), 1);
    assert_int_equal(lead(b, 22, "gone", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 11, "mine", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 12, "job", 0, WALL, NULL), 1);
    gossip(both, 2, WALL);
    assert_int_equal(bt_leader_resign(b, &(struct bt_name){.len = 4, .bytes = "gone"}, WALL + 1),
                     0);
    gossip(both, 2, WALL + 1);
    assert_int_equal(bt_leader_cmap(a)->nentries, 4);

    /* Everything of b is older than the cutoff: its live entry and its
     * tombstone go; a's own live entries stay. */
    int n = bt_leader_expire(a, bt_hlc_pack(WALL + 100, 0), WALL + 100);
    assert_int_equal(n, 2);
    assert_int_equal(bt_leader_cmap(a)->nentries, 2);
    assert_leader(a, "mine", "a", 11);
    assert_leader(a, "job", "a", 12);
    assert_candidates(a, "job", 1, (const char *[]){"a"});
    /* A mark goes with the last live candidacy of its name, once older
     * than the cutoff (fix 11); a campaigned name keeps its mark. */
    uint64_t t;
    assert_int_equal(bt_leader_high_water(a, &(struct bt_name){.len = 4, .bytes = "gone"}, &t),
                     BATON_ENOENT);
    assert_true(high_water_of(a, "job") > 0);
    assert_true(high_water_of(a, "mine") > 0);
    expect_no_event(a);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void expire_of_the_winner_elects_the_next(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 1);
    gossip(both, 2, WALL);
    assert_int_equal(lead(b, 21, "job", 0, WALL + 5000, NULL), 0);
    gossip(both, 2, WALL + 5000);

    /* a's entry ages out at b (a stopped refreshing it): b leads. */
    assert_int_equal(bt_leader_expire(b, bt_hlc_pack(WALL + 1000, 0), WALL + 6000), 1);
    assert_true(expect_event(b, BT_LEADER_ELECTED, 21, "job") > high_water_of(a, "job"));
    bt_leader_free(a);
    bt_leader_free(b);
}

/* ---- bounded state (fix 11) ---------------------------------------------------- */

static struct bt_leader *node_new_bounded(const char *self, uint64_t boot_id, uint64_t horizon_ms,
                                          size_t max_names)
{
    struct bt_leader_config cfg = {.self = nid(self),
                                   .boot_id = boot_id,
                                   .max_clock_offset_ms = DEFAULT_OFFSET,
                                   .horizon_ms = horizon_ms,
                                   .max_names = max_names};
    struct bt_leader *l = bt_leader_new(&cfg);
    assert_non_null(l);
    return l;
}

/* A mark ages out only when its name has no live candidacy and the mark is
 * older than the cutoff; an aged-out mark is not brought back by a peer
 * that still holds it; and the next mint is above it anyway. */
static void marks_age_out_without_candidacy_and_stay_out(void **state)
{
    const uint64_t H = 60000;
    struct bt_leader *a = node_new_bounded("a", 1, H, 0);
    struct bt_leader *b = node_new_bounded("b", 2, H, 0);
    uint64_t old = 0, kept = 0;
    assert_int_equal(lead(a, 11, "old", 0, WALL, &old), 1);
    assert_int_equal(lead(a, 12, "kept", 0, WALL, &kept), 1);
    assert_int_equal(bt_leader_resign(a, &(struct bt_name){.len = 3, .bytes = "old"}, WALL + 1), 0);

    /* Before the cutoff passes the mark, nothing ages. */
    uint64_t version = bt_leader_marks_version(a);
    assert_int_equal(bt_leader_expire(a, bt_hlc_pack(WALL - 1, 0), WALL + H - 1), 0);
    assert_int_equal(high_water_of(a, "old"), old);
    assert_int_equal(bt_leader_marks_version(a), version);

    /* Two horizons later: "old" (tombstone only) loses its entry and its
     * mark; "kept" (campaigned) keeps both. */
    uint64_t later = WALL + 2 * H;
    assert_int_equal(bt_leader_expire(a, bt_hlc_pack(later - H, 0), later), 1);
    uint64_t t;
    assert_int_equal(bt_leader_high_water(a, &(struct bt_name){.len = 3, .bytes = "old"}, &t),
                     BATON_ENOENT);
    assert_int_equal(high_water_of(a, "kept"), kept);
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.marks_expired, 1);
    assert_int_equal(bt_leader_high_water_count(a), 1);
    assert_true(bt_leader_marks_version(a) != version); /* the mark aged out */
    expect_no_event(a);

    /* b never aged it: its fence, older than the horizon, for a name a
     * holds no mark and no live candidacy for, is refused. */
    struct bt_name oldn = nm("old");
    struct bt_minter an = mt("a", 1);
    assert_int_equal(bt_leader_merge_fence(b, &oldn, old, &an, WALL + 10), 1);
    assert_int_equal(bt_leader_merge_fence(a, &oldn, old, &an, later), 0);
    assert_int_equal(bt_leader_high_water(a, &oldn, &t), BATON_ENOENT);
    bt_leader_counters(a, &c);
    assert_int_equal(c.fences_too_old, 1);
    /* ...unless it comes with a live candidacy of its name. */
    struct bt_centry live;
    memset(&live, 0, sizeof live);
    live.name = oldn;
    live.node = nid("b");
    live.stamp = bt_hlc_pack(later, 0);
    live.cand = (struct bt_cand){.candidate_id = 21, .priority = 0, .boot_id = 2};
    struct bt_fence fence;
    memset(&fence, 0, sizeof fence);
    fence.name = oldn;
    fence.token = old;
    fence.minter = an;
    assert_int_equal(bt_leader_merge_snapshot(a, &live, 1, &fence, 1, later), 2);
    assert_int_equal(high_water_of(a, "old"), old);

    /* A fresh mint after the horizon is above the aged-out mark. */
    struct bt_leader *c2 = node_new_bounded("c", 3, H, 0);
    uint64_t fresh = 0;
    assert_int_equal(lead(c2, 31, "old", 0, later, &fresh), 1);
    assert_true(fresh > old);
    bt_leader_free(a);
    bt_leader_free(b);
    bt_leader_free(c2);
}

/* max_names: lead() on a new name past the cap is BATON_ELIMIT; entries and
 * fences of new names from peers past it are refused and counted, the rest
 * of their input merged; names already held keep working. */
static void names_past_the_cap_are_refused(void **state)
{
    struct bt_leader *a = node_new_bounded("a", 1, 0, 2);
    see_alive(a, "b", 2, WALL);
    assert_int_equal(lead(a, 11, "one", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 11, "two", 0, WALL, NULL), 1);
    assert_int_equal(lead(a, 11, "three", 0, WALL, NULL), BATON_ELIMIT);
    assert_int_equal(bt_leader_names(a), 2);

    /* A delta with an entry for a held name and one for a new name. */
    struct bt_centry e[2];
    memset(e, 0, sizeof e);
    e[0].name = nm("two");
    e[1].name = nm("four");
    for (int i = 0; i < 2; i++) {
        e[i].node = nid("b");
        e[i].stamp = bt_hlc_pack(WALL + 1, 0);
        e[i].cand = (struct bt_cand){.candidate_id = 21, .priority = 5, .boot_id = 2};
    }
    struct bt_payload delta = {.type = BT_PAYLOAD_DELTA, .entries = e, .nentries = 2};
    assert_int_equal(bt_leader_merge_payload(a, &delta, false, WALL + 1), 1);
    assert_leader(a, "two", "b", 21);
    struct bt_nodeid who;
    assert_int_equal(bt_leader_leader(a, &e[1].name, &who, NULL), BATON_ENOLEADER);
    struct bt_name five = nm("five");
    struct bt_minter bn = mt("b", 2);
    assert_int_equal(bt_leader_merge_fence(a, &five, bt_hlc_pack(WALL + 2, 0), &bn, WALL + 2), 0);
    uint64_t t;
    assert_int_equal(bt_leader_high_water(a, &five, &t), BATON_ENOENT);
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.names_refused, 2);
    assert_true(bt_name_eq(&c.last_refused_name, &five));
    assert_int_equal(bt_leader_names(a), 2);

    /* A resigned name still holds state (its tombstone): still no room. */
    assert_int_equal(bt_leader_resign(a, &(struct bt_name){.len = 3, .bytes = "one"}, WALL + 3), 0);
    assert_int_equal(lead(a, 12, "three", 0, WALL + 3, NULL), BATON_ELIMIT);
    /* Once it is forgotten (entry and mark aged out), there is. */
    assert_true(bt_leader_expire(a, bt_hlc_pack(WALL + 10, 0), WALL + 20) >= 1);
    assert_int_equal(bt_leader_names(a), 1);
    assert_int_equal(lead(a, 12, "three", 0, WALL + 20, NULL), 1);
    assert_int_equal(bt_leader_names(a), 2);
    bt_leader_free(a);
}

/* ---- shared tokens, unseen rivals, observed marks ------------------------------ */

static void equal_token_from_another_minter_moves_the_winner_above_it(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    uint64_t fa = 0, fb = 0;
    /* Both campaign in the same millisecond, before hearing each other. */
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    assert_int_equal(lead(b, 22, "job", 0, WALL, &fb), 1);
    assert_int_equal(fa, fb);
    gossip((struct bt_leader *[]){a, b}, 2, WALL);

    /* The resource may have admitted b's copy of the token first: a must
     * not keep it. It ends that term and starts one above. */
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    uint64_t fa2 = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    expect_no_event(a);
    assert_true(fa2 > fb);
    assert_int_equal(expect_event(b, BT_LEADER_REVOKED, 22, "job"), fb);
    expect_no_event(b);
    assert_leader(b, "job", "a", 11);
    assert_int_equal(high_water_of(b, "job"), fa2);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void leader_overtaken_by_a_rival_it_cannot_see_waits_for_its_view(void **state)
{
    /* b does not know a as a member: it cannot count a's candidacy, so it
     * believes it wins. a sees both and wins (lower name). */
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    assert_int_equal(lead(b, 22, "job", 0, WALL, NULL), 1);
    gossip((struct bt_leader *[]){a, b}, 2, WALL);
    assert_int_equal(lead(a, 11, "job", 0, WALL + 10, NULL), 1);
    /* Without the wait, a and b would overtake each other in turn for as
     * long as b cannot see a; gossip() fails if they never go quiet. */
    gossip((struct bt_leader *[]){a, b}, 2, WALL + 10);

    expect_event(b, BT_LEADER_REVOKED, 22, "job");
    expect_no_event(b);
    /* b still computes itself the winner (is_leader is that computation)
     * but holds no term while it waits. */
    struct bt_name job = nm("job");
    uint64_t f;
    assert_int_equal(bt_leader_fence(b, &job, &f, NULL), BATON_ENOTLEADER);
    assert_true(is_leader(a, "job"));
    struct bt_leader_counters c;
    bt_leader_counters(b, &c);
    assert_int_equal(c.term_deferrals, 1);

    assert_int_equal(bt_leader_deferred(b), 1);

    /* Any new view ends the wait (here a verdict about another member):
     * b leads again, above everything it has seen. */
    see_alive(b, "c", 3, WALL + 20);
    uint64_t fb2 = expect_event(b, BT_LEADER_ELECTED, 22, "job");
    assert_true(fb2 > fence_of(a, "job"));
    assert_int_equal(bt_leader_deferred(b), 0);

    /* Overtaken again by the rival it still cannot see, it waits again;
     * and a rival that minted and died unseen brings no new view, so the
     * driver's periodic retry ends the wait too. */
    drop_broadcasts(b);
    struct bt_minter an = mt("a", 1);
    assert_true(bt_leader_merge_fence(b, &job, fb2 + 1, &an, WALL + 30) > 0);
    expect_event(b, BT_LEADER_REVOKED, 22, "job");
    expect_no_event(b);
    assert_int_equal(bt_leader_deferred(b), 1);
    assert_int_equal(bt_leader_retry_deferred(b, 1, WALL + 40), 1);
    assert_true(expect_event(b, BT_LEADER_ELECTED, 22, "job") > fb2 + 1);
    assert_int_equal(bt_leader_deferred(b), 0);
    bt_leader_free(a);
    bt_leader_free(b);
}

static void observed_mark_at_or_above_the_term_ends_it_and_waits(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    drop_broadcasts(a);
    struct bt_name job = nm("job");

    /* A resource refused fa: someone (gone, or behind a partition) got the
     * same token in. The term ends, and no new one starts at once. */
    assert_int_equal(bt_leader_observe_fence(a, &job, fa, NULL, WALL + 1), 0);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    expect_no_event(a);
    assert_int_equal(high_water_of(a, "job"), fa);
    assert_int_equal(bt_leader_high_water_count(a), 1); /* equal: nothing new kept */
    /* The periodic retry starts a term above it. */
    assert_int_equal(bt_leader_retry_deferred(a, 1, WALL + 2), 1);
    uint64_t fa2 = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    assert_true(fa2 > fa);

    /* A mark above every known token is news, and ends the term too. */
    uint64_t above = bt_hlc_pack(WALL + 5000, 0);
    assert_int_equal(bt_leader_observe_fence(a, &job, above, NULL, WALL + 3), 1);
    expect_event(a, BT_LEADER_REVOKED, 11, "job");
    assert_int_equal(high_water_of(a, "job"), above);
    assert_int_equal(bt_leader_retry_deferred(a, 1, WALL + 4), 1);
    assert_true(expect_event(a, BT_LEADER_ELECTED, 11, "job") > above);
    /* One below the term changes nothing. */
    assert_int_equal(bt_leader_observe_fence(a, &job, fa, NULL, WALL + 5), 0);
    expect_no_event(a);
    /* The bound on clocks holds for observed marks too. */
    uint64_t far = bt_hlc_pack(WALL + 3600 * 1000, 0);
    assert_int_equal(bt_leader_observe_fence(a, &job, far, NULL, WALL + 6), BATON_ECLOCK);
    struct bt_leader_counters c;
    bt_leader_counters(a, &c);
    assert_int_equal(c.fences_observed, 3);
    bt_leader_free(a);
}

/* Fix 5 with the bound disabled (0): a stamp at the very top of the HLC
 * once made every later stamp equal to it, so after a resign the node's
 * new candidacy lost to its own tombstone and lead() answered follower for
 * good (issue 8, item 4). A hard ceiling still refuses it. */
static void disabled_bound_keeps_a_hard_ceiling(void **state)
{
    struct bt_leader *a = node_new("a", 1, 0);
    struct bt_name job = nm("job");
    struct bt_nodeid z = nid("z");
    struct bt_minter zm = mt("z", 9);

    assert_int_equal(bt_leader_merge_fence(a, &job, BT_HLC_TS_MAX, &zm, WALL), BATON_ECLOCK);
    struct bt_centry e = {.name = nm("other"),
                          .node = z,
                          .stamp = BT_HLC_TS_MAX,
                          .cand = {.candidate_id = 5, .priority = 0, .boot_id = 2}};
    assert_int_equal(bt_leader_merge_entry(a, &e, WALL), BATON_ECLOCK);

    for (uint64_t s = 1; s <= 3; s++) {
        assert_int_equal(lead(a, s, "job", 0, WALL, NULL), 1);
        assert_int_equal(bt_leader_resign(a, &job, WALL), 0);
    }
    bt_leader_free(a);
}

/* Fix 9: a node whose clock is refused withholds its candidacies: the
 * leader ends its term (REVOKED), the others elect the next, lead() keeps
 * registering sessions and answers follower; back in bounds, the
 * candidacies are written again above their tombstones and win again. */
static void withheld_candidacies_step_aside_and_come_back(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_leader *b = node_new("b", 2, DEFAULT_OFFSET);
    struct bt_leader *both[] = {a, b};
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 1);
    gossip(both, 2, WALL);
    assert_int_equal(lead(b, 22, "job", 0, WALL, NULL), 0);
    gossip(both, 2, WALL);
    assert_leader(b, "job", "a", 11);

    assert_int_equal(bt_leader_withhold(a, true, WALL + 10), 1);
    assert_true(bt_leader_withheld(a));
    expect_event(a, BT_LEADER_REVOKED, 11, "job");
    assert_false(is_leader(a, "job"));
    uint64_t f;
    struct bt_name job = nm("job");
    assert_int_equal(bt_leader_fence(a, &job, &f, NULL), BATON_ENOTLEADER);
    assert_int_equal(lead(a, 12, "more", 0, WALL + 10, NULL), 0);
    assert_int_equal(lead(a, 13, "more", 0, WALL + 10, NULL), BATON_EALREADY);
    gossip(both, 2, WALL + 10);
    expect_event(b, BT_LEADER_ELECTED, 22, "job");
    assert_leader(a, "job", "b", 22);
    assert_leader(b, "job", "b", 22);
    struct bt_name more = nm("more");
    assert_int_equal(bt_leader_leader(b, &more, NULL, NULL), BATON_ENOLEADER);
    /* Nothing of a live candidacy is refreshed while withheld. */
    assert_int_equal(bt_leader_refresh(a, UINT64_MAX, WALL + 20), 0);

    assert_int_equal(bt_leader_withhold(a, false, WALL + 30), 2);
    expect_event(a, BT_LEADER_ELECTED, 11, "job");
    expect_event(a, BT_LEADER_ELECTED, 12, "more");
    gossip(both, 2, WALL + 30);
    expect_event(b, BT_LEADER_REVOKED, 22, "job");
    assert_leader(b, "job", "a", 11);
    assert_leader(b, "more", "a", 12);
    bt_leader_free(a);
    bt_leader_free(b);
}

/* Fix 9: a member that says its clock is refused does not count, whatever
 * entries of it arrive; once it says otherwise, it counts again. */
/* Fix 9, screening by the author's word: beyond the bound, a stamp passes
 * only if its author vouches for it (this node's name; a member whose word
 * on this boot is "fine"; a refused member up to its ceiling), and then
 * only within the generous limit (a quarter horizon, 150 s here). */
static void stamps_pass_on_their_authors_word(void **state)
{
    (void)state;
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    see_alive(a, "z", 9, WALL);
    struct bt_nodeid z = nid("z"), y = nid("y"), self = nid("a");
    assert_true(bt_leader_vouched_ms(a) == 150000);
    uint64_t within = bt_hlc_pack(WALL + 5000, 0);
    uint64_t ahead = bt_hlc_pack(WALL + 30000, 0);
    uint64_t far = bt_hlc_pack(WALL + 151000, 0);
    assert_true(bt_leader_acceptable_from(a, within, &z, WALL)); /* the bound alone */
    assert_false(bt_leader_acceptable_from(a, ahead, &z, WALL)); /* z not heard yet */
    bt_leader_member_word(a, &z, 9, BT_CLOCK_WORD_PENDING, 0);
    assert_false(bt_leader_acceptable_from(a, ahead, &z, WALL));
    bt_leader_member_word(a, &z, 9, BT_CLOCK_WORD_FINE, 0);
    assert_true(bt_leader_acceptable_from(a, ahead, &z, WALL));
    assert_false(bt_leader_acceptable_from(a, far, &z, WALL)); /* beyond the generous limit */
    bt_leader_member_word(a, &z, 8, BT_CLOCK_WORD_REFUSED, 0); /* another boot: ignored */
    assert_true(bt_leader_acceptable_from(a, ahead, &z, WALL));
    bt_leader_member_word(a, &z, 9, BT_CLOCK_WORD_REFUSED, ahead);
    assert_true(bt_leader_acceptable_from(a, ahead, &z, WALL));
    assert_false(bt_leader_acceptable_from(a, ahead + 1, &z, WALL)); /* above its ceiling */
    assert_false(bt_leader_acceptable_from(a, ahead, &y, WALL));     /* no member */
    assert_false(bt_leader_acceptable_from(a, ahead, NULL, WALL));
    assert_true(bt_leader_acceptable_from(a, ahead, &self, WALL));
    assert_false(bt_leader_acceptable_from(a, far, &self, WALL));
    /* A new boot of z is unheard again. */
    see_alive(a, "z", 10, WALL);
    assert_false(bt_leader_acceptable_from(a, ahead, &z, WALL));

    /* The merge screens the same way: z's entry is refused while z's word
     * does not vouch for it, and taken once it does. */
    struct bt_centry e = {.name = nm("job"),
                          .node = z,
                          .stamp = ahead,
                          .cand = {.candidate_id = 5, .priority = 0, .boot_id = 10}};
    assert_int_equal(bt_leader_merge_entry(a, &e, WALL), BATON_ECLOCK);
    bt_leader_member_word(a, &z, 10, BT_CLOCK_WORD_FINE, 0);
    assert_true(bt_leader_merge_entry(a, &e, WALL) >= 0);
    assert_leader(a, "job", "z", 5);
    bt_leader_free(a);

    /* With the bound disabled, only the century's ceiling applies. */
    struct bt_leader *o = node_new("o", 1, 0);
    assert_true(bt_leader_vouched_ms(o) == BT_HLC_CEILING_MS);
    assert_true(bt_leader_acceptable_from(o, far, &y, WALL));
    bt_leader_free(o);
}

/* Finding E14: a live candidacy held back already stays held, whatever its
 * stamp, while its author (on the entry's boot) has said no verdict on its
 * clock, once this node is synced; a tombstone, another boot, a stranger
 * or this node's own entry does not wait. */
static void held_candidacy_awaits_its_authors_verdict(void **state)
{
    (void)state;
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    see_alive(a, "z", 9, WALL);
    struct bt_nodeid z = nid("z");
    struct bt_centry e = {.name = nm("job"),
                          .node = z,
                          .stamp = bt_hlc_pack(WALL + 5000, 0),
                          .cand = {.candidate_id = 5, .priority = 0, .boot_id = 9}};
    assert_false(bt_leader_awaits_verdict(a, &e)); /* not synced: no reference yet */
    assert_true(bt_leader_synced(a, WALL) >= 0);
    assert_true(bt_leader_awaits_verdict(a, &e)); /* z not heard yet */
    bt_leader_member_word(a, &z, 9, BT_CLOCK_WORD_PENDING, 0);
    assert_true(bt_leader_awaits_verdict(a, &e));
    struct bt_centry tomb = e;
    tomb.removed = true;
    memset(&tomb.cand, 0, sizeof tomb.cand);
    assert_false(bt_leader_awaits_verdict(a, &tomb));
    struct bt_centry old = e;
    old.cand.boot_id = 8;
    assert_false(bt_leader_awaits_verdict(a, &old)); /* a boot gone */
    struct bt_centry stranger = e;
    stranger.node = nid("y");
    assert_false(bt_leader_awaits_verdict(a, &stranger));
    struct bt_centry own = e;
    own.node = nid("a");
    own.cand.boot_id = 1;
    assert_false(bt_leader_awaits_verdict(a, &own));
    bt_leader_member_word(a, &z, 9, BT_CLOCK_WORD_REFUSED, 0);
    assert_false(bt_leader_awaits_verdict(a, &e));
    bt_leader_member_word(a, &z, 9, BT_CLOCK_WORD_FINE, 0);
    assert_false(bt_leader_awaits_verdict(a, &e));
    see_alive(a, "z", 10, WALL); /* a new boot is unheard again */
    e.cand.boot_id = 10;
    assert_true(bt_leader_awaits_verdict(a, &e));
    bt_leader_free(a);
}

static void member_whose_clock_is_refused_does_not_count(void **state)
{
    struct bt_leader *a = node_new("b", 1, DEFAULT_OFFSET);
    see_alive(a, "a", 7, WALL);
    struct bt_centry e = {.name = nm("job"),
                          .node = nid("a"),
                          .stamp = bt_hlc_pack(WALL, 0),
                          .cand = {.candidate_id = 5, .priority = 0, .boot_id = 7}};
    assert_int_equal(bt_leader_merge_entry(a, &e, WALL), 1);
    assert_int_equal(lead(a, 9, "job", 0, WALL, NULL), 0);
    struct bt_nodeid an = nid("a");
    assert_int_equal(bt_leader_member_clock(a, &an, 7, true, WALL + 1), 1);
    expect_event(a, BT_LEADER_ELECTED, 9, "job");
    assert_leader(a, "job", "b", 9);
    assert_int_equal(bt_leader_member_clock(a, &an, 7, true, WALL + 2), 0);
    assert_int_equal(bt_leader_member_clock(a, &an, 7, false, WALL + 3), 1);
    expect_event(a, BT_LEADER_REVOKED, 9, "job");
    assert_leader(a, "job", "a", 5);
    /* A new boot starts over: not out. */
    assert_int_equal(bt_leader_member_clock(a, &an, 7, true, WALL + 4), 1);
    /* A word about another boot than the live one changes nothing. */
    assert_int_equal(bt_leader_member_clock(a, &an, 6, false, WALL + 4), 0);
    see_alive(a, "a", 8, WALL + 5);
    e.cand.boot_id = 8;
    e.stamp = bt_hlc_pack(WALL + 5, 0);
    assert_int_equal(bt_leader_merge_entry(a, &e, WALL + 5), 1);
    assert_leader(a, "job", "a", 5);
    bt_leader_free(a);
}

/* A term is (token, minter): bt_leader_fence and the events give this
 * node's name with the token. */
static void term_is_token_and_this_node(void **state)
{
    struct bt_leader *a = node_new("node-a", 1, DEFAULT_OFFSET);
    uint64_t fa = 0, f = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    struct bt_name job = nm("job");
    struct bt_minter minter;
    assert_int_equal(bt_leader_fence(a, &job, &f, &minter), 0);
    assert_int_equal(f, fa);
    assert_string_equal(minter.node.bytes, "node-a");
    assert_int_equal(minter.boot, 1);
    drop_broadcasts(a);
    /* A refusal at the resource, then the retry: both events name a. */
    assert_int_equal(bt_leader_observe_fence(a, &job, fa + 1, NULL, WALL + 1), 1);
    struct bt_leader_event ev;
    assert_true(bt_leader_pop_event(a, &ev));
    assert_int_equal(ev.kind, BT_LEADER_REVOKED);
    assert_string_equal(ev.minter.node.bytes, "node-a");
    assert_int_equal(ev.minter.boot, 1);
    assert_int_equal(bt_leader_retry_deferred(a, 1, WALL + 2), 1);
    assert_true(bt_leader_pop_event(a, &ev));
    assert_int_equal(ev.kind, BT_LEADER_ELECTED);
    assert_string_equal(ev.minter.node.bytes, "node-a");
    assert_int_equal(ev.minter.node.len, 6);
    assert_int_equal(ev.minter.boot, 1);
    bt_leader_free(a);
}

/* The resource reports its mark with its minter. This node's own term
 * equal to the mark is no refusal of it (the guard admits it again); an
 * equal token from another minter is, and so is any greater token. A mark
 * with a minter is news to gossip, as a fence naming that minter. */
static void observed_mark_with_its_minter(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    drop_broadcasts(a);
    struct bt_name job = nm("job");
    struct bt_minter self = mt("a", 1), other = mt("b", 2), bad = mt("a", 1);
    bad.node.bytes[0] = ' ';

    assert_int_equal(bt_leader_observe_fence(a, &job, fa, &self, WALL + 1), 0);
    expect_no_event(a);
    assert_int_equal(fence_of(a, "job"), fa);

    assert_int_equal(bt_leader_observe_fence(a, &job, fa, &other, WALL + 2), 1);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    struct bt_leader_broadcast b;
    assert_true(bt_leader_pop_broadcast(a, &b));
    assert_int_equal(b.kind, BT_LEADER_BCAST_FENCE);
    assert_int_equal(b.fence.token, fa);
    assert_string_equal(b.fence.minter.node.bytes, "b");
    assert_int_equal(b.fence.minter.boot, 2);
    assert_false(bt_leader_pop_broadcast(a, &b));
    assert_int_equal(bt_leader_retry_deferred(a, 1, WALL + 3), 1);
    uint64_t fa2 = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    assert_true(fa2 > fa);
    drop_broadcasts(a);

    /* A mark without its minter is kept here only. */
    uint64_t above = bt_hlc_pack(WALL + 5000, 0);
    assert_int_equal(bt_leader_observe_fence(a, &job, above, NULL, WALL + 4), 1);
    expect_event(a, BT_LEADER_REVOKED, 11, "job");
    assert_false(bt_leader_pop_broadcast(a, &b));
    /* A minter that is no node name is refused, and so is a known one
     * without its boot, or an unknown one with a boot. */
    assert_int_equal(bt_leader_observe_fence(a, &job, above + 1, &bad, WALL + 5), BATON_EPROTO);
    struct bt_minter bootless = mt("b", 0), boot_only = {.boot = 2};
    assert_int_equal(bt_leader_observe_fence(a, &job, above + 1, &bootless, WALL + 5),
                     BATON_EPROTO);
    assert_int_equal(bt_leader_observe_fence(a, &job, above + 1, &boot_only, WALL + 5),
                     BATON_EPROTO);
    /* A fence from the cluster must name its minter, node and boot: one
     * that does not is refused whole (the codec refuses it first; the
     * leader again). */
    struct bt_minter none;
    memset(&none, 0, sizeof none);
    assert_int_equal(bt_leader_merge_fence(a, &job, above + 1, &none, WALL + 6), BATON_EPROTO);
    assert_int_equal(bt_leader_merge_fence(a, &job, above + 1, &bootless, WALL + 6), BATON_EPROTO);
    assert_int_equal(high_water_of(a, "job"), above);
    bt_leader_free(a);
}

/* Twins (issue 8 item 5, simulator finding E13): two processes claiming
 * one node name, on either side of a partition, can mint the same token.
 * A term is (token, minter) with the minter a process, node and boot, so
 * the twin's equal token is another term: gossiped, it makes the leader
 * move above it at once (a twin is no rival to wait for: the membership's
 * one-survivor rule settles twins); reported by the resource, it ends the
 * term and the leader waits as for any refusal. */
static void equal_token_from_a_twin_is_another_term(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    drop_broadcasts(a);
    struct bt_name job = nm("job");
    struct bt_minter twin = mt("a", 7);

    /* The twin's fence, by gossip: news, and the term moves above it. */
    assert_int_equal(bt_leader_merge_fence(a, &job, fa, &twin, WALL + 1), 1);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    uint64_t fa2 = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    assert_true(fa2 > fa);
    assert_int_equal(bt_leader_deferred(a), 0);
    struct bt_minter m;
    assert_int_equal(bt_leader_fence(a, &job, NULL, &m), 0);
    assert_string_equal(m.node.bytes, "a");
    assert_int_equal(m.boot, 1);
    drop_broadcasts(a);

    /* The resource admitted the twin's equal token first: this term ends
     * and waits; its own equal mark would not have ended it. */
    assert_int_equal(bt_leader_observe_fence(
                         a, &job, fa2, &(struct bt_minter){.node = nid("a"), .boot = 1}, WALL + 2),
                     0);
    expect_no_event(a);
    assert_int_equal(bt_leader_observe_fence(a, &job, fa2, &twin, WALL + 3), 1);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa2);
    expect_no_event(a);
    assert_int_equal(bt_leader_deferred(a), 1);
    bt_leader_free(a);
}

/* A fence whose minter resigned before minting it is no rival: its
 * candidacy is a tombstone stamped after the token (the term ended before
 * the resign). The leader moves above the token at once, no wait. Were the
 * tombstone older than the token, the minter campaigned again since, with
 * an entry this node has not seen: an unseen rival, and the leader waits. */
static void fence_from_a_resigned_minter_makes_no_leader_wait(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    drop_broadcasts(a);
    struct bt_name job = nm("job");
    struct bt_nodeid bn = nid("b");
    struct bt_minter bm = mt("b", 2);
    struct bt_centry tomb = {
        .name = job, .node = bn, .stamp = bt_hlc_pack(WALL + 100, 0), .removed = true};
    assert_int_equal(bt_leader_merge_entry(a, &tomb, WALL + 100), 1);
    uint64_t tb = bt_hlc_pack(WALL + 50, 0); /* minted before the resign */
    assert_true(tb > fa);
    assert_int_equal(bt_leader_merge_fence(a, &job, tb, &bm, WALL + 110), 1);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    assert_true(expect_event(a, BT_LEADER_ELECTED, 11, "job") > tb);
    assert_int_equal(bt_leader_deferred(a), 0);

    /* A token above the tombstone: b minted after it, so it campaigns
     * again unseen. That is a rival: wait. */
    uint64_t later = bt_hlc_pack(WALL + 5000, 0);
    assert_int_equal(bt_leader_merge_fence(a, &job, later, &bm, WALL + 120), 1);
    expect_event(a, BT_LEADER_REVOKED, 11, "job");
    expect_no_event(a);
    assert_int_equal(bt_leader_deferred(a), 1);
    bt_leader_free(a);
}

/* A fence whose minter this node holds dead, minted before the death was
 * known here (a late copy of an old fence, gossiped on by a third node), is
 * no rival either: the leader moves above it at once. One minted after the
 * verdict means the "dead" node lives on behind a cut: a rival, wait. */
static void fence_from_a_dead_minter_makes_no_leader_wait(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    see_alive(a, "b", 2, WALL);
    uint64_t fa = 0;
    assert_int_equal(lead(a, 11, "job", 0, WALL, &fa), 1);
    drop_broadcasts(a);
    see_dead(a, "b", 2, WALL + 100);
    struct bt_name job = nm("job");
    struct bt_minter bn = mt("b", 2);
    uint64_t tb = bt_hlc_pack(WALL + 50, 0);
    assert_true(tb > fa);
    assert_int_equal(bt_leader_merge_fence(a, &job, tb, &bn, WALL + 110), 1);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), fa);
    assert_true(expect_event(a, BT_LEADER_ELECTED, 11, "job") > tb);
    assert_int_equal(bt_leader_deferred(a), 0);

    uint64_t later = bt_hlc_pack(WALL + 5000, 0);
    assert_int_equal(bt_leader_merge_fence(a, &job, later, &bn, WALL + 120), 1);
    expect_event(a, BT_LEADER_REVOKED, 11, "job");
    expect_no_event(a);
    assert_int_equal(bt_leader_deferred(a), 1);

    /* An unknown minter (never a member here) stays a rival. */
    struct bt_leader *c = node_new("c", 3, DEFAULT_OFFSET);
    uint64_t fc = 0;
    assert_int_equal(lead(c, 33, "job", 0, WALL, &fc), 1);
    drop_broadcasts(c);
    assert_int_equal(bt_leader_merge_fence(c, &job, tb, &bn, WALL + 110), 1);
    expect_event(c, BT_LEADER_REVOKED, 33, "job");
    expect_no_event(c);
    assert_int_equal(bt_leader_deferred(c), 1);
    bt_leader_free(a);
    bt_leader_free(c);
}

/* The wait is per name: each name waits its own number of retry rounds from
 * its own step back, not until the next round of a shared timer. */
static void each_name_waits_its_own_rounds(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    uint64_t fx = 0, fy = 0;
    assert_int_equal(lead(a, 11, "x", 0, WALL, &fx), 1);
    assert_int_equal(lead(a, 12, "y", 0, WALL, &fy), 1);
    drop_broadcasts(a);
    struct bt_name x = nm("x"), y = nm("y");
    assert_int_equal(bt_leader_observe_fence(a, &x, fx + 1, NULL, WALL + 1), 1);
    expect_event(a, BT_LEADER_REVOKED, 11, "x");
    assert_int_equal(bt_leader_retry_deferred(a, 3, WALL + 2), 0); /* x: 1 round */
    assert_int_equal(bt_leader_observe_fence(a, &y, fy + 1, NULL, WALL + 3), 1);
    expect_event(a, BT_LEADER_REVOKED, 12, "y");
    assert_int_equal(bt_leader_deferred(a), 2);
    assert_int_equal(bt_leader_retry_deferred(a, 3, WALL + 4), 0); /* x: 2, y: 1 */
    expect_no_event(a);
    assert_int_equal(bt_leader_retry_deferred(a, 3, WALL + 5), 1); /* x: 3, y: 2 */
    expect_event(a, BT_LEADER_ELECTED, 11, "x");
    expect_no_event(a);
    assert_int_equal(bt_leader_deferred(a), 1);
    assert_int_equal(bt_leader_retry_deferred(a, 3, WALL + 6), 1); /* y: 3 */
    expect_event(a, BT_LEADER_ELECTED, 12, "y");
    assert_int_equal(bt_leader_deferred(a), 0);
    bt_leader_free(a);
}

/* ---- fix 8: sync, then settle before a first term ------------------------------ */

/* A settling leader; a campaign of it younger than settle_ms settles even
 * after a departure (0: none does). */
static struct bt_leader *settling_new_ms(const char *self, uint64_t boot_id, uint64_t settle_ms)
{
    struct bt_leader_config cfg = {.self = nid(self),
                                   .boot_id = boot_id,
                                   .max_clock_offset_ms = DEFAULT_OFFSET,
                                   .settle = true,
                                   .settle_ms = settle_ms};
    struct bt_leader *l = bt_leader_new(&cfg);
    assert_non_null(l);
    return l;
}

static struct bt_leader *settling_new(const char *self, uint64_t boot_id)
{
    return settling_new_ms(self, boot_id, 0);
}

/* a (boot 1) and b (boot 2, settle_ms as given) see each other and synced;
 * a campaigns for "job" at WALL and leads after its settle period. */
static void a_leads_b_beside(struct bt_leader **a, struct bt_leader **b, uint64_t b_settle_ms)
{
    *a = settling_new("a", 1);
    *b = settling_new_ms("b", 2, b_settle_ms);
    see_alive(*a, "b", 2, WALL);
    see_alive(*b, "a", 1, WALL);
    bt_leader_synced(*a, WALL);
    bt_leader_synced(*b, WALL);
    assert_int_equal(lead(*a, 11, "job", 0, WALL, NULL), 0);
    bt_leader_settle_schedule(*a, 40);
    assert_int_equal(bt_leader_settle_expire(*a, 40, WALL + 40), 1);
    expect_event(*a, BT_LEADER_ELECTED, 11, "job");
}

/* Before the first sync a campaign answers follower and waits; after it,
 * the winner settles (no term) until its deadline, then mints. */
static void settle_no_term_before_sync_then_after_the_settle_period(void **state)
{
    struct bt_leader *a = settling_new("a", 1);
    assert_false(bt_leader_is_synced(a));
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 0);
    assert_true(is_leader(a, "job")); /* the computed winner... */
    assert_not_leader_term(a, "job"); /* ...holds no term */
    assert_int_equal(bt_leader_settling(a), 0);
    assert_int_equal(bt_leader_settle_next(a), UINT64_MAX);

    assert_int_equal(bt_leader_synced(a, WALL + 1), 1);
    assert_true(bt_leader_is_synced(a));
    assert_int_equal(bt_leader_synced(a, WALL + 1), 0); /* idempotent */
    expect_no_event(a);
    assert_int_equal(bt_leader_settling(a), 1);
    bt_leader_settle_schedule(a, 500);
    assert_int_equal(bt_leader_settle_next(a), 500);
    assert_int_equal(bt_leader_settle_expire(a, 499, WALL + 2), 0);
    expect_no_event(a);
    assert_int_equal(bt_leader_settle_expire(a, 500, WALL + 3), 1);
    uint64_t f = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    assert_int_equal(fence_of(a, "job"), f);
    assert_int_equal(bt_leader_settling(a), 0);
    assert_int_equal(bt_leader_settle_next(a), UINT64_MAX);
    bt_leader_free(a);
}

/* Two nodes campaign at once, each seeing only itself: both settle; the
 * candidacies cross within the period, so only the winner mints. */
static void settle_simultaneous_campaigns_mint_once(void **state)
{
    struct bt_leader *a = settling_new("a", 1), *b = settling_new("b", 2);
    see_alive(a, "b", 2, WALL);
    see_alive(b, "a", 1, WALL);
    bt_leader_synced(a, WALL);
    bt_leader_synced(b, WALL);
    assert_int_equal(lead(b, 22, "job", 0, WALL, NULL), 0);
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 0);
    bt_leader_settle_schedule(a, 40);
    bt_leader_settle_schedule(b, 40);
    struct bt_leader *both[] = {a, b};
    gossip(both, 2, WALL + 1);
    assert_int_equal(bt_leader_settling(b), 0); /* it no longer wins */
    assert_int_equal(bt_leader_settle_expire(b, 40, WALL + 40), 0);
    assert_int_equal(bt_leader_settle_expire(a, 40, WALL + 40), 1);
    expect_event(a, BT_LEADER_ELECTED, 11, "job");
    gossip(both, 2, WALL + 41);
    expect_no_event(a);
    expect_no_event(b);
    bt_leader_free(a);
    bt_leader_free(b);
}

/* The leader resigns or its node is declared dead: every node sees it, so
 * the next one mints at once. Its node restarting is no such departure: the
 * new process may campaign again, so the next one settles. */
static void settle_not_when_the_leader_departed_in_sight_of_all(void **state)
{
    for (int how = 0; how < 3; how++) {
        struct bt_leader *a, *b;
        a_leads_b_beside(&a, &b, 0);
        assert_int_equal(lead(b, 22, "job", 0, WALL + 41, NULL), 0);
        struct bt_leader *both[] = {a, b};
        gossip(both, 2, WALL + 42);
        assert_int_equal(bt_leader_settling(b), 0);
        expect_no_event(b);
        if (how == 0) {
            struct bt_name n = nm("job");
            assert_int_equal(bt_leader_resign(a, &n, WALL + 50), 0);
            gossip(both, 2, WALL + 51);
        } else if (how == 1) {
            see_dead(b, "a", 1, WALL + 50);
        } else {
            see_alive(b, "a", 3, WALL + 50); /* a restarted: boot 3 */
        }
        if (how < 2) {
            expect_event(b, BT_LEADER_ELECTED, 22, "job");
            assert_int_equal(bt_leader_settling(b), 0);
        } else {
            expect_no_event(b);
            assert_int_equal(bt_leader_settling(b), 1);
        }
        bt_leader_free(a);
        bt_leader_free(b);
    }
}

/* Finding E19: a campaign younger than the settle period settles even when
 * the leader departed in sight of all (a candidacy made in the same moment
 * as others has not met them yet); one as old as the period mints at once. */
static void settle_a_young_campaign_even_when_the_leader_departed(void **state)
{
    for (uint64_t age = 9; age <= 40; age += 31) {
        struct bt_leader *a, *b;
        a_leads_b_beside(&a, &b, 40);
        struct bt_leader *both[] = {a, b};
        gossip(both, 2, WALL + 41);
        assert_int_equal(lead(b, 22, "job", 0, WALL + 41, NULL), 0);
        gossip(both, 2, WALL + 41);
        see_dead(b, "a", 1, WALL + 41 + age);
        if (age < 40) {
            expect_no_event(b);
            assert_int_equal(bt_leader_settling(b), 1);
            bt_leader_settle_schedule(b, 100);
            assert_int_equal(bt_leader_settle_expire(b, 100, WALL + 100), 1);
        }
        expect_event(b, BT_LEADER_ELECTED, 22, "job");
        bt_leader_free(a);
        bt_leader_free(b);
    }
}

/* A term overtaken by the cluster (fix 3) restarts at once, settled or not;
 * and a campaign that stops winning while it settles forgets the period. */
static void settle_only_for_first_terms(void **state)
{
    struct bt_leader *a = settling_new("a", 1);
    bt_leader_synced(a, WALL);
    assert_int_equal(lead(a, 11, "job", 0, WALL, NULL), 0);
    bt_leader_settle_schedule(a, 40);
    assert_int_equal(bt_leader_settle_expire(a, 40, WALL + 40), 1);
    uint64_t f1 = expect_event(a, BT_LEADER_ELECTED, 11, "job");
    struct bt_name n = nm("job");
    struct bt_minter self = mt("a", 1);
    assert_int_equal(bt_leader_merge_fence(a, &n, f1 + 100, &self, WALL + 41), 1);
    assert_int_equal(expect_event(a, BT_LEADER_REVOKED, 11, "job"), f1);
    assert_true(expect_event(a, BT_LEADER_ELECTED, 11, "job") > f1 + 100);
    assert_int_equal(bt_leader_settling(a), 0);

    assert_int_equal(lead(a, 12, "other", 0, WALL + 50, NULL), 0);
    assert_int_equal(bt_leader_settling(a), 1);
    struct bt_name o = nm("other");
    assert_int_equal(bt_leader_resign(a, &o, WALL + 51), 0);
    assert_int_equal(bt_leader_settling(a), 0);
    assert_int_equal(bt_leader_settle_next(a), UINT64_MAX);
    bt_leader_free(a);
}

/* Collects the minters bt_leader_foreach_high_water hands out. */
struct minter_list {
    struct bt_minter v[8];
    size_t n;
};

static int collect_minter(const struct bt_fence *f, void *ctx)
{
    struct minter_list *ml = ctx;
    if (ml->n < 8)
        ml->v[ml->n] = f->minter;
    ml->n++;
    return 0;
}

/* A mark keeps up to BT_LEADER_MINTERS_MAX minters of one token (the first
 * in the record, the others out of line), each carried by the snapshot in
 * the order they came; a further one is not news, and a greater token
 * starts the set again. */
static void mark_keeps_up_to_the_most_minters_of_a_token(void **state)
{
    struct bt_leader *a = node_new("a", 1, DEFAULT_OFFSET);
    struct bt_name job = nm("job");
    uint64_t token = bt_hlc_pack(WALL, 1);
    const char *who[] = {"b", "c", "d", "e", "f"};
    _Static_assert(BT_LEADER_MINTERS_MAX == 4, "five minters overflow the set by one");
    for (size_t i = 0; i < 5; i++) {
        struct bt_minter m = mt(who[i], 2 + i);
        assert_int_equal(bt_leader_merge_fence(a, &job, token, &m, WALL), i < 4 ? 1 : 0);
        assert_int_equal(bt_leader_merge_fence(a, &job, token, &m, WALL), 0); /* again: stale */
    }
    assert_int_equal(bt_leader_high_water_count(a), 4);
    struct minter_list ml = {.n = 0};
    assert_int_equal(bt_leader_foreach_high_water(a, collect_minter, &ml), 0);
    assert_int_equal(ml.n, 4);
    for (size_t i = 0; i < 4; i++) {
        struct bt_minter m = mt(who[i], 2 + i);
        assert_true(bt_minter_eq(&ml.v[i], &m));
    }
    struct bt_minter g = mt("g", 9);
    assert_int_equal(bt_leader_merge_fence(a, &job, token + 1, &g, WALL), 1);
    assert_int_equal(bt_leader_high_water_count(a), 1);
    ml.n = 0;
    assert_int_equal(bt_leader_foreach_high_water(a, collect_minter, &ml), 0);
    assert_int_equal(ml.n, 1);
    assert_true(bt_minter_eq(&ml.v[0], &g));
    /* And a second minter of that token reuses the room kept for them. */
    struct bt_minter h = mt("h", 10);
    assert_int_equal(bt_leader_merge_fence(a, &job, token + 1, &h, WALL), 1);
    assert_int_equal(bt_leader_high_water_count(a), 2);
    bt_leader_free(a);
}

/* The member records (leader.c, "members"): many members, some with names
 * too long to be held inline, are each found again after others were
 * added, declared dead and forgotten (the array compacted, its index
 * rebuilt), and a forgotten one comes back as new. */
static void member_records_survive_growth_and_forgetting(void **state)
{
    (void)state;
    struct bt_leader *l = node_new("self", 1, 0);
    char name[64];
    const int n = 300;
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, i % 3 ? "m%d" : "a-member-with-a-long-name-%d", i);
        struct bt_nodeid id = nid(name);
        assert_int_equal(bt_leader_member(l, &id, 7, true, WALL), 1);
    }
    /* Every odd one dies; the live ones are held (no change to tell). */
    for (int i = 1; i < n; i += 2) {
        snprintf(name, sizeof name, i % 3 ? "m%d" : "a-member-with-a-long-name-%d", i);
        struct bt_nodeid id = nid(name);
        assert_int_equal(bt_leader_member(l, &id, 7, false, WALL + 10), 1);
    }
    for (int i = 0; i < n; i += 2) {
        snprintf(name, sizeof name, i % 3 ? "m%d" : "a-member-with-a-long-name-%d", i);
        struct bt_nodeid id = nid(name);
        assert_int_equal(bt_leader_member(l, &id, 7, true, WALL + 20), 0);
    }
    /* The dead are forgotten; the live are still found, on their boot. */
    assert_true(bt_leader_expire(l, bt_hlc_pack(WALL + 1000, 0), WALL + 1000) >= 0);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, i % 3 ? "m%d" : "a-member-with-a-long-name-%d", i);
        struct bt_nodeid id = nid(name);
        /* Live: held, nothing to tell. Forgotten: new again. */
        assert_int_equal(bt_leader_member(l, &id, 7, true, WALL + 1000), i % 2);
    }
    bt_leader_free(l);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(fence_from_a_resigned_minter_makes_no_leader_wait),
    cmocka_unit_test(fence_from_a_dead_minter_makes_no_leader_wait),
    cmocka_unit_test(each_name_waits_its_own_rounds),
    cmocka_unit_test(term_is_token_and_this_node),
    cmocka_unit_test(observed_mark_with_its_minter),
    cmocka_unit_test(equal_token_from_a_twin_is_another_term),
    cmocka_unit_test(marks_version_moves_only_with_the_marks),
    cmocka_unit_test(ref_sole_candidate_becomes_leader),
    cmocka_unit_test(ref_resign_clears_leadership),
    cmocka_unit_test(ref_session_end_removes_candidacy),
    cmocka_unit_test(ref_duplicate_candidacy_is_already_candidate),
    cmocka_unit_test(ref_lower_node_revokes_us_and_its_death_reelects_us),
    cmocka_unit_test(ref_priority_beats_lower_node_name),
    cmocka_unit_test(ref_fence_strictly_increases_across_resign_and_relead),
    cmocka_unit_test(ref_far_future_fence_forces_next_mint_above_it),
    cmocka_unit_test(ref_far_future_fence_refused_with_offset_check),
    cmocka_unit_test(ref_malformed_gossip_is_dropped_and_election_still_works),
    cmocka_unit_test(term_refresh_when_high_water_overtakes_term),
    cmocka_unit_test(digest_covers_the_mark_of_a_name_with_a_live_entry),
    cmocka_unit_test(owner_authority_retombstones_stale_entry_for_self),
    cmocka_unit_test(owner_authority_readds_live_candidacy_over_newer_stale_entry),
    cmocka_unit_test(restarted_boot_entries_do_not_count),
    cmocka_unit_test(suspect_node_keeps_its_candidacy),
    cmocka_unit_test(thousand_names_follow_membership),
    cmocka_unit_test(bad_arguments_are_refused),
    cmocka_unit_test(snapshot_news_is_regossiped_once),
    cmocka_unit_test(resign_all_withdraws_every_candidacy_without_events),
    cmocka_unit_test(refresh_restamps_only_old_own_live_entries),
    cmocka_unit_test(expire_forgets_old_entries_but_keeps_own_live_ones),
    cmocka_unit_test(member_records_survive_growth_and_forgetting),
    cmocka_unit_test(expire_of_the_winner_elects_the_next),
    cmocka_unit_test(marks_age_out_without_candidacy_and_stay_out),
    cmocka_unit_test(names_past_the_cap_are_refused),
    cmocka_unit_test(equal_token_from_another_minter_moves_the_winner_above_it),
    cmocka_unit_test(leader_overtaken_by_a_rival_it_cannot_see_waits_for_its_view),
    cmocka_unit_test(observed_mark_at_or_above_the_term_ends_it_and_waits),
    cmocka_unit_test(disabled_bound_keeps_a_hard_ceiling),
    cmocka_unit_test(withheld_candidacies_step_aside_and_come_back),
    cmocka_unit_test(held_candidacy_awaits_its_authors_verdict),
    cmocka_unit_test(member_whose_clock_is_refused_does_not_count),
    cmocka_unit_test(stamps_pass_on_their_authors_word),
    cmocka_unit_test(settle_no_term_before_sync_then_after_the_settle_period),
    cmocka_unit_test(settle_simultaneous_campaigns_mint_once),
    cmocka_unit_test(settle_not_when_the_leader_departed_in_sight_of_all),
    cmocka_unit_test(settle_a_young_campaign_even_when_the_leader_departed),
    cmocka_unit_test(settle_only_for_first_terms),
    cmocka_unit_test(mark_keeps_up_to_the_most_minters_of_a_token),
};

BT_TEST_MAIN(tests)
