/*
 * prune_cli.c - `tlsweep prune`: options, help, output and exit codes
 * around tw_prune_run() (store/prune.h, which holds the retention rules).
 *
 * Main thread only.  What prune selects is printed to stdout as the store
 * announces it (one line per scan, before anything is removed), then one
 * summary line, the file sizes and the running scans it left alone.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "base/log.h"
#include "store/model.h"
#include "store/prune.h"

#define PRUNE_KEEP_MAX 1000000000 /* the largest --keep */
#define PRUNE_DAYS_MAX 1000000    /* the largest --older-than */

/* Print s with control bytes replaced (labels are user text). */
static void
prune_put_safe(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* tw_prune_scan_cb: one line per selected scan; arg is the int dry_run. */
static void
prune_print_scan(void *arg, int64_t scan_id, const char *label, const char *started_at,
                 const char *status, int64_t n_results)
{
    const int *dry_run = arg;

    printf("%s scan %" PRId64 " (started %s, %s, %" PRId64 " results",
           *dry_run ? "would remove" : "removing", scan_id, started_at ? started_at : "?",
           status ? status : "?", n_results);
    if (label != NULL) {
        fputs(", label '", stdout);
        prune_put_safe(stdout, label);
        fputc('\'', stdout);
    }
    fputs(")\n", stdout);
}

/* What was removed, the file sizes, and what was left alone. */
static void
prune_print_stats(const char *db, const struct tw_prune_opts *o, const struct tw_prune_stats *st)
{
    printf("%s %" PRIu64 " scan(s), %" PRIu64 " result(s), %" PRIu64 " chain row(s), %" PRIu64
           " other row(s), %" PRIu64 " certificate(s)\n",
           o->dry_run ? "would remove" : "removed", st->scans, st->results, st->chain_rows,
           st->other_rows, st->certs);
    if (!o->dry_run)
        printf("database %s: %" PRId64 " -> %" PRId64 " bytes%s\n", db, st->bytes_before,
               st->bytes_after,
               st->vacuumed      ? " (VACUUM)"
               : st->running > 0 ? " (VACUUM skipped: a scan is running)"
               : !o->vacuum      ? " (--no-vacuum: freed pages are reused by later scans)"
                                 : "");
    if (st->running > 0)
        printf("left alone: %d running scan(s)\n", st->running);
}

static void
prune_usage(FILE *f)
{
    fprintf(f, "usage: tlsweep prune [--db PATH] --keep N | --older-than DAYS [--dry-run]\n"
               "                     [--no-vacuum] [--now TIME] [--force]\n"
               "\n"
               "Delete old scans with their results and chains, then the certificates\n"
               "no scan refers to any more, then rebuild the file (VACUUM).  A scan whose\n"
               "status is 'running' is never touched or counted.\n"
               "\n"
               "Options:\n"
               "  --db PATH          database (default ./tlsweep.db)\n"
               "  --keep N           keep the newest N finished scans, remove the rest\n"
               "  --older-than DAYS  remove finished scans started more than DAYS days ago\n"
               "                     (with --keep too: remove only what both select)\n"
               "  --dry-run          print what would be removed; change nothing\n"
               "  --force            allow --keep 0 alone, which removes every finished scan\n"
               "  --no-vacuum        leave freed pages in the file for later scans to reuse\n"
               "                     (VACUUM is also skipped while a scan is running)\n"
               "  --now TIME         reference time for --older-than (2027-01-31, @UNIX)\n"
               "  -h, --help         this help\n"
               "\n"
               "Example, nightly: tlsweep prune --db /var/lib/tlsweep/tlsweep.db --keep 30\n"
               "\n"
               "Exit codes: 0 done (also when nothing was old enough), 2 usage error,\n"
               "            3 database error.\n");
}

int
tw_prune_main(int argc, char **argv)
{
    enum { OPT_DB = 256, OPT_KEEP, OPT_OLDER, OPT_DRY, OPT_NO_VACUUM, OPT_NOW, OPT_FORCE };
    static const struct option prune_options[] = {
        {"db", required_argument, NULL, OPT_DB},
        {"keep", required_argument, NULL, OPT_KEEP},
        {"older-than", required_argument, NULL, OPT_OLDER},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"no-vacuum", no_argument, NULL, OPT_NO_VACUUM},
        {"now", required_argument, NULL, OPT_NOW},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct tw_prune_opts o = {.keep = -1, .older_than = -1, .now = time(NULL), .vacuum = 1};
    struct tw_prune_stats stats;
    const char *db = "tlsweep.db";
    char err[TW_ERRLEN] = "";
    int64_t now;
    int force = 0;
    int opt;

    optind = 1;
    opterr = 0; /* tw_cli_opt_error prints "tlsweep prune: ..." instead */
    while ((opt = getopt_long(argc, argv, ":h", prune_options, NULL)) != -1) {
        switch (opt) {
        case OPT_DB:
            db = optarg;
            break;
        case OPT_KEEP:
            if (tw_cli_parse_count(optarg, PRUNE_KEEP_MAX, &o.keep) < 0) {
                fprintf(stderr, "tlsweep prune: --keep wants a whole number 0..%d, not '%.40s'\n",
                        PRUNE_KEEP_MAX, optarg);
                return TW_EXIT_USAGE;
            }
            break;
        case OPT_OLDER:
            if (tw_cli_parse_count(optarg, PRUNE_DAYS_MAX, &o.older_than) < 0) {
                fprintf(stderr, "tlsweep prune: --older-than wants whole days 0..%d, not '%.40s'\n",
                        PRUNE_DAYS_MAX, optarg);
                return TW_EXIT_USAGE;
            }
            break;
        case OPT_DRY:
            o.dry_run = 1;
            break;
        case OPT_NO_VACUUM:
            o.vacuum = 0;
            break;
        case OPT_FORCE:
            force = 1;
            break;
        case OPT_NOW:
            if (tw_time_parse(optarg, &now) < 0) {
                fprintf(stderr, "tlsweep prune: --now: cannot parse '%.40s'\n", optarg);
                return TW_EXIT_USAGE;
            }
            o.now = (time_t)now;
            break;
        case 'h':
            prune_usage(stdout);
            return TW_EXIT_OK;
        default:
            return tw_cli_opt_error("prune", opt, argv);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tlsweep prune: unexpected argument '%.100s'\n", argv[optind]);
        prune_usage(stderr);
        return TW_EXIT_USAGE;
    }
    if (o.keep < 0 && o.older_than < 0) {
        fprintf(stderr, "tlsweep prune: give --keep N or --older-than DAYS\n");
        prune_usage(stderr);
        return TW_EXIT_USAGE;
    }
    /* Issue 16: --keep 0 alone empties the history; a typo for --keep 10
     * must not do that silently.  With --older-than it removes only old
     * scans, and --dry-run removes nothing, so neither needs --force. */
    if (o.keep == 0 && o.older_than < 0 && !o.dry_run && !force) {
        fprintf(stderr, "tlsweep prune: --keep 0 removes every finished scan; add --force to do "
                        "that (or --dry-run to see what it would remove)\n");
        return TW_EXIT_USAGE;
    }
    if (tw_prune_run(db, &o, prune_print_scan, &o.dry_run, &stats, err) < 0) {
        fprintf(stderr, "tlsweep prune: %s\n", err);
        return TW_EXIT_RUNTIME;
    }
    prune_print_stats(db, &o, &stats);
    return TW_EXIT_OK;
}
