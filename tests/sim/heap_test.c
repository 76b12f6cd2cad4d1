/* Tests of src/sim/heap.c: order, ties, removal, against a reference. */
#include "unit/test_main.h"

#include <stdlib.h>

#include "sim/heap.h"
#include "sim/prng.h"

struct item {
    struct bt_sim_heap_entry h;
    int id;
};

static void pops_in_time_order_and_ties_in_push_order(void **state)
{
    struct bt_sim_heap heap;
    bt_sim_heap_init(&heap);
    struct item it[6];
    const uint64_t at[6] = {30, 10, 20, 10, 30, 10};
    for (int i = 0; i < 6; i++) {
        bt_sim_heap_entry_init(&it[i].h);
        it[i].id = i;
        assert_int_equal(bt_sim_heap_push(&heap, &it[i].h, at[i]), 0);
    }
    const int want[6] = {1, 3, 5, 2, 0, 4};
    for (int k = 0; k < 6; k++) {
        struct item *got = (struct item *)bt_sim_heap_pop(&heap);
        assert_non_null(got);
        assert_int_equal(got->id, want[k]);
        assert_false(bt_sim_heap_queued(&got->h));
    }
    assert_null(bt_sim_heap_pop(&heap));
    bt_sim_heap_destroy(&heap);
}

static void pushing_a_queued_entry_moves_it_behind_its_new_peers(void **state)
{
    struct bt_sim_heap heap;
    bt_sim_heap_init(&heap);
    struct item a = {.id = 0}, b = {.id = 1};
    bt_sim_heap_entry_init(&a.h);
    bt_sim_heap_entry_init(&b.h);
    bt_sim_heap_push(&heap, &a.h, 5);
    bt_sim_heap_push(&heap, &b.h, 7);
    bt_sim_heap_push(&heap, &a.h, 7); /* moved: now after b */
    assert_int_equal(heap.len, 2);
    assert_int_equal(((struct item *)bt_sim_heap_pop(&heap))->id, 1);
    assert_int_equal(((struct item *)bt_sim_heap_pop(&heap))->id, 0);
    bt_sim_heap_destroy(&heap);
}

static void removing_entries_keeps_the_rest_in_order(void **state)
{
    struct bt_sim_heap heap;
    bt_sim_heap_init(&heap);
    struct item it[100];
    for (int i = 0; i < 100; i++) {
        bt_sim_heap_entry_init(&it[i].h);
        it[i].id = i;
        bt_sim_heap_push(&heap, &it[i].h, (uint64_t)((i * 37) % 100));
    }
    for (int i = 0; i < 100; i += 3)
        bt_sim_heap_remove(&heap, &it[i].h);
    bt_sim_heap_remove(&heap, &it[0].h); /* not queued any more: no-op */
    uint64_t last = 0;
    int count = 0;
    struct bt_sim_heap_entry *e;
    while ((e = bt_sim_heap_pop(&heap)) != NULL) {
        assert_true(e->at >= last);
        assert_true(((struct item *)e)->id % 3 != 0);
        last = e->at;
        count++;
    }
    assert_int_equal(count, 66);
    bt_sim_heap_destroy(&heap);
}

/* Random pushes, moves, removals and pops against a linear-scan model. */
static void random_operations_agree_with_a_reference_model(void **state)
{
    enum { N = 300 };
    struct bt_sim_heap heap;
    bt_sim_heap_init(&heap);
    struct item it[N];
    bool queued[N] = {false};
    for (int i = 0; i < N; i++) {
        bt_sim_heap_entry_init(&it[i].h);
        it[i].id = i;
    }
    struct bt_prng rng;
    bt_prng_init(&rng, 99);
    for (int step = 0; step < 20000; step++) {
        int i = (int)bt_prng_below(&rng, N);
        switch (bt_prng_below(&rng, 3)) {
        case 0:
            assert_int_equal(bt_sim_heap_push(&heap, &it[i].h, bt_prng_below(&rng, 50)), 0);
            queued[i] = true;
            break;
        case 1:
            bt_sim_heap_remove(&heap, &it[i].h);
            queued[i] = false;
            break;
        default: {
            /* The model's minimum by (at, seq). */
            int best = -1;
            for (int k = 0; k < N; k++)
                if (queued[k] && (best < 0 || it[k].h.at < it[best].h.at ||
                                  (it[k].h.at == it[best].h.at && it[k].h.seq < it[best].h.seq)))
                    best = k;
            struct item *got = (struct item *)bt_sim_heap_pop(&heap);
            if (best < 0) {
                assert_null(got);
            } else {
                assert_non_null(got);
                assert_int_equal(got->id, best);
                queued[best] = false;
            }
        }
        }
        size_t count = 0;
        for (int k = 0; k < N; k++)
            count += queued[k];
        assert_int_equal(heap.len, count);
    }
    bt_sim_heap_destroy(&heap);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(pops_in_time_order_and_ties_in_push_order),
    cmocka_unit_test(pushing_a_queued_entry_moves_it_behind_its_new_peers),
    cmocka_unit_test(removing_entries_keeps_the_rest_in_order),
    cmocka_unit_test(random_operations_agree_with_a_reference_model),
};

BT_TEST_MAIN(tests)
