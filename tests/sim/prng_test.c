/* Tests of src/sim/prng.h: reference values, streams, bounded draws. */
#include "unit/test_main.h"

#include "sim/prng.h"

static void splitmix64_matches_its_reference_output(void **state)
{
    /* The first outputs of splitmix64 from state 0 (Vigna's reference C). */
    uint64_t s = 0;
    assert_true(bt_splitmix64(&s) == UINT64_C(0xE220A8397B1DCDAF));
    assert_true(bt_splitmix64(&s) == UINT64_C(0x6E789E6AA1B965F4));
    assert_true(bt_splitmix64(&s) == UINT64_C(0x06C45D188009454F));
}

static void xoshiro256starstar_matches_its_reference_output(void **state)
{
    /* From state {1, 2, 3, 4}, computed by hand from the reference:
     * result = rotl(s1 * 5, 7) * 9 = rotl(10, 7) * 9 = 1280 * 9. */
    struct bt_prng p = {{1, 2, 3, 4}};
    assert_true(bt_prng_next(&p) == 11520);
    /* After one step the state is {7, 0, 262146, rotl(6, 45)}: s1 = 0. */
    assert_true(bt_prng_next(&p) == 0);
    assert_true(p.s[0] != 0 || p.s[1] != 0 || p.s[2] != 0 || p.s[3] != 0);
}

static void one_seed_gives_one_sequence(void **state)
{
    struct bt_prng a, b;
    bt_prng_init_stream(&a, 42, 7, 3);
    bt_prng_init_stream(&b, 42, 7, 3);
    for (int i = 0; i < 1000; i++)
        assert_true(bt_prng_next(&a) == bt_prng_next(&b));
}

static void streams_of_other_tags_indices_and_seeds_differ(void **state)
{
    struct bt_prng base, tag, index, seed;
    bt_prng_init_stream(&base, 42, 7, 3);
    bt_prng_init_stream(&tag, 42, 8, 3);
    bt_prng_init_stream(&index, 42, 7, 4);
    bt_prng_init_stream(&seed, 43, 7, 3);
    uint64_t x = bt_prng_next(&base);
    assert_true(x != bt_prng_next(&tag));
    assert_true(x != bt_prng_next(&index));
    assert_true(x != bt_prng_next(&seed));
}

static void below_stays_below_and_reaches_every_value(void **state)
{
    struct bt_prng p;
    bt_prng_init(&p, 1);
    int hits[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t v = bt_prng_below(&p, 7);
        assert_true(v < 7);
        hits[v]++;
    }
    for (int v = 0; v < 7; v++)
        assert_true(hits[v] > 800 && hits[v] < 1200);
    assert_true(bt_prng_below(&p, 1) == 0);
    assert_true(bt_prng_below(&p, 0) == 0);
}

static void range_is_inclusive_at_both_ends(void **state)
{
    struct bt_prng p;
    bt_prng_init(&p, 2);
    bool lo = false, hi = false;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = bt_prng_range(&p, 10, 13);
        assert_true(v >= 10 && v <= 13);
        lo = lo || v == 10;
        hi = hi || v == 13;
    }
    assert_true(lo && hi);
    assert_true(bt_prng_range(&p, 5, 5) == 5);
    (void)bt_prng_range(&p, 0, UINT64_MAX);
}

static void unit_is_in_zero_one_and_chance_tracks_its_probability(void **state)
{
    struct bt_prng p;
    bt_prng_init(&p, 3);
    int yes = 0;
    for (int i = 0; i < 20000; i++) {
        double u = bt_prng_unit(&p);
        assert_true(u >= 0.0 && u < 1.0);
        yes += bt_prng_chance(&p, 0.25);
    }
    assert_true(yes > 4500 && yes < 5500);
}

static void certain_and_impossible_chances_draw_nothing(void **state)
{
    struct bt_prng p, q;
    bt_prng_init(&p, 4);
    q = p;
    assert_false(bt_prng_chance(&p, 0.0));
    assert_true(bt_prng_chance(&p, 1.0));
    assert_true(bt_prng_next(&p) == bt_prng_next(&q));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(splitmix64_matches_its_reference_output),
    cmocka_unit_test(xoshiro256starstar_matches_its_reference_output),
    cmocka_unit_test(one_seed_gives_one_sequence),
    cmocka_unit_test(streams_of_other_tags_indices_and_seeds_differ),
    cmocka_unit_test(below_stays_below_and_reaches_every_value),
    cmocka_unit_test(range_is_inclusive_at_both_ends),
    cmocka_unit_test(unit_is_in_zero_one_and_chance_tracks_its_probability),
    cmocka_unit_test(certain_and_impossible_chances_draw_nothing),
};

BT_TEST_MAIN(tests)
