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
    const char *db_path = "tlsweep.db";
    const char *format = "text";
    const char *out_path = NULL;
    const struct tw_diff_renderer *r = NULL;
    struct tw_scan_info old_scan, new_scan;
    struct tw_cli_out out;
    struct tw_diff_report d;
    struct tw_store *st = NULL;
    int fail_on = 0;
    char err[TW_ERRLEN];
    int rc = 2;
    int c;
    int k;

    memset(&old_scan, 0, sizeof(old_scan));
    memset(&new_scan, 0, sizeof(new_scan));
    memset(&out, 0, sizeof(out));
    memset(&d, 0, sizeof(d));
    d.threshold = 14;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            db_path = optarg;
            break;
        case 'f':
            format = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "regression") != 0) {
                fprintf(stderr, "tlsweep diff: --fail-on: only 'regression' is known\n");
                return 2;
            }
            fail_on = 1;
            break;
        case 't':
            if (tw_cli_parse_int64(optarg, 0, 100000, &d.threshold) < 0) {
                fprintf(stderr,
                        "tlsweep diff: --expiry-threshold: '%s' is not a number of "
                        "days\n",
                        optarg);
                return 2;
            }
            break;
        case 'h':
            diff_usage(stdout);
            return 0;
        default:
            fputs("Run 'tlsweep diff --help' for the options.\n", stderr);
            return 2;
        }
    }
    if (argc - optind > 2) {
        fprintf(stderr, "tlsweep diff: at most two scans (OLD NEW), got '%s'\n", argv[optind + 2]);
        return 2;
    }
    r = tw_diff_renderer_find(format);
    if (r == NULL) {
        fprintf(stderr, "tlsweep diff: unknown format '%s' (formats:", format);
        for (size_t i = 0; i < tw_n_diff_renderers; i++)
            fprintf(stderr, " %s", tw_diff_renderers[i].name);
        fputs(")\n", stderr);
        return 2;
    }
    if (tw_report_open_db(db_path, &st, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", err);
        rc = 3;
        goto out;
    }
    if (argc - optind == 0) {
        k = tw_report_scan_done_nth(tw_store_db(st), 1, &old_scan, err);
        if (k == 0)
            k = tw_report_scan_done_nth(tw_store_db(st), 0, &new_scan, err);
    } else {
        k = tw_report_scan_find(tw_store_db(st), argv[optind], INT64_MIN, &old_scan, err);
        if (k == 0 && argc - optind == 2)
            k = tw_report_scan_find(tw_store_db(st), argv[optind + 1], INT64_MIN, &new_scan, err);
        else if (k == 0)
            k = tw_report_scan_done_nth(tw_store_db(st), 0, &new_scan, err);
    }
    if (k != 0) {
        fprintf(stderr, "tlsweep diff: %s: %s\n", db_path, err);
        rc = k > 0 ? 2 : 3;
        goto out;
    }
    if (tw_cli_out_open(out_path, &out, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", err);
        rc = 3;
        goto out;
    }
    d.out = out.f;
    d.old = &old_scan;
    d.new_ = &new_scan;
    if (tw_diff_run(tw_store_db(st), &d, r, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s: %s\n", db_path, err);
        tw_cli_out_close(&out, 0, err);
        rc = 3;
        goto out;
    }
    if (tw_cli_out_close(&out, 1, err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", err);
        rc = 3;
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const struct tw_scan_info *s = i ? &new_scan : &old_scan;
        if (strcmp(s->status, "done") != 0)
            fprintf(stderr,
                    "tlsweep diff: warning: scan %" PRId64 " is %s: results are "
                    "incomplete\n",
                    s->id, s->status);
    }
    rc = fail_on && d.n_regressions > 0 ? 1 : 0;
out:
    tw_report_scan_cleanup(&old_scan);
    tw_report_scan_cleanup(&new_scan);
    tw_store_close(st);
    return rc;
}
