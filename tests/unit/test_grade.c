/*
 * test_grade.c - the SSL Labs rating: every test vector of grading.md §2
 * (V01-V61, each its own named cmocka test, built from the B0 baseline with
 * the table's delta), the unit vectors for the pure functions (letter, P, K,
 * C), the group strengths and the HSTS header parser.  The suite table's
 * own invariants are in test_suites.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tls/grade.h"
#include "tls/suites.h"

/* ---- input builders ---- */

static void
add_suite(struct tw_grade_input *in, uint16_t version, uint16_t code)
{
    assert_true(in->n_suites < TW_GRADE_SUITES_MAX);
    assert_non_null(tw_suites_find(code)); /* vectors use only table suites */
    in->suites[in->n_suites].protocol = version;
    in->suites[in->n_suites].code = code;
    in->n_suites++;
    in->protocols |= TW_PROTO_BIT(tw_grade_proto_from_version(version));
}

/* Add the same suites on a protocol. */
static void
add_suites(struct tw_grade_input *in, uint16_t version, const uint16_t *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        add_suite(in, version, codes[i]);
}

/* Drop a protocol and every suite accepted on it. */
static void
drop_proto(struct tw_grade_input *in, uint16_t version)
{
    size_t j = 0;

    for (size_t i = 0; i < in->n_suites; i++)
        if (in->suites[i].protocol != version)
            in->suites[j++] = in->suites[i];
    in->n_suites = j;
    in->protocols &= ~TW_PROTO_BIT(tw_grade_proto_from_version(version));
}

static void
set_hsts(struct tw_grade_input *in, const char *header)
{
    in->is_https = 1;
    in->hsts = tw_grade_hsts_parse(header, header ? strlen(header) : 0, &in->hsts_max_age);
}

static void
set_leaf(struct tw_grade_input *in, enum tw_key_type type, int bits)
{
    in->n_certs = 1;
    in->certs[0].key_type = type;
    in->certs[0].key_bits = bits;
    in->certs[0].rsa_exponent = type == TW_KEY_RSA ? 65537 : 0;
    in->certs[0].sig = TW_SIG_SHA256;
    in->certs[0].debian_weak = 0;
}

static void
set_groups(struct tw_grade_input *in, const uint16_t *groups, size_t n)
{
    assert_true(n <= TW_GRADE_GROUPS_MAX);
    memcpy(in->groups, groups, n * sizeof(groups[0]));
    in->n_groups = n;
}

static const uint16_t b0_tls12[] = {0xC02F, 0xC030, 0xCCA8};
static const uint16_t b0_tls13[] = {0x1301, 0x1302, 0x1303};
static const uint16_t ecdhe_cbc_sha[] = {0xC013, 0xC014};
static const uint16_t rsa_cbc_sha[] = {0x002F, 0x0035};

/*
 * B0 (grading.md §2): TLS 1.2 + 1.3, ECDHE-RSA AES-GCM/ChaCha20 and the
 * three TLS 1.3 suites, X25519 + P-256, RSA 2048 e=65537 sha256, trusted,
 * name matches, RFC 5746, no compression, no vulnerability, HTTPS with
 * max-age=31536000.
 */
static void
b0(struct tw_grade_input *in)
{
    static const uint16_t groups[] = {29, 23};

    memset(in, 0, sizeof(*in));
    in->mode = TW_GRADE_STRICT;
    add_suites(in, TW_VERSION_TLS12, b0_tls12, 3);
    add_suites(in, TW_VERSION_TLS13, b0_tls13, 3);
    set_groups(in, groups, 2);
    set_leaf(in, TW_KEY_RSA, 2048);
    in->secure_reneg = 1;
    set_hsts(in, "max-age=31536000");
}

/* ---- the vectors' deltas ---- */

static void
v01(struct tw_grade_input *in)
{
    (void)in;
}
static void
v02(struct tw_grade_input *in)
{
    in->hsts = TW_HSTS_ABSENT;
    in->hsts_max_age = 0;
}
static void
v03(struct tw_grade_input *in)
{
    set_hsts(in, "max-age=0");
}
static void
v04(struct tw_grade_input *in)
{
    set_hsts(in, "max-age=86400");
}
static void
v05(struct tw_grade_input *in)
{
    set_hsts(in, "max-age=abc");
}
static void
v06(struct tw_grade_input *in)
{
    set_hsts(in, "max-age=15552000");
}
static void
v07(struct tw_grade_input *in)
{
    set_hsts(in, "max-age=15551999");
}
static void
v08(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS13);
}
static void
v09(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
}
static void
v10(struct tw_grade_input *in)
{
    add_suites(in, TW_VERSION_TLS10, ecdhe_cbc_sha, 2);
    add_suites(in, TW_VERSION_TLS11, ecdhe_cbc_sha, 2);
    add_suites(in, TW_VERSION_TLS12, ecdhe_cbc_sha, 2);
}
static void
v11(struct tw_grade_input *in)
{
    add_suites(in, TW_VERSION_TLS11, ecdhe_cbc_sha, 2);
    add_suites(in, TW_VERSION_TLS12, ecdhe_cbc_sha, 2);
}
static void
v12(struct tw_grade_input *in)
{
    add_suites(in, TW_VERSION_SSL3, rsa_cbc_sha, 2);
    add_suites(in, TW_VERSION_TLS10, rsa_cbc_sha, 2);
    add_suites(in, TW_VERSION_TLS11, rsa_cbc_sha, 2);
}
static void
v13(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
    drop_proto(in, TW_VERSION_TLS13);
    add_suites(in, TW_VERSION_SSL3, rsa_cbc_sha, 2);
}
static void
v14(struct tw_grade_input *in)
{
    in->protocols |= TW_PROTO_BIT(TW_PROTO_SSL2); /* SSLv2 hello answered, no cipher specs */
}
static void
v15(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
    drop_proto(in, TW_VERSION_TLS13);
    add_suites(in, TW_VERSION_TLS10, ecdhe_cbc_sha, 2);
}
static void
v16(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
    drop_proto(in, TW_VERSION_TLS13);
    add_suite(in, TW_VERSION_TLS12, 0x009C);
    add_suite(in, TW_VERSION_TLS12, 0x009D);
}
static void
v17(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
    add_suite(in, TW_VERSION_TLS12, 0x009C);
    add_suite(in, TW_VERSION_TLS12, 0x009D);
}
static void
v18(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
    drop_proto(in, TW_VERSION_TLS13);
    add_suite(in, TW_VERSION_TLS12, 0xC027);
    add_suite(in, TW_VERSION_TLS12, 0xC028);
}
static void
v19(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0xC011);
}
static void
v20(struct tw_grade_input *in)
{
    drop_proto(in, TW_VERSION_TLS12);
    drop_proto(in, TW_VERSION_TLS13);
    add_suite(in, TW_VERSION_TLS10, 0x0005);
}
static void
v21(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0xC012);
}
static void
v22(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x0009);
}
static void
v23(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS10, 0x0003);
}
static void
v24(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x003B);
}
static void
v25(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x00A6);
}
static void
v26(struct tw_grade_input *in)
{
    set_leaf(in, TW_KEY_RSA, 1024);
}
static void
v27(struct tw_grade_input *in)
{
    set_leaf(in, TW_KEY_RSA, 768);
}
static void
v28(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x009E);
    in->dh_bits[in->n_dh++] = 1024;
}
static void
v29(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x009E);
    in->dh_bits[in->n_dh++] = 2048; /* ffdhe2048 */
}
static void
v30(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x009E);
    in->dh_bits[in->n_dh++] = 768;
}
static void
v31(struct tw_grade_input *in)
{
    static const uint16_t groups[] = {24};

    drop_proto(in, TW_VERSION_TLS12);
    drop_proto(in, TW_VERSION_TLS13);
    add_suite(in, TW_VERSION_TLS13, 0x1302);
    add_suite(in, TW_VERSION_TLS13, 0x1303);
    set_groups(in, groups, 1);
    set_leaf(in, TW_KEY_RSA, 4096);
}
static void
v31_ecdsa(struct tw_grade_input *in)
{
    v31(in);
    set_leaf(in, TW_KEY_EC, 384);
}
static void
v32(struct tw_grade_input *in)
{
    static const uint16_t groups[] = {29, 24};

    set_leaf(in, TW_KEY_EC, 384);
    set_groups(in, groups, 2);
}
static void
v33(struct tw_grade_input *in)
{
    static const uint16_t groups[] = {29, 23};

    set_leaf(in, TW_KEY_EC, 256);
    set_groups(in, groups, 2);
}
static void
v34(struct tw_grade_input *in)
{
    in->groups[in->n_groups++] = 19; /* secp192r1 */
}
static void
v35(struct tw_grade_input *in)
{
    in->compression = 1;
}
static void
v36(struct tw_grade_input *in)
{
    in->secure_reneg = 0;
}
static void
v37(struct tw_grade_input *in)
{
    in->secure_reneg = 0;
    in->insecure_client_reneg = 1;
}
static void
v38(struct tw_grade_input *in)
{
    in->heartbleed = 1;
}
static void
v39(struct tw_grade_input *in)
{
    in->ccs_exploitable = 1;
}
static void
v40(struct tw_grade_input *in)
{
    add_suite(in, TW_VERSION_TLS12, 0x009C);
    in->robot = 1;
}
static void
v41(struct tw_grade_input *in)
{
    in->drown = 1;
}
static void
v42_ticketbleed(struct tw_grade_input *in)
{
    in->ticketbleed = 1;
}
static void
v42_cve_2016_2107(struct tw_grade_input *in)
{
    in->lucky_minus20 = 1;
}
static void
v42_poodle_tls(struct tw_grade_input *in)
{
    in->poodle_tls = 1;
}
static void
v43(struct tw_grade_input *in)
{
    in->goldendoodle = 1;
}
static void
v44(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_SELF_SIGNED;
}
static void
v45(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_EXPIRED;
}
static void
v46(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_NOT_YET_VALID;
}
static void
v47(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_UNTRUSTED;
}
static void
v48(struct tw_grade_input *in)
{
    in->name_mismatch = 1;
}
static void
v49(struct tw_grade_input *in)
{
    in->name_mismatch = 1;
    in->trust |= TW_TRUST_SELF_SIGNED;
}
static void
v50(struct tw_grade_input *in)
{
    in->chain = TW_CHAIN_INCOMPLETE_COMPLETABLE;
}
static void
v51(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_CHAIN_INCOMPLETE;
}
static void
v52(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_REVOKED;
}
static void
v53(struct tw_grade_input *in)
{
    in->certs[0].sig = tw_grade_sig_from_name("sha1WithRSAEncryption");
}
static void
v54(struct tw_grade_input *in)
{
    in->certs[0].sig = tw_grade_sig_from_name("md5WithRSAEncryption");
}
static void
v55(struct tw_grade_input *in)
{
    in->certs[0].rsa_exponent = 1;
}
static void
v56(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_SELF_SIGNED;
    in->protocols |= TW_PROTO_BIT(TW_PROTO_SSL2);
}
static void
v57(struct tw_grade_input *in)
{
    in->trust |= TW_TRUST_EXPIRED;
    add_suites(in, TW_VERSION_TLS10, ecdhe_cbc_sha, 2);
}
/* Mozilla "old" 5.7 on an RSA 2048 certificate: the RSA-authenticated
 * suites of the 26, in server order, DES-CBC3-SHA last; DHE 1024. */
static void
v58(struct tw_grade_input *in)
{
    static const uint16_t tls12[] = {0xC02F, 0xC030, 0xCCA8, 0x009E, 0x009F, 0xCCAA, 0xC027,
                                     0xC013, 0xC028, 0xC014, 0x0067, 0x006B, 0x009C, 0x009D,
                                     0x003C, 0x003D, 0x002F, 0x0035, 0x000A};
    static const uint16_t tls10[] = {0xC013, 0xC014, 0x002F, 0x0035, 0x000A};
    static const uint16_t groups[] = {29, 23, 24};

    drop_proto(in, TW_VERSION_TLS12);
    add_suites(in, TW_VERSION_TLS12, tls12, sizeof(tls12) / sizeof(tls12[0]));
    add_suites(in, TW_VERSION_TLS11, tls10, sizeof(tls10) / sizeof(tls10[0]));
    add_suites(in, TW_VERSION_TLS10, tls10, sizeof(tls10) / sizeof(tls10[0]));
    set_groups(in, groups, 3);
    in->dh_bits[in->n_dh++] = 1024;
    set_hsts(in, "max-age=63072000");
}
/* Simulation mode: the reference clients all negotiate ECDHE-AES-GCM or
 * TLS 1.3, so no "negotiated" rule fires. */
static void
v58_sim(struct tw_grade_input *in)
{
    v58(in);
    in->mode = TW_GRADE_SIMULATION;
}
static void
v59(struct tw_grade_input *in)
{
    static const uint16_t groups[] = {0x11EC, 29, 23, 24};

    set_groups(in, groups, 4);
    set_hsts(in, "max-age=63072000");
}
static void
v60(struct tw_grade_input *in)
{
    static const uint16_t groups[] = {29, 23, 24};

    drop_proto(in, TW_VERSION_TLS12);
    set_leaf(in, TW_KEY_EC, 256);
    in->certs[0].sig = tw_grade_sig_from_name("ecdsa-with-SHA256");
    set_groups(in, groups, 3);
    set_hsts(in, "max-age=63072000");
}
static void
v61(struct tw_grade_input *in)
{
    in->is_https = 0;
    in->hsts = TW_HSTS_NOT_APPLICABLE;
    in->hsts_max_age = 0;
}
static void
v17_sim(struct tw_grade_input *in)
{
    v17(in);
    in->mode = TW_GRADE_SIMULATION; /* reference clients negotiate TLS 1.3 */
}
static void
v19_sim(struct tw_grade_input *in)
{
    v19(in);
    in->mode = TW_GRADE_SIMULATION; /* RC4 never negotiated */
}
static void
v19_sim_negotiated(struct tw_grade_input *in)
{
    v19_sim(in);
    in->sim_rc4_tls11plus = 1;
}
static void
v21_sim(struct tw_grade_input *in)
{
    v21(in);
    in->mode = TW_GRADE_SIMULATION; /* 3DES last, never negotiated */
}
static void
v21_sim_negotiated(struct tw_grade_input *in)
{
    v21_sim(in);
    in->sim_64bit_tls11plus = 1; /* a legacy reference client lands on 3DES */
}
static void
v18_sim(struct tw_grade_input *in)
{
    v18(in);
    in->mode = TW_GRADE_SIMULATION;
    in->sim_no_aead = 1; /* only CBC suites: every client negotiates one */
}
static void
v16_sim(struct tw_grade_input *in)
{
    v16(in);
    in->mode = TW_GRADE_SIMULATION;
    in->sim_no_fs = 1; /* every client ends up on RSA key transport */
}

/* ---- the vector table ---- */

#define NA (-1)

struct vector {
    const char *id;
    void (*delta)(struct tw_grade_input *in);
    const char *grade;
    const char *ti;      /* gradeTrustIgnored, NULL when the table gives none */
    int p2, k, c2;       /* 2*P, K, 2*C; NA when the table gives none */
    const char *reasons; /* comma-separated codes that must be among the reasons */
};

static const struct vector vectors[] = {
    {"V01", v01, "A+", NULL, 200, 90, 180, ""},
    {"V02", v02, "A", NULL, 200, 90, 180, "hsts_absent"},
    {"V03", v03, "A-", NULL, 200, 90, 180, "hsts_disabled"},
    {"V04", v04, "A", NULL, 200, 90, 180, "hsts_short"},
    {"V05", v05, "A-", NULL, 200, 90, 180, "hsts_invalid"},
    {"V06", v06, "A+", NULL, 200, 90, 180, ""},
    {"V07", v07, "A", NULL, 200, 90, 180, "hsts_short"},
    {"V08", v08, "A-", NULL, 200, 90, 180, "no_tls13_warning"},
    {"V09", v09, "A+", NULL, 200, 90, 180, ""},
    {"V10", v10, "B", NULL, 190, 90, 180, "tls10_or_11"},
    {"V11", v11, "B", NULL, 195, 90, 180, "tls10_or_11"},
    {"V12", v12, "C", NULL, 180, 90, 180, "ssl3,tls10_or_11,poodle_ssl3"},
    {"V13", v13, "F", NULL, 160, 90, 180, "ssl3_best,no_tls12,poodle_ssl3"},
    {"V14", v14, "F", NULL, 100, 90, 180, "ssl2"},
    {"V15", v15, "C", NULL, 180, 90, 180, "no_tls12,tls10_or_11,no_aead"},
    {"V16", v16, "B", NULL, 200, 90, 180, "no_fs,no_tls13_warning"},
    {"V16-sim", v16_sim, "B", NULL, 200, 90, 180, "no_fs"},
    {"V17", v17, "A+", NULL, 200, 90, 180, ""},
    {"V17-sim", v17_sim, "A+", NULL, 200, 90, 180, ""},
    {"V18", v18, "B", NULL, 200, 90, 180, "no_aead"},
    {"V18-sim", v18_sim, "B", NULL, 200, 90, 180, "no_aead"},
    {"V19", v19, "C", NULL, 200, 90, 180, "rc4,rc4_tls11plus"},
    {"V19-sim", v19_sim, "B", NULL, 200, 90, 180, "rc4"},
    {"V19-sim-negotiated", v19_sim_negotiated, "C", NULL, 200, 90, 180, "rc4_tls11plus"},
    {"V20", v20, "F", NULL, 180, 90, 160, "rc4_only,no_tls12,rc4"},
    {"V21", v21, "C", NULL, 200, 90, 180, "3des_tls11plus"},
    {"V21-sim", v21_sim, "A+", NULL, 200, 90, 180, ""},
    {"V21-sim-negotiated", v21_sim_negotiated, "C", NULL, 200, 90, 180, "3des_tls11plus"},
    {"V22", v22, "F", NULL, 200, 90, 120, "cipher_lt112"},
    {"V23", v23, "F", NULL, 190, 40, 120, "export_kx,cipher_lt112,tls10_or_11"},
    {"V24", v24, "F", NULL, 200, 90, 100, "cipher_lt112"},
    {"V25", v25, "F", NULL, 200, 0, 180, "anon_kx,zero_category"},
    {"V26", v26, "B", NULL, 200, 80, 180, "weak_key_lt2048"},
    {"V27", v27, "F", NULL, 200, 40, 180, "weak_key_lt1024"},
    {"V28", v28, "B", NULL, 200, 80, 180, "dh_lt2048"},
    {"V29", v29, "A+", NULL, 200, 90, 180, ""},
    {"V30", v30, "F", NULL, 200, 40, 180, "dh_lt1024"},
    {"V31", v31, "A+", NULL, 200, 100, 200, ""},
    {"V31-ecdsa-p384", v31_ecdsa, "A+", NULL, 200, 100, 200, ""},
    {"V32", v32, "A+", NULL, 200, 90, 180, ""},
    {"V33", v33, "A+", NULL, 200, 90, 180, ""},
    {"V34", v34, "B", NULL, 200, 80, 180, "ecdh_lt2048"},
    {"V35", v35, "C", NULL, 200, 90, 180, "compression"},
    {"V36", v36, "A-", NULL, 200, 90, 180, "no_secure_reneg"},
    {"V37", v37, "F", NULL, 200, 90, 180, "insecure_reneg"},
    {"V38", v38, "F", NULL, 200, 90, 180, "heartbleed"},
    {"V39", v39, "F", NULL, 200, 90, 180, "ccs_injection"},
    {"V40", v40, "F", NULL, 200, 90, 180, "robot"},
    {"V41", v41, "F", NULL, 200, 90, 180, "drown"},
    {"V42-ticketbleed", v42_ticketbleed, "F", NULL, 200, 90, 180, "ticketbleed"},
    {"V42-cve-2016-2107", v42_cve_2016_2107, "F", NULL, 200, 90, 180, "cve_2016_2107"},
    {"V42-poodle-tls", v42_poodle_tls, "F", NULL, 200, 90, 180, "poodle_tls"},
    {"V43", v43, "F", NULL, 200, 90, 180, "goldendoodle"},
    {"V44", v44, "T", "A+", 200, 90, 180, "trust_self_signed"},
    {"V45", v45, "T", "A+", 200, 90, 180, "trust_expired"},
    {"V46", v46, "T", "A+", 200, 90, 180, "trust_not_yet_valid"},
    {"V47", v47, "T", "A+", 200, 90, 180, "trust_untrusted"},
    {"V48", v48, "M", "A+", 200, 90, 180, "name_mismatch"},
    {"V49", v49, "T", "A+", 200, 90, 180, "name_mismatch,trust_self_signed"},
    {"V50", v50, "B", "B", 200, 90, 180, "chain_incomplete"},
    {"V51", v51, "T", NULL, 200, 90, 180, "trust_chain_incomplete"},
    {"V52", v52, "T", "A+", 200, 90, 180, "trust_revoked"},
    {"V53", v53, "T", "A+", 200, 90, 180, "sig_sha1"},
    {"V54", v54, "F", "F", 200, 90, 180, "sig_md5"},
    {"V55", v55, "F", NULL, 200, 90, 180, "rsa_e1"},
    {"V56", v56, "F", "F", 100, 90, 180, "ssl2,trust_self_signed"},
    {"V57", v57, "T", "B", 190, 90, 180, "trust_expired,tls10_or_11"},
    {"V58", v58, "C", NULL, 190, 80, 180, "tls10_or_11,dh_lt2048,3des_tls11plus"},
    {"V58-sim", v58_sim, "B", NULL, 190, 80, 180, "tls10_or_11,dh_lt2048"},
    {"V59", v59, "A+", NULL, 200, 90, 180, ""},
    {"V60", v60, "A+", NULL, 200, 90, 180, ""},
    {"V61", v61, "A", NULL, 200, 90, 180, "hsts_not_applicable"},
};

#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

static int
has_reason(const struct tw_grade_output *out, const char *code, size_t len)
{
    for (size_t i = 0; i < out->n_reasons; i++)
        if (strlen(out->reasons[i].code) == len && strncmp(out->reasons[i].code, code, len) == 0)
            return 1;
    return 0;
}

static void
fail_vector(const struct vector *v, const struct tw_grade_output *out, const char *what)
{
    char buf[1024];
    size_t used = 0;

    for (size_t i = 0; i < out->n_reasons && used < sizeof(buf) - 64; i++) {
        int n = snprintf(buf + used, sizeof(buf) - used, " %s(%s)", out->reasons[i].code,
                         out->reasons[i].cap);

        if (n < 0)
            break;
        used += (size_t)n;
    }
    buf[used < sizeof(buf) ? used : sizeof(buf) - 1] = '\0';
    fail_msg("%s: %s: grade %s (TI %s) P2 %d K %d C2 %d S20 %d; reasons:%s", v->id, what,
             tw_grade_name(out->grade), tw_grade_name(out->grade_trust_ignored), out->p2, out->k,
             out->c2, out->s20, buf);
}

static void
test_grade_vector(void **state)
{
    const struct vector *v = *state;
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    assert_non_null(in);
    b0(in);
    v->delta(in);
    if (tw_grade_compute(in, &out) != 0)
        fail_msg("%s: tw_grade_compute failed", v->id);
    if (strcmp(tw_grade_name(out.grade), v->grade) != 0)
        fail_vector(v, &out, "grade");
    if (v->ti != NULL && strcmp(tw_grade_name(out.grade_trust_ignored), v->ti) != 0)
        fail_vector(v, &out, "gradeTrustIgnored");
    if ((v->p2 != NA && out.p2 != v->p2) || (v->k != NA && out.k != v->k) ||
        (v->c2 != NA && out.c2 != v->c2))
        fail_vector(v, &out, "base scores");
    /* S20 is the exact formula whenever no category is zero. */
    if (out.p2 > 0 && out.k > 0 && out.c2 > 0 && out.s20 != 3 * out.p2 + 6 * out.k + 4 * out.c2)
        fail_vector(v, &out, "S20");
    for (const char *p = v->reasons; *p != '\0';) {
        size_t len = strcspn(p, ",");

        if (!has_reason(&out, p, len))
            fail_vector(v, &out, "missing reason");
        p += len;
        if (*p == ',')
            p++;
    }
    /* A+ and A never carry a cap below A; A+ means no warning at all. */
    if (out.grade == TW_GRADE_A_PLUS) {
        assert_false(out.has_warnings);
        assert_true(out.is_exceptional);
        for (size_t i = 0; i < out.n_reasons; i++)
            if (strcmp(out.reasons[i].cap, "A") != 0)
                fail_vector(v, &out, "A+ with a cap");
    }
    free(in);
}

/* ---- unit vectors ---- */

static void
test_grade_letter_boundaries(void **state)
{
    static const struct {
        int s20;
        const char *letter;
    } t[] = {{1600, "A"}, {1599, "B"}, {1300, "B"}, {1299, "C"}, {1000, "C"}, {999, "D"},
             {700, "D"},  {699, "E"},  {400, "E"},  {399, "F"},  {0, "F"},    {2000, "A"}};

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        const char *got = tw_grade_name(tw_grade_letter(t[i].s20));

        if (strcmp(got, t[i].letter) != 0)
            fail_msg("letter(%d) = %s, want %s", t[i].s20, got, t[i].letter);
    }
}

static void
test_grade_protocol_scores(void **state)
{
#define PB(p) TW_PROTO_BIT(TW_PROTO_##p)
    static const struct {
        unsigned set;
        int p2;
    } t[] = {
        {PB(TLS13), 200},
        {PB(TLS12) | PB(TLS13), 200},
        {PB(TLS10) | PB(TLS12), 190},
        {PB(TLS11) | PB(TLS12), 195},
        {PB(SSL3) | PB(TLS12), 180},
        {PB(SSL2) | PB(TLS13), 100},
        {PB(SSL2), 0},
    };
#undef PB
    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (tw_grade_protocol_score(t[i].set) != t[i].p2)
            fail_msg("P row %zu: 2P = %d, want %d", i, tw_grade_protocol_score(t[i].set), t[i].p2);
    assert_int_equal(tw_grade_protocol_score(0), -1);
    assert_int_equal(tw_grade_proto_score(TW_PROTO_SSL3), 80);
    assert_int_equal(tw_grade_proto_score(TW_PROTO_TLS11), 95);
}

static void
test_grade_key_table(void **state)
{
    (void)state;
    assert_int_equal(tw_grade_key_score(0), 20);
    assert_int_equal(tw_grade_key_score(511), 20);
    assert_int_equal(tw_grade_key_score(512), 40);
    assert_int_equal(tw_grade_key_score(1023), 40);
    assert_int_equal(tw_grade_key_score(1024), 80);
    assert_int_equal(tw_grade_key_score(2047), 80);
    assert_int_equal(tw_grade_key_score(2048), 90);
    assert_int_equal(tw_grade_key_score(4095), 90);
    assert_int_equal(tw_grade_key_score(4096), 100);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_RSA, 3072), 3072);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_EC, 256), 3072);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_EC, 384), 7680);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_EC, 521), 15360);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_EC, 224), 2048);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_EC, 192), 1024);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_EC, 112), 512);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_ED25519, 253), 3072);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_ED448, 456), 7680);
    assert_int_equal(tw_grade_rsa_equiv(TW_KEY_UNKNOWN, 2048), -1);
    assert_int_equal(tw_grade_group_rsa_equiv(29), 3072);     /* X25519 */
    assert_int_equal(tw_grade_group_rsa_equiv(30), 7680);     /* X448 */
    assert_int_equal(tw_grade_group_rsa_equiv(23), 3072);     /* P-256 */
    assert_int_equal(tw_grade_group_rsa_equiv(24), 7680);     /* P-384 */
    assert_int_equal(tw_grade_group_rsa_equiv(25), 15360);    /* P-521 */
    assert_int_equal(tw_grade_group_rsa_equiv(19), 1024);     /* secp192r1 */
    assert_int_equal(tw_grade_group_rsa_equiv(21), 2048);     /* secp224r1 */
    assert_int_equal(tw_grade_group_rsa_equiv(256), 2048);    /* ffdhe2048 */
    assert_int_equal(tw_grade_group_rsa_equiv(0x11EC), 3072); /* X25519MLKEM768 */
    assert_int_equal(tw_grade_group_rsa_equiv(0x11EB), 3072); /* SecP256r1MLKEM768 */
    assert_int_equal(tw_grade_group_rsa_equiv(0x11ED), 7680); /* SecP384r1MLKEM1024 */
    assert_int_equal(tw_grade_group_rsa_equiv(0x0A0A), -1);   /* GREASE */
}

/* K unit vectors: a TLS 1.2+1.3 server whose only key-exchange components
 * are the ones named. */
struct kcase {
    const char *name;
    enum tw_key_type leaf;
    int leaf_bits;
    uint16_t groups[3];
    size_t n_groups;
    uint16_t dh;
    uint16_t extra_suite; /* accepted on TLS 1.2 as well, 0 for none */
    int k;
};

static void
test_grade_key_exchange(void **state)
{
    static const struct kcase t[] = {
        {"RSA2048", TW_KEY_RSA, 2048, {0}, 0, 0, 0, 90},
        {"RSA3072", TW_KEY_RSA, 3072, {0}, 0, 0, 0, 90},
        {"RSA4096+secp384r1", TW_KEY_RSA, 4096, {24}, 1, 0, 0, 100},
        {"RSA4096+X25519", TW_KEY_RSA, 4096, {29}, 1, 0, 0, 90},
        {"RSA2048+DH1024", TW_KEY_RSA, 2048, {0}, 0, 1024, 0x009E, 80},
        {"ECDSA P-256", TW_KEY_EC, 256, {0}, 0, 0, 0, 90},
        {"P-384 leaf+P-384 group", TW_KEY_EC, 384, {24}, 1, 0, 0, 100},
        {"X448 only+RSA4096", TW_KEY_RSA, 4096, {30}, 1, 0, 0, 100},
        {"export", TW_KEY_RSA, 4096, {0}, 0, 0, 0x0003, 40},
        {"anon", TW_KEY_RSA, 4096, {0}, 0, 0, 0x00A6, 0},
    };
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    (void)state;
    assert_non_null(in);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        b0(in);
        in->n_groups = 0;
        set_leaf(in, t[i].leaf, t[i].leaf_bits);
        set_groups(in, t[i].groups, t[i].n_groups);
        if (t[i].dh != 0)
            in->dh_bits[in->n_dh++] = t[i].dh;
        if (t[i].extra_suite != 0)
            add_suite(in, TW_VERSION_TLS12, t[i].extra_suite);
        assert_int_equal(tw_grade_compute(in, &out), 0);
        if (out.k != t[i].k)
            fail_msg("K %s = %d, want %d", t[i].name, out.k, t[i].k);
    }
    free(in);
}

/* C unit vectors: TLS 1.2 only, exactly the suites named. */
static void
test_grade_cipher_strength(void **state)
{
    static const struct {
        const char *name;
        uint16_t suites[2];
        size_t n;
        int c2;
    } t[] = {
        {"AES128", {0xC02F}, 1, 160},
        {"AES256,CHACHA20", {0xC030, 0xCCA8}, 2, 200},
        {"AES128,AES256", {0xC02F, 0xC030}, 2, 180},
        {"AES256,3DES", {0xC030, 0x000A}, 2, 180},
        {"AES256,DES", {0xC030, 0x0009}, 2, 120},
        {"AES256,NULL", {0xC030, 0x003B}, 2, 100},
        {"NULL", {0x003B}, 1, 0},
        {"RC4_128", {0x0005}, 1, 160},
    };
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    (void)state;
    assert_non_null(in);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        b0(in);
        drop_proto(in, TW_VERSION_TLS12);
        drop_proto(in, TW_VERSION_TLS13);
        add_suites(in, TW_VERSION_TLS12, t[i].suites, t[i].n);
        assert_int_equal(tw_grade_compute(in, &out), 0);
        if (out.c2 != t[i].c2)
            fail_msg("C %s: 2C = %d, want %d", t[i].name, out.c2, t[i].c2);
        if (t[i].c2 == 0)
            assert_int_equal(out.s20, 0); /* a zero category zeroes S */
    }
    assert_int_equal(tw_grade_cipher_score(0), 0);
    assert_int_equal(tw_grade_cipher_score(40), 20);
    assert_int_equal(tw_grade_cipher_score(56), 20);
    assert_int_equal(tw_grade_cipher_score(128), 80);
    assert_int_equal(tw_grade_cipher_score(168), 80);
    assert_int_equal(tw_grade_cipher_score(256), 100);
    free(in);
}

static void
test_grade_name_helpers(void **state)
{
    (void)state;
    assert_int_equal(tw_grade_sig_from_name("sha256WithRSAEncryption"), TW_SIG_SHA256);
    assert_int_equal(tw_grade_sig_from_name("ecdsa-with-SHA384"), TW_SIG_SHA384);
    assert_int_equal(tw_grade_sig_from_name("sha1WithRSAEncryption"), TW_SIG_SHA1);
    assert_int_equal(tw_grade_sig_from_name("ecdsa-with-SHA1"), TW_SIG_SHA1);
    assert_int_equal(tw_grade_sig_from_name("md5WithRSAEncryption"), TW_SIG_MD5);
    assert_int_equal(tw_grade_sig_from_name("md2WithRSAEncryption"), TW_SIG_MD2);
    assert_int_equal(tw_grade_sig_from_name("ED25519"), TW_SIG_OTHER_STRONG);
    assert_int_equal(tw_grade_sig_from_name("rsassaPss"), TW_SIG_UNKNOWN);
    assert_int_equal(tw_grade_sig_from_name(NULL), TW_SIG_UNKNOWN);
    assert_int_equal(tw_grade_key_type_from_name("RSA"), TW_KEY_RSA);
    assert_int_equal(tw_grade_key_type_from_name("EC"), TW_KEY_EC);
    assert_int_equal(tw_grade_key_type_from_name("ED25519"), TW_KEY_ED25519);
    assert_int_equal(tw_grade_key_type_from_name("dsa"), TW_KEY_DSA);
    assert_int_equal(tw_grade_key_type_from_name("GOST"), TW_KEY_UNKNOWN);
    assert_string_equal(tw_grade_name(TW_GRADE_A_PLUS), "A+");
    assert_string_equal(tw_grade_name(TW_GRADE_A_MINUS), "A-");
    assert_string_equal(tw_grade_name(TW_GRADE_M), "M");
    assert_string_equal(tw_grade_name(TW_GRADE_NONE), "");
    assert_int_equal(tw_grade_proto_from_version(0x0304), TW_PROTO_TLS13);
    assert_int_equal(tw_grade_proto_from_version(0x0002), TW_PROTO_SSL2);
    assert_int_equal(tw_grade_proto_from_version(0x0305), -1);
}

static void
test_grade_hsts_parse(void **state)
{
    static const struct {
        const char *v;
        enum tw_hsts_status st;
        int64_t age;
    } t[] = {
        {"max-age=31536000", TW_HSTS_PRESENT, 31536000},
        {"max-age=31536000; includeSubDomains; preload", TW_HSTS_PRESENT, 31536000},
        {"  includeSubDomains ;MAX-AGE = \"15552000\" ", TW_HSTS_PRESENT, 15552000},
        {"max-age=0", TW_HSTS_DISABLED, 0},
        {"max-age=abc", TW_HSTS_INVALID, 0},
        {"max-age=", TW_HSTS_INVALID, 0},
        {"max-age", TW_HSTS_INVALID, 0},
        {"includeSubDomains", TW_HSTS_INVALID, 0},
        {"", TW_HSTS_INVALID, 0},
        {"max-age=1; max-age=2", TW_HSTS_INVALID, 0},
        {"max-age=1; preload; PRELOAD", TW_HSTS_INVALID, 0},
        {"max-age=\"12", TW_HSTS_INVALID, 0},
        {"max-age=-5", TW_HSTS_INVALID, 0},
        {"max-age=10 x", TW_HSTS_INVALID, 0},
        {"max-age=99999999999999999999999", TW_HSTS_PRESENT, INT64_MAX},
        {";;max-age=60;;", TW_HSTS_PRESENT, 60},
    };
    int64_t age;

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        enum tw_hsts_status st = tw_grade_hsts_parse(t[i].v, strlen(t[i].v), &age);

        if (st != t[i].st || age != t[i].age)
            fail_msg("hsts \"%s\": status %d age %lld, want %d %lld", t[i].v, st, (long long)age,
                     t[i].st, (long long)t[i].age);
    }
    assert_int_equal(tw_grade_hsts_parse(NULL, 0, &age), TW_HSTS_ABSENT);
    /* Not NUL-terminated: only len bytes are read. */
    assert_int_equal(tw_grade_hsts_parse("max-age=600garbage", 11, &age), TW_HSTS_PRESENT);
    assert_int_equal(age, 600);
}

/* ---- edges ---- */

static void
test_grade_invalid_input(void **state)
{
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    (void)state;
    assert_non_null(in);
    assert_int_equal(tw_grade_compute(NULL, &out), -1);
    assert_int_equal(out.grade, TW_GRADE_NONE);
    assert_int_equal(tw_grade_compute(in, NULL), -1);
    /* nothing accepted */
    assert_int_equal(tw_grade_compute(in, &out), -1);
    /* counts past their bounds */
    b0(in);
    in->n_suites = TW_GRADE_SUITES_MAX + 1;
    assert_int_equal(tw_grade_compute(in, &out), -1);
    b0(in);
    in->n_groups = TW_GRADE_GROUPS_MAX + 1;
    assert_int_equal(tw_grade_compute(in, &out), -1);
    b0(in);
    in->n_certs = TW_GRADE_CERTS_MAX + 1;
    assert_int_equal(tw_grade_compute(in, &out), -1);
    /* a suite on a protocol that is no wire version */
    b0(in);
    in->suites[0].protocol = 0x7F1C;
    assert_int_equal(tw_grade_compute(in, &out), -1);
    /* TLS accepted but only suites the table does not know: nothing to score */
    b0(in);
    in->n_suites = 1;
    in->suites[0].code = 0xFFFE;
    assert_int_equal(tw_grade_compute(in, &out), -1);
    assert_int_equal(out.grade, TW_GRADE_NONE);
    /* SSLv2 alone with no cipher specs is still graded: F */
    memset(in, 0, sizeof(*in));
    in->protocols = TW_PROTO_BIT(TW_PROTO_SSL2);
    assert_int_equal(tw_grade_compute(in, &out), 0);
    assert_int_equal(out.grade, TW_GRADE_F);
    assert_int_equal(out.s20, 0);
    free(in);
}

static void
test_grade_unknown_entries_skipped(void **state)
{
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    (void)state;
    assert_non_null(in);
    b0(in);
    in->suites[in->n_suites++] = (struct tw_grade_suite){TW_VERSION_TLS12, 0xFFFE};
    in->groups[in->n_groups++] = 0x2A2A; /* GREASE */
    assert_int_equal(tw_grade_compute(in, &out), 0);
    assert_string_equal(tw_grade_name(out.grade), "A+");
    assert_int_equal(out.n_unknown_suites, 1);
    assert_int_equal(out.n_unknown_groups, 1);
    free(in);
}

/* Reasons carry a cap string that matches their class and codes are unique. */
/*
 * Issue 12 merged grade.c's suite table with hello.c's into tls/suites.
 * Suites the hellos always offered but grading did not know (so a server
 * that accepted them had them skipped, unscored) are now scored; the SCSVs,
 * which now have rows for their names, are still no suites.  One row per
 * fix: the suite added to the B0 baseline on TLS 1.2, the grade, the reason
 * that fires ("" none).
 */
static void
test_grade_merged_suites(void **state)
{
    static const struct {
        uint16_t code;
        const char *grade;
        const char *reason;
        size_t n_unknown;
    } cases[] = {
        {0x5600, "A+", "", 1},              /* TLS_FALLBACK_SCSV: no suite */
        {0x00FF, "A+", "", 1},              /* TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
        {0xFEFE, "F", "cipher_lt112", 0},   /* SSL_RSA_FIPS_WITH_DES_CBC_SHA: DES */
        {0xFEFF, "C", "3des_tls11plus", 0}, /* SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA */
        {0xC101, "C", "3des_tls11plus", 0}, /* GOST Magma: a 64-bit block cipher */
        {0xC102, "C", "3des_tls11plus", 0}, /* GOST 28147-89: a 64-bit block cipher */
        {0xC100, "A+", "", 0},              /* GOST Kuznyechik CTR: 256 bits, scored */
        {0xC0B0, "A+", "", 0},              /* ECCPWD AES-128-GCM: scored */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tw_grade_input *in = calloc(1, sizeof(*in));
        struct tw_grade_output out;

        assert_non_null(in);
        b0(in);
        in->suites[in->n_suites++] = (struct tw_grade_suite){TW_VERSION_TLS12, cases[i].code};
        assert_int_equal(tw_grade_compute(in, &out), 0);
        if (strcmp(tw_grade_name(out.grade), cases[i].grade) != 0)
            fail_msg("0x%04X: grade %s, want %s", cases[i].code, tw_grade_name(out.grade),
                     cases[i].grade);
        assert_int_equal(out.n_unknown_suites, cases[i].n_unknown);
        if (cases[i].reason[0] != '\0')
            assert_true(has_reason(&out, cases[i].reason, strlen(cases[i].reason)));
        free(in);
    }
}

static void
test_grade_reasons_well_formed(void **state)
{
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    (void)state;
    assert_non_null(in);
    /* Everything wrong at once: every rule that can fire together fires. */
    b0(in);
    in->protocols |= TW_PROTO_BIT(TW_PROTO_SSL2);
    add_suite(in, TW_VERSION_SSL3, 0x002F);
    add_suite(in, TW_VERSION_TLS10, 0x0003);
    add_suite(in, TW_VERSION_TLS11, 0x0005);
    add_suite(in, TW_VERSION_TLS12, 0x000A);
    add_suite(in, TW_VERSION_TLS12, 0x00A6);
    in->dh_bits[in->n_dh++] = 512;
    in->groups[in->n_groups++] = 19;
    in->certs[0].sig = TW_SIG_MD5;
    in->certs[0].rsa_exponent = 1;
    in->certs[0].debian_weak = 1;
    in->trust = 0x7f;
    in->name_mismatch = 1;
    in->chain = TW_CHAIN_INCOMPLETE_COMPLETABLE;
    in->compression = 1;
    in->secure_reneg = 0;
    in->insecure_client_reneg = 1;
    in->heartbleed = in->ccs_exploitable = in->poodle_tls = in->drown = in->robot = 1;
    in->ticketbleed = in->lucky_minus20 = in->zombie_poodle = in->goldendoodle = 1;
    in->sleeping_poodle = in->zero_length_padding = 1;
    set_hsts(in, "max-age=x");
    in->hpkp_invalid = 1;
    assert_int_equal(tw_grade_compute(in, &out), 0);
    assert_string_equal(tw_grade_name(out.grade), "F");
    assert_true(out.n_reasons > 30);
    for (size_t i = 0; i < out.n_reasons; i++) {
        const char *cap = out.reasons[i].cap;

        assert_non_null(out.reasons[i].code);
        assert_non_null(out.reasons[i].text);
        assert_true(strcmp(cap, "F") == 0 || strcmp(cap, "E") == 0 || strcmp(cap, "D") == 0 ||
                    strcmp(cap, "C") == 0 || strcmp(cap, "B") == 0 || strcmp(cap, "A-") == 0 ||
                    strcmp(cap, "A") == 0 || strcmp(cap, "T") == 0 || strcmp(cap, "M") == 0);
        for (size_t j = 0; j < i; j++)
            if (strcmp(out.reasons[i].code, out.reasons[j].code) == 0)
                fail_msg("reason %s listed twice", out.reasons[i].code);
    }
    free(in);
}

/* T only overlays a letter; the letter itself is kept in grade_trust_ignored
 * and the score-derived letter in score_letter (V14: 78 -> B before caps). */
static void
test_grade_score_letter(void **state)
{
    struct tw_grade_input *in = calloc(1, sizeof(*in));
    struct tw_grade_output out;

    (void)state;
    assert_non_null(in);
    b0(in);
    v14(in);
    assert_int_equal(tw_grade_compute(in, &out), 0);
    assert_int_equal(out.s20, 1560);
    assert_string_equal(tw_grade_name(out.score_letter), "B");
    b0(in);
    assert_int_equal(tw_grade_compute(in, &out), 0);
    assert_int_equal(out.s20, 1860);
    assert_string_equal(out.criteria, "2009r");
    {
        char buf[64];

        b0(in);
        v57(in); /* expired + TLS 1.0 */
        assert_int_equal(tw_grade_compute(in, &out), 0);
        assert_int_equal(tw_grade_format_reasons(&out, buf, sizeof(buf)),
                         strlen("tls10_or_11,trust_expired"));
        assert_string_equal(buf, "tls10_or_11,trust_expired");
        /* too short for both: cut at a whole code */
        assert_int_equal(tw_grade_format_reasons(&out, buf, 15), strlen("tls10_or_11"));
        assert_string_equal(buf, "tls10_or_11");
        assert_int_equal(tw_grade_format_reasons(&out, buf, 5), 0);
        assert_string_equal(buf, "");
    }
    assert_true(out.has_fs && out.has_aead);
    free(in);
}

/* The report vocabulary: names back to letters, and the severity order the
 * reports list (A+ A A- B C D E M T F, not graded last). */
static void
test_grade_report_order(void **state)
{
    static const char *const order[] = {"A+", "A", "A-", "B", "C", "D", "E", "M", "T", "F"};

    (void)state;
    for (int i = 0; i < (int)(sizeof(order) / sizeof(order[0])); i++) {
        enum tw_grade_letter g = tw_grade_from_name(order[i]);

        assert_int_not_equal(g, TW_GRADE_NONE);
        assert_string_equal(tw_grade_name(g), order[i]);
        assert_int_equal(tw_grade_severity(g), i);
        assert_int_equal(tw_grade_by_severity[i], g);
    }
    assert_int_equal(tw_grade_by_severity[TW_GRADE_NONE], TW_GRADE_NONE);
    assert_int_equal(tw_grade_severity(TW_GRADE_NONE), TW_GRADE_NONE);
    assert_int_equal(tw_grade_severity((enum tw_grade_letter)99), TW_GRADE_NONE);
    assert_int_equal(tw_grade_from_name(NULL), TW_GRADE_NONE);
    assert_int_equal(tw_grade_from_name(""), TW_GRADE_NONE);
    assert_int_equal(tw_grade_from_name("Z"), TW_GRADE_NONE);
    assert_int_equal(tw_grade_from_name("a+"), TW_GRADE_NONE);
    assert_int_equal(tw_grade_from_name("A+ "), TW_GRADE_NONE);
    /* F is the worst grade; T and M come just before it. */
    assert_true(tw_grade_severity(TW_GRADE_E) < tw_grade_severity(TW_GRADE_M));
    assert_true(tw_grade_severity(TW_GRADE_T) < tw_grade_severity(TW_GRADE_F));
}

int
main(void)
{
    static struct CMUnitTest vector_tests[N_VECTORS];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grade_letter_boundaries),
        cmocka_unit_test(test_grade_protocol_scores),
        cmocka_unit_test(test_grade_key_table),
        cmocka_unit_test(test_grade_key_exchange),
        cmocka_unit_test(test_grade_cipher_strength),
        cmocka_unit_test(test_grade_name_helpers),
        cmocka_unit_test(test_grade_hsts_parse),
        cmocka_unit_test(test_grade_invalid_input),
        cmocka_unit_test(test_grade_unknown_entries_skipped),
        cmocka_unit_test(test_grade_merged_suites),
        cmocka_unit_test(test_grade_reasons_well_formed),
        cmocka_unit_test(test_grade_score_letter),
        cmocka_unit_test(test_grade_report_order),
    };
    int failed;

    /* One named test per grading.md vector, so a failure names its V id. */
    for (size_t i = 0; i < N_VECTORS; i++) {
        vector_tests[i].name = vectors[i].id;
        vector_tests[i].test_func = test_grade_vector;
        vector_tests[i].setup_func = NULL;
        vector_tests[i].teardown_func = NULL;
        vector_tests[i].initial_state = (void *)&vectors[i];
    }
    failed = cmocka_run_group_tests_name("grade", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("grade_vectors", vector_tests, NULL, NULL);
    return failed;
}
