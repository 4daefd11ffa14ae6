/*
 * labenv.c - read the lab's DIR/lab.env (see labenv.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lab/labenv.h"
#include "base/log.h"

static int
env_take(const char *val, char *dst, size_t len)
{
    size_t n = strlen(val);

    if (n == 0 || n >= len)
        return -1;
    memcpy(dst, val, n + 1);
    return 0;
}

int
tw_lab_read_env(const char *dir, char *resolver, size_t resolver_len, char *ca, size_t ca_len,
                char *targets, size_t targets_len, char *err)
{
    char path[4096], line[4200];
    FILE *f = NULL;
    int have = 0, lineno = 0, rc = -1;

    if (dir == NULL)
        dir = TW_LAB_DEFAULT_DIR;
    if ((size_t)snprintf(path, sizeof(path), "%s/lab.env", dir) >= sizeof(path)) {
        tw_errf(err, "lab directory name too long");
        goto out;
    }
    f = fopen(path, "re");
    if (f == NULL) {
        tw_errf(err, "%s: %s (is the lab up? run 'tlsweep lab up --daemon')", path,
                strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strlen(line);
        char *eq, *val;
        int bad = 0;

        lineno++;
        if (n > 0 && line[n - 1] != '\n' && !feof(f)) {
            tw_errf(err, "%s:%d: line too long", path, lineno);
            goto out;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n == 0 || line[0] == '#')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL)
            continue; /* not ours: ignored, like a shell would not */
        *eq = '\0';
        val = eq + 1;
        if (strcmp(line, "TLSWEEP_LAB_RESOLVER") == 0) {
            bad = env_take(val, resolver, resolver_len);
            have |= 1;
        } else if (strcmp(line, "TLSWEEP_LAB_CA") == 0) {
            bad = env_take(val, ca, ca_len);
            have |= 2;
        } else if (strcmp(line, "TLSWEEP_LAB_TARGETS") == 0) {
            bad = env_take(val, targets, targets_len);
            have |= 4;
        }
        if (bad) {
            tw_errf(err, "%s:%d: %s is empty or too long", path, lineno, line);
            goto out;
        }
    }
    if (ferror(f)) {
        tw_errf(err, "%s: read error", path);
        goto out;
    }
    if (have != 7) {
        tw_errf(err, "%s: missing %s", path,
                !(have & 1) ? "TLSWEEP_LAB_RESOLVER"
                            : (!(have & 2) ? "TLSWEEP_LAB_CA" : "TLSWEEP_LAB_TARGETS"));
        goto out;
    }
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    return rc;
}
