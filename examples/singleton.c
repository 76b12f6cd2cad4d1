/*
 * singleton: the smallest useful embedding of libbaton. It joins a cluster,
 * campaigns for one name, and says when it becomes leader (with the term's
 * fencing token) and when it stops being leader. Ctrl-C leaves gracefully,
 * so another node takes over at once. docs/embedding.md walks through it.
 *
 *   singleton NODE BIND [--seed ADDR]... (--key-file FILE | --insecure)
 *             [--name NAME] [--priority N] [--run-ms MS]
 *
 * e.g. three terminals on one machine, with a key from `baton keygen` (or
 * any 32 random bytes in base64) in key.txt:
 *   singleton a 127.0.0.1:7001 --key-file key.txt
 *   singleton b 127.0.0.1:7002 --key-file key.txt --seed 127.0.0.1:7001
 *   singleton c 127.0.0.1:7003 --key-file key.txt --seed 127.0.0.1:7001
 * "a" leads (lowest name); stop it and "b" does.
 *
 * Build: cc singleton.c $(pkg-config --cflags --libs baton)
 */
#include <baton/baton.h>

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t quit;

static void on_signal(int sig) { quit = 1; }

/* Callbacks run on the node's own thread: keep them short. They share
 * stdout with main(); stdio locks the stream around each call. */
static void on_elected(baton_node *node, void *ud, uint64_t session, const void *name, size_t len,
                       const struct baton_fence *fence)
{
    printf("elected: %.*s, token %" PRIu64 "\n", (int)len, (const char *)name, fence->token);
    fflush(stdout);
}

static void on_revoked(baton_node *node, void *ud, uint64_t session, const void *name, size_t len,
                       const struct baton_fence *fence)
{
    printf("revoked: %.*s, term %" PRIu64 " ended\n", (int)len, (const char *)name, fence->token);
    fflush(stdout);
}

static void on_leader(baton_node *node, void *ud, const void *name, size_t len,
                      const struct baton_leader *leader)
{
    printf("leader of %.*s: %s\n", (int)len, (const char *)name, leader ? leader->node : "(none)");
    fflush(stdout);
}

static void on_stopped(baton_node *node, void *ud, int err)
{
    fprintf(stderr, "node stopped: %s\n", baton_strerror(err));
    quit = 1;
}

static void on_log(baton_node *node, void *ud, enum baton_log_level level, const char *msg)
{
    if (level <= BATON_LOG_WARN)
        fprintf(stderr, "baton: %s\n", msg);
}

static int read_key(const char *path, struct baton_key *key)
{
    char text[256];
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    if (baton_key_decode(text, key) != 0) {
        fprintf(stderr, "%s: not a base64 key of 32 bytes\n", path);
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: singleton NODE BIND [--seed ADDR]... (--key-file FILE | --insecure)\n"
                    "                 [--name NAME] [--priority N] [--run-ms MS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 3)
        usage();
    struct baton_config cfg;
    baton_config_init(&cfg); /* defaults first, then what we set */
    cfg.name = argv[1];
    cfg.bind_addr = argv[2];
    cfg.profile = BATON_PROFILE_LOCAL;
    const char *seeds[16];
    struct baton_key key;
    const char *job = "singleton";
    int64_t priority = 0;
    long run_ms = -1;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc && cfg.nseeds < 16)
            seeds[cfg.nseeds++] = argv[++i];
        else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc) {
            if (read_key(argv[++i], &key) != 0)
                return 1;
            cfg.keys = &key;
            cfg.nkeys = 1;
        } else if (strcmp(argv[i], "--insecure") == 0)
            cfg.insecure_no_encryption = true;
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            job = argv[++i];
        else if (strcmp(argv[i], "--priority") == 0 && i + 1 < argc)
            priority = strtoll(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--run-ms") == 0 && i + 1 < argc)
            run_ms = strtol(argv[++i], NULL, 10);
        else
            usage();
    }
    cfg.seeds = seeds;
    cfg.callbacks.on_elected = on_elected;
    cfg.callbacks.on_revoked = on_revoked;
    cfg.callbacks.on_leader = on_leader;
    cfg.callbacks.on_stopped = on_stopped;
    cfg.callbacks.on_log = on_log;

    baton_node *node;
    int rc = baton_node_new(&cfg, &node); /* copies cfg: key and seeds may go now */
    if (rc == 0)
        rc = baton_node_start(node);
    if (rc != 0) {
        fprintf(stderr, "singleton: %s (%s)\n", baton_strerror(rc), baton_err_name(rc));
        return 1;
    }
    char addr[BATON_ADDR_MAX + 1];
    baton_node_addr(node, addr, sizeof addr);
    printf("node %s at %s\n", argv[1], addr);

    struct baton_fence fence;
    rc = baton_lead(node, 0, job, strlen(job), priority, &fence);
    if (rc == 1)
        printf("leader: token %" PRIu64 " (minted by %s)\n", fence.token, fence.minter);
    else if (rc == 0)
        printf("follower: waiting for the lead\n");
    else
        fprintf(stderr, "lead: %s\n", baton_strerror(rc));
    fflush(stdout);

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct timespec tick = {0, 50 * 1000000L};
    for (long waited = 0; !quit && (run_ms < 0 || waited < run_ms); waited += 50)
        nanosleep(&tick, NULL);

    /* Withdraw and announce the leave: the next node takes over at once. */
    rc = baton_node_leave(node);
    if (rc != 0 && rc != BATON_ECLOSED)
        fprintf(stderr, "leave: %s\n", baton_strerror(rc));
    baton_node_free(node);
    printf("left\n");
    return 0;
}
