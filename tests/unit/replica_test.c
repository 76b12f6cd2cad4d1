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

/* A delta of node b's live candidacy for "job" stamped at wall ms. */
static size_t delta_of_b(uint64_t wall, uint8_t *buf, size_t cap)
{
    struct bt_centry e;
    memset(&e, 0, sizeof e);
    assert_int_equal(bt_name_set(&e.name, "job", 3), 0);
    assert_int_equal(bt_nodeid_set(&e.node, "b", 1), 0);
    e.stamp = bt_hlc_pack(wall, 0);
    e.cand.candidate_id = 7;
    e.cand.boot_id = 2;
    int n = bt_codec_encode_delta(&e, 1, buf, cap);
    assert_true(n > 0);
    return (size_t)n;
}

static struct bt_time at(uint64_t mono, uint64_t wall)
{
    return (struct bt_time){.mono_ms = mono, .wall_ms = wall};
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
    uint8_t buf[256];
    size_t len = delta_of_b(WALL, buf, sizeof buf);

    bt_replica_deliver(&f.r, NULL, buf, len, at(10, WALL + 10));
    assert_int_equal(leader_counters(&f).entries_merged, 1);
    assert_int_equal(f.r.counters.copies, 0);

    bt_replica_deliver(&f.r, NULL, buf, len, at(20, WALL + 20));
    bt_replica_deliver(&f.r, NULL, buf, len, at(30, WALL + 30));
    assert_int_equal(f.r.counters.copies, 2);
    assert_int_equal(f.r.counters.payloads_in, 3);
    /* Not merged: the leader saw one broadcast. */
    assert_int_equal(leader_counters(&f).entries_merged, 1);
    assert_int_equal(leader_counters(&f).entries_stale, 0);

    /* A different broadcast (a later write of the same key) is merged. */
    uint8_t later[256];
    size_t later_len = delta_of_b(WALL + 5, later, sizeof later);
    bt_replica_deliver(&f.r, NULL, later, later_len, at(40, WALL + 40));
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
    uint8_t buf[256];
    uint64_t ahead = WALL + 3600 * 1000;
    size_t len = delta_of_b(ahead, buf, sizeof buf);

    bt_replica_deliver(&f.r, NULL, buf, len, at(10, WALL));
    bt_replica_deliver(&f.r, NULL, buf, len, at(20, WALL));
    assert_int_equal(f.r.counters.refused_clock, 2);
    assert_int_equal(f.r.counters.copies, 0);
    assert_int_equal(leader_counters(&f).entries_merged, 0);

    bt_replica_deliver(&f.r, NULL, buf, len, at(30, ahead));
    assert_int_equal(leader_counters(&f).entries_merged, 1);
    assert_int_equal(f.r.counters.copies, 0);
    bt_replica_deliver(&f.r, NULL, buf, len, at(40, ahead));
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
    uint8_t buf[256];
    size_t len = delta_of_b(WALL, buf, sizeof buf);
    bt_replica_deliver(&f.r, NULL, buf, len, at(10, WALL + 10));
    bt_replica_deliver(&f.r, NULL, buf, len, at(20, WALL + 20));
    assert_int_equal(f.r.counters.copies, 1);

    uint64_t later = WALL + 2 * HORIZON;
    bt_replica_tick(&f.r, at(2 * HORIZON, later));
    assert_int_equal(f.r.counters.expired, 1);
    bt_replica_deliver(&f.r, NULL, buf, len, at(2 * HORIZON + 10, later + 10));
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
