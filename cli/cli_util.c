/*
 * cli_util.c - helpers the report and diff front ends share: the colour
 * decision, the output file and the steps of a run (cli_util.h).
 *
 * -o FILE, when a regular file or nothing yet, is written to a temporary
 * file in the directory of the file a symlink names and renamed over it at
 * the end, so a reader (the Prometheus textfile collector, a web server)
 * never sees half a report and the link stays; SIGINT, SIGTERM and SIGHUP
 * remove that temporary file.  A FIFO or device is written through; our own
 * standard output under another name (/dev/stdout) is standard output.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "cli/cli.h"
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

/* The temporary file being written, for the signal handler: a static copy
 * of its path (pending is 1 while it exists and is not yet renamed), and the
 * dispositions the handler replaced. */
static char pending_path[PATH_MAX + 32];
static volatile sig_atomic_t pending;
static const int pending_sigs[] = {SIGINT, SIGTERM, SIGHUP};
#define N_PENDING_SIGS (sizeof(pending_sigs) / sizeof(pending_sigs[0]))
static struct sigaction pending_old[N_PENDING_SIGS];

/* SIGINT, SIGTERM or SIGHUP while a temporary file exists: remove it, then
 * die of the same signal (unlink, sigaction and raise are async-signal-safe). */
static void
pending_handler(int sig)
{
    struct sigaction dfl;

    if (pending)
        unlink(pending_path);
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

/* Block (how = SIG_BLOCK) or unblock the handled signals. */
static void
pending_mask(int how, sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < N_PENDING_SIGS; i++)
        sigaddset(&set, pending_sigs[i]);
    sigprocmask(how, &set, old);
}

/* Where a regular file at path (or none yet) is really written: symlinks
 * are followed, a dangling one to the path it names.  Returns an owned
 * string, or NULL with errno set. */
static char *
out_target(const char *path)
{
    char *cur = tw_xstrdup(path);
    struct stat st;

    for (int hops = 0; hops < 40; hops++) {
        char link[PATH_MAX];
        ssize_t n;

        if (stat(cur, &st) == 0) {
            char *real = realpath(cur, NULL);

            free(cur);
            return real;
        }
        if (errno != ENOENT) {
            free(cur);
            return NULL;
        }
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur; /* nothing there yet */
        n = readlink(cur, link, sizeof(link) - 1);
        if (n < 0) {
            free(cur);
            return NULL;
        }
        link[n] = '\0';
        if (link[0] == '/' || strchr(cur, '/') == NULL) {
            free(cur);
            cur = tw_xstrdup(link);
        } else {
            /* A relative link is relative to the link's own directory. */
            size_t dir = (size_t)(strrchr(cur, '/') - cur) + 1;
            char *next = tw_xmalloc(dir + (size_t)n + 1);

            memcpy(next, cur, dir);
            memcpy(next + dir, link, (size_t)n + 1);
            free(cur);
            cur = next;
        }
    }
    free(cur);
    errno = ELOOP;
    return NULL;
}

/* Remove the temporary file (when the rename did not take it), forget it
 * and give the signals back their old dispositions.  Signals blocked. */
static void
out_drop(struct tw_cli_out *o)
{
    if (pending)
        unlink(o->tmp);
    pending = 0;
    for (size_t i = 0; i < N_PENDING_SIGS; i++)
        sigaction(pending_sigs[i], &pending_old[i], NULL);
    free(o->tmp);
    free(o->target);
    o->tmp = NULL;
    o->target = NULL;
}

int
tw_cli_out_open(const char *path, struct tw_cli_out *o, char *err)
{
    struct stat st, so;
    struct sigaction sa;
    sigset_t old;
    char *target;
    size_t len;
    int fd;

    memset(o, 0, sizeof(*o));
    if (path == NULL || strcmp(path, "-") == 0) {
        o->f = stdout;
        return 0;
    }
    o->path = path;
    if (stat(path, &st) == 0) {
        /* Our own standard output under another name (/dev/stdout): write
         * to it as it is, appending when the shell appends. */
        if (fstat(STDOUT_FILENO, &so) == 0 && so.st_dev == st.st_dev && so.st_ino == st.st_ino) {
            o->f = stdout;
            return 0;
        }
        if (!S_ISREG(st.st_mode)) {
            /* A FIFO, a device or a terminal: write through, never replace. */
            fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
            if (fd < 0 || (o->f = fdopen(fd, "w")) == NULL) {
                tw_errf(err, "cannot write %s: %s", path, strerror(errno));
                if (fd >= 0)
                    close(fd);
                return -1;
            }
            o->direct = 1;
            return 0;
        }
    }
    target = out_target(path);
    if (target == NULL) {
        tw_errf(err, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    len = strlen(target) + 16;
    if (len > sizeof(pending_path)) {
        tw_errf(err, "cannot write %s: %s", path, strerror(ENAMETOOLONG));
        free(target);
        return -1;
    }
    o->target = target;
    o->tmp = tw_xmalloc(len);
    snprintf(o->tmp, len, "%s.tmp.XXXXXX", target);
    /* The handler knows the name before a signal can come. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = pending_handler;
    sigemptyset(&sa.sa_mask);
    pending_mask(SIG_BLOCK, &old);
    for (size_t i = 0; i < N_PENDING_SIGS; i++)
        sigaction(pending_sigs[i], &sa, &pending_old[i]);
    /* A signal ignored (nohup, a background job) stays ignored. */
    for (size_t i = 0; i < N_PENDING_SIGS; i++)
        if (!(pending_old[i].sa_flags & SA_SIGINFO) && pending_old[i].sa_handler == SIG_IGN)
            sigaction(pending_sigs[i], &pending_old[i], NULL);
    fd = mkstemp(o->tmp);
    if (fd >= 0) {
        memcpy(pending_path, o->tmp, len);
        pending = 1;
        o->f = fdopen(fd, "w");
    }
    if (fd < 0 || o->f == NULL) {
        tw_errf(err, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        out_drop(o);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return o->f == NULL ? -1 : 0;
}

int
tw_cli_out_close(struct tw_cli_out *o, int ok, char *err)
{
    sigset_t old;
    int rc = 0;

    if (o->f == NULL)
        return 0;
    if (o->tmp == NULL) {
        if (o->direct) {
            if (fclose(o->f) != 0) {
                tw_errf(err, "cannot write %s: %s", o->path, strerror(errno));
                rc = -1;
            }
        } else if (fflush(o->f) != 0) {
            tw_errf(err, "write error on standard output: %s", strerror(errno));
            rc = -1;
        }
        o->f = NULL;
        o->direct = 0;
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
    pending_mask(SIG_BLOCK, &old);
    if (ok && rename(o->tmp, o->target) != 0) {
        tw_errf(err, "cannot write %s: %s", o->path, strerror(errno));
        rc = -1;
        ok = 0;
    }
    if (ok)
        pending = 0;
    out_drop(o);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int
tw_cli_opt_error(const char *cmd, int c, char **argv)
{
    /* getopt has stepped past the option it complains about, except for
     * an unknown letter inside a group ("-xo"), which optopt names. */
    const char *arg = optind > 0 && argv != NULL ? argv[optind - 1] : "?";

    if (c == ':')
        fprintf(stderr, "tlsweep %s: option '%.100s' needs a value\n", cmd, arg);
    else if (optopt != 0)
        fprintf(stderr, "tlsweep %s: unknown option '-%c'\n", cmd, optopt);
    else
        fprintf(stderr, "tlsweep %s: unknown or ambiguous option '%.100s'\n", cmd, arg);
    fprintf(stderr, "tlsweep %s: run 'tlsweep %s --help' for the options\n", cmd, cmd);
    return TW_EXIT_USAGE;
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
        return tw_cli_opt_error(r->cmd, c, r->argv);
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
    return tw_report_open_db(r->db_path, &r->db, r->err) == 0 ? 0 : run_failed(r);
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
tw_cli_run_warnings(const struct tw_cli_run *r, const struct tw_report_warnings *ws)
{
    const char *db = strcmp(r->db_path, "tlsweep.db") != 0 ? r->db_path : NULL;
    char text[PATH_MAX + 512];

    for (size_t i = 0; ws != NULL && i < ws->n; i++) {
        tw_report_warning_text(&ws->w[i], r->cmd, db, text, sizeof(text));
        fprintf(stderr, "tlsweep %s: warning: %s\n", r->cmd, text);
    }
}

void
tw_cli_run_end(struct tw_cli_run *r)
{
    tw_cli_run_close_out(r, 0);
    tw_report_close_db(r->db);
    r->db = NULL;
}
