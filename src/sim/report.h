/*
 * Reporting helpers for the simulator: a small streaming JSON writer (the
 * one-line summaries baton-sim prints) and sample sets with nearest-rank
 * percentiles (detection, convergence).
 *
 * The writer is deliberately tiny: objects, arrays, strings, integers,
 * booleans, null and finite doubles, with commas placed automatically. It
 * never fails midway: an allocation failure latches `oom` and
 * bt_json_cstr() then returns NULL.
 */
#ifndef BT_SIM_REPORT_H
#define BT_SIM_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BT_JSON_MAX_DEPTH 16

struct bt_json {
    char *buf;                        /* the text so far, NUL-terminated */
    size_t len;                       /* bytes before the NUL */
    size_t cap;                       /* allocated bytes */
    bool oom;                         /* an allocation failed; output is lost */
    unsigned depth;                   /* open objects and arrays */
    bool has_item[BT_JSON_MAX_DEPTH]; /* per level: a comma is due before the next item */
    bool after_key;                   /* a key was written; its value comes next */
};

void bt_json_init(struct bt_json *j);
void bt_json_destroy(struct bt_json *j);

void bt_json_obj_begin(struct bt_json *j);
void bt_json_obj_end(struct bt_json *j);
void bt_json_arr_begin(struct bt_json *j);
void bt_json_arr_end(struct bt_json *j);
/* An object key (copied, escaped); the next call writes its value. */
void bt_json_key(struct bt_json *j, const char *key);
void bt_json_str(struct bt_json *j, const char *s);
void bt_json_u64(struct bt_json *j, uint64_t v);
void bt_json_i64(struct bt_json *j, int64_t v);
/* A finite double with up to 6 significant decimals; NaN and inf become null. */
void bt_json_double(struct bt_json *j, double v);
void bt_json_bool(struct bt_json *j, bool v);
void bt_json_null(struct bt_json *j);

/* The text (borrowed, valid until the next call), or NULL after an
 * allocation failure. */
const char *bt_json_cstr(const struct bt_json *j);

/* A growable multiset of unsigned samples. */
struct bt_samples {
    uint64_t *v; /* the samples, in insertion order until a percentile sorts them */
    size_t len;  /* how many */
    size_t cap;  /* allocated slots */
    bool sorted; /* v is in ascending order */
};

void bt_samples_init(struct bt_samples *s);
void bt_samples_destroy(struct bt_samples *s);
/* Returns 0 or BATON_ENOMEM. */
int bt_samples_add(struct bt_samples *s, uint64_t x);
/* Nearest-rank percentile, p in (0, 100]: the smallest sample such that at
 * least p percent of the samples are <= it. Sorts s. Returns 0 when empty. */
uint64_t bt_samples_percentile(struct bt_samples *s, double p);
uint64_t bt_samples_max(const struct bt_samples *s);

/* Writes {"p50":..,"p99":..,"max":..,"count":..} (null values when empty). */
void bt_json_samples(struct bt_json *j, struct bt_samples *s);

#endif
