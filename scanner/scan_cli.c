/* scan_cli.c - `tlsweep scan` / `tlsweep merge` option parsing (being written). */
#include <stdio.h>

#include "scanner/scan.h"

int
tw_scan_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tlsweep scan: not built yet\n");
    return 2;
}

int
tw_merge_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tlsweep merge: not built yet\n");
    return 2;
}
