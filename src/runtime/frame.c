/* Stream framing (frame.h). */
#include "runtime/frame.h"

#include <stdlib.h>
#include <string.h>

void bt_frame_rx_init(struct bt_frame_rx *rx, size_t msg_max)
{
    memset(rx, 0, sizeof *rx);
    rx->msg_max = msg_max;
}

void bt_frame_rx_free(struct bt_frame_rx *rx)
{
    free(rx->body);
    free(rx->msg);
    rx->body = rx->msg = NULL;
    rx->body_cap = rx->msg_cap = 0;
}

static int append(struct bt_frame_rx *rx, const uint8_t *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > rx->msg_max - rx->msg_len)
        return BATON_E2BIG;
    if (rx->msg_len + n > rx->msg_cap) {
        size_t cap = rx->msg_cap ? rx->msg_cap : BT_FRAME_CHUNK_MAX;
        while (cap < rx->msg_len + n)
            cap = cap > rx->msg_max / 2 ? rx->msg_max : cap * 2;
        uint8_t *m = realloc(rx->msg, cap);
        if (!m)
            return BATON_ENOMEM;
        rx->msg = m;
        rx->msg_cap = cap;
    }
    memcpy(rx->msg + rx->msg_len, p, n);
    rx->msg_len += n;
    return 0;
}

int bt_frame_rx_feed(struct bt_frame_rx *rx, const struct bt_keyring *kr, const uint8_t *data,
                     size_t len, size_t *used, uint8_t *flags, const uint8_t **msg, size_t *msg_len)
{
    size_t off = 0;
    if (rx->msg_done) {
        rx->msg_done = false;
        rx->msg_len = 0;
        rx->msg_flags = 0;
    }
    *used = 0;
    while (off < len) {
        if (rx->hdr_got < 4) {
            size_t n = 4 - rx->hdr_got;
            if (n > len - off)
                n = len - off;
            memcpy(rx->hdr + rx->hdr_got, data + off, n);
            rx->hdr_got += n;
            off += n;
            if (rx->hdr_got < 4)
                break;
            uint32_t blen = (uint32_t)rx->hdr[0] << 24 | (uint32_t)rx->hdr[1] << 16 |
                            (uint32_t)rx->hdr[2] << 8 | rx->hdr[3];
            if (blen < 2 || blen > BT_FRAME_BODY_MAX) {
                *used = off;
                return BATON_EPROTO;
            }
            if (blen > rx->body_cap) {
                uint8_t *b = realloc(rx->body, blen);
                if (!b) {
                    *used = off;
                    return BATON_ENOMEM;
                }
                rx->body = b;
                rx->body_cap = blen;
            }
            rx->body_len = blen;
            rx->body_got = 0;
        }
        size_t n = rx->body_len - rx->body_got;
        if (n > len - off)
            n = len - off;
        memcpy(rx->body + rx->body_got, data + off, n);
        rx->body_got += n;
        off += n;
        if (rx->body_got < rx->body_len)
            break;
        /* A whole chunk: authenticate it before it costs anything more. */
        rx->hdr_got = 0;
        *used = off;
        uint8_t f;
        uint8_t *payload;
        size_t plen;
        if (bt_open_chunk(kr, rx->body, rx->body_len, rx->seq, &f, &payload, &plen) != 0)
            return BATON_EPROTO;
        rx->seq++;
        if ((f & ~BT_FRAME_FLAGS) != 0 || plen > BT_FRAME_CHUNK_MAX ||
            (rx->msg_len > 0 && (f & BT_FRAME_HELLO) != (rx->msg_flags & BT_FRAME_HELLO)))
            return BATON_EPROTO;
        rx->msg_flags = f;
        if ((f & BT_FRAME_FINAL) && rx->msg_len == 0) {
            /* A one-chunk message is handed out where it lies. */
            if (plen > rx->msg_max)
                return BATON_E2BIG;
            rx->msg_done = true;
            *flags = f;
            *msg = payload;
            *msg_len = plen;
            return 1;
        }
        int rc = append(rx, payload, plen);
        if (rc != 0)
            return rc;
        if (f & BT_FRAME_FINAL) {
            rx->msg_done = true;
            *flags = f;
            *msg = rx->msg;
            *msg_len = rx->msg_len;
            return 1;
        }
    }
    *used = off;
    return 0;
}

size_t bt_frame_chunks(size_t len)
{
    return len == 0 ? 1 : (len + BT_FRAME_CHUNK_MAX - 1) / BT_FRAME_CHUNK_MAX;
}

size_t bt_frame_seal(const struct bt_keyring *kr, uint64_t *seq, uint8_t flags, uint8_t *msg,
                     size_t len, uint8_t *heads, uint8_t *tails, struct bt_iov *iov)
{
    size_t nchunks = bt_frame_chunks(len);
    size_t niov = 0;
    for (size_t i = 0; i < nchunks; i++) {
        size_t off = i * BT_FRAME_CHUNK_MAX;
        size_t n = len - off < BT_FRAME_CHUNK_MAX ? len - off : BT_FRAME_CHUNK_MAX;
        uint8_t f = flags | (i + 1 == nchunks ? BT_FRAME_FINAL : 0);
        uint8_t *head = heads + i * BT_FRAME_PREFIX;
        uint8_t *tail = tails + i * BT_SEAL_CHUNK_TAIL;
        size_t tail_len;
        size_t hlen = bt_seal_chunk(kr, f, (*seq)++, msg + off, n, head + 4, tail, &tail_len);
        uint32_t blen = (uint32_t)(hlen + n + tail_len);
        head[0] = (uint8_t)(blen >> 24);
        head[1] = (uint8_t)(blen >> 16);
        head[2] = (uint8_t)(blen >> 8);
        head[3] = (uint8_t)blen;
        iov[niov++] = (struct bt_iov){head, 4 + hlen};
        if (n > 0)
            iov[niov++] = (struct bt_iov){msg + off, n};
        if (tail_len > 0)
            iov[niov++] = (struct bt_iov){tail, tail_len};
    }
    return niov;
}
