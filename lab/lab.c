/*
 * lab.c - the estate: one const table that says everything about every
 * endpoint of the lab, and the target lists written from it.
 *
 * Each row of tw_lab_estate[] is one endpoint: its name, its address slot
 * (BASE+addr on PORT, or [::1] on PORT+1 for the IPv6 row), its target
 * lines with what a correct scanner reports for each, and how servers.c
 * serves it (state machine, certificate, versions, ciphers, behaviour).
 * dns_responder.c answers from the same rows.  Nothing is joined by name:
 * a new endpoint is one row here (plus, for a new behaviour, its code in
 * servers.c).
 *
 * Expectations follow DESIGN §3: the primary class is the first applicable
 * one, issues list every applicable class in precedence order ("ok" alone
 * when none).  The rows are in the order of the target lists; the servers
 * start in the same order.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "lab/lab.h"
#include "lab/lab_int.h"

/* Modern TLS 1.2 suites (forward secrecy, AEAD) for the well-configured
 * endpoints, so that they grade well and only their one defect shows. */
#define CIPHERS_MODERN "ECDHE+AESGCM:ECDHE+CHACHA20"
/* grading.md's baseline B0: the three ECDHE-RSA AEAD suites. */
#define CIPHERS_B0                                                                                 \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"

/* One target line whose expected class is cls, and cls its only issue. */
#define LINE(form, cls)                                                                            \
    {                                                                                              \
        TW_LAB_T_##form, cls, cls                                                                  \
    }
/* The OpenSSL side of most TLS endpoints: TLS 1.2 and up, modern suites. */
#define TLS12_UP .min_version = TLS1_2_VERSION, .ciphers = CIPHERS_MODERN
/* A grading endpoint's OpenSSL side: TLS min..max (0 = the highest), ciphers. */
#define TLS(min, max, list) .min_version = (min), .max_version = (max), .ciphers = (list)

static const uint16_t suites_rc4[] = {0x0005, 0x0004}; /* RSA_WITH_RC4_128_SHA, _MD5 */
static const uint16_t suites_3des[] = {0x000A};        /* RSA_WITH_3DES_EDE_CBC_SHA */
/* legacy-raw: SSLv3 and TLS 1.0 with RC4 only, nothing else. */
static const struct tw_lab_legacy_def legacy_rc4_only = {0x0300, 0x0301, suites_rc4, 2, 1};
/* rc4-sslv3: a modern TLS 1.2/1.3 server that also answers SSLv3 and
 * TLS 1.0 hellos with RC4. */
static const struct tw_lab_legacy_def legacy_rc4_hybrid = {0x0300, 0x0301, suites_rc4, 2, 0};
/* 3des: a modern TLS 1.2/1.3 server whose last TLS 1.2 suite is
 * DES-CBC3-SHA (which OpenSSL 3.0 here no longer has). */
static const struct tw_lab_legacy_def legacy_3des = {0x0303, 0x0303, suites_3des, 1, 0};
/* compression (issue 14): B0's three ECDHE-RSA AEAD suites, in its order. */
static const uint16_t suites_b0[] = {0xC02F, 0xC030, 0xCCA8};
/* compression: a B0 server that chooses DEFLATE in every TLS 1.2 hello that
 * offers it (by script: this OpenSSL has no zlib); OpenSSL clients never do. */
static const struct tw_lab_legacy_def legacy_deflate = {0x0303, 0x0303, suites_b0, 3, 0, 1};
/* drown-sslv2 (issue 14): a modern TLS 1.2 server that also answers SSLv2
 * CLIENT-HELLOs by script (no TLS hello is scripted). */
static const struct tw_lab_legacy_def legacy_sslv2 = {0x0303, 0x0303, NULL, 0, 0, 0, 1};

const struct tw_lab_endpoint tw_lab_estate[] = {
    /* ---- One endpoint per failure class (issue 4, README "Endpoints") ---- */
    {.name = "valid-rsa", .addr = 2, .lines = {LINE(NAME, "ok")}, TLS12_UP},
    {.name = "valid-ecdsa", .addr = 3, .lines = {LINE(NAME, "ok")}, .key = TW_LAB_KEY_EC, TLS12_UP},
    {.name = "hsts", .addr = 4, .lines = {LINE(NAME, "ok")}, .flags = TW_LAB_F_HSTS, TLS12_UP},
    {.name = "expired",
     .addr = 5,
     .lines = {LINE(NAME, "cert_expired")},
     .validity = TW_LAB_EXPIRED,
     TLS12_UP},
    {.name = "not-yet-valid",
     .addr = 6,
     .lines = {LINE(NAME, "cert_not_yet_valid")},
     .validity = TW_LAB_NOT_YET_VALID,
     TLS12_UP},
    {.name = "wrong-host",
     .addr = 7,
     .lines = {LINE(NAME, "hostname_mismatch")},
     .san_dns = "www.other-host.example",
     TLS12_UP},
    {.name = "incomplete-chain",
     .addr = 8,
     .lines = {LINE(NAME, "incomplete_chain")},
     .flags = TW_LAB_F_AIA,
     .chain = TW_LAB_CH_NONE,
     TLS12_UP},
    {.name = "self-signed",
     .addr = 9,
     .lines = {LINE(NAME, "self_signed")},
     .issuer = TW_LAB_ISS_SELF,
     .chain = TW_LAB_CH_NONE,
     TLS12_UP},
    {.name = "untrusted-root",
     .addr = 10,
     .lines = {LINE(NAME, "untrusted_root")},
     .issuer = TW_LAB_ISS_UNTRUSTED,
     .chain = TW_LAB_CH_UNTRUSTED,
     TLS12_UP},
    {.name = "revoked",
     .addr = 11,
     .lines = {LINE(NAME, "cert_revoked")},
     .flags = TW_LAB_F_STAPLE_REVOKED,
     TLS12_UP},
    {.name = "rsa1024",
     .addr = 12,
     .lines = {LINE(NAME, "weak_key")},
     .flags = TW_LAB_F_SECLEVEL0,
     .key = TW_LAB_KEY_RSA1024,
     TLS12_UP},
    {.name = "sha1",
     .addr = 13,
     .lines = {LINE(NAME, "weak_signature")},
     .flags = TW_LAB_F_SECLEVEL0 | TW_LAB_F_SHA1,
     TLS12_UP},
    /* TLS 1.0 alone: tlsweep's broad client connects (and grades it C), but
     * modern clients refuse it (--clients modern, issue 13). */
    {.name = "tls10-only",
     .addr = 14,
     .lines = {LINE(NAME, "protocol_mismatch")},
     .flags = TW_LAB_F_SECLEVEL0,
     TLS(TLS1_VERSION, TLS1_VERSION, "DEFAULT")},
    {.name = "tls13-only",
     .addr = 15,
     .lines = {LINE(NAME, "ok")},
     TLS(TLS1_3_VERSION, TLS1_3_VERSION, CIPHERS_MODERN)},
    /*
     * TLS 1.2 only with NULL-SHA256 (no encryption).  OpenSSL 3.0 puts the
     * eNULL suites in no list but COMPLEMENTOFALL: not in DEFAULT and not in
     * ALL (unlike the CCM8 suites, which ALL includes, and unlike PSK suites,
     * which a client offers only with a PSK callback, so no OpenSSL probe
     * could ever complete them).  So a client with any usual list
     * ("DEFAULT", "ALL:@SECLEVEL=0") gets a handshake_failure alert, and a
     * probe with "ALL:COMPLEMENTOFALL:@SECLEVEL=0" (every suite, security
     * level 0 because a NULL cipher has 0 bits) completes the handshake.
     */
    {.name = "no-shared-cipher",
     .addr = 16,
     .lines = {LINE(NAME, "no_shared_cipher")},
     .flags = TW_LAB_F_SECLEVEL0,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, "NULL-SHA256")},
    {.name = "protocol-mismatch",
     .addr = 17,
     .lines = {LINE(NAME, "protocol_mismatch")},
     .kind = TW_LAB_K_PROTO_ALERT},
    /* With SNI these endpoints are fine; a scan that sends none (the "-"
     * line) must find what the missing SNI costs. */
    {.name = "sni-required",
     .addr = 18,
     .lines = {LINE(NAME, "ok"), LINE(NAME_NO_SNI, "sni_required")},
     .flags = TW_LAB_F_SNI_REQUIRED,
     TLS12_UP},
    {.name = "no-sni-different-cert",
     .addr = 19,
     .lines = {LINE(NAME, "ok"), LINE(NAME_NO_SNI, "hostname_mismatch")},
     .flags = TW_LAB_F_SNI_SWITCH,
     TLS12_UP},
    {.name = "closed", .addr = 20, .lines = {LINE(NAME, "tcp_refused")}, .kind = TW_LAB_K_CLOSED},
    {.name = "connect-timeout",
     .addr = 21,
     .lines = {LINE(NAME, "tcp_timeout")},
     .kind = TW_LAB_K_BLACKHOLE},
    {.name = "stall",
     .addr = 22,
     .lines = {LINE(NAME, "handshake_timeout")},
     .kind = TW_LAB_K_STALL},
    {.name = "reset", .addr = 23, .lines = {LINE(NAME, "tcp_reset")}, .kind = TW_LAB_K_RESET},
    {.name = "plain-http", .addr = 24, .lines = {LINE(NAME, "not_tls")}, .kind = TW_LAB_K_HTTP},
    {.name = "garbage", .addr = 25, .lines = {LINE(NAME, "not_tls")}, .kind = TW_LAB_K_GARBAGE},
    {.name = "alert", .addr = 26, .lines = {LINE(NAME, "tls_alert")}, .kind = TW_LAB_K_ALERT},
    /* Names that only the DNS server knows. */
    {.name = "nxdomain", .lines = {LINE(NAME, "dns_nxdomain")}, .kind = TW_LAB_K_DNS_NXDOMAIN},
    {.name = "servfail", .lines = {LINE(NAME, "dns_servfail")}, .kind = TW_LAB_K_DNS_SERVFAIL},
    {.name = "dnstimeout", .lines = {LINE(NAME, "dns_timeout")}, .kind = TW_LAB_K_DNS_TIMEOUT},
    /* The address target [::1]:PORT+1: no address slot, SAN IP ::1. */
    {.name = "valid-ipv6", .lines = {LINE(IPV6, "ok")}, TLS12_UP},

    /* ---- Hostile (issue 8, README "Hostile endpoints"), `lab targets --hostile` ----
     * Each expectation is what a scanner that survives the attack must store:
     *   bigchain    over 1 MiB of certificates: the client refuses the message
     *               (OpenSSL's 100 KiB certificate-list limit) -> tls_alert
     *   manysans    10,000 SANs, the right name last: ok (SANs stored truncated)
     *   deepchain   50 certificates up to the lab root: ok (16 stored)
     *   truncated   10 of 100 announced bytes, then FIN -> tcp_reset
     *   absurdlen   a 65535-byte record header: we refuse it -> tls_alert
     *   slowloris   one byte per 100 ms: the handshake deadline -> handshake_timeout
     *   endless     HelloRequest records without end: the byte budget -> tls_alert
     *   reneg       HelloRequest after the handshake: ok
     *   alert-after-hello  ServerHello, then illegal_parameter -> tls_alert
     *   fields      NUL, controls, invalid UTF-8, HTML, SQL in the names: ok
     */
    {.name = "hostile-bigchain",
     .addr = 40,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "tls_alert")},
     .hcert = TW_LAB_HC_BIGCHAIN,
     TLS12_UP},
    {.name = "hostile-manysans",
     .addr = 41,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "ok")},
     .hcert = TW_LAB_HC_MANYSANS,
     TLS12_UP},
    {.name = "hostile-deepchain",
     .addr = 42,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "ok")},
     .hcert = TW_LAB_HC_DEEP,
     TLS12_UP},
    {.name = "hostile-truncated",
     .addr = 43,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "tcp_reset")},
     .kind = TW_LAB_K_TRUNCATED},
    {.name = "hostile-absurdlen",
     .addr = 44,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "tls_alert")},
     .kind = TW_LAB_K_ABSURD},
    {.name = "hostile-slowloris",
     .addr = 45,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "handshake_timeout")},
     .flags = TW_LAB_F_SLOW,
     TLS12_UP},
    {.name = "hostile-endless",
     .addr = 46,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "tls_alert")},
     .kind = TW_LAB_K_ENDLESS},
    {.name = "hostile-reneg",
     .addr = 47,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_RENEG,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, CIPHERS_MODERN)},
    {.name = "hostile-alert-after-hello",
     .addr = 48,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "tls_alert")},
     .kind = TW_LAB_K_HELLO_ALERT},
    {.name = "hostile-fields",
     .addr = 49,
     .group = TW_LAB_G_HOSTILE,
     .lines = {LINE(NAME, "ok")},
     .hcert = TW_LAB_HC_FIELDS,
     TLS12_UP},

    /* ---- STARTTLS (issue 9, starttls_servers.h) ----
     * The plaintext dialogue on the lab port, then TLS with a valid
     * certificate for the name. */
    {.name = "starttls-smtp",
     .addr = 27,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_SMTP,
     TLS12_UP},
    {.name = "starttls-smtp-unsupported",
     .addr = 28,
     .lines = {LINE(STARTTLS, "starttls_unsupported")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_SMTP_UNSUPPORTED,
     TLS12_UP},
    {.name = "starttls-smtp-refused",
     .addr = 29,
     .lines = {LINE(STARTTLS, "starttls_refused")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_SMTP_REFUSED,
     TLS12_UP},
    {.name = "starttls-imap",
     .addr = 30,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_IMAP,
     TLS12_UP},
    {.name = "starttls-pop3",
     .addr = 31,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_POP3,
     TLS12_UP},
    {.name = "starttls-ftp",
     .addr = 32,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_FTP,
     TLS12_UP},
    {.name = "starttls-xmpp",
     .addr = 33,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_XMPP,
     TLS12_UP},
    {.name = "starttls-ldap",
     .addr = 34,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_LDAP,
     TLS12_UP},
    {.name = "starttls-postgres",
     .addr = 35,
     .lines = {LINE(STARTTLS, "ok")},
     .kind = TW_LAB_K_STARTTLS,
     .stls = TW_LAB_STLS_POSTGRES,
     TLS12_UP},

    /* ---- Grading (issue 5, README "Grading endpoints") ----
     * Valid certificates, one grading.md vector each;
     * tests/integration/grade.sh checks the letters.  legacy-raw answers
     * only SSLv3/TLS 1.0 hellos offering RC4 (by script, legacy.c): every
     * OpenSSL probe of the scanner, the all-ciphers one too, gets
     * handshake_failure, so it is tls_alert and never graded. */
    {.name = "no-fs",
     .addr = 50,
     .lines = {LINE(NAME, "ok")},
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, "AES128-GCM-SHA256:AES256-GCM-SHA384")},
    {.name = "cbc-only",
     .addr = 51,
     .lines = {LINE(NAME, "ok")},
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA")},
    {.name = "3des",
     .addr = 52,
     .lines = {LINE(NAME, "ok")},
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0),
     .legacy = &legacy_3des},
    /* DHE only: graded B from the enumeration, but no current browser
     * offers a DHE suite (--clients modern, issue 13): no_shared_cipher. */
    {.name = "dhe-1024",
     .addr = 53,
     .lines = {LINE(NAME, "no_shared_cipher")},
     .flags = TW_LAB_F_SECLEVEL0 | TW_LAB_F_DH1024,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, "DHE-RSA-AES128-GCM-SHA256")},
    {.name = "tls13-hsts",
     .addr = 54,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_HSTS,
     TLS(TLS1_3_VERSION, TLS1_3_VERSION, CIPHERS_MODERN)},
    {.name = "tls12-only-hsts",
     .addr = 55,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_HSTS,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, CIPHERS_B0)},
    {.name = "legacy-raw",
     .addr = 56,
     .lines = {LINE(NAME, "tls_alert")},
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0),
     .legacy = &legacy_rc4_only},
    {.name = "rc4-sslv3",
     .addr = 57,
     .lines = {LINE(NAME, "ok")},
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0),
     .legacy = &legacy_rc4_hybrid},

    /* ---- Judged as clients see it (issue 13, README "Client endpoints") ----
     * cn-only: the name only in the subject CN, no subjectAltName at all:
     * browsers match the SAN alone, so it is hostname_mismatch (grade M). */
    {.name = "cn-only",
     .addr = 58,
     .lines = {LINE(NAME, "hostname_mismatch")},
     .flags = TW_LAB_F_NO_SAN,
     TLS12_UP},
    /* Client certificates: a CertificateRequest naming the lab root and
     * intermediate.  Required on TLS 1.2: handshake_failure after the
     * client's empty Certificate; required on TLS 1.3: the handshake
     * completes for the client, then certificate_required (116) follows its
     * Finished; optional: the handshake goes on without one (ok, noted). */
    {.name = "client-cert-tls12",
     .addr = 59,
     .lines = {LINE(NAME, "client_cert_required")},
     .flags = TW_LAB_F_CCERT_REQUIRED,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, CIPHERS_MODERN)},
    {.name = "client-cert-tls13",
     .addr = 60,
     .lines = {LINE(NAME, "client_cert_required")},
     .flags = TW_LAB_F_CCERT_REQUIRED,
     TLS(TLS1_3_VERSION, TLS1_3_VERSION, CIPHERS_MODERN)},
    {.name = "client-cert-optional",
     .addr = 61,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_CCERT_OPTIONAL,
     TLS12_UP},
    /* The client policy (--clients modern, the default): servers that
     * tlsweep's broad client reaches but current browsers and OpenSSL 3 do
     * not.  tls11-only: TLS 1.1 alone (@SECLEVEL=0, as tls10-only);
     * ccm-only: TLS 1.2 with the ECDHE-ECDSA AES-CCM suites alone, which no
     * browser offers. */
    {.name = "tls11-only",
     .addr = 62,
     .lines = {LINE(NAME, "protocol_mismatch")},
     .flags = TW_LAB_F_SECLEVEL0,
     TLS(TLS1_1_VERSION, TLS1_1_VERSION, "DEFAULT")},
    {.name = "ccm-only",
     .addr = 63,
     .lines = {LINE(NAME, "no_shared_cipher")},
     .key = TW_LAB_KEY_EC,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-CCM:ECDHE-ECDSA-AES256-CCM")},
    /* ---- Vulnerability probes and slow servers (issue 14) ----
     * tests/integration/grade.sh checks each verdict and grade. */
    {.name = "slow-hello",
     .addr = 64,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_DELAY,
     TLS(TLS1_3_VERSION, TLS1_3_VERSION, CIPHERS_MODERN)},
    {.name = "heartbleed",
     .addr = 65,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_HEARTBLEED,
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0)},
    {.name = "ccs-injection",
     .addr = 66,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_CCS_EARLY,
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0)},
    {.name = "compression",
     .addr = 67,
     .lines = {LINE(NAME, "ok")},
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0),
     .legacy = &legacy_deflate},
    /* ---- Mozilla profiles and reference clients (issue 13, item 8) ----
     * dual-cert: an RSA and an ECDSA leaf on one endpoint, two-year HSTS:
     * Mozilla intermediate and old, not modern (TLS 1.2, leaves signed by
     * the RSA intermediate, one-year lifespan).  rsa-pss-only: TLS 1.2 that
     * signs with RSA-PSS alone (no client without PSS, e.g. IE 11 on
     * Windows 7, gets through).  x25519-only: X25519 the only group, which
     * Java 8 does not have. */
    {.name = "dual-cert",
     .addr = 68,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_DUAL_CERT | TW_LAB_F_HSTS_2Y,
     TLS12_UP},
    {.name = "rsa-pss-only",
     .addr = 69,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_RSA_PSS_ONLY,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE+aRSA+AESGCM:ECDHE+aRSA+CHACHA20")},
    {.name = "x25519-only",
     .addr = 70,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_X25519_ONLY,
     TLS12_UP},
    /* ---- Probes of the second session (issue 14, addresses 76-99) ---- */
    {.name = "early-data",
     .addr = 76,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_EARLY_DATA,
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0)},
    {.name = "insecure-reneg",
     .addr = 77,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_LEGACY_RENEG,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, CIPHERS_B0)},
    {.name = "legacy-no-reneg",
     .addr = 78,
     .lines = {LINE(NAME, "ok")},
     .flags = TW_LAB_F_LEGACY_NORENEG,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, CIPHERS_B0)},
    /* DROWN across the estate (issue 14): drown-sslv2 accepts SSLv2 (by
     * script) with a key of its own, which drown-peer, a clean TLS 1.2/1.3
     * server, serves too (another certificate, same key): both are F, and
     * no other endpoint shares the key. */
    {.name = "drown-sslv2",
     .addr = 79,
     .lines = {LINE(NAME, "ok")},
     .key = TW_LAB_KEY_DROWN,
     TLS(TLS1_2_VERSION, TLS1_2_VERSION, CIPHERS_B0),
     .legacy = &legacy_sslv2},
    {.name = "drown-peer",
     .addr = 80,
     .lines = {LINE(NAME, "ok")},
     .key = TW_LAB_KEY_DROWN,
     TLS(TLS1_2_VERSION, 0, CIPHERS_B0)},
};
const size_t tw_lab_n_estate = sizeof(tw_lab_estate) / sizeof(tw_lab_estate[0]);

int
tw_lab_is_served(const struct tw_lab_endpoint *e)
{
    switch (e->kind) {
    case TW_LAB_K_DNS_NXDOMAIN:
    case TW_LAB_K_DNS_SERVFAIL:
    case TW_LAB_K_DNS_TIMEOUT:
        return 0;
    default:
        return 1;
    }
}

const struct tw_lab_endpoint *
tw_lab_estate_find(const char *name, size_t len)
{
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_estate[i];

        if (strlen(e->name) == len && strncasecmp(e->name, name, len) == 0)
            return e;
    }
    return NULL;
}

int
tw_lab_endpoint_addr(const char *name, size_t len)
{
    const struct tw_lab_endpoint *e = tw_lab_estate_find(name, len);

    return e != NULL ? e->addr : 0;
}

/* One target line of e for port. */
static int
lab_write_line(FILE *f, unsigned port, const struct tw_lab_endpoint *e, const struct tw_lab_line *l)
{
    switch (l->form) {
    case TW_LAB_T_NAME:
        return fprintf(f, "%s.%s:%u\n", e->name, TW_LAB_DOMAIN, port);
    case TW_LAB_T_NAME_NO_SNI:
        return fprintf(f, "%s.%s:%u -\n", e->name, TW_LAB_DOMAIN, port);
    case TW_LAB_T_IPV6:
        return fprintf(f, "[::1]:%u\n", port + 1);
    case TW_LAB_T_STARTTLS:
        return fprintf(f, "%s://%s.%s:%u\n", tw_lab_starttls_scheme(e->stls), e->name,
                       TW_LAB_DOMAIN, port);
    }
    return -1;
}

static int
lab_write_group(FILE *f, unsigned port, enum tw_lab_group group)
{
    for (size_t i = 0; i < tw_lab_n_estate; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_estate[i];

        if (e->group != group)
            continue;
        for (size_t k = 0; k < TW_LAB_MAX_LINES && e->lines[k].cls != NULL; k++) {
            const struct tw_lab_line *l = &e->lines[k];

            if (fprintf(f, "# expect: %s %s\n", l->cls, l->issues) < 0 ||
                lab_write_line(f, port, e, l) < 0)
                return -1;
        }
    }
    return fflush(f) == 0 ? 0 : -1;
}

int
tw_lab_write_targets(FILE *f, unsigned port)
{
    return lab_write_group(f, port, TW_LAB_G_MAIN);
}

int
tw_lab_write_hostile_targets(FILE *f, unsigned port)
{
    return lab_write_group(f, port, TW_LAB_G_HOSTILE);
}

size_t
tw_lab_count_targets(enum tw_lab_group group)
{
    size_t n = 0;

    for (size_t i = 0; i < tw_lab_n_estate; i++)
        for (size_t k = 0; k < TW_LAB_MAX_LINES && tw_lab_estate[i].lines[k].cls != NULL; k++)
            n += tw_lab_estate[i].group == group;
    return n;
}
