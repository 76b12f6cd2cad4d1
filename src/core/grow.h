/*
 * How the core's per-member arrays grow (swim's member arrays, the clock
 * readings, the broadcast queue's slots). Every node holds them for every
 * member, so in an n-node simulation they hold n^2 elements between them.
 */
#ifndef BT_CORE_GROW_H
#define BT_CORE_GROW_H

#include <stddef.h>

/* Below this many elements an array doubles; from it on it grows by a
 * quarter. */
#define BT_GROW_DOUBLE_BELOW 4096

/* The next capacity of an array holding cap elements (0: none yet): 16,
 * then doubling up to BT_GROW_DOUBLE_BELOW, then a quarter more each time,
 * always more than cap unless cap is near SIZE_MAX (then cap itself: the
 * caller's size check fails). Doubling a large array leaves up to half of
 * it unused (16 384 slots for 10 000 members, a few dozen bytes per (node,
 * member) pair); a quarter bounds that to a fifth while the copies stay
 * O(1) per element. A small array doubles: growing it in many small steps
 * left more holes in the heap than it saved (simulator runs of 500 nodes
 * took 10% more memory). */
static inline size_t bt_grow_cap(size_t cap)
{
    size_t next = cap == 0 ? 16 : cap < BT_GROW_DOUBLE_BELOW ? 2 * cap : cap + cap / 4;
    return next > cap ? next : cap;
}

#endif
