/*
 * Writes the seed corpora of the fuzz targets: `make_corpus DIR` creates
 * DIR/<target>/ and fills it with small inputs, valid ones of each shape and
 * near misses that fail one check each, so the fuzzer starts past the easy
 * rejections. The committed tests/fuzz/corpus/ is this program's output:
 *
 *     cmake --build build-codec --target make_corpus
 *     build-codec/tests/make_corpus tests/fuzz/corpus
 *
 * Files are named for what they hold; rerunning overwrites them in place.
 * A new fuzz target may add its seeds here (one function in `targets`) or
 * commit hand-made files in its corpus directory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "baton/baton.h"
#include "core/codec.h"
#include "core/hlc.h"

static const char *out_dir;
static int failures;

static void write_seed(const char *target, const char *name, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: %s: %s\n", path, strerror(errno));
        failures++;
        return;
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: %s: cannot write\n", path);
        failures++;
    }
}

/* ---- codec ------------------------------------------------------------- */

static struct bt_centry centry(const char *name, const char *node, uint64_t stamp, bool removed,
                               uint64_t id, int64_t prio, uint64_t boot)
{
    struct bt_centry e;
    memset(&e, 0, sizeof e);
    if (bt_name_set(&e.name, name, strlen(name)) != 0 ||
        bt_nodeid_set(&e.node, node, strlen(node)) != 0)
        abort();
    e.stamp = stamp;
    e.removed = removed;
    if (!removed)
        e.cand = (struct bt_cand){.candidate_id = id, .priority = prio, .boot_id = boot};
    return e;
}

static struct bt_fence mkfence(const char *name, uint64_t token)
{
    struct bt_fence f;
    memset(&f, 0, sizeof f);
    if (bt_name_set(&f.name, name, strlen(name)) != 0 ||
        bt_nodeid_set(&f.minter.node, "n1", 2) != 0)
        abort();
    f.minter.boot = UINT64_C(0x0102030405060708);
    f.token = token;
    return f;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void delta_seed(const char *name, const struct bt_centry *e, size_t n)
{
    uint8_t buf[4096];
    int len = bt_codec_encode_delta(e, n, buf, sizeof buf);
    if (len < 0)
        abort();
    write_seed("codec", name, buf, (size_t)len);
}

static void fence_seed(const char *name, const struct bt_fence *f, size_t n)
{
    uint8_t buf[4096];
    int len = bt_codec_encode_fences(f, n, buf, sizeof buf);
    if (len < 0)
        abort();
    write_seed("codec", name, buf, (size_t)len);
}

static void snapshot_seed(const char *name, const struct bt_centry *e, size_t n,
                          const struct bt_fence *f, size_t nf)
{
    uint8_t *buf;
    size_t len;
    if (bt_codec_encode_snapshot_array(e, n, f, nf, &buf, &len) != 0)
        abort();
    write_seed("codec", name, buf, len);
    free(buf);
}

static void codec_seeds(void)
{
    const uint64_t t0 = bt_hlc_pack(UINT64_C(1764000000000), 0);
    struct bt_centry mixed[6] = {
        centry("report-roller", "node-a", t0 + 1, false, 1, 0, 0x1111),
        centry("report-roller", "node-b", t0 + 2, true, 0, 0, 0),
        centry("report-roller", "node-c.example:7946", t0 + 3, false, 9, 10, 0x2222),
        centry("shard-7-owner", "n1", t0 + 4, false, 2, -5, 0x3333),
        centry("shard-7-owner", "n2@dc-2", t0 + 70000, true, 0, 0, 0),
        centry("x", "n_3", t0, false, 3, 0, 1),
    };
    struct bt_fence fences[4] = {mkfence("report-roller", t0 + 5), mkfence("shard-7-owner", t0 + 9),
                                 mkfence("x", 1), mkfence("backup", t0 + 65535)};

    /* Longest names, extreme integers. */
    struct bt_centry longest;
    memset(&longest, 0, sizeof longest);
    longest.name.len = BATON_NAME_MAX;
    for (size_t i = 0; i < BATON_NAME_MAX; i++)
        longest.name.bytes[i] = (uint8_t)(0xFF - i);
    longest.node.len = BATON_NODE_MAX;
    for (size_t i = 0; i < BATON_NODE_MAX; i++)
        longest.node.bytes[i] = "Az09._:@-"[i % 9];
    longest.stamp = BT_HLC_TS_MAX;
    longest.cand =
        (struct bt_cand){.candidate_id = UINT64_MAX, .priority = INT64_MIN, .boot_id = UINT64_MAX};
    struct bt_fence longest_fence;
    memset(&longest_fence, 0, sizeof longest_fence);
    longest_fence.name = longest.name;
    longest_fence.token = BT_HLC_TS_MAX;
    longest_fence.minter.node = longest.node; /* and the longest minter */
    longest_fence.minter.boot = UINT64_MAX;

    /* Valid payloads. */
    delta_seed("delta-empty", NULL, 0);
    delta_seed("delta-one-live", &mixed[0], 1);
    delta_seed("delta-one-tombstone", &mixed[1], 1);
    delta_seed("delta-mixed", mixed, 6);
    delta_seed("delta-longest-names-extreme-ints", &longest, 1);
    fence_seed("fence-empty", NULL, 0);
    fence_seed("fence-one", &fences[0], 1);
    fence_seed("fence-several", fences, 4);
    fence_seed("fence-longest-name-max-token", &longest_fence, 1);
    snapshot_seed("snapshot-empty", NULL, 0, NULL, 0);
    snapshot_seed("snapshot-entries-only", mixed, 6, NULL, 0);
    snapshot_seed("snapshot-fences-only", NULL, 0, fences, 4);
    snapshot_seed("snapshot-mixed", mixed, 6, fences, 4);
    snapshot_seed("snapshot-with-longest", &longest, 1, &longest_fence, 1);

    /* Near misses: a one-entry DELTA ("job", "n1") and a one-fence FENCE
     * ("job") with one field broken each (offsets as in codec_test.c). */
    struct bt_centry job = centry("job", "n1", t0, false, 11, -3, 99);
    uint8_t d[44], m[64];
    if (bt_codec_encode_delta(&job, 1, d, sizeof d) != 44)
        abort();
    struct bt_fence jobf = mkfence("job", t0);
    uint8_t fb[27];
    if (bt_codec_encode_fences(&jobf, 1, fb, sizeof fb) != 27)
        abort();

    write_seed("codec", "bad-empty-input", d, 0);
    write_seed("codec", "bad-only-a-version-byte", d, 1);
    memcpy(m, d, 44), m[0] = 1;
    write_seed("codec", "bad-version-1", m, 44);
    memcpy(m, d, 44), m[0] = 3;
    write_seed("codec", "bad-version-3", m, 44);
    memcpy(m, d, 44), m[1] = 4;
    write_seed("codec", "bad-type-4", m, 44);
    write_seed("codec", "bad-delta-truncated", d, 43);
    memcpy(m, d, 44), m[44] = 0;
    write_seed("codec", "bad-delta-trailing-byte", m, 45);
    memcpy(m, d, 44), m[3] = 2;
    write_seed("codec", "bad-delta-count-beyond-bytes", m, 44);
    memcpy(m, d, 44), m[4] = 0;
    write_seed("codec", "bad-delta-empty-name", m, 44);
    memcpy(m, d, 44), m[10] = '/';
    write_seed("codec", "bad-delta-node-char", m, 44);
    memcpy(m, d, 44), m[8] = 65;
    write_seed("codec", "bad-delta-node-too-long", m, 44);
    memcpy(m, d, 44), m[19] = 2;
    write_seed("codec", "bad-delta-removed-2", m, 44);
    memcpy(m, d, 44), m[19] = 1;
    write_seed("codec", "bad-delta-tombstone-with-cand", m, 44);
    memcpy(m, d, 44), put_be64(m + 11, BT_HLC_TS_MAX + 1);
    write_seed("codec", "bad-delta-stamp-beyond-int64", m, 44);
    memcpy(m, fb, 27), put_be64(m + 8, BT_HLC_TS_MAX + 1);
    write_seed("codec", "bad-fence-token-beyond-int64", m, 27);
    memcpy(m, fb, 27), m[2] = 0xFF;
    write_seed("codec", "bad-fence-count-over-limit", m, 27);
    memcpy(m, fb, 27), m[17] = '!';
    write_seed("codec", "bad-fence-minter-char", m, 27);
    memcpy(m, fb, 27), m[16] = 0, memmove(m + 17, fb + 19, 8);
    write_seed("codec", "bad-fence-no-minter", m, 25);
    memcpy(m, fb, 27), put_be64(m + 19, 0);
    write_seed("codec", "bad-fence-boot-zero", m, 27);
    write_seed("codec", "bad-fence-no-boot", fb, 19); /* a version 1 fence */
    const uint8_t huge[10] = {BT_CODEC_VERSION, BT_PAYLOAD_SNAPSHOT, 0, 0x10, 0, 0, 0, 0, 0, 0};
    write_seed("codec", "bad-snapshot-count-beyond-bytes", huge, 10);
    const uint8_t over[10] = {BT_CODEC_VERSION, BT_PAYLOAD_SNAPSHOT, 0, 0x10, 0, 1, 0, 0, 0, 0};
    write_seed("codec", "bad-snapshot-count-over-limit", over, 10);
}

/* ---- targets ----------------------------------------------------------- */

static const struct {
    const char *name;
    void (*seeds)(void);
} targets[] = {
    {"codec", codec_seeds},
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "make_corpus: %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++)
        targets[i].seeds();
    return failures ? 1 : 0;
}
