/* Tests of src/core/hlc.c: packing, monotonicity, overflow, offset bound. */
#include "unit/test_main.h"

#include "baton/baton.h"
#include "core/hlc.h"

static void now_is_at_least_the_wall_clock(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    uint64_t t = bt_hlc_now(&c, 1000);
    assert_int_equal(bt_hlc_wall(t), 1000);
    assert_int_equal(bt_hlc_logical(t), 0);
}

static void now_strictly_increases_within_one_millisecond(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    uint64_t a = bt_hlc_now(&c, 1000);
    uint64_t b = bt_hlc_now(&c, 1000);
    assert_true(b > a);
    assert_int_equal(bt_hlc_wall(b), 1000);
    assert_int_equal(bt_hlc_logical(b), 1);
}

static void backwards_wall_clock_never_moves_now_backwards(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    uint64_t prev = bt_hlc_now(&c, 50000);
    for (uint64_t wall = 49999; wall > 40000; wall -= 7) {
        uint64_t t = bt_hlc_now(&c, wall);
        assert_true(t > prev);
        assert_int_equal(bt_hlc_wall(t), 50000);
        prev = t;
    }
    /* Once the wall clock catches up, the logical part resets. */
    uint64_t t = bt_hlc_now(&c, 50001);
    assert_int_equal(bt_hlc_wall(t), 50001);
    assert_int_equal(bt_hlc_logical(t), 0);
}

static void packing_order_equals_hlc_order(void **state)
{
    /* (wall, logical) pairs in HLC order: lexicographic. */
    const uint64_t walls[] = {0, 1, 2, 1000, 0xFFFFFFFFull, BT_HLC_WALL_MAX};
    const uint32_t logicals[] = {0, 1, 0x7FFF, 0xFFFE, 0xFFFF};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 5; j++)
            for (size_t k = 0; k < 6; k++)
                for (size_t l = 0; l < 5; l++) {
                    uint64_t a = bt_hlc_pack(walls[i], logicals[j]);
                    uint64_t b = bt_hlc_pack(walls[k], logicals[l]);
                    int want = walls[i] != walls[k]
                                   ? (walls[i] < walls[k] ? -1 : 1)
                                   : (logicals[j] > logicals[l]) - (logicals[j] < logicals[l]);
                    assert_int_equal(bt_hlc_compare(a, b), want);
                    assert_int_equal(bt_hlc_wall(a), walls[i]);
                    assert_int_equal(bt_hlc_logical(a), logicals[j]);
                }
}

static void logical_overflow_carries_into_the_wall_part(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    assert_int_equal(bt_hlc_update(&c, bt_hlc_pack(7000, 0xFFFE), 7000), 0);
    uint64_t a = bt_hlc_now(&c, 7000);
    assert_int_equal(bt_hlc_wall(a), 7000);
    assert_int_equal(bt_hlc_logical(a), 0xFFFF);
    uint64_t b = bt_hlc_now(&c, 7000);
    assert_true(b > a);
    assert_int_equal(bt_hlc_wall(b), 7001);
    assert_int_equal(bt_hlc_logical(b), 0);
}

static void update_makes_the_next_now_exceed_the_remote(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    uint64_t remote = bt_hlc_pack(90000, 12);
    assert_int_equal(bt_hlc_update(&c, remote, 1000), 0);
    uint64_t t = bt_hlc_now(&c, 1000);
    assert_true(t > remote);
    /* An older remote changes nothing. */
    assert_int_equal(bt_hlc_update(&c, bt_hlc_pack(5, 0), 1000), 0);
    assert_true(bt_hlc_now(&c, 1000) > t);
}

static void update_refuses_a_remote_too_far_ahead(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 10000);
    uint64_t before = bt_hlc_now(&c, 1000000);
    assert_int_equal(bt_hlc_update(&c, bt_hlc_pack(1000000 + 10000, 0), 1000000), 0);
    assert_int_equal(bt_hlc_update(&c, bt_hlc_pack(1000000 + 10001, 0), 1000000), BATON_ECLOCK);
    assert_int_equal(c.refused, 1);
    uint64_t after = bt_hlc_now(&c, 1000000);
    assert_true(after > before);
    assert_true(bt_hlc_wall(after) <= 1000000 + 10000);
}

static void offset_zero_leaves_only_the_hard_ceiling(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    uint64_t wall = UINT64_C(1700000000000);
    uint64_t far = bt_hlc_pack(wall + BT_HLC_CEILING_MS, 0);
    assert_int_equal(bt_hlc_update(&c, far, wall), 0);
    assert_true(bt_hlc_now(&c, wall) > far);
    assert_int_equal(bt_hlc_update(&c, bt_hlc_pack(wall + BT_HLC_CEILING_MS + 1, 0), wall),
                     BATON_ECLOCK);
    /* A bound above the ceiling is the ceiling. */
    bt_hlc_init(&c, UINT64_MAX);
    assert_int_equal(bt_hlc_update(&c, bt_hlc_pack(wall + BT_HLC_CEILING_MS + 1, 0), wall),
                     BATON_ECLOCK);
}

static void timestamps_beyond_int64_are_refused_and_now_saturates(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 0);
    assert_int_equal(bt_hlc_update(&c, BT_HLC_TS_MAX + 1, BT_HLC_WALL_MAX), BATON_ECLOCK);
    /* The top is refused while the wall clock is far from it (the hard
     * ceiling), accepted when the wall clock itself is there. */
    assert_int_equal(bt_hlc_update(&c, BT_HLC_TS_MAX, 1000), BATON_ECLOCK);
    assert_int_equal(bt_hlc_update(&c, BT_HLC_TS_MAX, BT_HLC_WALL_MAX), 0);
    assert_int_equal(bt_hlc_now(&c, 1000), BT_HLC_TS_MAX);
    assert_int_equal(bt_hlc_now(&c, UINT64_MAX), BT_HLC_TS_MAX);
    assert_true(bt_hlc_now(&c, 1000) <= (uint64_t)INT64_MAX);
}

static void a_cluster_clock_ahead_widens_the_bound(void **state)
{
    struct bt_hlc c;
    bt_hlc_init(&c, 10000);
    uint64_t wall = UINT64_C(1700000000000);
    uint64_t ts = bt_hlc_pack(wall + 30000, 0);
    assert_false(bt_hlc_acceptable(&c, ts, wall));
    c.ahead_ms = 20000; /* this clock is 20 s behind the cluster's */
    assert_true(bt_hlc_acceptable(&c, ts, wall));
    assert_false(bt_hlc_acceptable(&c, ts + bt_hlc_pack(1, 0), wall));
    c.ahead_ms = UINT64_MAX; /* saturates, never wraps */
    assert_true(bt_hlc_acceptable(&c, BT_HLC_TS_MAX, UINT64_MAX));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(now_is_at_least_the_wall_clock),
    cmocka_unit_test(now_strictly_increases_within_one_millisecond),
    cmocka_unit_test(backwards_wall_clock_never_moves_now_backwards),
    cmocka_unit_test(packing_order_equals_hlc_order),
    cmocka_unit_test(logical_overflow_carries_into_the_wall_part),
    cmocka_unit_test(update_makes_the_next_now_exceed_the_remote),
    cmocka_unit_test(update_refuses_a_remote_too_far_ahead),
    cmocka_unit_test(offset_zero_leaves_only_the_hard_ceiling),
    cmocka_unit_test(timestamps_beyond_int64_are_refused_and_now_saturates),
    cmocka_unit_test(a_cluster_clock_ahead_widens_the_bound),
};
BT_TEST_MAIN(tests)
