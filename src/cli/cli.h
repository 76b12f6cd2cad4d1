/*
 * The baton CLI's commands and what they share: exit codes, parsed
 * options, and the helpers that print JSON lines.
 */
#ifndef BATON_CLI_CLI_H
#define BATON_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Exit codes (`baton --help`). */
enum {
    EXIT_OK = 0,    /* success */
    EXIT_ERR = 1,   /* error: daemon unreachable, request refused */
    EXIT_USAGE = 2, /* usage error */
    EXIT_EMPTY = 3, /* empty answer: no leader, not leader, no mark, none */
};

/* The options of one command line, after parsing. */
struct cli_opts {
    const char *socket;  /* --socket, else BATON_SOCKET, else the default */
    char sockpath[4096]; /* resolved */
    bool json;           /* --json */
    int64_t priority;    /* --priority N */
    double grace;        /* --grace SECONDS (run), default 10 */
    char **pos;          /* positional arguments */
    int npos;
    char **cmd; /* run: the command after -- */
    int ncmd;
};

/* Prints obj (not consumed) as one compact line on stdout and flushes. */
void cli_print_json(json_t *obj);
/* For a failed reply: prints "baton: WHAT: ERROR: MESSAGE" to stderr. */
void cli_print_error(const char *what, json_t *reply);

int cmd_lead(struct cli_opts *o);
int cmd_watch(struct cli_opts *o);
int cmd_run(struct cli_opts *o);

#endif
