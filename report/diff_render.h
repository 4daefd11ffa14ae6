/*
 * diff_render.h - the output formats of `tlsweep diff` (STYLE G5): text,
 * json, csv and md, each a struct tw_diff_renderer (diff.h) that
 * tw_diff_run drives.  Adding a format means one entry in diff_render.c.
 * The table is const; any thread.
 */
#ifndef TW_REPORT_DIFF_RENDER_H
#define TW_REPORT_DIFF_RENDER_H

#include <stddef.h>

#include "report/diff.h"

/* The formats, in --help order. */
extern const struct tw_diff_renderer tw_diff_renderers[];
extern const size_t tw_n_diff_renderers;
/* NULL when name is not a format. */
const struct tw_diff_renderer *tw_diff_renderer_find(const char *name);

#endif /* TW_REPORT_DIFF_RENDER_H */
