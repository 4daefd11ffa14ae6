/*
 * test_mozilla.c - Mozilla Server Side TLS compliance (tls/mozilla.h): one
 * hand-made enumeration that passes intermediate (and one that passes
 * modern, one that passes old), then each check of grading.md §3.3 made to
 * fail (or warn) by one change, named exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/mozilla.h"
#include "tls/suites.h"

struct fx {
    struct tw_grade_input g;
    struct tw_mozilla_input in;
    struct tw_mozilla_output out;
};

static void
add(struct tw_grade_input *g, uint16_t version, uint16_t code)
{
    assert_true(g->n_suites < TW_GRADE_SUITES_MAX);
    g->suites[g->n_suites].protocol = version;
    g->suites[g->n_suites].code = code;
    g->n_suites++;
    g->protocols |= TW_PROTO_BIT(tw_grade_proto_from_version(version));
}

/* A TLS 1.2 + 1.3 server with the six ECDHE AEAD suites, X25519 and P-256,
 * one RSA-2048 leaf signed sha256WithRSAEncryption, valid 365 days, trusted,
 * HTTPS with a two-year HSTS, client's suite order: intermediate. */
static struct fx *
intermediate(void)
{
    static const uint16_t s12[] = {0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8};
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    for (size_t i = 0; i < sizeof(s12) / sizeof(s12[0]); i++)
        add(&f->g, TW_VERSION_TLS12, s12[i]);
    add(&f->g, TW_VERSION_TLS13, 0x1301);
    add(&f->g, TW_VERSION_TLS13, 0x1302);
    add(&f->g, TW_VERSION_TLS13, 0x1303);
    f->g.groups[f->g.n_groups++] = TW_GROUP_X25519;
    f->g.groups[f->g.n_groups++] = TW_GROUP_SECP256R1;
    f->g.certs[0].key_type = TW_KEY_RSA;
    f->g.certs[0].key_bits = 2048;
    f->g.certs[0].sig = TW_SIG_SHA256;
    f->g.n_certs = 1;
    f->g.secure_reneg = 1;
    f->g.is_https = 1;
    f->g.hsts = TW_HSTS_PRESENT;
    f->g.hsts_max_age = 63072000;
    f->in.grade = &f->g;
    f->in.certs[0].sig_kind = TW_MZ_SIG_RSA_PKCS1;
    f->in.certs[0].lifespan_days = 365;
    f->in.ocsp_stapled = -1;
    return f;
}

/* TLS 1.3 only, one P-256 leaf signed ecdsa-with-SHA256, valid 90 days. */
static struct fx *
modern(void)
{
    struct fx *f = intermediate();

    f->g.n_suites = 0;
    f->g.protocols = 0;
    add(&f->g, TW_VERSION_TLS13, 0x1301);
    add(&f->g, TW_VERSION_TLS13, 0x1303);
    f->g.certs[0].key_type = TW_KEY_EC;
    f->g.certs[0].key_bits = 256;
    f->in.certs[0].sig_kind = TW_MZ_SIG_ECDSA;
    f->in.certs[0].curve = TW_GROUP_SECP256R1;
    f->in.certs[0].lifespan_days = 90;
    return f;
}

static void
eval(struct fx *f)
{
    assert_int_equal(tw_mozilla_evaluate(&f->in, &f->out), 0);
}

static void
expect(const struct fx *f, enum tw_mozilla_profile p, int pass, const char *failed,
       const char *warned)
{
    char buf[512];

    assert_int_equal(f->out.profile[p].pass, pass);
    tw_mozilla_format_checks(f->out.profile[p].failed, buf, sizeof(buf));
    assert_string_equal(buf, failed);
    if (warned != NULL) {
        tw_mozilla_format_checks(f->out.profile[p].warned, buf, sizeof(buf));
        assert_string_equal(buf, warned);
    }
}

static void
test_intermediate_passes(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", "recommended_certificate_lifespan");
    expect(f, TW_MOZILLA_MODERN, 0,
           "tls_versions,ciphers,certificate_types,certificate_signatures,"
           "maximum_certificate_lifespan",
           NULL);
    /* Old: TLS 1.2 and its suites are in old's lists, RSA is its type; the
     * client's order only warns. */
    expect(f, TW_MOZILLA_OLD, 1, "", "recommended_certificate_lifespan,server_preferred_order");
    assert_int_equal(f->out.best, TW_MOZILLA_INTERMEDIATE);
    free(f);
}

static void
test_modern_passes(void **state)
{
    struct fx *f = modern();

    (void)state;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 1, "", "");
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", "");
    /* Old wants an RSA leaf signed sha256WithRSAEncryption. */
    expect(f, TW_MOZILLA_OLD, 0, "certificate_types,certificate_signatures",
           "server_preferred_order");
    assert_int_equal(f->out.best, TW_MOZILLA_MODERN);
    free(f);
}

/* MZ1: TLS 1.0 fails intermediate, passes old; SSLv3 fails every profile. */
static void
test_tls_versions(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    add(&f->g, TW_VERSION_TLS10, 0xC013);
    f->in.server_preference = f->g.protocols;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "tls_versions,ciphers", NULL);
    expect(f, TW_MOZILLA_OLD, 1, "", "recommended_certificate_lifespan");
    f->g.protocols |= TW_PROTO_BIT(TW_PROTO_SSL3);
    eval(f);
    expect(f, TW_MOZILLA_OLD, 0, "tls_versions", NULL);
    assert_int_equal(f->out.best, -1);
    free(f);
}

/* MZ2: a TLS 1.3 suite outside the three. */
static void
test_ciphersuites(void **state)
{
    struct fx *f = modern();

    (void)state;
    add(&f->g, TW_VERSION_TLS13, 0x1304); /* TLS_AES_128_CCM_SHA256 */
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 0, "ciphersuites", NULL);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "ciphersuites", NULL);
    free(f);
}

/* MZ3: CBC and DHE suites on TLS 1.2. */
static void
test_ciphers(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    add(&f->g, TW_VERSION_TLS12, 0xC013); /* ECDHE-RSA-AES128-SHA: old only */
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "ciphers", NULL);
    expect(f, TW_MOZILLA_OLD, 1, "", NULL);
    add(&f->g, TW_VERSION_TLS12, 0x009E); /* DHE-RSA-AES128-GCM: none since 5.8 */
    eval(f);
    expect(f, TW_MOZILLA_OLD, 0, "ciphers", NULL);
    free(f);
}

/* MZ4/MZ5: a DSA leaf signed with RSA-PSS: no type, no signature. */
static void
test_cert_type_and_signature(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->in.certs[0].sig_kind = TW_MZ_SIG_RSA_PSS;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "certificate_signatures", NULL);
    f->g.certs[0].key_type = TW_KEY_DSA;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "certificate_types,certificate_signatures", NULL);
    /* SHA-1 RSA: not sha256WithRSAEncryption. */
    f->g.certs[0].key_type = TW_KEY_RSA;
    f->in.certs[0].sig_kind = TW_MZ_SIG_RSA_PKCS1;
    f->g.certs[0].sig = TW_SIG_SHA1;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "certificate_signatures", NULL);
    free(f);
}

/* A dual-certificate server: one good leaf is enough for MZ4/MZ5, and old
 * (RSA) and modern (ECDSA) each find theirs. */
static void
test_dual_certificates(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->g.certs[1].key_type = TW_KEY_EC;
    f->g.certs[1].key_bits = 256;
    f->g.certs[1].sig = TW_SIG_SHA256;
    f->in.certs[1].sig_kind = TW_MZ_SIG_ECDSA;
    f->in.certs[1].curve = TW_GROUP_SECP256R1;
    f->in.certs[1].lifespan_days = 365;
    f->g.n_certs = 2;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", NULL);
    expect(f, TW_MOZILLA_OLD, 1, "", NULL);
    expect(f, TW_MOZILLA_MODERN, 0, "tls_versions,ciphers,maximum_certificate_lifespan", NULL);
    free(f);
}

/* MZ6: RSA-1024; modern has no rsa_key_size. */
static void
test_rsa_key_size(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->g.certs[0].key_bits = 1024;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "rsa_key_size", NULL);
    expect(f, TW_MOZILLA_OLD, 0, "rsa_key_size", NULL);
    assert_false(f->out.profile[TW_MOZILLA_MODERN].failed & TW_MZ_BIT(TW_MZ_RSA_KEY_SIZE));
    free(f);
}

/* MZ7: a P-521 leaf only warns. */
static void
test_cert_curves_warn(void **state)
{
    struct fx *f = modern();

    (void)state;
    f->in.certs[0].curve = TW_GROUP_SECP521R1;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 1, "", "certificate_curves");
    free(f);
}

/* MZ8: secp224r1 accepted; MZ10: brainpool only warns. */
static void
test_ecdh_and_tls_curves(void **state)
{
    struct fx *f = modern();

    (void)state;
    f->g.groups[f->g.n_groups++] = 26; /* brainpoolP256r1: 256 bits, not in tls_curves */
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 1, "", "tls_curves");
    f->g.groups[f->g.n_groups++] = 21; /* secp224r1 */
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 0, "ecdh_param_size", "tls_curves");
    free(f);
}

/* MZ9: a 1024-bit DHE group (seen by size) and ffdhe2048 (passes). */
static void
test_dh_param_size(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->g.groups[f->g.n_groups++] = TW_GROUP_FFDHE2048;
    eval(f);
    assert_false(f->out.profile[TW_MOZILLA_OLD].failed & TW_MZ_BIT(TW_MZ_DH_PARAM_SIZE));
    f->g.dh_bits[f->g.n_dh++] = 1024;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "dh_param_size", NULL);
    expect(f, TW_MOZILLA_OLD, 0, "dh_param_size", NULL);
    /* modern's dh_param_size is null. */
    assert_false(f->out.profile[TW_MOZILLA_MODERN].failed & TW_MZ_BIT(TW_MZ_DH_PARAM_SIZE));
    free(f);
}

/* MZ11: HSTS one year, absent, and a non-HTTP service (not judged). */
static void
test_hsts(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->g.hsts_max_age = 31536000;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "hsts_min_age", NULL);
    f->g.hsts = TW_HSTS_ABSENT;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "hsts_min_age", NULL);
    f->g.is_https = 0;
    f->g.hsts = TW_HSTS_NOT_APPLICABLE;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", NULL);
    free(f);
}

/* MZ12: no staple only warns; unknown is not judged. */
static void
test_ocsp_staple(void **state)
{
    struct fx *f = modern();

    (void)state;
    f->in.ocsp_stapled = 0;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 1, "", "ocsp_staple");
    f->in.ocsp_stapled = 1;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 1, "", "");
    f->in.ocsp_stapled = -1;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 1, "", "");
    free(f);
}

/* MZ12 in every profile (ocsp_staple is true in all three, grading.md
 * §3.2): a missing staple warns in each and fails none; a staple clears it. */
static void
test_ocsp_staple_profiles(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->in.ocsp_stapled = 0;
    eval(f);
    for (int p = 0; p < TW_MOZILLA__COUNT; p++) {
        assert_true(f->out.profile[p].warned & TW_MZ_BIT(TW_MZ_OCSP_STAPLE));
        assert_false(f->out.profile[p].failed & TW_MZ_BIT(TW_MZ_OCSP_STAPLE));
    }
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", NULL);
    f->in.ocsp_stapled = 1;
    eval(f);
    for (int p = 0; p < TW_MOZILLA__COUNT; p++)
        assert_false((f->out.profile[p].warned | f->out.profile[p].failed) &
                     TW_MZ_BIT(TW_MZ_OCSP_STAPLE));
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", NULL);
    free(f);
}

/* MZ13: 91 days fails modern; 367 days fails intermediate and old. */
static void
test_lifespan(void **state)
{
    struct fx *f = modern();

    (void)state;
    f->in.certs[0].lifespan_days = 91;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 0, "maximum_certificate_lifespan", NULL);
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "", "recommended_certificate_lifespan");
    f->in.certs[0].lifespan_days = 367;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "maximum_certificate_lifespan", NULL);
    free(f);
}

/* MZ14: a server order only warns on intermediate. */
static void
test_server_order(void **state)
{
    struct fx *f = intermediate();

    (void)state;
    f->in.server_preference = TW_PROTO_BIT(TW_PROTO_TLS12);
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 1, "",
           "recommended_certificate_lifespan,server_preferred_order");
    expect(f, TW_MOZILLA_OLD, 1, "", "recommended_certificate_lifespan");
    free(f);
}

/* MZ15: untrusted chain or a name mismatch. */
static void
test_cert_trust(void **state)
{
    struct fx *f = modern();

    (void)state;
    f->g.trust = TW_TRUST_SELF_SIGNED;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 0, "certificate_trust", NULL);
    f->g.trust = 0;
    f->g.name_mismatch = 1;
    eval(f);
    expect(f, TW_MOZILLA_MODERN, 0, "certificate_trust", NULL);
    free(f);
}

/* MZ16: each flaw alone. */
static void
test_vulnerabilities(void **state)
{
    struct fx *f = intermediate();
    int *flags[] = {&f->g.compression, &f->g.heartbleed, &f->g.ccs_exploitable, &f->g.robot};

    (void)state;
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        *flags[i] = 1;
        eval(f);
        expect(f, TW_MOZILLA_INTERMEDIATE, 0, "vulnerabilities", NULL);
        *flags[i] = 0;
    }
    f->g.secure_reneg = 0;
    eval(f);
    expect(f, TW_MOZILLA_INTERMEDIATE, 0, "vulnerabilities", NULL);
    free(f);
}

static void
test_names_and_bounds(void **state)
{
    struct tw_mozilla_output out;
    struct tw_mozilla_input in;
    char buf[24];

    (void)state;
    assert_string_equal(tw_mozilla_profile_name(TW_MOZILLA_OLD), "old");
    assert_null(tw_mozilla_profile_name(TW_MOZILLA__COUNT));
    assert_int_equal(tw_mozilla_profile_from_name("intermediate"), TW_MOZILLA_INTERMEDIATE);
    assert_int_equal(tw_mozilla_profile_from_name("Modern"), -1);
    assert_int_equal(tw_mozilla_profile_from_name(NULL), -1);
    assert_string_equal(tw_mozilla_guideline(TW_MOZILLA_MODERN), "6.0");
    assert_string_equal(tw_mozilla_guideline(TW_MOZILLA_OLD), "5.8");
    assert_string_equal(tw_mozilla_check_name(TW_MZ_VULNERABILITIES), "vulnerabilities");
    assert_null(tw_mozilla_check_name(TW_MZ__COUNT));
    /* Cut at a whole code. */
    assert_int_equal(
        tw_mozilla_format_checks(TW_MZ_BIT(TW_MZ_TLS_VERSIONS) | TW_MZ_BIT(TW_MZ_CIPHERSUITES), buf,
                                 sizeof(buf)),
        12);
    assert_string_equal(buf, "tls_versions");
    assert_int_equal(tw_mozilla_format_checks(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    memset(&in, 0, sizeof(in));
    assert_int_equal(tw_mozilla_evaluate(&in, &out), -1);
    assert_int_equal(out.best, -1);
    assert_int_equal(tw_mozilla_evaluate(NULL, &out), -1);
    assert_int_equal(tw_mozilla_evaluate(&in, NULL), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intermediate_passes),
        cmocka_unit_test(test_modern_passes),
        cmocka_unit_test(test_tls_versions),
        cmocka_unit_test(test_ciphersuites),
        cmocka_unit_test(test_ciphers),
        cmocka_unit_test(test_cert_type_and_signature),
        cmocka_unit_test(test_dual_certificates),
        cmocka_unit_test(test_rsa_key_size),
        cmocka_unit_test(test_cert_curves_warn),
        cmocka_unit_test(test_ecdh_and_tls_curves),
        cmocka_unit_test(test_dh_param_size),
        cmocka_unit_test(test_hsts),
        cmocka_unit_test(test_ocsp_staple),
        cmocka_unit_test(test_ocsp_staple_profiles),
        cmocka_unit_test(test_lifespan),
        cmocka_unit_test(test_server_order),
        cmocka_unit_test(test_cert_trust),
        cmocka_unit_test(test_vulnerabilities),
        cmocka_unit_test(test_names_and_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
