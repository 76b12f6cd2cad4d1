/*
 * Bounded byte-buffer reader and writer: the primitives every encoder and
 * decoder in the core is written with.
 *
 * Both are "sticky": the first write past the end or read past the end sets a
 * flag and every later call becomes a no-op that reads zeros. An encoder or
 * decoder therefore checks once, at the end, instead of after every field,
 * and a decoder cannot read out of bounds whatever the input is. Integers are
 * big-endian (network order) and fixed-width.
 */
#ifndef BT_WIRE_H
#define BT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bt_wbuf {
    uint8_t *p;    /* caller's storage, borrowed */
    size_t cap;    /* its size */
    size_t len;    /* bytes written so far */
    bool overflow; /* a write did not fit; len stops growing */
};

struct bt_rbuf {
    const uint8_t *p; /* input, borrowed */
    size_t len;       /* its size */
    size_t off;       /* bytes consumed so far */
    bool error;       /* a read went past the end or a check failed */
};

static inline void bt_wbuf_init(struct bt_wbuf *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

static inline void bt_put_bytes(struct bt_wbuf *w, const void *src, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    if (n > 0)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static inline void bt_put_u8(struct bt_wbuf *w, uint8_t v) { bt_put_bytes(w, &v, 1); }

static inline void bt_put_u16(struct bt_wbuf *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    bt_put_bytes(w, b, sizeof b);
}

static inline void bt_put_u32(struct bt_wbuf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    bt_put_bytes(w, b, sizeof b);
}

static inline void bt_put_u64(struct bt_wbuf *w, uint64_t v)
{
    bt_put_u32(w, (uint32_t)(v >> 32));
    bt_put_u32(w, (uint32_t)v);
}

/* A byte string of at most 255 bytes, length-prefixed by one byte. */
static inline void bt_put_str8(struct bt_wbuf *w, const void *s, size_t n)
{
    if (n > 255) {
        w->overflow = true;
        return;
    }
    bt_put_u8(w, (uint8_t)n);
    bt_put_bytes(w, s, n);
}

static inline void bt_rbuf_init(struct bt_rbuf *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
    r->error = false;
}

static inline size_t bt_rbuf_left(const struct bt_rbuf *r)
{
    return r->error ? 0 : r->len - r->off;
}

/* Borrows the next n bytes of the input, or returns NULL (and sets error). */
static inline const uint8_t *bt_get_span(struct bt_rbuf *r, size_t n)
{
    if (r->error || n > r->len - r->off) {
        r->error = true;
        return NULL;
    }
    const uint8_t *s = r->p + r->off;
    r->off += n;
    return s;
}

static inline uint8_t bt_get_u8(struct bt_rbuf *r)
{
    const uint8_t *s = bt_get_span(r, 1);
    return s ? s[0] : 0;
}

static inline uint16_t bt_get_u16(struct bt_rbuf *r)
{
    const uint8_t *s = bt_get_span(r, 2);
    return s ? (uint16_t)((s[0] << 8) | s[1]) : 0;
}

static inline uint32_t bt_get_u32(struct bt_rbuf *r)
{
    const uint8_t *s = bt_get_span(r, 4);
    return s ? ((uint32_t)s[0] << 24) | ((uint32_t)s[1] << 16) | ((uint32_t)s[2] << 8) | s[3] : 0;
}

static inline uint64_t bt_get_u64(struct bt_rbuf *r)
{
    uint64_t hi = bt_get_u32(r);
    return (hi << 32) | bt_get_u32(r);
}

/* Borrows a one-byte-length-prefixed string: returns its length, *s its
 * bytes in the input; an empty or over-long string, or one longer than max,
 * sets error (and returns 0). */
static inline size_t bt_get_str8_span(struct bt_rbuf *r, const uint8_t **s, size_t max)
{
    size_t n = bt_get_u8(r);
    if (n == 0 || n > max) {
        r->error = true;
        return 0;
    }
    *s = bt_get_span(r, n);
    return *s ? n : 0;
}

/* The same, copied into out (which has room for 255 bytes). */
static inline size_t bt_get_str8(struct bt_rbuf *r, void *out, size_t max)
{
    const uint8_t *s;
    size_t n = bt_get_str8_span(r, &s, max);
    if (n > 0)
        memcpy(out, s, n);
    return n;
}

/* Marks the input malformed (a field failed validation). */
static inline void bt_rbuf_fail(struct bt_rbuf *r) { r->error = true; }

#endif
