/* lab_cli.c - placeholder until the lab lands: says so and exits 2. */
#include <stdio.h>

#include "tests/lab/lab.h"

int
tw_lab_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "tlsweep lab: not built yet\n");
    return 2;
}
