/*
 * problems.c - the fix-first grouping: endpoints folded into problems by
 * root cause, then ranked.  See problems.h for the keys and the order.
 *
 * Problems are found by key in an open-addressing hash table (FNV-1a,
 * doubled at half load), so that adding a row costs O(its problems)
 * whatever the number of problems.  Keys and titles hold hostile values cut
 * to TW_PROBLEMS_KEY_MAX bytes (on a byte boundary: the escapers show a cut
 * UTF-8 sequence as invalid, which is safe).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "report/problems.h"
#include "report/query.h"
#include "store/model.h"
#include "tls/grade.h"

void
tw_problems_init(struct tw_problems *p)
{
    memset(p, 0, sizeof(*p));
}

static void
problem_free(struct tw_problem *pr)
{
    free(pr->kind_owned);
    free(pr->key);
    free(pr->title);
    free(pr->why);
    free(pr->fix);
    free(pr->try_cmd);
    for (size_t i = 0; i < pr->n_sample; i++)
        tw_report_row_cleanup(&pr->sample[i]);
    free(pr->sample);
    free(pr);
}

void
tw_problems_free(struct tw_problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        problem_free(p->list[i]);
    free(p->list);
    free(p->slots);
    free(p->members);
    memset(p, 0, sizeof(*p));
}

static uint64_t
key_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void
slots_put(size_t *slots, size_t n_slots, const char *key, size_t idx1)
{
    size_t i = (size_t)(key_hash(key) & (n_slots - 1));

    while (slots[i] != 0)
        i = (i + 1) & (n_slots - 1);
    slots[i] = idx1;
}

static void
slots_grow(struct tw_problems *p)
{
    size_t n = p->n_slots ? 2 * p->n_slots : 64;

    free(p->slots);
    p->slots = tw_xcalloc(n, sizeof(*p->slots));
    p->n_slots = n;
    for (size_t i = 0; i < p->n; i++)
        slots_put(p->slots, n, p->list[i]->key, i + 1);
}

/* The problem of key, or NULL. */
static struct tw_problem *
problems_find(const struct tw_problems *p, const char *key)
{
    size_t i;

    if (p->n_slots == 0)
        return NULL;
    i = (size_t)(key_hash(key) & (p->n_slots - 1));
    while (p->slots[i] != 0) {
        struct tw_problem *pr = p->list[p->slots[i] - 1];

        if (strcmp(pr->key, key) == 0)
            return pr;
        i = (i + 1) & (p->n_slots - 1);
    }
    return NULL;
}

/* A copy of s cut to TW_PROBLEMS_KEY_MAX bytes ("" for NULL). */
static char *
cut_dup(const char *s)
{
    return tw_xstrndup(s != NULL ? s : "", TW_PROBLEMS_KEY_MAX);
}

static char *fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt_dup(const char *fmt, ...)
{
    char *s = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&s, &len);
    va_list ap;

    if (m == NULL)
        return tw_xstrdup("");
    va_start(ap, fmt);
    vfprintf(m, fmt, ap);
    va_end(ap);
    fclose(m);
    return s;
}

/* What a new problem needs besides its key; the strings are copied. */
struct problem_spec {
    enum tw_problem_tier tier;
    const char *kind;
    int kind_is_static;
    char *title; /* taken over */
    const char *why, *fix;
    int class_rank;
    int with_try; /* the reproduce command shows this problem (class problems) */
};

static void
sample_add(struct tw_problem *pr, const struct tw_report_row *row)
{
    struct tw_report_row *s;

    if (pr->n_sample >= TW_PROBLEMS_SAMPLE)
        return;
    if (pr->n_sample == pr->cap_sample) {
        pr->cap_sample = pr->cap_sample == 0 ? 1 : TW_PROBLEMS_SAMPLE;
        pr->sample = tw_xrealloc(pr->sample, pr->cap_sample * sizeof(*pr->sample));
    }
    s = &pr->sample[pr->n_sample++];
    memset(s, 0, sizeof(*s));
    s->id = row->id;
    s->host = row->host != NULL ? tw_xstrdup(row->host) : NULL;
    s->ip = row->ip != NULL ? tw_xstrdup(row->ip) : NULL;
    s->sni = row->sni != NULL ? tw_xstrdup(row->sni) : NULL;
    s->port = row->port;
}

static void
member_add(struct tw_problems *p, int64_t row_id, const struct tw_problem *pr)
{
    if (p->n_members == p->cap_members) {
        p->cap_members = p->cap_members ? 2 * p->cap_members : 64;
        p->members = tw_xrealloc(p->members, p->cap_members * sizeof(*p->members));
    }
    p->members[p->n_members].row_id = row_id;
    p->members[p->n_members].problem = pr;
    p->n_members++;
}

/* Put row into the problem of key, made from spec when new (spec->title is
 * freed when the problem exists).  Returns 1 when the row joined. */
static int
problems_join(struct tw_problems *p, const char *key, struct problem_spec *spec,
              const struct tw_report_row *row)
{
    struct tw_problem *pr = problems_find(p, key);

    if (pr == NULL) {
        pr = tw_xcalloc(1, sizeof(*pr));
        pr->tier = spec->tier;
        if (spec->kind_is_static) {
            pr->kind = spec->kind;
        } else {
            pr->kind_owned = cut_dup(spec->kind);
            pr->kind = pr->kind_owned;
        }
        pr->key = tw_xstrdup(key);
        pr->title = spec->title;
        spec->title = NULL;
        pr->why = spec->why != NULL ? tw_xstrdup(spec->why) : NULL;
        pr->fix = spec->fix != NULL ? tw_xstrdup(spec->fix) : NULL;
        pr->try_cmd = spec->with_try && row->repro != NULL ? tw_xstrdup(row->repro) : NULL;
        pr->with_try = spec->with_try;
        pr->class_rank = spec->class_rank;
        pr->min_days = INT64_MAX;
        pr->last_row = INT64_MIN;
        if (p->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 16;
            p->list = tw_xrealloc(p->list, p->cap * sizeof(*p->list));
        }
        p->list[p->n++] = pr;
        if (2 * p->n > p->n_slots)
            slots_grow(p);
        else
            slots_put(p->slots, p->n_slots, pr->key, p->n);
    } else {
        free(spec->title);
        spec->title = NULL;
    }
    if (pr->last_row == row->id)
        return 0;
    pr->last_row = row->id;
    pr->count++;
    if (row->has_expiry && row->days_left < pr->min_days)
        pr->min_days = row->days_left;
    if (pr->with_try && pr->try_cmd == NULL && row->repro != NULL)
        pr->try_cmd = tw_xstrdup(row->repro);
    sample_add(pr, row);
    member_add(p, row->id, pr);
    return 1;
}

/* The first 12 hex digits of a fingerprint, for titles. */
static void
short_sha(const char *sha, char out[16])
{
    snprintf(out, 16, "%.12s", sha != NULL ? sha : "-");
}

/* The certificate that identifies a problem: its fingerprint, else its
 * subject (a row without a stored leaf). */
static const char *
cert_id(const struct tw_report_row *row)
{
    if (row->cert_sha256 != NULL && row->cert_sha256[0] != '\0')
        return row->cert_sha256;
    return row->leaf_subject != NULL ? row->leaf_subject : "";
}

static void
add_expired(struct tw_problems *p, const struct tw_report_row *row)
{
    const struct tw_class_info *ci = tw_class_info(TW_CLASS_CERT_EXPIRED);
    char sha[16];
    char key[TW_PROBLEMS_KEY_MAX + 32];
    struct problem_spec spec = {TW_PROBLEM_BROKEN,
                                "cert_expired",
                                1,
                                NULL,
                                ci->why,
                                ci->fix,
                                tw_class_rank("cert_expired"),
                                1};

    short_sha(row->cert_sha256, sha);
    snprintf(key, sizeof(key), "cert_expired|%.*s", TW_PROBLEMS_KEY_MAX, cert_id(row));
    spec.title =
        fmt_dup("certificate %.*s expired (notAfter %.40s, sha256 %s)", TW_PROBLEMS_KEY_MAX,
                row->leaf_subject != NULL ? row->leaf_subject : "(no subject)",
                row->not_after != NULL ? row->not_after : "-", sha);
    problems_join(p, key, &spec, row);
}

static void
add_expiring(struct tw_problems *p, const struct tw_report_row *row)
{
    int in14 = row->days_left < 14;
    char sha[16];
    char key[TW_PROBLEMS_KEY_MAX + 32];
    struct problem_spec spec = {
        in14 ? TW_PROBLEM_EXPIRES_14 : TW_PROBLEM_EXPIRES_30,
        in14 ? "expires_14d" : "expires_30d",
        1,
        NULL,
        in14 ? "The certificate expires within 14 days: from then on every client refuses it."
             : "The certificate expires within 30 days: from then on every client refuses it.",
        "Renew the certificate and deploy it on every endpoint listed; automate renewal (ACME).",
        99,
        0,
    };

    short_sha(row->cert_sha256, sha);
    snprintf(key, sizeof(key), "%s|%.*s", spec.kind, TW_PROBLEMS_KEY_MAX, cert_id(row));
    spec.title =
        fmt_dup("certificate %.*s expires in %" PRId64 " days (notAfter %.40s, sha256 %s)",
                TW_PROBLEMS_KEY_MAX, row->leaf_subject != NULL ? row->leaf_subject : "(no subject)",
                row->days_left, row->not_after != NULL ? row->not_after : "-", sha);
    problems_join(p, key, &spec, row);
}

static void
add_class(struct tw_problems *p, const struct tw_report_row *row)
{
    const char *name = row->class_name != NULL ? row->class_name : "";
    char key[2 * TW_PROBLEMS_KEY_MAX + 32];
    char sha[16];
    struct problem_spec spec = {TW_PROBLEM_BROKEN,   name, 0, NULL, "unknown class", NULL,
                                tw_class_rank(name), 1};

    if (row->cls_known && row->cls == TW_CLASS_CERT_EXPIRED) {
        add_expired(p, row);
        return;
    }
    if (row->cls_known) {
        spec.kind = tw_class_name(row->cls);
        spec.kind_is_static = 1;
        spec.why = tw_class_info(row->cls)->why;
        spec.fix = tw_class_info(row->cls)->fix;
    }
    if (row->cls_known &&
        (row->cls == TW_CLASS_INCOMPLETE_CHAIN || row->cls == TW_CLASS_UNTRUSTED_ROOT)) {
        /* One issuer whose intermediate a pool does not send. */
        snprintf(key, sizeof(key), "%s|issuer|%.*s", spec.kind, TW_PROBLEMS_KEY_MAX,
                 row->leaf_issuer != NULL ? row->leaf_issuer : "");
        spec.title = fmt_dup("%s: certificates issued by %.*s", spec.kind, TW_PROBLEMS_KEY_MAX,
                             row->leaf_issuer != NULL ? row->leaf_issuer : "(unknown issuer)");
    } else if (row->cls_known && row->cls >= TW_CLASS_CERT_REVOKED) {
        /* One certificate, wherever it is served. */
        short_sha(row->cert_sha256, sha);
        snprintf(key, sizeof(key), "%s|cert|%.*s", spec.kind, TW_PROBLEMS_KEY_MAX, cert_id(row));
        spec.title = fmt_dup("%s: certificate %.*s (sha256 %s)", spec.kind, TW_PROBLEMS_KEY_MAX,
                             row->leaf_subject != NULL ? row->leaf_subject : "(no subject)", sha);
    } else {
        /* A failure (or an unknown class): the class and the first clause
         * of its detail, what failed (the clauses after ";" carry
         * per-endpoint facts such as the certificate's expiry). */
        const char *d = row->detail != NULL ? row->detail : "";
        int n = (int)strcspn(d, ";");

        if (n > TW_PROBLEMS_KEY_MAX)
            n = TW_PROBLEMS_KEY_MAX;
        snprintf(key, sizeof(key), "%.*s|detail|%.*s", TW_PROBLEMS_KEY_MAX, name, n, d);
        spec.title = n > 0 ? fmt_dup("%.*s: %.*s", TW_PROBLEMS_KEY_MAX, name, n, d)
                           : fmt_dup("%.*s: (no detail)", TW_PROBLEMS_KEY_MAX, name);
    }
    problems_join(p, key, &spec, row);
}

/* 1 when the "code\x1ftext\x1e..." list holds code. */
static int
caps_have(const char *caps, const char *code)
{
    size_t n = strlen(code);

    for (const char *c = caps; c != NULL && *c != '\0';) {
        if (strncmp(c, code, n) == 0 && (c[n] == '\x1f' || c[n] == '\x1e' || c[n] == '\0'))
            return 1;
        c = strchr(c, '\x1e');
        if (c != NULL)
            c++;
    }
    return 0;
}

/* One "code\x1fcap\x1ftext" record of the caps list, split (text: the
 * code when absent). */
struct cap_rec {
    const char *code, *cap, *text;
    int code_len, cap_len, text_len;
};

static void
cap_split(const char *c, size_t rec, struct cap_rec *out)
{
    const char *end = c + rec;
    const char *f1 = memchr(c, '\x1f', rec);
    const char *f2 = f1 != NULL ? memchr(f1 + 1, '\x1f', (size_t)(end - f1 - 1)) : NULL;

    out->code = c;
    out->code_len = (int)((f1 != NULL ? f1 : end) - c);
    out->cap = f1 != NULL ? f1 + 1 : end;
    out->cap_len = (int)((f2 != NULL ? f2 : end) - out->cap);
    out->text = f2 != NULL ? f2 + 1 : c;
    out->text_len = (int)(f2 != NULL ? end - out->text : out->code_len);
    if (out->code_len > 64)
        out->code_len = 64;
    if (out->cap_len > 2)
        out->cap_len = 2;
    if (out->text_len > TW_PROBLEMS_KEY_MAX)
        out->text_len = TW_PROBLEMS_KEY_MAX;
}

static void
add_caps(struct tw_problems *p, const struct tw_report_row *row, const char *caps)
{
    for (const char *c = caps; c != NULL && *c != '\0';) {
        size_t rec = strcspn(c, "\x1e");
        struct cap_rec r;

        cap_split(c, rec, &r);
        if (r.code_len > 0) {
            char cap[3];
            char key[TW_PROBLEMS_KEY_MAX + 32];
            char *why = tw_xstrndup(r.text, (size_t)r.text_len);
            int sev;
            struct problem_spec spec = {TW_PROBLEM_CAPPED,
                                        "grade_cap",
                                        1,
                                        NULL,
                                        why,
                                        "Change the configuration of the endpoints listed so "
                                        "that this cap no longer applies (README.md, Grades), "
                                        "then scan again.",
                                        99,
                                        0};

            snprintf(cap, sizeof(cap), "%.*s", r.cap_len, r.cap);
            sev = tw_grade_severity(tw_grade_from_name(cap));
            /* A cap at A or A- (HSTS, warnings) only withholds A+: hygiene. */
            if (sev <= tw_grade_severity(TW_GRADE_A_MINUS))
                spec.tier = TW_PROBLEM_HYGIENE;
            /* Worst cap first within the tier (F before B). */
            spec.class_rank = TW_GRADE_NONE + 1 - sev;
            snprintf(key, sizeof(key), "grade_cap|%.*s", r.code_len, r.code);
            spec.title = fmt_dup("grade capped at %s: %s (%.*s)", cap[0] ? cap : "?", why,
                                 r.code_len, r.code);
            problems_join(p, key, &spec, row);
            free(why);
        }
        c += rec;
        if (*c == '\x1e')
            c++;
    }
}

/* The legacy protocols and the grade caps that already name them. */
static const struct {
    const char *proto;
    const char *caps[3];
} legacy_protos[] = {
    {"SSLv2", {"ssl2", NULL, NULL}},
    {"SSLv3", {"ssl3", "ssl3_best", "poodle_ssl3"}},
    {"TLSv1", {"tls10_or_11", NULL, NULL}},
    {"TLSv1.1", {"tls10_or_11", NULL, NULL}},
};

static void
add_legacy(struct tw_problems *p, const struct tw_report_row *row, const char *legacy,
           const char *caps)
{
    for (size_t i = 0; i < sizeof(legacy_protos) / sizeof(legacy_protos[0]); i++) {
        const char *name = legacy_protos[i].proto;
        size_t n = strlen(name);
        int found = 0;
        int capped = 0;
        char key[64];
        struct problem_spec spec = {TW_PROBLEM_HYGIENE, "protocol", 1, NULL, NULL, NULL, 99, 0};
        char why[256];
        char fix[256];

        for (const char *c = legacy; c != NULL && *c != '\0';) {
            if (strncmp(c, name, n) == 0 && (c[n] == ',' || c[n] == '\0'))
                found = 1;
            c = strchr(c, ',');
            if (c != NULL)
                c++;
        }
        for (size_t k = 0; k < 3 && legacy_protos[i].caps[k] != NULL; k++)
            capped |= caps_have(caps, legacy_protos[i].caps[k]);
        if (!found || capped)
            continue;
        snprintf(key, sizeof(key), "protocol|%s", name);
        snprintf(why, sizeof(why),
                 "%s is enabled: a client (or an attacker forcing a downgrade) can still "
                 "negotiate it, without the protections of TLS 1.2 and 1.3.",
                 name);
        snprintf(fix, sizeof(fix),
                 "Disable %s on the endpoints listed (nginx: ssl_protocols TLSv1.2 TLSv1.3; "
                 "Apache: SSLProtocol -all +TLSv1.2 +TLSv1.3).",
                 name);
        spec.title = fmt_dup("%s accepted", name);
        spec.why = why;
        spec.fix = fix;
        problems_join(p, key, &spec, row);
    }
}

void
tw_problems_add(struct tw_problems *p, const struct tw_report_row *row, const char *legacy,
                const char *caps)
{
    size_t before = p->n_members;

    if (!row->cls_known || row->cls != TW_CLASS_OK)
        add_class(p, row);
    if (row->has_expiry && row->days_left < 0)
        add_expired(p, row);
    else if (row->has_expiry && row->days_left < 30)
        add_expiring(p, row);
    add_caps(p, row, caps);
    add_legacy(p, row, legacy, caps);
    if (p->n_members > before)
        p->n_endpoints++;
}

static int
problem_cmp(const void *a, const void *b)
{
    const struct tw_problem *x = *(const struct tw_problem *const *)a;
    const struct tw_problem *y = *(const struct tw_problem *const *)b;

    if (x->tier != y->tier)
        return x->tier < y->tier ? -1 : 1;
    /* Grade caps: the worst cap first (class_rank holds it), then the count. */
    if (x->tier == TW_PROBLEM_CAPPED && x->class_rank != y->class_rank)
        return x->class_rank < y->class_rank ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->min_days != y->min_days)
        return x->min_days < y->min_days ? -1 : 1;
    if (x->class_rank != y->class_rank)
        return x->class_rank < y->class_rank ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int
member_cmp(const void *a, const void *b)
{
    const struct tw_problem_member *x = a;
    const struct tw_problem_member *y = b;

    if (x->row_id != y->row_id)
        return x->row_id < y->row_id ? -1 : 1;
    if (x->problem->rank != y->problem->rank)
        return x->problem->rank < y->problem->rank ? -1 : 1;
    return 0;
}

void
tw_problems_finish(struct tw_problems *p)
{
    if (p->n > 0)
        qsort(p->list, p->n, sizeof(*p->list), problem_cmp);
    for (size_t i = 0; i < p->n; i++)
        p->list[i]->rank = (int)(i + 1);
    /* The table indexes the unsorted list: rebuild it. */
    if (p->n_slots > 0) {
        memset(p->slots, 0, p->n_slots * sizeof(*p->slots));
        for (size_t i = 0; i < p->n; i++)
            slots_put(p->slots, p->n_slots, p->list[i]->key, i + 1);
    }
    if (p->n_members > 0)
        qsort(p->members, p->n_members, sizeof(*p->members), member_cmp);
    p->finished = 1;
}

size_t
tw_problems_shown(const struct tw_problems *p, int64_t top)
{
    if (top <= 0 || (uint64_t)top >= p->n)
        return p->n;
    return (size_t)top;
}

const char *
tw_problem_severity(enum tw_problem_tier tier)
{
    static const char *const names[TW_PROBLEM__TIERS] = {"critical", "high", "medium", "low",
                                                         "info"};

    return tier < TW_PROBLEM__TIERS ? names[tier] : "info";
}

const char *
tw_problem_severity_of(const struct tw_problem *pr)
{
    /* class_rank of a cap: TW_GRADE_NONE + 1 - its severity (F: 2, C: 6). */
    if (pr->tier == TW_PROBLEM_CAPPED &&
        pr->class_rank <= TW_GRADE_NONE + 1 - tw_grade_severity(TW_GRADE_C))
        return "medium";
    return tw_problem_severity(pr->tier);
}

const char *
tw_problem_tier_text(enum tw_problem_tier tier)
{
    static const char *const texts[TW_PROBLEM__TIERS] = {
        "breaks clients now", "breaks clients within 14 days", "breaks clients within 30 days",
        "caps the grade", "hygiene"};

    return tier < TW_PROBLEM__TIERS ? texts[tier] : "hygiene";
}

void
tw_problems_ranks(const struct tw_problems *p, int64_t row_id, char *buf, size_t len)
{
    size_t lo = 0;
    size_t hi = p->n_members;
    size_t used = 0;

    if (len == 0)
        return;
    buf[0] = '\0';
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (p->members[mid].row_id < row_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < p->n_members && p->members[i].row_id == row_id; i++) {
        int k =
            snprintf(buf + used, len - used, "%s%d", used ? ";" : "", p->members[i].problem->rank);

        if (k < 0 || (size_t)k >= len - used) {
            buf[used] = '\0';
            return;
        }
        used += (size_t)k;
    }
}
