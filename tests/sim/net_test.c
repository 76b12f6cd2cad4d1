/*
 * Tests of src/sim/engine.c, network.c, process.c and membership_check.c
 * with fake nodes in place of the core:
 * the network model (latency, loss, duplication, cuts, partitions, streams,
 * refusals), node faults (pause backlog, crash, restart), clocks, timers, determinism,
 * and the invariant checker fed with hand-made events.
 *
 * A fake node does nothing on its own: the test queues outputs and events
 * on it (fake_send, fake_event), pokes the simulator, and reads what the
 * fake recorded. Its member list is the registry of live fakes, so the
 * convergence check sees the truth.
 */
#include "unit/test_main.h"

#include <stdlib.h>
#include <string.h>

#include "sim/prng.h"
#include "sim/report.h"
#include "sim/sim.h"

enum { MAX_FAKES = 16, MAX_OUT = 4096, MAX_REC = 20000 };

struct rec {
    uint64_t vt;      /* virtual time of arrival */
    uint32_t from;    /* sender index */
    uint64_t conn;    /* 0 for a datagram */
    uint32_t payload; /* the test's tag, the first 4 bytes */
    bool is_tick;     /* a tick, not a message */
};

struct fake {
    uint32_t index;
    uint64_t boot_id;
    uint64_t first_random;
    struct bt_time created;
    struct bt_time last_time; /* of the latest call */
    uint64_t deadline;        /* mono; UINT64_MAX: none */
    bool always_due;          /* next_deadline returns the latest time seen */
    struct bt_addr seeds[8];
    size_t nseeds;
    struct bt_output out[MAX_OUT];
    uint8_t outdata[MAX_OUT][8];
    size_t nout, outpos;
    struct bt_event ev[8];
    size_t nev, evpos;
    struct rec *recs;
    size_t nrecs;
    bool left_flag;
    uint32_t refused;     /* addr_refused calls */
    char refused_addr[8]; /* the latest one's address */
    uint64_t refused_vt;  /* and its virtual time */
};

static struct fake *fakes[MAX_FAKES];
static struct bt_sim *g_sim;
/* When false, every fake reports its own digest: the cluster never
 * converges, so only events can complete a crash's detection. */
static bool views_agree = true;

static uint32_t name_index(const char *s) { return (uint32_t)strtoul(s + 1, NULL, 10); }

static void *fake_create(const struct bt_node_config *cfg, struct bt_time now)
{
    struct fake *f = calloc(1, sizeof *f);
    f->recs = calloc(MAX_REC, sizeof *f->recs);
    f->index = name_index(cfg->name.bytes);
    f->boot_id = cfg->boot_id;
    f->first_random = cfg->random(cfg->random_ctx);
    f->created = now;
    f->last_time = now;
    f->deadline = UINT64_MAX;
    fakes[f->index] = f;
    return f;
}

static void fake_destroy(void *node)
{
    struct fake *f = node;
    if (fakes[f->index] == f)
        fakes[f->index] = NULL;
    free(f->recs);
    free(f);
}

static int fake_join(void *node, const struct bt_addr *seeds, size_t n, struct bt_time now)
{
    struct fake *f = node;
    f->nseeds = n < 8 ? n : 8;
    memcpy(f->seeds, seeds, f->nseeds * sizeof *seeds);
    return 0;
}

static int fake_leave(void *node, struct bt_time now)
{
    ((struct fake *)node)->left_flag = true;
    return 0;
}

static bool fake_left(const void *node) { return ((const struct fake *)node)->left_flag; }

static void record(struct fake *f, uint32_t from, uint64_t conn, const uint8_t *data, size_t len,
                   bool is_tick, struct bt_time now)
{
    f->last_time = now;
    if (f->nrecs == MAX_REC)
        return;
    struct rec *r = &f->recs[f->nrecs++];
    r->vt = g_sim ? bt_sim_now(g_sim) : 0;
    r->from = from;
    r->conn = conn;
    r->payload = 0;
    if (len >= 4)
        memcpy(&r->payload, data, 4);
    r->is_tick = is_tick;
}

static void fake_recv(void *node, const struct bt_addr *from, const uint8_t *data, size_t len,
                      struct bt_time now)
{
    record(node, name_index(from->s), 0, data, len, false, now);
}

static void fake_recv_stream(void *node, const struct bt_addr *from, uint64_t conn,
                             const uint8_t *data, size_t len, struct bt_time now)
{
    assert_true(conn != 0);
    record(node, name_index(from->s), conn, data, len, false, now);
}

static void fake_tick(void *node, struct bt_time now)
{
    struct fake *f = node;
    record(f, f->index, 0, NULL, 0, true, now);
    if (!f->always_due)
        f->deadline = UINT64_MAX;
}

static void fake_addr_refused(void *node, const struct bt_addr *addr, struct bt_time now)
{
    struct fake *f = node;
    f->last_time = now;
    f->refused++;
    snprintf(f->refused_addr, sizeof f->refused_addr, "%.*s", (int)addr->len, addr->s);
    f->refused_vt = g_sim ? bt_sim_now(g_sim) : 0;
}

static uint64_t fake_next_deadline(const void *node)
{
    const struct fake *f = node;
    return f->always_due ? f->last_time.mono_ms : f->deadline;
}

static bool fake_pop_output(void *node, struct bt_output *out)
{
    struct fake *f = node;
    if (f->outpos == f->nout) {
        f->outpos = f->nout = 0;
        return false;
    }
    *out = f->out[f->outpos++];
    return true;
}

static bool fake_pop_event(void *node, struct bt_event *ev)
{
    struct fake *f = node;
    if (f->evpos == f->nev) {
        f->evpos = f->nev = 0;
        return false;
    }
    *ev = f->ev[f->evpos++];
    return true;
}

/* The registry of live fakes is everyone's view: always the truth. */
static size_t fake_members(const void *node, struct bt_member_info *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t i = 0; i < MAX_FAKES; i++) {
        if (fakes[i] == NULL)
            continue;
        if (n < cap) {
            memset(&out[n], 0, sizeof out[n]);
            char name[8];
            int len = snprintf(name, sizeof name, "n%u", (unsigned)i);
            bt_nodeid_set(&out[n].name, name, (size_t)len);
            out[n].addr.len = (uint8_t)len;
            memcpy(out[n].addr.s, name, (size_t)len + 1);
            out[n].boot_id = fakes[i]->boot_id;
            out[n].state = BT_MEMBER_ALIVE;
        }
        n++;
    }
    return n;
}

static uint64_t fake_digest(const void *node)
{
    return views_agree ? 42 : ((const struct fake *)node)->index;
}

static const struct bt_sim_node_ops fake_ops = {
    .create = fake_create,
    .destroy = fake_destroy,
    .join = fake_join,
    .leave = fake_leave,
    .left = fake_left,
    .recv = fake_recv,
    .recv_stream = fake_recv_stream,
    .tick = fake_tick,
    .next_deadline = fake_next_deadline,
    .pop_output = fake_pop_output,
    .pop_event = fake_pop_event,
    .members = fake_members,
    .digest = fake_digest,
    .addr_refused = fake_addr_refused,
};

/* Queues an output on node i (tagged with payload) and lets the simulator
 * carry it. */
static void fake_send(uint32_t i, enum bt_output_kind kind, const char *to, uint64_t conn,
                      uint32_t payload)
{
    struct fake *f = fakes[i];
    assert_non_null(f);
    assert_true(f->nout < MAX_OUT);
    struct bt_output *o = &f->out[f->nout];
    memcpy(f->outdata[f->nout], &payload, 4);
    o->kind = kind;
    o->to.len = (uint8_t)strlen(to);
    memcpy(o->to.s, to, o->to.len + 1u);
    o->conn = conn;
    o->data = f->outdata[f->nout];
    o->len = 4;
    f->nout++;
}

static void fake_event(uint32_t i, enum bt_event_kind kind, uint32_t member)
{
    struct fake *f = fakes[i];
    struct bt_event *ev = &f->ev[f->nev++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    char name[8];
    int len = snprintf(name, sizeof name, "n%u", (unsigned)member);
    bt_nodeid_set(&ev->member, name, (size_t)len);
    ev->boot_id = bt_sim_boot_id(g_sim, member);
}

static struct bt_sim *make_sim(uint32_t nodes, uint64_t seed, void (*tweak)(struct bt_sim_config *))
{
    struct bt_sim_config cfg;
    bt_sim_config_defaults(&cfg, BT_PROFILE_LOCAL);
    cfg.seed = seed;
    cfg.nodes = nodes;
    cfg.ops = &fake_ops;
    cfg.verbosity = 0;
    cfg.converge_bound_ms = 1000;
    cfg.detect_bound_ms = 1000;
    cfg.fp_grace_ms = 1000;
    if (tweak)
        tweak(&cfg);
    g_sim = NULL;
    struct bt_sim *sim = bt_sim_new(&cfg);
    assert_non_null(sim);
    g_sim = sim;
    return sim;
}

static void done(struct bt_sim *sim)
{
    bt_sim_free(sim);
    g_sim = NULL;
    views_agree = true;
    for (int i = 0; i < MAX_FAKES; i++)
        assert_null(fakes[i]);
}

static size_t count_messages(const struct fake *f, uint32_t from)
{
    size_t n = 0;
    for (size_t k = 0; k < f->nrecs; k++)
        n += !f->recs[k].is_tick && f->recs[k].from == from;
    return n;
}

/* --- the tests --------------------------------------------------------- */

static void lat_2_9(struct bt_sim_config *cfg)
{
    cfg->latency_min_ms = 2;
    cfg->latency_max_ms = 9;
}

static void datagrams_arrive_within_the_latency_range(void **state)
{
    struct bt_sim *sim = make_sim(2, 1, lat_2_9);
    for (uint32_t k = 0; k < 2000; k++)
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 100);
    struct fake *f = fakes[1];
    assert_int_equal(count_messages(f, 0), 2000);
    bool saw_min = false, saw_max = false, reordered = false;
    uint32_t prev = 0;
    for (size_t k = 0; k < f->nrecs; k++) {
        assert_true(f->recs[k].vt >= 2 && f->recs[k].vt <= 9);
        saw_min = saw_min || f->recs[k].vt == 2;
        saw_max = saw_max || f->recs[k].vt == 9;
        reordered = reordered || f->recs[k].payload < prev;
        prev = f->recs[k].payload;
    }
    assert_true(saw_min && saw_max);
    assert_true(reordered); /* random latency reorders */
    assert_int_equal(bt_sim_stats(sim)->datagrams_sent, 2000);
    done(sim);
}

static void loss_30(struct bt_sim_config *cfg) { cfg->loss = 0.3; }

static void loss_drops_about_its_share(void **state)
{
    struct bt_sim *sim = make_sim(2, 2, loss_30);
    for (uint32_t k = 0; k < 4000; k++)
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 100);
    size_t got = count_messages(fakes[1], 0);
    assert_true(got > 2600 && got < 3000);
    assert_int_equal(bt_sim_stats(sim)->dropped_loss, 4000 - got);
    done(sim);
}

static void dup_all(struct bt_sim_config *cfg) { cfg->dup = 1.0; }

static void duplication_delivers_twice(void **state)
{
    struct bt_sim *sim = make_sim(2, 3, dup_all);
    for (uint32_t k = 0; k < 10; k++)
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 100);
    assert_int_equal(count_messages(fakes[1], 0), 20);
    assert_int_equal(bt_sim_stats(sim)->duplicated, 10);
    done(sim);
}

static void reorder_all(struct bt_sim_config *cfg) { cfg->reorder = 1.0; }

static void reordering_holds_datagrams_back(void **state)
{
    struct bt_sim *sim = make_sim(2, 4, reorder_all);
    for (uint32_t k = 0; k < 200; k++)
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 100);
    struct fake *f = fakes[1];
    assert_int_equal(count_messages(f, 0), 200);
    uint64_t latest = 0;
    for (size_t k = 0; k < f->nrecs; k++) {
        assert_true(f->recs[k].vt >= 2 && f->recs[k].vt <= 11); /* 1 + 1..10 */
        latest = f->recs[k].vt > latest ? f->recs[k].vt : latest;
    }
    assert_true(latest > 5);
    done(sim);
}

static void a_one_way_cut_blocks_one_direction_only(void **state)
{
    struct bt_sim *sim = make_sim(3, 5, NULL);
    bt_sim_block(sim, 0, 1);
    assert_false(bt_sim_link_open(sim, 0, 1));
    assert_true(bt_sim_link_open(sim, 1, 0));
    assert_true(bt_sim_network_faulty(sim));
    fake_send(0, BT_OUT_PACKET, "n1", 0, 1);
    fake_send(0, BT_OUT_PACKET, "n2", 0, 2);
    bt_sim_poke(sim, 0);
    fake_send(1, BT_OUT_PACKET, "n0", 0, 3);
    bt_sim_poke(sim, 1);
    bt_sim_run_for(sim, 10);
    assert_int_equal(count_messages(fakes[1], 0), 0);
    assert_int_equal(count_messages(fakes[2], 0), 1);
    assert_int_equal(count_messages(fakes[0], 1), 1);
    bt_sim_unblock(sim, 0, 1);
    fake_send(0, BT_OUT_PACKET, "n1", 0, 4);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 10);
    assert_int_equal(count_messages(fakes[1], 0), 1);
    assert_false(bt_sim_network_faulty(sim));
    done(sim);
}

static void a_partition_separates_sides_and_eats_what_is_in_flight(void **state)
{
    struct bt_sim *sim = make_sim(4, 6, NULL);
    /* In flight when the partition starts: lost. */
    fake_send(0, BT_OUT_PACKET, "n2", 0, 1);
    bt_sim_poke(sim, 0);
    const uint8_t side[4] = {0, 0, 1, 1};
    uint64_t gen = bt_sim_partition_gen(sim);
    bt_sim_partition(sim, side);
    assert_true(bt_sim_partition_gen(sim) == gen + 1);
    fake_send(0, BT_OUT_PACKET, "n1", 0, 2);
    fake_send(0, BT_OUT_PACKET, "n3", 0, 3);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 10);
    assert_int_equal(count_messages(fakes[1], 0), 1);
    assert_int_equal(count_messages(fakes[2], 0), 0);
    assert_int_equal(count_messages(fakes[3], 0), 0);
    assert_int_equal(bt_sim_stats(sim)->dropped_partition, 2);
    bt_sim_heal(sim);
    fake_send(0, BT_OUT_PACKET, "n3", 0, 4);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 10);
    assert_int_equal(count_messages(fakes[3], 0), 1);
    done(sim);
}

static void streams_carry_replies_back_in_order(void **state)
{
    struct bt_sim *sim = make_sim(2, 7, lat_2_9);
    fake_send(0, BT_OUT_STREAM, "n1", 0, 100);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 20);
    struct fake *b = fakes[1];
    assert_int_equal(b->nrecs, 1);
    uint64_t conn = b->recs[0].conn;
    assert_true(conn != 0);
    assert_int_equal(b->recs[0].from, 0);
    /* Many replies with random latency still arrive in order. */
    for (uint32_t k = 0; k < 50; k++)
        fake_send(1, BT_OUT_STREAM, "n0", conn, k);
    bt_sim_poke(sim, 1);
    bt_sim_run_for(sim, 50);
    struct fake *a = fakes[0];
    assert_int_equal(a->nrecs, 50);
    for (uint32_t k = 0; k < 50; k++) {
        assert_true(a->recs[k].conn == conn);
        assert_int_equal(a->recs[k].payload, k);
    }
    done(sim);
}

static void a_restart_kills_streams_and_brings_a_new_boot(void **state)
{
    struct bt_sim *sim = make_sim(3, 8, NULL);
    fake_send(0, BT_OUT_STREAM, "n1", 0, 1);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 5);
    uint64_t conn = fakes[1]->recs[0].conn;
    uint64_t boot = bt_sim_boot_id(sim, 1);
    assert_int_equal(bt_sim_crash(sim, 1), 0);
    assert_int_equal(bt_sim_node_state(sim, 1), BT_SIM_CRASHED);
    assert_null(fakes[1]);
    assert_int_equal(bt_sim_crash(sim, 1), BATON_EINVAL);
    /* Datagrams to a crashed node vanish. */
    fake_send(0, BT_OUT_PACKET, "n1", 0, 2);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 5);
    assert_int_equal(bt_sim_restart(sim, 1), 0);
    assert_int_equal(bt_sim_node_state(sim, 1), BT_SIM_RUNNING);
    assert_true(bt_sim_boot_id(sim, 1) != boot && bt_sim_boot_id(sim, 1) != 0);
    assert_true(fakes[1]->boot_id == bt_sim_boot_id(sim, 1));
    /* It joined through n0 and never through itself. */
    assert_true(fakes[1]->nseeds == 2);
    assert_string_equal(fakes[1]->seeds[0].s, "n0");
    assert_string_not_equal(fakes[1]->seeds[1].s, "n1");
    assert_int_equal(fakes[1]->nrecs, 0);
    /* The old connection is dead; a new one works. */
    fake_send(0, BT_OUT_STREAM, "n1", conn, 3);
    fake_send(0, BT_OUT_STREAM, "n1", 0, 4);
    fake_send(0, BT_OUT_PACKET, "n1", 0, 5);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 5);
    assert_int_equal(fakes[1]->nrecs, 2);
    assert_int_equal(fakes[1]->recs[0].payload + fakes[1]->recs[1].payload, 9);
    assert_int_equal(bt_sim_stats(sim)->dropped_down, 2);
    done(sim);
}

static void a_process_crash_refuses_and_a_host_crash_or_a_pause_is_silent(void **state)
{
    struct bt_sim *sim = make_sim(5, 11, NULL);
    assert_int_equal(bt_sim_crash_kind(sim, 1, false), 0); /* its host refuses */
    assert_int_equal(bt_sim_crash_kind(sim, 2, true), 0);  /* silent */
    assert_int_equal(bt_sim_pause(sim, 3), 0);             /* silent */
    assert_int_equal(bt_sim_stats(sim)->host_crashes, 1);
    fake_send(0, BT_OUT_PACKET, "n1", 0, 1);
    fake_send(0, BT_OUT_STREAM, "n1", 0, 2); /* a connect: refused once */
    fake_send(0, BT_OUT_PACKET, "n2", 0, 3);
    fake_send(0, BT_OUT_STREAM, "n2", 0, 4);
    fake_send(0, BT_OUT_PACKET, "n3", 0, 5);
    bt_sim_poke(sim, 0);
    uint64_t sent_at = bt_sim_now(sim);
    bt_sim_run_for(sim, 10);
    /* Two refusals, both of n1's address, a round trip (1 ms each way) on. */
    assert_int_equal(fakes[0]->refused, 2);
    assert_string_equal(fakes[0]->refused_addr, "n1");
    assert_int_equal(fakes[0]->refused_vt, sent_at + 2);
    assert_int_equal(bt_sim_stats(sim)->refusals_sent, 2);
    assert_int_equal(bt_sim_stats(sim)->refusals_delivered, 2);
    /* A refusal for a process that is paused when it arrives is lost. */
    fake_send(0, BT_OUT_PACKET, "n1", 0, 6);
    bt_sim_poke(sim, 0);
    assert_int_equal(bt_sim_pause(sim, 0), 0);
    bt_sim_run_for(sim, 10);
    assert_int_equal(bt_sim_resume(sim, 0), 0);
    bt_sim_run_for(sim, 10);
    assert_int_equal(fakes[0]->refused, 2);
    assert_int_equal(bt_sim_stats(sim)->refusals_sent, 3);
    /* Once n1 runs again, its address answers. */
    assert_int_equal(bt_sim_restart(sim, 1), 0);
    fake_send(0, BT_OUT_PACKET, "n1", 0, 7);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 10);
    assert_int_equal(fakes[0]->refused, 2);
    assert_int_equal(count_messages(fakes[1], 0), 1);
    /* The silent ones never answered. */
    assert_int_equal(bt_sim_stats(sim)->refusals_sent, 3);
    done(sim);
}

static void a_paused_node_gets_its_backlog_after_its_timers(void **state)
{
    struct bt_sim *sim = make_sim(2, 9, NULL);
    struct fake *b = fakes[1];
    b->deadline = b->created.mono_ms + 20; /* due while paused */
    assert_int_equal(bt_sim_pause(sim, 1), 0);
    assert_int_equal(bt_sim_pause(sim, 1), BATON_EINVAL);
    for (uint32_t k = 0; k < 5; k++)
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 100);
    assert_int_equal(b->nrecs, 0); /* neither ticks nor receives */
    assert_int_equal(bt_sim_resume(sim, 1), 0);
    assert_int_equal(b->nrecs, 6);
    assert_true(b->recs[0].is_tick);
    for (uint32_t k = 0; k < 5; k++) {
        assert_false(b->recs[k + 1].is_tick);
        assert_int_equal(b->recs[k + 1].payload, k);
        assert_true(b->recs[k + 1].vt == 100);
    }
    done(sim);
}

static void backlog_2(struct bt_sim_config *cfg) { cfg->backlog_max = 2; }

static void a_paused_node_backlog_is_bounded(void **state)
{
    struct bt_sim *sim = make_sim(2, 10, backlog_2);
    bt_sim_pause(sim, 1);
    for (uint32_t k = 0; k < 5; k++)
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
    bt_sim_poke(sim, 0);
    bt_sim_run_for(sim, 10);
    bt_sim_resume(sim, 1);
    assert_int_equal(count_messages(fakes[1], 0), 2);
    assert_int_equal(bt_sim_stats(sim)->dropped_backlog, 3);
    done(sim);
}

static void skew_and_drift(struct bt_sim_config *cfg)
{
    cfg->skew_ms = 500;
    cfg->drift_ppm = 100;
}

static void timers_fire_at_their_deadline_on_each_nodes_clock(void **state)
{
    struct bt_sim *sim = make_sim(4, 11, skew_and_drift);
    bool some_offset = false;
    for (uint32_t i = 0; i < 4; i++) {
        struct fake *f = fakes[i];
        /* Wall clocks differ by at most the skew at time 0. */
        int64_t off = (int64_t)f->created.wall_ms - INT64_C(1767225600000);
        assert_true(off >= -500 && off <= 500);
        some_offset = some_offset || off != 0;
        f->deadline = f->created.mono_ms + 1000 + 10 * i;
        bt_sim_poke(sim, i);
    }
    assert_true(some_offset);
    bt_sim_run_until(sim, 5000);
    for (uint32_t i = 0; i < 4; i++) {
        struct fake *f = fakes[i];
        assert_int_equal(f->nrecs, 1);
        assert_true(f->recs[0].is_tick);
        assert_true(f->recs[0].vt == 1000 + 10 * i);
        /* mono_ms advanced exactly with virtual time; wall_ms within drift. */
        assert_true(f->last_time.mono_ms - f->created.mono_ms == 1000 + 10 * i);
        int64_t wall_step = (int64_t)(f->last_time.wall_ms - f->created.wall_ms);
        assert_true(wall_step >= 1000 + 10 * (int64_t)i - 1 &&
                    wall_step <= 1000 + 10 * (int64_t)i + 1);
    }
    done(sim);
}

static void a_node_that_always_wants_a_tick_is_reported_not_hung(void **state)
{
    struct bt_sim *sim = make_sim(2, 12, NULL);
    fakes[0]->always_due = true;
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 3);
    assert_true(bt_sim_violation_count(sim) >= 1);
    assert_non_null(strstr(bt_sim_violation_text(sim, 0), "tick_livelock"));
    fakes[0]->always_due = false;
    done(sim);
}

static void output_to_a_stranger_is_a_violation(void **state)
{
    struct bt_sim *sim = make_sim(2, 13, NULL);
    fake_send(0, BT_OUT_PACKET, "n7", 0, 1);
    fake_send(0, BT_OUT_STREAM, "n1", 999, 1);
    bt_sim_poke(sim, 0);
    assert_int_equal(bt_sim_violation_count(sim), 2);
    assert_non_null(strstr(bt_sim_violation_text(sim, 0), "bad_output"));
    assert_non_null(strstr(bt_sim_violation_text(sim, 1), "bad_output"));
    assert_int_equal(bt_sim_stats(sim)->bad_address, 1);
    done(sim);
}

static void pause_node(struct bt_sim *sim, uint64_t i) { bt_sim_pause(sim, (uint32_t)i); }

static void timers_run_scenario_actions(void **state)
{
    struct bt_sim *sim = make_sim(2, 14, NULL);
    assert_int_equal(bt_sim_after(sim, 50, pause_node, 1), 0);
    bt_sim_run_until(sim, 49);
    assert_int_equal(bt_sim_node_state(sim, 1), BT_SIM_RUNNING);
    bt_sim_run_until(sim, 50);
    assert_int_equal(bt_sim_node_state(sim, 1), BT_SIM_PAUSED);
    bt_sim_resume(sim, 1);
    done(sim);
}

/* Hash of everything node 1 received, for determinism checks. */
static uint64_t trace_of_a_noisy_run(uint64_t seed)
{
    struct bt_sim *sim = make_sim(3, seed, NULL);
    bt_sim_set_loss(sim, 0.2);
    for (uint32_t k = 0; k < 300; k++) {
        fake_send(0, BT_OUT_PACKET, "n1", 0, k);
        fake_send(2, BT_OUT_PACKET, "n1", 0, 1000 + k);
    }
    bt_sim_poke(sim, 0);
    bt_sim_poke(sim, 2);
    bt_sim_run_until(sim, 100);
    uint64_t h = 1469598103934665603u;
    const struct fake *f = fakes[1];
    for (size_t k = 0; k < f->nrecs; k++) {
        h = (h ^ f->recs[k].payload) * 1099511628211u;
        h = (h ^ f->recs[k].vt) * 1099511628211u;
    }
    h ^= fakes[0]->first_random ^ bt_sim_boot_id(sim, 2);
    done(sim);
    return h;
}

static void one_seed_is_one_run(void **state)
{
    assert_true(trace_of_a_noisy_run(77) == trace_of_a_noisy_run(77));
    assert_true(trace_of_a_noisy_run(77) != trace_of_a_noisy_run(78));
}

/* The report of a run of the real core (12 nodes, 3 names, a lossy
 * network) with datagrams chunked once chunk_above bytes are in flight;
 * the caller frees it. */
static char *report_of_a_core_run(size_t chunk_above)
{
    struct bt_sim_config cfg;
    bt_sim_config_defaults(&cfg, BT_PROFILE_LOCAL);
    cfg.seed = 21;
    cfg.nodes = 12;
    cfg.names = 3;
    cfg.loss = 0.05;
    cfg.dup = 0.05;
    cfg.reorder = 0.05;
    cfg.ops = &bt_sim_core_ops;
    cfg.verbosity = 0;
    cfg.chunk_above_bytes = chunk_above;
    struct bt_sim *sim = bt_sim_new(&cfg);
    assert_non_null(sim);
    assert_true(bt_sim_wait_converged(sim, 5000));
    bt_sim_campaign_all(sim);
    bt_sim_run_until(sim, bt_sim_now(sim) + 3000);
    bt_sim_finish(sim);
    struct bt_json j;
    bt_json_init(&j);
    bt_sim_report_json(sim, &j);
    size_t len = strlen(bt_json_cstr(&j));
    char *out = malloc(len + 1);
    assert_non_null(out);
    memcpy(out, bt_json_cstr(&j), len + 1);
    bt_json_destroy(&j);
    bt_sim_free(sim); /* asserts that every datagram's bytes were given back */
    return out;
}

/* Sharing broadcasts' bytes between datagrams (chunks.h) is a matter of
 * memory: the same run with every datagram chunked and with none is the
 * same run. */
static void chunked_or_whole_a_datagram_delivers_the_same_bytes(void **state)
{
    char *chunked = report_of_a_core_run(0);
    char *whole = report_of_a_core_run(SIZE_MAX);
    assert_non_null(strstr(chunked, "\"converged\":true"));
    assert_string_equal(chunked, whole);
    free(chunked);
    free(whole);
}

static void each_node_has_its_own_random_stream(void **state)
{
    struct bt_sim *sim = make_sim(3, 15, NULL);
    assert_true(fakes[0]->first_random != fakes[1]->first_random);
    assert_true(fakes[1]->first_random != fakes[2]->first_random);
    assert_true(bt_sim_boot_id(sim, 0) != bt_sim_boot_id(sim, 1));
    done(sim);
}

static void a_death_without_a_fault_is_a_false_positive(void **state)
{
    struct bt_sim *sim = make_sim(3, 16, NULL);
    bt_sim_run_until(sim, 100);
    fake_event(0, BT_EV_MEMBER_UP, 1);
    bt_sim_poke(sim, 0);
    fake_event(0, BT_EV_MEMBER_DEAD, 1);
    bt_sim_poke(sim, 0);
    assert_int_equal(bt_sim_stats(sim)->false_positive_deaths, 1);
    assert_non_null(strstr(bt_sim_violation_text(sim, 0), "false_positive_death"));
    done(sim);
}

static void a_death_during_or_soon_after_a_fault_is_excused(void **state)
{
    struct bt_sim *sim = make_sim(3, 17, NULL);
    bt_sim_block(sim, 2, 1);
    fake_event(0, BT_EV_MEMBER_DEAD, 1); /* n1 is cut from n2: excused */
    bt_sim_poke(sim, 0);
    bt_sim_unblock(sim, 2, 1);
    bt_sim_run_for(sim, 999); /* within fp_grace */
    fake_event(0, BT_EV_MEMBER_DEAD, 1);
    bt_sim_poke(sim, 0);
    bt_sim_pause(sim, 2);
    fake_event(0, BT_EV_MEMBER_DEAD, 2); /* paused: excused */
    bt_sim_poke(sim, 0);
    bt_sim_resume(sim, 2);
    assert_int_equal(bt_sim_stats(sim)->false_positive_deaths, 0);
    bt_sim_run_for(sim, 1001); /* grace over */
    fake_event(0, BT_EV_MEMBER_DEAD, 1);
    bt_sim_poke(sim, 0);
    assert_int_equal(bt_sim_stats(sim)->false_positive_deaths, 1);
    done(sim);
}

static void a_crash_is_timed_until_the_last_live_observer_marks_it(void **state)
{
    struct bt_sim *sim = make_sim(4, 18, NULL);
    views_agree = false;
    for (uint32_t o = 0; o < 4; o++)
        if (o != 3) {
            fake_event(o, BT_EV_MEMBER_UP, 3);
            bt_sim_poke(sim, o);
        }
    bt_sim_run_until(sim, 100);
    bt_sim_crash(sim, 3);
    bt_sim_run_until(sim, 300);
    fake_event(0, BT_EV_MEMBER_DEAD, 3);
    bt_sim_poke(sim, 0);
    bt_sim_run_until(sim, 500);
    fake_event(1, BT_EV_MEMBER_DEAD, 3);
    bt_sim_poke(sim, 1);
    assert_int_equal(bt_sim_stats(sim)->detection.len, 0);
    /* n2 crashes before it notices: the crash counts as detected by the
     * nodes that ran throughout, at the last one's time. */
    bt_sim_crash(sim, 2);
    struct bt_sim_stats *st = bt_sim_stats(sim);
    assert_int_equal(st->detection.len, 1);
    assert_true(st->detection.v[0] == 400);
    assert_int_equal(bt_sim_violation_count(sim), 0);
    done(sim);
}

static void an_unnoticed_crash_is_a_violation(void **state)
{
    struct bt_sim *sim = make_sim(3, 19, NULL);
    views_agree = false;
    fake_event(0, BT_EV_MEMBER_UP, 2);
    bt_sim_poke(sim, 0);
    bt_sim_crash(sim, 2);
    bt_sim_run_until(sim, 1500); /* detect_bound is 1000 */
    assert_true(bt_sim_violation_count(sim) >= 1);
    assert_non_null(strstr(bt_sim_violation_text(sim, 0), "crash_undetected"));
    done(sim);
}

static void a_name_conflict_is_a_violation(void **state)
{
    struct bt_sim *sim = make_sim(2, 20, NULL);
    fake_event(1, BT_EV_NAME_CONFLICT, 1);
    bt_sim_poke(sim, 1);
    assert_non_null(strstr(bt_sim_violation_text(sim, 0), "name_conflict"));
    done(sim);
}

static void convergence_is_timed_from_the_last_fault(void **state)
{
    struct bt_sim *sim = make_sim(3, 21, NULL);
    assert_true(bt_sim_wait_converged(sim, 100));
    assert_true(bt_sim_stats(sim)->converged);
    assert_true(bt_sim_stats(sim)->convergence_ms <= 10);
    bt_sim_run_until(sim, 200);
    bt_sim_pause(sim, 1);
    assert_false(bt_sim_is_converged(sim));
    assert_false(bt_sim_wait_converged(sim, 300)); /* paused nodes are not converged */
    bt_sim_resume(sim, 1);
    assert_true(bt_sim_stats(sim)->last_fault_ms == 500);
    assert_true(bt_sim_wait_converged(sim, 100));
    bt_sim_finish(sim);
    assert_true(bt_sim_stats(sim)->converged);
    assert_true(bt_sim_stats(sim)->convergence_ms <= 10);
    assert_int_equal(bt_sim_violation_count(sim), 0);
    done(sim);
}

static void a_graceful_leave_stops_the_node(void **state)
{
    struct bt_sim *sim = make_sim(2, 22, NULL);
    assert_int_equal(bt_sim_leave(sim, 1), 0);
    assert_int_equal(bt_sim_node_state(sim, 1), BT_SIM_LEFT);
    assert_null(fakes[1]);
    assert_int_equal(bt_sim_restart(sim, 1), 0);
    assert_int_equal(bt_sim_node_state(sim, 1), BT_SIM_RUNNING);
    done(sim);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(datagrams_arrive_within_the_latency_range),
    cmocka_unit_test(loss_drops_about_its_share),
    cmocka_unit_test(duplication_delivers_twice),
    cmocka_unit_test(reordering_holds_datagrams_back),
    cmocka_unit_test(a_one_way_cut_blocks_one_direction_only),
    cmocka_unit_test(a_partition_separates_sides_and_eats_what_is_in_flight),
    cmocka_unit_test(streams_carry_replies_back_in_order),
    cmocka_unit_test(a_restart_kills_streams_and_brings_a_new_boot),
    cmocka_unit_test(a_process_crash_refuses_and_a_host_crash_or_a_pause_is_silent),
    cmocka_unit_test(a_paused_node_gets_its_backlog_after_its_timers),
    cmocka_unit_test(a_paused_node_backlog_is_bounded),
    cmocka_unit_test(timers_fire_at_their_deadline_on_each_nodes_clock),
    cmocka_unit_test(a_node_that_always_wants_a_tick_is_reported_not_hung),
    cmocka_unit_test(output_to_a_stranger_is_a_violation),
    cmocka_unit_test(timers_run_scenario_actions),
    cmocka_unit_test(one_seed_is_one_run),
    cmocka_unit_test(chunked_or_whole_a_datagram_delivers_the_same_bytes),
    cmocka_unit_test(each_node_has_its_own_random_stream),
    cmocka_unit_test(a_death_without_a_fault_is_a_false_positive),
    cmocka_unit_test(a_death_during_or_soon_after_a_fault_is_excused),
    cmocka_unit_test(a_crash_is_timed_until_the_last_live_observer_marks_it),
    cmocka_unit_test(an_unnoticed_crash_is_a_violation),
    cmocka_unit_test(a_name_conflict_is_a_violation),
    cmocka_unit_test(convergence_is_timed_from_the_last_fault),
    cmocka_unit_test(a_graceful_leave_stops_the_node),
};

BT_TEST_MAIN(tests)
