/*
 * Test oracles for the candidate map and the codec: see oracle.h.
 */
#include "support/oracle.h"

#include <stdlib.h>

#include "baton/baton.h"

/* ---- a map's snapshot ---------------------------------------------------- */

struct gather {
    struct bt_centry *e;
    size_t n, cap;
};

static int gather_entry(const struct bt_centry *e, void *ctx)
{
    struct gather *g = ctx;
    if (g->n == g->cap)
        return 1; /* more entries than the map counts: not ours to encode */
    g->e[g->n++] = *e;
    return 0;
}

int bt_codec_encode_snapshot(const struct bt_cmap *m, const struct bt_fence *f, size_t nf,
                             uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    struct gather g = {.e = NULL, .n = 0, .cap = m->nentries};
    if (g.cap > BT_CODEC_SNAPSHOT_MAX)
        return BATON_E2BIG;
    g.e = malloc((g.cap ? g.cap : 1) * sizeof *g.e);
    if (g.e == NULL)
        return BATON_ENOMEM;
    int rc = bt_cmap_foreach(m, gather_entry, &g) != 0
                 ? BATON_EINVAL
                 : bt_codec_encode_snapshot_array(g.e, g.n, f, nf, out, out_len);
    free(g.e);
    return rc;
}

/* ---- map equality ---------------------------------------------------------- */

/* Field by field, independent of bt_centry_cmp(). */
static bool entry_equal(const struct bt_centry *a, const struct bt_centry *b)
{
    return bt_name_eq(&a->name, &b->name) && bt_nodeid_eq(&a->node, &b->node) &&
           a->stamp == b->stamp && a->removed == b->removed &&
           a->cand.candidate_id == b->cand.candidate_id && a->cand.priority == b->cand.priority &&
           a->cand.boot_id == b->cand.boot_id;
}

/* Compares the entries of e's name in both maps, once per name (at its
 * first entry); 1 stops the walk at a difference. */
static int name_differs(const struct bt_centry *e, void *ctx)
{
    const struct bt_cmap *const *maps = ctx;
    const struct bt_centry *const *ae, *const *be;
    size_t an = bt_cmap_entries(maps[0], &e->name, &ae);
    if (an == 0)
        return 1;
    if (!bt_nodeid_eq(&ae[0]->node, &e->node))
        return 0; /* not the first entry of its name: compared already */
    size_t bn = bt_cmap_entries(maps[1], &e->name, &be);
    if (bn != an)
        return 1;
    for (size_t i = 0; i < an; i++)
        if (!entry_equal(ae[i], be[i]))
            return 1;
    return 0;
}

bool bt_cmap_equal(const struct bt_cmap *a, const struct bt_cmap *b)
{
    if (a->names.count != b->names.count || a->nentries != b->nentries || a->nlive != b->nlive)
        return false;
    const struct bt_cmap *maps[2] = {a, b};
    return bt_cmap_foreach(a, name_differs, maps) == 0;
}
