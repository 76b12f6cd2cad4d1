/* Tests of src/core/swim.c: membership scenarios on the unit tests' network
 * (tests/support/testnet.h).
 *
 * Each node is a struct bt_swim whose sink queues datagrams and stream
 * messages on the network (1 ms links, optional seeded loss and per-link
 * cuts); the fake clock jumps to the next delivery or deadline. A crashed
 * process either leaves its address silent (crash(): a crashed or cut-off
 * host) or refused (crash_process(): its host answers a datagram with a
 * refusal 1 ms later, fed to bt_swim_addr_refused). All nodes use the
 * `local` profile. Times asserted are virtual. */
#include "unit/test_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/swim.h"
#include "core/swim_proto.h"
#include "sim/prng.h"
#include "support/testnet.h"

#define MAXN 12 /* <= TESTNET_MAXN */
#define MAXEV 512
#define MAXSEEN 16

struct tnode {
    struct bt_swim *s;
    struct bt_nodeid name;
    struct bt_addr addr;
    uint64_t boot;
    uint64_t rng;
    bool up;
    bool refuses; /* down, and its host refuses datagrams to its address */
    struct bt_event ev[MAXEV];
    int nev;
    /* user layer */
    char seen[MAXSEEN][32]; /* distinct user payloads delivered */
    int nseen;
    int deliveries;
    int merges_join, merges_periodic;
    char last_state[64];
    /* clock layer: gossiped words the sink was asked about, and the
     * greatest seq it took */
    int words_asked;
    uint32_t word_seq;
};

struct tnet {
    struct testnet wire; /* the network; wire.n nodes */
    struct tnode node[MAXN];
    int sending; /* node whose sink is being called */
    long sent_packets[MAXN];
    long streams_sent;   /* stream messages sent, by anyone */
    size_t max_stream;   /* the longest */
    long stream_members; /* member entries they carried */
    long bad_streams;    /* ones that did not decode */
    long refusals_sent;  /* refusals of a crashed process's address */
    /* CLOCK broadcasts datagrams carried about word_member (len 0: none
     * watched) on boot word_boot (0: any), from node word_from (-1: any),
     * and how many of those said another seq than word_seq. */
    struct bt_nodeid word_member;
    uint64_t word_boot;
    int word_from;
    uint32_t word_seq;
    long words_seen, words_wrong;
    /* Timing every node starts with (timing_set: else the local profile;
     * net_init_timed). */
    struct bt_swim_timing timing;
    bool timing_set;
};

/* A message on the wire that is a refusal of node `from`'s address, for
 * node `to` (testnet_msg.note). */
#define NOTE_REFUSAL 1

static struct tnet *NET;

/* The node's random source: splitmix64 (the simulator's) over a uint64_t. */
static uint64_t splitmix(void *ctx) { return bt_splitmix64(ctx); }

static int addr_index(const struct bt_addr *a)
{
    for (int i = 0; i < NET->wire.n; i++)
        if (NET->node[i].up && bt_addr_eq(&NET->node[i].addr, a))
            return i;
    return -1;
}

/* The down node whose host refuses datagrams to a, if no process is up there. */
static int refusing_index(const struct bt_addr *a)
{
    if (addr_index(a) >= 0)
        return -1;
    for (int i = 0; i < NET->wire.n; i++)
        if (NET->node[i].refuses && bt_addr_eq(&NET->node[i].addr, a))
            return i;
    return -1;
}

static bool lost(void) { return testnet_lost(&NET->wire); }

/* Counts the CLOCK broadcasts a datagram carries about the watched
 * member, and those with a seq other than the one it said. */
static void watch_words(int from, const uint8_t *data, size_t len)
{
    struct bt_swim_packet pkt;
    if (NET->word_member.len == 0 || (NET->word_from >= 0 && from != NET->word_from) ||
        bt_swim_decode_packet(data, len, &pkt) != (int)len)
        return;
    struct bt_rbuf r;
    bt_rbuf_init(&r, pkt.bcasts, pkt.bcasts_len);
    struct bt_swim_bcast b;
    while (bt_swim_next_bcast(&r, &b) == 1) {
        if (b.kind != BT_SWIM_B_CLOCK || !bt_nodeid_eq(&b.name, &NET->word_member) ||
            (NET->word_boot != 0 && b.boot != NET->word_boot))
            continue;
        NET->words_seen++;
        if (b.clock.seq != NET->word_seq)
            NET->words_wrong++;
    }
}

static int node_of_ctx(void *ctx) { return (int)((struct tnode *)ctx - NET->node); }

static void sink_send(void *ctx, enum bt_output_kind kind, const struct bt_addr *to, uint64_t conn,
                      const uint8_t *data, size_t len)
{
    int from = node_of_ctx(ctx);
    /* A stream the swim opens (BT_STREAM_OWN): a new conn per message here,
     * and its reply comes back on that conn (these tests report no stream
     * events, so the swim's timers do the work). */
    if (kind == BT_OUT_STREAM && (conn & BT_STREAM_OWN))
        conn = 0;
    int dst = kind == BT_OUT_STREAM && conn != 0 ? NET->wire.conn_owner[conn] : addr_index(to);
    if (kind == BT_OUT_PACKET) {
        NET->sent_packets[from]++;
        watch_words(from, data, len);
    }
    if (kind == BT_OUT_STREAM) {
        struct bt_swim_pp pp;
        NET->streams_sent++;
        if (len > NET->max_stream)
            NET->max_stream = len;
        if (bt_swim_decode_pp(data, len, &pp) == (int)len)
            NET->stream_members += pp.count;
        else
            NET->bad_streams++;
    }
    if (dst < 0 && kind == BT_OUT_PACKET) {
        /* A crashed process whose host stays up: the datagram is refused,
         * and the refusal travels back like any packet. */
        int r = refusing_index(to);
        if (r < 0 || NET->wire.cut[from][r] || NET->wire.cut[r][from] || lost() || lost())
            return;
        struct testnet_msg *m =
            testnet_queue(&NET->wire, NET->wire.now + 2, r, from, BT_OUT_PACKET, 0, NULL, 0);
        m->note = NOTE_REFUSAL;
        NET->refusals_sent++;
        return;
    }
    if (dst < 0)
        return;
    if (NET->wire.cut[from][dst])
        return;
    if (kind == BT_OUT_PACKET && lost())
        return;
    if (kind == BT_OUT_STREAM && conn == 0)
        conn = testnet_conn_open(&NET->wire, from);
    testnet_queue(&NET->wire, NET->wire.now + 1, from, dst, kind, conn, data, len);
}

static void sink_event(void *ctx, const struct bt_event *ev)
{
    struct tnode *t = ctx;
    if (t->nev < MAXEV)
        t->ev[t->nev++] = *ev;
}

/* The user layer of the tests: remember each distinct payload and forward
 * the new ones (what the replication layer will do). */
static void user_deliver(void *ctx, const struct bt_nodeid *from, const uint8_t *data, size_t len)
{
    struct tnode *t = ctx;
    t->deliveries++;
    char s[32];
    size_t n = len < sizeof s - 1 ? len : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = 0;
    for (int i = 0; i < t->nseen; i++)
        if (strcmp(t->seen[i], s) == 0)
            return;
    if (t->nseen < MAXSEEN)
        strcpy(t->seen[t->nseen++], s);
    assert_int_equal(bt_swim_broadcast_user(t->s, NULL, 0, data, len, false, NET->wire.now), 0);
}

static size_t user_state(void *ctx, bool join, size_t index, uint8_t *buf, size_t cap)
{
    struct tnode *t = ctx;
    if (index > 0)
        return 0; /* one chunk */
    char s[64];
    int n = snprintf(s, sizeof s, "state-of-%s", t->name.bytes);
    if ((size_t)n <= cap)
        memcpy(buf, s, (size_t)n);
    return (size_t)n;
}

static void user_merge(void *ctx, const struct bt_nodeid *from, bool join, const uint8_t *data,
                       size_t len)
{
    struct tnode *t = ctx;
    if (join)
        t->merges_join++;
    else
        t->merges_periodic++;
    size_t n = len < sizeof t->last_state - 1 ? len : sizeof t->last_state - 1;
    memcpy(t->last_state, data, n);
    t->last_state[n] = 0;
}

/* The clock layer of the tests (the node's, in brief): a word is news when
 * its seq is greater than the greatest taken, whoever it is about. */
static bool sink_clock(void *ctx, uint64_t boot_id, size_t pos, void *extra,
                       const struct bt_swim_clock *clock)
{
    struct tnode *t = ctx;
    if (clock->wall_ms == 0)
        t->words_asked++;
    if (clock->seq <= t->word_seq)
        return false;
    t->word_seq = clock->seq;
    uint64_t seq = clock->seq; /* the member's word, for sink_word */
    memcpy(extra, &seq, sizeof seq);
    return true;
}

/* A queued word says the seq sink_clock kept with its member (this node's
 * own: none). */
static void sink_word(void *ctx, const void *extra, struct bt_swim_clock *out)
{
    uint64_t seq = 0;
    if (extra)
        memcpy(&seq, extra, sizeof seq);
    out->seq = (uint32_t)seq;
}

static struct bt_swim *make_swim(struct tnode *t, const char *name, const char *addr, uint64_t boot)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(bt_nodeid_set(&t->name, name, strlen(name)), 0);
    assert_int_equal(bt_swim_addr_set(&t->addr, addr, strlen(addr)), 0);
    t->boot = boot;
    t->rng = boot * 104729u;
    t->up = true;
    struct bt_swim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = t->name;
    cfg.addr = t->addr;
    cfg.boot_id = boot;
    assert_int_equal(bt_swim_timing_profile(BT_PROFILE_LOCAL, &cfg.timing), 0);
    if (NET->timing_set)
        cfg.timing = NET->timing;
    cfg.max_packet = 1400;
    cfg.member_extra = sizeof(uint64_t); /* sink_clock's word, or a test's tag */
    cfg.random = splitmix;
    cfg.random_ctx = &t->rng;
    struct bt_swim_sink sink = {
        .ctx = t,
        .send = sink_send,
        .event = sink_event,
        .user_deliver = user_deliver,
        .user_state = user_state,
        .user_merge = user_merge,
        .clock = sink_clock,
        .word = sink_word,
    };
    t->s = bt_swim_new(&cfg, &sink, NET->wire.now);
    assert_non_null(t->s);
    return t->s;
}

static void start_node(int i, uint64_t boot)
{
    char name[16], addr[32];
    snprintf(name, sizeof name, "node%d", i);
    snprintf(addr, sizeof addr, "10.0.0.%d:7946", i + 1);
    make_swim(&NET->node[i], name, addr, boot);
}

static uint64_t swim_deadline(struct testnet *w, int i)
{
    struct tnode *t = &NET->node[i];
    return t->up ? bt_swim_next_deadline(t->s) : UINT64_MAX;
}

static void swim_deliver(struct testnet *w, const struct testnet_msg *m)
{
    struct tnode *t = &NET->node[m->to];
    if (!t->up)
        return;
    if (m->note == NOTE_REFUSAL)
        bt_swim_addr_refused(t->s, &NET->node[m->from].addr, w->now);
    else if (m->kind == BT_OUT_PACKET)
        bt_swim_recv_packet(t->s, &NET->node[m->from].addr, m->data, m->len, w->now);
    else
        bt_swim_recv_stream(t->s, &NET->node[m->from].addr, m->conn, m->data, m->len, w->now);
}

static void swim_tick(struct testnet *w, int i) { bt_swim_tick(NET->node[i].s, w->now); }

static const struct testnet_ops swim_net_ops = {
    .deadline = swim_deadline,
    .deliver = swim_deliver,
    .tick = swim_tick,
};

/* n nodes with timing (NULL: the local profile). */
static void net_init_timed(struct tnet *net, int n, uint64_t seed,
                           const struct bt_swim_timing *timing)
{
    memset(net, 0, sizeof *net);
    NET = net;
    net->word_from = -1;
    if (timing) {
        net->timing = *timing;
        net->timing_set = true;
    }
    testnet_init(&net->wire, n, 5000, seed, &swim_net_ops, net);
    for (int i = 0; i < n; i++)
        start_node(i, 1000 + (uint64_t)i);
}

static void net_init(struct tnet *net, int n, uint64_t seed) { net_init_timed(net, n, seed, NULL); }

static void net_free(struct tnet *net)
{
    for (int i = 0; i < net->wire.n; i++)
        bt_swim_free(net->node[i].s);
    testnet_free(&net->wire);
}

static void crash(int i) { NET->node[i].up = false; }

/* The process crashes, its host stays up and refuses its address. */
static void crash_process(int i)
{
    NET->node[i].up = false;
    NET->node[i].refuses = true;
}

static uint64_t refusals_at(int i, bool ignored)
{
    struct bt_member_stats st;
    bt_swim_stats(NET->node[i].s, &st);
    return ignored ? st.refusals_ignored : st.refusals;
}

static void cut_both(int a, int b, bool on)
{
    NET->wire.cut[a][b] = on;
    NET->wire.cut[b][a] = on;
}

static void net_run_until(uint64_t until) { testnet_run_until(&NET->wire, until); }

static void run_for(uint64_t ms) { net_run_until(NET->wire.now + ms); }

static void join_all_through(int seed_node)
{
    assert_int_equal(bt_swim_join(NET->node[seed_node].s, NULL, 0, NET->wire.now), 0);
    for (int i = 0; i < NET->wire.n; i++)
        if (i != seed_node)
            assert_int_equal(
                bt_swim_join(NET->node[i].s, &NET->node[seed_node].addr, 1, NET->wire.now), 0);
}

static bool member(int at, const char *name, struct bt_member_info *out)
{
    struct bt_nodeid id;
    bt_nodeid_set(&id, name, strlen(name));
    return bt_swim_member(NET->node[at].s, &id, out);
}

static enum bt_member_state state_of(int at, int whom)
{
    struct bt_member_info mi;
    assert_true(member(at, NET->node[whom].name.bytes, &mi));
    return mi.state;
}

static bool is_live_state(enum bt_member_state st)
{
    return st == BT_MEMBER_ALIVE || st == BT_MEMBER_SUSPECT;
}

static int count_events(int at, enum bt_event_kind kind, const char *about)
{
    int c = 0;
    for (int i = 0; i < NET->node[at].nev; i++)
        if (NET->node[at].ev[i].kind == kind &&
            strcmp(NET->node[at].ev[i].member.bytes, about) == 0)
            c++;
    return c;
}

static bool all_live_converged(void)
{
    uint64_t d = 0;
    bool first = true;
    for (int i = 0; i < NET->wire.n; i++) {
        if (!NET->node[i].up || bt_swim_refused(NET->node[i].s))
            continue;
        if (first)
            d = bt_swim_digest(NET->node[i].s);
        else if (bt_swim_digest(NET->node[i].s) != d)
            return false;
        first = false;
    }
    return true;
}

/* ---- scenarios ---------------------------------------------------------- */

/* Finding F3 (docs/simulator.md): two processes whose seeds are cut off,
 * each the other's seed, join each other alone. Once the cut heals they
 * reach the cluster through the seed that never answered them; before,
 * they stayed an island, since nobody else knew them. */
static void a_seed_that_never_answered_is_tried_again_after_the_join(void **state)
{
    struct tnet net;
    net_init(&net, 4, 3);
    assert_int_equal(bt_swim_join(net.node[0].s, NULL, 0, net.wire.now), 0);
    assert_int_equal(bt_swim_join(net.node[1].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(2000);
    for (int a = 0; a < 2; a++)
        for (int b = 2; b < 4; b++)
            cut_both(a, b, true);
    struct bt_addr seeds2[2] = {net.node[0].addr, net.node[3].addr};
    struct bt_addr seeds3[2] = {net.node[0].addr, net.node[2].addr};
    assert_int_equal(bt_swim_join(net.node[2].s, seeds2, 2, net.wire.now), 0);
    assert_int_equal(bt_swim_join(net.node[3].s, seeds3, 2, net.wire.now), 0);
    run_for(5000);
    struct bt_member_info mi;
    assert_true(member(2, "node3", &mi) && mi.state == BT_MEMBER_ALIVE);
    assert_false(member(2, "node0", &mi));
    for (int a = 0; a < 2; a++)
        for (int b = 2; b < 4; b++)
            cut_both(a, b, false);
    run_for(10000);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            assert_int_equal(state_of(i, j), BT_MEMBER_ALIVE);
    assert_true(all_live_converged());
    net_free(&net);
}

static void eight_nodes_join_through_one_seed_and_converge(void **state)
{
    struct tnet net;
    net_init(&net, 8, 1);
    join_all_through(0);
    run_for(3000);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(bt_swim_members(net.node[i].s, NULL, 0), 8);
        assert_int_equal(bt_swim_live_count(net.node[i].s), 8);
        for (int j = 0; j < 8; j++) {
            assert_int_equal(state_of(i, j), BT_MEMBER_ALIVE);
            if (j != i)
                assert_int_equal(count_events(i, BT_EV_MEMBER_UP, net.node[j].name.bytes), 1);
        }
    }
    assert_true(all_live_converged());
    net_free(&net);
}

static void crashed_node_is_suspected_then_dead_everywhere_within_1500ms(void **state)
{
    struct tnet net;
    net_init(&net, 5, 2);
    join_all_through(0);
    run_for(2000);
    crash(4);
    uint64_t crashed_at = net.wire.now;
    uint64_t all_dead_at = 0;
    while (net.wire.now < crashed_at + 5000 && !all_dead_at) {
        run_for(10);
        bool all = true;
        for (int i = 0; i < 4; i++)
            all = all && state_of(i, 4) == BT_MEMBER_DEAD;
        if (all)
            all_dead_at = net.wire.now;
    }
    assert_true(all_dead_at > 0);
    printf("crash detected everywhere after %llu ms (virtual)\n",
           (unsigned long long)(all_dead_at - crashed_at));
    assert_true(all_dead_at - crashed_at <= 1500);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node4"), 1);
        assert_int_equal(bt_swim_live_count(net.node[i].s), 4);
    }
    net_free(&net);
}

/* Runs until every node but `who` holds it dead; returns the time taken
 * since `since`, or 0 if that did not happen within limit ms. */
static uint64_t until_dead_everywhere(int who, int n, uint64_t since, uint64_t limit)
{
    while (NET->wire.now < since + limit) {
        run_for(1);
        bool all = true;
        for (int i = 0; i < n; i++)
            all = all && (i == who || state_of(i, who) == BT_MEMBER_DEAD);
        if (all)
            return NET->wire.now - since;
    }
    return 0;
}

static void crashed_process_whose_host_refuses_is_dead_everywhere_within_400ms(void **state)
{
    uint64_t worst = 0, total = 0;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        struct tnet net;
        net_init(&net, 5, seed);
        join_all_through(0);
        run_for(2000 + seed * 37);
        crash_process(4);
        uint64_t took = until_dead_everywhere(4, 5, net.wire.now, 5000);
        assert_true(took > 0);
        uint64_t used = 0;
        for (int i = 0; i < 4; i++) {
            used += refusals_at(i, false);
            assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node4"), 1);
            for (int j = 0; j < 4; j++)
                assert_int_equal(state_of(i, j), BT_MEMBER_ALIVE);
        }
        assert_true(used > 0); /* the refusals did it, not the suspicion timeout */
        if (took > worst)
            worst = took;
        total += took;
        net_free(&net);
    }
    printf("refused crash detected everywhere after %llu ms on average, %llu at worst (virtual)\n",
           (unsigned long long)(total / 10), (unsigned long long)worst);
    /* A silent crash takes 300 ms of suspicion at the least. */
    assert_true(worst <= 400);
}

static void refusal_echo_from_before_a_restart_spares_the_new_boot(void **state)
{
    struct tnet net;
    net_init(&net, 5, 21);
    join_all_through(0);
    run_for(2000);
    crash_process(3);
    run_for(30);
    bt_swim_free(net.node[3].s);
    start_node(3, 777); /* same name, same address, new boot */
    assert_int_equal(bt_swim_join(net.node[3].s, &net.node[0].addr, 1, net.wire.now), 0);
    /* Every node learns the new boot; refusals of datagrams sent while the
     * address was closed may still arrive (late ICMP): feed some to every
     * node for 35 ms (less than a probe timeout) after it learned the boot. */
    bool learned[5] = {false};
    uint64_t learned_at[5] = {0};
    uint64_t used_before[5] = {0};
    uint64_t start = net.wire.now;
    while (net.wire.now < start + 1500) {
        run_for(1);
        for (int i = 0; i < 5; i++) {
            struct bt_member_info mi;
            if (i == 3)
                continue;
            if (!learned[i] && member(i, "node3", &mi) && mi.boot_id == 777) {
                learned[i] = true;
                learned_at[i] = net.wire.now;
                used_before[i] = refusals_at(i, false);
            }
            if (learned[i] && net.wire.now < learned_at[i] + 35)
                bt_swim_addr_refused(net.node[i].s, &net.node[3].addr, net.wire.now);
        }
    }
    for (int i = 0; i < 5; i++) {
        if (i == 3)
            continue;
        assert_true(learned[i]);
        assert_int_equal(refusals_at(i, false), used_before[i]); /* none held against 777 */
        assert_true(refusals_at(i, true) > 0);
        struct bt_member_info mi;
        assert_true(member(i, "node3", &mi));
        assert_int_equal(mi.boot_id, 777);
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        for (int k = 0; k < net.node[i].nev; k++)
            assert_false(net.node[i].ev[k].boot_id == 777 &&
                         (net.node[i].ev[k].kind == BT_EV_MEMBER_SUSPECT ||
                          net.node[i].ev[k].kind == BT_EV_MEMBER_DEAD));
    }
    net_free(&net);
}

static void forged_refusals_of_a_live_member_are_refuted_not_fatal(void **state)
{
    struct tnet net;
    net_init(&net, 5, 22);
    join_all_through(0);
    run_for(2000);
    /* Every node is told, every 5 ms for 3 s, that node2's address
     * refuses: whenever it probes node2 it suspects it, and node2 refutes
     * within the period the refusal leaves it. */
    uint64_t used = 0;
    for (int step = 0; step < 600; step++) {
        for (int i = 0; i < 5; i++)
            if (i != 2)
                bt_swim_addr_refused(net.node[i].s, &net.node[2].addr, net.wire.now);
        run_for(5);
    }
    for (int i = 0; i < 5; i++) {
        if (i == 2)
            continue;
        used += refusals_at(i, false);
        assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node2"), 0);
    }
    assert_true(used > 0);
    run_for(1000);
    for (int i = 0; i < 5; i++)
        assert_int_equal(state_of(i, 2), BT_MEMBER_ALIVE);
    net_free(&net);
}

static void refusals_at_10pct_loss_with_restarts_kill_no_live_process(void **state)
{
    struct tnet net;
    net_init(&net, 6, 23);
    join_all_through(0);
    run_for(3000);
    net.wire.loss = 0.10;
    uint64_t boot = 5000;
    for (int round = 0; round < 12; round++) {
        int v = 1 + round % 5;
        crash_process(v);
        run_for(200 + (uint64_t)round * 53);
        bt_swim_free(net.node[v].s);
        start_node(v, ++boot); /* same address, new boot */
        assert_int_equal(bt_swim_join(net.node[v].s, &net.node[0].addr, 1, net.wire.now), 0);
        run_for(3000);
    }
    net.wire.loss = 0;
    run_for(5000);
    /* No boot that was running was ever declared dead. */
    for (int i = 0; i < 6; i++) {
        for (int k = 0; k < net.node[i].nev; k++) {
            const struct bt_event *ev = &net.node[i].ev[k];
            if (ev->kind != BT_EV_MEMBER_DEAD)
                continue;
            int j = 0;
            while (j < 6 && !bt_nodeid_eq(&net.node[j].name, &ev->member))
                j++;
            assert_true(j < 6);
            assert_true(ev->boot_id != net.node[j].boot);
        }
    }
    assert_true(net.refusals_sent > 0);
    assert_true(all_live_converged());
    net_free(&net);
}

static void direct_link_cut_is_bridged_by_indirect_probes(void **state)
{
    struct tnet net;
    net_init(&net, 5, 3);
    join_all_through(0);
    run_for(1000);
    cut_both(0, 1, true);
    run_for(5000);
    struct bt_member_stats st0, st2;
    bt_swim_stats(net.node[0].s, &st0);
    assert_true(st0.indirect_probes > 0);
    long relays = 0;
    for (int i = 2; i < 5; i++) {
        bt_swim_stats(net.node[i].s, &st2);
        relays += (long)st2.relays;
    }
    assert_true(relays > 0);
    for (int i = 0; i < 5; i++)
        assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node1"), 0);
    assert_int_equal(state_of(0, 1), BT_MEMBER_ALIVE);
    net_free(&net);
}

static void false_suspicion_is_refuted_with_a_higher_incarnation(void **state)
{
    struct tnet net;
    net_init(&net, 5, 4);
    join_all_through(0);
    run_for(2000);
    /* Isolate node2 long enough to be suspected, not long enough to die. */
    for (int i = 0; i < 5; i++)
        if (i != 2)
            cut_both(i, 2, true);
    int suspected = 0;
    while (!suspected) {
        run_for(5);
        for (int i = 0; i < 5; i++)
            if (i != 2)
                suspected += state_of(i, 2) == BT_MEMBER_SUSPECT;
    }
    for (int i = 0; i < 5; i++)
        if (i != 2)
            cut_both(i, 2, false);
    run_for(3000);
    struct bt_member_info mi;
    for (int i = 0; i < 5; i++) {
        assert_true(member(i, "node2", &mi));
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_true(mi.incarnation >= 1);
        assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node2"), 0);
    }
    int refuted = 0;
    for (int i = 0; i < 5; i++)
        refuted += count_events(i, BT_EV_MEMBER_ALIVE, "node2");
    assert_true(refuted >= 1);
    struct bt_member_stats st;
    bt_swim_stats(net.node[2].s, &st);
    assert_true(st.refutations >= 1);
    assert_true(all_live_converged());
    net_free(&net);
}

static void isolated_node_raises_its_health_score_and_recovers(void **state)
{
    struct tnet net;
    net_init(&net, 4, 5);
    join_all_through(0);
    run_for(2000);
    /* node3 hears nothing: every probe it sends fails. */
    for (int i = 0; i < 3; i++)
        net.wire.cut[i][3] = true;
    struct bt_member_stats st;
    uint32_t peak = 0;
    for (int k = 0; k < 40; k++) {
        run_for(100);
        bt_swim_stats(net.node[3].s, &st);
        if (st.health > peak)
            peak = st.health;
    }
    assert_true(peak >= 3);
    for (int i = 0; i < 3; i++)
        net.wire.cut[i][3] = false;
    run_for(20000);
    bt_swim_stats(net.node[3].s, &st);
    assert_int_equal(st.health, 0);
    net_free(&net);
}

static void graceful_leave_reaches_everyone_at_once(void **state)
{
    struct tnet net;
    net_init(&net, 5, 6);
    join_all_through(0);
    run_for(2000);
    assert_int_equal(bt_swim_leave(net.node[3].s, net.wire.now), 0);
    run_for(50);
    assert_true(bt_swim_left(net.node[3].s));
    for (int i = 0; i < 5; i++) {
        if (i == 3)
            continue;
        assert_int_equal(state_of(i, 3), BT_MEMBER_LEFT);
        assert_int_equal(count_events(i, BT_EV_MEMBER_LEFT, "node3"), 1);
    }
    crash(3); /* the driver stops it */
    run_for(5000);
    for (int i = 0; i < 5; i++)
        if (i != 3)
            assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node3"), 0);
    net_free(&net);
}

/* Hands node `to` a PING from node `from` (no clock block) carrying the
 * broadcast b. */
static void forge_bcast(int from, int to, const struct bt_swim_bcast *b)
{
    uint8_t buf[512];
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_PING, &NET->node[from].name, NET->node[from].boot);
    struct bt_swim_clock none;
    memset(&none, 0, sizeof none);
    bt_swim_put_ping(&w, 999, &NET->node[to].name, &none);
    bt_swim_put_bcast(&w, b);
    assert_false(w.overflow);
    bt_swim_recv_packet(NET->node[to].s, &NET->node[from].addr, buf, w.len, NET->wire.now);
}

/* Node `from` hands node `to` a CLOCK broadcast of node `about`'s word
 * with seq `seq` (on about's boot). */
static void forge_word(int from, int to, int about, uint32_t seq)
{
    struct bt_swim_bcast b;
    memset(&b, 0, sizeof b);
    b.kind = BT_SWIM_B_CLOCK;
    b.name = NET->node[about].name;
    b.boot = NET->node[about].boot;
    b.clock.seq = seq;
    forge_bcast(from, to, &b);
}

/* Fix 9's words by gossip: a copy of a word the sink called news, or an
 * older one, is dropped before the sink is asked (most gossiped words are
 * copies); a newer one is asked about; a change of the member's state
 * makes the sink be asked again. */
static void a_gossiped_word_already_taken_is_not_asked_about_again(void **state)
{
    struct tnet net;
    net_init(&net, 3, 21);
    join_all_through(0);
    run_for(2000);
    forge_word(0, 1, 2, 5);
    assert_int_equal(net.node[1].words_asked, 1);
    forge_word(0, 1, 2, 5); /* the same word */
    forge_word(0, 1, 2, 4); /* an older one */
    assert_int_equal(net.node[1].words_asked, 1);
    forge_word(0, 1, 2, 6);
    assert_int_equal(net.node[1].words_asked, 2);
    forge_word(0, 1, 2, 6);
    assert_int_equal(net.node[1].words_asked, 2);

    /* node2 suspected (a change of state): the sink is asked again. */
    struct bt_swim_bcast sus;
    memset(&sus, 0, sizeof sus);
    sus.kind = BT_SWIM_B_SUSPECT;
    sus.name = net.node[2].name;
    sus.boot = net.node[2].boot;
    sus.incarnation = UINT32_MAX - 1;
    sus.from = net.node[0].name;
    forge_bcast(0, 1, &sus);
    assert_int_equal(state_of(1, 2), BT_MEMBER_SUSPECT);
    forge_word(0, 1, 2, 6);
    assert_int_equal(net.node[1].words_asked, 3);
    net_free(&net);
}

/* A word queued to be gossiped on belongs to its member's position in the
 * member table, and moves with it: here node 1 forgets a dead member while
 * the word of the member that takes the dead one's place is still queued;
 * every copy it sends after says what that member said, and once the
 * member says a newer word, node 1 sends that one only (the queue's entry
 * that moved is the one the newer word replaces: none is left behind at
 * the old place). */
static void a_queued_word_moves_with_its_member(void **state)
{
    struct tnet net;
    struct bt_swim_timing t;
    assert_int_equal(bt_swim_timing_profile(BT_PROFILE_LOCAL, &t), 0);
    t.dead_reap = 5000;
    t.retransmit_mult = 200; /* a word stays queued for seconds */
    net_init_timed(&net, 4, 23, &t);
    join_all_through(0);
    run_for(3000);
    /* Node 1's members in table order: itself first, x last, y between. */
    struct bt_member_info mi[4];
    assert_int_equal(bt_swim_members(net.node[1].s, mi, 4), 4);
    int x = -1, y = -1;
    for (int i = 0; i < 4; i++) {
        if (bt_nodeid_eq(&mi[3].name, &net.node[i].name))
            x = i;
        if (bt_nodeid_eq(&mi[1].name, &net.node[i].name))
            y = i;
    }
    assert_true(x >= 0 && y >= 0 && x != 1 && y != 1);
    /* y says a word (seq 7), which node 1 takes and gossips on. */
    forge_word(0, 1, y, 7);
    run_for(5000);
    /* y dies; just before node 1 forgets it, x says its word (seq 9). */
    crash(y);
    uint64_t dead_at = 0;
    for (int ms = 0; ms < 5000 && !dead_at; ms += 10) {
        run_for(10);
        if (state_of(1, y) == BT_MEMBER_DEAD)
            dead_at = net.wire.now;
    }
    assert_true(dead_at > 0);
    net_run_until(dead_at + 4000);
    net.word_member = net.node[x].name;
    net.word_seq = 9;
    forge_word(0, 1, x, 9);
    run_for(3000);
    struct bt_member_info gone;
    assert_false(member(1, net.node[y].name.bytes, &gone)); /* forgotten */
    assert_int_equal(bt_swim_members(net.node[1].s, mi, 4), 3);
    assert_true(bt_nodeid_eq(&mi[1].name, &net.node[x].name)); /* x took y's place */
    assert_true(net.words_seen > 100);
    assert_int_equal(net.words_wrong, 0);
    forge_word(0, 1, x, 11); /* its ACK went out before the word was applied */
    net.word_from = 1;
    net.word_seq = 11;
    net.words_seen = 0;
    run_for(2000);
    assert_true(net.words_seen > 100);
    assert_int_equal(net.words_wrong, 0);
    net_free(&net);
}

static void member_that_missed_a_leave_is_told_when_it_suspects_the_leaver(void **state)
{
    struct tnet net;
    net_init(&net, 5, 18);
    join_all_through(0);
    run_for(2000);
    for (int i = 0; i < 4; i++)
        cut_both(i, 4, true);
    assert_int_equal(bt_swim_leave(net.node[3].s, net.wire.now), 0);
    run_for(200);
    assert_true(bt_swim_left(net.node[3].s));
    crash(3); /* the driver stops it */
    assert_int_equal(state_of(0, 3), BT_MEMBER_LEFT);
    assert_true(is_live_state(state_of(4, 3))); /* alive, or suspect: it is cut off */
    for (int i = 0; i < 4; i++)
        cut_both(i, 4, false);
    /* node4's next probe of node3 (slowed by its raised health score after
     * the cut) fails; the members it asks to probe indirectly know node3
     * left and say so, before node4's suspicion could expire. */
    run_for(2000);
    assert_int_equal(state_of(4, 3), BT_MEMBER_LEFT);
    assert_int_equal(count_events(4, BT_EV_MEMBER_LEFT, "node3"), 1);
    assert_int_equal(count_events(4, BT_EV_MEMBER_DEAD, "node3"), 0);
    run_for(3000);
    assert_true(all_live_converged());
    net_free(&net);
}

/* The tag extra_tags() writes for a member. */
static uint64_t extra_tag(const struct bt_nodeid *name)
{
    return bt_hash_bytes(name->bytes, name->len) | 1;
}

/* Writes every member's tag in its extra bytes at node i. */
static void extra_tags(int i)
{
    struct bt_swim *s = NET->node[i].s;
    for (size_t pos = 0; pos < bt_swim_positions(s); pos++) {
        struct bt_nodeid name = bt_swim_name_at(s, pos);
        uint64_t tag = extra_tag(&name);
        memcpy(bt_swim_extra_at(s, pos), &tag, sizeof tag);
    }
}

/* How many members at node i have extra bytes that are neither their tag
 * nor zero (zero: a member added since the tags were written), and how
 * many disagree between their name and their position. */
static int extra_wrong(int i, int *zero)
{
    struct bt_swim *s = NET->node[i].s;
    int wrong = 0;
    *zero = 0;
    for (size_t pos = 0; pos < bt_swim_positions(s); pos++) {
        struct bt_nodeid name = bt_swim_name_at(s, pos);
        uint64_t tag;
        size_t at = SIZE_MAX;
        memcpy(&tag, bt_swim_extra_at(s, pos), sizeof tag);
        *zero += tag == 0;
        wrong += tag != 0 && tag != extra_tag(&name);
        wrong += bt_swim_extra_of(s, &name, &at) != bt_swim_extra_at(s, pos) || at != pos;
    }
    return wrong;
}

/* A member's extra bytes (bt_swim_config.member_extra: the node keeps its
 * clock readings there) start zeroed and move with the member when
 * another is forgotten and the last one takes its position. */
static void extra_bytes_move_with_their_member(void **state)
{
    struct tnet net;
    struct bt_swim_timing t;
    assert_int_equal(bt_swim_timing_profile(BT_PROFILE_LOCAL, &t), 0);
    t.dead_reap = 3000;
    net_init_timed(&net, 6, 31, &t);
    join_all_through(0);
    run_for(3000);
    extra_tags(1);
    int zero;
    assert_int_equal(extra_wrong(1, &zero), 0);
    assert_int_equal(zero, 0);
    /* Two members die and are forgotten at node 1: the last positions
     * move into theirs. */
    crash(2);
    crash(4);
    run_for(8000);
    assert_int_equal(bt_swim_positions(net.node[1].s), 4);
    assert_int_equal(extra_wrong(1, &zero), 0);
    assert_int_equal(zero, 0);
    /* A newcomer's bytes are zero. */
    make_swim(&net.node[net.wire.n++], "node6", "10.0.0.7:7946", 1006);
    assert_int_equal(bt_swim_join(net.node[6].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(2000);
    assert_int_equal(bt_swim_positions(net.node[1].s), 5);
    assert_int_equal(extra_wrong(1, &zero), 0);
    assert_int_equal(zero, 1);
    net_free(&net);
}

/* Four nodes of `local` timing whose words stay queued for seconds; node
 * 1 is told node 3's word 7 and is seen gossiping it on (net->words_seen). */
static void queue_a_word_at_node1(struct tnet *net, uint64_t seed)
{
    struct bt_swim_timing t;
    assert_int_equal(bt_swim_timing_profile(BT_PROFILE_LOCAL, &t), 0);
    t.retransmit_mult = 200; /* a word stays queued for seconds */
    net_init_timed(net, 4, seed, &t);
    join_all_through(0);
    run_for(3000);
    forge_word(0, 1, 3, 7);
    net->word_member = net->node[3].name;
    net->word_from = 1;
    net->word_seq = 7;
    run_for(500);
    assert_true(net->words_seen > 0); /* node 1 gossips it on */
}

/* A word queued for a member's boot is not passed on as its next boot's:
 * the CLOCK broadcast is written with the boot the member's record holds
 * (put_word), so the word leaves the queue when that boot changes. */
static void a_queued_word_is_not_passed_on_for_the_next_boot(void **state)
{
    struct tnet net;
    queue_a_word_at_node1(&net, 29);
    bt_swim_free(net.node[3].s);
    start_node(3, 777); /* same name, same address, new boot: it says no word */
    assert_int_equal(bt_swim_join(net.node[3].s, &net.node[0].addr, 1, net.wire.now), 0);
    net.word_boot = 777;
    net.words_seen = 0;
    run_for(2000);
    struct bt_member_info mi;
    assert_true(member(1, "node3", &mi));
    assert_int_equal(mi.boot_id, 777);
    assert_int_equal(net.words_seen, 0);
    net_free(&net);
}

/* A member that leaves takes its queued word with it: the node above
 * forgets a leaving member's word (node_clock_forget), so there is nothing
 * left to say. */
static void a_queued_word_leaves_with_its_member(void **state)
{
    struct tnet net;
    queue_a_word_at_node1(&net, 37);
    assert_int_equal(bt_swim_leave(net.node[3].s, net.wire.now), 0);
    run_for(1000);
    assert_int_equal(state_of(1, 3), BT_MEMBER_LEFT);
    net.words_seen = 0;
    run_for(2000);
    assert_int_equal(net.words_seen, 0);
    net_free(&net);
}

static void restart_at_the_same_address_takes_the_name_over(void **state)
{
    struct tnet net;
    net_init(&net, 5, 7);
    join_all_through(0);
    run_for(2000);
    bt_swim_free(net.node[3].s);
    start_node(3, 777); /* same name, same address, new boot */
    assert_int_equal(bt_swim_join(net.node[3].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(1000);
    struct bt_member_info mi;
    for (int i = 0; i < 5; i++) {
        assert_true(member(i, "node3", &mi));
        assert_int_equal(mi.boot_id, 777);
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_true(mi.incarnation >= 1); /* it refuted above its old self */
        if (i != 3)
            assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node3"), 0);
    }
    /* Peers reported the new boot as a member coming up. */
    for (int i = 0; i < 3; i++) {
        bool saw = false;
        for (int k = 0; k < net.node[i].nev; k++)
            saw = saw ||
                  (net.node[i].ev[k].kind == BT_EV_MEMBER_UP && net.node[i].ev[k].boot_id == 777);
        assert_true(saw);
    }
    assert_true(all_live_converged());
    net_free(&net);
}

static void node_that_missed_a_restart_learns_the_new_boot_on_first_contact(void **state)
{
    struct tnet net;
    net_init(&net, 5, 17);
    join_all_through(0);
    run_for(2000);
    /* node4 is cut off while node3 restarts and its refutation is gossiped
     * and retired; then node4 comes back holding the old boot. */
    for (int i = 0; i < 4; i++)
        cut_both(i, 4, true);
    bt_swim_free(net.node[3].s);
    start_node(3, 4444);
    assert_int_equal(bt_swim_join(net.node[3].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(150);
    struct bt_member_info mi;
    assert_true(member(0, "node3", &mi));
    assert_int_equal(mi.boot_id, 4444);
    assert_true(member(4, "node3", &mi));
    assert_int_equal(mi.boot_id, 1003);
    for (int i = 0; i < 4; i++)
        cut_both(i, 4, false);
    /* Well before node4's next periodic push-pull (10 s in this profile). */
    run_for(1500);
    assert_true(member(4, "node3", &mi));
    assert_int_equal(mi.boot_id, 4444);
    assert_int_equal(mi.state, BT_MEMBER_ALIVE);
    assert_true(all_live_converged());
    net_free(&net);
}

static size_t queued_streams_from(int from)
{
    size_t n = 0;
    for (size_t k = 0; k < NET->wire.nq; k++)
        n += NET->wire.q[k].kind == BT_OUT_STREAM && NET->wire.q[k].from == from;
    return n;
}

static void datagram_from_a_process_we_do_not_hold_triggers_a_push_pull(void **state)
{
    struct tnet net;
    net_init(&net, 2, 19);
    join_all_through(0);
    run_for(1000);
    uint8_t buf[128];
    struct bt_wbuf w;

    /* node1's name with a boot node0 does not hold. */
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &net.node[1].name, 31337);
    size_t before = queued_streams_from(0);
    bt_swim_recv_packet(net.node[0].s, &net.node[1].addr, buf, w.len, net.wire.now);
    assert_int_equal(queued_streams_from(0), before + 1);
    /* Rate-limited: a second one in the same period does nothing. */
    bt_swim_recv_packet(net.node[0].s, &net.node[1].addr, buf, w.len, net.wire.now);
    assert_int_equal(queued_streams_from(0), before + 1);

    /* An unknown name, a period later: counted, and synced with. */
    run_for(100);
    struct bt_nodeid stranger;
    bt_nodeid_set(&stranger, "stranger", 8);
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &stranger, 5);
    before = queued_streams_from(0);
    bt_swim_recv_packet(net.node[0].s, &net.node[1].addr, buf, w.len, net.wire.now);
    assert_int_equal(queued_streams_from(0), before + 1);
    struct bt_member_stats st;
    bt_swim_stats(net.node[0].s, &st);
    assert_int_equal(st.unknown_sender, 1);

    /* The boot we hold: nothing. */
    run_for(100);
    bt_wbuf_init(&w, buf, sizeof buf);
    bt_swim_put_header(&w, BT_SWIM_GOSSIP, &net.node[1].name, net.node[1].boot);
    before = queued_streams_from(0);
    bt_swim_recv_packet(net.node[0].s, &net.node[1].addr, buf, w.len, net.wire.now);
    assert_int_equal(queued_streams_from(0), before);
    net_free(&net);
}

static void restart_on_a_new_address_takes_over_without_waiting_for_a_timeout(void **state)
{
    struct tnet net;
    net_init(&net, 5, 8);
    join_all_through(0);
    run_for(2000);
    crash(3);
    make_swim(&net.node[net.wire.n++], "node3", "10.0.9.9:7946", 888);
    uint64_t t0 = net.wire.now;
    assert_int_equal(bt_swim_join(net.node[5].s, &net.node[0].addr, 1, net.wire.now), 0);
    /* Well under the suspicion timeout (300 ms minimum here). */
    run_for(250);
    struct bt_member_info mi;
    for (int i = 0; i < 6; i++) {
        if (i == 3)
            continue;
        assert_true(member(i, "node3", &mi));
        assert_int_equal(mi.boot_id, 888);
        assert_string_equal(mi.addr.s, "10.0.9.9:7946");
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, "node3"), 0);
    }
    struct bt_member_stats st;
    bt_swim_stats(net.node[0].s, &st);
    assert_true(st.name_takeovers >= 1);
    assert_false(bt_swim_refused(net.node[5].s));
    printf("takeover everywhere within %llu ms\n", (unsigned long long)(net.wire.now - t0));
    run_for(3000);
    assert_true(all_live_converged());
    net_free(&net);
}

/* A member record holds its name and address in the record when they fit
 * and apart when not, in room sized to them: a longer address gives them
 * more room (swim_member_set_addr). Here two members are dead, in the
 * suspects/gone array, when their names come back at longer addresses:
 * node3, whose strings were apart already, and s5, whose strings fitted
 * in its record and now do not; suspects come and go afterwards: every
 * view must agree and list the new addresses. */
static void dead_member_back_at_a_longer_address_is_alive_there(void **state)
{
    struct tnet net;
    net_init(&net, 5, 9);
    make_swim(&net.node[net.wire.n++], "s5", "h:5", 1005);
    join_all_through(0);
    run_for(2000);
    crash(5);
    assert_true(until_dead_everywhere(5, 5, net.wire.now, 5000) > 0);
    crash(3);
    assert_true(until_dead_everywhere(3, 5, net.wire.now, 5000) > 0);
    const char *longer = "host-with-a-much-longer-name.example.org:17946";
    const char *longer5 = "h5.example.org:7946";
    make_swim(&net.node[net.wire.n++], "node3", longer, 999);
    make_swim(&net.node[net.wire.n++], "s5", longer5, 998);
    for (int i = 6; i < 8; i++)
        assert_int_equal(bt_swim_join(net.node[i].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(3000);
    crash(2); /* a suspect, then a dead member, after the move */
    run_for(3000);
    struct bt_member_info mi;
    for (int i = 0; i < 8; i++) {
        if (i == 2 || i == 3 || i == 5)
            continue;
        assert_true(member(i, "node3", &mi));
        assert_int_equal(mi.boot_id, 999);
        assert_string_equal(mi.addr.s, longer);
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_true(member(i, "s5", &mi));
        assert_int_equal(mi.boot_id, 998);
        assert_string_equal(mi.addr.s, longer5);
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_int_equal(state_of(i, 2), BT_MEMBER_DEAD);
    }
    assert_true(all_live_converged());
    net_free(&net);
}

static void newcomer_with_a_live_members_name_is_refused(void **state)
{
    struct tnet net;
    net_init(&net, 5, 9);
    join_all_through(0);
    run_for(2000);
    make_swim(&net.node[net.wire.n++], "node3", "10.0.9.9:7946", 999);
    assert_int_equal(bt_swim_join(net.node[5].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(2000);

    struct tnode *newcomer = &net.node[5];
    assert_true(bt_swim_refused(newcomer->s));
    int conflicts = 0;
    for (int k = 0; k < newcomer->nev; k++) {
        if (newcomer->ev[k].kind != BT_EV_NAME_CONFLICT)
            continue;
        conflicts++;
        assert_string_equal(newcomer->ev[k].member.bytes, "node3");
        assert_string_equal(newcomer->ev[k].addr.s, "10.0.9.9:7946");
        assert_string_equal(newcomer->ev[k].other_addr.s, "10.0.0.4:7946");
    }
    assert_int_equal(conflicts, 1);
    struct bt_member_info mi;
    for (int i = 0; i < 5; i++) {
        assert_true(member(i, "node3", &mi));
        assert_int_equal(mi.boot_id, 1003);
        assert_string_equal(mi.addr.s, "10.0.0.4:7946");
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_int_equal(bt_swim_members(net.node[i].s, NULL, 0), 5);
    }
    /* The refused process stays silent from now on. */
    long before = net.sent_packets[5];
    run_for(2000);
    assert_int_equal(net.sent_packets[5], before);
    assert_true(all_live_converged());
    net_free(&net);
}

static void newcomer_joining_through_the_holder_itself_is_refused(void **state)
{
    struct tnet net;
    net_init(&net, 3, 10);
    join_all_through(0);
    run_for(1000);
    make_swim(&net.node[net.wire.n++], "node0", "10.0.9.1:7946", 42);
    assert_int_equal(bt_swim_join(net.node[3].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(1000);
    assert_true(bt_swim_refused(net.node[3].s));
    assert_int_equal(net.node[3].nev, 1);
    assert_int_equal(net.node[3].ev[0].kind, BT_EV_NAME_CONFLICT);
    assert_string_equal(net.node[3].ev[0].other_addr.s, "10.0.0.1:7946");
    for (int i = 0; i < 3; i++)
        assert_int_equal(bt_swim_members(net.node[i].s, NULL, 0), 3);
    struct bt_member_stats st;
    bt_swim_stats(net.node[0].s, &st);
    assert_int_equal(st.name_conflicts, 1);
    net_free(&net);
}

/* Two live processes named node1, one on each side of a partition (the
 * original, boot 1001, and a twin at another address), then the heal:
 * exactly one keeps the name on every node, the one with the greater boot
 * id, and the other is refused (docs/membership.md, one process per name). */
static void twin_heal(uint64_t twin_boot, uint64_t seed)
{
    struct tnet net;
    net_init(&net, 6, seed);
    join_all_through(0);
    run_for(2000);
    for (int a = 0; a < 3; a++)
        for (int b = 3; b < 6; b++)
            cut_both(a, b, true);
    make_swim(&net.node[net.wire.n++], "node1", "10.0.9.2:7946", twin_boot);
    for (int a = 0; a < 3; a++)
        cut_both(a, 6, true);
    assert_int_equal(bt_swim_join(net.node[6].s, &net.node[3].addr, 1, net.wire.now), 0);
    run_for(10000);
    struct bt_member_info mi;
    for (int i = 0; i < 7; i++) {
        if (i == 1 || i == 6)
            continue;
        assert_true(member(i, "node1", &mi));
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_int_equal(mi.boot_id, i < 3 ? 1001 : twin_boot);
    }
    assert_false(bt_swim_refused(net.node[1].s));
    assert_false(bt_swim_refused(net.node[6].s));

    for (int a = 0; a < 3; a++) {
        for (int b = 3; b < 6; b++)
            cut_both(a, b, false);
        cut_both(a, 6, false);
    }
    int winner = twin_boot > 1001 ? 6 : 1, loser = winner == 6 ? 1 : 6;
    uint64_t healed = net.wire.now;
    run_for(10000);
    assert_true(bt_swim_refused(net.node[loser].s));
    assert_false(bt_swim_refused(net.node[winner].s));
    assert_int_equal(count_events(loser, BT_EV_NAME_CONFLICT, "node1"), 1);
    assert_int_equal(count_events(winner, BT_EV_NAME_CONFLICT, "node1"), 0);
    for (int i = 0; i < 7; i++) {
        if (i == loser)
            continue;
        assert_true(member(i, "node1", &mi));
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
        assert_int_equal(mi.boot_id, net.node[winner].boot);
        assert_true(bt_addr_eq(&mi.addr, &net.node[winner].addr));
    }
    assert_true(all_live_converged());
    printf("node%d (boot %llu) kept the name; checked %llu ms after the heal\n", winner,
           (unsigned long long)net.node[winner].boot, (unsigned long long)(net.wire.now - healed));
    net_free(&net);
}

static void twin_with_the_greater_boot_keeps_the_name_after_a_heal(void **state)
{
    twin_heal(5000, 21);
}

static void twin_with_the_lower_boot_is_refused_after_a_heal(void **state) { twin_heal(7, 22); }

/* A newcomer whose boot outranks the holder's joins through the holder
 * itself: the holder checks that it is alive and yields the name. */
static void newcomer_that_outranks_the_holder_takes_the_name_through_it(void **state)
{
    struct tnet net;
    net_init(&net, 3, 23);
    join_all_through(0);
    run_for(1000);
    make_swim(&net.node[net.wire.n++], "node0", "10.0.9.1:7946", 4242);
    assert_int_equal(bt_swim_join(net.node[3].s, &net.node[0].addr, 1, net.wire.now), 0);
    run_for(3000);
    assert_true(bt_swim_refused(net.node[0].s));
    assert_false(bt_swim_refused(net.node[3].s));
    assert_int_equal(count_events(0, BT_EV_NAME_CONFLICT, "node0"), 1);
    struct bt_member_info mi;
    for (int i = 1; i < 4; i++) {
        assert_true(member(i, "node0", &mi));
        assert_int_equal(mi.boot_id, 4242);
        assert_int_equal(mi.state, BT_MEMBER_ALIVE);
    }
    assert_true(all_live_converged());
    net_free(&net);
}

static void user_broadcast_reaches_every_node_and_retires(void **state)
{
    struct tnet net;
    net_init(&net, 8, 11);
    join_all_through(0);
    run_for(3000);
    for (int i = 0; i < 8; i++)
        net.node[i].deliveries = 0;
    const char *msg = "candidate:add:x";
    assert_int_equal(
        bt_swim_broadcast_user(net.node[2].s, NULL, 0, msg, strlen(msg), false, net.wire.now), 0);
    run_for(2000);
    for (int i = 0; i < 8; i++) {
        if (i == 2)
            continue;
        assert_int_equal(net.node[i].nseen, 1);
        assert_string_equal(net.node[i].seen[0], msg);
    }
    /* Every copy retired: the queues are empty and nothing more arrives. */
    struct bt_member_stats st;
    for (int i = 0; i < 8; i++) {
        bt_swim_stats(net.node[i].s, &st);
        assert_int_equal(st.queue_len, 0);
    }
    int total = 0;
    for (int i = 0; i < 8; i++)
        total += net.node[i].deliveries;
    run_for(3000);
    int later = 0;
    for (int i = 0; i < 8; i++)
        later += net.node[i].deliveries;
    assert_int_equal(later, total);
    net_free(&net);
}

static void newer_user_broadcast_with_the_same_key_replaces_the_queued_one(void **state)
{
    struct tnet net;
    net_init(&net, 4, 12);
    join_all_through(0);
    run_for(2000);
    const char *key = "fence:name-1";
    assert_int_equal(
        bt_swim_broadcast_user(net.node[1].s, key, strlen(key), "hw=1", 4, false, net.wire.now), 0);
    assert_int_equal(
        bt_swim_broadcast_user(net.node[1].s, key, strlen(key), "hw=2", 4, false, net.wire.now), 0);
    struct bt_member_stats st;
    bt_swim_stats(net.node[1].s, &st);
    assert_int_equal(st.queue_len, 1);
    run_for(1000);
    for (int i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        assert_int_equal(net.node[i].nseen, 1);
        assert_string_equal(net.node[i].seen[0], "hw=2");
    }
    net_free(&net);
}

static void urgent_broadcast_goes_out_within_the_call(void **state)
{
    struct tnet net;
    net_init(&net, 5, 13);
    join_all_through(0);
    run_for(2000);
    long before = net.sent_packets[0];
    assert_int_equal(bt_swim_broadcast_user(net.node[0].s, NULL, 0, "slow", 4, false, net.wire.now),
                     0);
    assert_int_equal(net.sent_packets[0], before);
    assert_int_equal(
        bt_swim_broadcast_user(net.node[0].s, NULL, 0, "resign:x", 8, true, net.wire.now), 0);
    assert_true(net.sent_packets[0] - before >= 3); /* gossip_fanout of the local profile */
    /* One network hop later the fanout has it, before any gossip tick. */
    run_for(1);
    int have = 0;
    for (int i = 1; i < 5; i++)
        for (int k = 0; k < net.node[i].nseen; k++)
            have += strcmp(net.node[i].seen[k], "resign:x") == 0;
    assert_true(have >= 3);
    /* Many queued without urgency leave in one round when asked. */
    run_for(5);
    before = net.sent_packets[0];
    assert_int_equal(bt_swim_broadcast_user(net.node[0].s, NULL, 0, "a", 1, false, net.wire.now),
                     0);
    assert_int_equal(bt_swim_broadcast_user(net.node[0].s, NULL, 0, "b", 1, false, net.wire.now),
                     0);
    assert_int_equal(net.sent_packets[0], before);
    bt_swim_gossip_now(net.node[0].s, net.wire.now);
    assert_int_equal(net.sent_packets[0] - before, 3); /* one round: gossip_fanout packets */
    assert_int_equal(bt_swim_broadcast_user(net.node[0].s, NULL, 0, "x", 0, true, net.wire.now),
                     BATON_EINVAL);
    char big[BT_SWIM_USER_MAX + 1];
    memset(big, 'b', sizeof big);
    assert_int_equal(
        bt_swim_broadcast_user(net.node[0].s, NULL, 0, big, sizeof big, true, net.wire.now),
        BATON_E2BIG);
    net_free(&net);
}

static void push_pull_runs_on_join_and_periodically_with_user_state(void **state)
{
    struct tnet net;
    net_init(&net, 3, 14);
    join_all_through(0);
    run_for(100);
    /* Join syncs: the seed merged two joiners, each joiner merged the reply. */
    assert_int_equal(net.node[0].merges_join, 2);
    assert_int_equal(net.node[1].merges_join, 1);
    assert_string_equal(net.node[1].last_state, "state-of-node0");
    assert_int_equal(net.node[0].merges_periodic + net.node[1].merges_periodic, 0);
    run_for(30000); /* three push-pull intervals of the local profile */
    for (int i = 0; i < 3; i++) {
        struct bt_member_stats st;
        bt_swim_stats(net.node[i].s, &st);
        assert_true(st.pushpulls >= 2);
        assert_true(net.node[i].merges_periodic >= 2);
    }
    net_free(&net);
}

static struct bt_nodeid nid(const char *s)
{
    struct bt_nodeid id;
    assert_int_equal(bt_nodeid_set(&id, s, strlen(s)), 0);
    return id;
}

/* A member list longer than one stream message goes out as a PP_REPLY and
 * continuations, each within BT_STREAM_MSG_MAX, together listing every
 * member once; continuations are merged like the opening message and are
 * not answered. */
static void a_member_list_past_one_message_is_split(void **state)
{
    enum { PARTS = 2, PER_PART = 4000 };
    struct tnet net;
    net_init(&net, 1, 22);
    assert_int_equal(bt_swim_join(net.node[0].s, NULL, 0, net.wire.now), 0);
    struct bt_nodeid peer = nid("peer");
    struct bt_addr peer_addr;
    assert_int_equal(bt_swim_addr_set(&peer_addr, "10.9.9.9:7946", 13), 0);
    uint8_t *buf = malloc(BT_STREAM_MSG_MAX);
    assert_non_null(buf);
    /* Longest names and addresses: 142 bytes a member. */
    for (int part = 0; part < PARTS; part++) {
        struct bt_wbuf w;
        bt_wbuf_init(&w, buf, BT_STREAM_MSG_MAX);
        bt_swim_put_pp_head(&w, BT_SWIM_PP_REQ_MORE, &peer, 5, 0, PER_PART);
        for (int i = 0; i < PER_PART; i++) {
            struct bt_member_info m;
            memset(&m, 0, sizeof m);
            char name[BATON_NODE_MAX + 1], a[BT_ADDR_MAX + 1];
            snprintf(name, sizeof name, "%0*d", BATON_NODE_MAX, part * PER_PART + i);
            snprintf(a, sizeof a, "%0*d", BT_ADDR_MAX, part * PER_PART + i);
            m.name = nid(name);
            assert_int_equal(bt_swim_addr_set(&m.addr, a, strlen(a)), 0);
            m.boot_id = 77;
            m.state = BT_MEMBER_ALIVE;
            bt_swim_put_pp_entry(&w, m.name.bytes, m.name.len, m.addr.s, m.addr.len, m.boot_id,
                                 m.incarnation, (uint8_t)m.state);
        }
        bt_swim_put_pp_user(&w, NULL, 0);
        assert_false(w.overflow);
        bt_swim_recv_stream(net.node[0].s, &peer_addr, 100 + (uint64_t)part, buf, w.len,
                            net.wire.now);
    }
    /* Merged, and nothing answered yet. */
    assert_int_equal(bt_swim_members(net.node[0].s, NULL, 0), 1 + PARTS * PER_PART);
    assert_int_equal(net.streams_sent, 0);

    /* A request: the reply lists all members (the peer's entry too). */
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, BT_STREAM_MSG_MAX);
    bt_swim_put_pp_head(&w, BT_SWIM_PP_REQ, &peer, 5, 0, 0);
    bt_swim_put_pp_user(&w, NULL, 0);
    bt_swim_recv_stream(net.node[0].s, &peer_addr, 200, buf, w.len, net.wire.now);
    size_t members = bt_swim_members(net.node[0].s, NULL, 0);
    assert_true(net.streams_sent >= 2);
    assert_int_equal(net.bad_streams, 0);
    assert_true(net.max_stream <= BT_STREAM_MSG_MAX);
    assert_int_equal(net.stream_members, (long)members);
    free(buf);
    net_free(&net);
}

static void partition_heals_and_membership_converges(void **state)
{
    struct tnet net;
    net_init(&net, 5, 15);
    join_all_through(0);
    run_for(2000);
    for (int a = 0; a < 3; a++)
        for (int b = 3; b < 5; b++)
            cut_both(a, b, true);
    run_for(10000);
    assert_int_equal(state_of(0, 4), BT_MEMBER_DEAD);
    assert_int_equal(state_of(4, 0), BT_MEMBER_DEAD);
    int merges_before[5];
    for (int i = 0; i < 5; i++)
        merges_before[i] = net.node[i].merges_periodic;
    for (int a = 0; a < 3; a++)
        for (int b = 3; b < 5; b++)
            cut_both(a, b, false);
    uint64_t healed = net.wire.now;
    while (!all_live_converged() || state_of(0, 4) != BT_MEMBER_ALIVE) {
        run_for(50);
        assert_true(net.wire.now - healed <= 5000);
    }
    printf("converged %llu ms after the heal\n", (unsigned long long)(net.wire.now - healed));
    for (int i = 0; i < 5; i++)
        assert_int_equal(bt_swim_live_count(net.node[i].s), 5);
    /* Every node saw members it held dead come back and exchanged state
     * with the other side (a resync, unless a reconnect already did), well
     * before a periodic push-pull (10 s) would have. */
    run_for(10);
    long resyncs = 0;
    for (int i = 0; i < 5; i++) {
        struct bt_member_stats st;
        bt_swim_stats(net.node[i].s, &st);
        resyncs += (long)st.resyncs;
        assert_true(net.node[i].merges_periodic > merges_before[i]);
    }
    assert_true(resyncs >= 1);
    net_free(&net);
}

static void lossy_network_declares_nobody_dead(void **state)
{
    uint64_t seed = 20240601;
    const char *env = getenv("BT_SEED");
    if (env)
        seed = strtoull(env, NULL, 0);
    printf("lossy_network_declares_nobody_dead: seed %llu (replay: BT_SEED=%llu swim_test "
           "lossy_network_declares_nobody_dead)\n",
           (unsigned long long)seed, (unsigned long long)seed);
    struct tnet net;
    net_init(&net, 6, seed);
    join_all_through(0);
    run_for(3000);
    net.wire.loss = 0.10;
    run_for(120000);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            if (i != j)
                assert_int_equal(count_events(i, BT_EV_MEMBER_DEAD, net.node[j].name.bytes), 0);
    net_free(&net);
}

static void bad_arguments_are_refused(void **state)
{
    struct tnet net;
    net_init(&net, 1, 16);
    struct bt_addr bad = {0};
    assert_int_equal(bt_swim_join(net.node[0].s, &bad, 1, net.wire.now), BATON_EINVAL);
    assert_int_equal(bt_swim_join(net.node[0].s, NULL, 0, net.wire.now), 0);
    assert_int_equal(bt_swim_join(net.node[0].s, NULL, 0, net.wire.now), BATON_EINVAL);
    assert_int_equal(bt_swim_leave(net.node[0].s, net.wire.now), 0);
    assert_true(bt_swim_left(net.node[0].s)); /* nobody to tell */
    struct bt_swim_timing t;
    assert_int_equal(bt_swim_timing_profile((enum bt_profile)9, &t), BATON_EINVAL);
    net_free(&net);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(eight_nodes_join_through_one_seed_and_converge),
    cmocka_unit_test(a_seed_that_never_answered_is_tried_again_after_the_join),
    cmocka_unit_test(crashed_node_is_suspected_then_dead_everywhere_within_1500ms),
    cmocka_unit_test(crashed_process_whose_host_refuses_is_dead_everywhere_within_400ms),
    cmocka_unit_test(refusal_echo_from_before_a_restart_spares_the_new_boot),
    cmocka_unit_test(forged_refusals_of_a_live_member_are_refuted_not_fatal),
    cmocka_unit_test(refusals_at_10pct_loss_with_restarts_kill_no_live_process),
    cmocka_unit_test(direct_link_cut_is_bridged_by_indirect_probes),
    cmocka_unit_test(false_suspicion_is_refuted_with_a_higher_incarnation),
    cmocka_unit_test(isolated_node_raises_its_health_score_and_recovers),
    cmocka_unit_test(graceful_leave_reaches_everyone_at_once),
    cmocka_unit_test(a_gossiped_word_already_taken_is_not_asked_about_again),
    cmocka_unit_test(a_queued_word_moves_with_its_member),
    cmocka_unit_test(member_that_missed_a_leave_is_told_when_it_suspects_the_leaver),
    cmocka_unit_test(a_queued_word_is_not_passed_on_for_the_next_boot),
    cmocka_unit_test(extra_bytes_move_with_their_member),
    cmocka_unit_test(a_queued_word_leaves_with_its_member),
    cmocka_unit_test(restart_at_the_same_address_takes_the_name_over),
    cmocka_unit_test(node_that_missed_a_restart_learns_the_new_boot_on_first_contact),
    cmocka_unit_test(datagram_from_a_process_we_do_not_hold_triggers_a_push_pull),
    cmocka_unit_test(restart_on_a_new_address_takes_over_without_waiting_for_a_timeout),
    cmocka_unit_test(dead_member_back_at_a_longer_address_is_alive_there),
    cmocka_unit_test(newcomer_with_a_live_members_name_is_refused),
    cmocka_unit_test(newcomer_joining_through_the_holder_itself_is_refused),
    cmocka_unit_test(twin_with_the_greater_boot_keeps_the_name_after_a_heal),
    cmocka_unit_test(twin_with_the_lower_boot_is_refused_after_a_heal),
    cmocka_unit_test(newcomer_that_outranks_the_holder_takes_the_name_through_it),
    cmocka_unit_test(user_broadcast_reaches_every_node_and_retires),
    cmocka_unit_test(newer_user_broadcast_with_the_same_key_replaces_the_queued_one),
    cmocka_unit_test(urgent_broadcast_goes_out_within_the_call),
    cmocka_unit_test(push_pull_runs_on_join_and_periodically_with_user_state),
    cmocka_unit_test(a_member_list_past_one_message_is_split),
    cmocka_unit_test(partition_heals_and_membership_converges),
    cmocka_unit_test(lossy_network_declares_nobody_dead),
    cmocka_unit_test(bad_arguments_are_refused),
};

BT_TEST_MAIN(tests)
