/*
 * The scenarios of docs/simulator.md. Each draws its choices from the
 * simulator's fault stream (bt_sim_rng), so the seed fixes them.
 *
 * With names (--names K > 0) every scenario also campaigns: the membership
 * scenarios wait for the cluster to converge, start the campaigns
 * (bt_sim_campaign_all) and wait for the election to agree before their
 * fault; chaos campaigns from the start and adds campaigns, resigns and
 * session ends to its faults; failover, handover, pause and churn exist for
 * the election.
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

#include "baton/baton.h"
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

static uint64_t remaining(const struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint64_t now = bt_sim_now(sim);
    return args->duration_ms > now ? args->duration_ms - now : 0;
}

/* The common opening: wait for the membership to converge, start the
 * campaigns and (with agree) wait until every name is agreed. Returns false
 * when that did not happen before the end of the run. */
static bool settle(struct bt_sim *sim, const struct bt_sim_scenario_args *args, bool agree)
{
    if (!bt_sim_wait_converged(sim, remaining(sim, args))) {
        bt_sim_log(sim, 1, "never converged before the end");
        return false;
    }
    if (bt_sim_names(sim) == 0)
        return true;
    bt_sim_campaign_all(sim);
    if (!agree)
        return true;
    if (!bt_sim_wait_agreed(sim, UINT32_MAX, remaining(sim, args))) {
        bt_sim_log(sim, 1, "the election never agreed before the end");
        return false;
    }
    bt_sim_log(sim, 1, "election agreed");
    return true;
}

/* steady: no node faults; only the network's configured loss, duplication
 * and latency. Convergence is timed from the start (the joins). */
static void run_steady(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    settle(sim, args, false);
    bt_sim_run_until(sim, args->duration_ms);
}

/* crash-one: once the cluster has converged, one random node crashes. */
static void run_crash_one(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    if (!settle(sim, args, true)) {
        bt_sim_log(sim, 1, "no crash");
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
    if (!settle(sim, args, true)) {
        bt_sim_log(sim, 1, "no crash");
        return;
    }
    struct bt_prng *rng = bt_sim_rng(sim);
    uint32_t victim = (uint32_t)bt_prng_below(rng, bt_sim_size(sim));
    uint64_t down_ms = bt_prng_range(rng, 0, bt_sim_config(sim)->detect_bound_ms);
    bt_sim_log(sim, 1, "crash n%" PRIu32 ", restart it %" PRIu64 " ms later", victim, down_ms);
    bt_sim_crash(sim, victim);
    bt_sim_run_for(sim, down_ms);
    bt_sim_restart(sim, victim);
    /* The new process campaigns again, like a restarted service would. */
    bt_sim_campaign_everywhere(sim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* leave-one: once converged, one random node leaves gracefully; the
 * convergence time is how long the cluster takes to agree it left. */
static void run_leave_one(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    if (!settle(sim, args, true)) {
        bt_sim_log(sim, 1, "nobody leaves");
        return;
    }
    uint32_t leaver = (uint32_t)bt_prng_below(bt_sim_rng(sim), bt_sim_size(sim));
    bt_sim_log(sim, 1, "n%" PRIu32 " leaves", leaver);
    if (bt_sim_leave(sim, leaver) != 0)
        bt_sim_violation(sim, "node_failed", "n%" PRIu32 " refused to leave", leaver);
    bt_sim_run_until(sim, args->duration_ms);
}

/* partition-heal: once converged, a random two-sided partition holds for
 * half the remaining time, then heals; with names, the campaigns start
 * inside the partition. */
static void run_partition_heal(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint64_t now;
    /* With names, the campaigns start once the partition is in force: each
     * side elects its own leaders from what it sees, and the heal has to
     * carry each side's election state across the old cut. */
    if (!bt_sim_wait_converged(sim, remaining(sim, args))) {
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
    if (bt_sim_names(sim) > 0)
        bt_sim_campaign_all(sim);
    bt_sim_run_until(sim, heal_at);
    bt_sim_log(sim, 1, "heal");
    bt_sim_heal(sim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* twin: two live processes with one name on the two sides of a partition,
 * then the heal (docs/membership.md, one process per name). Once agreed, a
 * random node j crashes and is held dead everywhere; a random two-sided
 * partition puts node t on one side and j (with at least one other node) on
 * the other; j's slot starts a twin of t there (t's name, j's address, a new
 * boot), which campaigns for every name. Each side accepts its own process
 * and elects with it. At half the remaining time the partition heals: the
 * process with the greater boot id must keep the name on every node, the
 * other must end its terms, report BT_EV_STOPPED (BATON_ECONFLICT) and lead
 * nothing; the usual convergence and agreement checks then hold the
 * survivor to be n<t>. On one seed in four there is no partition: the twin
 * starts in the connected cluster, the duplicate an operator starts by
 * mistake, and the same must hold at once. */
static void run_twin(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint32_t n = bt_sim_size(sim);
    struct bt_prng *rng = bt_sim_rng(sim);
    if (!settle(sim, args, true)) {
        bt_sim_log(sim, 1, "no twin");
        bt_sim_run_until(sim, args->duration_ms);
        return;
    }
    uint32_t t = (uint32_t)bt_prng_below(rng, n);
    uint32_t j = (uint32_t)bt_prng_below(rng, n - 1);
    j += j >= t;
    bt_sim_log(sim, 1, "crash n%" PRIu32 ", to start a twin of n%" PRIu32 " in its slot", j, t);
    bt_sim_crash(sim, j);
    if (!bt_sim_wait_converged(sim, remaining(sim, args))) {
        bt_sim_log(sim, 1, "never converged after the crash");
        bt_sim_run_until(sim, args->duration_ms);
        return;
    }
    uint8_t *side = malloc(n);
    if (side == NULL) {
        bt_sim_violation(sim, "sim_out_of_memory", "no memory for a partition");
        return;
    }
    /* t alone on side 0 at first, j and a random companion on side 1, the
     * others anywhere. */
    uint32_t mate = (uint32_t)bt_prng_below(rng, n - 2);
    for (uint32_t i = 0; i < n; i++)
        side[i] = (uint8_t)bt_prng_below(rng, 2);
    side[t] = 0;
    side[j] = 1;
    for (uint32_t i = 0; i < n; i++)
        if (i != t && i != j && mate-- == 0)
            side[i] = 1;
    uint32_t left = 0;
    for (uint32_t i = 0; i < n; i++)
        left += side[i] == 0;
    uint64_t now = bt_sim_now(sim);
    uint64_t heal_at = now + (args->duration_ms > now ? (args->duration_ms - now) / 2 : 0);
    bool split = bt_sim_config(sim)->seed % 4 != 3;
    if (split) {
        bt_sim_log(sim, 1,
                   "partition %" PRIu32 " | %" PRIu32 " until %" PRIu64 " ms; n%" PRIu32
                   " becomes a twin of n%" PRIu32,
                   left, n - left, heal_at, j, t);
        bt_sim_partition(sim, side);
    } else {
        bt_sim_log(sim, 1, "no partition: n%" PRIu32 " becomes a twin of n%" PRIu32, j, t);
    }
    free(side);
    if (bt_sim_start_twin(sim, j, t) != 0) {
        bt_sim_violation(sim, "node_failed", "the twin of n%" PRIu32 " did not start in n%" PRIu32,
                         t, j);
        return;
    }
    uint64_t boot_t = bt_sim_boot_id(sim, t), boot_j = bt_sim_boot_id(sim, j);
    /* Connected, the twin campaigns once it has joined (if it still runs):
     * a process that mints before its first full-state exchange can have a
     * term admitted at the resource and stop before its fence reaches
     * anyone in time, which sync-before-mint (design.md fix 8) prevents. */
    if (!split)
        bt_sim_run_for(sim, 100);
    for (uint32_t k = 0; k < bt_sim_names(sim) && bt_sim_node_state(sim, j) == BT_SIM_RUNNING; k++)
        bt_sim_lead(sim, j, k, 0, 0, NULL, NULL);
    if (split) {
        bt_sim_run_until(sim, heal_at);
        bt_sim_log(sim, 1, "heal");
        bt_sim_heal(sim);
    }
    bt_sim_run_until(sim, args->duration_ms);
    bt_sim_finish(sim);

    uint32_t keep = boot_t > boot_j ? t : j, lose = keep == t ? j : t;
    if (bt_sim_node_state(sim, keep) != BT_SIM_RUNNING)
        bt_sim_violation(sim, "twin",
                         "n%" PRIu32 " (boot %016" PRIx64 ", the greater) no longer runs", keep,
                         bt_sim_boot_id(sim, keep));
    if (bt_sim_node_state(sim, lose) == BT_SIM_RUNNING ||
        bt_sim_stop_error(sim, lose) != BATON_ECONFLICT)
        bt_sim_violation(sim, "twin",
                         "n%" PRIu32 " (boot %016" PRIx64 ", the lower) %s (stop error %d)", lose,
                         bt_sim_boot_id(sim, lose),
                         bt_sim_node_state(sim, lose) == BT_SIM_RUNNING ? "still runs" : "ended",
                         bt_sim_stop_error(sim, lose));
    else
        bt_sim_log(sim, 1, "n%" PRIu32 " kept the name, n%" PRIu32 " stopped", keep, lose);
}

/* --- the election's scenarios ------------------------------------------ */

/* The true leader of name-0 once agreed, or false (logged). */
static bool leader_of_name0(struct bt_sim *sim, uint32_t *node, uint64_t *session)
{
    if (bt_sim_names(sim) == 0) {
        bt_sim_log(sim, 1, "no names to lead (--names 0)");
        return false;
    }
    if (!bt_sim_true_leader(sim, 0, node, session)) {
        bt_sim_log(sim, 1, "nobody campaigns for name-0");
        return false;
    }
    return true;
}

/* failover: once the election agreed, the node of name-0's leader crashes. */
static void run_failover(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint32_t leader;
    uint64_t session;
    if (settle(sim, args, true) && leader_of_name0(sim, &leader, &session)) {
        bt_sim_log(sim, 1, "crash n%" PRIu32 ", the leader of name-0", leader);
        bt_sim_crash(sim, leader);
    }
    bt_sim_run_until(sim, args->duration_ms);
}

/* handover: once the election agreed, name-0's leader hands over: on even
 * seeds it resigns, on odd seeds its node leaves gracefully. */
static void run_handover(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint32_t leader;
    uint64_t session;
    if (settle(sim, args, true) && leader_of_name0(sim, &leader, &session)) {
        if (bt_sim_config(sim)->seed % 2 == 0) {
            bt_sim_log(sim, 1, "n%" PRIu32 " resigns name-0", leader);
            bt_sim_resign(sim, leader, 0);
        } else {
            bt_sim_log(sim, 1, "n%" PRIu32 ", the leader of name-0, leaves", leader);
            if (bt_sim_leave(sim, leader) != 0)
                bt_sim_violation(sim, "node_failed", "n%" PRIu32 " refused to leave", leader);
        }
    }
    bt_sim_run_until(sim, args->duration_ms);
}

/* Whether every running node sees a leader of name-0 other than `old`, and
 * that leader believes it leads. */
static bool others_moved_on(struct bt_sim *sim, uint32_t old)
{
    uint32_t first = UINT32_MAX;
    for (uint32_t i = 0; i < bt_sim_size(sim); i++) {
        if (bt_sim_node_state(sim, i) != BT_SIM_RUNNING)
            continue;
        uint32_t who;
        if (bt_sim_leader_view(sim, i, 0, &who, NULL) != 0 || who == old ||
            (first != UINT32_MAX && who != first))
            return false;
        first = who;
    }
    return first != UINT32_MAX && bt_sim_believes(sim, first, 0, NULL);
}

/* pause: once agreed, name-0's leader is paused (SIGSTOP) until the others
 * have failed over and the new leader has written, then resumed. Its belief
 * is stale: the write it sends at once must be refused, it must be revoked
 * (fix 3), and the election must agree again. */
static void run_pause(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    uint32_t leader;
    uint64_t session, old_token = 0;
    if (!settle(sim, args, true) || !leader_of_name0(sim, &leader, &session)) {
        bt_sim_run_until(sim, args->duration_ms);
        return;
    }
    const struct bt_sim_config *cfg = bt_sim_config(sim);
    bt_sim_believes(sim, leader, 0, &old_token);
    bt_sim_log(sim, 1, "pause n%" PRIu32 ", the leader of name-0 (token %" PRIu64 ")", leader,
               old_token);
    bt_sim_pause(sim, leader);
    uint64_t limit = bt_sim_now(sim) + 2 * cfg->detect_bound_ms;
    while (!others_moved_on(sim, leader) && bt_sim_now(sim) < limit)
        bt_sim_run_for(sim, 10);
    if (!others_moved_on(sim, leader))
        bt_sim_violation(sim, "agreement",
                         "the others did not fail over within %" PRIu64 " ms of pausing n%" PRIu32
                         ", name-0's leader",
                         2 * cfg->detect_bound_ms, leader);
    /* Let the new leader's writes reach the resource: its term is admitted. */
    bt_sim_run_for(sim, 3 * cfg->write_interval_ms + 2 * (uint64_t)cfg->latency_max_ms + 1);
    uint64_t admitted = bt_sim_resource_high_water(sim, 0);
    bt_sim_log(sim, 1, "resume n%" PRIu32 " (the resource is at %" PRIu64 ")", leader, admitted);
    bt_sim_resume(sim, leader);
    bt_sim_run_until(sim, args->duration_ms);
    bt_sim_finish(sim);
    const struct bt_sim_stats *st = bt_sim_stats(sim);
    if (cfg->write_interval_ms > 0 && admitted > old_token && st->late_writes_accepted > 0)
        bt_sim_violation(sim, "fencing",
                         "%" PRIu64 " late writes of the paused leader n%" PRIu32 " (token %" PRIu64
                         ") were accepted after %" PRIu64 " was admitted",
                         st->late_writes_accepted, leader, old_token, admitted);
    uint64_t token;
    if (bt_sim_believes(sim, leader, 0, &token) && token == old_token)
        bt_sim_violation(sim, "no_stale_term",
                         "n%" PRIu32 " still leads name-0 with the token %" PRIu64
                         " it had before its pause",
                         leader, old_token);
}

/* Election actions of churn and chaos, drawn from the fault stream. */
enum elect_action { ACT_CAMPAIGN, ACT_RESIGN, ACT_END, ACT_KINDS };

static const unsigned elect_weight[ACT_KINDS] = {
    [ACT_CAMPAIGN] = 3, [ACT_RESIGN] = 1, [ACT_END] = 1};

static void elect_action(struct bt_sim *sim, enum elect_action act)
{
    struct bt_prng *rng = bt_sim_rng(sim);
    uint32_t names = bt_sim_names(sim);
    bool found;
    uint32_t i = pick_node(sim, BT_SIM_RUNNING, &found);
    if (!found || names == 0)
        return;
    uint32_t k = (uint32_t)bt_prng_below(rng, names);
    uint64_t sessions[8];
    size_t nsessions = bt_sim_sessions(sim, i, sessions, 8);
    if (nsessions > 8)
        nsessions = 8;
    switch (act) {
    case ACT_CAMPAIGN: {
        /* An existing session half of the time; priority 1 a quarter. */
        uint64_t session = 0;
        if (nsessions > 0 && bt_prng_chance(rng, 0.5))
            session = sessions[bt_prng_below(rng, nsessions)];
        int64_t priority = bt_prng_chance(rng, 0.25) ? 1 : 0;
        if (bt_sim_campaign_session(sim, i, k) == 0)
            bt_sim_lead(sim, i, k, priority, session, NULL, NULL);
        break;
    }
    case ACT_RESIGN:
        if (bt_sim_campaign_session(sim, i, k) != 0)
            bt_sim_resign(sim, i, k);
        break;
    case ACT_END:
        if (nsessions > 0)
            bt_sim_session_end(sim, i, sessions[bt_prng_below(rng, nsessions)]);
        break;
    case ACT_KINDS: break;
    }
}

static enum elect_action draw_action(struct bt_sim *sim)
{
    unsigned total = 0;
    for (int k = 0; k < ACT_KINDS; k++)
        total += elect_weight[k];
    uint64_t r = bt_prng_below(bt_sim_rng(sim), total);
    int kind = 0;
    while (r >= elect_weight[kind])
        r -= elect_weight[kind++];
    return (enum elect_action)kind;
}

/* churn: once agreed, sessions campaign, resign and end at random (mean gap
 * duration/100, at least 20 ms) until 70% of the duration, with no node or
 * network fault; then every running node campaigns for every name. */
static void run_churn(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    if (!settle(sim, args, true)) {
        bt_sim_run_until(sim, args->duration_ms);
        return;
    }
    uint64_t calm_at = args->duration_ms / 10 * 7;
    uint64_t mean_gap = args->duration_ms / 100 > 20 ? args->duration_ms / 100 : 20;
    for (;;) {
        uint64_t at = bt_sim_now(sim) + bt_prng_range(bt_sim_rng(sim), 1, 2 * mean_gap);
        if (at >= calm_at)
            break;
        bt_sim_run_until(sim, at);
        elect_action(sim, draw_action(sim));
    }
    bt_sim_run_until(sim, calm_at);
    bt_sim_log(sim, 1, "calm: every running node campaigns for every name");
    bt_sim_campaign_everywhere(sim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* --- chaos --------------------------------------------------------------- */

static void undo_pause(struct bt_sim *sim, uint64_t node) { bt_sim_resume(sim, (uint32_t)node); }

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
    CHAOS_LEAVE,
    CHAOS_ELECT, /* a campaign, resign or session end (with names) */
    CHAOS_KINDS
};

/* Relative frequencies of the chaos faults. */
static const unsigned chaos_weight[CHAOS_KINDS] = {
    [CHAOS_CRASH] = 2, [CHAOS_RESTART] = 2, [CHAOS_PAUSE] = 2, [CHAOS_PARTITION] = 1,
    [CHAOS_CUT] = 2,   [CHAOS_LOSS] = 1,    [CHAOS_LEAVE] = 1, [CHAOS_ELECT] = 5,
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
    bool elect = bt_sim_names(sim) > 0;
    unsigned total = 0;
    for (int k = 0; k < CHAOS_KINDS; k++)
        total += k == CHAOS_ELECT && !elect ? 0 : chaos_weight[k];
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
        /* A crashed node, or one that left; the new process campaigns for
         * a random share of the names, as a restarted service would. */
        i = pick_node(sim, bt_prng_chance(rng, 0.5) ? BT_SIM_CRASHED : BT_SIM_LEFT, &found);
        if (found && bt_sim_restart(sim, i) == 0) {
            for (uint32_t k = 0; k < bt_sim_names(sim); k++)
                if (bt_prng_chance(rng, 0.5))
                    bt_sim_lead(sim, i, k, 0, 0, NULL, NULL);
        }
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
            bt_sim_after(sim, f * bt_prng_range(rng, 200, 8000), undo_partition,
                         bt_sim_partition_gen(sim));
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
    case CHAOS_LEAVE:
        i = pick_node(sim, BT_SIM_RUNNING, &found);
        if (found && running > 1)
            bt_sim_leave(sim, i);
        break;
    case CHAOS_ELECT: elect_action(sim, draw_action(sim)); break;
    }
}

/* chaos: faults of every kind at random (mean gap duration/40, at least
 * 100 ms) until 70% of the duration; then the network heals, paused nodes
 * resume, crashed and departed nodes restart, every running node campaigns
 * for every name, and the run goes on to converge and agree. Pauses last
 * 0.1-5 s, partitions and cuts 0.2-8 s, loss bursts (20-60%) 0.2-5 s, times
 * chaos_scale (1 for local, 10 for lan and wan). With names, the campaigns
 * start at time 0, before the cluster has formed. */
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
    bt_sim_campaign_all(sim);
    for (;;) {
        uint64_t at = bt_sim_now(sim) + bt_prng_range(rng, 1, 2 * mean_gap);
        if (at >= calm_at)
            break;
        bt_sim_run_until(sim, at);
        chaos_one_fault(sim, side);
    }
    free(side);
    bt_sim_run_until(sim, calm_at);
    bt_sim_log(sim, 1,
               "calm: heal, resume and restart everything; every node campaigns for every name");
    bt_sim_heal(sim);
    bt_sim_set_loss(sim, bt_sim_config(sim)->loss);
    for (uint32_t i = 0; i < n; i++) {
        if (bt_sim_node_state(sim, i) == BT_SIM_PAUSED)
            bt_sim_resume(sim, i);
        if (bt_sim_node_state(sim, i) == BT_SIM_CRASHED || bt_sim_node_state(sim, i) == BT_SIM_LEFT)
            bt_sim_restart(sim, i);
    }
    bt_sim_campaign_everywhere(sim);
    bt_sim_run_until(sim, args->duration_ms);
}

/* bounce: once agreed, strict restarts (bt_sim_strict_restarts); then until
 * 70% of the duration, every 100..600 ms a random running node's process
 * crashes (a process crash: its host refuses) and restarts on the same
 * address after 0..4*latency_max ms, and campaigns again. Refusals of
 * datagrams sent while the port was closed race the new boot's news: none
 * may get a running process declared dead. */
static void run_bounce(struct bt_sim *sim, const struct bt_sim_scenario_args *args)
{
    if (!settle(sim, args, true)) {
        bt_sim_log(sim, 1, "no bounce");
        return;
    }
    bt_sim_strict_restarts(sim, true);
    struct bt_prng *rng = bt_sim_rng(sim);
    uint64_t until = args->duration_ms * 7 / 10;
    uint64_t gap_max = 4 * (uint64_t)bt_sim_config(sim)->latency_max_ms;
    while (bt_sim_now(sim) < until) {
        bt_sim_run_for(sim, bt_prng_range(rng, 100, 600));
        bool found;
        uint32_t victim = pick_node(sim, BT_SIM_RUNNING, &found);
        if (!found)
            continue;
        uint64_t down_ms = bt_prng_range(rng, 0, gap_max);
        bt_sim_log(sim, 1, "bounce n%" PRIu32 ": restart %" PRIu64 " ms after its crash", victim,
                   down_ms);
        bt_sim_crash_kind(sim, victim, false);
        bt_sim_run_for(sim, down_ms);
        bt_sim_restart(sim, victim);
        bt_sim_campaign_everywhere(sim);
    }
    bt_sim_run_until(sim, args->duration_ms);
}

static const struct bt_sim_scenario scenarios[] = {
    {"steady", "no node faults", 1, run_steady},
    {"crash-one", "once converged, one random node crashes", 2, run_crash_one},
    {"restart-one", "once converged, one node crashes, restarts (new boot)", 2, run_restart_one},
    {"leave-one", "once converged, one random node leaves gracefully", 2, run_leave_one},
    {"partition-heal",
     "once converged, a random 2-way partition (campaigns start in it), then heal", 2,
     run_partition_heal},
    {"chaos", "every fault (and campaign churn) at random until 70%, then heal everything", 2,
     run_chaos},
    {"failover", "once agreed, the node of name-0's leader crashes", 2, run_failover},
    {"handover", "once agreed, name-0's leader resigns (even seeds) or leaves (odd)", 2,
     run_handover},
    {"pause", "once agreed, name-0's leader is paused past failover, then resumed", 2, run_pause},
    {"churn", "once agreed, campaigns, resigns and session ends at random; no faults", 1,
     run_churn},
    {"twin", "once agreed, two processes with one name on the two sides of a partition, then heal",
     3, run_twin},
    {"bounce",
     "once agreed, processes crash and restart on their address within ms, again and again", 2,
     run_bounce},
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
