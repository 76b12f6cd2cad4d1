/*
 * The replicated candidate map (API in cmap.h).
 *
 * What it holds. For every key (campaign name, node) the last thing that
 * node said about its candidacy for the name: "I campaign, with this
 * candidate id, priority and boot", or "I stopped" (a tombstone). Every node
 * keeps a replica; the replication layer ships single entries as deltas and
 * whole maps on push-pull, and every replica folds whatever it receives in
 * entry by entry with bt_cmap_merge_entry().
 *
 * Last writer wins, and there is one writer per key. The reference keeps
 * the candidates in an OR-Map (barrel_p2p_ormap) keyed {Name, node()} and
 * prunes a node's keys when its overlay neighbour sees it go down. baton
 * keeps a plain last-writer-wins register per key and lets only the key's
 * own node write it (docs/design.md §1, fix 2). The owner stamps each write with
 * its HLC, so its writes to one key are totally ordered and "latest" simply
 * means "greatest stamp". No other replica ever writes the key; a node that
 * receives an entry for itself that no live local session backs answers
 * with a fresh, higher tombstone (the layers above this file do that), so a
 * stale entry resurfacing from a lagging peer is overwritten by its owner
 * within one round. For this to work the owner must stamp above every stamp
 * it has seen on its own keys, so received stamps must reach its HLC.
 *
 * Why a total order gives the merge laws. Merge keeps, per key, the greater
 * of two entries under bt_centry_cmp(). When that order is total (two
 * entries compare equal only when they are the same entry), per-key merge is
 * max() on a totally ordered set, which is a join semilattice: commutative,
 * associative and idempotent. A map is a set of keys, each holding the join
 * of everything received for it, so whole-map merge inherits the three laws
 * and replicas that received the same entries, in any order and any number
 * of times, hold identical bytes. Honest owners never write two entries of
 * one key with the same stamp, but a restarted process whose clock went
 * back, a bug or a forged packet can. Ordering by stamp alone would then let
 * the arrival order pick the survivor and replicas would diverge forever;
 * comparing every remaining field (a tombstone above a live entry, so a tie
 * never resurrects a candidacy, then candidate id, priority, boot id) closes
 * that hole. Tombstones are normalised on the way in (their candidacy
 * fields zeroed), so two tombstones that differ only in fields a tombstone
 * does not carry are the same entry.
 *
 * Why tombstones, and when they may go. Deleting a key outright would let
 * any replica still holding the older live entry hand it back on the next
 * full sync, and merge would take it as new. A tombstone outranks it.
 * Tombstones cost memory, so the election layer forgets entries stamped
 * before a horizon (bt_cmap_forget(), from bt_leader_expire()). That alone
 * is unsafe: a delayed packet or a long-partitioned peer may still carry a
 * live entry older than the forgotten tombstone, and with the tombstone gone
 * merge would accept it. Forgetting is safe only together with the rule
 * that entries stamped before the horizon are refused on receipt
 * (leader_merge.c) and the owner's re-tombstoning above. This file only
 * does the forgetting.
 *
 * Storage. A chained hash table of names (htab.c, hashed with
 * bt_hash_bytes). Each name holds a vector
 * of pointers to individually allocated entries, sorted by node name, so
 * a lookup is one hash probe plus a binary search, bt_cmap_entries() hands
 * out the vector itself, and an insert moves only the pointers of its own
 * name. Beside it, vectors of each entry's node key and of its priority,
 * which the search and bt_cmap_best() read without touching the entries
 * (apart, so the search reads 8 bytes a step); a name of more entries
 * keeps a fourth, of the rest of each entry's order (struct entry_ord),
 * which tells a copy already held without the entry. A name of up to four
 * entries keeps the three vectors in its own record, and the first bytes
 * of its name beside the pointer to it: a 1000-node simulation looks a
 * gossiped copy up in a cold replica for every one it receives, and each
 * separate allocation read was a cache miss (and three mallocs a name). An
 * entry is stored without its name (struct bt_cstored, 120 bytes instead
 * of struct bt_centry's 368): it points at its name record's copy. A name
 * whose last entry goes is freed.
 *
 * Memory. malloc/realloc/free only. Every allocation failure returns
 * BATON_ENOMEM with the map valid and its counters exact. Failing to grow
 * the hash table is not an error at all: chains only get longer.
 */
#include "core/cmap.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

#define INITIAL_ENTRIES 4

/* What a name with more entries than its slots keeps of each entry beside
 * its key and priority: the other fields bt_centry_cmp() reads, and the
 * length of its node's name. A gossiped copy already held (every one but
 * the first that a node receives of each of a thousand candidacies, in a
 * 1000-node simulation) is then told from a newer one without reading the
 * entry: the entry and the pointer to it were two cache misses a copy. */
struct entry_ord {
    uint64_t stamp;
    uint64_t candidate_id;
    uint64_t boot_id;
    bool removed;
    uint8_t node_len;
};

/* How many bytes of a name a struct bt_cname keeps beside its pointer:
 * a lookup of a name no longer than this compares it without reading the
 * lent copy (one cache miss fewer; most names are short). */
#define NAME_HEAD 15

struct bt_cname {
    struct bt_hlink link;        /* in bt_cmap.names, hashed with name_hash() */
    const struct bt_name *name;  /* the campaign name: own[0], bytes past len zeroed,
                                    or a copy lent by bt_cmap.lend_name, which
                                    may hold only len bytes (bt_name_copy) */
    uint8_t head_len;            /* name->len */
    uint8_t head[NAME_HEAD];     /* its first min(len, NAME_HEAD) bytes, the rest zero */
    size_t n;                    /* entries in use, at least 1 while linked */
    size_t nlive;                /* of them, not tombstones */
    uint64_t mark;               /* bt_cmap_set_mark's; in the digest while nlive > 0 */
    size_t cap;                  /* slots in keys, entries and prios */
    int64_t top;                 /* the greatest priority in prios[0..n) */
    uint64_t *keys;              /* keys[i] = node_key(&entries[i]->node): the search
                                    compares these before touching an entry */
    struct bt_cstored **entries; /* n entries sorted by node, each malloc'd; their
                                    name is this record's name */
    int64_t *prios;              /* prios[i] = entries[i]->cand.priority (0 in a
                                    tombstone), for bt_cmap_best */
    struct entry_ord *ords;      /* NULL while the vectors are in slots, else
                                    ords[i]: the rest of entries[i]'s order and
                                    its node's length (see struct entry_ord) */
    /* The vectors: keys, entries and prios in slots while cap is
     * INITIAL_ENTRIES (most names: a lookup then reads the keys from the
     * record it just found), else those three and ords in one allocation
     * of cap of each, in that order. */
    struct {
        uint64_t keys[INITIAL_ENTRIES];
        struct bt_cstored *entries[INITIAL_ENTRIES];
        int64_t prios[INITIAL_ENTRIES];
    } slots;
    struct bt_name own[]; /* one when no copy was lent, else none */
};

/* --- entries ------------------------------------------------------------ */

static int cmp_u64(uint64_t a, uint64_t b) { return (a > b) - (a < b); }
static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

/* bt_centry_cmp on the fields it reads, wherever they are kept. */
#define ENTRY_CMP(a, b)                                                                            \
    do {                                                                                           \
        int c_;                                                                                    \
        if ((c_ = cmp_u64((a)->stamp, (b)->stamp)) != 0)                                           \
            return c_;                                                                             \
        if ((a)->removed != (b)->removed)                                                          \
            return (a)->removed ? 1 : -1;                                                          \
        if ((c_ = cmp_u64((a)->cand.candidate_id, (b)->cand.candidate_id)) != 0)                   \
            return c_;                                                                             \
        if ((c_ = cmp_i64((a)->cand.priority, (b)->cand.priority)) != 0)                           \
            return c_;                                                                             \
        return cmp_u64((a)->cand.boot_id, (b)->cand.boot_id);                                      \
    } while (0)

int bt_centry_cmp(const struct bt_centry *a, const struct bt_centry *b) { ENTRY_CMP(a, b); }

/* bt_centry_cmp of an entry of the same key and a stored one. */
static int stored_cmp(const struct bt_centry *a, const struct bt_cstored *b) { ENTRY_CMP(a, b); }

/* The fields of an entry that bt_centry_cmp reads. */
struct entry_order {
    uint64_t stamp;
    bool removed;
    struct bt_cand cand;
};

/* stored_cmp of those fields alone. */
static int order_cmp(const struct entry_order *a, const struct bt_cstored *b) { ENTRY_CMP(a, b); }

/* The same of two such sets of fields. */
static int orders_cmp(const struct entry_order *a, const struct entry_order *b) { ENTRY_CMP(a, b); }

static bool key_valid(const struct bt_name *name, const struct bt_nodeid *node)
{
    return name->len >= 1 && bt_nodeid_valid_bytes(node->bytes, node->len);
}

/* Copies src into dst in canonical form: bytes past each length zeroed, a
 * tombstone's candidacy zeroed, removed exactly 0 or 1. Canonical entries
 * compare and print the same whatever junk the source carried. */
static void entry_canonical(struct bt_centry *dst, const struct bt_centry *src)
{
    memset(dst, 0, sizeof *dst);
    dst->name.len = src->name.len;
    memcpy(dst->name.bytes, src->name.bytes, src->name.len);
    dst->node.len = src->node.len;
    memcpy(dst->node.bytes, src->node.bytes, src->node.len);
    dst->stamp = src->stamp;
    dst->removed = src->removed ? true : false;
    if (!dst->removed)
        dst->cand = src->cand;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

unsigned bt_cmap_digest_bucket(const struct bt_name *name)
{
    return (unsigned)(mix64(bt_hash_bytes(name->bytes, name->len)) % BT_CMAP_DIGEST_BUCKETS);
}

static uint64_t digest_term(const struct bt_name *name, const struct bt_nodeid *node,
                            uint64_t stamp, const struct bt_cand *cand)
{
    uint64_t h = mix64(bt_hash_bytes(name->bytes, name->len));
    h = mix64(h ^ bt_hash_bytes(node->bytes, node->len));
    h = mix64(h ^ stamp);
    h = mix64(h ^ cand->candidate_id);
    h = mix64(h ^ (uint64_t)cand->priority);
    return mix64(h ^ cand->boot_id);
}

uint64_t bt_cmap_digest_term(const struct bt_centry *e)
{
    return digest_term(&e->name, &e->node, e->stamp, &e->cand);
}

uint64_t bt_cmap_mark_term(const struct bt_name *name, uint64_t mark)
{
    if (mark == 0)
        return 0;
    /* Mixed apart from an entry's term, which also starts from the name. */
    return mix64(mix64(bt_hash_bytes(name->bytes, name->len)) ^ mix64(~mark));
}

/* Counts a live entry of cn in nlive and the digest, and with the name's
 * first live entry its mark (live_out takes them out again: XOR is its own
 * inverse); a tombstone is in neither. */
static void live_in(struct bt_cmap *m, struct bt_cname *cn, const struct bt_cstored *e)
{
    if (!e->removed) {
        m->nlive++;
        uint64_t *bucket = &m->digest[bt_cmap_digest_bucket(e->name)];
        *bucket ^= digest_term(e->name, &e->node, e->stamp, &e->cand);
        if (cn->nlive++ == 0)
            *bucket ^= bt_cmap_mark_term(e->name, cn->mark);
    }
}

static void live_out(struct bt_cmap *m, struct bt_cname *cn, const struct bt_cstored *e)
{
    if (!e->removed) {
        m->nlive--;
        uint64_t *bucket = &m->digest[bt_cmap_digest_bucket(e->name)];
        *bucket ^= digest_term(e->name, &e->node, e->stamp, &e->cand);
        if (--cn->nlive == 0)
            *bucket ^= bt_cmap_mark_term(e->name, cn->mark);
    }
}

/* Copies the fields of canonical entry e but its key into stored (whose
 * name pointer and node, set when it was made, are left alone). */
static void stored_set(struct bt_cstored *stored, const struct bt_centry *e)
{
    stored->stamp = e->stamp;
    stored->removed = e->removed;
    stored->cand = e->cand;
}

/* Overwrites a stored entry of the same key with a greater one and keeps
 * nlive and the digest exact. */
static void entry_replace(struct bt_cmap *m, struct bt_cname *cn, struct bt_cstored *stored,
                          const struct bt_centry *e)
{
    live_out(m, cn, stored);
    stored_set(stored, e);
    live_in(m, cn, stored);
}

void bt_cstored_entry(const struct bt_cstored *s, struct bt_centry *out)
{
    memset(out, 0, sizeof *out);
    bt_name_copy(&out->name, s->name);
    bt_nodeid_copy(&out->node, &s->node);
    out->stamp = s->stamp;
    out->removed = s->removed;
    out->cand = s->cand;
}

/* --- names and the hash table -------------------------------------------- */

static uint64_t name_hash(const struct bt_name *name)
{
    return bt_hash_bytes(name->bytes, name->len);
}

static struct bt_cname *cname_of(const struct bt_hlink *x)
{
    return x ? BT_HTAB_ENTRY(x, struct bt_cname, link) : NULL;
}

static bool cname_is(const struct bt_hlink *x, const void *key)
{
    const struct bt_cname *cn = cname_of(x);
    const struct bt_name *name = key;
    if (name->len != cn->head_len)
        return false;
    size_t head = name->len < NAME_HEAD ? name->len : NAME_HEAD;
    if (memcmp(cn->head, name->bytes, head) != 0)
        return false;
    return name->len <= NAME_HEAD || bt_name_eq(cn->name, name);
}

static struct bt_cname *name_find(const struct bt_cmap *m, const struct bt_name *name)
{
    if (name->len == 0)
        return NULL;
    return cname_of(bt_htab_find(&m->names, name_hash(name), cname_is, name));
}

/* The first 8 bytes of a node name, big-endian, zero-padded: ordered as
 * bt_nodeid_cmp orders the names whenever the keys differ (a node name
 * holds no zero byte, so padding sorts a prefix first). Keeping them in a
 * vector of their own spares the binary search a cache miss per step into
 * a separately allocated entry (most of a 1000-node simulation's time). */
static uint64_t node_key(const struct bt_nodeid *node)
{
    uint64_t k = 0;
    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (i < node->len ? (uint8_t)node->bytes[i] : 0);
    return k;
}

/* Points cn's vectors at its slots. */
static void name_use_slots(struct bt_cname *cn)
{
    cn->keys = cn->slots.keys;
    cn->entries = cn->slots.entries;
    cn->prios = cn->slots.prios;
    cn->ords = NULL;
    cn->cap = INITIAL_ENTRIES;
}

/* What cn->ords keeps of stored entry e. */
static struct entry_ord ord_of(const struct bt_cstored *e)
{
    struct entry_ord o;
    memset(&o, 0, sizeof o);
    o.stamp = e->stamp;
    o.candidate_id = e->cand.candidate_id;
    o.boot_id = e->cand.boot_id;
    o.removed = e->removed;
    o.node_len = e->node.len;
    return o;
}

/* An unlinked name with room for INITIAL_ENTRIES entries and none in
 * use, or NULL. Its name is the copy m's lender lends, if it lends one,
 * else its own. */
static struct bt_cname *name_new(const struct bt_cmap *m, const struct bt_name *name)
{
    const struct bt_name *lent = m->lend_name ? m->lend_name(m->ctx, name) : NULL;
    assert(!lent || bt_name_eq(lent, name));
    size_t size = sizeof(struct bt_cname) + (lent ? 0 : sizeof(struct bt_name));
    struct bt_cname *cn = malloc(size);
    if (!cn)
        return NULL;
    memset(cn, 0, size);
    name_use_slots(cn);
    if (lent) {
        cn->name = lent;
    } else {
        cn->own[0].len = name->len;
        memcpy(cn->own[0].bytes, name->bytes, name->len);
        cn->name = &cn->own[0];
    }
    cn->head_len = name->len;
    memcpy(cn->head, name->bytes, name->len < NAME_HEAD ? name->len : NAME_HEAD);
    cn->mark = m->mark_of ? m->mark_of(m->ctx, name) : 0;
    return cn;
}

/* Frees cn's vectors if they are not its slots. */
static void name_free_vectors(struct bt_cname *cn)
{
    if (cn->keys != cn->slots.keys)
        free(cn->keys);
}

/* Frees a name and its entries without touching any counter. */
static void name_free(struct bt_cname *cn)
{
    for (size_t i = 0; i < cn->n; i++)
        free(cn->entries[i]);
    name_free_vectors(cn);
    free(cn);
}

/* Links a name whose entries are already counted in nentries/nlive. The
 * table must have buckets (bt_htab_reserve). */
static void name_link(struct bt_cmap *m, struct bt_cname *cn)
{
    bt_htab_link(&m->names, &cn->link, name_hash(cn->name));
}

/* Unlinks an empty name and frees it. */
static void name_unlink_free(struct bt_cmap *m, struct bt_cname *cn)
{
    assert(cn->n == 0);
    bt_htab_unlink(&m->names, &cn->link);
    name_free(cn);
}

/* bt_nodeid_cmp of entry i of cn and node (a valid name), whose keys are
 * equal. Two valid names with equal keys share their first min(length, 8)
 * bytes and, when one is no longer than 8, differ only in length (a name
 * holds no zero byte, the key pads with zeros): then cn->ords, when there
 * is one, answers without reading the entry. */
static int name_tie(const struct bt_cname *cn, size_t i, const struct bt_nodeid *node)
{
    if (cn->ords) {
        size_t len = cn->ords[i].node_len;
        if (len <= 8 || node->len <= 8)
            return (len > node->len) - (len < node->len);
    }
    return bt_nodeid_cmp(&cn->entries[i]->node, node);
}

/* Index of node in cn, or of where it would go; *found says which. */
static size_t name_search(const struct bt_cname *cn, const struct bt_nodeid *node, bool *found)
{
    size_t lo = 0, hi = cn->n;
    uint64_t key = node_key(node);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
#if defined(__GNUC__)
        /* Should this step find it, its ords entry is read next (name_tie,
         * bt_cmap_known): fetched beside the key, its cache miss overlaps
         * the key's instead of following it. */
        if (cn->ords)
            __builtin_prefetch(&cn->ords[mid]);
#endif
        int c = cn->keys[mid] != key ? (cn->keys[mid] < key ? -1 : 1) : name_tie(cn, mid, node);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Grows cn's vectors to hold at least want slots. */
static int name_reserve(struct bt_cname *cn, size_t want)
{
    if (want <= cn->cap)
        return 0;
    size_t cap = cn->cap * 2;
    if (cap < want)
        cap = want;
    size_t slot =
        sizeof *cn->keys + sizeof *cn->entries + sizeof *cn->prios + sizeof(struct entry_ord);
    if (cap > SIZE_MAX / slot)
        return BATON_ENOMEM;
    uint8_t *block = malloc(cap * slot);
    if (!block)
        return BATON_ENOMEM;
    uint64_t *keys = (uint64_t *)(void *)block;
    struct bt_cstored **entries = (struct bt_cstored **)(void *)(keys + cap);
    int64_t *prios = (int64_t *)(void *)(entries + cap);
    struct entry_ord *ords = (struct entry_ord *)(void *)(prios + cap);
    memcpy(keys, cn->keys, cn->n * sizeof *keys);
    memcpy(entries, cn->entries, cn->n * sizeof *entries);
    memcpy(prios, cn->prios, cn->n * sizeof *prios);
    if (cn->ords)
        memcpy(ords, cn->ords, cn->n * sizeof *ords);
    else
        for (size_t i = 0; i < cn->n; i++)
            ords[i] = ord_of(entries[i]);
    name_free_vectors(cn);
    cn->keys = keys;
    cn->entries = entries;
    cn->prios = prios;
    cn->ords = ords;
    cn->cap = cap;
    return 0;
}

/* Recomputes cn->top from the keys. */
static void name_retop(struct bt_cname *cn)
{
    cn->top = cn->n ? cn->prios[0] : 0;
    for (size_t i = 1; i < cn->n; i++)
        if (cn->prios[i] > cn->top)
            cn->top = cn->prios[i];
}

/* Removes entry i of cn and frees the name if that was its last. */
static void name_drop(struct bt_cmap *m, struct bt_cname *cn, size_t i)
{
    int64_t gone = cn->prios[i];
    live_out(m, cn, cn->entries[i]);
    m->nentries--;
    free(cn->entries[i]);
    memmove(&cn->entries[i], &cn->entries[i + 1], (cn->n - i - 1) * sizeof *cn->entries);
    memmove(&cn->keys[i], &cn->keys[i + 1], (cn->n - i - 1) * sizeof *cn->keys);
    memmove(&cn->prios[i], &cn->prios[i + 1], (cn->n - i - 1) * sizeof *cn->prios);
    if (cn->ords)
        memmove(&cn->ords[i], &cn->ords[i + 1], (cn->n - i - 1) * sizeof *cn->ords);
    cn->n--;
    if (cn->n == 0)
        name_unlink_free(m, cn);
    else if (gone == cn->top)
        name_retop(cn);
}

/* --- merge ------------------------------------------------------------- */

void bt_cmap_init(struct bt_cmap *m)
{
    memset(m, 0, sizeof *m);
    bt_htab_init(&m->names);
}

void bt_cmap_destroy(struct bt_cmap *m)
{
    struct bt_hlink *next;
    for (struct bt_hlink *x = bt_htab_first(&m->names); x; x = next) {
        next = bt_htab_next(&m->names, x);
        name_free(cname_of(x));
    }
    bt_htab_destroy(&m->names);
    const struct bt_name *(*lend_name)(void *, const struct bt_name *) = m->lend_name;
    uint64_t (*mark_of)(void *, const struct bt_name *) = m->mark_of;
    void *ctx = m->ctx;
    bt_cmap_init(m);
    m->lend_name = lend_name;
    m->mark_of = mark_of;
    m->ctx = ctx;
}

/* Merges one canonical, valid entry into a name that exists (cn) or not
 * (cn NULL). */
static int merge_canonical(struct bt_cmap *m, struct bt_cname *cn, const struct bt_centry *e)
{
    size_t at = 0;

    if (cn) {
        bool found;
        at = name_search(cn, &e->node, &found);
        if (found) {
            struct bt_cstored *stored = cn->entries[at];
            if (stored_cmp(e, stored) <= 0)
                return 0;
            entry_replace(m, cn, stored, e);
            int64_t was = cn->prios[at];
            cn->prios[at] = stored->cand.priority;
            if (cn->ords)
                cn->ords[at] = ord_of(stored);
            if (stored->cand.priority > cn->top)
                cn->top = stored->cand.priority;
            else if (was == cn->top && stored->cand.priority < was)
                name_retop(cn);
            return 1;
        }
    }

    /* 1. Allocate everything that can fail before touching the map. */
    if (bt_htab_reserve(&m->names) != 0)
        return BATON_ENOMEM;
    size_t size = offsetof(struct bt_cstored, node.bytes) + e->node.len + 1;
    struct bt_cstored *fresh = malloc(size);
    if (!fresh)
        return BATON_ENOMEM;
    memset(fresh, 0, size);
    fresh->node.len = e->node.len;
    memcpy(fresh->node.bytes, e->node.bytes, e->node.len);
    stored_set(fresh, e);
    bool new_name = cn == NULL;
    if (new_name) {
        cn = name_new(m, &e->name);
        if (!cn) {
            free(fresh);
            return BATON_ENOMEM;
        }
    } else if (name_reserve(cn, cn->n + 1) != 0) {
        free(fresh);
        return BATON_ENOMEM;
    }

    /* 2. Insert; nothing below fails. */
    fresh->name = cn->name;
    memmove(&cn->entries[at + 1], &cn->entries[at], (cn->n - at) * sizeof *cn->entries);
    memmove(&cn->keys[at + 1], &cn->keys[at], (cn->n - at) * sizeof *cn->keys);
    memmove(&cn->prios[at + 1], &cn->prios[at], (cn->n - at) * sizeof *cn->prios);
    if (cn->ords)
        memmove(&cn->ords[at + 1], &cn->ords[at], (cn->n - at) * sizeof *cn->ords);
    cn->entries[at] = fresh;
    cn->keys[at] = node_key(&fresh->node);
    cn->prios[at] = fresh->cand.priority;
    if (cn->ords)
        cn->ords[at] = ord_of(fresh);
    if (cn->n == 0 || fresh->cand.priority > cn->top)
        cn->top = fresh->cand.priority;
    cn->n++;
    m->nentries++;
    live_in(m, cn, fresh);
    if (new_name)
        name_link(m, cn);
    return 1;
}

int bt_cmap_merge_entry(struct bt_cmap *m, const struct bt_centry *e)
{
    if (!key_valid(&e->name, &e->node))
        return BATON_EINVAL;
    struct bt_centry canon;
    entry_canonical(&canon, e);
    return merge_canonical(m, name_find(m, &canon.name), &canon);
}

bool bt_cmap_known(const struct bt_cmap *m, const struct bt_centry *e)
{
    if (!key_valid(&e->name, &e->node))
        return false;
    const struct bt_cname *cn = name_find(m, &e->name);
    if (!cn)
        return false;
    bool found;
    size_t at = name_search(cn, &e->node, &found);
    if (!found)
        return false;
    /* The fields the order reads, in canonical form (entry_canonical
     * without copying the name and node: most received copies end here). */
    struct entry_order canon;
    canon.stamp = e->stamp;
    canon.removed = e->removed ? true : false;
    if (canon.removed)
        memset(&canon.cand, 0, sizeof canon.cand);
    else
        canon.cand = e->cand;
    if (!cn->ords)
        return order_cmp(&canon, cn->entries[at]) <= 0;
    /* The same comparison on what the vectors keep. */
    const struct entry_ord *o = &cn->ords[at];
    struct entry_order held;
    held.stamp = o->stamp;
    held.removed = o->removed;
    held.cand.candidate_id = o->candidate_id;
    held.cand.priority = cn->prios[at];
    held.cand.boot_id = o->boot_id;
    return orders_cmp(&canon, &held) <= 0;
}

int bt_cmap_add(struct bt_cmap *m, const struct bt_name *name, const struct bt_nodeid *node,
                const struct bt_cand *cand, uint64_t stamp, struct bt_centry *out)
{
    if (!key_valid(name, node))
        return BATON_EINVAL;
    struct bt_centry e = {.node = *node, .stamp = stamp, .removed = false, .cand = *cand};
    bt_name_copy(&e.name, name);
    struct bt_centry canon;
    entry_canonical(&canon, &e);
    int r = merge_canonical(m, name_find(m, &canon.name), &canon);
    if (r >= 0 && out)
        *out = canon;
    return r;
}

int bt_cmap_remove(struct bt_cmap *m, const struct bt_name *name, const struct bt_nodeid *node,
                   uint64_t stamp, struct bt_centry *out)
{
    if (!key_valid(name, node))
        return BATON_EINVAL;
    struct bt_centry e = {.node = *node, .stamp = stamp, .removed = true};
    bt_name_copy(&e.name, name);
    struct bt_centry canon;
    entry_canonical(&canon, &e);
    int r = merge_canonical(m, name_find(m, &canon.name), &canon);
    if (r >= 0 && out)
        *out = canon;
    return r;
}

void bt_cmap_set_mark(struct bt_cmap *m, const struct bt_name *name, uint64_t mark)
{
    struct bt_cname *cn = name_find(m, name);
    if (!cn || cn->mark == mark)
        return;
    if (cn->nlive > 0)
        m->digest[bt_cmap_digest_bucket(name)] ^=
            bt_cmap_mark_term(name, cn->mark) ^ bt_cmap_mark_term(name, mark);
    cn->mark = mark;
}

/* --- queries ------------------------------------------------------------- */

const struct bt_cstored *bt_cmap_get(const struct bt_cmap *m, const struct bt_name *name,
                                     const struct bt_nodeid *node)
{
    if (node->len > BATON_NODE_MAX)
        return NULL;
    const struct bt_cname *cn = name_find(m, name);
    if (!cn)
        return NULL;
    bool found;
    size_t at = name_search(cn, node, &found);
    return found ? cn->entries[at] : NULL;
}

size_t bt_cmap_entries(const struct bt_cmap *m, const struct bt_name *name,
                       const struct bt_cstored *const **out)
{
    const struct bt_cname *cn = name_find(m, name);
    if (!cn) {
        *out = NULL;
        return 0;
    }
    /* T ** to const T *const * is safe but not implicit in C. */
    *out = (const struct bt_cstored *const *)cn->entries;
    return cn->n;
}

const struct bt_cstored *bt_cmap_best(const struct bt_cmap *m, const struct bt_name *name,
                                      bool (*counts)(const struct bt_cstored *e, const void *ctx),
                                      const void *ctx)
{
    const struct bt_cname *cn = name_find(m, name);
    const struct bt_cstored *best = NULL;
    int64_t top = 0;
    if (!cn)
        return NULL;
    /* The priorities have a vector of their own, so the entries that cannot beat
     * the best so far (with one name campaigned for by every node of a
     * 1000-node cluster, all but one) are passed over without touching
     * them: a cache miss each, which made this scan most of a 1000-node
     * simulation's time. */
    for (size_t i = 0; i < cn->n; i++) {
        if (best && top == cn->top)
            break; /* no later entry can beat it */
        if (best && cn->prios[i] <= top)
            continue;
        if (!counts(cn->entries[i], ctx))
            continue;
        best = cn->entries[i];
        top = cn->prios[i];
    }
    return best;
}

int bt_cmap_foreach(const struct bt_cmap *m, int (*fn)(const struct bt_cstored *e, void *ctx),
                    void *ctx)
{
    for (const struct bt_hlink *x = bt_htab_first(&m->names); x; x = bt_htab_next(&m->names, x)) {
        const struct bt_cname *cn = cname_of(x);
        for (size_t i = 0; i < cn->n; i++) {
            int r = fn(cn->entries[i], ctx);
            if (r != 0)
                return r;
        }
    }
    return 0;
}

int bt_cmap_forget(struct bt_cmap *m, const struct bt_name *name, const struct bt_nodeid *node)
{
    if (node->len > BATON_NODE_MAX)
        return 0;
    struct bt_cname *cn = name_find(m, name);
    if (!cn)
        return 0;
    bool found;
    size_t at = name_search(cn, node, &found);
    if (!found)
        return 0;
    name_drop(m, cn, at);
    return 1;
}
