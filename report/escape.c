/*
 * escape.c - per-format escaping of hostile bytes.
 *
 * Each escaper walks the string one code point at a time with
 * tw_utf8_decode(), so that a multi-byte character is never split and an
 * invalid byte is seen as one unit.  The policy for characters that are
 * never useful in a report (C0 controls, DEL, C1 controls, Unicode
 * bidirectional overrides that can make text read backwards) is shared:
 * see is_dropped().
 */
#include <stdio.h>
#include <string.h>

#include "report/escape.h"

size_t
tw_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    uint32_t c;
    size_t len;
    uint32_t min;

    if (n == 0) {
        *cp = TW_UTF8_INVALID;
        return 0;
    }
    c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        goto invalid;
    }
    if (n < len)
        goto invalid;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            goto invalid;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        goto invalid;
    *cp = c;
    return len;
invalid:
    *cp = TW_UTF8_INVALID;
    return 1;
}

/* Characters no renderer shows: C0 except TAB/LF/CR (handled per format),
 * DEL, C1, and the bidi embedding/override/isolate controls. */
static int
is_dropped(uint32_t cp)
{
    if (cp < 0x20)
        return cp != '\t' && cp != '\n' && cp != '\r';
    if (cp >= 0x7F && cp <= 0x9F)
        return 1;
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E ||
        cp == 0x200F)
        return 1;
    return 0;
}

/* Skip an ESC sequence starting at p[0] == ESC; returns the bytes to skip.
 * CSI runs to its final byte, OSC/DCS/SOS/PM/APC to BEL or ESC \, anything
 * else is ESC plus one byte. */
static size_t
esc_skip(const unsigned char *p, size_t n)
{
    size_t i;

    if (n < 2)
        return n;
    if (p[1] == '[') {
        for (i = 2; i < n; i++)
            if (p[i] >= 0x40 && p[i] <= 0x7E)
                return i + 1;
        return n;
    }
    if (p[1] == ']' || p[1] == 'P' || p[1] == 'X' || p[1] == '^' || p[1] == '_') {
        for (i = 2; i < n; i++) {
            if (p[i] == 0x07)
                return i + 1;
            if (p[i] == 0x1B && i + 1 < n && p[i + 1] == '\\')
                return i + 2;
        }
        return n;
    }
    return p[1] >= 0x20 && p[1] < 0x7F ? 2 : 1;
}

/*
 * The walk every escaper shares.  map(cp) returns NULL to keep the code point
 * as it is, "" to drop it, or its replacement; kept bytes are written in
 * runs (one fwrite per run, not per character), which matters for reports of
 * a million rows.  Invalid bytes reach map as TW_UTF8_INVALID with *bad set.
 */
typedef const char *escape_map_cb(uint32_t cp, unsigned char bad, char tmp[16]);

static void
escape_walk(FILE *f, const char *s, escape_map_cb *map, int term)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    size_t i = 0;
    size_t run = 0;
    char tmp[16];

    while (i < n) {
        uint32_t cp;
        size_t k;
        const char *r;

        if (term && p[i] == 0x1B) {
            fwrite(p + run, 1, i - run, f);
            i += esc_skip(p + i, n - i);
            run = i;
            continue;
        }
        if (p[i] < 0x80) {
            cp = p[i];
            k = 1;
        } else {
            k = tw_utf8_decode(p + i, n - i, &cp);
        }
        r = map(cp, p[i], tmp);
        if (r == NULL) {
            i += k;
            continue;
        }
        fwrite(p + run, 1, i - run, f);
        fputs(r, f);
        i += k;
        run = i;
    }
    fwrite(p + run, 1, i - run, f);
}

static const char *
term_map(uint32_t cp, unsigned char bad, char tmp[16])
{
    if (cp == TW_UTF8_INVALID) {
        snprintf(tmp, 16, "\\x%02X", bad);
        return tmp;
    }
    if (cp == '\t' || cp == '\n' || cp == '\r')
        return " ";
    return is_dropped(cp) ? "" : NULL;
}

void
tw_escape_term(FILE *f, const char *s)
{
    escape_walk(f, s, term_map, 1);
}

static const char *
html_map(uint32_t cp, unsigned char bad, char tmp[16])
{
    (void)bad;
    (void)tmp;
    switch (cp) {
    case '&':
        return "&amp;";
    case '<':
        return "&lt;";
    case '>':
        return "&gt;";
    case '"':
        return "&quot;";
    case '\'':
        return "&#39;";
    case TW_UTF8_INVALID:
        return "\xEF\xBF\xBD";
    default:
        return is_dropped(cp) ? "" : NULL;
    }
}

void
tw_escape_html(FILE *f, const char *s)
{
    escape_walk(f, s, html_map, 0);
}

static const char *
json_map(uint32_t cp, unsigned char bad, char tmp[16])
{
    (void)bad;
    switch (cp) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case TW_UTF8_INVALID:
        return "\\ufffd";
    case '<':
    case '>':
    case '&':
    case '\'':
    case 0x2028:
    case 0x2029:
        break;
    default:
        if (cp >= 0x20 && (cp < 0x7F || cp > 0x9F))
            return NULL;
    }
    snprintf(tmp, 16, "\\u%04x", (unsigned)cp);
    return tmp;
}

void
tw_escape_json(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    escape_walk(f, s, json_map, 0);
    fputc('"', f);
}

static const char *
csv_map(uint32_t cp, unsigned char bad, char tmp[16])
{
    (void)bad;
    (void)tmp;
    if (cp == '"')
        return "\"\"";
    if (cp == TW_UTF8_INVALID)
        return "\xEF\xBF\xBD";
    return is_dropped(cp) ? "" : NULL;
}

void
tw_escape_csv(FILE *f, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    int formula = n > 0 && strchr("=+-@\t\r", s[0]) != NULL;
    int quote = formula || (n > 0 && (s[0] == ' ' || s[n - 1] == ' ')) ||
                (n > 0 && strpbrk(s, ",\"\r\n") != NULL);

    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    escape_walk(f, s, csv_map, 0);
    if (quote)
        fputc('"', f);
}

static const char *
md_map(uint32_t cp, unsigned char bad, char tmp[16])
{
    (void)bad;
    if (cp == '\n' || cp == '\r' || cp == '\t')
        return " ";
    if (cp == TW_UTF8_INVALID)
        return "\xEF\xBF\xBD";
    if (cp < 0x80 && cp != 0 && strchr("\\`*_[]<>|~&!#", (int)cp) != NULL) {
        tmp[0] = '\\';
        tmp[1] = (char)cp;
        tmp[2] = '\0';
        return tmp;
    }
    return is_dropped(cp) ? "" : NULL;
}

void
tw_escape_md(FILE *f, const char *s)
{
    escape_walk(f, s, md_map, 0);
}

static const char *
prom_map(uint32_t cp, unsigned char bad, char tmp[16])
{
    (void)bad;
    (void)tmp;
    switch (cp) {
    case '\\':
        return "\\\\";
    case '"':
        return "\\\"";
    case '\n':
        return "\\n";
    case '\r':
    case '\t':
        return " ";
    case TW_UTF8_INVALID:
        return "\xEF\xBF\xBD";
    default:
        return is_dropped(cp) ? "" : NULL;
    }
}

void
tw_escape_prom(FILE *f, const char *s)
{
    escape_walk(f, s, prom_map, 0);
}

void
tw_escape_or_dash(FILE *f, tw_escape_fn *esc, const char *s)
{
    esc(f, s != NULL && s[0] != '\0' ? s : "-");
}

void
tw_escape_pieces(FILE *f, tw_escape_fn *esc, const struct tw_escape_piece *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fputs(p[i].text, f);
        tw_escape_or_dash(f, esc, p[i].value);
    }
}

void
tw_escape_wrapped(FILE *f, tw_escape_fn *esc, const char *open, const char *s, const char *close)
{
    if (s == NULL)
        return;
    fputs(open, f);
    esc(f, s);
    fputs(close, f);
}
