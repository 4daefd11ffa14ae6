/*
 * fuzz_escape.c - every report escaper on hostile bytes.
 *
 * The input is cut at its first NUL (the escapers take C strings, as the
 * database hands them out) and written through each format's escaper into a
 * memory stream.  The outputs are then checked for the property each format
 * promises, and abort() when one is broken so that the fuzzer reports it:
 *   terminal: no byte below 0x20, no DEL, no ESC;
 *   HTML:     no raw < > " ' and no & that does not start an entity;
 *   JSON:     starts and ends with a quote, no raw control byte or < >;
 *   Markdown / Prometheus: no raw newline;
 *   shell:    the reproduce command (store/model.c) built from it is
 *             terminated within its buffer and holds no control byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/escape.h"
#include "store/model.h"

#define FUZZ_MAX 8192

typedef void escape_fn(FILE *f, const char *s);

static char *
run(escape_fn *fn, const char *s, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);

    if (f == NULL)
        abort();
    fn(f, s);
    fclose(f);
    *len = n;
    return buf;
}

static void
check_term(const char *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)o[i];

        if (c < 0x20 || c == 0x7f)
            abort();
    }
}

static void
check_html(const char *o, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (o[i] == '<' || o[i] == '>' || o[i] == '"' || o[i] == '\'')
            abort();
        if (o[i] == '&' && memchr(o + i, ';', n - i > 10 ? 10 : n - i) == NULL)
            abort();
    }
}

static void
check_json(const char *o, size_t n)
{
    if (n < 2 || o[0] != '"' || o[n - 1] != '"')
        abort();
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)o[i];

        if (c < 0x20 || c == '<' || c == '>')
            abort();
        if (c == '"' && o[i - 1] != '\\')
            abort();
    }
}

static void
check_no_newline(const char *o, size_t n)
{
    if (memchr(o, '\n', n) != NULL || memchr(o, '\r', n) != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[FUZZ_MAX + 1];
    char shell[4 * FUZZ_MAX + 16];
    size_t n, len;
    char *o;

    if (size > FUZZ_MAX)
        size = FUZZ_MAX;
    memcpy(s, data, size);
    s[size] = '\0';
    n = strlen(s);

    o = run(tw_escape_term, s, &len);
    check_term(o, len);
    free(o);
    o = run(tw_escape_html, s, &len);
    check_html(o, len);
    free(o);
    o = run(tw_escape_json, s, &len);
    check_json(o, len);
    free(o);
    o = run(tw_escape_md, s, &len);
    check_no_newline(o, len);
    free(o);
    o = run(tw_escape_prom, s, &len);
    check_no_newline(o, len);
    free(o);
    o = run(tw_escape_csv, s, &len);
    free(o);
    {
        struct tw_repro_in in = {
            .host = s, .ip = s, .port = 443, .sni = s, .cls = TW_CLASS_HOSTNAME_MISMATCH};

        len = tw_class_repro(&in, shell, sizeof(shell));
        if (len >= sizeof(shell) || shell[len] != '\0' || strlen(shell) != len)
            abort();
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)shell[i] < 0x20 || shell[i] == 0x7f)
                abort();
    }
    for (size_t i = 0; i < n && i < 4; i++) {
        uint32_t cp;
        size_t used = tw_utf8_decode((const unsigned char *)s + i, n - i, &cp);

        if (used == 0 || used > 4)
            abort();
    }
    return 0;
}
