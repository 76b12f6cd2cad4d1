/* A program that uses an installed libbaton, built by tests/install/check.cmake
 * through pkg-config and through find_package(baton): the install contract. */
#include <baton/baton.h>
#include <baton/guard.h>
#include <stdio.h>

int main(void)
{
    struct baton_guard *g;
    uint64_t hw = 0;
    if (baton_guard_new(0, &g) != 0)
        return 1;
    int first = baton_guard_offer(g, 42, &hw);
    int again = baton_guard_offer(g, 42, &hw);
    baton_guard_free(g);
    printf("offer 42: %s; again: %s (%s)\n", baton_err_name(first), baton_err_name(again),
           baton_strerror(again));
    if (!(first == 0 && again == BATON_ESTALE && hw == 42))
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
    struct baton_fence fence;
    int led = baton_lead(node, 0, "job", 3, 0, &fence);
    baton_node_free(node);
    printf("lead: %d, token %llu from %s\n", led, (unsigned long long)fence.token, fence.minter);
    return led == 1 && fence.token > 0 ? 0 : 1;
}
