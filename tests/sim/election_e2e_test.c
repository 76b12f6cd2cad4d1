/*
 * The election end to end, in the simulator: the reference's scenarios
 * (three nodes elect the lowest node name and all agree; killing the
 * leader's node elects the next one with a greater token; priority beats
 * name order) and the fixes that go beyond it (a resign, a session end and
 * a graceful leave hand over without failure detection; a paused leader's
 * late write is refused and it is revoked; a restarted node does not
 * inherit its old sessions). Each runs the real core on a few seeds, on the
 * local profile, and ends with every invariant of docs/simulator.md
 * checked by bt_sim_finish().
 *
 * Like tarantool's cluster tests, each reads as its scenario: build the
 * cluster, act, wait for the outcome with a virtual-time bound, assert.
 * A failure prints the seed; `baton-sim` replays most of these shapes.
 */
#include "unit/test_main.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "baton/baton.h"
#include "sim/sim.h"

enum { SEEDS = 4, NAME = 0 };

/* A running cluster of n nodes that converged; names campaignable. */
static struct bt_sim *cluster(uint64_t seed, uint32_t n, uint32_t names)
{
    struct bt_sim_config cfg;
    bt_sim_config_defaults(&cfg, BT_PROFILE_LOCAL);
    cfg.seed = seed;
    cfg.nodes = n;
    cfg.names = names;
    cfg.ops = &bt_sim_core_ops;
    cfg.verbosity = 0;
    struct bt_sim *sim = bt_sim_new(&cfg);
    assert_non_null(sim);
    if (!bt_sim_wait_converged(sim, 5000))
        fail_msg("seed %" PRIu64 ": %" PRIu32 " nodes did not converge in 5 s", seed, n);
    /* Nodes that joined through seeds campaign once they have read the
     * members' clocks (design.md fix 9): a few protocol periods. */
    bt_sim_run_until(sim, bt_sim_now(sim) + 1000);
    return sim;
}

/* Finishes the run and fails on any invariant violation, naming them. */
static void finish_clean(struct bt_sim *sim, uint64_t seed)
{
    bt_sim_finish(sim);
    size_t count = bt_sim_violation_count(sim);
    for (size_t k = 0; k < count && k < BT_SIM_MAX_VIOLATIONS; k++)
        print_error("seed %" PRIu64 ": %s\n", seed, bt_sim_violation_text(sim, k));
    if (count > 0)
        fail_msg("seed %" PRIu64 ": %zu invariant violations", seed, count);
}

/* Waits until the name is agreed; fails with the reason otherwise. */
static void wait_agreed(struct bt_sim *sim, uint64_t seed, uint64_t timeout_ms)
{
    if (bt_sim_wait_agreed(sim, NAME, timeout_ms))
        return;
    char why[256];
    bt_sim_agreed(sim, NAME, why, sizeof why);
    fail_msg("seed %" PRIu64 ": not agreed after %" PRIu64 " ms: %s", seed, timeout_ms, why);
}

/* Every running node sees `leader` (and its session) lead the name. */
static void assert_all_see(struct bt_sim *sim, uint32_t leader)
{
    uint64_t session = bt_sim_campaign_session(sim, leader, NAME);
    assert_true(session != 0);
    for (uint32_t i = 0; i < bt_sim_size(sim); i++) {
        if (bt_sim_node_state(sim, i) != BT_SIM_RUNNING)
            continue;
        uint32_t who = UINT32_MAX;
        uint64_t s = 0;
        assert_int_equal(bt_sim_leader_view(sim, i, NAME, &who, &s), 0);
        assert_int_equal(who, leader);
        assert_true(s == session);
    }
}

/* Node i campaigns for the name in a new session with priority. */
static int lead(struct bt_sim *sim, uint32_t i, int64_t priority)
{
    return bt_sim_lead(sim, i, NAME, priority, 0, NULL, NULL);
}

static void three_nodes_elect_the_lowest_name_and_all_agree(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 3, 1);
        /* Highest name first, in the same millisecond: each sees only its
         * own candidacy at first, and settles before minting (fix 8). */
        for (uint32_t i = 3; i-- > 0;)
            assert_true(lead(sim, i, 0) >= 0);
        wait_agreed(sim, seed, 2000);
        uint32_t leader;
        assert_true(bt_sim_true_leader(sim, NAME, &leader, NULL));
        assert_int_equal(leader, 0);
        assert_all_see(sim, 0);
        uint64_t token;
        assert_true(bt_sim_believes(sim, 0, NAME, &token));
        assert_false(bt_sim_believes(sim, 1, NAME, NULL));
        assert_false(bt_sim_believes(sim, 2, NAME, NULL));
        /* One term: nobody else minted, nobody was revoked. */
        assert_true(bt_sim_stats(sim)->leader_changes == 1);
        assert_true(bt_sim_stats(sim)->revocations == 0);
        /* The leader's writes reach the resource with its token. */
        bt_sim_run_for(sim, 200);
        assert_true(bt_sim_resource_high_water(sim, NAME) == token);
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

static void killing_the_leader_elects_the_next_with_a_greater_token(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 3, 1);
        for (uint32_t i = 0; i < 3; i++)
            assert_true(lead(sim, i, 0) >= 0);
        wait_agreed(sim, seed, 2000);
        uint64_t first;
        assert_true(bt_sim_believes(sim, 0, NAME, &first));
        bt_sim_run_for(sim, 100);

        assert_int_equal(bt_sim_crash(sim, 0), 0);
        wait_agreed(sim, seed, 2 * bt_sim_config(sim)->detect_bound_ms);
        assert_all_see(sim, 1);
        uint64_t second;
        assert_true(bt_sim_believes(sim, 1, NAME, &second));
        assert_true(second > first);
        bt_sim_run_for(sim, 100);
        assert_true(bt_sim_resource_high_water(sim, NAME) == second);
        assert_int_equal(bt_sim_stats(sim)->failover.len, 1);
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

static void priority_one_on_the_highest_name_beats_the_rest(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 3, 1);
        assert_true(lead(sim, 0, 0) >= 0);
        assert_true(lead(sim, 1, 0) >= 0);
        bt_sim_run_for(sim, 50);
        assert_true(lead(sim, 2, 1) >= 0);
        wait_agreed(sim, seed, 2000);
        assert_all_see(sim, 2);
        assert_true(bt_sim_believes(sim, 2, NAME, NULL));
        assert_false(bt_sim_believes(sim, 0, NAME, NULL));
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

/* Resign, session end and leave: the next node leads long before any
 * failure detector could have noticed (fix 7 and the urgent broadcasts). */
static void resign_end_and_leave_hand_over_without_failure_detection(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 5, 1);
        bt_sim_campaign_all(sim);
        wait_agreed(sim, seed, 2000);
        uint64_t probe = 100; /* the local profile's probe interval: detection takes longer */

        assert_int_equal(bt_sim_resign(sim, 0, NAME), 0);
        wait_agreed(sim, seed, probe);
        assert_all_see(sim, 1);

        assert_int_equal(bt_sim_session_end(sim, 1, bt_sim_campaign_session(sim, 1, NAME)), 1);
        wait_agreed(sim, seed, probe);
        assert_all_see(sim, 2);

        assert_int_equal(bt_sim_leave(sim, 2), 0);
        wait_agreed(sim, seed, probe + 1000);
        assert_all_see(sim, 3);
        assert_int_equal(bt_sim_stats(sim)->handover.len, 3);
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

/* A session ends: all its names are withdrawn, its other campaigns are not
 * someone else's business. */
static void a_session_end_withdraws_every_name_it_holds(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 3, 3);
        uint64_t s = bt_sim_session_new(sim, 0);
        for (uint32_t k = 0; k < 3; k++)
            assert_int_equal(bt_sim_lead(sim, 0, k, 0, s, NULL, NULL),
                             0); /* settles first (fix 8) */
        for (uint32_t k = 0; k < 3; k++)
            assert_true(bt_sim_lead(sim, 1, k, 0, 0, NULL, NULL) >= 0);
        assert_true(bt_sim_wait_agreed(sim, UINT32_MAX, 2000));
        assert_int_equal(bt_sim_session_end(sim, 0, s), 3);
        assert_true(bt_sim_wait_agreed(sim, UINT32_MAX, 100));
        for (uint32_t k = 0; k < 3; k++) {
            uint32_t who;
            assert_true(bt_sim_true_leader(sim, k, &who, NULL));
            assert_int_equal(who, 1);
            assert_true(bt_sim_believes(sim, 1, k, NULL));
        }
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

/* The leader is paused past failure detection: the others fail over, its
 * late write is refused by the guard, it is revoked (fix 3) and, still the
 * lowest name, leads again with a token above everyone's. */
static void a_paused_leader_is_refused_and_revoked_then_leads_again(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 3, 1);
        for (uint32_t i = 0; i < 3; i++)
            assert_true(lead(sim, i, 0) >= 0);
        wait_agreed(sim, seed, 2000);
        uint64_t old;
        assert_true(bt_sim_believes(sim, 0, NAME, &old));

        assert_int_equal(bt_sim_pause(sim, 0), 0);
        bt_sim_run_for(sim, 2 * bt_sim_config(sim)->detect_bound_ms);
        uint64_t taken;
        assert_true(bt_sim_believes(sim, 1, NAME, &taken));
        assert_true(taken > old);
        assert_true(bt_sim_resource_high_water(sim, NAME) == taken);

        uint64_t rejected = bt_sim_stats(sim)->writes_rejected;
        assert_int_equal(bt_sim_resume(sim, 0), 0);
        wait_agreed(sim, seed, 2000);
        assert_true(bt_sim_stats(sim)->late_writes >= 1);
        assert_true(bt_sim_stats(sim)->late_writes_accepted == 0);
        assert_true(bt_sim_stats(sim)->writes_rejected > rejected);
        uint64_t again;
        assert_true(bt_sim_believes(sim, 0, NAME, &again));
        assert_true(again > taken);
        assert_all_see(sim, 0);
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

/* Fix 1: a restarted process (new boot) does not inherit the sessions of
 * its previous life: until it campaigns again, the next node leads. */
static void a_restarted_node_does_not_inherit_its_old_sessions(void **state)
{
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct bt_sim *sim = cluster(seed, 4, 1);
        bt_sim_campaign_all(sim);
        wait_agreed(sim, seed, 2000);
        assert_int_equal(bt_sim_crash(sim, 0), 0);
        bt_sim_run_for(sim, 20);
        assert_int_equal(bt_sim_restart(sim, 0), 0);
        assert_true(bt_sim_wait_converged(sim, 5000));
        wait_agreed(sim, seed, 2 * bt_sim_config(sim)->detect_bound_ms);
        assert_all_see(sim, 1);
        assert_true(bt_sim_campaign_session(sim, 0, NAME) == 0);

        assert_true(lead(sim, 0, 0) >= 0);
        wait_agreed(sim, seed, 2000);
        assert_all_see(sim, 0);
        finish_clean(sim, seed);
        bt_sim_free(sim);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(three_nodes_elect_the_lowest_name_and_all_agree),
    cmocka_unit_test(killing_the_leader_elects_the_next_with_a_greater_token),
    cmocka_unit_test(priority_one_on_the_highest_name_beats_the_rest),
    cmocka_unit_test(resign_end_and_leave_hand_over_without_failure_detection),
    cmocka_unit_test(a_session_end_withdraws_every_name_it_holds),
    cmocka_unit_test(a_paused_leader_is_refused_and_revoked_then_leads_again),
    cmocka_unit_test(a_restarted_node_does_not_inherit_its_old_sessions),
};

BT_TEST_MAIN(tests)
