/* Tests of src/core/cmap.c: the candidate map's operations, its merge laws
 * (property-style over random maps with colliding keys and tied stamps) and
 * a 100 000-entry scale run. */
#include "unit/test_main.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/cmap.h"
#include "sim/prng.h"
#include "support/oracle.h"

/* --- helpers ---------------------------------------------------------------- */

static struct bt_name name_of(const char *s)
{
    struct bt_name n;
    assert_int_equal(bt_name_set(&n, s, strlen(s)), 0);
    return n;
}

static struct bt_nodeid node_of(const char *s)
{
    struct bt_nodeid id;
    assert_int_equal(bt_nodeid_set(&id, s, strlen(s)), 0);
    return id;
}

static struct bt_cand cand_of(uint64_t candidate_id, int64_t priority, uint64_t boot_id)
{
    struct bt_cand c = {.candidate_id = candidate_id, .priority = priority, .boot_id = boot_id};
    return c;
}

static int add(struct bt_cmap *m, const char *name, const char *node, uint64_t stamp,
               uint64_t candidate_id)
{
    struct bt_name n = name_of(name);
    struct bt_nodeid id = node_of(node);
    struct bt_cand c = cand_of(candidate_id, 0, 1);
    return bt_cmap_add(m, &n, &id, &c, stamp, NULL);
}

static int rem(struct bt_cmap *m, const char *name, const char *node, uint64_t stamp)
{
    struct bt_name n = name_of(name);
    struct bt_nodeid id = node_of(node);
    return bt_cmap_remove(m, &n, &id, stamp, NULL);
}

/* bt_cmap_get() as a whole entry (name included), or NULL. The copy lives
 * in one of four rotating buffers: valid until the fourth call after. */
static const struct bt_centry *getf(const struct bt_cmap *m, const struct bt_name *name,
                                    const struct bt_nodeid *node)
{
    static struct bt_centry ring[4];
    static unsigned next;
    const struct bt_cstored *s = bt_cmap_get(m, name, node);
    if (!s)
        return NULL;
    struct bt_centry *e = &ring[next++ % 4];
    bt_cstored_entry(s, e);
    return e;
}

static const struct bt_centry *get(const struct bt_cmap *m, const char *name, const char *node)
{
    struct bt_name n = name_of(name);
    struct bt_nodeid id = node_of(node);
    return getf(m, &n, &id);
}

/* bt_cmap_foreach() handing fn whole entries (name included). */
struct full_walk {
    int (*fn)(const struct bt_centry *e, void *ctx);
    void *ctx;
};

static int full_visit(const struct bt_cstored *s, void *ctx)
{
    struct full_walk *w = ctx;
    struct bt_centry e;
    bt_cstored_entry(s, &e);
    return w->fn(&e, w->ctx);
}

static int foreach_full(const struct bt_cmap *m, int (*fn)(const struct bt_centry *e, void *ctx),
                        void *ctx)
{
    struct full_walk w = {.fn = fn, .ctx = ctx};
    return bt_cmap_foreach(m, full_visit, &w);
}

static size_t entries_of(const struct bt_cmap *m, const char *name,
                         const struct bt_cstored *const **out)
{
    struct bt_name n = name_of(name);
    return bt_cmap_entries(m, &n, out);
}

/* Entries of a map, copied out (the map must not change under foreach). */
struct entry_list {
    struct bt_centry *e;
    size_t n, cap;
};

static int list_visit(const struct bt_centry *e, void *ctx)
{
    struct entry_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
        assert_non_null(l->e);
    }
    l->e[l->n++] = *e;
    return 0;
}

/* Merges every entry of src into dst with bt_cmap_merge_entry(), the way
 * replicas merge what they receive. Returns how many changed dst, or the
 * first error. src == dst is allowed. */
static int merge_all(struct bt_cmap *dst, const struct bt_cmap *src)
{
    struct entry_list l = {0};
    foreach_full(src, list_visit, &l);
    int changed = 0;
    for (size_t i = 0; i < l.n; i++) {
        int r = bt_cmap_merge_entry(dst, &l.e[i]);
        if (r < 0) {
            free(l.e);
            return r;
        }
        changed += r;
    }
    free(l.e);
    return changed;
}

static void copy_map(struct bt_cmap *dst, const struct bt_cmap *src)
{
    bt_cmap_init(dst);
    assert_true(merge_all(dst, src) >= 0);
}

/* What a walk over the whole map finds, to check the counters against. */
struct census {
    const struct bt_cmap *m;
    size_t names, entries, live;
    const struct bt_cstored *prev; /* previous entry visited */
    int bad;                       /* line-independent reason code, 0 if fine */
};

static int census_visit(const struct bt_cstored *e, void *ctx)
{
    struct census *c = ctx;
    if (!c->prev || !bt_name_eq(c->prev->name, e->name))
        c->names++;
    else if (bt_nodeid_cmp(&c->prev->node, &e->node) >= 0)
        c->bad = 1; /* entries of a name not strictly sorted by node */
    else if (c->prev->name != e->name)
        c->bad = 4; /* entries of a name not sharing its copy of the name */
    if (bt_cmap_get(c->m, e->name, &e->node) != e)
        c->bad = 2; /* get does not find what foreach visits */
    if (e->removed && (e->cand.candidate_id || e->cand.priority || e->cand.boot_id))
        c->bad = 3; /* a tombstone kept candidacy fields */
    c->entries++;
    if (!e->removed)
        c->live++;
    c->prev = e;
    return 0;
}

/* Returns 0 when the map's counters, order and lookups agree with a full
 * walk, else a nonzero reason. */
static int map_check(const struct bt_cmap *m)
{
    struct census c = {.m = m};
    assert_int_equal(bt_cmap_foreach(m, census_visit, &c), 0);
    if (c.bad)
        return c.bad;
    if (c.names != m->names.count)
        return 10;
    if (c.entries != m->nentries)
        return 11;
    if (c.live != m->nlive)
        return 12;
    return 0;
}

/* The order bt_centry_cmp() must implement, written independently: stamp,
 * then a tombstone above a live entry, then candidate id, priority (signed),
 * boot id. */
static int ref_cmp(const struct bt_centry *a, const struct bt_centry *b)
{
    if (a->stamp != b->stamp)
        return a->stamp < b->stamp ? -1 : 1;
    if (a->removed != b->removed)
        return a->removed ? 1 : -1;
    if (a->cand.candidate_id != b->cand.candidate_id)
        return a->cand.candidate_id < b->cand.candidate_id ? -1 : 1;
    if (a->cand.priority != b->cand.priority)
        return a->cand.priority < b->cand.priority ? -1 : 1;
    if (a->cand.boot_id != b->cand.boot_id)
        return a->cand.boot_id < b->cand.boot_id ? -1 : 1;
    return 0;
}

static bool same_entry(const struct bt_centry *a, const struct bt_centry *b)
{
    return bt_name_eq(&a->name, &b->name) && bt_nodeid_eq(&a->node, &b->node) &&
           a->stamp == b->stamp && a->removed == b->removed &&
           a->cand.candidate_id == b->cand.candidate_id && a->cand.priority == b->cand.priority &&
           a->cand.boot_id == b->cand.boot_id;
}

static int same_visit(const struct bt_centry *e, void *ctx)
{
    const struct bt_cmap *other = ctx;
    const struct bt_centry *o = getf(other, &e->name, &e->node);
    return !o || !same_entry(e, o);
}

/* Map equality checked without bt_cmap_equal() or bt_centry_cmp(), and
 * required to agree with bt_cmap_equal(). */
static bool same_map(const struct bt_cmap *a, const struct bt_cmap *b)
{
    bool same = a->nentries == b->nentries && foreach_full(a, same_visit, (void *)b) == 0;
    return same && bt_cmap_equal(a, b);
}

/* --- operations --------------------------------------------------------------- */

static void add_then_get_returns_the_live_entry(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(m.nlive, 0);
    assert_null(get(&m, "roller", "n1"));

    struct bt_name n = name_of("roller");
    struct bt_nodeid id = node_of("n1");
    struct bt_cand c = cand_of(7, -3, 99);
    struct bt_centry out;
    assert_int_equal(bt_cmap_add(&m, &n, &id, &c, 100, &out), 1);

    const struct bt_centry *e = get(&m, "roller", "n1");
    assert_non_null(e);
    assert_false(e->removed);
    assert_int_equal(e->stamp, 100);
    assert_int_equal(e->cand.candidate_id, 7);
    assert_int_equal(e->cand.priority, -3);
    assert_int_equal(e->cand.boot_id, 99);
    assert_true(bt_name_eq(&e->name, &n));
    assert_true(bt_nodeid_eq(&e->node, &id));
    assert_int_equal(bt_centry_cmp(&out, e), 0);
    assert_true(bt_nodeid_eq(&out.node, &id));
    assert_true(m.nlive > 0);
    assert_int_equal(m.names.count, 1);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.nlive, 1);
    assert_null(get(&m, "roller", "n2"));
    assert_null(get(&m, "other", "n1"));
    assert_int_equal(map_check(&m), 0);
    bt_cmap_destroy(&m);
}

static void remove_leaves_a_tombstone_visible_via_get(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(add(&m, "roller", "n1", 100, 7), 1);
    struct bt_name n = name_of("roller");
    struct bt_nodeid id = node_of("n1");
    struct bt_centry out;
    assert_int_equal(bt_cmap_remove(&m, &n, &id, 101, &out), 1);
    assert_true(out.removed);
    assert_int_equal(out.stamp, 101);

    const struct bt_centry *e = get(&m, "roller", "n1");
    assert_non_null(e);
    assert_true(e->removed);
    assert_int_equal(e->stamp, 101);
    assert_int_equal(e->cand.candidate_id, 0);
    assert_int_equal(e->cand.priority, 0);
    assert_int_equal(e->cand.boot_id, 0);
    assert_int_equal(m.nlive, 0);
    assert_int_equal(m.names.count, 1);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.nlive, 0);

    /* A later add by the owner revives the key. */
    assert_int_equal(add(&m, "roller", "n1", 102, 8), 1);
    assert_false(get(&m, "roller", "n1")->removed);
    assert_int_equal(m.nlive, 1);
    assert_int_equal(map_check(&m), 0);
    bt_cmap_destroy(&m);
}

static void older_and_repeated_writes_change_nothing(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(add(&m, "x", "n1", 10, 1), 1);
    assert_int_equal(add(&m, "x", "n1", 10, 1), 0); /* the same entry again */
    assert_int_equal(add(&m, "x", "n1", 9, 5), 0);  /* older */
    assert_int_equal(rem(&m, "x", "n1", 9), 0);     /* older tombstone */
    assert_int_equal(get(&m, "x", "n1")->cand.candidate_id, 1);
    assert_false(get(&m, "x", "n1")->removed);

    struct bt_centry copy = *get(&m, "x", "n1");
    assert_int_equal(bt_cmap_merge_entry(&m, &copy), 0);
    copy.stamp = 11;
    assert_int_equal(bt_cmap_merge_entry(&m, &copy), 1);
    assert_int_equal(get(&m, "x", "n1")->stamp, 11);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.nlive, 1);
    bt_cmap_destroy(&m);
}

static void equal_stamps_break_ties_tombstone_first_then_values(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(add(&m, "x", "n1", 5, 1), 1);
    assert_int_equal(add(&m, "x", "n1", 5, 2), 1); /* greater candidate id wins */
    assert_int_equal(add(&m, "x", "n1", 5, 1), 0);
    assert_int_equal(get(&m, "x", "n1")->cand.candidate_id, 2);
    assert_int_equal(rem(&m, "x", "n1", 5), 1); /* tombstone above any live entry */
    assert_int_equal(add(&m, "x", "n1", 5, UINT64_MAX), 0);
    assert_true(get(&m, "x", "n1")->removed);
    assert_int_equal(m.nlive, 0);

    /* The order itself: stamp, removed, candidate id, priority, boot id. */
    struct bt_centry a = {.stamp = 5, .cand = cand_of(1, 9, 9)};
    struct bt_centry b = a;
    assert_int_equal(bt_centry_cmp(&a, &b), 0);
    b.stamp = 6;
    assert_int_equal(bt_centry_cmp(&a, &b), -1);
    assert_int_equal(bt_centry_cmp(&b, &a), 1);
    b = a;
    b.removed = true;
    b.cand = cand_of(0, 0, 0);
    assert_int_equal(bt_centry_cmp(&a, &b), -1);
    b = a;
    b.cand.candidate_id = 2;
    b.cand.priority = -100;
    assert_int_equal(bt_centry_cmp(&a, &b), -1);
    b = a;
    b.cand.priority = -1;
    assert_int_equal(bt_centry_cmp(&a, &b), 1); /* priority compares signed */
    b = a;
    b.cand.boot_id = 10;
    assert_int_equal(bt_centry_cmp(&a, &b), -1);
    bt_cmap_destroy(&m);
}

static void tombstones_are_stored_without_candidacy_fields(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    struct bt_centry t = {.name = name_of("x"),
                          .node = node_of("n1"),
                          .stamp = 3,
                          .removed = true,
                          .cand = cand_of(4, 5, 6)};
    assert_int_equal(bt_cmap_merge_entry(&m, &t), 1);
    const struct bt_centry *e = get(&m, "x", "n1");
    assert_true(e->removed);
    assert_int_equal(e->cand.candidate_id, 0);
    assert_int_equal(e->cand.priority, 0);
    assert_int_equal(e->cand.boot_id, 0);
    /* A tombstone that differs only in fields tombstones do not carry is
     * the same entry. */
    t.cand = cand_of(9, 9, 9);
    assert_int_equal(bt_cmap_merge_entry(&m, &t), 0);
    assert_int_equal(map_check(&m), 0);
    bt_cmap_destroy(&m);
}

static void merge_entry_rejects_invalid_keys_and_leaves_the_map_alone(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(add(&m, "x", "n1", 1, 1), 1);

    struct bt_centry e = {.name = name_of("x"), .node = node_of("n2"), .stamp = 2};
    struct bt_centry bad = e;
    bad.node.len = 0;
    assert_int_equal(bt_cmap_merge_entry(&m, &bad), BATON_EINVAL);
    bad = e;
    bad.node.len = BATON_NODE_MAX + 1;
    memset(bad.node.bytes, 'a', sizeof bad.node.bytes);
    assert_int_equal(bt_cmap_merge_entry(&m, &bad), BATON_EINVAL);
    bad = e;
    bad.node.bytes[0] = '/';
    assert_int_equal(bt_cmap_merge_entry(&m, &bad), BATON_EINVAL);
    bad = e;
    bad.name.len = 0;
    assert_int_equal(bt_cmap_merge_entry(&m, &bad), BATON_EINVAL);
    struct bt_cand c = cand_of(1, 1, 1);
    assert_int_equal(bt_cmap_add(&m, &bad.name, &e.node, &c, 3, NULL), BATON_EINVAL);
    assert_int_equal(bt_cmap_remove(&m, &e.name, &(struct bt_nodeid){.len = 0}, 3, NULL),
                     BATON_EINVAL);

    /* Lookups with an oversized node length find nothing and read nothing
     * out of bounds. */
    struct bt_nodeid huge = {.len = 200};
    assert_null(bt_cmap_get(&m, &e.name, &huge));
    assert_int_equal(bt_cmap_forget(&m, &e.name, &huge), 0);

    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.names.count, 1);
    assert_int_equal(bt_cmap_merge_entry(&m, &e), 1);
    assert_int_equal(m.nentries, 2);
    bt_cmap_destroy(&m);
}

/* The search compares 8-byte keys before whole names: names that share
 * their first 8 bytes, or are shorter, or one a prefix of another, still
 * sort bytewise and are each found. */
static void names_sharing_their_first_8_bytes_sort_and_are_found(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    const char *inserted[] = {"node-aaa2", "node-aaa10", "n",        "node-aaa1",   "node-aa",
                              "node-aaa",  "node-aaaZ",  "node-aab", "node-aaa1-x", "node"};
    const char *sorted[] = {"n",           "node",       "node-aa",   "node-aaa",  "node-aaa1",
                            "node-aaa1-x", "node-aaa10", "node-aaa2", "node-aaaZ", "node-aab"};
    const size_t count = sizeof inserted / sizeof inserted[0];
    for (size_t i = 0; i < count; i++)
        assert_int_equal(add(&m, "x", inserted[i], 10 + i, i + 1), 1);
    const struct bt_cstored *const *list;
    assert_int_equal(entries_of(&m, "x", &list), count);
    for (size_t i = 0; i < count; i++) {
        assert_string_equal(list[i]->node.bytes, sorted[i]);
        const struct bt_centry *e = get(&m, "x", sorted[i]);
        assert_non_null(e);
        assert_string_equal(e->node.bytes, sorted[i]);
        /* A newer write replaces that entry, not a neighbour's. */
        assert_int_equal(add(&m, "x", sorted[i], 100 + i, 50 + i), 1);
    }
    assert_int_equal(entries_of(&m, "x", &list), count);
    assert_null(get(&m, "x", "node-aaa3"));
    struct bt_name x = name_of("x");
    struct bt_nodeid gone = node_of("node-aaa10");
    assert_int_equal(bt_cmap_forget(&m, &x, &gone), 1);
    assert_null(get(&m, "x", "node-aaa10"));
    assert_non_null(get(&m, "x", "node-aaa2"));
    assert_int_equal(map_check(&m), 0);
    bt_cmap_destroy(&m);
}

static void entries_are_sorted_by_node_with_a_prefix_first(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    /* Bytewise: '-' (0x2d) < '.' (0x2e) < 'b' (0x62); "a" is a prefix of all. */
    const char *inserted[] = {"b", "ab", "a.", "a", "a-", "aa", "B", "a0"};
    const char *sorted[] = {"B", "a", "a-", "a.", "a0", "aa", "ab", "b"};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(add(&m, "x", inserted[i], 10 + i, i), 1);
    assert_int_equal(rem(&m, "x", "a.", 100), 1);
    assert_int_equal(rem(&m, "x", "b", 100), 1);

    const struct bt_cstored *const *list;
    size_t n = entries_of(&m, "x", &list);
    assert_int_equal(n, 8);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(list[i]->node.bytes, sorted[i]);

    /* The live listing is the entries without their tombstones. */
    const char *live[] = {"B", "a", "a-", "a0", "aa", "ab"};
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!list[i]->removed)
            assert_string_equal(list[i]->node.bytes, live[k++]);
    assert_int_equal(k, 6);
    assert_int_equal(m.nlive, 6);

    assert_int_equal(entries_of(&m, "nobody", &list), 0);
    assert_null(list);
    assert_int_equal(map_check(&m), 0);
    bt_cmap_destroy(&m);
}

static void counts_track_names_entries_and_live_entries(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(add(&m, "a", "n1", 1, 1), 1);
    assert_int_equal(add(&m, "a", "n2", 1, 1), 1);
    assert_int_equal(add(&m, "b", "n1", 1, 1), 1);
    assert_int_equal(rem(&m, "c", "n1", 1), 1);
    assert_int_equal(m.names.count, 3);
    assert_int_equal(m.nentries, 4);
    assert_int_equal(m.nlive, 3);
    assert_int_equal(rem(&m, "a", "n1", 2), 1);
    assert_int_equal(m.nlive, 2);
    assert_int_equal(add(&m, "c", "n1", 2, 1), 1);
    assert_int_equal(m.nlive, 3);
    assert_int_equal(m.nentries, 4);
    assert_int_equal(map_check(&m), 0);

    /* Destroy empties the map and leaves it reusable. */
    bt_cmap_destroy(&m);
    assert_int_equal(m.names.count, 0);
    assert_int_equal(m.nentries, 0);
    assert_int_equal(m.nlive, 0);
    assert_int_equal(add(&m, "a", "n1", 1, 1), 1);
    assert_int_equal(map_check(&m), 0);
    bt_cmap_destroy(&m);
}

struct stop_after {
    int visits;
    int limit;
};

static int stop_after_visit(const struct bt_centry *e, void *ctx)
{
    struct stop_after *s = ctx;
    return ++s->visits == s->limit ? 42 : 0;
}

static void foreach_visits_every_entry_and_stops_early(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    char name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "name%d", i);
        assert_int_equal(add(&m, name, "n1", 1, 1), 1);
        assert_int_equal(rem(&m, name, "n2", 1), 1);
    }
    struct stop_after s = {.limit = 1000};
    assert_int_equal(foreach_full(&m, stop_after_visit, &s), 0);
    assert_int_equal(s.visits, 20);
    s = (struct stop_after){.limit = 7};
    assert_int_equal(foreach_full(&m, stop_after_visit, &s), 42);
    assert_int_equal(s.visits, 7);
    bt_cmap_destroy(&m);
}

static void forget_drops_one_entry_and_frees_an_emptied_name(void **state)
{
    struct bt_cmap m;
    bt_cmap_init(&m);
    assert_int_equal(add(&m, "x", "n1", 1, 1), 1);
    assert_int_equal(rem(&m, "x", "n2", 1), 1);
    assert_int_equal(add(&m, "x", "n3", 1, 1), 1);
    assert_int_equal(add(&m, "y", "n1", 1, 1), 1);

    struct bt_name x = name_of("x");
    struct bt_nodeid n1 = node_of("n1"), n2 = node_of("n2"), n3 = node_of("n3");
    assert_int_equal(bt_cmap_forget(&m, &x, &n2), 1);
    assert_int_equal(bt_cmap_forget(&m, &x, &n2), 0);
    assert_int_equal(m.nentries, 3);
    assert_int_equal(m.nlive, 3);
    assert_int_equal(bt_cmap_forget(&m, &x, &n1), 1);
    assert_int_equal(m.names.count, 2);
    assert_int_equal(bt_cmap_forget(&m, &x, &n3), 1);
    assert_int_equal(m.names.count, 1);
    assert_int_equal(m.nentries, 1);
    assert_int_equal(m.nlive, 1);
    assert_null(get(&m, "x", "n3"));
    assert_non_null(get(&m, "y", "n1"));
    assert_int_equal(map_check(&m), 0);

    /* A forgotten key accepts even an older entry again: that is what
     * forget means, and why only dead boots' state may be forgotten. */
    assert_int_equal(add(&m, "x", "n1", 0, 1), 1);
    assert_int_equal(m.names.count, 2);
    bt_cmap_destroy(&m);
}

static void equal_compares_every_field_but_not_insertion_order(void **state)
{
    struct bt_cmap a, b;
    bt_cmap_init(&a);
    bt_cmap_init(&b);
    assert_true(bt_cmap_equal(&a, &b));
    assert_int_equal(add(&a, "x", "n1", 1, 1), 1);
    assert_int_equal(add(&a, "x", "n2", 2, 1), 1);
    assert_int_equal(rem(&a, "y", "n1", 3), 1);
    assert_false(bt_cmap_equal(&a, &b));
    assert_int_equal(rem(&b, "y", "n1", 3), 1);
    assert_int_equal(add(&b, "x", "n2", 2, 1), 1);
    assert_int_equal(add(&b, "x", "n1", 1, 1), 1);
    assert_true(bt_cmap_equal(&a, &b));
    assert_true(bt_cmap_equal(&b, &a));

    /* Change one field at a time in a copy. */
    struct bt_name x = name_of("x");
    struct bt_nodeid n1 = node_of("n1");
    for (int field = 0; field < 5; field++) {
        struct bt_cmap c;
        copy_map(&c, &a);
        assert_true(bt_cmap_equal(&a, &c));
        struct bt_centry e = *get(&a, "x", "n1");
        assert_int_equal(bt_cmap_forget(&c, &x, &n1), 1);
        switch (field) {
        case 0: e.stamp++; break;
        case 1:
            e.removed = true;
            e.cand = cand_of(0, 0, 0);
            break;
        case 2: e.cand.candidate_id++; break;
        case 3: e.cand.priority--; break;
        case 4: e.cand.boot_id++; break;
        }
        assert_int_equal(bt_cmap_merge_entry(&c, &e), 1);
        assert_false(bt_cmap_equal(&a, &c));
        assert_false(bt_cmap_equal(&c, &a));
        bt_cmap_destroy(&c);
    }
    /* Same counts, different keys. */
    struct bt_cmap d;
    bt_cmap_init(&d);
    assert_int_equal(add(&d, "x", "n1", 1, 1), 1);
    assert_int_equal(add(&d, "x", "n3", 2, 1), 1);
    assert_int_equal(rem(&d, "y", "n1", 3), 1);
    assert_false(bt_cmap_equal(&a, &d));
    bt_cmap_destroy(&d);
    bt_cmap_destroy(&a);
    bt_cmap_destroy(&b);
}

/* --- property tests ------------------------------------------------------------ */

/* A seeded run: the seed comes from BATON_TEST_SEED or a fixed default, and
 * every failed check prints it with the command that replays the case. */
struct prop {
    const char *case_name;
    uint64_t seed;
    uint64_t state;
    unsigned long iteration;
};

#define DEFAULT_SEED UINT64_C(0x6261746f6e636d70) /* "batoncmp" */

static void prop_init(struct prop *p, const char *case_name)
{
    const char *env = getenv("BATON_TEST_SEED");
    p->case_name = case_name;
    p->seed = env && *env ? strtoull(env, NULL, 0) : DEFAULT_SEED;
    p->state = p->seed;
    p->iteration = 0;
}

/* splitmix64 (Steele, Lea, Flood 2014), the simulator's. */
static uint64_t prop_next(struct prop *p) { return bt_splitmix64(&p->state); }

static uint64_t prop_below(struct prop *p, uint64_t n) { return prop_next(p) % n; }

static void prop_report(const struct prop *p, const char *what, int line)
{
    fprintf(stderr,
            "cmap_test: %s failed at iteration %lu (line %d): %s\n"
            "replay: BATON_TEST_SEED=%" PRIu64 " build/tests/cmap_test %s\n",
            p->case_name, p->iteration, line, what, p->seed, p->case_name);
}

#define PROP_CHECK(p, cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            prop_report((p), #cond, __LINE__);                                                     \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* The small key space: 3 names x 4 nodes (one a prefix of another), so
 * random maps share keys, and stamps 1..3, so equal stamps are common. */
static const char *const small_names[] = {"alpha", "beta", "gamma"};
static const char *const small_nodes[] = {"a", "ab", "b", "n-1"};

static struct bt_centry random_small_entry(struct prop *p)
{
    struct bt_centry e;
    memset(&e, 0, sizeof e);
    e.name = name_of(small_names[prop_below(p, 3)]);
    e.node = node_of(small_nodes[prop_below(p, 4)]);
    e.stamp = 1 + prop_below(p, 3);
    e.removed = prop_below(p, 3) == 0;
    /* Tombstones get random candidacy fields too: merge must normalise them. */
    e.cand = cand_of(prop_below(p, 2), (int64_t)prop_below(p, 3) - 1, prop_below(p, 2));
    return e;
}

static void random_small_map(struct prop *p, struct bt_cmap *m)
{
    bt_cmap_init(m);
    uint64_t n = prop_below(p, 10);
    for (uint64_t i = 0; i < n; i++) {
        struct bt_centry e = random_small_entry(p);
        PROP_CHECK(p, bt_cmap_merge_entry(m, &e) >= 0);
    }
}

struct bound_ctx {
    const struct bt_cmap *a, *b; /* the inputs */
    int bad;
};

/* Every entry of the merge is the greater of the inputs' entries of its key,
 * and comes from one of them. */
static int bound_visit(const struct bt_centry *e, void *ctx)
{
    struct bound_ctx *c = ctx;
    const struct bt_centry *ea = getf(c->a, &e->name, &e->node);
    const struct bt_centry *eb = getf(c->b, &e->name, &e->node);
    const struct bt_centry *want = ea;
    if (!want || (eb && ref_cmp(eb, ea) > 0))
        want = eb;
    if (!want || !same_entry(e, want))
        c->bad = 1;
    return 0;
}

/* Every key of an input is in the merge with an entry at least as great. */
static int covered_visit(const struct bt_centry *e, void *ctx)
{
    const struct bt_cmap *merged = ctx;
    const struct bt_centry *got = getf(merged, &e->name, &e->node);
    return !got || ref_cmp(got, e) < 0;
}

struct tie_count {
    const struct bt_cmap *other;
    unsigned long ties;           /* same key, same stamp, different entry */
    unsigned long tombstone_ties; /* ... one of them a tombstone */
    unsigned long value_ties;     /* ... both live, different candidacy */
    unsigned long changes;        /* entries of the visited map greater than other's */
    unsigned long misordered;     /* pairs bt_centry_cmp() orders unlike ref_cmp() */
};

static int tie_visit(const struct bt_centry *e, void *ctx)
{
    struct tie_count *t = ctx;
    const struct bt_centry *o = getf(t->other, &e->name, &e->node);
    if (!o || ref_cmp(e, o) > 0)
        t->changes++;
    if (o && (bt_centry_cmp(e, o) != ref_cmp(e, o) || bt_centry_cmp(o, e) != ref_cmp(o, e)))
        t->misordered++;
    if (o && o->stamp == e->stamp && ref_cmp(o, e) != 0) {
        t->ties++;
        if (o->removed != e->removed)
            t->tombstone_ties++;
        else if (!o->removed)
            t->value_ties++;
    }
    return 0;
}

static void merge_is_commutative_associative_idempotent_and_an_upper_bound(void **state)
{
    struct prop p;
    prop_init(&p, "merge_is_commutative_associative_idempotent_and_an_upper_bound");
    struct tie_count total = {0};

    for (p.iteration = 0; p.iteration < 10000; p.iteration++) {
        struct bt_cmap a, b, c;
        random_small_map(&p, &a);
        random_small_map(&p, &b);
        random_small_map(&p, &c);
        PROP_CHECK(&p, map_check(&a) == 0 && map_check(&b) == 0 && map_check(&c) == 0);

        struct tie_count t = {.other = &a};
        foreach_full(&b, tie_visit, &t);
        total.ties += t.ties;
        total.tombstone_ties += t.tombstone_ties;
        total.value_ties += t.value_ties;
        PROP_CHECK(&p, t.misordered == 0);

        /* Commutative, and the change count is what B brings that A lacks. */
        struct bt_cmap ab, ba;
        bt_cmap_init(&ab);
        PROP_CHECK(&p, merge_all(&ab, &a) == (int)a.nentries);
        PROP_CHECK(&p, merge_all(&ab, &b) == (int)t.changes);
        copy_map(&ba, &b);
        PROP_CHECK(&p, merge_all(&ba, &a) >= 0);
        PROP_CHECK(&p, same_map(&ab, &ba));
        PROP_CHECK(&p, map_check(&ab) == 0 && map_check(&ba) == 0);

        /* Associative. */
        struct bt_cmap ab_c, bc, a_bc;
        copy_map(&ab_c, &ab);
        PROP_CHECK(&p, merge_all(&ab_c, &c) >= 0);
        copy_map(&bc, &b);
        PROP_CHECK(&p, merge_all(&bc, &c) >= 0);
        copy_map(&a_bc, &a);
        PROP_CHECK(&p, merge_all(&a_bc, &bc) >= 0);
        PROP_CHECK(&p, same_map(&ab_c, &a_bc));
        PROP_CHECK(&p, map_check(&ab_c) == 0 && map_check(&a_bc) == 0);

        /* Idempotent, through a copy and in place. */
        struct bt_cmap aa;
        copy_map(&aa, &a);
        PROP_CHECK(&p, same_map(&aa, &a));
        PROP_CHECK(&p, merge_all(&aa, &a) == 0);
        PROP_CHECK(&p, same_map(&aa, &a));
        PROP_CHECK(&p, merge_all(&aa, &aa) == 0);
        PROP_CHECK(&p, merge_all(&ab, &b) == 0 && merge_all(&ab, &a) == 0);

        /* An upper bound: every key of A and B, each with the greatest entry,
         * and nothing else. */
        struct bound_ctx bound = {.a = &a, .b = &b};
        foreach_full(&ab, bound_visit, &bound);
        PROP_CHECK(&p, bound.bad == 0);
        PROP_CHECK(&p, foreach_full(&a, covered_visit, &ab) == 0);
        PROP_CHECK(&p, foreach_full(&b, covered_visit, &ab) == 0);

        bt_cmap_destroy(&a);
        bt_cmap_destroy(&b);
        bt_cmap_destroy(&c);
        bt_cmap_destroy(&ab);
        bt_cmap_destroy(&ba);
        bt_cmap_destroy(&ab_c);
        bt_cmap_destroy(&bc);
        bt_cmap_destroy(&a_bc);
        bt_cmap_destroy(&aa);
    }

    /* The run must have exercised equal-stamp ties of every kind. */
    p.iteration = 10000;
    fprintf(stderr,
            "cmap_test: seed %" PRIu64
            ": %lu equal-stamp ties, %lu live/tombstone, %lu live/live\n",
            p.seed, total.ties, total.tombstone_ties, total.value_ties);
    PROP_CHECK(&p, total.ties >= 1000);
    PROP_CHECK(&p, total.tombstone_ties >= 300);
    PROP_CHECK(&p, total.value_ties >= 300);
}

/* --- scale --------------------------------------------------------------------- */

#define SCALE_NAMES 1000
#define SCALE_NODES 100

static void scale_name(char *buf, size_t cap, int i) { snprintf(buf, cap, "campaign-%04d", i); }
static void scale_node(char *buf, size_t cap, int j) { snprintf(buf, cap, "node-%03d.example", j); }

static void scale_100k_entries_over_1000_names_merge_list_and_forget(void **state)
{
    struct prop p;
    prop_init(&p, "scale_100k_entries_over_1000_names_merge_list_and_forget");
    char name[32], node[32];

    /* A: even nodes, live at stamp 1000, inserted in random order. */
    size_t npairs = SCALE_NAMES * (SCALE_NODES / 2);
    uint32_t *order = malloc(npairs * sizeof *order);
    assert_non_null(order);
    for (size_t k = 0; k < npairs; k++)
        order[k] = (uint32_t)k;
    for (size_t k = npairs - 1; k > 0; k--) {
        size_t r = prop_below(&p, k + 1);
        uint32_t tmp = order[k];
        order[k] = order[r];
        order[r] = tmp;
    }
    struct bt_cmap a;
    bt_cmap_init(&a);
    for (size_t k = 0; k < npairs; k++) {
        scale_name(name, sizeof name, (int)(order[k] / (SCALE_NODES / 2)));
        scale_node(node, sizeof node, (int)(order[k] % (SCALE_NODES / 2)) * 2);
        PROP_CHECK(&p, add(&a, name, node, 1000, order[k]) == 1);
    }
    free(order);
    PROP_CHECK(&p, a.names.count == SCALE_NAMES && a.nentries == npairs && a.nlive == npairs);

    /* B: odd nodes, with node % 4 == 3 an old tombstone (stamp 500); and,
     * for the first 100 names, newer tombstones (stamp 2000) over A's even
     * nodes. */
    struct bt_cmap b;
    bt_cmap_init(&b);
    for (int i = 0; i < SCALE_NAMES; i++) {
        scale_name(name, sizeof name, i);
        for (int j = 0; j < SCALE_NODES; j++) {
            scale_node(node, sizeof node, j);
            int r = 0;
            if (j % 4 == 3)
                r = rem(&b, name, node, 500);
            else if (j % 2 == 1)
                r = add(&b, name, node, 1500, (uint64_t)j);
            else if (i < 100)
                r = rem(&b, name, node, 2000);
            else
                continue;
            PROP_CHECK(&p, r == 1);
        }
    }

    /* Merge: 100 000 entries, 25 000 old tombstones, 5 000 new ones. */
    struct bt_cmap m;
    copy_map(&m, &a);
    PROP_CHECK(&p, merge_all(&m, &b) == (int)b.nentries);
    PROP_CHECK(&p, m.names.count == SCALE_NAMES);
    PROP_CHECK(&p, m.nentries == 100000);
    PROP_CHECK(&p, m.nlive == 100000 - 25000 - 5000);
    PROP_CHECK(&p, merge_all(&m, &a) == 0 && merge_all(&m, &b) == 0);
    PROP_CHECK(&p, map_check(&m) == 0);

    /* The other order gives the same map. */
    struct bt_cmap m2;
    copy_map(&m2, &b);
    PROP_CHECK(&p, merge_all(&m2, &a) == 50000 - 5000);
    PROP_CHECK(&p, same_map(&m, &m2));
    bt_cmap_destroy(&m2);

    /* Listing: every name has all its nodes, in order. */
    for (int i = 0; i < SCALE_NAMES; i++) {
        scale_name(name, sizeof name, i);
        const struct bt_cstored *const *list;
        size_t n = entries_of(&m, name, &list);
        PROP_CHECK(&p, n == SCALE_NODES);
        for (int j = 0; j < SCALE_NODES; j++) {
            scale_node(node, sizeof node, j);
            PROP_CHECK(&p, strcmp(list[j]->node.bytes, node) == 0);
            PROP_CHECK(&p, list[j]->removed == (j % 4 == 3 || (j % 2 == 0 && i < 100)));
        }
    }

    /* A small delta per name (one new live node each). */
    struct bt_cmap small;
    bt_cmap_init(&small);
    for (int i = 0; i < SCALE_NAMES; i++) {
        scale_name(name, sizeof name, i);
        PROP_CHECK(&p, add(&small, name, "extra", 3000, 1) == 1);
    }
    PROP_CHECK(&p, merge_all(&m, &small) == SCALE_NAMES);
    PROP_CHECK(&p, m.nentries == 101000 && m.nlive == 71000);
    bt_cmap_destroy(&small);

    PROP_CHECK(&p, m.names.count == SCALE_NAMES);
    /* The name table grew with the names (load at most 3/4). */
    PROP_CHECK(&p, m.names.nbuckets >= m.names.count &&
                       (m.names.nbuckets & (m.names.nbuckets - 1)) == 0);
    PROP_CHECK(&p, map_check(&m) == 0);

    /* Forgetting every entry of a name frees it. */
    struct bt_name victim = name_of("campaign-0000");
    const struct bt_cstored *const *list;
    size_t left;
    while ((left = bt_cmap_entries(&m, &victim, &list)) > 0) {
        struct bt_nodeid id;
        bt_nodeid_copy(&id, &list[left - 1]->node);
        PROP_CHECK(&p, bt_cmap_forget(&m, &victim, &id) == 1);
    }
    PROP_CHECK(&p, m.names.count == SCALE_NAMES - 1);
    PROP_CHECK(&p, map_check(&m) == 0);

    bt_cmap_destroy(&a);
    bt_cmap_destroy(&b);
    bt_cmap_destroy(&m);
}

/* --- the live-entry digest ---------------------------------------------------- */

static int xor_live(const struct bt_centry *e, void *ctx)
{
    uint64_t *d = ctx;
    if (!e->removed)
        d[bt_cmap_digest_bucket(&e->name)] ^= bt_cmap_digest_term(e);
    return 0;
}

/* The incremental digest equals the one computed from scratch. */
static void assert_digest_exact(const struct bt_cmap *m)
{
    uint64_t d[BT_CMAP_DIGEST_BUCKETS] = {0};
    foreach_full(m, xor_live, d);
    assert_memory_equal(d, m->digest, sizeof d);
}

static int merge_into(const struct bt_centry *e, void *ctx)
{
    return bt_cmap_merge_entry(ctx, e) < 0;
}

static bool digest_zero(const struct bt_cmap *m)
{
    for (size_t b = 0; b < BT_CMAP_DIGEST_BUCKETS; b++)
        if (m->digest[b] != 0)
            return false;
    return true;
}

static void digest_covers_live_entries_only_in_any_order(void **state)
{
    (void)state;
    struct bt_cmap a, b, c;
    bt_cmap_init(&a);
    bt_cmap_init(&b);
    bt_cmap_init(&c);
    assert_true(digest_zero(&a));
    /* Tombstones are not in it: each replica forgets them on its own. */
    assert_int_equal(rem(&a, "gone", "n9", 5), 1);
    assert_true(digest_zero(&a));

    assert_int_equal(add(&a, "name-1", "n1", 10, 7), 1);
    assert_int_equal(add(&a, "name-2", "n2", 11, 8), 1);
    assert_int_equal(add(&a, "name-2", "n3", 12, 9), 1);
    assert_int_equal(add(&b, "name-2", "n3", 12, 9), 1);
    assert_int_equal(add(&b, "name-1", "n1", 10, 7), 1);
    assert_int_equal(add(&b, "name-2", "n2", 11, 8), 1);
    assert_memory_equal(a.digest, b.digest, sizeof a.digest);
    assert_false(digest_zero(&a));
    assert_digest_exact(&a);

    /* One entry more (or a newer stamp) changes its name's bucket alone. */
    uint64_t before[BT_CMAP_DIGEST_BUCKETS];
    memcpy(before, b.digest, sizeof before);
    assert_int_equal(add(&b, "name-1", "n1", 13, 7), 1);
    struct bt_name n1 = name_of("name-1");
    unsigned k = bt_cmap_digest_bucket(&n1);
    for (unsigned i = 0; i < BT_CMAP_DIGEST_BUCKETS; i++) {
        if (i == k)
            assert_true(b.digest[i] != before[i]);
        else
            assert_true(b.digest[i] == before[i]);
    }
    assert_digest_exact(&b);

    /* A tombstone over a live entry takes its term out; forget and gc keep
     * it exact. */
    assert_int_equal(rem(&a, "name-2", "n2", 20), 1);
    assert_digest_exact(&a);
    struct bt_name n2 = name_of("name-2");
    struct bt_nodeid id3 = node_of("n3");
    assert_int_equal(bt_cmap_forget(&a, &n2, &id3), 1);
    assert_digest_exact(&a);

    /* Merging b's entries one by one into an empty map gives b's digest;
     * then a's, over them, keeps it exact. */
    assert_int_equal(foreach_full(&b, merge_into, &c), 0);
    assert_memory_equal(c.digest, b.digest, sizeof c.digest);
    assert_int_equal(foreach_full(&a, merge_into, &c), 0);
    assert_digest_exact(&c);

    bt_cmap_destroy(&a);
    bt_cmap_destroy(&b);
    bt_cmap_destroy(&c);
    assert_true(digest_zero(&a));
}

/* A mark_of hook for the test below: every name's mark is *ctx. */
static uint64_t mark_is(void *ctx, const struct bt_name *name)
{
    (void)name;
    return *(const uint64_t *)ctx;
}

/* A name's mark is in its bucket while the name has a live entry: set
 * while it has one, asked of mark_of when it gets its first entry, kept
 * across tombstones, and out with the last live entry. */
static void digest_covers_the_mark_while_a_name_has_a_live_entry(void **state)
{
    (void)state;
    uint64_t hooked = 7;
    struct bt_cmap m;
    bt_cmap_init(&m);
    m.mark_of = mark_is;
    m.ctx = &hooked;
    struct bt_name job = name_of("job");
    uint64_t *bucket = &m.digest[bt_cmap_digest_bucket(&job)];
    bt_cmap_set_mark(&m, &job, 5); /* no entry: nothing to keep */
    assert_true(digest_zero(&m));

    assert_int_equal(add(&m, "job", "n1", 10, 1), 1);
    struct bt_centry e = *get(&m, "job", "n1");
    uint64_t entry = bt_cmap_digest_term(&e);
    assert_true(*bucket == (entry ^ bt_cmap_mark_term(&job, 7)));
    bt_cmap_set_mark(&m, &job, 9);
    assert_true(*bucket == (entry ^ bt_cmap_mark_term(&job, 9)));
    assert_int_equal(add(&m, "job", "n2", 11, 2), 1);
    assert_int_equal(rem(&m, "job", "n1", 12), 1);
    e = *get(&m, "job", "n2");
    assert_true(*bucket == (bt_cmap_digest_term(&e) ^ bt_cmap_mark_term(&job, 9)));

    /* The last live entry goes: its tombstone keeps the mark for later. */
    assert_int_equal(rem(&m, "job", "n2", 13), 1);
    assert_true(digest_zero(&m));
    bt_cmap_set_mark(&m, &job, 0);
    assert_true(digest_zero(&m));
    assert_int_equal(add(&m, "job", "n2", 14, 2), 1);
    e = *get(&m, "job", "n2");
    assert_true(*bucket == bt_cmap_digest_term(&e)); /* mark 0: none */

    /* Forgotten altogether: the next first entry asks mark_of again. */
    struct bt_nodeid n1 = node_of("n1"), n2 = node_of("n2");
    assert_int_equal(bt_cmap_forget(&m, &job, &n1), 1);
    assert_int_equal(bt_cmap_forget(&m, &job, &n2), 1);
    assert_true(digest_zero(&m));
    assert_int_equal(add(&m, "job", "n1", 15, 1), 1);
    e = *get(&m, "job", "n1");
    assert_true(*bucket == (bt_cmap_digest_term(&e) ^ bt_cmap_mark_term(&job, 7)));
    bt_cmap_destroy(&m);
    assert_true(m.mark_of == mark_is);
}

/* bt_cmap_best's predicate for the test below: entries whose candidate id
 * is odd count. */
static bool odd_id_counts(const struct bt_cstored *e, const void *ctx)
{
    (void)ctx;
    return !e->removed && (e->cand.candidate_id & 1) != 0;
}

/* bt_cmap_best() against a plain scan, and bt_cmap_known() against what a
 * merge then does, over random writes with repeated priorities, rewrites,
 * tombstones, stale copies and forgotten entries. The node names are of 3
 * to 10 bytes, most sharing their first 8 bytes with others (a name of
 * more than four entries tells them apart by length without reading the
 * entries, cmap.c's name_tie). */
static void best_and_known_agree_with_plain_scans(void **state)
{
    (void)state;
    struct bt_prng rng;
    bt_prng_init(&rng, 11);
    struct bt_cmap m;
    bt_cmap_init(&m);
    struct bt_name nm = name_of("job");
    for (int step = 0; step < 4000; step++) {
        struct bt_centry e;
        memset(&e, 0, sizeof e);
        e.name = nm;
        char node[16];
        static const char *const shapes[] = {"n%02u", "node-a%u", "node-aa%u", "node-aaa%u",
                                             "node-aa%u0"};
        unsigned k = (unsigned)bt_prng_below(&rng, 40);
        snprintf(node, sizeof node, shapes[k % 5], k / 5);
        e.node = node_of(node);
        e.stamp = 1 + bt_prng_below(&rng, 200);
        e.removed = bt_prng_below(&rng, 5) == 0;
        e.cand = cand_of(bt_prng_below(&rng, 6), (int64_t)bt_prng_below(&rng, 4) - 1, 1);
        if (bt_prng_below(&rng, 10) == 0) {
            /* Forgetting an entry may take the name's top priority away. */
            (void)bt_cmap_forget(&m, &nm, &e.node);
            assert_false(bt_cmap_known(&m, &e));
        } else {
            bool known = bt_cmap_known(&m, &e);
            int rc = bt_cmap_merge_entry(&m, &e);
            assert_true(rc >= 0);
            assert_int_equal(known, rc == 0);
            assert_true(bt_cmap_known(&m, &e));
        }

        const struct bt_cstored *const *v;
        size_t n = bt_cmap_entries(&m, &nm, &v);
        const struct bt_cstored *want = NULL;
        for (size_t i = 0; i < n; i++)
            if (odd_id_counts(v[i], NULL) && (!want || v[i]->cand.priority > want->cand.priority))
                want = v[i];
        assert_ptr_equal(bt_cmap_best(&m, &nm, odd_id_counts, NULL), want);
    }
    struct bt_name other = name_of("other");
    assert_null(bt_cmap_best(&m, &other, odd_id_counts, NULL));
    struct bt_centry bad;
    memset(&bad, 0, sizeof bad);
    assert_false(bt_cmap_known(&m, &bad)); /* an invalid key */
    bt_cmap_destroy(&m);
}

/* A lender for the test below: lends its one name, if asked for it. */
struct lender {
    struct bt_name name;
    unsigned asked;
};

static const struct bt_name *lend_one(void *ctx, const struct bt_name *name)
{
    struct lender *l = ctx;
    l->asked++;
    return bt_name_eq(&l->name, name) ? &l->name : NULL;
}

/* A map borrows a lent name for its entries, keeps its own copy of a name
 * nobody lends, asks once per name that gets its first entry, and keeps
 * its lender across bt_cmap_destroy(). */
static void lent_names_are_shared_and_others_copied(void **state)
{
    (void)state;
    struct lender lender = {.name = name_of("lent")};
    struct bt_cmap m;
    bt_cmap_init(&m);
    m.lend_name = lend_one;
    m.ctx = &lender;
    for (int round = 0; round < 2; round++) {
        lender.asked = 0;
        assert_int_equal(add(&m, "lent", "n1", 10, 1), 1);
        assert_int_equal(add(&m, "lent", "n2", 11, 2), 1);
        assert_int_equal(add(&m, "own", "n1", 12, 3), 1);
        assert_int_equal(lender.asked, 2);
        struct bt_name lent = name_of("lent"), own = name_of("own");
        const struct bt_cstored *const *v;
        assert_int_equal(bt_cmap_entries(&m, &lent, &v), 2);
        assert_ptr_equal(v[0]->name, &lender.name);
        assert_ptr_equal(v[1]->name, &lender.name);
        assert_int_equal(bt_cmap_entries(&m, &own, &v), 1);
        assert_true(v[0]->name != &lender.name && bt_name_eq(v[0]->name, &own));
        assert_memory_equal(get(&m, "own", "n1")->name.bytes, "own", 3);
        assert_int_equal(map_check(&m), 0);
        bt_cmap_destroy(&m);
        assert_ptr_equal(m.lend_name, lend_one);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(add_then_get_returns_the_live_entry),
    cmocka_unit_test(remove_leaves_a_tombstone_visible_via_get),
    cmocka_unit_test(older_and_repeated_writes_change_nothing),
    cmocka_unit_test(equal_stamps_break_ties_tombstone_first_then_values),
    cmocka_unit_test(tombstones_are_stored_without_candidacy_fields),
    cmocka_unit_test(merge_entry_rejects_invalid_keys_and_leaves_the_map_alone),
    cmocka_unit_test(entries_are_sorted_by_node_with_a_prefix_first),
    cmocka_unit_test(counts_track_names_entries_and_live_entries),
    cmocka_unit_test(foreach_visits_every_entry_and_stops_early),
    cmocka_unit_test(forget_drops_one_entry_and_frees_an_emptied_name),
    cmocka_unit_test(equal_compares_every_field_but_not_insertion_order),
    cmocka_unit_test(merge_is_commutative_associative_idempotent_and_an_upper_bound),
    cmocka_unit_test(scale_100k_entries_over_1000_names_merge_list_and_forget),
    cmocka_unit_test(digest_covers_live_entries_only_in_any_order),
    cmocka_unit_test(digest_covers_the_mark_while_a_name_has_a_live_entry),
    cmocka_unit_test(names_sharing_their_first_8_bytes_sort_and_are_found),
    cmocka_unit_test(best_and_known_agree_with_plain_scans),
    cmocka_unit_test(lent_names_are_shared_and_others_copied),
};
BT_TEST_MAIN(tests)
