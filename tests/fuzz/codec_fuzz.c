/*
 * Fuzz target for src/core/codec.c. Any input must decode to a payload or to
 * BATON_EPROTO / BATON_EVERSION, with nothing left allocated. A payload that
 * decodes is then held to the format's promises:
 *   1. canonical: it re-encodes to exactly the input bytes;
 *   2. the encoders agree on sizes: one byte less room is BATON_ENOSPC;
 *   3. a snapshot's entries, merged into a candidate map and re-encoded from
 *      the map, decode back to the same map.
 * A broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/cmap.h"
#include "core/codec.h"
#include "fuzz/fuzz.h"
#include "support/oracle.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "codec_fuzz: %s:%d: oracle failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int merge_all(struct bt_cmap *m, const struct bt_centry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bt_cmap_merge_entry(m, &e[i]) < 0)
            return -1;
    return 0;
}

/* Promise 3. */
static void check_snapshot_through_a_map(const struct bt_payload *p)
{
    struct bt_cmap m, back;
    uint8_t *buf;
    size_t len;

    bt_cmap_init(&m);
    bt_cmap_init(&back);
    CHECK(merge_all(&m, p->entries, p->nentries) == 0);
    CHECK(bt_codec_encode_snapshot(&m, p->fences, p->nfences, &buf, &len) == 0);
    struct bt_payload again;
    CHECK(bt_codec_decode(buf, len, &again) == 0);
    CHECK(again.type == BT_PAYLOAD_SNAPSHOT && again.nentries == m.nentries);
    CHECK(again.nfences == p->nfences);
    CHECK(merge_all(&back, again.entries, again.nentries) == 0);
    CHECK(bt_cmap_equal(&m, &back));
    bt_payload_free(&again);
    free(buf);
    bt_cmap_destroy(&back);
    bt_cmap_destroy(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bt_payload p;
    int rc = bt_codec_decode(data, size, &p);

    if (rc != 0) {
        CHECK(rc == BATON_EPROTO || rc == BATON_EVERSION || rc == BATON_ENOMEM);
        CHECK(p.type == BT_PAYLOAD_NONE && !p.entries && !p.fences && !p.nentries && !p.nfences);
        return 0;
    }

    /* 1. Canonical; 2. sizes agree. A decoded DELTA or FENCE is never
     * shorter than its 4-byte header, so size - 1 is a valid capacity. */
    uint8_t *buf = malloc(size);
    CHECK(buf != NULL);
    switch (p.type) {
    case BT_PAYLOAD_DELTA:
        CHECK(p.nfences == 0);
        CHECK(bt_codec_encode_delta(p.entries, p.nentries, buf, size) == (int)size);
        CHECK(memcmp(buf, data, size) == 0);
        CHECK(bt_codec_encode_delta(p.entries, p.nentries, buf, size - 1) == BATON_ENOSPC);
        break;
    case BT_PAYLOAD_FENCE:
        CHECK(p.nentries == 0);
        CHECK(bt_codec_encode_fences(p.fences, p.nfences, buf, size) == (int)size);
        CHECK(memcmp(buf, data, size) == 0);
        CHECK(bt_codec_encode_fences(p.fences, p.nfences, buf, size - 1) == BATON_ENOSPC);
        break;
    case BT_PAYLOAD_SNAPSHOT: {
        uint8_t *snap;
        size_t snap_len;
        CHECK(bt_codec_encode_snapshot_array(p.entries, p.nentries, p.fences, p.nfences, &snap,
                                             &snap_len) == 0);
        CHECK(snap_len == size && memcmp(snap, data, size) == 0);
        free(snap);
        check_snapshot_through_a_map(&p);
        break;
    }
    default: CHECK(!"decode returned an unknown payload type");
    }
    free(buf);
    bt_payload_free(&p);
    return 0;
}
