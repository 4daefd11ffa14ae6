/*
 * report_cli.c - `tlsweep report` and `tlsweep diff` entry points.
 *
 * Placeholder until the report issue lands: both say so and exit 2.
 */
#include <stdio.h>

#include "report/report.h"

int
tw_report_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tlsweep report: not built yet\n");
    return 2;
}

int
tw_diff_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tlsweep diff: not built yet\n");
    return 2;
}
