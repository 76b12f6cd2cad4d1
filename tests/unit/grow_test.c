/* Tests of src/core/grow.h: how the per-member arrays grow. */
#include "unit/test_main.h"

#include <stdint.h>

#include "core/grow.h"

static void small_arrays_double_from_sixteen(void **state)
{
    (void)state;
    assert_int_equal(bt_grow_cap(0), 16);
    assert_int_equal(bt_grow_cap(16), 32);
    assert_int_equal(bt_grow_cap(1024), 2048);
    assert_int_equal(bt_grow_cap(BT_GROW_DOUBLE_BELOW - 1), 2 * (BT_GROW_DOUBLE_BELOW - 1));
}

static void large_arrays_grow_by_a_quarter(void **state)
{
    (void)state;
    assert_int_equal(bt_grow_cap(BT_GROW_DOUBLE_BELOW), BT_GROW_DOUBLE_BELOW + 1024);
    /* 10 000 members fit in 10 000 slots, not 16 384. */
    size_t cap = 0;
    while (cap < 10000)
        cap = bt_grow_cap(cap);
    assert_int_equal(cap, 10000);
}

static void growth_never_wraps(void **state)
{
    (void)state;
    assert_true(bt_grow_cap(SIZE_MAX) == SIZE_MAX);
    assert_true(bt_grow_cap(SIZE_MAX - 3) >= SIZE_MAX - 3);
    for (size_t cap = 1; cap < 1000000; cap = bt_grow_cap(cap))
        assert_true(bt_grow_cap(cap) > cap);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(small_arrays_double_from_sixteen),
    cmocka_unit_test(large_arrays_grow_by_a_quarter),
    cmocka_unit_test(growth_never_wraps),
};

BT_TEST_MAIN(tests)
