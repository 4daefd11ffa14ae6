/*
 * diff_clients.c - what changed for the reference clients between two
 * scans (issue 13): per client, how many endpoints present in both scans
 * it could reach before and cannot now ("after this change, 12 endpoints
 * no longer accept Java 8"), and how many it reaches again.  One aggregate
 * query over client_sims in the diff's read transaction; silent when
 * either scan has no simulation.  Client names may come from a user's
 * file: every string is escaped.  Single-threaded, as the renderers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/diff.h"
#include "report/escape.h"
#include "report/query.h"

#define DC_MAX 64

struct dc_row {
    char client[128];
    int64_t lost, regained;
    char why[128]; /* the classes of the lost ones, "a,b" */
};

/* Load the changes into rows[DC_MAX]; returns how many, 0 when none, -1
 * when neither scan has a simulation (nothing to compare). */
static int
dc_load(struct tw_diff_report *d, struct dc_row *rows)
{
    sqlite3_stmt *st = NULL;
    int n = 0, any = 0;

    if (d->db == NULL || !tw_report_has_table(d->db, "client_sims"))
        return -1;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT EXISTS (SELECT 1 FROM client_sims AS c JOIN results AS r"
                           " ON r.id = c.result_id WHERE r.scan_id IN (?1, ?2))",
                           -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, d->old->id);
    sqlite3_bind_int64(st, 2, d->new_->id);
    if (sqlite3_step(st) == SQLITE_ROW)
        any = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (!any)
        return -1;
    /* Endpoints are paired by their whole key (host, address, port, SNI,
     * STARTTLS); a client missing from one side is not a change. */
    if (sqlite3_prepare_v2(
            d->db,
            "WITH o AS (SELECT r.host, r.ip, r.port, ifnull(r.sni, '') AS sni,"
            "   ifnull(r.starttls, '') AS stls, c.client, c.outcome FROM client_sims AS c"
            "   JOIN results AS r ON r.id = c.result_id WHERE r.scan_id = ?1),"
            " n AS (SELECT r.host, r.ip, r.port, ifnull(r.sni, '') AS sni,"
            "   ifnull(r.starttls, '') AS stls, c.client, c.outcome, c.class"
            "   FROM client_sims AS c JOIN results AS r ON r.id = c.result_id"
            "   WHERE r.scan_id = ?2)"
            " SELECT n.client,"
            "  sum(o.outcome = 'ok' AND n.outcome = 'fail') AS lost,"
            "  sum(o.outcome = 'fail' AND n.outcome = 'ok') AS regained,"
            "  (SELECT group_concat(k, ',') FROM (SELECT DISTINCT n2.class AS k FROM n AS n2"
            "    JOIN o AS o2 USING (host, ip, port, sni, stls, client)"
            "    WHERE n2.client = n.client AND o2.outcome = 'ok' AND n2.outcome = 'fail'"
            "    ORDER BY k))"
            " FROM n JOIN o USING (host, ip, port, sni, stls, client)"
            " GROUP BY n.client HAVING lost > 0 OR regained > 0"
            " ORDER BY lost DESC, regained DESC, n.client",
            -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, d->old->id);
    sqlite3_bind_int64(st, 2, d->new_->id);
    while (n < DC_MAX && sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        const char *w = (const char *)sqlite3_column_text(st, 3);

        snprintf(rows[n].client, sizeof(rows[n].client), "%s", c != NULL ? c : "");
        rows[n].lost = sqlite3_column_int64(st, 1);
        rows[n].regained = sqlite3_column_int64(st, 2);
        snprintf(rows[n].why, sizeof(rows[n].why), "%s", w != NULL ? w : "");
        n++;
    }
    sqlite3_finalize(st);
    return n;
}

void
tw_diff_clients_text(struct tw_diff_report *d)
{
    struct dc_row *rows = calloc(DC_MAX, sizeof(*rows));
    FILE *f = d->out;
    int n = rows != NULL ? dc_load(d, rows) : 0;

    if (n > 0)
        fputs("\nClient outcomes (simulated reference clients):\n", f);
    for (int i = 0; i < n; i++) {
        if (rows[i].lost > 0) {
            fprintf(f, "  after this change, %" PRId64 " endpoint%s no longer accept%s ",
                    rows[i].lost, rows[i].lost == 1 ? "" : "s", rows[i].lost == 1 ? "s" : "");
            tw_escape_term(f, rows[i].client);
            fputs(" (", f);
            tw_escape_term(f, rows[i].why);
            fputs(")\n", f);
        }
        if (rows[i].regained > 0) {
            fprintf(f, "  %" PRId64 " endpoint%s accept%s ", rows[i].regained,
                    rows[i].regained == 1 ? "" : "s", rows[i].regained == 1 ? "s" : "");
            tw_escape_term(f, rows[i].client);
            fputs(" again\n", f);
        }
    }
    free(rows);
}

void
tw_diff_clients_json(struct tw_diff_report *d)
{
    struct dc_row *rows = calloc(DC_MAX, sizeof(*rows));
    FILE *f = d->out;
    int n = rows != NULL ? dc_load(d, rows) : 0;

    if (n < 0) { /* no simulation in either scan: the member is left out */
        free(rows);
        return;
    }
    fputs(",\n\"client_changes\":[", f);
    for (int i = 0; i < n; i++) {
        fputs(i > 0 ? ",{\"client\":" : "{\"client\":", f);
        tw_escape_json(f, rows[i].client);
        fprintf(f, ",\"lost\":%" PRId64 ",\"regained\":%" PRId64 ",\"why\":", rows[i].lost,
                rows[i].regained);
        tw_escape_json(f, rows[i].why);
        fputc('}', f);
    }
    fputc(']', f);
    free(rows);
}
