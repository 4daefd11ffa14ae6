/*
 * model.c - the class table (name, explanation, fix, reproduce flags) and
 * the result record's helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/xalloc.h"
#include "store/model.h"

/* Indexed by enum tw_class; tw_class_info() checks the order at the edges. */
static const struct tw_class_info class_table[TW_CLASS__COUNT] = {
    [TW_CLASS_DNS_NXDOMAIN] =
        {"dns_nxdomain", "The name does not exist in DNS (NXDOMAIN).",
         "Fix the name in the target list, or publish the DNS record; check with "
         "dig NAME A and dig NAME AAAA.",
         "", 1},
    [TW_CLASS_DNS_SERVFAIL] = {"dns_servfail",
                               "The resolver failed to answer (SERVFAIL, REFUSED or a bad reply).",
                               "Check the zone's authoritative servers and DNSSEC, or the "
                               "resolver given with --resolver; dig NAME shows the status, "
                               "dig +cd NAME answering means DNSSEC validation fails.",
                               "", 1},
    [TW_CLASS_DNS_TIMEOUT] = {"dns_timeout", "No DNS answer arrived in time.",
                              "Check that the resolver is reachable and the zone's servers answer "
                              "(dig +tries=1 +time=5 NAME @RESOLVER); raise --dns-timeout for "
                              "slow resolvers.",
                              "", 1},
    [TW_CLASS_TCP_REFUSED] = {"tcp_refused",
                              "Nothing listens on the port: the connection was refused (RST).",
                              "Start the service or correct the port; check the load balancer's "
                              "listener.",
                              "", 1},
    [TW_CLASS_TCP_UNREACHABLE] = {"tcp_unreachable",
                                  "No route to the address (host or network unreachable).",
                                  "Check routing, the address, and ICMP-rejecting firewalls.", "",
                                  1},
    [TW_CLASS_TCP_TIMEOUT] = {"tcp_timeout",
                              "The TCP connection was never answered: SYNs are dropped.",
                              "Open the firewall or security group for this port, or check that "
                              "the host is up.",
                              "", 1},
    [TW_CLASS_TCP_RESET] = {"tcp_reset",
                            "The connection was reset or closed right after the ClientHello.",
                            "Look for a middlebox (DPI, IPS) or a crashing TLS terminator; check "
                            "the server's error log.",
                            "", 1},
    /* No class flags for the STARTTLS classes: every command for a STARTTLS
     * endpoint (whatever its class) needs "-starttls NAME" with the endpoint's
     * own protocol, which the command builders add from tw_starttls_name(). */
    [TW_CLASS_STARTTLS_UNSUPPORTED] = {"starttls_unsupported",
                                       "The service answered in plaintext but does not offer "
                                       "STARTTLS (not in its capabilities, or the upgrade "
                                       "command is unknown).",
                                       "Enable STARTTLS on the service (e.g. Postfix "
                                       "smtpd_tls_security_level, Dovecot ssl = yes, "
                                       "PostgreSQL ssl = on), or scan its direct-TLS port.",
                                       "", 1},
    [TW_CLASS_STARTTLS_REFUSED] = {"starttls_refused",
                                   "The service offers STARTTLS but answered the upgrade "
                                   "command with an error (e.g. SMTP 454, IMAP NO).",
                                   "Check the service's TLS certificate and key configuration "
                                   "and its log: the upgrade usually fails because TLS is "
                                   "misconfigured or temporarily unavailable.",
                                   "", 1},
    [TW_CLASS_HANDSHAKE_TIMEOUT] = {"handshake_timeout",
                                    "Connected, then silence: the handshake never progressed.",
                                    "Check for MTU/PMTUD black holes and middleboxes that "
                                    "swallow the ClientHello; check that the service speaks TLS.",
                                    "", 1},
    [TW_CLASS_NOT_TLS] = {"not_tls",
                          "The peer answered with something that is not TLS (HTTP, SSH, banner).",
                          "Point the target at the TLS port, or enable TLS on this listener.", "",
                          1},
    [TW_CLASS_PROTOCOL_MISMATCH] = {"protocol_mismatch",
                                    "No TLS version is acceptable to both sides.",
                                    "Enable TLS 1.2 (and 1.3) on the server; retire SSLv3/TLS 1.0.",
                                    "", 1},
    [TW_CLASS_NO_SHARED_CIPHER] = {"no_shared_cipher",
                                   "No cipher suite is acceptable to both "
                                   "sides.",
                                   "Enable modern AEAD suites (ECDHE with AES-GCM or "
                                   "ChaCha20-Poly1305).",
                                   "", 1},
    [TW_CLASS_SNI_REQUIRED] = {"sni_required",
                               "The server fails the handshake without SNI but completes it with "
                               "SNI.",
                               "Configure a default certificate for clients without SNI, or make "
                               "sure every client sends SNI.",
                               " -noservername", 1},
    [TW_CLASS_CLIENT_CERT_REQUIRED] = {"client_cert_required",
                                       "The server asks for a client certificate and fails the "
                                       "handshake without one (mutual TLS).",
                                       "Expected for an mTLS endpoint: give its clients a "
                                       "certificate from a CA it names; otherwise make the "
                                       "certificate optional (e.g. nginx ssl_verify_client "
                                       "optional).",
                                       " -cert client.pem -key client.key", 1},
    [TW_CLASS_TLS_ALERT] = {"tls_alert", "The server aborted the handshake with a fatal alert.",
                            "Read the alert name in the detail and the server's TLS error log.", "",
                            1},
    [TW_CLASS_CERT_REVOKED] = {"cert_revoked",
                               "The stapled OCSP response says the certificate is revoked.",
                               "Issue and deploy a new certificate; remove the revoked one.",
                               " -status", 0},
    [TW_CLASS_CERT_EXPIRED] = {"cert_expired", "The certificate's notAfter date has passed.",
                               "Renew the certificate and reload the server; automate renewal "
                               "(ACME).",
                               "", 0},
    [TW_CLASS_CERT_NOT_YET_VALID] = {"cert_not_yet_valid",
                                     "The certificate's notBefore is in the future: a clock is "
                                     "wrong on one side, or the certificate was deployed early.",
                                     "Sync the clocks with NTP (scanner and issuing host); wait or "
                                     "re-issue with a correct start date.",
                                     "", 0},
    [TW_CLASS_SELF_SIGNED] = {"self_signed", "The leaf certificate is signed by itself.",
                              "Install a certificate from a trusted CA (or add this one to the "
                              "clients' trust store on purpose).",
                              "", 0},
    [TW_CLASS_UNTRUSTED_ROOT] = {"untrusted_root",
                                 "The chain ends in a root that the trust store does not hold.",
                                 "Use a certificate from a publicly trusted CA, or pass the "
                                 "private root with --ca-file.",
                                 "", 0},
    [TW_CLASS_INCOMPLETE_CHAIN] = {"incomplete_chain",
                                   "The server does not send the intermediate certificate(s).",
                                   "Serve the full chain (leaf + intermediates), e.g. "
                                   "fullchain.pem instead of cert.pem.",
                                   " -showcerts", 0},
    [TW_CLASS_HOSTNAME_MISMATCH] = {"hostname_mismatch",
                                    "The certificate does not cover the name that was asked for.",
                                    "Re-issue the certificate with this name in its SANs, or fix "
                                    "the SNI/virtual-host mapping.",
                                    "", 0},
    [TW_CLASS_WEAK_KEY] = {"weak_key",
                           "The certificate key is too small (RSA/DSA < 2048 bits, EC < 224).",
                           "Re-key with RSA 2048+ or ECDSA P-256 and re-issue.", "", 0},
    [TW_CLASS_WEAK_SIGNATURE] = {"weak_signature",
                                 "A certificate below the root is signed with SHA-1 or MD5.",
                                 "Re-issue with a SHA-256 signature.", "", 0},
    [TW_CLASS_OK] = {"ok", "No problem found.", "Nothing to do.", "", 0},
};

const struct tw_class_info *
tw_class_info(enum tw_class c)
{
    if ((unsigned)c >= TW_CLASS__COUNT)
        c = TW_CLASS_TLS_ALERT;
    return &class_table[c];
}

const char *
tw_class_name(enum tw_class c)
{
    return tw_class_info(c)->name;
}

int
tw_class_from_name(const char *name, enum tw_class *out)
{
    for (int i = 0; i < TW_CLASS__COUNT; i++) {
        if (strcmp(class_table[i].name, name) == 0) {
            *out = (enum tw_class)i;
            return 0;
        }
    }
    return -1;
}

enum tw_class
tw_issues_primary(tw_issue_set set)
{
    for (int i = 0; i < TW_CLASS_OK; i++)
        if (set & TW_ISSUE(i))
            return (enum tw_class)i;
    return TW_CLASS_OK;
}

size_t
tw_issues_format(tw_issue_set set, char *buf, size_t len)
{
    size_t n = 0;

    if (len == 0)
        return 0;
    buf[0] = '\0';
    set &= ~TW_ISSUE(TW_CLASS_OK);
    if (set == 0)
        return tw_strlcpy(buf, "ok", len);
    for (int i = 0; i <= TW_CLASS_OK; i++) {
        /* i == TW_CLASS_OK stands for the one non-class issue, last. */
        const char *name = i < TW_CLASS_OK ? class_table[i].name : TW_ISSUE_NAME_UNCHECKED_NAME;

        if (!(set & (i < TW_CLASS_OK ? TW_ISSUE(i) : TW_ISSUE_NAME_UNCHECKED)))
            continue;
        int r = snprintf(buf + n, len - n, "%s%s", n ? "," : "", name);
        if (r < 0 || (size_t)r >= len - n) {
            n = strlen(buf);
            break;
        }
        n += (size_t)r;
    }
    return n;
}

int
tw_issues_parse(const char *s, tw_issue_set *out)
{
    tw_issue_set set = 0;
    const char *p = s;

    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[64];
        enum tw_class c;

        if (len == 0 || len >= sizeof(name))
            return -1;
        memcpy(name, p, len);
        name[len] = '\0';
        if (strcmp(name, TW_ISSUE_NAME_UNCHECKED_NAME) == 0)
            set |= TW_ISSUE_NAME_UNCHECKED;
        else if (tw_class_from_name(name, &c) < 0)
            return -1;
        else if (c != TW_CLASS_OK)
            set |= TW_ISSUE(c);
        p += len;
        if (*p == ',')
            p++;
    }
    *out = set;
    return 0;
}

/* Indexed by enum tw_starttls_proto: the s_client -starttls names. */
static const char *const starttls_names[TW_STARTTLS__COUNT] = {
    [TW_STARTTLS_NONE] = "",     [TW_STARTTLS_SMTP] = "smtp",         [TW_STARTTLS_IMAP] = "imap",
    [TW_STARTTLS_POP3] = "pop3", [TW_STARTTLS_FTP] = "ftp",           [TW_STARTTLS_XMPP] = "xmpp",
    [TW_STARTTLS_LDAP] = "ldap", [TW_STARTTLS_POSTGRES] = "postgres",
};

const char *
tw_starttls_name(int proto)
{
    if (proto <= 0 || proto >= TW_STARTTLS__COUNT)
        return "";
    return starttls_names[proto];
}

int
tw_starttls_from_target(const char *target)
{
    const char *sep;
    size_t n;

    if (target == NULL || (sep = strstr(target, "://")) == NULL)
        return TW_STARTTLS_NONE;
    n = (size_t)(sep - target);
    if (n == strlen("submission") && strncasecmp(target, "submission", n) == 0)
        return TW_STARTTLS_SMTP;
    for (int p = 1; p < TW_STARTTLS__COUNT; p++)
        if (strlen(starttls_names[p]) == n && strncasecmp(target, starttls_names[p], n) == 0)
            return p;
    return TW_STARTTLS_NONE;
}

/* ---- the reproduce command ---- */

/* The class table's flags for sni_required: printed by the SNI choice. */
#define REPRO_NO_SNI " -noservername"

/* A bounded string under construction: at is strlen(b), b[len - 1] at most. */
struct repro_buf {
    char *b;
    size_t len;
    size_t at;
};

static void
repro_put(struct repro_buf *rb, const char *s, size_t n)
{
    if (rb->at + 1 >= rb->len)
        return;
    if (n > rb->len - 1 - rb->at)
        n = rb->len - 1 - rb->at;
    memcpy(rb->b + rb->at, s, n);
    rb->at += n;
    rb->b[rb->at] = '\0';
}

static void
repro_str(struct repro_buf *rb, const char *s)
{
    repro_put(rb, s, strlen(s));
}

static int
is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* Append s as one shell word: control bytes dropped, then '...' (a quote
 * inside becomes '\'') unless every byte is one a shell leaves alone. */
static void
repro_word(struct repro_buf *rb, const char *s)
{
    static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789._:-/@%+,=";
    size_t kept = 0;
    int quote = 0;

    for (const char *p = s; *p != '\0'; p++) {
        if (is_control((unsigned char)*p))
            continue;
        kept++;
        if (memchr(safe, *p, sizeof(safe) - 1) == NULL)
            quote = 1;
    }
    if (kept == 0)
        quote = 1; /* an empty word must still be a word: '' */
    if (quote)
        repro_put(rb, "'", 1);
    for (const char *p = s; *p != '\0'; p++) {
        if (is_control((unsigned char)*p))
            continue;
        if (*p == '\'' && quote)
            repro_str(rb, "'\\''");
        else
            repro_put(rb, p, 1);
    }
    if (quote)
        repro_put(rb, "'", 1);
}

static int
is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int
is_trust_class(enum tw_class c)
{
    return c == TW_CLASS_CERT_REVOKED || c == TW_CLASS_CERT_EXPIRED ||
           c == TW_CLASS_CERT_NOT_YET_VALID || c == TW_CLASS_SELF_SIGNED ||
           c == TW_CLASS_UNTRUSTED_ROOT || c == TW_CLASS_INCOMPLETE_CHAIN ||
           c == TW_CLASS_WEAK_SIGNATURE;
}

/* The s_client flags that pin the version the server speaks: the negotiated
 * one, else the one the classifier named in the detail; "" when unknown. */
static const char *
repro_version_flags(const char *tls_version, const char *detail)
{
    static const char marker[] = "server speaks ";
    const char *sp = detail != NULL ? strstr(detail, marker) : NULL;
    char v[16] = "";
    size_t i = 0;

    if (is_set(tls_version)) {
        tw_strlcpy(v, tls_version, sizeof(v));
    } else if (sp != NULL) {
        sp += strlen(marker);
        while (i + 1 < sizeof(v) && (isalnum((unsigned char)sp[i]) || sp[i] == '.')) {
            v[i] = sp[i];
            i++;
        }
        v[i] = '\0';
    }
    if (strcmp(v, "TLSv1") == 0 || strcmp(v, "TLSv1.0") == 0)
        return " -tls1 -cipher DEFAULT@SECLEVEL=0";
    if (strcmp(v, "TLSv1.1") == 0)
        return " -tls1_1 -cipher DEFAULT@SECLEVEL=0";
    if (strcmp(v, "TLSv1.2") == 0)
        return " -tls1_2";
    if (strcmp(v, "TLSv1.3") == 0)
        return " -tls1_3";
    return "";
}

size_t
tw_class_repro(const struct tw_repro_in *in, char *buf, size_t len)
{
    const char *flags = tw_class_info(in->cls)->repro;
    const char *addr = is_set(in->ip) ? in->ip : is_set(in->host) ? in->host : "";
    const char *sni = is_set(in->sni) ? in->sni : NULL;
    int flags_no_sni = strcmp(flags, REPRO_NO_SNI) == 0;
    struct repro_buf rb = {buf, len, 0};
    char hp[TW_HOST_MAX + 16];

    if (len == 0)
        return 0;
    buf[0] = '\0';
    if (strchr(addr, ':') != NULL)
        snprintf(hp, sizeof(hp), "[%s]:%d", addr, in->port);
    else
        snprintf(hp, sizeof(hp), "%s:%d", addr, in->port);
    repro_str(&rb, "openssl s_client -connect ");
    repro_word(&rb, hp);
    if (sni == NULL || flags_no_sni) {
        repro_str(&rb, REPRO_NO_SNI);
    } else {
        repro_str(&rb, " -servername ");
        repro_word(&rb, sni);
    }
    if (!flags_no_sni)
        repro_str(&rb, flags);
    if (in->cls == TW_CLASS_PROTOCOL_MISMATCH)
        repro_str(&rb, repro_version_flags(in->tls_version, in->detail));
    if (is_trust_class(in->cls))
        repro_str(&rb, " -verify_return_error");
    if (in->cls == TW_CLASS_HOSTNAME_MISMATCH) {
        repro_str(&rb, " -verify_return_error");
        if (sni != NULL || is_set(in->host)) {
            repro_str(&rb, " -verify_hostname ");
            repro_word(&rb, sni != NULL ? sni : in->host);
        } else {
            repro_str(&rb, " -verify_ip ");
            repro_word(&rb, addr);
        }
    }
    /* The command must speak the same plaintext phase, whatever the class. */
    if (in->starttls > TW_STARTTLS_NONE && in->starttls < TW_STARTTLS__COUNT) {
        repro_str(&rb, " -starttls ");
        repro_str(&rb, tw_starttls_name(in->starttls));
    }
    return rb.at;
}

void
tw_cert_cleanup(struct tw_cert *c)
{
    if (c == NULL)
        return;
    free(c->subject);
    free(c->issuer);
    free(c->san);
    free(c->pem);
    memset(c, 0, sizeof(*c));
}

void
tw_result_free(struct tw_result *r)
{
    if (r == NULL)
        return;
    free(r->target);
    free(r->detail);
    for (size_t i = 0; i < r->n_chain; i++)
        tw_cert_cleanup(&r->chain[i]);
    free(r->chain);
    free(r->grading);
    free(r->ca_names);
    free(r);
}

void
tw_result_set_detail(struct tw_result *r, const char *text)
{
    free(r->detail);
    r->detail = text ? tw_xstrndup(text, TW_DETAIL_MAX) : NULL;
}

void
tw_time_iso(int64_t t, char buf[21])
{
    struct tm tm;
    time_t tt = (time_t)t;

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        tw_strlcpy(buf, "1970-01-01T00:00:00Z", 21);
}

/* The last second a four-digit year can name: 9999-12-31T23:59:59Z. */
#define TW_TIME_MAX INT64_C(253402300799)

/* 1 when year is a Gregorian leap year. */
static int
time_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/* 1 when the broken-down date and time name a real instant between
 * 1970-01-01 and 9999-12-31: strptime checks each field's own range only,
 * so it takes 2027-02-30 and a leap second, which timegm would carry over. */
static int
time_fields_valid(const struct tm *tm)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = tm->tm_year + 1900;
    int last;

    if (year < 1970 || year > 9999 || tm->tm_mon < 0 || tm->tm_mon > 11)
        return 0;
    last = mdays[tm->tm_mon] + (tm->tm_mon == 1 && time_is_leap(year));
    return tm->tm_mday >= 1 && tm->tm_mday <= last && tm->tm_hour >= 0 && tm->tm_hour <= 23 &&
           tm->tm_min >= 0 && tm->tm_min <= 59 && tm->tm_sec >= 0 && tm->tm_sec <= 59;
}

int
tw_time_parse(const char *s, int64_t *out)
{
    struct tm tm;
    const char *end;

    if (s == NULL || *s == '\0')
        return -1;
    if (s[0] == '@') {
        char *e;
        long long v;

        /* Only plain digits: no sign, no space (strtoll takes both). */
        if (!isdigit((unsigned char)s[1]))
            return -1;
        errno = 0;
        v = strtoll(s + 1, &e, 10);
        if (*e != '\0' || errno == ERANGE || v > TW_TIME_MAX)
            return -1;
        *out = v;
        return 0;
    }
    memset(&tm, 0, sizeof(tm));
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL)
        return -1;
    if (*end == 'T' || *end == ' ') {
        end = strptime(end + 1, "%H:%M:%S", &tm);
        if (end == NULL)
            return -1;
    }
    if (*end == 'Z')
        end++;
    if (*end != '\0' || !time_fields_valid(&tm))
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}
