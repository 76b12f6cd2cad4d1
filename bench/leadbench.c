/*
 * leadbench: lead+resign operations per second through the C API.
 *
 *   leadbench NODE BIND SECONDS [--seed ADDR]... (--key-file FILE | --insecure)
 *
 * Starts a node (local profile), joins the seeds, then calls baton_lead()
 * and baton_resign() on one name in a loop for SECONDS seconds, and prints
 * one JSON line: {"ops":N,"seconds":S,"ops_per_s":R,"leader_answers":L}
 * (an op is one lead plus one resign; leader_answers counts the leads that
 * answered leader). It then leaves the cluster. Used by bench/bench.py.
 */
#include <baton/baton.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: leadbench NODE BIND SECONDS [--seed ADDR]... (--key-file FILE | --insecure)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    struct baton_config cfg;
    baton_config_init(&cfg);
    cfg.name = argv[1];
    cfg.bind_addr = argv[2];
    cfg.profile = BATON_PROFILE_LOCAL;
    double seconds = strtod(argv[3], NULL);
    const char *seeds[16];
    struct baton_key key;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc && cfg.nseeds < 16) {
            seeds[cfg.nseeds++] = argv[++i];
        } else if (strcmp(argv[i], "--key-file") == 0 && i + 1 < argc) {
            char text[256];
            FILE *f = fopen(argv[++i], "r");
            if (!f) {
                perror(argv[i]);
                return 1;
            }
            size_t n = fread(text, 1, sizeof text - 1, f);
            fclose(f);
            text[n] = '\0';
            if (baton_key_decode(text, &key) != 0) {
                fprintf(stderr, "leadbench: %s: not a key\n", argv[i]);
                return 1;
            }
            cfg.keys = &key;
            cfg.nkeys = 1;
        } else if (strcmp(argv[i], "--insecure") == 0) {
            cfg.insecure_no_encryption = true;
        } else {
            usage();
        }
    }
    cfg.seeds = seeds;
    baton_node *node;
    int rc = baton_node_new(&cfg, &node);
    if (rc == 0)
        rc = baton_node_start(node);
    if (rc != 0) {
        fprintf(stderr, "leadbench: %s\n", baton_strerror(rc));
        return 1;
    }
    static const char name[] = "leadbench";
    long ops = 0, leader_answers = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        struct baton_fence fence;
        rc = baton_lead(node, 0, name, sizeof name - 1, 0, &fence);
        if (rc < 0) {
            fprintf(stderr, "leadbench: lead: %s\n", baton_strerror(rc));
            break;
        }
        leader_answers += rc == 1;
        rc = baton_resign(node, name, sizeof name - 1);
        if (rc != 0) {
            fprintf(stderr, "leadbench: resign: %s\n", baton_strerror(rc));
            break;
        }
        ops++;
        if ((ops & 63) == 0)
            t = now_s();
    }
    t = now_s();
    printf("{\"ops\":%ld,\"seconds\":%.3f,\"ops_per_s\":%.1f,\"leader_answers\":%ld}\n", ops,
           t - t0, (double)ops / (t - t0), leader_answers);
    fflush(stdout);
    rc = baton_node_leave(node);
    baton_node_free(node);
    return rc == 0 || rc == BATON_ECLOSED ? 0 : 1;
}
