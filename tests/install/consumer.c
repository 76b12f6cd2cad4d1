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
    return first == 0 && again == BATON_ESTALE && hw == 42 ? 0 : 1;
}
