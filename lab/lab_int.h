/*
 * lab_int.h - declarations shared by the lab's files (lab/ only).
 *
 * lab.c holds the estate (tw_lab_estate[], one row per endpoint) and writes
 * the target lists from it; pki.c makes the keys and certificates, ocsp.c
 * the stapled OCSP response, hostile.c the hostile endpoints' certificates
 * and raw messages, legacy.c the scripted SSLv3/RC4/3DES answers,
 * servers.c the listeners and connection state machines that serve the
 * estate's rows, dns_responder.c the answers of the lab's DNS server;
 * cli/lab_cli.c (the subcommands) starts them.  Everything built here is
 * created on the starting thread before the server threads run and is only
 * read afterwards (SSL_CTX, X509, EVP_PKEY are then shared read-only); the
 * estate is const.
 */
#ifndef TW_LAB_LAB_INT_H
#define TW_LAB_LAB_INT_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lab/lab.h"
#include "lab/starttls_servers.h"

/* ---- pki.c ---- */

/* The lab's PKI: every key and CA certificate, generated once per `lab up`. */
struct tw_lab_pki {
    EVP_PKEY *root_key, *inter_key;   /* trusted root and its intermediate (RSA-2048) */
    EVP_PKEY *uroot_key, *uinter_key; /* the unrelated "untrusted" root and intermediate (P-256) */
    EVP_PKEY *leaf_rsa, *leaf_ec;     /* leaf keys, shared by the leaves (RSA-2048, P-256) */
    EVP_PKEY *leaf_rsa1024;           /* the weak_key leaf */
    EVP_PKEY *leaf_drown;             /* RSA-2048 of the DROWN pair alone (issue 14) */
    X509 *root, *inter, *uroot, *uinter;
};

enum tw_lab_leaf_key { TW_LAB_KEY_RSA = 0, TW_LAB_KEY_EC, TW_LAB_KEY_RSA1024, TW_LAB_KEY_DROWN };
enum tw_lab_leaf_issuer { TW_LAB_ISS_INTER = 0, TW_LAB_ISS_UNTRUSTED, TW_LAB_ISS_SELF };

/* What one leaf certificate looks like. */
struct tw_lab_leaf_spec {
    const char *dns; /* the SAN dNSName and CN */
    const char *ip;  /* a SAN iPAddress, or NULL */
    enum tw_lab_leaf_key key;
    enum tw_lab_leaf_issuer issuer;
    long not_before; /* seconds from now (negative = past) */
    long not_after;
    int sha1;   /* sign with SHA-1 instead of SHA-256 */
    int aia;    /* add an AIA caIssuers URL (never served) */
    int no_san; /* no subjectAltName at all: the name is in the subject CN only */
};

/* Generate the keys and CA certificates.  Returns 0, or -1 with err. */
int tw_lab_pki_init(struct tw_lab_pki *pki, char *err);
/* Free everything; safe on a zeroed or partly built pki. */
void tw_lab_pki_cleanup(struct tw_lab_pki *pki);
/* Issue one leaf.  Returns a new X509 (caller frees) and borrows its key
 * into *key (owned by pki), or NULL with err. */
X509 *tw_lab_pki_leaf(const struct tw_lab_pki *pki, const struct tw_lab_leaf_spec *spec,
                      EVP_PKEY **key, char *err);
/* A fresh v3 certificate (random serial, O=tlsweep lab, CN=cn, issuer's
 * subject or its own, validity in seconds from now) without extensions or
 * signature.  NULL on failure. */
X509 *tw_lab_pki_new_cert(const char *cn, X509 *issuer, EVP_PKEY *pub, long not_before,
                          long not_after);
/* Put "who: what: <OpenSSL's first queued error>" (who NULL: "what: ...")
 * into err and clear OpenSSL's error queue.  The one OpenSSL error report
 * of the lab (pki, hostile set, servers). */
void tw_lab_ssl_err(char *err, const char *who, const char *what);
/* Add one extension from its config text.  0 or -1. */
int tw_lab_pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value);
/* Write a certificate as PEM to path (mode 0644).  Returns 0 or -1 with err. */
int tw_lab_pki_write_pem(X509 *cert, const char *path, char *err);

/* ---- ocsp.c ---- */

/* A DER OCSP response (successful, basic, signed by issuer/issuer_key with
 * SHA-256) saying `leaf` is revoked (keyCompromise, since a day ago).
 * *der is OPENSSL_malloc'ed (caller frees).  Returns 0 or -1 with err. */
int tw_lab_ocsp_revoked(X509 *leaf, X509 *issuer, EVP_PKEY *issuer_key, unsigned char **der,
                        size_t *der_len, char *err);

/* ---- dns_responder.c ---- */

#define TW_LAB_DNS_MAX 512 /* UDP answers never exceed classic DNS size */

/*
 * Build the answer to one query packet (pure: bytes in, bytes out).
 * base is the lab's base address in host byte order.  Returns the answer
 * length (<= cap), or 0 when the packet must be dropped: malformed, a
 * response, not a single-question standard query, or the dnstimeout name.
 */
size_t tw_lab_dns_answer(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, uint32_t base);

/* Open the UDP socket on addr:port, non-blocking.  Returns the fd or -1
 * with err. */
int tw_lab_dns_open(const struct in_addr *addr, unsigned port, char *err);
/* Answer every datagram waiting on fd (bounded per call).  Never fails. */
void tw_lab_dns_serve(int fd, uint32_t base);

/* ---- hostile.c ---- */

/* The hostile endpoints' certificate material (README "Hostile endpoints"). */
enum tw_lab_hostile_cert {
    TW_LAB_HC_NONE = 0,
    TW_LAB_HC_MANYSANS, /* leaf with 10,000 SANs (about 70 KB), the real name last */
    TW_LAB_HC_BIGCHAIN, /* that leaf sent with 15 copies of itself: over 1 MiB */
    TW_LAB_HC_DEEP,     /* leaf under 49 intermediates below the lab root: 50 sent */
    TW_LAB_HC_FIELDS,   /* NUL, controls, invalid UTF-8, HTML and SQL in names and SANs */
};

struct tw_lab_hostile;

/* Build the shared hostile material (the deep intermediates).  NULL + err. */
struct tw_lab_hostile *tw_lab_hostile_new(const struct tw_lab_pki *pki, char *err);
void tw_lab_hostile_free(struct tw_lab_hostile *h);
/* Install the certificate, key and chain of `what` for host on ctx.  0 or -1 + err. */
int tw_lab_hostile_ctx(SSL_CTX *ctx, const struct tw_lab_hostile *h, const struct tw_lab_pki *pki,
                       enum tw_lab_hostile_cert what, const char *host, char *err);
/*
 * From one ClientHello record (header included), a TLS <= 1.2 ServerHello
 * the client accepts (its version capped at 1.2, one of its suites, secure
 * renegotiation) followed by a fatal illegal_parameter alert.  Returns the
 * bytes written to out, or 0 when the hello cannot be parsed (hostile input:
 * every length is checked).
 */
size_t tw_lab_hostile_hello_alert(const uint8_t *rec, size_t len, uint8_t *out, size_t cap);

/* ---- legacy.c ---- */

#define TW_LAB_SSL3 0x0300
#define TW_LAB_TLS10 0x0301

/* What a legacy endpoint answers with its own bytes, and what its OpenSSL
 * side (if any) serves.  Arrays are borrowed. */
struct tw_lab_legacy_params {
    uint16_t raw_min, raw_max;  /* versions answered by script (wire values) */
    const uint16_t *raw_suites; /* scripted suites, server preference first */
    size_t n_raw_suites;
    uint16_t native_min;    /* lowest version OpenSSL accepts; 0 = raw only */
    const uint16_t *native; /* IANA codes OpenSSL can serve (TLS 1.3 ones too) */
    size_t n_native;
    const uint8_t *chain; /* Certificate body: (3-byte length, DER) per certificate */
    size_t chain_len;
    int deflate; /* a hello offering DEFLATE gets a scripted ServerHello choosing it */
    int sslv2;   /* an SSLv2 CLIENT-HELLO (version 2) gets a scripted SERVER-HELLO */
};

/* The fields of a ClientHello record that decide the answer (suites points
 * into the record). */
struct tw_lab_client_hello {
    uint16_t version; /* client_version (0x0303 for TLS 1.3 hellos too) */
    const uint8_t *suites;
    size_t suites_len;  /* bytes, even */
    int offers_deflate; /* compression method 1 (DEFLATE) is offered */
};

enum tw_lab_legacy_verdict {
    TW_LAB_LEGACY_NATIVE = 0, /* hand the connection to OpenSSL (hello not consumed) */
    TW_LAB_LEGACY_RAW,        /* out holds ServerHello, Certificate, ServerHelloDone */
    TW_LAB_LEGACY_ALERT,      /* out holds a fatal handshake_failure alert */
    TW_LAB_LEGACY_V2,         /* out holds an SSLv2 SERVER-HELLO (p->sslv2) */
};

/* Parse one whole ClientHello record (header included).  0, or -1 when it
 * is not one (not a handshake record, incomplete, split, bad lengths). */
int tw_lab_legacy_parse(const uint8_t *rec, size_t len, struct tw_lab_client_hello *ch);

/*
 * Decide and build the answer to the ClientHello record rec[len]:
 *   NATIVE  when p has an OpenSSL side, the hello's version is >= native_min
 *           and it offers one of p->native; also when nothing else applies
 *           and p has an OpenSSL side (which then refuses in its own words);
 *   RAW     when it offers one of raw_suites (the first of raw_suites it
 *           offers is chosen) at a version >= raw_min: the version answered
 *           is min(client version, raw_max); with p->deflate, a hello that
 *           offers DEFLATE at raw_min..raw_max is answered so (compression
 *           method DEFLATE) before the OpenSSL side is asked;
 *   ALERT   otherwise (raw-only endpoints).
 * random: the ServerHello random (32 bytes).  *out_len is the bytes written
 * to out[cap] (0 for NATIVE).
 */
enum tw_lab_legacy_verdict tw_lab_legacy_answer(const struct tw_lab_legacy_params *p,
                                                const uint8_t *rec, size_t len,
                                                const uint8_t random[32], uint8_t *out, size_t cap,
                                                size_t *out_len);

/* ---- lab.c: the estate ---- */

/*
 * The estate is one const table, tw_lab_estate[]: one row per endpoint,
 * giving everything about it (its name, address, target lines with their
 * expected results, and how servers.c serves it).  lab.c writes the target
 * lists from it, dns_responder.c answers from it, servers.c builds one
 * server per served row.  Zero is the usual value of every server field: a
 * zeroed row (with a name, an address and a line) is a TLS 1.2+ server of the
 * lab's usual certificate.
 */

/* How a row's endpoint is served (servers.c), or, for the DNS kinds, what
 * the lab's DNS server answers for a name that has no server. */
enum tw_lab_kind {
    TW_LAB_K_TLS = 0,      /* OpenSSL: handshake, then one HTTP exchange */
    TW_LAB_K_PROTO_ALERT,  /* protocol_version alert to any ClientHello */
    TW_LAB_K_ALERT,        /* internal_error alert to any ClientHello */
    TW_LAB_K_RESET,        /* read the ClientHello, then RST */
    TW_LAB_K_STALL,        /* accept, never send */
    TW_LAB_K_HTTP,         /* HTTP/1.1 400 to anything */
    TW_LAB_K_GARBAGE,      /* random non-TLS bytes */
    TW_LAB_K_BLACKHOLE,    /* backlog 0, queue filled: SYNs dropped */
    TW_LAB_K_CLOSED,       /* an address, but no socket at all */
    TW_LAB_K_TRUNCATED,    /* hostile: part of a record after the ClientHello, then FIN */
    TW_LAB_K_ABSURD,       /* hostile: a record header with length 65535 */
    TW_LAB_K_ENDLESS,      /* hostile: HelloRequest records, endlessly */
    TW_LAB_K_HELLO_ALERT,  /* hostile: a real ServerHello, then a fatal alert */
    TW_LAB_K_STARTTLS,     /* the plaintext dialogue of `stls`, then TLS as TW_LAB_K_TLS */
    TW_LAB_K_DNS_NXDOMAIN, /* no server; the name gets NXDOMAIN */
    TW_LAB_K_DNS_SERVFAIL, /* no server; the name gets SERVFAIL */
    TW_LAB_K_DNS_TIMEOUT,  /* no server; queries for the name are never answered */
};

/* The certificates a TLS server sends after its leaf. */
enum tw_lab_chain {
    TW_LAB_CH_INTER = 0, /* the lab intermediate */
    TW_LAB_CH_NONE,      /* nothing: the leaf alone */
    TW_LAB_CH_UNTRUSTED, /* the unrelated hierarchy's intermediate and root */
};

/* The leaf's validity period. */
enum tw_lab_validity {
    TW_LAB_VALID = 0,     /* from a day ago to a year ahead */
    TW_LAB_EXPIRED,       /* from two years ago to a year ago */
    TW_LAB_NOT_YET_VALID, /* from a year ahead to two years ahead */
};

/* Server behaviour flags (tw_lab_endpoint.flags). */
#define TW_LAB_F_HSTS 0x01           /* the HTTP answer carries Strict-Transport-Security */
#define TW_LAB_F_SNI_REQUIRED 0x02   /* unrecognized_name alert without SNI */
#define TW_LAB_F_SNI_SWITCH 0x04     /* another valid certificate without (or with another) SNI */
#define TW_LAB_F_STAPLE_REVOKED 0x08 /* staple a revoked OCSP response when asked */
#define TW_LAB_F_SECLEVEL0 0x10      /* OpenSSL security level 0 (weak keys, TLS 1.0, NULL) */
#define TW_LAB_F_RENEG 0x20          /* HelloRequest right after the handshake (TLS 1.2) */
#define TW_LAB_F_SLOW 0x40           /* the server's flight leaves one byte every 100 ms */
#define TW_LAB_F_DH1024 0x80         /* DHE with the 1024-bit RFC 2409 Oakley group 2 */
#define TW_LAB_F_SHA1 0x100          /* the leaf is signed with SHA-1 */
#define TW_LAB_F_AIA 0x200           /* the leaf has an AIA caIssuers URL (never served) */
/* A slow server (issue 14): every handshake that reaches the choice of the
 * certificate waits TW_LAB_DELAY_SECS there (an overloaded host, a slow HSM),
 * so its ServerHello comes that late; refusals (no common version) stay
 * fast.  It offers one TLS 1.3 suite and X25519 alone so that grading it
 * takes few (slow) connections. */
#define TW_LAB_F_DELAY 0x400
#define TW_LAB_DELAY_SECS 4.0
/* CVE-2014-0224 as OpenSSL before 1.0.1h had it (issue 14): a ChangeCipherSpec
 * that arrives right after our TLS <= 1.2 first flight, before any key
 * exchange, is accepted silently (the read state switches to keys from an
 * empty master secret), so the next record fails with bad_record_mac. */
#define TW_LAB_F_CCS_EARLY 0x800
/* Heartbleed as OpenSSL 1.0.1-1.0.1f had it (issue 14): the heartbeat
 * extension is acknowledged on TLS <= 1.2, and a heartbeat request is
 * answered with as many payload bytes as it claims, read past the request
 * from the server's "memory" (fixed, non-secret lab bytes). */
#define TW_LAB_F_HEARTBLEED 0x1000
#define TW_LAB_F_NO_SAN 0x2000 /* the leaf has no subjectAltName: its name is the CN only */
/* CertificateRequest, and the handshake fails without a certificate. */
#define TW_LAB_F_CCERT_REQUIRED 0x4000
/* CertificateRequest, but the handshake goes on without a certificate. */
#define TW_LAB_F_CCERT_OPTIONAL 0x8000
/* Issue 13, Mozilla profiles and reference clients: */
/* A second leaf, ECDSA P-256, beside the RSA one: OpenSSL serves each to
 * the clients whose suites or signature algorithms want it. */
#define TW_LAB_F_DUAL_CERT 0x10000
/* The server signs only with RSA-PSS (rsa_pss_rsae_sha256/384/512): a
 * client offering no PSS signature algorithm gets handshake_failure. */
#define TW_LAB_F_RSA_PSS_ONLY 0x20000
/* Key exchange with X25519 alone (TLS 1.2 ECDHE and TLS 1.3). */
#define TW_LAB_F_X25519_ONLY 0x40000
/* Strict-Transport-Security with max-age two years (63072000, Mozilla's
 * hsts_min_age) instead of TW_LAB_F_HSTS's one year. */
#define TW_LAB_F_HSTS_2Y 0x80000
/* 0-RTT (issue 14): one TLS 1.3 session ticket after the handshake, carrying
 * max_early_data_size 16384 (SSL_CTX_set_max_early_data), as a server that
 * accepts replayable early data announces it. */
#define TW_LAB_F_EARLY_DATA 0x100000
#define TW_LAB_EARLY_DATA_MAX 16384
/* No RFC 5746 and client-initiated renegotiation accepted (issue 14): the
 * connection is reneg.c's scripted TLS 1.2 server, with the endpoint's
 * certificate and key (OpenSSL 3 always answers renegotiation_info). */
#define TW_LAB_F_LEGACY_RENEG 0x200000
/* The same script, but a renegotiation gets a no_renegotiation warning. */
#define TW_LAB_F_LEGACY_NORENEG 0x400000

/*
 * A legacy endpoint (legacy.c): suites this OpenSSL cannot offer, answered
 * by script.  raw_only: no OpenSSL side, every other hello gets
 * handshake_failure; else the OpenSSL side serves every hello it can.
 */
struct tw_lab_legacy_def {
    uint16_t raw_min, raw_max; /* versions answered by script (wire values) */
    const uint16_t *suites;    /* scripted suites, server preference first */
    size_t n_suites;
    int raw_only;
    /* TLS compression (issue 14; this OpenSSL has no zlib): a hello offering
     * DEFLATE at a scripted version gets a scripted ServerHello choosing
     * DEFLATE and one of the scripted suites, before the OpenSSL side is
     * asked; a hello without DEFLATE (every OpenSSL client) goes to OpenSSL. */
    int deflate;
    /* SSLv2 (issue 14, DROWN): an SSLv2 CLIENT-HELLO offering one of the
     * SSLv2 cipher specs below gets a scripted SSLv2 SERVER-HELLO with the
     * endpoint's leaf certificate (and so its key). */
    int sslv2;
};

/* How a target line addresses its endpoint. */
enum tw_lab_target_form {
    TW_LAB_T_NAME = 0,    /* "NAME.lab.tlsweep.test:PORT" (SNI = the name) */
    TW_LAB_T_NAME_NO_SNI, /* "NAME.lab.tlsweep.test:PORT -" (no SNI sent) */
    TW_LAB_T_IPV6,        /* "[::1]:PORT+1" (address target, no SNI); the server listens there */
    TW_LAB_T_STARTTLS,    /* "SCHEME://NAME.lab.tlsweep.test:PORT", the scheme of `stls` */
};

/* One target line and what a correct scanner reports for it (DESIGN §3). */
struct tw_lab_line {
    enum tw_lab_target_form form;
    const char *cls;    /* expected primary class; NULL: no line */
    const char *issues; /* expected issues, precedence order, "ok" when none */
};

#define TW_LAB_MAX_LINES 2

struct tw_lab_endpoint {
    const char *name;                           /* the DNS label: NAME.lab.tlsweep.test */
    int addr;                                   /* N of BASE+N (port PORT); 0: no IPv4 address */
    enum tw_lab_group group;                    /* which target list has its lines */
    struct tw_lab_line lines[TW_LAB_MAX_LINES]; /* in target-list order */
    /* How it is served (servers.c); the DNS kinds use none of the rest. */
    enum tw_lab_kind kind;
    int flags; /* TW_LAB_F_* */
    /* The leaf (TLS and STARTTLS kinds, unless hcert says otherwise). */
    enum tw_lab_leaf_key key;
    enum tw_lab_leaf_issuer issuer;
    enum tw_lab_validity validity;
    const char *san_dns; /* SAN dNSName and CN; NULL = NAME.lab.tlsweep.test */
    enum tw_lab_chain chain;
    enum tw_lab_hostile_cert hcert; /* hostile certificate material instead (hostile.c) */
    /* The OpenSSL side. */
    int min_version, max_version;           /* OpenSSL constants; max 0 = the highest */
    const char *ciphers;                    /* TLS <= 1.2 cipher list */
    enum tw_lab_starttls_kind stls;         /* TW_LAB_K_STARTTLS: the responder */
    const struct tw_lab_legacy_def *legacy; /* TW_LAB_K_TLS: scripted legacy answers, or NULL */
};

/* Every endpoint of the estate, main group and hostile group alike. */
extern const struct tw_lab_endpoint tw_lab_estate[];
extern const size_t tw_lab_n_estate;

/* 1 when servers.c runs something for e (a listener, or TW_LAB_K_CLOSED's
 * reserved address), 0 for the DNS-only names. */
int tw_lab_is_served(const struct tw_lab_endpoint *e);
/* The row whose name is name[len] (case-insensitive), or NULL. */
const struct tw_lab_endpoint *tw_lab_estate_find(const char *name, size_t len);
/* The N of BASE+N for name (a lab label, case-insensitive), or 0 when the
 * name has no IPv4 address. */
int tw_lab_endpoint_addr(const char *name, size_t len);

/* ---- reneg.c ---- */

struct tw_lab_reneg;

/* A script for one connection, serving ctx's certificate and chain
 * (copied) with its key (borrowed: ctx keeps it); refuse: answer a
 * renegotiation with a no_renegotiation warning.  NULL when any is missing. */
struct tw_lab_reneg *tw_lab_reneg_new(SSL_CTX *ctx, int refuse);
void tw_lab_reneg_free(struct tw_lab_reneg *r);
/* Take in[len] from the client; the answer goes to out[cap], *out_len bytes
 * (to be sent before anything else).  Returns 0 to read on, 1 when the
 * script is over (send, then drain), -1 to close now. */
int tw_lab_reneg_feed(struct tw_lab_reneg *r, const uint8_t *in, size_t len, uint8_t *out,
                      size_t cap, size_t *out_len);

/* ---- servers.c ---- */

struct tw_lab_opts {
    const char *dir; /* absolute lab directory */
    uint32_t base;   /* host byte order, e.g. 127.77.0.0 */
    unsigned port;   /* IPv4 endpoints; [::1] uses port + 1 */
    unsigned dns_port;
    int n_threads; /* server threads (event loops) */
};

struct tw_lab_servers;

/*
 * Build every SSL_CTX, bind every listener and the DNS socket, fill the
 * connect-timeout listener's queue, and start the threads.  On return 0
 * every listener is accepting.  Returns -1 with err (nothing left running).
 */
int tw_lab_servers_start(const struct tw_lab_opts *opts, const struct tw_lab_pki *pki,
                         struct tw_lab_servers **out, char *err);
/* Stop the threads, close every socket, free everything.  NULL is a no-op. */
void tw_lab_servers_stop(struct tw_lab_servers *s);

#endif /* TW_LAB_LAB_INT_H */
