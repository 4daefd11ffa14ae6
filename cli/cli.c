/*
 * cli.c - option-value parsers shared by the subcommands (see cli.h).
 *
 * Numbers are parsed with the strto* family, checking errno, the end
 * pointer and the range (STYLE G18); the callers word their own messages.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli/cli.h"

int
tw_cli_parse_int64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (int64_t)v;
    return 0;
}

int
tw_cli_parse_count(const char *s, int64_t max, int64_t *out)
{
    /* Digits only: "-0", "+5" and " 5" are not counts a user meant. */
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    return tw_cli_parse_int64(s, 0, max, out);
}

int
tw_cli_parse_seconds(const char *s, double max, double *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    /* !(v > 0) also refuses NaN. */
    if (errno != 0 || end == s || *end != '\0' || !(v > 0.0) || v > max)
        return -1;
    *out = v;
    return 0;
}
