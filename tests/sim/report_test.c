/* Tests of src/sim/report.c: the JSON writer and nearest-rank percentiles. */
#include "unit/test_main.h"

#include <string.h>

#include "sim/report.h"

static void nested_objects_and_arrays_get_their_commas(void **state)
{
    struct bt_json j;
    bt_json_init(&j);
    bt_json_obj_begin(&j);
    bt_json_key(&j, "seed");
    bt_json_u64(&j, UINT64_MAX);
    bt_json_key(&j, "skew");
    bt_json_i64(&j, -5);
    bt_json_key(&j, "v");
    bt_json_arr_begin(&j);
    bt_json_str(&j, "a");
    bt_json_obj_begin(&j);
    bt_json_obj_end(&j);
    bt_json_arr_begin(&j);
    bt_json_arr_end(&j);
    bt_json_bool(&j, true);
    bt_json_null(&j);
    bt_json_arr_end(&j);
    bt_json_key(&j, "loss");
    bt_json_double(&j, 0.1);
    bt_json_obj_end(&j);
    assert_string_equal(
        bt_json_cstr(&j),
        "{\"seed\":18446744073709551615,\"skew\":-5,\"v\":[\"a\",{},[],true,null],\"loss\":0.1}");
    bt_json_destroy(&j);
}

static void strings_are_escaped(void **state)
{
    struct bt_json j;
    bt_json_init(&j);
    bt_json_str(&j, "q\"b\\n\n\x01");
    assert_string_equal(bt_json_cstr(&j), "\"q\\\"b\\\\n\\n\\u0001\"");
    bt_json_destroy(&j);
}

static void non_finite_doubles_become_null(void **state)
{
    struct bt_json j;
    bt_json_init(&j);
    bt_json_arr_begin(&j);
    bt_json_double(&j, 1.0 / 0.0);
    bt_json_double(&j, 0.0 / 0.0);
    bt_json_arr_end(&j);
    assert_string_equal(bt_json_cstr(&j), "[null,null]");
    bt_json_destroy(&j);
}

static void percentiles_follow_the_nearest_rank_rule(void **state)
{
    struct bt_samples s;
    bt_samples_init(&s);
    /* 200 samples 200, 199, ..., 1: p99 is the 198th smallest. */
    for (uint64_t v = 200; v >= 1; v--)
        assert_int_equal(bt_samples_add(&s, v), 0);
    assert_int_equal(bt_samples_percentile(&s, 50), 100);
    assert_int_equal(bt_samples_percentile(&s, 99), 198);
    assert_int_equal(bt_samples_percentile(&s, 100), 200);
    assert_int_equal(bt_samples_max(&s), 200);
    bt_samples_destroy(&s);

    bt_samples_init(&s);
    bt_samples_add(&s, 7);
    assert_int_equal(bt_samples_percentile(&s, 50), 7);
    assert_int_equal(bt_samples_percentile(&s, 99), 7);
    bt_samples_destroy(&s);
}

static void empty_samples_summarise_as_nulls(void **state)
{
    struct bt_samples s;
    struct bt_json j;
    bt_samples_init(&s);
    bt_json_init(&j);
    bt_json_samples(&j, &s);
    assert_string_equal(bt_json_cstr(&j), "{\"p50\":null,\"p99\":null,\"max\":null,\"count\":0}");
    bt_json_destroy(&j);
    bt_json_init(&j);
    bt_samples_add(&s, 3);
    bt_samples_add(&s, 1);
    bt_json_samples(&j, &s);
    assert_string_equal(bt_json_cstr(&j), "{\"p50\":1,\"p99\":3,\"max\":3,\"count\":2}");
    bt_json_destroy(&j);
    bt_samples_destroy(&s);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(nested_objects_and_arrays_get_their_commas),
    cmocka_unit_test(strings_are_escaped),
    cmocka_unit_test(non_finite_doubles_become_null),
    cmocka_unit_test(percentiles_follow_the_nearest_rank_rule),
    cmocka_unit_test(empty_samples_summarise_as_nulls),
};

BT_TEST_MAIN(tests)
