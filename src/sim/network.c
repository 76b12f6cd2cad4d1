/*
 * The simulator's network model: datagrams and streams between node
 * processes, and the network faults (partitions, one-way cuts, loss bursts).
 *
 * Network model. Datagrams: latency uniform in [latency_min, latency_max],
 * lost with probability `loss`, duplicated with probability `dup` (the copy
 * draws its own latency), and with probability `reorder` held back a further
 * 1..max(10, 4*latency_max) ms; reordering also falls out of random latency.
 * A message crosses only if its link is open both when sent and when it
 * arrives (a partition also eats what is in flight). Streams (BT_OUT_STREAM)
 * are reliable and ordered per direction: no loss, no duplicates, the same
 * latency draw but never overtaking the previous message of the connection.
 * A connection binds the two processes it joins: a crash or restart of
 * either end, or a partition between them, kills it and later messages on
 * it are dropped. A paused node's traffic waits in a backlog (datagrams up
 * to backlog_max, like a socket buffer); a crashed node's is dropped.
 *
 * Refusals. A process that crashed on a host that stays up (a process
 * crash, the default for half the crashes: host_crash), stopped, or left
 * leaves its address refusing: a datagram arriving there, or the first
 * message of a connection opened to it, sends a refusal back to the sending
 * process (like an ICMP port unreachable, or a refused connect), with its
 * own latency, loss and reordering, across links open both ways, delivered
 * by addr_refused only to the very process that sent (not to a restart of
 * it, nor while it is paused). A host crash, a paused process, a cut link
 * and a partition stay silent. Crash kinds and refusals draw from their own
 * stream, so runs without refusals keep the network's draws.
 */
#include "sim/sim_impl.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/swim.h"
#include "core/swim_proto.h"

/* --- the network ----------------------------------------------------------- */

bool bt_sim_link_open(const struct bt_sim *sim, uint32_t from, uint32_t to)
{
    if (sim->partitioned && sim->nodes[from].side != sim->nodes[to].side)
        return false;
    if (sim->cut_count > 0 && bt_sim_bit(sim->cut_bits, (size_t)from * sim->n + to))
        return false;
    return true;
}

bool bt_sim_network_faulty(const struct bt_sim *sim)
{
    return sim->partitioned || sim->cut_count > 0 || sim->loss > sim->cfg.loss;
}

/* A printable length for an address from the core: never past its storage. */
static int addr_len(const struct bt_addr *a)
{
    return a->len <= BT_ADDR_MAX ? a->len : BT_ADDR_MAX;
}

static uint64_t draw_latency(struct bt_sim *sim, bool may_reorder)
{
    uint64_t lat = bt_prng_range(&sim->net_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
    if (may_reorder && bt_prng_chance(&sim->net_rng, sim->cfg.reorder)) {
        lat += bt_prng_range(&sim->net_rng, 1, sim->reorder_max_ms);
        sim->stats.reordered++;
    }
    return lat;
}

static struct sim_msg *msg_alloc(struct bt_sim *sim, enum sim_item_kind kind, uint32_t from,
                                 uint32_t to, size_t len, size_t head_len, size_t nchunks)
{
    struct sim_msg *m = malloc(sizeof *m + nchunks * sizeof m->chunk[0] + head_len);
    if (m == NULL) {
        sim_note_oom(sim);
        return NULL;
    }
    bt_sim_heap_entry_init(&m->item.h);
    m->item.kind = kind;
    m->item.fire = sim_fire_msg;
    m->next = NULL;
    m->from = from;
    m->to = to;
    m->conn = 0;
    m->end = 0;
    m->from_gen = sim->nodes[from].gen;
    m->len = len;
    m->nchunks = 0;
    if (kind == SIM_ITEM_DATAGRAM)
        sim->datagram_bytes_held += len;
    return m;
}

static uint8_t *msg_head(const struct sim_msg *m) { return (uint8_t *)&m->chunk[m->nchunks]; }

static struct sim_msg *msg_new(struct bt_sim *sim, enum sim_item_kind kind, uint32_t from,
                               uint32_t to, const uint8_t *data, size_t len)
{
    struct sim_msg *m = msg_alloc(sim, kind, from, to, len, len, 0);
    if (m != NULL && len > 0)
        memcpy(msg_head(m), data, len);
    return m;
}

/* A datagram whose broadcasts are chunks (chunks.h) while more than
 * cfg.chunk_above_bytes are in flight already (64 MiB by default): the
 * packet's header and body stay inline. Sharing broadcasts pays in a
 * burst, when a gossip wave puts gigabytes of datagrams on the agenda; in
 * a calm cluster a few megabytes are in flight, and splitting, interning
 * and joining every datagram again cost a fifth of a membership-only run
 * of 2000 nodes (31.9 s user against 25.3) for no memory saved. The payload a
 * node receives is the same bytes either way. Only the header is
 * decoded, to find where the broadcasts start: the receiving node
 * validates the whole. A payload that is not a packet of the core's (a
 * test's fake node), or whose broadcasts do not split, is held whole. */
static struct sim_msg *datagram_new(struct bt_sim *sim, uint32_t from, uint32_t to,
                                    const uint8_t *data, size_t len)
{
    struct bt_swim_packet pkt;
    if (sim->datagram_bytes_held < sim->cfg.chunk_above_bytes ||
        bt_swim_decode_head(data, len, &pkt) < 0 || pkt.bcasts_len == 0)
        return msg_new(sim, SIM_ITEM_DATAGRAM, from, to, data, len);
    size_t nchunks = 0;
    const uint8_t *name;
    size_t name_len, step;
    for (size_t off = 0; off < pkt.bcasts_len; off += step) {
        step = bt_swim_peek_bcast(pkt.bcasts + off, pkt.bcasts_len - off, &name, &name_len);
        if (step == 0) /* malformed: delivered as it is, for the node to reject */
            return msg_new(sim, SIM_ITEM_DATAGRAM, from, to, data, len);
        nchunks++;
    }
    size_t head_len = (size_t)(pkt.bcasts - data);
    struct sim_msg *m = msg_alloc(sim, SIM_ITEM_DATAGRAM, from, to, len, head_len, nchunks);
    if (m == NULL)
        return NULL;
    /* In blocks, so that the lookups' cache misses overlap. */
    const uint8_t *at[SIM_CHUNKS_AHEAD];
    size_t at_len[SIM_CHUNKS_AHEAD];
    size_t k = 0;
    for (size_t off = 0; off < pkt.bcasts_len; off += step) {
        step = bt_swim_peek_bcast(pkt.bcasts + off, pkt.bcasts_len - off, &name, &name_len);
        at[k] = pkt.bcasts + off;
        at_len[k++] = step;
        if (k < SIM_CHUNKS_AHEAD && off + step < pkt.bcasts_len)
            continue;
        struct sim_chunk **out = m->chunk + m->nchunks;
        bool ok = sim_chunks_get_many(&sim->chunks, at, at_len, k, out);
        for (size_t i = 0; i < k && out[i] != NULL; i++)
            m->nchunks++;
        if (!ok) {
            sim_note_oom(sim);
            sim_msg_free(sim, m);
            return NULL;
        }
        k = 0;
    }
    memcpy(msg_head(m), data, head_len);
    return m;
}

const uint8_t *sim_msg_payload(struct bt_sim *sim, const struct sim_msg *m)
{
    if (m->nchunks == 0)
        return msg_head(m);
    size_t head_len = m->len;
    for (size_t i = 0; i < m->nchunks; i++)
        head_len -= m->chunk[i]->len;
    memcpy(sim->joined, msg_head(m), head_len);
    size_t at = head_len;
    for (size_t i = 0; i < m->nchunks; i++) {
        memcpy(sim->joined + at, m->chunk[i]->data, m->chunk[i]->len);
        at += m->chunk[i]->len;
    }
    return sim->joined;
}

void sim_msg_free(struct bt_sim *sim, struct sim_msg *m)
{
    if (m->item.kind == SIM_ITEM_DATAGRAM)
        sim->datagram_bytes_held -= m->len;
    for (size_t i = 0; i < m->nchunks; i++)
        sim_chunks_put(&sim->chunks, m->chunk[i]);
    free(m);
}

void sim_schedule(struct bt_sim *sim, struct sim_item *item, uint64_t at)
{
    if (bt_sim_heap_push(&sim->agenda, &item->h, at) != 0)
        sim_note_oom(sim);
}

void sim_send_datagram(struct bt_sim *sim, struct sim_node *src, const struct bt_output *out)
{
    sim->stats.datagrams_sent++;
    sim->stats.datagram_bytes += out->len;
    int64_t to = bt_sim_parse_index(sim, out->to.s, out->to.len);
    if (to < 0) {
        sim->stats.bad_address++;
        bt_sim_violation(sim, "bad_output",
                         "n%" PRIu32 " sent a datagram to \"%.*s\", which is no node", src->index,
                         addr_len(&out->to), out->to.s);
        return;
    }
    if (!bt_sim_link_open(sim, src->index, (uint32_t)to)) {
        sim->stats.dropped_partition++;
        return;
    }
    if (bt_prng_chance(&sim->net_rng, sim->loss)) {
        sim->stats.dropped_loss++;
        return;
    }
    int copies = 1;
    if (bt_prng_chance(&sim->net_rng, sim->cfg.dup)) {
        copies = 2;
        sim->stats.duplicated++;
    }
    for (int c = 0; c < copies; c++) {
        struct sim_msg *m = datagram_new(sim, src->index, (uint32_t)to, out->data, out->len);
        if (m == NULL)
            return;
        sim_schedule(sim, &m->item, sim->now + draw_latency(sim, true));
    }
}

void sim_refuse(struct bt_sim *sim, const struct sim_msg *m)
{
    if (sim->cfg.ops->addr_refused == NULL || !bt_sim_link_open(sim, m->to, m->from))
        return;
    sim->stats.refusals_sent++;
    if (bt_prng_chance(&sim->refuse_rng, sim->loss))
        return;
    struct sim_msg *r = msg_new(sim, SIM_ITEM_REFUSAL, m->to, m->from, NULL, 0);
    if (r == NULL)
        return;
    r->item.fire = sim_fire_refusal;
    r->conn = m->from_gen;
    uint64_t lat =
        bt_prng_range(&sim->refuse_rng, sim->cfg.latency_min_ms, sim->cfg.latency_max_ms);
    if (bt_prng_chance(&sim->refuse_rng, sim->cfg.reorder))
        lat += bt_prng_range(&sim->refuse_rng, 1, sim->reorder_max_ms);
    sim_schedule(sim, &r->item, sim->now + lat);
}

struct sim_conn *sim_conn_get(struct bt_sim *sim, uint64_t id)
{
    return id >= 1 && id <= sim->nconns ? &sim->conns[id - 1] : NULL;
}

void sim_send_stream(struct bt_sim *sim, struct sim_node *src, const struct bt_output *out)
{
    sim->stats.stream_msgs_sent++;
    sim->stats.stream_bytes += out->len;
    if (out->len > BT_STREAM_MSG_MAX && !sim->stream_too_long_reported) {
        /* A runtime would refuse to frame it (node.h); delivered anyway,
         * reported once. */
        sim->stream_too_long_reported = true;
        bt_sim_violation(sim, "bad_output",
                         "n%" PRIu32
                         " sent a stream message of %zu bytes, above BT_STREAM_MSG_MAX (%u)",
                         src->index, out->len, (unsigned)BT_STREAM_MSG_MAX);
    }
    struct sim_conn *c;
    uint64_t id = out->conn;
    uint8_t dst_end;
    if (id == 0) {
        int64_t to = bt_sim_parse_index(sim, out->to.s, out->to.len);
        if (to < 0) {
            sim->stats.bad_address++;
            bt_sim_violation(sim, "bad_output",
                             "n%" PRIu32 " opened a stream to \"%.*s\", which is no node",
                             src->index, addr_len(&out->to), out->to.s);
            return;
        }
        if (sim->nconns == sim->conns_cap) {
            size_t cap = sim->conns_cap ? sim->conns_cap * 2 : 64;
            struct sim_conn *conns = realloc(sim->conns, cap * sizeof *conns);
            if (conns == NULL) {
                sim_note_oom(sim);
                return;
            }
            sim->conns = conns;
            sim->conns_cap = cap;
        }
        c = &sim->conns[sim->nconns++];
        id = sim->nconns;
        c->end[0] = src->index;
        c->gen[0] = src->gen;
        c->end[1] = (uint32_t)to;
        c->gen[1] = 0; /* bound to the acceptor's process at first delivery */
        c->last_at[0] = c->last_at[1] = 0;
        c->broken = false;
        sim->stats.streams_opened++;
        dst_end = 1;
    } else {
        c = sim_conn_get(sim, id);
        if (c != NULL && c->end[0] == src->index && c->gen[0] == src->gen)
            dst_end = 1;
        else if (c != NULL && c->end[1] == src->index && c->gen[1] == src->gen)
            dst_end = 0;
        else {
            bt_sim_violation(sim, "bad_output",
                             "n%" PRIu32 " replied on stream %" PRIu64 ", which it was never given",
                             src->index, id);
            return;
        }
    }
    uint32_t to = c->end[dst_end];
    if (c->broken || !bt_sim_link_open(sim, src->index, to)) {
        c->broken = true;
        sim->stats.dropped_partition++;
        return;
    }
    struct sim_msg *m = msg_new(sim, SIM_ITEM_STREAM, src->index, to, out->data, out->len);
    if (m == NULL)
        return;
    m->conn = id;
    m->end = dst_end;
    uint64_t at = sim->now + draw_latency(sim, false);
    if (at < c->last_at[dst_end])
        at = c->last_at[dst_end];
    c->last_at[dst_end] = at;
    sim_schedule(sim, &m->item, at);
}

/* --- network faults -------------------------------------------------------- */

/* A network fault (partition, cut, loss burst) ended now. */
static void network_fault_ended(struct bt_sim *sim) { sim->net_calm_since = sim->now; }

static void excuse_all(struct bt_sim *sim)
{
    sim->net_excused_until = max_u64(sim->net_excused_until, sim->now + sim->cfg.fp_grace_ms);
    network_fault_ended(sim);
}

void bt_sim_partition(struct bt_sim *sim, const uint8_t *side)
{
    bool split = false;
    for (uint32_t i = 0; i < sim->n; i++) {
        sim->nodes[i].side = side != NULL ? side[i] : 0;
        split = split || sim->nodes[i].side != sim->nodes[0].side;
    }
    if (!split && !sim->partitioned)
        return;
    sim->partition_gen++;
    if (split) {
        sim->stats.partitions++;
        bt_sim_log(sim, 2, "partition #%" PRIu64, sim->partition_gen);
    } else {
        bt_sim_log(sim, 2, "partition healed");
    }
    if (sim->partitioned)
        excuse_all(sim);
    sim->partitioned = split;
    bt_sim_fault_now(sim);
}

uint64_t bt_sim_partition_gen(const struct bt_sim *sim) { return sim->partition_gen; }

void bt_sim_block(struct bt_sim *sim, uint32_t from, uint32_t to)
{
    size_t k = (size_t)from * sim->n + to;
    if (from >= sim->n || to >= sim->n || bt_sim_bit(sim->cut_bits, k))
        return;
    bt_sim_log(sim, 2, "cut n%" PRIu32 " -> n%" PRIu32, from, to);
    bt_sim_bit_set(sim->cut_bits, k, true);
    sim->cut_count++;
    sim->nodes[from].cuts++;
    sim->nodes[to].cuts++;
    sim->stats.oneway_blocks++;
    bt_sim_fault_now(sim);
}

void bt_sim_unblock(struct bt_sim *sim, uint32_t from, uint32_t to)
{
    size_t k = (size_t)from * sim->n + to;
    if (from >= sim->n || to >= sim->n || !bt_sim_bit(sim->cut_bits, k))
        return;
    bt_sim_log(sim, 2, "uncut n%" PRIu32 " -> n%" PRIu32, from, to);
    bt_sim_bit_set(sim->cut_bits, k, false);
    sim->cut_count--;
    network_fault_ended(sim);
    uint32_t ends[2] = {from, to};
    for (int e = 0; e < 2; e++) {
        struct sim_node *sn = &sim->nodes[ends[e]];
        sn->cuts--;
        sn->excused_until = max_u64(sn->excused_until, sim->now + sim->cfg.fp_grace_ms);
    }
    bt_sim_fault_now(sim);
}

void bt_sim_heal(struct bt_sim *sim)
{
    bt_sim_partition(sim, NULL);
    if (sim->cut_count == 0)
        return;
    bt_sim_log(sim, 2, "every one-way cut healed");
    for (uint32_t i = 0; i < sim->n; i++) {
        struct sim_node *sn = &sim->nodes[i];
        if (sn->cuts > 0)
            sn->excused_until = max_u64(sn->excused_until, sim->now + sim->cfg.fp_grace_ms);
        sn->cuts = 0;
    }
    memset(sim->cut_bits, 0, ((size_t)sim->n * sim->n + 7) / 8);
    sim->cut_count = 0;
    network_fault_ended(sim);
    bt_sim_fault_now(sim);
}

void bt_sim_set_loss(struct bt_sim *sim, double loss)
{
    if (!(loss >= 0.0 && loss < 1.0) || loss == sim->loss)
        return;
    bool burst = loss > sim->cfg.loss, was_burst = sim->loss > sim->cfg.loss;
    if (burst && !was_burst)
        sim->stats.loss_bursts++;
    if (was_burst)
        excuse_all(sim);
    bt_sim_log(sim, 2, "datagram loss %.3f", loss);
    sim->loss = loss;
    bt_sim_fault_now(sim);
}
