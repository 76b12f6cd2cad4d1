/*
 * A main() for fuzz targets outside libFuzzer: runs LLVMFuzzerTestOneInput
 * once over each file named on the command line, and over every file of each
 * directory named (not recursively; names starting with '.' skipped). The
 * ordinary test build links every tests/fuzz/<name>_fuzz.c with this file
 * and runs it over tests/fuzz/corpus/<name>/ as ctest test fuzz.<name>.corpus,
 * so the seed corpus and every saved crash input are replayed under
 * ASan/UBSan with gcc on each `make test`.
 *
 * Each input is read into an allocation of exactly its size, so a target
 * reading one byte past the end trips ASan. Exits 0 when every input ran;
 * 1 when an input could not be read or when no input was found at all (an
 * empty corpus would otherwise pass silently); a failing target aborts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *data = malloc(cap);
    size_t got;
    while (data && (got = fread(data + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(data, cap * 2);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
    }
    int failed = !data || ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(data);
        return -1;
    }
    /* Move the input against the end of an allocation of its exact size. */
    uint8_t *exact = malloc(len > 0 ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    if (len > 0)
        memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(len > 0 ? exact : exact + 1, len);
    free(exact);
    return 0;
}

static int run_path(const char *path, size_t *runs)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (run_file(path) != 0)
            return -1;
        (*runs)++;
        return 0;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t n = strlen(path) + 1 + strlen(de->d_name) + 1;
        char *file = malloc(n);
        if (!file) {
            rc = -1;
            break;
        }
        snprintf(file, n, "%s/%s", path, de->d_name);
        if (stat(file, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(file) != 0)
                rc = -1;
            else
                (*runs)++;
        }
        free(file);
    }
    closedir(dir);
    return rc;
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (run_path(argv[i], &runs) != 0)
            rc = 1;
    if (runs == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    printf("replay: %zu inputs ran clean\n", runs);
    return rc;
}
