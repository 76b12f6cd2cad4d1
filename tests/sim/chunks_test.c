/* Tests of src/sim/chunks.c: equal bytes share one chunk, counted; the last
 * put frees it; a batch gets what single gets would; many chunks through
 * the table's growth, against a model. */
#include "unit/test_main.h"

#include <stdio.h>
#include <string.h>

#include "sim/chunks.h"
#include "sim/prng.h"

/* One string's chunk (a batch of one). */
static struct sim_chunk *get(struct sim_chunks *t, const uint8_t *p, size_t len)
{
    struct sim_chunk *c;
    return sim_chunks_get_many(t, &p, &len, 1, &c) ? c : NULL;
}

static void equal_bytes_share_one_chunk(void **state)
{
    struct sim_chunks t;
    sim_chunks_init(&t);
    uint8_t a[] = "candidacy", b[] = "candidacy";
    struct sim_chunk *x = get(&t, a, sizeof a);
    struct sim_chunk *y = get(&t, b, sizeof b);
    assert_non_null(x);
    assert_ptr_equal(x, y);
    assert_int_equal(x->refs, 2);
    assert_int_equal(x->len, sizeof a);
    assert_memory_equal(x->data, a, sizeof a);
    assert_int_equal(t.table.count, 1);
    /* A prefix, and the empty string, are other bytes. */
    struct sim_chunk *p = get(&t, a, 4), *e = get(&t, a, 0);
    assert_ptr_not_equal(p, x);
    assert_ptr_not_equal(e, x);
    assert_ptr_not_equal(e, p);
    assert_int_equal(e->len, 0);
    assert_int_equal(t.table.count, 3);
    sim_chunks_put(&t, p);
    sim_chunks_put(&t, e);
    sim_chunks_put(&t, x);
    assert_int_equal(t.table.count, 1);
    assert_int_equal(y->refs, 1);
    sim_chunks_put(&t, y);
    assert_int_equal(t.table.count, 0);
    sim_chunks_destroy(&t);
}

enum { KEYS = 5000, OPS = 200000, MAX_HELD = 64 };

/* Random gets and puts over a few thousand strings: every chunk holds its
 * bytes, one chunk per string held, freed with its last reference (run
 * under ASan, a leak or a use after free fails the test). */
/* A batch gets what one get after another would: equal bytes within the
 * batch and already held share one chunk. */
static void a_batch_gets_what_single_gets_would(void **state)
{
    (void)state;
    struct sim_chunks t;
    sim_chunks_init(&t);
    uint8_t held[] = "alive n1";
    struct sim_chunk *h = get(&t, held, sizeof held);
    const uint8_t *p[4] = {(const uint8_t *)"fence a", held, (const uint8_t *)"fence a",
                           (const uint8_t *)"entry b"};
    size_t len[4] = {8, sizeof held, 8, 8};
    struct sim_chunk *out[4];
    assert_true(sim_chunks_get_many(&t, p, len, 4, out));
    assert_ptr_equal(out[1], h);
    assert_int_equal(h->refs, 2);
    assert_ptr_equal(out[0], out[2]);
    assert_int_equal(out[0]->refs, 2);
    assert_ptr_not_equal(out[3], out[0]);
    assert_memory_equal(out[3]->data, "entry b", 8);
    assert_int_equal(t.table.count, 3);
    for (int i = 0; i < 4; i++)
        sim_chunks_put(&t, out[i]);
    sim_chunks_put(&t, h);
    assert_int_equal(t.table.count, 0);
    sim_chunks_destroy(&t);
}

static void random_gets_and_puts_agree_with_a_model(void **state)
{
    struct sim_chunks t;
    sim_chunks_init(&t);
    static struct sim_chunk *held[KEYS][MAX_HELD];
    static size_t nheld[KEYS];
    struct bt_prng rng;
    bt_prng_init(&rng, 42);
    size_t live = 0;
    for (int op = 0; op < OPS; op++) {
        uint32_t k = (uint32_t)bt_prng_below(&rng, KEYS);
        char key[32];
        int len = snprintf(key, sizeof key, "broadcast %u", k);
        if (nheld[k] < MAX_HELD && (nheld[k] == 0 || bt_prng_chance(&rng, 0.5))) {
            struct sim_chunk *c = get(&t, (const uint8_t *)key, (size_t)len);
            assert_non_null(c);
            assert_int_equal(c->len, len);
            assert_memory_equal(c->data, key, (size_t)len);
            if (nheld[k] > 0)
                assert_ptr_equal(c, held[k][0]);
            else
                live++;
            held[k][nheld[k]++] = c;
            assert_int_equal(c->refs, nheld[k]);
        } else {
            sim_chunks_put(&t, held[k][--nheld[k]]);
            if (nheld[k] == 0)
                live--;
        }
        assert_int_equal(t.table.count, live);
    }
    for (uint32_t k = 0; k < KEYS; k++)
        while (nheld[k] > 0)
            sim_chunks_put(&t, held[k][--nheld[k]]);
    assert_int_equal(t.table.count, 0);
    sim_chunks_destroy(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(equal_bytes_share_one_chunk),
    cmocka_unit_test(a_batch_gets_what_single_gets_would),
    cmocka_unit_test(random_gets_and_puts_agree_with_a_model),
};

BT_TEST_MAIN(tests)
