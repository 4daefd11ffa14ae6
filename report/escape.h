/*
 * escape.h - per-format escaping of hostile bytes (HTML, JSON, CSV, Markdown,
 * Prometheus labels, terminal).  Shell quoting belongs to the reproduce
 * command's builder (store/model.h, tw_class_repro).
 *
 * Every string that came from a server, a certificate, a target file or the
 * database is hostile: it may hold control characters, terminal escape
 * sequences, markup, quotes, formula prefixes or invalid UTF-8.  These
 * functions are pure (STYLE G6): they read a NUL-terminated string and write
 * its escaped form to a stdio stream, touching nothing else.
 * A NULL string is written as the empty string (JSON: null).  Callers on any
 * thread; no state.
 *
 * Invalid UTF-8 (overlong forms, surrogates, truncated sequences, bytes
 * above U+10FFFF) is shown as "\xNN" on a terminal and as U+FFFD elsewhere.
 *
 * Below the escapers, three writers that take one of them as a parameter
 * serve every report and diff format alike: a value or "-", a run of fixed
 * text and values, and an optional value between two texts.  The fixed
 * text is ours and written as is; only the values are escaped.
 */
#ifndef TW_REPORT_ESCAPE_H
#define TW_REPORT_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TW_UTF8_INVALID 0xFFFFFFFFu

/* Decode one code point from p[0..n).  Returns the bytes consumed (1..4;
 * 0 only when n is 0) and *cp, or 1 and TW_UTF8_INVALID for a byte that
 * does not start a valid, shortest-form sequence. */
size_t tw_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Terminal text: drops C0 (TAB, LF and CR become one space), DEL, C1,
 * bidirectional overrides and whole ESC sequences (CSI, OSC, DCS, two-byte
 * escapes); invalid bytes become "\xNN". */
void tw_escape_term(FILE *f, const char *s);
/* HTML text and attribute values: & < > " ' as entities; controls dropped. */
void tw_escape_html(FILE *f, const char *s);
/* A JSON string including its quotes, or null for NULL.  Also escapes
 * < > & ' and U+2028/U+2029 as \uXXXX, so that the output can sit inside
 * an HTML <script> block unchanged. */
void tw_escape_json(FILE *f, const char *s);
/* One CSV cell (RFC 4180): quoted when it holds , " CR LF or edge spaces;
 * a cell starting with = + - @ TAB or CR gets a leading ' so that
 * spreadsheets do not evaluate it.  Controls other than TAB/CR/LF dropped. */
void tw_escape_csv(FILE *f, const char *s);
/* Markdown table cell: backslash before \ ` * _ [ ] < > | ~ & ! #, line
 * breaks become spaces, controls dropped. */
void tw_escape_md(FILE *f, const char *s);
/* Prometheus label value (without the quotes): \\ \" \n; controls dropped. */
void tw_escape_prom(FILE *f, const char *s);

/* One of the escapers above. */
typedef void tw_escape_fn(FILE *f, const char *s);

/* s escaped by esc, or "-" when s is NULL or empty. */
void tw_escape_or_dash(FILE *f, tw_escape_fn *esc, const char *s);

/* Fixed text followed by a value. */
struct tw_escape_piece {
    const char *text;  /* ours, written as is */
    const char *value; /* hostile: tw_escape_or_dash */
};
/* The n pieces in order. */
void tw_escape_pieces(FILE *f, tw_escape_fn *esc, const struct tw_escape_piece *p, size_t n);

/* When s is not NULL: open, s escaped by esc, close; else nothing. */
void tw_escape_wrapped(FILE *f, tw_escape_fn *esc, const char *open, const char *s,
                       const char *close);

#endif /* TW_REPORT_ESCAPE_H */
