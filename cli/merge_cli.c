/*
 * merge_cli.c - `tlsweep merge OUT.db IN.db...`: options, help and exit
 * codes around tw_store_merge() (store/merge.h).
 *
 * Main thread only; it checks that every input is readable before the
 * store opens anything, so a typo is a usage error, not a database one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "base/log.h"
#include "store/merge.h"

static void
merge_usage(FILE *f)
{
    fprintf(f,
            "usage: tlsweep merge [--allow-missing] [--any] OUT.db IN.db...\n"
            "\n"
            "Combine the databases of a sharded scan (tlsweep scan --shard K/N on N\n"
            "machines or processes) into one scan in OUT.db, created if needed.\n"
            "\n"
            "The newest scan of each input is used.  The inputs must be shards of one\n"
            "scan: the same label and target set, the same N, no shard twice; otherwise\n"
            "nothing is written and the message names the files that disagree.\n"
            "\n"
            "The set must be complete: all N shards present and each scan 'done'.  A\n"
            "missing shard, or one whose scan was killed or interrupted, is refused\n"
            "with a message naming it, unless --allow-missing is given: then the\n"
            "shards there are are merged and the scan is marked partial\n"
            "(scans.partial = 1), which report and diff show.\n"
            "\n"
            "Certificates are stored once.  Merging the same shards again replaces\n"
            "the earlier merge instead of adding a second scan.\n"
            "\n"
            "With --any the inputs need not be shards of one scan: the newest scans of\n"
            "any databases (other sites, other target lists) are combined into one\n"
            "scan, provided their target sets are disjoint.  An endpoint (host, port,\n"
            "SNI, STARTTLS) that two inputs both scanned is refused, naming both files;\n"
            "nothing is written.  The merged scan keeps the inputs' common label (else\n"
            "'merged').\n"
            "\n"
            "Options:\n"
            "  --allow-missing  merge an incomplete shard set (--any: unfinished scans),\n"
            "                   marked partial\n"
            "  --any            merge scans of disjoint target sets, not only shards\n"
            "\n"
            "Example:\n"
            "  for k in 1 2 3 4; do tlsweep scan --shard $k/4 --db s$k.db hosts.txt & done; wait\n"
            "  tlsweep merge estate.db s1.db s2.db s3.db s4.db && tlsweep report --db estate.db\n"
            "  tlsweep merge --any all.db paris.db tokyo.db\n"
            "\n"
            "Exit codes: 0 merged (also partial, with --allow-missing), 2 usage,\n"
            "mismatched inputs or an incomplete shard set, 3 database failure.\n");
}

int
tw_merge_main(int argc, char **argv)
{
    static const struct option merge_options[] = {
        {"allow-missing", no_argument, NULL, 'm'},
        {"any", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char err[TW_ERRLEN] = "";
    unsigned flags = 0;
    int opt;

    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", merge_options, NULL)) != -1) {
        switch (opt) {
        case 'm':
            flags |= TW_MERGE_ALLOW_MISSING;
            break;
        case 'a':
            flags |= TW_MERGE_ANY;
            break;
        case 'h':
            merge_usage(stdout);
            return TW_EXIT_OK;
        default:
            fprintf(stderr, "Try 'tlsweep merge --help'.\n");
            return TW_EXIT_USAGE;
        }
    }
    if (argc - optind < 2) {
        merge_usage(stderr);
        return TW_EXIT_USAGE;
    }
    for (int i = optind + 1; i < argc; i++) {
        if (access(argv[i], R_OK) != 0) {
            fprintf(stderr, "tlsweep merge: %s: %s\n", argv[i], strerror(errno));
            return TW_EXIT_USAGE;
        }
    }
    if (tw_store_merge(argv[optind], (const char *const *)(argv + optind + 1),
                       (size_t)(argc - optind - 1), flags, err) < 0) {
        fprintf(stderr, "tlsweep merge: %s\n", err);
        /* Mismatched or incomplete inputs are the user's to fix; anything
         * else is SQLite's. */
        if (strncmp(err, "incomplete shard set", 20) == 0 ||
            strncmp(err, "incomplete input", 16) == 0 ||
            strncmp(err, "target sets overlap", 19) == 0)
            return TW_EXIT_USAGE;
        return strstr(err, "database") || strstr(err, "disk") || strstr(err, "locked")
                   ? TW_EXIT_RUNTIME
                   : TW_EXIT_USAGE;
    }
    if (err[0] != '\0')
        fprintf(stderr, "tlsweep merge: warning: %s; merged as partial (scans.partial = 1)\n", err);
    fprintf(stderr, "tlsweep merge: %d database(s) merged into %s\n", argc - optind - 1,
            argv[optind]);
    return TW_EXIT_OK;
}
