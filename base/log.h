/*
 * log.h - one-line diagnostics on stderr, in the OpenBSD shape.
 *
 * Levels are error, warn, info, debug, trace.  The level check happens in
 * the macro before any argument is evaluated, so trace lines on hot paths
 * cost one comparison when tracing is off.  Each line is written with one
 * write(2) so that lines from several threads never interleave.
 *
 * tw_fatal()/tw_fatalx() exit(3) and may only be used from main, option
 * parsing and startup (STYLE G13); tw_warn() appends strerror(errno),
 * tw_warnx() does not.
 */
#ifndef TW_STORE_BASE_LOG_H
#define TW_STORE_BASE_LOG_H

#include <stdarg.h>

enum tw_log_level {
    TW_LOG_ERROR = 0,
    TW_LOG_WARN = 1,
    TW_LOG_INFO = 2,
    TW_LOG_DEBUG = 3,
    TW_LOG_TRACE = 4,
};

/* The process-wide level; set once at startup, read everywhere. */
extern volatile int tw_log_level;

#define TW_ERRLEN 512

void tw_log_set_level(int level);
/* The name each line starts with ("tlsweep" until set; tlsweep.c sets
 * "tlsweep CMD" before it runs a subcommand, so that log lines carry the
 * same prefix as the command's other messages).  Copied, at most 31 bytes;
 * set once at startup, before any thread starts. */
void tw_log_set_prog(const char *prog);
void tw_log_write(int level, const char *comp, int with_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define tw_log(level, comp, ...)                                                                   \
    do {                                                                                           \
        if ((level) <= tw_log_level)                                                               \
            tw_log_write((level), (comp), 0, __VA_ARGS__);                                         \
    } while (0)
#define tw_debug(comp, ...) tw_log(TW_LOG_DEBUG, comp, __VA_ARGS__)
#define tw_trace(comp, ...) tw_log(TW_LOG_TRACE, comp, __VA_ARGS__)
#define tw_info(comp, ...) tw_log(TW_LOG_INFO, comp, __VA_ARGS__)
#define tw_warnx(comp, ...) tw_log(TW_LOG_WARN, comp, __VA_ARGS__)
#define tw_warn(comp, ...)                                                                         \
    do {                                                                                           \
        if (TW_LOG_WARN <= tw_log_level)                                                           \
            tw_log_write(TW_LOG_WARN, (comp), 1, __VA_ARGS__);                                     \
    } while (0)

__attribute__((noreturn, format(printf, 1, 2))) void tw_fatal(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void tw_fatalx(const char *fmt, ...);

/* Format a human message into a caller's err[TW_ERRLEN] buffer (may be NULL). */
void tw_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* TW_STORE_BASE_LOG_H */
