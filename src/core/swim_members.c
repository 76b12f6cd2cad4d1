/*
 * The membership protocol's member table (swim_internal.h): every known
 * member at a position, its record in chunks of them (iteration follows
 * the positions, so runs are deterministic), and an
 * open-addressing index by name ("the index" below); suspects and dead/left members in one array (from
 * its two ends); the probe order; the digest, an XOR of per-member hashes kept in step
 * with every change. Room in every array is reserved when a member is
 * added, so state changes never allocate.
 */
#include "core/swim_internal.h"

#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "core/grow.h"

/* ---- helpers ------------------------------------------------------------ */

/* Makes room for need elements of elem bytes in *arr (growing as grow.h
 * says: every node holds these arrays for every member). */
static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = bt_grow_cap(*cap);
    if (ncap < need)
        ncap = need;
    if (ncap > SIZE_MAX / elem)
        return false;
    void *p = realloc(*arr, ncap * elem);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

/* Room for need members in bt_swim.watch: the gone, at the top, move to
 * the new top. */
static bool grow_watch(struct bt_swim *s, size_t need)
{
    size_t old = s->cap_watch;
    if (!grow((void **)&s->watch, &s->cap_watch, need, sizeof *s->watch))
        return false;
    if (s->cap_watch != old && s->n_gone > 0)
        memmove(s->watch + s->cap_watch - s->n_gone, s->watch + old - s->n_gone,
                s->n_gone * sizeof *s->watch);
    return true;
}

void swim_info_of(const struct bt_member *m, struct bt_member_info *out)
{
    memset(out, 0, sizeof *out);
    out->name = member_name(m);
    out->addr = member_addr(m);
    out->boot_id = m->boot_id;
    out->incarnation = m->incarnation;
    out->state = m->state;
}

void swim_emit(struct bt_swim *s, enum bt_event_kind kind, const struct bt_member *m)
{
    struct bt_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.member = member_name(m);
    ev.addr = member_addr(m);
    ev.boot_id = m->boot_id;
    s->sink.event(s->sink.ctx, &ev);
}

/* ---- the member table --------------------------------------------------- */

/* m's name's hash (bt_hash_bytes). */
static uint64_t name_hash(const struct bt_member *m)
{
    return bt_hash_bytes(member_str(m), m->name_len);
}

/* A member's share of the digest. Dead and departed members count as
 * absent: a record that only waits to be reaped, and that a fresh process
 * never learned, must not keep two views apart (for the election, dead,
 * left and unknown all mean "not live"). */
static uint64_t digest_term(const struct bt_member *m)
{
    if (!is_live(m->state))
        return 0;
    return bt_mix64(name_hash(m) ^
                    bt_mix64(m->boot_id + 0x9e3779b97f4a7c15u * ((uint64_t)m->state + 1)));
}

/* ---- the index ------------------------------------------------------------
 * Every datagram's sender and every rumor's member is looked up by name,
 * and every node holds every member: an open-addressing array of 32-bit
 * slots. A name's hash (bt_hash_bytes, low 32 bits) picks its home slot
 * by its low bits (as many as the index has slots: the mask); the slot
 * holds the hash's other bits (the tag) over the member's position + 1,
 * which is below the mask since the index is at most three
 * quarters full. A lookup reads the slots from the home on and only the
 * record whose tag matches, one cache miss for the slots and one for the
 * record, where a chained table read a bucket and then every record of
 * the chain; the records carry no hash link (16 bytes each), and a slot
 * takes 4 bytes, not 8 with the whole hash beside the position (a tag of
 * 18 bits at 10 000 members still sends only one lookup in 250 000 to a
 * record of another name). Deleting shifts the following slots back, so
 * no tombstones are needed. */

#define INDEX_EMPTY 0
#define INDEX_MIN 64 /* slots in a first index */

static uint32_t index_mask(const struct bt_swim *s) { return (uint32_t)s->index_cap - 1; }

static uint32_t index_entry(const struct bt_swim *s, uint32_t hash, size_t slot)
{
    return (hash & ~index_mask(s)) | (uint32_t)(slot + 1);
}

static bool entry_has_tag(const struct bt_swim *s, uint32_t e, uint32_t hash)
{
    return (e & ~index_mask(s)) == (hash & ~index_mask(s));
}

static size_t entry_slot(const struct bt_swim *s, uint32_t e)
{
    return (size_t)(e & index_mask(s)) - 1;
}

/* Puts members[slot], whose name hashes to hash, in the index. */
static void index_put(struct bt_swim *s, uint32_t hash, size_t slot)
{
    size_t mask = index_mask(s);
    size_t k = hash & mask;
    while (s->index[k] != INDEX_EMPTY)
        k = (k + 1) & mask;
    s->index[k] = index_entry(s, hash, slot);
}

size_t swim_member_pos(const struct bt_swim *s, const struct bt_member *m)
{
    uint32_t hash = (uint32_t)name_hash(m);
    size_t mask = index_mask(s);
    size_t k = hash & mask;
    while (s->index[k] == INDEX_EMPTY || !entry_has_tag(s, s->index[k], hash) ||
           swim_member_at(s, entry_slot(s, s->index[k])) != m)
        k = (k + 1) & mask;
    return entry_slot(s, s->index[k]);
}

/* Where members[slot]'s entry is (it is there). */
static size_t index_where(const struct bt_swim *s, size_t slot)
{
    uint32_t hash = (uint32_t)name_hash(swim_member_at(s, slot));
    uint32_t e = index_entry(s, hash, slot);
    size_t mask = index_mask(s);
    size_t k = hash & mask;
    while (s->index[k] != e)
        k = (k + 1) & mask;
    return k;
}

/* Empties index slot k, moving back the entries after it that would no
 * longer be found (backward-shift deletion; an entry's home is its
 * member's name's: the entry holds only the hash's other bits). */
static void index_delete(struct bt_swim *s, size_t k)
{
    size_t mask = index_mask(s);
    for (size_t j = (k + 1) & mask; s->index[j] != INDEX_EMPTY; j = (j + 1) & mask) {
        size_t home = name_hash(swim_member_at(s, entry_slot(s, s->index[j]))) & mask;
        /* The entry at j may fill k unless its home lies in (k, j]. */
        bool stays = k < j ? (home > k && home <= j) : (home > k || home <= j);
        if (!stays) {
            s->index[k] = s->index[j];
            k = j;
        }
    }
    s->index[k] = INDEX_EMPTY;
}

/* Room in the index for need members: a larger one, every member put in
 * again, when need would pass three quarters. false: out of memory (the
 * index unchanged). */
static bool index_room(struct bt_swim *s, size_t need)
{
    if (4 * need <= 3 * s->index_cap)
        return true;
    size_t cap = s->index_cap ? s->index_cap : INDEX_MIN;
    while (4 * need > 3 * cap)
        cap *= 2;
    if (cap > (size_t)1 << 31) /* the mask leaves a tag bit */
        return false;
    uint32_t *ix = calloc(cap, sizeof *ix);
    if (!ix)
        return false;
    free(s->index);
    s->index = ix;
    s->index_cap = cap;
    for (size_t i = 0; i < s->n_members; i++)
        index_put(s, (uint32_t)name_hash(swim_member_at(s, i)), i);
    return true;
}

void swim_index_free(struct bt_swim *s)
{
    free(s->index);
    s->index = NULL;
    s->index_cap = 0;
}

struct bt_member *swim_find(const struct bt_swim *s, const struct bt_nodeid *name)
{
    size_t pos;
    return swim_find_pos(s, name, &pos);
}

struct bt_member *swim_find_pos(const struct bt_swim *s, const struct bt_nodeid *name, size_t *pos)
{
    if (s->index_cap == 0)
        return NULL;
    uint32_t hash = (uint32_t)bt_hash_bytes(name->bytes, name->len);
    size_t mask = index_mask(s);
    for (size_t k = hash & mask; s->index[k] != INDEX_EMPTY; k = (k + 1) & mask) {
        if (!entry_has_tag(s, s->index[k], hash))
            continue;
        struct bt_member *m = swim_member_at(s, entry_slot(s, s->index[k]));
        if (member_name_is(m, name)) {
            *pos = entry_slot(s, s->index[k]);
            return m;
        }
    }
    return NULL;
}

/* Takes m out of the suspects or the gone (bt_swim.watch). */
static void watch_remove(struct bt_swim *s, struct bt_member *m)
{
    if (m->watch_slot == NO_SLOT)
        return;
    bool suspect = m->state == BT_MEMBER_SUSPECT;
    size_t *n = suspect ? &s->n_suspects : &s->n_gone;
    uint32_t *(*at)(const struct bt_swim *, size_t) = suspect ? suspect_at : gone_at;
    uint32_t i = m->watch_slot;
    uint32_t last = *at(s, *n - 1);
    *at(s, i) = last;
    swim_member_at(s, last)->watch_slot = i;
    if (suspect)
        s->susps[i] = s->susps[*n - 1]; /* m's own was freed (swim_set_state) */
    (*n)--;
    m->watch_slot = NO_SLOT;
}

static bool watch_add(struct bt_swim *s, struct bt_member *m)
{
    if (m->state == BT_MEMBER_ALIVE)
        return true;
    if (s->n_suspects + s->n_gone >= s->cap_watch)
        return false; /* cannot happen: room is reserved per member */
    uint32_t pos = (uint32_t)swim_member_pos(s, m);
    if (m->state == BT_MEMBER_SUSPECT) {
        m->watch_slot = (uint32_t)s->n_suspects;
        if (m->watch_slot < s->cap_susps)
            s->susps[m->watch_slot] = NULL; /* the caller puts it there */
        *suspect_at(s, s->n_suspects++) = pos;
    } else {
        m->watch_slot = (uint32_t)s->n_gone;
        *gone_at(s, s->n_gone++) = pos;
    }
    return true;
}

bool swim_susp_reserve(struct bt_swim *s)
{
    return grow((void **)&s->susps, &s->cap_susps, s->n_suspects + 1, sizeof *s->susps);
}

/* Every state change goes through here: counts, arrays, digest. The arrays
 * have room reserved at member creation, so this cannot fail. */
void swim_set_state(struct bt_swim *s, struct bt_member *m, enum bt_member_state st, uint64_t now)
{
    if (m->state == st)
        return;
    free(member_susp(s, m));
    watch_remove(s, m);
    if (is_live(m->state))
        s->n_live--;
    s->digest ^= digest_term(m);
    m->state = (uint8_t)st;
    m->state_since = now;
    m->word_seq = 0; /* a reading the sink drops with a leave is not held any more */
    s->digest ^= digest_term(m);
    if (is_live(st))
        s->n_live++;
    (void)watch_add(s, m);
    /* The sink forgets a member's word when it leaves (sink.word): its
     * queued word goes too. */
    if (st == BT_MEMBER_LEFT)
        bt_bqueue_drop_held(&s->q, (uint32_t)swim_member_pos(s, m));
}

void swim_set_boot(struct bt_swim *s, struct bt_member *m, uint64_t boot)
{
    s->digest ^= digest_term(m);
    m->boot_id = boot;
    m->word_seq = 0;
    s->digest ^= digest_term(m);
    /* A queued word is written with the record's boot (put_word), and the
     * sink's word is of the new boot: one of the old boot is not passed
     * on as the new boot's. */
    bt_bqueue_drop_held(&s->q, (uint32_t)swim_member_pos(s, m));
}

/* Room for one more member in the chunks. */
static bool chunk_room(struct bt_swim *s)
{
    size_t c = s->n_members >> MEMBER_CHUNK_BITS;
    if (c < s->n_chunks)
        return true;
    char **v = realloc(s->chunks, (c + 1) * sizeof *v);
    if (!v)
        return false;
    s->chunks = v;
    v[c] = malloc(MEMBER_CHUNK * s->rec_size);
    if (!v[c])
        return false;
    s->n_chunks = c + 1;
    return true;
}

/* Gives m's strings room: its name (name_len bytes, written) and an
 * address of up to addr_cap bytes (zeroed), each with its NUL, in str[]
 * or in an allocation m owns. false: out of memory (m unchanged). */
static bool str_room(struct bt_member *m, const char *name, size_t name_len, size_t addr_cap)
{
    char *out = NULL;
    if (!MEMBER_STR_FITS(name_len, addr_cap) && !(out = calloc(1, name_len + addr_cap + 2)))
        return false;
    swim_member_strs_free(m);
    memset(m->str, 0, sizeof m->str);
    if (out)
        memcpy(m->str, &out, sizeof out);
    m->name_len = (uint8_t)name_len;
    m->addr_cap = (uint8_t)addr_cap;
    memcpy((char *)member_str(m), name, name_len);
    return true;
}

struct bt_member *swim_member_add(struct bt_swim *s, const struct bt_nodeid *name,
                                  const struct bt_addr *addr, uint64_t boot, uint32_t inc,
                                  uint64_t now, bool is_self)
{
    size_t need = s->n_members + 1;
    /* Reserve room in every array the member may enter, so that later state
     * changes never allocate. */
    if (!chunk_room(s) ||
        !grow((void **)&s->probe_order, &s->cap_probe, need, sizeof *s->probe_order) ||
        !grow_watch(s, need) || !index_room(s, need))
        return NULL;
    uint32_t pos = (uint32_t)s->n_members;
    struct bt_member *m = swim_member_at(s, pos);
    memset(m, 0, s->rec_size);
    if (!str_room(m, name->bytes, name->len, addr->len))
        return NULL;
    memcpy((char *)member_addr_bytes(m), addr->s, addr->len);
    m->addr_len = addr->len;
    m->boot_id = boot;
    m->incarnation = inc;
    m->state = BT_MEMBER_ALIVE;
    m->state_since = now;
    m->addr_since = now;
    m->watch_slot = NO_SLOT;
    m->probe_slot = NO_SLOT;
    s->digest ^= digest_term(m);
    s->n_live++;

    s->n_members++;
    index_put(s, (uint32_t)bt_hash_bytes(name->bytes, name->len), pos);

    if (!is_self) {
        /* Insert at a random place in the probe order (memberlist does the
         * same), so a newcomer is not always probed last. */
        size_t n = s->n_probe;
        size_t j = rnd_below(s, n + 1);
        if (j != n) {
            s->probe_order[n] = s->probe_order[j];
            swim_member_at(s, s->probe_order[n])->probe_slot = (uint32_t)n;
        }
        s->probe_order[j] = pos;
        m->probe_slot = (uint32_t)j;
        s->n_probe++;
    }
    return m;
}

bool swim_member_set_addr(struct bt_member *m, const struct bt_addr *addr)
{
    struct bt_nodeid name = member_name(m); /* str_room may free its bytes */
    if (addr->len > m->addr_cap && !str_room(m, name.bytes, name.len, addr->len))
        return false;
    char *a = (char *)member_addr_bytes(m);
    memset(a, 0, (size_t)m->addr_cap + 1);
    memcpy(a, addr->s, addr->len);
    m->addr_len = addr->len;
    return true;
}

void swim_member_remove(struct bt_swim *s, struct bt_member *m)
{
    free(member_susp(s, m));
    watch_remove(s, m);
    if (is_live(m->state))
        s->n_live--;
    s->digest ^= digest_term(m);

    if (m->probe_slot != NO_SLOT) {
        uint32_t plast = s->probe_order[s->n_probe - 1];
        s->probe_order[m->probe_slot] = plast;
        swim_member_at(s, plast)->probe_slot = m->probe_slot;
        s->n_probe--;
        if (s->probe_cursor > s->n_probe)
            s->probe_cursor = s->n_probe;
    }

    size_t pos = swim_member_pos(s, m);
    index_delete(s, index_where(s, pos));
    bt_bqueue_drop_held(&s->q, (uint32_t)pos);
    size_t lpos = s->n_members - 1;
    struct bt_member *last = swim_member_at(s, lpos);
    if (last != m) {
        /* The last member takes m's position: its index entry, its place
         * in the probe order and among the watched say so, and so does its
         * word in the queue. */
        size_t k = index_where(s, lpos);
        s->index[k] = index_entry(s, (uint32_t)name_hash(last), pos);
        if (last->probe_slot != NO_SLOT)
            s->probe_order[last->probe_slot] = (uint32_t)pos;
        if (last->watch_slot != NO_SLOT)
            *(last->state == BT_MEMBER_SUSPECT ? suspect_at : gone_at)(s, last->watch_slot) =
                (uint32_t)pos;
        bt_bqueue_move_held(&s->q, (uint32_t)lpos, (uint32_t)pos);
    }
    swim_member_strs_free(m);
    if (last != m)
        memcpy(m, last, s->rec_size);
    s->n_members--;
    /* A spare chunk is kept: a member that comes and goes at a chunk's
     * edge does not allocate every time. */
    if (s->n_chunks > 1 && s->n_members + 2 * MEMBER_CHUNK <= s->n_chunks * MEMBER_CHUNK)
        free(s->chunks[--s->n_chunks]);
}

void swim_member_strs_free(struct bt_member *m)
{
    if (!MEMBER_STR_FITS(m->name_len, m->addr_cap))
        free((void *)member_str(m));
}
