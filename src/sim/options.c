/* baton-sim's command line; see options.h and docs/simulator.md. */
#include "sim/options.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"

const char *bt_sim_profile_name(enum bt_profile p)
{
    switch (p) {
    case BT_PROFILE_LOCAL: return "local";
    case BT_PROFILE_LAN: return "lan";
    case BT_PROFILE_WAN: return "wan";
    }
    return "?";
}

void bt_sim_options_usage(FILE *f, const char *prog)
{
    size_t count;
    const struct bt_sim_scenario *sc = bt_sim_scenario_list(&count);
    fprintf(
        f,
        "usage: %s [--scenario NAME] [--seed S | --seeds A:B] [--nodes N] [--duration-ms D]\n"
        "          [--profile local|lan|wan] [--loss F] [--latency-ms MIN:MAX] [--skew-ms M] ...\n"
        "\n"
        "Runs the real baton core on N simulated nodes against a virtual clock. One seed\n"
        "is one exact run. Progress goes to stderr; the last line of stdout is a JSON\n"
        "summary. Exit 0 when every invariant held, 1 when one failed (the command that\n"
        "replays the run is printed on stderr), 2 on a bad command line.\n"
        "\n"
        "Run:\n"
        "  --scenario NAME         what happens (default steady):\n",
        prog);
    for (size_t k = 0; k < count; k++)
        fprintf(f, "      %-16s %s\n", sc[k].name, sc[k].summary);
    fprintf(
        f,
        "  --seed S                the seed, 0..2^64-1 (default 1)\n"
        "  --seeds A:B             run seeds A..B-1 one after another; print a line per failing\n"
        "                          seed and one aggregate JSON summary\n"
        "  --nodes N               cluster size, 1..%d (default 5)\n"
        "  --duration-ms D         virtual run time (default 20000); the run goes on past it\n"
        "                          when convergence after the last fault is still pending\n"
        "  --profile P             membership timings: local, lan, wan (default lan)\n"
        "Network (datagrams; streams are reliable and only see latency and partitions):\n"
        "  --latency-ms MIN:MAX    one-way latency range in ms (default local 1:1, lan 1:3,\n"
        "                          wan 10:150)\n"
        "  --loss F                loss probability, 0 <= F < 1 (default 0)\n"
        "  --dup F                 duplication probability, 0..1 (default 0)\n"
        "  --reorder F             probability of an extra 1..max(10, 4*MAX) ms delay (default 0)\n"
        "  --host-crash F          probability that a crash takes its host down (silent), 0..1;\n"
        "                          otherwise only the process dies and its host refuses\n"
        "                          datagrams and connects to it (default 0.5)\n"
        "Clocks:\n"
        "  --skew-ms M             wall-clock offsets uniform in [-M, M] ms (default 0)\n"
        "  --drift-ppm P           wall-clock drift uniform in [-P, P] ppm, P <= 1000 (default 0)\n"
        "  --max-clock-offset-ms X handed to each node (docs/design.md fixes 5, 9; default 10000; "
        "0: a century)\n"
        "Election (see docs/simulator.md):\n"
        "  --names K               names campaigned on, name-0..name-<K-1> (default 1; 0: none)\n"
        "  --campaigners C         nodes that campaign for each name at the start (default all)\n"
        "  --name-bytes L          pad each name with '.' to L bytes, up to 255 (default 0: no)\n"
        "  --campaign-spread-ms S  spread those first campaigns over S ms (default 0: at once)\n"
        "  --write-interval-ms W   each believing leader writes to its resource every W ms\n"
        "                          (default 20; 0: no writes)\n"
        "  --horizon-ms H          replicated entries expire after H ms (default: the core's)\n"
        "Invariants (defaults derived from the profile and N; see docs/simulator.md):\n"
        "  --converge-bound-ms X   converged within X ms of the last fault\n"
        "  --detect-bound-ms X     every crash detected by every live node within X ms of\n"
        "                          the crash or of the end of the last network fault\n"
        "  --fp-grace-ms X         deaths within X ms of a fault's end are not false positives\n"
        "  --max-detection-p99-ms X  fail unless detection p99 (over all seeds) <= X\n"
        "  --max-failover-p99-ms X, --max-handover-p99-ms X, --max-propagation-p99-ms X\n"
        "                          the same for the election's timings\n"
        "  --max-propagation-ms X  fail unless every propagation sample (all seeds) <= X\n"
        "  --agree-bound-ms X      every name agreed within X ms of the last change\n"
        "  --prop-bound-ms X       a candidacy or token reaches every node within X ms (stability\n"
        "                          and monotonic windows)\n"
        "  --elect-check-ms X      agreement/stability/state poll period (default derived;\n"
        "                          at most 1000 while the election has not agreed)\n"
        "  --check-ms X            convergence check period (default 10, 100 above 100 nodes)\n"
        "Output:\n"
        "  --quiet                 no progress on stderr (failures are still reported)\n"
        "  --verbose               more progress: once, every fault; twice, also every\n"
        "                          membership event and why views differ\n"
        "  --help                  this text\n",
        BT_SIM_MAX_NODES);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* Decimal digits only (no sign, no spaces), no overflow, <= max. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (*s == '\0')
        return false;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

/* A finite decimal in [0, 1], below 1 unless one_ok. */
static bool parse_prob(const char *s, bool one_ok, double *out)
{
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0 || (v == 1.0 && !one_ok))
        return false;
    /* strtod accepts hex and "inf"; only plain decimals make sense here. */
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '-'))
            return false;
    *out = v;
    return true;
}

/* "A:B" into two u64 each <= max. */
static bool parse_pair(const char *s, uint64_t max, uint64_t *a, uint64_t *b)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= 32)
        return false;
    char left[32];
    memcpy(left, s, (size_t)(colon - s));
    left[colon - s] = '\0';
    return parse_u64(left, max, a) && parse_u64(colon + 1, max, b);
}

int bt_sim_options_parse(struct bt_sim_options *o, int argc, char **argv, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->scenario = "steady";
    o->seed = 1;
    o->nodes = 5;
    o->duration_ms = 20000;
    o->profile = BT_PROFILE_LAN;
    o->verbosity = 1;
    o->names = 1;
    o->write_interval_ms = 20;
    o->host_crash = 0.5;
    bool seed_given = false;

    for (int k = 1; k < argc; k++) {
        const char *arg = argv[k];
        char flag[64];
        const char *val = NULL;
        if (strncmp(arg, "--", 2) != 0)
            return fail(err, errlen, "unexpected argument '%s' (options start with --)", arg);
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        if (flen >= sizeof flag)
            return fail(err, errlen, "unknown option '%.40s...'", arg);
        memcpy(flag, arg, flen);
        flag[flen] = '\0';
        if (eq)
            val = eq + 1;

        /* Flags without a value. */
        if (strcmp(flag, "--help") == 0 || strcmp(flag, "--quiet") == 0 ||
            strcmp(flag, "--verbose") == 0) {
            if (val != NULL)
                return fail(err, errlen, "%s takes no value (got '%s')", flag, val);
            if (flag[2] == 'h')
                o->help = true;
            else if (flag[2] == 'q')
                o->quiet = true;
            else
                o->verbosity++;
            continue;
        }
        static const char *const valued[] = {
            "--scenario",
            "--seed",
            "--seeds",
            "--nodes",
            "--duration-ms",
            "--profile",
            "--loss",
            "--dup",
            "--reorder",
            "--latency-ms",
            "--host-crash",
            "--skew-ms",
            "--drift-ppm",
            "--check-ms",
            "--converge-bound-ms",
            "--detect-bound-ms",
            "--fp-grace-ms",
            "--max-clock-offset-ms",
            "--max-detection-p99-ms",
            "--names",
            "--campaigners",
            "--campaign-spread-ms",
            "--write-interval-ms",
            "--horizon-ms",
            "--agree-bound-ms",
            "--prop-bound-ms",
            "--elect-check-ms",
            "--max-failover-p99-ms",
            "--max-handover-p99-ms",
            "--max-propagation-p99-ms",
            "--name-bytes",
            "--max-propagation-ms",
        };
        bool known = false;
        for (size_t v = 0; v < sizeof valued / sizeof valued[0]; v++)
            known = known || strcmp(flag, valued[v]) == 0;
        if (!known)
            return fail(err, errlen, "unknown option '%s'", flag);
        if (val == NULL) {
            if (k + 1 >= argc)
                return fail(err, errlen, "%s needs a value", flag);
            val = argv[++k];
        }

        uint64_t u, u2;
        const uint64_t day = UINT64_C(86400000);
        if (strcmp(flag, "--scenario") == 0) {
            if (bt_sim_scenario_find(val) == NULL)
                return fail(err, errlen, "--scenario: unknown scenario '%s' (see --help)", val);
            o->scenario = val;
        } else if (strcmp(flag, "--seed") == 0) {
            if (!parse_u64(val, UINT64_MAX, &o->seed))
                return fail(err, errlen, "--seed: '%s' is not an integer in 0..2^64-1", val);
            seed_given = true;
        } else if (strcmp(flag, "--seeds") == 0) {
            if (!parse_pair(val, UINT64_MAX, &u, &u2) || u >= u2)
                return fail(err, errlen, "--seeds: '%s' is not A:B with integers A < B", val);
            o->seeds_given = true;
            o->seeds_from = u;
            o->seeds_to = u2;
        } else if (strcmp(flag, "--nodes") == 0) {
            if (!parse_u64(val, BT_SIM_MAX_NODES, &u) || u == 0)
                return fail(err, errlen, "--nodes: '%s' is not an integer in 1..%d", val,
                            BT_SIM_MAX_NODES);
            o->nodes = (uint32_t)u;
        } else if (strcmp(flag, "--duration-ms") == 0) {
            if (!parse_u64(val, 365 * day, &u) || u == 0)
                return fail(err, errlen, "--duration-ms: '%s' is not an integer in 1..%" PRIu64,
                            val, 365 * day);
            o->duration_ms = u;
        } else if (strcmp(flag, "--profile") == 0) {
            if (strcmp(val, "local") == 0)
                o->profile = BT_PROFILE_LOCAL;
            else if (strcmp(val, "lan") == 0)
                o->profile = BT_PROFILE_LAN;
            else if (strcmp(val, "wan") == 0)
                o->profile = BT_PROFILE_WAN;
            else
                return fail(err, errlen, "--profile: '%s' is not one of local, lan, wan", val);
        } else if (strcmp(flag, "--loss") == 0) {
            if (!parse_prob(val, false, &o->loss))
                return fail(err, errlen, "--loss: '%s' is not a probability in [0, 1)", val);
        } else if (strcmp(flag, "--dup") == 0) {
            if (!parse_prob(val, true, &o->dup))
                return fail(err, errlen, "--dup: '%s' is not a probability in [0, 1]", val);
        } else if (strcmp(flag, "--reorder") == 0) {
            if (!parse_prob(val, true, &o->reorder))
                return fail(err, errlen, "--reorder: '%s' is not a probability in [0, 1]", val);
        } else if (strcmp(flag, "--host-crash") == 0) {
            if (!parse_prob(val, true, &o->host_crash))
                return fail(err, errlen, "--host-crash: '%s' is not a probability in [0, 1]", val);
        } else if (strcmp(flag, "--latency-ms") == 0) {
            if (!parse_pair(val, 60000, &u, &u2) || u > u2)
                return fail(err, errlen,
                            "--latency-ms: '%s' is not MIN:MAX with 0 <= MIN <= MAX <= 60000", val);
            o->latency_given = true;
            o->latency_min_ms = (uint32_t)u;
            o->latency_max_ms = (uint32_t)u2;
        } else if (strcmp(flag, "--skew-ms") == 0) {
            if (!parse_u64(val, day, &u))
                return fail(err, errlen, "--skew-ms: '%s' is not an integer in 0..%" PRIu64, val,
                            day);
            o->skew_ms = (uint32_t)u;
        } else if (strcmp(flag, "--drift-ppm") == 0) {
            if (!parse_u64(val, 1000, &u))
                return fail(err, errlen, "--drift-ppm: '%s' is not an integer in 0..1000", val);
            o->drift_ppm = (uint32_t)u;
        } else if (strcmp(flag, "--check-ms") == 0) {
            if (!parse_u64(val, 60000, &u) || u == 0)
                return fail(err, errlen, "--check-ms: '%s' is not an integer in 1..60000", val);
            o->check_ms = (uint32_t)u;
        } else if (strcmp(flag, "--names") == 0) {
            if (!parse_u64(val, 100000, &u))
                return fail(err, errlen, "--names: '%s' is not an integer in 0..100000", val);
            o->names = (uint32_t)u;
        } else if (strcmp(flag, "--name-bytes") == 0) {
            if (!parse_u64(val, BATON_NAME_MAX, &u))
                return fail(err, errlen, "--name-bytes: '%s' is not an integer in 0..%d", val,
                            BATON_NAME_MAX);
            o->name_bytes = (uint32_t)u;
        } else if (strcmp(flag, "--campaigners") == 0) {
            if (!parse_u64(val, BT_SIM_MAX_NODES, &u))
                return fail(err, errlen, "--campaigners: '%s' is not an integer in 0..%d", val,
                            BT_SIM_MAX_NODES);
            o->campaigners = (uint32_t)u;
        } else if (strcmp(flag, "--campaign-spread-ms") == 0) {
            if (!parse_u64(val, day, &o->campaign_spread_ms))
                return fail(err, errlen,
                            "--campaign-spread-ms: '%s' is not an integer in 0..%" PRIu64, val,
                            day);
        } else if (strcmp(flag, "--write-interval-ms") == 0) {
            if (!parse_u64(val, day, &o->write_interval_ms))
                return fail(err, errlen,
                            "--write-interval-ms: '%s' is not an integer in 0..%" PRIu64, val, day);
        } else if (strcmp(flag, "--horizon-ms") == 0) {
            if (!parse_u64(val, 365 * day, &o->horizon_ms))
                return fail(err, errlen, "--horizon-ms: '%s' is not an integer in 0..%" PRIu64, val,
                            365 * day);
        } else if (strcmp(flag, "--elect-check-ms") == 0) {
            if (!parse_u64(val, 600000, &u) || u == 0)
                return fail(err, errlen, "--elect-check-ms: '%s' is not an integer in 1..600000",
                            val);
            o->elect_check_ms = (uint32_t)u;
        } else if (strcmp(flag, "--max-clock-offset-ms") == 0) {
            if (!parse_u64(val, 365 * day, &o->max_clock_offset_ms))
                return fail(err, errlen,
                            "--max-clock-offset-ms: '%s' is not an integer in 0..%" PRIu64, val,
                            365 * day);
            o->max_clock_offset_given = true;
        } else {
            /* The four bounds: positive milliseconds up to a day. */
            if (!parse_u64(val, day, &u) || u == 0)
                return fail(err, errlen, "%s: '%s' is not an integer in 1..%" PRIu64, flag, val,
                            day);
            if (strcmp(flag, "--converge-bound-ms") == 0) {
                o->converge_bound_given = true;
                o->converge_bound_ms = u;
            } else if (strcmp(flag, "--detect-bound-ms") == 0) {
                o->detect_bound_given = true;
                o->detect_bound_ms = u;
            } else if (strcmp(flag, "--fp-grace-ms") == 0) {
                o->fp_grace_given = true;
                o->fp_grace_ms = u;
            } else if (strcmp(flag, "--agree-bound-ms") == 0) {
                o->agree_bound_given = true;
                o->agree_bound_ms = u;
            } else if (strcmp(flag, "--prop-bound-ms") == 0) {
                o->prop_bound_given = true;
                o->prop_bound_ms = u;
            } else if (strcmp(flag, "--max-failover-p99-ms") == 0) {
                o->max_failover_p99_ms = u;
            } else if (strcmp(flag, "--max-handover-p99-ms") == 0) {
                o->max_handover_p99_ms = u;
            } else if (strcmp(flag, "--max-propagation-p99-ms") == 0) {
                o->max_propagation_p99_ms = u;
            } else if (strcmp(flag, "--max-propagation-ms") == 0) {
                o->max_propagation_ms = u;
            } else {
                o->max_p99_given = true;
                o->max_p99_ms = u;
            }
        }
    }
    if (seed_given && o->seeds_given)
        return fail(err, errlen, "--seed and --seeds exclude each other");
    if ((uint64_t)o->nodes * o->names > UINT64_C(20000000))
        return fail(err, errlen,
                    "--names: %" PRIu32 " names on %" PRIu32
                    " nodes is more than 2e7 campaign slots",
                    o->names, o->nodes);
    const struct bt_sim_scenario *sc = bt_sim_scenario_find(o->scenario);
    if (!o->help && o->nodes < sc->min_nodes)
        return fail(err, errlen,
                    "--nodes: scenario %s needs at least %" PRIu32 " nodes, got %" PRIu32, sc->name,
                    sc->min_nodes, o->nodes);
    return 0;
}

void bt_sim_options_config(const struct bt_sim_options *o, uint64_t seed, struct bt_sim_config *cfg)
{
    bt_sim_config_defaults(cfg, o->profile);
    cfg->seed = seed;
    cfg->nodes = o->nodes;
    if (o->latency_given) {
        cfg->latency_min_ms = o->latency_min_ms;
        cfg->latency_max_ms = o->latency_max_ms;
    }
    cfg->loss = o->loss;
    cfg->dup = o->dup;
    cfg->reorder = o->reorder;
    cfg->host_crash = o->host_crash;
    cfg->skew_ms = o->skew_ms;
    cfg->drift_ppm = o->drift_ppm;
    cfg->check_ms = o->check_ms;
    if (o->max_clock_offset_given)
        cfg->max_clock_offset_ms = o->max_clock_offset_ms;
    if (o->converge_bound_given)
        cfg->converge_bound_ms = o->converge_bound_ms;
    if (o->detect_bound_given)
        cfg->detect_bound_ms = o->detect_bound_ms;
    if (o->fp_grace_given)
        cfg->fp_grace_ms = o->fp_grace_ms;
    cfg->names = o->names;
    cfg->campaigners = o->campaigners;
    cfg->name_bytes = o->name_bytes;
    cfg->campaign_spread_ms = o->campaign_spread_ms;
    cfg->write_interval_ms = o->write_interval_ms;
    cfg->horizon_ms = o->horizon_ms;
    if (o->agree_bound_given)
        cfg->agree_bound_ms = o->agree_bound_ms;
    if (o->prop_bound_given)
        cfg->prop_bound_ms = o->prop_bound_ms;
    cfg->elect_check_ms = o->elect_check_ms;
    cfg->verbosity = o->quiet ? 0 : o->verbosity;
}

/* The shortest text that strtod reads back as v. */
static void format_prob(char *buf, size_t len, double v)
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, len, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

size_t bt_sim_options_replay(const struct bt_sim_options *o, uint64_t seed, const char *prog,
                             char *buf, size_t len)
{
    struct bt_sim_config cfg;
    bt_sim_options_config(o, seed, &cfg);
    size_t at = 0;
#define ADD(...)                                                                                   \
    do {                                                                                           \
        int r_ = snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__);                         \
        if (r_ > 0)                                                                                \
            at += (size_t)r_;                                                                      \
    } while (0)
    if (len == 0)
        return 0;
    buf[0] = '\0';
    ADD("%s --scenario %s --seed %" PRIu64 " --nodes %" PRIu32 " --duration-ms %" PRIu64
        " --profile %s --latency-ms %" PRIu32 ":%" PRIu32,
        prog, o->scenario, seed, o->nodes, o->duration_ms, bt_sim_profile_name(o->profile),
        cfg.latency_min_ms, cfg.latency_max_ms);
    char num[32];
    if (o->loss > 0) {
        format_prob(num, sizeof num, o->loss);
        ADD(" --loss %s", num);
    }
    if (o->dup > 0) {
        format_prob(num, sizeof num, o->dup);
        ADD(" --dup %s", num);
    }
    if (o->reorder > 0) {
        format_prob(num, sizeof num, o->reorder);
        ADD(" --reorder %s", num);
    }
    if (o->host_crash != 0.5) {
        format_prob(num, sizeof num, o->host_crash);
        ADD(" --host-crash %s", num);
    }
    if (o->skew_ms > 0)
        ADD(" --skew-ms %" PRIu32, o->skew_ms);
    if (o->drift_ppm > 0)
        ADD(" --drift-ppm %" PRIu32, o->drift_ppm);
    if (o->max_clock_offset_given)
        ADD(" --max-clock-offset-ms %" PRIu64, o->max_clock_offset_ms);
    if (o->check_ms > 0)
        ADD(" --check-ms %" PRIu32, o->check_ms);
    if (o->converge_bound_given)
        ADD(" --converge-bound-ms %" PRIu64, o->converge_bound_ms);
    if (o->detect_bound_given)
        ADD(" --detect-bound-ms %" PRIu64, o->detect_bound_ms);
    if (o->fp_grace_given)
        ADD(" --fp-grace-ms %" PRIu64, o->fp_grace_ms);
    ADD(" --names %" PRIu32, o->names);
    if (o->names > 0) {
        if (o->campaigners > 0)
            ADD(" --campaigners %" PRIu32, o->campaigners);
        if (o->name_bytes > 0)
            ADD(" --name-bytes %" PRIu32, o->name_bytes);
        if (o->campaign_spread_ms > 0)
            ADD(" --campaign-spread-ms %" PRIu64, o->campaign_spread_ms);
        ADD(" --write-interval-ms %" PRIu64, o->write_interval_ms);
        if (o->horizon_ms > 0)
            ADD(" --horizon-ms %" PRIu64, o->horizon_ms);
        if (o->agree_bound_given)
            ADD(" --agree-bound-ms %" PRIu64, o->agree_bound_ms);
        if (o->prop_bound_given)
            ADD(" --prop-bound-ms %" PRIu64, o->prop_bound_ms);
        if (o->elect_check_ms > 0)
            ADD(" --elect-check-ms %" PRIu32, o->elect_check_ms);
    }
#undef ADD
    return at < len ? at : len - 1;
}
