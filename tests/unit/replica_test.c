/* Tests of src/core/replica.c's delivery of gossiped broadcasts: a copy of
 * one that merged whole is dropped unread ("Copies" in replica.c), and
 * nothing else is. A replica here drives a leader alone: delivery never
 * touches the membership layer, so it is given none. */
#include "unit/test_main.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "core/leader.h"
#include "core/replica.h"

/* A plausible Unix time in ms (2023-11-14). */
#define WALL UINT64_C(1700000000000)
#define HORIZON UINT64_C(60000)

struct fixture {
    struct bt_leader *leader;
    struct bt_replica r;
};

static void fixture_init(struct fixture *f)
{
    struct bt_leader_config cfg = {.boot_id = 1, .max_clock_offset_ms = 10000};
    assert_int_equal(bt_nodeid_set(&cfg.self, "a", 1), 0);
    f->leader = bt_leader_new(&cfg);
    assert_non_null(f->leader);
    bt_replica_init(&f->r, f->leader, NULL, HORIZON, 0);
}

static void fixture_free(struct fixture *f)
{
    bt_replica_destroy(&f->r);
    bt_leader_free(f->leader);
}

/* One gossiped broadcast's bytes. */
struct msg {
    uint8_t bytes[256];
    size_t len;
};

/* A delta of node b's live candidacy for "job" stamped at WALL + t ms. */
static struct msg delta_of_b(uint64_t t)
{
    struct bt_centry e;
    memset(&e, 0, sizeof e);
    assert_int_equal(bt_name_set(&e.name, "job", 3), 0);
    assert_int_equal(bt_nodeid_set(&e.node, "b", 1), 0);
    e.stamp = bt_hlc_pack(WALL + t, 0);
    e.cand.candidate_id = 7;
    e.cand.boot_id = 2;
    struct msg m;
    int n = bt_codec_encode_delta(&e, 1, m.bytes, sizeof m.bytes);
    assert_true(n > 0);
    m.len = (size_t)n;
    return m;
}

/* Delivers m at t ms after the start (monotonic t, wall WALL + t). */
static void deliver(struct fixture *f, const struct msg *m, uint64_t t)
{
    bt_replica_deliver(&f->r, NULL, m->bytes, m->len,
                       (struct bt_time){.mono_ms = t, .wall_ms = WALL + t});
}

static struct bt_leader_counters leader_counters(const struct fixture *f)
{
    struct bt_leader_counters c;
    bt_leader_counters(f->leader, &c);
    return c;
}

static void a_copy_of_a_merged_broadcast_is_dropped_unread(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct msg m = delta_of_b(0);

    deliver(&f, &m, 10);
    assert_int_equal(leader_counters(&f).entries_merged, 1);
    assert_int_equal(f.r.counters.copies, 0);

    deliver(&f, &m, 20);
    deliver(&f, &m, 30);
    assert_int_equal(f.r.counters.copies, 2);
    assert_int_equal(f.r.counters.payloads_in, 3);
    /* Not merged: the leader saw one broadcast. */
    assert_int_equal(leader_counters(&f).entries_merged, 1);
    assert_int_equal(leader_counters(&f).entries_stale, 0);

    /* A different broadcast (a later write of the same key) is merged. */
    struct msg later = delta_of_b(5);
    deliver(&f, &later, 40);
    assert_int_equal(leader_counters(&f).entries_merged, 2);
    assert_int_equal(f.r.counters.copies, 2);
    fixture_free(&f);
}

/* A broadcast refused for its clock (a stamp an hour ahead) leaves no
 * fingerprint: each copy is screened again, and once the clock caught up
 * one is merged. */
static void a_refused_broadcast_leaves_no_fingerprint(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    const uint64_t hour = 3600 * 1000;
    struct msg m = delta_of_b(hour);

    deliver(&f, &m, 10);
    deliver(&f, &m, 20);
    assert_int_equal(f.r.counters.refused_clock, 2);
    assert_int_equal(f.r.counters.copies, 0);
    assert_int_equal(leader_counters(&f).entries_merged, 0);

    deliver(&f, &m, hour);
    assert_int_equal(leader_counters(&f).entries_merged, 1);
    assert_int_equal(f.r.counters.copies, 0);
    deliver(&f, &m, hour + 10);
    assert_int_equal(f.r.counters.copies, 1);
    fixture_free(&f);
}

/* Ageing forgets state, so it forgets the fingerprints too: a copy that
 * comes after it is merged (here refused as older than the horizon). */
static void ageing_empties_the_fingerprints(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct msg m = delta_of_b(0);
    deliver(&f, &m, 10);
    deliver(&f, &m, 20);
    assert_int_equal(f.r.counters.copies, 1);

    const uint64_t later = 2 * HORIZON;
    bt_replica_tick(&f.r, (struct bt_time){.mono_ms = later, .wall_ms = WALL + later});
    assert_int_equal(f.r.counters.expired, 1);
    deliver(&f, &m, later + 10);
    assert_int_equal(f.r.counters.copies, 1);
    assert_int_equal(f.r.counters.refused_stale, 1);
    fixture_free(&f);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_copy_of_a_merged_broadcast_is_dropped_unread),
    cmocka_unit_test(a_refused_broadcast_leaves_no_fingerprint),
    cmocka_unit_test(ageing_empties_the_fingerprints),
};

BT_TEST_MAIN(tests)
