/*
 * mozilla.c - the Mozilla Server Side TLS profiles as checkable rules
 * (grading.md §3).  See mozilla.h for the contract and the versions used.
 */
#include "tls/mozilla.h"

#include <string.h>

#include "tls/suites.h"

#define HSTS_MIN_AGE 63072000 /* two years, every profile */
#define REC_LIFESPAN_DAYS 90  /* recommended_certificate_lifespan, every profile */

/* One profile's parameters (Mozilla JSON field names in the comments). */
struct moz_profile {
    const char *name;
    const char *guideline;
    unsigned versions;       /* tls_versions, TW_PROTO_BIT set */
    const uint16_t *ciphers; /* ciphers.iana (TLS <= 1.2) */
    size_t n_ciphers;
    int cert_rsa, cert_ec;  /* certificate_types */
    int sig_rsa, sig_ecdsa; /* certificate_signatures: sha256WithRSAEncryption, ecdsa-with-SHA* */
    int rsa_key_size;       /* 0 = null */
    int dh_param_size;      /* 0 = null */
    int max_lifespan_days;  /* maximum_certificate_lifespan */
    int server_order;       /* server_preferred_order */
};

/* TLS 1.3 ciphersuites, the same for every profile. */
static const uint16_t moz_tls13[] = {0x1301, 0x1302, 0x1303};

/* Intermediate 5.8/6.0: ECDHE-ECDSA/RSA x {AES128-GCM, AES256-GCM, CHACHA20-POLY1305}. */
static const uint16_t moz_intermediate[] = {0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8};

/* Old 5.8: the 5.7 list of 26 without its five DHE suites. */
static const uint16_t moz_old[] = {
    0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,                 /* ECDHE AEAD */
    0xC023, 0xC027, 0xC009, 0xC013, 0xC024, 0xC028, 0xC00A, 0xC014, /* ECDHE CBC */
    0x009C, 0x009D, 0x003C, 0x003D, 0x002F, 0x0035,                 /* RSA kx */
    0x000A,                                                         /* 3DES */
};

static const struct moz_profile moz_profiles[TW_MOZILLA__COUNT] = {
    [TW_MOZILLA_MODERN] = {"modern", "6.0", TW_PROTO_BIT(TW_PROTO_TLS13), NULL, 0, 0, 1, 0, 1, 0, 0,
                           90, 0},
    [TW_MOZILLA_INTERMEDIATE] = {"intermediate", "6.0",
                                 TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13),
                                 moz_intermediate,
                                 sizeof(moz_intermediate) / sizeof(moz_intermediate[0]), 1, 1, 1, 1,
                                 2048, 2048, 366, 0},
    [TW_MOZILLA_OLD] = {"old", "5.8",
                        TW_PROTO_BIT(TW_PROTO_TLS10) | TW_PROTO_BIT(TW_PROTO_TLS11) |
                            TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13),
                        moz_old, sizeof(moz_old) / sizeof(moz_old[0]), 1, 0, 1, 0, 2048, 2048, 366,
                        1},
};

static const char *const moz_check_names[TW_MZ__COUNT] = {
    [TW_MZ_TLS_VERSIONS] = "tls_versions",
    [TW_MZ_CIPHERSUITES] = "ciphersuites",
    [TW_MZ_CIPHERS] = "ciphers",
    [TW_MZ_CERT_TYPES] = "certificate_types",
    [TW_MZ_CERT_SIGNATURES] = "certificate_signatures",
    [TW_MZ_RSA_KEY_SIZE] = "rsa_key_size",
    [TW_MZ_CERT_CURVES] = "certificate_curves",
    [TW_MZ_ECDH_PARAM_SIZE] = "ecdh_param_size",
    [TW_MZ_DH_PARAM_SIZE] = "dh_param_size",
    [TW_MZ_TLS_CURVES] = "tls_curves",
    [TW_MZ_HSTS_MIN_AGE] = "hsts_min_age",
    [TW_MZ_OCSP_STAPLE] = "ocsp_staple",
    [TW_MZ_MAX_CERT_LIFESPAN] = "maximum_certificate_lifespan",
    [TW_MZ_REC_CERT_LIFESPAN] = "recommended_certificate_lifespan",
    [TW_MZ_SERVER_PREF_ORDER] = "server_preferred_order",
    [TW_MZ_CERT_TRUST] = "certificate_trust",
    [TW_MZ_VULNERABILITIES] = "vulnerabilities",
};

/* Checks that only warn (mozilla.h). */
#define MOZ_WARN_ONLY                                                                              \
    (TW_MZ_BIT(TW_MZ_CERT_CURVES) | TW_MZ_BIT(TW_MZ_TLS_CURVES) | TW_MZ_BIT(TW_MZ_OCSP_STAPLE) |   \
     TW_MZ_BIT(TW_MZ_REC_CERT_LIFESPAN) | TW_MZ_BIT(TW_MZ_SERVER_PREF_ORDER))

static int
moz_in(const uint16_t *list, size_t n, uint16_t code)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == code)
            return 1;
    return 0;
}

/* Field size of an elliptic-curve group (X25519 counts as 256, as the
 * profiles' ecdh_param_size means it), 0 for anything else. */
static int
moz_ec_bits(uint16_t g)
{
    static const struct {
        uint16_t id;
        int bits;
    } t[] = {{1, 163},  {2, 163},  {3, 163},  {4, 193},  {5, 193},  {6, 233},  {7, 233},  {8, 239},
             {9, 283},  {10, 283}, {11, 409}, {12, 409}, {13, 571}, {14, 571}, {15, 160}, {16, 160},
             {17, 160}, {18, 192}, {19, 192}, {20, 224}, {21, 224}, {22, 256}, {23, 256}, {24, 384},
             {25, 521}, {26, 256}, {27, 384}, {28, 512}, {29, 256}, {30, 448}};

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].id == g)
            return t[i].bits;
    return 0;
}

/* Size of an RFC 7919 group, 0 for anything else. */
static int
moz_ffdhe_bits(uint16_t g)
{
    static const int bits[] = {2048, 3072, 4096, 6144, 8192};

    return g >= 256 && g <= 260 ? bits[g - 256] : 0;
}

/* tls_curves: X25519MLKEM768, X25519, prime256v1, secp384r1. */
static int
moz_tls_curve(uint16_t g)
{
    return g == 0x11EC || g == TW_GROUP_X25519 || g == TW_GROUP_SECP256R1 ||
           g == TW_GROUP_SECP384R1;
}

/* The checks that depend only on the enumeration, not on the profile's
 * numbers: what was accepted. */
struct moz_facts {
    int min_ec;   /* smallest ECDHE group in bits, 0 when none */
    int min_dh;   /* smallest DHE group in bits, 0 when none */
    int other_gr; /* a group outside tls_curves was accepted */
};

static void
moz_facts(const struct tw_grade_input *g, struct moz_facts *f)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < g->n_groups && i < TW_GRADE_GROUPS_MAX; i++) {
        int ec = moz_ec_bits(g->groups[i]);
        int dh = moz_ffdhe_bits(g->groups[i]);

        if (ec > 0 && (f->min_ec == 0 || ec < f->min_ec))
            f->min_ec = ec;
        if (dh > 0 && (f->min_dh == 0 || dh < f->min_dh))
            f->min_dh = dh;
        if (!moz_tls_curve(g->groups[i]))
            f->other_gr = 1;
    }
    for (size_t i = 0; i < g->n_dh && i < TW_GRADE_DH_MAX; i++)
        if (g->dh_bits[i] > 0 && (f->min_dh == 0 || g->dh_bits[i] < f->min_dh))
            f->min_dh = g->dh_bits[i];
}

static unsigned
moz_suites(const struct moz_profile *p, const struct tw_grade_input *g)
{
    unsigned bad = 0;

    for (size_t i = 0; i < g->n_suites && i < TW_GRADE_SUITES_MAX; i++) {
        const struct tw_grade_suite *s = &g->suites[i];
        const struct tw_suite *row = tw_suites_find(s->code);

        if (row != NULL && row->is_scsv)
            continue;
        if (s->protocol == TW_VERSION_TLS13) {
            if (!moz_in(moz_tls13, sizeof(moz_tls13) / sizeof(moz_tls13[0]), s->code))
                bad |= TW_MZ_BIT(TW_MZ_CIPHERSUITES);
        } else if (!moz_in(p->ciphers, p->n_ciphers, s->code)) {
            bad |= TW_MZ_BIT(TW_MZ_CIPHERS);
        }
    }
    return bad;
}

static unsigned
moz_certs(const struct moz_profile *p, const struct tw_mozilla_input *in)
{
    const struct tw_grade_input *g = in->grade;
    unsigned bad = 0;
    int type_ok = 0, sig_ok = 0;

    for (size_t i = 0; i < g->n_certs && i < TW_GRADE_CERTS_MAX; i++) {
        const struct tw_grade_cert *c = &g->certs[i];
        const struct tw_mozilla_cert *m = &in->certs[i];

        if ((c->key_type == TW_KEY_RSA && p->cert_rsa) || (c->key_type == TW_KEY_EC && p->cert_ec))
            type_ok = 1;
        if ((m->sig_kind == TW_MZ_SIG_RSA_PKCS1 && c->sig == TW_SIG_SHA256 && p->sig_rsa) ||
            (m->sig_kind == TW_MZ_SIG_ECDSA && p->sig_ecdsa &&
             (c->sig == TW_SIG_SHA256 || c->sig == TW_SIG_SHA384 || c->sig == TW_SIG_SHA512)))
            sig_ok = 1;
        if (c->key_type == TW_KEY_RSA && p->rsa_key_size > 0 && c->key_bits < p->rsa_key_size)
            bad |= TW_MZ_BIT(TW_MZ_RSA_KEY_SIZE);
        if (c->key_type == TW_KEY_EC && m->curve != TW_GROUP_SECP256R1 &&
            m->curve != TW_GROUP_SECP384R1)
            bad |= TW_MZ_BIT(TW_MZ_CERT_CURVES);
        if (m->lifespan_days > p->max_lifespan_days)
            bad |= TW_MZ_BIT(TW_MZ_MAX_CERT_LIFESPAN);
        if (m->lifespan_days > REC_LIFESPAN_DAYS)
            bad |= TW_MZ_BIT(TW_MZ_REC_CERT_LIFESPAN);
    }
    if (!type_ok)
        bad |= TW_MZ_BIT(TW_MZ_CERT_TYPES);
    if (!sig_ok)
        bad |= TW_MZ_BIT(TW_MZ_CERT_SIGNATURES);
    return bad;
}

static unsigned
moz_profile_checks(const struct moz_profile *p, const struct tw_mozilla_input *in,
                   const struct moz_facts *f)
{
    const struct tw_grade_input *g = in->grade;
    unsigned bad = 0;
    unsigned ordered;

    if ((g->protocols & ~p->versions) != 0)
        bad |= TW_MZ_BIT(TW_MZ_TLS_VERSIONS);
    bad |= moz_suites(p, g);
    bad |= moz_certs(p, in);
    if (f->min_ec > 0 && f->min_ec < 256)
        bad |= TW_MZ_BIT(TW_MZ_ECDH_PARAM_SIZE);
    if (p->dh_param_size > 0 && f->min_dh > 0 && f->min_dh < p->dh_param_size)
        bad |= TW_MZ_BIT(TW_MZ_DH_PARAM_SIZE);
    if (f->other_gr)
        bad |= TW_MZ_BIT(TW_MZ_TLS_CURVES);
    if (g->is_https && (g->hsts != TW_HSTS_PRESENT || g->hsts_max_age < HSTS_MIN_AGE))
        bad |= TW_MZ_BIT(TW_MZ_HSTS_MIN_AGE);
    if (in->ocsp_stapled == 0)
        bad |= TW_MZ_BIT(TW_MZ_OCSP_STAPLE);
    /* server_preferred_order: judged on the protocols with a choice to make. */
    ordered = in->server_preference & g->protocols;
    if (g->protocols != 0 && (p->server_order ? ordered == 0 : ordered != 0))
        bad |= TW_MZ_BIT(TW_MZ_SERVER_PREF_ORDER);
    if (g->trust != 0 || g->name_mismatch)
        bad |= TW_MZ_BIT(TW_MZ_CERT_TRUST);
    if (g->compression || g->heartbleed || g->ccs_exploitable || g->robot || !g->secure_reneg)
        bad |= TW_MZ_BIT(TW_MZ_VULNERABILITIES);
    return bad;
}

int
tw_mozilla_evaluate(const struct tw_mozilla_input *in, struct tw_mozilla_output *out)
{
    struct moz_facts f;

    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->best = -1;
    if (in == NULL || in->grade == NULL)
        return -1;
    moz_facts(in->grade, &f);
    for (int i = TW_MOZILLA__COUNT - 1; i >= 0; i--) {
        unsigned bad = moz_profile_checks(&moz_profiles[i], in, &f);
        struct tw_mozilla_verdict *v = &out->profile[i];

        v->failed = bad & ~MOZ_WARN_ONLY;
        v->warned = bad & MOZ_WARN_ONLY;
        v->pass = v->failed == 0;
    }
    for (int i = 0; i < TW_MOZILLA__COUNT && out->best < 0; i++)
        if (out->profile[i].pass)
            out->best = i;
    return 0;
}

const char *
tw_mozilla_profile_name(enum tw_mozilla_profile p)
{
    return (unsigned)p < TW_MOZILLA__COUNT ? moz_profiles[p].name : NULL;
}

int
tw_mozilla_profile_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < TW_MOZILLA__COUNT; i++)
        if (strcmp(name, moz_profiles[i].name) == 0)
            return i;
    return -1;
}

const char *
tw_mozilla_guideline(enum tw_mozilla_profile p)
{
    return (unsigned)p < TW_MOZILLA__COUNT ? moz_profiles[p].guideline : NULL;
}

const char *
tw_mozilla_check_name(enum tw_mozilla_check c)
{
    return (unsigned)c < TW_MZ__COUNT ? moz_check_names[c] : NULL;
}

size_t
tw_mozilla_format_checks(unsigned mask, char *buf, size_t len)
{
    size_t n = 0;

    if (buf == NULL || len == 0)
        return 0;
    buf[0] = '\0';
    for (int c = 0; c < TW_MZ__COUNT; c++) {
        const char *name = moz_check_names[c];
        size_t need = strlen(name) + (n > 0 ? 1 : 0);

        if ((mask & TW_MZ_BIT(c)) == 0)
            continue;
        if (n + need + 1 > len)
            break;
        if (n > 0)
            buf[n++] = ',';
        memcpy(buf + n, name, strlen(name) + 1);
        n += strlen(name);
    }
    return n;
}
