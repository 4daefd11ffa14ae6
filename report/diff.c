/*
 * diff.c - the change rules for one endpoint across two scans, and the
 * merge join of two scans that applies them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report/diff.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "report/query.h"
#include "store/model.h"
#include "tls/grade.h"
#include "tls/mozilla.h"

static const char *const kind_names[TW_DIFF__COUNT] = {
    [TW_DIFF_NEW] = "new",
    [TW_DIFF_VANISHED] = "vanished",
    [TW_DIFF_FAILURE_NEW] = "failure_new",
    [TW_DIFF_FAILURE_FIXED] = "failure_fixed",
    [TW_DIFF_CLASS_CHANGED] = "class_changed",
    [TW_DIFF_GRADE_DOWN] = "grade_down",
    [TW_DIFF_GRADE_UP] = "grade_up",
    [TW_DIFF_CERT_ROTATED] = "cert_rotated",
    [TW_DIFF_EXPIRING] = "expiring",
    [TW_DIFF_PROTOCOL_CHANGED] = "protocol_changed",
    [TW_DIFF_CIPHER_CHANGED] = "cipher_changed",
    [TW_DIFF_VULN_NEW] = "vuln_new",
    [TW_DIFF_NONCOMPLIANT_NEW] = "noncompliant_new",
};

static const char *const kind_titles[TW_DIFF__COUNT] = {
    [TW_DIFF_NEW] = "New endpoints",
    [TW_DIFF_VANISHED] = "Vanished endpoints",
    [TW_DIFF_FAILURE_NEW] = "Failures appeared",
    [TW_DIFF_FAILURE_FIXED] = "Failures fixed",
    [TW_DIFF_CLASS_CHANGED] = "Class changes",
    [TW_DIFF_GRADE_DOWN] = "Grades down",
    [TW_DIFF_GRADE_UP] = "Grades up",
    [TW_DIFF_CERT_ROTATED] = "Certificates rotated",
    [TW_DIFF_EXPIRING] = "Certificates newly expiring within the threshold",
    [TW_DIFF_PROTOCOL_CHANGED] = "Protocol changes",
    [TW_DIFF_CIPHER_CHANGED] = "Cipher changes",
    [TW_DIFF_VULN_NEW] = "Newly vulnerable",
    [TW_DIFF_NONCOMPLIANT_NEW] = "Newly failing a Mozilla profile",
};

const char *
tw_diff_kind_name(enum tw_diff_kind k)
{
    return (unsigned)k < TW_DIFF__COUNT ? kind_names[k] : "unknown";
}

const char *
tw_diff_kind_title(enum tw_diff_kind k)
{
    return (unsigned)k < TW_DIFF__COUNT ? kind_titles[k] : "Unknown";
}

static int
is_failure(const struct tw_diff_ep *e)
{
    enum tw_class c;

    if (e->class_name == NULL || tw_class_from_name(e->class_name, &c) < 0)
        return 0;
    return tw_class_info(c)->is_failure;
}

/* Both present and different. */
static int
changed(const char *a, const char *b)
{
    return a != NULL && b != NULL && a[0] != '\0' && b[0] != '\0' && strcmp(a, b) != 0;
}

static int
expiring(const struct tw_diff_ep *e, int64_t thr)
{
    return e != NULL && e->has_expiry && e->days_left < thr;
}

static void
add(struct tw_diff_change *out, size_t *n, enum tw_diff_kind k, int regression)
{
    out[*n].kind = k;
    out[*n].is_regression = regression;
    (*n)++;
}

/* Does name[len] appear in the comma list l? */
static int
in_list(const char *l, const char *name, size_t len)
{
    while (l != NULL && *l != '\0') {
        size_t n = strcspn(l, ",");

        if (n == len && strncmp(l, name, len) == 0)
            return 1;
        l += n;
        if (*l == ',')
            l++;
    }
    return 0;
}

/* The vulns rows that are notes: no grade effect under 2009r, so their
 * appearing is reported but never gates a pipeline. */
static const char *const vuln_notes = "beast,early_data,heartbeat_extension,no_fallback_scsv";

/*
 * Issue 14: does a probe fire in NEW that did not in OLD (no OLD: any)?
 * 0: no; 1: yes, but not a regression (a note, or a probe OLD did not test:
 * a scan made before the probe existed, or an ungraded endpoint); 2: yes,
 * a regression (OLD tested it and found the endpoint safe, or the endpoint
 * is new).
 */
static int
newly_vulnerable(const struct tw_diff_ep *old, const struct tw_diff_ep *new_)
{
    const char *p = new_ != NULL ? new_->vulns : NULL;
    int found = 0;

    while (p != NULL && *p != '\0') {
        size_t n = strcspn(p, ",");

        if (n > 0 && !in_list(old != NULL ? old->vulns : NULL, p, n)) {
            if (!in_list(vuln_notes, p, n) && (old == NULL || in_list(old->vulns_tested, p, n)))
                return 2;
            found = 1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return found;
}

int
tw_diff_newly_noncompliant(const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
                           const char *profile)
{
    size_t len = profile != NULL ? strlen(profile) : 0;

    if (new_ == NULL || len == 0 || !in_list(new_->noncompliant, profile, len))
        return 0;
    return !in_list(old != NULL ? old->noncompliant : NULL, profile, len);
}

/* Issue 13: does NEW fail a profile that OLD did not? */
static int
newly_noncompliant_any(const struct tw_diff_ep *old, const struct tw_diff_ep *new_)
{
    static const char *const profiles[] = {"modern", "intermediate", "old"};

    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
        if (tw_diff_newly_noncompliant(old, new_, profiles[i]))
            return 1;
    return 0;
}

size_t
tw_diff_compare(const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
                int64_t expiry_threshold_days, struct tw_diff_change out[TW_DIFF__COUNT])
{
    size_t n = 0;
    int v;

    if (old == NULL && new_ == NULL)
        return 0;
    if (old == NULL) {
        add(out, &n, TW_DIFF_NEW, 0);
        if (is_failure(new_))
            add(out, &n, TW_DIFF_FAILURE_NEW, 1);
        if (expiring(new_, expiry_threshold_days))
            add(out, &n, TW_DIFF_EXPIRING, 1);
        if ((v = newly_vulnerable(NULL, new_)) != 0)
            add(out, &n, TW_DIFF_VULN_NEW, v == 2);
        if (newly_noncompliant_any(NULL, new_))
            add(out, &n, TW_DIFF_NONCOMPLIANT_NEW, 0);
        return n;
    }
    if (new_ == NULL) {
        add(out, &n, TW_DIFF_VANISHED, 0);
        return n;
    }
    if (!is_failure(old) && is_failure(new_)) {
        add(out, &n, TW_DIFF_FAILURE_NEW, 1);
    } else if (is_failure(old) && !is_failure(new_)) {
        add(out, &n, TW_DIFF_FAILURE_FIXED, 0);
    } else if (old->class_name != NULL && new_->class_name != NULL &&
               strcmp(old->class_name, new_->class_name) != 0) {
        add(out, &n, TW_DIFF_CLASS_CHANGED,
            tw_class_rank(new_->class_name) < tw_class_rank(old->class_name));
    }
    if (old->grade != NULL && new_->grade != NULL) {
        int ro = tw_grade_severity(tw_grade_from_name(old->grade));
        int rn = tw_grade_severity(tw_grade_from_name(new_->grade));
        if (ro != TW_GRADE_NONE && rn != TW_GRADE_NONE && rn > ro)
            add(out, &n, TW_DIFF_GRADE_DOWN, 1);
        else if (ro != TW_GRADE_NONE && rn != TW_GRADE_NONE && rn < ro)
            add(out, &n, TW_DIFF_GRADE_UP, 0);
    }
    if (changed(old->cert_sha256, new_->cert_sha256))
        add(out, &n, TW_DIFF_CERT_ROTATED, 0);
    if (expiring(new_, expiry_threshold_days) && !expiring(old, expiry_threshold_days))
        add(out, &n, TW_DIFF_EXPIRING, 1);
    if (changed(old->tls_version, new_->tls_version))
        add(out, &n, TW_DIFF_PROTOCOL_CHANGED, 0);
    if (changed(old->cipher, new_->cipher))
        add(out, &n, TW_DIFF_CIPHER_CHANGED, 0);
    if ((v = newly_vulnerable(old, new_)) != 0)
        add(out, &n, TW_DIFF_VULN_NEW, v == 2);
    if (newly_noncompliant_any(old, new_))
        add(out, &n, TW_DIFF_NONCOMPLIANT_NEW, 0);
    return n;
}

/* The value a change of kind k is about, on one side (NULL: no side). */
static const char *
diff_value(enum tw_diff_kind k, const struct tw_diff_ep *e)
{
    if (e == NULL)
        return NULL;
    switch (k) {
    case TW_DIFF_NEW:
    case TW_DIFF_VANISHED:
    case TW_DIFF_FAILURE_NEW:
    case TW_DIFF_FAILURE_FIXED:
    case TW_DIFF_CLASS_CHANGED:
        return e->class_name;
    case TW_DIFF_GRADE_DOWN:
    case TW_DIFF_GRADE_UP:
        return e->grade;
    case TW_DIFF_CERT_ROTATED:
        return e->cert_sha256;
    case TW_DIFF_EXPIRING:
        return e->not_after;
    case TW_DIFF_PROTOCOL_CHANGED:
        return e->tls_version;
    case TW_DIFF_CIPHER_CHANGED:
        return e->cipher;
    case TW_DIFF_VULN_NEW:
        return e->vulns;
    case TW_DIFF_NONCOMPLIANT_NEW:
        return e->noncompliant;
    case TW_DIFF__COUNT:
        break;
    }
    return NULL;
}

void
tw_diff_values(enum tw_diff_kind k, const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
               const char **old_value, const char **new_value)
{
    *old_value = diff_value(k, old);
    *new_value = diff_value(k, new_);
}

void
tw_diff_scan_warnings(const struct tw_scan_info *old, const struct tw_scan_info *new_,
                      struct tw_report_warnings *ws)
{
    struct tw_report_warning w;

    memset(&w, 0, sizeof(w));
    w.scan_id = new_->id;
    w.other_id = old->id;
    if (old->targets_sha256[0] != '\0' && new_->targets_sha256[0] != '\0' &&
        strlen(old->targets_sha256) == strlen(new_->targets_sha256) &&
        strcmp(old->targets_sha256, new_->targets_sha256) != 0) {
        w.code = TW_REPORT_WARN_TARGETS_DIFFER;
        w.old_value = old->targets_sha256;
        w.new_value = new_->targets_sha256;
        tw_report_warnings_add(ws, &w);
    }
    if (old->trust_sha256[0] != '\0' && new_->trust_sha256[0] != '\0' &&
        strcmp(old->trust_sha256, new_->trust_sha256) != 0) {
        w.code = TW_REPORT_WARN_TRUST_DIFFERS;
        w.old_value = old->trust_sha256;
        w.new_value = new_->trust_sha256;
        tw_report_warnings_add(ws, &w);
    }
}

int
tw_diff_vanished_over(int64_t count, int64_t total, int64_t pct)
{
    /* count * 100 > pct * total; a row count stays far below 2^57, so the
     * products fit in 64 bits. */
    if (total <= 0 || count <= 0 || pct >= 100)
        return 0;
    if (pct < 0)
        pct = 0;
    return (uint64_t)count * 100 > (uint64_t)pct * (uint64_t)total;
}

/* ---- the merge join ---- */

struct diff_side {
    sqlite3_stmt *st;
    const struct tw_scan_info *scan;
    int has_row;
    struct tw_diff_ep *eps; /* this host's rows, owned strings */
    size_t n, cap;
    char *matched;
};

static char *
dup_col(sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);

    return s != NULL ? tw_xstrdup(s) : NULL;
}

static void
side_clear(struct diff_side *s)
{
    for (size_t i = 0; i < s->n; i++) {
        struct tw_diff_ep *e = &s->eps[i];
        free((char *)e->host);
        free((char *)e->ip);
        free((char *)e->sni);
        free((char *)e->class_name);
        free((char *)e->grade);
        free((char *)e->tls_version);
        free((char *)e->cipher);
        free((char *)e->cert_sha256);
        free((char *)e->not_after);
        free((char *)e->vulns);
        free((char *)e->vulns_tested);
        free((char *)e->noncompliant);
    }
    s->n = 0;
}

static int
side_step(struct diff_side *s, char *err)
{
    int k = sqlite3_step(s->st);

    if (k == SQLITE_ROW) {
        s->has_row = 1;
        return 0;
    }
    s->has_row = 0;
    if (k == SQLITE_DONE)
        return 0;
    tw_errf(err, "reading scan %" PRId64 ": %s", s->scan->id,
            sqlite3_errmsg(sqlite3_db_handle(s->st)));
    return -1;
}

/* Read every row of host into s->eps. */
static int
side_load(struct diff_side *s, const char *host, char *err)
{
    while (s->has_row) {
        const char *h = (const char *)sqlite3_column_text(s->st, 0);
        struct tw_diff_ep *e;

        if (strcmp(h ? h : "", host) != 0)
            break;
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 16;
            s->eps = tw_xrealloc(s->eps, s->cap * sizeof(*s->eps));
            s->matched = tw_xrealloc(s->matched, s->cap);
        }
        e = &s->eps[s->n];
        memset(e, 0, sizeof(*e));
        s->matched[s->n] = 0;
        s->n++;
        e->host = dup_col(s->st, 0);
        e->ip = dup_col(s->st, 1);
        e->port = sqlite3_column_int(s->st, 2);
        e->sni = dup_col(s->st, 3);
        e->class_name = dup_col(s->st, 4);
        e->grade = dup_col(s->st, 5);
        e->tls_version = dup_col(s->st, 6);
        e->cipher = dup_col(s->st, 7);
        e->cert_sha256 = dup_col(s->st, 8);
        e->not_after = dup_col(s->st, 9);
        e->has_expiry = sqlite3_column_type(s->st, 10) != SQLITE_NULL;
        if (e->has_expiry) {
            int64_t sec = sqlite3_column_int64(s->st, 10) - s->scan->ref_time;
            e->days_left = sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400);
        }
        e->vulns = dup_col(s->st, 11);
        e->noncompliant = dup_col(s->st, 12);
        e->vulns_tested = dup_col(s->st, 13);
        if (side_step(s, err) < 0)
            return -1;
    }
    return 0;
}

static int
same_key(const struct tw_diff_ep *a, const struct tw_diff_ep *b, int with_ip)
{
    if (a->port != b->port)
        return 0;
    if ((a->sni == NULL) != (b->sni == NULL))
        return 0;
    if (a->sni != NULL && strcmp(a->sni, b->sni) != 0)
        return 0;
    return !with_ip || strcmp(a->ip ? a->ip : "", b->ip ? b->ip : "") == 0;
}

struct diff_run {
    struct tw_diff_report *d;
    const struct tw_diff_renderer *r;
    FILE *tmp[TW_DIFF__COUNT];
};

static void
emit(struct diff_run *run, const struct tw_diff_ep *o, const struct tw_diff_ep *n)
{
    struct tw_diff_change ch[TW_DIFF__COUNT];
    size_t k = tw_diff_compare(o, n, run->d->threshold, ch);

    for (size_t i = 0; i < k; i++) {
        run->r->change(run->tmp[ch[i].kind], run->d, run->d->counts[ch[i].kind], &ch[i], o, n);
        run->d->counts[ch[i].kind]++;
        if (ch[i].is_regression)
            run->d->n_regressions++;
    }
    for (int p = 0; p < TW_MOZILLA__COUNT; p++)
        if (tw_diff_newly_noncompliant(o, n, tw_mozilla_profile_name(p)))
            run->d->noncompliant_new[p]++;
}

static void
pair_host(struct diff_run *run, struct diff_side *a, struct diff_side *b)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < a->n; i++) {
            if (a->matched[i])
                continue;
            for (size_t j = 0; j < b->n; j++) {
                if (b->matched[j] || !same_key(&a->eps[i], &b->eps[j], pass == 0))
                    continue;
                a->matched[i] = b->matched[j] = 1;
                emit(run, &a->eps[i], &b->eps[j]);
                break;
            }
        }
    }
    for (size_t i = 0; i < a->n; i++)
        if (!a->matched[i])
            emit(run, &a->eps[i], NULL);
    for (size_t j = 0; j < b->n; j++)
        if (!b->matched[j])
            emit(run, NULL, &b->eps[j]);
}

/* The vulns column (issue 14, schema 6) and the compliance column (issue 13)
 * when the database has the table, else NULL. */
#define DIFF_VULN_COL                                                                              \
    ", (SELECT group_concat(name, ',') FROM (SELECT name FROM vulns"                               \
    " AS v WHERE v.result_id = r.id AND v.vulnerable = 1 ORDER BY v.name))"
#define DIFF_TESTED_COL                                                                            \
    ", (SELECT group_concat(name, ',') FROM vulns AS t WHERE t.result_id = r.id AND t.tested = 1)"
#define DIFF_COMP_COL                                                                              \
    ", (SELECT CASE WHEN count(*) = 0 THEN NULL ELSE ifnull(group_concat(CASE WHEN pass = 0"       \
    " THEN profile END, ','), '') END FROM (SELECT profile, pass FROM compliance AS mc"            \
    " WHERE mc.result_id = r.id ORDER BY CASE mc.profile WHEN 'modern' THEN 0"                     \
    " WHEN 'intermediate' THEN 1 ELSE 2 END))"

static int
side_open(sqlite3 *db, const struct tw_scan_info *scan, struct diff_side *s, char *err)
{
    char *sql;
    int rc;

    memset(s, 0, sizeof(*s));
    s->scan = scan;
    sql = sqlite3_mprintf("SELECT r.host, r.ip, r.port, r.sni, r.class, r.grade, r.tls_version,"
                          " r.cipher, r.cert_sha256, lc.not_after, %s%s%s%s"
                          " FROM results AS r LEFT JOIN certs AS lc ON lc.sha256 = r.cert_sha256"
                          " WHERE r.scan_id = ?1 ORDER BY r.host, r.ip, r.port, ifnull(r.sni, '')",
                          TW_SQL_NOT_AFTER,
                          tw_report_has_table(db, "vulns") ? DIFF_VULN_COL : ", NULL",
                          tw_report_has_table(db, "compliance") ? DIFF_COMP_COL : ", NULL",
                          tw_report_has_table(db, "vulns") ? DIFF_TESTED_COL : ", NULL");
    rc = sql != NULL ? sqlite3_prepare_v2(db, sql, -1, &s->st, NULL) : SQLITE_NOMEM;
    sqlite3_free(sql);
    if (rc != SQLITE_OK) {
        tw_errf(err, "%s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(s->st, 1, scan->id);
    return side_step(s, err);
}

static void
side_close(struct diff_side *s)
{
    side_clear(s);
    free(s->eps);
    free(s->matched);
    sqlite3_finalize(s->st);
}

static int
copy_file(FILE *from, FILE *to)
{
    char buf[65536];
    size_t n;

    if (fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0)
        return -1;
    while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
        if (fwrite(buf, 1, n, to) != n)
            return -1;
    return ferror(from) ? -1 : 0;
}

int
tw_diff_run(sqlite3 *db, struct tw_diff_report *d, const struct tw_diff_renderer *r, char *err)
{
    struct diff_side a, b;
    struct diff_run run;
    sqlite3 *ndb = d->new_db != NULL ? d->new_db : db;
    char *host = NULL;
    int rc = -1;

    memset(&run, 0, sizeof(run));
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    run.d = d;
    run.r = r;
    for (int k = 0; k < TW_DIFF__COUNT; k++) {
        run.tmp[k] = tmpfile();
        if (run.tmp[k] == NULL) {
            tw_errf(err, "temporary file: %s", strerror(errno));
            goto out;
        }
    }
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        (ndb != db && sqlite3_exec(ndb, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)) {
        tw_errf(err, "begin: %s", sqlite3_errmsg(db));
        goto out;
    }
    if (side_open(db, d->old, &a, err) < 0 || side_open(ndb, d->new_, &b, err) < 0)
        goto out;
    while (a.has_row || b.has_row) {
        const char *ha = a.has_row ? (const char *)sqlite3_column_text(a.st, 0) : NULL;
        const char *hb = b.has_row ? (const char *)sqlite3_column_text(b.st, 0) : NULL;
        const char *h = ha == NULL ? hb : hb == NULL ? ha : strcmp(ha, hb) <= 0 ? ha : hb;

        free(host);
        host = tw_xstrdup(h ? h : "");
        if (side_load(&a, host, err) < 0 || side_load(&b, host, err) < 0)
            goto out;
        if (a.n == 0 && b.n == 0) {
            /* Only possible when host order disagrees with strcmp (NUL bytes). */
            if (a.has_row && side_step(&a, err) < 0)
                goto out;
            continue;
        }
        pair_host(&run, &a, &b);
        side_clear(&a);
        side_clear(&b);
    }
    d->is_vanished_over = tw_diff_vanished_over((int64_t)d->counts[TW_DIFF_VANISHED],
                                                d->old->n_results, d->vanished_pct);
    if (d->is_vanished_over && d->warnings != NULL) {
        struct tw_report_warning w;

        memset(&w, 0, sizeof(w));
        w.code = TW_REPORT_WARN_VANISHED;
        w.scan_id = d->new_->id;
        w.other_id = d->old->id;
        w.count = (int64_t)d->counts[TW_DIFF_VANISHED];
        w.total = d->old->n_results;
        w.threshold_pct = d->vanished_pct;
        tw_report_warnings_add(d->warnings, &w);
    }
    d->db = db;
    r->begin(d);
    for (int k = 0; k < TW_DIFF__COUNT; k++) {
        if (d->counts[k] == 0)
            continue;
        r->section(d, (enum tw_diff_kind)k);
        if (copy_file(run.tmp[k], d->out) < 0) {
            tw_errf(err, "temporary file: %s", strerror(errno));
            goto out;
        }
        d->n_sections++;
    }
    r->end(d);
    if (fflush(d->out) != 0 || ferror(d->out)) {
        tw_errf(err, "write error");
        goto out;
    }
    rc = 0;
out:
    free(host);
    side_close(&a);
    side_close(&b);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (ndb != db)
        sqlite3_exec(ndb, "COMMIT", NULL, NULL, NULL);
    for (int k = 0; k < TW_DIFF__COUNT; k++)
        if (run.tmp[k] != NULL)
            fclose(run.tmp[k]);
    return rc;
}
