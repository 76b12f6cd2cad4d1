/*
 * Hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014)
 * over an injected wall time, packed in one uint64_t:
 *
 *     63                              16 15             0
 *    +----------------------------------+---------------+
 *    |   wall-clock milliseconds (48)   |  logical (16) |
 *    +----------------------------------+---------------+
 *
 * Integer order is HLC order. The logical part never passes 0xFFFF: the
 * increment that would overflow it carries into the wall part instead, which
 * is what a plain +1 on the packed integer does. The clock reads no time of
 * its own: every call is given the caller's wall clock in milliseconds.
 */
#ifndef BT_HLC_H
#define BT_HLC_H

#include <stdbool.h>
#include <stdint.h>

#define BT_HLC_LOGICAL_BITS 16
#define BT_HLC_LOGICAL_MAX 0xFFFFu
/* Tokens must fit a signed 64-bit integer (SQL BIGINT), so the greatest
 * valid timestamp is INT64_MAX and the greatest wall part 2^47 - 1 ms, in the
 * year 6429. A local wall clock beyond it is clamped; a remote timestamp
 * beyond INT64_MAX is refused. */
#define BT_HLC_TS_MAX ((uint64_t)INT64_MAX)
#define BT_HLC_WALL_MAX (BT_HLC_TS_MAX >> BT_HLC_LOGICAL_BITS)
/* The hard ceiling on remote timestamps: whatever max_offset_ms says (0,
 * "disabled", included), a remote timestamp whose wall part is more than
 * this far ahead of the reference clock is refused. 100 years: no real skew
 * comes near it, and the clock can never be driven to BT_HLC_TS_MAX (where
 * it would stop advancing and a node could no longer write above its own
 * tombstones), which takes some 4400 years from now. */
#define BT_HLC_CEILING_MS (UINT64_C(36525) * 24 * 3600 * 1000) /* 36525 days */

struct bt_hlc {
    /* The greatest timestamp this clock has issued or absorbed. */
    uint64_t last;
    /* A remote timestamp whose wall part is more than this many ms ahead of
     * the local wall clock is refused by bt_hlc_update(); 0 disables. */
    uint64_t max_offset_ms;
    /* How many remote timestamps were refused for being too far ahead. */
    uint64_t refused;
    /* How far the cluster's clock is ahead of the local wall clock (0 when
     * it is not): remote timestamps are judged against wall_ms + ahead_ms,
     * so a node whose clock is behind the cluster's absorbs the cluster's
     * time instead of refusing it (docs/design.md §1 fix 9). Set by the
     * owner; bt_hlc_init() makes it 0. */
    uint64_t ahead_ms;
};

static inline uint64_t bt_hlc_pack(uint64_t wall_ms, uint32_t logical)
{
    return (wall_ms << BT_HLC_LOGICAL_BITS) | (logical & BT_HLC_LOGICAL_MAX);
}
static inline uint64_t bt_hlc_wall(uint64_t ts) { return ts >> BT_HLC_LOGICAL_BITS; }
static inline uint32_t bt_hlc_logical(uint64_t ts) { return (uint32_t)(ts & BT_HLC_LOGICAL_MAX); }
/* -1, 0 or 1 as a is before, equal to or after b. */
static inline int bt_hlc_compare(uint64_t a, uint64_t b) { return (a > b) - (a < b); }

void bt_hlc_init(struct bt_hlc *hlc, uint64_t max_offset_ms);

/* A timestamp strictly greater than every one issued or absorbed before,
 * and at least the wall clock. A wall clock that goes backwards never makes
 * this go backwards. (At BT_HLC_TS_MAX, 4400 years from now, it saturates.) */
uint64_t bt_hlc_now(struct bt_hlc *hlc, uint64_t wall_ms);

/* Whether remote is acceptable: at most BT_HLC_TS_MAX and its wall part not
 * more than max_offset_ms ahead of the reference clock wall_ms + ahead_ms
 * (with max_offset_ms 0, or above BT_HLC_CEILING_MS, the bound is
 * BT_HLC_CEILING_MS). Changes nothing. */
bool bt_hlc_acceptable(const struct bt_hlc *hlc, uint64_t remote, uint64_t wall_ms);

/* Absorbs a remote timestamp so that every later bt_hlc_now() exceeds it.
 * Returns 0, or BATON_ECLOCK (and counts it in hlc->refused) when remote is
 * not acceptable; the clock is then unchanged. */
int bt_hlc_update(struct bt_hlc *hlc, uint64_t remote, uint64_t wall_ms);

#endif
