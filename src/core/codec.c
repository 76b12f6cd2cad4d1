/*
 * Wire encoding of candidate-map deltas, fences and snapshots (layouts in
 * codec.h).
 *
 * The reference (the Erlang module barrel_p2p_leader) ships Erlang terms and checks their
 * shape on arrival: valid_candidate/1 wants {Pid, Priority}, valid_fence/1
 * wants an HLC timestamp record, a full sync that is not a pair of maps is
 * ignored. baton has no term format to lean on, so this file defines the
 * bytes and makes the same checks part of decoding, more strictly:
 *
 *   - A payload is accepted whole or not at all. The reference filters bad
 *     leaves out of a map and keeps the rest; here one malformed field
 *     rejects the message. Gossip is authenticated, so a malformed payload
 *     means a bug or a version skew in the sender, and half of a message
 *     from a sender we know to be wrong is not worth trusting. A reject is a
 *     negative return the caller counts; nothing here asserts on input.
 *   - Validation happens before allocation. bt_codec_decode() parses the
 *     input twice with the same function: the first pass only checks and
 *     counts, the second, run only once the first has succeeded, fills
 *     arrays allocated to the exact counts (or the caller's room, when
 *     they fit: bt_codec_decode_in). The two passes cannot disagree
 *     because they are one code path, and a hostile count cannot make us
 *     allocate: every count is compared with the bytes left (at the minimum
 *     encoded size of an element) before anything is read.
 *   - Encoders refuse what the decoder would refuse (BATON_EINVAL), so a
 *     node can never gossip a payload its peers drop, and the format is
 *     canonical: a re-encoded decode is the input byte for byte, which is
 *     the oracle the fuzzer checks.
 *
 * Reading goes through wire.h's sticky reader: a read past the end yields
 * zeros and sets the error flag, and a failed check sets the same flag, so
 * each parser checks once per element rather than after every field.
 */
#include "core/codec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/hlc.h"
#include "core/wire.h"

/* Entry bytes besides the two names: 2 length bytes, stamp, removed, the
 * three candidacy fields. */
#define ENTRY_FIXED (1 + 1 + 8 + 1 + 8 + 8 + 8)
/* Fence bytes besides the two names: their length bytes, the token and the
 * minter's boot. */
#define FENCE_FIXED (1 + 8 + 1 + 8)

_Static_assert(BT_CODEC_ENTRY_MIN == ENTRY_FIXED + 1 + 1, "entry minimum");
_Static_assert(BT_CODEC_ENTRY_MAX == ENTRY_FIXED + BATON_NAME_MAX + BATON_NODE_MAX,
               "entry maximum");
_Static_assert(BT_CODEC_FENCE_MIN == FENCE_FIXED + 1 + 1, "fence minimum");
_Static_assert(BT_CODEC_FENCE_ENC_MAX == FENCE_FIXED + BATON_NAME_MAX + BATON_NODE_MAX,
               "fence maximum");
/* Counts must fit their wire fields, and the longest DELTA or FENCE an int
 * (the list encoders return their length as one). */
_Static_assert(BT_CODEC_DELTA_MAX <= UINT16_MAX && BT_CODEC_FENCE_MAX <= UINT16_MAX, "u16 counts");
_Static_assert((uint64_t)BT_CODEC_LIST_HEADER +
                           (uint64_t)BT_CODEC_FENCE_MAX * BT_CODEC_FENCE_ENC_MAX <=
                       INT32_MAX &&
                   (uint64_t)BT_CODEC_LIST_HEADER +
                           (uint64_t)BT_CODEC_DELTA_MAX * BT_CODEC_ENTRY_MAX <=
                       INT32_MAX,
               "list lengths fit an int");

/* ---- validation shared by encoders and decoder ------------------------- */

static bool cand_is_zero(const struct bt_cand *c)
{
    return c->candidate_id == 0 && c->priority == 0 && c->boot_id == 0;
}

static bool entry_valid(const struct bt_centry *e)
{
    return e->name.len >= 1 && bt_nodeid_valid_bytes(e->node.bytes, e->node.len) &&
           e->stamp <= BT_HLC_TS_MAX && (!e->removed || cand_is_zero(&e->cand));
}

/* The minter is a process, a node name and a nonzero boot: a term is
 * (token, minter), and a fence that names no minter is meaningless (nobody
 * could be its rival); one without its boot could not tell two processes
 * of one name apart (twins, docs/guard.md). */
static bool fence_valid(const struct bt_fence *f)
{
    return f->name.len >= 1 && f->token <= BT_HLC_TS_MAX && bt_minter_valid(&f->minter);
}

/* int64 <-> its two's-complement bits, without implementation-defined
 * conversions. */
static uint64_t i64_bits(int64_t v)
{
    return v >= 0 ? (uint64_t)v : UINT64_MAX - (uint64_t)(-(v + 1));
}

static int64_t bits_i64(uint64_t u)
{
    return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

/* ---- elements: sizes, writers and readers ----------------------------- */

size_t bt_codec_entry_size(const struct bt_centry *e)
{
    return ENTRY_FIXED + (size_t)e->name.len + (size_t)e->node.len;
}

size_t bt_codec_fence_size(const struct bt_fence *f)
{
    return FENCE_FIXED + (size_t)f->name.len + (size_t)f->minter.node.len;
}

static void put_entry(struct bt_wbuf *w, const void *elem)
{
    const struct bt_centry *e = elem;

    bt_put_str8(w, e->name.bytes, e->name.len);
    bt_put_str8(w, e->node.bytes, e->node.len);
    bt_put_u64(w, e->stamp);
    bt_put_u8(w, e->removed ? 1 : 0);
    bt_put_u64(w, e->cand.candidate_id);
    bt_put_u64(w, i64_bits(e->cand.priority));
    bt_put_u64(w, e->cand.boot_id);
}

static void put_fence(struct bt_wbuf *w, const void *elem)
{
    const struct bt_fence *f = elem;

    bt_put_str8(w, f->name.bytes, f->name.len);
    bt_put_u64(w, f->token);
    bt_put_u8(w, f->minter.node.len);
    bt_put_bytes(w, f->minter.node.bytes, f->minter.node.len);
    bt_put_u64(w, f->minter.boot);
}

/* Reads one entry into *e (zeroed first, so equal entries compare equal
 * byte for byte) and marks r failed if it is malformed. */
static void get_entry(struct bt_rbuf *r, void *elem)
{
    struct bt_centry *e = elem;

    memset(e, 0, sizeof *e);
    e->name.len = (uint8_t)bt_get_str8(r, e->name.bytes, BATON_NAME_MAX);
    size_t node_len = bt_get_u8(r);
    const uint8_t *node = bt_get_span(r, node_len);
    if (node && bt_nodeid_valid_bytes(node, node_len)) {
        e->node.len = (uint8_t)node_len;
        memcpy(e->node.bytes, node, node_len);
    } else {
        bt_rbuf_fail(r);
    }
    e->stamp = bt_get_u64(r);
    uint8_t removed = bt_get_u8(r);
    e->removed = removed == 1;
    e->cand.candidate_id = bt_get_u64(r);
    e->cand.priority = bits_i64(bt_get_u64(r));
    e->cand.boot_id = bt_get_u64(r);
    if (removed > 1 || !entry_valid(e))
        bt_rbuf_fail(r);
}

static void get_fence(struct bt_rbuf *r, void *elem)
{
    struct bt_fence *f = elem;

    memset(f, 0, sizeof *f);
    f->name.len = (uint8_t)bt_get_str8(r, f->name.bytes, BATON_NAME_MAX);
    f->token = bt_get_u64(r);
    size_t minter_len = bt_get_u8(r);
    const uint8_t *minter = minter_len <= BATON_NODE_MAX ? bt_get_span(r, minter_len) : NULL;
    if (minter) {
        f->minter.node.len = (uint8_t)minter_len;
        memcpy(f->minter.node.bytes, minter, minter_len);
    } else {
        bt_rbuf_fail(r);
    }
    f->minter.boot = bt_get_u64(r);
    if (!fence_valid(f))
        bt_rbuf_fail(r);
}

/* The encoded size of a valid entry (fence), 0 for one the decoder would
 * refuse. */
static size_t entry_checked_size(const void *elem)
{
    return entry_valid(elem) ? bt_codec_entry_size(elem) : 0;
}

static size_t fence_checked_size(const void *elem)
{
    return fence_valid(elem) ? bt_codec_fence_size(elem) : 0;
}

/* DELTA and FENCE are one format over two element types: a list header,
 * then the elements. One implementation serves both through these. */
struct list_kind {
    uint8_t type;    /* the payload type: BT_PAYLOAD_DELTA or BT_PAYLOAD_FENCE */
    size_t max;      /* most elements one such payload holds */
    size_t stride;   /* bytes of one element in memory (struct bt_centry or bt_fence) */
    size_t min_size; /* fewest bytes one element takes on the wire */
    size_t (*checked_size)(const void *elem);         /* encoded size; 0: invalid */
    void (*put)(struct bt_wbuf *w, const void *elem); /* writes one valid element */
    void (*get)(struct bt_rbuf *r, void *elem);       /* reads one, fails r if malformed */
};

static const struct list_kind delta_kind = {
    .type = BT_PAYLOAD_DELTA,
    .max = BT_CODEC_DELTA_MAX,
    .stride = sizeof(struct bt_centry),
    .min_size = BT_CODEC_ENTRY_MIN,
    .checked_size = entry_checked_size,
    .put = put_entry,
    .get = get_entry,
};

static const struct list_kind fence_kind = {
    .type = BT_PAYLOAD_FENCE,
    .max = BT_CODEC_FENCE_MAX,
    .stride = sizeof(struct bt_fence),
    .min_size = BT_CODEC_FENCE_MIN,
    .checked_size = fence_checked_size,
    .put = put_fence,
    .get = get_fence,
};

/* ---- encoding ---------------------------------------------------------- */

/* Encodes the longest prefix of the n elements at elems (an array of
 * kind->stride-byte elements; at most kind->max) that fits in cap bytes,
 * sets *taken to its length and returns the bytes written. BATON_ENOSPC
 * when not even the header and the first element fit (*taken is then 0),
 * BATON_EINVAL for an invalid element among those examined. */
static int encode_list_some(const struct list_kind *kind, const void *elems, size_t n, uint8_t *buf,
                            size_t cap, size_t *taken)
{
    const unsigned char *at = elems;
    size_t k = 0, size = BT_CODEC_LIST_HEADER;

    *taken = 0;
    if (cap < BT_CODEC_LIST_HEADER)
        return BATON_ENOSPC;
    /* 1. Choose the prefix that fits, validating what we take. */
    while (k < n && k < kind->max) {
        size_t one = kind->checked_size(at + k * kind->stride);
        if (one == 0)
            return BATON_EINVAL;
        if (one > cap - size)
            break;
        size += one;
        k++;
    }
    if (k == 0 && n > 0)
        return BATON_ENOSPC;

    /* 2. Write it; it fits by construction. */
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, cap);
    bt_put_u8(&w, BT_CODEC_VERSION);
    bt_put_u8(&w, kind->type);
    bt_put_u16(&w, (uint16_t)k);
    for (size_t i = 0; i < k; i++)
        kind->put(&w, at + i * kind->stride);
    assert(!w.overflow && w.len == size);
    *taken = k;
    return (int)w.len;
}

/* bt_codec_encode_delta() and bt_codec_encode_fences(). */
static int encode_list(const struct list_kind *kind, const void *elems, size_t n, uint8_t *buf,
                       size_t cap)
{
    size_t taken;

    if (n > kind->max)
        return BATON_E2BIG;
    int rc = encode_list_some(kind, elems, n, buf, cap, &taken);
    if (rc >= 0 && taken < n) {
        /* The rest might still hold an invalid element: report that first,
         * as the caller cannot fix it by offering more room. */
        const unsigned char *at = elems;
        for (size_t i = taken; i < n; i++)
            if (kind->checked_size(at + i * kind->stride) == 0)
                return BATON_EINVAL;
        return BATON_ENOSPC;
    }
    return rc;
}

int bt_codec_encode_delta(const struct bt_centry *e, size_t n, uint8_t *buf, size_t cap)
{
    return encode_list(&delta_kind, e, n, buf, cap);
}

int bt_codec_encode_fences(const struct bt_fence *f, size_t n, uint8_t *buf, size_t cap)
{
    return encode_list(&fence_kind, f, n, buf, cap);
}

/* The snapshot encoder walks its entries twice, once to size and validate
 * and once to write, through one of these. */
struct snap_walk {
    struct bt_wbuf *w; /* NULL in the sizing pass */
    size_t count;      /* entries seen */
    size_t size;       /* their encoded bytes */
    bool invalid;      /* an entry failed entry_valid() */
};

static int snap_visit(const struct bt_centry *e, void *ctx)
{
    struct snap_walk *walk = ctx;

    if (walk->w) {
        put_entry(walk->w, e);
        return 0;
    }
    if (!entry_valid(e)) {
        walk->invalid = true;
        return 1;
    }
    walk->count++;
    walk->size += bt_codec_entry_size(e);
    return 0;
}

static int snap_visit_array(const struct bt_centry *e, size_t n,
                            int (*visit)(const struct bt_centry *, void *), void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        int rc = visit(&e[i], ctx);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int bt_codec_encode_snapshot_array(const struct bt_centry *e, size_t n, const struct bt_fence *f,
                                   size_t nf, uint8_t **out, size_t *out_len)
{
    struct snap_walk walk = {0};

    *out = NULL;
    *out_len = 0;
    /* 1. Size and validate everything. */
    if (n > BT_CODEC_SNAPSHOT_MAX || nf > BT_CODEC_SNAPSHOT_MAX)
        return BATON_E2BIG;
    (void)snap_visit_array(e, n, snap_visit, &walk);
    if (walk.invalid)
        return BATON_EINVAL;
    size_t size = BT_CODEC_SNAPSHOT_HEADER + walk.size;
    for (size_t i = 0; i < nf; i++) {
        if (!fence_valid(&f[i]))
            return BATON_EINVAL;
        size += bt_codec_fence_size(&f[i]);
    }

    /* 2. Allocate exactly that much. */
    uint8_t *buf = malloc(size);
    if (!buf)
        return BATON_ENOMEM;

    /* 3. Write. The entries have not changed in between (the caller's, borrowed
     * for this call), so the second walk writes what the first one measured. */
    struct bt_wbuf w;
    bt_wbuf_init(&w, buf, size);
    bt_put_u8(&w, BT_CODEC_VERSION);
    bt_put_u8(&w, BT_PAYLOAD_SNAPSHOT);
    bt_put_u32(&w, (uint32_t)walk.count);
    struct snap_walk writer = {.w = &w};
    (void)snap_visit_array(e, n, snap_visit, &writer);
    bt_put_u32(&w, (uint32_t)nf);
    for (size_t i = 0; i < nf; i++)
        put_fence(&w, &f[i]);
    assert(!w.overflow && w.len == size);
    *out = buf;
    *out_len = size;
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

/* What parse() found, and where the second pass puts it. */
struct parse_result {
    enum bt_payload_type type;
    size_t nentries;
    size_t nfences;
    struct bt_centry *entries; /* NULL in the checking pass */
    struct bt_fence *fences;   /* NULL in the checking pass */
};

/* Room for one element of either kind: get_list() reads each element here
 * and copies it out only once it has read it whole and valid. */
union list_elem {
    struct bt_centry entry;
    struct bt_fence fence;
};

/* Reads count elements of kind, into dst (an array of count elements)
 * unless it is NULL, after checking count against limit and against what
 * the bytes left can hold at the kind's minimum size. Returns count; a
 * failed check fails r. */
static size_t get_list(struct bt_rbuf *r, const struct list_kind *kind, size_t count, size_t limit,
                       void *dst)
{
    if (count > limit)
        bt_rbuf_fail(r);
    if (count > bt_rbuf_left(r) / kind->min_size) {
        bt_rbuf_fail(r);
        return 0;
    }
    assert(kind->stride <= sizeof(union list_elem));
    for (size_t i = 0; i < count && !r->error; i++) {
        union list_elem one;
        kind->get(r, &one);
        if (dst && !r->error)
            memcpy((unsigned char *)dst + i * kind->stride, &one, kind->stride);
    }
    return count;
}

/* Parses a whole payload. With res->entries and res->fences NULL it only
 * validates and counts; given arrays of the counts a validating pass
 * returned, it fills them. Returns 0, BATON_EVERSION or BATON_EPROTO. */
static int parse(const uint8_t *buf, size_t len, struct parse_result *res)
{
    struct bt_rbuf r;
    size_t count;

    bt_rbuf_init(&r, buf, len);
    uint8_t version = bt_get_u8(&r);
    if (r.error)
        return BATON_EPROTO;
    if (version != BT_CODEC_VERSION)
        return BATON_EVERSION;

    uint8_t type = bt_get_u8(&r);
    res->type = (enum bt_payload_type)type;
    switch (type) {
    case BT_PAYLOAD_DELTA:
        count = bt_get_u16(&r);
        res->nentries = get_list(&r, &delta_kind, count, delta_kind.max, res->entries);
        break;
    case BT_PAYLOAD_FENCE:
        count = bt_get_u16(&r);
        res->nfences = get_list(&r, &fence_kind, count, fence_kind.max, res->fences);
        break;
    case BT_PAYLOAD_SNAPSHOT:
        count = bt_get_u32(&r);
        res->nentries = get_list(&r, &delta_kind, count, BT_CODEC_SNAPSHOT_MAX, res->entries);
        count = bt_get_u32(&r);
        res->nfences = get_list(&r, &fence_kind, count, BT_CODEC_SNAPSHOT_MAX, res->fences);
        break;
    default: bt_rbuf_fail(&r); break;
    }
    if (r.error || bt_rbuf_left(&r) != 0)
        return BATON_EPROTO;
    return 0;
}

size_t bt_codec_peek_name(const uint8_t *buf, size_t len, const uint8_t **name, bool *fence)
{
    /* version u8, type u8, count u16, then the first item's str8 name */
    if (len < 5 || buf[0] != BT_CODEC_VERSION ||
        (buf[1] != BT_PAYLOAD_DELTA && buf[1] != BT_PAYLOAD_FENCE) || (buf[2] | buf[3]) == 0 ||
        buf[4] > len - 5)
        return 0;
    *name = buf + 5;
    *fence = buf[1] == BT_PAYLOAD_FENCE;
    return buf[4];
}

int bt_codec_decode_in(const uint8_t *buf, size_t len, struct bt_payload *out,
                       struct bt_centry *room_e, size_t nroom_e, struct bt_fence *room_f,
                       size_t nroom_f)
{
    struct parse_result res = {0};

    memset(out, 0, sizeof *out);
    if (!buf && len > 0)
        return BATON_EPROTO;
    if (!buf)
        buf = (const uint8_t *)"";

    /* 1. Validate everything and learn the counts. */
    int rc = parse(buf, len, &res);
    if (rc != 0)
        return rc;

    /* 2. The caller's room if both lists fit, else exactly what the counts
     * need; they are bounded by the input's length, checked in pass 1. */
    bool borrowed = res.nentries <= nroom_e && res.nfences <= nroom_f;
    if (borrowed) {
        res.entries = res.nentries > 0 ? room_e : NULL;
        res.fences = res.nfences > 0 ? room_f : NULL;
    } else {
        if (res.nentries > 0 && !(res.entries = malloc(res.nentries * sizeof *res.entries)))
            return BATON_ENOMEM;
        if (res.nfences > 0 && !(res.fences = malloc(res.nfences * sizeof *res.fences))) {
            free(res.entries);
            return BATON_ENOMEM;
        }
    }

    /* 3. Fill them (every element whole: get_list copies each one read in
     * full). The same parser over the same bytes cannot fail now; the check
     * only keeps a broken invariant from handing out half a payload in a
     * build without assertions. */
    rc = parse(buf, len, &res);
    assert(rc == 0);
    if (rc != 0) {
        if (!borrowed) {
            free(res.entries);
            free(res.fences);
        }
        return rc;
    }
    out->type = res.type;
    out->entries = res.entries;
    out->nentries = res.nentries;
    out->fences = res.fences;
    out->nfences = res.nfences;
    out->borrowed = borrowed;
    return 0;
}

int bt_codec_decode(const uint8_t *buf, size_t len, struct bt_payload *out)
{
    return bt_codec_decode_in(buf, len, out, NULL, 0, NULL, 0);
}

void bt_payload_free(struct bt_payload *p)
{
    if (!p->borrowed) {
        free(p->entries);
        free(p->fences);
    }
    memset(p, 0, sizeof *p);
}
