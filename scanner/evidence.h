/*
 * evidence.h - what the probes of one endpoint observed, before any verdict.
 *
 * The engine (conn/worker) fills a struct tw_evidence as probes end; the
 * certificate module fills its cert part from the chain; classify turns it
 * into a class, an issue set and a detail text.  Plain value record, no
 * pointers, so it can be built by hand in unit tests and fuzzers.
 *
 * "sent" vs "received" keeps the origin of an alert (STYLE G11): an alert the
 * server sent us, or one OpenSSL sent because it refused locally.
 */
#ifndef TW_SCANNER_EVIDENCE_H
#define TW_SCANNER_EVIDENCE_H

#include <stdint.h>

enum tw_dns_outcome {
    TW_DNS_NOT_ASKED = 0, /* an address target */
    TW_DNS_OK,
    TW_DNS_NXDOMAIN, /* ARES_ENOTFOUND, ARES_ENODATA for both families */
    TW_DNS_SERVFAIL, /* ARES_ESERVFAIL, ARES_EREFUSED, ARES_EBADRESP, ... */
    TW_DNS_TIMEOUT,  /* ARES_ETIMEOUT */
};

#define TW_PROBE_STARTTLS_DETAIL 128 /* bytes of STARTTLS dialogue text per probe */

/* How one TCP+TLS attempt (probe) ended. */
enum tw_probe_outcome {
    TW_PROBE_NOT_RUN = 0,
    TW_PROBE_OK,            /* handshake completed */
    TW_PROBE_CONNECT_ERROR, /* connect failed: see sys_errno */
    TW_PROBE_CONNECT_TIMEOUT,
    TW_PROBE_ALERT_RECEIVED, /* the server sent a fatal alert: see alert */
    TW_PROBE_LOCAL_ERROR,    /* OpenSSL refused locally (we sent alert, or no alert) */
    TW_PROBE_RESET,          /* ECONNRESET / EPIPE during the handshake */
    TW_PROBE_EOF,            /* peer closed during the handshake */
    TW_PROBE_TIMEOUT,        /* handshake timer fired */
    TW_PROBE_NOT_TLS,        /* the first bytes back were not a TLS record */
};

struct tw_probe_result {
    enum tw_probe_outcome outcome;
    int sys_errno;          /* errno for CONNECT_ERROR / RESET */
    int alert;              /* TLS alert description, -1 when none */
    int alert_sent_by_us;   /* 1 when we sent the alert (local refusal) */
    uint32_t bytes_in;      /* bytes received from the server */
    uint8_t first_bytes[8]; /* the first bytes received (not_tls evidence) */
    uint8_t n_first;
    int version;        /* negotiated protocol (TLS1_3_VERSION, ...) when OK */
    char cipher[64];    /* negotiated suite when OK */
    uint16_t cipher_id; /* its IANA code when OK */
    char err[128];      /* OpenSSL's reason string for LOCAL_ERROR, bounded */
    /* STARTTLS (issue 9, scanner/starttls.h): the plaintext phase before the
     * handshake.  All zero for a direct-TLS probe. */
    uint8_t starttls;           /* enum tw_starttls_proto of this probe, 0 = direct TLS */
    uint8_t starttls_result;    /* enum tw_starttls_status where the phase ended (0 = cut) */
    uint32_t starttls_bytes_in; /* plaintext bytes received */
    char starttls_detail[TW_PROBE_STARTTLS_DETAIL]; /* tw_starttls_detail(), bounded */
    /* Client certificates (issue 13): the server sent a CertificateRequest
     * (we answer with none), listing n_ca_names CA names. */
    uint8_t cert_requested;
    uint16_t n_ca_names;
    /* After a completed TLS 1.3 handshake that had a CertificateRequest, the
     * server's verdict on our Finished comes later: what a bounded read
     * (conn.c) saw then.  The outcome stays TW_PROBE_OK. */
    uint8_t post_hs;       /* enum tw_post_hs */
    uint8_t post_hs_alert; /* the alert's description when post_hs is TW_POST_HS_ALERT */
};

/* What the read after a TLS 1.3 handshake saw (tw_probe_result.post_hs). */
enum tw_post_hs {
    TW_POST_HS_NOT_READ = 0, /* no read: no request, not TLS 1.3, or no time left */
    TW_POST_HS_QUIET,        /* nothing before the bound, or the server's first bytes were
                                not an alert (a ticket, data): it works without a certificate */
    TW_POST_HS_ALERT,        /* a fatal alert (certificate_required, 116, or another) */
    TW_POST_HS_CLOSED,       /* the connection was closed or reset without an alert */
};

/* Which follow-up probes were run, and what they got. */
enum tw_probe_kind {
    TW_PK_MAIN = 0, /* SNI per target, all versions, broad ciphers */
    TW_PK_NO_SNI,   /* the same without SNI (or with the host's name when MAIN sent none) */
    TW_PK_WITH_SNI, /* MAIN sent none: retry with the host name as SNI */
    TW_PK_TLS10,    /* one version alone */
    TW_PK_TLS11,
    TW_PK_TLS12,
    TW_PK_TLS13,
    TW_PK_ALL_CIPHERS, /* every suite this OpenSSL has, @SECLEVEL=0 */
    TW_PK_MODERN,      /* only what modern clients offer (tls/clients.h): --quick's one
                          extra handshake when MAIN's suite is outside that set */
    TW_PK__COUNT
};

#define TW_VERIFY_ERRORS_MAX 32

struct tw_verify_error {
    int depth;
    int code; /* X509_V_ERR_* */
};

enum tw_ocsp_status {
    TW_OCSP_NONE = 0, /* nothing stapled */
    TW_OCSP_GOOD,
    TW_OCSP_REVOKED,
    TW_OCSP_UNKNOWN, /* stapled, status unknown */
    TW_OCSP_INVALID, /* stapled, could not be parsed/verified */
};

struct tw_cert_evidence {
    int has_chain; /* the server sent at least a leaf */
    int n_sent;    /* certificates the server sent */
    struct tw_verify_error verify[TW_VERIFY_ERRORS_MAX];
    int n_verify; /* every error at every depth, as the callback saw them */
    int verify_truncated;
    int leaf_self_issued;    /* subject == issuer and it verifies its own signature */
    int chain_complete;      /* the sent chain ends in a self-signed certificate */
    int leaf_has_aia_issuer; /* leaf has an AIA caIssuers URL */
    int aia_completed;       /* the issuer fetched from aia_url completes the chain (issue 14) */
    char aia_url[256];       /* that URL (printable ASCII, bounded), "" when none */
    int ocsp_online;         /* enum tw_ocsp_status: the AIA OCSP responder's answer when
                                nothing was stapled (issue 14); TW_OCSP_NONE: not asked */
    char ocsp_url[256];      /* the responder asked, "" when none */
    int crl_online;          /* enum tw_ocsp_status: the leaf's CRL when no OCSP answer came
                                (GOOD: not listed; INVALID: none usable); NONE: not fetched */
    char crl_url[256];       /* the CRL distribution point fetched, "" when none */
    int hostname_checked;    /* a name or address was checked */
    int hostname_ok;
    int address_checked; /* the address was checked: an IP/CIDR target without SNI */
    int leaf_no_san;     /* the leaf has no subjectAltName: browsers match no name (the CN is
                            never checked, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT) */
    int hostname_ok_cn;  /* no subjectAltName, and the subject CN covers the name: what
                            clients that still fall back to the CN accept (issue 13) */
    int64_t not_before;  /* leaf validity, unix seconds */
    int64_t not_after;
    int64_t now;  /* the time validity was judged at (--now or clock) */
    int weak_key; /* leaf key below the thresholds */
    int key_bits;
    char key_type[16];
    int weak_signature; /* a non-root certificate in the sent chain signed with SHA-1/MD5 */
    enum tw_ocsp_status ocsp;
};

struct tw_evidence {
    enum tw_dns_outcome dns;
    int dns_status;  /* the ares status code, for the detail */
    int sent_sni;    /* MAIN sent SNI */
    int check_names; /* scan --check-names: an address target's certificate must cover it */
    struct tw_probe_result probe[TW_PK__COUNT];
    struct tw_cert_evidence cert; /* from the first probe that completed */
};

#endif /* TW_SCANNER_EVIDENCE_H */
