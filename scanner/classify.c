/*
 * classify.c - evidence in, verdict out (DESIGN §3).
 *
 * Big picture.  The engine records what each probe saw (struct
 * tw_evidence); this module never touches a socket or the clock.  Two
 * jobs:
 *
 *   1. tw_classify_next_probe(): a deterministic follow-up plan for a MAIN
 *      probe that failed in a way one more connection can explain (SNI
 *      toggle, every cipher, one version at a time), capped at
 *      PLAN_MAX_EXTRA extra probes and never after DNS/TCP failures,
 *      timeouts or not_tls.
 *   2. tw_classify(): the issue set, the primary class (tw_issues_primary,
 *      i.e. the enum order of model.h) and a one-line detail.
 *
 * The s_client command that reproduces a result is built in store/model.c
 * (tw_class_repro), from the result's fields, for the scanner and the reports.
 *
 * Decisions worth knowing (each also noted where it is made):
 *
 *   - connect errno: ECONNREFUSED -> tcp_refused; ETIMEDOUT -> tcp_timeout;
 *     ECONNRESET/ECONNABORTED/EPIPE -> tcp_reset; everything else
 *     (EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN, EADDRNOTAVAIL,
 *     EACCES, EPERM, EAFNOSUPPORT, unknown) -> tcp_unreachable.  The ones
 *     that are the scanner host's own problem (EADDRNOTAVAIL: no source
 *     address/port; ENETDOWN; EAFNOSUPPORT; EACCES/EPERM: a local firewall)
 *     say "local" in the detail, because the target may be fine.
 *   - RESET at any byte count and EOF at any byte count are tcp_reset unless
 *     a follow-up probe explains them.  Both are followed by one SNI-toggle
 *     probe when the target has a name: SNI-filtering middleboxes reset and
 *     some SNI-requiring terminators just close.
 *   - The raw failure class of MAIN is replaced by the cause a follow-up
 *     probe proved (protocol_mismatch, no_shared_cipher, sni_required).
 *   - protocol_mismatch: the failure looks like a version problem (alert 70
 *     either way, or a version-like OpenSSL reason) and no single-version
 *     probe of TLS 1.2/1.3 works.  When only TLS 1.0/1.1 work the detail
 *     says "server speaks TLSv1.x" (tw_class_repro uses it).  When TLS 1.2/1.3
 *     alone work the failure is version intolerance: tls_alert.  When no
 *     version probe ran (--quick) the server's own word is taken and the
 *     detail says "unconfirmed".
 *   - sni_required: the SNI-toggle probe works where MAIN failed (either
 *     direction; the detail says which), or the server sent
 *     unrecognized_name and no SNI-toggle probe contradicted it.
 *   - certificate issues come from ev->cert whenever any probe completed.
 *     A missing issuer (X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT[_LOCALLY],
 *     UNABLE_TO_VERIFY_LEAF_SIGNATURE) at depth 0 means the leaf's issuer
 *     was not sent: incomplete_chain; at depth > 0 (or when the sent chain
 *     ends in a self-issued certificate) the chain was sent up to a root we
 *     do not hold: untrusted_root.
 *   - self_signed: DEPTH_ZERO_SELF_SIGNED_CERT, or a single self-issued
 *     certificate that did not verify cleanly.  A self-signed leaf that the
 *     trust store holds (--ca-file) verifies cleanly and is not flagged.
 *   - any other verify error (bad signature, invalid CA, purpose, path
 *     length, ...) makes a client reject the chain, so it counts as
 *     untrusted_root and is named in the detail ("other verify errors").
 *   - hostname_mismatch is judged as browsers judge it (certinfo.c checks
 *     the subjectAltName only); a leaf without one says so in the detail.
 *   - client_cert_required: MAIN saw a CertificateRequest and then failed
 *     (an alert, a close or a reset on TLS 1.2; on TLS 1.3 an alert or a
 *     close after the handshake, read by conn.c).  No follow-up probe runs
 *     then; the chain, sent before the request, is judged.  A request that
 *     the server does not insist on is a note in the detail, class ok.
 *   - the client policy (tw_classify_policy, tls/clients.h) runs last, once
 *     the grading enumerated the server or the --quick plan is done: it may
 *     add protocol_mismatch or no_shared_cipher for a server that tlsweep's
 *     broad client reaches but modern clients do not.
 *   - STARTTLS (scanner/starttls.h): when MAIN's plaintext phase ended
 *     without READY, tw_starttls_classify() decides (starttls_unsupported,
 *     starttls_refused, not_tls for a protocol error, handshake_timeout /
 *     tcp_reset for a cut dialogue) and no follow-up probe runs: none can
 *     explain a plaintext failure.  After READY the TLS phase is judged as
 *     for direct TLS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509_vfy.h>

#include "scanner/classify.h"
#include "scanner/probekind.h"
#include "scanner/starttls.h"
#include "tls/clients.h"
#include "tls/grade.h"
#include "tls/suites.h"
#include "base/xalloc.h"
#include "store/graderec.h"

#define PLAN_MAX_EXTRA 4

/* ---- small bounded text helpers ---- */

struct dbuf {
    char b[TW_DETAIL_MAX];
    size_t n;
};

static void db_vadd(struct dbuf *d, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
db_vadd(struct dbuf *d, const char *fmt, va_list ap)
{
    size_t room = sizeof(d->b) - d->n;
    int r;

    if (room <= 1)
        return;
    r = vsnprintf(d->b + d->n, room, fmt, ap);
    if (r < 0)
        return;
    d->n += (size_t)r < room ? (size_t)r : room - 1;
}

/* Append text to the current part. */
static void db_more(struct dbuf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
db_more(struct dbuf *d, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    db_vadd(d, fmt, ap);
    va_end(ap);
}

/* Start a new "; "-separated part. */
static void db_part(struct dbuf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
db_part(struct dbuf *d, const char *fmt, ...)
{
    va_list ap;

    if (d->n > 0)
        db_more(d, "; ");
    va_start(ap, fmt);
    db_vadd(d, fmt, ap);
    va_end(ap);
}

/*
 * Copy a char array of the evidence (maybe not terminated: the evidence is a
 * plain record a fuzzer may fill) into dst, replacing control bytes so the
 * detail stays one line.  Other bytes are kept; renderers escape.
 */
static void
clean_copy(char *dst, size_t dstlen, const char *src, size_t srcmax)
{
    size_t n = strnlen(src, srcmax), i;

    if (dstlen == 0)
        return;
    if (n >= dstlen)
        n = dstlen - 1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[n] = '\0';
}

/* Case-insensitive substring search in a bounded, maybe unterminated field. */
static int
has_text(const char *field, size_t fieldmax, const char *needle)
{
    char tmp[256];

    clean_copy(tmp, sizeof(tmp), field, fieldmax);
    return strcasestr(tmp, needle) != NULL;
}

/* a - b without signed overflow (saturating). */
static int64_t
sat_sub(int64_t a, int64_t b)
{
    int64_t r;

    if (__builtin_sub_overflow(a, b, &r))
        return a > b ? INT64_MAX : INT64_MIN;
    return r;
}

/* ---- names ---- */

const char *
tw_classify_alert_name(int alert, char *buf, size_t len)
{
    /* RFC 8446 §6 and RFC 5246 §7.2 (plus the SSLv3/TLS 1.0 leftovers). */
    switch (alert) {
    case 0:
        return "close_notify";
    case 10:
        return "unexpected_message";
    case 20:
        return "bad_record_mac";
    case 21:
        return "decryption_failed";
    case 22:
        return "record_overflow";
    case 30:
        return "decompression_failure";
    case 40:
        return "handshake_failure";
    case 41:
        return "no_certificate";
    case 42:
        return "bad_certificate";
    case 43:
        return "unsupported_certificate";
    case 44:
        return "certificate_revoked";
    case 45:
        return "certificate_expired";
    case 46:
        return "certificate_unknown";
    case 47:
        return "illegal_parameter";
    case 48:
        return "unknown_ca";
    case 49:
        return "access_denied";
    case 50:
        return "decode_error";
    case 51:
        return "decrypt_error";
    case 60:
        return "export_restriction";
    case 70:
        return "protocol_version";
    case 71:
        return "insufficient_security";
    case 80:
        return "internal_error";
    case 86:
        return "inappropriate_fallback";
    case 90:
        return "user_canceled";
    case 100:
        return "no_renegotiation";
    case 109:
        return "missing_extension";
    case 110:
        return "unsupported_extension";
    case 111:
        return "certificate_unobtainable";
    case 112:
        return "unrecognized_name";
    case 113:
        return "bad_certificate_status_response";
    case 114:
        return "bad_certificate_hash_value";
    case 115:
        return "unknown_psk_identity";
    case 116:
        return "certificate_required";
    case 120:
        return "no_application_protocol";
    default:
        break;
    }
    if (buf == NULL || len == 0)
        return "alert";
    snprintf(buf, len, "alert %d", alert);
    return buf;
}

static const char *
errno_name(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case EHOSTUNREACH:
        return "EHOSTUNREACH";
    case ENETUNREACH:
        return "ENETUNREACH";
    case EHOSTDOWN:
        return "EHOSTDOWN";
    case ENETDOWN:
        return "ENETDOWN";
    case EADDRNOTAVAIL:
        return "EADDRNOTAVAIL";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case ECONNRESET:
        return "ECONNRESET";
    case ECONNABORTED:
        return "ECONNABORTED";
    case EPIPE:
        return "EPIPE";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case EAFNOSUPPORT:
        return "EAFNOSUPPORT";
    default:
        return NULL;
    }
}

/* The probe's name in details: its row of the probe-kind table. */
static const char *
kind_name(int k)
{
    return tw_probe_kind_name(k);
}

/* A handshake version as details spell it: the store's spelling of
 * results.tls_version ("TLSv1.2"), "?" for none. */
static const char *
version_name(int v)
{
    const char *name = v >= 0 && v <= 0xffff ? tw_suites_version_name((uint16_t)v) : NULL;

    return name != NULL ? name : "?";
}

/* One short word for a probe's outcome, for the "probes:" list. */
static const char *
outcome_word(const struct tw_probe_result *p, char *buf, size_t len)
{
    switch (p->outcome) {
    case TW_PROBE_NOT_RUN:
        return "not_run";
    case TW_PROBE_OK:
        return "ok";
    case TW_PROBE_CONNECT_ERROR:
        return "connect_error";
    case TW_PROBE_CONNECT_TIMEOUT:
        return "connect_timeout";
    case TW_PROBE_ALERT_RECEIVED:
        return tw_classify_alert_name(p->alert, buf, len);
    case TW_PROBE_LOCAL_ERROR:
        return "local_error";
    case TW_PROBE_RESET:
        return "reset";
    case TW_PROBE_EOF:
        return "eof";
    case TW_PROBE_TIMEOUT:
        return "timeout";
    case TW_PROBE_NOT_TLS:
        return "not_tls";
    }
    return "?"; /* a value outside the enum (hand-made evidence) */
}

/* ---- evidence predicates ---- */

static int
probe_ok(const struct tw_evidence *ev, int k)
{
    return ev->probe[k].outcome == TW_PROBE_OK;
}

static int
probe_ran(const struct tw_evidence *ev, int k)
{
    return ev->probe[k].outcome != TW_PROBE_NOT_RUN;
}

static int
dns_failed(const struct tw_evidence *ev)
{
    return ev->dns == TW_DNS_NXDOMAIN || ev->dns == TW_DNS_SERVFAIL || ev->dns == TW_DNS_TIMEOUT;
}

static int
is_handshake_failure(const struct tw_probe_result *p)
{
    return p->outcome == TW_PROBE_ALERT_RECEIVED || p->outcome == TW_PROBE_LOCAL_ERROR;
}

/* Does this handshake failure carry one of the alerts, or (when it failed
 * on our side) an OpenSSL reason holding one of the words?  The one test
 * behind looks_like_version and looks_like_cipher, which differ only in
 * their alert and word lists. */
static int
failure_says(const struct tw_probe_result *p, const int *alerts, size_t n_alerts,
             const char *const *words, size_t n_words)
{
    if (!is_handshake_failure(p))
        return 0;
    for (size_t i = 0; i < n_alerts; i++)
        if (p->alert == alerts[i])
            return 1;
    if (p->outcome != TW_PROBE_LOCAL_ERROR)
        return 0;
    for (size_t i = 0; i < n_words; i++)
        if (has_text(p->err, sizeof(p->err), words[i]))
            return 1;
    return 0;
}

/* The failure says "version": alert 70 from either side, or OpenSSL's reason. */
static int
looks_like_version(const struct tw_probe_result *p)
{
    static const char *const words[] = {
        "unsupported protocol", "wrong version number", "version too low",
        "version too high",     "protocol version",     "no protocols available",
        "unsupported_protocol", "wrong ssl version",    "tlsv1 alert protocol version",
    };
    static const int alerts[] = {70};

    return failure_says(p, alerts, sizeof(alerts) / sizeof(alerts[0]), words,
                        sizeof(words) / sizeof(words[0]));
}

/* The failure says "no common cipher": alert 40/71, or OpenSSL's reason. */
static int
looks_like_cipher(const struct tw_probe_result *p)
{
    static const char *const words[] = {
        "no shared cipher",  "no ciphers available",  "no cipher match",
        "handshake failure", "insufficient security", "no suitable signature",
    };
    static const int alerts[] = {40, 71};

    return failure_says(p, alerts, sizeof(alerts) / sizeof(alerts[0]), words,
                        sizeof(words) / sizeof(words[0]));
}

/* Would toggling SNI plausibly change the outcome? */
static int
looks_sni_dependent(const struct tw_probe_result *p)
{
    if (p->outcome == TW_PROBE_ALERT_RECEIVED)
        return p->alert == 112 || p->alert == 40 || p->alert == 80;
    return p->outcome == TW_PROBE_EOF || p->outcome == TW_PROBE_RESET;
}

/* The SNI-toggle probe kind for this evidence. */
static int
sni_probe_kind(const struct tw_evidence *ev)
{
    return ev->sent_sni ? TW_PK_NO_SNI : TW_PK_WITH_SNI;
}

/* ---- the plan ---- */

int
tw_classify_next_probe(const struct tw_evidence *ev, int has_name)
{
    static const int versions[] = {TW_PK_TLS13, TW_PK_TLS12, TW_PK_TLS11, TW_PK_TLS10};
    const struct tw_probe_result *m = &ev->probe[TW_PK_MAIN];
    enum tw_class sc;
    int extra = 0;

    if (dns_failed(ev))
        return -1;
    if (m->outcome == TW_PROBE_NOT_RUN)
        return TW_PK_MAIN;
    /* No follow-up probe can explain a failed STARTTLS dialogue. */
    if (tw_starttls_classify(m, &sc, NULL, 0))
        return -1;
    /* A failure after the server's CertificateRequest is explained by the
     * certificate we did not send: no other probe would say more. */
    if (m->cert_requested)
        return -1;
    /* Only handshake-level failures are worth a second connection. */
    if (!is_handshake_failure(m) && m->outcome != TW_PROBE_RESET && m->outcome != TW_PROBE_EOF)
        return -1;
    for (int k = 0; k < TW_PK__COUNT; k++) {
        if (k == TW_PK_MAIN || !probe_ran(ev, k))
            continue;
        if (probe_ok(ev, k))
            return -1; /* a follow-up found the cause */
        extra++;
    }
    if (extra >= PLAN_MAX_EXTRA)
        return -1;

    if (has_name && looks_sni_dependent(m) && !probe_ran(ev, sni_probe_kind(ev)))
        return sni_probe_kind(ev);
    if (looks_like_cipher(m) && !probe_ran(ev, TW_PK_ALL_CIPHERS))
        return TW_PK_ALL_CIPHERS;
    if (looks_like_version(m)) {
        for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
            if (!probe_ran(ev, versions[i]))
                return versions[i];
    }
    return -1;
}

/* ---- certificate issues ---- */

static void
add_delta(struct dbuf *d, int64_t secs)
{
    if (secs >= 2 * 86400 || secs <= -2 * 86400)
        db_more(d, "%lld days", (long long)(secs / 86400));
    else
        db_more(d, "%lld hours", (long long)(secs / 3600));
}

/*
 * Whether a failed name check is "not applicable" (issue name_unchecked):
 * an IP or CIDR target scanned without SNI has no name, only the address,
 * and discovery sweeps find certificates issued for names.  --check-names
 * (ev->check_names) keeps the strict check: hostname_mismatch.
 */
static int
name_unchecked(const struct tw_evidence *ev)
{
    return ev->cert.address_checked && !ev->check_names;
}

static tw_issue_set
cert_issues(const struct tw_evidence *ev, const char *checked_name, const char *san, struct dbuf *d)
{
    const struct tw_cert_evidence *c = &ev->cert;
    tw_issue_set set = 0;
    int n = c->n_verify, expired_leaf = 0, nyv_leaf = 0, n_other = 0;
    char nb[21], na[21], nowbuf[21];

    if (n < 0)
        n = 0;
    if (n > TW_VERIFY_ERRORS_MAX)
        n = TW_VERIFY_ERRORS_MAX;
    if (!c->has_chain) {
        db_part(d, "no certificate sent");
        return 0;
    }
    tw_time_iso(c->not_before, nb);
    tw_time_iso(c->not_after, na);
    tw_time_iso(c->now, nowbuf);

    if (c->ocsp == TW_OCSP_REVOKED) {
        set |= TW_ISSUE(TW_CLASS_CERT_REVOKED);
        db_part(d, "stapled OCSP: revoked");
    }

    for (int i = 0; i < n; i++) {
        int code = c->verify[i].code, depth = c->verify[i].depth;

        switch (code) {
        case X509_V_ERR_CERT_HAS_EXPIRED:
            set |= TW_ISSUE(TW_CLASS_CERT_EXPIRED);
            if (depth == 0)
                expired_leaf = 1;
            else
                db_part(d, "certificate at depth %d has expired", depth);
            break;
        case X509_V_ERR_CERT_NOT_YET_VALID:
            set |= TW_ISSUE(TW_CLASS_CERT_NOT_YET_VALID);
            if (depth == 0)
                nyv_leaf = 1;
            else
                db_part(d, "certificate at depth %d is not yet valid", depth);
            break;
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            set |= TW_ISSUE(TW_CLASS_SELF_SIGNED);
            break;
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            set |= TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT);
            break;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            /* See the file comment: depth 0 = the leaf's issuer was not sent. */
            if (c->leaf_self_issued && c->n_sent <= 1)
                set |= TW_ISSUE(TW_CLASS_SELF_SIGNED);
            else if (depth == 0 && !c->chain_complete)
                set |= TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN);
            else
                set |= TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT);
            break;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            set |=
                name_unchecked(ev) ? TW_ISSUE_NAME_UNCHECKED : TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH);
            break;
        case X509_V_ERR_EE_KEY_TOO_SMALL:
        case X509_V_ERR_CA_KEY_TOO_SMALL:
            set |= TW_ISSUE(TW_CLASS_WEAK_KEY);
            break;
        case X509_V_ERR_CA_MD_TOO_WEAK:
            set |= TW_ISSUE(TW_CLASS_WEAK_SIGNATURE);
            break;
        case X509_V_ERR_CERT_REVOKED:
            set |= TW_ISSUE(TW_CLASS_CERT_REVOKED);
            break;
        default:
            /* A client would reject the chain for it: untrusted (file comment). */
            set |= TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT);
            n_other++;
            break;
        }
    }

    /* The dates on their own, in case the verifier stopped early. */
    if (c->not_after < c->now) {
        set |= TW_ISSUE(TW_CLASS_CERT_EXPIRED);
        expired_leaf = 1;
    }
    if (c->not_before > c->now) {
        set |= TW_ISSUE(TW_CLASS_CERT_NOT_YET_VALID);
        nyv_leaf = 1;
    }
    if (expired_leaf) {
        int64_t ago = sat_sub(c->now, c->not_after);
        if (ago >= 0) {
            db_part(d, "expired ");
            add_delta(d, ago);
            db_more(d, " ago (notAfter %s)", na);
        } else {
            db_part(d, "verifier says expired (notAfter %s, now %s)", na, nowbuf);
        }
    }
    if (nyv_leaf) {
        int64_t ahead = sat_sub(c->not_before, c->now);
        if (ahead >= 0) {
            db_part(d, "clock skew? notBefore is ");
            add_delta(d, ahead);
            db_more(d, " ahead of the scanner's clock (notBefore %s, now %s)", nb, nowbuf);
        } else {
            db_part(d, "verifier says not yet valid (notBefore %s, now %s)", nb, nowbuf);
        }
    }
    if (c->leaf_self_issued && c->n_sent <= 1 && (n > 0 || c->verify_truncated))
        set |= TW_ISSUE(TW_CLASS_SELF_SIGNED);
    if (set & TW_ISSUE(TW_CLASS_SELF_SIGNED)) {
        /* A lone self-signed leaf has no chain to be incomplete or rooted elsewhere. */
        set &= ~TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN);
        if (n_other == 0)
            set &= ~TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT);
    }
    if (set & TW_ISSUE(TW_CLASS_SELF_SIGNED))
        db_part(d, "the leaf is self-signed");
    if (set & TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT))
        db_part(d, "the chain does not lead to a trusted root");
    if (set & TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN))
        db_part(d, "the server sent %d certificate(s) and not the leaf's issuer%s", c->n_sent,
                c->leaf_has_aia_issuer ? " (the leaf names one in AIA caIssuers)" : "");

    if (c->hostname_checked && !c->hostname_ok && name_unchecked(ev)) {
        char names[256];

        /* The certificate's names are recorded (certs.san); the detail
         * names the first of them so that the operator can tell what the
         * address serves. */
        clean_copy(names, sizeof(names), san != NULL ? san : "", TW_CERT_FIELD_MAX);
        set |= TW_ISSUE_NAME_UNCHECKED;
        db_part(d,
                "name not checked: address target without SNI (--check-names checks it);"
                " certificate names: %s%s",
                names[0] != '\0' ? names : "none (no subjectAltName)",
                san != NULL && strnlen(san, TW_CERT_FIELD_MAX) >= sizeof(names) ? "..." : "");
    } else if (c->hostname_checked && !c->hostname_ok) {
        set |= TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH);
        db_part(d, "certificate does not cover '%s'", checked_name);
        if (c->leaf_no_san)
            db_part(d, "no subjectAltName: clients ignore the subject CN");
    }
    if (c->weak_key) {
        char kt[sizeof(c->key_type)];
        clean_copy(kt, sizeof(kt), c->key_type, sizeof(c->key_type));
        set |= TW_ISSUE(TW_CLASS_WEAK_KEY);
        db_part(d, "weak key: %s %d bits", kt, c->key_bits);
    }
    if (c->weak_signature) {
        set |= TW_ISSUE(TW_CLASS_WEAK_SIGNATURE);
        db_part(d, "SHA-1/MD5 signature below the root");
    }

    if (n > 0 || c->verify_truncated) {
        db_part(d, "verify errors:");
        for (int i = 0; i < n; i++)
            db_more(d, "%s depth %d: %s (%d)", i ? "," : "", c->verify[i].depth,
                    X509_verify_cert_error_string(c->verify[i].code), c->verify[i].code);
        if (c->verify_truncated)
            db_more(d, ", ... (truncated)");
        if (n_other > 0)
            db_more(d, " [%d other verify error(s) counted as untrusted]", n_other);
    }
    switch (c->ocsp) {
    case TW_OCSP_GOOD:
        db_part(d, "stapled OCSP: good");
        break;
    case TW_OCSP_UNKNOWN:
        db_part(d, "stapled OCSP: unknown");
        break;
    case TW_OCSP_INVALID:
        db_part(d, "stapled OCSP: invalid response");
        break;
    case TW_OCSP_NONE:
    case TW_OCSP_REVOKED:
        break;
    }
    if (!(set & TW_ISSUE(TW_CLASS_CERT_EXPIRED)) && c->not_after >= c->now) {
        int64_t left = sat_sub(c->not_after, c->now);
        db_part(d, "expires in %lld days (notAfter %s)", (long long)(left / 86400), na);
    }
    return set;
}

/* ---- the failure of MAIN ---- */

static void
describe_first_bytes(const struct tw_probe_result *p, struct dbuf *d)
{
    int n = p->n_first > sizeof(p->first_bytes) ? (int)sizeof(p->first_bytes) : p->n_first;

    db_more(d, " \"");
    for (int i = 0; i < n; i++) {
        unsigned char c = p->first_bytes[i];
        db_more(d, "%c", (c >= 0x20 && c < 0x7f) ? (char)c : '.');
    }
    db_more(d, "\" (");
    for (int i = 0; i < n; i++)
        db_more(d, "%s%02x", i ? " " : "", p->first_bytes[i]);
    db_more(d, ")");
}

/* The class of a MAIN that ended before a TLS exchange could decide anything. */
static enum tw_class
network_class(const struct tw_probe_result *m, struct dbuf *d)
{
    const char *en;

    switch (m->outcome) {
    case TW_PROBE_CONNECT_ERROR:
        en = errno_name(m->sys_errno);
        db_part(d, "connect failed: %s (errno %d)", en ? en : "error", m->sys_errno);
        if (m->sys_errno == ECONNREFUSED)
            return TW_CLASS_TCP_REFUSED;
        if (m->sys_errno == ETIMEDOUT)
            return TW_CLASS_TCP_TIMEOUT;
        if (m->sys_errno == ECONNRESET || m->sys_errno == ECONNABORTED || m->sys_errno == EPIPE)
            return TW_CLASS_TCP_RESET;
        if (m->sys_errno == EADDRNOTAVAIL || m->sys_errno == ENETDOWN ||
            m->sys_errno == EAFNOSUPPORT || m->sys_errno == EACCES || m->sys_errno == EPERM)
            db_more(d, " (local: the scanner host cannot send to it; the target may be fine)");
        return TW_CLASS_TCP_UNREACHABLE;
    case TW_PROBE_CONNECT_TIMEOUT:
        db_part(d, "connect timed out: no answer to SYN");
        return TW_CLASS_TCP_TIMEOUT;
    case TW_PROBE_RESET:
        db_part(d, "connection reset during the handshake after %u bytes", m->bytes_in);
        return TW_CLASS_TCP_RESET;
    case TW_PROBE_EOF:
        db_part(d, "peer closed the connection after %u bytes without an alert", m->bytes_in);
        return TW_CLASS_TCP_RESET;
    case TW_PROBE_TIMEOUT:
        if (m->bytes_in == 0)
            db_part(d, "connected, then no byte before the handshake timeout");
        else
            db_part(d, "handshake stalled after %u bytes", m->bytes_in);
        return TW_CLASS_HANDSHAKE_TIMEOUT;
    case TW_PROBE_NOT_TLS:
        db_part(d, "not TLS: first bytes");
        describe_first_bytes(m, d);
        return TW_CLASS_NOT_TLS;
    case TW_PROBE_NOT_RUN:
    case TW_PROBE_OK:
    case TW_PROBE_ALERT_RECEIVED:
    case TW_PROBE_LOCAL_ERROR:
        break;
    }
    return TW_CLASS_OK;
}

/* What MAIN saw when the handshake itself failed. */
static void
describe_tls_failure(const struct tw_probe_result *m, struct dbuf *d)
{
    char ab[32], e[sizeof(m->err) + 1];

    if (m->outcome == TW_PROBE_ALERT_RECEIVED) {
        const char *an = tw_classify_alert_name(m->alert, ab, sizeof(ab));
        if (an == ab) /* no name: "alert N" already */
            db_part(d, "server sent %s", an);
        else
            db_part(d, "server sent alert %s (%d)", an, m->alert);
        return;
    }
    clean_copy(e, sizeof(e), m->err, sizeof(m->err));
    db_part(d, "local error: %s", e[0] ? e : "unknown");
    if (m->alert >= 0)
        db_more(d, " (we sent alert %s)", tw_classify_alert_name(m->alert, ab, sizeof(ab)));
}

/*
 * The cause of a handshake-level failure of MAIN, from the follow-up probes.
 * Returns the set of proven causes (empty = nothing proven).
 */
static tw_issue_set
probe_causes(const struct tw_evidence *ev, struct dbuf *d)
{
    const struct tw_probe_result *m = &ev->probe[TW_PK_MAIN];
    tw_issue_set set = 0;
    int sk = sni_probe_kind(ev);

    if (looks_like_version(m)) {
        static const int order[] = {TW_PK_TLS13, TW_PK_TLS12, TW_PK_TLS11, TW_PK_TLS10};
        static const int vers[] = {TW_VERSION_TLS13, TW_VERSION_TLS12, TW_VERSION_TLS11,
                                   TW_VERSION_TLS10};
        int ran = 0, ok_v = 0;

        for (size_t i = 0; i < 4; i++) {
            if (probe_ran(ev, order[i]))
                ran++;
            if (probe_ok(ev, order[i]) && ok_v == 0)
                ok_v = vers[i];
        }
        if (ok_v == TW_VERSION_TLS13 || ok_v == TW_VERSION_TLS12) {
            db_part(d, "version intolerance? %s alone works", version_name(ok_v));
        } else {
            set |= TW_ISSUE(TW_CLASS_PROTOCOL_MISMATCH);
            if (ok_v)
                db_part(d, "server speaks %s only, which the default client refuses",
                        version_name(ok_v));
            else if (ran)
                db_part(d, "no single version probe worked");
            else
                db_part(d, "protocol mismatch unconfirmed (no version probe)");
        }
    }
    if (probe_ok(ev, TW_PK_ALL_CIPHERS)) {
        const struct tw_probe_result *a = &ev->probe[TW_PK_ALL_CIPHERS];
        char ci[sizeof(a->cipher) + 1];

        clean_copy(ci, sizeof(ci), a->cipher, sizeof(a->cipher));
        set |= TW_ISSUE(TW_CLASS_NO_SHARED_CIPHER);
        db_part(d, "works only with every cipher enabled (%s %s)", version_name(a->version), ci);
    }
    if (probe_ok(ev, sk)) {
        set |= TW_ISSUE(TW_CLASS_SNI_REQUIRED);
        db_part(d, ev->sent_sni ? "fails with SNI, works without it"
                                : "fails without SNI, works with it");
    } else if (m->outcome == TW_PROBE_ALERT_RECEIVED && m->alert == 112 && !probe_ran(ev, sk)) {
        set |= TW_ISSUE(TW_CLASS_SNI_REQUIRED);
        db_part(d, "the server does not recognise the name sent (or wants one)");
    }
    return set;
}

static void
describe_probes(const struct tw_evidence *ev, struct dbuf *d)
{
    static const int order[] = {TW_PK_NO_SNI, TW_PK_WITH_SNI, TW_PK_ALL_CIPHERS, TW_PK_TLS13,
                                TW_PK_TLS12,  TW_PK_TLS11,    TW_PK_TLS10,       TW_PK_MODERN};
    int first = 1;
    char ab[32];

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const struct tw_probe_result *p = &ev->probe[order[i]];
        if (p->outcome == TW_PROBE_NOT_RUN)
            continue;
        if (first)
            db_part(d, "probes: ");
        db_more(d, "%s%s=%s", first ? "" : ", ", kind_name(order[i]),
                outcome_word(p, ab, sizeof(ab)));
        first = 0;
    }
}

/* The probe the certificate evidence came from: the first completed, in plan order. */
static int
completed_probe(const struct tw_evidence *ev)
{
    static const int order[] = {TW_PK_MAIN,  TW_PK_NO_SNI, TW_PK_WITH_SNI, TW_PK_ALL_CIPHERS,
                                TW_PK_TLS13, TW_PK_TLS12,  TW_PK_TLS11,    TW_PK_TLS10};

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (probe_ok(ev, order[i]))
            return order[i];
    return -1;
}

/* Did MAIN fail because it sent no client certificate?  The server sent a
 * CertificateRequest and then failed the handshake (an alert or a close:
 * TLS 1.2), or completed it and then refused our Finished (TLS 1.3: an
 * alert such as certificate_required, or a close, read in conn.c). */
static int
cert_refused(const struct tw_probe_result *m)
{
    if (!m->cert_requested)
        return 0;
    if (m->outcome == TW_PROBE_OK)
        return m->post_hs == TW_POST_HS_ALERT || m->post_hs == TW_POST_HS_CLOSED;
    return m->outcome == TW_PROBE_ALERT_RECEIVED || m->outcome == TW_PROBE_EOF ||
           m->outcome == TW_PROBE_RESET;
}

/* The client-certificate part of the detail and of the result. */
static void
describe_cert_request(const struct tw_probe_result *m, int refused, struct dbuf *d,
                      struct tw_result *r)
{
    char ab[32];

    r->n_ca_names = m->n_ca_names;
    if (!m->cert_requested) {
        r->cert_request = TW_CERT_REQUEST_NONE;
        return;
    }
    r->cert_request = refused ? TW_CERT_REQUEST_REQUIRED : TW_CERT_REQUEST_OPTIONAL;
    db_part(d, "the server requests a client certificate (CertificateRequest, %u CA name%s)",
            (unsigned)m->n_ca_names, m->n_ca_names == 1 ? "" : "s");
    if (!refused) {
        db_more(d, " but works without one");
        return;
    }
    if (m->outcome != TW_PROBE_OK)
        db_more(d, " and fails the handshake without one");
    else if (m->post_hs == TW_POST_HS_ALERT)
        db_more(d, " and, after the handshake, refuses to go on without one: alert %s (%d)",
                tw_classify_alert_name(m->post_hs_alert, ab, sizeof(ab)), m->post_hs_alert);
    else
        db_more(d, " and, after the handshake, closes the connection without one");
}

void
tw_classify(const struct tw_evidence *ev, struct tw_result *r)
{
    struct dbuf *d = tw_xcalloc(1, sizeof(*d));
    const struct tw_probe_result *m = &ev->probe[TW_PK_MAIN];
    tw_issue_set set = 0;
    int done, stls;
    enum tw_class sc = TW_CLASS_OK;
    char name[TW_HOST_MAX + 1];
    char sbuf[TW_PROBE_STARTTLS_DETAIL + 160];

    /* The name certinfo checked: the SNI sent, else the host, else the address. */
    if (r->has_sni)
        clean_copy(name, sizeof(name), r->sni, sizeof(r->sni));
    else
        clean_copy(name, sizeof(name), r->host, sizeof(r->host));
    if (name[0] == '\0')
        clean_copy(name, sizeof(name), r->ip, sizeof(r->ip));

    /* DNS failures hide everything else. */
    if (dns_failed(ev)) {
        enum tw_class c = ev->dns == TW_DNS_NXDOMAIN   ? TW_CLASS_DNS_NXDOMAIN
                          : ev->dns == TW_DNS_SERVFAIL ? TW_CLASS_DNS_SERVFAIL
                                                       : TW_CLASS_DNS_TIMEOUT;
        db_part(d, "dns: %s (ares status %d)", tw_class_name(c) + 4, ev->dns_status);
        set = TW_ISSUE(c);
        goto out;
    }

    done = completed_probe(ev);
    /* The chain of a handshake that failed after a CertificateRequest (the
     * Certificate came first) is judged like a completed one. */
    if (done < 0 && m->cert_requested && ev->cert.has_chain)
        done = TW_PK_MAIN;
    stls = tw_starttls_classify(m, &sc, sbuf, sizeof(sbuf));
    if (stls) {
        /* The plaintext phase decided: nothing TLS happened on MAIN. */
        db_part(d, "%s", sbuf);
        if (sc == TW_CLASS_NOT_TLS && m->n_first > 0) {
            db_more(d, "; first bytes");
            describe_first_bytes(m, d);
        }
        set |= TW_ISSUE(sc);
    } else if (m->outcome == TW_PROBE_OK) {
        char ci[sizeof(m->cipher) + 1];
        clean_copy(ci, sizeof(ci), m->cipher, sizeof(m->cipher));
        db_part(d, "handshake ok: %s%s%s", version_name(m->version), ci[0] ? " " : "", ci);
        if (m->starttls != TW_STARTTLS_NONE)
            db_more(d, " after STARTTLS (%s)", tw_starttls_name(m->starttls));
        if (cert_refused(m))
            set |= TW_ISSUE(TW_CLASS_CLIENT_CERT_REQUIRED);
    } else if (cert_refused(m)) {
        /* Before describe_tls_failure's generic reading: the request explains it. */
        if (is_handshake_failure(m))
            describe_tls_failure(m, d);
        else
            network_class(m, d);
        set |= TW_ISSUE(TW_CLASS_CLIENT_CERT_REQUIRED);
    } else if (m->outcome == TW_PROBE_NOT_RUN) {
        db_part(d, "main probe not run");
        if (done < 0)
            set |= TW_ISSUE(TW_CLASS_TLS_ALERT); /* nothing observed at all: never "ok" */
    } else if (is_handshake_failure(m)) {
        tw_issue_set causes;

        describe_tls_failure(m, d);
        causes = probe_causes(ev, d);
        set |= causes ? causes : TW_ISSUE(TW_CLASS_TLS_ALERT);
    } else {
        enum tw_class c = network_class(m, d);
        tw_issue_set causes = 0;

        /* A reset/close that the SNI toggle explains is sni_required. */
        if (m->outcome == TW_PROBE_RESET || m->outcome == TW_PROBE_EOF)
            causes = probe_causes(ev, d);
        if (c != TW_CLASS_OK)
            set |= causes ? causes : TW_ISSUE(c);
    }
    if (!stls && m->starttls != TW_STARTTLS_NONE && m->outcome != TW_PROBE_OK &&
        m->starttls_result == TW_STARTTLS_READY)
        db_part(d, "TLS after STARTTLS (%s)", tw_starttls_name(m->starttls));
    if (!stls)
        describe_cert_request(m, cert_refused(m), d, r);
    describe_probes(ev, d);

    if (done >= 0) {
        if (done != TW_PK_MAIN)
            db_part(d, "certificate from probe %s", kind_name(done));
        set |=
            cert_issues(ev, name, r->n_chain > 0 && r->chain != NULL ? r->chain[0].san : NULL, d);
    }

out:
    r->issues = set & ~TW_ISSUE(TW_CLASS_OK);
    r->cls = tw_issues_primary(r->issues);
    tw_result_set_detail(r, d->b);
    free(d);
}

/* ---- the client policy (issue 13) ---- */

int
tw_classify_policy_probe(const struct tw_evidence *ev, int policy)
{
    const struct tw_probe_result *m = &ev->probe[TW_PK_MAIN];

    if (policy != TW_CLIENTS_MODERN || m->outcome != TW_PROBE_OK || dns_failed(ev))
        return -1;
    if (m->version < TW_CLIENTS_MODERN_MIN_VERSION || tw_clients_modern_suite(m->cipher_id))
        return -1; /* decided by the one handshake */
    return probe_ran(ev, TW_PK_MODERN) ? -1 : TW_PK_MODERN;
}

/* A client policy's verdict into r: the words of d appended to its detail
 * (d is freed), the issues add added and the primary class chosen again. */
static void
policy_apply(struct tw_result *r, struct dbuf *d, tw_issue_set add)
{
    if (d->n > 0) {
        struct dbuf *all = tw_xcalloc(1, sizeof(*all));

        if (r->detail != NULL && r->detail[0] != '\0')
            db_more(all, "%s", r->detail);
        db_part(all, "%s", d->b);
        tw_result_set_detail(r, all->b);
        free(all);
    }
    free(d);
    r->issues |= add;
    r->cls = tw_issues_primary(r->issues);
}

/* The highest wire version in a TW_PROTO_BIT set, 0 for none. */
static int
best_version(unsigned bits)
{
    static const int wire[TW_PROTO__COUNT] = {
        [TW_PROTO_SSL2] = TW_VERSION_SSL2,   [TW_PROTO_SSL3] = TW_VERSION_SSL3,
        [TW_PROTO_TLS10] = TW_VERSION_TLS10, [TW_PROTO_TLS11] = TW_VERSION_TLS11,
        [TW_PROTO_TLS12] = TW_VERSION_TLS12, [TW_PROTO_TLS13] = TW_VERSION_TLS13,
    };

    for (int p = TW_PROTO__COUNT - 1; p >= 0; p--)
        if (bits & TW_PROTO_BIT(p))
            return wire[p];
    return 0;
}

void
tw_classify_policy(const struct tw_evidence *ev, const struct tw_grade_record *g, int policy,
                   struct tw_result *r)
{
    struct dbuf *d;
    tw_issue_set add = 0;
    int best = 0, shared = -1; /* shared: 1 yes, 0 no, -1 unknown */
    int p;

    if (policy != TW_CLIENTS_MODERN || dns_failed(ev))
        return;
    if (g != NULL && g->protocols_ok != 0) {
        /* The enumeration: every protocol and suite the server accepts. */
        int n = g->n_suites < 0                    ? 0
                : g->n_suites > TW_GREC_SUITES_MAX ? TW_GREC_SUITES_MAX
                                                   : g->n_suites;

        best = best_version(g->protocols_ok);
        shared = 0;
        for (int i = 0; i < n && !shared; i++)
            shared = g->suites[i].protocol >= TW_CLIENTS_MODERN_MIN_VERSION &&
                     g->suites[i].code <= 0xffff &&
                     tw_clients_modern_suite((uint16_t)g->suites[i].code);
    } else {
        /* The completed handshake (MAIN when it did). */
        p = completed_probe(ev);
        if (p < 0)
            return;
        best = ev->probe[p].version;
        if (tw_clients_modern_suite(ev->probe[p].cipher_id))
            shared = 1;
        else if (p == TW_PK_MAIN && probe_ran(ev, TW_PK_MODERN))
            shared = probe_ok(ev, TW_PK_MODERN);
    }
    d = tw_xcalloc(1, sizeof(*d));
    if (best > 0 && best < TW_CLIENTS_MODERN_MIN_VERSION) {
        add |= TW_ISSUE(TW_CLASS_PROTOCOL_MISMATCH);
        db_part(d, "accepts only TLS 1.0/1.1 or older (best: %s): modern clients refuse it",
                version_name(best));
    } else if (shared == 0) {
        add |= TW_ISSUE(TW_CLASS_NO_SHARED_CIPHER);
        db_part(d, "accepts no cipher suite that modern clients offer (browsers, OpenSSL 3)");
    } else if (shared < 0) {
        db_part(d, "suites for modern clients not checked");
    }
    policy_apply(r, d, add);
}

void
tw_classify_policy_set(const struct tw_evidence *ev, const struct tw_grade_record *g,
                       const struct tw_clients_set *set, struct tw_result *r)
{
    struct dbuf *d;
    tw_issue_set add = 0;
    int n_proto = 0, n_cipher = 0;

    if (set == NULL || dns_failed(ev) || completed_probe(ev) < 0)
        return;
    d = tw_xcalloc(1, sizeof(*d));
    if (g == NULL || g->n_sims <= 0) {
        db_part(d, "clients of '%s' not checked (no grading)", set->spec);
    } else {
        for (int i = 0; i < g->n_sims && i < TW_GREC_SIMS_MAX; i++) {
            const struct tw_grec_sim *m = &g->sims[i];
            int proto = m->cls != NULL && strcmp(m->cls, "protocol_mismatch") == 0;
            int cipher = m->cls != NULL && strcmp(m->cls, "no_shared_cipher") == 0;

            if (m->ok || !(proto || cipher) || !tw_clients_set_has(set, m->client))
                continue;
            add |= TW_ISSUE(proto ? TW_CLASS_PROTOCOL_MISMATCH : TW_CLASS_NO_SHARED_CIPHER);
            if (proto && n_proto++ < 4)
                db_part(d, "%s: no shared TLS version", m->client);
            if (cipher && n_cipher++ < 4)
                db_part(d, "%s: no shared cipher suite", m->client);
        }
        if (n_proto > 4 || n_cipher > 4)
            db_part(d, "and %d more client(s) of '%s'",
                    (n_proto > 4 ? n_proto - 4 : 0) + (n_cipher > 4 ? n_cipher - 4 : 0), set->spec);
    }
    policy_apply(r, d, add);
}
