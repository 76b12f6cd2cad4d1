/*
 * baton-sim's command line: parsing into options, turning options into a
 * simulator configuration, and printing the command that replays one seed.
 * Kept apart from main.c so the parser has unit tests.
 */
#ifndef BT_SIM_OPTIONS_H
#define BT_SIM_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/sim.h"

struct bt_sim_options {
    const char *scenario;         /* --scenario (borrowed from argv); default "steady" */
    uint64_t seed;                /* --seed; default 1 */
    bool seeds_given;             /* --seeds A:B was given */
    uint64_t seeds_from;          /* first seed of --seeds */
    uint64_t seeds_to;            /* one past the last */
    uint32_t nodes;               /* --nodes; default 5 */
    uint64_t duration_ms;         /* --duration-ms; default 20000 */
    enum bt_profile profile;      /* --profile; default lan */
    bool latency_given;           /* --latency-ms given; else the profile's */
    uint32_t latency_min_ms;      /* --latency-ms MIN */
    uint32_t latency_max_ms;      /* --latency-ms MAX */
    double loss;                  /* --loss */
    double dup;                   /* --dup */
    double reorder;               /* --reorder */
    double host_crash;            /* --host-crash; default 0.5 (sim.h) */
    uint32_t skew_ms;             /* --skew-ms */
    uint32_t drift_ppm;           /* --drift-ppm */
    uint32_t check_ms;            /* --check-ms; 0: the simulator's default */
    bool converge_bound_given;    /* --converge-bound-ms given; else the profile's */
    uint64_t converge_bound_ms;   /* its value */
    bool detect_bound_given;      /* --detect-bound-ms given; else the profile's */
    uint64_t detect_bound_ms;     /* its value */
    bool fp_grace_given;          /* --fp-grace-ms given; else the profile's */
    uint64_t fp_grace_ms;         /* its value */
    bool max_clock_offset_given;  /* --max-clock-offset-ms given; else 10000 */
    uint64_t max_clock_offset_ms; /* its value */
    bool max_p99_given;           /* --max-detection-p99-ms given */
    uint64_t max_p99_ms;          /* fail when detection p99 exceeds it */
    /* The election. */
    uint32_t names;              /* --names; default 1 (0: membership alone) */
    uint32_t campaigners;        /* --campaigners; 0 (default): every node */
    uint64_t campaign_spread_ms; /* --campaign-spread-ms; default 0 */
    uint64_t write_interval_ms;  /* --write-interval-ms; default 20 (0: no writes) */
    uint64_t horizon_ms;         /* --horizon-ms; 0 (default): the core's */
    bool agree_bound_given;      /* --agree-bound-ms given; else derived */
    uint64_t agree_bound_ms;
    bool prop_bound_given; /* --prop-bound-ms given; else derived */
    uint64_t prop_bound_ms;
    uint32_t elect_check_ms;         /* --elect-check-ms; 0: derived */
    uint64_t max_failover_p99_ms;    /* --max-failover-p99-ms; 0: no limit */
    uint64_t max_handover_p99_ms;    /* --max-handover-p99-ms; 0: no limit */
    uint64_t max_propagation_p99_ms; /* --max-propagation-p99-ms; 0: no limit */
    uint64_t max_propagation_ms;     /* --max-propagation-ms: the same for the greatest sample */
    bool quiet;                      /* --quiet: no progress on stderr */
    int verbosity;                   /* 1; each --verbose adds one */
    bool help;                       /* --help */
    uint32_t name_bytes;             /* --name-bytes; 0 (default): names unpadded */
};

/* Parses argv into o (argv strings are borrowed). Returns 0, or -1 with a
 * message naming the offending argument in err. */
int bt_sim_options_parse(struct bt_sim_options *o, int argc, char **argv, char *err, size_t errlen);

/* The simulator configuration for one seed (ops, log left to the caller). */
void bt_sim_options_config(const struct bt_sim_options *o, uint64_t seed,
                           struct bt_sim_config *cfg);

/* Writes the command replaying seed alone (every option that shapes the
 * run, explicitly) into buf; returns its length (truncated to len - 1). */
size_t bt_sim_options_replay(const struct bt_sim_options *o, uint64_t seed, const char *prog,
                             char *buf, size_t len);

void bt_sim_options_usage(FILE *f, const char *prog);

const char *bt_sim_profile_name(enum bt_profile p);

#endif
