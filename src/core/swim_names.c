/*
 * Name checks (swim_internal.h): a claim for a name held by a live member
 * at another address is judged by one rule every node applies alike, the
 * greater boot id keeps the name, by probing the process that would keep
 * it (swim.c's opening comment and docs/membership.md have the argument).
 */
#include "core/swim_internal.h"

#include <string.h>

#include "baton/baton.h"

/* ---- name checks -------------------------------------------------------- */

static struct bt_name_check *check_find(struct bt_swim *s, const struct bt_nodeid *name)
{
    for (size_t i = 0; i < s->n_checks; i++)
        if (bt_nodeid_eq(&s->checks[i].name, name))
            return &s->checks[i];
    return NULL;
}

void swim_check_ping(struct bt_swim *s, struct bt_name_check *c)
{
    struct bt_wbuf w;
    swim_packet_begin(s, &w, BT_SWIM_PING);
    struct bt_swim_clock lc = swim_local_clock(s);
    bt_swim_put_ping(&w, c->seq, &c->name, &lc);
    swim_packet_send(s, &w, c->probe_claimant ? &c->claimant_addr : &c->holder_addr, true);
}

void swim_check_start(struct bt_swim *s, struct bt_member *holder,
                      const struct bt_swim_bcast *claim, uint64_t now)
{
    struct bt_name_check *c = check_find(s, MEMBER_NAME_P(holder));
    if (c) {
        /* One check per name at a time; a fresher claim by the same boot
         * updates what would win. */
        if (c->claimant_boot == claim->boot && claim->incarnation > c->claimant_inc)
            c->claimant_inc = claim->incarnation;
        return;
    }
    if (s->n_checks == MAX_CHECKS) {
        s->stats.name_checks_dropped++;
        return;
    }
    c = &s->checks[s->n_checks++];
    memset(c, 0, sizeof *c);
    c->name = member_name(holder);
    c->holder_boot = holder->boot_id;
    c->holder_addr = member_addr(holder);
    c->claimant_boot = claim->boot;
    c->claimant_addr = claim->addr;
    c->claimant_inc = claim->incarnation;
    c->probe_claimant = claim->boot > holder->boot_id;
    c->seq = ++s->seq;
    c->deadline = now + check_window(s);
    c->next_ping = now + check_window(s) / 3;
    s->stats.name_checks++;
    swim_check_ping(s, c);
}

static void check_remove(struct bt_swim *s, struct bt_name_check *c)
{
    size_t i = (size_t)(c - s->checks);
    s->checks[i] = s->checks[--s->n_checks];
}

void swim_send_conflict(struct bt_swim *s, const struct bt_addr *to, const struct bt_nodeid *name,
                        uint64_t claimant_boot, uint64_t holder_boot,
                        const struct bt_addr *holder_addr)
{
    struct bt_wbuf w;
    swim_packet_begin(s, &w, BT_SWIM_CONFLICT);
    bt_swim_put_conflict(&w, name, claimant_boot, holder_boot, holder_addr);
    swim_packet_send(s, &w, to, false);
    s->stats.name_conflicts++;
}

/* The claimant of c takes the name over from the holder we still hold. */
static void take_over(struct bt_swim *s, const struct bt_name_check *c, uint64_t now)
{
    struct bt_member *m = swim_find(s, &c->name);
    if (m && m != s->self && m->boot_id == c->holder_boot && is_live(m->state)) {
        if (!swim_member_set_addr(m, &c->claimant_addr))
            return; /* out of memory: the claim is dropped, nothing changed */
        swim_set_boot(s, m, c->claimant_boot);
        m->addr_since = now;
        if (c->claimant_inc > m->incarnation)
            m->incarnation = c->claimant_inc;
        swim_set_state(s, m, BT_MEMBER_ALIVE, now);
        s->stats.name_takeovers++;
        swim_emit(s, BT_EV_MEMBER_UP, m);
        swim_bcast_member(s, BT_SWIM_B_ALIVE, m, NULL, false);
    }
}

/* The probed process answered: it keeps the name. The holder: refuse the
 * claimant. The claimant (it outranks the holder): it takes the name over
 * and the holder is refused; if the holder is this node, it yields. */
void swim_check_answered(struct bt_swim *s, struct bt_name_check *c, uint64_t now)
{
    if (!c->probe_claimant) {
        swim_send_conflict(s, &c->claimant_addr, &c->name, c->claimant_boot, c->holder_boot,
                           &c->holder_addr);
    } else if (bt_nodeid_eq(&c->name, &s->cfg.name)) {
        struct bt_addr keeper = c->claimant_addr;
        check_remove(s, c);
        swim_refuse_self(s, &keeper);
        return;
    } else {
        take_over(s, c, now);
        swim_send_conflict(s, &c->holder_addr, &c->name, c->holder_boot, c->claimant_boot,
                           &c->claimant_addr);
    }
    check_remove(s, c);
}

/* The probed process did not answer in time. The holder: the claim takes
 * the name over. The claimant: the claim is dropped (stale, or cut off). */
void swim_check_expired(struct bt_swim *s, struct bt_name_check *c, uint64_t now)
{
    if (!c->probe_claimant)
        take_over(s, c, now);
    check_remove(s, c);
}
