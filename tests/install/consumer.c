/* A program that uses an installed libbaton, built by tests/install/check.cmake
 * through pkg-config and through find_package(baton): the install contract. */
#include <baton/baton.h>
#include <baton/guard.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(void)
{
    struct baton_guard *g;
    struct baton_guard_mark mark;
    if (baton_guard_new(NULL, &g) != 0)
        return 1;
    /* Minters name processes: node, '#', boot in hex (BATON_MINTER_MAX). */
    static const char m1[BATON_MINTER_MAX + 1] = "n1#0000000000000001";
    int first = baton_guard_offer(g, 42, m1, strlen(m1), &mark);
    int again = baton_guard_offer(g, 42, m1, strlen(m1), &mark);
    int other = baton_guard_offer(g, 42, "n2#0000000000000002", 19, &mark);
    baton_guard_free(g);
    printf("offer (42, n1): %s; again: %s; (42, n2): %s (%s)\n", baton_err_name(first),
           baton_err_name(again), baton_err_name(other), baton_strerror(other));
    if (!(first == 0 && again == 0 && other == BATON_ESTALE && mark.token == 42))
        return 1;

    /* A node of one: it leads at once. */
    struct baton_key key;
    struct baton_config cfg;
    baton_node *node;
    baton_config_init(&cfg);
    cfg.name = "consumer";
    cfg.bind_addr = "127.0.0.1:0";
    cfg.profile = BATON_PROFILE_LOCAL;
    if (baton_key_generate(&key) != 0)
        return 1;
    cfg.keys = &key;
    cfg.nkeys = 1;
    if (baton_node_new(&cfg, &node) != 0 || baton_node_start(node) != 0)
        return 1;
    /* Leader at once, or after a short settle period (design.md fix 8). */
    struct baton_fence fence = {0};
    int led = baton_lead(node, 0, "job", 3, 0, &fence);
    for (int i = 0; led == 0 && i < 500; i++) {
        struct timespec ms10 = {0, 10000000L};
        nanosleep(&ms10, NULL);
        if (baton_fence(node, "job", 3, &fence) == 0)
            led = 1;
    }
    baton_node_free(node);
    printf("lead: %d, token %llu from %s\n", led, (unsigned long long)fence.token, fence.minter);
    return led == 1 && fence.token > 0 ? 0 : 1;
}
