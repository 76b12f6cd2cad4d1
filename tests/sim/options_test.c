/* Tests of src/sim/options.c, baton-sim's option parser: options, errors
 * naming the bad value, replay. */
#include "unit/test_main.h"

#include <string.h>

#include "sim/options.h"

#define ARGV(...) ((char *[]){"baton-sim", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"baton-sim", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(o, err, ...)                                                                         \
    bt_sim_options_parse(o, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), err, sizeof err)

static void the_issue_command_line_parses(void **state)
{
    struct bt_sim_options o;
    char err[256];
    assert_int_equal(PARSE(&o, err, "--scenario", "crash-one", "--seed", "17", "--nodes", "50",
                           "--duration-ms", "600000", "--profile", "local", "--loss", "0.1",
                           "--latency-ms", "2:9", "--skew-ms", "300"),
                     0);
    assert_string_equal(o.scenario, "crash-one");
    assert_true(o.seed == 17);
    assert_int_equal(o.nodes, 50);
    assert_true(o.duration_ms == 600000);
    assert_int_equal(o.profile, BT_PROFILE_LOCAL);
    assert_true(o.loss == 0.1);
    assert_true(o.latency_given);
    assert_int_equal(o.latency_min_ms, 2);
    assert_int_equal(o.latency_max_ms, 9);
    assert_int_equal(o.skew_ms, 300);
    assert_false(o.seeds_given);
}

static void defaults_and_equals_syntax(void **state)
{
    struct bt_sim_options o;
    char err[256];
    assert_int_equal(PARSE(&o, err, "--seeds=3:10", "--quiet", "--verbose", "--verbose"), 0);
    assert_string_equal(o.scenario, "steady");
    assert_int_equal(o.nodes, 5);
    assert_true(o.duration_ms == 20000);
    assert_int_equal(o.profile, BT_PROFILE_LAN);
    assert_true(o.seeds_given && o.seeds_from == 3 && o.seeds_to == 10);
    assert_true(o.quiet);
    assert_int_equal(o.verbosity, 3);

    struct bt_sim_config cfg;
    bt_sim_options_config(&o, 3, &cfg);
    assert_int_equal(cfg.latency_min_ms, 1);
    assert_int_equal(cfg.latency_max_ms, 3);
    assert_true(cfg.converge_bound_ms == 0); /* derived by the simulator */
    assert_int_equal(cfg.verbosity, 0);      /* --quiet wins */
}

/* Every rejection names the offending value. */
static void bad_values_are_refused_by_name(void **state)
{
    struct bt_sim_options o;
    char err[256];
    struct {
        const char *flag, *value;
    } bad[] = {
        {"--loss", "1.5"},
        {"--loss", "1"},
        {"--loss", "-0.1"},
        {"--loss", "abc"},
        {"--loss", "inf"},
        {"--loss", "0x1p-2"},
        {"--dup", "2"},
        {"--seed", "-1"},
        {"--seed", "18446744073709551616"},
        {"--seed", "12x"},
        {"--nodes", "0"},
        {"--nodes", "10001"},
        {"--duration-ms", "0"},
        {"--profile", "moon"},
        {"--latency-ms", "5:2"},
        {"--latency-ms", "5"},
        {"--latency-ms", ":5"},
        {"--seeds", "9:9"},
        {"--seeds", "a:b"},
        {"--scenario", "nope"},
        {"--drift-ppm", "5000"},
        {"--check-ms", "0"},
        {"--converge-bound-ms", "0"},
        {"--max-detection-p99-ms", "x"},
        {"--names", "100001"},
        {"--names", "-1"},
        {"--write-interval-ms", "1e3"},
        {"--horizon-ms", "x"},
        {"--elect-check-ms", "0"},
        {"--agree-bound-ms", "0"},
        {"--max-handover-p99-ms", "fast"},
        {"--campaigners", "10001"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char *argv[] = {"baton-sim", (char *)bad[k].flag, (char *)bad[k].value, NULL};
        err[0] = '\0';
        assert_int_equal(bt_sim_options_parse(&o, 3, argv, err, sizeof err), -1);
        assert_non_null(strstr(err, bad[k].flag));
        assert_non_null(strstr(err, bad[k].value));
    }
}

static void unknown_missing_and_conflicting_options_are_refused(void **state)
{
    struct bt_sim_options o;
    char err[256];
    assert_int_equal(PARSE(&o, err, "--frobnicate"), -1);
    assert_non_null(strstr(err, "--frobnicate"));
    assert_int_equal(PARSE(&o, err, "--seed"), -1);
    assert_non_null(strstr(err, "needs a value"));
    assert_int_equal(PARSE(&o, err, "stray"), -1);
    assert_non_null(strstr(err, "stray"));
    assert_int_equal(PARSE(&o, err, "--seed", "1", "--seeds", "1:2"), -1);
    assert_int_equal(PARSE(&o, err, "--quiet=yes"), -1);
    assert_int_equal(PARSE(&o, err, "--scenario", "crash-one", "--nodes", "1"), -1);
    assert_non_null(strstr(err, "crash-one"));
}

/* The election's flags: defaults (one name, writes every 20 ms) and values. */
static void election_flags_reach_the_configuration(void **state)
{
    struct bt_sim_options o;
    char err[256];
    struct bt_sim_config cfg;
    assert_int_equal(PARSE(&o, err, "--scenario", "failover"), 0);
    bt_sim_options_config(&o, 1, &cfg);
    assert_int_equal(cfg.names, 1);
    assert_true(cfg.write_interval_ms == 20);
    assert_true(cfg.horizon_ms == 0 && cfg.agree_bound_ms == 0 && cfg.campaigners == 0);

    assert_int_equal(PARSE(&o, err, "--scenario", "churn", "--names", "7", "--write-interval-ms",
                           "0", "--horizon-ms", "60000", "--campaigners", "3",
                           "--campaign-spread-ms", "500", "--agree-bound-ms", "4000",
                           "--prop-bound-ms", "900", "--elect-check-ms", "50",
                           "--max-failover-p99-ms", "1500", "--max-handover-p99-ms", "50",
                           "--max-propagation-p99-ms", "3000"),
                     0);
    bt_sim_options_config(&o, 1, &cfg);
    assert_int_equal(cfg.names, 7);
    assert_true(cfg.write_interval_ms == 0 && cfg.horizon_ms == 60000 && cfg.campaigners == 3);
    assert_true(cfg.campaign_spread_ms == 500 && cfg.agree_bound_ms == 4000 &&
                cfg.prop_bound_ms == 900);
    assert_int_equal(cfg.elect_check_ms, 50);
    assert_true(o.max_failover_p99_ms == 1500 && o.max_handover_p99_ms == 50 &&
                o.max_propagation_p99_ms == 3000);

    /* Too many campaign slots for the simulator's tables. */
    assert_int_equal(PARSE(&o, err, "--nodes", "10000", "--names", "10000"), -1);
    assert_non_null(strstr(err, "--names"));
}

/* The replay command parses back into the same configuration. */
static void replay_command_reproduces_the_configuration(void **state)
{
    struct bt_sim_options o, back;
    char err[256];
    assert_int_equal(PARSE(&o, err, "--scenario", "chaos", "--seeds", "100:200", "--nodes", "7",
                           "--profile", "wan", "--loss", "0.07", "--dup", "0.01", "--reorder",
                           "0.3", "--skew-ms", "250", "--drift-ppm", "40", "--fp-grace-ms", "777",
                           "--check-ms", "20", "--names", "3", "--campaigners", "2",
                           "--campaign-spread-ms", "70", "--write-interval-ms", "35",
                           "--horizon-ms", "90000", "--agree-bound-ms", "5000", "--prop-bound-ms",
                           "800", "--elect-check-ms", "30"),
                     0);
    char cmd[1024];
    size_t len = bt_sim_options_replay(&o, 123, "baton-sim", cmd, sizeof cmd);
    assert_int_equal(len, strlen(cmd));
    /* Split on spaces into argv. */
    char *argv[64];
    int argc = 0;
    for (char *tok = strtok(cmd, " "); tok != NULL && argc < 63; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    assert_int_equal(bt_sim_options_parse(&back, argc, argv, err, sizeof err), 0);
    assert_false(back.seeds_given);
    assert_true(back.seed == 123);
    struct bt_sim_config a, b;
    bt_sim_options_config(&o, 123, &a);
    bt_sim_options_config(&back, 123, &b);
    assert_true(a.seed == b.seed && a.nodes == b.nodes && a.profile == b.profile);
    assert_true(a.latency_min_ms == b.latency_min_ms && a.latency_max_ms == b.latency_max_ms);
    assert_true(a.loss == b.loss && a.dup == b.dup && a.reorder == b.reorder);
    assert_true(a.skew_ms == b.skew_ms && a.drift_ppm == b.drift_ppm && a.check_ms == b.check_ms);
    assert_true(a.fp_grace_ms == b.fp_grace_ms && a.converge_bound_ms == b.converge_bound_ms);
    assert_true(a.names == b.names && a.campaigners == b.campaigners &&
                a.campaign_spread_ms == b.campaign_spread_ms);
    assert_true(a.write_interval_ms == b.write_interval_ms && a.horizon_ms == b.horizon_ms);
    assert_true(a.agree_bound_ms == b.agree_bound_ms && a.prop_bound_ms == b.prop_bound_ms);
    assert_true(a.elect_check_ms == b.elect_check_ms);
    assert_string_equal(back.scenario, "chaos");
    assert_true(back.duration_ms == o.duration_ms);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(the_issue_command_line_parses),
    cmocka_unit_test(defaults_and_equals_syntax),
    cmocka_unit_test(bad_values_are_refused_by_name),
    cmocka_unit_test(unknown_missing_and_conflicting_options_are_refused),
    cmocka_unit_test(election_flags_reach_the_configuration),
    cmocka_unit_test(replay_command_reproduces_the_configuration),
};

BT_TEST_MAIN(tests)
