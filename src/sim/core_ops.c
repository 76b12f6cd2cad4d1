/* The simulator's binding to the real sans-IO core: node.h, one to one. */
#include "core/node.h"
#include "sim/sim.h"

static void *core_create(const struct bt_node_config *cfg, struct bt_time now)
{
    return bt_node_new(cfg, now);
}

static void core_destroy(void *node)
{
    bt_node_free(node);
}

static int core_join(void *node, const struct bt_addr *seeds, size_t n, struct bt_time now)
{
    return bt_node_join(node, seeds, n, now);
}

static int core_leave(void *node, struct bt_time now)
{
    return bt_node_leave(node, now);
}

static bool core_left(const void *node)
{
    return bt_node_left(node);
}

static void core_recv(void *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                      struct bt_time now)
{
    bt_node_recv(node, from, data, len, now);
}

static void core_recv_stream(void *node, const struct bt_addr *from, uint64_t conn, const uint8_t *data,
                             size_t len, struct bt_time now)
{
    bt_node_recv_stream(node, from, conn, data, len, now);
}

static void core_tick(void *node, struct bt_time now)
{
    bt_node_tick(node, now);
}

static uint64_t core_next_deadline(const void *node)
{
    return bt_node_next_deadline(node);
}

static bool core_pop_output(void *node, struct bt_output *out)
{
    return bt_node_pop_output(node, out);
}

static bool core_pop_event(void *node, struct bt_event *ev)
{
    return bt_node_pop_event(node, ev);
}

static size_t core_members(const void *node, struct bt_member_info *out, size_t cap)
{
    return bt_node_members(node, out, cap);
}

static uint64_t core_digest(const void *node)
{
    return bt_node_membership_digest(node);
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
};
