/* The keyring file of batond: read at start, reloaded on SIGHUP, rewritten
 * after keyring changes made through the client socket. See daemon.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

int bd_keyring_read(const char *path, struct baton_key *out, size_t cap, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            snprintf(err, errcap, "%s: line %d: too long for a key", path, lineno);
            fclose(f);
            return -1;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#')
            continue;
        struct baton_key k;
        if (baton_key_decode(p, &k) != 0) {
            snprintf(err, errcap,
                     "%s: line %d: not a key (32 bytes in base64, as `baton keygen` prints)", path,
                     lineno);
            fclose(f);
            return -1;
        }
        bool dup = false;
        for (int i = 0; i < n; i++)
            dup = dup || memcmp(out[i].bytes, k.bytes, sizeof k.bytes) == 0;
        if (dup)
            continue;
        if ((size_t)n == cap) {
            snprintf(err, errcap, "%s: more than %zu keys", path, cap);
            fclose(f);
            return -1;
        }
        out[n++] = k;
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        snprintf(err, errcap, "%s: read error", path);
        return -1;
    }
    if (n == 0) {
        snprintf(err, errcap, "%s: no key in the file", path);
        return -1;
    }
    return n;
}

static bool key_in(const struct baton_key *k, const struct baton_key *set, int n)
{
    for (int i = 0; i < n; i++)
        if (memcmp(k->bytes, set[i].bytes, sizeof k->bytes) == 0)
            return true;
    return false;
}

int bd_keyring_reload(struct batond *d)
{
    if (d->cfg.keyring == NULL) {
        bd_warn("SIGHUP: no keyring file to reload (--insecure-no-encryption)");
        return -1;
    }
    struct baton_key want[BATON_KEYRING_MAX];
    char err[512];
    int n = bd_keyring_read(d->cfg.keyring, want, BATON_KEYRING_MAX, err, sizeof err);
    if (n < 0) {
        bd_error("keyring reload: %s; the keyring is unchanged", err);
        return -1;
    }
    struct baton_key have[BATON_KEYRING_MAX];
    int m = baton_keyring_list(d->node, have, BATON_KEYRING_MAX);
    if (m < 0) {
        bd_error("keyring reload: %s", baton_strerror(m));
        return -1;
    }
    if (m > BATON_KEYRING_MAX)
        m = BATON_KEYRING_MAX;
    /* Install first, then switch the primary, then remove: every step
     * leaves a keyring that opens what the cluster sends. */
    int added = 0, removed = 0;
    for (int i = 0; i < n; i++) {
        if (key_in(&want[i], have, m))
            continue;
        int rc = baton_keyring_install(d->node, &want[i]);
        if (rc != 0) {
            bd_error("keyring reload: install: %s", baton_strerror(rc));
            return -1;
        }
        added++;
    }
    int rc = baton_keyring_use(d->node, &want[0]);
    if (rc != 0) {
        bd_error("keyring reload: use: %s", baton_strerror(rc));
        return -1;
    }
    for (int i = 0; i < m; i++) {
        if (key_in(&have[i], want, n))
            continue;
        rc = baton_keyring_remove(d->node, &have[i]);
        if (rc != 0) {
            bd_error("keyring reload: remove: %s", baton_strerror(rc));
            return -1;
        }
        removed++;
    }
    atomic_fetch_add(&d->counters.keyring_reloads, 1);
    bd_info("keyring reloaded from %s: %d key(s), %d added, %d removed", d->cfg.keyring, n, added,
            removed);
    return 0;
}

int bd_keyring_save(struct batond *d, char *err, size_t errcap)
{
    if (d->cfg.keyring == NULL)
        return 0;
    struct baton_key keys[BATON_KEYRING_MAX];
    int n = baton_keyring_list(d->node, keys, BATON_KEYRING_MAX);
    if (n < 0) {
        snprintf(err, errcap, "%s", baton_strerror(n));
        return -1;
    }
    if (n > BATON_KEYRING_MAX)
        n = BATON_KEYRING_MAX;
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", d->cfg.keyring) >= (int)sizeof tmp) {
        snprintf(err, errcap, "path too long");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "# baton keyring, written by batond: one key per line, the first is the primary.\n");
    for (int i = 0; i < n; i++) {
        char b64[BATON_KEY_B64_LEN + 1];
        if (baton_key_encode(&keys[i], b64) == 0)
            fprintf(f, "%s\n", b64);
    }
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, d->cfg.keyring) != 0) {
        snprintf(err, errcap, "%s: %s", d->cfg.keyring, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
