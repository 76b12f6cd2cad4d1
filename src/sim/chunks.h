/*
 * Shared chunks: byte strings held once however many messages in flight
 * carry them.
 *
 * In a gossip burst most of the simulator's memory is datagrams waiting on
 * the agenda, and most of their bytes are broadcasts that many other
 * datagrams carry too: a node packs the same rumors into the datagrams of
 * each gossip round, and every node relays a rumor with the same bytes. A
 * chunk is such a byte string, interned by content and counted: equal
 * bytes get the one copy, freed when its last carrier puts it back.
 * network.c splits a datagram's broadcasts into chunks and joins them
 * again on delivery.
 */
#ifndef BT_SIM_CHUNKS_H
#define BT_SIM_CHUNKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/htab.h"

struct sim_chunk {
    struct bt_hlink link; /* in the table, under the bytes' hash */
    uint32_t refs;        /* carriers holding it */
    uint32_t len;
    uint8_t data[];
};

/* The chunks held: a table of struct sim_chunk by their bytes (htab.h). */
struct sim_chunks {
    struct bt_htab table;
};

void sim_chunks_init(struct sim_chunks *t);
/* Frees the table; every chunk must have been put back. */
void sim_chunks_destroy(struct sim_chunks *t);

/* For each of n <= SIM_CHUNKS_AHEAD byte strings (p[i], len[i]), in turn,
 * the chunk holding its bytes, with one more reference, into out[i]: the
 * one already held for equal bytes (an earlier string of the same call
 * too), or a new one. The lookups' cache misses overlap (the table is
 * large and cold in a burst). Returns false when out of memory: out[]
 * then holds the chunks taken up to the first NULL, which the caller puts
 * back. */
#define SIM_CHUNKS_AHEAD 64
bool sim_chunks_get_many(struct sim_chunks *t, const uint8_t *const *p, const size_t *len, size_t n,
                         struct sim_chunk **out);

/* Gives back one reference to c, freeing it with the last. */
void sim_chunks_put(struct sim_chunks *t, struct sim_chunk *c);

#endif
