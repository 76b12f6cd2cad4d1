/* Tests of src/daemon/proto.c: the line splitter, socket paths, error names. */
#include "unit/test_main.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baton/baton.h"
#include "daemon/proto.h"

static void lines_split_across_feeds(void **state)
{
    (void)state;
    struct linebuf lb;
    linebuf_init(&lb, 0);
    size_t n;
    assert_int_equal(linebuf_feed(&lb, "{\"op\":", 6), 0);
    assert_null(linebuf_next(&lb, &n));
    assert_int_equal(linebuf_feed(&lb, "1}\nab\r\n\nc", 10), 0);
    char *l = linebuf_next(&lb, &n);
    assert_non_null(l);
    assert_int_equal(n, 8);
    assert_string_equal(l, "{\"op\":1}");
    l = linebuf_next(&lb, &n);
    assert_string_equal(l, "ab"); /* the \r is dropped */
    assert_int_equal(n, 2);
    l = linebuf_next(&lb, &n);
    assert_int_equal(n, 0); /* a blank line */
    assert_null(linebuf_next(&lb, &n));
    assert_int_equal(linebuf_feed(&lb, "\n", 1), 0);
    assert_string_equal(linebuf_next(&lb, &n), "c");
    linebuf_free(&lb);
}

static void lines_limit_counts_the_newline(void **state)
{
    (void)state;
    struct linebuf lb;
    size_t n;
    /* max 8: 7 bytes and a newline fit. */
    linebuf_init(&lb, 8);
    assert_int_equal(linebuf_feed(&lb, "1234567\n", 8), 0);
    assert_string_equal(linebuf_next(&lb, &n), "1234567");
    /* 7 pending bytes still fit (the newline may come). */
    assert_int_equal(linebuf_feed(&lb, "1234567", 7), 0);
    assert_false(lb.overflow);
    /* the 8th byte without a newline does not. */
    assert_int_equal(linebuf_feed(&lb, "8", 1), -1);
    assert_true(lb.overflow);
    /* after an overflow nothing more is taken. */
    assert_int_equal(linebuf_feed(&lb, "\n", 1), -1);
    assert_null(linebuf_next(&lb, &n));
    linebuf_free(&lb);
    /* a complete line over the limit inside one feed. */
    linebuf_init(&lb, 4);
    assert_int_equal(linebuf_feed(&lb, "ab\n12345\nx", 10), -1);
    assert_true(lb.overflow);
    linebuf_free(&lb);
}

static void lines_many_small_feeds(void **state)
{
    (void)state;
    struct linebuf lb;
    linebuf_init(&lb, 64);
    size_t n, seen = 0;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(linebuf_feed(&lb, i % 3 == 2 ? "\n" : "x", 1), 0);
        char *l;
        while ((l = linebuf_next(&lb, &n)) != NULL) {
            assert_string_equal(l, "xx");
            seen++;
        }
    }
    assert_int_equal(seen, 3333);
    linebuf_free(&lb);
}

static void socket_path_given_env_default(void **state)
{
    (void)state;
    char buf[64];
    const char *why = NULL;
    assert_int_equal(proto_socket_path("/tmp/x.sock", true, buf, sizeof buf, &why), 0);
    assert_string_equal(buf, "/tmp/x.sock");
    setenv("BATON_SOCKET", "/tmp/env.sock", 1);
    assert_int_equal(proto_socket_path(NULL, true, buf, sizeof buf, &why), 0);
    assert_string_equal(buf, "/tmp/env.sock");
    /* the daemon does not read BATON_SOCKET */
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(proto_socket_path(NULL, false, buf, sizeof buf, &why), 0);
    assert_string_equal(buf,
                        geteuid() == 0 ? "/run/baton/baton.sock" : "/run/user/1000/baton.sock");
    unsetenv("BATON_SOCKET");
    assert_int_equal(proto_socket_path("", true, buf, sizeof buf, &why), -1);
    assert_non_null(why);
    char longp[100];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    assert_int_equal(proto_socket_path(longp, true, buf, sizeof buf, &why), -1);
}

static void error_names(void **state)
{
    (void)state;
    assert_string_equal(proto_err_name(BATON_EALREADY), "already_candidate");
    assert_string_equal(proto_err_name(BATON_ENOTLEADER), "not_leader");
    assert_string_equal(proto_err_name(BATON_ENOLEADER), "no_leader");
    assert_string_equal(proto_err_name(BATON_ENOENT), "not_found");
    assert_string_equal(proto_err_name(BATON_ECLOSED), "closed");
    assert_string_equal(proto_err_name(-19), "clock_skew");
    assert_string_equal(proto_err_name(-20), "limit");
    assert_string_equal(proto_err_name(-12345), "internal");
    assert_string_equal(proto_err_name(0), "internal");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(lines_split_across_feeds),
    cmocka_unit_test(lines_limit_counts_the_newline),
    cmocka_unit_test(lines_many_small_feeds),
    cmocka_unit_test(socket_path_given_env_default),
    cmocka_unit_test(error_names),
};
BT_TEST_MAIN(tests)
