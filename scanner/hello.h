/*
 * hello.h - hand-built ClientHellos and a parser for the server's first flight.
 *
 * OpenSSL 3 cannot offer SSLv2, SSLv3, RC4, EXPORT, NULL or most 3DES and
 * anonymous suites, so the protocol and cipher enumeration probes (issue 5)
 * write their own ClientHello on a plain socket, read what the server sends
 * back until this parser says it has seen enough, and close.  No handshake
 * is ever completed: the server's first flight (ServerHello .. ServerHelloDone,
 * a TLS 1.3 ServerHello or HelloRetryRequest, an alert, an SSLv2 SERVER-HELLO)
 * carries everything the probes need.
 *
 * The module is pure (STYLE G6): no sockets, no clock, no mutable globals,
 * only const tables.  Randomness (client random, key share, session id) is
 * passed in by the caller.  Every function may be called from any thread.
 * Parsers walk (p, end) and check each length before reading; they never read
 * beyond the length they are given, and every byte they see is hostile.
 *
 * Ownership: nothing is retained.  tw_hello_build writes into the caller's
 * buffer; tw_hello_parse fills the caller's struct, whose leaf_off/leaf_len
 * point into the caller's input buffer (offsets, not pointers).
 */
#ifndef TW_SCANNER_HELLO_H
#define TW_SCANNER_HELLO_H

#include <stddef.h>
#include <stdint.h>

#include "tls/suites.h" /* wire versions and codes: TW_VERSION_*, TW_SUITE_*, TW_GROUP_* */

#define TW_HELLO_MAX_SUITES 512      /* suites (or SSLv2 specs) one hello may offer */
#define TW_HELLO_MAX_GROUPS 64       /* supported_groups entries */
#define TW_HELLO_MAX_SIGALGS 64      /* signature_algorithms entries */
#define TW_HELLO_MAX_ALPN 16         /* ALPN protocol names */
#define TW_HELLO_MAX_OUT 16384       /* a built hello never exceeds this (one record) */
#define TW_HELLO_FLIGHT_MAX 65536    /* the parser gives up on flights longer than this */
#define TW_HELLO_RECORD_ABSURD 18432 /* 2^14 + 2048: longer TLS records are hostile */

/* tw_hello_params.flags */
#define TW_HELLO_F_RENEG_INFO 0x0001       /* renegotiation_info extension (empty, RFC 5746) */
#define TW_HELLO_F_RENEG_SCSV 0x0002       /* append TLS_EMPTY_RENEGOTIATION_INFO_SCSV */
#define TW_HELLO_F_FALLBACK_SCSV 0x0004    /* append TLS_FALLBACK_SCSV (RFC 7507) */
#define TW_HELLO_F_STATUS_REQUEST 0x0008   /* status_request (OCSP) */
#define TW_HELLO_F_DEFLATE 0x0010          /* compression methods {DEFLATE, null} (CRIME test) */
#define TW_HELLO_F_EC_POINT_FORMATS 0x0020 /* ec_point_formats {uncompressed, both compressed} */
#define TW_HELLO_F_EMS 0x0040              /* extended_master_secret */
#define TW_HELLO_F_SESSION_TICKET 0x0080   /* empty session_ticket */
#define TW_HELLO_F_ETM 0x0100              /* encrypt_then_mac */
#define TW_HELLO_F_HEARTBEAT 0x0200        /* heartbeat, peer_allowed_to_send */
#define TW_HELLO_F_PADDING 0x0400          /* pad a hello of 256..511 bytes to 512 (RFC 7685) */
#define TW_HELLO_F_NO_EXTENSIONS 0x0800    /* no extensions block at all (SSLv3-era hello) */
#define TW_HELLO_F_NO_GROUPS 0x1000        /* omit supported_groups */
#define TW_HELLO_F_NO_SIGALGS 0x2000       /* omit signature_algorithms */
#define TW_HELLO_F_NO_KEY_SHARE 0x4000     /* TLS 1.3: omit key_share (not just an empty list) */

#define TW_HELLO_MAX_SHARES 4   /* key_share entries one hello may carry */
#define TW_HELLO_MAX_SHARE 1300 /* bytes of one key share (X25519MLKEM768: 1216) */

/* One TLS 1.3 key share: a group and its public value (borrowed). */
struct tw_hello_share {
    uint16_t group;
    const uint8_t *data;
    size_t len;
};

/*
 * What to offer.  Start from tw_hello_params_init() and change fields.
 * Arrays are borrowed for the duration of tw_hello_build() only.
 */
struct tw_hello_params {
    uint16_t version;        /* highest version offered: TW_VERSION_SSL2 .. TW_VERSION_TLS13 */
    uint16_t min_version;    /* TLS 1.3 only: lowest version in supported_versions (0 = version) */
    uint16_t legacy_version; /* the hello's version field; 0 = derived (TLS 1.3 -> 0x0303);
                                with version SSL2, a TLS value makes an SSLv2-compatible
                                hello offering TLS (the suites go in as 00 xx yy specs) */
    uint16_t record_version; /* record header version; 0 = 0x0300 for SSLv3, else 0x0301 */
    const uint8_t *random;   /* 32 bytes, required (SSLv2: the first 16 are the challenge) */
    const uint8_t *session_id; /* 32 bytes or NULL (empty session id) */
    size_t session_id_len;     /* bytes of session_id, 1..32; 0 = 32 (Ticketbleed sends 1) */
    const uint8_t *ticket;     /* session_ticket content (with TW_HELLO_F_SESSION_TICKET):
                                  a ticket to resume; NULL = the empty extension */
    size_t ticket_len;
    const uint16_t *suites; /* IANA codes, in preference order */
    size_t n_suites;
    const uint32_t *sslv2_specs; /* 3-byte SSLv2 cipher specs (version SSL2 only) */
    size_t n_sslv2_specs;
    const char *sni;        /* host name for server_name, NULL = none */
    const uint16_t *groups; /* supported_groups; NULL = a broad default list */
    size_t n_groups;
    const uint16_t *sigalgs; /* signature_algorithms; NULL = a broad default list */
    size_t n_sigalgs;
    const uint8_t *x25519_share; /* TLS 1.3: 32-byte x25519 public value; NULL = empty
                                    client_shares, so the server answers with a
                                    HelloRetryRequest naming the group it wants */
    /* TLS 1.3: key shares of any groups, in order (--simulate real plays a
     * client's own shares); when n_shares > 0 they replace x25519_share.
     * Each at most TW_HELLO_MAX_SHARE bytes, at most TW_HELLO_MAX_SHARES. */
    const struct tw_hello_share *shares;
    size_t n_shares;
    const char *const *alpn; /* ALPN protocol names, NULL = no ALPN */
    size_t n_alpn;
    unsigned flags; /* TW_HELLO_F_* */
};

/*
 * Fill *p with the defaults for offering `version`: no suites (the caller sets
 * them, usually from tw_suites_offer_legacy/_tls13/_sslv2 of tls/suites.h), renegotiation_info,
 * ec_point_formats, extended_master_secret, status_request, padding, default groups and signature
 * algorithms; for SSLv3 no extensions and the renegotiation SCSV instead; for SSLv2 no flags at
 * all.  `random` is borrowed (32 bytes).
 */
void tw_hello_params_init(struct tw_hello_params *p, uint16_t version, const uint8_t *random);

/*
 * Build one ClientHello record (an SSLv2 record for version SSL2) into
 * out[cap].  Returns 0 and sets *len, or -1 when cap is too small or the
 * params are bad (no random, too many suites, SNI or ALPN name longer than
 * 255 bytes, version unknown, result over TW_HELLO_MAX_OUT).  On -1 *len is 0
 * and out's contents are unspecified.
 */
int tw_hello_build(const struct tw_hello_params *p, uint8_t *out, size_t cap, size_t *len);

/* tw_hello_parse() results. */
#define TW_HELLO_NEED_MORE 0 /* the flight is incomplete: append bytes and call again */
#define TW_HELLO_DONE 1      /* enough was seen; the caller closes the connection */
#define TW_HELLO_ERROR (-1)  /* not TLS, absurd, malformed or too long: see the flags */

#define TW_FLIGHT_MAX_EXT 32
#define TW_FLIGHT_MAX_V2_SPECS 32

enum tw_flight_kx {
    TW_FLIGHT_KX_NONE = 0, /* no ServerKeyExchange */
    TW_FLIGHT_KX_DHE,      /* finite-field (EDH, ADH): dh_p_bits */
    TW_FLIGHT_KX_ECDHE,    /* elliptic curve (ECDHE, AECDH): ecdh_group */
    TW_FLIGHT_KX_RSA,      /* temporary RSA key (EXPORT suites): rsa_bits */
    TW_FLIGHT_KX_OTHER,    /* PSK hint, SRP, or a form this parser does not decode */
};

/*
 * What the server's first flight showed.  Plain value record; all zero means
 * nothing seen.  Every field is set only from bytes that passed the length
 * checks; strings are NUL-terminated and truncated to their arrays.
 */
struct tw_server_flight {
    /* How the flight ended or failed. */
    int is_not_tls;         /* the first bytes are neither a TLS record nor an SSLv2 reply */
    int is_absurd_record;   /* a record length > TW_HELLO_RECORD_ABSURD */
    int is_malformed;       /* a length or field did not fit: see error */
    int is_too_long;        /* TW_HELLO_FLIGHT_MAX bytes without an end of flight */
    const char *error;      /* static text for ERROR, else NULL */
    uint8_t first_bytes[8]; /* the first bytes, for not_tls evidence */
    uint8_t n_first;
    size_t consumed;         /* bytes of whole records walked */
    uint16_t record_version; /* of the first TLS record */

    /* An alert record (TLS), first or after some handshake messages. */
    int has_alert;
    int is_alert_first; /* the alert was the first thing the server sent */
    uint8_t alert_level;
    uint8_t alert_desc;
    int has_ccs; /* a ChangeCipherSpec record ended the flight */

    /* ServerHello or HelloRetryRequest. */
    int has_server_hello;
    int is_hrr;              /* HelloRetryRequest (the special random) */
    uint16_t legacy_version; /* the ServerHello version field */
    uint16_t version;        /* negotiated: supported_versions, else legacy_version */
    uint8_t random[32];
    int downgrade; /* TLS 1.3 anti-downgrade sentinel: 0, 12 (TLS1.2) or 11 (<=1.1) */
    uint8_t session_id_len;
    uint8_t session_id_first; /* the session id's first byte (0 if empty); the other bytes
                                 are never kept: Ticketbleed fills them with server memory */
    uint16_t cipher_suite;
    uint8_t compression;             /* 0 null, 1 DEFLATE */
    uint16_t ext[TW_FLIGHT_MAX_EXT]; /* extension types, in order (first TW_FLIGHT_MAX_EXT) */
    int n_ext;                       /* all extensions, even those not stored */
    int has_reneg_info;              /* renegotiation_info: secure renegotiation (RFC 5746) */
    int has_supported_versions;
    int has_key_share;
    uint16_t key_share_group; /* TLS 1.3 key_share group, or the HRR's selected group */
    int has_ems;              /* extended_master_secret */
    int has_status_request;   /* status_request acknowledged (TLS <= 1.2) */
    int has_session_ticket;
    int has_etm; /* encrypt_then_mac */
    int has_heartbeat;
    uint8_t heartbeat_mode;
    int has_ec_point_formats;
    int has_cookie; /* HRR cookie */
    char alpn[64];  /* selected ALPN protocol, "" when none */

    /* TLS <= 1.2 messages after the ServerHello. */
    int has_certificate;
    int n_certs;
    size_t leaf_off; /* leaf DER: input offset when !is_leaf_split */
    size_t leaf_len;
    int is_leaf_split;   /* leaf spans records: use tw_hello_copy_leaf() */
    size_t leaf_hs_off;  /* leaf offset in the handshake byte stream */
    int has_cert_status; /* CertificateStatus (stapled OCSP) */
    size_t cert_status_len;
    int has_ske;
    enum tw_flight_kx kx;
    int dh_p_bits; /* DHE: significant bits of p */
    int dh_g_bits;
    uint16_t ecdh_group; /* ECDHE: named curve */
    int rsa_bits;        /* EXPORT: temporary RSA modulus bits */
    int has_cert_request;
    int has_server_hello_done;
    int n_messages; /* handshake messages walked */

    /* SSLv2 SERVER-HELLO (or SSLv2 ERROR). */
    int is_sslv2;
    uint16_t v2_version;
    int v2_session_id_hit;
    uint8_t v2_cert_type;
    size_t v2_cert_off; /* input offset of the certificate */
    size_t v2_cert_len;
    uint32_t v2_specs[TW_FLIGHT_MAX_V2_SPECS];
    int n_v2_specs; /* all specs, even those not stored */
    int has_v2_error;
    uint16_t v2_error; /* SSLv2 ERROR code (1 = NO-CIPHER-ERROR) */
};

/*
 * Parse the server's bytes p[len] from the start of the connection.  Call
 * again with the whole (longer) buffer when it returns TW_HELLO_NEED_MORE;
 * *out is reset on every call.  Returns TW_HELLO_DONE when the flight is
 * complete (ServerHelloDone, a TLS 1.3 ServerHello, an HRR, an alert, a CCS,
 * an SSLv2 reply), TW_HELLO_ERROR with a flag and out->error set, or
 * TW_HELLO_NEED_MORE.  Input beyond TW_HELLO_FLIGHT_MAX bytes is ignored; a
 * flight that has not ended by then is an error (is_too_long).  May allocate a
 * scratch copy of the handshake bytes (bounded by len); frees it before
 * returning.
 */
int tw_hello_parse(const uint8_t *p, size_t len, struct tw_server_flight *out);

/*
 * Copy the leaf certificate of a parsed flight into dst[cap], gathering it
 * across records when is_leaf_split.  p/len must be the same bytes that were
 * parsed.  Returns the number of bytes copied (f->leaf_len), or 0 when there
 * is no leaf or cap is too small.
 */
size_t tw_hello_copy_leaf(const uint8_t *p, size_t len, const struct tw_server_flight *f,
                          uint8_t *dst, size_t cap);

#endif /* TW_SCANNER_HELLO_H */
