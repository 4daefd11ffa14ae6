/*
 * cli_util.c - helpers the report and diff front ends share: day counts,
 * the colour decision and the output file.
 *
 * -o FILE is written to a temporary file in the same directory and renamed
 * over FILE at the end, so a reader (the Prometheus textfile collector, a
 * web server) never sees half a report.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "cli/cli_util.h"

int
tw_cli_color_auto(FILE *out, const char *when)
{
    const char *nc = getenv("NO_COLOR");

    if (when != NULL && strcmp(when, "always") == 0)
        return 1;
    if (when != NULL && strcmp(when, "never") == 0)
        return 0;
    if (nc != NULL && nc[0] != '\0')
        return 0;
    return isatty(fileno(out));
}

int
tw_cli_out_open(const char *path, struct tw_cli_out *o, char *err)
{
    int fd;

    memset(o, 0, sizeof(*o));
    if (path == NULL || strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    o->path = path;
    o->tmp = tw_xmalloc(strlen(path) + 16);
    snprintf(o->tmp, strlen(path) + 16, "%s.tmp.XXXXXX", path);
    fd = mkstemp(o->tmp);
    if (fd < 0) {
        tw_errf(err, "cannot write %s: %s", path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    o->f = fdopen(fd, "w");
    if (o->f == NULL) {
        tw_errf(err, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return -1;
    }
    return 0;
}

int
tw_cli_out_close(struct tw_cli_out *o, int ok, char *err)
{
    int rc = 0;

    if (o->f == NULL)
        return 0;
    if (o->tmp == NULL) {
        if (fflush(o->f) != 0) {
            tw_errf(err, "write error on standard output: %s", strerror(errno));
            rc = -1;
        }
        o->f = NULL;
        return rc;
    }
    if (fclose(o->f) != 0 && ok) {
        tw_errf(err, "cannot write %s: %s", o->path, strerror(errno));
        ok = 0;
        rc = -1;
    }
    o->f = NULL;
    /* mkstemp makes 0600; a report is for sharing: use the usual 0644 - umask. */
    if (ok) {
        mode_t um = umask(0);
        umask(um);
        chmod(o->tmp, 0666 & ~um);
    }
    if (ok && rename(o->tmp, o->path) != 0) {
        tw_errf(err, "cannot write %s: %s", o->path, strerror(errno));
        rc = -1;
        ok = 0;
    }
    if (!ok)
        unlink(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    return rc;
}
