/*
 * test_log.c - base/log: each line is "PROG: COMPONENT LEVEL: text", PROG
 * as tw_log_set_prog set it ("tlsweep" until then), written whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/log.h"

/* What one tw_warnx() writes to stderr, captured through a pipe. */
static void
capture_warnx(char *out, size_t len, const char *msg)
{
    int fds[2], saved;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
    tw_warnx("unit", "%s", msg);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    close(fds[1]);
    n = read(fds[0], out, len - 1);
    close(fds[0]);
    assert_true(n > 0);
    out[n] = '\0';
}

static void
test_log_prefix_default_and_set(void **state)
{
    char line[256];

    (void)state;
    tw_log_set_level(TW_LOG_INFO);
    capture_warnx(line, sizeof(line), "first");
    assert_string_equal(line, "tlsweep: unit warning: first\n");
    tw_log_set_prog("tlsweep scan");
    capture_warnx(line, sizeof(line), "second");
    assert_string_equal(line, "tlsweep scan: unit warning: second\n");
    /* At most 31 bytes of the name are kept; NULL restores the default. */
    tw_log_set_prog("tlsweep 0123456789012345678901234567890123456789");
    capture_warnx(line, sizeof(line), "third");
    assert_string_equal(line, "tlsweep 01234567890123456789012: unit warning: third\n");
    tw_log_set_prog(NULL);
    capture_warnx(line, sizeof(line), "fourth");
    assert_string_equal(line, "tlsweep: unit warning: fourth\n");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_log_prefix_default_and_set),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
