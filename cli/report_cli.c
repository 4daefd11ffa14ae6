/*
 * report_cli.c - `tlsweep report`: options, help and exit codes; the work
 * is report/'s.
 *
 * The database is opened read-only with the report authorizer
 * (tw_report_open_db: writes, ATTACH, PRAGMA refused), so a report never
 * changes the database and, in WAL mode, never blocks a running scan.  The
 * output file is replaced atomically (cli_util.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "cli/cli_util.h"
#include "report/problems.h"
#include "report/query.h"
#include "report/render.h"
#include "cli/cli.h"
#include "store/model.h"

static void
report_usage(FILE *f)
{
    fputs("usage: tlsweep report [--db PATH] [--scan ID|latest] [--format FORMAT] [-o FILE]\n"
          "                      [--where SQL-EXPR] [--expiring DAYS] [--now TIME]\n"
          "                      [--color auto|always|never] [--trend N] [--top N]\n"
          "                      [--group problem|none]\n"
          "\n"
          "Render one scan.  Every format opens with \"fix first\": the problems, one per\n"
          "root cause shared by N endpoints (one certificate expired on 40 hosts, one\n"
          "issuer whose intermediate a pool does not send, one class and detail, one\n"
          "grade cap, one legacy protocol accepted), ranked: what breaks clients now,\n"
          "what breaks within 14 then 30 days, grade caps, hygiene.  Each gives its\n"
          "endpoints, the explanation, the fix and an openssl command, once.  Then an\n"
          "estate summary and, with --group none (text, md) or always (json, csv, html),\n"
          "every endpoint worst first with its grade, class, TLS version, cipher and days\n"
          "to certificate expiry.\n"
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
          "  --where-max-steps N  stop a --where report after N SQLite VM steps (exit 2);\n"
          "                     default 100,000,000 + 10,000 per result row, 0: no bound\n"
          "  --expiring DAYS    keep endpoints whose leaf certificate expires within DAYS\n"
          "                     (expired ones included)\n"
          "  --now TIME         count days to expiry from TIME (ISO-8601 or @unix) instead\n"
          "                     of the scan's own time (its --now, else its start)\n"
          "  --color WHEN       text colour: auto (a terminal without NO_COLOR), always, never\n"
          "  --trend N          html: the trend panel covers the scan and the N-1 done scans\n"
          "                     before it (default 10, at most 100; 0: no trend panel)\n"
          "  --top N            problems shown (default 10; 0: all)\n"
          "  --group problem|none  problem (default): text and md show the problems in\n"
          "                     place of the per-endpoint list; none: the flat list of\n"
          "                     every endpoint with its explanation (json, csv and html\n"
          "                     always carry both)\n"
          "  -h, --help         this help\n"
          "\n"
          "Formats:\n",
          f);
    for (size_t i = 0; i < tw_n_renderers; i++)
        fprintf(f, "  %-6s %s\n", tw_renderers[i]->name, tw_renderers[i]->help);
    fputs("\n"
          "Examples:\n"
          "  tlsweep report\n"
          "  tlsweep report --top 20\n"
          "  tlsweep report --group none | less\n"
          "  tlsweep report --format html -o estate.html\n"
          "  tlsweep report --format html --trend 30 -o estate.html\n"
          "  tlsweep report --format prom -o /var/lib/node_exporter/tlsweep.prom\n"
          "  tlsweep report --expiring 30 --format csv -o renew.csv\n"
          "  tlsweep report --where \"host LIKE '%.example.com' AND class <> 'ok'\"\n"
          "  tlsweep report --scan 12 --format json | jq '.summary'\n"
          "\n"
          "Warnings go to stderr and into every format (JSON: \"warnings\"): a scan newer\n"
          "than the one shown that is interrupted or still running (its results are not\n"
          "in the report), a partial merge.  Exit codes are not changed by them.\n"
          "\n"
          "Access: read access to the database is enough (another user's database, a\n"
          "read-only mount): without write access it is opened immutable, unless a\n"
          "non-empty -wal file needs a -shm file that cannot be created (then exit 3).\n"
          "\n"
          "Exit codes: 0 success, 2 usage error (bad option, format, scan id or --where,\n"
          "            a --where that exceeds its bound), 3 database or output error.\n",
          f);
}

/* After "no finished scan": what to do instead (issue 16).  Only scans
 * that are neither done nor interrupted are left, normally a running one
 * (or one whose process died): name the newest, which --scan shows as it
 * stands and scan --resume finishes. */
static void
report_hint_unfinished(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(db, "SELECT id FROM scans ORDER BY id DESC LIMIT 1", -1, &st, NULL) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);

        fprintf(stderr,
                "tlsweep report: scan %" PRId64 " has not finished (still running, or its process"
                " died): show its results so far with --scan %" PRId64
                ", or finish it with: tlsweep scan --resume=%" PRId64 " (and the same --db)\n",
                id, id, id);
    } else {
        fprintf(stderr, "tlsweep report: the database has no scan yet: run tlsweep scan TARGETS "
                        "first\n");
    }
    sqlite3_finalize(st);
}

static const char *
report_format_name(size_t i)
{
    return tw_renderers[i]->name;
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
        {"where-max-steps", required_argument, NULL, 'm'},
        {"color", required_argument, NULL, 'c'},
        {"colour", required_argument, NULL, 'c'},
        {"trend", required_argument, NULL, 'T'},
        {"top", required_argument, NULL, 't'},
        {"group", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *scan_spec = "latest";
    const char *color = "auto";
    struct tw_cli_run run;
    struct tw_report_opts opts;
    struct tw_scan_info scan;
    struct tw_report_warnings warnings;
    const struct tw_scan_info *shown[1];
    int64_t now = INT64_MIN;
    int64_t steps;
    int64_t trend_n = 10;
    struct tw_report_trend *trend = NULL;
    int rc;
    int c;
    int k;

    tw_cli_run_init(&run, "report");
    memset(&opts, 0, sizeof(opts));
    opts.problems_top = TW_PROBLEMS_TOP_DEFAULT;
    memset(&scan, 0, sizeof(scan));
    memset(&warnings, 0, sizeof(warnings));
    run.argv = argv;
    optind = 1;
    opterr = 0; /* tw_cli_opt_error prints "tlsweep CMD: ..." instead */
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            scan_spec = optarg;
            break;
        case 'w':
            opts.where = optarg;
            break;
        case 'e':
            if (tw_cli_parse_int64(optarg, 0, 100000, &opts.expiring_days) < 0) {
                fprintf(stderr, "tlsweep report: --expiring: '%s' is not a number of days\n",
                        optarg);
                return TW_EXIT_USAGE;
            }
            opts.has_expiring = 1;
            break;
        case 'n':
            if (tw_time_parse(optarg, &now) < 0) {
                fprintf(stderr, "tlsweep report: --now: cannot parse '%s'\n", optarg);
                return TW_EXIT_USAGE;
            }
            break;
        case 'm':
            if (tw_cli_parse_int64(optarg, 0, INT64_MAX, &steps) < 0) {
                fprintf(stderr, "tlsweep report: --where-max-steps: '%s' is not a count\n", optarg);
                return TW_EXIT_USAGE;
            }
            opts.max_steps = steps == 0 ? -1 : steps;
            break;
        case 'T':
            if (tw_cli_parse_int64(optarg, 0, TW_REPORT_TREND_MAX, &trend_n) < 0) {
                fprintf(stderr, "tlsweep report: --trend: '%s' is not a number of scans (0-%d)\n",
                        optarg, TW_REPORT_TREND_MAX);
                return TW_EXIT_USAGE;
            }
            break;
        case 't':
            if (tw_cli_parse_int64(optarg, 0, 1000000, &opts.problems_top) < 0) {
                fprintf(stderr, "tlsweep report: --top: '%s' is not a number of problems\n",
                        optarg);
                return TW_EXIT_USAGE;
            }
            break;
        case 'g':
            if (strcmp(optarg, "problem") == 0 || strcmp(optarg, "problems") == 0) {
                opts.group_none = 0;
            } else if (strcmp(optarg, "none") == 0) {
                opts.group_none = 1;
            } else {
                fprintf(stderr, "tlsweep report: --group: problem or none\n");
                return TW_EXIT_USAGE;
            }
            break;
        case 'c':
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never")) {
                fprintf(stderr, "tlsweep report: --color: auto, always or never\n");
                return TW_EXIT_USAGE;
            }
            color = optarg;
            break;
        default:
            rc = tw_cli_run_option(&run, c, optarg, report_usage);
            if (rc >= 0)
                return rc;
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tlsweep report: unexpected argument '%s'\n", argv[optind]);
        return TW_EXIT_USAGE;
    }
    rc = tw_cli_run_format(&run, report_format_name, tw_n_renderers);
    if (rc == 0)
        rc = tw_cli_run_open_db(&run);
    if (rc == 0) {
        k = tw_report_scan_find(run.db, scan_spec, now, &scan, run.err);
        rc = tw_cli_run_scan(&run, k);
        if (k == 1 && strcmp(scan_spec, "latest") == 0)
            report_hint_unfinished(run.db);
    }
    if (rc == 0) {
        shown[0] = &scan;
        if (tw_report_warnings_scan(run.db, shown, 1, &warnings, run.err) < 0) {
            fprintf(stderr, "tlsweep report: %s: %s\n", run.db_path, run.err);
            rc = TW_EXIT_RUNTIME;
        }
        opts.warnings = &warnings;
    }
    if (rc == 0 && strcmp(run.format, "prom") == 0) {
        /* The prom format shows when the newest complete scan finished,
         * whichever scan it reports (0 when none is done). */
        struct tw_scan_info done;

        k = tw_report_scan_done_nth(run.db, 0, &done, run.err);
        if (k < 0) {
            fprintf(stderr, "tlsweep report: %s: %s\n", run.db_path, run.err);
            rc = TW_EXIT_RUNTIME;
        } else if (k == 0) {
            opts.last_done_unix = done.finished_unix;
        }
        tw_report_scan_cleanup(&done);
    }
    if (rc == 0 && trend_n > 0 && strcmp(run.format, "html") == 0) {
        /* Issue 16: the dashboard's trend over the last scans. */
        trend = tw_xcalloc(1, sizeof(*trend));
        if (tw_report_trend(run.db, &scan, (int)trend_n, trend, run.err) < 0) {
            fprintf(stderr, "tlsweep report: %s: %s\n", run.db_path, run.err);
            rc = TW_EXIT_RUNTIME;
        }
        opts.trend = trend;
    }
    if (rc == 0)
        rc = tw_cli_run_open_out(&run);
    if (rc == 0) {
        opts.color = strcmp(run.format, "text") == 0 && tw_cli_color_auto(run.out.f, color);
        opts.has_reasons = tw_report_has_table(run.db, "grade_reasons");
        k = tw_report_run(run.db, &scan, &opts, tw_renderer_find(run.format), run.out.f, run.err);
        if (k != 0) {
            fprintf(stderr, "tlsweep report: %s: %s\n", k > 0 ? "usage" : run.db_path, run.err);
            rc = k > 0 ? TW_EXIT_USAGE : TW_EXIT_RUNTIME;
        }
        if (rc == 0)
            rc = tw_cli_run_close_out(&run, 1);
    }
    if (rc == 0) {
        tw_cli_run_warn(&run, &scan);
        tw_cli_run_warnings(&run, &warnings);
    }
    free(trend);
    tw_report_scan_cleanup(&scan);
    tw_cli_run_end(&run);
    return rc;
}
