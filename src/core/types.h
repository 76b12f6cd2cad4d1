/*
 * Types the core's layers share: time, addresses, profiles, outputs,
 * members, events and the membership counters. The membership layer
 * (swim.h, swim_proto.h) and the replication layer (replica.h) use them,
 * and the node (node.h), which composes those layers, hands them to its
 * driver; this header sits below all of them so that dependencies run one
 * way: names.h, types.h, then swim/replica/leader, then node.h.
 */
#ifndef BT_CORE_TYPES_H
#define BT_CORE_TYPES_H

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

/* The largest stream message (BT_OUT_STREAM) the core produces, and the
 * largest it accepts: a driver may refuse to frame or to read anything
 * longer. Full state travels as several messages of at most this size
 * (docs/membership.md, anti-entropy). */
#define BT_STREAM_MSG_MAX (1u << 20)

enum bt_output_kind {
    BT_OUT_PACKET, /* one unreliable datagram */
    BT_OUT_STREAM, /* one message over a reliable stream (TCP in the runtime) */
};

/* The bit every id of a stream the core opens carries, and what a driver
 * reports about such a stream (node.h, "Streams the core opens"). */
#define BT_STREAM_OWN (UINT64_C(1) << 63)

enum bt_stream_event {
    BT_STREAM_CONNECTED, /* the stream is open (the connect succeeded) */
    BT_STREAM_CLOSED,    /* the stream ended in order: the peer or the driver closed it */
    BT_STREAM_FAILED,    /* the connect failed, or the stream broke: `reason` says why */
    BT_STREAM_TIMEOUT,   /* the driver gave up waiting: for the connect, or for the reply */
};

enum bt_member_state {
    BT_MEMBER_ALIVE,
    BT_MEMBER_SUSPECT,
    BT_MEMBER_DEAD,
    BT_MEMBER_LEFT,
};

enum bt_event_kind {
    BT_EV_MEMBER_UP,      /* a member joined or came back (new boot) */
    BT_EV_MEMBER_SUSPECT, /* a member is suspected */
    BT_EV_MEMBER_ALIVE,   /* a suspect member refuted the suspicion */
    BT_EV_MEMBER_DEAD,    /* a member was declared dead */
    BT_EV_MEMBER_LEFT,    /* a member left gracefully */
    BT_EV_NAME_CONFLICT,  /* our name is held by another live process that keeps it:
                              this node stops (BT_EV_STOPPED follows) */
    BT_EV_ELECTED,        /* a local candidate became leader later: session, name, fence */
    BT_EV_REVOKED,        /* a local candidate lost leadership: session, name, fence (ended) */
    /* The node stopped for good: `error` says why (BATON_ECONFLICT: another
     * live process keeps our name; BATON_ENOMEM: memory ran out where the
     * node could not go on without losing state). It is the last event:
     * every term the node held was ended first (one BT_EV_REVOKED each), it
     * sends nothing more, and every later call fails with `error` (see
     * "Stopping" below). The driver frees the node. */
    BT_EV_STOPPED,
    /* docs/design.md §1 fix 9. This node's clock is too far ahead of the
     * cluster's (clock_ahead_ms): its candidacies are withdrawn (a leader
     * gets BT_EV_REVOKED), its sessions kept; lead() answers follower. */
    BT_EV_CLOCK_REFUSED,
    /* This node's clock is within bounds: its first judgement after joining,
     * or the end of a refusal. Its candidacies are in the race (again). */
    BT_EV_CLOCK_OK,
};

struct bt_event {
    enum bt_event_kind kind;
    struct bt_nodeid member; /* the member concerned */
    struct bt_addr addr;     /* its address */
    uint64_t boot_id;        /* its boot */
    /* BT_EV_NAME_CONFLICT: the address of the other process. */
    struct bt_addr other_addr;
    /* BT_EV_ELECTED / BT_EV_REVOKED: the candidate's session, the campaign
     * and the term token (new for ELECTED, ended for REVOKED). The term's
     * minter is this process, `member` on boot `boot_id`: offer the fence
     * and that minter (its text, bt_minter_format in names.h) to a guard. */
    uint64_t session;
    struct bt_name name;
    uint64_t fence;
    /* BT_EV_STOPPED: why, a negative BATON_E* code; 0 for every other kind. */
    int error;
    /* BT_EV_CLOCK_REFUSED / BT_EV_CLOCK_OK: this node's wall clock minus the
     * cluster's (the lower median of the live members' clocks), in ms. */
    int64_t clock_ahead_ms;
};

/* The clock block of a PING or ACK (docs/design.md §1 fix 9; the wire
 * layout is in swim_proto.h): what the sender says of its own clock. */
#define BT_SWIM_CLOCK_REFUSED 0x01u /* refused: its candidacies are withheld */
#define BT_SWIM_CLOCK_PENDING 0x02u /* not judged yet (it joined, has not read the clocks) */
struct bt_swim_clock {
    uint64_t wall_ms; /* the sender's wall clock, Unix ms (0: not known) */
    uint8_t flags;    /* BT_SWIM_CLOCK_REFUSED, BT_SWIM_CLOCK_PENDING or 0 (fine) */
    uint64_t ceiling; /* with BT_SWIM_CLOCK_REFUSED: the greatest stamp it issued
                         while its clock was fine (0: none); else 0 */
    uint32_t seq;     /* how many times the sender's word (flags, ceiling) changed
                         on this boot: of two copies of its word, the greater
                         seq is the newer (copies travel by gossip too, and
                         datagrams are reordered) */
};

struct bt_member_info {
    struct bt_nodeid name;
    struct bt_addr addr;
    uint64_t boot_id;
    uint32_t incarnation;
    enum bt_member_state state;
};

/* Counters of the membership layer (src/core/swim.c). All count up from 0
 * except the two gauges at the end. */
struct bt_member_stats {
    uint64_t packets_in;          /* datagrams received */
    uint64_t packets_out;         /* datagrams sent */
    uint64_t bytes_in;            /* datagram and stream bytes received */
    uint64_t bytes_out;           /* datagram and stream bytes sent */
    uint64_t streams_in;          /* stream messages received */
    uint64_t streams_out;         /* stream messages sent */
    uint64_t malformed;           /* input dropped as undecodable or out of bounds */
    uint64_t bad_version;         /* input dropped for an unknown wire version */
    uint64_t unknown_sender;      /* datagrams from a name not in our list (still handled) */
    uint64_t misdirected;         /* pings for a name that is not ours, dropped */
    uint64_t probes;              /* direct probes started */
    uint64_t probes_failed;       /* probes with no ack by the end of the period */
    uint64_t indirect_probes;     /* PING_REQ sent */
    uint64_t relays;              /* PING_REQ served for others */
    uint64_t relays_dropped;      /* PING_REQ dropped: too many in flight */
    uint64_t nacks_sent;          /* NACK sent for relays that got no ack */
    uint64_t nacks_received;      /* NACK received for our indirect probes */
    uint64_t suspicions;          /* members this node started suspecting */
    uint64_t refutations;         /* times we refuted a suspicion or death of ourselves */
    uint64_t deaths_declared;     /* members this node declared dead (suspicion expired) */
    uint64_t stale;               /* broadcasts ignored as older than what we know */
    uint64_t name_checks;         /* probes of a name holder on a rival claim */
    uint64_t name_conflicts;      /* CONFLICT messages sent: claims refused */
    uint64_t name_takeovers;      /* claims accepted because the holder failed its probe */
    uint64_t name_checks_dropped; /* claims ignored: too many checks in flight */
    uint64_t bcasts_dropped;      /* broadcasts dropped because the queue was full */
    uint64_t user_delivered;      /* user broadcasts handed to the layer above */
    uint64_t pushpulls;           /* push-pull exchanges started (join, periodic, reconnect,
                                 resync) */
    uint64_t resyncs;             /* ...of which with a member held dead that came back */
    uint64_t reaped;              /* dead or left members forgotten */
    uint32_t health;              /* gauge: Lifeguard local health score, 0..awareness_max-1 */
    uint32_t queue_len;           /* gauge: broadcasts waiting in the dissemination queue */
    uint64_t pushpulls_failed;    /* push-pulls this node started whose stream was reported
                                  failed, closed or timed out before the reply */
    uint64_t refusals;            /* refused addresses taken as evidence of a crash
                                  (bt_node_addr_refused; docs/membership.md) */
    uint64_t refusals_ignored;    /* ...and not: no live member there, or its process too
                                  new at that address */
    uint64_t digests_out;         /* DIGEST datagrams sent (one per probe, with the layer above's
                                 state summary) */
    uint64_t digest_pulls;        /* ...received that showed a stable difference: push-pulls
                                 started with their sender (counted in pushpulls too) */
};

#endif
