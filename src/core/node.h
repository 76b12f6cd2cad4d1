/*
 * The sans-IO node: one cluster member's whole protocol state, driven by its
 * caller. Bytes and time go in; datagrams, stream messages and events come
 * out. The node reads no clock, opens no socket, starts no thread and draws
 * no randomness of its own: the libuv runtime and the simulator are two
 * drivers of this same code, which is what makes a simulator seed replay one
 * exact run forever.
 *
 * Driving loop (runtime or simulator):
 *   1. deliver what arrived: bt_node_recv() for datagrams, bt_node_recv_stream()
 *      for whole stream messages;
 *   2. call bt_node_tick() whenever now >= bt_node_next_deadline();
 *   3. after any call, drain bt_node_pop_output() (send each) and
 *      bt_node_pop_event() (report each).
 * No function of this API may be called from inside another (no re-entry).
 *
 * Time: every call takes struct bt_time. mono_ms drives timers and must never
 * go backwards; wall_ms feeds the HLC and may jump either way.
 */
#ifndef BT_NODE_H
#define BT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/names.h"

struct bt_time {
    uint64_t mono_ms; /* monotonic milliseconds, any origin */
    uint64_t wall_ms; /* Unix wall clock in milliseconds */
};

#define BT_ADDR_MAX 63
/* A transport address, opaque to the core: "127.0.0.1:7946" for the runtime,
 * "n12" for the simulator. Compared bytewise. */
struct bt_addr {
    uint8_t len;
    char s[BT_ADDR_MAX + 1]; /* NUL-terminated */
};

enum bt_profile {
    BT_PROFILE_LOCAL, /* loopback and fast LANs: fastest failover */
    BT_PROFILE_LAN,   /* ordinary data-centre networks */
    BT_PROFILE_WAN,   /* links with tens to hundreds of ms of latency */
};

struct bt_node_config {
    struct bt_nodeid name;         /* unique in the cluster */
    struct bt_addr addr;           /* where peers reach this node */
    uint64_t boot_id;              /* nonzero, different at every process start */
    enum bt_profile profile;       /* timings; see docs/membership.md */
    uint64_t max_clock_offset_ms;  /* DESIGN.md §1 fix 5; 0 disables */
    size_t max_packet;             /* datagram payload budget in bytes; 0: 1400 */
    /* Uniform 64-bit random numbers: the node's only source of randomness. */
    uint64_t (*random)(void *ctx);
    void *random_ctx;
};

enum bt_output_kind {
    BT_OUT_PACKET, /* one unreliable datagram */
    BT_OUT_STREAM, /* one message over a reliable stream (TCP in the runtime) */
};

struct bt_output {
    enum bt_output_kind kind;
    struct bt_addr to;
    /* BT_OUT_STREAM: 0 opens a new stream to `to`; otherwise the conn given
     * to bt_node_recv_stream(), and this message is the reply on it. */
    uint64_t conn;
    const uint8_t *data; /* borrowed: valid until the next pop or call */
    size_t len;
};

enum bt_member_state {
    BT_MEMBER_ALIVE,
    BT_MEMBER_SUSPECT,
    BT_MEMBER_DEAD,
    BT_MEMBER_LEFT,
};

enum bt_event_kind {
    BT_EV_MEMBER_UP,       /* a member joined or came back (new boot) */
    BT_EV_MEMBER_SUSPECT,  /* a member is suspected */
    BT_EV_MEMBER_ALIVE,    /* a suspect member refuted the suspicion */
    BT_EV_MEMBER_DEAD,     /* a member was declared dead */
    BT_EV_MEMBER_LEFT,     /* a member left gracefully */
    BT_EV_NAME_CONFLICT,   /* our name is held by another live process */
};

struct bt_event {
    enum bt_event_kind kind;
    struct bt_nodeid member; /* the member concerned */
    struct bt_addr addr;     /* its address */
    uint64_t boot_id;        /* its boot */
    /* BT_EV_NAME_CONFLICT: the address of the other process. */
    struct bt_addr other_addr;
};

struct bt_member_info {
    struct bt_nodeid name;
    struct bt_addr addr;
    uint64_t boot_id;
    uint32_t incarnation;
    enum bt_member_state state;
};

struct bt_node;

/* A new node, not yet joined. cfg is copied. Returns NULL on bad config or
 * out of memory. */
struct bt_node *bt_node_new(const struct bt_node_config *cfg, struct bt_time now);
void bt_node_free(struct bt_node *node);

/* Starts joining through seed addresses (copied); with n == 0 the node forms
 * a cluster of its own. Returns 0 or BATON_EINVAL. */
int bt_node_join(struct bt_node *node, const struct bt_addr *seeds, size_t n, struct bt_time now);

/* Announces a graceful leave; the node keeps gossiping until
 * bt_node_left() is true, then the driver may stop it. */
int bt_node_leave(struct bt_node *node, struct bt_time now);
bool bt_node_left(const struct bt_node *node);

/* A datagram arrived from `from`. Malformed input is dropped and counted. */
void bt_node_recv(struct bt_node *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                  struct bt_time now);

/* A whole stream message arrived on connection conn (nonzero, chosen by the
 * driver) from `from`. A reply, if any, comes out as BT_OUT_STREAM with the
 * same conn. */
void bt_node_recv_stream(struct bt_node *node, const struct bt_addr *from, uint64_t conn,
                         const uint8_t *data, size_t len, struct bt_time now);

void bt_node_tick(struct bt_node *node, struct bt_time now);

/* The monotonic time at which bt_node_tick() must next be called. */
uint64_t bt_node_next_deadline(const struct bt_node *node);

bool bt_node_pop_output(struct bt_node *node, struct bt_output *out);
bool bt_node_pop_event(struct bt_node *node, struct bt_event *ev);

/* Copies up to cap members (self included) into out; returns how many there
 * are in all. */
size_t bt_node_members(const struct bt_node *node, struct bt_member_info *out, size_t cap);

/* A digest of the member list (names, states, boots), maintained
 * incrementally: two nodes with the same digest see the same membership. */
uint64_t bt_node_membership_digest(const struct bt_node *node);

#endif
