/*
 * benchargs.c - the bench programs' number arguments (see benchargs.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/benchargs.h"

long
bench_arg_long(const char *prog, const char *opt, const char *s, long lo, long hi)
{
    char *end = NULL;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "%s: %s: '%s' is not a whole number from %ld to %ld\n", prog, opt, s, lo,
                hi);
        exit(2);
    }
    return v;
}
