/*
 * lab.c - the lab's endpoint table (the fixture's ground truth), the
 * target list and DIR/lab.env.
 *
 * tw_lab_endpoints[] is the single source for addresses (BASE+addr), for
 * what `lab targets` prints and for what the DNS responder answers.  Each
 * row's expected class and issues follow DESIGN §3: the primary class is
 * the first applicable one, issues list every applicable class in
 * precedence order ("ok" alone when none).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "lab/lab.h"
#include "lab/lab_int.h"

const struct tw_lab_endpoint tw_lab_endpoints[] = {
    {"valid-rsa", 2, TW_LAB_T_NAME, "ok", "ok"},
    {"valid-ecdsa", 3, TW_LAB_T_NAME, "ok", "ok"},
    {"hsts", 4, TW_LAB_T_NAME, "ok", "ok"},
    {"expired", 5, TW_LAB_T_NAME, "cert_expired", "cert_expired"},
    {"not-yet-valid", 6, TW_LAB_T_NAME, "cert_not_yet_valid", "cert_not_yet_valid"},
    {"wrong-host", 7, TW_LAB_T_NAME, "hostname_mismatch", "hostname_mismatch"},
    {"incomplete-chain", 8, TW_LAB_T_NAME, "incomplete_chain", "incomplete_chain"},
    {"self-signed", 9, TW_LAB_T_NAME, "self_signed", "self_signed"},
    {"untrusted-root", 10, TW_LAB_T_NAME, "untrusted_root", "untrusted_root"},
    {"revoked", 11, TW_LAB_T_NAME, "cert_revoked", "cert_revoked"},
    {"rsa1024", 12, TW_LAB_T_NAME, "weak_key", "weak_key"},
    {"sha1", 13, TW_LAB_T_NAME, "weak_signature", "weak_signature"},
    {"tls10-only", 14, TW_LAB_T_NAME, "ok", "ok"},
    {"tls13-only", 15, TW_LAB_T_NAME, "ok", "ok"},
    {"no-shared-cipher", 16, TW_LAB_T_NAME, "no_shared_cipher", "no_shared_cipher"},
    {"protocol-mismatch", 17, TW_LAB_T_NAME, "protocol_mismatch", "protocol_mismatch"},
    /* With SNI the endpoint is fine; a scan that sends none (the "-" line)
     * gets unrecognized_name and must find that SNI fixes it. */
    {"sni-required", 18, TW_LAB_T_NAME, "ok", "ok"},
    {"sni-required", 18, TW_LAB_T_NAME_NO_SNI, "sni_required", "sni_required"},
    {"no-sni-different-cert", 19, TW_LAB_T_NAME, "ok", "ok"},
    {"no-sni-different-cert", 19, TW_LAB_T_NAME_NO_SNI, "hostname_mismatch", "hostname_mismatch"},
    {"closed", 20, TW_LAB_T_NAME, "tcp_refused", "tcp_refused"},
    {"connect-timeout", 21, TW_LAB_T_NAME, "tcp_timeout", "tcp_timeout"},
    {"stall", 22, TW_LAB_T_NAME, "handshake_timeout", "handshake_timeout"},
    {"reset", 23, TW_LAB_T_NAME, "tcp_reset", "tcp_reset"},
    {"plain-http", 24, TW_LAB_T_NAME, "not_tls", "not_tls"},
    {"garbage", 25, TW_LAB_T_NAME, "not_tls", "not_tls"},
    {"alert", 26, TW_LAB_T_NAME, "tls_alert", "tls_alert"},
    {"nxdomain", 0, TW_LAB_T_NAME, "dns_nxdomain", "dns_nxdomain"},
    {"servfail", 0, TW_LAB_T_NAME, "dns_servfail", "dns_servfail"},
    {"dnstimeout", 0, TW_LAB_T_NAME, "dns_timeout", "dns_timeout"},
    {"valid-ipv6", 0, TW_LAB_T_IPV6, "ok", "ok"},
    /* STARTTLS (issue 9, starttls_servers.h): the plaintext dialogue on the
     * lab port, then TLS with a valid certificate for the name. */
    {"starttls-smtp", 27, TW_LAB_T_STARTTLS, "ok", "ok", "smtp"},
    {"starttls-smtp-unsupported", 28, TW_LAB_T_STARTTLS, "starttls_unsupported",
     "starttls_unsupported", "smtp"},
    {"starttls-smtp-refused", 29, TW_LAB_T_STARTTLS, "starttls_refused", "starttls_refused",
     "smtp"},
    {"starttls-imap", 30, TW_LAB_T_STARTTLS, "ok", "ok", "imap"},
    {"starttls-pop3", 31, TW_LAB_T_STARTTLS, "ok", "ok", "pop3"},
    {"starttls-ftp", 32, TW_LAB_T_STARTTLS, "ok", "ok", "ftp"},
    {"starttls-xmpp", 33, TW_LAB_T_STARTTLS, "ok", "ok", "xmpp"},
    {"starttls-ldap", 34, TW_LAB_T_STARTTLS, "ok", "ok", "ldap"},
    {"starttls-postgres", 35, TW_LAB_T_STARTTLS, "ok", "ok", "postgres"},
    /* Grading (issue 5, README "Grading endpoints"): valid certificates, one
     * grading.md vector each; tests/integration/grade.sh checks the letters.
     * legacy-raw answers only SSLv3/TLS 1.0 hellos offering RC4 (by script,
     * legacy.c): every OpenSSL probe of the scanner, the all-ciphers one
     * too, gets handshake_failure, so it is tls_alert and never graded. */
    {"no-fs", 50, TW_LAB_T_NAME, "ok", "ok"},
    {"cbc-only", 51, TW_LAB_T_NAME, "ok", "ok"},
    {"3des", 52, TW_LAB_T_NAME, "ok", "ok"},
    {"dhe-1024", 53, TW_LAB_T_NAME, "ok", "ok"},
    {"tls13-hsts", 54, TW_LAB_T_NAME, "ok", "ok"},
    {"tls12-only-hsts", 55, TW_LAB_T_NAME, "ok", "ok"},
    {"legacy-raw", 56, TW_LAB_T_NAME, "tls_alert", "tls_alert"},
    {"rc4-sslv3", 57, TW_LAB_T_NAME, "ok", "ok"},
};
const size_t tw_lab_n_endpoints = sizeof(tw_lab_endpoints) / sizeof(tw_lab_endpoints[0]);

/*
 * The hostile group (README "Hostile endpoints").  Each expectation is what
 * a scanner that survives the attack must store:
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
const struct tw_lab_endpoint tw_lab_hostile[] = {
    {"hostile-bigchain", 40, TW_LAB_T_NAME, "tls_alert", "tls_alert"},
    {"hostile-manysans", 41, TW_LAB_T_NAME, "ok", "ok"},
    {"hostile-deepchain", 42, TW_LAB_T_NAME, "ok", "ok"},
    {"hostile-truncated", 43, TW_LAB_T_NAME, "tcp_reset", "tcp_reset"},
    {"hostile-absurdlen", 44, TW_LAB_T_NAME, "tls_alert", "tls_alert"},
    {"hostile-slowloris", 45, TW_LAB_T_NAME, "handshake_timeout", "handshake_timeout"},
    {"hostile-endless", 46, TW_LAB_T_NAME, "tls_alert", "tls_alert"},
    {"hostile-reneg", 47, TW_LAB_T_NAME, "ok", "ok"},
    {"hostile-alert-after-hello", 48, TW_LAB_T_NAME, "tls_alert", "tls_alert"},
    {"hostile-fields", 49, TW_LAB_T_NAME, "ok", "ok"},
};
const size_t tw_lab_n_hostile = sizeof(tw_lab_hostile) / sizeof(tw_lab_hostile[0]);

int
tw_lab_endpoint_addr(const char *name, size_t len)
{
    for (size_t i = 0; i < tw_lab_n_endpoints; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_endpoints[i];

        if (e->addr > 0 && strlen(e->name) == len && strncasecmp(e->name, name, len) == 0)
            return e->addr;
    }
    for (size_t i = 0; i < tw_lab_n_hostile; i++) {
        const struct tw_lab_endpoint *e = &tw_lab_hostile[i];

        if (e->addr > 0 && strlen(e->name) == len && strncasecmp(e->name, name, len) == 0)
            return e->addr;
    }
    return 0;
}

static int
lab_write_table(FILE *f, unsigned port, const struct tw_lab_endpoint *tab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct tw_lab_endpoint *e = &tab[i];

        if (fprintf(f, "# expect: %s %s\n", e->cls, e->issues) < 0)
            return -1;
        switch (e->form) {
        case TW_LAB_T_NAME:
            if (fprintf(f, "%s.%s:%u\n", e->name, TW_LAB_DOMAIN, port) < 0)
                return -1;
            break;
        case TW_LAB_T_NAME_NO_SNI:
            if (fprintf(f, "%s.%s:%u -\n", e->name, TW_LAB_DOMAIN, port) < 0)
                return -1;
            break;
        case TW_LAB_T_IPV6:
            if (fprintf(f, "[::1]:%u\n", port + 1) < 0)
                return -1;
            break;
        case TW_LAB_T_STARTTLS:
            if (fprintf(f, "%s://%s.%s:%u\n", e->scheme ? e->scheme : "smtp", e->name,
                        TW_LAB_DOMAIN, port) < 0)
                return -1;
            break;
        }
    }
    return fflush(f) == 0 ? 0 : -1;
}

int
tw_lab_write_targets(FILE *f, unsigned port)
{
    return lab_write_table(f, port, tw_lab_endpoints, tw_lab_n_endpoints);
}

int
tw_lab_write_hostile_targets(FILE *f, unsigned port)
{
    return lab_write_table(f, port, tw_lab_hostile, tw_lab_n_hostile);
}

/* Copy a value into dst[len]; -1 when it does not fit or is empty. */
