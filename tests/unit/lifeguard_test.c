/* Tests of src/core/lifeguard.c against the formulas of docs/membership.md:
 *     min = suspicion_mult * max(1, log10 n) * probe_interval
 *     max = suspicion_max_mult * min
 *     K   = min(suspicion_mult - 2, n - 2), at least 0
 *     timeout(c) = max(min, max - (max - min) * ln(c + 1) / ln(K + 1))
 * and the local health score, clamped to 0..awareness_max - 1. */
#include "unit/test_main.h"

#include <math.h>

#include "core/lifeguard.h"

static void logarithms_match_libm(void **state)
{
    for (double x = 1.0; x < 1e7; x = x * 1.37 + 0.01) {
        assert_true(fabs(bt_lg_ln(x) - log(x)) < 1e-12 * (1.0 + log(x)));
        assert_true(fabs(bt_lg_log10(x) - log10(x)) < 1e-12 * (1.0 + log10(x)));
    }
    assert_true(bt_lg_ln(1.0) == 0.0);
}

/* The formula, computed with libm, truncated as the core truncates. */
static uint64_t formula_min(uint32_t mult, uint32_t interval, size_t n)
{
    double scale = n > 10 ? log10((double)n) : 1.0;
    return (uint64_t)(mult * scale * interval);
}

static void suspicion_min_follows_the_formula(void **state)
{
    /* max(1, log10 n): up to 10 members the factor is 1. */
    assert_int_equal(bt_lg_suspicion_min(3, 100, 1), 300);
    assert_int_equal(bt_lg_suspicion_min(3, 100, 5), 300);
    assert_int_equal(bt_lg_suspicion_min(3, 100, 10), 300);
    /* log10(100) comes out a hair under 2 and the product is truncated. */
    assert_true(bt_lg_suspicion_min(3, 100, 100) >= 599 && bt_lg_suspicion_min(3, 100, 100) <= 600);
    /* docs/membership.md's table: 50 nodes, about 510 ms (local), 6.8 s (lan),
     * 51 s (wan). */
    assert_int_equal(bt_lg_suspicion_min(3, 100, 50), 509);
    assert_int_equal(bt_lg_suspicion_min(4, 1000, 50), 6795);
    assert_int_equal(bt_lg_suspicion_min(6, 5000, 50), 50969);
    for (size_t n = 1; n < 20000; n = n * 3 + 1) {
        uint64_t got = bt_lg_suspicion_min(4, 1000, n), want = formula_min(4, 1000, n);
        assert_true(got + 1 >= want && got <= want + 1);
    }
}

static void confirmations_are_mult_minus_two_bounded_by_the_cluster(void **state)
{
    assert_int_equal(bt_lg_confirmations(3, 5, 15), 1);
    assert_int_equal(bt_lg_confirmations(4, 50, 15), 2);
    assert_int_equal(bt_lg_confirmations(6, 50, 15), 4);
    /* n - 2 bounds it in small clusters, and it is never negative. */
    assert_int_equal(bt_lg_confirmations(6, 4, 15), 2);
    assert_int_equal(bt_lg_confirmations(6, 2, 15), 0);
    assert_int_equal(bt_lg_confirmations(6, 1, 15), 0);
    assert_int_equal(bt_lg_confirmations(6, 0, 15), 0);
    assert_int_equal(bt_lg_confirmations(1, 50, 15), 0);
    /* The cap (the suspector table's size) bounds it too. */
    assert_int_equal(bt_lg_confirmations(100, 1000, 15), 15);
}

static void timeout_shrinks_from_max_to_min_with_confirmations(void **state)
{
    uint64_t min = 1000, max = 6000;
    /* A lonely suspicion waits the maximum. */
    assert_int_equal(bt_lg_suspicion_timeout(min, max, 3, 0), max);
    /* K confirmations (or more) bring it to the minimum. */
    assert_int_equal(bt_lg_suspicion_timeout(min, max, 3, 3), min);
    assert_int_equal(bt_lg_suspicion_timeout(min, max, 3, 7), min);
    /* K = 0: nobody to wait for. */
    assert_int_equal(bt_lg_suspicion_timeout(min, max, 0, 0), min);
    /* In between: the formula, strictly decreasing in c. */
    for (uint32_t k = 1; k < 16; k++) {
        uint64_t prev = UINT64_MAX;
        for (uint32_t c = 0; c <= k; c++) {
            uint64_t got = bt_lg_suspicion_timeout(min, max, k, c);
            double want = (double)max - (double)(max - min) * log(c + 1.0) / log(k + 1.0);
            if (want < (double)min)
                want = (double)min;
            assert_true(fabs((double)got - want) <= 1.0);
            assert_true(got >= min && got <= max);
            assert_true(got < prev);
            prev = got;
        }
    }
    /* One confirmation of three expected: max - (max - min) / 2. */
    uint64_t half = bt_lg_suspicion_timeout(min, max, 3, 1);
    assert_true(half == 3500 || half == 3499);
}

static void health_is_clamped_to_the_awareness_range(void **state)
{
    assert_int_equal(bt_lg_health_add(0, 1, 8), 1);
    assert_int_equal(bt_lg_health_add(0, -1, 8), 0);
    assert_int_equal(bt_lg_health_add(6, 5, 8), 7);
    assert_int_equal(bt_lg_health_add(7, -3, 8), 4);
    assert_int_equal(bt_lg_health_add(3, 0, 1), 0);
    assert_int_equal(bt_lg_scale(0), 1);
    assert_int_equal(bt_lg_scale(7), 8);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(logarithms_match_libm),
    cmocka_unit_test(suspicion_min_follows_the_formula),
    cmocka_unit_test(confirmations_are_mult_minus_two_bounded_by_the_cluster),
    cmocka_unit_test(timeout_shrinks_from_max_to_min_with_confirmations),
    cmocka_unit_test(health_is_clamped_to_the_awareness_range),
};
BT_TEST_MAIN(tests)
