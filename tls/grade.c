/*
 * grade.c - SSL Labs rating (criteria 2009r): category scores, caps,
 * warnings, A+ gate and the T/M overlay.  The suite and group facts come
 * from tls/suites.h; the reason table is here.
 *
 * The big picture (grading.md §1.11): P, K and C are table scores; S20 =
 * 3*P2 + 6*K + 4*C2 (= 20*S, exact in integers) gives the Table 1 letter;
 * every rule of §1.7 that fires appends a reason with the cap it imposes
 * and the letter becomes the worst cap; warnings turn A into A-; A+ needs A,
 * no warnings and HSTS >= 180 days; then F beats T beats M beats the letter.
 * Each SPEC CHOICE is marked where it is taken and listed in GRADING.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tls/grade.h"
#include "tls/suites.h"

/* HSTS max-age needed for A+ (API LONG_MAX_AGE, 180 days). */
#define HSTS_LONG_MAX_AGE 15552000

/* ---- named groups ---- */

int
tw_grade_group_rsa_equiv(uint16_t group)
{
    const struct tw_group *g = tw_suites_group_find(group);

    return g != NULL ? g->rsa_equiv : -1;
}

/* ---- reasons ---- */

enum reason_id {
    /* F */
    R_SSL2,
    R_INSECURE_RENEG,
    R_SIG_MD5,
    R_DEBIAN_WEAK,
    R_RSA_E1,
    R_WEAK_KEY_LT1024,
    R_DH_LT1024,
    R_ECDH_LT1024,
    R_EXPORT,
    R_ANON,
    R_CIPHER_LT112,
    R_SSL3_BEST,
    R_RC4_ONLY,
    R_HEARTBLEED,
    R_CCS,
    R_POODLE_TLS,
    R_DROWN,
    R_LUCKY,
    R_TICKETBLEED,
    R_ROBOT,
    R_ZOMBIE,
    R_GOLDENDOODLE,
    R_SLEEPING,
    R_ZEROLEN,
    R_ZERO_CATEGORY,
    R_SCORE, /* cap = the score's own letter, filled at run time */
    /* C */
    R_COMPRESSION,
    R_NO_TLS12,
    R_POODLE_SSL3,
    R_RC4_TLS11,
    R_64BIT_TLS11,
    /* B */
    R_SSL3,
    R_TLS10_11,
    R_RC4,
    R_CHAIN_INCOMPLETE,
    R_WEAK_KEY_LT2048,
    R_DH_LT2048,
    R_ECDH_LT2048,
    R_NO_FS,
    R_NO_AEAD,
    /* warnings: A- */
    R_NO_TLS13,
    R_HSTS_INVALID,
    R_HSTS_DISABLED,
    R_NO_SECURE_RENEG,
    /* no A+ */
    R_HSTS_ABSENT,
    R_HSTS_SHORT,
    R_HSTS_NA,
    R_HPKP_INVALID,
    /* T */
    R_TRUST_SELF_SIGNED,
    R_TRUST_EXPIRED,
    R_TRUST_NOT_YET_VALID,
    R_TRUST_UNTRUSTED,
    R_TRUST_REVOKED,
    R_TRUST_CHAIN,
    R_TRUST_DISTRUSTED,
    R_SIG_SHA1,
    /* M */
    R_NAME_MISMATCH,
    R__COUNT
};

struct reason_def {
    const char *code;
    const char *text;
    enum tw_grade_letter cap;
};

/* Indexed by enum reason_id.  Codes are stable: they go into the database. */
static const struct reason_def reason_table[R__COUNT] = {
    [R_SSL2] = {"ssl2", "SSL 2.0 is supported (C05)", TW_GRADE_F},
    [R_INSECURE_RENEG] = {"insecure_reneg",
                          "insecure client-initiated renegotiation is supported (C06)", TW_GRADE_F},
    [R_SIG_MD5] = {"sig_md5", "the certificate is signed with MD5 or MD2 (C03)", TW_GRADE_F},
    [R_DEBIAN_WEAK] = {"debian_weak_key", "the key is a known Debian OpenSSL weak key (C04)",
                       TW_GRADE_F},
    [R_RSA_E1] = {"rsa_e1", "the RSA key uses public exponent 1 (C31)", TW_GRADE_F},
    [R_WEAK_KEY_LT1024] = {"weak_key_lt1024",
                           "the certificate key is weaker than 1024 RSA-equivalent bits (C11)",
                           TW_GRADE_F},
    [R_DH_LT1024] = {"dh_lt1024", "DH parameters weaker than 1024 bits are used (C12)", TW_GRADE_F},
    [R_ECDH_LT1024] = {"ecdh_lt1024",
                       "an ECDH group weaker than 1024 RSA-equivalent bits is accepted (C12)",
                       TW_GRADE_F},
    [R_EXPORT] = {"export_kx", "export cipher suites are accepted (C12)", TW_GRADE_F},
    [R_ANON] = {"anon_kx", "anonymous (unauthenticated) cipher suites are accepted", TW_GRADE_F},
    [R_CIPHER_LT112] = {"cipher_lt112",
                        "a cipher suite weaker than 112 bits is accepted (NULL, export, DES) (C34)",
                        TW_GRADE_F},
    [R_SSL3_BEST] = {"ssl3_best", "SSL 3.0 is the best protocol supported (C26)", TW_GRADE_F},
    [R_RC4_ONLY] = {"rc4_only", "only RC4 cipher suites are supported (C28)", TW_GRADE_F},
    [R_HEARTBLEED] = {"heartbleed", "vulnerable to Heartbleed (C17)", TW_GRADE_F},
    [R_CCS] = {"ccs_injection", "vulnerable to OpenSSL CCS injection, exploitable (C18)",
               TW_GRADE_F},
    [R_POODLE_TLS] = {"poodle_tls", "vulnerable to POODLE against TLS (C21)", TW_GRADE_F},
    [R_DROWN] = {"drown",
                 "DROWN: this key or host name is used by a server that supports SSL 2.0 (C29)",
                 TW_GRADE_F},
    [R_LUCKY] = {"cve_2016_2107", "vulnerable to the OpenSSL padding oracle CVE-2016-2107 (C32)",
                 TW_GRADE_F},
    [R_TICKETBLEED] = {"ticketbleed", "vulnerable to Ticketbleed CVE-2016-9244 (C35)", TW_GRADE_F},
    [R_ROBOT] = {"robot", "vulnerable to ROBOT (Bleichenbacher oracle) (C39)", TW_GRADE_F},
    [R_ZOMBIE] = {"zombie_poodle", "vulnerable to Zombie POODLE, exploitable (C41)", TW_GRADE_F},
    [R_GOLDENDOODLE] = {"goldendoodle", "vulnerable to GOLDENDOODLE, exploitable (C41)",
                        TW_GRADE_F},
    [R_SLEEPING] = {"sleeping_poodle", "vulnerable to Sleeping POODLE, exploitable (C41)",
                    TW_GRADE_F},
    [R_ZEROLEN] = {"zero_length_padding_oracle",
                   "vulnerable to the 0-length padding oracle CVE-2019-1559, exploitable (C41)",
                   TW_GRADE_F},
    [R_ZERO_CATEGORY] = {"zero_category",
                         "a category score is zero, so the overall score is zero (Table 1)",
                         TW_GRADE_F},
    [R_SCORE] = {"score", "the numeric score is below 80 (Table 1)", TW_GRADE_F},
    [R_COMPRESSION] = {"compression", "TLS compression is supported: CRIME (C08)", TW_GRADE_C},
    [R_NO_TLS12] = {"no_tls12", "neither TLS 1.2 nor TLS 1.3 is supported (C09)", TW_GRADE_C},
    [R_POODLE_SSL3] = {"poodle_ssl3", "SSL 3.0 is supported with a CBC suite: POODLE (C20)",
                       TW_GRADE_C},
    [R_RC4_TLS11] = {"rc4_tls11plus", "RC4 is used with TLS 1.1 or newer (C14)", TW_GRADE_C},
    [R_64BIT_TLS11] = {"3des_tls11plus",
                       "3DES or another 64-bit block cipher is used with TLS 1.1 or newer (C33)",
                       TW_GRADE_C},
    [R_SSL3] = {"ssl3", "SSL 3.0 is supported (C23)", TW_GRADE_B},
    [R_TLS10_11] = {"tls10_or_11", "TLS 1.0 or TLS 1.1 is supported (C42)", TW_GRADE_B},
    [R_RC4] = {"rc4", "RC4 cipher suites are supported (C24)", TW_GRADE_B},
    [R_CHAIN_INCOMPLETE] =
        {"chain_incomplete",
         "incomplete, completed by AIA: the server did not send an intermediate (C25)", TW_GRADE_B},
    [R_WEAK_KEY_LT2048] = {"weak_key_lt2048",
                           "the certificate key is weaker than 2048 RSA-equivalent bits (C10)",
                           TW_GRADE_B},
    [R_DH_LT2048] = {"dh_lt2048", "DH parameters weaker than 2048 bits are used (C27)", TW_GRADE_B},
    [R_ECDH_LT2048] = {"ecdh_lt2048",
                       "an ECDH group weaker than 2048 RSA-equivalent bits is accepted (K <= 80)",
                       TW_GRADE_B},
    [R_NO_FS] = {"no_fs", "forward secrecy is not supported (C37)", TW_GRADE_B},
    [R_NO_AEAD] = {"no_aead", "no AEAD cipher suite is supported (C38)", TW_GRADE_B},
    [R_NO_TLS13] = {"no_tls13_warning", "TLS 1.3 is not supported (warning, C44)",
                    TW_GRADE_A_MINUS},
    [R_HSTS_INVALID] = {"hsts_invalid", "the HSTS header is invalid (warning, C45)",
                        TW_GRADE_A_MINUS},
    [R_HSTS_DISABLED] = {"hsts_disabled", "HSTS is disabled with max-age=0 (warning, C45)",
                         TW_GRADE_A_MINUS},
    [R_NO_SECURE_RENEG] = {"no_secure_reneg",
                           "secure renegotiation (RFC 5746) is not supported (warning, C13)",
                           TW_GRADE_A_MINUS},
    [R_HSTS_ABSENT] = {"hsts_absent", "no HSTS header: A+ needs HSTS (C16)", TW_GRADE_A},
    [R_HSTS_SHORT] = {"hsts_short", "HSTS max-age is below 180 days: A+ needs more (C16)",
                      TW_GRADE_A},
    [R_HSTS_NA] = {"hsts_not_applicable", "not an HTTPS service: HSTS does not apply, A at most",
                   TW_GRADE_A},
    [R_HPKP_INVALID] = {"hpkp_invalid", "the HPKP header is invalid: no A+ (C30)", TW_GRADE_A},
    [R_TRUST_SELF_SIGNED] = {"trust_self_signed", "the certificate is self-signed (C02)",
                             TW_GRADE_T},
    [R_TRUST_EXPIRED] = {"trust_expired", "the certificate has expired (C02)", TW_GRADE_T},
    [R_TRUST_NOT_YET_VALID] = {"trust_not_yet_valid", "the certificate is not yet valid (C02)",
                               TW_GRADE_T},
    [R_TRUST_UNTRUSTED] = {"trust_untrusted", "the chain does not lead to a trusted root (C02)",
                           TW_GRADE_T},
    [R_TRUST_REVOKED] = {"trust_revoked", "the certificate is revoked (C02)", TW_GRADE_T},
    [R_TRUST_CHAIN] = {"trust_chain_incomplete",
                       "the chain is incomplete and cannot be completed (C02, C25)", TW_GRADE_T},
    [R_TRUST_DISTRUSTED] = {"trust_distrusted", "the issuing CA is distrusted (C36, C40)",
                            TW_GRADE_T},
    [R_SIG_SHA1] = {"sig_sha1", "the certificate is signed with SHA-1 (C19)", TW_GRADE_T},
    [R_NAME_MISMATCH] = {"name_mismatch", "the certificate does not match the name (C01)",
                         TW_GRADE_M},
};

/* ---- pure scoring helpers ---- */

static const char *const grade_names[] = {
    [TW_GRADE_A_PLUS] = "A+", [TW_GRADE_A] = "A", [TW_GRADE_A_MINUS] = "A-", [TW_GRADE_B] = "B",
    [TW_GRADE_C] = "C",       [TW_GRADE_D] = "D", [TW_GRADE_E] = "E",        [TW_GRADE_F] = "F",
    [TW_GRADE_T] = "T",       [TW_GRADE_M] = "M", [TW_GRADE_NONE] = "",
};

const char *
tw_grade_name(enum tw_grade_letter g)
{
    if ((unsigned)g > TW_GRADE_NONE)
        return "";
    return grade_names[g];
}

enum tw_grade_letter
tw_grade_letter(int s20)
{
    if (s20 >= 1600)
        return TW_GRADE_A;
    if (s20 >= 1300)
        return TW_GRADE_B;
    if (s20 >= 1000)
        return TW_GRADE_C;
    if (s20 >= 700)
        return TW_GRADE_D;
    if (s20 >= 400)
        return TW_GRADE_E;
    return TW_GRADE_F;
}

int
tw_grade_proto_score(enum tw_proto p)
{
    switch (p) {
    case TW_PROTO_SSL2:
        return 0;
    case TW_PROTO_SSL3:
        return 80;
    case TW_PROTO_TLS10:
        return 90;
    case TW_PROTO_TLS11:
        return 95;
    case TW_PROTO_TLS12:
        return 100;
    case TW_PROTO_TLS13:
        return 100; /* not in the guide (§1.3); everyone uses 100 */
    case TW_PROTO__COUNT:
        break;
    }
    return -1;
}

int
tw_grade_protocol_score(unsigned protocols)
{
    int best = -1, worst = -1;
    int p;

    for (p = 0; p < TW_PROTO__COUNT; p++) {
        int s;

        if (!(protocols & TW_PROTO_BIT(p)))
            continue;
        s = tw_grade_proto_score((enum tw_proto)p);
        if (best < 0 || s > best)
            best = s;
        if (worst < 0 || s < worst)
            worst = s;
    }
    if (best < 0)
        return -1;
    return best + worst;
}

int
tw_grade_key_score(int rsa_equiv_bits)
{
    if (rsa_equiv_bits < 512)
        return 20;
    if (rsa_equiv_bits < 1024)
        return 40;
    if (rsa_equiv_bits < 2048)
        return 80;
    if (rsa_equiv_bits < 4096)
        return 90;
    return 100;
}

int
tw_grade_cipher_score(int bits)
{
    if (bits <= 0)
        return 0;
    if (bits < 128)
        return 20;
    if (bits < 256)
        return 80;
    return 100;
}

/* EC field size n -> RSA-equivalent bits (grading.md §1.4). */
static int
ec_rsa_equiv(int n)
{
    if (n < 160)
        return 512;
    if (n < 224)
        return 1024;
    if (n < 256)
        return 2048;
    if (n < 384)
        return 3072;
    if (n < 512)
        return 7680;
    return 15360;
}

int
tw_grade_rsa_equiv(enum tw_key_type type, int bits)
{
    switch (type) {
    case TW_KEY_RSA:
    case TW_KEY_DSA:
    case TW_KEY_DH:
        return bits < 0 ? 0 : bits;
    case TW_KEY_EC:
        return ec_rsa_equiv(bits);
    case TW_KEY_ED25519:
        return 3072; /* by identity: OpenSSL reports 253 bits */
    case TW_KEY_ED448:
        return 7680;
    case TW_KEY_UNKNOWN:
        break;
    }
    return -1;
}

int
tw_grade_proto_from_version(uint16_t version)
{
    switch (version) {
    case TW_VERSION_SSL2:
        return TW_PROTO_SSL2;
    case TW_VERSION_SSL3:
        return TW_PROTO_SSL3;
    case TW_VERSION_TLS10:
        return TW_PROTO_TLS10;
    case TW_VERSION_TLS11:
        return TW_PROTO_TLS11;
    case TW_VERSION_TLS12:
        return TW_PROTO_TLS12;
    case TW_VERSION_TLS13:
        return TW_PROTO_TLS13;
    default:
        return -1;
    }
}

/* ASCII lower-case copy of at most cap-1 bytes. */
static void
lower_copy(const char *s, char *buf, size_t cap)
{
    size_t i;

    for (i = 0; i + 1 < cap && s[i] != '\0'; i++) {
        char c = s[i];

        buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    buf[i] = '\0';
}

enum tw_sig_alg
tw_grade_sig_from_name(const char *sig_alg)
{
    char s[96];

    if (sig_alg == NULL)
        return TW_SIG_UNKNOWN;
    lower_copy(sig_alg, s, sizeof(s));
    if (strstr(s, "md2") != NULL)
        return TW_SIG_MD2;
    if (strstr(s, "md4") != NULL)
        return TW_SIG_MD4;
    if (strstr(s, "md5") != NULL)
        return TW_SIG_MD5;
    if (strstr(s, "sha224") != NULL || strstr(s, "sha-224") != NULL)
        return TW_SIG_SHA224;
    if (strstr(s, "sha256") != NULL || strstr(s, "sha-256") != NULL)
        return TW_SIG_SHA256;
    if (strstr(s, "sha384") != NULL || strstr(s, "sha-384") != NULL)
        return TW_SIG_SHA384;
    if (strstr(s, "sha512") != NULL || strstr(s, "sha-512") != NULL)
        return TW_SIG_SHA512;
    if (strstr(s, "sha1") != NULL || strstr(s, "sha-1") != NULL)
        return TW_SIG_SHA1;
    if (strcmp(s, "ed25519") == 0 || strcmp(s, "ed448") == 0)
        return TW_SIG_OTHER_STRONG;
    return TW_SIG_UNKNOWN;
}

enum tw_key_type
tw_grade_key_type_from_name(const char *key_type)
{
    char s[32];

    if (key_type == NULL)
        return TW_KEY_UNKNOWN;
    lower_copy(key_type, s, sizeof(s));
    if (strcmp(s, "rsa") == 0 || strcmp(s, "rsa-pss") == 0 || strcmp(s, "rsassa-pss") == 0)
        return TW_KEY_RSA;
    if (strcmp(s, "dsa") == 0)
        return TW_KEY_DSA;
    if (strcmp(s, "ec") == 0 || strcmp(s, "ecdsa") == 0)
        return TW_KEY_EC;
    if (strcmp(s, "ed25519") == 0)
        return TW_KEY_ED25519;
    if (strcmp(s, "ed448") == 0)
        return TW_KEY_ED448;
    if (strcmp(s, "dh") == 0 || strcmp(s, "dhx") == 0)
        return TW_KEY_DH;
    return TW_KEY_UNKNOWN;
}

/* ---- HSTS header (RFC 6797 §6.1) ---- */

#define HSTS_DIRECTIVES_MAX 16

static int
is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
span_ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i;

    if (alen != blen)
        return 0;
    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

enum tw_hsts_status
tw_grade_hsts_parse(const char *value, size_t len, int64_t *max_age)
{
    const char *names[HSTS_DIRECTIVES_MAX];
    size_t name_lens[HSTS_DIRECTIVES_MAX];
    size_t n_names = 0, pos = 0, i;
    int have_max_age = 0;
    int64_t age = 0;

    if (max_age != NULL)
        *max_age = 0;
    if (value == NULL)
        return TW_HSTS_ABSENT;
    while (pos <= len) {
        size_t name_start, name_len, val_start = 0, val_len = 0;

        while (pos < len && (value[pos] == ' ' || value[pos] == '\t'))
            pos++;
        if (pos == len)
            break;
        if (value[pos] == ';') {
            pos++;
            continue;
        }
        name_start = pos;
        while (pos < len && is_tchar((unsigned char)value[pos]))
            pos++;
        name_len = pos - name_start;
        if (name_len == 0)
            return TW_HSTS_INVALID;
        while (pos < len && (value[pos] == ' ' || value[pos] == '\t'))
            pos++;
        if (pos < len && value[pos] == '=') {
            pos++;
            while (pos < len && (value[pos] == ' ' || value[pos] == '\t'))
                pos++;
            if (pos < len && value[pos] == '"') {
                pos++;
                val_start = pos;
                while (pos < len && value[pos] != '"') {
                    if (value[pos] == '\\')
                        return TW_HSTS_INVALID; /* no escapes in any value we accept */
                    pos++;
                }
                if (pos == len)
                    return TW_HSTS_INVALID; /* unterminated quoted-string */
                val_len = pos - val_start;
                pos++;
            } else {
                val_start = pos;
                while (pos < len && is_tchar((unsigned char)value[pos]))
                    pos++;
                val_len = pos - val_start;
                if (val_len == 0)
                    return TW_HSTS_INVALID;
            }
            while (pos < len && (value[pos] == ' ' || value[pos] == '\t'))
                pos++;
        }
        if (pos < len && value[pos] != ';')
            return TW_HSTS_INVALID;
        pos++; /* past ';' (or past the end, which ends the loop) */

        for (i = 0; i < n_names; i++)
            if (span_ieq(names[i], name_lens[i], value + name_start, name_len))
                return TW_HSTS_INVALID; /* "directives MUST NOT appear more than once" */
        if (n_names == HSTS_DIRECTIVES_MAX)
            return TW_HSTS_INVALID;
        names[n_names] = value + name_start;
        name_lens[n_names] = name_len;
        n_names++;

        if (span_ieq(value + name_start, name_len, "max-age", 7)) {
            if (val_len == 0)
                return TW_HSTS_INVALID;
            for (i = 0; i < val_len; i++) {
                int d;

                if (value[val_start + i] < '0' || value[val_start + i] > '9')
                    return TW_HSTS_INVALID;
                d = value[val_start + i] - '0';
                if (age > (INT64_MAX - d) / 10)
                    age = INT64_MAX;
                else
                    age = age * 10 + d;
            }
            have_max_age = 1;
        }
    }
    if (!have_max_age)
        return TW_HSTS_INVALID;
    if (max_age != NULL)
        *max_age = age;
    return age == 0 ? TW_HSTS_DISABLED : TW_HSTS_PRESENT;
}

/* ---- the grade ---- */

static void
add_reason(struct tw_grade_output *out, enum reason_id id, enum tw_grade_letter cap)
{
    struct tw_grade_reason *r;
    const char *name = tw_grade_name(cap);

    if (out->n_reasons >= TW_GRADE_REASONS_MAX)
        return; /* cannot happen: R__COUNT < TW_GRADE_REASONS_MAX, each fires once */
    r = &out->reasons[out->n_reasons++];
    r->code = reason_table[id].code;
    r->text = reason_table[id].text;
    r->cap[0] = name[0];
    r->cap[1] = name[0] != '\0' ? name[1] : '\0';
    r->cap[2] = '\0';
}

/* Record that rule id fired and lower *g to its cap. */
static void
fire(struct tw_grade_output *out, enum reason_id id, enum tw_grade_letter *g)
{
    enum tw_grade_letter cap = reason_table[id].cap;

    add_reason(out, id, cap);
    if (cap <= TW_GRADE_F && cap > *g)
        *g = cap;
}

/* Lower *k to the score of one key-exchange component of rsa_eq bits and
 * remember the weakest component. */
static void
kx_component(struct tw_grade_output *out, int rsa_eq)
{
    int s = tw_grade_key_score(rsa_eq);

    if (s < out->k)
        out->k = s;
    if (out->kx_rsa_equiv_min < 0 || rsa_eq < out->kx_rsa_equiv_min)
        out->kx_rsa_equiv_min = rsa_eq;
}

/* Facts over the accepted suites, in one pass. */
struct suite_facts {
    size_t n_known;
    int min_bits, max_bits;
    int any_export, any_anon, any_rc4, all_rc4;
    int fs_tls12_or_older, any_aead;
    int rc4_tls11plus, b64_tls11plus, cbc_on_ssl3;
};

static void
scan_suites(const struct tw_grade_input *in, struct tw_grade_output *out, struct suite_facts *f)
{
    size_t i;

    memset(f, 0, sizeof(*f));
    f->min_bits = -1;
    f->max_bits = -1;
    f->all_rc4 = 1;
    for (i = 0; i < in->n_suites; i++) {
        const struct tw_suite *si = tw_suites_find(in->suites[i].code);
        int proto = tw_grade_proto_from_version(in->suites[i].protocol);

        if (si == NULL || si->is_scsv) { /* a signalling value is no suite */
            out->n_unknown_suites++;
            continue;
        }
        f->n_known++;
        if (f->min_bits < 0 || si->bits < f->min_bits)
            f->min_bits = si->bits;
        if (si->bits > f->max_bits)
            f->max_bits = si->bits;
        f->any_export |= si->is_export;
        f->any_anon |= si->is_anon;
        f->any_rc4 |= si->is_rc4;
        if (!si->is_rc4)
            f->all_rc4 = 0;
        if (si->is_fs && proto <= TW_PROTO_TLS12)
            f->fs_tls12_or_older = 1;
        f->any_aead |= si->is_aead;
        if (proto == TW_PROTO_TLS11 || proto == TW_PROTO_TLS12) {
            f->rc4_tls11plus |= si->is_rc4;
            f->b64_tls11plus |= si->is_64bit_block;
        }
        if (proto == TW_PROTO_SSL3 && si->is_cbc)
            f->cbc_on_ssl3 = 1;
    }
    if (f->n_known == 0)
        f->all_rc4 = 0;
}

/* Input bounds and the protocol set (the suites' protocols count too: a
 * suite accepted on a version proves the version).  Returns -1 if invalid. */
static int
check_input(const struct tw_grade_input *in, unsigned *protocols)
{
    size_t i;

    if (in->n_suites > TW_GRADE_SUITES_MAX || in->n_dh > TW_GRADE_DH_MAX ||
        in->n_groups > TW_GRADE_GROUPS_MAX || in->n_certs > TW_GRADE_CERTS_MAX)
        return -1;
    if (in->mode != TW_GRADE_STRICT && in->mode != TW_GRADE_SIMULATION)
        return -1;
    *protocols = in->protocols & ((1u << TW_PROTO__COUNT) - 1);
    for (i = 0; i < in->n_suites; i++) {
        int p = tw_grade_proto_from_version(in->suites[i].protocol);

        if (p < 0)
            return -1;
        *protocols |= TW_PROTO_BIT(p);
    }
    return *protocols == 0 ? -1 : 0;
}

/* K (§1.4): the minimum over every leaf key, DHE group, named group,
 * export (40) and anonymous / Debian-weak (0), with the rules it implies
 * (C04, C10, C11, C12, C27, C31). */
static void
grade_kx(const struct tw_grade_input *in, const struct suite_facts *f, struct tw_grade_output *out,
         enum tw_grade_letter *g)
{
    int leaf_lt1024 = 0, leaf_lt2048 = 0, dh_lt1024 = 0, dh_lt2048 = 0;
    int ec_lt1024 = 0, ec_lt2048 = 0, debian = 0, e1 = 0, md5 = 0, sha1 = 0;
    size_t i;

    out->k = 100;
    out->kx_rsa_equiv_min = -1;
    for (i = 0; i < in->n_certs; i++) {
        const struct tw_grade_cert *c = &in->certs[i];
        int eq = tw_grade_rsa_equiv(c->key_type, c->key_bits);

        if (eq >= 0) {
            kx_component(out, eq);
            leaf_lt1024 |= eq < 1024;
            leaf_lt2048 |= eq >= 1024 && eq < 2048;
        }
        debian |= c->debian_weak != 0;
        e1 |= c->key_type == TW_KEY_RSA && c->rsa_exponent == 1;
        md5 |= c->sig == TW_SIG_MD2 || c->sig == TW_SIG_MD4 || c->sig == TW_SIG_MD5;
        sha1 |= c->sig == TW_SIG_SHA1;
    }
    for (i = 0; i < in->n_dh; i++) {
        if (in->dh_bits[i] == 0)
            continue; /* size not measured */
        kx_component(out, in->dh_bits[i]);
        dh_lt1024 |= in->dh_bits[i] < 1024;
        dh_lt2048 |= in->dh_bits[i] >= 1024 && in->dh_bits[i] < 2048;
    }
    for (i = 0; i < in->n_groups; i++) {
        int eq = tw_grade_group_rsa_equiv(in->groups[i]);

        if (eq < 0) {
            out->n_unknown_groups++;
            continue;
        }
        kx_component(out, eq);
        ec_lt1024 |= eq < 1024;
        ec_lt2048 |= eq >= 1024 && eq < 2048;
    }
    if (f->any_export && out->k > 40)
        out->k = 40;
    if (f->any_anon || debian)
        out->k = 0;

    if (leaf_lt1024)
        fire(out, R_WEAK_KEY_LT1024, g);
    if (dh_lt1024)
        fire(out, R_DH_LT1024, g);
    if (ec_lt1024)
        fire(out, R_ECDH_LT1024, g);
    if (f->any_export)
        fire(out, R_EXPORT, g);
    if (f->any_anon)
        fire(out, R_ANON, g);
    if (debian)
        fire(out, R_DEBIAN_WEAK, g);
    if (e1)
        fire(out, R_RSA_E1, g);
    if (md5)
        fire(out, R_SIG_MD5, g);
    if (leaf_lt2048)
        fire(out, R_WEAK_KEY_LT2048, g);
    if (dh_lt2048)
        fire(out, R_DH_LT2048, g);
    if (ec_lt2048)
        fire(out, R_ECDH_LT2048, g);
    if (sha1)
        add_reason(out, R_SIG_SHA1, TW_GRADE_T);
}

/* The protocol and cipher rules (C05, C09, C14, C20, C23, C24, C26, C28,
 * C33, C34, C37, C38, C42) and the flags (C06, C08, C17-C41). */
static void
grade_rules(const struct tw_grade_input *in, unsigned protocols, const struct suite_facts *f,
            struct tw_grade_output *out, enum tw_grade_letter *g)
{
    int sim = in->mode == TW_GRADE_SIMULATION;
    int has13 = (protocols & TW_PROTO_BIT(TW_PROTO_TLS13)) != 0;
    int has12 = (protocols & TW_PROTO_BIT(TW_PROTO_TLS12)) != 0;
    unsigned above_ssl3 = protocols & ~(TW_PROTO_BIT(TW_PROTO_SSL2) | TW_PROTO_BIT(TW_PROTO_SSL3));

    out->has_fs = has13 || f->fs_tls12_or_older;
    out->has_aead = has13 || f->any_aead;

    if (protocols & TW_PROTO_BIT(TW_PROTO_SSL2))
        fire(out, R_SSL2, g);
    if (in->insecure_client_reneg)
        fire(out, R_INSECURE_RENEG, g);
    if (f->n_known > 0 && f->min_bits < 112)
        fire(out, R_CIPHER_LT112, g);
    if ((protocols & TW_PROTO_BIT(TW_PROTO_SSL3)) && above_ssl3 == 0)
        fire(out, R_SSL3_BEST, g);
    if (f->all_rc4)
        fire(out, R_RC4_ONLY, g);
    if (in->heartbleed)
        fire(out, R_HEARTBLEED, g);
    if (in->ccs_exploitable)
        fire(out, R_CCS, g);
    if (in->poodle_tls)
        fire(out, R_POODLE_TLS, g);
    if (in->drown)
        fire(out, R_DROWN, g);
    if (in->lucky_minus20)
        fire(out, R_LUCKY, g);
    if (in->ticketbleed)
        fire(out, R_TICKETBLEED, g);
    if (in->robot)
        fire(out, R_ROBOT, g);
    if (in->zombie_poodle)
        fire(out, R_ZOMBIE, g);
    if (in->goldendoodle)
        fire(out, R_GOLDENDOODLE, g);
    if (in->sleeping_poodle)
        fire(out, R_SLEEPING, g);
    if (in->zero_length_padding)
        fire(out, R_ZEROLEN, g);

    if (in->compression)
        fire(out, R_COMPRESSION, g);
    if (!has12 && !has13)
        fire(out, R_NO_TLS12, g);
    if ((protocols & TW_PROTO_BIT(TW_PROTO_SSL3)) && f->cbc_on_ssl3)
        fire(out, R_POODLE_SSL3, g);
    if (sim ? in->sim_rc4_tls11plus : f->rc4_tls11plus)
        fire(out, R_RC4_TLS11, g);
    if (sim ? in->sim_64bit_tls11plus : f->b64_tls11plus)
        fire(out, R_64BIT_TLS11, g);

    if (protocols & TW_PROTO_BIT(TW_PROTO_SSL3))
        fire(out, R_SSL3, g);
    if (protocols & (TW_PROTO_BIT(TW_PROTO_TLS10) | TW_PROTO_BIT(TW_PROTO_TLS11)))
        fire(out, R_TLS10_11, g);
    if (f->any_rc4)
        fire(out, R_RC4, g);
    if (in->chain == TW_CHAIN_INCOMPLETE_COMPLETABLE)
        fire(out, R_CHAIN_INCOMPLETE, g);
    if (sim ? in->sim_no_fs : !out->has_fs)
        fire(out, R_NO_FS, g);
    if (sim ? in->sim_no_aead : !out->has_aead)
        fire(out, R_NO_AEAD, g);
}

/* Warnings (§1.9: W1-W3) and the A+ gate (C16, C30).  Returns the number
 * of warnings. */
static int
grade_warnings(const struct tw_grade_input *in, unsigned protocols, struct tw_grade_output *out)
{
    unsigned reneg_protos = TW_PROTO_BIT(TW_PROTO_SSL3) | TW_PROTO_BIT(TW_PROTO_TLS10) |
                            TW_PROTO_BIT(TW_PROTO_TLS11) | TW_PROTO_BIT(TW_PROTO_TLS12);
    int https = in->is_https && in->hsts != TW_HSTS_NOT_APPLICABLE;
    enum tw_hsts_status hsts = in->hsts;
    int n = 0;

    /* A PRESENT header with max-age 0 is the "disabled" case (C45). */
    if (hsts == TW_HSTS_PRESENT && in->hsts_max_age <= 0)
        hsts = TW_HSTS_DISABLED;

    if (!(protocols & TW_PROTO_BIT(TW_PROTO_TLS13))) {
        add_reason(out, R_NO_TLS13, TW_GRADE_A_MINUS);
        n++;
    }
    if (https && hsts == TW_HSTS_INVALID) {
        add_reason(out, R_HSTS_INVALID, TW_GRADE_A_MINUS);
        n++;
    }
    if (https && hsts == TW_HSTS_DISABLED) {
        add_reason(out, R_HSTS_DISABLED, TW_GRADE_A_MINUS);
        n++;
    }
    /* SPEC CHOICE: RFC 5746 does not exist in TLS 1.3 (no renegotiation),
     * so a TLS 1.3-only server gets no C13 warning. */
    if ((protocols & reneg_protos) && !in->secure_reneg && !in->insecure_client_reneg) {
        add_reason(out, R_NO_SECURE_RENEG, TW_GRADE_A_MINUS);
        n++;
    }

    if (!https)
        add_reason(out, R_HSTS_NA, TW_GRADE_A);
    else if (hsts == TW_HSTS_ABSENT)
        add_reason(out, R_HSTS_ABSENT, TW_GRADE_A);
    else if (hsts == TW_HSTS_PRESENT && in->hsts_max_age < HSTS_LONG_MAX_AGE)
        add_reason(out, R_HSTS_SHORT, TW_GRADE_A);
    if (in->hpkp_invalid)
        add_reason(out, R_HPKP_INVALID, TW_GRADE_A);
    return n;
}

/* T (C02, C19, C36, C40) and M (C01) reasons; returns 1 on a trust failure. */
static int
grade_trust(const struct tw_grade_input *in, struct tw_grade_output *out)
{
    static const struct {
        unsigned bit;
        enum reason_id id;
    } bits[] = {
        {TW_TRUST_SELF_SIGNED, R_TRUST_SELF_SIGNED},
        {TW_TRUST_EXPIRED, R_TRUST_EXPIRED},
        {TW_TRUST_NOT_YET_VALID, R_TRUST_NOT_YET_VALID},
        {TW_TRUST_UNTRUSTED, R_TRUST_UNTRUSTED},
        {TW_TRUST_REVOKED, R_TRUST_REVOKED},
        {TW_TRUST_CHAIN_INCOMPLETE, R_TRUST_CHAIN},
        {TW_TRUST_DISTRUSTED, R_TRUST_DISTRUSTED},
    };
    int failure = 0;
    size_t i;

    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (in->trust & bits[i].bit) {
            add_reason(out, bits[i].id, TW_GRADE_T);
            failure = 1;
        }
    }
    if ((in->trust & ~0x7fu) && !(in->trust & TW_TRUST_UNTRUSTED)) {
        add_reason(out, R_TRUST_UNTRUSTED, TW_GRADE_T); /* an unnamed bit still fails trust */
        failure = 1;
    }
    for (i = 0; i < in->n_certs; i++)
        if (in->certs[i].sig == TW_SIG_SHA1)
            failure = 1; /* reason added by grade_kx with the other cert rules */
    if (in->name_mismatch)
        add_reason(out, R_NAME_MISMATCH, TW_GRADE_M);
    return failure;
}

int
tw_grade_compute(const struct tw_grade_input *in, struct tw_grade_output *out)
{
    struct suite_facts f;
    enum tw_grade_letter g = TW_GRADE_A;
    unsigned protocols = 0;
    int n_warn, trust_failure;
    int rc = -1;

    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    out->grade = TW_GRADE_NONE;
    out->grade_trust_ignored = TW_GRADE_NONE;
    out->score_letter = TW_GRADE_NONE;
    out->criteria = "2009r";
    out->kx_rsa_equiv_min = -1;
    if (in == NULL || check_input(in, &protocols) < 0)
        goto out;
    out->mode = in->mode;
    scan_suites(in, out, &f);
    /* Nothing to score unless SSLv2 (F on its own) is there. */
    if (f.n_known == 0 && !(protocols & TW_PROTO_BIT(TW_PROTO_SSL2)))
        goto out;

    /* P (§1.3) */
    for (int p = 0; p < TW_PROTO__COUNT; p++) {
        if (protocols & TW_PROTO_BIT(p)) {
            out->p_worst = tw_grade_proto_score((enum tw_proto)p);
            break;
        }
    }
    for (int p = TW_PROTO__COUNT - 1; p >= 0; p--) {
        if (protocols & TW_PROTO_BIT(p)) {
            out->p_best = tw_grade_proto_score((enum tw_proto)p);
            break;
        }
    }
    out->p2 = out->p_best + out->p_worst;

    /* C (§1.5) */
    out->min_cipher_bits = f.n_known > 0 ? f.min_bits : 0;
    out->max_cipher_bits = f.n_known > 0 ? f.max_bits : 0;
    out->c_best = tw_grade_cipher_score(out->max_cipher_bits);
    out->c_worst = tw_grade_cipher_score(out->min_cipher_bits);
    out->c2 = out->c_best + out->c_worst;

    /* K (§1.4) and the key/certificate rules */
    grade_kx(in, &f, out, &g);

    /* S and the Table 1 letter (§1.6) */
    if (out->p2 == 0 || out->k == 0 || out->c2 == 0) {
        out->s20 = 0;
        fire(out, R_ZERO_CATEGORY, &g);
    } else {
        out->s20 = 3 * out->p2 + 6 * out->k + 4 * out->c2;
    }
    out->score_letter = tw_grade_letter(out->s20);
    if (out->score_letter > TW_GRADE_A) {
        add_reason(out, R_SCORE, out->score_letter);
        if (out->score_letter > g)
            g = out->score_letter;
    }

    grade_rules(in, protocols, &f, out, &g);

    /* Warnings and A+ (§1.9) */
    n_warn = grade_warnings(in, protocols, out);
    out->has_warnings = n_warn > 0;
    if (g == TW_GRADE_A) {
        int https = in->is_https && in->hsts != TW_HSTS_NOT_APPLICABLE;

        if (n_warn > 0)
            g = TW_GRADE_A_MINUS;
        else if (https && in->hsts == TW_HSTS_PRESENT && in->hsts_max_age >= HSTS_LONG_MAX_AGE &&
                 !in->hpkp_invalid)
            g = TW_GRADE_A_PLUS;
    }

    /* The trust overlay (§1.10): F beats T beats M. */
    trust_failure = grade_trust(in, out);
    out->grade_trust_ignored = g;
    if (g == TW_GRADE_F)
        out->grade = TW_GRADE_F;
    else if (trust_failure)
        out->grade = TW_GRADE_T;
    else if (in->name_mismatch)
        out->grade = TW_GRADE_M;
    else
        out->grade = g;
    out->is_exceptional = out->grade == TW_GRADE_A_PLUS;
    rc = 0;
out:
    return rc;
}

size_t
tw_grade_format_reasons(const struct tw_grade_output *out, char *buf, size_t len)
{
    size_t used = 0, i;

    if (buf == NULL || len == 0)
        return 0;
    buf[0] = '\0';
    for (i = 0; out != NULL && i < out->n_reasons; i++) {
        size_t clen = strlen(out->reasons[i].code);
        size_t sep = used > 0 ? 1 : 0;

        if (used + sep + clen >= len)
            break; /* truncate at a whole code, never mid-name */
        if (sep)
            buf[used++] = ',';
        memcpy(buf + used, out->reasons[i].code, clen);
        used += clen;
        buf[used] = '\0';
    }
    return used;
}

/* ---- grade letters in reports ---- */

enum tw_grade_letter
tw_grade_from_name(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return TW_GRADE_NONE;
    for (int g = 0; g < TW_GRADE_NONE; g++)
        if (strcmp(name, grade_names[g]) == 0)
            return (enum tw_grade_letter)g;
    return TW_GRADE_NONE;
}

const enum tw_grade_letter tw_grade_by_severity[TW_GRADE_NONE + 1] = {
    TW_GRADE_A_PLUS, TW_GRADE_A, TW_GRADE_A_MINUS, TW_GRADE_B, TW_GRADE_C,    TW_GRADE_D,
    TW_GRADE_E,      TW_GRADE_M, TW_GRADE_T,       TW_GRADE_F, TW_GRADE_NONE,
};

int
tw_grade_severity(enum tw_grade_letter g)
{
    for (int i = 0; i < TW_GRADE_NONE; i++)
        if (tw_grade_by_severity[i] == g)
            return i;
    return TW_GRADE_NONE;
}
