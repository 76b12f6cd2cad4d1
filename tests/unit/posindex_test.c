/* Tests of src/core/posindex.h: the index of records' positions by hash
 * that the election's member records and the clock readings are found
 * through. */
#include "unit/test_main.h"

#include <stddef.h>
#include <stdint.h>

#include "core/posindex.h"

struct rec {
    uint64_t payload;
    uint32_t hash; /* a test's record keeps it; leader.c's and node_clock.c's compute it */
};

static uint32_t rec_hash(const void *r) { return ((const struct rec *)r)->hash; }

/* The position of the record with hash and payload, or -1. */
static long find(const struct bt_posindex *x, const struct rec *recs, uint32_t hash,
                 uint64_t payload)
{
    if (x->cap == 0)
        return -1;
    for (size_t k = bt_posindex_start(x, hash); x->slots[k] != 0; k = bt_posindex_next(x, k)) {
        const struct rec *r = &recs[x->slots[k] - 1];
        if (r->hash == hash && r->payload == payload)
            return (long)(x->slots[k] - 1);
    }
    return -1;
}

static bool add(struct bt_posindex *x, struct rec *recs, size_t *n, uint32_t hash, uint64_t payload)
{
    if (!bt_posindex_reserve(x, recs, sizeof *recs, rec_hash, *n))
        return false;
    recs[*n] = (struct rec){.payload = payload, .hash = hash};
    bt_posindex_put(x, hash, (*n)++);
    return true;
}

static void records_are_found_across_growth_and_collisions(void **state)
{
    (void)state;
    static struct rec recs[1000];
    size_t n = 0;
    struct bt_posindex x = {0};
    assert_int_equal(find(&x, recs, 7, 0), -1);
    /* Every third record shares its hash with the one before: a probe
     * path longer than one slot, across every growth of the index. */
    for (uint64_t i = 0; i < 1000; i++)
        assert_true(add(&x, recs, &n, (uint32_t)(i / 3 * 2654435761u), i));
    assert_true(4 * n <= 3 * x.cap);
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(find(&x, recs, (uint32_t)(i / 3 * 2654435761u), i), (long)i);
    assert_int_equal(find(&x, recs, (uint32_t)(999 / 3 * 2654435761u), 5000), -1);
    bt_posindex_free(&x);
    assert_int_equal(x.cap, 0);
}

static void a_refill_follows_records_that_moved(void **state)
{
    (void)state;
    struct rec recs[64];
    size_t n = 0;
    struct bt_posindex x = {0};
    for (uint64_t i = 0; i < 40; i++)
        assert_true(add(&x, recs, &n, (uint32_t)i * 7u, i));
    /* Remove record 3: the last one takes its place, as leader.c and
     * node_clock.c remove theirs. */
    recs[3] = recs[--n];
    bt_posindex_refill(&x, recs, sizeof *recs, rec_hash, n);
    assert_int_equal(find(&x, recs, 3 * 7u, 3), -1);
    assert_int_equal(find(&x, recs, 39 * 7u, 39), 3);
    for (uint64_t i = 0; i < 39; i++)
        if (i != 3)
            assert_int_equal(find(&x, recs, (uint32_t)i * 7u, i), (long)i);
    bt_posindex_free(&x);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(records_are_found_across_growth_and_collisions),
    cmocka_unit_test(a_refill_follows_records_that_moved),
};

BT_TEST_MAIN(tests)
