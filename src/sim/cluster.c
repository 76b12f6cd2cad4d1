/*
 * A simulated cluster, assembled: the engine (engine.c, network.c,
 * process.c) with the membership checker (membership_check.c) and the
 * election (election.c and its files) registered as its observers, in that
 * order, before any node process starts. The only file that knows all of
 * them; the engine knows only its observer table.
 */
#include "sim/sim_impl.h"

struct bt_sim *bt_sim_new(const struct bt_sim_config *cfg)
{
    struct bt_sim *sim = sim_engine_new(cfg);
    if (sim == NULL)
        return NULL;
    if (bt_sim_check_init(sim) != 0 || bt_sim_elect_init(sim) != 0 || sim_engine_start(sim) != 0) {
        bt_sim_free(sim);
        return NULL;
    }
    return sim;
}
