/*
 * test_escape.c - per-format escaping of hostile bytes: every escaper on a
 * table of hostile inputs, UTF-8 decoding edge cases.  (Shell quoting is
 * the reproduce command's: tests/unit/test_model.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report/escape.h"

typedef void escaper(FILE *f, const char *s);

/* Run one escaper into a heap string (caller frees). */
static char *
run(escaper *e, const char *in)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);

    assert_non_null(m);
    e(m, in);
    fclose(m);
    return buf;
}

static void
check(escaper *e, const char *in, const char *want)
{
    char *got = run(e, in);

    assert_string_equal(got, want);
    free(got);
}

static void
test_escape_utf8_decode(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        uint32_t cp;
    } vec[] = {
        {"A", 1, 'A'},
        {"\xC3\xA9", 2, 0xE9},
        {"\xE2\x82\xAC", 3, 0x20AC},
        {"\xF0\x9F\x94\x92", 4, 0x1F512},
        {"\xC0\xAF", 1, TW_UTF8_INVALID},         /* overlong '/' */
        {"\xE0\x80\xAF", 1, TW_UTF8_INVALID},     /* overlong */
        {"\xED\xA0\x80", 1, TW_UTF8_INVALID},     /* surrogate */
        {"\xF4\x90\x80\x80", 1, TW_UTF8_INVALID}, /* > U+10FFFF */
        {"\xE2\x82", 1, TW_UTF8_INVALID},         /* truncated */
        {"\x80", 1, TW_UTF8_INVALID},             /* lone continuation */
        {"\xFF", 1, TW_UTF8_INVALID},
        {"\xC2\x9B", 2, 0x9B}, /* C1 CSI decodes (and is dropped later) */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        uint32_t cp = 0;
        size_t n = tw_utf8_decode((const unsigned char *)vec[i].in, strlen(vec[i].in), &cp);
        assert_int_equal(n, vec[i].len);
        assert_int_equal(cp, vec[i].cp);
    }
    assert_int_equal(tw_utf8_decode((const unsigned char *)"", 0, &(uint32_t){0}), 0);
}

static void
test_escape_term_strips_controls(void **state)
{
    (void)state;
    check(tw_escape_term, "plain host.example", "plain host.example");
    check(tw_escape_term, NULL, "");
    check(tw_escape_term, "a\x1b[31mred\x1b[0m", "ared");                          /* CSI */
    check(tw_escape_term, "x\x1b]0;title\x07y", "xy");                             /* OSC ... BEL */
    check(tw_escape_term, "x\x1b]8;;http://e\x1b\\link\x1b]8;;\x1b\\y", "xlinky"); /* OSC 8 */
    check(tw_escape_term, "x\x1bPdcs\x1b\\y", "xy");                               /* DCS ... ST */
    check(tw_escape_term,
          "x\x1b"
          "cy",
          "xy");                         /* RIS */
    check(tw_escape_term, "x\x1b", "x"); /* lone ESC at end */
    check(tw_escape_term,
          "a\x01\x7f"
          "b",
          "ab"); /* C0, DEL */
    check(tw_escape_term,
          "a\xc2\x9b"
          "31mb",
          "a31mb"); /* C1 CSI dropped */
    check(tw_escape_term, "a\tb\nc\rd", "a b c d");
    check(tw_escape_term,
          "\xe2\x80\xae"
          "txt.exe",
          "txt.exe");                                               /* RLO override */
    check(tw_escape_term, "caf\xc3\xa9", "caf\xc3\xa9");            /* valid UTF-8 kept */
    check(tw_escape_term, "bad\xff\xc0\xaf", "bad\\xFF\\xC0\\xAF"); /* invalid as \xNN */
}

static void
test_escape_html(void **state)
{
    (void)state;
    check(tw_escape_html, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;");
    check(tw_escape_html, "<img src=x onerror=\"a('b')\">",
          "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;");
    check(tw_escape_html, "a & b", "a &amp; b");
    check(tw_escape_html, "x\x1b[1my\x01", "x[1my");
    check(tw_escape_html, "\xff", "\xef\xbf\xbd");
    check(tw_escape_html, NULL, "");
}

static void
test_escape_json(void **state)
{
    (void)state;
    check(tw_escape_json, NULL, "null");
    check(tw_escape_json, "", "\"\"");
    check(tw_escape_json, "a\"b\\c", "\"a\\\"b\\\\c\"");
    check(tw_escape_json, "l1\nl2\t\r", "\"l1\\nl2\\t\\r\"");
    check(tw_escape_json, "</script><!--", "\"\\u003c/script\\u003e\\u003c!--\"");
    check(tw_escape_json, "a&b'c", "\"a\\u0026b\\u0027c\"");
    check(tw_escape_json, "\x1b[0m\x7f", "\"\\u001b[0m\\u007f\"");
    check(tw_escape_json, "\xe2\x80\xa8", "\"\\u2028\"");
    check(tw_escape_json, "bad\xc0\xaf", "\"bad\\ufffd\\ufffd\"");
    check(tw_escape_json, "\xf0\x9f\x94\x92", "\"\xf0\x9f\x94\x92\"");
}

static void
test_escape_csv(void **state)
{
    (void)state;
    check(tw_escape_csv, "plain", "plain");
    check(tw_escape_csv, NULL, "");
    check(tw_escape_csv, "a,b", "\"a,b\"");
    check(tw_escape_csv, "say \"hi\"", "\"say \"\"hi\"\"\"");
    check(tw_escape_csv, "l1\nl2", "\"l1\nl2\"");
    check(tw_escape_csv, "=HYPERLINK(\"x\")", "\"'=HYPERLINK(\"\"x\"\")\"");
    check(tw_escape_csv, "+1", "\"'+1\"");
    check(tw_escape_csv, "-cmd|calc", "\"'-cmd|calc\"");
    check(tw_escape_csv, "@SUM(A1)", "\"'@SUM(A1)\"");
    check(tw_escape_csv, "\tx", "\"'\tx\"");
    check(tw_escape_csv, " padded ", "\" padded \"");
    check(tw_escape_csv, "a\x1b[1m", "a[1m");
    check(tw_escape_csv, "x\xff", "x\xef\xbf\xbd");
}

static void
test_escape_md(void **state)
{
    (void)state;
    check(tw_escape_md, "a|b", "a\\|b");
    check(tw_escape_md, "[x](javascript:y)", "\\[x\\](javascript:y)");
    check(tw_escape_md, "<b>*_`~</b>", "\\<b\\>\\*\\_\\`\\~\\</b\\>");
    check(tw_escape_md, "a&amp;", "a\\&amp;");
    check(tw_escape_md, "![i](x)", "\\!\\[i\\](x)");
    check(tw_escape_md, "l1\nl2\r\n", "l1 l2  ");
    check(tw_escape_md, "back\\slash", "back\\\\slash");
    check(tw_escape_md, "host.example", "host.example");
}

static void
test_escape_prom(void **state)
{
    (void)state;
    check(tw_escape_prom, "a\"b\\c\nd", "a\\\"b\\\\c\\nd");
    check(tw_escape_prom, "x\x1b[1m\x01", "x[1m");
    check(tw_escape_prom, "\xff", "\xef\xbf\xbd");
    check(tw_escape_prom, NULL, "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_utf8_decode),
        cmocka_unit_test(test_escape_term_strips_controls),
        cmocka_unit_test(test_escape_html),
        cmocka_unit_test(test_escape_json),
        cmocka_unit_test(test_escape_csv),
        cmocka_unit_test(test_escape_md),
        cmocka_unit_test(test_escape_prom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
