/* The simulator's binding to the real sans-IO core: node.h, one to one. */
#include "core/node.h"
#include "sim/sim.h"

static void *core_create(const struct bt_node_config *cfg, struct bt_time now)
{
    return bt_node_new(cfg, now);
}

static void core_destroy(void *node) { bt_node_free(node); }

static int core_join(void *node, const struct bt_addr *seeds, size_t n, struct bt_time now)
{
    return bt_node_join(node, seeds, n, now);
}

static int core_leave(void *node, struct bt_time now) { return bt_node_leave(node, now); }

static bool core_left(const void *node) { return bt_node_left(node); }

static void core_recv(void *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                      struct bt_time now)
{
    bt_node_recv(node, from, data, len, now);
}

static void core_recv_stream(void *node, const struct bt_addr *from, uint64_t conn,
                             const uint8_t *data, size_t len, struct bt_time now)
{
    bt_node_recv_stream(node, from, conn, data, len, now);
}

static void core_tick(void *node, struct bt_time now) { bt_node_tick(node, now); }

static uint64_t core_next_deadline(const void *node) { return bt_node_next_deadline(node); }

static bool core_pop_output(void *node, struct bt_output *out)
{
    return bt_node_pop_output(node, out);
}

static bool core_pop_event(void *node, struct bt_event *ev) { return bt_node_pop_event(node, ev); }

static size_t core_members(const void *node, struct bt_member_info *out, size_t cap)
{
    return bt_node_members(node, out, cap);
}

static uint64_t core_digest(const void *node) { return bt_node_membership_digest(node); }

static int core_lead(void *node, uint64_t session, const struct bt_name *name, int64_t priority,
                     struct bt_time now, uint64_t *fence)
{
    return bt_node_lead(node, session, name, priority, now, fence);
}

static int core_resign(void *node, const struct bt_name *name, struct bt_time now)
{
    return bt_node_resign(node, name, now);
}

static int core_session_end(void *node, uint64_t session, struct bt_time now)
{
    return bt_node_session_end(node, session, now);
}

static int core_leader(const void *node, const struct bt_name *name, struct bt_nodeid *leader,
                       uint64_t *candidate_id)
{
    return bt_node_leader(node, name, leader, candidate_id);
}

static bool core_is_leader(const void *node, const struct bt_name *name)
{
    return bt_node_is_leader(node, name);
}

static int core_fence(const void *node, const struct bt_name *name, uint64_t *fence,
                      struct bt_minter *minter)
{
    return bt_node_fence(node, name, fence, minter);
}

static size_t core_candidates(const void *node, const struct bt_name *name, struct bt_nodeid *out,
                              size_t cap)
{
    return bt_node_candidates(node, name, out, cap);
}

static int core_high_water(const void *node, const struct bt_name *name, uint64_t *token)
{
    return bt_node_high_water(node, name, token);
}

static uint64_t core_marks_version(const void *node) { return bt_node_marks_version(node); }

static int core_observe_fence(void *node, const struct bt_name *name, uint64_t token,
                              const struct bt_minter *minter, struct bt_time now)
{
    return bt_node_observe_fence(node, name, token, minter, now);
}

static void core_stats(const void *node, struct bt_node_stats *out) { bt_node_stats(node, out); }

static void core_addr_refused(void *node, const struct bt_addr *addr, struct bt_time now)
{
    bt_node_addr_refused(node, addr, now);
}

const struct bt_sim_node_ops bt_sim_core_ops = {
    .create = core_create,
    .destroy = core_destroy,
    .join = core_join,
    .leave = core_leave,
    .left = core_left,
    .recv = core_recv,
    .recv_stream = core_recv_stream,
    .tick = core_tick,
    .next_deadline = core_next_deadline,
    .pop_output = core_pop_output,
    .pop_event = core_pop_event,
    .members = core_members,
    .digest = core_digest,
    .lead = core_lead,
    .resign = core_resign,
    .session_end = core_session_end,
    .leader = core_leader,
    .is_leader = core_is_leader,
    .fence = core_fence,
    .candidates = core_candidates,
    .high_water = core_high_water,
    .marks_version = core_marks_version,
    .observe_fence = core_observe_fence,
    .stats = core_stats,
    .addr_refused = core_addr_refused,
};
