/*
 * cli_util.c - helpers the report and diff front ends share: the colour
 * decision, the output file and the steps of a run (cli_util.h).
 *
 * -o FILE is written to a temporary file in the same directory and renamed
 * over FILE at the end, so a reader (the Prometheus textfile collector, a
 * web server) never sees half a report.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "store/store.h"

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

void
tw_cli_run_init(struct tw_cli_run *r, const char *cmd)
{
    memset(r, 0, sizeof(*r));
    r->cmd = cmd;
    r->db_path = "tlsweep.db";
    r->format = "text";
}

int
tw_cli_run_option(struct tw_cli_run *r, int c, const char *arg, void (*usage)(FILE *f))
{
    switch (c) {
    case 'd':
        r->db_path = arg;
        return -1;
    case 'f':
        r->format = arg;
        return -1;
    case 'o':
        r->out_path = arg;
        return -1;
    case 'h':
        usage(stdout);
        return TW_EXIT_OK;
    default:
        fprintf(stderr, "Run 'tlsweep %s --help' for the options.\n", r->cmd);
        return TW_EXIT_USAGE;
    }
}

int
tw_cli_run_format(struct tw_cli_run *r, const char *(*name_at)(size_t i), size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name_at(i), r->format) == 0)
            return 0;
    fprintf(stderr, "tlsweep %s: unknown format '%s' (formats:", r->cmd, r->format);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s", name_at(i));
    fputs(")\n", stderr);
    return TW_EXIT_USAGE;
}

/* Print r->err as the command's message; a runtime error. */
static int
run_failed(const struct tw_cli_run *r)
{
    fprintf(stderr, "tlsweep %s: %s\n", r->cmd, r->err);
    return TW_EXIT_RUNTIME;
}

int
tw_cli_run_open_db(struct tw_cli_run *r)
{
    return tw_report_open_db(r->db_path, &r->st, r->err) == 0 ? 0 : run_failed(r);
}

int
tw_cli_run_scan(struct tw_cli_run *r, int k)
{
    if (k == 0)
        return 0;
    fprintf(stderr, "tlsweep %s: %s: %s\n", r->cmd, r->db_path, r->err);
    return k > 0 ? TW_EXIT_USAGE : TW_EXIT_RUNTIME;
}

int
tw_cli_run_open_out(struct tw_cli_run *r)
{
    return tw_cli_out_open(r->out_path, &r->out, r->err) == 0 ? 0 : run_failed(r);
}

int
tw_cli_run_close_out(struct tw_cli_run *r, int ok)
{
    if (!ok) {
        /* The caller's message is in r->err: keep it, drop the file. */
        char spare[TW_ERRLEN];

        tw_cli_out_close(&r->out, 0, spare);
        return 0;
    }
    return tw_cli_out_close(&r->out, 1, r->err) == 0 ? 0 : run_failed(r);
}

void
tw_cli_run_warn(const struct tw_cli_run *r, const struct tw_scan_info *s)
{
    if (s->is_fallback || strcmp(s->status, "done") != 0)
        fprintf(stderr,
                "tlsweep %s: warning: scan %" PRId64 " is %s: results are "
                "incomplete\n",
                r->cmd, s->id, s->status);
}

void
tw_cli_run_end(struct tw_cli_run *r)
{
    tw_cli_run_close_out(r, 0);
    tw_store_close(r->st);
    r->st = NULL;
}
