#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

volatile int tw_log_level = TW_LOG_INFO;

static char log_prog[32] = "tlsweep";

void
tw_log_set_prog(const char *prog)
{
    snprintf(log_prog, sizeof(log_prog), "%s", prog != NULL ? prog : "tlsweep");
}

static const char *const level_names[] = {"error", "warning", "info", "debug", "trace"};

void
tw_log_set_level(int level)
{
    if (level < TW_LOG_ERROR)
        level = TW_LOG_ERROR;
    if (level > TW_LOG_TRACE)
        level = TW_LOG_TRACE;
    tw_log_level = level;
}

static void log_vwrite(int level, const char *comp, int errnum, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void
log_vwrite(int level, const char *comp, int errnum, const char *fmt, va_list ap)
{
    char line[2048];
    size_t n = 0;
    int r;

    r = snprintf(line, sizeof(line), "%s: %s%s%s: ", log_prog, comp ? comp : "", comp ? " " : "",
                 level_names[level < 0   ? 0
                             : level > 4 ? 4
                                         : level]);
    if (r > 0)
        n = (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (r > 0)
        n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    if (errnum && n < sizeof(line) - 1) {
        r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
        if (r > 0)
            n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
    }
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    /* One write per line keeps lines whole across threads. */
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nothing sensible to do */
    }
}

void
tw_log_write(int level, const char *comp, int with_errno, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(level, comp, with_errno ? saved : 0, fmt, ap);
    va_end(ap);
    errno = saved;
}

void
tw_fatal(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(TW_LOG_ERROR, NULL, saved, fmt, ap);
    va_end(ap);
    exit(3);
}

void
tw_fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vwrite(TW_LOG_ERROR, NULL, 0, fmt, ap);
    va_end(ap);
    exit(3);
}

void
tw_errf(char *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err, TW_ERRLEN, fmt, ap);
    va_end(ap);
}
