/*
 * baton: the command line client of batond (docs/protocol.md). Every
 * command talks to the local daemon over its Unix socket; `keygen` alone
 * needs no daemon.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baton/baton.h"
#include "cli/cli.h"
#include "cli/conn.h"
#include "daemon/proto.h"

static const char main_usage[] =
    "usage: baton [--socket PATH] COMMAND [ARGS...]\n"
    "\n"
    "Talks to the local batond. Commands:\n"
    "  keygen                     print a new key (base64, one line)\n"
    "  lead NAME [--priority N]   campaign for NAME and hold the candidacy until\n"
    "                             SIGINT/SIGTERM; prints a JSON line per change\n"
    "  run NAME [--priority N] [--grace SECONDS] -- CMD [ARGS...]\n"
    "                             run CMD only while this node leads NAME\n"
    "  leader NAME [--json]       the node leading NAME\n"
    "  candidates NAME [--json]   the nodes campaigning for NAME\n"
    "  fence NAME                 this node's fencing token for NAME\n"
    "  high-water NAME            the greatest token seen for NAME\n"
    "  names [--json]             the campaign names this node knows\n"
    "  members [--json]           the cluster's members\n"
    "  status [--json]            this node, its members, leaderships and counters\n"
    "  watch NAME                 a JSON line per leader change of NAME\n"
    "  keyring list|install|use|remove\n"
    "                             this node's gossip keys\n"
    "  help [COMMAND]             help on baton, or on one command\n"
    "\n"
    "Every command takes --socket PATH (default: $BATON_SOCKET, else\n"
    "/run/baton/baton.sock for root, else $XDG_RUNTIME_DIR/baton.sock) and --help.\n"
    "Exit status: 0 success, 1 error (daemon unreachable, request refused),\n"
    "2 usage error, 3 empty answer (no leader, not leader, nothing found).\n";

enum {
    OPT_JSON = 1 << 0,
    OPT_PRIORITY = 1 << 1,
    OPT_GRACE = 1 << 2,
    OPT_CMD = 1 << 3, /* takes "-- CMD [ARGS...]" */
};

struct command {
    const char *name;
    const char *usage;
    const char *help;
    unsigned opts;
    int minpos, maxpos;
    int (*fn)(struct cli_opts *o);
};

/* ---- output helpers --------------------------------------------------------- */

void cli_print_json(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (s != NULL) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
}

void cli_print_error(const char *what, json_t *reply)
{
    const char *err = json_string_value(json_object_get(reply, "error"));
    const char *msg = json_string_value(json_object_get(reply, "message"));
    fprintf(stderr, "baton: %s: %s%s%s\n", what, err ? err : "error", msg ? ": " : "",
            msg ? msg : "");
}

static bool reply_ok(json_t *r) { return json_is_true(json_object_get(r, "ok")); }

static const char *reply_error(json_t *r)
{
    const char *e = json_string_value(json_object_get(r, "error"));
    return e ? e : "";
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* One request with an optional name; the reply or NULL (reported). */
static json_t *ask(struct cli_opts *o, const char *op, const char *name, const char *what)
{
    json_t *req = json_object();
    json_object_set_new(req, "id", json_integer(1));
    json_object_set_new(req, "op", json_string(op));
    if (name != NULL)
        json_object_set_new(req, "name", json_string(name));
    json_t *r = conn_call(o->sockpath, req, what);
    json_decref(req);
    return r;
}

/* ---- commands -------------------------------------------------------------- */

static int cmd_keygen(struct cli_opts *o)
{
    (void)o;
    struct baton_key key;
    char b64[BATON_KEY_B64_LEN + 1];
    if (baton_key_generate(&key) != 0 || baton_key_encode(&key, b64) != 0) {
        fprintf(stderr, "baton: keygen: no secure random source\n");
        return EXIT_ERR;
    }
    printf("%s\n", b64);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERR;
}

static int cmd_leader(struct cli_opts *o)
{
    const char *name = o->pos[0];
    json_t *r = ask(o, "leader", name, "leader");
    if (r == NULL)
        return EXIT_ERR;
    int rc = EXIT_OK;
    if (!reply_ok(r)) {
        if (!strcmp(reply_error(r), "no_leader")) {
            fprintf(stderr, "no leader\n");
            rc = EXIT_EMPTY;
        } else {
            cli_print_error("leader", r);
            rc = EXIT_ERR;
        }
    } else if (o->json) {
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(name));
        json_object_set(out, "node", json_object_get(r, "node"));
        json_object_set(out, "candidate", json_object_get(r, "candidate"));
        cli_print_json(out);
        json_decref(out);
    } else {
        printf("%s\n", str(r, "node"));
    }
    json_decref(r);
    return rc;
}

static int cmd_candidates(struct cli_opts *o)
{
    const char *name = o->pos[0];
    json_t *r = ask(o, "candidates", name, "candidates");
    if (r == NULL)
        return EXIT_ERR;
    if (!reply_ok(r)) {
        cli_print_error("candidates", r);
        json_decref(r);
        return EXIT_ERR;
    }
    json_t *arr = json_object_get(r, "candidates");
    size_t n = json_array_size(arr);
    if (o->json) {
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(name));
        json_object_set(out, "candidates", arr ? arr : json_array());
        cli_print_json(out);
        json_decref(out);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", json_string_value(json_array_get(arr, i)));
    }
    if (n == 0)
        fprintf(stderr, "no candidates\n");
    json_decref(r);
    return n == 0 ? EXIT_EMPTY : EXIT_OK;
}

static int cmd_fence(struct cli_opts *o)
{
    json_t *r = ask(o, "fence", o->pos[0], "fence");
    if (r == NULL)
        return EXIT_ERR;
    int rc = EXIT_OK;
    if (!reply_ok(r)) {
        if (!strcmp(reply_error(r), "not_leader")) {
            fprintf(stderr, "not leader\n");
            rc = EXIT_EMPTY;
        } else {
            cli_print_error("fence", r);
            rc = EXIT_ERR;
        }
    } else if (o->json) {
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(o->pos[0]));
        json_object_set(out, "fence", json_object_get(r, "fence"));
        json_object_set(out, "minter", json_object_get(r, "minter"));
        cli_print_json(out);
        json_decref(out);
    } else {
        printf("%s\n", str(r, "fence"));
    }
    json_decref(r);
    return rc;
}

static int cmd_high_water(struct cli_opts *o)
{
    json_t *r = ask(o, "high_water", o->pos[0], "high-water");
    if (r == NULL)
        return EXIT_ERR;
    int rc = EXIT_OK;
    if (!reply_ok(r)) {
        if (!strcmp(reply_error(r), "not_found")) {
            fprintf(stderr, "no high-water mark\n");
            rc = EXIT_EMPTY;
        } else {
            cli_print_error("high-water", r);
            rc = EXIT_ERR;
        }
    } else if (o->json) {
        json_t *out = json_object();
        json_object_set_new(out, "name", json_string(o->pos[0]));
        json_object_set(out, "token", json_object_get(r, "token"));
        json_t *m = json_object_get(r, "minter");
        if (m)
            json_object_set(out, "minter", m);
        cli_print_json(out);
        json_decref(out);
    } else {
        printf("%s\n", str(r, "token"));
    }
    json_decref(r);
    return rc;
}

static int cmd_names(struct cli_opts *o)
{
    json_t *r = ask(o, "names", NULL, "names");
    if (r == NULL)
        return EXIT_ERR;
    if (!reply_ok(r)) {
        cli_print_error("names", r);
        json_decref(r);
        return EXIT_ERR;
    }
    json_t *arr = json_object_get(r, "names");
    size_t n = json_array_size(arr);
    if (o->json) {
        json_t *out = json_object();
        json_object_set(out, "names", arr ? arr : json_array());
        cli_print_json(out);
        json_decref(out);
    } else {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", json_string_value(json_array_get(arr, i)));
    }
    json_decref(r);
    return EXIT_OK;
}

static int cmd_members(struct cli_opts *o)
{
    json_t *r = ask(o, "members", NULL, "members");
    if (r == NULL)
        return EXIT_ERR;
    if (!reply_ok(r)) {
        cli_print_error("members", r);
        json_decref(r);
        return EXIT_ERR;
    }
    json_t *arr = json_object_get(r, "members");
    if (o->json) {
        json_t *out = json_object();
        json_object_set(out, "members", arr ? arr : json_array());
        cli_print_json(out);
        json_decref(out);
    } else {
        printf("%-24s %-24s %-8s %s\n", "NAME", "ADDRESS", "STATE", "INCARNATION");
        size_t i;
        json_t *m;
        json_array_foreach(arr, i, m)
        {
            printf("%-24s %-24s %-8s %" JSON_INTEGER_FORMAT "\n", str(m, "name"), str(m, "address"),
                   str(m, "state"), json_integer_value(json_object_get(m, "incarnation")));
        }
    }
    json_decref(r);
    return EXIT_OK;
}

static void print_map(const char *title, json_t *map)
{
    printf("%-10s", title);
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(map, k, v)
    {
        printf("%s%s %" JSON_INTEGER_FORMAT, first ? " " : ", ", k, json_integer_value(v));
        first = false;
    }
    printf("\n");
}

static int cmd_status(struct cli_opts *o)
{
    json_t *r = ask(o, "status", NULL, "status");
    if (r == NULL)
        return EXIT_ERR;
    if (!reply_ok(r)) {
        cli_print_error("status", r);
        json_decref(r);
        return EXIT_ERR;
    }
    if (o->json) {
        json_object_del(r, "ok");
        json_object_del(r, "id");
        cli_print_json(r);
        json_decref(r);
        return EXIT_OK;
    }
    printf("node       %s at %s, profile %s, %s, up %" JSON_INTEGER_FORMAT " s\n", str(r, "node"),
           str(r, "address"), str(r, "profile"),
           json_is_true(json_object_get(r, "encrypted")) ? "encrypted" : "NOT ENCRYPTED",
           json_integer_value(json_object_get(r, "uptime_ms")) / 1000);
    json_int_t ahead = json_integer_value(json_object_get(r, "clock_ahead_ms"));
    if (json_is_true(json_object_get(r, "clock_refused")))
        printf("clock      REFUSED by the cluster: %" JSON_INTEGER_FORMAT
               " ms ahead of its clock; candidacies withdrawn until it is back\n",
               ahead);
    else
        printf("clock      within bounds: %" JSON_INTEGER_FORMAT " ms from the cluster's\n", ahead);
    print_map("members", json_object_get(r, "members"));
    json_t *led = json_object_get(r, "leading");
    if (json_array_size(led) == 0) {
        printf("leading    nothing\n");
    } else {
        size_t i;
        json_t *e;
        json_array_foreach(led, i, e)
        {
            printf("%-10s %s, fence %s\n", i == 0 ? "leading" : "", str(e, "name"),
                   str(e, "fence"));
        }
    }
    print_map("counters", json_object_get(r, "counters"));
    print_map("dropped", json_object_get(r, "dropped"));
    json_decref(r);
    return EXIT_OK;
}

static int keyring_request(struct cli_opts *o, const char *op, const char *key, const char *what)
{
    json_t *req = json_object();
    json_object_set_new(req, "id", json_integer(1));
    json_object_set_new(req, "op", json_string(op));
    if (key != NULL)
        json_object_set_new(req, "key", json_string(key));
    json_t *r = conn_call(o->sockpath, req, what);
    json_decref(req);
    if (r == NULL)
        return EXIT_ERR;
    if (!reply_ok(r)) {
        cli_print_error(what, r);
        json_decref(r);
        return EXIT_ERR;
    }
    if (!strcmp(op, "keyring_list")) {
        json_t *arr = json_object_get(r, "keys");
        if (o->json) {
            json_t *out = json_object();
            json_object_set(out, "keys", arr ? arr : json_array());
            cli_print_json(out);
            json_decref(out);
        } else {
            size_t i;
            json_t *k;
            json_array_foreach(arr, i, k)
            {
                printf("%s%s\n", str(k, "key"),
                       json_is_true(json_object_get(k, "primary")) ? " primary" : "");
            }
        }
    }
    json_decref(r);
    return EXIT_OK;
}

static int cmd_keyring(struct cli_opts *o)
{
    const char *sub = o->pos[0];
    if (!strcmp(sub, "list")) {
        if (o->npos != 1) {
            fprintf(stderr, "baton: keyring list takes no key\nTry 'baton keyring --help'.\n");
            return EXIT_USAGE;
        }
        return keyring_request(o, "keyring_list", NULL, "keyring list");
    }
    const char *op = !strcmp(sub, "install")  ? "keyring_install"
                     : !strcmp(sub, "use")    ? "keyring_use"
                     : !strcmp(sub, "remove") ? "keyring_remove"
                                              : NULL;
    if (op == NULL) {
        fprintf(stderr, "baton: keyring: unknown action '%s'\nTry 'baton keyring --help'.\n", sub);
        return EXIT_USAGE;
    }
    if (o->npos != 2) {
        fprintf(stderr, "baton: keyring %s needs one KEY\nTry 'baton keyring --help'.\n", sub);
        return EXIT_USAGE;
    }
    if (o->json) {
        fprintf(stderr, "baton: keyring %s: --json applies to list only\n", sub);
        return EXIT_USAGE;
    }
    char what[32];
    snprintf(what, sizeof what, "keyring %s", sub);
    return keyring_request(o, op, o->pos[1], what);
}

/* ---- the table --------------------------------------------------------------- */

static const struct command commands[] = {
    {"keygen", "baton keygen",
     "Prints a new random key (32 bytes, base64, one line) for a keyring file.\n"
     "A keyring file holds one key per line; the first is the primary key,\n"
     "which seals what the node sends; every key in it opens what arrives.\n"
     "Needs no daemon.\n",
     0, 0, 0, cmd_keygen},
    {"lead", "baton lead NAME [--priority N]",
     "Campaigns for NAME and holds the candidacy until SIGINT or SIGTERM, then\n"
     "resigns and exits 0. Prints one JSON object per line, flushed at once:\n"
     "first {\"name\":NAME,\"role\":\"leader\",\"fence\":TOKEN} or\n"
     "{\"name\":NAME,\"role\":\"follower\"}, then {\"name\":NAME,\"event\":\"elected\",\n"
     "\"fence\":TOKEN} or {\"name\":NAME,\"event\":\"revoked\",...} on every change.\n"
     "Tokens are decimal strings; \"minter\" names the process that minted a term:\n"
     "its node, '#', and its boot id in hex (\"n1#00f3a2...\").\n"
     "The highest priority wins (default 0), ties go to the lowest node name.\n"
     "Exits 1 if this node already campaigns for NAME (already_candidate) or\n"
     "if the daemon goes away.\n",
     OPT_PRIORITY, 1, 1, cmd_lead},
    {"run", "baton run NAME [--priority N] [--grace SECONDS] -- CMD [ARGS...]",
     "Campaigns for NAME and runs CMD only while this node leads it, with\n"
     "BATON_NAME, BATON_FENCE (the term's token) and BATON_MINTER (the\n"
     "process that minted it, \"<node>#<boot hex>\": hand both to a guard) in\n"
     "its environment. On revoke CMD gets SIGTERM, then SIGKILL after the\n"
     "grace (default 10 s); when re-elected it starts again with the new\n"
     "token and minter. When CMD exits on\n"
     "its own, baton resigns and exits with CMD's status (128+N if a signal N\n"
     "ended it). SIGINT or SIGTERM stops CMD the same way, resigns and exits 0.\n"
     "If the daemon goes away CMD is stopped and baton exits 1. Progress goes\n"
     "to stderr; stdout and stdin are CMD's.\n",
     OPT_PRIORITY | OPT_GRACE | OPT_CMD, 1, 1, cmd_run},
    {"leader", "baton leader NAME [--json]",
     "Prints the node leading NAME, as this node sees it; with --json,\n"
     "{\"name\":NAME,\"node\":NODE,\"candidate\":ID}. Exits 3 with \"no leader\"\n"
     "on stderr when there is none.\n",
     OPT_JSON, 1, 1, cmd_leader},
    {"candidates", "baton candidates NAME [--json]",
     "Prints the nodes with a live candidacy for NAME, one per line, sorted;\n"
     "with --json, {\"name\":NAME,\"candidates\":[...]}. Exits 3 when there are\n"
     "none.\n",
     OPT_JSON, 1, 1, cmd_candidates},
    {"fence", "baton fence NAME [--json]",
     "Prints this node's fencing token for NAME (a decimal integer); with\n"
     "--json, the whole term a guard is offered: {\"name\":NAME,\"fence\":TOKEN,\n"
     "\"minter\":MINTER}, MINTER naming this process (\"<node>#<boot hex>\").\n"
     "Exits 3 with \"not leader\" on stderr when this node does not lead NAME.\n",
     OPT_JSON, 1, 1, cmd_fence},
    {"high-water", "baton high-water NAME [--json]",
     "Prints the greatest fencing token this node has seen for NAME; with\n"
     "--json, {\"name\":NAME,\"token\":TOKEN,\"minter\":MINTER} (no \"minter\"\n"
     "when the mark was only reported by a resource). Exits 3 when it has\n"
     "seen none.\n",
     OPT_JSON, 1, 1, cmd_high_water},
    {"names", "baton names [--json]",
     "Prints the campaign names this node knows a candidacy or a token for,\n"
     "one per line, sorted; with --json, {\"names\":[...]}.\n",
     OPT_JSON, 0, 0, cmd_names},
    {"members", "baton members [--json]",
     "Prints the members this node knows, itself included: name, address,\n"
     "state (alive, suspect, dead, left) and incarnation; with --json,\n"
     "{\"members\":[{\"name\",\"address\",\"state\",\"incarnation\",\"boot_id\"}...]}.\n",
     OPT_JSON, 0, 0, cmd_members},
    {"status", "baton status [--json]",
     "Prints this node (name, address, profile, encryption, uptime), its\n"
     "members by state, the names it leads with their tokens, and its\n"
     "counters, including dropped packets by cause. --json prints the\n"
     "daemon's status object (docs/protocol.md).\n",
     OPT_JSON, 0, 0, cmd_status},
    {"watch", "baton watch NAME",
     "Prints a JSON line with NAME's leader now, then one per change, as the\n"
     "daemon pushes them: {\"name\":NAME,\"node\":NODE,\"candidate\":ID}, or\n"
     "{\"name\":NAME,\"node\":null} when there is no leader. Runs until SIGINT\n"
     "or SIGTERM (exit 0) or until the daemon goes away (exit 1).\n",
     0, 1, 1, cmd_watch},
    {"keyring", "baton keyring list [--json] | install KEY | use KEY | remove KEY",
     "Manages this node's gossip keys (KEY as `baton keygen` prints it):\n"
     "  list     the installed keys, the primary first, marked \"primary\"\n"
     "  install  adds KEY; it opens what arrives, but seals nothing yet\n"
     "  use      makes an installed KEY the primary, which seals what is sent\n"
     "  remove   removes KEY (not the primary: use another one first)\n"
     "Changes apply to this node and are written to its keyring file. To\n"
     "rotate a running cluster: install the new key on every node, then use\n"
     "it on every node, then remove the old one everywhere.\n",
     OPT_JSON, 1, 2, cmd_keyring},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void command_help(const struct command *c, FILE *f)
{
    fprintf(f, "usage: %s\n\n%s", c->usage, c->help);
    fprintf(f, "\nOptions:\n");
    if (c->opts & OPT_PRIORITY)
        fprintf(f, "  --priority N     the candidacy's priority, a 64-bit integer (default 0)\n");
    if (c->opts & OPT_GRACE)
        fprintf(f, "  --grace SECONDS  between SIGTERM and SIGKILL (default 10)\n");
    if (c->opts & OPT_JSON)
        fprintf(f, "  --json           print JSON instead of text\n");
    fprintf(f, "  --socket PATH    the daemon's socket (default: $BATON_SOCKET, else\n"
               "                   /run/baton/baton.sock for root, else\n"
               "                   $XDG_RUNTIME_DIR/baton.sock)\n"
               "  --help           this text\n");
}

static int usage_error(const struct command *c, const char *fmt, const char *arg)
{
    fprintf(stderr, "baton: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    if (c != NULL)
        fprintf(stderr, "usage: %s\nTry 'baton %s --help'.\n", c->usage, c->name);
    else
        fprintf(stderr, "Try 'baton --help'.\n");
    return EXIT_USAGE;
}

/* The value of --opt VALUE or --opt=VALUE; advances *i. NULL if missing. */
static const char *opt_value(int argc, char **argv, int *i, const char *eq)
{
    if (eq != NULL)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Parses a command's arguments (argv[0] is the command). Returns -1 to go
 * on, or an exit code. */
static int parse(const struct command *c, int argc, char **argv, struct cli_opts *o)
{
    o->pos = calloc((size_t)argc + 1, sizeof *o->pos);
    if (o->pos == NULL) {
        fprintf(stderr, "baton: out of memory\n");
        return EXIT_ERR;
    }
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            if (!(c->opts & OPT_CMD))
                return usage_error(c, "unexpected '%s'", a);
            o->cmd = argv + i + 1;
            o->ncmd = argc - i - 1;
            break;
        }
        if (a[0] != '-' || a[1] == '\0' || (a[1] != '-' && !(a[1] == 'h' && a[2] == '\0'))) {
            /* Negative numbers are no options, but only --priority takes one. */
            o->pos[o->npos++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : strlen(a);
        if (!strncmp(a, "--help", klen) && klen == 6) {
            command_help(c, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "-h")) {
            command_help(c, stdout);
            return EXIT_OK;
        }
        if (klen == 8 && !strncmp(a, "--socket", 8)) {
            if ((o->socket = opt_value(argc, argv, &i, eq)) == NULL)
                return usage_error(c, "%s needs a value", "--socket");
        } else if (klen == 6 && !strncmp(a, "--json", 6) && (c->opts & OPT_JSON) && !eq) {
            o->json = true;
        } else if (klen == 10 && !strncmp(a, "--priority", 10) && (c->opts & OPT_PRIORITY)) {
            const char *v = opt_value(argc, argv, &i, eq);
            if (v == NULL)
                return usage_error(c, "%s needs a value", "--priority");
            char *end;
            errno = 0;
            long long p = strtoll(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0')
                return usage_error(c, "--priority %s: not a 64-bit integer", v);
            o->priority = p;
        } else if (klen == 7 && !strncmp(a, "--grace", 7) && (c->opts & OPT_GRACE)) {
            const char *v = opt_value(argc, argv, &i, eq);
            if (v == NULL)
                return usage_error(c, "%s needs a value", "--grace");
            char *end;
            errno = 0;
            double g = strtod(v, &end);
            if (errno != 0 || end == v || *end != '\0' || !(g >= 0) || g > 86400)
                return usage_error(c, "--grace %s: not a number of seconds (0 to 86400)", v);
            o->grace = g;
        } else {
            return usage_error(c, "unknown option '%s'", a);
        }
    }
    if (o->npos < c->minpos)
        return usage_error(c, "%s: missing argument", c->name);
    if (o->npos > c->maxpos)
        return usage_error(c, "unexpected argument '%s'", o->pos[c->maxpos]);
    if ((c->opts & OPT_CMD) && o->ncmd == 0)
        return usage_error(c, "%s", "run needs a command after --");
    for (int i = 0; i < o->npos && c->fn != cmd_keyring; i++) {
        size_t n = strlen(o->pos[i]);
        if (n == 0 || n > BATON_NAME_MAX)
            return usage_error(c, "NAME must be 1 to 255 bytes: '%s'", o->pos[i]);
    }
    if (c->fn != cmd_keygen) {
        const char *why = NULL;
        if (proto_socket_path(o->socket, true, o->sockpath, sizeof o->sockpath, &why) != 0) {
            fprintf(stderr, "baton: %s\n", why);
            return EXIT_USAGE;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct cli_opts o;
    memset(&o, 0, sizeof o);
    o.grace = 10;
    int i = 1;
    /* Options before the command: --socket and --help. */
    const char *socket = NULL;
    while (i < argc && argv[i][0] == '-') {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(main_usage, stdout);
            return EXIT_OK;
        }
        if (!strcmp(a, "--version")) {
            printf("baton %d.%d.%d\n", BATON_VERSION_MAJOR, BATON_VERSION_MINOR,
                   BATON_VERSION_PATCH);
            return EXIT_OK;
        }
        if (!strcmp(a, "--socket")) {
            if (i + 1 >= argc)
                return usage_error(NULL, "%s needs a value", "--socket");
            socket = argv[i + 1];
            i += 2;
            continue;
        }
        if (!strncmp(a, "--socket=", 9)) {
            socket = a + 9;
            i++;
            continue;
        }
        return usage_error(NULL, "unknown option '%s'", a);
    }
    if (i >= argc) {
        fputs(main_usage, stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[i];
    if (!strcmp(name, "help")) {
        if (i + 1 >= argc) {
            fputs(main_usage, stdout);
            return EXIT_OK;
        }
        const struct command *c = find_command(argv[i + 1]);
        if (c == NULL)
            return usage_error(NULL, "no command '%s'", argv[i + 1]);
        command_help(c, stdout);
        return EXIT_OK;
    }
    const struct command *c = find_command(name);
    if (c == NULL)
        return usage_error(NULL, "no command '%s'", name);
    o.socket = socket;
    int rc = parse(c, argc - i, argv + i, &o);
    if (rc < 0)
        rc = c->fn(&o);
    free(o.pos);
    return rc;
}
