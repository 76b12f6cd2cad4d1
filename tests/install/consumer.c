/* A program that uses an installed libbaton, built by tests/install/check.cmake
 * through pkg-config and through find_package(baton): the install contract. */
#include <baton/baton.h>
#include <baton/guard.h>
#include <stdio.h>

int main(void)
{
    struct baton_guard *g;
    struct baton_guard_mark mark;
    if (baton_guard_new(NULL, &g) != 0)
        return 1;
    int first = baton_guard_offer(g, 42, "n1", 2, &mark);
    int again = baton_guard_offer(g, 42, "n1", 2, &mark);
    int other = baton_guard_offer(g, 42, "n2", 2, &mark);
    baton_guard_free(g);
    printf("offer (42, n1): %s; again: %s; (42, n2): %s (%s)\n", baton_err_name(first), baton_err_name(again),
           baton_err_name(other), baton_strerror(other));
    return first == 0 && again == 0 && other == BATON_ESTALE && mark.token == 42 ? 0 : 1;
}
