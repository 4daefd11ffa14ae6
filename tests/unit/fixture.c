/*
 * fixture.c - the unit tests' temporary database (see fixture.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "store/store.h"
#include "tests/unit/fixture.h"

struct fx *
fx_new(const char *tag)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    snprintf(f->dir, sizeof(f->dir), "/tmp/tw-test-%s-XXXXXX", tag);
    if (mkdtemp(f->dir) == NULL) {
        perror("fixture: mkdtemp");
        free(f);
        return NULL;
    }
    snprintf(f->db, sizeof(f->db), "%s/tlsweep.db", f->dir);
    return f;
}

int
fx_open_store(struct fx *f)
{
    char err[TW_ERRLEN];

    if (tw_store_open(f->db, 0, &f->st, err) < 0) {
        fprintf(stderr, "fixture: %s\n", err);
        return -1;
    }
    return 0;
}

void
fx_path(const struct fx *f, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->dir, name);
}

void
fx_free(struct fx *f)
{
    DIR *d;
    struct dirent *e;
    char path[512];

    if (f == NULL)
        return;
    tw_store_close(f->st);
    d = opendir(f->dir);
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", f->dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(f->dir);
    free(f);
}
