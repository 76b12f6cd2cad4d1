/*
 * Encoders and decoders of the membership wire format; the diagrams are in
 * swim_proto.h.
 *
 * Everything is written with the sticky reader and writer of wire.h, so an
 * encoder checks overflow once and a decoder cannot read past its input. The
 * decoders validate a whole message before returning success (every
 * broadcast of a datagram, every member of a push-pull), which lets swim.c
 * apply a message knowing that the iterators will not fail halfway and leave
 * it half applied. That costs a second pass over the bytes, which is cheap
 * next to applying them.
 *
 * Compared with HashiCorp memberlist (msgpack-encoded messages inside a
 * "compound" framing), the format here is fixed-layout binary with explicit
 * bounds: there is no generic decoder to trust, and a fuzzer can cover every
 * branch.
 */
#include "core/swim_proto.h"

#include "baton/baton.h"

bool bt_swim_addr_valid(const void *p, size_t n)
{
    if (n == 0 || n > BT_ADDR_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = ((const unsigned char *)p)[i];
        if (c < 0x21 || c > 0x7e)
            return false;
    }
    return true;
}

int bt_swim_addr_set(struct bt_addr *a, const void *p, size_t n)
{
    if (!bt_swim_addr_valid(p, n))
        return BATON_EINVAL;
    memset(a, 0, sizeof *a);
    a->len = (uint8_t)n;
    memcpy(a->s, p, n);
    return 0;
}

/* ---- encoders ----------------------------------------------------------- */

void bt_swim_put_header(struct bt_wbuf *w, enum bt_swim_type type, const struct bt_nodeid *sender,
                        uint64_t boot)
{
    bt_put_u8(w, BT_SWIM_VERSION);
    bt_put_u8(w, (uint8_t)type);
    bt_put_str8(w, sender->bytes, sender->len);
    bt_put_u64(w, boot);
}

static void put_clock(struct bt_wbuf *w, const struct bt_swim_clock *c)
{
    bt_put_u64(w, c->wall_ms);
    bt_put_u8(w, c->flags);
    bt_put_u64(w, c->flags & BT_SWIM_CLOCK_REFUSED ? c->ceiling : 0);
    bt_put_u32(w, c->seq);
}

void bt_swim_put_ping(struct bt_wbuf *w, uint32_t seq, const struct bt_nodeid *target,
                      const struct bt_swim_clock *clock)
{
    bt_put_u32(w, seq);
    bt_put_str8(w, target->bytes, target->len);
    put_clock(w, clock);
}

void bt_swim_put_ack(struct bt_wbuf *w, uint32_t seq, const struct bt_swim_clock *clock)
{
    bt_put_u32(w, seq);
    put_clock(w, clock);
}

/* The word of a clock block or a CLOCK broadcast (flags, ceiling, seq);
 * false if malformed: unknown flags, both flags, or a ceiling without
 * BT_SWIM_CLOCK_REFUSED (one spelling). */
static bool get_word(struct bt_rbuf *r, struct bt_swim_clock *c)
{
    c->flags = bt_get_u8(r);
    c->ceiling = bt_get_u64(r);
    c->seq = bt_get_u32(r);
    if (c->flags & ~(BT_SWIM_CLOCK_REFUSED | BT_SWIM_CLOCK_PENDING))
        return false;
    if ((c->flags & BT_SWIM_CLOCK_REFUSED) && (c->flags & BT_SWIM_CLOCK_PENDING))
        return false;
    return (c->flags & BT_SWIM_CLOCK_REFUSED) || c->ceiling == 0;
}

/* The clock block of a PING or ACK: the wall clock, then the word. */
static bool get_clock(struct bt_rbuf *r, struct bt_swim_clock *c)
{
    c->wall_ms = bt_get_u64(r);
    return get_word(r, c);
}

void bt_swim_put_seq(struct bt_wbuf *w, uint32_t seq) { bt_put_u32(w, seq); }

void bt_swim_put_ping_req(struct bt_wbuf *w, uint32_t seq, uint32_t budget_ms,
                          const struct bt_nodeid *target, const struct bt_addr *target_addr)
{
    bt_put_u32(w, seq);
    bt_put_u32(w, budget_ms);
    bt_put_str8(w, target->bytes, target->len);
    bt_put_str8(w, target_addr->s, target_addr->len);
}

void bt_swim_put_conflict(struct bt_wbuf *w, const struct bt_nodeid *name, uint64_t claimant_boot,
                          uint64_t holder_boot, const struct bt_addr *holder_addr)
{
    bt_put_str8(w, name->bytes, name->len);
    bt_put_u64(w, claimant_boot);
    bt_put_u64(w, holder_boot);
    bt_put_str8(w, holder_addr->s, holder_addr->len);
}

void bt_swim_put_digest(struct bt_wbuf *w, const uint8_t *digest, size_t len)
{
    bt_put_u16(w, (uint16_t)len);
    bt_put_bytes(w, digest, len);
}

static size_t bcast_body_size(const struct bt_swim_bcast *b)
{
    size_t member = 1 + (size_t)b->name.len + 8 + 4;
    switch (b->kind) {
    case BT_SWIM_B_ALIVE: return member + 1 + b->addr.len;
    case BT_SWIM_B_SUSPECT:
    case BT_SWIM_B_DEAD: return member + 1 + b->from.len;
    case BT_SWIM_B_LEFT: return member;
    case BT_SWIM_B_USER: return b->user_len;
    case BT_SWIM_B_CLOCK: return BT_SWIM_CLOCK_BCAST_SIZE(b->name.len) - BT_SWIM_BCAST_HEAD;
    default: return 0;
    }
}

size_t bt_swim_bcast_size(const struct bt_swim_bcast *b) { return 3 + bcast_body_size(b); }

void bt_swim_put_bcast(struct bt_wbuf *w, const struct bt_swim_bcast *b)
{
    size_t body = bcast_body_size(b);
    if (body == 0 || body > UINT16_MAX || (b->kind == BT_SWIM_B_USER && body > BT_SWIM_USER_MAX)) {
        w->overflow = true;
        return;
    }
    if (b->kind == BT_SWIM_B_CLOCK) {
        bt_swim_put_clock_bcast(w, b->name.bytes, b->name.len, b->boot, &b->clock);
        return;
    }
    bt_put_u8(w, b->kind);
    bt_put_u16(w, (uint16_t)body);
    if (b->kind == BT_SWIM_B_USER) {
        bt_put_bytes(w, b->user, b->user_len);
        return;
    }
    bt_put_str8(w, b->name.bytes, b->name.len);
    bt_put_u64(w, b->boot);
    bt_put_u32(w, b->incarnation);
    if (b->kind == BT_SWIM_B_ALIVE)
        bt_put_str8(w, b->addr.s, b->addr.len);
    else if (b->kind == BT_SWIM_B_SUSPECT || b->kind == BT_SWIM_B_DEAD)
        bt_put_str8(w, b->from.bytes, b->from.len);
}

void bt_swim_put_clock_bcast(struct bt_wbuf *w, const char *name, size_t name_len, uint64_t boot,
                             const struct bt_swim_clock *c)
{
    bt_put_u8(w, BT_SWIM_B_CLOCK);
    bt_put_u16(w, (uint16_t)(BT_SWIM_CLOCK_BCAST_SIZE(name_len) - BT_SWIM_BCAST_HEAD));
    bt_put_str8(w, name, name_len);
    bt_put_u64(w, boot);
    bt_put_u8(w, c->flags);
    bt_put_u64(w, c->flags & BT_SWIM_CLOCK_REFUSED ? c->ceiling : 0);
    bt_put_u32(w, c->seq);
}

void bt_swim_put_pp_head(struct bt_wbuf *w, enum bt_swim_type type, const struct bt_nodeid *sender,
                         uint64_t boot, uint8_t flags, uint32_t count)
{
    bt_swim_put_header(w, type, sender, boot);
    bt_put_u8(w, flags);
    bt_put_u32(w, count);
}

void bt_swim_put_pp_entry(struct bt_wbuf *w, const char *name, size_t name_len, const char *addr,
                          size_t addr_len, uint64_t boot_id, uint32_t incarnation, uint8_t state)
{
    bt_put_str8(w, name, name_len);
    bt_put_str8(w, addr, addr_len);
    bt_put_u64(w, boot_id);
    bt_put_u32(w, incarnation);
    bt_put_u8(w, state);
}

void bt_swim_put_pp_user(struct bt_wbuf *w, const uint8_t *data, size_t len)
{
    if (len > BT_SWIM_USER_CHUNK_MAX) {
        w->overflow = true;
        return;
    }
    bt_put_u32(w, (uint32_t)len);
    bt_put_bytes(w, data, len);
}

/* ---- decoders ----------------------------------------------------------- */

/* The decoders read names and addresses where they lie and validate
 * them there; given NULL for the output, they only validate. Every
 * datagram's broadcasts are walked twice, validated whole before any is
 * applied, then decoded one by one: copying each name through a buffer
 * and filling a 264-byte struct bt_swim_bcast on the validating walk was
 * an eighth of a 3000-node run's time, with the simulator's own
 * validating walk (it decodes only the head since, src/sim/network.c). */

static void get_nodeid(struct bt_rbuf *r, struct bt_nodeid *id)
{
    const uint8_t *s;
    size_t n = bt_get_str8_span(r, &s, BATON_NODE_MAX);
    if (r->error)
        return;
    if (id ? bt_nodeid_set(id, s, n) != 0 : !bt_nodeid_valid_bytes(s, n))
        bt_rbuf_fail(r);
}

static void get_addr(struct bt_rbuf *r, struct bt_addr *a)
{
    const uint8_t *s;
    size_t n = bt_get_str8_span(r, &s, BT_ADDR_MAX);
    if (r->error)
        return;
    if (a ? bt_swim_addr_set(a, s, n) != 0 : !bt_swim_addr_valid(s, n))
        bt_rbuf_fail(r);
}

/* Reads the header; returns 0, BATON_EVERSION or BATON_EPROTO. */
static int get_header(struct bt_rbuf *r, struct bt_swim_header *h)
{
    uint8_t version = bt_get_u8(r);
    if (r->error)
        return BATON_EPROTO;
    if (version != BT_SWIM_VERSION)
        return BATON_EVERSION;
    h->type = bt_get_u8(r);
    get_nodeid(r, &h->sender);
    h->sender_boot = bt_get_u64(r);
    return r->error ? BATON_EPROTO : 0;
}

int bt_swim_next_bcast(struct bt_rbuf *r, struct bt_swim_bcast *out)
{
    if (r->error)
        return BATON_EPROTO;
    if (bt_rbuf_left(r) == 0)
        return 0;
    uint8_t kind = bt_get_u8(r);
    size_t body_len = bt_get_u16(r);
    const uint8_t *body = bt_get_span(r, body_len);
    if (!body || body_len == 0)
        return BATON_EPROTO;
    if (out) {
        /* Field by field: clearing the whole struct (the bytes of its two
         * names and its address) for each of a datagram's broadcasts was
         * a few per cent of a large simulation. */
        out->kind = kind;
        out->name.len = 0;
        out->name.bytes[0] = '\0';
        out->boot = 0;
        out->incarnation = 0;
        out->addr.len = 0;
        out->addr.s[0] = '\0';
        out->from.len = 0;
        out->from.bytes[0] = '\0';
        out->user = NULL;
        out->user_len = 0;
        memset(&out->clock, 0, sizeof out->clock);
    }
    if (kind == BT_SWIM_B_USER) {
        if (body_len > BT_SWIM_USER_MAX)
            return BATON_EPROTO;
        if (out) {
            out->user = body;
            out->user_len = body_len;
        }
        return 1;
    }
    if (kind < BT_SWIM_B_ALIVE || kind > BT_SWIM_B_CLOCK)
        return BATON_EPROTO;
    struct bt_rbuf b;
    bt_rbuf_init(&b, body, body_len);
    get_nodeid(&b, out ? &out->name : NULL);
    uint64_t boot = bt_get_u64(&b);
    uint32_t incarnation = 0;
    struct bt_swim_clock clock = {0};
    if (kind == BT_SWIM_B_CLOCK) {
        if (!get_word(&b, &clock))
            return BATON_EPROTO;
    } else {
        incarnation = bt_get_u32(&b);
    }
    if (out) {
        out->boot = boot;
        out->incarnation = incarnation;
        out->clock = clock;
    }
    if (kind == BT_SWIM_B_ALIVE)
        get_addr(&b, out ? &out->addr : NULL);
    else if (kind == BT_SWIM_B_SUSPECT || kind == BT_SWIM_B_DEAD)
        get_nodeid(&b, out ? &out->from : NULL);
    /* The body must be consumed exactly: no trailing bytes. */
    if (b.error || bt_rbuf_left(&b) != 0)
        return BATON_EPROTO;
    return 1;
}

size_t bt_swim_peek_bcast(const uint8_t *p, size_t len, const uint8_t **name, size_t *name_len)
{
    *name = NULL;
    *name_len = 0;
    if (len < 3)
        return 0;
    size_t body_len = (size_t)p[1] << 8 | p[2];
    if (body_len > len - 3)
        return 0;
    /* The body of any broadcast but USER opens with its member's name: a
     * length byte, then the bytes (bt_swim_next_bcast). */
    if (p[0] != BT_SWIM_B_USER && body_len > 0 && p[3] > 0 && p[3] < body_len) {
        *name = p + 4;
        *name_len = p[3];
    }
    return 3 + body_len;
}

int bt_swim_decode_head(const uint8_t *p, size_t len, struct bt_swim_packet *out)
{
    if (len > BT_SWIM_PACKET_MAX)
        return BATON_EPROTO;
    struct bt_rbuf r;
    bt_rbuf_init(&r, p, len);
    memset(out, 0, sizeof *out);
    int rc = get_header(&r, &out->hdr);
    if (rc != 0)
        return rc;
    switch (out->hdr.type) {
    case BT_SWIM_PING:
        out->seq = bt_get_u32(&r);
        get_nodeid(&r, &out->target);
        if (!get_clock(&r, &out->clock))
            return BATON_EPROTO;
        break;
    case BT_SWIM_ACK:
        out->seq = bt_get_u32(&r);
        if (!get_clock(&r, &out->clock))
            return BATON_EPROTO;
        break;
    case BT_SWIM_NACK: out->seq = bt_get_u32(&r); break;
    case BT_SWIM_PING_REQ:
        out->seq = bt_get_u32(&r);
        out->budget_ms = bt_get_u32(&r);
        get_nodeid(&r, &out->target);
        get_addr(&r, &out->target_addr);
        break;
    case BT_SWIM_GOSSIP: break;
    case BT_SWIM_CONFLICT:
        get_nodeid(&r, &out->target);
        out->claimant_boot = bt_get_u64(&r);
        out->holder_boot = bt_get_u64(&r);
        get_addr(&r, &out->target_addr);
        break;
    case BT_SWIM_DIGEST:
        out->digest_len = bt_get_u16(&r);
        if (out->digest_len == 0 || out->digest_len > BT_SWIM_DIGEST_MAX)
            return BATON_EPROTO;
        out->digest = bt_get_span(&r, out->digest_len);
        break;
    default: return BATON_EPROTO;
    }
    if (r.error)
        return BATON_EPROTO;
    out->bcasts = p + r.off;
    out->bcasts_len = len - r.off;
    return (int)len;
}

int bt_swim_decode_packet(const uint8_t *p, size_t len, struct bt_swim_packet *out)
{
    int rc = bt_swim_decode_head(p, len, out);
    if (rc < 0)
        return rc;
    /* Validate every broadcast now, so the caller's pass cannot fail. */
    struct bt_rbuf b;
    bt_rbuf_init(&b, out->bcasts, out->bcasts_len);
    for (;;) {
        rc = bt_swim_next_bcast(&b, NULL);
        if (rc < 0)
            return BATON_EPROTO;
        if (rc == 0)
            break;
    }
    return (int)len;
}

int bt_swim_next_pp_member(struct bt_rbuf *r, struct bt_member_info *out)
{
    if (r->error)
        return BATON_EPROTO;
    if (bt_rbuf_left(r) == 0)
        return 0;
    memset(out, 0, sizeof *out);
    get_nodeid(r, &out->name);
    get_addr(r, &out->addr);
    out->boot_id = bt_get_u64(r);
    out->incarnation = bt_get_u32(r);
    uint8_t state = bt_get_u8(r);
    if (r->error || state > BT_MEMBER_LEFT)
        return BATON_EPROTO;
    out->state = (enum bt_member_state)state;
    return 1;
}

int bt_swim_decode_pp(const uint8_t *p, size_t len, struct bt_swim_pp *out)
{
    if (len > BT_STREAM_MSG_MAX)
        return BATON_EPROTO;
    struct bt_rbuf r;
    bt_rbuf_init(&r, p, len);
    memset(out, 0, sizeof *out);
    int rc = get_header(&r, &out->hdr);
    if (rc != 0)
        return rc;
    if (out->hdr.type < BT_SWIM_PP_REQ || out->hdr.type > BT_SWIM_PP_REPLY_MORE)
        return BATON_EPROTO;
    out->flags = bt_get_u8(&r);
    out->count = bt_get_u32(&r);
    if (r.error || (out->flags & ~BT_SWIM_PP_JOIN) != 0 || out->count > BT_SWIM_MEMBERS_MAX)
        return BATON_EPROTO;

    /* Walk the entries once to validate them and find where they end. */
    size_t start = r.off;
    for (uint32_t i = 0; i < out->count; i++) {
        /* An entry is at least 17 bytes: bound the loop by the input too. */
        if (bt_rbuf_left(&r) < 17)
            return BATON_EPROTO;
        get_nodeid(&r, NULL);
        get_addr(&r, NULL);
        (void)bt_get_u64(&r);
        (void)bt_get_u32(&r);
        uint8_t state = bt_get_u8(&r);
        if (r.error || state > BT_MEMBER_LEFT)
            return BATON_EPROTO;
    }
    out->members = p + start;
    out->members_len = r.off - start;

    uint32_t ulen = bt_get_u32(&r);
    if (r.error || ulen > BT_SWIM_USER_CHUNK_MAX)
        return BATON_EPROTO;
    const uint8_t *user = bt_get_span(&r, ulen);
    if (r.error)
        return BATON_EPROTO;
    out->user = ulen > 0 ? user : NULL;
    out->user_len = ulen;
    if (bt_rbuf_left(&r) != 0)
        return BATON_EPROTO;
    return (int)len;
}
