/* Tests of src/core/htab.c: lookup, collisions, growth at load factor 1,
 * growth failure, iteration while unlinking, order independent of
 * addresses, and a seeded run against a plain array as the model. */
#include "unit/test_main.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/htab.h"
#include "sim/prng.h"

/* --- a failing calloc ---------------------------------------------------- */

/* tests/CMakeLists.txt links this test with -Wl,--wrap=calloc, so the
 * table's bucket allocations come here first; fail_callocs > 0 makes that
 * many of them fail. */
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static int fail_callocs;

void *__wrap_calloc(size_t n, size_t size)
{
    if (fail_callocs > 0) {
        fail_callocs--;
        return NULL;
    }
    return __real_calloc(n, size);
}

/* --- records ------------------------------------------------------------- */

struct rec {
    unsigned tag;         /* something before the link, so offsets matter */
    struct bt_hlink link; /* in the table under test */
    uint32_t key;         /* the key */
    bool linked;          /* the model's view */
};

static bool rec_is(const struct bt_hlink *x, const void *key)
{
    return BT_HTAB_ENTRY(x, const struct rec, link)->key == *(const uint32_t *)key;
}

/* A poor hash on purpose when collide is set: every key under one hash. */
static uint64_t hash_of(uint32_t key, bool collide)
{
    if (collide)
        return 42;
    uint64_t h = key * UINT64_C(0x9e3779b97f4a7c15);
    return h ^ (h >> 29);
}

static struct rec *find(const struct bt_htab *t, uint32_t key, bool collide)
{
    struct bt_hlink *x = bt_htab_find(t, hash_of(key, collide), rec_is, &key);
    return x ? BT_HTAB_ENTRY(x, struct rec, link) : NULL;
}

static void link_rec(struct bt_htab *t, struct rec *r, uint32_t key, bool collide)
{
    r->key = key;
    r->linked = true;
    bt_htab_link(t, &r->link, hash_of(key, collide));
}

static size_t count_by_iteration(const struct bt_htab *t)
{
    size_t n = 0;
    for (const struct bt_hlink *x = bt_htab_first(t); x; x = bt_htab_next(t, x))
        n++;
    return n;
}

/* --- cases --------------------------------------------------------------- */

static void a_table_without_buckets_finds_and_iterates_nothing(void **state)
{
    struct bt_htab t;
    bt_htab_init(&t);
    assert_null(find(&t, 7, false));
    assert_null(bt_htab_first(&t));
    assert_int_equal(t.nbuckets, 0);
    bt_htab_destroy(&t);
}

static void linked_records_are_found_and_unlinked_ones_are_not(void **state)
{
    struct bt_htab t;
    struct rec r[3] = {{0}};
    bt_htab_init(&t);
    assert_int_equal(bt_htab_reserve(&t), 0);
    assert_int_equal(t.nbuckets, BT_HTAB_INITIAL_BUCKETS);
    for (uint32_t i = 0; i < 3; i++)
        link_rec(&t, &r[i], 100 + i, false);
    assert_int_equal(t.count, 3);
    assert_ptr_equal(find(&t, 101, false), &r[1]);
    bt_htab_unlink(&t, &r[1].link);
    assert_null(find(&t, 101, false));
    assert_ptr_equal(find(&t, 100, false), &r[0]);
    assert_ptr_equal(find(&t, 102, false), &r[2]);
    assert_null(find(&t, 103, false));
    assert_int_equal(t.count, 2);
    bt_htab_destroy(&t);
    assert_null(t.buckets);
    assert_int_equal(t.count, 0);
}

static void records_under_one_hash_are_told_apart_by_the_predicate(void **state)
{
    struct bt_htab t;
    struct rec r[40] = {{0}};
    bt_htab_init(&t);
    assert_int_equal(bt_htab_reserve(&t), 0);
    for (uint32_t i = 0; i < 40; i++)
        link_rec(&t, &r[i], i, true);
    for (uint32_t i = 0; i < 40; i++)
        assert_ptr_equal(find(&t, i, true), &r[i]);
    for (uint32_t i = 0; i < 40; i += 2)
        bt_htab_unlink(&t, &r[i].link);
    for (uint32_t i = 0; i < 40; i++)
        assert_true(find(&t, i, true) == (i % 2 ? &r[i] : NULL));
    bt_htab_destroy(&t);
}

static void the_table_doubles_when_a_link_would_pass_load_one(void **state)
{
    struct bt_htab t;
    struct rec r[BT_HTAB_INITIAL_BUCKETS * 4 + 1] = {{0}};
    bt_htab_init(&t);
    assert_int_equal(bt_htab_reserve(&t), 0);
    for (uint32_t i = 0; i < BT_HTAB_INITIAL_BUCKETS; i++)
        link_rec(&t, &r[i], i, false);
    assert_int_equal(t.nbuckets, BT_HTAB_INITIAL_BUCKETS);
    link_rec(&t, &r[BT_HTAB_INITIAL_BUCKETS], BT_HTAB_INITIAL_BUCKETS, false);
    assert_int_equal(t.nbuckets, 2 * BT_HTAB_INITIAL_BUCKETS);
    for (uint32_t i = BT_HTAB_INITIAL_BUCKETS + 1; i < BT_HTAB_INITIAL_BUCKETS * 4 + 1; i++)
        link_rec(&t, &r[i], i, false);
    assert_int_equal(t.nbuckets, 8 * BT_HTAB_INITIAL_BUCKETS);
    for (uint32_t i = 0; i < BT_HTAB_INITIAL_BUCKETS * 4 + 1; i++)
        assert_ptr_equal(find(&t, i, false), &r[i]);
    assert_int_equal(count_by_iteration(&t), BT_HTAB_INITIAL_BUCKETS * 4 + 1);
    bt_htab_destroy(&t);
}

static void a_failed_reserve_leaves_the_table_empty(void **state)
{
    struct bt_htab t;
    bt_htab_init(&t);
    fail_callocs = 1;
    assert_int_equal(bt_htab_reserve(&t), BATON_ENOMEM);
    assert_int_equal(t.nbuckets, 0);
    assert_null(t.buckets);
    assert_int_equal(bt_htab_reserve(&t), 0);
    bt_htab_destroy(&t);
}

static void a_failed_doubling_still_links_and_only_lengthens_chains(void **state)
{
    struct bt_htab t;
    struct rec r[100] = {{0}};
    bt_htab_init(&t);
    assert_int_equal(bt_htab_reserve(&t), 0);
    fail_callocs = 1000;
    for (uint32_t i = 0; i < 100; i++)
        link_rec(&t, &r[i], i, false);
    fail_callocs = 0;
    assert_int_equal(t.nbuckets, BT_HTAB_INITIAL_BUCKETS);
    assert_int_equal(t.count, 100);
    for (uint32_t i = 0; i < 100; i++)
        assert_ptr_equal(find(&t, i, false), &r[i]);
    /* The next link that finds memory catches up by one doubling. */
    bt_htab_unlink(&t, &r[99].link);
    link_rec(&t, &r[99], 99, false);
    assert_int_equal(t.nbuckets, 2 * BT_HTAB_INITIAL_BUCKETS);
    for (uint32_t i = 0; i < 100; i++)
        assert_ptr_equal(find(&t, i, false), &r[i]);
    bt_htab_destroy(&t);
}

static void iteration_visits_each_link_once_even_when_unlinking_as_it_goes(void **state)
{
    struct bt_htab t;
    struct rec r[300] = {{0}};
    unsigned seen[300] = {0};
    bt_htab_init(&t);
    assert_int_equal(bt_htab_reserve(&t), 0);
    for (uint32_t i = 0; i < 300; i++)
        link_rec(&t, &r[i], i, i % 7 == 0); /* some share one long chain */
    struct bt_hlink *next;
    for (struct bt_hlink *x = bt_htab_first(&t); x; x = next) {
        next = bt_htab_next(&t, x);
        struct rec *e = BT_HTAB_ENTRY(x, struct rec, link);
        seen[e->key]++;
        if (e->key % 3 == 0)
            bt_htab_unlink(&t, x);
    }
    for (uint32_t i = 0; i < 300; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(t.count, 200);
    assert_int_equal(count_by_iteration(&t), 200);
    for (uint32_t i = 0; i < 300; i++)
        assert_true((find(&t, i, i % 7 == 0) != NULL) == (i % 3 != 0));
    bt_htab_destroy(&t);
}

/* --- seeded runs ---------------------------------------------------------- */

/* The seed comes from BATON_TEST_SEED or a fixed default; a failed check
 * prints it with the command that replays the case. */
struct prop {
    const char *case_name;
    uint64_t seed;
    uint64_t state;
    unsigned long step;
};

#define DEFAULT_SEED UINT64_C(0x6261746f6e687462) /* "batonhtb" */

static void prop_init(struct prop *p, const char *case_name)
{
    const char *env = getenv("BATON_TEST_SEED");
    p->case_name = case_name;
    p->seed = env && *env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
    p->state = p->seed;
    p->step = 0;
}

/* splitmix64 (Steele, Lea, Flood 2014), the simulator's. */
static uint64_t prop_below(struct prop *p, uint64_t n) { return bt_splitmix64(&p->state) % n; }

#define PROP_CHECK(p, cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr,                                                                        \
                    "htab_test: %s failed at step %lu (line %d): %s\n"                             \
                    "replay: BATON_TEST_SEED=%" PRIu64 " build/tests/htab_test %s\n",              \
                    (p)->case_name, (p)->step, __LINE__, #cond, (p)->seed, (p)->case_name);        \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define KEYS 600

static void random_links_and_unlinks_agree_with_a_model(void **state)
{
    struct prop p;
    static struct rec r[KEYS];
    struct bt_htab t;
    size_t linked = 0;

    prop_init(&p, "random_links_and_unlinks_agree_with_a_model");
    memset(r, 0, sizeof r);
    bt_htab_init(&t);
    assert_int_equal(bt_htab_reserve(&t), 0);
    for (p.step = 0; p.step < 20000; p.step++) {
        uint32_t k = (uint32_t)prop_below(&p, KEYS);
        bool collide = k % 11 == 0;
        if (r[k].linked) {
            bt_htab_unlink(&t, &r[k].link);
            r[k].linked = false;
            linked--;
        } else {
            link_rec(&t, &r[k], k, collide);
            linked++;
        }
        PROP_CHECK(&p, t.count == linked);
        PROP_CHECK(&p, t.count <= t.nbuckets && (t.nbuckets & (t.nbuckets - 1)) == 0);
        uint32_t q = (uint32_t)prop_below(&p, KEYS + 10);
        struct rec *got = find(&t, q, q % 11 == 0);
        PROP_CHECK(&p, got == (q < KEYS && r[q].linked ? &r[q] : NULL));
        if (p.step % 500 == 0)
            PROP_CHECK(&p, count_by_iteration(&t) == linked);
    }
    bt_htab_destroy(&t);
}

/* Two tables fed the same keys in the same order, their records laid out in
 * memory in opposite orders, iterate in the same key order. */
static void iteration_order_depends_on_history_not_on_addresses(void **state)
{
    struct prop p;
    static struct rec fwd[KEYS], rev[KEYS];
    struct bt_htab a, b;

    prop_init(&p, "iteration_order_depends_on_history_not_on_addresses");
    memset(fwd, 0, sizeof fwd);
    memset(rev, 0, sizeof rev);
    bt_htab_init(&a);
    bt_htab_init(&b);
    assert_int_equal(bt_htab_reserve(&a), 0);
    assert_int_equal(bt_htab_reserve(&b), 0);
    for (p.step = 0; p.step < 5000; p.step++) {
        uint32_t k = (uint32_t)prop_below(&p, KEYS);
        struct rec *x = &fwd[k], *y = &rev[KEYS - 1 - k];
        if (x->linked) {
            bt_htab_unlink(&a, &x->link);
            bt_htab_unlink(&b, &y->link);
            x->linked = y->linked = false;
        } else {
            link_rec(&a, x, k, k % 5 == 0);
            link_rec(&b, y, k, k % 5 == 0);
        }
        if (p.step % 250 != 0)
            continue;
        const struct bt_hlink *u = bt_htab_first(&a), *v = bt_htab_first(&b);
        while (u && v) {
            PROP_CHECK(&p, BT_HTAB_ENTRY(u, const struct rec, link)->key ==
                               BT_HTAB_ENTRY(v, const struct rec, link)->key);
            u = bt_htab_next(&a, u);
            v = bt_htab_next(&b, v);
        }
        PROP_CHECK(&p, u == NULL && v == NULL);
    }
    bt_htab_destroy(&a);
    bt_htab_destroy(&b);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(a_table_without_buckets_finds_and_iterates_nothing),
    cmocka_unit_test(linked_records_are_found_and_unlinked_ones_are_not),
    cmocka_unit_test(records_under_one_hash_are_told_apart_by_the_predicate),
    cmocka_unit_test(the_table_doubles_when_a_link_would_pass_load_one),
    cmocka_unit_test(a_failed_reserve_leaves_the_table_empty),
    cmocka_unit_test(a_failed_doubling_still_links_and_only_lengthens_chains),
    cmocka_unit_test(iteration_visits_each_link_once_even_when_unlinking_as_it_goes),
    cmocka_unit_test(random_links_and_unlinks_agree_with_a_model),
    cmocka_unit_test(iteration_order_depends_on_history_not_on_addresses),
};

BT_TEST_MAIN(tests)
