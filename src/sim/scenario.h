/*
 * Scenarios: scripts that drive a simulation through the cluster API of
 * sim.h, reading like the story they tell ("wait until converged, crash one
 * node, run on"). Each is a row of bt_sim_scenarios; adding one is adding a
 * function and a row. The invariants are checked by the simulator itself, so
 * a scenario only arranges faults.
 */
#ifndef BT_SIM_SCENARIO_H
#define BT_SIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

/* What a scenario may read besides the simulator's configuration. */
struct bt_sim_scenario_args {
    uint64_t duration_ms; /* run (at least) until this virtual time */
};

struct bt_sim_scenario {
    const char *name;    /* as given to --scenario */
    const char *summary; /* one line for --help */
    uint32_t min_nodes;  /* smallest cluster it makes sense on */
    /* Drives sim from time 0 to args->duration_ms; bt_sim_finish follows. */
    void (*run)(struct bt_sim *sim, const struct bt_sim_scenario_args *args);
};

/* The scenario called name, or NULL. */
const struct bt_sim_scenario *bt_sim_scenario_find(const char *name);
/* All scenarios, *count of them. */
const struct bt_sim_scenario *bt_sim_scenario_list(size_t *count);

#endif
