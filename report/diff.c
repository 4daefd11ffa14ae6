/*
 * diff.c - the change rules for one endpoint across two scans.
 */
#include <string.h>

#include "report/diff.h"
#include "report/render.h"
#include "store/model.h"

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

size_t
tw_diff_compare(const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
                int64_t expiry_threshold_days, struct tw_diff_change out[TW_DIFF__COUNT])
{
    size_t n = 0;

    if (old == NULL && new_ == NULL)
        return 0;
    if (old == NULL) {
        add(out, &n, TW_DIFF_NEW, 0);
        if (is_failure(new_))
            add(out, &n, TW_DIFF_FAILURE_NEW, 1);
        if (expiring(new_, expiry_threshold_days))
            add(out, &n, TW_DIFF_EXPIRING, 1);
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
        int ro = tw_grade_rank(old->grade);
        int rn = tw_grade_rank(new_->grade);
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
    return n;
}

void
tw_diff_values(enum tw_diff_kind k, const struct tw_diff_ep *old, const struct tw_diff_ep *new_,
               const char **old_value, const char **new_value)
{
    const char *o = NULL;
    const char *n = NULL;

    switch (k) {
    case TW_DIFF_NEW:
    case TW_DIFF_VANISHED:
    case TW_DIFF_FAILURE_NEW:
    case TW_DIFF_FAILURE_FIXED:
    case TW_DIFF_CLASS_CHANGED:
        o = old ? old->class_name : NULL;
        n = new_ ? new_->class_name : NULL;
        break;
    case TW_DIFF_GRADE_DOWN:
    case TW_DIFF_GRADE_UP:
        o = old ? old->grade : NULL;
        n = new_ ? new_->grade : NULL;
        break;
    case TW_DIFF_CERT_ROTATED:
        o = old ? old->cert_sha256 : NULL;
        n = new_ ? new_->cert_sha256 : NULL;
        break;
    case TW_DIFF_EXPIRING:
        o = old ? old->not_after : NULL;
        n = new_ ? new_->not_after : NULL;
        break;
    case TW_DIFF_PROTOCOL_CHANGED:
        o = old ? old->tls_version : NULL;
        n = new_ ? new_->tls_version : NULL;
        break;
    case TW_DIFF_CIPHER_CHANGED:
        o = old ? old->cipher : NULL;
        n = new_ ? new_->cipher : NULL;
        break;
    case TW_DIFF__COUNT:
        break;
    }
    *old_value = o;
    *new_value = n;
}
