/*
 * baton: cluster singletons with fencing tokens.
 *
 * This header is the public surface of libbaton: error codes, the size
 * limits of names, and the embedding API (run a cluster node inside your
 * process, campaign, receive elected/revoked callbacks). docs/embedding.md
 * is its guide. Only what this header and guard.h declare is exported from
 * the shared library.
 *
 * Error convention (libuv's): functions return 0 or a positive count on
 * success and a negative BATON_E* code on failure. baton_strerror() and
 * baton_err_name() never return NULL, even for codes they do not know.
 */
#ifndef BATON_BATON_H
#define BATON_BATON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the functions libbaton.so exports (it is built with hidden
 * visibility for everything else). */
#if defined(__GNUC__) || defined(__clang__)
#define BATON_EXPORT __attribute__((visibility("default")))
#else
#define BATON_EXPORT
#endif

#define BATON_VERSION_MAJOR 0
#define BATON_VERSION_MINOR 1
#define BATON_VERSION_PATCH 0

/* A campaign name is an opaque byte string of 1..BATON_NAME_MAX bytes. */
#define BATON_NAME_MAX 255
/* A node name is 1..BATON_NODE_MAX bytes of [A-Za-z0-9._:@-]. */
#define BATON_NODE_MAX 64
/* A minter names the process that minted a term: its node name, '#', and
 * its boot id as 16 lowercase hex digits, not all zero ("n1#00f3a2..."),
 * so 18..BATON_MINTER_MAX bytes. Two processes can claim one node name
 * for a while (twins, docs/membership.md); the boot tells their terms
 * apart (docs/guard.md). */
#define BATON_MINTER_MAX (BATON_NODE_MAX + 17)

/* XX(name, value, message): the one list every error table derives from. */
#define BATON_ERRNO_MAP(XX)                                                                        \
    XX(EINVAL, -1, "invalid argument")                                                             \
    XX(ENOMEM, -2, "out of memory")                                                                \
    XX(EALREADY, -3, "already a candidate for this name")                                          \
    XX(ENOTLEADER, -4, "not the leader")                                                           \
    XX(ENOLEADER, -5, "no leader")                                                                 \
    XX(ENOENT, -6, "no such entry")                                                                \
    XX(ECLOCK, -7, "remote clock too far ahead")                                                   \
    XX(EPROTO, -8, "malformed message")                                                            \
    XX(EVERSION, -9, "unsupported wire version")                                                   \
    XX(E2BIG, -10, "value too large")                                                              \
    XX(ENOSPC, -11, "buffer too small")                                                            \
    XX(ESTALE, -12, "fencing token not greater than the high-water mark")                          \
    XX(ECORRUPT, -13, "corrupt file")                                                              \
    XX(EFOREIGN, -14, "not a baton file")                                                          \
    XX(EIO, -15, "input/output error")                                                             \
    XX(ECONFLICT, -16, "node name held by another live process")                                   \
    XX(ECLOSED, -17, "node is shut down")                                                          \
    XX(EBUSY, -18, "resource locked by another user")                                              \
    XX(ELIMIT, -20, "too many names")

enum baton_errno {
#define BATON_ERR_ENUM(name, value, msg) BATON_##name = (value),
    BATON_ERRNO_MAP(BATON_ERR_ENUM)
#undef BATON_ERR_ENUM
};

/* A human-readable description of err ("unknown error" if unknown). */
BATON_EXPORT const char *baton_strerror(int err);
/* The symbolic name of err, e.g. "EALREADY" ("UNKNOWN" if unknown). */
BATON_EXPORT const char *baton_err_name(int err);

/* ===========================================================================
 * The embedding API: a cluster node inside your process.
 *
 * Threads. A node runs the protocol on one thread of its own (the "loop
 * thread", a libuv loop) from baton_node_start() until it stops. Every
 * function below is thread-safe: call it from any thread, at any time,
 * unless its comment says otherwise. Callbacks run on the loop thread, one at
 * a time, in the order things happened, and never while the library holds a
 * lock of its own: a callback may call any function of this API except the
 * three that wait for the loop thread (baton_node_stop(), baton_node_free(),
 * and a waiting baton_node_leave(); from a callback leave only starts the
 * leave, see there). A callback that blocks stalls the node (no probes, no
 * acks): keep them short, hand long work to another thread.
 *
 * Ownership. The library copies everything it is given (the config and every
 * string and array it points to, names, keys); the caller may free or reuse
 * its memory as soon as the call returns. Everything the library hands to a
 * callback (names, structs) is borrowed for the duration of the callback
 * only. Output structs are written into memory the caller owns.
 *
 * Errors. Every function returning int returns 0 (or a count) on success and
 * a negative BATON_E* code on failure, listed in its comment. After the node
 * stopped (baton_node_stop(), a completed leave, or a fatal stop reported by
 * on_stopped) every call that needs the running node returns BATON_ECLOSED;
 * before baton_node_start() the election calls return BATON_ECLOSED too.
 *
 * Names. A campaign name is 1..BATON_NAME_MAX opaque bytes (not necessarily
 * text, passed as pointer + length); a node name is 1..BATON_NODE_MAX bytes
 * of [A-Za-z0-9._:@-], handed out NUL-terminated.
 * ======================================================================== */

/* A node. Opaque; made by baton_node_new(), released by baton_node_free(). */
typedef struct baton_node baton_node;

/* ---- keys -------------------------------------------------------------------
 * A key is 32 random bytes (XChaCha20-Poly1305). In files and on command
 * lines it is written as standard base64 with padding: 44 characters. */
#define BATON_KEY_BYTES 32
#define BATON_KEY_B64_LEN 44
/* The most keys a keyring holds at once. */
#define BATON_KEYRING_MAX 16

struct baton_key {
    unsigned char bytes[BATON_KEY_BYTES];
};

/* Fills *key with 32 bytes from the system's secure random source.
 * Returns 0, BATON_EINVAL (key NULL) or BATON_EIO (no random source). */
BATON_EXPORT int baton_key_generate(struct baton_key *key);
/* Writes key as base64 into out (BATON_KEY_B64_LEN characters and a NUL, so
 * out must hold BATON_KEY_B64_LEN + 1 bytes). Returns 0 or BATON_EINVAL. */
BATON_EXPORT int baton_key_encode(const struct baton_key *key, char *out);
/* Parses base64 text (exactly one key; leading and trailing whitespace,
 * such as a file's final newline, is ignored) into *key. Returns 0 or
 * BATON_EINVAL (NULL, not base64, or not 32 bytes). */
BATON_EXPORT int baton_key_decode(const char *text, struct baton_key *key);

/* ---- configuration ------------------------------------------------------- */

/* Timing profiles (docs/membership.md has the values). */
enum baton_profile {
    BATON_PROFILE_LOCAL = 0, /* loopback and fast LANs: fastest failover */
    BATON_PROFILE_LAN = 1,   /* ordinary data-centre networks */
    BATON_PROFILE_WAN = 2,   /* links with tens to hundreds of ms of latency */
};

/* Per-timing overrides of the profile: each field 0 keeps the profile's
 * value. Times in milliseconds; docs/membership.md explains each one. */
struct baton_timings {
    uint32_t probe_interval_ms;     /* protocol period */
    uint32_t probe_timeout_ms;      /* wait for a direct ack before indirect probes */
    uint32_t indirect_checks;       /* members asked to probe indirectly */
    uint32_t suspicion_mult;        /* minimum suspicion, in periods (scaled by log n) */
    uint32_t suspicion_max_mult;    /* maximum suspicion, as a multiple of the minimum */
    uint32_t retransmit_mult;       /* gossip retransmissions, times log n */
    uint32_t gossip_interval_ms;    /* period of gossip rounds */
    uint32_t gossip_fanout;         /* members per gossip round */
    uint32_t gossip_to_dead_ms;     /* dead members still gossiped to this long */
    uint32_t pushpull_interval_ms;  /* full-state exchange period */
    uint32_t reconnect_interval_ms; /* push-pull attempts to dead members */
    uint32_t dead_reap_ms;          /* dead members forgotten after this long */
    uint32_t left_reap_ms;          /* departed members forgotten after this long */
    uint32_t join_retry_min_ms;     /* first retry of the seeds */
    uint32_t join_retry_max_ms;     /* seed retry backoff cap */
    uint32_t leave_timeout_ms;      /* a graceful leave takes at most this long */
};

enum baton_log_level {
    BATON_LOG_ERROR = 0,
    BATON_LOG_WARN = 1,
    BATON_LOG_INFO = 2,
    BATON_LOG_DEBUG = 3,
};

/* A fencing term: the token and the process that minted it. Two sides of a
 * partition, even two processes claiming one node name, can mint the same
 * token; the minter tells them apart (guard.h). minter is
 * "<node>#<boot as 16 hex digits>" (BATON_MINTER_MAX), NUL-terminated, or
 * "" where the minter is not known. */
struct baton_fence {
    uint64_t token;                    /* the fencing token, 1..INT64_MAX */
    char minter[BATON_MINTER_MAX + 1]; /* the minting process, or "" */
};

/* The winner of a name as one node sees it. */
struct baton_leader {
    char node[BATON_NODE_MAX + 1]; /* the node the winning candidacy lives on */
    uint64_t candidate_id;         /* its session on that node */
};

enum baton_member_state {
    BATON_MEMBER_ALIVE = 0,
    BATON_MEMBER_SUSPECT = 1,
    BATON_MEMBER_DEAD = 2,
    BATON_MEMBER_LEFT = 3,
};

/* The largest address text, "[v6]:port" included, without the NUL. */
#define BATON_ADDR_MAX 63

struct baton_member {
    char name[BATON_NODE_MAX + 1];
    char addr[BATON_ADDR_MAX + 1]; /* "ip:port" or "[ip6]:port" */
    uint64_t boot_id;              /* new at every process start */
    uint32_t incarnation;
    enum baton_member_state state;
};

/* What happened to a member (on_member). */
enum baton_member_event {
    BATON_MEMBER_UP = 0, /* joined, or came back with a new boot */
    BATON_MEMBER_SUSPECTED = 1,
    BATON_MEMBER_REFUTED = 2,  /* a suspect proved alive */
    BATON_MEMBER_FAILED = 3,   /* declared dead */
    BATON_MEMBER_DEPARTED = 4, /* left gracefully */
};

/* A campaign name as the library hands it out (baton_names()). */
struct baton_name {
    size_t len;
    unsigned char bytes[BATON_NAME_MAX];
};

/* Callbacks: each optional (NULL: not called). All run on the loop thread,
 * never under an internal lock; `ud` is baton_config.userdata. Pointer
 * arguments are borrowed for the call. */
struct baton_callbacks {
    /* A local candidacy became leader after baton_lead() answered follower
     * (a lead() that answers leader reports it there, not here), or started
     * a new term (the old one was revoked first). */
    void (*on_elected)(baton_node *node, void *ud, uint64_t session, const void *name,
                       size_t name_len, const struct baton_fence *fence);
    /* A local candidacy lost leadership; fence is the term that ended. Not
     * called for baton_resign(), baton_session_close() or a leave. */
    void (*on_revoked)(baton_node *node, void *ud, uint64_t session, const void *name,
                       size_t name_len, const struct baton_fence *fence);
    /* The winner of a name changed in this node's view, for every name the
     * node knows (watch without polling); leader is NULL when the name has
     * no winner any more. */
    void (*on_leader)(baton_node *node, void *ud, const void *name, size_t name_len,
                      const struct baton_leader *leader);
    /* A member joined, was suspected, refuted, failed or left. */
    void (*on_member)(baton_node *node, void *ud, enum baton_member_event event,
                      const struct baton_member *member);
    /* This node's clock was judged too far ahead of the cluster's (refused
     * true: more than 9/10 of max_clock_offset_ms ahead of the lower median
     * of the members' clocks), or is back within bounds (false), design.md
     * §1 fix 9. While refused, every candidacy is withdrawn (a leader gets
     * on_revoked first), sessions stay, and baton_lead() registers a
     * candidacy and answers follower (0); they campaign again when the clock
     * is back. Called on a change only (a first judgement of "fine" is none);
     * baton_status() tells the state and how far ahead. */
    void (*on_clock)(baton_node *node, void *ud, bool refused);
    /* The node stopped by itself and every later call fails with
     * BATON_ECLOSED. err says why: BATON_ECONFLICT (another live process
     * keeps this node name) or BATON_ENOMEM (memory ran out where going on
     * would lose state). Every term it held was revoked first (on_revoked
     * for each). Not called for baton_node_stop() or a leave. The node
     * must still be released with baton_node_free(). */
    void (*on_stopped)(baton_node *node, void *ud, int err);
    /* A log line (no trailing newline), at or below config.log_level. The
     * one callback that may also run on another thread: the one calling
     * baton_node_start(), to say why a start failed. */
    void (*on_log)(baton_node *node, void *ud, enum baton_log_level level, const char *msg);
};

struct baton_config {
    /* This node's name: unique in the cluster, 1..BATON_NODE_MAX bytes of
     * [A-Za-z0-9._:@-]. Required. */
    const char *name;
    /* Where to listen, UDP and TCP on the same port: "ip:port" or
     * "[ip6]:port", numeric. Port 0 picks a free port (see
     * baton_node_addr()). Default "0.0.0.0:7946". */
    const char *bind_addr;
    /* The address peers use to reach this node ("ip:port", numeric). NULL:
     * the bind address with its real port; then a wildcard bind address
     * (0.0.0.0, ::) is BATON_EINVAL at start. */
    const char *advertise_addr;
    /* Addresses of nodes to join through; none: this node starts a cluster
     * of its own (and others join it). */
    const char *const *seeds;
    size_t nseeds;
    /* The keyring: keys[0] is the primary key, which seals everything sent;
     * every key opens. At least one key is required unless
     * insecure_no_encryption is true; then keys must be empty. */
    const struct baton_key *keys;
    size_t nkeys;
    /* Sends and accepts plaintext: anyone who can reach the ports can join
     * and campaign. For tests and trusted networks only; never mixes with
     * encrypted nodes. */
    bool insecure_no_encryption;
    enum baton_profile profile;   /* default BATON_PROFILE_LAN */
    struct baton_timings timings; /* 0 fields: the profile's */
    /* docs/design.md §1 fixes 5 and 9: a node whose clock is more than
     * 9/10 of this ahead of the cluster's withdraws its candidacies
     * (on_clock), and a remote stamp further ahead of the cluster's clock
     * than this is refused unless its author vouches for it (then up to a
     * quarter of the horizon: docs/election.md). Default 10000; 0: no
     * outliers, only a hard ceiling of a century on remote stamps. */
    uint64_t max_clock_offset_ms;
    /* Datagram payload budget, bytes (before the 41 bytes of sealing).
     * Default 1400; 1280..65000. */
    size_t max_packet;
    enum baton_log_level log_level; /* default BATON_LOG_INFO */
    struct baton_callbacks callbacks;
    void *userdata; /* passed to every callback */
    /* The most campaign names this node holds state for (candidacies and
     * high-water marks; docs/election.md, design.md §1 fix 11): baton_lead()
     * on a new name past it returns BATON_ELIMIT, and names peers gossip
     * past it are refused and counted (status names_refused). Set it alike
     * on every node. Default BATON_MAX_NAMES_DEFAULT; 0 also means the
     * default. */
    size_t max_names;
};

/* The default of baton_config.max_names. */
#define BATON_MAX_NAMES_DEFAULT 1000000u

/* Fills *cfg with the defaults above (all pointers NULL). Call it before
 * setting fields, so fields added in later versions get their defaults. */
BATON_EXPORT void baton_config_init(struct baton_config *cfg);

/* ---- lifecycle ------------------------------------------------------------- */

/* Makes a node from cfg (copied) without starting it: no socket, no thread.
 * Returns 0 and *out, or BATON_EINVAL (a missing or malformed field: name,
 * address, seed, profile, a key count above BATON_KEYRING_MAX, keys
 * together with insecure_no_encryption or neither, a timing override the
 * membership layer refuses), BATON_ENOMEM or BATON_EIO (libsodium could
 * not initialise). */
BATON_EXPORT int baton_node_new(const struct baton_config *cfg, baton_node **out);

/* Binds the UDP and TCP sockets, starts the loop thread and joins the
 * seeds (retried in the background until one answers). Returns 0,
 * BATON_EINVAL (wildcard bind without advertise address), BATON_EIO
 * (a socket could not be bound, e.g. the port is in use; the detail goes
 * to the log), BATON_ECLOSED (started before, or stopped) or
 * BATON_ENOMEM. A start that fails leaves the node unstarted: it may be
 * started again. */
BATON_EXPORT int baton_node_start(baton_node *node);

/* Leaves gracefully: withdraws every local candidacy (no on_revoked),
 * announces the leave so others hand leadership over without waiting for
 * failure detection, then stops the node as baton_node_stop() does. Waits
 * until done (at most the leave timeout, about a second on the local
 * profile). Called from a callback it only starts the leave and returns;
 * the node then stops on its own. Returns 0, BATON_ECLOSED (not
 * running, or already leaving) or BATON_ENOMEM (nothing changed: the
 * candidacies could not be withdrawn; call again). */
BATON_EXPORT int baton_node_leave(baton_node *node);

/* Stops at once, without leaving: the others see this node fail (as a
 * crash). Closes the sockets and joins the loop thread; no callback runs
 * after it returns. Idempotent. A node never started is closed by it (a
 * later start returns BATON_ECLOSED). Must not be called from a callback. */
BATON_EXPORT void baton_node_stop(baton_node *node);

/* Stops the node if it runs, then releases it. node may be NULL. Must not
 * be called from a callback, nor while another thread uses the node. */
BATON_EXPORT void baton_node_free(baton_node *node);

/* Copies this node's name (NUL-terminated) into buf (cap bytes). Returns
 * its length, or BATON_ENOSPC / BATON_EINVAL. */
BATON_EXPORT int baton_node_name(const baton_node *node, char *buf, size_t cap);

/* Copies the address peers reach this node at ("ip:port", the real port
 * once started, so a bind to port 0 can be read back) into buf. Returns its
 * length, BATON_ENOSPC or BATON_EINVAL. */
BATON_EXPORT int baton_node_addr(const baton_node *node, char *buf, size_t cap);

/* ---- sessions ------------------------------------------------------------
 * A candidacy belongs to a session; when the session closes, its
 * candidacies end (docs/design.md §1). Session 0 is the node's own default
 * session, which lives as long as the node; a program that campaigns for
 * itself needs no other. A daemon opens one session per client. */

/* Returns a new session id (nonzero, never reused by this node) in
 * *session. Returns 0, BATON_EINVAL or BATON_ECLOSED. */
BATON_EXPORT int baton_session_open(baton_node *node, uint64_t *session);
/* Ends session: withdraws all its candidacies (no on_revoked). Returns how
 * many, BATON_EINVAL (session 0, or never opened), BATON_ECLOSED or
 * BATON_ENOMEM (nothing changed). */
BATON_EXPORT int baton_session_close(baton_node *node, uint64_t session);

/* ---- the election (docs/design.md §1) ------------------------------------ */

/* Campaigns for name in session with priority (higher wins; ties go to the
 * lowest node name). Returns 1 (leader now: *fence, if not NULL, gets the
 * term), 0 (follower: on_elected comes if this node wins later; also the
 * answer of a winner whose first term waits for the node's first sync with
 * the cluster, its clock's first judgement and a short settle period,
 * design.md §1 fixes 8 and 9),
 * BATON_EALREADY (this node already campaigns for name, in any session),
 * BATON_EINVAL (bad name, or a session never opened), BATON_ECLOSED (not
 * running or leaving), BATON_ENOMEM, BATON_ELIMIT (a new name past the
 * node's names cap, docs/election.md). While the cluster refuses this node's
 * clock (on_clock) it answers 0 and campaigns once the clock is back. */
BATON_EXPORT int baton_lead(baton_node *node, uint64_t session, const void *name, size_t name_len,
                            int64_t priority, struct baton_fence *fence);
/* Withdraws this node's candidacy for name (no on_revoked). Returns 0,
 * BATON_ENOENT (not a candidate), BATON_EINVAL, BATON_ECLOSED or
 * BATON_ENOMEM (nothing changed). */
BATON_EXPORT int baton_resign(baton_node *node, const void *name, size_t name_len);
/* The winner of name as this node sees it; works for any name, on any
 * node. Returns 0 (*out filled if not NULL), BATON_ENOLEADER, BATON_EINVAL
 * or BATON_ECLOSED. */
BATON_EXPORT int baton_leader(baton_node *node, const void *name, size_t name_len,
                              struct baton_leader *out);
/* Returns 1 if the winner of name lives on this node, 0 if not,
 * BATON_EINVAL or BATON_ECLOSED. */
BATON_EXPORT int baton_is_leader(baton_node *node, const void *name, size_t name_len);
/* This node's current term for name. Returns 0 (*fence filled),
 * BATON_ENOTLEADER, BATON_EINVAL or BATON_ECLOSED. */
BATON_EXPORT int baton_fence(baton_node *node, const void *name, size_t name_len,
                             struct baton_fence *fence);
/* The nodes with a live candidacy for name, sorted bytewise and unique:
 * copies up to cap of them into out (each NUL-terminated) and returns how
 * many there are in all (so a result above cap means "call again with
 * more room"), or BATON_EINVAL / BATON_ECLOSED. */
BATON_EXPORT int baton_candidates(baton_node *node, const void *name, size_t name_len,
                                  char (*out)[BATON_NODE_MAX + 1], size_t cap);
/* The greatest term observed for name (minter "" if not known). Returns 0,
 * BATON_ENOENT (none), BATON_EINVAL or BATON_ECLOSED. */
BATON_EXPORT int baton_high_water(baton_node *node, const void *name, size_t name_len,
                                  struct baton_fence *out);
/* The resource refused this node's term and reported its mark (the
 * guard's BATON_ESTALE and struct baton_guard_mark: the token and its
 * minter, "" if the resource does not know it): if this node leads name
 * with a token below the mark, or equal to it and minted by another process
 * (another node, or this node's name on another boot: a twin),
 * the term ends (on_revoked) and a new one above the mark follows
 * (on_elected) if the node still wins. Returns 0, BATON_EINVAL (also for a
 * minter not of the form "<node>#<boot as 16 lowercase hex digits>", a bare
 * node name included), BATON_ECLOCK (the mark is too far ahead of
 * the local clock: refused) or BATON_ECLOSED. */
BATON_EXPORT int baton_observe_mark(baton_node *node, const void *name, size_t name_len,
                                    const struct baton_fence *mark);
/* baton_observe_mark() with the token alone (minter unknown). */
BATON_EXPORT int baton_observe_fence(baton_node *node, const void *name, size_t name_len,
                                     uint64_t token);
/* The names this node knows a candidacy or a mark for: copies up to cap
 * into out and returns how many there are in all, or BATON_EINVAL /
 * BATON_ECLOSED. Order unspecified. */
BATON_EXPORT int baton_names(baton_node *node, struct baton_name *out, size_t cap);

/* ---- introspection ------------------------------------------------------- */

/* The members this node knows (itself included): copies up to cap into out
 * and returns how many there are in all, or BATON_EINVAL / BATON_ECLOSED. */
BATON_EXPORT int baton_members(baton_node *node, struct baton_member *out, size_t cap);

/* Counters and gauges of a node. Counters count up from the start. */
struct baton_status {
    char name[BATON_NODE_MAX + 1];
    char addr[BATON_ADDR_MAX + 1];
    uint64_t boot_id;
    uint64_t uptime_ms;
    bool encrypted;         /* false under insecure_no_encryption */
    bool clock_refused;     /* the cluster refuses this node's clock now */
    bool leaving;           /* a leave is under way */
    uint32_t members_alive; /* gauges, this node included */
    uint32_t members_suspect;
    uint32_t members_dead;
    uint32_t members_left;
    uint32_t health;      /* Lifeguard local health, 0 = healthy */
    uint32_t keys;        /* keys installed */
    uint64_t names;       /* gauge: names known */
    uint64_t candidacies; /* gauge: local candidacies */
    uint64_t leaderships; /* gauge: names this node leads */
    /* transport */
    uint64_t packets_in, packets_out; /* datagrams */
    uint64_t bytes_in, bytes_out;     /* datagram and stream bytes on the wire */
    uint64_t frames_in, frames_out;   /* stream messages (of one or more chunks) */
    uint64_t conns_in, conns_out;     /* TCP connections accepted, opened */
    uint64_t conn_errors;             /* connect, read or write errors */
    uint64_t auth_failed;             /* datagrams and frames that no installed key opens */
    uint64_t decode_failed;           /* opened but malformed (the core's malformed count) */
    uint64_t oversize;                /* datagrams or frames over the size limit */
    uint64_t send_errors;             /* sends the OS refused */
    uint64_t dropped_oom;             /* outputs or events lost to out of memory */
    /* membership */
    uint64_t probes, probes_failed, suspicions, deaths_declared, refutations, pushpulls;
    /* election */
    uint64_t terms_minted, term_refreshes, refused_clock, elected, revoked;
    /* clocks (design.md §1 fix 9) */
    uint64_t clock_withholds; /* times this node's clock was refused (on_clock(true)) */
    int64_t clock_ahead_ms;   /* this node's clock minus the cluster's, ms, as last
                                 judged (0 before the first judgement) */
    /* push-pulls this node started whose connection failed, closed or timed
     * out before the reply (the core acts on each at once) */
    uint64_t pushpulls_failed;
    /* entries and marks peers sent for new names past max_names, refused
     * (baton_lead() past it returns BATON_ELIMIT instead) */
    uint64_t names_refused;
    uint64_t max_names; /* the cap in force (config.max_names) */
    /* refusals: datagrams (ICMP port unreachable) and connects refused by
     * an address where nothing listens, as the transport saw them; and how
     * many of them membership took as evidence of a crash */
    uint64_t refusals_seen, refusals_used;
};

/* Fills *out. Returns 0, BATON_EINVAL or BATON_ECLOSED (never started;
 * after a stop the last counters are returned). */
BATON_EXPORT int baton_status(baton_node *node, struct baton_status *out);

/* ---- the keyring ---------------------------------------------------------
 * Rotation without downtime: install the new key on every node, then make
 * it primary on every node (use), then remove the old one. Each step is
 * safe while the cluster runs, since every installed key opens. On a node
 * made with insecure_no_encryption every keyring call returns
 * BATON_EINVAL. These work before start too. */

/* Adds key (copied). Returns 0 (also if already installed), BATON_ENOSPC
 * (BATON_KEYRING_MAX keys installed) or BATON_EINVAL. */
BATON_EXPORT int baton_keyring_install(baton_node *node, const struct baton_key *key);
/* Makes an installed key the primary (sealing) key. Returns 0, BATON_ENOENT
 * (not installed) or BATON_EINVAL. */
BATON_EXPORT int baton_keyring_use(baton_node *node, const struct baton_key *key);
/* Removes a key. Returns 0, BATON_ENOENT (not installed) or BATON_EINVAL
 * (it is the primary key: use another first). */
BATON_EXPORT int baton_keyring_remove(baton_node *node, const struct baton_key *key);
/* Copies up to cap installed keys into out, primary first, and returns how
 * many there are in all, or BATON_EINVAL. */
BATON_EXPORT int baton_keyring_list(baton_node *node, struct baton_key *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* BATON_BATON_H */
