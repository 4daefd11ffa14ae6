/*
 * diff_cli.c - `tlsweep diff`: options, help and exit codes.  The join of
 * the two scans is report/diff.c's (tw_diff_run), the formats are
 * report/diff_render.c's.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli_util.h"
#include "report/diff.h"
#include "report/diff_render.h"
#include "report/query.h"
#include "tls/mozilla.h"
#include "cli/cli.h"

static void
diff_usage(FILE *f)
{
    fputs("usage: tlsweep diff [--db PATH] [OLD [NEW]] [--format FORMAT] [-o FILE]\n"
          "                    [--fail-on regression,vanished[:N%],noncompliant[:PROFILE]]\n"
          "                    [--expiry-threshold DAYS]\n"
          "       tlsweep diff OLD.db NEW.db [OPTIONS]\n"
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
          "With two database files instead (an operand that is not a number or\n"
          "'latest'), OLD is the latest done scan of OLD.db and NEW the latest done\n"
          "scan of NEW.db (e.g. two sites' databases, or last month's copy).\n"
          "\n"
          "Options:\n"
          "  --db PATH                database (default ./tlsweep.db), opened read-only\n"
          "  --format FORMAT          output format (default text), see below\n"
          "  -o, --output FILE        write to FILE (replaced atomically)\n"
          "  --fail-on LIST           exit 1 when a condition of the comma-separated LIST\n"
          "                           holds (repeatable):\n"
          "                           regression: NEW is worse: a new failure, a class\n"
          "                             earlier in the class table in README.md, a lower\n"
          "                             grade, or a leaf now expiring within the\n"
          "                             threshold that was not before\n"
          "                           vanished[:N%]: more than N % (default 10) of OLD's\n"
          "                             endpoints are missing from NEW (an empty or cut\n"
          "                             target list, an interrupted scan); any --fail-on\n"
          "                             that does not name it implies vanished:10%\n"
          "                             (vanished:100% turns it off)\n"
          "                           noncompliant[:PROFILE]: an endpoint newly fails the\n"
          "                             Mozilla Server Side TLS profile PROFILE (modern,\n"
          "                             intermediate or old; default intermediate): it\n"
          "                             fails it in NEW and did not in OLD (or is new)\n"
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
          "  tlsweep diff --fail-on regression,vanished:5%\n"
          "  tlsweep diff lastweek.db tlsweep.db       the latest scans of two files\n"
          "  tlsweep diff --fail-on noncompliant:intermediate\n"
          "  tlsweep diff --format json | jq '.changes[] | select(.regression)'\n"
          "\n"
          "Warnings go to stderr and into the text, md, html and json formats (JSON:\n"
          "\"warnings\"), whatever --fail-on says: more than N % (without --fail-on: 10 %)\n"
          "of OLD's endpoints vanished; the scans' target lists (targets_sha256) or trust\n"
          "stores (trust_sha256) differ; a scan newer than NEW is interrupted or running;\n"
          "a scan shown is a partial merge.\n"
          "\n"
          "Exit codes: 0 nothing --fail-on names (or no --fail-on), 1 a --fail-on condition\n"
          "            holds, 2 usage error (bad option, format or scan id), 3 database or\n"
          "            output error.\n",
          f);
}

/* The --fail-on conditions. */
struct diff_fail_on {
    int is_set;                          /* any --fail-on given */
    int regression;                      /* regression named */
    int64_t vanished;                    /* vanished:N named (N), or -1 */
    int noncompliant[TW_MOZILLA__COUNT]; /* noncompliant:PROFILE named (issue 13) */
};

/* Add one --fail-on LIST ("regression,vanished:5%").  Returns 0 or -1
 * after a message. */
static int
diff_parse_fail_on(const char *list, struct diff_fail_on *fo)
{
    const char *p = list;

    fo->is_set = 1;
    do {
        size_t n = strcspn(p, ",");
        char item[64];

        if (n == 0 || n >= sizeof(item))
            goto bad;
        memcpy(item, p, n);
        item[n] = '\0';
        if (strcmp(item, "regression") == 0) {
            fo->regression = 1;
        } else if (strcmp(item, "vanished") == 0) {
            fo->vanished = 10;
        } else if (strncmp(item, "vanished:", 9) == 0) {
            size_t len = strlen(item + 9);

            if (len > 0 && item[9 + len - 1] == '%')
                item[9 + len - 1] = '\0';
            if (tw_cli_parse_int64(item + 9, 0, 100, &fo->vanished) < 0) {
                fprintf(stderr,
                        "tlsweep diff: --fail-on: '%s': N must be 0 to 100 (a percentage)\n", list);
                return -1;
            }
        } else if (strcmp(item, "noncompliant") == 0) {
            fo->noncompliant[TW_MOZILLA_INTERMEDIATE] = 1;
        } else if (strncmp(item, "noncompliant:", 13) == 0) {
            int prof = tw_mozilla_profile_from_name(item + 13);

            if (prof < 0) {
                fprintf(stderr,
                        "tlsweep diff: --fail-on: '%s': PROFILE must be modern, intermediate or "
                        "old\n",
                        list);
                return -1;
            }
            fo->noncompliant[prof] = 1;
        } else {
            goto bad;
        }
        p += n;
    } while (*p++ == ',');
    return 0;
bad:
    fprintf(stderr,
            "tlsweep diff: --fail-on: '%s': expected a comma-separated list of regression, "
            "vanished[:N%%] and noncompliant[:PROFILE]\n",
            list);
    return -1;
}

static const char *
diff_format_name(size_t i)
{
    return tw_diff_renderers[i].name;
}

/* Whether an operand names a scan ("latest" or a number); anything else is a
 * database file (diff OLD.db NEW.db). */
static int
diff_is_scan_spec(const char *s)
{
    if (strcmp(s, "latest") == 0)
        return 1;
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* The two-file form: OLD is run->db's (OLD.db's) latest done scan, NEW the
 * latest done scan of *new_db, opened here from new_path.  Returns like
 * tw_cli_run_scan, after a message naming the file. */
static int
diff_two_files(struct tw_cli_run *run, const char *new_path, sqlite3 **new_db,
               struct tw_scan_info *old_scan, struct tw_scan_info *new_scan)
{
    int k;

    k = tw_report_scan_done_nth(run->db, 0, old_scan, run->err);
    if (k != 0)
        return tw_cli_run_scan(run, k);
    if (tw_report_open_db(new_path, new_db, run->err) < 0) {
        fprintf(stderr, "tlsweep diff: %s\n", run->err);
        return TW_EXIT_RUNTIME;
    }
    k = tw_report_scan_done_nth(*new_db, 0, new_scan, run->err);
    if (k != 0) {
        fprintf(stderr, "tlsweep diff: %s: %s\n", new_path, run->err);
        return k > 0 ? TW_EXIT_USAGE : TW_EXIT_RUNTIME;
    }
    return 0;
}

/* The two-file form's warnings on stderr: those of NEW.db's own scans
 * ([from, to)) name NEW.db in their resume hints, the others OLD.db. */
static void
diff_two_files_warn(const struct tw_cli_run *run, const char *new_path,
                    const struct tw_report_warnings *ws, size_t from, size_t to)
{
    char text[PATH_MAX + 512];

    for (size_t i = 0; i < ws->n; i++) {
        tw_report_warning_text(&ws->w[i], run->cmd, i >= from && i < to ? new_path : run->db_path,
                               text, sizeof(text));
        fprintf(stderr, "tlsweep %s: warning: %s\n", run->cmd, text);
    }
}

/* OLD and NEW from the operands (none: the two latest done scans; OLD
 * only: NEW is the latest done scan).  Returns like tw_report_scan_find. */
static int
diff_scans(struct tw_cli_run *run, int nargs, char **args, struct tw_scan_info *old_scan,
           struct tw_scan_info *new_scan)
{
    sqlite3 *db = run->db;
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
    const struct tw_scan_info *shown[2];
    struct tw_report_warnings warnings;
    struct tw_diff_report d;
    struct diff_fail_on fail_on = {0, 0, -1, {0}};
    sqlite3 *new_db = NULL;
    size_t new_from = 0, new_to = 0; /* NEW.db's own warnings */
    int two_files = 0, db_given = 0;
    int rc;
    int c;

    tw_cli_run_init(&run, "diff");
    memset(&old_scan, 0, sizeof(old_scan));
    memset(&new_scan, 0, sizeof(new_scan));
    memset(&d, 0, sizeof(d));
    memset(&warnings, 0, sizeof(warnings));
    d.threshold = 14;
    run.argv = argv;
    optind = 1;
    opterr = 0; /* tw_cli_opt_error prints "tlsweep CMD: ..." instead */
    while ((c = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
        switch (c) {
        case 'F':
            if (diff_parse_fail_on(optarg, &fail_on) < 0)
                return TW_EXIT_USAGE;
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
            db_given |= c == 'd';
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
    for (int i = optind; i < argc; i++)
        two_files |= !diff_is_scan_spec(argv[i]);
    if (two_files && (argc - optind != 2 || db_given)) {
        fprintf(stderr,
                "tlsweep diff: '%s' is not a scan id: give two scan ids (with --db) or two"
                " database files OLD.db NEW.db (without --db)\n",
                argv[argc - 1]);
        return TW_EXIT_USAGE;
    }
    if (two_files)
        run.db_path = argv[optind];
    rc = tw_cli_run_format(&run, diff_format_name, tw_n_diff_renderers);
    if (rc == 0)
        rc = tw_cli_run_open_db(&run);
    if (rc == 0 && two_files)
        rc = diff_two_files(&run, argv[optind + 1], &new_db, &old_scan, &new_scan);
    else if (rc == 0)
        rc = tw_cli_run_scan(&run,
                             diff_scans(&run, argc - optind, argv + optind, &old_scan, &new_scan));
    if (rc == 0) {
        shown[0] = &old_scan;
        shown[1] = &new_scan;
        /* Each file's newer incomplete scans are told about its own scan. */
        if (tw_report_warnings_scan(run.db, shown, new_db != NULL ? 1 : 2, &warnings, run.err) <
                0 ||
            (new_db != NULL &&
             (new_from = warnings.n,
              tw_report_warnings_scan(new_db, shown + 1, 1, &warnings, run.err) < 0))) {
            fprintf(stderr, "tlsweep diff: %s: %s\n", run.db_path, run.err);
            rc = TW_EXIT_RUNTIME;
        }
        new_to = warnings.n;
        tw_diff_scan_warnings(&old_scan, &new_scan, &warnings);
    }
    if (rc == 0)
        rc = tw_cli_run_open_out(&run);
    if (rc == 0) {
        d.out = run.out.f;
        d.old = &old_scan;
        d.new_ = &new_scan;
        d.warnings = &warnings;
        d.new_db = new_db;
        /* Any --fail-on implies vanished:10% unless it names its own N;
         * without one, more than 10 % vanished is still a warning. */
        d.vanished_pct = fail_on.vanished >= 0 ? fail_on.vanished : 10;
        if (tw_diff_run(run.db, &d, tw_diff_renderer_find(run.format), run.err) < 0) {
            fprintf(stderr, "tlsweep diff: %s: %s\n", run.db_path, run.err);
            rc = TW_EXIT_RUNTIME;
        }
        if (rc == 0)
            rc = tw_cli_run_close_out(&run, 1);
    }
    if (rc == 0) {
        tw_cli_run_warn(&run, &old_scan);
        tw_cli_run_warn(&run, &new_scan);
        if (new_db != NULL)
            diff_two_files_warn(&run, argv[optind + 1], &warnings, new_from, new_to);
        else
            tw_cli_run_warnings(&run, &warnings);
        rc = TW_EXIT_OK;
        if (fail_on.regression && d.n_regressions > 0)
            rc = TW_EXIT_REGRESSION;
        if (fail_on.is_set && d.is_vanished_over)
            rc = TW_EXIT_REGRESSION;
        for (int p = 0; p < TW_MOZILLA__COUNT; p++)
            if (fail_on.noncompliant[p] && d.noncompliant_new[p] > 0)
                rc = TW_EXIT_REGRESSION;
    }
    tw_report_scan_cleanup(&old_scan);
    tw_report_scan_cleanup(&new_scan);
    tw_report_close_db(new_db);
    tw_cli_run_end(&run);
    return rc;
}
