/* JSON writer and percentile summaries for the simulator; see report.h. */
#include "sim/report.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"

static void append(struct bt_json *j, const char *s, size_t n)
{
    if (j->oom)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (j->len + n + 1 > cap)
            cap *= 2;
        char *buf = realloc(j->buf, cap);
        if (buf == NULL) {
            j->oom = true;
            return;
        }
        j->buf = buf;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void append_cstr(struct bt_json *j, const char *s) { append(j, s, strlen(s)); }

/* Called before every value and key: places the comma, consumes a key. */
static void begin_item(struct bt_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0 && j->depth <= BT_JSON_MAX_DEPTH) {
        if (j->has_item[j->depth - 1])
            append(j, ",", 1);
        j->has_item[j->depth - 1] = true;
    }
}

static void open_level(struct bt_json *j, const char *brace)
{
    begin_item(j);
    append_cstr(j, brace);
    if (j->depth < BT_JSON_MAX_DEPTH)
        j->has_item[j->depth] = false;
    j->depth++;
}

static void close_level(struct bt_json *j, const char *brace)
{
    if (j->depth > 0)
        j->depth--;
    append_cstr(j, brace);
}

static void append_escaped(struct bt_json *j, const char *s)
{
    append(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': append(j, "\\\"", 2); break;
        case '\\': append(j, "\\\\", 2); break;
        case '\n': append(j, "\\n", 2); break;
        case '\r': append(j, "\\r", 2); break;
        case '\t': append(j, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                append_cstr(j, esc);
            } else {
                append(j, (const char *)p, 1);
            }
        }
    }
    append(j, "\"", 1);
}

void bt_json_init(struct bt_json *j) { memset(j, 0, sizeof *j); }

void bt_json_destroy(struct bt_json *j)
{
    free(j->buf);
    memset(j, 0, sizeof *j);
}

void bt_json_obj_begin(struct bt_json *j) { open_level(j, "{"); }
void bt_json_obj_end(struct bt_json *j) { close_level(j, "}"); }
void bt_json_arr_begin(struct bt_json *j) { open_level(j, "["); }
void bt_json_arr_end(struct bt_json *j) { close_level(j, "]"); }

void bt_json_key(struct bt_json *j, const char *key)
{
    begin_item(j);
    append_escaped(j, key);
    append(j, ":", 1);
    j->after_key = true;
}

void bt_json_str(struct bt_json *j, const char *s)
{
    begin_item(j);
    append_escaped(j, s);
}

void bt_json_u64(struct bt_json *j, uint64_t v)
{
    char num[24];
    begin_item(j);
    snprintf(num, sizeof num, "%" PRIu64, v);
    append_cstr(j, num);
}

void bt_json_i64(struct bt_json *j, int64_t v)
{
    char num[24];
    begin_item(j);
    snprintf(num, sizeof num, "%" PRId64, v);
    append_cstr(j, num);
}

void bt_json_double(struct bt_json *j, double v)
{
    char num[40];
    begin_item(j);
    if (!isfinite(v)) {
        append_cstr(j, "null");
        return;
    }
    snprintf(num, sizeof num, "%.6g", v);
    append_cstr(j, num);
}

void bt_json_bool(struct bt_json *j, bool v)
{
    begin_item(j);
    append_cstr(j, v ? "true" : "false");
}

void bt_json_null(struct bt_json *j)
{
    begin_item(j);
    append_cstr(j, "null");
}

const char *bt_json_cstr(const struct bt_json *j)
{
    if (j->oom)
        return NULL;
    return j->buf ? j->buf : "";
}

void bt_samples_init(struct bt_samples *s)
{
    memset(s, 0, sizeof *s);
    s->sorted = true;
}

void bt_samples_destroy(struct bt_samples *s)
{
    free(s->v);
    bt_samples_init(s);
}

int bt_samples_add(struct bt_samples *s, uint64_t x)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (v == NULL)
            return BATON_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (s->len > 0 && x < s->v[s->len - 1])
        s->sorted = false;
    s->v[s->len++] = x;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t bt_samples_percentile(struct bt_samples *s, double p)
{
    if (s->len == 0)
        return 0;
    if (!s->sorted) {
        qsort(s->v, s->len, sizeof *s->v, cmp_u64);
        s->sorted = true;
    }
    if (!(p > 0.0))
        return s->v[0];
    /* Rank ceil(p/100 * n), computed in integers of per-mille-of-percent
     * so that p = 99 over 200 samples is rank 198 exactly, not 198.0000001. */
    uint64_t scaled = p >= 100.0 ? 100000 : (uint64_t)(p * 1000.0 + 0.5);
    uint64_t rank = (scaled * s->len + 100000 - 1) / 100000;
    if (rank < 1)
        rank = 1;
    if (rank > s->len)
        rank = s->len;
    return s->v[rank - 1];
}

uint64_t bt_samples_max(const struct bt_samples *s)
{
    uint64_t m = 0;
    for (size_t i = 0; i < s->len; i++)
        if (s->v[i] > m)
            m = s->v[i];
    return m;
}

void bt_json_samples(struct bt_json *j, struct bt_samples *s)
{
    bt_json_obj_begin(j);
    if (s->len == 0) {
        bt_json_key(j, "p50");
        bt_json_null(j);
        bt_json_key(j, "p99");
        bt_json_null(j);
        bt_json_key(j, "max");
        bt_json_null(j);
    } else {
        bt_json_key(j, "p50");
        bt_json_u64(j, bt_samples_percentile(s, 50));
        bt_json_key(j, "p99");
        bt_json_u64(j, bt_samples_percentile(s, 99));
        bt_json_key(j, "max");
        bt_json_u64(j, bt_samples_max(s));
    }
    bt_json_key(j, "count");
    bt_json_u64(j, s->len);
    bt_json_obj_end(j);
}
