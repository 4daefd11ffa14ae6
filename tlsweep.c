/*
 * tlsweep.c - the entry point: subcommand dispatch only (DESIGN §1).
 *
 * Each subcommand's options, help and exit codes live in cli/; this file
 * knows only their names, one-line summaries and entry points.
 */
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"

#ifndef TLSWEEP_VERSION
#define TLSWEEP_VERSION "0.1.0"
#endif

struct subcommand {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
};

static const struct subcommand subcommands[] = {
    {"scan", tw_scan_main, "scan TLS endpoints from target files (or stdin) into SQLite"},
    {"report", tw_report_main, "render a scan as text, json, csv, md, html or prom"},
    {"diff", tw_diff_main, "compare two scans; --fail-on regression gates pipelines"},
    {"lab", tw_lab_main, "run a local estate of misconfigured TLS servers (up|down|targets|ca)"},
    {"merge", tw_merge_main, "combine shard databases into one scan"},
    {"prune", tw_prune_main,
     "delete old scans and unused certificates (--keep N, --older-than DAYS)"},
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: tlsweep COMMAND [OPTIONS] [ARGS]\n"
               "\n"
               "Sweep TLS endpoints, say why each handshake fails, store every result\n"
               "in SQLite, and turn scans into grades, reports and diffs.\n"
               "\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(f, "\n"
               "Run 'tlsweep COMMAND --help' for a command's options.\n"
               "Quick look: tlsweep lab up --daemon && tlsweep scan --lab && tlsweep report\n"
               "\n"
               "Exit codes: 0 success, 1 diff found a regression (--fail-on),\n"
               "            2 usage or input error, 3 runtime failure,\n"
               "            4 scan interrupted (finish it with 'tlsweep scan --resume').\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TW_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TW_EXIT_OK;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("tlsweep %s\n", TLSWEEP_VERSION);
        return TW_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) {
            char prog[32];

            /* Log lines say "tlsweep CMD:" like the command's own messages. */
            snprintf(prog, sizeof(prog), "tlsweep %s", subcommands[i].name);
            tw_log_set_prog(prog);
            return subcommands[i].main(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "tlsweep: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return TW_EXIT_USAGE;
}
