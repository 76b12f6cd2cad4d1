/*
 * batond's settings: command-line flags and the INI config file (libinih),
 * which takes the same keys as the flags; flags win. `batond --help` and
 * dist/batond.conf list them.
 */
#ifndef BATON_DAEMON_CONFIG_H
#define BATON_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "baton/baton.h"

struct bd_config {
    char *name;      /* --name: this node's name (required) */
    char *bind;      /* --bind HOST:PORT (required) */
    char *advertise; /* --advertise HOST:PORT, or NULL */
    char **join;     /* --join HOST:PORT, repeatable */
    size_t njoin;
    char *keyring;              /* --keyring FILE, or NULL */
    bool insecure;              /* --insecure-no-encryption */
    char *socket;               /* --socket PATH; the default is filled in by bd_config_load() */
    enum baton_profile profile; /* --profile local|lan|wan, default lan */
    char *metrics;              /* --metrics HOST:PORT, or NULL */
    enum baton_log_level log_level; /* --log-level error|warn|info|debug */
    bool log_json;                  /* --log-format json */
    char *config;                   /* --config FILE, or NULL */
    size_t max_names;               /* --max-names N: the names cap; 0: the library's default */
};

/* What bd_config_load() decided. */
enum bd_config_result {
    BD_CONFIG_OK,    /* run the daemon */
    BD_CONFIG_HELP,  /* --help or --version was printed: exit 0 */
    BD_CONFIG_USAGE, /* a usage error was printed to stderr: exit 2 */
};

/* Parses argv and the config file it names into *cfg (which it owns
 * afterwards: release with bd_config_free()). Prints errors to stderr. */
enum bd_config_result bd_config_load(struct bd_config *cfg, int argc, char **argv);
void bd_config_free(struct bd_config *cfg);

/* The usage text of batond. */
extern const char bd_usage[];

const char *bd_profile_name(enum baton_profile p);
const char *bd_log_level_name(enum baton_log_level l);

#endif
