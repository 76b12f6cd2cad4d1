/*
 * Push-pull (swim_internal.h): the full-state exchange over a stream, on
 * join, periodically and with dead members. Our state goes out as one or
 * more messages of at most BT_STREAM_MSG_MAX bytes, each merged on its own
 * at the other end; a merged "dead" counts as "suspect", so a stale full
 * state cannot kill a live node outright.
 */
#include "core/swim_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

/* ---- sending our state --------------------------------------------------- */

/* One push-pull message being assembled: head, members, then room for one
 * user chunk. Messages end at BT_STREAM_MSG_MAX bytes; the buffer holding
 * one grows to what it takes (pp_reserve) and starts at the size the last
 * one reached, so a small cluster's push-pull does not allocate and free a
 * megabyte each time (under ASan that dominated the test suite's system
 * time), and a large state is rarely asked for twice (a chunk that outgrew
 * the buffer is asked for again). It is freed after each push-pull: kept,
 * a megabyte per node added up to a gigabyte in a 1000-node simulation. */
struct pp_out {
    struct bt_wbuf w; /* w.p the buffer, w.cap its size */
    size_t count_at;  /* offset of the u32 member count */
    uint32_t count;   /* members written */
};

#define PP_BUF_INITIAL 4096

/* Makes m's buffer hold at least need bytes (need <= BT_STREAM_MSG_MAX).
 * Returns false when out of memory. */
static bool pp_reserve(struct pp_out *m, size_t need)
{
    if (need <= m->w.cap)
        return true;
    size_t cap = m->w.cap ? m->w.cap : PP_BUF_INITIAL;
    while (cap < need)
        cap *= 2;
    if (cap > BT_STREAM_MSG_MAX)
        cap = BT_STREAM_MSG_MAX;
    uint8_t *p = realloc(m->w.p, cap);
    if (!p)
        return false;
    m->w.p = p;
    m->w.cap = cap;
    return true;
}

static void pp_begin(struct bt_swim *s, struct pp_out *m, enum bt_swim_type type, bool join)
{
    m->w.len = 0;
    bt_swim_put_pp_head(&m->w, type, &s->cfg.name, s->self->boot_id, join ? BT_SWIM_PP_JOIN : 0, 0);
    m->count_at = m->w.len - 4;
    m->count = 0;
}

/* Completes m with the ulen user bytes already written 4 bytes past its
 * end (the buffer holds them), and sends it. */
static void pp_send(struct bt_swim *s, struct pp_out *m, size_t ulen, const struct bt_addr *to,
                    uint64_t conn)
{
    uint8_t *c = m->w.p + m->count_at;
    c[0] = (uint8_t)(m->count >> 24);
    c[1] = (uint8_t)(m->count >> 16);
    c[2] = (uint8_t)(m->count >> 8);
    c[3] = (uint8_t)m->count;
    bt_put_u32(&m->w, (uint32_t)ulen);
    m->w.len += ulen;
    assert(!m->w.overflow && m->w.len <= m->w.cap);
    s->stats.streams_out++;
    s->stats.bytes_out += m->w.len;
    s->sink.send(s->sink.ctx, BT_OUT_STREAM, to, conn, m->w.p, m->w.len);
}

/* User chunk i into m past its members and a length word: its length, or
 * 0 at the end of the state. A chunk longer than the message's room (room)
 * is not written and its length returned; one that fits the message but
 * not the buffer is asked for again once the buffer grew (the sink's
 * contract allows asking again, swim.h). *oom: the buffer could not grow. */
static size_t pp_user_chunk(struct bt_swim *s, struct pp_out *m, bool join, size_t i, size_t room,
                            bool *oom)
{
    size_t at = m->w.len + 4;
    size_t have = m->w.cap > at ? m->w.cap - at : 0;
    if (have > room)
        have = room;
    size_t ulen = s->sink.user_state(s->sink.ctx, join, i, m->w.p + at, have);
    if (ulen <= have || ulen > room)
        return ulen;
    if (!pp_reserve(m, at + ulen)) {
        *oom = true;
        return 0;
    }
    return s->sink.user_state(s->sink.ctx, join, i, m->w.p + at, room);
}

/* Sends our full state for a push-pull: one message of `type` (PP_REQ or
 * PP_REPLY), then as many continuations (PP_REQ_MORE or PP_REPLY_MORE) as
 * it takes, each at most BT_STREAM_MSG_MAX bytes: the member list first,
 * then the user layer's state, one chunk per message (docs/membership.md).
 * Every message is merged on its own at the other end. Returns false when
 * out of memory (the messages already sent stand: each is merged alone). */
bool swim_send_pp(struct bt_swim *s, const struct bt_addr *to, uint64_t conn,
                  enum bt_swim_type type, bool join)
{
    struct pp_out m = {0};
    if (!pp_reserve(&m, s->pp_buf > PP_BUF_INITIAL ? s->pp_buf : PP_BUF_INITIAL))
        return false;
    enum bt_swim_type more = type == BT_SWIM_PP_REQ ? BT_SWIM_PP_REQ_MORE : BT_SWIM_PP_REPLY_MORE;
    bool first = true; /* m is the opening message: it goes even if empty */
    bool oom = false;
    if (type == BT_SWIM_PP_REQ)
        s->stats.pushpulls++;
    pp_begin(s, &m, type, join);
    for (size_t i = 0; i < s->n_members; i++) {
        const struct bt_member *e = swim_member_at(s, i);
        size_t size = BT_SWIM_PP_ENTRY_SIZE(e->name_len, e->addr_len);
        if (m.w.len + size + 4 > BT_STREAM_MSG_MAX) {
            pp_send(s, &m, 0, to, conn);
            first = false;
            pp_begin(s, &m, more, join);
        }
        if (!pp_reserve(&m, m.w.len + size + 4)) {
            oom = true;
            goto out;
        }
        bt_swim_put_pp_entry(&m.w, member_str(e), e->name_len, member_addr_bytes(e), e->addr_len,
                             e->boot_id, e->incarnation, e->state);
        m.count++;
    }
    if (!pp_reserve(&m, m.w.len + 4)) {
        oom = true;
        goto out;
    }
    for (size_t i = 0; s->sink.user_state; i++) {
        size_t room = BT_STREAM_MSG_MAX - m.w.len - 4;
        size_t ulen = pp_user_chunk(s, &m, join, i, room, &oom);
        if (ulen > room && ulen <= BT_SWIM_USER_CHUNK_MAX && (m.count > 0 || first)) {
            /* No room left next to the members: the chunk opens a message. */
            pp_send(s, &m, 0, to, conn);
            first = false;
            pp_begin(s, &m, more, join);
            room = BT_STREAM_MSG_MAX - m.w.len - 4;
            ulen = pp_user_chunk(s, &m, join, i, room, &oom);
        }
        if (oom)
            goto out;
        if (ulen == 0 || ulen > room)
            break; /* the end (a chunk too large breaks the sink's contract; it counts it) */
        pp_send(s, &m, ulen, to, conn);
        first = false;
        pp_begin(s, &m, more, join);
    }
    if (first || m.count > 0)
        pp_send(s, &m, 0, to, conn);
out:
    s->pp_buf = m.w.cap;
    free(m.w.p);
    return !oom;
}

bool swim_start_pp(struct bt_swim *s, const struct bt_addr *to, enum pp_why why,
                   const struct bt_nodeid *peer)
{
    uint64_t id = BT_STREAM_OWN | ++s->next_stream;
    if (!swim_send_pp(s, to, id, BT_SWIM_PP_REQ, why == PP_JOIN))
        return false;
    if (s->n_xs == MAX_EXCHANGES) {
        /* Forget the oldest: its events are ignored, its timers still run. */
        memmove(&s->xs[0], &s->xs[1], (MAX_EXCHANGES - 1) * sizeof s->xs[0]);
        s->n_xs--;
    }
    struct bt_exchange *x = &s->xs[s->n_xs++];
    memset(x, 0, sizeof *x);
    x->id = id;
    x->to = *to;
    x->why = why;
    x->attempt = s->join_attempts;
    if (peer)
        x->peer = *peer;
    return true;
}

/* Index of the exchange on stream id, or -1. */
static long exchange_find(const struct bt_swim *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_xs; i++)
        if (s->xs[i].id == id)
            return (long)i;
    return -1;
}

static void exchange_remove(struct bt_swim *s, size_t i)
{
    memmove(&s->xs[i], &s->xs[i + 1], (s->n_xs - i - 1) * sizeof s->xs[0]);
    s->n_xs--;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* A push-pull we started failed before its reply (its stream failed, was
 * closed or timed out): act at once rather than on the next timer. ev and
 * reason (the driver's errno-like code) say how; no membership verdict is
 * taken from them here. */
static void exchange_failed(struct bt_swim *s, const struct bt_exchange *x, enum bt_stream_event ev,
                            int reason, uint64_t now)
{
    (void)ev, (void)reason;
    s->stats.pushpulls_failed++;
    switch (x->why) {
    case PP_JOIN:
        /* Every seed of the current attempt failed: it went unanswered.
         * Try the seeds again now, but no sooner than join_retry_min after
         * the last attempt (refused connects come back in a millisecond). */
        if (!s->join_called || s->joined || s->leaving || x->attempt != s->join_attempts ||
            s->attempt_open == 0 || --s->attempt_open > 0)
            break;
        s->join_unanswered++;
        s->next_join_at = min_u64(s->next_join_at, s->last_join_at + s->t.join_retry_min);
        if (now >= s->next_join_at)
            swim_join_attempt(s, now);
        break;
    case PP_PERIODIC: {
        /* Anti-entropy goes to another member now, once. */
        if (!s->joined || s->leaving)
            break;
        struct bt_member *peer = swim_pick_peer(s, now, swim_find(s, &x->peer));
        if (peer)
            swim_start_pp(s, MEMBER_ADDR_P(peer), PP_RETRY, MEMBER_NAME_P(peer));
        break;
    }
    case PP_RESYNC:
        /* The exchange with a member that came back did not happen: it
         * goes again at the next resync time (next_resync_at). */
        if (!s->resync) {
            s->resync = true;
            s->resync_with = x->peer;
        }
        break;
    case PP_RETRY:
    case PP_OTHER: break;
    }
}

void bt_swim_stream_event(struct bt_swim *s, uint64_t stream, enum bt_stream_event ev, int reason,
                          uint64_t now)
{
    if (s->refused)
        return;
    long i = exchange_find(s, stream);
    if (i < 0)
        return;
    if (ev == BT_STREAM_CONNECTED) {
        s->xs[i].connected = true;
        return;
    }
    if (ev != BT_STREAM_CLOSED && ev != BT_STREAM_FAILED && ev != BT_STREAM_TIMEOUT)
        return;
    struct bt_exchange x = s->xs[i];
    exchange_remove(s, (size_t)i);
    s->depth++;
    exchange_failed(s, &x, ev, reason, now);
    s->depth--;
    swim_flush(s, now);
}

uint32_t bt_swim_join_unanswered(const struct bt_swim *s) { return s->join_unanswered; }

/* ---- merging theirs ------------------------------------------------------ */

/* Merges a push-pull's member list. "dead" becomes "suspect" (see the essay). */
static void merge_pp(struct bt_swim *s, const struct bt_swim_pp *pp, uint64_t now)
{
    struct bt_rbuf r;
    struct bt_member_info mi;
    /* Most entries of a full state are old news: do not count them stale. */
    uint64_t stale = s->stats.stale;
    bt_rbuf_init(&r, pp->members, pp->members_len);
    while (!s->refused && bt_swim_next_pp_member(&r, &mi) == 1) {
        struct bt_swim_bcast b;
        memset(&b, 0, sizeof b);
        b.name = mi.name;
        b.boot = mi.boot_id;
        b.incarnation = mi.incarnation;
        b.addr = mi.addr;
        b.from = pp->hdr.sender;
        switch (mi.state) {
        case BT_MEMBER_ALIVE:
            b.kind = BT_SWIM_B_ALIVE;
            swim_apply_alive(s, &b, now);
            break;
        case BT_MEMBER_SUSPECT:
        case BT_MEMBER_DEAD:
            b.kind = BT_SWIM_B_SUSPECT;
            swim_apply_suspect(s, &b, now);
            break;
        case BT_MEMBER_LEFT:
            b.kind = BT_SWIM_B_LEFT;
            swim_apply_left(s, &b, now);
            break;
        }
    }
    s->stats.stale = stale;
}

/* Marks the seed at addr, if one is, as having answered a push-pull. */
static void seed_answered(struct bt_swim *s, const struct bt_addr *addr)
{
    for (size_t i = 0; i < s->n_seeds; i++)
        if (bt_addr_eq(&s->seeds[i], addr))
            s->seed_answered[i] = true;
}

void bt_swim_recv_stream(struct bt_swim *s, const struct bt_addr *from, uint64_t conn,
                         const uint8_t *data, size_t len, uint64_t now)
{
    if (s->refused)
        return;
    s->stats.streams_in++;
    s->stats.bytes_in += len;
    struct bt_swim_pp pp;
    int rc = bt_swim_decode_pp(data, len, &pp);
    if (rc < 0) {
        swim_count_bad_input(s, rc);
        return;
    }
    s->depth++;
    bool join = (pp.flags & BT_SWIM_PP_JOIN) != 0;
    bool is_req = pp.hdr.type == BT_SWIM_PP_REQ;
    if ((conn & BT_STREAM_OWN) && pp.hdr.type == BT_SWIM_PP_REPLY) {
        /* The reply to a push-pull we started: it is answered. */
        long x = exchange_find(s, conn);
        if (x >= 0)
            exchange_remove(s, (size_t)x);
    }
    /* A reply comes from where our request went (a driver hands a stream it
     * opened the address it opened it to), stream ids reported or not. */
    if (pp.hdr.type == BT_SWIM_PP_REPLY)
        seed_answered(s, from);
    /* A continuation carries more of its sender's state, merged the same
     * way; it starts nothing (no reply, no join). */
    bool more = pp.hdr.type == BT_SWIM_PP_REQ_MORE || pp.hdr.type == BT_SWIM_PP_REPLY_MORE;
    bool from_reply = pp.hdr.type == BT_SWIM_PP_REPLY || pp.hdr.type == BT_SWIM_PP_REPLY_MORE;
    if (is_req && join && bt_nodeid_eq(&pp.hdr.sender, &s->cfg.name) &&
        pp.hdr.sender_boot < s->self->boot_id && !bt_addr_eq(from, &s->cfg.addr) && !s->leaving) {
        /* A newcomer joins under our own name through us and we outrank it:
         * we keep the name, so refuse it directly and tell it nothing else.
         * One that outranks us is merged like any claim (apply_self). */
        swim_send_conflict(s, from, &s->cfg.name, pp.hdr.sender_boot, s->self->boot_id,
                           &s->cfg.addr);
        s->depth--;
        return;
    }
    s->quiet_adds = join && from_reply;
    /* A request gets our state in the reply; a reply's sender gets nothing
     * back, so rumors about us in it are answered directly. */
    s->rumor_src = is_req ? NULL : from;
    merge_pp(s, &pp, now);
    s->rumor_src = NULL;
    s->quiet_adds = false;
    /* This exchange is the one a resync with its sender would make. */
    if (!more && s->resync && bt_nodeid_eq(&s->resync_with, &pp.hdr.sender))
        s->resync = false;
    if (!s->refused && s->sink.user_merge && pp.user_len > 0)
        s->sink.user_merge(s->sink.ctx, &pp.hdr.sender, join, pp.user, pp.user_len);
    if (!s->refused && !more) {
        if (is_req)
            swim_send_pp(s, from, conn, BT_SWIM_PP_REPLY, join);
        if (!s->joined && (s->n_live > 1 || !is_req)) {
            s->joined = true;
            /* The seed's reply cannot hold members that join at the same
             * time, and gossip about them may retire before reaching us
             * (at 10% loss, about one pair in a few thousand). A first
             * periodic push-pull a few periods after joining catches them
             * instead of one a whole interval later. */
            uint64_t soon = 5 * (uint64_t)s->t.probe_interval;
            if (soon < swim_pushpull_period(s))
                s->next_pushpull_at = now + swim_jittered(s, soon);
        }
    }
    s->depth--;
    swim_flush(s, now);
}
