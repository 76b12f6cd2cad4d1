/* batond's flags and config file; see config.h. */
#include "daemon/config.h"

#include <getopt.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/proto.h"

const char bd_usage[] =
    "usage: batond --name NAME --bind HOST:PORT [--advertise HOST:PORT]\n"
    "              [--join HOST:PORT]... (--keyring FILE | --insecure-no-encryption)\n"
    "              [--socket PATH] [--profile local|lan|wan] [--config FILE]\n"
    "              [--metrics HOST:PORT] [--log-level LEVEL] [--log-format text|json]\n"
    "              [--max-names N]\n"
    "\n"
    "Runs one baton cluster node and serves local clients (the baton CLI, or\n"
    "any program speaking docs/protocol.md) on a Unix socket.\n"
    "\n"
    "  --name NAME            this node's name, unique in the cluster:\n"
    "                         1-64 characters of A-Z a-z 0-9 . _ : @ -\n"
    "  --bind HOST:PORT       UDP and TCP address for the cluster (numeric)\n"
    "  --advertise HOST:PORT  the address peers reach this node at (default: the\n"
    "                         bind address; required when binding 0.0.0.0 or ::)\n"
    "  --join HOST:PORT       a node to join through; repeat for several; none:\n"
    "                         start a cluster of its own\n"
    "  --keyring FILE         keys, one base64 key per line, the first is the\n"
    "                         primary (`baton keygen` makes one); blank lines and\n"
    "                         lines starting with # are ignored. SIGHUP reloads it\n"
    "  --insecure-no-encryption\n"
    "                         plaintext gossip: anyone who reaches the port can\n"
    "                         join. batond refuses to start without one of these two\n"
    "  --socket PATH          client socket, created mode 0600 (default:\n"
    "                         /run/baton/baton.sock for root, otherwise\n"
    "                         $XDG_RUNTIME_DIR/baton.sock)\n"
    "  --profile P            timings: local (loopback), lan (default), wan\n"
    "  --config FILE          INI file with the same keys as these flags, without\n"
    "                         the dashes in front (name = n1, join = a:1 on several\n"
    "                         lines, insecure-no-encryption = true), at the top or\n"
    "                         under [batond]; flags win over the file\n"
    "  --metrics HOST:PORT    serve Prometheus metrics at http://HOST:PORT/metrics\n"
    "  --log-level LEVEL      error, warn, info (default) or debug\n"
    "  --log-format F         text (default) or json, one line per entry on stderr\n"
    "  --max-names N          the most campaign names this node holds state for\n"
    "                         (default 1000000); `lead` on a new name past it is\n"
    "                         refused with `limit`, and names peers send past it\n"
    "                         are dropped and counted. Set it alike on every node\n"
    "  --help                 this text; --version: the version\n"
    "\n"
    "Signals: SIGTERM or SIGINT withdraws this node's candidacies, leaves the\n"
    "cluster and exits within 2 seconds; SIGHUP reloads the keyring file.\n"
    "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n";

const char *bd_profile_name(enum baton_profile p)
{
    switch (p) {
    case BATON_PROFILE_LOCAL: return "local";
    case BATON_PROFILE_LAN: return "lan";
    case BATON_PROFILE_WAN: return "wan";
    }
    return "?";
}

const char *bd_log_level_name(enum baton_log_level l)
{
    switch (l) {
    case BATON_LOG_ERROR: return "error";
    case BATON_LOG_WARN: return "warn";
    case BATON_LOG_INFO: return "info";
    case BATON_LOG_DEBUG: return "debug";
    }
    return "?";
}

static int set_str(char **slot, const char *value)
{
    char *s = strdup(value);
    if (s == NULL)
        return -1;
    free(*slot);
    *slot = s;
    return 0;
}

static int parse_bool(const char *v, bool *out)
{
    if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
        !strcmp(v, "1")) {
        *out = true;
        return 0;
    }
    if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
        !strcmp(v, "0")) {
        *out = false;
        return 0;
    }
    return -1;
}

/* Applies one setting, from the file or a flag. Returns NULL or a static
 * explanation of what is wrong with it. */
static const char *apply(struct bd_config *cfg, const char *key, const char *value)
{
    if (value == NULL)
        value = "";
    if (!strcmp(key, "name"))
        return set_str(&cfg->name, value) ? "out of memory" : NULL;
    if (!strcmp(key, "bind"))
        return set_str(&cfg->bind, value) ? "out of memory" : NULL;
    if (!strcmp(key, "advertise"))
        return set_str(&cfg->advertise, value) ? "out of memory" : NULL;
    if (!strcmp(key, "keyring"))
        return set_str(&cfg->keyring, value) ? "out of memory" : NULL;
    if (!strcmp(key, "socket"))
        return set_str(&cfg->socket, value) ? "out of memory" : NULL;
    if (!strcmp(key, "metrics"))
        return set_str(&cfg->metrics, value) ? "out of memory" : NULL;
    if (!strcmp(key, "join")) {
        if (value[0] == '\0')
            return "an empty address";
        char **j = realloc(cfg->join, (cfg->njoin + 1) * sizeof *j);
        if (j == NULL)
            return "out of memory";
        cfg->join = j;
        if ((j[cfg->njoin] = strdup(value)) == NULL)
            return "out of memory";
        cfg->njoin++;
        return NULL;
    }
    if (!strcmp(key, "max-names")) {
        /* A positive decimal integer, nothing else. */
        size_t v = 0;
        if (value[0] == '\0')
            return "expected a positive integer";
        for (const char *p = value; *p; p++) {
            if (*p < '0' || *p > '9' || v > (SIZE_MAX - 9) / 10)
                return "expected a positive integer";
            v = v * 10 + (size_t)(*p - '0');
        }
        if (v == 0)
            return "expected a positive integer";
        cfg->max_names = v;
        return NULL;
    }
    if (!strcmp(key, "insecure-no-encryption"))
        return parse_bool(value, &cfg->insecure) ? "expected true or false" : NULL;
    if (!strcmp(key, "profile")) {
        if (!strcmp(value, "local"))
            cfg->profile = BATON_PROFILE_LOCAL;
        else if (!strcmp(value, "lan"))
            cfg->profile = BATON_PROFILE_LAN;
        else if (!strcmp(value, "wan"))
            cfg->profile = BATON_PROFILE_WAN;
        else
            return "expected local, lan or wan";
        return NULL;
    }
    if (!strcmp(key, "log-level")) {
        if (!strcmp(value, "error"))
            cfg->log_level = BATON_LOG_ERROR;
        else if (!strcmp(value, "warn"))
            cfg->log_level = BATON_LOG_WARN;
        else if (!strcmp(value, "info"))
            cfg->log_level = BATON_LOG_INFO;
        else if (!strcmp(value, "debug"))
            cfg->log_level = BATON_LOG_DEBUG;
        else
            return "expected error, warn, info or debug";
        return NULL;
    }
    if (!strcmp(key, "log-format")) {
        if (!strcmp(value, "text"))
            cfg->log_json = false;
        else if (!strcmp(value, "json"))
            cfg->log_json = true;
        else
            return "expected text or json";
        return NULL;
    }
    return "unknown key";
}

struct ini_ctx {
    struct bd_config *cfg;
    const char *path;
    bool failed;
};

static int config_ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    if (section[0] != '\0' && strcmp(section, "batond") != 0) {
        fprintf(stderr, "batond: %s: unknown section [%s] (keys go at the top or under [batond])\n",
                ctx->path, section);
        ctx->failed = true;
        return 0;
    }
    char key[64];
    size_t n = strlen(name);
    if (n >= sizeof key)
        n = sizeof key - 1;
    for (size_t i = 0; i < n; i++)
        key[i] = name[i] == '_' ? '-' : name[i];
    key[n] = '\0';
    if (!strcmp(key, "config")) {
        fprintf(stderr, "batond: %s: a config file cannot name another one\n", ctx->path);
        ctx->failed = true;
        return 0;
    }
    const char *why = apply(ctx->cfg, key, value);
    if (why != NULL) {
        fprintf(stderr, "batond: %s: %s = %s: %s\n", ctx->path, name, value ? value : "", why);
        ctx->failed = true;
        return 0;
    }
    return 1;
}

void bd_config_free(struct bd_config *cfg)
{
    free(cfg->name);
    free(cfg->bind);
    free(cfg->advertise);
    for (size_t i = 0; i < cfg->njoin; i++)
        free(cfg->join[i]);
    free(cfg->join);
    free(cfg->keyring);
    free(cfg->socket);
    free(cfg->metrics);
    free(cfg->config);
    memset(cfg, 0, sizeof *cfg);
}

static const struct option long_opts[] = {
    {"name", required_argument, NULL, 'n'},      {"bind", required_argument, NULL, 'b'},
    {"advertise", required_argument, NULL, 'a'}, {"join", required_argument, NULL, 'j'},
    {"keyring", required_argument, NULL, 'k'},   {"insecure-no-encryption", no_argument, NULL, 'I'},
    {"socket", required_argument, NULL, 's'},    {"profile", required_argument, NULL, 'p'},
    {"config", required_argument, NULL, 'c'},    {"metrics", required_argument, NULL, 'm'},
    {"log-level", required_argument, NULL, 'l'}, {"log-format", required_argument, NULL, 'f'},
    {"max-names", required_argument, NULL, 'N'}, {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},         {NULL, 0, NULL, 0},
};

static const char *key_of(int opt)
{
    for (const struct option *o = long_opts; o->name != NULL; o++)
        if (o->val == opt)
            return o->name;
    return NULL;
}

enum bd_config_result bd_config_load(struct bd_config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->profile = BATON_PROFILE_LAN;
    cfg->log_level = BATON_LOG_INFO;

    /* Pass 1: collect the flags (so the file can be read first). */
    struct flag {
        const char *key;
        const char *value;
    } *flags = calloc((size_t)argc + 1, sizeof *flags);
    size_t nflags = 0;
    if (flags == NULL) {
        fprintf(stderr, "batond: out of memory\n");
        return BD_CONFIG_USAGE;
    }
    optind = 0; /* 0: a full reset of getopt's state (glibc, musl) */
    opterr = 0;
    int opt;
    enum bd_config_result res = BD_CONFIG_OK;
    while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(bd_usage, stdout);
            res = BD_CONFIG_HELP;
            goto out;
        case 'V':
            printf("batond %d.%d.%d\n", BATON_VERSION_MAJOR, BATON_VERSION_MINOR,
                   BATON_VERSION_PATCH);
            res = BD_CONFIG_HELP;
            goto out;
        case 'c':
            if (set_str(&cfg->config, optarg)) {
                fprintf(stderr, "batond: out of memory\n");
                res = BD_CONFIG_USAGE;
                goto out;
            }
            break;
        case ':':
            fprintf(stderr, "batond: %s needs a value\n%s", argv[optind - 1],
                    "Try 'batond --help'.\n");
            res = BD_CONFIG_USAGE;
            goto out;
        case '?':
            fprintf(stderr, "batond: unknown option %s\nTry 'batond --help'.\n", argv[optind - 1]);
            res = BD_CONFIG_USAGE;
            goto out;
        default:
            flags[nflags].key = key_of(opt);
            flags[nflags].value = opt == 'I' ? "true" : optarg;
            nflags++;
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "batond: unexpected argument '%s'\nTry 'batond --help'.\n", argv[optind]);
        res = BD_CONFIG_USAGE;
        goto out;
    }

    /* The file, then the flags over it. */
    if (cfg->config != NULL) {
        struct ini_ctx ctx = {.cfg = cfg, .path = cfg->config};
        int rc = ini_parse(cfg->config, config_ini_line, &ctx);
        if (rc < 0) {
            fprintf(stderr, "batond: cannot read the config file %s\n", cfg->config);
            res = BD_CONFIG_USAGE;
            goto out;
        }
        if (rc > 0 || ctx.failed) {
            if (!ctx.failed)
                fprintf(stderr, "batond: %s: line %d: not a key = value line\n", cfg->config, rc);
            res = BD_CONFIG_USAGE;
            goto out;
        }
    }
    bool join_from_flags = false;
    for (size_t i = 0; i < nflags; i++) {
        if (!strcmp(flags[i].key, "join") && !join_from_flags) {
            /* Any --join replaces the file's list. */
            for (size_t k = 0; k < cfg->njoin; k++)
                free(cfg->join[k]);
            cfg->njoin = 0;
            join_from_flags = true;
        }
        const char *why = apply(cfg, flags[i].key, flags[i].value);
        if (why != NULL) {
            fprintf(stderr, "batond: --%s %s: %s\n", flags[i].key, flags[i].value, why);
            res = BD_CONFIG_USAGE;
            goto out;
        }
    }

    /* What must be there. */
    if (cfg->name == NULL || cfg->name[0] == '\0') {
        fprintf(stderr, "batond: --name NAME is required\nTry 'batond --help'.\n");
        res = BD_CONFIG_USAGE;
        goto out;
    }
    size_t nlen = strlen(cfg->name);
    bool name_ok = nlen <= BATON_NODE_MAX;
    for (size_t i = 0; i < nlen && name_ok; i++) {
        char ch = cfg->name[i];
        name_ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' || ch == '@' ||
                  ch == '-';
    }
    if (!name_ok) {
        fprintf(stderr,
                "batond: --name %s: a node name is 1 to 64 characters of "
                "A-Z a-z 0-9 . _ : @ -\n",
                cfg->name);
        res = BD_CONFIG_USAGE;
        goto out;
    }
    if (cfg->bind == NULL || cfg->bind[0] == '\0') {
        fprintf(stderr, "batond: --bind HOST:PORT is required\nTry 'batond --help'.\n");
        res = BD_CONFIG_USAGE;
        goto out;
    }
    if (cfg->keyring != NULL && cfg->keyring[0] == '\0') {
        free(cfg->keyring);
        cfg->keyring = NULL;
    }
    if (cfg->keyring == NULL && !cfg->insecure) {
        fprintf(stderr, "batond: refusing to start without a key: give --keyring FILE (make a key\n"
                        "with `baton keygen`), or --insecure-no-encryption for plaintext gossip\n");
        res = BD_CONFIG_USAGE;
        goto out;
    }
    if (cfg->keyring != NULL && cfg->insecure) {
        fprintf(stderr, "batond: --keyring and --insecure-no-encryption exclude each other\n");
        res = BD_CONFIG_USAGE;
        goto out;
    }
    if (cfg->metrics != NULL && cfg->metrics[0] == '\0') {
        free(cfg->metrics);
        cfg->metrics = NULL;
    }
    char path[4096];
    const char *why = NULL;
    if (proto_socket_path(cfg->socket, false, path, sizeof path, &why) != 0) {
        fprintf(stderr, "batond: no client socket: %s\n", why);
        res = BD_CONFIG_USAGE;
        goto out;
    }
    if (set_str(&cfg->socket, path)) {
        fprintf(stderr, "batond: out of memory\n");
        res = BD_CONFIG_USAGE;
        goto out;
    }
out:
    free(flags);
    if (res != BD_CONFIG_OK)
        bd_config_free(cfg);
    return res;
}
