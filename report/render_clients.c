/*
 * render_clients.c - the "who cannot connect" section of the text, md and
 * json reports (issue 13): per reference client, how many of the scan's
 * graded endpoints it cannot connect to, and why (the classes of its
 * simulated failures, table client_sims).  Clients that connect everywhere
 * are left out, so the section stays quiet on a healthy estate.
 *
 * One aggregate query in the report's read transaction (rp->db); client
 * names may come from a user's file: every string is escaped by the
 * format's escaper.  Single-threaded, as the renderers.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/render_int.h"

#define CL_MAX 64 /* clients listed (the table has 30; a file adds one) */
#define CL_WHY 8  /* classes kept per client */

struct cl_row {
    char *client;
    int64_t n; /* failing endpoints */
    char *cls[CL_WHY];
    int64_t cls_n[CL_WHY];
    int n_cls;
};

struct cl_all {
    int64_t graded; /* endpoints with a simulation */
    struct cl_row rows[CL_MAX];
    int n;
};

static char *
cl_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);

    return tw_xstrdup(t != NULL ? (const char *)t : "");
}

/* Load the section's data; 0 when there is nothing to say (no table, no
 * simulation in this scan). */
static int
cl_load(struct tw_report *rp, struct cl_all *a)
{
    sqlite3_stmt *st = NULL;

    memset(a, 0, sizeof(*a));
    if (rp->db == NULL || !tw_report_has_table(rp->db, "client_sims"))
        return 0;
    if (sqlite3_prepare_v2(rp->db,
                           "SELECT count(DISTINCT c.result_id) FROM client_sims AS c"
                           " JOIN results AS r ON r.id = c.result_id WHERE r.scan_id = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, rp->scan->id);
    if (sqlite3_step(st) == SQLITE_ROW)
        a->graded = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (a->graded == 0)
        return 0;
    /* Clients worst first; within one, its classes most frequent first. */
    if (sqlite3_prepare_v2(rp->db,
                           "SELECT c.client, ifnull(c.class, 'unknown'), count(*),"
                           " sum(count(*)) OVER (PARTITION BY c.client) AS total"
                           " FROM client_sims AS c JOIN results AS r ON r.id = c.result_id"
                           " WHERE r.scan_id = ?1 AND c.outcome = 'fail'"
                           " GROUP BY c.client, c.class"
                           " ORDER BY total DESC, c.client, count(*) DESC, c.class",
                           -1, &st, NULL) != SQLITE_OK)
        return 1;
    sqlite3_bind_int64(st, 1, rp->scan->id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *name = sqlite3_column_text(st, 0);
        struct cl_row *row = a->n > 0 ? &a->rows[a->n - 1] : NULL;

        if (name == NULL)
            continue;
        if (row == NULL || strcmp(row->client, (const char *)name) != 0) {
            if (a->n >= CL_MAX)
                break;
            row = &a->rows[a->n++];
            row->client = cl_dup(st, 0);
            row->n = sqlite3_column_int64(st, 3);
        }
        if (row->n_cls < CL_WHY) {
            row->cls[row->n_cls] = cl_dup(st, 1);
            row->cls_n[row->n_cls] = sqlite3_column_int64(st, 2);
            row->n_cls++;
        }
    }
    sqlite3_finalize(st);
    return 1;
}

static void
cl_free(struct cl_all *a)
{
    for (int i = 0; i < a->n; i++) {
        free(a->rows[i].client);
        for (int k = 0; k < a->rows[i].n_cls; k++)
            free(a->rows[i].cls[k]);
    }
}

/* "protocol_mismatch 10, no_shared_cipher 2", escaped with esc. */
static void
cl_why(FILE *f, tw_escape_fn *esc, const struct cl_row *row)
{
    for (int k = 0; k < row->n_cls; k++) {
        if (k > 0)
            fputs(", ", f);
        esc(f, row->cls[k]);
        fprintf(f, " %" PRId64, row->cls_n[k]);
    }
}

void
tw_render_clients_text(struct tw_report *rp)
{
    struct cl_all *a = tw_xcalloc(1, sizeof(*a));
    FILE *f = rp->out;

    if (cl_load(rp, a)) {
        fprintf(f,
                "\nwho cannot connect (reference clients simulated on %" PRId64
                " graded endpoints):\n",
                a->graded);
        if (a->n == 0)
            fputs("  every client connects everywhere\n", f);
        for (int i = 0; i < a->n; i++) {
            fputs("  ", f);
            tw_escape_term(f, a->rows[i].client);
            fprintf(f, ": %" PRId64 " endpoint%s (", a->rows[i].n, a->rows[i].n == 1 ? "" : "s");
            cl_why(f, tw_escape_term, &a->rows[i]);
            fputs(")\n", f);
        }
    }
    cl_free(a);
    free(a);
}

void
tw_render_clients_md(struct tw_report *rp)
{
    struct cl_all *a = tw_xcalloc(1, sizeof(*a));
    FILE *f = rp->out;

    if (cl_load(rp, a)) {
        fprintf(f,
                "\n## Who cannot connect\n\nReference clients simulated on %" PRId64
                " graded endpoints.\n\n",
                a->graded);
        if (a->n == 0)
            fputs("Every client connects everywhere.\n", f);
        else
            fputs("| client | endpoints | why |\n|---|---:|---|\n", f);
        for (int i = 0; i < a->n; i++) {
            fputs("| ", f);
            tw_escape_md(f, a->rows[i].client);
            fprintf(f, " | %" PRId64 " | ", a->rows[i].n);
            cl_why(f, tw_escape_md, &a->rows[i]);
            fputs(" |\n", f);
        }
    }
    cl_free(a);
    free(a);
}

void
tw_render_clients_json(struct tw_report *rp)
{
    struct cl_all *a = tw_xcalloc(1, sizeof(*a));
    FILE *f = rp->out;

    if (cl_load(rp, a)) {
        fprintf(f, ",\"who_cannot_connect\":{\"graded\":%" PRId64 ",\"clients\":[", a->graded);
        for (int i = 0; i < a->n; i++) {
            fputs(i > 0 ? ",{\"client\":" : "{\"client\":", f);
            tw_escape_json(f, a->rows[i].client); /* with its quotes */
            fprintf(f, ",\"endpoints\":%" PRId64 ",\"why\":{", a->rows[i].n);
            for (int k = 0; k < a->rows[i].n_cls; k++) {
                if (k > 0)
                    fputc(',', f);
                tw_escape_json(f, a->rows[i].cls[k]);
                fprintf(f, ":%" PRId64, a->rows[i].cls_n[k]);
            }
            fputs("}}", f);
        }
        fputs("]}", f);
    }
    cl_free(a);
    free(a);
}
