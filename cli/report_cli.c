/*
 * report_cli.c - `tlsweep report`: options, the read-only database, the
 * output file, then the pipeline in render.c.
 *
 * The database is opened with TW_STORE_READONLY (SQLITE_OPEN_READONLY, no
 * migration) and the report authorizer (writes, ATTACH, PRAGMA refused), so
 * a report never changes the database and, in WAL mode, never blocks a
 * running scan.  -o FILE is written to a temporary file in the same
 * directory and renamed over FILE at the end, so a reader (the Prometheus
 * textfile collector, a web server) never sees half a report.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/render.h"
#include "cli/cli.h"
#include "cli/report_int.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store/store.h"

static void
report_usage(FILE *f)
{
    fputs("usage: tlsweep report [--db PATH] [--scan ID|latest] [--format FORMAT] [-o FILE]\n"
          "                      [--where SQL-EXPR] [--expiring DAYS] [--now TIME]\n"
          "                      [--color auto|always|never]\n"
          "\n"
          "Render one scan: an estate summary, then every endpoint worst first, with\n"
          "its grade, class, TLS version, cipher, days to certificate expiry and, for\n"
          "problems, the explanation, the fix and the openssl command that reproduces it.\n"
          "\n"
          "Options:\n"
          "  --db PATH          database (default ./tlsweep.db), opened read-only\n"
          "  --scan ID|latest   scan to report (default latest: the newest scan with\n"
          "                     status done, else the newest interrupted one, flagged)\n"
          "  --format FORMAT    output format (default text), see below\n"
          "  -o, --output FILE  write to FILE (replaced atomically) instead of stdout\n"
          "  --where SQL-EXPR   keep rows matching an SQL expression over results columns\n"
          "                     (host, ip, port, sni, class, issues, grade, tls_version,\n"
          "                     cipher, cert_sha256, detail, ...); trusted operator input,\n"
          "                     run on a read-only connection that refuses writes\n"
          "  --expiring DAYS    keep endpoints whose leaf certificate expires within DAYS\n"
          "                     (expired ones included)\n"
          "  --now TIME         count days to expiry from TIME (ISO-8601 or @unix) instead\n"
          "                     of the scan's own time (its --now, else its start)\n"
          "  --color WHEN       text colour: auto (a terminal without NO_COLOR), always, never\n"
          "  -h, --help         this help\n"
          "\n"
          "Formats:\n",
          f);
    for (size_t i = 0; i < tw_n_renderers; i++)
        fprintf(f, "  %-6s %s\n", tw_renderers[i]->name, tw_renderers[i]->help);
    fputs("\n"
          "Examples:\n"
          "  tlsweep report\n"
          "  tlsweep report --format html -o estate.html\n"
          "  tlsweep report --format prom -o /var/lib/node_exporter/tlsweep.prom\n"
          "  tlsweep report --expiring 30 --format csv -o renew.csv\n"
          "  tlsweep report --where \"host LIKE '%.example.com' AND class <> 'ok'\"\n"
          "  tlsweep report --scan 12 --format json | jq '.summary'\n"
          "\n"
          "Exit codes: 0 success, 2 usage error (bad option, format, scan id or --where),\n"
          "            3 database or output error.\n",
          f);
}

int
tw_report_parse_days(const char *s, int64_t *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0 || v < 0 || v > 100000)
        return -1;
    *out = v;
    return 0;
}

int
tw_report_color_auto(FILE *out, const char *when)
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
tw_report_open_db(const char *path, struct tw_store **out, char *err)
{
    char sub[TW_ERRLEN];

    if (access(path, F_OK) != 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (tw_store_open(path, TW_STORE_READONLY, out, sub) < 0) {
        tw_errf(err, "%s", sub);
        return -1;
    }
    if (tw_report_db_prepare(tw_store_db(*out), sub) < 0) {
        tw_errf(err, "%s: %s", path, sub);
        tw_store_close(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int
tw_report_out_open(const char *path, struct tw_report_out *o, char *err)
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
tw_report_out_close(struct tw_report_out *o, int ok, char *err)
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

int
tw_report_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"scan", required_argument, NULL, 's'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"where", required_argument, NULL, 'w'},
        {"expiring", required_argument, NULL, 'e'},
        {"now", required_argument, NULL, 'n'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db_path = "tlsweep.db";
    const char *scan_spec = "latest";
    const char *format = "text";
    const char *out_path = NULL;
    const char *color = "auto";
    const struct tw_renderer *r;
    struct tw_report_opts opts;
    struct tw_scan_info scan;
    struct tw_report_out out;
    struct tw_store *st = NULL;
    int64_t now = INT64_MIN;
    char err[TW_ERRLEN];
    int rc = 2;
    int c;
    int k;

    memset(&opts, 0, sizeof(opts));
    memset(&scan, 0, sizeof(scan));
    memset(&out, 0, sizeof(out));
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_path = optarg;
            break;
        case 's':
            scan_spec = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'w':
            opts.where = optarg;
            break;
        case 'e':
            if (tw_report_parse_days(optarg, &opts.expiring_days) < 0) {
                fprintf(stderr, "tlsweep report: --expiring: '%s' is not a number of days\n",
                        optarg);
                return 2;
            }
            opts.has_expiring = 1;
            break;
        case 'n':
            if (tw_time_parse(optarg, &now) < 0) {
                fprintf(stderr, "tlsweep report: --now: cannot parse '%s'\n", optarg);
                return 2;
            }
            break;
        case 'c':
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never")) {
                fprintf(stderr, "tlsweep report: --color: auto, always or never\n");
                return 2;
            }
            color = optarg;
            break;
        case 'h':
            report_usage(stdout);
            return 0;
        default:
            fputs("Run 'tlsweep report --help' for the options.\n", stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tlsweep report: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    r = tw_renderer_find(format);
    if (r == NULL) {
        fprintf(stderr, "tlsweep report: unknown format '%s' (formats:", format);
        for (size_t i = 0; i < tw_n_renderers; i++)
            fprintf(stderr, " %s", tw_renderers[i]->name);
        fputs(")\n", stderr);
        return 2;
    }
    if (tw_report_open_db(db_path, &st, err) < 0) {
        fprintf(stderr, "tlsweep report: %s\n", err);
        rc = 3;
        goto out;
    }
    k = tw_report_scan_find(tw_store_db(st), scan_spec, now, &scan, err);
    if (k != 0) {
        fprintf(stderr, "tlsweep report: %s: %s\n", db_path, err);
        rc = k > 0 ? 2 : 3;
        goto out;
    }
    if (tw_report_out_open(out_path, &out, err) < 0) {
        fprintf(stderr, "tlsweep report: %s\n", err);
        rc = 3;
        goto out;
    }
    opts.color = strcmp(format, "text") == 0 && tw_report_color_auto(out.f, color);
    opts.has_reasons = tw_report_has_table(tw_store_db(st), "grade_reasons");
    k = tw_report_run(tw_store_db(st), &scan, &opts, r, out.f, err);
    if (k != 0) {
        fprintf(stderr, "tlsweep report: %s: %s\n", k > 0 ? "usage" : db_path, err);
        tw_report_out_close(&out, 0, err);
        rc = k > 0 ? 2 : 3;
        goto out;
    }
    if (tw_report_out_close(&out, 1, err) < 0) {
        fprintf(stderr, "tlsweep report: %s\n", err);
        rc = 3;
        goto out;
    }
    if (scan.is_fallback || strcmp(scan.status, "done") != 0)
        fprintf(stderr,
                "tlsweep report: warning: scan %" PRId64 " is %s: results are "
                "incomplete\n",
                scan.id, scan.status);
    rc = 0;
out:
    tw_report_scan_cleanup(&scan);
    tw_store_close(st);
    return rc;
}
