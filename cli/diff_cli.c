/*
 * diff_cli.c - `tlsweep diff`: options, help and exit codes.  The join of
 * the two scans is report/diff.c's (tw_diff_run), the formats are
 * report/diff_render.c's.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli_util.h"
#include "report/diff.h"
#include "report/diff_render.h"
#include "report/query.h"
#include "cli/cli.h"
#include "store/store.h"

static void
diff_usage(FILE *f)
{
    fputs("usage: tlsweep diff [--db PATH] [OLD [NEW]] [--format FORMAT] [-o FILE]\n"
          "                    [--fail-on regression] [--expiry-threshold DAYS]\n"
          "\n"
          "Compare two scans.  Endpoints are matched by (host, port, sni); the report\n"
          "lists new and vanished endpoints, failures that appeared or were fixed,\n"
          "class changes, grades up and down, rotated certificates (with old and new\n"
          "expiry), certificates newly expiring within the threshold, and protocol or\n"
          "cipher changes, summary counts first.\n"
          "\n"
          "OLD and NEW are scan ids.  Default: the two latest scans with status done\n"
          "(interrupted scans are never picked by default); with only OLD, NEW is the\n"
          "latest done scan.\n"
          "\n"
          "Options:\n"
          "  --db PATH                database (default ./tlsweep.db), opened read-only\n"
          "  --format FORMAT          output format (default text), see below\n"
          "  -o, --output FILE        write to FILE (replaced atomically)\n"
          "  --fail-on regression     exit 1 when NEW is worse: a new failure, a class\n"
          "                           earlier in DESIGN §3 order, a lower grade, or a leaf\n"
          "                           now expiring within the threshold that was not before\n"
          "  --expiry-threshold DAYS  threshold for the expiry rule (default 14); days are\n"
          "                           counted from each scan's own time\n"
          "  -h, --help               this help\n"
          "\n"
          "Formats:\n",
          f);
    for (size_t i = 0; i < tw_n_diff_renderers; i++)
        fprintf(f, "  %-6s %s\n", tw_diff_renderers[i].name, tw_diff_renderers[i].help);
    fputs("\n"
          "Examples:\n"
          "  tlsweep diff                              the two latest done scans\n"
          "  tlsweep diff 41 42 --fail-on regression   gate a change in CI\n"
          "  tlsweep diff --format json | jq '.changes[] | select(.regression)'\n"
          "\n"
          "Exit codes: 0 no regression (or no --fail-on), 1 regression found with --fail-on,\n"
          "            2 usage error (bad option, format or scan id), 3 database or output "
          "error.\n",
          f);
}

static const char *
diff_format_name(size_t i)
{
    return tw_diff_renderers[i].name;
}

/* OLD and NEW from the operands (none: the two latest done scans; OLD
 * only: NEW is the latest done scan).  Returns like tw_report_scan_find. */
static int
diff_scans(struct tw_cli_run *run, int nargs, char **args, struct tw_scan_info *old_scan,
           struct tw_scan_info *new_scan)
{
    sqlite3 *db = tw_store_db(run->st);
    int k;

    if (nargs == 0) {
        k = tw_report_scan_done_nth(db, 1, old_scan, run->err);
        return k != 0 ? k : tw_report_scan_done_nth(db, 0, new_scan, run->err);
    }
    k = tw_report_scan_find(db, args[0], INT64_MIN, old_scan, run->err);
    if (k != 0)
        return k;
    if (nargs == 2)
        return tw_report_scan_find(db, args[1], INT64_MIN, new_scan, run->err);
    return tw_report_scan_done_nth(db, 0, new_scan, run->err);
}

int
tw_diff_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"fail-on", required_argument, NULL, 'F'},
        {"expiry-threshold", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tw_cli_run run;
    struct tw_scan_info old_scan, new_scan;
    struct tw_diff_report d;
    int fail_on = 0;
    int rc;
    int c;

    tw_cli_run_init(&run, "diff");
    memset(&old_scan, 0, sizeof(old_scan));
    memset(&new_scan, 0, sizeof(new_scan));
    memset(&d, 0, sizeof(d));
    d.threshold = 14;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'F':
            if (strcmp(optarg, "regression") != 0) {
                fprintf(stderr, "tlsweep diff: --fail-on: only 'regression' is known\n");
                return TW_EXIT_USAGE;
            }
            fail_on = 1;
            break;
        case 't':
            if (tw_cli_parse_int64(optarg, 0, 100000, &d.threshold) < 0) {
                fprintf(stderr,
                        "tlsweep diff: --expiry-threshold: '%s' is not a number of "
                        "days\n",
                        optarg);
                return TW_EXIT_USAGE;
            }
            break;
        default:
            rc = tw_cli_run_option(&run, c, optarg, diff_usage);
            if (rc >= 0)
                return rc;
            break;
        }
    }
    if (argc - optind > 2) {
        fprintf(stderr, "tlsweep diff: at most two scans (OLD NEW), got '%s'\n", argv[optind + 2]);
        return TW_EXIT_USAGE;
    }
    rc = tw_cli_run_format(&run, diff_format_name, tw_n_diff_renderers);
    if (rc == 0)
        rc = tw_cli_run_open_db(&run);
    if (rc == 0)
        rc = tw_cli_run_scan(&run,
                             diff_scans(&run, argc - optind, argv + optind, &old_scan, &new_scan));
    if (rc == 0)
        rc = tw_cli_run_open_out(&run);
    if (rc == 0) {
        d.out = run.out.f;
        d.old = &old_scan;
        d.new_ = &new_scan;
        if (tw_diff_run(tw_store_db(run.st), &d, tw_diff_renderer_find(run.format), run.err) < 0) {
            fprintf(stderr, "tlsweep diff: %s: %s\n", run.db_path, run.err);
            rc = TW_EXIT_RUNTIME;
        }
        if (rc == 0)
            rc = tw_cli_run_close_out(&run, 1);
    }
    if (rc == 0) {
        tw_cli_run_warn(&run, &old_scan);
        tw_cli_run_warn(&run, &new_scan);
        rc = fail_on && d.n_regressions > 0 ? TW_EXIT_REGRESSION : TW_EXIT_OK;
    }
    tw_report_scan_cleanup(&old_scan);
    tw_report_scan_cleanup(&new_scan);
    tw_cli_run_end(&run);
    return rc;
}
