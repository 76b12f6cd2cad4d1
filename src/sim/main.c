/*
 * baton-sim: runs scenarios of the real core in the deterministic simulator.
 * See docs/simulator.md and `baton-sim --help`.
 *
 * Wall time is read here only, to report how long a run took; it never
 * reaches the simulation.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

#include "sim/options.h"
#include "sim/scenario.h"
#include "sim/sim.h"

/* What a crash handler prints: the replay command of the run in progress. */
static char crash_note[4096];
static size_t crash_note_len;

static void print_crash_note(void)
{
    if (crash_note_len > 0) {
        ssize_t w = write(STDERR_FILENO, crash_note, crash_note_len);
        (void)w;
    }
}

static void on_fatal_signal(int sig)
{
    print_crash_note();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_crash_handlers(void)
{
    static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_fatal_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = (int)SA_RESETHAND;
        sigaction(sigs[k], &sa, NULL);
    }
#ifdef __SANITIZE_ADDRESS__
    /* ASan and UBSan end the process without a signal we could catch. */
    __sanitizer_set_death_callback(print_crash_note);
#endif
}

static uint64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What several runs add up to (--seeds). */
struct aggregate {
    uint64_t runs, failed;
    uint64_t failed_seeds[100];
    size_t nfailed_seeds;
    uint64_t virtual_ms, packets, bytes;
    uint64_t superseded, by_view, false_positives, not_converged;
    uint64_t crashes, host_crashes, refusals_delivered;
    struct bt_samples detection;                       /* every crash of every seed */
    struct bt_samples convergence;                     /* one per converged seed */
    struct bt_samples failover, handover, propagation; /* every sample of every seed */
    uint64_t leader_changes, writes_accepted, writes_rejected, not_agreed;
    struct bt_samples agreement; /* one per seed whose election agreed */
    char *violations[32];        /* "seed S: ..." */
    size_t nviolations;
};

static void aggregate_violation(struct aggregate *agg, const char *text)
{
    if (agg->nviolations < sizeof agg->violations / sizeof agg->violations[0]) {
        agg->violations[agg->nviolations] = strdup(text);
        if (agg->violations[agg->nviolations] == NULL)
            return;
    }
    agg->nviolations++;
}

static void json_config(struct bt_json *j, const struct bt_sim_options *o,
                        const struct bt_sim_config *cfg)
{
    char latency[32];
    bt_json_key(j, "scenario");
    bt_json_str(j, o->scenario);
    bt_json_key(j, "nodes");
    bt_json_u64(j, o->nodes);
    bt_json_key(j, "profile");
    bt_json_str(j, bt_sim_profile_name(o->profile));
    bt_json_key(j, "duration_ms");
    bt_json_u64(j, o->duration_ms);
    bt_json_key(j, "latency_ms");
    snprintf(latency, sizeof latency, "%" PRIu32 ":%" PRIu32, cfg->latency_min_ms,
             cfg->latency_max_ms);
    bt_json_str(j, latency);
    bt_json_key(j, "loss");
    bt_json_double(j, o->loss);
    bt_json_key(j, "dup");
    bt_json_double(j, o->dup);
    bt_json_key(j, "reorder");
    bt_json_double(j, o->reorder);
    bt_json_key(j, "host_crash");
    bt_json_double(j, o->host_crash);
    bt_json_key(j, "skew_ms");
    bt_json_u64(j, o->skew_ms);
    bt_json_key(j, "drift_ppm");
    bt_json_u64(j, o->drift_ppm);
    bt_json_key(j, "names");
    bt_json_u64(j, o->names);
    bt_json_key(j, "campaigners");
    bt_json_u64(j, o->campaigners);
    bt_json_key(j, "write_interval_ms");
    bt_json_u64(j, o->write_interval_ms);
    bt_json_key(j, "horizon_ms");
    bt_json_u64(j, o->horizon_ms);
    bt_json_key(j, "name_bytes");
    bt_json_u64(j, o->name_bytes);
    bt_json_key(j, "bounds");
    bt_json_obj_begin(j);
    bt_json_key(j, "converge_ms");
    bt_json_u64(j, cfg->converge_bound_ms);
    bt_json_key(j, "detect_ms");
    bt_json_u64(j, cfg->detect_bound_ms);
    bt_json_key(j, "fp_grace_ms");
    bt_json_u64(j, cfg->fp_grace_ms);
    bt_json_key(j, "agree_ms");
    bt_json_u64(j, cfg->agree_bound_ms);
    bt_json_key(j, "prop_ms");
    bt_json_u64(j, cfg->prop_bound_ms);
    bt_json_key(j, "elect_check_ms");
    bt_json_u64(j, cfg->elect_check_ms);
    bt_json_obj_end(j);
}

/* The --max-*-p99-ms limits (and --max-propagation-ms, a limit on the
 * greatest sample) over a set of samples: a violation line per limit
 * broken, written into line; returns whether any was. */
static bool p99_limits(const struct bt_sim_options *o, struct bt_samples *detection,
                       struct bt_samples *failover, struct bt_samples *handover,
                       struct bt_samples *propagation, char *line, size_t len)
{
    struct {
        const char *name;
        bool given;
        uint64_t limit;
        struct bt_samples *s;
        double pct;
    } lim[] = {
        {"detection_p99", o->max_p99_given, o->max_p99_ms, detection, 99},
        {"failover_p99", o->max_failover_p99_ms > 0, o->max_failover_p99_ms, failover, 99},
        {"handover_p99", o->max_handover_p99_ms > 0, o->max_handover_p99_ms, handover, 99},
        {"propagation_p99", o->max_propagation_p99_ms > 0, o->max_propagation_p99_ms, propagation,
         99},
        {"propagation_max", o->max_propagation_ms > 0, o->max_propagation_ms, propagation, 100},
    };
    for (size_t k = 0; k < sizeof lim / sizeof lim[0]; k++) {
        if (!lim[k].given)
            continue;
        if (lim[k].s->len == 0 && lim[k].s == detection)
            continue; /* a run may crash nothing that was timed */
        if (lim[k].s->len == 0) {
            snprintf(line, len, "%s: no sample to judge (limit %" PRIu64 " ms)", lim[k].name,
                     lim[k].limit);
            return true;
        }
        uint64_t p99 = bt_samples_percentile(lim[k].s, lim[k].pct);
        if (p99 > lim[k].limit) {
            snprintf(line, len, "%s: %" PRIu64 " ms over %zu samples > %" PRIu64 " ms", lim[k].name,
                     p99, lim[k].s->len, lim[k].limit);
            return true;
        }
    }
    return false;
}

/* Runs one seed. With single set, prints its JSON line on stdout; with agg,
 * adds to it. Returns 0 (all invariants held), 1 (a violation) or -1
 * (could not run). */
static int run_seed(const struct bt_sim_options *o, uint64_t seed, const char *prog, bool single,
                    struct aggregate *agg)
{
    const struct bt_sim_scenario *sc = bt_sim_scenario_find(o->scenario);
    struct bt_sim_config cfg;
    bt_sim_options_config(o, seed, &cfg);
    cfg.ops = &bt_sim_core_ops;
    /* In multi-seed mode only --verbose shows a run's progress. */
    if (!single && cfg.verbosity > 0)
        cfg.verbosity--;
    cfg.log = cfg.verbosity > 0 ? stderr : NULL;

    char replay[2048];
    bt_sim_options_replay(o, seed, prog, replay, sizeof replay);
    int note =
        snprintf(crash_note, sizeof crash_note, "baton-sim: the run died; replay: %s\n", replay);
    crash_note_len = note > 0 && (size_t)note < sizeof crash_note ? (size_t)note : 0;

    uint64_t wall0 = wall_now_ms();
    struct bt_sim *sim = bt_sim_new(&cfg);
    if (sim == NULL) {
        fprintf(stderr, "baton-sim: cannot create the simulation (out of memory?)\n");
        crash_note_len = 0;
        return -1;
    }
    if (single && !o->quiet)
        fprintf(stderr,
                "baton-sim: %s, seed %" PRIu64 ", %" PRIu32 " nodes, profile %s, %" PRIu64 " ms\n",
                sc->name, seed, o->nodes, bt_sim_profile_name(o->profile), o->duration_ms);
    struct bt_sim_scenario_args args = {.duration_ms = o->duration_ms};
    sc->run(sim, &args);
    bt_sim_finish(sim);
    uint64_t wall_ms = wall_now_ms() - wall0;
    crash_note_len = 0;

    struct bt_sim_stats *st = bt_sim_stats(sim);
    if (single && o->max_p99_given && st->detection.len > 0 &&
        bt_samples_percentile(&st->detection, 99) > o->max_p99_ms)
        bt_sim_violation(sim, "detection_p99", "%" PRIu64 " ms > %" PRIu64 " ms",
                         bt_samples_percentile(&st->detection, 99), o->max_p99_ms);
    char limit_line[200];
    if (single && (o->max_failover_p99_ms || o->max_handover_p99_ms || o->max_propagation_p99_ms ||
                   o->max_propagation_ms)) {
        struct bt_samples none;
        bt_samples_init(&none);
        if (p99_limits(o, &none, &st->failover, &st->handover, &st->propagation, limit_line,
                       sizeof limit_line)) {
            char *colon = strchr(limit_line, ':');
            if (colon != NULL) {
                *colon = '\0';
                bt_sim_violation(sim, limit_line, "%s", colon + 2);
            }
        }
        bt_samples_destroy(&none);
    }
    size_t nviol = bt_sim_violation_count(sim);

    if (single) {
        struct bt_json j;
        bt_json_init(&j);
        bt_json_obj_begin(&j);
        bt_json_key(&j, "seed");
        bt_json_u64(&j, seed);
        json_config(&j, o, bt_sim_config(sim));
        bt_sim_report_json(sim, &j);
        bt_json_key(&j, "wall_ms");
        bt_json_u64(&j, wall_ms);
        bt_json_obj_end(&j);
        const char *text = bt_json_cstr(&j);
        printf("%s\n", text ? text : "{\"error\":\"out of memory\"}");
        fflush(stdout);
        bt_json_destroy(&j);
        if (!o->quiet) {
            if (st->detection.len > 0)
                fprintf(stderr,
                        "baton-sim: %zu crashes detected: p50 %" PRIu64 " ms, p99 %" PRIu64
                        " ms, max %" PRIu64 " ms\n",
                        st->detection.len, bt_samples_percentile(&st->detection, 50),
                        bt_samples_percentile(&st->detection, 99), bt_samples_max(&st->detection));
            if (st->converged)
                fprintf(stderr,
                        "baton-sim: converged %" PRIu64 " ms after the last fault (at %" PRIu64
                        " ms)\n",
                        st->convergence_ms, st->last_fault_ms);
            struct {
                const char *what;
                struct bt_samples *s;
            } timings[] = {{"failovers", &st->failover},
                           {"handovers", &st->handover},
                           {"candidacies propagated", &st->propagation}};
            for (size_t k = 0; k < sizeof timings / sizeof timings[0]; k++)
                if (timings[k].s->len > 0)
                    fprintf(stderr,
                            "baton-sim: %zu %s: p50 %" PRIu64 " ms, p99 %" PRIu64
                            " ms, max %" PRIu64 " ms\n",
                            timings[k].s->len, timings[k].what,
                            bt_samples_percentile(timings[k].s, 50),
                            bt_samples_percentile(timings[k].s, 99), bt_samples_max(timings[k].s));
            if (o->names > 0)
                fprintf(stderr,
                        "baton-sim: %" PRIu64 " leader changes, writes %" PRIu64
                        " accepted / %" PRIu64 " rejected; election %s\n",
                        st->leader_changes, st->writes_accepted, st->writes_rejected,
                        st->agreed ? "agreed" : "NOT agreed");
            fprintf(stderr,
                    "baton-sim: virtual %" PRIu64 " ms in %" PRIu64
                    " ms of wall time, %zu violations\n",
                    st->virtual_ms, wall_ms, nviol);
        }
        if (nviol > 0)
            fprintf(stderr, "baton-sim: FAILED (%s); replay: %s\n", bt_sim_violation_text(sim, 0),
                    replay);
    } else {
        agg->runs++;
        agg->virtual_ms += st->virtual_ms;
        agg->packets += st->datagrams_sent + st->stream_msgs_sent;
        agg->bytes += st->datagram_bytes + st->stream_bytes;
        agg->superseded += st->detection_superseded;
        agg->by_view += st->detection_by_view;
        agg->false_positives += st->false_positive_deaths;
        agg->crashes += st->crashes;
        agg->host_crashes += st->host_crashes;
        agg->refusals_delivered += st->refusals_delivered;
        for (size_t k = 0; k < st->detection.len; k++)
            bt_samples_add(&agg->detection, st->detection.v[k]);
        for (size_t k = 0; k < st->failover.len; k++)
            bt_samples_add(&agg->failover, st->failover.v[k]);
        for (size_t k = 0; k < st->handover.len; k++)
            bt_samples_add(&agg->handover, st->handover.v[k]);
        for (size_t k = 0; k < st->propagation.len; k++)
            bt_samples_add(&agg->propagation, st->propagation.v[k]);
        agg->leader_changes += st->leader_changes;
        agg->writes_accepted += st->writes_accepted;
        agg->writes_rejected += st->writes_rejected;
        if (o->names > 0 && !st->agreed)
            agg->not_agreed++;
        else if (o->names > 0)
            bt_samples_add(&agg->agreement, st->agreement_ms);
        if (st->converged)
            bt_samples_add(&agg->convergence, st->convergence_ms);
        else
            agg->not_converged++;
        if (nviol > 0) {
            agg->failed++;
            if (agg->nfailed_seeds < sizeof agg->failed_seeds / sizeof agg->failed_seeds[0])
                agg->failed_seeds[agg->nfailed_seeds++] = seed;
            fprintf(stderr, "FAIL seed %" PRIu64 ": %s%s; replay: %s\n", seed,
                    bt_sim_violation_text(sim, 0), nviol > 1 ? " (and more)" : "", replay);
            for (size_t k = 0; k < nviol && k < BT_SIM_MAX_VIOLATIONS; k++) {
                char line[700];
                snprintf(line, sizeof line, "seed %" PRIu64 ": %s", seed,
                         bt_sim_violation_text(sim, k));
                aggregate_violation(agg, line);
            }
        }
    }
    bt_sim_free(sim);
    return nviol > 0 ? 1 : 0;
}

static int run_many(const struct bt_sim_options *o, const char *prog)
{
    struct aggregate agg;
    memset(&agg, 0, sizeof agg);
    bt_samples_init(&agg.detection);
    bt_samples_init(&agg.convergence);
    bt_samples_init(&agg.failover);
    bt_samples_init(&agg.handover);
    bt_samples_init(&agg.propagation);
    bt_samples_init(&agg.agreement);
    uint64_t wall0 = wall_now_ms();
    int status = 0;
    for (uint64_t seed = o->seeds_from; seed < o->seeds_to; seed++) {
        if (run_seed(o, seed, prog, false, &agg) < 0) {
            status = -1;
            break;
        }
    }
    uint64_t wall_ms = wall_now_ms() - wall0;
    bool p99_failed = false;
    char line[200];
    if (p99_limits(o, &agg.detection, &agg.failover, &agg.handover, &agg.propagation, line,
                   sizeof line)) {
        aggregate_violation(&agg, line);
        fprintf(stderr, "FAIL %s\n", line);
        p99_failed = true;
    }

    struct bt_sim_config cfg;
    bt_sim_options_config(o, o->seeds_from, &cfg);
    bt_sim_config_derive(&cfg);
    struct bt_json j;
    bt_json_init(&j);
    bt_json_obj_begin(&j);
    bt_json_key(&j, "seeds");
    char range[48];
    snprintf(range, sizeof range, "%" PRIu64 ":%" PRIu64, o->seeds_from, o->seeds_to);
    bt_json_str(&j, range);
    json_config(&j, o, &cfg);
    bt_json_key(&j, "runs");
    bt_json_u64(&j, agg.runs);
    bt_json_key(&j, "failed");
    bt_json_u64(&j, agg.failed);
    bt_json_key(&j, "failed_seeds");
    bt_json_arr_begin(&j);
    for (size_t k = 0; k < agg.nfailed_seeds; k++)
        bt_json_u64(&j, agg.failed_seeds[k]);
    bt_json_arr_end(&j);
    bt_json_key(&j, "virtual_ms");
    bt_json_u64(&j, agg.virtual_ms);
    bt_json_key(&j, "wall_ms");
    bt_json_u64(&j, wall_ms);
    bt_json_key(&j, "packets_sent");
    bt_json_u64(&j, agg.packets);
    bt_json_key(&j, "bytes_sent");
    bt_json_u64(&j, agg.bytes);
    bt_json_key(&j, "detection_ms");
    bt_json_samples(&j, &agg.detection);
    bt_json_key(&j, "detection_superseded");
    bt_json_u64(&j, agg.superseded);
    bt_json_key(&j, "detection_by_view");
    bt_json_u64(&j, agg.by_view);
    bt_json_key(&j, "false_positive_deaths");
    bt_json_u64(&j, agg.false_positives);
    bt_json_key(&j, "crashes");
    bt_json_u64(&j, agg.crashes);
    bt_json_key(&j, "host_crashes");
    bt_json_u64(&j, agg.host_crashes);
    bt_json_key(&j, "refusals_delivered");
    bt_json_u64(&j, agg.refusals_delivered);
    bt_json_key(&j, "convergence_ms");
    bt_json_samples(&j, &agg.convergence);
    bt_json_key(&j, "not_converged");
    bt_json_u64(&j, agg.not_converged);
    bt_json_key(&j, "failover_ms");
    bt_json_samples(&j, &agg.failover);
    bt_json_key(&j, "handover_ms");
    bt_json_samples(&j, &agg.handover);
    bt_json_key(&j, "propagation_ms");
    bt_json_samples(&j, &agg.propagation);
    bt_json_key(&j, "leader_changes");
    bt_json_u64(&j, agg.leader_changes);
    bt_json_key(&j, "writes_accepted");
    bt_json_u64(&j, agg.writes_accepted);
    bt_json_key(&j, "writes_rejected");
    bt_json_u64(&j, agg.writes_rejected);
    bt_json_key(&j, "not_agreed");
    bt_json_u64(&j, agg.not_agreed);
    bt_json_key(&j, "agreement_ms");
    bt_json_samples(&j, &agg.agreement);
    bt_json_key(&j, "violation_count");
    bt_json_u64(&j, agg.nviolations);
    bt_json_key(&j, "violations");
    bt_json_arr_begin(&j);
    for (size_t k = 0; k < agg.nviolations && k < sizeof agg.violations / sizeof agg.violations[0];
         k++)
        if (agg.violations[k] != NULL)
            bt_json_str(&j, agg.violations[k]);
    bt_json_arr_end(&j);
    bt_json_obj_end(&j);
    const char *text = bt_json_cstr(&j);
    printf("%s\n", text ? text : "{\"error\":\"out of memory\"}");
    bt_json_destroy(&j);
    if (!o->quiet)
        fprintf(stderr,
                "baton-sim: seeds %" PRIu64 ":%" PRIu64 ": %" PRIu64 " runs, %" PRIu64
                " failed, %" PRIu64 " ms of wall time\n",
                o->seeds_from, o->seeds_to, agg.runs, agg.failed, wall_ms);
    for (size_t k = 0; k < agg.nviolations && k < sizeof agg.violations / sizeof agg.violations[0];
         k++)
        free(agg.violations[k]);
    bt_samples_destroy(&agg.detection);
    bt_samples_destroy(&agg.convergence);
    bt_samples_destroy(&agg.failover);
    bt_samples_destroy(&agg.handover);
    bt_samples_destroy(&agg.propagation);
    bt_samples_destroy(&agg.agreement);
    if (status < 0)
        return 1;
    return agg.failed > 0 || p99_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "baton-sim";
    struct bt_sim_options o;
    char err[256];
    if (bt_sim_options_parse(&o, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "baton-sim: %s\nTry 'baton-sim --help'.\n", err);
        return 2;
    }
    if (o.help) {
        bt_sim_options_usage(stdout, "baton-sim");
        return 0;
    }
    install_crash_handlers();
    if (o.seeds_given)
        return run_many(&o, prog);
    int rc = run_seed(&o, o.seed, prog, true, NULL);
    return rc == 0 ? 0 : 1;
}
