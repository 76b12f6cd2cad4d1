/*
 * The replicated candidate map: (campaign name, node) -> candidacy.
 *
 * Each key has one last-writer-wins entry stamped with an HLC "dot" and may
 * be a tombstone. Only the key's node ever writes it (the owner; docs/design.md §1
 * fix 2), so its writes are totally ordered by its HLC. Merge keeps, per key,
 * the greatest entry under bt_centry_cmp(), a total order, which makes merge
 * commutative, associative and idempotent whatever the inputs, even forged
 * or corrupted ones with equal stamps.
 */
#ifndef BT_CMAP_H
#define BT_CMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/htab.h"
#include "core/names.h"

/* What a live candidacy says. */
struct bt_cand {
    uint64_t candidate_id; /* the owner's id for the campaigning session */
    int64_t priority;      /* higher wins; ties go to the lowest node name */
    uint64_t boot_id;      /* the owner process's boot when it campaigned */
};

/* One entry, as stored and as replicated. */
struct bt_centry {
    struct bt_name name;   /* campaign name (key, part 1) */
    struct bt_nodeid node; /* owner node (key, part 2) */
    uint64_t stamp;        /* HLC timestamp of the owner's write */
    bool removed;          /* tombstone: the candidacy ended */
    struct bt_cand cand;   /* zeroed in tombstones */
};

/* One entry as the map stores it and hands it out: struct bt_centry with
 * its name out of line, shared by the name's entries (a campaign name takes
 * 256 bytes inline, two thirds of a struct bt_centry; a 1000-node
 * simulation keeps millions of entries). Owned by the map. */
struct bt_cstored {
    const struct bt_name *name; /* the map's copy of the campaign name: valid as long as
                                   this entry is; copy it with bt_name_copy */
    uint64_t stamp;
    struct bt_cand cand;
    bool removed;
    /* As in struct bt_centry, allocated to fit (node names are mostly
     * short: 64 bytes a stored entry instead of 128): only its len, len
     * bytes and the NUL are there, so copy it with bt_nodeid_copy. */
    struct bt_nodeid node;
};

/* Copies stored entry s, name included, into *out (a canonical entry:
 * bytes past each length zeroed). */
void bt_cstored_entry(const struct bt_cstored *s, struct bt_centry *out);

/* Total order of two entries of the same key: by stamp, then a tombstone
 * above a live entry, then by candidate id, priority and boot id. */
int bt_centry_cmp(const struct bt_centry *a, const struct bt_centry *b);

struct bt_cname; /* one campaign name's entries, internal to cmap.c */

/* Buckets of the live-entry digest (bt_cmap.digest). */
#define BT_CMAP_DIGEST_BUCKETS 32

struct bt_cmap {
    struct bt_htab names; /* struct bt_cname by name; names.count: names with an entry */
    size_t nentries;      /* entries, tombstones included */
    size_t nlive;         /* entries that are not tombstones */
    /* A digest of the live entries and of the marks of the names that have
     * one, maintained incrementally: bucket bt_cmap_digest_bucket(name) is
     * the XOR of bt_cmap_digest_term() over the live entries of the names
     * in that bucket, and of bt_cmap_mark_term() over the marks
     * (bt_cmap_set_mark) of those of them that have a live entry. Two maps
     * with the same live entries and the same marks for their names have
     * the same digest, whatever their tombstones and the marks of names
     * without a live entry (which each replica forgets, or ages, on its own
     * schedule). replica.c exchanges it to find a replica that missed an
     * entry or a fence (docs/election.md). */
    uint64_t digest[BT_CMAP_DIGEST_BUCKETS];
    /* Optional hooks (NULL after bt_cmap_init; bt_cmap_destroy keeps them),
     * both asked when a name gets its first entry, with ctx. lend_name:
     * where the map may borrow a name's copy instead of keeping its own
     * (256 bytes a name); returns a copy of name that stays valid and
     * unchanged at least as long as the map holds an entry of the name,
     * or NULL (the map then keeps its own). The copy may hold only its len
     * and bytes (the election lends its name records', allocated to fit:
     * leader.c), so the map and its users copy names with bt_name_copy,
     * never whole. mark_of: the name's mark, as bt_cmap_set_mark would set
     * it (a name's mark is 0 without it). */
    const struct bt_name *(*lend_name)(void *ctx, const struct bt_name *name);
    uint64_t (*mark_of)(void *ctx, const struct bt_name *name);
    void *ctx;
};

/* The digest bucket of a name, 0..BT_CMAP_DIGEST_BUCKETS-1. */
unsigned bt_cmap_digest_bucket(const struct bt_name *name);
/* One live entry's share of its bucket: a hash of its name, node, stamp and
 * candidacy. */
uint64_t bt_cmap_digest_term(const struct bt_centry *e);

/* A name's mark's share of its bucket while the name has a live entry: a
 * hash of the name and the mark; 0 for mark 0 (none). */
uint64_t bt_cmap_mark_term(const struct bt_name *name, uint64_t mark);

/* Sets name's mark (0: none), the one value per name beside its entries
 * that the digest covers: the election's high-water mark. The map keeps it
 * while it holds an entry of the name and asks mark_of for it when the
 * name gets its first entry again; for a name it holds no entry of, this
 * does nothing. One lookup. */
void bt_cmap_set_mark(struct bt_cmap *m, const struct bt_name *name, uint64_t mark);

/* An empty map; allocates nothing. */
void bt_cmap_init(struct bt_cmap *m);
/* Frees every entry; m is then an empty map again, ready for reuse. */
void bt_cmap_destroy(struct bt_cmap *m);

/* Merges one entry (copied, in canonical form: bytes past each length and a
 * tombstone's cand zeroed). Returns 1 if the map changed, 0 if the entry was
 * already known or older, BATON_EINVAL if its name is empty or its node is
 * no valid node name (the map is then untouched), or BATON_ENOMEM (the map
 * is then unchanged). */
int bt_cmap_merge_entry(struct bt_cmap *m, const struct bt_centry *e);

/* Whether bt_cmap_merge_entry(m, e) would return 0: the map holds an
 * entry of e's key that e (in canonical form) does not exceed. False for
 * an invalid key. One lookup, nothing changed: a receiver can tell a copy
 * it already has from news before doing anything else with it. */
bool bt_cmap_known(const struct bt_cmap *m, const struct bt_centry *e);

/* Merges a live entry for (name, node) stamped stamp (all copied); out
 * (optional) receives that entry, for broadcasting, whenever the call
 * returns 0 or 1. Returns 1, 0, BATON_EINVAL or BATON_ENOMEM as
 * bt_cmap_merge_entry(). */
int bt_cmap_add(struct bt_cmap *m, const struct bt_name *name, const struct bt_nodeid *node,
                const struct bt_cand *cand, uint64_t stamp, struct bt_centry *out);

/* A tombstone for (name, node) stamped stamp; as bt_cmap_add. */
int bt_cmap_remove(struct bt_cmap *m, const struct bt_name *name, const struct bt_nodeid *node,
                   uint64_t stamp, struct bt_centry *out);

/* The entry for (name, node), tombstone or not, or NULL. Borrowed: valid
 * until the map is next modified. Name and node are borrowed. */
const struct bt_cstored *bt_cmap_get(const struct bt_cmap *m, const struct bt_name *name,
                                     const struct bt_nodeid *node);

/* The entries of one name, tombstones included, sorted by node name.
 * *out is borrowed: valid until the map is next modified (NULL when the
 * name has no entry, and 0 is returned). */
size_t bt_cmap_entries(const struct bt_cmap *m, const struct bt_name *name,
                       const struct bt_cstored *const **out);

/* The first entry of name in node order among those with the greatest
 * priority of the entries for which counts(e, ctx) is true, or NULL when
 * none is. counts is asked only about entries that would beat the best so
 * far (greater priority), in node order; it must not modify the map. The
 * result is borrowed as with bt_cmap_get(). */
const struct bt_cstored *bt_cmap_best(const struct bt_cmap *m, const struct bt_name *name,
                                      bool (*counts)(const struct bt_cstored *e, const void *ctx),
                                      const void *ctx);

/* Calls fn on every entry (names in no particular order, entries of a name
 * by node); stops early and returns fn's value when it is nonzero. fn must
 * not modify the map. */
int bt_cmap_foreach(const struct bt_cmap *m, int (*fn)(const struct bt_cstored *e, void *ctx),
                    void *ctx);

/* Forgets the entry of (name, node) whatever it is (for state that can
 * never matter again, such as a dead boot's). Returns 1 if there was one. */
int bt_cmap_forget(struct bt_cmap *m, const struct bt_name *name, const struct bt_nodeid *node);

#endif
