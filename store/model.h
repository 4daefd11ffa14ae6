/*
 * model.h - the shared vocabulary: failure classes and the result record.
 *
 * This is the bottom of the dependency graph (STYLE G1): the scanner fills a
 * struct tw_result, the store writes it, the report reads it back.  Class
 * names are DESIGN §3's spelling exactly; their order here IS the
 * precedence (the primary class is the lowest-numbered one that applies).
 *
 * A tw_result owns every pointer in it (and its certificates); it crosses
 * threads by ownership transfer only (scanner worker -> writer queue ->
 * freed by the writer after commit).
 */
#ifndef TW_STORE_MODEL_H
#define TW_STORE_MODEL_H

#include <stddef.h>
#include <stdint.h>

enum tw_class {
    TW_CLASS_DNS_NXDOMAIN = 0,
    TW_CLASS_DNS_SERVFAIL,
    TW_CLASS_DNS_TIMEOUT,
    TW_CLASS_TCP_REFUSED,
    TW_CLASS_TCP_UNREACHABLE,
    TW_CLASS_TCP_TIMEOUT,
    TW_CLASS_TCP_RESET,
    TW_CLASS_STARTTLS_UNSUPPORTED, /* the plaintext protocol does not offer STARTTLS */
    TW_CLASS_STARTTLS_REFUSED,     /* STARTTLS offered, the upgrade command got an error */
    TW_CLASS_HANDSHAKE_TIMEOUT,
    TW_CLASS_NOT_TLS,
    TW_CLASS_PROTOCOL_MISMATCH,
    TW_CLASS_NO_SHARED_CIPHER,
    TW_CLASS_SNI_REQUIRED,
    TW_CLASS_CLIENT_CERT_REQUIRED, /* CertificateRequest, then the handshake fails without one */
    TW_CLASS_TLS_ALERT,
    TW_CLASS_CERT_REVOKED,
    TW_CLASS_CERT_EXPIRED,
    TW_CLASS_CERT_NOT_YET_VALID,
    TW_CLASS_SELF_SIGNED,
    TW_CLASS_UNTRUSTED_ROOT,
    TW_CLASS_INCOMPLETE_CHAIN,
    TW_CLASS_HOSTNAME_MISMATCH,
    TW_CLASS_WEAK_KEY,
    TW_CLASS_WEAK_SIGNATURE,
    TW_CLASS_OK,
    TW_CLASS__COUNT
};

/* A set of classes, bit (1 << class).  TW_CLASS_OK is never set in a set. */
typedef uint64_t tw_issue_set;
#define TW_ISSUE(c) ((tw_issue_set)1 << (unsigned)(c))
/* An issue that is not a class (DESIGN §3): an IP or CIDR target scanned
 * without SNI whose certificate does not cover the address: there is no
 * name to check, so the name check does not apply (scan --check-names
 * makes it hostname_mismatch instead).  Never primary; spelled
 * "name_unchecked", after the classes, in the issues text. */
#define TW_ISSUE_NAME_UNCHECKED ((tw_issue_set)1 << 63)
#define TW_ISSUE_NAME_UNCHECKED_NAME "name_unchecked"

struct tw_class_info {
    const char *name;  /* DESIGN §3 spelling, e.g. "cert_expired" */
    const char *why;   /* one-line explanation */
    const char *fix;   /* the likely remediation */
    const char *repro; /* extra s_client flags that reproduce it ("" for none) */
    int is_failure;    /* 1 when no TLS session could be established */
};

/* Never NULL for a valid class; the table is const (STYLE G4). */
const struct tw_class_info *tw_class_info(enum tw_class c);
const char *tw_class_name(enum tw_class c);
/* Returns 0 and sets *out, or -1 when name is not a class. */
int tw_class_from_name(const char *name, enum tw_class *out);

/* The primary class of a set: the first by precedence, or TW_CLASS_OK. */
enum tw_class tw_issues_primary(tw_issue_set set);
/* "a,b,c" in precedence order (then name_unchecked), or "ok" for the empty set.  Returns the length
 * written (truncated to len-1). */
size_t tw_issues_format(tw_issue_set set, char *buf, size_t len);
/* Parse "a,b,c" (or "ok").  Returns 0, or -1 on an unknown name. */
int tw_issues_parse(const char *s, tw_issue_set *out);

/*
 * STARTTLS protocols (issue 9): how a plaintext connection is upgraded to
 * TLS before the handshake.  0 = direct TLS.  Vocabulary shared by the
 * target parser (scheme prefixes), the scanner's plaintext phase
 * (scanner/starttls.h) and the reports' s_client command; the numbers are
 * never stored (the endpoint hash and the target text use the name).
 */
enum tw_starttls_proto {
    TW_STARTTLS_NONE = 0,
    TW_STARTTLS_SMTP, /* smtp:// (25) and submission:// (587) */
    TW_STARTTLS_IMAP,
    TW_STARTTLS_POP3,
    TW_STARTTLS_FTP,
    TW_STARTTLS_XMPP, /* client-to-server */
    TW_STARTTLS_LDAP,
    TW_STARTTLS_POSTGRES,
    TW_STARTTLS__COUNT
};

/* The name `openssl s_client -starttls` takes for proto ("smtp", "imap",
 * "pop3", "ftp", "xmpp", "ldap", "postgres"), or "" for NONE and out-of-range
 * values.  Never NULL. */
const char *tw_starttls_name(int proto);
/* The STARTTLS protocol named by a target text's scheme prefix ("smtp://..",
 * "submission://..", case-insensitive), or TW_STARTTLS_NONE (no scheme,
 * "https://", unknown scheme, NULL).  For renderers that only have the
 * stored target text (report/ may not include scanner/). */
int tw_starttls_from_target(const char *target);

/*
 * The `openssl s_client` command that reproduces a class: the class table's
 * reproduce column made concrete for one endpoint.  The scanner and the
 * reports both build it here, from plain fields, so that the command a
 * report prints is the one the tests check.  In order:
 *   -connect IP:PORT (HOST:PORT when there is no address; IPv6 in brackets);
 *   -servername SNI, or -noservername when no SNI was sent or the class is
 *     reproduced without it (sni_required);
 *   the class's flags (-showcerts, -status);
 *   protocol_mismatch: the version the server speaks (tls_version, else
 *     "server speaks TLSv1.x" in detail): -tls1 / -tls1_1 with
 *     -cipher DEFAULT@SECLEVEL=0 (OpenSSL 3 refuses them at its default
 *     level), -tls1_2, -tls1_3;
 *   certificate classes: -verify_return_error, so that s_client fails the
 *     way the scan did; hostname_mismatch adds -verify_hostname SNI (else
 *     HOST) or -verify_ip IP;
 *   -starttls NAME for a STARTTLS endpoint, whatever the class.
 * Every name is hostile: control bytes are dropped and a word that holds
 * anything but [A-Za-z0-9._:-/@%+,=] is single-quoted for a POSIX shell.
 */
struct tw_repro_in {
    const char *host; /* the target name; NULL or "" when none */
    const char *ip;   /* the address connected to; NULL or "" when none */
    int port;
    const char *sni;         /* the SNI sent; NULL or "" when none */
    int starttls;            /* enum tw_starttls_proto, 0 for direct TLS */
    enum tw_class cls;       /* the class to reproduce (out of range: tls_alert) */
    const char *tls_version; /* "TLSv1.2" or NULL */
    const char *detail;      /* the classifier's detail text or NULL */
};

/* Write the command into buf[len] (truncated, always terminated when len >
 * 0).  Returns the length written.  Borrows in; pure. */
size_t tw_class_repro(const struct tw_repro_in *in, char *buf, size_t len);

/* Caps on what a result may hold (STYLE G15). */
#define TW_HOST_MAX 253        /* a DNS name in text form */
#define TW_IP_MAX 46           /* INET6_ADDRSTRLEN */
#define TW_DETAIL_MAX 4096     /* bytes of detail text kept */
#define TW_CHAIN_MAX 16        /* certificates kept per chain */
#define TW_CERT_FIELD_MAX 4096 /* bytes kept per certificate text field */
#define TW_CERT_PEM_MAX (64 * 1024)

/* One certificate as parsed from the wire.  All strings are heap-owned,
 * bounded by TW_CERT_FIELD_MAX (TW_CERT_PEM_MAX for pem), NUL-terminated and
 * may contain any other byte a hostile server sent (escape on output). */
struct tw_cert {
    char sha256[65]; /* lowercase hex of the DER */
    char *subject;   /* RFC 2253 one-line form */
    char *issuer;
    char not_before[21]; /* ISO-8601 UTC, "2026-11-25T20:06:24Z" */
    char not_after[21];
    char key_type[16]; /* "RSA", "EC", "DSA", "ED25519", ... */
    int key_bits;
    char sig_alg[64]; /* e.g. "sha256WithRSAEncryption" */
    char *san;        /* comma-separated "DNS:x,IP:y" */
    char *pem;
    char spki_sha256[65]; /* lowercase hex SHA-256 of the SubjectPublicKeyInfo DER, "" unknown */
};

struct tw_grade_record; /* store/graderec.h */

struct tw_result {
    char *target; /* the target as written (file line text), may be NULL */
    char host[TW_HOST_MAX + 1];
    char ip[TW_IP_MAX]; /* "" when no address (DNS failures) */
    uint16_t port;
    int has_sni; /* 0: no SNI sent (sni is "") */
    char sni[TW_HOST_MAX + 1];
    enum tw_class cls;    /* primary class */
    tw_issue_set issues;  /* every class that applies (empty = ok) */
    char tls_version[16]; /* "TLSv1.3", "" when no handshake */
    char cipher[64];      /* OpenSSL suite name, "" when none */
    char grade[3];        /* "A+".."M", "" = not graded (NULL in the database) */
    char *detail;         /* human evidence: alert names, probes made, deltas; may be NULL */
    int64_t elapsed_ms;
    /* The time the probes waited for slots or rate tokens (issue 18); elapsed_ms
     * is the endpoint's own time without it. */
    int64_t queue_ms;
    struct tw_cert *chain; /* chain as sent, leaf first; owned */
    size_t n_chain;
    int64_t started_at;              /* unix seconds, for the record */
    struct tw_grade_record *grading; /* grading evidence (store/graderec.h), owned; NULL
                                        when not graded */
    int starttls; /* enum tw_starttls_proto the endpoint was scanned with (0 = direct
                     TLS); stored as results.starttls (its name, NULL for 0), and the
                     target text carries it as a scheme */
    /* Client certificates (issue 13): whether the server sent a
     * CertificateRequest (stored in cert_requests, one row when it did). */
    int cert_request; /* enum tw_cert_request */
    int n_ca_names;   /* distinguished names the request listed (all of them) */
    char *ca_names;   /* the first of them, RFC 2253 with controls and non-ASCII escaped,
                         "; "-separated, at most TW_CA_NAMES_MAX bytes; owned, may be NULL */
};

/* What the server did about client certificates (tw_result.cert_request). */
enum tw_cert_request {
    TW_CERT_REQUEST_NONE = 0, /* no CertificateRequest seen */
    TW_CERT_REQUEST_OPTIONAL, /* requested, and the handshake works without one */
    TW_CERT_REQUEST_REQUIRED, /* requested, and the handshake fails without one */
};

#define TW_CA_NAMES_MAX 1024 /* bytes of CA names text kept per result */

/* Free every owned field and the result itself; NULL is a no-op. */
void tw_result_free(struct tw_result *r);
/* Free the owned fields of a certificate (not the struct). */
void tw_cert_cleanup(struct tw_cert *c);
/* Replace r->detail with a bounded copy of text (TW_DETAIL_MAX). */
void tw_result_set_detail(struct tw_result *r, const char *text);

/* Format a unix time as ISO-8601 UTC ("YYYY-MM-DDTHH:MM:SSZ") into buf[21]. */
void tw_time_iso(int64_t t, char buf[21]);
/* Parse ISO-8601 UTC (also "YYYY-MM-DD" and "YYYY-MM-DD HH:MM:SS", optional Z)
 * or "@unixseconds".  Returns 0 and *out, or -1.  Only real instants from
 * 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z are taken: an impossible
 * date (2027-02-30, month 13, hour 24, second 60) or an "@" value outside
 * 0..253402300799 is -1. */
int tw_time_parse(const char *s, int64_t *out);

#endif /* TW_STORE_MODEL_H */
