/*
 * The simulator's only source of randomness: xoshiro256** (Blackman and
 * Vigna, "Scrambled linear pseudorandom number generators", 2018) seeded
 * through splitmix64, the seeding procedure its authors recommend.
 *
 * One run is one seed. The simulator never draws from a global generator:
 * it derives independent streams from the seed and a purpose tag
 * (bt_prng_init_stream), one for the network, one for the fault schedule and
 * one per node process (node index and boot count in the tag). A change in
 * how often one consumer draws then cannot shift another consumer's numbers,
 * which keeps replays of a seed meaningful across small code changes.
 *
 * Everything here is integer arithmetic with fixed widths: the same seed
 * gives the same numbers on every machine and compiler.
 */
#ifndef BT_SIM_PRNG_H
#define BT_SIM_PRNG_H

#include <stdbool.h>
#include <stdint.h>

struct bt_prng {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
};

/* One step of splitmix64: advances *state and returns the next output. */
static inline uint64_t bt_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static inline void bt_prng_init(struct bt_prng *p, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++)
        p->s[i] = bt_splitmix64(&sm);
    /* splitmix64 is a bijection of its counter, so four consecutive outputs
     * are never all zero; keep the guard for the reader's peace of mind. */
    if ((p->s[0] | p->s[1] | p->s[2] | p->s[3]) == 0)
        p->s[0] = 1;
}

/* A stream independent of every other (seed, tag, index) combination: the
 * three words are mixed through splitmix64 before seeding. */
static inline void bt_prng_init_stream(struct bt_prng *p, uint64_t seed, uint64_t tag,
                                       uint64_t index)
{
    uint64_t sm = seed;
    uint64_t a = bt_splitmix64(&sm);
    sm = a ^ tag;
    uint64_t b = bt_splitmix64(&sm);
    sm = b ^ index;
    bt_prng_init(p, bt_splitmix64(&sm));
}

static inline uint64_t bt_prng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t bt_prng_next(struct bt_prng *p)
{
    uint64_t *s = p->s;
    uint64_t result = bt_prng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = bt_prng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, bound) without modulo bias (Lemire's multiply-shift with
 * rejection); bound 0 returns 0. */
static inline uint64_t bt_prng_below(struct bt_prng *p, uint64_t bound)
{
    if (bound == 0)
        return 0;
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        unsigned __int128 m = (unsigned __int128)bt_prng_next(p) * bound;
        if ((uint64_t)m >= threshold)
            return (uint64_t)(m >> 64);
    }
}

/* Uniform in [lo, hi] (inclusive); requires lo <= hi. */
static inline uint64_t bt_prng_range(struct bt_prng *p, uint64_t lo, uint64_t hi)
{
    if (hi - lo == UINT64_MAX)
        return bt_prng_next(p);
    return lo + bt_prng_below(p, hi - lo + 1);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double bt_prng_unit(struct bt_prng *p)
{
    return (double)(bt_prng_next(p) >> 11) * 0x1.0p-53;
}

/* True with probability prob. Draws nothing when prob <= 0 or prob >= 1, so
 * turning a fault off does not shift the stream of the run. */
static inline bool bt_prng_chance(struct bt_prng *p, double prob)
{
    if (prob <= 0.0)
        return false;
    if (prob >= 1.0)
        return true;
    return bt_prng_unit(p) < prob;
}

#endif
