/*
 * Campaign names and node names: fixed-size storage, validation and order.
 *
 * A campaign name is 1..255 opaque bytes; a node name is 1..64 bytes of
 * [A-Za-z0-9._:@-]. Both order bytewise with a prefix first (docs/design.md §1:
 * ties between candidates go to the lowest node name). Storing them inline
 * keeps every core structure free of pointers into peer input.
 */
#ifndef BT_NAMES_H
#define BT_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

struct bt_name {
    uint8_t len; /* 1..BATON_NAME_MAX */
    uint8_t bytes[BATON_NAME_MAX];
};

struct bt_nodeid {
    uint8_t len;                    /* 1..BATON_NODE_MAX */
    char bytes[BATON_NODE_MAX + 1]; /* NUL-terminated for logging */
};

/* Whether c may be in a node name: an ASCII letter or digit, or one of
 * . _ : @ - (a bit per byte value: every name every datagram carries is
 * checked, a chain of comparisons per byte was a few per cent of a large
 * simulation). */
static inline bool bt_node_char_ok(unsigned char c)
{
    static const uint64_t ok[4] = {
        /* '-' 45, '.' 46, '0'..'9' 48..57, ':' 58 */
        (UINT64_C(3) << 45) | (UINT64_C(0x7ff) << 48),
        /* '@' 64, 'A'..'Z' 65..90, '_' 95, 'a'..'z' 97..122 */
        (UINT64_C(0x7ffffff) << 0) | (UINT64_C(1) << 31) | (UINT64_C(0x3ffffff) << 33),
        0,
        0,
    };
    return (ok[c >> 6] >> (c & 63)) & 1;
}

static inline bool bt_nodeid_valid_bytes(const void *p, size_t n)
{
    if (n == 0 || n > BATON_NODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!bt_node_char_ok(((const unsigned char *)p)[i]))
            return false;
    return true;
}

/* The node name of the n bytes at p, which are one already (a copy of a
 * stored name): zero past them. */
static inline struct bt_nodeid bt_nodeid_of(const void *p, size_t n)
{
    struct bt_nodeid id;
    memset(&id, 0, sizeof id);
    id.len = (uint8_t)n;
    memcpy(id.bytes, p, n);
    return id;
}

/* A node name fitted in a record's room of room bytes (at least a
 * pointer's size; the record keeps the length): a name of up to room
 * bytes inline, a longer one in an allocation the record owns, whose
 * address the room holds. Every node keeps such a record for every member
 * (the election's member records, the clock readings), most names are
 * short, and a struct bt_nodeid is 66 bytes. */
static inline const char *bt_fitname_bytes(const char *buf, size_t len, size_t room)
{
    if (len <= room)
        return buf;
    const char *out;
    memcpy(&out, buf, sizeof out);
    return out;
}

/* Puts name in the room buf. false: out of memory (buf unchanged). */
static inline bool bt_fitname_set(char *buf, size_t room, const struct bt_nodeid *name)
{
    if (name->len <= room) {
        memcpy(buf, name->bytes, name->len);
        return true;
    }
    char *out = malloc(name->len);
    if (!out)
        return false;
    memcpy(out, name->bytes, name->len);
    memcpy(buf, &out, sizeof out);
    return true;
}

/* Frees what the room buf holds for a name of len bytes, if anything. */
static inline void bt_fitname_free(const char *buf, size_t len, size_t room)
{
    if (len > room)
        free((void *)bt_fitname_bytes(buf, len, room));
}

/* Fills id from n bytes; returns 0 or BATON_EINVAL if they are no node name. */
static inline int bt_nodeid_set(struct bt_nodeid *id, const void *p, size_t n)
{
    if (!bt_nodeid_valid_bytes(p, n))
        return BATON_EINVAL;
    /* In place, as bt_nodeid_of() would make it: a copy through a
     * temporary stalled on its partial stores (decoding every name of a
     * datagram). */
    id->len = (uint8_t)n;
    memcpy(id->bytes, p, n);
    memset(id->bytes + n, 0, sizeof id->bytes - n);
    return 0;
}

/* The process that minted a term (docs/guard.md): its node name and its
 * boot. Two processes can claim one node name for a while (twins,
 * docs/membership.md), and both may mint the same token: the boot is what
 * tells their terms apart. A known minter has a node name and a nonzero
 * boot; an unknown one (a resource's report without it) is all zero. */
struct bt_minter {
    struct bt_nodeid node; /* empty: unknown */
    uint64_t boot;         /* nonzero when node is not empty; 0 when unknown */
};

/* Whether m is a known, well-formed minter. */
static inline bool bt_minter_valid(const struct bt_minter *m)
{
    return m->boot != 0 && bt_nodeid_valid_bytes(m->node.bytes, m->node.len);
}

static inline bool bt_minter_eq(const struct bt_minter *a, const struct bt_minter *b)
{
    return a->boot == b->boot && a->node.len == b->node.len &&
           memcmp(a->node.bytes, b->node.bytes, a->node.len) == 0;
}

/* The text form of a minter (baton.h's BATON_MINTER_MAX): the node name,
 * '#', the boot as 16 lowercase hex digits. Writes it and a NUL into out
 * (BATON_MINTER_MAX + 1 bytes) and returns its length; an unknown minter
 * gives "" and 0. */
static inline size_t bt_minter_format(const struct bt_minter *m, char *out)
{
    static const char hex[] = "0123456789abcdef";
    if (m->node.len == 0) {
        out[0] = '\0';
        return 0;
    }
    size_t n = m->node.len;
    memcpy(out, m->node.bytes, n);
    out[n++] = '#';
    for (int shift = 60; shift >= 0; shift -= 4)
        out[n++] = hex[(m->boot >> shift) & 0xfu];
    out[n] = '\0';
    return n;
}

/* Parses the text form of a minter from p[0..n) into *m. Returns 0, or
 * BATON_EINVAL (m untouched) unless it is exactly a node name, '#' and 16
 * lowercase hex digits that are not all zero. */
static inline int bt_minter_parse(struct bt_minter *m, const void *p, size_t n)
{
    const char *s = p;
    if (!p || n < 18 || n > BATON_MINTER_MAX || s[n - 17] != '#')
        return BATON_EINVAL;
    uint64_t boot = 0;
    for (size_t i = n - 16; i < n; i++) {
        char c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return BATON_EINVAL;
        boot = boot << 4 | d;
    }
    struct bt_minter out;
    if (boot == 0 || bt_nodeid_set(&out.node, s, n - 17) != 0)
        return BATON_EINVAL;
    out.boot = boot;
    *m = out;
    return 0;
}

/* Fills name from n bytes; returns 0 or BATON_EINVAL if n is not 1..255. */
static inline int bt_name_set(struct bt_name *name, const void *p, size_t n)
{
    if (n == 0 || n > BATON_NAME_MAX)
        return BATON_EINVAL;
    memset(name, 0, sizeof *name);
    name->len = (uint8_t)n;
    memcpy(name->bytes, p, n);
    return 0;
}

static inline int bt_bytes_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return (an > bn) - (an < bn);
}

static inline int bt_nodeid_cmp(const struct bt_nodeid *a, const struct bt_nodeid *b)
{
    return bt_bytes_cmp(a->bytes, a->len, b->bytes, b->len);
}

static inline bool bt_nodeid_eq(const struct bt_nodeid *a, const struct bt_nodeid *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Copies src into dst, bytes past its length zeroed, reading only src's
 * length and bytes: the map's stored entries hold their node allocated to
 * fit (struct bt_cstored), so a node name is never copied whole. */
static inline void bt_nodeid_copy(struct bt_nodeid *dst, const struct bt_nodeid *src)
{
    dst->len = src->len;
    memcpy(dst->bytes, src->bytes, src->len);
    memset(dst->bytes + src->len, 0, sizeof dst->bytes - src->len);
}

static inline int bt_name_cmp(const struct bt_name *a, const struct bt_name *b)
{
    return bt_bytes_cmp(a->bytes, a->len, b->bytes, b->len);
}

static inline bool bt_name_eq(const struct bt_name *a, const struct bt_name *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* Copies src into dst, bytes past its length zeroed, reading only src's
 * length and bytes: the election's records hold their names allocated to
 * fit (and lend them to the map), so a name is never copied whole. */
static inline void bt_name_copy(struct bt_name *dst, const struct bt_name *src)
{
    dst->len = src->len;
    memcpy(dst->bytes, src->bytes, src->len);
    memset(dst->bytes + src->len, 0, sizeof dst->bytes - src->len);
}

/* FNV-1a, for hash tables keyed by names. Not for anything adversarial:
 * tables using it must stay correct (only slower) under collisions. */
static inline uint64_t bt_hash_bytes(const void *p, size_t n)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) {
        h ^= ((const uint8_t *)p)[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* A 64-bit finaliser (splitmix64's): spreads every input bit over the
 * output, for combining hashes. */
static inline uint64_t bt_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

#endif
