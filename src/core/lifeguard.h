/*
 * Lifeguard's arithmetic for the membership protocol (swim.c), as pure
 * functions: the suspicion timeout that shrinks with independent suspectors
 * ("LHA-Suspicion") and the local health multiplier ("LHM"). The formulas
 * are those of docs/membership.md; n is the number of live members.
 *
 *     min = suspicion_mult * max(1, log10 n) * probe_interval
 *     max = suspicion_max_mult * min
 *     K   = min(suspicion_mult - 2, n - 2), at least 0
 *     timeout(c) = max(min, max - (max - min) * ln(c + 1) / ln(K + 1))
 *
 * No libm: the logarithms are computed here, so the core links without it
 * and every platform computes the same timeouts.
 */
#ifndef BT_CORE_LIFEGUARD_H
#define BT_CORE_LIFEGUARD_H

#include <stddef.h>
#include <stdint.h>

/* Natural logarithm of x, for x >= 1. */
double bt_lg_ln(double x);

/* Base-10 logarithm of x, for x >= 1. */
double bt_lg_log10(double x);

/* The minimum suspicion duration in ms with n_live live members:
 * suspicion_mult * max(1, log10 n_live) * probe_interval (log10 counts from
 * 11 members on, below which it is taken as 1), truncated. */
uint64_t bt_lg_suspicion_min(uint32_t suspicion_mult, uint32_t probe_interval, size_t n_live);

/* The confirmations a suspicion expects, K = min(suspicion_mult - 2,
 * n_live - 2), at least 0 and at most cap. */
uint32_t bt_lg_confirmations(uint32_t suspicion_mult, size_t n_live, uint32_t cap);

/* The suspicion timeout in ms after c independent confirmations (suspectors
 * after the first) of K expected: max(min, max - (max - min) * ln(c + 1) /
 * ln(K + 1)), truncated; min when K == 0 or c >= K. Needs min_ms <= max_ms. */
uint64_t bt_lg_suspicion_timeout(uint64_t min_ms, uint64_t max_ms, uint32_t k, uint32_t c);

/* The local health score health + delta, clamped to 0..awareness_max - 1
 * (awareness_max >= 1). */
uint32_t bt_lg_health_add(uint32_t health, int delta, uint32_t awareness_max);

/* The multiplier of the probe interval and probe timeout at that score:
 * health + 1. */
static inline uint32_t bt_lg_scale(uint32_t health) { return health + 1; }

#endif
