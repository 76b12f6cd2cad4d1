/* Tests of src/core/bqueue.c: order of packing (membership rumors first),
 * replacement by key, retirement at the retransmit limit, drops when full
 * (reported, not counted), and the leave broadcast's removal reported. */
#include "unit/test_main.h"

#include <stdio.h>
#include <string.h>

#include "baton/baton.h"
#include "core/bqueue.h"

/* Queues a one-byte broadcast v under key (NULL: unkeyed). */
static void push(struct bt_bqueue *q, const char *key, uint8_t v, bool is_leave, size_t cap,
                 struct bt_bqueue_removed *rm)
{
    enum bt_bcast_key_kind kind = key ? BT_BKEY_MEMBER : BT_BKEY_NONE;
    assert_int_equal(bt_bqueue_push(q, kind, key, key ? strlen(key) : 0, &v, 1, is_leave, cap, rm),
                     0);
}

/* Writes a held broadcast as one byte, its payload. */
static size_t put_id(void *ctx, uint32_t id, const void *payload, uint8_t *buf)
{
    (void)ctx;
    (void)id;
    buf[0] = *(const uint8_t *)payload;
    return 1;
}

/* Queues held broadcast id with a one-byte payload: its id's low byte. */
static void push_held(struct bt_bqueue *q, uint32_t id, size_t cap, struct bt_bqueue_removed *rm)
{
    uint8_t v = (uint8_t)id;
    assert_int_equal(bt_bqueue_push_held(q, id, &v, cap, rm), 0);
}

/* Packs into a buffer of cap bytes; returns the bytes packed in *out. */
static size_t pack(struct bt_bqueue *q, uint8_t *out, size_t cap, uint32_t limit,
                   struct bt_bqueue_removed *rm)
{
    struct bt_wbuf w;
    bt_wbuf_init(&w, out, cap);
    size_t n = bt_bqueue_pack(q, &w, limit, limit, put_id, NULL, NULL, rm);
    assert_int_equal(n, w.len);
    return n;
}

static void least_sent_first_newest_first_among_equals(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    push(&q, "a", 1, false, 100, &rm);
    push(&q, "b", 2, false, 100, &rm);
    uint8_t buf[64];
    /* Room for one broadcast only: packing stops once fewer than 16 bytes
     * remain. */
    assert_int_equal(pack(&q, buf, 16, 10, &rm), 1);
    assert_int_equal(buf[0], 2);
    push(&q, "c", 3, false, 100, &rm);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 3);
    /* Never sent first (newest first), then the ones sent once. */
    assert_int_equal(buf[0], 3);
    assert_int_equal(buf[1], 1);
    assert_int_equal(buf[2], 2);
    assert_int_equal(q.count, 3);
    assert_int_equal(rm.dropped, 0);
    assert_false(rm.leave_gone);
    bt_bqueue_free(&q);
}

static void a_keyed_broadcast_replaces_the_one_with_its_key(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    push(&q, "a", 1, false, 100, &rm);
    push(&q, NULL, 2, false, 100, &rm);
    push(&q, NULL, 3, false, 100, &rm);
    push(&q, "a", 4, false, 100, &rm);
    assert_int_equal(q.count, 3);
    /* Same key bytes, other kind: a different broadcast. */
    uint8_t v = 5;
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, "a", 1, &v, 1, false, 100, &rm), 0);
    assert_int_equal(q.count, 4);
    uint8_t buf[64];
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 4);
    /* The rumor first, then the others newest first. */
    assert_memory_equal(buf, ((uint8_t[]){4, 5, 3, 2}), 4);
    assert_int_equal(rm.dropped, 0);
    bt_bqueue_free(&q);
}

static void broadcasts_retire_at_their_limit(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    push(&q, "a", 1, false, 100, &rm);
    push(&q, "me", 2, true, 100, &rm);
    uint8_t buf[64];
    struct bt_wbuf w;
    /* The leave retires after 2 sends, the other after 3. */
    for (int i = 0; i < 2; i++) {
        bt_wbuf_init(&w, buf, sizeof buf);
        assert_int_equal(bt_bqueue_pack(&q, &w, 3, 2, put_id, NULL, NULL, &rm), 2);
    }
    assert_true(rm.leave_gone);
    assert_int_equal(q.count, 1);
    bt_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(bt_bqueue_pack(&q, &w, 3, 2, put_id, NULL, NULL, &rm), 1);
    assert_int_equal(q.count, 0);
    bt_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(bt_bqueue_pack(&q, &w, 3, 2, put_id, NULL, NULL, &rm), 0);
    assert_int_equal(rm.dropped, 0);
    bt_bqueue_free(&q);
}

static void a_full_queue_drops_the_oldest_most_sent_and_says_so(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    push(&q, "old", 1, false, 3, &rm);
    uint8_t buf[64];
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 1); /* "old" sent once */
    push(&q, "x", 2, false, 3, &rm);
    push(&q, "y", 3, false, 3, &rm);
    assert_int_equal(rm.dropped, 0);
    push(&q, "z", 4, false, 3, &rm);
    assert_int_equal(rm.dropped, 1);
    assert_int_equal(q.count, 3);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 3);
    assert_memory_equal(buf, ((uint8_t[]){4, 3, 2}), 3);
    /* Then among equals, the one longest in its bucket: "z", packed (and so
     * relinked) first. */
    struct bt_bqueue_removed rm2 = {0};
    push(&q, "w", 5, false, 3, &rm2);
    assert_int_equal(rm2.dropped, 1);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm2), 3);
    assert_memory_equal(buf, ((uint8_t[]){5, 2, 3}), 3);
    bt_bqueue_free(&q);
}

static void membership_rumors_go_first(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    bt_bqueue_init_held(&q, 1);
    push_held(&q, 1, 4, &rm); /* a word: held, packed as 1 */
    uint8_t v = 2;
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, "u", 1, &v, 1, false, 4, &rm), 0);
    uint8_t buf[64];
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 2); /* both sent once */
    /* A rumor sent once goes before a user broadcast and a word never sent;
     * among those, the least sent first. */
    push(&q, "a", 3, false, 4, &rm);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 3);
    v = 4;
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_NONE, NULL, 0, &v, 1, false, 4, &rm), 0);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 4);
    assert_memory_equal(buf, ((uint8_t[]){3, 4, 2, 1}), 4);
    /* Full: the most sent go, the oldest first: "u", then the word (3 sends
     * each; the rumor has 2, the unkeyed one 1). */
    push(&q, "b", 5, false, 4, &rm);
    assert_int_equal(rm.dropped, 1);
    push(&q, "c", 6, false, 4, &rm);
    assert_int_equal(rm.dropped, 2);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 4);
    assert_memory_equal(buf, ((uint8_t[]){6, 5, 3, 4}), 4);
    bt_bqueue_free(&q);
}

static void replacing_or_dropping_the_leave_reports_it(void **state)
{
    struct bt_bqueue q;
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    struct bt_bqueue_removed rm = {0};
    push(&q, "me", 1, true, 100, &rm);
    assert_false(rm.leave_gone);
    push(&q, "me", 2, false, 100, &rm);
    assert_true(rm.leave_gone);
    struct bt_bqueue_removed rm2 = {0};
    /* Full at 2: each push drops the oldest, "me", then the leave. */
    push(&q, "you", 3, true, 2, &rm2);
    push(&q, "him", 4, false, 2, &rm2);
    assert_int_equal(rm2.dropped, 1);
    assert_false(rm2.leave_gone);
    push(&q, "her", 5, false, 2, &rm2);
    assert_int_equal(rm2.dropped, 2);
    assert_true(rm2.leave_gone);
    assert_int_equal(q.count, 2);
    bt_bqueue_free(&q);
}

static void too_big_broadcasts_are_skipped_not_blocking(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    uint8_t small = 7, big[40];
    memset(big, 9, sizeof big);
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_NONE, NULL, 0, &small, 1, false, 100, &rm), 0);
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_NONE, NULL, 0, big, sizeof big, false, 100, &rm),
                     0);
    uint8_t buf[32];
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 1);
    assert_int_equal(buf[0], 7);
    assert_int_equal(q.count, 2);
    bt_bqueue_free(&q);
}

static void retransmit_limit_has_a_floor_of_three_decades(void **state)
{
    /* mult * max(3, ceil(log10(n + 1))), no floor for the leave. */
    assert_int_equal(bt_bqueue_retransmit_limit(4, 1, false), 12);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 5, false), 12);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 999, false), 12);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 1000, false), 16);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 5, true), 4);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 10, true), 8);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 0, true), 4);
    assert_int_equal(bt_bqueue_retransmit_limit(4, 10000, true), 20);
}

/* A key the encoded bytes hold after the kind, body length and name
 * length (a member's rumor) is read from them, not copied: it
 * still finds and replaces its broadcast, and a key that only looks alike
 * (another kind, another place, longer than the bytes) is another key. */
static void a_key_held_in_the_bytes_still_replaces_its_broadcast(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    /* kind, u16 length, str8 "n42", then one byte telling them apart. */
    uint8_t a[] = {1, 0, 5, 3, 'n', '4', '2', 0xa1};
    uint8_t b[] = {1, 0, 5, 3, 'n', '4', '2', 0xb2};
    uint8_t other[] = {1, 0, 5, 3, 'n', '4', '3', 0xc3};
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_MEMBER, "n42", 3, a, sizeof a, false, 100, &rm), 0);
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, "n42", 3, a, sizeof a, false, 100, &rm), 0);
    /* The key "n4" is held in the bytes too; "n42n" is not (longer than
     * the bytes that follow the offset would match). */
    assert_int_equal(
        bt_bqueue_push(&q, BT_BKEY_MEMBER, "n4", 2, other, sizeof other, false, 100, &rm), 0);
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, "n42n", 4, a, sizeof a, false, 100, &rm), 0);
    assert_int_equal(q.count, 4);
    /* Replaces the member broadcast of "n42" only. */
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_MEMBER, "n42", 3, b, sizeof b, false, 100, &rm), 0);
    assert_int_equal(q.count, 4);
    uint8_t buf[128];
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(bt_bqueue_pack(&q, &w, 10, 10, put_id, NULL, NULL, &rm), 4);
    assert_int_equal(w.len, 4 * sizeof a);
    /* The rumors newest first, b (replaced) and the "n4" one, then the two
     * user keys'. */
    assert_memory_equal(buf, b, sizeof b);
    assert_memory_equal(buf + 8, other, sizeof other);
    assert_memory_equal(buf + 16, a, sizeof a);
    assert_memory_equal(buf + 24, a, sizeof a);
    /* Each key still finds its own: replacing "n4" and "n42n" leaves four. */
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_MEMBER, "n4", 2, b, sizeof b, false, 100, &rm), 0);
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, "n42n", 4, b, sizeof b, false, 100, &rm), 0);
    assert_int_equal(q.count, 4);
    assert_int_equal(rm.dropped, 0);
    bt_bqueue_free(&q);
}

/* Broadcasts too long for a slot (their bytes allocated apart), with and
 * without a copied key, and many of them: the slots grow, are reused after
 * retirement, move to fewer when most retired, and are given back when the
 * queue empties; bytes, keys and order come back intact throughout. */
static void long_and_many_broadcasts_keep_their_bytes_and_keys(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    for (int round = 0; round < 2; round++) {
        uint8_t big[200];
        char key[32];
        for (int i = 0; i < 300; i++) {
            size_t len = i % 3 == 0 ? sizeof big : 20; /* one in three apart */
            memset(big, (uint8_t)i, len);
            int klen = snprintf(key, sizeof key, "key-%d", i);
            assert_int_equal(bt_bqueue_push(&q, i % 2 ? BT_BKEY_USER : BT_BKEY_NONE, key,
                                            (size_t)klen, big, len, false, 1000, &rm),
                             0);
        }
        assert_int_equal(q.count, 300);
        /* Replacing by a copied key, long or short, finds each. */
        for (int i = 1; i < 300; i += 2) {
            int klen = snprintf(key, sizeof key, "key-%d", i);
            memset(big, 0xee, sizeof big);
            assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, key, (size_t)klen, big,
                                            i % 4 == 1 ? sizeof big : 10, false, 1000, &rm),
                             0);
        }
        assert_int_equal(q.count, 300);
        /* Sent once each (limit 1): every one retires. Newest first: the
         * 150 replacements, then the originals from the last. */
        uint8_t out[65000];
        size_t seen = 0;
        while (q.count > 0) {
            struct bt_wbuf w;
            bt_wbuf_init(&w, out, sizeof out);
            size_t n = bt_bqueue_pack(&q, &w, 1, 1, put_id, NULL, NULL, &rm);
            assert_true(n > 0);
            if (seen == 0) {
                /* The newest: key-299's replacement (i % 4 == 3: 10 bytes). */
                assert_memory_equal(
                    out,
                    ((uint8_t[10]){0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}),
                    10);
                /* 256 sent and retired: the 44 left moved to fewer slots. */
                assert_int_equal(n, BT_BQUEUE_MAX_PICK);
                assert_int_equal(q.count, 300 - BT_BQUEUE_MAX_PICK);
                assert_true(q.nslots < 300);
            } else {
                /* They kept their order: after the 150 replacements and
                 * the originals 298 down to 88 come 86, 84, ... 0 (200
                 * bytes for a multiple of 3, else 20). */
                assert_int_equal(n, 44);
                assert_int_equal(w.len, 15 * 200 + 29 * 20);
                assert_int_equal(out[0], 86);
                assert_int_equal(out[19], 86);
                assert_int_equal(out[20], 84);
            }
            seen += n;
        }
        assert_int_equal(seen, 300);
        assert_int_equal(q.nslots, 0); /* given back */
        assert_int_equal(q.nkeyed, 0);
    }
    assert_int_equal(rm.dropped, 0);
    bt_bqueue_free(&q);
}

/* Held broadcasts (a member's word, its bytes written by put from its
 * payload): one under an id replaces the queued one, keeps its place and
 * its payload when its id moves, leaves
 * when dropped, counts among the queued when the queue is full, and keeps
 * its order when the slots beside it move to fewer. */
static void held_broadcasts_keep_their_place(void **state)
{
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    uint8_t v = 200;
    bt_bqueue_init_held(&q, 1);
    push_held(&q, 3, 100, &rm);
    assert_int_equal(bt_bqueue_push(&q, BT_BKEY_USER, "u", 1, &v, 1, false, 100, &rm), 0);
    push_held(&q, 5, 100, &rm);
    push_held(&q, 3, 100, &rm); /* replaces, newest again */
    assert_int_equal(q.count, 3);
    uint8_t buf[64];
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 3);
    assert_memory_equal(buf, ((uint8_t[]){3, 5, 200}), 3);
    /* 5 moves to 9 (an owner's ids move), its payload, 5, with it; 3 is
     * dropped; one never sent goes first, then those sent once, the last
     * packed first. */
    bt_bqueue_move_held(&q, 5, 9);
    bt_bqueue_drop_held(&q, 3);
    bt_bqueue_drop_held(&q, 3); /* not queued: nothing */
    push_held(&q, 40, 100, &rm);
    assert_int_equal(q.count, 3);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 3);
    assert_memory_equal(buf, ((uint8_t[]){40, 200, 5}), 3);
    /* Full at 3: the oldest of the most sent, 200, is dropped and said so. */
    push_held(&q, 7, 3, &rm);
    assert_int_equal(rm.dropped, 1);
    assert_int_equal(pack(&q, buf, sizeof buf, 10, &rm), 3);
    assert_memory_equal(buf, ((uint8_t[]){7, 40, 5}), 3);
    /* Retired at the limit like any other: 40 and 9 (saying 5) reach 3
     * sends. */
    assert_int_equal(pack(&q, buf, sizeof buf, 3, &rm), 3);
    assert_int_equal(q.count, 1);
    assert_int_equal(q.nheld_queued, 1);
    /* Many slots beside held broadcasts, then most retired: the slots move
     * to fewer, and the lists they share keep their order. */
    for (uint32_t i = 0; i < 200; i++) {
        v = (uint8_t)i;
        if (i % 2)
            push_held(&q, 100 + i, 1000, &rm);
        else
            assert_int_equal(bt_bqueue_push(&q, BT_BKEY_NONE, NULL, 0, &v, 1, false, 1000, &rm), 0);
    }
    uint32_t before = q.nslots;
    uint8_t out[300];
    struct bt_wbuf w;
    bt_wbuf_init(&w, out, 166); /* packing stops with under 16 bytes left: 151 packed */
    assert_int_equal(bt_bqueue_pack(&q, &w, 1, 1, put_id, NULL, NULL, &rm), 151);
    assert_true(q.nslots < before); /* 199 down to 49 retired: 25 slots left */
    bt_wbuf_init(&w, out, sizeof out);
    assert_int_equal(bt_bqueue_pack(&q, &w, 1, 1, put_id, NULL, NULL, &rm), 50);
    /* Newest first, slots and held ones alternating (held 100 + i written
     * as its low byte), then held 7, sent before. */
    for (int i = 48; i >= 0; i--)
        assert_int_equal(out[48 - i], (uint8_t)(i % 2 ? 100 + i : i));
    assert_int_equal(out[49], 7);
    assert_int_equal(q.count, 0);
    assert_int_equal(q.nheld_queued, 0);
    bt_bqueue_free(&q);
}

/* What the hint and the writer saw (packing_hints_each_held_one_before_writing_it). */
struct hints {
    bool hinted[64];
    int unhinted_puts; /* held broadcasts written without a hint before */
    int hints;
};

static void near_mark(void *ctx, uint32_t id)
{
    struct hints *h = ctx;
    assert_true(id < 64);
    h->hinted[id] = true;
    h->hints++;
}

static size_t put_checked(void *ctx, uint32_t id, const void *payload, uint8_t *buf)
{
    struct hints *h = ctx;
    h->unhinted_puts += !h->hinted[id];
    return put_id(NULL, id, payload, buf);
}

/* The owner hears of every held broadcast before it writes it, the walk
 * crossing from list to list (rumors, then the others by send count), and
 * of none that is not held. */
static void packing_hints_each_held_one_before_writing_it(void **state)
{
    (void)state;
    struct bt_bqueue q;
    struct bt_bqueue_removed rm = {0};
    bt_bqueue_init(&q);
    assert_int_equal(bt_bqueue_reserve(&q), 0);
    bt_bqueue_init_held(&q, 1);
    push(&q, "r", 250, false, 100, &rm); /* a rumor: the first list */
    for (uint32_t id = 0; id < 20; id++)
        push_held(&q, id, 100, &rm);
    uint8_t buf[64];
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, 25); /* ten fit: packing stops with under 16 bytes left */
    struct hints h = {0};
    assert_int_equal(bt_bqueue_pack(&q, &w, 10, 10, put_checked, near_mark, &h, &rm), 10);
    /* Ten more never sent: with the eleven never sent before, then the
     * nine sent once in another list. */
    for (uint32_t id = 20; id < 30; id++)
        push_held(&q, id, 100, &rm);
    memset(&h, 0, sizeof h);
    bt_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(bt_bqueue_pack(&q, &w, 10, 10, put_checked, near_mark, &h, &rm), 31);
    assert_int_equal(h.unhinted_puts, 0);
    assert_int_equal(h.hints, 30); /* every held one; not the rumor */
    bt_bqueue_free(&q);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(packing_hints_each_held_one_before_writing_it),
    cmocka_unit_test(least_sent_first_newest_first_among_equals),
    cmocka_unit_test(held_broadcasts_keep_their_place),
    cmocka_unit_test(a_keyed_broadcast_replaces_the_one_with_its_key),
    cmocka_unit_test(broadcasts_retire_at_their_limit),
    cmocka_unit_test(a_full_queue_drops_the_oldest_most_sent_and_says_so),
    cmocka_unit_test(membership_rumors_go_first),
    cmocka_unit_test(replacing_or_dropping_the_leave_reports_it),
    cmocka_unit_test(too_big_broadcasts_are_skipped_not_blocking),
    cmocka_unit_test(retransmit_limit_has_a_floor_of_three_decades),
    cmocka_unit_test(a_key_held_in_the_bytes_still_replaces_its_broadcast),
    cmocka_unit_test(long_and_many_broadcasts_keep_their_bytes_and_keys),
};
BT_TEST_MAIN(tests)
