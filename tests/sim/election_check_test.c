/*
 * Tests of the simulator's election checker (src/sim/election*.c and
 * resource.c) with fake nodes in place of the core: each election invariant
 * fires on a core that breaks it, and stays quiet on one
 * that does not; the resource admits terms through the real guard; failover
 * is timed from the crash to the last node that agrees; a revocation with
 * no cause is reported and one with a cause is not.
 *
 * A fake node's election is a script: the test sets what lead() returns,
 * what the node answers for leader(), fence() and high_water(), what its
 * stats say, and queues events on it, then pokes the simulator. Its member
 * list is the registry of live fakes, so the membership always converges
 * and only the election is under test.
 */
#include "unit/test_main.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "sim/sim.h"

enum { MAX_FAKES = 8, NAMES = 2 };

struct fake {
    uint32_t index;
    uint64_t boot_id;
    struct bt_event ev[8];
    size_t nev, evpos;
    int lead_rc;            /* what the next lead() returns */
    uint64_t lead_token;    /* ...and its token */
    bool has_leader[NAMES]; /* leader(): the answer per name */
    uint32_t leader[NAMES];
    uint64_t leader_session[NAMES];
    uint64_t fence[NAMES]; /* fence(): 0 means not leader */
    uint64_t high_water[NAMES];
    size_t entries, tombstones, marks; /* stats() */
    bool deaf[NAMES];                  /* candidates(): nobody, instead of the leader */
};

static struct fake *fakes[MAX_FAKES];
static struct bt_sim *g_sim;

static void *fake_create(const struct bt_node_config *cfg, struct bt_time now)
{
    struct fake *f = calloc(1, sizeof *f);
    f->index = (uint32_t)strtoul(cfg->name.bytes + 1, NULL, 10);
    f->boot_id = cfg->boot_id;
    fakes[f->index] = f;
    return f;
}

static void fake_destroy(void *node)
{
    struct fake *f = node;
    if (fakes[f->index] == f)
        fakes[f->index] = NULL;
    free(f);
}

static int fake_join(void *node, const struct bt_addr *seeds, size_t n, struct bt_time now)
{
    return 0;
}

static void fake_recv(void *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                      struct bt_time now)
{
}

static void fake_recv_stream(void *node, const struct bt_addr *from, uint64_t conn,
                             const uint8_t *data, size_t len, struct bt_time now)
{
}

static void fake_tick(void *node, struct bt_time now) {}

static uint64_t fake_next_deadline(const void *node) { return UINT64_MAX; }

static bool fake_pop_output(void *node, struct bt_output *out) { return false; }

static bool fake_pop_event(void *node, struct bt_event *ev)
{
    struct fake *f = node;
    if (f->evpos == f->nev) {
        f->nev = f->evpos = 0;
        return false;
    }
    *ev = f->ev[f->evpos++];
    return true;
}

static size_t fake_members(const void *node, struct bt_member_info *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < MAX_FAKES; i++) {
        if (fakes[i] == NULL)
            continue;
        if (n < cap) {
            memset(&out[n], 0, sizeof out[n]);
            int len = snprintf(out[n].name.bytes, sizeof out[n].name.bytes, "n%" PRIu32, i);
            out[n].name.len = (uint8_t)len;
            memcpy(out[n].addr.s, out[n].name.bytes, (size_t)len + 1);
            out[n].addr.len = (uint8_t)len;
            out[n].boot_id = fakes[i]->boot_id;
            out[n].state = BT_MEMBER_ALIVE;
        }
        n++;
    }
    return n;
}

static uint64_t fake_digest(const void *node) { return 42; }

static uint32_t name_index(const struct bt_name *name)
{
    return (uint32_t)strtoul((const char *)name->bytes + 5, NULL, 10);
}

static int fake_lead(void *node, uint64_t session, const struct bt_name *name, int64_t priority,
                     struct bt_time now, uint64_t *fence)
{
    struct fake *f = node;
    if (f->lead_rc == 1) {
        *fence = f->lead_token;
        f->fence[name_index(name)] = f->lead_token;
    }
    return f->lead_rc;
}

static int fake_resign(void *node, const struct bt_name *name, struct bt_time now) { return 0; }

static int fake_session_end(void *node, uint64_t session, struct bt_time now) { return 0; }

static int fake_leader(const void *node, const struct bt_name *name, struct bt_nodeid *leader,
                       uint64_t *candidate_id)
{
    const struct fake *f = node;
    uint32_t k = name_index(name);
    if (!f->has_leader[k])
        return BATON_ENOLEADER;
    char text[16];
    int len = snprintf(text, sizeof text, "n%" PRIu32, f->leader[k]);
    bt_nodeid_set(leader, text, (size_t)len);
    *candidate_id = f->leader_session[k];
    return 0;
}

static bool fake_is_leader(const void *node, const struct bt_name *name)
{
    const struct fake *f = node;
    uint32_t k = name_index(name);
    return f->has_leader[k] && f->leader[k] == f->index;
}

static int fake_fence(const void *node, const struct bt_name *name, uint64_t *fence,
                      struct bt_minter *minter)
{
    const struct fake *f = node;
    uint64_t v = f->fence[name_index(name)];
    if (v == 0)
        return BATON_ENOTLEADER;
    if (fence)
        *fence = v;
    if (minter) {
        char text[16];
        int len = snprintf(text, sizeof text, "n%" PRIu32, f->index);
        bt_nodeid_set(&minter->node, text, (size_t)len);
        minter->boot = f->boot_id;
    }
    return 0;
}

/* The leader is the only candidate a fake knows of. */
static size_t fake_candidates(const void *node, const struct bt_name *name, struct bt_nodeid *out,
                              size_t cap)
{
    const struct fake *f = node;
    uint32_t k = name_index(name);
    if (!f->has_leader[k] || f->deaf[k])
        return 0;
    if (cap > 0) {
        char text[16];
        int len = snprintf(text, sizeof text, "n%" PRIu32, f->leader[k]);
        bt_nodeid_set(&out[0], text, (size_t)len);
    }
    return 1;
}

static int fake_high_water(const void *node, const struct bt_name *name, uint64_t *token)
{
    const struct fake *f = node;
    uint64_t v = f->high_water[name_index(name)];
    if (v == 0)
        return BATON_ENOENT;
    *token = v;
    return 0;
}

static void fake_stats(const void *node, struct bt_node_stats *out)
{
    const struct fake *f = node;
    memset(out, 0, sizeof *out);
    out->election.entries = f->entries;
    out->election.tombstones = f->tombstones;
    out->election.high_water_marks = f->marks;
}

static const struct bt_sim_node_ops fake_ops = {
    .create = fake_create,
    .destroy = fake_destroy,
    .join = fake_join,
    .recv = fake_recv,
    .recv_stream = fake_recv_stream,
    .tick = fake_tick,
    .next_deadline = fake_next_deadline,
    .pop_output = fake_pop_output,
    .pop_event = fake_pop_event,
    .members = fake_members,
    .digest = fake_digest,
    .lead = fake_lead,
    .resign = fake_resign,
    .session_end = fake_session_end,
    .leader = fake_leader,
    .is_leader = fake_is_leader,
    .fence = fake_fence,
    .candidates = fake_candidates,
    .high_water = fake_high_water,
    .stats = fake_stats,
};

static struct bt_sim *fake_cluster(uint32_t n)
{
    struct bt_sim_config cfg;
    bt_sim_config_defaults(&cfg, BT_PROFILE_LOCAL);
    cfg.nodes = n;
    cfg.names = NAMES;
    cfg.ops = &fake_ops;
    cfg.verbosity = 0;
    cfg.prop_bound_ms = 100;
    cfg.agree_bound_ms = 1000;
    cfg.horizon_ms = 1000;
    g_sim = bt_sim_new(&cfg);
    assert_non_null(g_sim);
    return g_sim;
}

/* Every fake answers that `leader` leads name k with session. */
static void all_see(uint32_t n, uint32_t k, uint32_t leader, uint64_t session)
{
    for (uint32_t i = 0; i < n; i++) {
        if (fakes[i] == NULL)
            continue;
        fakes[i]->has_leader[k] = true;
        fakes[i]->leader[k] = leader;
        fakes[i]->leader_session[k] = session;
    }
}

/* n0 campaigns for name k and wins with token; everyone agrees. */
static uint64_t n0_leads(struct bt_sim *sim, uint32_t n, uint32_t k, uint64_t token)
{
    fakes[0]->lead_rc = 1;
    fakes[0]->lead_token = token;
    uint64_t session = 0;
    assert_int_equal(bt_sim_lead(sim, 0, k, 0, 0, &session, NULL), 1);
    /* The mint raised n0's mark; gossip raised everyone's. */
    for (uint32_t i = 0; i < n; i++)
        fakes[i]->high_water[k] = token;
    all_see(n, k, 0, session);
    bt_sim_poke(sim, 0);
    return session;
}

static bool has_violation(struct bt_sim *sim, const char *name)
{
    size_t len = strlen(name);
    for (size_t k = 0; k < bt_sim_violation_count(sim) && k < BT_SIM_MAX_VIOLATIONS; k++) {
        const char *t = bt_sim_violation_text(sim, k);
        if (strncmp(t, name, len) == 0 && t[len] == ':')
            return true;
    }
    return false;
}

static void done(struct bt_sim *sim)
{
    bt_sim_free(sim);
    g_sim = NULL;
}

static void an_agreed_cluster_passes_every_check(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    bt_sim_run_for(sim, 50);
    n0_leads(sim, 3, 0, 1000);
    n0_leads(sim, 3, 1, 1001);
    bt_sim_run_for(sim, 500);
    assert_true(bt_sim_agreed(sim, 0, NULL, 0));
    bt_sim_finish(sim);
    assert_int_equal(bt_sim_violation_count(sim), 0);
    assert_true(bt_sim_stats(sim)->agreed);
    assert_true(bt_sim_stats(sim)->writes_accepted > 0);
    assert_true(bt_sim_stats(sim)->writes_rejected == 0);
    assert_true(bt_sim_resource_high_water(sim, 0) == 1000);
    done(sim);
}

static void minting_at_or_below_a_known_mark_is_not_monotonic(void **state)
{
    struct bt_sim *sim = fake_cluster(2);
    fakes[0]->high_water[0] = 500;
    fakes[0]->lead_rc = 1;
    fakes[0]->lead_token = 500; /* equal to what it knew: stale */
    assert_int_equal(bt_sim_lead(sim, 0, 0, 0, 0, NULL, NULL), 1);
    assert_true(has_violation(sim, "monotonic"));
    done(sim);
}

static void a_leader_below_its_own_mark_is_a_stale_term(void **state)
{
    struct bt_sim *sim = fake_cluster(2);
    n0_leads(sim, 2, 0, 700);
    assert_false(has_violation(sim, "no_stale_term"));
    fakes[0]->high_water[0] = 800; /* it learned a greater token and kept its term */
    bt_sim_poke(sim, 0);
    assert_true(has_violation(sim, "no_stale_term"));
    done(sim);
}

static void elected_for_a_session_nobody_holds_is_a_bad_event(void **state)
{
    struct bt_sim *sim = fake_cluster(2);
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = BT_EV_ELECTED;
    ev.session = 999;
    bt_name_set(&ev.name, "name-1", 6);
    ev.fence = 5;
    fakes[1]->ev[fakes[1]->nev++] = ev;
    bt_sim_poke(sim, 1);
    assert_true(has_violation(sim, "bad_event"));
    done(sim);
}

static void a_node_on_another_leader_at_the_end_breaks_agreement(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    uint64_t session = n0_leads(sim, 3, 0, 900);
    fakes[2]->leader[0] = 1; /* n2 disagrees for good */
    fakes[2]->leader_session[0] = session + 1;
    bt_sim_finish(sim);
    assert_true(has_violation(sim, "agreement"));
    assert_false(bt_sim_stats(sim)->agreed);
    done(sim);
}

static void a_view_that_flips_without_cause_breaks_stability(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    uint64_t session = n0_leads(sim, 3, 0, 900);
    bt_sim_run_for(sim, 400); /* past prop_bound (100 ms) with no change */
    assert_false(has_violation(sim, "stability"));
    fakes[1]->leader[0] = 2;
    fakes[1]->leader_session[0] = session + 7;
    bt_sim_run_for(sim, 50);
    assert_true(has_violation(sim, "stability"));
    done(sim);
}

static void tombstones_no_removal_explains_break_bounded_state(void **state)
{
    struct bt_sim *sim = fake_cluster(2);
    n0_leads(sim, 2, 0, 900);
    fakes[1]->entries = 1;
    fakes[1]->marks = 1;
    bt_sim_run_for(sim, 100);
    assert_false(has_violation(sim, "bounded_state"));
    fakes[1]->tombstones = 1;
    bt_sim_run_for(sim, 100);
    assert_true(has_violation(sim, "bounded_state"));
    done(sim);
}

static void a_removal_explains_a_tombstone_until_the_gc_window_passes(void **state)
{
    struct bt_sim *sim = fake_cluster(2);
    n0_leads(sim, 2, 0, 900);
    assert_int_equal(bt_sim_resign(sim, 0, 0), 0);
    for (uint32_t i = 0; i < 2; i++) {
        fakes[i]->has_leader[0] = false;
        fakes[i]->fence[0] = 0;
        fakes[i]->entries = fakes[i]->tombstones = fakes[i]->marks = 1;
    }
    /* horizon 1000 ms: the window is 2 H + H/4 + 1 s = 3250 ms. */
    bt_sim_run_for(sim, 3000);
    assert_false(has_violation(sim, "bounded_state"));
    bt_sim_run_for(sim, 500);
    assert_true(has_violation(sim, "bounded_state"));
    done(sim);
}

static void a_candidacy_that_never_reaches_a_node_breaks_propagation(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    fakes[2]->deaf[1] = true;
    n0_leads(sim, 3, 0, 1000);
    n0_leads(sim, 3, 1, 1001);
    bt_sim_run_for(sim, 500);
    assert_int_equal(bt_sim_stats(sim)->propagation.len, 1); /* name-0 only */
    bt_sim_finish(sim);
    assert_int_equal(bt_sim_stats(sim)->propagation_pending, 1);
    assert_true(has_violation(sim, "propagation"));
    done(sim);
}

static void a_deposed_leaders_writes_are_refused_after_the_next_term(void **state)
{
    struct bt_sim *sim = fake_cluster(2);
    n0_leads(sim, 2, 0, 1000);
    bt_sim_run_for(sim, 100);
    /* n1 is elected with a greater token while n0 still believes. */
    fakes[1]->lead_rc = 0;
    uint64_t s1 = 0;
    assert_int_equal(bt_sim_lead(sim, 1, 0, 0, 0, &s1, NULL), 0);
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = BT_EV_ELECTED;
    ev.session = s1;
    bt_name_set(&ev.name, "name-0", 6);
    ev.fence = 2000;
    fakes[1]->high_water[0] = 2000;
    fakes[1]->ev[fakes[1]->nev++] = ev;
    bt_sim_poke(sim, 1);
    uint64_t before = bt_sim_stats(sim)->writes_rejected;
    bt_sim_run_for(sim, 200);
    assert_true(bt_sim_resource_high_water(sim, 0) == 2000);
    assert_true(bt_sim_stats(sim)->writes_rejected > before);
    assert_true(bt_sim_stats(sim)->terms_admitted == 2);
    assert_false(has_violation(sim, "fencing"));
    done(sim);
}

static void failover_is_timed_from_the_crash_to_the_last_node_that_agrees(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    n0_leads(sim, 3, 0, 1000);
    fakes[1]->lead_rc = 0;
    uint64_t s1 = 0;
    assert_int_equal(bt_sim_lead(sim, 1, 0, 0, 0, &s1, NULL), 0);
    bt_sim_run_for(sim, 100);
    assert_int_equal(bt_sim_crash(sim, 0), 0);
    bt_sim_run_for(sim, 30);
    fakes[1]->has_leader[0] = true;
    fakes[1]->leader[0] = 1;
    fakes[1]->leader_session[0] = s1;
    bt_sim_poke(sim, 1);
    bt_sim_run_for(sim, 40);
    assert_int_equal(bt_sim_stats(sim)->failover.len, 0);
    fakes[2]->leader[0] = 1;
    fakes[2]->leader_session[0] = s1;
    bt_sim_poke(sim, 2);
    assert_int_equal(bt_sim_stats(sim)->failover.len, 1);
    assert_true(bt_sim_stats(sim)->failover.v[0] == 70);
    done(sim);
}

/* Queues an ELECTED or REVOKED on fake i for name k. */
static void queue_term_event(uint32_t i, enum bt_event_kind kind, uint64_t session, uint32_t k,
                             uint64_t token)
{
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.session = session;
    char text[16];
    int len = snprintf(text, sizeof text, "name-%" PRIu32, k);
    bt_name_set(&ev.name, text, (size_t)len);
    ev.fence = token;
    fakes[i]->ev[fakes[i]->nev++] = ev;
}

/* n1 campaigns after n0 won, mints anyway (it did not wait to hear of n0)
 * and is revoked: the true winner never changed, nothing else happened. */
static void a_revocation_nothing_explains_breaks_revocation(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    bt_sim_run_for(sim, 50); /* the membership has converged */
    n0_leads(sim, 3, 0, 1000);
    fakes[1]->lead_rc = 1;
    fakes[1]->lead_token = 1001;
    uint64_t s1 = 0;
    assert_int_equal(bt_sim_lead(sim, 1, 0, 0, 0, &s1, NULL), 1);
    bt_sim_run_for(sim, 5);
    assert_false(has_violation(sim, "revocation"));
    fakes[1]->fence[0] = 0;
    queue_term_event(1, BT_EV_REVOKED, s1, 0, 1001);
    bt_sim_poke(sim, 1);
    assert_true(has_violation(sim, "revocation"));
    assert_true(bt_sim_stats(sim)->revocations_uncaused == 1);
    done(sim);
}

/* n2 leads, then n0 campaigns and outranks it: n2's revocation has a cause. */
static void a_revocation_after_the_winner_changed_is_no_violation(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    bt_sim_run_for(sim, 50);
    fakes[2]->lead_rc = 1;
    fakes[2]->lead_token = 1000;
    uint64_t s2 = 0;
    assert_int_equal(bt_sim_lead(sim, 2, 0, 0, 0, &s2, NULL), 1);
    bt_sim_run_for(sim, 100);
    fakes[0]->lead_rc = 0;
    assert_int_equal(bt_sim_lead(sim, 0, 0, 0, 0, NULL, NULL), 0);
    fakes[2]->fence[0] = 0;
    queue_term_event(2, BT_EV_REVOKED, s2, 0, 1000);
    bt_sim_poke(sim, 2);
    assert_false(has_violation(sim, "revocation"));
    assert_true(bt_sim_stats(sim)->revocations == 1);
    assert_true(bt_sim_stats(sim)->revocations_uncaused == 0);
    done(sim);
}

/* A pause is a cause: the paused leader's term may be overtaken. */
static void a_revocation_after_a_pause_is_no_violation(void **state)
{
    struct bt_sim *sim = fake_cluster(3);
    bt_sim_run_for(sim, 50);
    uint64_t s0 = n0_leads(sim, 3, 0, 1000);
    bt_sim_run_for(sim, 100);
    assert_int_equal(bt_sim_pause(sim, 0), 0);
    bt_sim_run_for(sim, 100);
    assert_int_equal(bt_sim_resume(sim, 0), 0);
    fakes[0]->fence[0] = 0;
    queue_term_event(0, BT_EV_REVOKED, s0, 0, 1000);
    bt_sim_poke(sim, 0);
    assert_false(has_violation(sim, "revocation"));
    assert_true(bt_sim_stats(sim)->revocations == 1);
    done(sim);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(an_agreed_cluster_passes_every_check),
    cmocka_unit_test(minting_at_or_below_a_known_mark_is_not_monotonic),
    cmocka_unit_test(a_leader_below_its_own_mark_is_a_stale_term),
    cmocka_unit_test(elected_for_a_session_nobody_holds_is_a_bad_event),
    cmocka_unit_test(a_node_on_another_leader_at_the_end_breaks_agreement),
    cmocka_unit_test(a_view_that_flips_without_cause_breaks_stability),
    cmocka_unit_test(tombstones_no_removal_explains_break_bounded_state),
    cmocka_unit_test(a_removal_explains_a_tombstone_until_the_gc_window_passes),
    cmocka_unit_test(a_candidacy_that_never_reaches_a_node_breaks_propagation),
    cmocka_unit_test(a_deposed_leaders_writes_are_refused_after_the_next_term),
    cmocka_unit_test(failover_is_timed_from_the_crash_to_the_last_node_that_agrees),
    cmocka_unit_test(a_revocation_nothing_explains_breaks_revocation),
    cmocka_unit_test(a_revocation_after_the_winner_changed_is_no_violation),
    cmocka_unit_test(a_revocation_after_a_pause_is_no_violation),
};

BT_TEST_MAIN(tests)
