/*
 * The membership timing profiles (local, lan, wan) and the check every
 * timing passes before bt_swim_new() accepts it. docs/membership.md's table
 * gives the reasons for each value.
 */
#include "baton/baton.h"
#include "core/swim.h"

#include <string.h>

int bt_swim_timing_profile(enum bt_profile profile, struct bt_swim_timing *t)
{
    memset(t, 0, sizeof *t);
    switch (profile) {
    case BT_PROFILE_LOCAL:
        *t = (struct bt_swim_timing){
            .probe_interval = 100,
            .probe_timeout = 40,
            .indirect_checks = 3,
            .suspicion_mult = 3,
            .suspicion_max_mult = 6,
            .retransmit_mult = 4,
            .gossip_interval = 20,
            .gossip_fanout = 3,
            .gossip_to_dead = 5000,
            .pushpull_interval = 10000,
            .reconnect_interval = 1000,
            .dead_reap = 300000,
            .left_reap = 30000,
            .join_retry_min = 100,
            .join_retry_max = 2000,
            .leave_timeout = 1000,
            .awareness_max = 8,
        };
        return 0;
    case BT_PROFILE_LAN:
        *t = (struct bt_swim_timing){
            .probe_interval = 1000,
            .probe_timeout = 500,
            .indirect_checks = 3,
            .suspicion_mult = 4,
            .suspicion_max_mult = 6,
            .retransmit_mult = 4,
            .gossip_interval = 200,
            .gossip_fanout = 3,
            .gossip_to_dead = 30000,
            .pushpull_interval = 30000,
            .reconnect_interval = 2000,
            .dead_reap = 1800000,
            .left_reap = 60000,
            .join_retry_min = 200,
            .join_retry_max = 10000,
            .leave_timeout = 3000,
            .awareness_max = 8,
        };
        return 0;
    case BT_PROFILE_WAN:
        *t = (struct bt_swim_timing){
            .probe_interval = 5000,
            .probe_timeout = 3000,
            .indirect_checks = 3,
            .suspicion_mult = 6,
            .suspicion_max_mult = 6,
            .retransmit_mult = 4,
            .gossip_interval = 500,
            .gossip_fanout = 4,
            .gossip_to_dead = 60000,
            .pushpull_interval = 60000,
            .reconnect_interval = 10000,
            .dead_reap = 3600000,
            .left_reap = 120000,
            .join_retry_min = 1000,
            .join_retry_max = 30000,
            .leave_timeout = 10000,
            .awareness_max = 8,
        };
        return 0;
    }
    return BATON_EINVAL;
}

bool bt_swim_timing_valid(const struct bt_swim_timing *t)
{
    return t->probe_interval > 0 && t->probe_timeout > 0 && t->probe_timeout < t->probe_interval &&
           t->suspicion_mult > 0 && t->suspicion_max_mult > 0 && t->retransmit_mult > 0 &&
           t->gossip_interval > 0 && t->gossip_fanout > 0 && t->pushpull_interval > 0 &&
           t->reconnect_interval > 0 && t->join_retry_min > 0 &&
           t->join_retry_max >= t->join_retry_min && t->awareness_max > 0 && t->leave_timeout > 0;
}
