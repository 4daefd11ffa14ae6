/*
 * test_classify.c - recorded evidence in, class/issues/detail out; the
 * follow-up probe plan; alert names; reproduce commands.
 *
 * Evidence sets are written as the engine would record them (verify error
 * codes at depths, alerts, errnos, probe outcomes).  Dates are relative to a
 * fixed NOW, never the wall clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "scanner/classify.h"
#include "scanner/starttls.h"
#include "store/graderec.h"
#include "store/model.h"
#include "tls/clients.h"

#define NOW ((int64_t)1700000000)
#define HOUR ((int64_t)3600)
#define DAY (24 * HOUR)

/* A completed MAIN probe with a clean chain of two certificates. */
#define MAIN_OK [TW_PK_MAIN] = {.outcome = TW_PROBE_OK, .alert = -1, .version = 0x0304}
/* n_sent defaults to 2 and hostname_ok to !bad_name (see run_case). */
#define GOOD_CERT .has_chain = 1, .hostname_checked = 1
#define ALERT(a)                                                                                   \
    {                                                                                              \
        .outcome = TW_PROBE_ALERT_RECEIVED, .alert = (a)                                           \
    }
#define FAILED_ALERT(a) ALERT(a)
#define OK_PROBE                                                                                   \
    {                                                                                              \
        .outcome = TW_PROBE_OK, .alert = -1, .version = 0x0303                                     \
    }

struct ccase {
    const char *name;
    struct tw_evidence ev;
    int64_t nb_off, na_off; /* leaf validity relative to NOW; 0 = default */
    const char *cls;
    const char *issues;
    const char *detail_has;  /* a substring the detail must contain */
    const char *detail_has2; /* another one, or NULL */
    int bad_name;            /* the certificate does not cover the name */
};

static const struct ccase cases[] = {
    {"nxdomain",
     {.dns = TW_DNS_NXDOMAIN, .dns_status = 4},
     0,
     0,
     "dns_nxdomain",
     "dns_nxdomain",
     "dns: nxdomain",
     NULL},
    {"servfail", {.dns = TW_DNS_SERVFAIL}, 0, 0, "dns_servfail", "dns_servfail", "servfail", NULL},
    {"dns timeout", {.dns = TW_DNS_TIMEOUT}, 0, 0, "dns_timeout", "dns_timeout", "timeout", NULL},
    {"refused",
     {.dns = TW_DNS_OK,
      .probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_ERROR, .sys_errno = ECONNREFUSED}}},
     0,
     0,
     "tcp_refused",
     "tcp_refused",
     "ECONNREFUSED",
     NULL},
    {"host unreachable",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_ERROR, .sys_errno = EHOSTUNREACH}}},
     0,
     0,
     "tcp_unreachable",
     "tcp_unreachable",
     "EHOSTUNREACH",
     NULL},
    {"net unreachable",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_ERROR, .sys_errno = ENETUNREACH}}},
     0,
     0,
     "tcp_unreachable",
     "tcp_unreachable",
     "ENETUNREACH",
     NULL},
    {"local address not available",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_ERROR, .sys_errno = EADDRNOTAVAIL}}},
     0,
     0,
     "tcp_unreachable",
     "tcp_unreachable",
     "EADDRNOTAVAIL",
     "local"},
    {"connect timeout",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_TIMEOUT}}},
     0,
     0,
     "tcp_timeout",
     "tcp_timeout",
     "no answer to SYN",
     NULL},
    {"reset right after hello",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_RESET}}},
     0,
     0,
     "tcp_reset",
     "tcp_reset",
     "reset during the handshake after 0 bytes",
     NULL},
    {"eof right after hello",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_EOF}}},
     0,
     0,
     "tcp_reset",
     "tcp_reset",
     "closed the connection after 0 bytes",
     NULL},
    {"reset, SNI toggle failed too",
     {.sent_sni = 1,
      .probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_RESET},
                [TW_PK_NO_SNI] = {.outcome = TW_PROBE_RESET}}},
     0,
     0,
     "tcp_reset",
     "tcp_reset",
     "probes: no_sni=reset",
     NULL},
    {"silent after connect",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_TIMEOUT}}},
     0,
     0,
     "handshake_timeout",
     "handshake_timeout",
     "no byte before the handshake timeout",
     NULL},
    {"stall after bytes",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_TIMEOUT, .bytes_in = 1400}}},
     0,
     0,
     "handshake_timeout",
     "handshake_timeout",
     "stalled after 1400 bytes",
     NULL},
    {"http on 443",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_NOT_TLS,
                                .bytes_in = 200,
                                .first_bytes = {'H', 'T', 'T', 'P', '/', '1', '.', '1'},
                                .n_first = 8}}},
     0,
     0,
     "not_tls",
     "not_tls",
     "\"HTTP/1.1\"",
     "48 54 54 50"},
    {"ssh banner with control bytes",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_NOT_TLS,
                                .first_bytes = {'S', 'S', 'H', '-', '\r', '\n'},
                                .n_first = 6}}},
     0,
     0,
     "not_tls",
     "not_tls",
     "\"SSH-..\"",
     NULL},
    {"protocol_version, no version works",
     {.probe = {[TW_PK_MAIN] = ALERT(70),
                [TW_PK_TLS13] = ALERT(70),
                [TW_PK_TLS12] = ALERT(70),
                [TW_PK_TLS11] = ALERT(70),
                [TW_PK_TLS10] = ALERT(70)}},
     0,
     0,
     "protocol_mismatch",
     "protocol_mismatch",
     "protocol_version (70)",
     "no single version probe worked"},
    {"protocol_version, only TLS 1.0 works",
     {.probe = {[TW_PK_MAIN] = ALERT(70),
                [TW_PK_TLS13] = ALERT(70),
                [TW_PK_TLS12] = ALERT(70),
                [TW_PK_TLS11] = ALERT(70),
                [TW_PK_TLS10] = {.outcome = TW_PROBE_OK, .version = 0x0301}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "protocol_mismatch",
     "protocol_mismatch",
     "server speaks TLSv1 only",
     "probes: tls13=protocol_version, tls12=protocol_version, tls11=protocol_version, tls10=ok"},
    {"local unsupported protocol, TLS 1.1 works",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_LOCAL_ERROR,
                                .alert = 70,
                                .alert_sent_by_us = 1,
                                .err = "unsupported protocol"},
                [TW_PK_TLS13] = {.outcome = TW_PROBE_LOCAL_ERROR, .alert = -1},
                [TW_PK_TLS12] = {.outcome = TW_PROBE_LOCAL_ERROR, .alert = -1},
                [TW_PK_TLS11] = {.outcome = TW_PROBE_OK, .version = 0x0302}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "protocol_mismatch",
     "protocol_mismatch",
     "local error: unsupported protocol",
     "server speaks TLSv1.1 only"},
    {"protocol_version but TLS 1.2 alone works: intolerance",
     {.probe = {[TW_PK_MAIN] = ALERT(70), [TW_PK_TLS13] = ALERT(70), [TW_PK_TLS12] = OK_PROBE},
      .cert = {GOOD_CERT}},
     0,
     0,
     "tls_alert",
     "tls_alert",
     "version intolerance",
     NULL},
    {"protocol_version, quick mode",
     {.probe = {[TW_PK_MAIN] = ALERT(70)}},
     0,
     0,
     "protocol_mismatch",
     "protocol_mismatch",
     "unconfirmed",
     NULL},
    {"handshake_failure, all ciphers work",
     {.sent_sni = 1,
      .probe = {[TW_PK_MAIN] = ALERT(40),
                [TW_PK_NO_SNI] = ALERT(40),
                [TW_PK_ALL_CIPHERS] = {.outcome = TW_PROBE_OK,
                                       .version = 0x0303,
                                       .cipher = "DES-CBC3-SHA"}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "no_shared_cipher",
     "no_shared_cipher",
     "DES-CBC3-SHA",
     "probes: no_sni=handshake_failure, all_ciphers=ok"},
    {"insufficient_security, all ciphers work",
     {.probe = {[TW_PK_MAIN] = ALERT(71), [TW_PK_ALL_CIPHERS] = OK_PROBE}, .cert = {GOOD_CERT}},
     0,
     0,
     "no_shared_cipher",
     "no_shared_cipher",
     "insufficient_security",
     NULL},
    {"handshake_failure, nothing helps",
     {.sent_sni = 1,
      .probe =
          {[TW_PK_MAIN] = ALERT(40), [TW_PK_NO_SNI] = ALERT(40), [TW_PK_ALL_CIPHERS] = ALERT(40)}},
     0,
     0,
     "tls_alert",
     "tls_alert",
     "server sent alert handshake_failure (40)",
     "probes: no_sni=handshake_failure, all_ciphers=handshake_failure"},
    {"no SNI sent, works with SNI",
     {.sent_sni = 0,
      .probe = {[TW_PK_MAIN] = ALERT(40), [TW_PK_WITH_SNI] = OK_PROBE},
      .cert = {GOOD_CERT}},
     0,
     0,
     "sni_required",
     "sni_required",
     "fails without SNI, works with it",
     "certificate from probe with_sni"},
    {"unrecognized_name, no probe possible",
     {.probe = {[TW_PK_MAIN] = ALERT(112)}},
     0,
     0,
     "sni_required",
     "sni_required",
     "unrecognized_name (112)",
     NULL},
    {"unrecognized_name, works without SNI",
     {.sent_sni = 1,
      .probe = {[TW_PK_MAIN] = ALERT(112), [TW_PK_NO_SNI] = OK_PROBE},
      .cert = {GOOD_CERT}},
     0,
     0,
     "sni_required",
     "sni_required,hostname_mismatch",
     "fails with SNI, works without it",
     NULL,
     1},
    {"unrecognized_name, fails without SNI too",
     {.sent_sni = 1, .probe = {[TW_PK_MAIN] = ALERT(112), [TW_PK_NO_SNI] = ALERT(112)}},
     0,
     0,
     "tls_alert",
     "tls_alert",
     "unrecognized_name",
     NULL},
    {"reset, works without SNI",
     {.sent_sni = 1,
      .probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_RESET}, [TW_PK_NO_SNI] = OK_PROBE},
      .cert = {GOOD_CERT}},
     0,
     0,
     "sni_required",
     "sni_required",
     "reset during the handshake",
     NULL},
    {"internal_error, no follow-up helps",
     {.sent_sni = 1, .probe = {[TW_PK_MAIN] = ALERT(80), [TW_PK_NO_SNI] = ALERT(80)}},
     0,
     0,
     "tls_alert",
     "tls_alert",
     "internal_error (80)",
     NULL},
    {"unknown alert number",
     {.probe = {[TW_PK_MAIN] = ALERT(201)}},
     0,
     0,
     "tls_alert",
     "tls_alert",
     "server sent alert 201",
     NULL},
    {"cipher and SNI both help",
     {.sent_sni = 1,
      .probe =
          {[TW_PK_MAIN] = ALERT(40), [TW_PK_NO_SNI] = OK_PROBE, [TW_PK_ALL_CIPHERS] = OK_PROBE},
      .cert = {GOOD_CERT}},
     0,
     0,
     "no_shared_cipher",
     "no_shared_cipher,sni_required",
     "handshake_failure",
     NULL},
    {"clean",
     {.probe = {MAIN_OK}, .cert = {GOOD_CERT}},
     0,
     0,
     "ok",
     "ok",
     "expires in 60 days (notAfter 2024-01-13T22:13:20Z)",
     "handshake ok: TLSv1.3"},
    {"expired and wrong name",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .verify = {{0, X509_V_ERR_CERT_HAS_EXPIRED}}, .n_verify = 1}},
     -400 * DAY,
     -3 * DAY,
     "cert_expired",
     "cert_expired,hostname_mismatch",
     "expired 3 days ago (notAfter 2023-11-11T22:13:20Z)",
     "does not cover 'www.example.com'",
     1},
    {"name only in the CN (no subjectAltName)",
     {.probe = {MAIN_OK}, .cert = {GOOD_CERT, .leaf_no_san = 1}},
     0,
     0,
     "hostname_mismatch",
     "hostname_mismatch",
     "does not cover 'www.example.com'",
     "no subjectAltName: clients ignore the subject CN",
     1},
    /* Client certificates (issue 13). */
    {"client certificate required, TLS 1.2: alert after the request",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_ALERT_RECEIVED,
                                .alert = 40,
                                .cert_requested = 1,
                                .n_ca_names = 2}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "client_cert_required",
     "client_cert_required",
     "server sent alert handshake_failure (40)",
     "requests a client certificate (CertificateRequest, 2 CA names) and fails the handshake"},
    {"client certificate required, TLS 1.3: certificate_required after Finished",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_OK,
                                .alert = 116,
                                .version = 0x0304,
                                .cert_requested = 1,
                                .n_ca_names = 1,
                                .post_hs = TW_POST_HS_ALERT,
                                .post_hs_alert = 116}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "client_cert_required",
     "client_cert_required",
     "after the handshake, refuses to go on without one: alert certificate_required (116)",
     "1 CA name)"},
    {"client certificate required, TLS 1.3: closed after Finished, and the name is wrong",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_OK,
                                .alert = -1,
                                .version = 0x0304,
                                .cert_requested = 1,
                                .post_hs = TW_POST_HS_CLOSED}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "client_cert_required",
     "client_cert_required,hostname_mismatch",
     "closes the connection without one",
     "does not cover 'www.example.com'",
     1},
    {"client certificate optional",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_OK,
                                .alert = -1,
                                .version = 0x0304,
                                .cert_requested = 1,
                                .post_hs = TW_POST_HS_QUIET}},
      .cert = {GOOD_CERT}},
     0,
     0,
     "ok",
     "ok",
     "requests a client certificate (CertificateRequest, 0 CA names) but works without one",
     "handshake ok: TLSv1.3"},
    {"expired by dates only (verifier silent)",
     {.probe = {MAIN_OK}, .cert = {GOOD_CERT}},
     -400 * DAY,
     -10 * HOUR,
     "cert_expired",
     "cert_expired",
     "expired 10 hours ago",
     NULL},
    {"expired intermediate",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 3, .verify = {{1, X509_V_ERR_CERT_HAS_EXPIRED}},
               .n_verify = 1}},
     0,
     0,
     "cert_expired",
     "cert_expired",
     "certificate at depth 1 has expired",
     "depth 1: certificate has expired (10)"},
    {"not yet valid, skew in hours",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .verify = {{0, X509_V_ERR_CERT_NOT_YET_VALID}}, .n_verify = 1}},
     5 * HOUR,
     0,
     "cert_not_yet_valid",
     "cert_not_yet_valid",
     "clock skew? notBefore is 5 hours ahead of the scanner's clock",
     NULL},
    {"not yet valid, skew in days",
     {.probe = {MAIN_OK}, .cert = {GOOD_CERT}},
     3 * DAY,
     0,
     "cert_not_yet_valid",
     "cert_not_yet_valid",
     "notBefore is 3 days ahead",
     NULL},
    {"self-signed",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 1, .leaf_self_issued = 1, .chain_complete = 1,
               .verify = {{0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT}}, .n_verify = 1}},
     0,
     0,
     "self_signed",
     "self_signed",
     "self-signed certificate (18)",
     NULL},
    {"self-signed, trusted on purpose",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 1, .leaf_self_issued = 1, .chain_complete = 1}},
     0,
     0,
     "ok",
     "ok",
     "expires in",
     NULL},
    {"untrusted root sent",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 3, .chain_complete = 1,
               .verify = {{2, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN}}, .n_verify = 1}},
     0,
     0,
     "untrusted_root",
     "untrusted_root",
     "self-signed certificate in certificate chain",
     NULL},
    {"root not sent and not trusted",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 2,
               .verify = {{1, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}}, .n_verify = 1}},
     0,
     0,
     "untrusted_root",
     "untrusted_root",
     "depth 1: unable to get local issuer",
     NULL},
    {"intermediate missing",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 1, .leaf_has_aia_issuer = 1,
               .verify = {{0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
                          {0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE}},
               .n_verify = 2}},
     0,
     0,
     "incomplete_chain",
     "incomplete_chain",
     "not the leaf's issuer (the leaf names one",
     NULL},
    {"wrong intermediate sent",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 2,
               .verify = {{0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY}}, .n_verify = 1}},
     0,
     0,
     "incomplete_chain",
     "incomplete_chain",
     "sent 2 certificate(s)",
     NULL},
    {"leaf alone, chain complete says root",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 2, .chain_complete = 1,
               .verify = {{0, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT}}, .n_verify = 1}},
     0,
     0,
     "untrusted_root",
     "untrusted_root",
     "unable to get issuer certificate",
     NULL},
    {"weak key and SHA-1",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .weak_key = 1, .key_bits = 1024, .key_type = "RSA", .weak_signature = 1}},
     0,
     0,
     "weak_key",
     "weak_key,weak_signature",
     "weak key: RSA 1024 bits",
     "SHA-1/MD5"},
    {"revoked and expired",
     {.probe = {MAIN_OK}, .cert = {GOOD_CERT, .ocsp = TW_OCSP_REVOKED}},
     -100 * DAY,
     -DAY,
     "cert_revoked",
     "cert_revoked,cert_expired",
     "stapled OCSP: revoked",
     NULL},
    {"ocsp good is a note, not an issue",
     {.probe = {MAIN_OK}, .cert = {GOOD_CERT, .ocsp = TW_OCSP_GOOD}},
     0,
     0,
     "ok",
     "ok",
     "stapled OCSP: good",
     NULL},
    {"bad signature in chain is not silent",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .verify = {{0, X509_V_ERR_CERT_SIGNATURE_FAILURE}}, .n_verify = 1}},
     0,
     0,
     "untrusted_root",
     "untrusted_root",
     "certificate signature failure (7)",
     "1 other verify error"},
    {"all at once: precedence",
     {.probe = {MAIN_OK},
      .cert = {GOOD_CERT, .n_sent = 1, .leaf_self_issued = 1, .chain_complete = 1, .weak_key = 1,
               .key_type = "EC", .key_bits = 160,
               .verify = {{0, X509_V_ERR_CERT_HAS_EXPIRED},
                          {0, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT}},
               .n_verify = 2}},
     -400 * DAY,
     -40 * DAY,
     "cert_expired",
     "cert_expired,self_signed,hostname_mismatch,weak_key",
     "expired 40 days ago",
     "weak key: EC 160 bits",
     1},
    {"no certificate sent",
     {.probe = {MAIN_OK}, .cert = {.has_chain = 0}},
     0,
     0,
     "ok",
     "ok",
     "no certificate sent",
     NULL},
    {"nothing ran at all", {.dns = TW_DNS_OK}, 0, 0, "tls_alert", "tls_alert", "not run", NULL},
};

static void
run_case(const struct ccase *c)
{
    struct tw_evidence ev = c->ev;
    struct tw_result r;
    char issues[512];

    memset(&r, 0, sizeof(r));
    snprintf(r.host, sizeof(r.host), "%s", "www.example.com");
    snprintf(r.sni, sizeof(r.sni), "%s", "www.example.com");
    r.has_sni = 1;
    snprintf(r.ip, sizeof(r.ip), "%s", "192.0.2.7");
    r.port = 443;
    ev.cert.now = NOW;
    if (ev.cert.has_chain && ev.cert.n_sent == 0)
        ev.cert.n_sent = 2;
    ev.cert.hostname_ok = !c->bad_name;
    ev.cert.not_before = NOW + (c->nb_off ? c->nb_off : -30 * DAY);
    ev.cert.not_after = NOW + (c->na_off ? c->na_off : 60 * DAY);

    tw_classify(&ev, &r);
    tw_issues_format(r.issues, issues, sizeof(issues));
    if (strcmp(tw_class_name(r.cls), c->cls) != 0 || strcmp(issues, c->issues) != 0 ||
        r.detail == NULL || strstr(r.detail, c->detail_has) == NULL ||
        (c->detail_has2 && strstr(r.detail, c->detail_has2) == NULL)) {
        print_error("case '%s': got class %s issues %s detail '%s'\n", c->name,
                    tw_class_name(r.cls), issues, r.detail ? r.detail : "(null)");
        fail();
    }
    /* one line, always */
    assert_null(strchr(r.detail, '\n'));
    free(r.detail);
}

static void
test_classify_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* A hostile err text and cipher (no NUL, control bytes) stay bounded and one line. */
static void
test_classify_hostile_text(void **state)
{
    struct tw_evidence ev;
    struct tw_result r;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    memset(&r, 0, sizeof(r));
    ev.probe[TW_PK_MAIN].outcome = TW_PROBE_LOCAL_ERROR;
    ev.probe[TW_PK_MAIN].alert = -1;
    memset(ev.probe[TW_PK_MAIN].err, '\n', sizeof(ev.probe[TW_PK_MAIN].err));
    ev.cert.n_verify = 100000; /* out of range: must be clamped */
    ev.probe[TW_PK_MAIN].n_first = 255;
    tw_classify(&ev, &r);
    assert_string_equal(tw_class_name(r.cls), "tls_alert");
    assert_non_null(r.detail);
    assert_null(strchr(r.detail, '\n'));
    assert_non_null(strstr(r.detail, "local error: ????"));
    free(r.detail);
}

struct pcase {
    const char *name;
    struct tw_evidence ev;
    int has_name;
    int expect;
};

static const struct pcase plans[] = {
    {"dns failure", {.dns = TW_DNS_NXDOMAIN}, 1, -1},
    {"main first", {.dns = TW_DNS_OK}, 1, TW_PK_MAIN},
    {"main ok", {.probe = {MAIN_OK}}, 1, -1},
    {"refused",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_ERROR, .sys_errno = ECONNREFUSED}}},
     1,
     -1},
    {"connect timeout", {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_CONNECT_TIMEOUT}}}, 1, -1},
    {"handshake timeout", {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_TIMEOUT}}}, 1, -1},
    {"not tls", {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_NOT_TLS}}}, 1, -1},
    {"112 with SNI sent", {.sent_sni = 1, .probe = {[TW_PK_MAIN] = ALERT(112)}}, 1, TW_PK_NO_SNI},
    {"112 without a name", {.sent_sni = 0, .probe = {[TW_PK_MAIN] = ALERT(112)}}, 0, -1},
    {"40 after a CertificateRequest",
     {.sent_sni = 1,
      .probe =
          {[TW_PK_MAIN] = {.outcome = TW_PROBE_ALERT_RECEIVED, .alert = 40, .cert_requested = 1}}},
     1,
     -1},
    {"40 without SNI sent",
     {.sent_sni = 0, .probe = {[TW_PK_MAIN] = ALERT(40)}},
     1,
     TW_PK_WITH_SNI},
    {"40 after the SNI probe",
     {.sent_sni = 0, .probe = {[TW_PK_MAIN] = ALERT(40), [TW_PK_WITH_SNI] = ALERT(40)}},
     1,
     TW_PK_ALL_CIPHERS},
    {"40 with no name", {.probe = {[TW_PK_MAIN] = ALERT(40)}}, 0, TW_PK_ALL_CIPHERS},
    {"40, all probes done",
     {.sent_sni = 1,
      .probe =
          {[TW_PK_MAIN] = ALERT(40), [TW_PK_NO_SNI] = ALERT(40), [TW_PK_ALL_CIPHERS] = ALERT(40)}},
     1,
     -1},
    {"40, SNI toggle found it",
     {.sent_sni = 1, .probe = {[TW_PK_MAIN] = ALERT(40), [TW_PK_NO_SNI] = OK_PROBE}},
     1,
     -1},
    {"local no shared cipher",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_LOCAL_ERROR,
                                .alert = -1,
                                .err = "no shared cipher"}}},
     1,
     TW_PK_ALL_CIPHERS},
    {"70 first version", {.sent_sni = 1, .probe = {[TW_PK_MAIN] = ALERT(70)}}, 1, TW_PK_TLS13},
    {"70 second version",
     {.probe = {[TW_PK_MAIN] = ALERT(70), [TW_PK_TLS13] = ALERT(70)}},
     1,
     TW_PK_TLS12},
    {"70 stop at success",
     {.probe = {[TW_PK_MAIN] = ALERT(70), [TW_PK_TLS13] = ALERT(70), [TW_PK_TLS12] = OK_PROBE}},
     1,
     -1},
    {"wrong version number",
     {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_LOCAL_ERROR,
                                .alert = -1,
                                .err = "wrong version number"}}},
     0,
     TW_PK_TLS13},
    {"reset with a name",
     {.sent_sni = 1, .probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_RESET}}},
     1,
     TW_PK_NO_SNI},
    {"reset without a name", {.probe = {[TW_PK_MAIN] = {.outcome = TW_PROBE_RESET}}}, 0, -1},
    {"unexpected_message: nothing to try", {.probe = {[TW_PK_MAIN] = ALERT(10)}}, 1, -1},
    {"cap of four extra probes",
     {.probe = {[TW_PK_MAIN] = ALERT(70),
                [TW_PK_NO_SNI] = ALERT(70),
                [TW_PK_TLS13] = ALERT(70),
                [TW_PK_TLS12] = ALERT(70),
                [TW_PK_TLS11] = ALERT(70)}},
     1,
     -1},
};

static void
test_classify_next_probe_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        int got = tw_classify_next_probe(&plans[i].ev, plans[i].has_name);
        if (got != plans[i].expect) {
            print_error("plan '%s': got %d, expected %d\n", plans[i].name, got, plans[i].expect);
            fail();
        }
    }
}

/* Drive the plan against a model server until it says -1, like the engine. */
static int
drive(struct tw_evidence *ev, int has_name, enum tw_probe_outcome (*server)(int kind), int *seq,
      int max)
{
    int n = 0, k;

    while ((k = tw_classify_next_probe(ev, has_name)) >= 0) {
        assert_true(n < max);
        assert_int_equal(ev->probe[k].outcome, TW_PROBE_NOT_RUN); /* never twice */
        ev->probe[k].outcome = server(k);
        ev->probe[k].alert = ev->probe[k].outcome == TW_PROBE_ALERT_RECEIVED ? 70 : -1;
        seq[n++] = k;
    }
    return n;
}

static enum tw_probe_outcome
tls11_only_server(int kind)
{
    return kind == TW_PK_TLS11 ? TW_PROBE_OK : TW_PROBE_ALERT_RECEIVED;
}

static enum tw_probe_outcome
nothing_server(int kind)
{
    (void)kind;
    return TW_PROBE_ALERT_RECEIVED;
}

/* The reproduce command of a classified result: its fields handed to the
 * builder in store/model.c, as a caller holding a tw_result does. */
static size_t
result_repro(const struct tw_result *r, char *buf, size_t len)
{
    struct tw_repro_in in = {
        .host = r->host,
        .ip = r->ip,
        .port = r->port,
        .sni = r->has_sni ? r->sni : NULL,
        .starttls = r->starttls,
        .cls = r->cls,
        .tls_version = r->tls_version,
        .detail = r->detail,
    };

    return tw_class_repro(&in, buf, len);
}

static void
test_classify_plan_sequences(void **state)
{
    struct tw_evidence ev;
    struct tw_result r;
    int seq[16], n;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    memset(&r, 0, sizeof(r));
    n = drive(&ev, 0, tls11_only_server, seq, 16);
    /* MAIN, then 1.3, 1.2, 1.1: stops at the first version that works */
    assert_int_equal(n, 4);
    assert_int_equal(seq[0], TW_PK_MAIN);
    assert_int_equal(seq[1], TW_PK_TLS13);
    assert_int_equal(seq[2], TW_PK_TLS12);
    assert_int_equal(seq[3], TW_PK_TLS11);
    ev.cert.has_chain = 1;
    ev.cert.now = NOW;
    ev.cert.not_after = NOW + DAY * 10;
    tw_classify(&ev, &r);
    assert_string_equal(tw_class_name(r.cls), "protocol_mismatch");
    r.port = 8443;
    snprintf(r.ip, sizeof(r.ip), "%s", "127.0.0.1");
    {
        char buf[512];
        result_repro(&r, buf, sizeof(buf));
        assert_string_equal(buf, "openssl s_client -connect 127.0.0.1:8443 -noservername -tls1_1 "
                                 "-cipher DEFAULT@SECLEVEL=0");
    }
    free(r.detail);

    memset(&ev, 0, sizeof(ev));
    ev.sent_sni = 1;
    n = drive(&ev, 1, nothing_server, seq, 16);
    /* alert 70 is not SNI-plausible: MAIN + the four versions */
    assert_int_equal(n, 5);
    assert_int_equal(seq[4], TW_PK_TLS10);
}

static void
test_classify_alert_names(void **state)
{
    char buf[32];

    (void)state;
    assert_string_equal(tw_classify_alert_name(40, buf, sizeof(buf)), "handshake_failure");
    assert_string_equal(tw_classify_alert_name(70, buf, sizeof(buf)), "protocol_version");
    assert_string_equal(tw_classify_alert_name(71, buf, sizeof(buf)), "insufficient_security");
    assert_string_equal(tw_classify_alert_name(112, buf, sizeof(buf)), "unrecognized_name");
    assert_string_equal(tw_classify_alert_name(116, buf, sizeof(buf)), "certificate_required");
    assert_string_equal(tw_classify_alert_name(120, buf, sizeof(buf)), "no_application_protocol");
    assert_string_equal(tw_classify_alert_name(21, buf, sizeof(buf)), "decryption_failed");
    assert_string_equal(tw_classify_alert_name(0, buf, sizeof(buf)), "close_notify");
    assert_string_equal(tw_classify_alert_name(200, buf, sizeof(buf)), "alert 200");
    assert_string_equal(tw_classify_alert_name(-5, buf, sizeof(buf)), "alert -5");
}

static void
repro_of(const char *ip, const char *host, int has_sni, const char *sni, enum tw_class cls,
         const char *detail, const char *expect)
{
    struct tw_result r;
    char buf[512];
    size_t n;

    memset(&r, 0, sizeof(r));
    snprintf(r.ip, sizeof(r.ip), "%s", ip);
    snprintf(r.host, sizeof(r.host), "%s", host);
    r.has_sni = has_sni;
    snprintf(r.sni, sizeof(r.sni), "%s", sni);
    r.port = 443;
    r.cls = cls;
    r.detail = (char *)detail;
    n = result_repro(&r, buf, sizeof(buf));
    assert_string_equal(buf, expect);
    assert_int_equal(n, strlen(expect));
}

static void
test_classify_repro(void **state)
{
    char small[16];
    struct tw_result r;

    (void)state;
    /* IPv6: bracketed and quoted for the shell. */
    repro_of("2001:db8::1", "v6.example", 1, "v6.example", TW_CLASS_OK, NULL,
             "openssl s_client -connect '[2001:db8::1]:443' -servername v6.example");
    repro_of("192.0.2.1", "192.0.2.1", 0, "", TW_CLASS_SNI_REQUIRED, NULL,
             "openssl s_client -connect 192.0.2.1:443 -noservername");
    /* sni_required reproduces the failing handshake: without SNI. */
    repro_of("192.0.2.1", "a.example", 1, "a.example", TW_CLASS_SNI_REQUIRED, NULL,
             "openssl s_client -connect 192.0.2.1:443 -noservername");
    repro_of("192.0.2.1", "a.example", 1, "a.example", TW_CLASS_INCOMPLETE_CHAIN, NULL,
             "openssl s_client -connect 192.0.2.1:443 -servername a.example -showcerts "
             "-verify_return_error");
    repro_of("192.0.2.1", "a.example", 1, "a.example", TW_CLASS_CERT_REVOKED, NULL,
             "openssl s_client -connect 192.0.2.1:443 -servername a.example -status "
             "-verify_return_error");
    repro_of("192.0.2.1", "a.example", 1, "b.example", TW_CLASS_HOSTNAME_MISMATCH, NULL,
             "openssl s_client -connect 192.0.2.1:443 -servername b.example -verify_return_error "
             "-verify_hostname b.example");
    repro_of("192.0.2.1", "", 0, "", TW_CLASS_HOSTNAME_MISMATCH, NULL,
             "openssl s_client -connect 192.0.2.1:443 -noservername -verify_return_error "
             "-verify_ip 192.0.2.1");
    repro_of("", "nx.example", 1, "nx.example", TW_CLASS_DNS_NXDOMAIN, NULL,
             "openssl s_client -connect nx.example:443 -servername nx.example");
    repro_of("::1", "", 0, "", TW_CLASS_PROTOCOL_MISMATCH,
             "server sent alert protocol_version (70); server speaks TLSv1 only, which ...",
             "openssl s_client -connect '[::1]:443' -noservername -tls1 -cipher "
             "DEFAULT@SECLEVEL=0");
    repro_of("::1", "", 0, "", TW_CLASS_PROTOCOL_MISMATCH, "no single version probe worked",
             "openssl s_client -connect '[::1]:443' -noservername");
    /* control bytes never reach the command */
    repro_of("192.0.2.1", "a.example", 1, "a\n.exa\tmple\x1b", TW_CLASS_OK, NULL,
             "openssl s_client -connect 192.0.2.1:443 -servername a.example");

    /* truncation is bounded and terminated */
    memset(&r, 0, sizeof(r));
    snprintf(r.ip, sizeof(r.ip), "%s", "192.0.2.1");
    r.cls = TW_CLASS_OK;
    assert_int_equal(result_repro(&r, small, sizeof(small)), sizeof(small) - 1);
    assert_string_equal(small, "openssl s_clien");
}

/* ---- STARTTLS (issue 9) ---- */

/* MAIN of a STARTTLS probe that ended in the plaintext phase with status st. */
static struct tw_evidence
stls_ev(int proto, int st, enum tw_probe_outcome outcome, const char *detail)
{
    struct tw_evidence ev;

    memset(&ev, 0, sizeof(ev));
    ev.dns = TW_DNS_OK;
    ev.sent_sni = 1;
    for (int k = 0; k < TW_PK__COUNT; k++)
        ev.probe[k].alert = -1;
    ev.probe[TW_PK_MAIN].outcome = outcome;
    ev.probe[TW_PK_MAIN].starttls = (uint8_t)proto;
    ev.probe[TW_PK_MAIN].starttls_result = (uint8_t)st;
    ev.probe[TW_PK_MAIN].starttls_bytes_in = 120;
    snprintf(ev.probe[TW_PK_MAIN].starttls_detail, sizeof(ev.probe[TW_PK_MAIN].starttls_detail),
             "%s", detail);
    return ev;
}

static void
stls_expect(const struct tw_evidence *ev, const char *cls, const char *detail_has)
{
    struct tw_result r;
    char issues[256];

    memset(&r, 0, sizeof(r));
    snprintf(r.host, sizeof(r.host), "%s", "mail.example");
    snprintf(r.ip, sizeof(r.ip), "%s", "192.0.2.25");
    r.port = 25;
    r.has_sni = 1;
    snprintf(r.sni, sizeof(r.sni), "%s", "mail.example");
    tw_classify(ev, &r);
    tw_issues_format(r.issues, issues, sizeof(issues));
    if (strcmp(tw_class_name(r.cls), cls) != 0 || strcmp(issues, cls) != 0 || r.detail == NULL ||
        strstr(r.detail, detail_has) == NULL) {
        print_error("starttls: got %s / %s / '%s', expected %s with '%s'\n", tw_class_name(r.cls),
                    issues, r.detail ? r.detail : "(null)", cls, detail_has);
        fail();
    }
    free(r.detail);
}

static void
test_classify_starttls(void **state)
{
    struct tw_evidence ev;
    struct tw_result r;
    char buf[512];

    (void)state;
    /* The plaintext phase decides, and no follow-up probe is planned. */
    ev = stls_ev(TW_STARTTLS_SMTP, TW_STARTTLS_UNSUPPORTED, TW_PROBE_LOCAL_ERROR,
                 "smtp: EHLO reply (4 lines) does not offer STARTTLS");
    assert_int_equal(tw_classify_next_probe(&ev, 1), -1);
    stls_expect(&ev, "starttls_unsupported", "does not offer STARTTLS");
    ev = stls_ev(TW_STARTTLS_SMTP, TW_STARTTLS_REFUSED, TW_PROBE_LOCAL_ERROR,
                 "smtp: STARTTLS answered 454");
    assert_int_equal(tw_classify_next_probe(&ev, 1), -1);
    stls_expect(&ev, "starttls_refused", "answered 454");
    /* A protocol error is not_tls, with the dialogue's words and the first bytes. */
    ev = stls_ev(TW_STARTTLS_IMAP, TW_STARTTLS_PROTOCOL_ERROR, TW_PROBE_NOT_TLS,
                 "imap: greeting is not IMAP");
    memcpy(ev.probe[TW_PK_MAIN].first_bytes, "SSH-2.0-", 8);
    ev.probe[TW_PK_MAIN].n_first = 8;
    assert_int_equal(tw_classify_next_probe(&ev, 1), -1);
    stls_expect(&ev, "not_tls", "imap: greeting is not IMAP");
    stls_expect(&ev, "not_tls", "\"SSH-2.0-\"");
    /* A dialogue cut by the deadline or a close. */
    ev = stls_ev(TW_STARTTLS_POP3, TW_STARTTLS_NEED_MORE, TW_PROBE_TIMEOUT, "pop3: waiting");
    assert_int_equal(tw_classify_next_probe(&ev, 1), -1);
    stls_expect(&ev, "handshake_timeout", "pop3 dialogue timed out");
    ev = stls_ev(TW_STARTTLS_FTP, TW_STARTTLS_NEED_MORE, TW_PROBE_EOF, "ftp: waiting");
    assert_int_equal(tw_classify_next_probe(&ev, 1), -1);
    stls_expect(&ev, "tcp_reset", "during the ftp dialogue");
    /* Never connected: the network classes as for direct TLS. */
    ev = stls_ev(TW_STARTTLS_SMTP, TW_STARTTLS_NEED_MORE, TW_PROBE_CONNECT_ERROR, "");
    ev.probe[TW_PK_MAIN].sys_errno = ECONNREFUSED;
    stls_expect(&ev, "tcp_refused", "ECONNREFUSED");
    /* READY: the TLS phase is judged as usual, and follow-ups are planned. */
    ev = stls_ev(TW_STARTTLS_SMTP, TW_STARTTLS_READY, TW_PROBE_ALERT_RECEIVED, "smtp: ready");
    ev.probe[TW_PK_MAIN].alert = 40;
    assert_int_equal(tw_classify_next_probe(&ev, 1), TW_PK_NO_SNI);
    stls_expect(&ev, "tls_alert", "TLS after STARTTLS (smtp)");
    ev = stls_ev(TW_STARTTLS_XMPP, TW_STARTTLS_READY, TW_PROBE_OK, "xmpp: ready");
    ev.probe[TW_PK_MAIN].version = 0x0304;
    ev.cert.has_chain = 1;
    ev.cert.n_sent = 2;
    ev.cert.hostname_checked = 1;
    ev.cert.hostname_ok = 1;
    ev.cert.not_before = NOW - DAY;
    ev.cert.not_after = NOW + 100 * DAY;
    ev.cert.now = NOW;
    stls_expect(&ev, "ok", "after STARTTLS (xmpp)");

    /* Every command for a STARTTLS endpoint speaks its protocol, whatever the class. */
    memset(&r, 0, sizeof(r));
    snprintf(r.ip, sizeof(r.ip), "%s", "192.0.2.25");
    snprintf(r.host, sizeof(r.host), "%s", "mail.example");
    r.has_sni = 1;
    snprintf(r.sni, sizeof(r.sni), "%s", "mail.example");
    r.port = 25;
    r.starttls = TW_STARTTLS_SMTP;
    r.cls = TW_CLASS_STARTTLS_REFUSED;
    result_repro(&r, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 192.0.2.25:25 -servername mail.example "
                             "-starttls smtp");
    r.starttls = TW_STARTTLS_POSTGRES;
    r.cls = TW_CLASS_CERT_EXPIRED;
    result_repro(&r, buf, sizeof(buf));
    assert_string_equal(buf, "openssl s_client -connect 192.0.2.25:25 -servername mail.example "
                             "-verify_return_error -starttls postgres");
    r.starttls = 99; /* out of range: no flag */
    result_repro(&r, buf, sizeof(buf));
    assert_null(strstr(buf, "-starttls"));
}

/* ---- the client policy (issue 13) ---- */

/* A result classified from a completed MAIN at version/suite, then judged
 * for policy with the grading record g (NULL: not graded). */
static void
policy_run(struct tw_evidence *ev, const struct tw_grade_record *g, int policy, const char *cls,
           const char *issues, const char *detail_has)
{
    struct tw_result r;
    char got[256];

    memset(&r, 0, sizeof(r));
    snprintf(r.host, sizeof(r.host), "%s", "www.example.com");
    snprintf(r.sni, sizeof(r.sni), "%s", "www.example.com");
    r.has_sni = 1;
    ev->sent_sni = 1;
    ev->dns = TW_DNS_OK;
    ev->cert.has_chain = 1;
    ev->cert.n_sent = 2;
    ev->cert.hostname_checked = 1;
    ev->cert.hostname_ok = 1;
    ev->cert.now = NOW;
    ev->cert.not_before = NOW - DAY;
    ev->cert.not_after = NOW + 90 * DAY;
    tw_classify(ev, &r);
    tw_classify_policy(ev, g, policy, &r);
    tw_issues_format(r.issues, got, sizeof(got));
    if (strcmp(tw_class_name(r.cls), cls) != 0 || strcmp(got, issues) != 0 ||
        (detail_has != NULL && (r.detail == NULL || strstr(r.detail, detail_has) == NULL))) {
        print_error("policy: got %s %s '%s', want %s %s '%s'\n", tw_class_name(r.cls), got,
                    r.detail ? r.detail : "", cls, issues, detail_has ? detail_has : "");
        fail();
    }
    free(r.detail);
}

static void
main_ok(struct tw_evidence *ev, int version, uint16_t suite)
{
    memset(ev, 0, sizeof(*ev));
    for (int k = 0; k < TW_PK__COUNT; k++)
        ev->probe[k].alert = -1;
    ev->probe[TW_PK_MAIN].outcome = TW_PROBE_OK;
    ev->probe[TW_PK_MAIN].version = version;
    ev->probe[TW_PK_MAIN].cipher_id = suite;
}

static void
test_classify_policy(void **state)
{
    static struct tw_grade_record g;
    struct tw_evidence ev;
    int p = -1;

    (void)state;
    /* The names. */
    assert_int_equal(tw_clients_policy_parse("modern", &p), 0);
    assert_int_equal(p, TW_CLIENTS_MODERN);
    assert_int_equal(tw_clients_policy_parse("any", &p), 0);
    assert_int_equal(p, TW_CLIENTS_ANY);
    /* Issue 13, this change: "all" is every reference client (a set,
     * tw_clients_resolve), no longer a synonym of "any". */
    assert_int_equal(tw_clients_policy_parse("all", &p), -1);
    assert_int_equal(tw_clients_policy_parse("Modern", &p), -1);
    assert_int_equal(tw_clients_policy_parse(NULL, &p), -1);
    assert_string_equal(tw_clients_policy_name(TW_CLIENTS_MODERN), "modern");
    assert_string_equal(tw_clients_policy_name(99), "?");
    assert_true(tw_clients_modern_suite(0xC02F));
    assert_true(tw_clients_modern_suite(0x1301));
    assert_false(tw_clients_modern_suite(0x009E)); /* DHE-RSA-AES128-GCM-SHA256 */
    assert_false(tw_clients_modern_suite(0xC0AC)); /* ECDHE-ECDSA-AES128-CCM */
    assert_false(tw_clients_modern_suite(0x1304)); /* TLS_AES_128_CCM_SHA256 */

    /* Ungraded (--quick): the one handshake decides the protocol ... */
    main_ok(&ev, 0x0301, 0xC013);
    assert_int_equal(tw_classify_policy_probe(&ev, TW_CLIENTS_MODERN), -1);
    policy_run(&ev, NULL, TW_CLIENTS_MODERN, "protocol_mismatch", "protocol_mismatch",
               "accepts only TLS 1.0/1.1 or older (best: TLSv1): modern clients refuse it");
    policy_run(&ev, NULL, TW_CLIENTS_ANY, "ok", "ok", NULL);
    /* ... and a modern suite settles the rest. */
    main_ok(&ev, 0x0303, 0xC02F);
    assert_int_equal(tw_classify_policy_probe(&ev, TW_CLIENTS_MODERN), -1);
    policy_run(&ev, NULL, TW_CLIENTS_MODERN, "ok", "ok", NULL);
    /* A suite outside the set: one MODERN probe decides. */
    main_ok(&ev, 0x0303, 0x009E);
    assert_int_equal(tw_classify_policy_probe(&ev, TW_CLIENTS_MODERN), TW_PK_MODERN);
    assert_int_equal(tw_classify_policy_probe(&ev, TW_CLIENTS_ANY), -1);
    ev.probe[TW_PK_MODERN].outcome = TW_PROBE_ALERT_RECEIVED;
    ev.probe[TW_PK_MODERN].alert = 40;
    assert_int_equal(tw_classify_policy_probe(&ev, TW_CLIENTS_MODERN), -1);
    policy_run(&ev, NULL, TW_CLIENTS_MODERN, "no_shared_cipher", "no_shared_cipher",
               "accepts no cipher suite that modern clients offer");
    main_ok(&ev, 0x0303, 0x009E);
    ev.probe[TW_PK_MODERN].outcome = TW_PROBE_OK;
    policy_run(&ev, NULL, TW_CLIENTS_MODERN, "ok", "ok", "modern=ok");
    /* Nothing completed: nothing to judge. */
    main_ok(&ev, 0, 0);
    ev.probe[TW_PK_MAIN].outcome = TW_PROBE_TIMEOUT;
    assert_int_equal(tw_classify_policy_probe(&ev, TW_CLIENTS_MODERN), -1);
    policy_run(&ev, NULL, TW_CLIENTS_MODERN, "handshake_timeout", "handshake_timeout", NULL);

    /* Graded: the enumeration decides, whatever MAIN negotiated. */
    main_ok(&ev, 0x0303, 0x009E);
    memset(&g, 0, sizeof(g));
    g.protocols_ok = TW_PROTO_BIT(TW_PROTO_TLS12);
    g.suites[0] = (struct tw_grec_suite){TW_VERSION_TLS12, 0x009E, 1};
    g.suites[1] = (struct tw_grec_suite){TW_VERSION_TLS12, 0xC0AC, 2};
    g.n_suites = 2;
    policy_run(&ev, &g, TW_CLIENTS_MODERN, "no_shared_cipher", "no_shared_cipher", NULL);
    g.suites[2] = (struct tw_grec_suite){TW_VERSION_TLS12, 0xC030, 3};
    g.n_suites = 3;
    policy_run(&ev, &g, TW_CLIENTS_MODERN, "ok", "ok", NULL);
    /* A modern suite on TLS 1.0 only does not count. */
    g.protocols_ok = TW_PROTO_BIT(TW_PROTO_TLS10) | TW_PROTO_BIT(TW_PROTO_SSL3);
    g.suites[2].protocol = TW_VERSION_TLS10;
    policy_run(&ev, &g, TW_CLIENTS_MODERN, "protocol_mismatch", "protocol_mismatch",
               "(best: TLSv1)");
    g.n_suites = 100000; /* out of range: clamped */
    policy_run(&ev, &g, TW_CLIENTS_MODERN, "protocol_mismatch", "protocol_mismatch", NULL);
    /* A policy class joins the issues in precedence order. */
    g.n_suites = 3;
    main_ok(&ev, 0x0303, 0x009E);
    ev.cert.hostname_ok = 0;
    {
        struct tw_result r;
        char got[256];

        memset(&r, 0, sizeof(r));
        snprintf(r.sni, sizeof(r.sni), "%s", "www.example.com");
        r.has_sni = 1;
        ev.cert.has_chain = 1;
        ev.cert.hostname_checked = 1;
        ev.cert.now = NOW;
        ev.cert.not_before = NOW - DAY;
        ev.cert.not_after = NOW + DAY;
        tw_classify(&ev, &r);
        tw_classify_policy(&ev, &g, TW_CLIENTS_MODERN, &r);
        tw_issues_format(r.issues, got, sizeof(got));
        assert_string_equal(got, "protocol_mismatch,hostname_mismatch");
        assert_int_equal(r.cls, TW_CLASS_PROTOCOL_MISMATCH);
        free(r.detail);
    }
}

/* A set of reference clients is judged from their simulated handshakes:
 * a member that cannot negotiate adds its class; a non-member does not. */
static void
test_classify_policy_set(void **state)
{
    static struct tw_grade_record g;
    static struct tw_clients_set set;
    struct tw_evidence ev;
    struct tw_result r;
    char err[256], got[256];

    (void)state;
    assert_int_equal(tw_clients_resolve("java", &set, err, sizeof(err)), 0);
    main_ok(&ev, 0x0304, 0x1302);
    ev.dns = TW_DNS_OK;
    memset(&g, 0, sizeof(g));
    snprintf(g.sims[0].client, sizeof(g.sims[0].client), "%s", "Java 8");
    g.sims[0].cls = "protocol_mismatch";
    snprintf(g.sims[1].client, sizeof(g.sims[1].client), "%s", "Android 4.4");
    g.sims[1].cls = "no_shared_cipher";
    snprintf(g.sims[2].client, sizeof(g.sims[2].client), "%s", "Java 17");
    g.sims[2].ok = 1;
    g.n_sims = 3;
    memset(&r, 0, sizeof(r));
    tw_classify_policy_set(&ev, &g, &set, &r);
    tw_issues_format(r.issues, got, sizeof(got));
    assert_string_equal(got, "protocol_mismatch"); /* Android 4.4 is not in "java" */
    assert_non_null(strstr(r.detail, "Java 8: no shared TLS version"));
    free(r.detail);
    /* Ungraded: said, not judged. */
    memset(&r, 0, sizeof(r));
    tw_classify_policy_set(&ev, NULL, &set, &r);
    assert_int_equal(r.issues, 0);
    assert_non_null(strstr(r.detail, "clients of 'java' not checked"));
    free(r.detail);
}

/* Discovery sweeps (issue 16): an address target without SNI whose
 * certificate does not cover the address is issue name_unchecked (class and
 * grade as if it did), its names in the detail; --check-names
 * (ev.check_names) and a name or an SNI keep hostname_mismatch. */
static void
names_run(int address, int check_names, int verify_code, const char *cls, const char *issues,
          const char *detail_has)
{
    struct tw_evidence ev;
    struct tw_result r;
    struct tw_cert leaf;
    char got[256];

    main_ok(&ev, 0x0304, 0x1302);
    memset(&r, 0, sizeof(r));
    memset(&leaf, 0, sizeof(leaf));
    leaf.san = (char *)"DNS:www.example.com,DNS:\x1b[2Jevil";
    r.chain = &leaf;
    r.n_chain = 1;
    snprintf(r.ip, sizeof(r.ip), "%s", "192.0.2.7");
    snprintf(r.host, sizeof(r.host), "%s", address ? "192.0.2.7" : "www.example.org");
    ev.dns = address ? TW_DNS_NOT_ASKED : TW_DNS_OK;
    ev.check_names = check_names;
    ev.cert.has_chain = 1;
    ev.cert.n_sent = 2;
    ev.cert.hostname_checked = 1;
    ev.cert.address_checked = address;
    ev.cert.hostname_ok = 0;
    ev.cert.now = NOW;
    ev.cert.not_before = NOW - DAY;
    ev.cert.not_after = NOW + 90 * DAY;
    if (verify_code != 0) {
        ev.cert.verify[0].code = verify_code;
        ev.cert.n_verify = 1;
    }
    tw_classify(&ev, &r);
    tw_issues_format(r.issues, got, sizeof(got));
    if (strcmp(tw_class_name(r.cls), cls) != 0 || strcmp(got, issues) != 0 ||
        (detail_has != NULL && (r.detail == NULL || strstr(r.detail, detail_has) == NULL)) ||
        (r.detail != NULL && strchr(r.detail, 0x1b) != NULL)) {
        print_error("names: got %s %s '%s', want %s %s '%s'\n", tw_class_name(r.cls), got,
                    r.detail ? r.detail : "", cls, issues, detail_has ? detail_has : "");
        fail();
    }
    free(r.detail);
}

static void
test_classify_name_unchecked(void **state)
{
    (void)state;
    names_run(1, 0, 0, "ok", "name_unchecked",
              "certificate names: DNS:www.example.com,DNS:?[2Jevil");
    names_run(1, 0, X509_V_ERR_IP_ADDRESS_MISMATCH, "ok", "name_unchecked", "name not checked");
    names_run(1, 1, 0, "hostname_mismatch", "hostname_mismatch", "does not cover '192.0.2.7'");
    names_run(1, 1, X509_V_ERR_IP_ADDRESS_MISMATCH, "hostname_mismatch", "hostname_mismatch", NULL);
    names_run(0, 0, 0, "hostname_mismatch", "hostname_mismatch", "www.example.org");
}

/* The OpenSSL strings of the modern set (the MODERN probe's context) name
 * exactly the suites tw_clients_modern_suite() accepts. */
static void
test_classify_policy_openssl_strings(void **state)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    STACK_OF(SSL_CIPHER) * sk;
    int n;

    (void)state;
    assert_non_null(ctx);
    SSL_CTX_set_security_level(ctx, 0);
    assert_int_equal(SSL_CTX_set_cipher_list(ctx, TW_CLIENTS_MODERN_OPENSSL_TLS12), 1);
    assert_int_equal(SSL_CTX_set_ciphersuites(ctx, TW_CLIENTS_MODERN_OPENSSL_TLS13), 1);
    sk = SSL_CTX_get_ciphers(ctx);
    n = sk_SSL_CIPHER_num(sk);
    assert_int_equal(n, 15);
    for (int i = 0; i < n; i++)
        assert_true(tw_clients_modern_suite(
            (uint16_t)SSL_CIPHER_get_protocol_id(sk_SSL_CIPHER_value(sk, i))));
    SSL_CTX_free(ctx);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_classify_hostile_text),
        cmocka_unit_test(test_classify_next_probe_table),
        cmocka_unit_test(test_classify_plan_sequences),
        cmocka_unit_test(test_classify_alert_names),
        cmocka_unit_test(test_classify_repro),
        cmocka_unit_test(test_classify_starttls),
        cmocka_unit_test(test_classify_policy),
        cmocka_unit_test(test_classify_policy_set),
        cmocka_unit_test(test_classify_name_unchecked),
        cmocka_unit_test(test_classify_policy_openssl_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
