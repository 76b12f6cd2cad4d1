/* Tests of src/daemon/config.c: batond's flags and INI file, flags first. */
#include "unit/test_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"

#define ARGV(...) ((char *[]){"batond", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((char *[]){"batond", __VA_ARGS__}) / sizeof(char *)))
#define LOAD(cfg, ...) bd_config_load(cfg, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

/* Writes text to a fresh temporary file; returns its path (static). */
static char *ini(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/batond-config-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void flags_alone(void **state)
{
    (void)state;
    struct bd_config c;
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "127.0.0.1:7946", "--join", "127.0.0.1:1",
                          "--join", "127.0.0.1:2", "--insecure-no-encryption", "--socket", "/tmp/s",
                          "--profile", "local", "--log-level", "debug", "--log-format", "json",
                          "--max-names", "5000"),
                     BD_CONFIG_OK);
    assert_int_equal(c.max_names, 5000);
    assert_string_equal(c.name, "n1");
    assert_string_equal(c.bind, "127.0.0.1:7946");
    assert_int_equal(c.njoin, 2);
    assert_string_equal(c.join[1], "127.0.0.1:2");
    assert_true(c.insecure);
    assert_null(c.keyring);
    assert_string_equal(c.socket, "/tmp/s");
    assert_int_equal(c.profile, BATON_PROFILE_LOCAL);
    assert_int_equal(c.log_level, BATON_LOG_DEBUG);
    assert_true(c.log_json);
    bd_config_free(&c);
}

static void defaults(void **state)
{
    (void)state;
    struct bd_config c;
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "127.0.0.1:7946", "--keyring", "/k"),
                     BD_CONFIG_OK);
    assert_int_equal(c.profile, BATON_PROFILE_LAN);
    assert_int_equal(c.log_level, BATON_LOG_INFO);
    assert_false(c.log_json);
    assert_null(c.metrics);
    assert_int_equal(c.max_names, 0); /* the library's default */
    assert_string_equal(c.socket,
                        geteuid() == 0 ? "/run/baton/baton.sock" : "/run/user/1000/baton.sock");
    bd_config_free(&c);
}

static void file_then_flags(void **state)
{
    (void)state;
    char *path = ini("# comment\n[batond]\nname = from-file\nbind = 127.0.0.1:1\n"
                     "join = 127.0.0.1:2\njoin = 127.0.0.1:3\nkeyring = /etc/k\n"
                     "log_level = warn\nmetrics = 127.0.0.1:9464\nprofile = wan\n"
                     "max_names = 77\n");
    struct bd_config c;
    assert_int_equal(LOAD(&c, "--config", path, "--name", "from-flag", "--join", "127.0.0.1:4"),
                     BD_CONFIG_OK);
    assert_string_equal(c.name, "from-flag");   /* the flag wins */
    assert_string_equal(c.bind, "127.0.0.1:1"); /* the file fills the rest */
    assert_int_equal(c.njoin, 1);               /* any --join replaces the file's list */
    assert_string_equal(c.join[0], "127.0.0.1:4");
    assert_string_equal(c.keyring, "/etc/k");
    assert_int_equal(c.log_level, BATON_LOG_WARN); /* log_level = log-level */
    assert_string_equal(c.metrics, "127.0.0.1:9464");
    assert_int_equal(c.profile, BATON_PROFILE_WAN);
    assert_int_equal(c.max_names, 77);
    bd_config_free(&c);
    /* without --join the file's list stays */
    assert_int_equal(LOAD(&c, "--config", path), BD_CONFIG_OK);
    assert_int_equal(c.njoin, 2);
    bd_config_free(&c);
    unlink(path);
}

static void refusals(void **state)
{
    (void)state;
    struct bd_config c;
    /* no key and no insecure flag */
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "127.0.0.1:1"), BD_CONFIG_USAGE);
    /* both */
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "127.0.0.1:1", "--keyring", "/k",
                          "--insecure-no-encryption"),
                     BD_CONFIG_USAGE);
    /* a name with a character node names cannot have, and one too long */
    assert_int_equal(LOAD(&c, "--name", "bad name", "--bind", "a:1", "--keyring", "/k"),
                     BD_CONFIG_USAGE);
    assert_int_equal(LOAD(&c, "--name",
                          "n12345678901234567890123456789012345678901234567890123456789012345",
                          "--bind", "a:1", "--keyring", "/k"),
                     BD_CONFIG_USAGE);
    /* no name, no bind */
    assert_int_equal(LOAD(&c, "--bind", "127.0.0.1:1", "--keyring", "/k"), BD_CONFIG_USAGE);
    assert_int_equal(LOAD(&c, "--name", "n1", "--keyring", "/k"), BD_CONFIG_USAGE);
    /* bad values, unknown flags, stray arguments, a missing value */
    assert_int_equal(
        LOAD(&c, "--name", "n1", "--bind", "a:1", "--keyring", "/k", "--profile", "moon"),
        BD_CONFIG_USAGE);
    assert_int_equal(
        LOAD(&c, "--name", "n1", "--bind", "a:1", "--keyring", "/k", "--log-level", "loud"),
        BD_CONFIG_USAGE);
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "a:1", "--keyring", "/k", "--frobnicate"),
                     BD_CONFIG_USAGE);
    char bad_caps[][32] = {"0", "-1", "", "12x", "1e6", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad_caps / sizeof *bad_caps; i++)
        assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "a:1", "--keyring", "/k", "--max-names",
                              bad_caps[i]),
                         BD_CONFIG_USAGE);
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "a:1", "--keyring", "/k", "extra"),
                     BD_CONFIG_USAGE);
    assert_int_equal(LOAD(&c, "--name", "n1", "--bind", "a:1", "--keyring"), BD_CONFIG_USAGE);
    /* the file: unknown keys, sections, a bad boolean, a missing file */
    char *path = ini("name = n1\nbind = a:1\nkeyring = /k\ncolour = blue\n");
    assert_int_equal(LOAD(&c, "--config", path), BD_CONFIG_USAGE);
    unlink(path);
    path = ini("[elsewhere]\nname = n1\n");
    assert_int_equal(LOAD(&c, "--config", path), BD_CONFIG_USAGE);
    unlink(path);
    path = ini("name = n1\nbind = a:1\ninsecure-no-encryption = maybe\n");
    assert_int_equal(LOAD(&c, "--config", path), BD_CONFIG_USAGE);
    unlink(path);
    path = ini("name = n1\nthis line has no equals sign\n");
    assert_int_equal(LOAD(&c, "--config", path), BD_CONFIG_USAGE);
    unlink(path);
    assert_int_equal(LOAD(&c, "--config", "/nonexistent/batond.conf"), BD_CONFIG_USAGE);
}

static void help_and_version(void **state)
{
    (void)state;
    struct bd_config c;
    assert_int_equal(LOAD(&c, "--help"), BD_CONFIG_HELP);
    assert_int_equal(LOAD(&c, "--version"), BD_CONFIG_HELP);
    assert_non_null(strstr(bd_usage, "--insecure-no-encryption"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(flags_alone),      cmocka_unit_test(defaults),
    cmocka_unit_test(file_then_flags),  cmocka_unit_test(refusals),
    cmocka_unit_test(help_and_version),
};
BT_TEST_MAIN(tests)
