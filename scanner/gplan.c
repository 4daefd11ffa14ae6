/*
 * gplan.c - the grading planner (pure), see gplan.h; grader.c runs its steps.
 *
 * The planner is a small state machine over phases: SUITES (one protocol at a
 * time, best first), ORDER (the reversed-list hello of that protocol), GROUPS13,
 * GROUPS12, HTTP, DONE.  Each phase builds one hello from the plan's current
 * lists; feeding its answer either keeps the phase (another suite or group to
 * find) or moves on.  Every loop removes what the server chose from the offer,
 * so each phase ends after at most (offered + 1) connections, and the whole
 * plan after max_conns.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "scanner/evidence.h"
#include "scanner/gplan.h"
#include "scanner/hello.h"
#include "scanner/robot.h"
#include "scanner/vuln.h"
#include "tls/cbcrec.h"
#include "tls/mozilla.h"
#include "tls/suites.h"

/* ---- planner ---------------------------------------------------------------- */

enum gphase {
    PH_SUITES = 0,
    PH_ORDER,
    PH_GROUPS13,
    PH_GROUPS12,
    PH_VULNS,
    PH_ROBOT,
    PH_CBC,
    PH_RENEG,
    PH_HTTP,
    PH_DONE
};

/* The vulnerability probes of PH_VULNS, in order (issue 14, vuln.h). */
enum gvuln { GV_FALLBACK = 0, GV_HEARTBLEED, GV_CCS, GV_TICKETBLEED, GV__COUNT };

/* The records of PH_CBC, one connection each, in order (issue 14,
 * tls/cbcrec.h): a correct server answers every one with bad_record_mac. */
enum gcbc { GC_POODLE = 0, GC_BAD_MAC, GC_BAD_BOTH, GC_ZERO, GC__COUNT };
static const enum tw_cbcrec_form gc_forms[GC__COUNT] = {TW_CBCREC_BAD_PAD, TW_CBCREC_BAD_MAC,
                                                        TW_CBCREC_BAD_BOTH, TW_CBCREC_ZERO_LEN};

/* One probe's outcome. */
struct gp_vres {
    int tested, vulnerable;
    char detail[TW_GREC_VULN_DETAIL];
};

/* The ROBOT probe (issue 14, robot.h): where it runs and what it saw. */
struct gp_robot {
    uint8_t spki[TW_ROBOT_SPKI_MAX]; /* the RSA key of a leaf sent with an RSA-kx suite */
    size_t spki_len;
    uint8_t leaf_sha256[32]; /* that leaf, to recognise it in the probe's flights */
    int step;                /* the running enum tw_robot_variant, -1 before */
    int end;                 /* the running connection's enum tw_probe_outcome */
    uint16_t v;              /* the version its hellos offer */
    uint16_t suites[64];     /* the RSA-kx suites accepted there */
    size_t n_suites;
    struct tw_robot_reaction react[TW_ROBOT_N_VARIANTS];
    int oracle; /* enum tw_robot_result once decided */
    struct gp_vres res;
};

#define GP_N_PROTO 6
#define GP_SUITES_MAX TW_HELLO_MAX_SUITES
#define GP_LEAVES_MAX TW_GRADE_CERTS_MAX
#define GP_GROUPS_MAX 32

/* Protocols in probing order (best first) and their grade.h index. */
static const uint16_t gp_versions[GP_N_PROTO] = {TW_VERSION_TLS13, TW_VERSION_TLS12,
                                                 TW_VERSION_TLS11, TW_VERSION_TLS10,
                                                 TW_VERSION_SSL3,  TW_VERSION_SSL2};

/* TLS 1.3 candidates (RFC 8446 named groups OpenSSL and others implement). */
static const uint16_t gp_groups13[] = {29, 23, 24, 25, 30, 256, 257, 258, 259, 260};
/* TLS <= 1.2 ECDHE candidates: the common ones plus the weak curves worth finding. */
static const uint16_t gp_groups12[] = {29, 23, 24, 25, 30, 21, 19, 22, 26, 27, 28};

struct gp_leaf {
    unsigned char sha256[32];
    struct tw_grade_cert cert;
    struct tw_mozilla_cert moz; /* issue 13: what the Mozilla profiles also judge */
};

struct tw_gplan {
    char sni[TW_HOST_MAX + 1];
    int max_conns;
    int conns;
    enum gphase phase;
    int pi; /* index into gp_versions */

    /* The current offer (suites or groups) of the phase. */
    uint16_t offer[GP_SUITES_MAX];
    size_t n_offer;
    int offer_ready;  /* offer holds the phase's list */
    uint16_t order_v; /* GROUPS12: the protocol used */

    /* Evidence. */
    uint16_t acc[GP_N_PROTO][GP_SUITES_MAX]; /* accepted, in discovery order */
    size_t n_acc[GP_N_PROTO];
    unsigned tested, ok, pref_server;
    uint32_t v2specs[TW_FLIGHT_MAX_V2_SPECS];
    int n_v2specs;
    uint16_t groups[GP_GROUPS_MAX];
    size_t n_groups;
    /* The same groups by where they were seen, for the simulation (issue 13). */
    uint16_t groups13[GP_GROUPS_MAX]; /* TLS 1.3 key_share / HelloRetryRequest */
    size_t n_groups13;
    uint16_t groups12[GP_GROUPS_MAX]; /* TLS <= 1.2 ECDHE ServerKeyExchange */
    size_t n_groups12;
    uint16_t dh_bits[TW_GRADE_DH_MAX];
    size_t n_dh;
    struct gp_leaf leaves[GP_LEAVES_MAX];
    size_t n_leaves;
    int secure_reneg, saw_tls12_hello, compression;
    int saw_tls_hello;   /* a TLS 1.0-1.2 hello (DEFLATE and heartbeat offered) was answered */
    int heartbeat;       /* a TLS <= 1.2 ServerHello acknowledged the heartbeat extension */
    uint16_t hb_version; /* the best version it did so on */
    int vstep;           /* PH_VULNS: the running enum gvuln */
    uint16_t vuln_v;     /* PH_VULNS: the version its hello offers */
    struct gp_vres vres[GV__COUNT];
    struct gp_robot robot;                       /* the ROBOT probe (PH_ROBOT) */
    int cstep;                                   /* PH_CBC: the running enum gcbc */
    int cbc_v;                                   /* PH_CBC: its version (OpenSSL constant) */
    int cbc_sent;                                /* PH_CBC: records that went out */
    struct tw_cbcrec_reaction creact[GC__COUNT]; /* PH_CBC: the answer to each */
    char cbc_why[TW_GREC_VULN_DETAIL];           /* PH_CBC: why not (fully) tested */
    /* Ticketbleed (vuln.h): the CCS hello offers the session_ticket
     * extension; an acknowledgement is the precondition.  Then an OpenSSL
     * handshake fetches a ticket (TW_GSTEP_TICKET) and one hello offers it
     * back with a one-byte session ID. */
    int tb_ack;                            /* the CCS hello's ServerHello acknowledged it */
    uint16_t tb_version;                   /* the version of both connections */
    int tb_fetched;                        /* the ticket connection was fed */
    uint8_t tb_ticket[TW_VULN_TICKET_MAX]; /* the ticket (our own session's, no secret) */
    size_t tb_ticket_len;
    uint8_t tb_sid0;              /* the session ID byte the hello sent */
    struct gp_vres reneg;         /* the insecure renegotiation probe (PH_RENEG) */
    uint16_t reneg_v;             /* its version: the best TLS 1.0-1.2 accepted */
    int ed_tested;                /* the HTTP step completed a TLS 1.3 handshake (0-RTT row) */
    int ed_ticket;                /* ... and a session ticket came with it */
    uint32_t ed_max;              /* the ticket's max_early_data_size (0 = no 0-RTT) */
    int no_http;                  /* not an HTTP service (STARTTLS): no HTTP step */
    struct tw_grade_record *http; /* the HTTP probe's answer (hsts fields), once fed */
    int ocsp_stapled;             /* MZ12: tw_gplan_set_ocsp; -1 not known */
};

struct tw_gplan *
tw_gplan_new(const char *sni, int max_conns)
{
    struct tw_gplan *pl = tw_xcalloc(1, sizeof(*pl));

    if (sni != NULL)
        tw_strlcpy(pl->sni, sni, sizeof(pl->sni));
    pl->max_conns = max_conns > 0 ? max_conns : TW_PROBE_MAX_CONNS;
    pl->phase = PH_SUITES;
    pl->ocsp_stapled = -1;
    return pl;
}

void
tw_gplan_set_ocsp(struct tw_gplan *pl, int stapled)
{
    pl->ocsp_stapled = stapled < 0 ? -1 : stapled != 0;
}

void
tw_gplan_free(struct tw_gplan *pl)
{
    if (pl == NULL)
        return;
    free(pl->http);
    free(pl);
}

int
tw_gplan_connections(const struct tw_gplan *pl)
{
    return pl->conns;
}

void
tw_gplan_no_http(struct tw_gplan *pl)
{
    pl->no_http = 1;
}

static int
gp_proto_index(uint16_t v)
{
    return tw_grade_proto_from_version(v);
}

static int
gp_in(const uint16_t *a, size_t n, uint16_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

static void
gp_remove(uint16_t *a, size_t *n, uint16_t x)
{
    for (size_t i = 0; i < *n; i++) {
        if (a[i] == x) {
            memmove(a + i, a + i + 1, (*n - i - 1) * sizeof(*a));
            (*n)--;
            return;
        }
    }
}

static void
gp_add_group(struct tw_gplan *pl, uint16_t g)
{
    if (g != 0 && !gp_in(pl->groups, pl->n_groups, g) && pl->n_groups < GP_GROUPS_MAX)
        pl->groups[pl->n_groups++] = g;
}

/* Remember group g in list a (n entries) once. */
static void
gp_add_to(uint16_t *a, size_t *n, uint16_t g)
{
    if (g != 0 && !gp_in(a, *n, g) && *n < GP_GROUPS_MAX)
        a[(*n)++] = g;
}

static void
gp_add_dh(struct tw_gplan *pl, int bits)
{
    if (bits <= 0 || bits > 65535)
        return;
    for (size_t i = 0; i < pl->n_dh; i++)
        if (pl->dh_bits[i] == bits)
            return;
    if (pl->n_dh < TW_GRADE_DH_MAX)
        pl->dh_bits[pl->n_dh++] = (uint16_t)bits;
}

/* Key and signature facts of one certificate. */
static void
gp_cert_facts(X509 *x, struct tw_grade_cert *c)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    int nid;

    memset(c, 0, sizeof(*c));
    if (pk != NULL) {
        switch (EVP_PKEY_get_base_id(pk)) {
        case EVP_PKEY_RSA:
        case EVP_PKEY_RSA_PSS: {
            BIGNUM *e = NULL;

            c->key_type = TW_KEY_RSA;
            if (EVP_PKEY_get_bn_param(pk, "e", &e) == 1 && e != NULL) {
                BN_ULONG w = BN_get_word(e);

                c->rsa_exponent = w == (BN_ULONG)-1 ? 0 : (uint64_t)w;
            }
            BN_free(e);
            break;
        }
        case EVP_PKEY_DSA:
            c->key_type = TW_KEY_DSA;
            break;
        case EVP_PKEY_EC:
            c->key_type = TW_KEY_EC;
            break;
        case EVP_PKEY_ED25519:
            c->key_type = TW_KEY_ED25519;
            break;
        case EVP_PKEY_ED448:
            c->key_type = TW_KEY_ED448;
            break;
        case EVP_PKEY_DH:
        case EVP_PKEY_DHX:
            c->key_type = TW_KEY_DH;
            break;
        default:
            c->key_type = TW_KEY_UNKNOWN;
        }
        c->key_bits = EVP_PKEY_get_bits(pk);
    }
    nid = X509_get_signature_nid(x);
    c->sig = nid != NID_undef ? tw_grade_sig_from_name(OBJ_nid2ln(nid)) : TW_SIG_UNKNOWN;
    if (c->sig == TW_SIG_UNKNOWN && nid != NID_undef)
        c->sig = tw_grade_sig_from_name(OBJ_nid2sn(nid));
}

/* Issue 13: the leaf facts the Mozilla profiles judge and the grade does
 * not (tls/mozilla.h): the signature's key family, the EC curve, the
 * lifespan. */
static void
gp_moz_facts(X509 *x, struct tw_mozilla_cert *m)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    int md = NID_undef, pkey = NID_undef, days = 0, secs = 0;
    char curve[64];

    memset(m, 0, sizeof(*m));
    m->lifespan_days = -1;
    if (OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pkey) == 1)
        m->sig_kind = pkey == NID_rsaEncryption          ? TW_MZ_SIG_RSA_PKCS1
                      : pkey == NID_rsassaPss            ? TW_MZ_SIG_RSA_PSS
                      : pkey == NID_X9_62_id_ecPublicKey ? TW_MZ_SIG_ECDSA
                                                         : TW_MZ_SIG_OTHER;
    if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
        EVP_PKEY_get_group_name(pk, curve, sizeof(curve), NULL) == 1)
        m->curve = strcmp(curve, "prime256v1") == 0  ? TW_GROUP_SECP256R1
                   : strcmp(curve, "secp384r1") == 0 ? TW_GROUP_SECP384R1
                   : strcmp(curve, "secp521r1") == 0 ? TW_GROUP_SECP521R1
                                                     : 0;
    if (ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) == 1)
        m->lifespan_days = days >= 0 ? days : -1;
    ERR_clear_error();
}

/* Remember a leaf sent in a raw flight when it differs from those seen. */
static void
gp_add_leaf_der(struct tw_gplan *pl, const uint8_t *der, size_t len)
{
    unsigned char md[32];
    const unsigned char *p = der;
    X509 *x;

    if (len == 0 || len > TW_HELLO_FLIGHT_MAX || pl->n_leaves >= GP_LEAVES_MAX)
        return;
    SHA256(der, len, md);
    for (size_t i = 0; i < pl->n_leaves; i++)
        if (memcmp(pl->leaves[i].sha256, md, 32) == 0)
            return;
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL) {
        ERR_clear_error();
        return;
    }
    memcpy(pl->leaves[pl->n_leaves].sha256, md, 32);
    gp_cert_facts(x, &pl->leaves[pl->n_leaves].cert);
    gp_moz_facts(x, &pl->leaves[pl->n_leaves].moz);
    pl->n_leaves++;
    X509_free(x);
}

static void
gp_flight_leaf(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf,
               size_t len)
{
    uint8_t *der;
    size_t n;

    if (!f->has_certificate || f->n_certs < 1 || f->leaf_len == 0 || buf == NULL)
        return;
    if (pl->n_leaves >= GP_LEAVES_MAX || f->leaf_len > TW_HELLO_FLIGHT_MAX)
        return;
    der = tw_xmalloc(f->leaf_len);
    n = tw_hello_copy_leaf(buf, len, f, der, f->leaf_len);
    if (n > 0)
        gp_add_leaf_der(pl, der, n);
    free(der);
}

/* ---- ROBOT (issue 14, robot.h) ---- */

/* An RSA key-exchange suite of TLS 1.0-1.2 (not EXPORT: its key is a
 * temporary one from the ServerKeyExchange, not the certificate's). */
static int
gp_robot_suite(uint16_t code)
{
    const struct tw_suite *si = tw_suites_find(code);

    return si != NULL && si->kx == TW_KX_RSA && !si->is_export && !si->is_tls13;
}

/* The leaf of flight f: its SHA-256 into md, and the leaf itself (the
 * caller frees it), or NULL. */
static X509 *
gp_robot_leaf(const struct tw_server_flight *f, const uint8_t *buf, size_t len, unsigned char *md)
{
    const unsigned char *p;
    uint8_t *der;
    X509 *x = NULL;
    size_t n;

    if (buf == NULL || !f->has_certificate || f->n_certs < 1 || f->leaf_len == 0 ||
        f->leaf_len > TW_HELLO_FLIGHT_MAX)
        return NULL;
    der = tw_xmalloc(f->leaf_len);
    n = tw_hello_copy_leaf(buf, len, f, der, f->leaf_len);
    if (n > 0) {
        SHA256(der, n, md);
        p = der;
        x = d2i_X509(NULL, &p, (long)n);
    }
    free(der);
    ERR_clear_error();
    return x;
}

/* Keep the RSA key of the first leaf sent with an RSA key exchange. */
static void
gp_robot_note(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf, size_t len)
{
    struct gp_robot *r = &pl->robot;
    unsigned char md[32];
    EVP_PKEY *pk;
    X509 *x;
    int n;

    if (r->spki_len > 0 || f->version < TW_VERSION_TLS10 || f->version > TW_VERSION_TLS12 ||
        !gp_robot_suite(f->cipher_suite))
        return;
    x = gp_robot_leaf(f, buf, len, md);
    if (x == NULL)
        return;
    pk = X509_get0_pubkey(x);
    if (pk != NULL && EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && (n = i2d_PUBKEY(pk, NULL)) > 0 &&
        (size_t)n <= sizeof(r->spki)) {
        unsigned char *o = r->spki;

        if (i2d_PUBKEY(pk, &o) == n) {
            r->spki_len = (size_t)n;
            memcpy(r->leaf_sha256, md, sizeof(md));
        }
    }
    ERR_clear_error();
    X509_free(x);
}

/* The verdict over the reactions seen (the probe is over). */
static void
gp_robot_decide(struct gp_robot *r)
{
    r->oracle = (int)tw_robot_verdict(r->react, r->res.detail, sizeof(r->res.detail));
    r->res.tested = r->oracle != TW_ROBOT_NO_VERDICT;
    r->res.vulnerable = r->oracle == TW_ROBOT_WEAK || r->oracle == TW_ROBOT_STRONG;
    r->step = TW_ROBOT_N_VARIANTS;
}

/*
 * PH_ROBOT: the next variant to send; 0 when the probe is over (or does not
 * apply: an RSA key exchange on TLS 1.0-1.2 and its RSA leaf are needed).
 * A variant without a usable answer ends it without a verdict, so a server
 * that stops answering costs one connection, not five.
 */
static int
gp_robot_next(struct tw_gplan *pl)
{
    struct gp_robot *r = &pl->robot;

    if (r->step >= TW_ROBOT_N_VARIANTS)
        return 0;
    if (r->step < 0) {
        r->v = 0;
        r->n_suites = 0;
        for (int i = 1; i <= 3 && r->v == 0; i++) { /* TLS 1.2 .. TLS 1.0 */
            for (size_t k = 0; k < pl->n_acc[i] && r->n_suites < 64; k++)
                if (gp_robot_suite(pl->acc[i][k]))
                    r->suites[r->n_suites++] = pl->acc[i][k];
            if (r->n_suites > 0)
                r->v = gp_versions[i];
        }
        r->step = TW_ROBOT_N_VARIANTS;
        if (r->v == 0) {
            snprintf(r->res.detail, sizeof(r->res.detail),
                     "not applicable: no RSA key exchange on TLS 1.0-1.2");
            return 0;
        }
        if (r->spki_len == 0) {
            snprintf(r->res.detail, sizeof(r->res.detail),
                     "no verdict: no RSA leaf came with an RSA key exchange");
            return 0;
        }
        r->step = 0;
        return 1;
    }
    if (r->react[r->step].kind == TW_ROBOT_R_NONE || r->step + 1 >= TW_ROBOT_N_VARIANTS) {
        gp_robot_decide(r);
        return 0;
    }
    r->step++;
    return 1;
}

/* What every accepted TLS/SSLv3 flight tells beyond its suite. */
static void
gp_flight_extras(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf,
                 size_t len)
{
    if (f->version <= TW_VERSION_TLS12) {
        if (f->has_reneg_info)
            pl->secure_reneg = 1;
        pl->saw_tls12_hello = 1;
        if (f->compression != 0)
            pl->compression = 1;
        if (f->version >= TW_VERSION_TLS10) {
            pl->saw_tls_hello = 1;
            if (f->has_heartbeat) {
                pl->heartbeat = 1;
                if (f->version > pl->hb_version)
                    pl->hb_version = f->version;
            }
        }
    }
    if (f->has_ske) {
        if (f->kx == TW_FLIGHT_KX_DHE)
            gp_add_dh(pl, f->dh_p_bits);
        else if (f->kx == TW_FLIGHT_KX_ECDHE) {
            gp_add_group(pl, f->ecdh_group);
            gp_add_to(pl->groups12, &pl->n_groups12, f->ecdh_group);
        }
    }
    if (f->version == TW_VERSION_TLS13 && f->has_key_share) {
        gp_add_group(pl, f->key_share_group);
        gp_add_to(pl->groups13, &pl->n_groups13, f->key_share_group);
    }
    gp_flight_leaf(pl, f, buf, len);
    gp_robot_note(pl, f, buf, len);
}

/* Load the phase's list into offer[] (once per phase / protocol). */
static void
gp_load_offer(struct tw_gplan *pl)
{
    uint16_t v = gp_versions[pl->pi];

    if (pl->offer_ready)
        return;
    pl->offer_ready = 1;
    pl->n_offer = 0;
    switch (pl->phase) {
    case PH_SUITES:
        if (v == TW_VERSION_TLS13)
            pl->n_offer = tw_suites_offer_tls13(pl->offer, GP_SUITES_MAX);
        else if (v != TW_VERSION_SSL2)
            pl->n_offer = tw_suites_offer_legacy(pl->offer, GP_SUITES_MAX);
        if (pl->n_offer > GP_SUITES_MAX)
            pl->n_offer = GP_SUITES_MAX;
        break;
    case PH_GROUPS13:
        for (size_t i = 0; i < sizeof(gp_groups13) / sizeof(gp_groups13[0]); i++)
            if (!gp_in(pl->groups, pl->n_groups, gp_groups13[i]))
                pl->offer[pl->n_offer++] = gp_groups13[i];
        break;
    case PH_GROUPS12:
        for (size_t i = 0; i < sizeof(gp_groups12) / sizeof(gp_groups12[0]); i++)
            if (!gp_in(pl->groups, pl->n_groups, gp_groups12[i]))
                pl->offer[pl->n_offer++] = gp_groups12[i];
        break;
    case PH_ORDER:
    case PH_VULNS:
    case PH_ROBOT:
    case PH_CBC:
    case PH_RENEG:
    case PH_HTTP:
    case PH_DONE:
        break;
    }
}

/* The index in gp_versions of wire version v (TLS 1.3 .. SSLv2), or -1. */
static int
gp_version_index(uint16_t v)
{
    for (int i = 0; i < GP_N_PROTO; i++)
        if (gp_versions[i] == v)
            return i;
    return -1;
}

/*
 * Does vulnerability probe k apply, and with which version?  Each runs only
 * where its precondition holds, so it costs a connection only there:
 *   fallback    two or more of TLS 1.0-1.3 accepted: the second best one,
 *               with TLS_FALLBACK_SCSV (one version alone has no fallback);
 *   heartbleed  a TLS <= 1.2 ServerHello acknowledged the heartbeat
 *               extension (without it there is no heartbeat to over-read);
 *   ccs         a TLS 1.0-1.2 protocol accepted (TLS 1.3 has no such CCS).
 * Returns the version, or 0 when the probe does not apply (its row then says
 * why, set here).
 */
static uint16_t
gp_vuln_version(struct tw_gplan *pl, enum gvuln k)
{
    struct gp_vres *r = &pl->vres[k];
    int seen = 0;

    switch (k) {
    case GV_FALLBACK:
        for (int i = 0; i <= 3; i++) /* TLS 1.3 .. TLS 1.0 */
            if (pl->n_acc[i] > 0 && seen++ == 1)
                return gp_versions[i];
        snprintf(r->detail, sizeof(r->detail), "not applicable: fewer than two TLS versions");
        return 0;
    case GV_HEARTBLEED: {
        /* One index, checked once: -O3 sees through a second call. */
        int hi = gp_version_index(pl->hb_version);

        if (pl->heartbeat && hi >= 0 && hi < GP_N_PROTO && pl->n_acc[hi] > 0)
            return pl->hb_version;
        if (pl->saw_tls_hello) {
            r->tested = 1;
            snprintf(r->detail, sizeof(r->detail), "no heartbeat extension: nothing to over-read");
        } else {
            snprintf(r->detail, sizeof(r->detail), "not applicable: no TLS 1.0-1.2");
        }
        return 0;
    }
    case GV_CCS:
        for (int i = 1; i <= 3; i++) /* TLS 1.2 .. TLS 1.0 */
            if (pl->n_acc[i] > 0)
                return gp_versions[i];
        snprintf(r->detail, sizeof(r->detail), "not applicable: no TLS 1.0-1.2");
        return 0;
    case GV_TICKETBLEED:
        for (int i = 1; i <= 3; i++) /* TLS 1.2 .. TLS 1.0 */
            seen += pl->n_acc[i] > 0;
        if (seen == 0) {
            snprintf(r->detail, sizeof(r->detail), "not applicable: no TLS 1.0-1.2");
            return 0;
        }
        if (!pl->tb_ack) {
            /* The CCS hello was answered (its row has a verdict) without the
             * extension: no ticket to resume, nothing to echo. */
            r->tested = pl->vres[GV_CCS].tested;
            snprintf(r->detail, sizeof(r->detail), "%s",
                     r->tested ? "no session ticket extension: nothing to resume"
                               : "no verdict: the session_ticket hello was not answered");
            return 0;
        }
        if (pl->no_http) {
            snprintf(r->detail, sizeof(r->detail), "not tested over STARTTLS");
            return 0;
        }
        return pl->tb_version;
    case GV__COUNT:
        break;
    }
    return 0;
}

/*
 * Does the insecure renegotiation probe apply?  Only where no TLS <= 1.2
 * ServerHello carried renegotiation_info (a server with RFC 5746 renegotiates
 * securely or not at all) and a TLS 1.0-1.2 protocol was accepted; not over
 * STARTTLS (the probe's connection has no dialogue).  Sets the row's reason
 * when not.
 */
static int
gp_reneg_applies(struct tw_gplan *pl)
{
    struct gp_vres *r = &pl->reneg;

    pl->reneg_v = 0;
    for (int i = 1; i <= 3 && pl->reneg_v == 0; i++) /* TLS 1.2 .. TLS 1.0 */
        if (pl->n_acc[i] > 0)
            pl->reneg_v = gp_versions[i];
    if (pl->reneg_v == 0) {
        snprintf(r->detail, sizeof(r->detail), "not applicable: no TLS 1.0-1.2");
        return 0;
    }
    if (pl->secure_reneg) {
        /* Whether such a server still renegotiates with a client that does
         * not signal RFC 5746 needs a client without it: not ours. */
        snprintf(r->detail, sizeof(r->detail),
                 "not tested: RFC 5746 is supported (renegotiation is secure with our client)");
        return 0;
    }
    if (pl->no_http) {
        snprintf(r->detail, sizeof(r->detail), "not tested over STARTTLS");
        return 0;
    }
    return 1;
}

/*
 * Do the CBC padding-oracle probes apply (issue 14)?  Only where an AES-CBC
 * suite was accepted on TLS 1.2 or, failing that, TLS 1.1 (TLS 1.0's IV is
 * the last ciphertext block OpenSSL wrote, which the probe cannot see); not
 * over STARTTLS (the probe's connections have no dialogue).
 */
static int
gp_cbc_applies(struct tw_gplan *pl)
{
    pl->cbc_v = 0;
    for (int i = 1; i <= 2 && pl->cbc_v == 0; i++) { /* TLS 1.2, TLS 1.1 */
        for (size_t k = 0; k < pl->n_acc[i]; k++) {
            const struct tw_suite *su = tw_suites_find(pl->acc[i][k]);

            if (su != NULL && su->is_cbc && (su->enc == TW_ENC_AES128 || su->enc == TW_ENC_AES256))
                pl->cbc_v = i == 1 ? 0x0303 : 0x0302;
        }
    }
    if (pl->cbc_v == 0) {
        snprintf(pl->cbc_why, sizeof(pl->cbc_why),
                 "not applicable: no AES-CBC suite on TLS 1.1 or 1.2");
        return 0;
    }
    if (pl->no_http) {
        snprintf(pl->cbc_why, sizeof(pl->cbc_why), "not tested over STARTTLS");
        return 0;
    }
    pl->cstep = 0;
    return 1;
}

/* PH_VULNS: move to the next probe that applies; 0 when none is left. */
static int
gp_vuln_next(struct tw_gplan *pl)
{
    while (++pl->vstep < GV__COUNT) {
        pl->vuln_v = gp_vuln_version(pl, (enum gvuln)pl->vstep);
        if (pl->vuln_v != 0)
            return 1;
    }
    return 0;
}

/* The ECDHE suites accepted on the best TLS <= 1.2 protocol that has any. */
static size_t
gp_ecdhe_suites(const struct tw_gplan *pl, uint16_t *out, uint16_t *version)
{
    for (int i = 1; i <= 4; i++) { /* TLS 1.2 .. SSLv3 */
        size_t n = 0;

        for (size_t k = 0; k < pl->n_acc[i]; k++) {
            const struct tw_suite *si = tw_suites_find(pl->acc[i][k]);

            if (si != NULL && si->kx == TW_KX_ECDHE)
                out[n++] = pl->acc[i][k];
        }
        if (n > 0) {
            *version = gp_versions[i];
            return n;
        }
    }
    return 0;
}

/* Move to the next phase that has work; sets pl->phase. */
static void
gp_advance(struct tw_gplan *pl)
{
    uint16_t tmp[GP_SUITES_MAX];
    uint16_t v;

    pl->offer_ready = 0;
    for (;;) {
        switch (pl->phase) {
        case PH_SUITES:
            if (pl->n_acc[pl->pi] >= 2 && gp_versions[pl->pi] != TW_VERSION_SSL2) {
                pl->phase = PH_ORDER;
                return;
            }
            /* FALLTHROUGH */
        case PH_ORDER:
            if (pl->pi + 1 < GP_N_PROTO) {
                pl->pi++;
                pl->phase = PH_SUITES;
                return;
            }
            pl->phase = PH_GROUPS13;
            if (pl->ok & TW_PROTO_BIT(TW_PROTO_TLS13)) {
                gp_load_offer(pl);
                if (pl->n_offer > 0)
                    return;
            }
            pl->offer_ready = 0;
            /* FALLTHROUGH */
        case PH_GROUPS13:
            pl->phase = PH_GROUPS12;
            if (gp_ecdhe_suites(pl, tmp, &v) > 0) {
                pl->order_v = v;
                gp_load_offer(pl);
                if (pl->n_offer > 0)
                    return;
            }
            pl->offer_ready = 0;
            /* FALLTHROUGH */
        case PH_GROUPS12:
            pl->phase = PH_VULNS;
            pl->vstep = -1;
            /* FALLTHROUGH */
        case PH_VULNS:
            if (gp_vuln_next(pl))
                return;
            pl->phase = PH_ROBOT;
            pl->robot.step = -1;
            /* FALLTHROUGH */
        case PH_ROBOT:
            if (gp_robot_next(pl))
                return;
            pl->phase = PH_CBC;
            if (gp_cbc_applies(pl))
                return;
            /* FALLTHROUGH */
        case PH_CBC:
            pl->phase = PH_RENEG;
            if (gp_reneg_applies(pl))
                return;
            pl->phase = PH_HTTP;
            return;
        case PH_RENEG:
            pl->phase = PH_HTTP;
            return;
        case PH_HTTP:
        case PH_DONE:
            pl->phase = PH_DONE;
            return;
        }
    }
}

enum tw_gstep
tw_gplan_next(struct tw_gplan *pl, const uint8_t *rnd, uint8_t *out, size_t cap, size_t *len)
{
    struct tw_hello_params hp;
    uint16_t suites[GP_SUITES_MAX];
    uint32_t specs[64];
    uint16_t v;
    size_t n = 0;

    *len = 0;
    if (pl->phase == PH_DONE)
        return TW_GSTEP_DONE;
    /* Keep one connection for HTTP when the budget runs out. */
    if (pl->phase != PH_HTTP && pl->conns >= pl->max_conns - (pl->no_http ? 0 : 1))
        pl->phase = PH_HTTP;
    if (pl->phase == PH_HTTP && pl->no_http)
        pl->phase = PH_DONE;
    if (pl->phase == PH_HTTP)
        return pl->conns < pl->max_conns ? TW_GSTEP_HTTP : TW_GSTEP_DONE;
    if (pl->phase == PH_RENEG)
        return TW_GSTEP_RENEG;
    if (pl->phase == PH_CBC)
        return TW_GSTEP_CBC;
    if (pl->phase == PH_VULNS && pl->vstep == GV_TICKETBLEED && !pl->tb_fetched)
        return TW_GSTEP_TICKET;
    if (pl->phase == PH_DONE)
        return TW_GSTEP_DONE;

    v = pl->phase == PH_GROUPS13   ? TW_VERSION_TLS13
        : pl->phase == PH_GROUPS12 ? pl->order_v
        : pl->phase == PH_VULNS    ? pl->vuln_v
        : pl->phase == PH_ROBOT    ? pl->robot.v
                                   : gp_versions[pl->pi];
    gp_load_offer(pl);
    tw_hello_params_init(&hp, v, rnd);
    hp.sni = pl->sni[0] != '\0' ? pl->sni : NULL;
    if (v == TW_VERSION_SSL2) {
        size_t ns = tw_suites_offer_sslv2(specs, sizeof(specs) / sizeof(specs[0]));

        hp.sslv2_specs = specs;
        hp.n_sslv2_specs = ns < 64 ? ns : 64;
        hp.sni = NULL;
    } else {
        switch (pl->phase) {
        case PH_SUITES:
            memcpy(suites, pl->offer, pl->n_offer * sizeof(suites[0]));
            n = pl->n_offer;
            break;
        case PH_ORDER:
            for (size_t k = 0; k < pl->n_acc[pl->pi]; k++)
                suites[k] = pl->acc[pl->pi][pl->n_acc[pl->pi] - 1 - k];
            n = pl->n_acc[pl->pi];
            break;
        case PH_GROUPS13:
            n = pl->n_acc[0];
            memcpy(suites, pl->acc[0], n * sizeof(suites[0]));
            hp.groups = pl->offer;
            hp.n_groups = pl->n_offer;
            break;
        case PH_GROUPS12:
            n = gp_ecdhe_suites(pl, suites, &v);
            hp.groups = pl->offer;
            hp.n_groups = pl->n_offer;
            break;
        case PH_VULNS: {
            int vi = gp_version_index(v);

            n = vi >= 0 ? pl->n_acc[vi] : 0;
            if (n > 0)
                memcpy(suites, pl->acc[vi], n * sizeof(suites[0]));
            if (pl->vstep == GV_FALLBACK)
                hp.flags |= TW_HELLO_F_FALLBACK_SCSV;
            else if (pl->vstep == GV_HEARTBLEED)
                hp.flags |= TW_HELLO_F_HEARTBEAT;
            else if (pl->vstep == GV_CCS)
                hp.flags |= TW_HELLO_F_SESSION_TICKET; /* Ticketbleed's precondition */
            else if (pl->vstep == GV_TICKETBLEED) {
                /* Resume the fetched ticket with a one-byte session ID. */
                hp.flags |= TW_HELLO_F_SESSION_TICKET;
                hp.ticket = pl->tb_ticket;
                hp.ticket_len = pl->tb_ticket_len;
                hp.session_id = rnd + 32;
                hp.session_id_len = TW_VULN_TB_SID_LEN;
                pl->tb_sid0 = rnd[32];
            }
            break;
        }
        case PH_ROBOT:
            n = pl->robot.n_suites;
            memcpy(suites, pl->robot.suites, n * sizeof(suites[0]));
            break;
        case PH_CBC:
        case PH_RENEG:
        case PH_HTTP:
        case PH_DONE:
            break;
        }
        hp.suites = suites;
        hp.n_suites = n;
        if (v == TW_VERSION_TLS13) {
            hp.min_version = TW_VERSION_TLS13;
            hp.session_id = rnd + 32;
            /* Group enumeration: an empty key_share makes the server name its
             * choice in a HelloRetryRequest. */
            hp.x25519_share = pl->phase == PH_GROUPS13 ? NULL : rnd + 64;
        } else if (v >= TW_VERSION_TLS10 && pl->phase != PH_VULNS && pl->phase != PH_ROBOT) {
            /* Compression (CRIME) and the heartbeat extension: the answers
             * tell both at no extra connection. */
            hp.flags |= TW_HELLO_F_DEFLATE | TW_HELLO_F_HEARTBEAT;
        }
    }
    if (tw_hello_build(&hp, out, cap, len) < 0) {
        /* Cannot happen with the bounded lists; skip the phase, never loop. */
        tw_warn("probe", "cannot build a grading hello (phase %d)", (int)pl->phase);
        pl->offer_ready = 0;
        if (pl->phase == PH_SUITES || pl->phase == PH_ORDER)
            pl->phase = PH_ORDER;
        gp_advance(pl);
        return tw_gplan_next(pl, rnd, out, cap, len);
    }
    if (pl->phase == PH_VULNS && (pl->vstep == GV_HEARTBLEED || pl->vstep == GV_CCS)) {
        /* The records that follow the hello in the same write (vuln.h). */
        size_t extra = pl->vstep == GV_HEARTBLEED
                           ? tw_vuln_heartbeat_request(v, out + *len, cap - *len)
                           : tw_vuln_ccs_records(v, out + *len, cap - *len);

        if (extra == 0) { /* cannot happen: a grading hello is far below the cap */
            *len = 0;
            gp_advance(pl);
            return tw_gplan_next(pl, rnd, out, cap, len);
        }
        *len += extra;
    }
    if (pl->phase == PH_ROBOT) {
        /* ClientKeyExchange, ChangeCipherSpec, Finished (robot.h). */
        size_t extra = *len < cap ? tw_robot_records(pl->robot.spki, pl->robot.spki_len,
                                                     (enum tw_robot_variant)pl->robot.step, v, rnd,
                                                     TW_PROBE_RANDOM_LEN, out + *len, cap - *len)
                                  : 0;

        if (extra == 0) { /* a key we cannot use: no verdict, no connection */
            *len = 0;
            snprintf(pl->robot.res.detail, sizeof(pl->robot.res.detail),
                     "no verdict: cannot encrypt to the server's RSA key");
            pl->robot.step = TW_ROBOT_N_VARIANTS;
            pl->robot.res.tested = 0;
            gp_advance(pl);
            return tw_gplan_next(pl, rnd, out, cap, len);
        }
        *len += extra;
    }
    return TW_GSTEP_HELLO;
}

static void
gp_feed_suites(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf,
               size_t len)
{
    uint16_t v = gp_versions[pl->pi];
    int p = gp_proto_index(v);

    pl->tested |= TW_PROTO_BIT(p);
    if (v == TW_VERSION_SSL2) {
        if (f != NULL && f->is_sslv2 && !f->has_v2_error) {
            pl->ok |= TW_PROTO_BIT(p);
            pl->n_v2specs =
                f->n_v2_specs < TW_FLIGHT_MAX_V2_SPECS ? f->n_v2_specs : TW_FLIGHT_MAX_V2_SPECS;
            memcpy(pl->v2specs, f->v2_specs, (size_t)pl->n_v2specs * sizeof(pl->v2specs[0]));
        }
        gp_advance(pl);
        return;
    }
    if (f == NULL || !f->has_server_hello || f->version != v ||
        !gp_in(pl->offer, pl->n_offer, f->cipher_suite) || pl->n_acc[pl->pi] >= GP_SUITES_MAX) {
        gp_advance(pl);
        return;
    }
    pl->ok |= TW_PROTO_BIT(p);
    pl->acc[pl->pi][pl->n_acc[pl->pi]++] = f->cipher_suite;
    gp_remove(pl->offer, &pl->n_offer, f->cipher_suite);
    gp_flight_extras(pl, f, buf, len);
    if (pl->n_offer == 0)
        gp_advance(pl);
}

static void
gp_feed_groups(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf,
               size_t len)
{
    uint16_t g = 0;

    if (f != NULL && f->has_server_hello) {
        if (pl->phase == PH_GROUPS13 && f->version == TW_VERSION_TLS13 && f->has_key_share)
            g = f->key_share_group;
        else if (pl->phase == PH_GROUPS12 && f->version == pl->order_v && f->has_ske &&
                 f->kx == TW_FLIGHT_KX_ECDHE)
            g = f->ecdh_group;
    }
    if (g == 0 || !gp_in(pl->offer, pl->n_offer, g)) {
        gp_advance(pl);
        return;
    }
    gp_add_group(pl, g);
    if (pl->phase == PH_GROUPS13)
        gp_add_to(pl->groups13, &pl->n_groups13, g);
    gp_remove(pl->offer, &pl->n_offer, g);
    if (pl->phase == PH_GROUPS12)
        gp_flight_extras(pl, f, buf, len);
    if (pl->n_offer == 0)
        gp_advance(pl);
}

static const char *
gp_version_name(uint16_t v)
{
    switch (v) {
    case TW_VERSION_TLS13:
        return "TLS 1.3";
    case TW_VERSION_TLS12:
        return "TLS 1.2";
    case TW_VERSION_TLS11:
        return "TLS 1.1";
    case TW_VERSION_TLS10:
        return "TLS 1.0";
    default:
        return "SSL";
    }
}

/* The answer to the Ticketbleed hello (vuln.h). */
static void
gp_feed_ticketbleed(struct tw_gplan *pl, const struct tw_server_flight *f, struct gp_vres *r,
                    const char *vn)
{
    enum tw_vuln_tb v = tw_vuln_ticketbleed(f, pl->tb_version, TW_VULN_TB_SID_LEN, pl->tb_sid0);

    r->tested = v != TW_VULN_TB_NO_ANSWER;
    r->vulnerable = v == TW_VULN_TB_VULNERABLE;
    switch (v) {
    case TW_VULN_TB_VULNERABLE:
        snprintf(r->detail, sizeof(r->detail),
                 "a %s resumption with a %d-byte session ID got a 32-byte one back"
                 " (server memory; bytes discarded)",
                 vn, TW_VULN_TB_SID_LEN);
        break;
    case TW_VULN_TB_ECHOED:
        snprintf(r->detail, sizeof(r->detail),
                 "the %s ticket was resumed and the %d-byte session ID echoed as sent", vn,
                 TW_VULN_TB_SID_LEN);
        break;
    case TW_VULN_TB_OTHER_ID:
        snprintf(r->detail, sizeof(r->detail),
                 "the %s ticket was resumed with a %u-byte session ID not ours", vn,
                 (unsigned)f->session_id_len);
        break;
    case TW_VULN_TB_FULL:
        snprintf(r->detail, sizeof(r->detail),
                 "the %s ticket was declined (full handshake): nothing echoed", vn);
        break;
    case TW_VULN_TB_ALERT:
        snprintf(r->detail, sizeof(r->detail), "the %s resumption hello got alert %u", vn,
                 (unsigned)f->alert_desc);
        break;
    case TW_VULN_TB_NO_ANSWER:
        snprintf(r->detail, sizeof(r->detail), "no verdict: the %s resumption hello got no answer",
                 vn);
        break;
    }
}

/*
 * The answer to a vulnerability probe (gp_vuln_version says which).  Only
 * lengths and alert codes are looked at: the bytes of a heartbeat answer
 * (another process's memory on a vulnerable server) are never copied, and
 * the grader wipes its buffer after this feed.
 */
static void
gp_feed_vuln(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf, size_t len)
{
    struct gp_vres *r = &pl->vres[pl->vstep];
    const char *vn = gp_version_name(pl->vuln_v);
    struct tw_vuln_tail t;
    int answered = f != NULL && f->has_server_hello && f->version == pl->vuln_v;

    memset(&t, 0, sizeof(t));
    if (buf != NULL)
        tw_vuln_tail(buf, len, &t);
    switch ((enum gvuln)pl->vstep) {
    case GV_FALLBACK:
        if (answered) {
            r->tested = r->vulnerable = 1;
            snprintf(r->detail, sizeof(r->detail),
                     "a %s hello with TLS_FALLBACK_SCSV was accepted (RFC 7507 not enforced)", vn);
        } else if (f != NULL && f->has_alert &&
                   f->alert_desc == TW_VULN_ALERT_INAPPROPRIATE_FALLBACK) {
            r->tested = 1;
            snprintf(r->detail, sizeof(r->detail), "inappropriate_fallback alert to a %s hello",
                     vn);
        } else {
            snprintf(r->detail, sizeof(r->detail), "no verdict: the %s fallback hello got %s", vn,
                     f != NULL && f->has_alert ? "another alert" : "no answer");
        }
        break;
    case GV_HEARTBLEED:
        if (!answered) {
            snprintf(r->detail, sizeof(r->detail), "no verdict: the %s hello was not answered", vn);
        } else if (t.has_heartbeat) {
            r->tested = r->vulnerable = 1;
            snprintf(r->detail, sizeof(r->detail),
                     "a %zu-byte heartbeat answer to a request claiming %d bytes and sending none"
                     " (over-read; bytes discarded)",
                     t.heartbeat_len, TW_VULN_HB_CLAIM);
        } else {
            r->tested = 1;
            snprintf(r->detail, sizeof(r->detail), "%s",
                     f->has_heartbeat
                         ? "the malformed heartbeat request got no answer"
                         : "heartbeat extension not acknowledged: nothing to over-read");
        }
        break;
    case GV_CCS:
        if (answered && f->has_session_ticket) {
            pl->tb_ack = 1;
            pl->tb_version = pl->vuln_v;
        }
        if (!answered || !f->has_server_hello_done) {
            snprintf(r->detail, sizeof(r->detail), "no verdict: no complete %s first flight", vn);
        } else if (t.has_alert && (t.alert_desc == TW_VULN_ALERT_BAD_RECORD_MAC ||
                                   t.alert_desc == TW_VULN_ALERT_DECRYPTION_FAILED)) {
            r->tested = r->vulnerable = 1;
            snprintf(r->detail, sizeof(r->detail),
                     "an early ChangeCipherSpec was accepted: the next record failed with alert %u"
                     " (CVE-2014-0224)",
                     (unsigned)t.alert_desc);
        } else {
            r->tested = 1;
            if (t.has_alert)
                snprintf(r->detail, sizeof(r->detail), "an early ChangeCipherSpec got alert %u%s",
                         (unsigned)t.alert_desc,
                         t.alert_desc == TW_VULN_ALERT_UNEXPECTED_MESSAGE ? " (unexpected_message)"
                                                                          : "");
            else
                snprintf(r->detail, sizeof(r->detail),
                         "no alert after an early ChangeCipherSpec (closed or silent)");
        }
        break;
    case GV_TICKETBLEED:
        gp_feed_ticketbleed(pl, f, r, vn);
        break;
    case GV__COUNT:
        break;
    }
    gp_advance(pl);
}

/*
 * The answer to one ROBOT variant: the reaction after our records, when the
 * flight was the expected one (the version, a ServerHelloDone, the leaf whose
 * key we encrypted to); else none, which ends the probe without a verdict.
 * Only the alert code and how the connection ended are kept.
 */
static void
gp_feed_robot(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf, size_t len)
{
    struct gp_robot *r = &pl->robot;
    struct tw_robot_reaction *x;
    struct tw_vuln_tail t;
    unsigned char md[32];
    X509 *leaf = NULL;
    int end = r->end;

    r->end = 0;
    if (r->step < 0 || r->step >= TW_ROBOT_N_VARIANTS) {
        gp_advance(pl);
        return;
    }
    x = &r->react[r->step];
    memset(x, 0, sizeof(*x));
    if (f != NULL && f->has_server_hello && f->version == r->v && f->has_server_hello_done &&
        gp_in(r->suites, r->n_suites, f->cipher_suite))
        leaf = gp_robot_leaf(f, buf, len, md);
    if (leaf != NULL && memcmp(md, r->leaf_sha256, sizeof(md)) == 0) {
        tw_vuln_tail(buf, len, &t);
        if (t.has_alert) {
            x->kind = TW_ROBOT_R_ALERT;
            x->alert = t.alert_desc;
        } else {
            x->kind = end == TW_PROBE_EOF       ? TW_ROBOT_R_EOF
                      : end == TW_PROBE_RESET   ? TW_ROBOT_R_RESET
                      : end == TW_PROBE_TIMEOUT ? TW_ROBOT_R_TIMEOUT
                                                : TW_ROBOT_R_OTHER;
        }
    }
    X509_free(leaf);
    gp_advance(pl);
}

int
tw_gplan_reads_tail(const struct tw_gplan *pl)
{
    return (pl->phase == PH_VULNS && (pl->vstep == GV_HEARTBLEED || pl->vstep == GV_CCS)) ||
           pl->phase == PH_ROBOT;
}

int
tw_gplan_wipes_answer(const struct tw_gplan *pl)
{
    return (pl->phase == PH_VULNS && pl->vstep != GV_FALLBACK) || pl->phase == PH_ROBOT;
}

void
tw_gplan_feed_end(struct tw_gplan *pl, int outcome)
{
    pl->robot.end = outcome;
}

int
tw_gplan_ticket_version(const struct tw_gplan *pl)
{
    return pl->tb_version;
}

void
tw_gplan_feed_ticket(struct tw_gplan *pl, const uint8_t *ticket, size_t len)
{
    struct gp_vres *r = &pl->vres[GV_TICKETBLEED];
    const char *vn = gp_version_name(pl->tb_version);

    pl->conns++;
    if (pl->phase != PH_VULNS || pl->vstep != GV_TICKETBLEED || pl->tb_fetched)
        return;
    pl->tb_fetched = 1;
    if (ticket != NULL && len > 0 && len <= sizeof(pl->tb_ticket)) {
        memcpy(pl->tb_ticket, ticket, len);
        pl->tb_ticket_len = len;
        return; /* the resumption hello is next */
    }
    if (ticket == NULL) {
        snprintf(r->detail, sizeof(r->detail),
                 "no verdict: the %s handshake for a session ticket did not complete", vn);
    } else if (len == 0) {
        r->tested = 1;
        snprintf(r->detail, sizeof(r->detail), "no session ticket issued on %s: nothing to resume",
                 vn);
    } else {
        snprintf(r->detail, sizeof(r->detail), "not tested: a %zu-byte session ticket (over %d)",
                 len, TW_VULN_TICKET_MAX);
    }
    gp_advance(pl);
}

void
tw_gplan_feed_hello(struct tw_gplan *pl, const struct tw_server_flight *f, const uint8_t *buf,
                    size_t len)
{
    pl->conns++;
    switch (pl->phase) {
    case PH_SUITES:
        gp_feed_suites(pl, f, buf, len);
        break;
    case PH_ORDER: {
        size_t n = pl->n_acc[pl->pi];

        if (f != NULL && f->has_server_hello && f->version == gp_versions[pl->pi] && n >= 2 &&
            f->cipher_suite == pl->acc[pl->pi][0])
            pl->pref_server |= TW_PROTO_BIT(gp_proto_index(gp_versions[pl->pi]));
        gp_advance(pl);
        break;
    }
    case PH_GROUPS13:
    case PH_GROUPS12:
        gp_feed_groups(pl, f, buf, len);
        break;
    case PH_VULNS:
        gp_feed_vuln(pl, f, buf, len);
        break;
    case PH_ROBOT:
        gp_feed_robot(pl, f, buf, len);
        break;
    case PH_CBC:
    case PH_RENEG:
    case PH_HTTP:
    case PH_DONE:
        break;
    }
}

int
tw_gplan_reneg_version(const struct tw_gplan *pl)
{
    return pl->reneg_v;
}

void
tw_gplan_feed_reneg(struct tw_gplan *pl, int started, int server_hellos, int alert)
{
    struct gp_vres *r = &pl->reneg;
    const char *vn = gp_version_name(pl->reneg_v);

    pl->conns++;
    if (pl->phase != PH_RENEG)
        return;
    if (!started) {
        snprintf(r->detail, sizeof(r->detail),
                 "no verdict: no %s handshake completed to renegotiate on", vn);
    } else if (server_hellos >= 2) {
        r->tested = r->vulnerable = 1;
        snprintf(r->detail, sizeof(r->detail),
                 "a client-initiated renegotiation hello got a new ServerHello, without RFC 5746"
                 " (%s)",
                 vn);
    } else if (alert >= 0) {
        r->tested = 1;
        snprintf(r->detail, sizeof(r->detail), "the renegotiation hello got alert %d%s", alert,
                 alert == 100 ? " (no_renegotiation)" : "");
    } else {
        r->tested = 1;
        snprintf(r->detail, sizeof(r->detail),
                 "the renegotiation hello got no ServerHello (ignored or closed)");
    }
    gp_advance(pl);
}

int
tw_gplan_cbc_version(const struct tw_gplan *pl)
{
    return pl->cbc_v;
}

int
tw_gplan_cbc_form(const struct tw_gplan *pl)
{
    return gc_forms[pl->cstep >= 0 && pl->cstep < GC__COUNT ? pl->cstep : 0];
}

void
tw_gplan_feed_cbc(struct tw_gplan *pl, int sent, const struct tw_cbcrec_reaction *r)
{
    pl->conns++;
    if (pl->phase != PH_CBC || pl->cstep < 0 || pl->cstep >= GC__COUNT)
        return;
    if (!sent) {
        /* No handshake on the CBC suites, or no keys: the rest would fail too. */
        snprintf(pl->cbc_why, sizeof(pl->cbc_why),
                 "no verdict: no %s AES-CBC handshake completed with usable keys (record %d)",
                 gp_version_name((uint16_t)pl->cbc_v), pl->cstep + 1);
        gp_advance(pl);
        return;
    }
    pl->creact[pl->cstep] = *r;
    pl->cbc_sent++;
    if (++pl->cstep >= GC__COUNT)
        gp_advance(pl);
}

void
tw_gplan_feed_early_data(struct tw_gplan *pl, int has_ticket, uint32_t max_early_data)
{
    pl->ed_tested = 1;
    pl->ed_ticket = has_ticket != 0;
    pl->ed_max = has_ticket ? max_early_data : 0;
}

void
tw_gplan_feed_http(struct tw_gplan *pl, const char *resp, size_t len)
{
    pl->conns++;
    if (pl->http == NULL)
        pl->http = tw_xcalloc(1, sizeof(*pl->http));
    tw_probe_parse_http(resp, resp != NULL ? len : 0, pl->http);
    pl->phase = PH_DONE;
}

/* ---- HTTP response head ---- */

static int
gp_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Directive flags of an HSTS value: includeSubDomains, preload. */
static void
gp_hsts_flags(const char *v, size_t len, struct tw_grade_record *rec)
{
    size_t i = 0;

    while (i < len) {
        size_t s, e;

        while (i < len && (gp_is_ows(v[i]) || v[i] == ';'))
            i++;
        s = i;
        while (i < len && v[i] != ';' && v[i] != '=' && !gp_is_ows(v[i]))
            i++;
        e = i;
        if (e - s == 17 && strncasecmp(v + s, "includeSubDomains", 17) == 0)
            rec->hsts_include_subdomains = 1;
        else if (e - s == 7 && strncasecmp(v + s, "preload", 7) == 0)
            rec->hsts_preload = 1;
        while (i < len && v[i] != ';') /* skip the value, quoted or not */
            i++;
    }
}

void
tw_probe_parse_http(const char *resp, size_t len, struct tw_grade_record *rec)
{
    size_t i = 0;
    static const char name[] = "strict-transport-security";
    const size_t nlen = sizeof(name) - 1;

    rec->hsts = TW_GREC_HSTS_NOT_HTTP;
    rec->hsts_header[0] = '\0';
    rec->hsts_max_age = -1;
    rec->hsts_include_subdomains = 0;
    rec->hsts_preload = 0;
    if (resp == NULL || len < 12 || memcmp(resp, "HTTP/", 5) != 0)
        return;
    /* A status line "HTTP/x.y NNN": anything else is not HTTP. */
    {
        const char *sp = memchr(resp, ' ', len < 16 ? len : 16);

        if (sp == NULL || (size_t)(sp - resp) + 4 > len || sp[1] < '1' || sp[1] > '5' ||
            sp[2] < '0' || sp[2] > '9' || sp[3] < '0' || sp[3] > '9')
            return;
    }
    rec->hsts = TW_GREC_HSTS_ABSENT;
    /* Skip the status line. */
    while (i < len && resp[i] != '\n')
        i++;
    i++;
    while (i < len) {
        size_t s = i, e, c, vs, ve;

        while (i < len && resp[i] != '\n')
            i++;
        e = i; /* end of line (at \n or len) */
        i++;
        if (e > s && resp[e - 1] == '\r')
            e--;
        if (e == s)
            break; /* end of the head */
        for (c = s; c < e && resp[c] != ':'; c++)
            ;
        if (c == e || c - s != nlen || strncasecmp(resp + s, name, nlen) != 0)
            continue;
        vs = c + 1;
        ve = e;
        while (vs < ve && gp_is_ows(resp[vs]))
            vs++;
        while (ve > vs && gp_is_ows(resp[ve - 1]))
            ve--;
        {
            size_t keep =
                ve - vs < sizeof(rec->hsts_header) - 1 ? ve - vs : sizeof(rec->hsts_header) - 1;
            int64_t max_age = -1;
            enum tw_hsts_status st;

            memcpy(rec->hsts_header, resp + vs, keep);
            rec->hsts_header[keep] = '\0';
            /* NULs end the kept copy; parse what was kept. */
            keep = strlen(rec->hsts_header);
            st = tw_grade_hsts_parse(rec->hsts_header, keep, &max_age);
            switch (st) {
            case TW_HSTS_PRESENT:
                rec->hsts = TW_GREC_HSTS_PRESENT;
                rec->hsts_max_age = max_age;
                break;
            case TW_HSTS_DISABLED:
                rec->hsts = TW_GREC_HSTS_DISABLED;
                rec->hsts_max_age = 0;
                break;
            default:
                rec->hsts = TW_GREC_HSTS_INVALID;
                break;
            }
            if (rec->hsts != TW_GREC_HSTS_INVALID)
                gp_hsts_flags(rec->hsts_header, keep, rec);
        }
        return; /* the first header counts */
    }
}

/* ---- grading ---- */

/* The chain was completed by a certificate fetched through AIA. */
static int
gp_chain_completed(const struct tw_result *r)
{
    for (size_t i = 0; i < r->n_chain; i++)
        if (r->chain[i].via_aia)
            return 1;
    return 0;
}

static unsigned
gp_trust_bits(const struct tw_result *r, const struct tw_grade_input *in)
{
    unsigned t = 0;
    int leaf_weak_sig = 0;

    if (r->issues & TW_ISSUE(TW_CLASS_CERT_EXPIRED))
        t |= TW_TRUST_EXPIRED;
    if (r->issues & TW_ISSUE(TW_CLASS_CERT_NOT_YET_VALID))
        t |= TW_TRUST_NOT_YET_VALID;
    if (r->issues & TW_ISSUE(TW_CLASS_SELF_SIGNED))
        t |= TW_TRUST_SELF_SIGNED;
    if (r->issues & TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT))
        t |= TW_TRUST_UNTRUSTED;
    /* Completed by an AIA fetch (a via_aia certificate, issue 14): capped at B
     * through in->chain instead (gp_chain_completed). */
    if ((r->issues & TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN)) && !gp_chain_completed(r))
        t |= TW_TRUST_CHAIN_INCOMPLETE;
    if (r->issues & TW_ISSUE(TW_CLASS_CERT_REVOKED))
        t |= TW_TRUST_REVOKED;
    for (size_t i = 0; i < in->n_certs; i++)
        if (in->certs[i].sig == TW_SIG_SHA1 || in->certs[i].sig == TW_SIG_MD5 ||
            in->certs[i].sig == TW_SIG_MD2 || in->certs[i].sig == TW_SIG_MD4)
            leaf_weak_sig = 1;
    /* A SHA-1/MD5 intermediate: "insecure signature" is a trust failure (C02). */
    if ((r->issues & TW_ISSUE(TW_CLASS_WEAK_SIGNATURE)) && !leaf_weak_sig)
        t |= TW_TRUST_UNTRUSTED;
    return t;
}

/* The MAIN probe's leaf, from the stored PEM (exponent included), or its fields. */
static void
gp_main_leaf(const struct tw_result *r, struct tw_grade_cert *c, struct tw_mozilla_cert *m,
             unsigned char sha[32], int *ok)
{
    const struct tw_cert *lc;
    BIO *b;
    X509 *x = NULL;

    *ok = 0;
    if (r->chain == NULL || r->n_chain == 0)
        return;
    lc = &r->chain[0];
    if (lc->pem != NULL) {
        b = BIO_new_mem_buf(lc->pem, -1);
        if (b != NULL) {
            x = PEM_read_bio_X509(b, NULL, NULL, NULL);
            BIO_free(b);
        }
        ERR_clear_error();
    }
    if (x != NULL) {
        unsigned char *der = NULL;
        int n = i2d_X509(x, &der);

        gp_cert_facts(x, c);
        gp_moz_facts(x, m);
        if (n > 0)
            SHA256(der, (size_t)n, sha);
        OPENSSL_free(der);
        X509_free(x);
    } else {
        memset(c, 0, sizeof(*c));
        c->key_type = tw_grade_key_type_from_name(lc->key_type);
        c->key_bits = lc->key_bits;
        c->sig = tw_grade_sig_from_name(lc->sig_alg);
        memset(m, 0, sizeof(*m));
        m->lifespan_days = -1;
        m->sig_kind = strstr(lc->sig_alg, "WithRSAEncryption") != NULL ? TW_MZ_SIG_RSA_PKCS1
                      : strncmp(lc->sig_alg, "ecdsa-with-", 11) == 0   ? TW_MZ_SIG_ECDSA
                      : strcmp(lc->sig_alg, "rsassaPss") == 0          ? TW_MZ_SIG_RSA_PSS
                                                                       : TW_MZ_SIG_UNKNOWN;
        memset(sha, 0, 32);
    }
    *ok = 1;
}

static void
gp_hsts_input(const struct tw_grade_record *h, struct tw_grade_input *in)
{
    in->is_https = 1;
    switch (h != NULL ? h->hsts : TW_GREC_HSTS_NOT_TESTED) {
    case TW_GREC_HSTS_PRESENT:
        in->hsts = TW_HSTS_PRESENT;
        in->hsts_max_age = h->hsts_max_age;
        break;
    case TW_GREC_HSTS_DISABLED:
        in->hsts = TW_HSTS_DISABLED;
        break;
    case TW_GREC_HSTS_INVALID:
        in->hsts = TW_HSTS_INVALID;
        break;
    case TW_GREC_HSTS_ABSENT:
        in->hsts = TW_HSTS_ABSENT;
        break;
    case TW_GREC_HSTS_NOT_HTTP:
    case TW_GREC_HSTS_NOT_TESTED:
        in->is_https = 0;
        in->hsts = TW_HSTS_NOT_APPLICABLE;
        break;
    }
}

static void
gp_vuln_row(struct tw_grade_record *rec, const char *name, int tested, int vulnerable,
            const char *detail)
{
    struct tw_grec_vuln *v;

    if (rec->n_vulns >= TW_GREC_VULNS_MAX)
        return;
    v = &rec->vulns[rec->n_vulns++];
    v->name = name;
    v->tested = tested;
    v->vulnerable = tested && vulnerable;
    tw_strlcpy(v->detail, detail, sizeof(v->detail));
}

/*
 * The rows the enumeration alone decides (no connection of their own):
 * Logjam (a DHE group under 1024 bits or an export DHE suite), FREAK (an
 * RSA export suite), Sweet32 (a 64-bit block suite on SSL 3.0-TLS 1.2),
 * BEAST (a CBC suite on SSL 3.0 or TLS 1.0; a note, no grade effect since
 * 2009d), and 0-RTT (a TLS 1.3 session ticket of the HTTP step allowing early
 * data; a note).  Their grade effects are grade.c's caps on the same
 * evidence (C12, C33, C34), so a row and a cap never disagree.
 */
static void
gp_vuln_rows_enum(const struct tw_gplan *pl, struct tw_grade_record *rec)
{
    char d[TW_GREC_VULN_DETAIL];
    int legacy = 0, dhe = 0, dh_min = 0, exp_dhe = 0, exp_rsa = 0, b64 = 0, cbc10 = 0;
    unsigned b64_protos = 0;

    for (int i = 1; i <= 4; i++) { /* TLS 1.2 .. SSLv3 */
        for (size_t k = 0; k < pl->n_acc[i]; k++) {
            const struct tw_suite *si = tw_suites_find(pl->acc[i][k]);

            legacy = 1;
            if (si == NULL || si->is_scsv)
                continue;
            if (si->kx == TW_KX_DHE)
                dhe = 1;
            if (si->is_export && si->kx == TW_KX_DHE)
                exp_dhe = 1;
            if (si->is_export && si->kx == TW_KX_RSA)
                exp_rsa = 1;
            if (si->is_64bit_block) {
                b64 = 1;
                b64_protos |= 1u << i;
            }
            if (si->is_cbc &&
                (gp_versions[i] == TW_VERSION_TLS10 || gp_versions[i] == TW_VERSION_SSL3))
                cbc10 = 1;
        }
    }
    for (size_t i = 0; i < pl->n_dh; i++)
        if (dh_min == 0 || pl->dh_bits[i] < dh_min)
            dh_min = pl->dh_bits[i];
    if (!legacy)
        snprintf(d, sizeof(d), "not applicable: no SSL 3.0-TLS 1.2 suite");
    else if (exp_dhe)
        snprintf(d, sizeof(d), "an export DHE suite is accepted");
    else if (dh_min > 0 && dh_min < 1024)
        snprintf(d, sizeof(d), "a %d-bit DHE group is used", dh_min);
    else if (dh_min > 0)
        snprintf(d, sizeof(d), "smallest DHE group %d bits", dh_min);
    else
        snprintf(d, sizeof(d), "%s", dhe ? "DHE group size not seen" : "no DHE suite accepted");
    gp_vuln_row(rec, "logjam", legacy, exp_dhe || (dh_min > 0 && dh_min < 1024), d);
    gp_vuln_row(rec, "freak", legacy, exp_rsa,
                !legacy   ? "not applicable: no SSL 3.0-TLS 1.2 suite"
                : exp_rsa ? "an RSA export suite is accepted"
                          : "no RSA export suite accepted");
    if (b64)
        snprintf(d, sizeof(d),
                 "a 64-bit block cipher (3DES, DES, IDEA, RC2) is accepted on%s%s%s%s",
                 (b64_protos & 2u) ? " TLS 1.2" : "", (b64_protos & 4u) ? " TLS 1.1" : "",
                 (b64_protos & 8u) ? " TLS 1.0" : "", (b64_protos & 16u) ? " SSL 3.0" : "");
    else
        snprintf(d, sizeof(d), "%s",
                 legacy ? "no 64-bit block cipher accepted"
                        : "not applicable: no SSL 3.0-TLS 1.2 suite");
    gp_vuln_row(rec, "sweet32", legacy, b64, d);
    gp_vuln_row(rec, "beast", legacy, cbc10,
                !legacy ? "not applicable: no SSL 3.0-TLS 1.2 suite"
                : cbc10 ? "a CBC suite is accepted on SSL 3.0 or TLS 1.0 (no grade effect since "
                          "2009d)"
                        : "no CBC suite on SSL 3.0 or TLS 1.0");
    if (!pl->ed_tested)
        snprintf(d, sizeof(d), "%s",
                 pl->ok & TW_PROTO_BIT(TW_PROTO_TLS13)
                     ? "not tested: no TLS 1.3 handshake completed on the HTTP connection"
                     : "not applicable: no TLS 1.3");
    else if (pl->ed_max > 0)
        snprintf(d, sizeof(d), "a session ticket allows %u bytes of 0-RTT early data (replayable)",
                 (unsigned)pl->ed_max);
    else
        snprintf(d, sizeof(d), "%s",
                 pl->ed_ticket ? "session tickets allow no early data" : "no session ticket");
    gp_vuln_row(rec, "early_data", pl->ed_tested, pl->ed_max > 0, d);
}

/*
 * The CBC padding oracles (issue 14) from the four answers: each row is
 * tested only when all four records went out.
 *   poodle_tls   the record with a valid MAC and bad padding was accepted;
 *   zombie_poodle  it was refused, but otherwise than the same record with a
 *                bad MAC too: the MAC's validity shows through bad padding;
 *   goldendoodle the bad MAC behind valid padding and the bad MAC behind bad
 *                padding got different answers: padding validity shows;
 *   zero_length_padding_oracle  the 0-length record (bad MAC, valid padding)
 *                got another answer than the longer one (CVE-2019-1559).
 * An accepted bad-MAC record is no padding oracle and fires none of them.
 */
void
tw_gplan_cbc_verdicts(const struct tw_cbcrec_reaction *r, int *v)
{
    int acc_mac = r[GC_BAD_MAC].kind == TW_CBCREC_R_DATA;
    int acc_both = r[GC_BAD_BOTH].kind == TW_CBCREC_R_DATA;

    v[0] = r[GC_POODLE].kind == TW_CBCREC_R_DATA;
    v[1] = !v[0] && !acc_both && !tw_cbcrec_same(&r[GC_POODLE], &r[GC_BAD_BOTH]);
    v[2] = !acc_mac && !acc_both && !tw_cbcrec_same(&r[GC_BAD_MAC], &r[GC_BAD_BOTH]);
    v[3] = !acc_mac && r[GC_ZERO].kind != TW_CBCREC_R_DATA &&
           !tw_cbcrec_same(&r[GC_ZERO], &r[GC_BAD_MAC]);
}

static void
gp_cbc_rows(const struct tw_gplan *pl, struct tw_grade_record *rec)
{
    static const char *const names[4] = {"poodle_tls", "zombie_poodle", "goldendoodle",
                                         "zero_length_padding_oracle"};
    /* The two answers each verdict compares, and what they are. */
    static const int cmp[4][2] = {{GC_POODLE, GC_POODLE},
                                  {GC_POODLE, GC_BAD_BOTH},
                                  {GC_BAD_MAC, GC_BAD_BOTH},
                                  {GC_ZERO, GC_BAD_MAC}};
    static const char *const what[GC__COUNT] = {"valid MAC + bad padding",
                                                "bad MAC + valid padding", "bad MAC + bad padding",
                                                "0-length, bad MAC + valid padding"};
    int tested = pl->cbc_sent == GC__COUNT;
    int v[4] = {0, 0, 0, 0};
    char d[TW_GREC_VULN_DETAIL], a[40], b[40];

    if (tested)
        tw_gplan_cbc_verdicts(pl->creact, v);
    for (int k = 0; k < 4; k++) {
        if (!tested) {
            gp_vuln_row(rec, names[k], 0, 0, pl->cbc_why[0] != '\0' ? pl->cbc_why : "not run");
            continue;
        }
        tw_cbcrec_reaction_text(&pl->creact[cmp[k][0]], a, sizeof(a));
        tw_cbcrec_reaction_text(&pl->creact[cmp[k][1]], b, sizeof(b));
        if (k == 0)
            snprintf(d, sizeof(d), "%s record (%s): %s", what[GC_POODLE],
                     gp_version_name((uint16_t)pl->cbc_v), a);
        else
            snprintf(d, sizeof(d), "%s: %s; %s: %s (%s)", what[cmp[k][0]], a, what[cmp[k][1]], b,
                     gp_version_name((uint16_t)pl->cbc_v));
        gp_vuln_row(rec, names[k], 1, v[k], d);
    }
}

/* One row per probe (issue 14), tested and vulnerable apart. */
static void
gp_vuln_rows(const struct tw_gplan *pl, struct tw_grade_record *rec)
{
    static const char *const names[GV__COUNT] = {"no_fallback_scsv", "heartbleed", "ccs_injection",
                                                 "ticketbleed"};
    int tls = pl->saw_tls_hello;

    gp_vuln_row(rec, "no_secure_renegotiation", pl->saw_tls12_hello, !pl->secure_reneg,
                !pl->saw_tls12_hello ? "not applicable: no TLS <= 1.2"
                : pl->secure_reneg   ? "renegotiation_info (RFC 5746) in the ServerHello"
                                     : "no renegotiation_info in any TLS <= 1.2 ServerHello");
    gp_vuln_row(rec, "insecure_renegotiation", pl->reneg.tested, pl->reneg.vulnerable,
                pl->reneg.detail[0] != '\0' ? pl->reneg.detail : "not run");
    gp_vuln_row(rec, "compression", tls, pl->compression,
                !tls              ? "not applicable: no TLS 1.0-1.2"
                : pl->compression ? "the server chose DEFLATE (CRIME)"
                                  : "DEFLATE offered, null compression chosen");
    gp_vuln_row(rec, "heartbeat_extension", tls, pl->heartbeat,
                !tls            ? "not applicable: no TLS 1.0-1.2"
                : pl->heartbeat ? "the heartbeat extension is acknowledged"
                                : "heartbeat offered, not acknowledged");
    for (int k = 0; k < GV__COUNT; k++)
        gp_vuln_row(rec, names[k], pl->vres[k].tested, pl->vres[k].vulnerable,
                    pl->vres[k].detail[0] != '\0' ? pl->vres[k].detail : "not run");
    gp_vuln_row(rec, "robot", pl->robot.res.tested, pl->robot.res.vulnerable,
                pl->robot.res.detail[0] != '\0' ? pl->robot.res.detail : "not run");
    gp_vuln_rows_enum(pl, rec);
    gp_cbc_rows(pl, rec);
}

/* The server as the simulation sees it: what the enumeration found (no
 * extra connection).  The classification's facts are added by
 * tw_gplan_simulate(). */
static void
gp_sim_input(const struct tw_gplan *pl, const struct tw_grade_input *in, struct tw_sim_server *s)
{
    uint16_t tmp[GP_SUITES_MAX];
    uint16_t v;

    memset(s, 0, sizeof(*s));
    s->protocols = pl->ok & ~TW_PROTO_BIT(TW_PROTO_SSL2);
    s->server_pref = pl->pref_server;
    for (int i = 0; i < GP_N_PROTO; i++) {
        if (gp_versions[i] == TW_VERSION_SSL2)
            continue;
        for (size_t k = 0; k < pl->n_acc[i] && s->n_suites < TW_SIM_SUITES_MAX; k++) {
            s->suites[s->n_suites].protocol = gp_versions[i];
            s->suites[s->n_suites].code = pl->acc[i][k];
            s->n_suites++;
        }
    }
    for (size_t i = 0; i < pl->n_groups13 && i < TW_SIM_GROUPS_MAX; i++)
        s->groups13[s->n_groups13++] = pl->groups13[i];
    for (size_t i = 0; i < pl->n_groups12 && i < TW_SIM_GROUPS_MAX; i++)
        s->groups12[s->n_groups12++] = pl->groups12[i];
    /* PH_GROUPS12 offers only the groups TLS 1.3 did not already show (one
     * connection per group saved), so an elliptic curve accepted on TLS 1.3
     * is taken as accepted for TLS <= 1.2 ECDHE too: servers keep one group
     * list for both (OpenSSL's groups setting, nginx ssl_ecdh_curve). */
    if (s->n_groups12 > 0 || gp_ecdhe_suites(pl, tmp, &v) > 0)
        for (size_t i = 0; i < pl->n_groups13 && s->n_groups12 < TW_SIM_GROUPS_MAX; i++) {
            const struct tw_group *gi = tw_suites_group_find(pl->groups13[i]);

            if (gi != NULL && gi->kind == TW_GROUP_KIND_EC &&
                !gp_in(s->groups12, s->n_groups12, pl->groups13[i]))
                s->groups12[s->n_groups12++] = pl->groups13[i];
        }
    for (size_t i = 0; i < pl->n_dh; i++)
        if (pl->dh_bits[i] > s->dh_bits)
            s->dh_bits = pl->dh_bits[i];
    for (size_t i = 0; i < in->n_certs && s->n_leaves < TW_SIM_LEAVES_MAX; i++) {
        s->leaves[s->n_leaves].key_type = in->certs[i].key_type;
        s->leaves[s->n_leaves].key_bits = in->certs[i].key_bits;
        s->n_leaves++;
    }
}

struct tw_grade_record *
tw_gplan_grade(struct tw_gplan *pl, struct tw_result *r, struct tw_grade_input *in_out)
{
    struct tw_grade_input *in = tw_xcalloc(1, sizeof(*in));
    struct tw_grade_output *out = tw_xcalloc(1, sizeof(*out));
    struct tw_grade_record *rec = tw_xcalloc(1, sizeof(*rec));
    struct tw_mozilla_input *moz = tw_xcalloc(1, sizeof(*moz));
    struct tw_mozilla_output mout;
    unsigned char main_sha[32];
    int have_main;

    in->mode = TW_GRADE_STRICT;
    in->protocols = pl->ok;
    for (int i = 0; i < GP_N_PROTO; i++) {
        int ordered = (pl->pref_server & TW_PROTO_BIT(gp_proto_index(gp_versions[i]))) != 0;

        for (size_t k = 0; k < pl->n_acc[i]; k++) {
            if (in->n_suites < TW_GRADE_SUITES_MAX) {
                in->suites[in->n_suites].protocol = gp_versions[i];
                in->suites[in->n_suites].code = pl->acc[i][k];
                in->n_suites++;
            }
            if (rec->n_suites < TW_GREC_SUITES_MAX) {
                rec->suites[rec->n_suites].protocol = gp_versions[i];
                rec->suites[rec->n_suites].code = pl->acc[i][k];
                rec->suites[rec->n_suites].pref_order = ordered ? (int)k + 1 : 0;
                rec->n_suites++;
            }
        }
    }
    for (int k = 0; k < pl->n_v2specs && rec->n_suites < TW_GREC_SUITES_MAX; k++) {
        rec->suites[rec->n_suites].protocol = TW_VERSION_SSL2;
        rec->suites[rec->n_suites].code = pl->v2specs[k];
        rec->n_suites++;
    }
    for (size_t i = 0; i < pl->n_dh; i++) {
        in->dh_bits[in->n_dh++] = pl->dh_bits[i];
        if (rec->n_groups < TW_GREC_GROUPS_MAX) {
            rec->groups[rec->n_groups].id = 0;
            rec->groups[rec->n_groups].bits = pl->dh_bits[i];
            rec->n_groups++;
        }
    }
    for (size_t i = 0; i < pl->n_groups && in->n_groups < TW_GRADE_GROUPS_MAX; i++) {
        static const struct {
            uint16_t id;
            int bits;
        } sizes[] = {{19, 192},   {21, 224},   {22, 256},   {23, 256},  {24, 384}, {25, 521},
                     {26, 256},   {27, 384},   {28, 512},   {29, 255},  {30, 448}, {256, 2048},
                     {257, 3072}, {258, 4096}, {259, 6144}, {260, 8192}};

        in->groups[in->n_groups++] = pl->groups[i];
        if (rec->n_groups < TW_GREC_GROUPS_MAX) {
            rec->groups[rec->n_groups].id = pl->groups[i];
            rec->groups[rec->n_groups].bits = 0;
            for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
                if (sizes[s].id == pl->groups[i])
                    rec->groups[rec->n_groups].bits = sizes[s].bits;
            rec->n_groups++;
        }
    }
    gp_main_leaf(r, &in->certs[0], &moz->certs[0], main_sha, &have_main);
    if (have_main)
        in->n_certs = 1;
    for (size_t i = 0; i < pl->n_leaves && in->n_certs < TW_GRADE_CERTS_MAX; i++) {
        if (have_main && memcmp(pl->leaves[i].sha256, main_sha, 32) == 0)
            continue;
        moz->certs[in->n_certs] = pl->leaves[i].moz;
        in->certs[in->n_certs++] = pl->leaves[i].cert;
    }
    gp_sim_input(pl, in, &rec->sim_in);
    in->trust = gp_trust_bits(r, in);
    in->chain = (r->issues & TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN)) && gp_chain_completed(r)
                    ? TW_CHAIN_INCOMPLETE_COMPLETABLE
                    : TW_CHAIN_COMPLETE;
    in->name_mismatch = (r->issues & TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH)) != 0;
    in->compression = pl->compression;
    /* RFC 5746 is judged on TLS <= 1.2 hellos only (GRADING.md choice 13). */
    in->secure_reneg = pl->saw_tls12_hello ? pl->secure_reneg : 1;
    in->insecure_client_reneg = pl->reneg.vulnerable;
    in->heartbleed = pl->vres[GV_HEARTBLEED].vulnerable;
    in->ccs_exploitable = pl->vres[GV_CCS].vulnerable;
    in->robot = pl->robot.res.vulnerable;
    if (pl->cbc_sent == GC__COUNT) {
        int v[4];

        tw_gplan_cbc_verdicts(pl->creact, v);
        in->poodle_tls = v[0];
        in->zombie_poodle = v[1];
        in->goldendoodle = v[2];
        in->zero_length_padding = v[3];
    }
    in->ticketbleed = pl->vres[GV_TICKETBLEED].vulnerable;
    gp_hsts_input(pl->http, in);
    gp_vuln_rows(pl, rec);

    rec->protocols_tested = pl->tested;
    rec->protocols_ok = pl->ok;
    rec->server_preference = pl->pref_server;
    rec->secure_reneg = pl->saw_tls12_hello ? pl->secure_reneg : -1;
    rec->compression = pl->compression;
    /* A STARTTLS service is not HTTP by its protocol: recorded as such,
     * without an HTTP connection (gp_hsts_input: not applicable). */
    rec->hsts = pl->no_http ? TW_GREC_HSTS_NOT_HTTP : TW_GREC_HSTS_NOT_TESTED;
    rec->hsts_max_age = -1;
    if (pl->http != NULL) {
        rec->hsts = pl->http->hsts;
        memcpy(rec->hsts_header, pl->http->hsts_header, sizeof(rec->hsts_header));
        rec->hsts_max_age = pl->http->hsts_max_age;
        rec->hsts_include_subdomains = pl->http->hsts_include_subdomains;
        rec->hsts_preload = pl->http->hsts_preload;
    }
    rec->grading_connections = pl->conns;

    if (tw_grade_compute(in, out) == 0) {
        tw_strlcpy(rec->grade, tw_grade_name(out->grade), sizeof(rec->grade));
        tw_strlcpy(rec->grade_trust_ignored, tw_grade_name(out->grade_trust_ignored),
                   sizeof(rec->grade_trust_ignored));
        tw_strlcpy(r->grade, rec->grade, sizeof(r->grade));
        rec->p2 = out->p2;
        rec->k = out->k;
        rec->c2 = out->c2;
        rec->s20 = out->s20;
        rec->has_warnings = out->has_warnings;
        for (size_t i = 0; i < out->n_reasons && i < TW_GRADE_REASONS_MAX; i++) {
            rec->reasons[i].code = out->reasons[i].code;
            rec->reasons[i].text = out->reasons[i].text;
            memcpy(rec->reasons[i].cap, out->reasons[i].cap, sizeof(rec->reasons[i].cap));
            rec->n_reasons++;
        }
    }
    /* Issue 13: Mozilla compliance from the same enumeration (no connection),
     * for a graded endpoint only. */
    moz->grade = in;
    moz->server_preference = pl->pref_server;
    moz->ocsp_stapled = pl->ocsp_stapled; /* MZ12: the main handshake's staple */
    if (rec->grade[0] != '\0' && tw_mozilla_evaluate(moz, &mout) == 0) {
        rec->has_compliance = 1;
        for (int i = 0; i < TW_MOZILLA__COUNT; i++) {
            rec->compliance[i].pass = mout.profile[i].pass;
            rec->compliance[i].failed = mout.profile[i].failed;
            rec->compliance[i].warned = mout.profile[i].warned;
        }
    }
    free(moz);
    if (in_out != NULL)
        *in_out = *in;
    free(in);
    free(out);
    return rec;
}

void
tw_gplan_simulate(struct tw_grade_record *rec, const struct tw_result *r, int name_ok_cn,
                  int chain_aia, const struct tw_refclient *const *clients, size_t n)
{
    struct tw_sim_server *s = &rec->sim_in;

    s->name_ok = (r->issues & TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH)) == 0;
    s->name_ok_cn = name_ok_cn;
    s->sni_required = (r->issues & TW_ISSUE(TW_CLASS_SNI_REQUIRED)) != 0;
    s->chain_incomplete = (r->issues & TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN)) != 0;
    s->chain_aia = chain_aia;
    s->client_cert_required = (r->issues & TW_ISSUE(TW_CLASS_CLIENT_CERT_REQUIRED)) != 0;
    rec->n_sims = 0;
    if (clients == NULL)
        n = tw_refclients_count();
    for (size_t i = 0; i < n && rec->n_sims < TW_GREC_SIMS_MAX; i++) {
        struct tw_refclient c = clients != NULL ? *clients[i] : *tw_refclients_at(i);
        struct tw_grec_sim *o = &rec->sims[rec->n_sims++];
        struct tw_sim_result res;

        /* A target scanned without a name gives no client a name to send. */
        if (!r->has_sni)
            c.sni = 0;
        tw_sim_run(&c, s, &res);
        tw_strlcpy(o->client, c.name, sizeof(o->client));
        o->ok = res.outcome == TW_SIM_OK;
        o->cls = tw_sim_reason_class(res.reason);
        o->why = tw_sim_reason_text(res.reason);
        o->protocol = res.protocol;
        o->suite = res.suite;
        o->group = res.group;
        o->hrr = res.hrr;
        o->basis = res.basis;
    }
}
