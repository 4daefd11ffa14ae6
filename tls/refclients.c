/*
 * refclients.c - the reference client table and the client file parser,
 * see refclients.h.
 *
 * The rows are written here from the clients' own documentation and from
 * ClientHellos of the named releases; each row's source says which.  Where
 * a fact could not be pinned to a document (a suite order that changed
 * between minor releases, a key-size floor that only a default policy
 * file sets), the row's note says so instead of pretending precision.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tls/refclients.h"
#include "tls/suites.h"

/* ---- signature schemes (IANA TLS SignatureScheme) ---- */

struct sigalg {
    uint16_t code;
    const char *name;
};

static const struct sigalg sigalg_table[] = {
    {0x0101, "rsa_md5"}, /* TLS 1.2 pair (md5, rsa): not a SignatureScheme name in IANA */
    {0x0201, "rsa_pkcs1_sha1"},
    {0x0202, "dsa_sha1"},
    {0x0203, "ecdsa_sha1"},
    {0x0301, "rsa_sha224"},
    {0x0302, "dsa_sha224"},
    {0x0303, "ecdsa_sha224"},
    {0x0401, "rsa_pkcs1_sha256"},
    {0x0402, "dsa_sha256"},
    {0x0403, "ecdsa_secp256r1_sha256"},
    {0x0501, "rsa_pkcs1_sha384"},
    {0x0502, "dsa_sha384"},
    {0x0503, "ecdsa_secp384r1_sha384"},
    {0x0601, "rsa_pkcs1_sha512"},
    {0x0602, "dsa_sha512"},
    {0x0603, "ecdsa_secp521r1_sha512"},
    {0x0804, "rsa_pss_rsae_sha256"},
    {0x0805, "rsa_pss_rsae_sha384"},
    {0x0806, "rsa_pss_rsae_sha512"},
    {0x0807, "ed25519"},
    {0x0808, "ed448"},
    {0x0809, "rsa_pss_pss_sha256"},
    {0x080A, "rsa_pss_pss_sha384"},
    {0x080B, "rsa_pss_pss_sha512"},
    {0x081A, "ecdsa_brainpoolP256r1tls13_sha256"},
    {0x081B, "ecdsa_brainpoolP384r1tls13_sha384"},
    {0x081C, "ecdsa_brainpoolP512r1tls13_sha512"},
    {0x0904, "mldsa44"},
    {0x0905, "mldsa65"},
    {0x0906, "mldsa87"},
};

#define N_SIGALGS (sizeof(sigalg_table) / sizeof(sigalg_table[0]))

const char *
tw_refclients_sigalg_name(uint16_t code)
{
    for (size_t i = 0; i < N_SIGALGS; i++)
        if (sigalg_table[i].code == code)
            return sigalg_table[i].name;
    return NULL;
}

int
tw_refclients_sigalg_parse(const char *name, uint16_t *code)
{
    for (size_t i = 0; i < N_SIGALGS; i++) {
        if (strcasecmp(name, sigalg_table[i].name) == 0) {
            *code = sigalg_table[i].code;
            return 0;
        }
    }
    return -1;
}

/* ---- the lists ---- */

/* Versions, for brevity in the rows. */
#define S3 TW_VERSION_SSL3
#define T10 TW_VERSION_TLS10
#define T11 TW_VERSION_TLS11
#define T12 TW_VERSION_TLS12
#define T13 TW_VERSION_TLS13

/* Chromium's BoringSSL default order (Chrome and Edge share it). */
static const uint16_t su_chrome[] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9,
                                     0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035};
static const uint16_t gr_chrome[] = {0x11EC, 29, 23, 24};
static const uint16_t sg_chrome[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                     0x0805, 0x0501, 0x0806, 0x0601};

/* Firefox (NSS) default order. */
static const uint16_t su_firefox[] = {0x1301, 0x1303, 0x1302, 0xC02B, 0xC02F, 0xCCA9,
                                      0xCCA8, 0xC02C, 0xC030, 0xC00A, 0xC009, 0xC013,
                                      0xC014, 0x009C, 0x009D, 0x002F, 0x0035};
static const uint16_t gr_firefox[] = {0x11EC, 29, 23, 24, 25, 256, 257};
static const uint16_t gr_firefox_esr[] = {29, 23, 24, 25, 256, 257};
static const uint16_t sg_firefox[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806,
                                      0x0401, 0x0501, 0x0601, 0x0203, 0x0201};

/* Apple Secure Transport / Network.framework (Safari, iOS). */
static const uint16_t su_apple[] = {0x1301, 0x1302, 0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030,
                                    0xC02F, 0xCCA8, 0xC00A, 0xC009, 0xC014, 0xC013, 0x009D,
                                    0x009C, 0x0035, 0x002F, 0xC008, 0xC012, 0x000A};
static const uint16_t su_ios12[] = {0x1301, 0x1302, 0x1303, 0xC02C, 0xC02B, 0xC024, 0xC023,
                                    0xC00A, 0xC009, 0xCCA9, 0xC030, 0xC02F, 0xC028, 0xC027,
                                    0xC014, 0xC013, 0xCCA8, 0x009D, 0x009C, 0x003D, 0x003C,
                                    0x0035, 0x002F, 0xC008, 0xC012, 0x000A};
static const uint16_t gr_apple[] = {29, 23, 24, 25};
static const uint16_t sg_apple[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0203,
                                    0x0805, 0x0501, 0x0806, 0x0601, 0x0201};

/* Android 4.4 platform SSLSocket (OpenSSL 1.0.1-based Conscrypt), defaults. */
static const uint16_t su_android44[] = {0xC009, 0xC00A, 0xC013, 0xC014, 0x0033, 0x0039, 0x0032,
                                        0x0038, 0xC007, 0xC011, 0x002F, 0x0035, 0x0005, 0x0004,
                                        0xC008, 0xC012, 0x0016, 0x0013, 0x000A, 0x0015, 0x0012,
                                        0x0009, 0x0014, 0x0011, 0x0008, 0x0003};
static const uint16_t gr_android44[] = {23, 24, 25};
static const uint16_t sg_android44[] = {0x0601, 0x0603, 0x0501, 0x0503, 0x0401,
                                        0x0403, 0x0301, 0x0303, 0x0201, 0x0203};

/* Android 5-9 (BoringSSL-based Conscrypt), before TLS 1.3. */
static const uint16_t su_android7[] = {0xC02B, 0xC02C, 0xCCA9, 0xC02F, 0xC030, 0xCCA8, 0xC009,
                                       0xC00A, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035};
static const uint16_t su_android5[] = {0xC02B, 0xC02C, 0xC02F, 0xC030, 0x009E, 0x009F,
                                       0xC009, 0xC00A, 0xC013, 0xC014, 0x0033, 0x0039,
                                       0x009C, 0x009D, 0x002F, 0x0035, 0x000A, 0x0005};
static const uint16_t su_android14[] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02C, 0xCCA9,
                                        0xC02F, 0xC030, 0xCCA8, 0xC009, 0xC00A, 0xC013,
                                        0xC014, 0x009C, 0x009D, 0x002F, 0x0035};
static const uint16_t gr_android[] = {29, 23, 24};
/* Android 5 (API 21) predates X25519 in Conscrypt (added in API 24). */
static const uint16_t gr_android5[] = {23, 24, 25};
static const uint16_t sg_android[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805,
                                      0x0501, 0x0806, 0x0601, 0x0201};

/* Java (SunJSSE) defaults.  Current updates of 8, 11 and 17 (and 20+) carry
 * "ECDH" in jdk.tls.disabledAlgorithms (JDK-8279164, "Disable TLS_ECDH_*
 * cipher suites": openjdk/jdk commit 00d22f6 for 20, backported to 17u-dev
 * commit 7bc22f7 and jdk8u-dev commit b1e2ea8), so their lists hold no
 * static-ECDH (TLS_ECDH_*) suite; 8u202 predates it and keeps them. */
static const uint16_t su_java8[] = {
    0xC02C, 0xC02B, 0xC030, 0x009D, 0xC02E, 0xC032, 0x009F, 0x00A3, 0xC02F, 0x009C, 0xC02D,
    0xC031, 0x009E, 0x00A2, 0xC024, 0xC028, 0x003D, 0xC026, 0xC02A, 0x006B, 0x006A, 0xC00A,
    0xC014, 0x0035, 0xC005, 0xC00F, 0x0039, 0x0038, 0xC023, 0xC027, 0x003C, 0xC025, 0xC029,
    0x0067, 0x0040, 0xC009, 0xC013, 0x002F, 0xC004, 0xC00E, 0x0033, 0x0032};
static const uint16_t su_java8_tls13[] = {
    0x1302, 0x1301, 0xC02C, 0xC02B, 0xC030, 0x009D, 0x009F, 0x00A3, 0xC02F, 0x009C, 0x009E,
    0x00A2, 0xC024, 0xC028, 0x003D, 0x006B, 0x006A, 0xC00A, 0xC014, 0x0035, 0x0039, 0x0038,
    0xC023, 0xC027, 0x003C, 0x0067, 0x0040, 0xC009, 0xC013, 0x002F, 0x0033, 0x0032};
static const uint16_t su_java11[] = {
    0x1302, 0x1301, 0xC02C, 0xC02B, 0xC030, 0x009D, 0x009F, 0x00A3, 0xC02F, 0x009C, 0x009E,
    0x00A2, 0xC024, 0xC028, 0x003D, 0x006B, 0x006A, 0xC00A, 0xC014, 0x0035, 0x0039, 0x0038,
    0xC023, 0xC027, 0x003C, 0x0067, 0x0040, 0xC009, 0xC013, 0x002F, 0x0033, 0x0032};
static const uint16_t su_java17[] = {
    0x1302, 0x1301, 0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030, 0xCCA8, 0xC02F, 0x009F, 0xCCAA, 0x00A3,
    0x009E, 0x00A2, 0xC024, 0xC028, 0xC023, 0xC027, 0x006B, 0x006A, 0x0067, 0x0040, 0xC00A, 0xC014,
    0xC009, 0xC013, 0x0039, 0x0038, 0x0033, 0x0032, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F};
static const uint16_t su_java21[] = {
    0x1302, 0x1301, 0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030, 0xCCA8, 0xC02F, 0x009F, 0xCCAA, 0x00A3,
    0x009E, 0x00A2, 0xC024, 0xC028, 0xC023, 0xC027, 0x006B, 0x006A, 0x0067, 0x0040, 0xC00A, 0xC014,
    0xC009, 0xC013, 0x0039, 0x0038, 0x0033, 0x0032, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F};
static const uint16_t gr_java8[] = {23, 24, 25, 9, 10, 11, 12, 13, 14, 22};
static const uint16_t gr_java11[] = {29, 23, 24, 25, 30, 256, 257, 258, 259, 260};
static const uint16_t sg_java8[] = {0x0603, 0x0601, 0x0602, 0x0503, 0x0501, 0x0502, 0x0403, 0x0401,
                                    0x0402, 0x0303, 0x0301, 0x0302, 0x0203, 0x0201, 0x0202};
static const uint16_t sg_java11[] = {0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806,
                                     0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601,
                                     0x0402, 0x0203, 0x0201, 0x0202};
static const uint16_t sg_java17[] = {0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804,
                                     0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0401,
                                     0x0501, 0x0601, 0x0402, 0x0203, 0x0201, 0x0202};

/* OpenSSL's DEFAULT cipher list, 1.0.2 (ALL:!COMPLEMENTOFDEFAULT:!eNULL). */
static const uint16_t su_ossl102[] = {
    0xC030, 0xC02C, 0xC028, 0xC024, 0xC014, 0xC00A, 0x00A5, 0x00A3, 0x00A1, 0x009F, 0x006B,
    0x006A, 0x0069, 0x0068, 0x0039, 0x0038, 0x0037, 0x0036, 0x0088, 0x0087, 0x0086, 0x0085,
    0xC032, 0xC02E, 0xC02A, 0xC026, 0xC00F, 0xC005, 0x009D, 0x003D, 0x0035, 0x0084, 0xC02F,
    0xC02B, 0xC027, 0xC023, 0xC013, 0xC009, 0x00A4, 0x00A2, 0x00A0, 0x009E, 0x0067, 0x0040,
    0x003F, 0x003E, 0x0033, 0x0032, 0x0031, 0x0030, 0x009A, 0x0099, 0x0098, 0x0097, 0x0045,
    0x0044, 0x0043, 0x0042, 0xC031, 0xC02D, 0xC029, 0xC025, 0xC00E, 0xC004, 0x009C, 0x003C,
    0x002F, 0x0096, 0x0041, 0xC011, 0xC007, 0xC00C, 0xC002, 0x0005, 0x0004, 0xC012, 0xC008,
    0x0016, 0x0013, 0x0010, 0x000D, 0xC00D, 0xC003, 0x000A, 0x0007};
static const uint16_t gr_ossl102[] = {14, 13, 25, 11, 12, 24, 9, 10, 22, 23, 8,  6, 7,
                                      20, 21, 4,  5,  18, 19, 1, 2,  3,  15, 16, 17};
static const uint16_t sg_ossl102[] = {0x0601, 0x0602, 0x0603, 0x0501, 0x0502,
                                      0x0503, 0x0401, 0x0402, 0x0403, 0x0301,
                                      0x0302, 0x0303, 0x0201, 0x0202, 0x0203};
/* OpenSSL 1.1.1 and 3.x DEFAULT (ALL:!COMPLEMENTOFDEFAULT:!eNULL, TLS 1.3 first). */
static const uint16_t su_ossl111[] = {
    0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0x009F, 0xCCA9, 0xCCA8, 0xCCAA, 0xC02B,
    0xC02F, 0x009E, 0xC024, 0xC028, 0x006B, 0xC023, 0xC027, 0x0067, 0xC00A, 0xC014,
    0x0039, 0xC009, 0xC013, 0x0033, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F};
static const uint16_t gr_ossl111[] = {29, 23, 30, 25, 24};
static const uint16_t gr_ossl3[] = {29, 23, 30, 25, 24, 256, 257, 258, 259, 260};
static const uint16_t gr_ossl35[] = {0x11EC, 29, 23, 30, 25, 24, 256, 257, 258, 259, 260};
static const uint16_t sg_ossl111[] = {
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0809, 0x080A, 0x080B, 0x0804, 0x0805, 0x0806,
    0x0401, 0x0501, 0x0601, 0x0303, 0x0203, 0x0301, 0x0201, 0x0302, 0x0402, 0x0502, 0x0602};
/* Python's ssl.create_default_context() cipher string on OpenSSL 3:
 * @SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM */
static const uint16_t su_python[] = {0x1302, 0x1303, 0x1301, 0xC02C, 0xC030, 0xC02B,
                                     0xC02F, 0xCCA9, 0xCCA8, 0xC024, 0xC028, 0xC023,
                                     0xC027, 0x009F, 0x009E, 0x006B, 0x0067};
/* Node.js crypto.constants.defaultCoreCipherList: its named suites first,
 * then what OpenSSL's HIGH adds (the part after the named suites is ours). */
static const uint16_t su_node[] = {0x1302, 0x1303, 0x1301, 0xC02F, 0xC02B, 0xC030, 0xC02C, 0x009E,
                                   0xC027, 0x0067, 0xC028, 0x006B, 0x009F, 0xCCA9, 0xCCA8, 0xCCAA,
                                   0xC024, 0xC023, 0xC00A, 0xC014, 0x0039, 0xC009, 0xC013, 0x0033,
                                   0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F};

/* Go crypto/tls defaults (1.22+, with AES hardware). */
static const uint16_t su_go[] = {0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030,
                                 0xCCA9, 0xCCA8, 0xC009, 0xC013, 0xC00A, 0xC014};
static const uint16_t gr_go[] = {0x11EC, 29, 23, 24, 25};
/* Signature schemes in the order of crypto/tls defaults.go
 * defaultSupportedSignatureAlgorithms (PSS-SHA256, ECDSA-P256, Ed25519,
 * PSS-SHA384/512, PKCS1-SHA256/384/512, ECDSA-P384/P521, PKCS1-SHA1,
 * ECDSA-SHA1); groups as its defaultCurvePreferences (X25519MLKEM768,
 * X25519, P-256, P-384, P-521; GODEBUG tlsmlkem=0 drops the first). */
static const uint16_t sg_go[] = {0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0401,
                                 0x0501, 0x0601, 0x0503, 0x0603, 0x0201, 0x0203};

/* Windows SChannel defaults (.NET uses SChannel on Windows; IE too). */
static const uint16_t su_win7[] = {0xC028, 0xC027, 0xC014, 0xC013, 0x009F, 0x009E, 0x0039,
                                   0x0033, 0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F,
                                   0xC02C, 0xC02B, 0xC024, 0xC023, 0xC00A, 0xC009, 0x006A,
                                   0x0040, 0x0038, 0x0032, 0x000A, 0x0013};
static const uint16_t su_win10[] = {0xC02C, 0xC02B, 0xC030, 0xC02F, 0xC024, 0xC023, 0xC028,
                                    0xC027, 0xC00A, 0xC009, 0xC014, 0xC013, 0x009D, 0x009C,
                                    0x003D, 0x003C, 0x0035, 0x002F, 0x000A};
static const uint16_t su_win11[] = {0x1302, 0x1301, 0xC02C, 0xC02B, 0xC030, 0xC02F, 0xC024,
                                    0xC023, 0xC028, 0xC027, 0xC00A, 0xC009, 0xC014, 0xC013,
                                    0x009D, 0x009C, 0x003D, 0x003C, 0x0035, 0x002F, 0x000A};
static const uint16_t gr_win7[] = {23, 24};
static const uint16_t gr_win10[] = {29, 23, 24};
static const uint16_t sg_win7[] = {0x0401, 0x0501, 0x0601, 0x0403, 0x0503,
                                   0x0603, 0x0201, 0x0203, 0x0402, 0x0202};
static const uint16_t sg_win10[] = {0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601,
                                    0x0403, 0x0503, 0x0603, 0x0201, 0x0203};

#define L(a) a, sizeof(a) / sizeof((a)[0])
#define MODERN TW_REFCLIENTS_POLICY_MODERN

/* name, version, min, max, suites, groups, sigalgs, sni, min_rsa, min_dh,
 * min_ec, cn_fallback, aia, policies, source, note. */
static const struct tw_refclient table[] = {
    {"Chrome", "131", T12, T13, L(su_chrome), L(gr_chrome), L(sg_chrome), 1, 1024, 0, 256, 0, 1,
     MODERN,
     "BoringSSL ssl/ssl_cipher.cc default cipher list and Chrome 131 release notes "
     "(X25519MLKEM768 default); chromestatus.com feature 4981025180483584 (CN fallback removed "
     "in Chrome 58)",
     "GREASE omitted; min_rsa 1024 is BoringSSL's floor for server keys, public CAs issue 2048"},
    {"Edge", "131", T12, T13, L(su_chrome), L(gr_chrome), L(sg_chrome), 1, 1024, 0, 256, 0, 1,
     MODERN,
     "Microsoft Edge is Chromium: same BoringSSL list as Chrome 131 (Edge 131 release notes)",
     "Assumed identical to Chrome of the same version"},
    {"Firefox", "133", T12, T13, L(su_firefox), L(gr_firefox), L(sg_firefox), 1, 1024, 0, 256, 0, 0,
     MODERN,
     "NSS lib/ssl/ssl3con.c cipher_suite_defs enabled set; Firefox 132 release notes "
     "(X25519MLKEM768); chromestatus.com feature 4981025180483584 (notes CN fallback removed in "
     "Firefox 48)",
     "No AIA fetching: Firefox preloads intermediates from CCADB instead; DHE removed in 78; "
     "one blog dates the CN removal to Firefox 101 instead of 48; "
     "TLS 1.0/1.1 disabled in 78"},
    {"Firefox ESR", "115", T12, T13, L(su_firefox), L(gr_firefox_esr), L(sg_firefox), 1, 1024, 0,
     256, 0, 0, 0, "NSS 3.90 defaults as shipped in Firefox ESR 115 (Firefox 115 release notes)",
     "Suite order assumed equal to current Firefox"},
    {"Safari", "18 (macOS 15)", T12, T13, L(su_apple), L(gr_apple), L(sg_apple), 1, 2048, 0, 256, 0,
     1, MODERN,
     "Apple support HT210176 (now support.apple.com/103769) 'Requirements for trusted "
     "certificates in iOS 13 and macOS 10.15': RSA keys >= 2048 bits, DNS names in the "
     "CommonName no longer trusted (SAN required); Safari 15 ClientHello capture",
     "3DES suites still offered last; TLS 1.0/1.1 removed in Safari 15/macOS 12 per WebKit blog"},
    {"iOS 17", "17", T12, T13, L(su_apple), L(gr_apple), L(sg_apple), 1, 2048, 0, 256, 0, 1, 0,
     "Apple support HT210176; Apple Platform Security guide (TLS 1.3 default, TLS 1.0/1.1 "
     "deprecated in iOS 15)",
     "Order taken equal to Safari 18"},
    {"iOS 12", "12.5", T10, T13, L(su_ios12), L(gr_apple), L(sg_apple), 1, 1024, 0, 256, 1, 1, 0,
     "Apple WWDC 2018 session 'Networking Updates' and iOS 12.2 release (TLS 1.3 on by default); "
     "iOS 12 Safari ClientHello capture",
     "TLS 1.3 only from iOS 12.2; CN fallback and RSA 1024 were accepted until iOS 13 (HT210176)"},
    {"Android 4.4", "4.4 (API 19)", S3, T10, L(su_android44), L(gr_android44), L(sg_android44), 1,
     1024, 1024, 256, 1, 0, 0,
     "developer.android.com reference javax.net.ssl.SSLSocket, 'Default configuration' tables "
     "(client socket: SSLv3 and TLSv1 enabled from API 1; TLSv1.1/1.2 supported from API 16, "
     "enabled by default from API 20; SSL_DHE_*_3DES/DES/EXPORT suites enabled 9-19)",
     "Platform apps only (the browser used WebView/Chrome). The set follows the reference's "
     "'enabled by default' column for API 19 (SSLv3 and TLSv1; DES, EXPORT and RC4 enabled 9-19; "
     "GCM only from 20); the order, and whether ECDHE 3DES was enabled, are uncertain"},
    {"Android 5", "5.0 (API 21)", T10, T12, L(su_android5), L(gr_android5), L(sg_android), 1, 1024,
     1024, 256, 1, 0, 0,
     "Android SSLSocket reference, default configuration table for API 21; Android 7.0 "
     "behaviour changes (X25519 arrives with Conscrypt in API 24)",
     "No X25519: NIST curves only; order uncertain; RC4-SHA was still enabled by default at API 21 "
     "per the reference and is "
     "listed last; 3DES membership varied by patch level"},
    {"Android 7", "7.0 (API 24)", T10, T12, L(su_android7), L(gr_android), L(sg_android), 1, 1024,
     0, 256, 1, 0, 0,
     "Android SSLSocket reference, default configuration table for API 24 (Conscrypt/BoringSSL)",
     "CN fallback by OkHostnameVerifier assumed; DHE removed from defaults in API 24"},
    {"Android 9", "9 (API 28)", T10, T12, L(su_android7), L(gr_android), L(sg_android), 1, 1024, 0,
     256, 1, 0, 0, "Android SSLSocket reference, default configuration table for API 28",
     "CN fallback assumed until Android 10"},
    {"Android 14", "14 (API 34)", T12, T13, L(su_android14), L(gr_android), L(sg_android), 1, 1024,
     0, 256, 0, 0, 0,
     "Android SSLSocket reference (TLS 1.3 from API 29); Android 14 behaviour changes",
     "TLS 1.0/1.1 disabled by default uncertain for apps targeting older SDKs; Conscrypt's RSA "
     "floor is not documented, 1024 assumed as in BoringSSL"},
    {"Java 8", "8u202", T10, T12, L(su_java8), L(gr_java8), L(sg_java8), 1, 1024, 1024, 224, 1, 0,
     0,
     "Oracle JDK 8 'Java Secure Socket Extension Reference Guide' and java.security "
     "jdk.tls.disabledAlgorithms / jdk.certpath.disabledAlgorithms of 8u202",
     "Old Java 8: no TLS 1.3, no X25519; AIA only with com.sun.security.enableAIAcaIssuers; key "
     "floors from jdk.certpath/jdk.tls.disabledAlgorithms (RSA, DH < 1024; EC < 224) of current "
     "updates, older updates accepted less"},
    {"Java 8u441", "8u441", T12, T13, L(su_java8_tls13), L(gr_java11), L(sg_java11), 1, 1024, 1024,
     224, 1, 0, 0,
     "Oracle JDK 8u261 release notes (TLS 1.3), 8u291 (TLS 1.0/1.1 disabled), 8u341 (client TLS "
     "1.3 on by default); java.security jdk.tls.disabledAlgorithms (SSLv3, TLSv1, TLSv1.1, RC4, "
     "DES, MD5withRSA, DH keySize < 1024, EC keySize < 224, 3DES_EDE_CBC, anon, NULL, ECDH: "
     "jdk8u-dev commit b1e2ea8, JDK-8279164)",
     "Group and sigalg lists assumed equal to JDK 11's backport; key floors from "
     "jdk.certpath/jdk.tls.disabledAlgorithms (RSA, DH < 1024; EC < 224) of current updates, older "
     "updates accepted less"},
    {"Java 11", "11.0.25", T12, T13, L(su_java11), L(gr_java11), L(sg_java11), 1, 1024, 1024, 224,
     1, 0, 0,
     "JDK 11 'Security Developer's Guide', JSSE cipher suite preference order; 11.0.11 release "
     "notes (TLS 1.0/1.1 disabled); JDK-8279164 (TLS_ECDH_* disabled in current updates)",
     "Legacy suite interleaving approximate; the 11u backport of JDK-8279164 was not pinned to a "
     "document here, its static-ECDH suites are left out as in 8u and 17u; key floors from "
     "jdk.certpath/jdk.tls.disabledAlgorithms (RSA, DH < 1024; EC < 224) of current updates, older "
     "updates accepted less"},
    {"Java 17", "17.0.13", T12, T13, L(su_java17), L(gr_java11), L(sg_java17), 1, 1024, 1024, 224,
     1, 0, 0,
     "JDK 17 'Security Developer's Guide' JSSE default cipher suite order and java.security "
     "jdk.tls.disabledAlgorithms of current updates (... DH keySize < 1024, EC keySize < 224, "
     "3DES_EDE_CBC, anon, NULL, ECDH: jdk17u-dev commit 7bc22f7, JDK-8279164); "
     "jdk.certpath.disabledAlgorithms (RSA keySize < 1024, DSA keySize < 1024, EC keySize < 224)",
     "Key floors from jdk.certpath/jdk.tls.disabledAlgorithms (RSA, DH < 1024; EC < 224)"},
    {"Java 21", "21.0.5", T12, T13, L(su_java21), L(gr_java11), L(sg_java17), 1, 1024, 1024, 224, 1,
     0, 0,
     "JDK 21 'Security Developer's Guide' and JDK 20 release notes (ECDH static suites disabled)",
     "Suite list equal to current Java 17 (both without the static ECDH suites); key floors from "
     "jdk.certpath/jdk.tls.disabledAlgorithms (RSA, DH < 1024; EC < 224) of current updates, older "
     "updates accepted less"},
    {"OpenSSL 1.0.2", "1.0.2u", T10, T12, L(su_ossl102), L(gr_ossl102), L(sg_ossl102), 1, 512, 512,
     160, 1, 0, 0,
     "OpenSSL 1.0.2 ciphers(1) manual (DEFAULT) and `openssl ciphers -V DEFAULT` of 1.0.2u",
     "SNI only when the application sets it (s_client does); no host check unless the "
     "application asks (X509_check_host then falls back to CN); SSLv3 off in most builds"},
    {"OpenSSL 1.1.1", "1.1.1w", T10, T13, L(su_ossl111), L(gr_ossl111), L(sg_ossl111), 1, 1024,
     1024, 160, 1, 0, 0,
     "OpenSSL 1.1.1 ciphers(1) and SSL_CTX_set_security_level(3) manuals (default level 1)",
     "Debian and others build with SECLEVEL 2 (RSA/DH 2048) and MinProtocol TLSv1.2"},
    {"OpenSSL 3", "3.0", T12, T13, L(su_ossl111), L(gr_ossl3), L(sg_ossl111), 1, 1024, 1024, 160, 1,
     0, MODERN,
     "OpenSSL 3.0 CHANGES.md (commit aba03ae: SHA1 and MD5+SHA1 signatures below security level "
     "1, so SSL 3, TLS 1.0 and 1.1 no longer work at the default level) and ciphers(1)",
     "min_rsa depends on the distribution's SECLEVEL (Debian 12: 2048)"},
    {"OpenSSL 3.5", "3.5", T12, T13, L(su_ossl111), L(gr_ossl35), L(sg_ossl111), 1, 1024, 1024, 160,
     1, 0, MODERN, "OpenSSL 3.5 release notes (X25519MLKEM768 in the default groups)",
     "Default sigalgs gain ML-DSA in 3.5; not listed here"},
    {"curl", "8.x (OpenSSL 3)", T12, T13, L(su_ossl111), L(gr_ossl3), L(sg_ossl111), 1, 1024, 1024,
     160, 1, 0, 0,
     "curl manual --tlsv1.2 and CURLOPT_SSLVERSION (default follows the backend); curl "
     "lib/vtls/openssl.c host check",
     "CN fallback: curl checks the CN only without a DNS SAN, uncertain for the newest releases"},
    {"Python", "3.12", T12, T13, L(su_python), L(gr_ossl3), L(sg_ossl111), 1, 2048, 2048, 224, 1, 0,
     0,
     "Python 3.12 ssl module docs: create_default_context (SECLEVEL 2 cipher string, TLS 1.2 "
     "minimum since 3.10) and SSLContext.hostname_checks_common_name (default True)",
     "Suite set follows the linked OpenSSL"},
    {"Node.js", "22", T12, T13, L(su_node), L(gr_ossl3), L(sg_ossl111), 1, 1024, 1024, 160, 1, 0, 0,
     "Node.js 22 tls module docs: 'Modifying the default TLS cipher suite' "
     "(crypto.constants.defaultCoreCipherList) and tls.checkServerIdentity (the subject CN only "
     "when the certificate has no DNS or IP subjectAltName; Node's "
     "test-tls-check-server-identity accepts a CN-only certificate)",
     "The list ends in HIGH: the suites after DHE-RSA-AES256-SHA256 are what OpenSSL 3's HIGH "
     "adds (CCM, ARIA and DSS suites left out), membership and order not checked against a "
     "capture; groups are OpenSSL's defaults"},
    {"Go", "1.24", T12, T13, L(su_go), L(gr_go), L(sg_go), 1, 1024, 0, 256, 0, 0, 0,
     "Go crypto/tls package docs and src/crypto/tls/defaults.go (defaultCurvePreferences, "
     "defaultSupportedSignatureAlgorithms); Go 1.22/1.24 release notes (RSA kx removed from "
     "defaults, X25519MLKEM768 default, RSA < 1024 rejected); Go 1.17 release notes (no CN "
     "fallback)",
     "Suite order is the hardware-AES order; without AES-NI ChaCha20 comes first"},
    {".NET on Windows 7", "4.8", T10, T10, L(su_win7), L(gr_win7), L(sg_win7), 1, 1024, 1024, 256,
     1, 1, 0,
     "Microsoft Learn 'Transport Layer Security (TLS) best practices with the .NET Framework' "
     "(SystemDefault follows SChannel) and 'Cipher Suites in TLS/SSL (Schannel SSP)' Windows 7 "
     "list",
     "Without KB3140245 and DefaultSecureProtocols the Windows 7 client speaks TLS 1.0 only; "
     "order of the Windows 7 list uncertain"},
    {".NET on Windows 10", "4.8 / 8", T10, T12, L(su_win10), L(gr_win10), L(sg_win10), 1, 1024, 0,
     256, 1, 1, 0,
     "Microsoft Learn 'TLS Cipher Suites in Windows 10 v22H2' (default priority order: "
     "ECDHE-ECDSA/RSA AES-GCM, ECDHE CBC-SHA384/256, ECDHE CBC-SHA, then RSA AES-GCM: the "
     "first 14 entries checked against the page) and 'Protocols in TLS/SSL (Schannel SSP)'",
     "TLS 1.3 in Windows 10 client is not enabled by default"},
    {".NET on Windows 11", "8", T12, T13, L(su_win11), L(gr_win10), L(sg_win10), 1, 1024, 0, 256, 1,
     1, 0,
     "Microsoft Learn 'TLS Cipher Suites in Windows 11' and 'Protocols in TLS/SSL (Schannel SSP)' "
     "(TLS 1.0/1.1 disabled by default in current Windows 11 builds)",
     "TLS 1.0/1.1 status depends on the Windows 11 build"},
    {"IE 11 on Windows 7", "11", T10, T12, L(su_win7), L(gr_win7), L(sg_win7), 1, 1024, 1024, 256,
     1, 1, 0,
     "Microsoft Learn 'Cipher Suites in TLS/SSL (Schannel SSP)' Windows 7 list; IE 11 enables TLS "
     "1.1/1.2 by default (IE blog, 2013)",
     "Order of the Windows 7 list uncertain"},
    {"IE 11 on Windows 10", "11", T10, T12, L(su_win10), L(gr_win10), L(sg_win10), 1, 1024, 0, 256,
     1, 1, 0, "Microsoft Learn 'TLS Cipher Suites in Windows 10 v22H2' (default priority order)",
     "IE 11 is retired; kept for intranet estates"},
};

#define N_ROWS (sizeof(table) / sizeof(table[0]))

size_t
tw_refclients_count(void)
{
    return N_ROWS;
}

const struct tw_refclient *
tw_refclients_at(size_t i)
{
    return i < N_ROWS ? &table[i] : NULL;
}

const struct tw_refclient *
tw_refclients_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < N_ROWS; i++)
        if (strcasecmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

int
tw_refclients_policy_parse(const char *name, uint32_t *mask)
{
    if (name == NULL)
        return -1;
    if (strcmp(name, "modern") == 0) {
        *mask = TW_REFCLIENTS_POLICY_MODERN;
        return 0;
    }
    if (strcmp(name, "all") == 0) {
        *mask = 0;
        return 0;
    }
    return -1;
}

/* Named policies: the member names, '|'-separated, each a row's name. */
static const struct {
    const char *name;
    const char *doc;
    const char *members;
} named[] = {
    {"browsers", "current desktop and mobile browsers",
     "|Chrome|Edge|Firefox|Firefox ESR|Safari|iOS 17|Android 14|"},
    {"mobile", "iOS and Android system clients, old and current",
     "|iOS 17|iOS 12|Android 4.4|Android 5|Android 7|Android 9|Android 14|"},
    {"java", "Java 8 (old and current updates), 11, 17 and 21 defaults",
     "|Java 8|Java 8u441|Java 11|Java 17|Java 21|"},
    {"libraries", "current TLS libraries and runtimes with their defaults",
     "|OpenSSL 1.1.1|OpenSSL 3|OpenSSL 3.5|curl|Python|Node.js|Go|.NET on Windows 10|"
     ".NET on Windows 11|"},
    {"legacy", "old clients still found in estates: they need TLS 1.0 or old suites",
     "|Android 4.4|Android 5|Java 8|IE 11 on Windows 7|.NET on Windows 7|OpenSSL 1.0.2|iOS 12|"},
};
#define N_NAMED (sizeof(named) / sizeof(named[0]))

size_t
tw_refclients_named_count(void)
{
    return N_NAMED;
}

const char *
tw_refclients_named_name(size_t i)
{
    return i < N_NAMED ? named[i].name : NULL;
}

const char *
tw_refclients_named_doc(size_t i)
{
    return i < N_NAMED ? named[i].doc : NULL;
}

int
tw_refclients_named_has(const char *policy, const struct tw_refclient *c)
{
    for (size_t i = 0; i < N_NAMED; i++) {
        const char *p;
        size_t n;

        if (policy == NULL || strcmp(policy, named[i].name) != 0)
            continue;
        n = strlen(c->name);
        for (p = strchr(named[i].members, '|'); p != NULL && p[1] != '\0'; p = strchr(p + 1, '|'))
            if (strncmp(p + 1, c->name, n) == 0 && p[1 + n] == '|')
                return 1;
        return 0;
    }
    return -1;
}

int
tw_refclients_in_policy(const struct tw_refclient *c, uint32_t mask)
{
    return mask == 0 || (c->policies & mask) != 0;
}

/* ---- the client file ---- */

/* Keys of the file format; the bit of each in struct parse.seen. */
enum key {
    K_NAME = 0,
    K_VERSION,
    K_VERSIONS,
    K_SUITES,
    K_GROUPS,
    K_SIGALGS,
    K_SNI,
    K_MIN_RSA,
    K_MIN_DH,
    K_MIN_EC,
    K_CN_FALLBACK,
    K_AIA,
    K_SOURCE,
    K_NOTE,
    K__COUNT
};

static const char *const key_names[K__COUNT] = {
    "name",    "version", "versions", "suites",      "groups", "sigalgs", "sni",
    "min_rsa", "min_dh",  "min_ec",   "cn_fallback", "aia",    "source",  "note",
};

struct parse {
    const char *label;
    size_t line;
    uint32_t seen;
    struct tw_refclient_loaded *out;
    char *err;
    size_t errlen;
};

/*
 * Copy at most 40 bytes of src (n bytes) into dst as printable ASCII:
 * other bytes, the backslash and the quote become \xNN, and a longer input
 * ends in "...".  dst holds at least 40 * 4 + 4 bytes.
 */
static void
escape_into(char *dst, size_t cap, const char *src, size_t n)
{
    size_t o = 0;

    for (size_t i = 0; i < n && i < 40; i++) {
        unsigned char c = (unsigned char)src[i];

        if (o + 5 >= cap)
            break;
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            dst[o++] = (char)c;
        else
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
    }
    if (n > 40 && o + 4 < cap) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Write "LABEL:LINE: message" into the error buffer and return -1. */
static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
fail(struct parse *p, const char *fmt, ...)
{
    char label[200];
    char msg[400];
    va_list ap;

    if (p->err == NULL || p->errlen == 0)
        return -1;
    escape_into(label, sizeof label, p->label, strlen(p->label));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->err, p->errlen, "%s:%zu: %s", label, p->line, msg);
    return -1;
}

static const char *
skip_space(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static const char *
trim_end(const char *s, const char *end)
{
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* Parse a whole unsigned number (decimal, or hex after 0x) up to max. */
static int
parse_uint(const char *s, size_t n, unsigned long max, unsigned long *v)
{
    char buf[32];
    char *end;
    int base = 10;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
        base = 16;
    if (!isxdigit((unsigned char)buf[base == 16 ? 2 : 0]))
        return -1;
    errno = 0;
    *v = strtoul(buf, &end, base);
    if (errno != 0 || *end != '\0' || *v > max)
        return -1;
    return 0;
}

/* Copy the token (n bytes) into a terminated buffer; -1 when too long. */
static int
token(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int
lookup_suite(const char *s, size_t n, uint16_t *code)
{
    char buf[128];
    unsigned long v;

    if (parse_uint(s, n, 0xffff, &v) == 0) {
        const struct tw_suite *r = tw_suites_find((uint16_t)v);

        if (r == NULL || r->is_scsv)
            return -1;
        *code = (uint16_t)v;
        return 0;
    }
    if (token(buf, sizeof buf, s, n) != 0)
        return -1;
    for (size_t i = 0; i < tw_suites_count(); i++) {
        const struct tw_suite *r = tw_suites_at(i);

        if (!r->is_scsv && strcasecmp(r->name, buf) == 0) {
            *code = r->code;
            return 0;
        }
    }
    return -1;
}

static int
lookup_group(const char *s, size_t n, uint16_t *code)
{
    char buf[64];
    unsigned long v;

    if (parse_uint(s, n, 0xffff, &v) == 0) {
        if (tw_suites_group_find((uint16_t)v) == NULL)
            return -1;
        *code = (uint16_t)v;
        return 0;
    }
    if (token(buf, sizeof buf, s, n) != 0)
        return -1;
    /* The spellings OpenSSL users know for the two NIST curves. */
    if (strcasecmp(buf, "P-256") == 0 || strcasecmp(buf, "prime256v1") == 0) {
        *code = TW_GROUP_SECP256R1;
        return 0;
    }
    if (strcasecmp(buf, "P-384") == 0) {
        *code = TW_GROUP_SECP384R1;
        return 0;
    }
    for (size_t i = 0; i < tw_suites_group_count(); i++) {
        const struct tw_group *g = tw_suites_group_at(i);

        if (strcasecmp(g->name, buf) == 0) {
            *code = g->code;
            return 0;
        }
    }
    return -1;
}

static int
lookup_sigalg(const char *s, size_t n, uint16_t *code)
{
    char buf[64];
    unsigned long v;

    if (parse_uint(s, n, 0xffff, &v) == 0) {
        if (tw_refclients_sigalg_name((uint16_t)v) == NULL)
            return -1;
        *code = (uint16_t)v;
        return 0;
    }
    if (token(buf, sizeof buf, s, n) != 0)
        return -1;
    return tw_refclients_sigalg_parse(buf, code);
}

static int
lookup_version(const char *s, size_t n, uint16_t *v)
{
    static const struct {
        const char *name;
        uint16_t v;
    } names[] = {
        {"SSLv3", TW_VERSION_SSL3},    {"TLSv1", TW_VERSION_TLS10},   {"TLSv1.0", TW_VERSION_TLS10},
        {"TLSv1.1", TW_VERSION_TLS11}, {"TLSv1.2", TW_VERSION_TLS12}, {"TLSv1.3", TW_VERSION_TLS13},
    };
    char buf[16];

    if (token(buf, sizeof buf, s, n) != 0)
        return -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcasecmp(buf, names[i].name) == 0) {
            *v = names[i].v;
            return 0;
        }
    }
    return -1;
}

typedef int lookup_fn(const char *s, size_t n, uint16_t *code);

/* Parse "a, b, c" with lookup into out (at most TW_REFCLIENTS_MAX_LIST). */
static int
parse_list(struct parse *p, const char *key, const char *s, const char *end, lookup_fn *lookup,
           uint16_t *out, size_t *n_out)
{
    size_t n = 0;

    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma != NULL ? comma : end;
        const char *a = skip_space(s, item_end);
        const char *b = trim_end(a, item_end);
        char shown[200];

        if (a == b)
            return fail(p, "%s: empty entry in the list", key);
        if (n == TW_REFCLIENTS_MAX_LIST)
            return fail(p, "%s: more than %d entries", key, TW_REFCLIENTS_MAX_LIST);
        if (lookup(a, (size_t)(b - a), &out[n]) != 0) {
            escape_into(shown, sizeof shown, a, (size_t)(b - a));
            return fail(p, "%s: unknown entry '%s'", key, shown);
        }
        for (size_t j = 0; j < n; j++)
            if (out[j] == out[n]) {
                escape_into(shown, sizeof shown, a, (size_t)(b - a));
                return fail(p, "%s: '%s' listed twice", key, shown);
            }
        n++;
        if (comma == NULL)
            break;
        s = comma + 1;
        if (s == end)
            return fail(p, "%s: empty entry in the list", key);
    }
    if (n == 0)
        return fail(p, "%s: empty list", key);
    *n_out = n;
    return 0;
}

static int
parse_bool(struct parse *p, const char *key, const char *s, size_t n, uint8_t *out)
{
    if (n == 3 && strncasecmp(s, "yes", 3) == 0)
        *out = 1;
    else if (n == 2 && strncasecmp(s, "no", 2) == 0)
        *out = 0;
    else
        return fail(p, "%s: expected yes or no", key);
    return 0;
}

static int
parse_bits(struct parse *p, const char *key, const char *s, size_t n, uint16_t *out)
{
    unsigned long v;

    if (parse_uint(s, n, 16384, &v) != 0)
        return fail(p, "%s: expected a number of bits from 0 to 16384", key);
    *out = (uint16_t)v;
    return 0;
}

static int
parse_text(struct parse *p, const char *key, const char *s, size_t n, char *dst)
{
    if (n == 0)
        return fail(p, "%s: empty value", key);
    if (n >= TW_REFCLIENTS_MAX_TEXT)
        return fail(p, "%s: longer than %d bytes", key, TW_REFCLIENTS_MAX_TEXT - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

static int
parse_versions(struct parse *p, const char *s, const char *end)
{
    uint16_t v[8];
    size_t n = 0;
    struct tw_refclient *c = &p->out->client;
    uint16_t lo = 0xffff, hi = 0;

    /* parse_list bounds n by TW_REFCLIENTS_MAX_LIST; v needs a bound of its own. */
    uint16_t tmp[TW_REFCLIENTS_MAX_LIST];

    if (parse_list(p, "versions", s, end, lookup_version, tmp, &n) != 0)
        return -1;
    if (n > sizeof v / sizeof v[0])
        return fail(p, "versions: too many entries");
    for (size_t i = 0; i < n; i++) {
        v[i] = tmp[i];
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    /* SSLv3..TLSv1.3 are consecutive wire values: a set is a range when it
     * has as many members as the range is wide. */
    if ((size_t)(hi - lo) + 1 != n)
        return fail(p, "versions: not a contiguous range");
    c->min_version = lo;
    c->max_version = hi;
    return 0;
}

/* One line, without its newline; len may exceed the limit (then it is an error). */
static int
feed_line(struct parse *p, const char *line, size_t len)
{
    const char *end = line + len;
    const char *s, *eq, *kend, *v, *vend;
    char shown[200];
    struct tw_refclient_loaded *o = p->out;
    int k;

    if (len > 0 && line[len - 1] == '\r') {
        len--;
        end--;
    }
    if (len > TW_REFCLIENTS_MAX_LINE)
        return fail(p, "line longer than %d bytes", TW_REFCLIENTS_MAX_LINE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];

        if ((c < 0x20 && c != '\t') || c >= 0x7f)
            return fail(p, "control or non-ASCII byte 0x%02x at column %zu", c, i + 1);
    }
    s = skip_space(line, end);
    if (s == end || *s == '#')
        return 0;
    eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL) {
        escape_into(shown, sizeof shown, s, (size_t)(end - s));
        return fail(p, "expected 'key = value', got '%s'", shown);
    }
    kend = trim_end(s, eq);
    v = skip_space(eq + 1, end);
    vend = trim_end(v, end);
    for (k = 0; k < K__COUNT; k++)
        if (strlen(key_names[k]) == (size_t)(kend - s) &&
            strncmp(key_names[k], s, (size_t)(kend - s)) == 0)
            break;
    if (k == K__COUNT) {
        escape_into(shown, sizeof shown, s, (size_t)(kend - s));
        return fail(p, "unknown key '%s'", shown);
    }
    if (p->seen & (1u << k))
        return fail(p, "key '%s' given twice", key_names[k]);
    p->seen |= 1u << k;

    switch ((enum key)k) {
    case K_NAME:
        if (parse_text(p, "name", v, (size_t)(vend - v), o->name) != 0)
            return -1;
        if (tw_refclients_find(o->name) != NULL) {
            escape_into(shown, sizeof shown, o->name, strlen(o->name));
            return fail(p, "name '%s' is a built-in client", shown);
        }
        return 0;
    case K_VERSION:
        return parse_text(p, "version", v, (size_t)(vend - v), o->version);
    case K_SOURCE:
        return parse_text(p, "source", v, (size_t)(vend - v), o->source);
    case K_NOTE:
        return parse_text(p, "note", v, (size_t)(vend - v), o->note);
    case K_VERSIONS:
        return parse_versions(p, v, vend);
    case K_SUITES:
        return parse_list(p, "suites", v, vend, lookup_suite, o->suites, &o->client.n_suites);
    case K_GROUPS:
        return parse_list(p, "groups", v, vend, lookup_group, o->groups, &o->client.n_groups);
    case K_SIGALGS:
        return parse_list(p, "sigalgs", v, vend, lookup_sigalg, o->sigalgs, &o->client.n_sigalgs);
    case K_SNI:
        return parse_bool(p, "sni", v, (size_t)(vend - v), &o->client.sni);
    case K_CN_FALLBACK:
        return parse_bool(p, "cn_fallback", v, (size_t)(vend - v), &o->client.cn_fallback);
    case K_AIA:
        return parse_bool(p, "aia", v, (size_t)(vend - v), &o->client.aia);
    case K_MIN_RSA:
        return parse_bits(p, "min_rsa", v, (size_t)(vend - v), &o->client.min_rsa);
    case K_MIN_DH:
        return parse_bits(p, "min_dh", v, (size_t)(vend - v), &o->client.min_dh);
    case K_MIN_EC:
        return parse_bits(p, "min_ec", v, (size_t)(vend - v), &o->client.min_ec);
    case K__COUNT:
        break;
    }
    return fail(p, "internal: unhandled key");
}

static void
parse_begin(struct parse *p, const char *label, struct tw_refclient_loaded *out, char *err,
            size_t errlen)
{
    memset(out, 0, sizeof *out);
    p->label = label != NULL ? label : "(input)";
    p->line = 0;
    p->seen = 0;
    p->out = out;
    p->err = err;
    p->errlen = errlen;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    /* Defaults for what a file may leave out: a client that sends SNI and
     * accepts what today's CAs issue, without CN fallback or AIA. */
    out->client.sni = 1;
    out->client.min_rsa = 2048;
    out->client.min_dh = 2048;
    out->client.min_ec = 256;
}

/* Count one more line; -1 past the limit. */
static int
next_line(struct parse *p)
{
    p->line++;
    if (p->line > TW_REFCLIENTS_MAX_LINES)
        return fail(p, "more than %d lines", TW_REFCLIENTS_MAX_LINES);
    return 0;
}

static int
parse_end(struct parse *p)
{
    static const enum key required[] = {K_NAME, K_VERSIONS, K_SUITES, K_SOURCE};
    struct tw_refclient_loaded *o = p->out;

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!(p->seen & (1u << required[i])))
            return fail(p, "end of file: missing key '%s'", key_names[required[i]]);
    o->client.name = o->name;
    o->client.version = o->version;
    o->client.source = o->source;
    o->client.note = o->note;
    o->client.suites = o->suites;
    o->client.groups = o->groups;
    o->client.sigalgs = o->sigalgs;
    o->client.policies = 0;
    return 0;
}

int
tw_refclients_parse(const char *label, const char *buf, size_t len, struct tw_refclient_loaded *out,
                    char *err, size_t errlen)
{
    struct parse p;
    size_t at = 0;

    parse_begin(&p, label, out, err, errlen);
    while (at < len) {
        const char *nl = memchr(buf + at, '\n', len - at);
        size_t n = nl != NULL ? (size_t)(nl - (buf + at)) : len - at;

        if (next_line(&p) != 0 || feed_line(&p, buf + at, n) != 0)
            return -1;
        at += n + (nl != NULL ? 1 : 0);
    }
    return parse_end(&p);
}

int
tw_refclients_load_file(const char *path, struct tw_refclient_loaded *out, char *err, size_t errlen)
{
    struct parse p;
    char line[TW_REFCLIENTS_MAX_LINE + 2];
    FILE *f;
    int c, rc = 0;

    parse_begin(&p, path, out, err, errlen);
    f = fopen(path, "re");
    if (f == NULL)
        return fail(&p, "cannot open: %s", strerror(errno));
    for (;;) {
        size_t n = 0;

        c = getc(f);
        if (c == EOF)
            break;
        if ((rc = next_line(&p)) != 0)
            break;
        /* Keep one byte past the limit so that feed_line sees the overflow
         * (a final '\r' is still allowed). */
        while (c != EOF && c != '\n') {
            if (n < sizeof line)
                line[n++] = (char)c;
            c = getc(f);
        }
        if ((rc = feed_line(&p, line, n)) != 0)
            break;
        if (c == EOF)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = fail(&p, "read error");
    fclose(f);
    return rc != 0 ? -1 : parse_end(&p);
}
