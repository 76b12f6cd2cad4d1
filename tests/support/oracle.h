/*
 * Oracles for the tests of the candidate map and the codec (cmap_test,
 * codec_test, leader_test, codec_fuzz): a map's snapshot bytes and map
 * equality. The product never needs either (replica.c encodes snapshots
 * from arrays), so they live here, written against the public cmap.h and
 * codec.h only; they keep the names they had in src/core/.
 */
#ifndef BT_TESTS_SUPPORT_ORACLE_H
#define BT_TESTS_SUPPORT_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmap.h"
#include "core/codec.h"

/* Encodes a SNAPSHOT of every entry of m (borrowed, tombstones included, in
 * bt_cmap_foreach order) and the nf fences f[] (borrowed), as
 * bt_codec_encode_snapshot_array() does for an array: *out receives a new
 * malloc'd buffer (the caller frees it) and *out_len its length. Returns 0,
 * or BATON_E2BIG, BATON_EINVAL or BATON_ENOMEM as that function does
 * (BATON_ENOMEM also when the entries cannot be copied out, BATON_EINVAL
 * when the map walks more entries than it counts); on failure *out is NULL
 * and *out_len 0. */
int bt_codec_encode_snapshot(const struct bt_cmap *m, const struct bt_fence *f, size_t nf,
                             uint8_t **out, size_t *out_len);

/* Whether a and b hold the same entries, field by field: the same names,
 * each with the same entries in the same (bt_cmap_entries) order. Fields
 * are compared one by one, not with bt_centry_cmp(), so that an order that
 * calls two different entries equal is caught. */
bool bt_cmap_equal(const struct bt_cmap *a, const struct bt_cmap *b);

#endif
