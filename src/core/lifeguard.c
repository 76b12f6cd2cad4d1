/*
 * Lifeguard's arithmetic: see lifeguard.h and docs/membership.md.
 */
#include "core/lifeguard.h"

/* Halve into [1, 2), then ln(x) = 2 atanh((x-1)/(x+1)) by its series, which
 * converges fast there. */
double bt_lg_ln(double x)
{
    double e = 0;
    while (x >= 2.0) {
        x /= 2.0;
        e += 1.0;
    }
    double t = (x - 1.0) / (x + 1.0), t2 = t * t, term = t, sum = 0;
    for (int k = 1; k < 41; k += 2) {
        sum += term / k;
        term *= t2;
    }
    return 2.0 * sum + e * 0.69314718055994530942;
}

double bt_lg_log10(double x) { return bt_lg_ln(x) / 2.30258509299404568402; }

uint64_t bt_lg_suspicion_min(uint32_t suspicion_mult, uint32_t probe_interval, size_t n_live)
{
    double n = (double)n_live;
    double node_scale = n > 10 ? bt_lg_log10(n) : 1.0;
    return (uint64_t)((double)suspicion_mult * node_scale * probe_interval);
}

uint32_t bt_lg_confirmations(uint32_t suspicion_mult, size_t n_live, uint32_t cap)
{
    int64_t k = (int64_t)suspicion_mult - 2;
    if ((int64_t)n_live - 2 < k)
        k = (int64_t)n_live - 2;
    if (k < 0)
        k = 0;
    if (k > (int64_t)cap)
        k = (int64_t)cap;
    return (uint32_t)k;
}

uint64_t bt_lg_suspicion_timeout(uint64_t min_ms, uint64_t max_ms, uint32_t k, uint32_t c)
{
    if (k == 0 || c >= k)
        return min_ms;
    double frac = bt_lg_ln((double)c + 1) / bt_lg_ln((double)k + 1);
    double span = (double)(max_ms - min_ms);
    double t = (double)max_ms - frac * span;
    if (t < (double)min_ms)
        t = (double)min_ms;
    return (uint64_t)t;
}

uint32_t bt_lg_health_add(uint32_t health, int delta, uint32_t awareness_max)
{
    int64_t h = (int64_t)health + delta;
    if (h < 0)
        h = 0;
    if (h > (int64_t)awareness_max - 1)
        h = (int64_t)awareness_max - 1;
    return (uint32_t)h;
}
