/*
 * The scenarios of docs/simulator.md. Each draws its choices from the
 * simulator's fault stream (bt_sim_rng), so the seed fixes them.
 *
 * Faults with a duration (a pause, a cut, a partition, a loss burst) are
 * undone by bt_sim_after() callbacks that check the fault is still the one
 * they meant; that keeps the scripts free of bookkeeping and makes a late
 * undo harmless after chaos has already healed everything.
 */
#include "sim/scenario.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim/prng.h"

static uint32_t pick_node(struct bt_sim *sim, enum bt_sim_node_state state, bool *found)
{
    uint32_t n = bt_sim_size(sim), count = 0;
    for (uint32_t i = 0; i < n; i++)
        count += bt_sim_node_state(sim, i) == state;
    *found = count > 0;
    if (count == 0)
        return 0;
    uint64_t k = bt_prng_below(bt_sim_rng(sim), count);
    for (uint32_t i = 0; i < n; i++)
        if (bt_sim_node_state(sim, i) == state && k-- == 0)
            return i;
    return 0;
}

/* A random split into `sides` non-empty sides (sides <= n). */
static void random_sides(struct bt_sim *sim, uint8_t *side, unsigned sides)
{
    uint32_t n = bt_sim_size(sim);
    struct bt_prng *rng = bt_sim_rng(sim);
    for (;;) {
        unsigned used = 0;
        for (uint32_t i = 0; i < n; i++) {
            side[i] = (uint8_t)bt_prng_below(rng, sides);
            used |= 1u << side[i];
        }
        if (used == (1u << sides) - 1)
            return;
    }
}

/* steady: no node faults; only the network's configured loss, duplication
 * and latency. Convergence is timed from the start (the joins). */
static void run_steady(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    bt_sim_run_until(sim, args->duration_ms);
}

/* crash-one: once the cluster has converged, one random node crashes. */
static void run_crash_one(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint64_t now = bt_sim_now(sim);
    if (!bt_sim_wait_converged(sim, args->duration_ms > now ? args->duration_ms - now : 0)) {
        bt_sim_log(sim, 1, "never converged before the end; no crash");
        return;
    }
    uint32_t victim = (uint32_t)bt_prng_below(bt_sim_rng(sim), bt_sim_size(sim));
    bt_sim_log(sim, 1, "crash n%" PRIu32, victim);
    bt_sim_crash(sim, victim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* restart-one: once converged, one random node crashes and restarts (new
 * boot, same name and address) after a random delay of up to the detection
 * bound: sometimes before anyone noticed the crash, sometimes after. */
static void run_restart_one(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint64_t now = bt_sim_now(sim);
    if (!bt_sim_wait_converged(sim, args->duration_ms > now ? args->duration_ms - now : 0)) {
        bt_sim_log(sim, 1, "never converged before the end; no crash");
        return;
    }
    struct bt_prng *rng = bt_sim_rng(sim);
    uint32_t victim = (uint32_t)bt_prng_below(rng, bt_sim_size(sim));
    uint64_t down_ms = bt_prng_range(rng, 0, bt_sim_config(sim)->detect_bound_ms);
    bt_sim_log(sim, 1, "crash n%" PRIu32 ", restart it %" PRIu64 " ms later", victim, down_ms);
    bt_sim_crash(sim, victim);
    bt_sim_run_for(sim, down_ms);
    bt_sim_restart(sim, victim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* leave-one: once converged, one random node leaves gracefully; the
 * convergence time is how long the cluster takes to agree it left. */
static void run_leave_one(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint64_t now = bt_sim_now(sim);
    if (!bt_sim_wait_converged(sim, args->duration_ms > now ? args->duration_ms - now : 0)) {
        bt_sim_log(sim, 1, "never converged before the end; nobody leaves");
        return;
    }
    uint32_t leaver = (uint32_t)bt_prng_below(bt_sim_rng(sim), bt_sim_size(sim));
    bt_sim_log(sim, 1, "n%" PRIu32 " leaves", leaver);
    if (bt_sim_leave(sim, leaver) != 0)
        bt_sim_violation(sim, "node_failed", "n%" PRIu32 " refused to leave", leaver);
    bt_sim_run_until(sim, args->duration_ms);
}

/* partition-heal: once converged, a random two-sided partition holds for
 * half the remaining time, then heals. */
static void run_partition_heal(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint64_t now = bt_sim_now(sim);
    if (!bt_sim_wait_converged(sim, args->duration_ms > now ? args->duration_ms - now : 0)) {
        bt_sim_log(sim, 1, "never converged before the end; no partition");
        return;
    }
    uint8_t *side = malloc(bt_sim_size(sim));
    if (side == NULL) {
        bt_sim_violation(sim, "sim_out_of_memory", "no memory for a partition");
        return;
    }
    random_sides(sim, side, 2);
    uint32_t left = 0;
    for (uint32_t i = 0; i < bt_sim_size(sim); i++)
        left += side[i] == 0;
    now = bt_sim_now(sim);
    uint64_t heal_at = now + (args->duration_ms > now ? (args->duration_ms - now) / 2 : 0);
    bt_sim_log(sim, 1, "partition %" PRIu32 " | %" PRIu32 " until %" PRIu64 " ms", left,
               bt_sim_size(sim) - left, heal_at);
    bt_sim_partition(sim, side);
    free(side);
    bt_sim_run_until(sim, heal_at);
    bt_sim_log(sim, 1, "heal");
    bt_sim_heal(sim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* --- chaos --------------------------------------------------------------- */

static void undo_pause(struct bt_sim *sim, uint64_t node)
{
    bt_sim_resume(sim, (uint32_t)node);
}

static void undo_cut(struct bt_sim *sim, uint64_t link)
{
    uint32_t n = bt_sim_size(sim);
    bt_sim_unblock(sim, (uint32_t)(link / n), (uint32_t)(link % n));
}

static void undo_partition(struct bt_sim *sim, uint64_t gen)
{
    if (bt_sim_partition_gen(sim) == gen)
        bt_sim_partition(sim, NULL);
}

static void undo_loss(struct bt_sim *sim, uint64_t unused)
{
    bt_sim_set_loss(sim, bt_sim_config(sim)->loss);
}

enum chaos_fault {
    CHAOS_CRASH,
    CHAOS_RESTART,
    CHAOS_PAUSE,
    CHAOS_PARTITION,
    CHAOS_CUT,
    CHAOS_LOSS,
    CHAOS_KINDS
};

/* Relative frequencies of the chaos faults. */
static const unsigned chaos_weight[CHAOS_KINDS] = {
    [CHAOS_CRASH] = 2, [CHAOS_RESTART] = 2, [CHAOS_PAUSE] = 2,
    [CHAOS_PARTITION] = 1, [CHAOS_CUT] = 2, [CHAOS_LOSS] = 1,
};

/* How long chaos faults last scales with the profile's pace: the detection
 * bound over that of `local` (about 5 s), clamped to 1..10. */
static uint64_t chaos_scale(const struct bt_sim *sim)
{
    uint64_t f = bt_sim_config(sim)->detect_bound_ms / 5000;
    return f < 1 ? 1 : f > 10 ? 10 : f;
}

static void chaos_one_fault(struct bt_sim *sim, uint8_t *side)
{
    struct bt_prng *rng = bt_sim_rng(sim);
    uint64_t f = chaos_scale(sim);
    uint32_t n = bt_sim_size(sim);
    unsigned total = 0;
    for (int k = 0; k < CHAOS_KINDS; k++)
        total += chaos_weight[k];
    uint64_t r = bt_prng_below(rng, total);
    int kind = 0;
    while (r >= chaos_weight[kind])
        r -= chaos_weight[kind++];

    uint32_t running = 0;
    for (uint32_t i = 0; i < n; i++)
        running += bt_sim_node_state(sim, i) == BT_SIM_RUNNING;
    bool found;
    uint32_t i;
    switch (kind) {
    case CHAOS_CRASH:
        /* Keep one node running: someone must carry the cluster's state. */
        i = pick_node(sim, BT_SIM_RUNNING, &found);
        if (found && running > 1)
            bt_sim_crash(sim, i);
        break;
    case CHAOS_RESTART:
        i = pick_node(sim, BT_SIM_CRASHED, &found);
        if (found)
            bt_sim_restart(sim, i);
        break;
    case CHAOS_PAUSE:
        i = pick_node(sim, BT_SIM_RUNNING, &found);
        if (found && running > 1) {
            bt_sim_pause(sim, i);
            bt_sim_after(sim, f * bt_prng_range(rng, 100, 5000), undo_pause, i);
        }
        break;
    case CHAOS_PARTITION:
        if (n >= 2) {
            random_sides(sim, side, n >= 3 && bt_prng_chance(rng, 0.25) ? 3 : 2);
            bt_sim_partition(sim, side);
            bt_sim_after(sim, f * bt_prng_range(rng, 200, 8000), undo_partition, bt_sim_partition_gen(sim));
        }
        break;
    case CHAOS_CUT:
        if (n >= 2) {
            uint32_t a = (uint32_t)bt_prng_below(rng, n);
            uint32_t b = (uint32_t)bt_prng_below(rng, n - 1);
            b += b >= a;
            bt_sim_block(sim, a, b);
            bt_sim_after(sim, f * bt_prng_range(rng, 200, 8000), undo_cut, (uint64_t)a * n + b);
        }
        break;
    case CHAOS_LOSS:
        bt_sim_set_loss(sim, 0.2 + 0.4 * bt_prng_unit(rng));
        bt_sim_after(sim, f * bt_prng_range(rng, 200, 5000), undo_loss, 0);
        break;
    }
}

/* chaos: faults of every kind at random (mean gap duration/40, at least
 * 100 ms) until 70% of the duration; then the network heals, paused nodes
 * resume, crashed nodes restart, and the run goes on to converge. Pauses
 * last 0.1-5 s, partitions and cuts 0.2-8 s, loss bursts (20-60%) 0.2-5 s,
 * times chaos_scale (1 for local, 10 for lan and wan). */
static void run_chaos(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    struct bt_prng *rng = bt_sim_rng(sim);
    uint32_t n = bt_sim_size(sim);
    uint64_t calm_at = args->duration_ms / 10 * 7;
    uint64_t mean_gap = args->duration_ms / 40 > 100 ? args->duration_ms / 40 : 100;
    uint8_t *side = malloc(n);
    if (side == NULL) {
        bt_sim_violation(sim, "sim_out_of_memory", "no memory for chaos");
        return;
    }
    for (;;) {
        uint64_t at = bt_sim_now(sim) + bt_prng_range(rng, 1, 2 * mean_gap);
        if (at >= calm_at)
            break;
        bt_sim_run_until(sim, at);
        chaos_one_fault(sim, side);
    }
    free(side);
    bt_sim_run_until(sim, calm_at);
    bt_sim_log(sim, 1, "calm: heal, resume and restart everything");
    bt_sim_heal(sim);
    bt_sim_set_loss(sim, bt_sim_config(sim)->loss);
    for (uint32_t i = 0; i < n; i++) {
        if (bt_sim_node_state(sim, i) == BT_SIM_PAUSED)
            bt_sim_resume(sim, i);
        if (bt_sim_node_state(sim, i) == BT_SIM_CRASHED)
            bt_sim_restart(sim, i);
    }
    bt_sim_run_until(sim, args->duration_ms);
}

static const struct bt_sim_scenario scenarios[] = {
    {"steady", "no node faults", 1, run_steady},
    {"crash-one", "once converged, one random node crashes", 2, run_crash_one},
    {"restart-one", "once converged, one node crashes, restarts (new boot)", 2, run_restart_one},
    {"leave-one", "once converged, one random node leaves gracefully", 2, run_leave_one},
    {"partition-heal", "once converged, a random 2-way partition, then heal", 2, run_partition_heal},
    {"chaos", "every fault at random until 70%, then heal everything", 2, run_chaos},
};

const struct bt_sim_scenario *bt_sim_scenario_find(const char *name)
{
    for (size_t k = 0; k < sizeof scenarios / sizeof scenarios[0]; k++)
        if (strcmp(scenarios[k].name, name) == 0)
            return &scenarios[k];
    return NULL;
}

const struct bt_sim_scenario *bt_sim_scenario_list(size_t *count)
{
    *count = sizeof scenarios / sizeof scenarios[0];
    return scenarios;
}
