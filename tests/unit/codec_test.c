/* Tests of src/core/codec.c: round trips, packing, every reject, and random
 * input. Every decode here reads from a copy placed against the end of a
 * malloc'd block, so under ASan any over-read fails the test. */
#include "unit/test_main.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/cmap.h"
#include "core/codec.h"
#include "core/hlc.h"
#include "sim/prng.h"
#include "support/oracle.h"

/* ---- counting allocations ---------------------------------------------- */

/* tests/CMakeLists.txt links this test with -Wl,--wrap=malloc,--wrap=calloc,
 * so every allocation the codec makes comes through here; while counting is
 * on, the bytes asked for are summed. */
void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

static bool counting;
static size_t allocated;

void *__wrap_malloc(size_t size)
{
    if (counting)
        allocated += size;
    return __real_malloc(size);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (counting)
        allocated += n * size;
    return __real_calloc(n, size);
}

/* The decoder's promise (codec.h): n input bytes never cost more than
 * BT_CODEC_DECODE_RATIO * n bytes of memory. */
static size_t decode_cost(const uint8_t *buf, size_t len, int *rc)
{
    struct bt_payload p;
    allocated = 0;
    counting = true;
    *rc = bt_codec_decode(buf, len, &p);
    counting = false;
    bt_payload_free(&p);
    return allocated;
}

/* ---- helpers ----------------------------------------------------------- */

static struct bt_centry entry(const char *name, const char *node, uint64_t stamp, bool removed,
                              uint64_t id, int64_t prio, uint64_t boot)
{
    struct bt_centry e;
    memset(&e, 0, sizeof e);
    assert_int_equal(bt_name_set(&e.name, name, strlen(name)), 0);
    assert_int_equal(bt_nodeid_set(&e.node, node, strlen(node)), 0);
    e.stamp = stamp;
    e.removed = removed;
    e.cand.candidate_id = id;
    e.cand.priority = prio;
    e.cand.boot_id = boot;
    return e;
}

/* A fence minted by node "n1" on boot 0x0102030405060708. */
static struct bt_fence fence(const char *name, uint64_t token)
{
    struct bt_fence f;
    memset(&f, 0, sizeof f);
    assert_int_equal(bt_name_set(&f.name, name, strlen(name)), 0);
    f.token = token;
    assert_int_equal(bt_nodeid_set(&f.minter.node, "n1", 2), 0);
    f.minter.boot = UINT64_C(0x0102030405060708);
    return f;
}

/* A fence with a one-byte minter: the smallest kind (a fence must name its
 * minter). */
static struct bt_fence minimal(const char *name, uint64_t token)
{
    struct bt_fence f = fence(name, token);
    assert_int_equal(bt_nodeid_set(&f.minter.node, "m", 1), 0);
    f.minter.boot = 1;
    return f;
}

/* An entry with a 255-byte name using every byte value, and a 64-byte node
 * name. */
static struct bt_centry longest_entry(uint64_t stamp, int64_t prio)
{
    struct bt_centry e;
    uint8_t name[BATON_NAME_MAX];
    char node[BATON_NODE_MAX];
    static const char node_chars[] = "ABCXYZabcxyz0123456789._:@-";

    memset(&e, 0, sizeof e);
    for (size_t i = 0; i < sizeof name; i++)
        name[i] = (uint8_t)(255 - i);
    for (size_t i = 0; i < sizeof node; i++)
        node[i] = node_chars[i % (sizeof node_chars - 1)];
    assert_int_equal(bt_name_set(&e.name, name, sizeof name), 0);
    assert_int_equal(bt_nodeid_set(&e.node, node, sizeof node), 0);
    e.stamp = stamp;
    e.cand.candidate_id = UINT64_MAX;
    e.cand.priority = prio;
    e.cand.boot_id = UINT64_C(0x0123456789abcdef);
    return e;
}

static bool centry_same(const struct bt_centry *a, const struct bt_centry *b)
{
    return bt_name_eq(&a->name, &b->name) && bt_nodeid_eq(&a->node, &b->node) &&
           a->stamp == b->stamp && a->removed == b->removed &&
           a->cand.candidate_id == b->cand.candidate_id && a->cand.priority == b->cand.priority &&
           a->cand.boot_id == b->cand.boot_id;
}

static bool fence_same(const struct bt_fence *a, const struct bt_fence *b)
{
    return bt_name_eq(&a->name, &b->name) && a->token == b->token;
}

static bool payload_is_empty(const struct bt_payload *p)
{
    return p->type == BT_PAYLOAD_NONE && p->entries == NULL && p->nentries == 0 &&
           p->fences == NULL && p->nfences == 0;
}

/* Decodes a copy of buf placed against the end of its own allocation. */
static int decode_tail(const uint8_t *buf, size_t len, struct bt_payload *out)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    uint8_t *at = copy + (len > 0 ? 0 : 1);
    if (len > 0)
        memcpy(at, buf, len);
    int rc = bt_codec_decode(at, len, out);
    free(copy);
    if (rc != 0)
        assert_true(payload_is_empty(out));
    return rc;
}

/* Decodes buf and checks it is a payload of type with exactly these entries
 * and fences; frees it. */
static void assert_decodes_to(const uint8_t *buf, size_t len, enum bt_payload_type type,
                              const struct bt_centry *e, size_t n, const struct bt_fence *f,
                              size_t nf)
{
    struct bt_payload p;
    assert_int_equal(decode_tail(buf, len, &p), 0);
    assert_int_equal(p.type, type);
    assert_int_equal(p.nentries, n);
    assert_int_equal(p.nfences, nf);
    for (size_t i = 0; i < n; i++)
        assert_true(centry_same(&p.entries[i], &e[i]));
    for (size_t i = 0; i < nf; i++)
        assert_true(fence_same(&p.fences[i], &f[i]));
    bt_payload_free(&p);
    assert_true(payload_is_empty(&p));
}

static void assert_rejected(const uint8_t *buf, size_t len, int want)
{
    struct bt_payload p;
    assert_int_equal(decode_tail(buf, len, &p), want);
}

/* A small DELTA used by the corruption tests: one live entry, name "job",
 * node "n1". Offsets: 0 version, 1 type, 2-3 count, 4 name_len, 5-7 name,
 * 8 node_len, 9-10 node, 11-18 stamp, 19 removed, 20-27 candidate_id,
 * 28-35 priority, 36-43 boot_id; 44 bytes in all. */
enum {
    D_VERSION = 0,
    D_TYPE = 1,
    D_COUNT = 2,
    D_NAME_LEN = 4,
    D_NAME = 5,
    D_NODE_LEN = 8,
    D_NODE = 9,
    D_STAMP = 11,
    D_REMOVED = 19,
    D_CID = 20,
    D_PRIO = 28,
    D_BOOT = 36,
    D_LEN = 44
};

static void small_delta(uint8_t buf[D_LEN], bool removed)
{
    struct bt_centry e =
        removed ? entry("job", "n1", 7, true, 0, 0, 0) : entry("job", "n1", 7, false, 11, -3, 99);
    assert_int_equal(bt_codec_encode_delta(&e, 1, buf, D_LEN), D_LEN);
}

/* A FENCE of one fence, name "job", minter "n1": 0-1 header, 2-3 count,
 * 4 name_len, 5-7 name, 8-15 token, 16 minter_len, 17-18 minter, 19-26 the
 * minter's boot; 27 bytes. */
enum {
    F_COUNT = 2,
    F_NAME_LEN = 4,
    F_TOKEN = 8,
    F_MINTER_LEN = 16,
    F_MINTER = 17,
    F_BOOT = 19,
    F_LEN = 27
};

static void small_fence(uint8_t buf[F_LEN])
{
    struct bt_fence f = fence("job", 12345);
    assert_int_equal(bt_codec_encode_fences(&f, 1, buf, F_LEN), F_LEN);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* ---- round trips ------------------------------------------------------- */

static void delta_round_trips_live_entries_and_tombstones(void **state)
{
    struct bt_centry e[] = {
        entry("report-roller", "node-a", bt_hlc_pack(1700000000000, 3), false, 42, 0, 7),
        entry("report-roller", "node-b", bt_hlc_pack(1700000000001, 0), true, 0, 0, 0),
        entry("x", "n", 0, false, 0, INT64_MIN, 0),
        entry("x", "n.b_c:d@e-F9", BT_HLC_TS_MAX, false, 1, INT64_MAX, UINT64_MAX),
        entry("shard-7", "z", 5, false, 3, -1, 1),
        longest_entry(BT_HLC_TS_MAX, -123456789),
    };
    size_t n = sizeof e / sizeof e[0];
    uint8_t buf[4096];
    size_t want = BT_CODEC_LIST_HEADER;
    for (size_t i = 0; i < n; i++)
        want += bt_codec_entry_size(&e[i]);
    assert_int_equal(bt_codec_entry_size(&e[n - 1]), BT_CODEC_ENTRY_MAX);

    int len = bt_codec_encode_delta(e, n, buf, sizeof buf);

    assert_int_equal(len, want);
    assert_int_equal(buf[0], BT_CODEC_VERSION);
    assert_int_equal(buf[1], BT_PAYLOAD_DELTA);
    assert_decodes_to(buf, (size_t)len, BT_PAYLOAD_DELTA, e, n, NULL, 0);
}

static void fence_round_trips_longest_name_and_greatest_token(void **state)
{
    struct bt_fence f[4] = {fence("job", 1), minimal("shard-7-owner", BT_HLC_TS_MAX)};
    uint8_t name[BATON_NAME_MAX];
    for (size_t i = 0; i < sizeof name; i++)
        name[i] = (uint8_t)i;
    memset(&f[2], 0, sizeof f[2]);
    assert_int_equal(bt_name_set(&f[2].name, name, sizeof name), 0);
    f[2].token = 0;
    char minter[BATON_NODE_MAX];
    memset(minter, 'm', sizeof minter);
    assert_int_equal(bt_nodeid_set(&f[2].minter.node, minter, sizeof minter), 0);
    f[2].minter.boot = UINT64_MAX;
    f[3] = minimal("x", 5);
    uint8_t buf[1024];
    assert_int_equal(bt_codec_fence_size(&f[2]), BT_CODEC_FENCE_ENC_MAX);
    assert_int_equal(bt_codec_fence_size(&f[3]), BT_CODEC_FENCE_MIN);

    int len = bt_codec_encode_fences(f, 4, buf, sizeof buf);

    assert_int_equal(len, BT_CODEC_LIST_HEADER + (18 + 3 + 2) + (18 + 13 + 1) +
                              BT_CODEC_FENCE_ENC_MAX + BT_CODEC_FENCE_MIN);
    assert_decodes_to(buf, (size_t)len, BT_PAYLOAD_FENCE, NULL, 0, f, 4);
}

static void empty_lists_round_trip(void **state)
{
    uint8_t buf[16];
    uint8_t *snap;
    size_t snap_len;

    assert_int_equal(bt_codec_encode_delta(NULL, 0, buf, sizeof buf), BT_CODEC_LIST_HEADER);
    assert_decodes_to(buf, BT_CODEC_LIST_HEADER, BT_PAYLOAD_DELTA, NULL, 0, NULL, 0);
    assert_int_equal(bt_codec_encode_fences(NULL, 0, buf, sizeof buf), BT_CODEC_LIST_HEADER);
    assert_decodes_to(buf, BT_CODEC_LIST_HEADER, BT_PAYLOAD_FENCE, NULL, 0, NULL, 0);
    assert_int_equal(bt_codec_encode_snapshot_array(NULL, 0, NULL, 0, &snap, &snap_len), 0);
    assert_int_equal(snap_len, BT_CODEC_SNAPSHOT_HEADER);
    assert_decodes_to(snap, snap_len, BT_PAYLOAD_SNAPSHOT, NULL, 0, NULL, 0);
    free(snap);
}

static void snapshot_array_round_trips_entries_and_fences(void **state)
{
    enum { N = 3000, NF = 500 };
    struct bt_centry *e = calloc(N, sizeof *e);
    struct bt_fence *f = calloc(NF, sizeof *f);
    assert_non_null(e);
    assert_non_null(f);
    for (size_t i = 0; i < N; i++) {
        char name[32], node[32];
        snprintf(name, sizeof name, "campaign-%zu", i % 97);
        snprintf(node, sizeof node, "node-%zu", i);
        e[i] = i % 5 == 0 ? entry(name, node, 1000 + i, true, 0, 0, 0)
                          : entry(name, node, 1000 + i, false, i, (int64_t)i - 1500, i * 31);
    }
    e[N - 1] = longest_entry(BT_HLC_TS_MAX, INT64_MIN);
    for (size_t i = 0; i < NF; i++) {
        char name[32];
        snprintf(name, sizeof name, "campaign-%zu", i);
        f[i] = fence(name, bt_hlc_pack(1700000000000 + i, (uint32_t)i));
    }
    uint8_t *buf;
    size_t len;

    assert_int_equal(bt_codec_encode_snapshot_array(e, N, f, NF, &buf, &len), 0);

    size_t want = BT_CODEC_SNAPSHOT_HEADER;
    for (size_t i = 0; i < N; i++)
        want += bt_codec_entry_size(&e[i]);
    for (size_t i = 0; i < NF; i++)
        want += bt_codec_fence_size(&f[i]);
    assert_int_equal(len, want);
    assert_decodes_to(buf, len, BT_PAYLOAD_SNAPSHOT, e, N, f, NF);
    free(buf);
    free(e);
    free(f);
}

static int collect_entry(const struct bt_cstored *s, void *ctx)
{
    struct bt_cmap *copy = ctx;
    struct bt_centry e;
    bt_cstored_entry(s, &e);
    return bt_cmap_merge_entry(copy, &e) < 0;
}

static void snapshot_of_a_map_carries_every_entry_and_tombstone(void **state)
{
    struct bt_cmap m, back;
    bt_cmap_init(&m);
    bt_cmap_init(&back);
    for (int i = 0; i < 200; i++) {
        char name[16], node[16];
        snprintf(name, sizeof name, "c%d", i % 13);
        snprintf(node, sizeof node, "n%d", i);
        struct bt_centry e = i % 4 == 0 ? entry(name, node, 100 + i, true, 0, 0, 0)
                                        : entry(name, node, 100 + i, false, i, -i, 5);
        assert_int_equal(bt_cmap_merge_entry(&m, &e), 1);
    }
    struct bt_fence f[2] = {fence("c1", 500), fence("c2", 600)};
    uint8_t *buf;
    size_t len;

    assert_int_equal(bt_codec_encode_snapshot(&m, f, 2, &buf, &len), 0);

    struct bt_payload p;
    assert_int_equal(decode_tail(buf, len, &p), 0);
    assert_int_equal(p.type, BT_PAYLOAD_SNAPSHOT);
    assert_int_equal(p.nentries, m.nentries);
    assert_int_equal(p.nfences, 2);
    assert_true(fence_same(&p.fences[0], &f[0]) && fence_same(&p.fences[1], &f[1]));
    for (size_t i = 0; i < p.nentries; i++)
        assert_int_equal(bt_cmap_merge_entry(&back, &p.entries[i]), 1);
    assert_true(bt_cmap_equal(&m, &back));
    /* The map's own walk and the decoded one agree entry for entry. */
    struct bt_cmap walked;
    bt_cmap_init(&walked);
    assert_int_equal(bt_cmap_foreach(&m, collect_entry, &walked), 0);
    assert_true(bt_cmap_equal(&walked, &back));
    bt_payload_free(&p);
    free(buf);
    bt_cmap_destroy(&walked);
    bt_cmap_destroy(&back);
    bt_cmap_destroy(&m);
}

/* ---- encoder refusals -------------------------------------------------- */

static void encoders_refuse_what_the_decoder_would_refuse(void **state)
{
    uint8_t buf[1024];
    uint8_t *snap = (uint8_t *)1;
    size_t snap_len = 1;
    struct bt_centry good = entry("job", "n1", 5, false, 1, 2, 3);
    struct bt_centry bad[5];
    for (int i = 0; i < 5; i++)
        bad[i] = good;
    bad[0].name.len = 0;              /* empty name */
    bad[1].node.bytes[0] = '/';       /* invalid node character */
    bad[2].node.len = 0;              /* empty node */
    bad[3].stamp = BT_HLC_TS_MAX + 1; /* beyond INT64_MAX */
    bad[4].removed = true;            /* tombstone with a candidacy */

    for (int i = 0; i < 5; i++) {
        struct bt_centry pair[2] = {good, bad[i]};
        assert_int_equal(bt_codec_encode_delta(&bad[i], 1, buf, sizeof buf), BATON_EINVAL);
        assert_int_equal(bt_codec_encode_delta(pair, 2, buf, sizeof buf), BATON_EINVAL);
        /* Even when the bad entry is the one that would not fit. */
        assert_int_equal(bt_codec_encode_delta(pair, 2, buf, 50), BATON_EINVAL);
        assert_int_equal(bt_codec_encode_snapshot_array(pair, 2, NULL, 0, &snap, &snap_len),
                         BATON_EINVAL);
        assert_null(snap);
        assert_int_equal(snap_len, 0);
    }

    struct bt_fence f[2] = {fence("job", 1), fence("job", BT_HLC_TS_MAX + 1)};
    assert_int_equal(bt_codec_encode_fences(f, 2, buf, sizeof buf), BATON_EINVAL);
    assert_int_equal(bt_codec_encode_snapshot_array(&good, 1, f, 2, &snap, &snap_len),
                     BATON_EINVAL);
    f[1] = f[0];
    f[1].name.len = 0;
    assert_int_equal(bt_codec_encode_fences(f, 2, buf, sizeof buf), BATON_EINVAL);

    assert_int_equal(bt_codec_encode_delta(&good, BT_CODEC_DELTA_MAX + 1, buf, sizeof buf),
                     BATON_E2BIG);
    assert_int_equal(
        bt_codec_encode_snapshot_array(&good, BT_CODEC_SNAPSHOT_MAX + 1, NULL, 0, &snap, &snap_len),
        BATON_E2BIG);
    assert_int_equal(
        bt_codec_encode_snapshot_array(NULL, 0, f, BT_CODEC_SNAPSHOT_MAX + 1, &snap, &snap_len),
        BATON_E2BIG);
    assert_int_equal(bt_codec_encode_delta(&good, 1, buf, 10), BATON_ENOSPC);
    assert_int_equal(bt_codec_encode_fences(f, 1, buf, 3), BATON_ENOSPC);
}

/* ---- rejects ----------------------------------------------------------- */

static void every_truncation_of_a_valid_message_is_rejected(void **state)
{
    struct bt_centry e[3] = {entry("job", "n1", 7, false, 11, -3, 99),
                             entry("job", "n2", 8, true, 0, 0, 0), longest_entry(9, 4)};
    struct bt_fence f[2] = {fence("job", 8), fence("other", 9)};
    uint8_t delta[1024], fences[64];
    int delta_len = bt_codec_encode_delta(e, 3, delta, sizeof delta);
    int fences_len = bt_codec_encode_fences(f, 2, fences, sizeof fences);
    uint8_t *snap;
    size_t snap_len;
    assert_int_equal(bt_codec_encode_snapshot_array(e, 3, f, 2, &snap, &snap_len), 0);
    assert_true(delta_len > 0 && fences_len > 0);

    for (size_t cut = 0; cut < (size_t)delta_len; cut++)
        assert_rejected(delta, cut, BATON_EPROTO);
    for (size_t cut = 0; cut < (size_t)fences_len; cut++)
        assert_rejected(fences, cut, BATON_EPROTO);
    for (size_t cut = 0; cut < snap_len; cut++)
        assert_rejected(snap, cut, BATON_EPROTO);
    free(snap);
}

static void bad_version_is_eversion_and_bad_type_is_eproto(void **state)
{
    uint8_t m[D_LEN];
    const uint8_t versions[] = {0, 1, 3, 0x81, 0xFF};
    const uint8_t types[] = {0, 4, 0x7F, 0xFF};

    for (size_t i = 0; i < sizeof versions; i++) {
        small_delta(m, false);
        m[D_VERSION] = versions[i];
        assert_rejected(m, D_LEN, BATON_EVERSION);
        /* The version is judged before anything else, even on one byte. */
        assert_rejected(m, 1, BATON_EVERSION);
    }
    for (size_t i = 0; i < sizeof types; i++) {
        small_delta(m, false);
        m[D_TYPE] = types[i];
        assert_rejected(m, D_LEN, BATON_EPROTO);
    }
    assert_rejected(m, 0, BATON_EPROTO);
}

static void malformed_entry_fields_are_rejected(void **state)
{
    uint8_t m[D_LEN];

    small_delta(m, false);
    assert_decodes_to(m, D_LEN, BT_PAYLOAD_DELTA,
                      (struct bt_centry[]){entry("job", "n1", 7, false, 11, -3, 99)}, 1, NULL, 0);

    /* Zero-length campaign name. */
    small_delta(m, false);
    m[D_NAME_LEN] = 0;
    assert_rejected(m, D_LEN, BATON_EPROTO);
    /* Zero-length and over-long node names. */
    small_delta(m, false);
    m[D_NODE_LEN] = 0;
    assert_rejected(m, D_LEN, BATON_EPROTO);
    small_delta(m, false);
    m[D_NODE_LEN] = BATON_NODE_MAX + 1;
    assert_rejected(m, D_LEN, BATON_EPROTO);
    /* Each character outside [A-Za-z0-9._:@-] in the node name. */
    for (int c = 0; c < 256; c++) {
        small_delta(m, false);
        m[D_NODE + 1] = (uint8_t)c;
        if (bt_node_char_ok((unsigned char)c))
            continue;
        assert_rejected(m, D_LEN, BATON_EPROTO);
    }
    /* removed is 0 or 1, nothing else. */
    for (int v = 2; v < 256; v += 37) {
        small_delta(m, false);
        m[D_REMOVED] = (uint8_t)v;
        assert_rejected(m, D_LEN, BATON_EPROTO);
    }
    /* A tombstone whose candidacy fields are not all zero. */
    const size_t cand_fields[] = {D_CID, D_PRIO, D_BOOT};
    for (size_t i = 0; i < 3; i++) {
        small_delta(m, true);
        assert_decodes_to(m, D_LEN, BT_PAYLOAD_DELTA,
                          (struct bt_centry[]){entry("job", "n1", 7, true, 0, 0, 0)}, 1, NULL, 0);
        m[cand_fields[i] + 7] = 1;
        assert_rejected(m, D_LEN, BATON_EPROTO);
    }
    /* A stamp beyond INT64_MAX; INT64_MAX itself is fine. */
    small_delta(m, false);
    put_be64(m + D_STAMP, BT_HLC_TS_MAX + 1);
    assert_rejected(m, D_LEN, BATON_EPROTO);
    put_be64(m + D_STAMP, UINT64_MAX);
    assert_rejected(m, D_LEN, BATON_EPROTO);
    put_be64(m + D_STAMP, BT_HLC_TS_MAX);
    struct bt_payload p;
    assert_int_equal(decode_tail(m, D_LEN, &p), 0);
    bt_payload_free(&p);
}

static void counts_beyond_the_bytes_or_the_limits_are_rejected(void **state)
{
    uint8_t m[D_LEN];
    uint8_t f[F_LEN];

    /* One entry more than present, and the most a u16 can say. */
    small_delta(m, false);
    m[D_COUNT + 1] = 2;
    assert_rejected(m, D_LEN, BATON_EPROTO);
    m[D_COUNT] = 0xFF;
    m[D_COUNT + 1] = 0xFF;
    assert_rejected(m, D_LEN, BATON_EPROTO);
    /* Fewer entries than present leaves trailing bytes. */
    small_delta(m, false);
    m[D_COUNT + 1] = 0;
    assert_rejected(m, D_LEN, BATON_EPROTO);

    small_fence(f);
    f[F_COUNT + 1] = 2;
    assert_rejected(f, F_LEN, BATON_EPROTO);
    f[F_COUNT + 1] = 0;
    assert_rejected(f, F_LEN, BATON_EPROTO);

    /* A DELTA count above BT_CODEC_DELTA_MAX is refused even when the bytes
     * are all there. */
    size_t n = BT_CODEC_DELTA_MAX + 1;
    size_t cap = BT_CODEC_LIST_HEADER + n * BT_CODEC_ENTRY_MIN;
    uint8_t *big = malloc(cap);
    assert_non_null(big);
    struct bt_centry one = entry("j", "n", 1, false, 0, 0, 0);
    assert_int_equal(bt_codec_encode_delta(&one, 1, big, cap),
                     BT_CODEC_LIST_HEADER + BT_CODEC_ENTRY_MIN);
    for (size_t i = 1; i < n; i++)
        memcpy(big + BT_CODEC_LIST_HEADER + i * BT_CODEC_ENTRY_MIN, big + BT_CODEC_LIST_HEADER,
               BT_CODEC_ENTRY_MIN);
    big[D_COUNT] = (uint8_t)(n >> 8);
    big[D_COUNT + 1] = (uint8_t)n;
    assert_rejected(big, cap, BATON_EPROTO);
    big[D_COUNT + 1] = (uint8_t)(n - 1);
    struct bt_payload p;
    assert_int_equal(decode_tail(big, cap - BT_CODEC_ENTRY_MIN, &p), 0);
    assert_int_equal(p.nentries, BT_CODEC_DELTA_MAX);
    bt_payload_free(&p);
    free(big);

    /* Snapshot counts: 2^20 entries announced in a ten-byte message (must be
     * refused before any allocation), and one above the limit. */
    uint8_t snap[BT_CODEC_SNAPSHOT_HEADER] = {
        BT_CODEC_VERSION, BT_PAYLOAD_SNAPSHOT, 0, 0x10, 0, 0, 0, 0, 0, 0};
    assert_rejected(snap, sizeof snap, BATON_EPROTO);
    snap[3] = 0x10;
    snap[5] = 1;
    assert_rejected(snap, sizeof snap, BATON_EPROTO);
    memset(snap + 2, 0, 8);
    snap[7] = 0x10; /* 2^20 fences */
    assert_rejected(snap, sizeof snap, BATON_EPROTO);
    snap[7] = 0;
    assert_decodes_to(snap, sizeof snap, BT_PAYLOAD_SNAPSHOT, NULL, 0, NULL, 0);
    snap[2] = 0xFF; /* 4 billion entries */
    assert_rejected(snap, sizeof snap, BATON_EPROTO);
}

static void trailing_garbage_is_rejected(void **state)
{
    uint8_t m[D_LEN + 1];
    small_delta(m, false);
    for (int c = 0; c < 256; c += 51) {
        m[D_LEN] = (uint8_t)c;
        assert_rejected(m, D_LEN + 1, BATON_EPROTO);
    }
    uint8_t f[F_LEN + 3];
    small_fence(f);
    memset(f + F_LEN, 0, 3);
    assert_rejected(f, F_LEN + 3, BATON_EPROTO);
    uint8_t *snap;
    size_t snap_len;
    assert_int_equal(bt_codec_encode_snapshot_array(NULL, 0, NULL, 0, &snap, &snap_len), 0);
    uint8_t longer[BT_CODEC_SNAPSHOT_HEADER + 1] = {0};
    memcpy(longer, snap, snap_len);
    assert_rejected(longer, sizeof longer, BATON_EPROTO);
    free(snap);
}

static void fence_token_beyond_int64_and_empty_name_are_rejected(void **state)
{
    uint8_t f[F_LEN];
    small_fence(f);
    put_be64(f + F_TOKEN, (uint64_t)INT64_MAX + 1);
    assert_rejected(f, F_LEN, BATON_EPROTO);
    put_be64(f + F_TOKEN, UINT64_MAX);
    assert_rejected(f, F_LEN, BATON_EPROTO);
    put_be64(f + F_TOKEN, (uint64_t)INT64_MAX);
    struct bt_fence want = fence("job", (uint64_t)INT64_MAX);
    assert_decodes_to(f, F_LEN, BT_PAYLOAD_FENCE, NULL, 0, &want, 1);

    small_fence(f);
    f[F_NAME_LEN] = 0;
    assert_rejected(f, F_LEN, BATON_EPROTO);
}

/* The node name alphabet: ASCII letters and digits and the five marks
 * . _ : @ -, nothing else of the 256 bytes. The decoders' tests take
 * bt_node_char_ok as their oracle; this pins it. */
static void node_name_characters_are_letters_digits_and_five_marks(void **state)
{
    for (int c = 0; c < 256; c++) {
        bool want = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    (c != 0 && strchr("._:@-", c) != NULL);
        assert_int_equal(bt_node_char_ok((unsigned char)c), want);
    }
}

static void fence_minter_must_be_a_node_name(void **state)
{
    uint8_t f[F_LEN];
    small_fence(f);
    f[F_MINTER] = '!';
    assert_rejected(f, F_LEN, BATON_EPROTO);
    small_fence(f);
    f[F_MINTER_LEN] = 3; /* longer than what is left */
    assert_rejected(f, F_LEN, BATON_EPROTO);
    small_fence(f);
    f[F_MINTER_LEN] = BATON_NODE_MAX + 1;
    assert_rejected(f, F_LEN, BATON_EPROTO);
    /* Empty: a fence that names no minter is meaningless (issue 8): a term
     * is (token, minter). Refused, with the two minter bytes gone. */
    small_fence(f);
    memmove(f + F_MINTER, f + F_BOOT, 8);
    f[F_MINTER_LEN] = 0;
    assert_rejected(f, F_LEN - 2, BATON_EPROTO);
    /* And an encoder refuses what the decoder would. */
    struct bt_fence bad = fence("job", 1);
    bad.minter.node.bytes[0] = ' ';
    uint8_t buf[64];
    assert_int_equal(bt_codec_encode_fences(&bad, 1, buf, sizeof buf), BATON_EINVAL);
    memset(&bad.minter, 0, sizeof bad.minter);
    assert_int_equal(bt_codec_encode_fences(&bad, 1, buf, sizeof buf), BATON_EINVAL);
}

/* The minter is a process (issue 8 item 5, finding E13): its boot follows
 * the node name, and a fence without it (boot 0, or cut short: a version 1
 * fence read as version 2) is refused. */
static void fence_minter_names_its_boot(void **state)
{
    uint8_t f[F_LEN];
    small_fence(f);
    struct bt_fence want = fence("job", 12345);
    assert_int_equal(want.minter.boot, UINT64_C(0x0102030405060708));
    assert_decodes_to(f, F_LEN, BT_PAYLOAD_FENCE, NULL, 0, &want, 1);
    for (int i = 0; i < 8; i++)
        assert_int_equal(f[F_BOOT + i], i + 1);
    put_be64(f + F_BOOT, 0);
    assert_rejected(f, F_LEN, BATON_EPROTO);
    small_fence(f);
    for (size_t cut = 1; cut <= 8; cut++)
        assert_rejected(f, F_LEN - cut, BATON_EPROTO);
    /* Two twins' fences, one node name and two boots, are two fences. */
    struct bt_fence twins[2] = {fence("job", 7), fence("job", 7)};
    twins[1].minter.boot = 2;
    uint8_t buf[128];
    int len = bt_codec_encode_fences(twins, 2, buf, sizeof buf);
    assert_int_equal(len, BT_CODEC_LIST_HEADER + 2 * (F_LEN - BT_CODEC_LIST_HEADER));
    assert_decodes_to(buf, (size_t)len, BT_PAYLOAD_FENCE, NULL, 0, twins, 2);
    /* The encoder refuses a fence without its boot. */
    struct bt_fence bad = fence("job", 1);
    bad.minter.boot = 0;
    assert_int_equal(bt_codec_encode_fences(&bad, 1, buf, sizeof buf), BATON_EINVAL);
}

/* The shapes of barrel_p2p_leader_SUITE:malformed_gossip_does_not_crash/1,
 * in bytes: every one is dropped whole, out stays empty, and a well-formed
 * payload still decodes afterwards. */
static void malformed_gossip_like_the_reference_suite_is_dropped(void **state)
{
    uint8_t good[D_LEN];
    small_delta(good, false);

    struct {
        const char *what;
        uint8_t bytes[64];
        size_t len;
        int want;
    } cases[] = {
        /* not_a_map: something that is no payload at all. */
        {"plain text", "not_a_map", 9, BATON_EVERSION},
        {"lone version byte", {BT_CODEC_VERSION}, 1, BATON_EPROTO},
        {"header only", {BT_CODEC_VERSION, BT_PAYLOAD_DELTA}, 2, BATON_EPROTO},
        /* {value, Cand, not_a_map | #{} | #{bad => true}}: the dot, our
         * stamp, is no timestamp. */
        {"stamp not a timestamp",
         {BT_CODEC_VERSION, 1, 0, 1, 1, 'a', 1, 'n', 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
          0},
         41,
         BATON_EPROTO},
        /* {tombstone, not_a_timestamp} */
        {"tombstone stamp not a timestamp",
         {BT_CODEC_VERSION, 1, 0, 1, 1, 'd', 1, 'n', 0x80, 0, 0, 0, 0, 0, 0, 0, 1},
         41,
         BATON_EPROTO},
        /* garbage leaf: neither live nor tombstone. */
        {"entry flag garbage",
         {BT_CODEC_VERSION, 1, 0, 1, 1, 'e', 1, 'n', 0, 0, 0, 0, 0, 0, 0, 1, 9},
         41,
         BATON_EPROTO},
        /* {value, not_a_candidate, Dots}: the candidacy does not fit the
         * entry (a tombstone carrying one) or the node is not a node. */
        {"tombstone with a candidacy",
         {BT_CODEC_VERSION,
          1,
          0,
          1,
          1,
          'f',
          1,
          'n',
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          1,
          1,
          0,
          0,
          0,
          0,
          0,
          0,
          0,
          5},
         41,
         BATON_EPROTO},
        {"node not a node name",
         {BT_CODEC_VERSION, 1, 0, 1, 1, 'f', 1, ' ', 0, 0, 0, 0, 0, 0, 0, 1, 0},
         41,
         BATON_EPROTO},
        /* replica_merge_custom({job, not_a_timestamp}) and (garbage). */
        {"fence not a timestamp",
         {BT_CODEC_VERSION, 2, 0, 1, 3, 'j', 'o', 'b', 0xFF, 0, 0, 0, 0, 0, 0, 0},
         16,
         BATON_EPROTO},
        {"fence garbage",
         {BT_CODEC_VERSION, 2, 'g', 'a', 'r', 'b', 'a', 'g', 'e'},
         9,
         BATON_EPROTO},
        /* full sync {not_a_map, not_a_map}: counts with nothing behind. */
        {"snapshot without bodies",
         {BT_CODEC_VERSION, 3, 0, 0, 0, 1, 0, 0, 0, 1},
         10,
         BATON_EPROTO},
        /* full sync with a bad candidate map, then with a bad fence map. */
        {"snapshot with a bad entry",
         {BT_CODEC_VERSION, 3, 0, 0, 0, 1, 1, 'g', 1, 'n', 0, 0, 0, 0, 0, 0, 0, 1, 2},
         47,
         BATON_EPROTO},
        {"snapshot with a nameless fence",
         {BT_CODEC_VERSION, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1},
         19,
         BATON_EPROTO},
        /* a well-shaped FENCE body sent as a DELTA: wrong shape for type. */
        {"fence body typed as delta",
         {BT_CODEC_VERSION, 1, 0, 1, 3, 'j', 'o', 'b', 0, 0, 0, 0, 0, 0, 0, 1},
         16,
         BATON_EPROTO},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct bt_payload p;
        int rc = decode_tail(cases[i].bytes, cases[i].len, &p);
        if (rc != cases[i].want)
            fail_msg("case \"%s\": got %s, want %s", cases[i].what, baton_err_name(rc),
                     baton_err_name(cases[i].want));
        assert_true(payload_is_empty(&p));
    }
    struct bt_centry want = entry("job", "n1", 7, false, 11, -3, 99);
    assert_decodes_to(good, D_LEN, BT_PAYLOAD_DELTA, &want, 1, NULL, 0);
}

static void free_leaves_an_empty_payload_and_tolerates_one(void **state)
{
    struct bt_payload p;
    memset(&p, 0, sizeof p);
    bt_payload_free(&p);
    assert_true(payload_is_empty(&p));
    /* A failed decode empties whatever out held (without freeing it). */
    memset(&p, 0xA5, sizeof p);
    assert_int_equal(bt_codec_decode((const uint8_t *)"\x02\x09", 2, &p), BATON_EPROTO);
    assert_true(payload_is_empty(&p));
    assert_int_equal(bt_codec_decode(NULL, 0, &p), BATON_EPROTO);
    assert_int_equal(bt_codec_decode(NULL, 5, &p), BATON_EPROTO);
    assert_true(payload_is_empty(&p));
}

/* ---- random input ------------------------------------------------------ */

static uint64_t rng_state;

/* splitmix64, the simulator's. */
static uint64_t rng_next(void) { return bt_splitmix64(&rng_state); }

static uint64_t rng_below(uint64_t n) { return rng_next() % n; }

/* BATON_SEED overrides the default seed. The seed is printed before the
 * run, so it is in the log of any failure, crash included. */
static uint64_t seed_for(const char *test)
{
    const char *env = getenv("BATON_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 0) : UINT64_C(0xC0DEC);
    fprintf(stderr, "%s: seed %" PRIu64 " (replay: BATON_SEED=%" PRIu64 " ./codec_test %s)\n", test,
            seed, seed, test);
    rng_state = seed;
    return seed;
}

/* The property every successful decode must satisfy: the payload encodes
 * back to exactly the input. */
static void check_canonical(const uint8_t *buf, size_t len, const struct bt_payload *p,
                            uint64_t seed, size_t iter)
{
    uint8_t *again = NULL;
    size_t again_len = 0;
    int rc;

    switch (p->type) {
    case BT_PAYLOAD_DELTA:
        again = malloc(len);
        rc = bt_codec_encode_delta(p->entries, p->nentries, again, len);
        again_len = rc >= 0 ? (size_t)rc : 0;
        break;
    case BT_PAYLOAD_FENCE:
        again = malloc(len);
        rc = bt_codec_encode_fences(p->fences, p->nfences, again, len);
        again_len = rc >= 0 ? (size_t)rc : 0;
        break;
    default:
        rc = bt_codec_encode_snapshot_array(p->entries, p->nentries, p->fences, p->nfences, &again,
                                            &again_len);
        break;
    }
    if (rc < 0 || again_len != len || memcmp(again, buf, len) != 0)
        fail_msg("seed %" PRIu64 " iteration %zu: decoded payload does not re-encode to its input",
                 seed, iter);
    free(again);
}

static void random_bytes_decode_without_incident(void **state)
{
    uint64_t seed = seed_for("random_bytes_decode_without_incident");
    uint8_t buf[600];
    size_t accepted = 0;

    for (size_t iter = 0; iter < 100000; iter++) {
        size_t len = (size_t)rng_below(sizeof buf + 1);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rng_next();
        /* Most strings get a valid header and small counts, or the decoder
         * would rarely get past the first bytes. */
        if (len >= 6 && rng_below(4) != 0) {
            buf[0] = BT_CODEC_VERSION;
            buf[1] = (uint8_t)(1 + rng_below(3));
            size_t count_end = buf[1] == BT_PAYLOAD_SNAPSHOT ? 6 : 4;
            for (size_t i = 2; i < count_end; i++)
                buf[i] = 0;
            buf[count_end - 1] = (uint8_t)rng_below(3);
            /* Sometimes exactly an empty list, the one payload random bytes
             * cannot be expected to hit by chance. */
            if (buf[1] != BT_PAYLOAD_SNAPSHOT && buf[count_end - 1] == 0 && rng_below(2) == 0)
                len = count_end;
        }
        struct bt_payload p;
        int rc = decode_tail(buf, len, &p);
        if (rc != 0 && rc != BATON_EPROTO && rc != BATON_EVERSION)
            fail_msg("seed %" PRIu64 " iteration %zu: unexpected %s", seed, iter,
                     baton_err_name(rc));
        if (rc == 0) {
            accepted++;
            check_canonical(buf, len, &p, seed, iter);
            bt_payload_free(&p);
        }
    }
    /* The empty lists above, at least, are accepted. */
    assert_true(accepted > 0);
}

/* bt_codec_peek_name, the hint before delivery (bt_replica_prefetch): the
 * first name of a DELTA or a FENCE, nothing for a SNAPSHOT, an empty list,
 * another version or bytes cut short. */
static void peeking_finds_the_first_name_of_a_delta_or_fence_only(void **state)
{
    (void)state;
    uint8_t d[D_LEN], f[F_LEN];
    small_delta(d, false);
    small_fence(f);
    const uint8_t *name = NULL;
    bool fence = true;
    assert_int_equal(bt_codec_peek_name(d, D_LEN, &name, &fence), 3);
    assert_memory_equal(name, "job", 3);
    assert_false(fence);
    assert_int_equal(bt_codec_peek_name(f, F_LEN, &name, &fence), 3);
    assert_memory_equal(name, "job", 3);
    assert_true(fence);
    assert_int_equal(bt_codec_peek_name(d, 7, &name, &fence), 0); /* the name cut short */
    assert_int_equal(bt_codec_peek_name(d, 4, &name, &fence), 0);
    assert_int_equal(bt_codec_peek_name(d, 0, &name, &fence), 0);
    d[D_COUNT] = d[D_COUNT + 1] = 0; /* no items */
    assert_int_equal(bt_codec_peek_name(d, D_LEN, &name, &fence), 0);
    f[0]++; /* another version */
    assert_int_equal(bt_codec_peek_name(f, F_LEN, &name, &fence), 0);
    struct bt_centry e = entry("job", "n1", 7, false, 11, -3, 99);
    uint8_t *snap;
    size_t snap_len;
    assert_int_equal(bt_codec_encode_snapshot_array(&e, 1, NULL, 0, &snap, &snap_len), 0);
    assert_int_equal(bt_codec_peek_name(snap, snap_len, &name, &fence), 0);
    free(snap);
}

static void random_mutations_of_valid_messages_decode_without_incident(void **state)
{
    uint64_t seed = seed_for("random_mutations_of_valid_messages_decode_without_incident");
    struct bt_centry e[4] = {entry("job", "n1", 7, false, 11, -3, 99),
                             entry("job", "n2", 8, true, 0, 0, 0),
                             entry("shard-7-owner", "node-b.example:7946", 9, false, 1, 1, 1),
                             longest_entry(BT_HLC_TS_MAX, INT64_MIN)};
    struct bt_fence f[3] = {fence("job", 8), fence("shard-7-owner", BT_HLC_TS_MAX), fence("x", 0)};
    uint8_t seeds[3][1024];
    size_t seed_len[3];
    int rc = bt_codec_encode_delta(e, 4, seeds[0], sizeof seeds[0]);
    assert_true(rc > 0);
    seed_len[0] = (size_t)rc;
    rc = bt_codec_encode_fences(f, 3, seeds[1], sizeof seeds[1]);
    assert_true(rc > 0);
    seed_len[1] = (size_t)rc;
    uint8_t *snap;
    size_t snap_len;
    assert_int_equal(bt_codec_encode_snapshot_array(e, 4, f, 3, &snap, &snap_len), 0);
    assert_true(snap_len <= sizeof seeds[2]);
    memcpy(seeds[2], snap, snap_len);
    seed_len[2] = snap_len;
    free(snap);
    size_t accepted = 0, rejected = 0;

    for (size_t iter = 0; iter < 100000; iter++) {
        uint8_t buf[1100];
        size_t which = (size_t)rng_below(3);
        size_t len = seed_len[which];
        memcpy(buf, seeds[which], len);
        unsigned edits = 1 + (unsigned)rng_below(4);
        for (unsigned k = 0; k < edits; k++) {
            size_t at = len > 0 ? (size_t)rng_below(len) : 0;
            switch (rng_below(5)) {
            case 0: /* flip one bit */
                if (len > 0)
                    buf[at] ^= (uint8_t)(1u << rng_below(8));
                break;
            case 1: /* overwrite a byte */
                if (len > 0)
                    buf[at] = (uint8_t)rng_next();
                break;
            case 2: /* truncate */ len = at; break;
            case 3: /* insert a byte */
                if (len < sizeof buf) {
                    memmove(buf + at + 1, buf + at, len - at);
                    buf[at] = (uint8_t)rng_next();
                    len++;
                }
                break;
            default: /* delete a byte */
                if (len > 0) {
                    memmove(buf + at, buf + at + 1, len - at - 1);
                    len--;
                }
                break;
            }
        }
        struct bt_payload p;
        rc = decode_tail(buf, len, &p);
        if (rc != 0 && rc != BATON_EPROTO && rc != BATON_EVERSION)
            fail_msg("seed %" PRIu64 " iteration %zu: unexpected %s", seed, iter,
                     baton_err_name(rc));
        /* The look-ahead reads within the bytes (ASan) and, on what
         * decodes, finds the first item's name. */
        const uint8_t *peeked = NULL;
        bool peeked_fence = false;
        size_t peeked_len = bt_codec_peek_name(buf, len, &peeked, &peeked_fence);
        if (peeked_len > 0)
            assert_true(peeked >= buf && peeked + peeked_len <= buf + len);
        if (rc == 0 && p.type != BT_PAYLOAD_SNAPSHOT && p.nentries + p.nfences > 0) {
            const struct bt_name *first = p.nentries > 0 ? &p.entries[0].name : &p.fences[0].name;
            assert_int_equal(peeked_len, first->len);
            assert_memory_equal(peeked, first->bytes, first->len);
            assert_int_equal(peeked_fence, p.type == BT_PAYLOAD_FENCE);
        }
        if (rc == 0) {
            accepted++;
            check_canonical(buf, len, &p, seed, iter);
            bt_payload_free(&p);
        } else {
            rejected++;
        }
    }
    /* Mutations inside names and integers keep a message valid. */
    assert_true(accepted > 1000);
    assert_true(rejected > 1000);
}

/* A count claiming far more items than the bytes hold allocates nothing,
 * and the densest valid payloads (minimal entries, minimal fences) cost at
 * most BT_CODEC_DECODE_RATIO times their size. */
static void decoding_allocates_at_most_a_small_multiple_of_the_input(void **state)
{
    int rc;
    /* SNAPSHOT claiming 2^20 entries and 2^20 fences in 10 bytes. */
    const uint8_t liar[] = {BT_CODEC_VERSION, 3, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00};
    assert_int_equal(decode_cost(liar, sizeof liar, &rc), 0);
    assert_int_equal(rc, BATON_EPROTO);
    /* DELTA claiming 2048 entries in 4 bytes, FENCE claiming 8192 in 4. */
    const uint8_t delta_liar[] = {BT_CODEC_VERSION, 1, 0x08, 0x00};
    const uint8_t fence_liar[] = {BT_CODEC_VERSION, 2, 0x20, 0x00};
    assert_int_equal(decode_cost(delta_liar, sizeof delta_liar, &rc), 0);
    assert_int_equal(rc, BATON_EPROTO);
    assert_int_equal(decode_cost(fence_liar, sizeof fence_liar, &rc), 0);
    assert_int_equal(rc, BATON_EPROTO);

    /* The densest valid inputs: 1-byte names and minters. */
    enum { N = 4000 };
    struct bt_centry *e = calloc(N, sizeof *e);
    struct bt_fence *f = calloc(N, sizeof *f);
    assert_non_null(e);
    assert_non_null(f);
    for (size_t i = 0; i < N; i++) {
        e[i] = entry("a", "n", i, true, 0, 0, 0);
        f[i] = minimal("a", i);
    }
    uint8_t *buf;
    size_t len;
    const size_t kinds[][2] = {{N, 0}, {0, N}, {N, N}, {1, 0}, {0, 1}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        assert_int_equal(bt_codec_encode_snapshot_array(e, kinds[k][0], f, kinds[k][1], &buf, &len),
                         0);
        size_t cost = decode_cost(buf, len, &rc);
        assert_int_equal(rc, 0);
        assert_true(cost <= BT_CODEC_DECODE_RATIO * len);
        free(buf);
    }
    uint8_t list[BT_CODEC_LIST_HEADER + BT_CODEC_FENCE_MAX * BT_CODEC_FENCE_MIN];
    int n = bt_codec_encode_fences(f, 2000, list, sizeof list);
    assert_true(n > 0);
    assert_true(decode_cost(list, (size_t)n, &rc) <= BT_CODEC_DECODE_RATIO * (size_t)n);
    assert_int_equal(rc, 0);
    n = bt_codec_encode_delta(e, 1500, list, sizeof list);
    assert_true(n > 0);
    assert_true(decode_cost(list, (size_t)n, &rc) <= BT_CODEC_DECODE_RATIO * (size_t)n);
    assert_int_equal(rc, 0);
    free(e);
    free(f);
}

/* bt_codec_decode_in: a payload that fits the caller's room is decoded
 * there with no allocation, and freeing it leaves the room alone (ASan
 * would report a free of the stack); one item past the room is allocated
 * as bt_codec_decode() would, with the same contents. */
static void decoding_into_room_allocates_nothing_until_it_overflows(void **state)
{
    struct bt_centry e[BT_CODEC_ROOM + 1];
    for (size_t i = 0; i < BT_CODEC_ROOM + 1; i++)
        e[i] = entry("shard", i % 2 ? "n1" : "n2", 100 + i, false, i + 1, (int64_t)i, 7);
    struct bt_fence f = fence("shard", 42);
    uint8_t buf[8192];
    struct bt_centry room_e[BT_CODEC_ROOM];
    struct bt_fence room_f[BT_CODEC_ROOM];
    struct bt_payload p;

    int len = bt_codec_encode_delta(e, BT_CODEC_ROOM, buf, sizeof buf);
    assert_true(len > 0);
    allocated = 0;
    counting = true;
    assert_int_equal(
        bt_codec_decode_in(buf, (size_t)len, &p, room_e, BT_CODEC_ROOM, room_f, BT_CODEC_ROOM), 0);
    counting = false;
    assert_int_equal(allocated, 0);
    assert_true(p.borrowed);
    assert_ptr_equal(p.entries, room_e);
    assert_int_equal(p.nentries, BT_CODEC_ROOM);
    assert_memory_equal(&p.entries[BT_CODEC_ROOM - 1], &e[BT_CODEC_ROOM - 1], sizeof e[0]);
    bt_payload_free(&p);
    assert_null(p.entries);

    len = bt_codec_encode_fences(&f, 1, buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(bt_codec_decode_in(buf, (size_t)len, &p, NULL, 0, room_f, 1), 0);
    assert_true(p.borrowed);
    assert_ptr_equal(p.fences, room_f);
    assert_memory_equal(&p.fences[0], &f, sizeof f);
    bt_payload_free(&p);

    len = bt_codec_encode_delta(e, BT_CODEC_ROOM + 1, buf, sizeof buf);
    assert_true(len > 0);
    assert_int_equal(
        bt_codec_decode_in(buf, (size_t)len, &p, room_e, BT_CODEC_ROOM, room_f, BT_CODEC_ROOM), 0);
    assert_false(p.borrowed);
    assert_true(p.entries != room_e);
    assert_int_equal(p.nentries, BT_CODEC_ROOM + 1);
    assert_memory_equal(&p.entries[BT_CODEC_ROOM], &e[BT_CODEC_ROOM], sizeof e[0]);
    bt_payload_free(&p);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(delta_round_trips_live_entries_and_tombstones),
    cmocka_unit_test(fence_round_trips_longest_name_and_greatest_token),
    cmocka_unit_test(empty_lists_round_trip),
    cmocka_unit_test(snapshot_array_round_trips_entries_and_fences),
    cmocka_unit_test(snapshot_of_a_map_carries_every_entry_and_tombstone),
    cmocka_unit_test(encoders_refuse_what_the_decoder_would_refuse),
    cmocka_unit_test(every_truncation_of_a_valid_message_is_rejected),
    cmocka_unit_test(bad_version_is_eversion_and_bad_type_is_eproto),
    cmocka_unit_test(malformed_entry_fields_are_rejected),
    cmocka_unit_test(counts_beyond_the_bytes_or_the_limits_are_rejected),
    cmocka_unit_test(trailing_garbage_is_rejected),
    cmocka_unit_test(fence_token_beyond_int64_and_empty_name_are_rejected),
    cmocka_unit_test(node_name_characters_are_letters_digits_and_five_marks),
    cmocka_unit_test(fence_minter_must_be_a_node_name),
    cmocka_unit_test(fence_minter_names_its_boot),
    cmocka_unit_test(malformed_gossip_like_the_reference_suite_is_dropped),
    cmocka_unit_test(free_leaves_an_empty_payload_and_tolerates_one),
    cmocka_unit_test(random_bytes_decode_without_incident),
    cmocka_unit_test(peeking_finds_the_first_name_of_a_delta_or_fence_only),
    cmocka_unit_test(random_mutations_of_valid_messages_decode_without_incident),
    cmocka_unit_test(decoding_allocates_at_most_a_small_multiple_of_the_input),
    cmocka_unit_test(decoding_into_room_allocates_nothing_until_it_overflows),
};
BT_TEST_MAIN(tests)
