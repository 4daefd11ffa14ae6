/*
 * certinfo.c - the chain a server sent, verified and copied into bounded
 * records (no network, no clock: `now` comes in).
 *
 * Big picture.  The handshake never verifies (SSL_VERIFY_NONE).  Afterwards
 * tw_certinfo_collect() verifies the sent chain itself: leaf = the first
 * certificate sent, untrusted = the rest as sent, the worker's trust store,
 * the time `now`, purpose sslserver, and a verify callback that records
 * every (depth, code) and returns 1 so OpenSSL walks the whole chain.  The
 * name, key, signatures and the stapled OCSP response are judged on the side.
 *
 * Hostile certificates.  Every text field is copied with a hard cap
 * (TW_CERT_FIELD_MAX, TW_CERT_PEM_MAX, at most SAN_MAX_ENTRIES SANs).  Bytes
 * are kept as they are (renderers escape), except:
 *   - NUL bytes become '?', so the C strings are never cut short silently;
 *   - inside a SAN value ',' becomes '?' too, because ',' separates the
 *     entries of the san field and a hostile "a.com,DNS:b.com" must not
 *     forge a second entry.
 * A truncated SAN list ends in ",..." (the flag).  A PEM that does not fit
 * TW_CERT_PEM_MAX whole is stored empty rather than cut (a cut PEM is not a
 * certificate).  Subject and issuer use RFC 2253 with OpenSSL's escaping of
 * control and non-ASCII bytes.
 *
 * Stapled OCSP.  The response is parsed, the single response for the leaf
 * is found by building the leaf's CertID with the digest the responder used
 * (so SHA-1 and SHA-256 CertIDs both match), and the response's signature is
 * checked with OCSP_basic_verify against the sent chain and the trust store.
 * When that check fails the status is INVALID, with one exception: a REVOKED
 * status whose signature verifies with the issuer's own key is kept as
 * REVOKED, because the issuer itself said so; believing it cannot make a bad
 * certificate look good.  GOOD is never believed unverified.  Without a known
 * issuer a stapled response cannot be matched: INVALID.  OCSP_basic_verify
 * judges the responder certificate at the real clock, not `now` (an OpenSSL
 * limit; the status dates are judged at `now`).
 *
 * Records cache.  A scan sees the same certificates again and again (every
 * endpoint of a CA sends its intermediate; a load balancer's addresses share
 * a leaf), and turning one into a record (PEM, RFC 2253 names, SAN text) is
 * ~4 % of a --quick handshake's CPU.  Each thread keeps its last records in
 * a direct-mapped table keyed by the SHA-256 of the DER (computed first in
 * any case) and copies a hit.  A hit is the same DER, so the copy is the
 * record tw_certinfo_record would make; every result still carries whole
 * records (the store's INSERT OR IGNORE dedups them), so nothing depends on
 * what an earlier result, perhaps never stored, carried.  Bounded: 64
 * records per thread, each within TW_CERT_PEM_MAX + 3 x TW_CERT_FIELD_MAX.
 *
 * Verification cache.  The outcome of the verification (every (depth,
 * code), the truncation flag, the issuer find_issuer picks) is a function
 * of the sent chain, the trust store and `now`; scanner/vcache.h keeps it
 * per thread, keyed by those, so an endpoint sending a chain already
 * verified at the same time against the same store skips
 * X509_verify_cert.  Everything else (name, key, signatures' digests, OCSP)
 * is judged per endpoint as before.  Stores made by tw_certinfo_load_store
 * are cached against; any other store only once tw_vcache_mark_store
 * declared it complete.  On a miss, X509_verify_cert runs with
 * tw_vcache_verify_chain as its signature-and-dates step, which computes a
 * certificate's signature only once per thread (a new leaf under a known
 * intermediate costs one signature check, not two).
 *
 * Threading: called on the worker thread that owns the SSL and the store.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "scanner/certinfo.h"
#include "scanner/aia.h"
#include "scanner/vcache.h"
#include "base/log.h"
#include "base/xalloc.h"

#define SAN_MAX_ENTRIES 1000
#define OCSP_SKEW_SECS 300
#define CERTINFO_CACHE_SLOTS 64 /* records kept per thread */
/* The verification settings below (purpose sslserver, every error recorded,
 * time = now, the issuer as find_issuer picks it), for the cache key: change
 * the number whenever they change. */
#define CERTINFO_VERIFY_FLAGS 1u

X509_STORE *
tw_certinfo_load_store(const char *ca_file, char *err)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE *ret = NULL;
    char reason[256] = "";

    ERR_clear_error();
    if (st == NULL) {
        tw_errf(err, "cannot allocate a trust store");
        goto out;
    }
    if (ca_file != NULL) {
        if (X509_STORE_load_file(st, ca_file) != 1) {
            ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
            tw_errf(err, "cannot load CA file %s: %s", ca_file,
                    reason[0] ? reason : "no certificate in it");
            goto out;
        }
    } else if (X509_STORE_set_default_paths(st) != 1) {
        ERR_error_string_n(ERR_peek_last_error(), reason, sizeof(reason));
        tw_errf(err, "cannot load the system trust store: %s", reason);
        goto out;
    }
    /* Filled and never changed again: outcomes may be cached against it. */
    tw_vcache_mark_store(st);
    ret = st;
    st = NULL;
out:
    X509_STORE_free(st);
    ERR_clear_error();
    return ret;
}

/* ---- bounded text ---- */

/* Copy at most max-1 bytes of a memory BIO into a new string; NUL -> '?'. */
static char *
bio_take(BIO *b, size_t max)
{
    char *data = NULL, *out;
    long n = b ? BIO_get_mem_data(b, &data) : 0;
    size_t len = n > 0 ? (size_t)n : 0;

    if (len > max - 1)
        len = max - 1;
    out = tw_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++)
        out[i] = data[i] == '\0' ? '?' : data[i];
    out[len] = '\0';
    return out;
}

static char *
name_text(const X509_NAME *nm)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *s;

    if (b != NULL && nm != NULL)
        X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253);
    s = bio_take(b, TW_CERT_FIELD_MAX);
    BIO_free(b);
    return s;
}

static int
asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

/* A bounded, append-only text buffer for the SAN list. */
struct sbuf {
    char *b;
    size_t n, cap;
};

static int
sb_fits(const struct sbuf *s, size_t more)
{
    /* keep room for ",..." and the NUL */
    return s->n + more + 5 <= s->cap;
}

static void
sb_add(struct sbuf *s, const char *p, size_t len, int is_value)
{
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '\0' || (is_value && c == ','))
            c = '?';
        s->b[s->n++] = c;
    }
    s->b[s->n] = '\0';
}

/* One SAN entry as "TAG:value"; returns 0, or -1 when it does not fit. */
static int
san_entry(struct sbuf *s, const GENERAL_NAME *gn)
{
    const char *tag;
    const unsigned char *val;
    size_t vlen;
    char ipbuf[INET6_ADDRSTRLEN] = "?";

    switch (gn->type) {
    case GEN_DNS:
        tag = "DNS:";
        val = ASN1_STRING_get0_data(gn->d.dNSName);
        vlen = (size_t)ASN1_STRING_length(gn->d.dNSName);
        break;
    case GEN_EMAIL:
        tag = "email:";
        val = ASN1_STRING_get0_data(gn->d.rfc822Name);
        vlen = (size_t)ASN1_STRING_length(gn->d.rfc822Name);
        break;
    case GEN_URI:
        tag = "URI:";
        val = ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier);
        vlen = (size_t)ASN1_STRING_length(gn->d.uniformResourceIdentifier);
        break;
    case GEN_IPADD: {
        const unsigned char *ip = ASN1_STRING_get0_data(gn->d.iPAddress);
        int iplen = ASN1_STRING_length(gn->d.iPAddress);
        tag = "IP:";
        if (iplen == 4)
            inet_ntop(AF_INET, ip, ipbuf, sizeof(ipbuf));
        else if (iplen == 16)
            inet_ntop(AF_INET6, ip, ipbuf, sizeof(ipbuf));
        val = (const unsigned char *)ipbuf;
        vlen = strlen(ipbuf);
        break;
    }
    default:
        return 0; /* othername, dirName, ...: not kept */
    }
    if (val == NULL)
        vlen = 0;
    if (!sb_fits(s, 1 + strlen(tag) + vlen))
        return -1;
    if (s->n > 0)
        sb_add(s, ",", 1, 0);
    sb_add(s, tag, strlen(tag), 0);
    if (vlen)
        sb_add(s, (const char *)val, vlen, 1);
    return 0;
}

static char *
san_text(X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    struct sbuf s = {tw_xmalloc(TW_CERT_FIELD_MAX), 0, TW_CERT_FIELD_MAX};
    int n = gens ? sk_GENERAL_NAME_num(gens) : 0;

    s.b[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i >= SAN_MAX_ENTRIES || san_entry(&s, sk_GENERAL_NAME_value(gens, i)) < 0) {
            sb_add(&s, ",...", 4, 0); /* the truncation flag */
            break;
        }
    }
    GENERAL_NAMES_free(gens);
    return s.b;
}

static void
key_info(X509 *x, char *type, size_t tlen, int *bits)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    const char *t = "unknown";
    int id;

    *bits = 0;
    if (pk == NULL) {
        tw_strlcpy(type, t, tlen);
        return;
    }
    id = EVP_PKEY_get_base_id(pk);
    switch (id) {
    case EVP_PKEY_RSA:
        t = "RSA";
        break;
    case EVP_PKEY_RSA_PSS:
        t = "RSA-PSS";
        break;
    case EVP_PKEY_DSA:
        t = "DSA";
        break;
    case EVP_PKEY_EC:
        t = "EC";
        break;
    case EVP_PKEY_ED25519:
        t = "ED25519";
        break;
    case EVP_PKEY_ED448:
        t = "ED448";
        break;
    default:
        if (OBJ_nid2sn(id) != NULL)
            t = OBJ_nid2sn(id);
        break;
    }
    tw_strlcpy(type, t, tlen);
    *bits = EVP_PKEY_get_bits(pk);
}

/* ---- the records cache (file comment) ---- */

struct certinfo_slot {
    unsigned char md[32];
    int used;
    struct tw_cert rec;
};

struct certinfo_cache {
    struct certinfo_slot slots[CERTINFO_CACHE_SLOTS];
};

/* The thread's cache; the key's destructor frees it when the thread ends. */
static __thread struct certinfo_cache *certinfo_cache;
static pthread_once_t certinfo_once = PTHREAD_ONCE_INIT;
static pthread_key_t certinfo_cache_key;
static int certinfo_cache_key_ok;

static void
certinfo_cache_free(void *p)
{
    struct certinfo_cache *c = p;

    if (c == NULL)
        return;
    for (int i = 0; i < CERTINFO_CACHE_SLOTS; i++)
        tw_cert_cleanup(&c->slots[i].rec);
    free(c);
    certinfo_cache = NULL;
}

static void
certinfo_init_once(void)
{
    certinfo_cache_key_ok = pthread_key_create(&certinfo_cache_key, certinfo_cache_free) == 0;
}

static struct certinfo_cache *
certinfo_cache_get(void)
{
    pthread_once(&certinfo_once, certinfo_init_once);
    if (certinfo_cache == NULL && certinfo_cache_key_ok) {
        struct certinfo_cache *c = tw_xcalloc(1, sizeof(*c));

        if (pthread_setspecific(certinfo_cache_key, c) != 0) {
            free(c);
            return NULL;
        }
        certinfo_cache = c;
    }
    return certinfo_cache;
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? tw_xstrdup(s) : NULL;
}

/* *dst = a deep copy of *src (dst is overwritten, not freed). */
static void
cert_copy(struct tw_cert *dst, const struct tw_cert *src)
{
    *dst = *src;
    dst->subject = dup_or_null(src->subject);
    dst->issuer = dup_or_null(src->issuer);
    dst->san = dup_or_null(src->san);
    dst->pem = dup_or_null(src->pem);
}

static void certinfo_record_fields(X509 *x, struct tw_cert *out);

/* The SHA-256 of the certificate's SubjectPublicKeyInfo DER in lowercase hex
 * (DROWN compares keys by it, store/drown.c); "" when it cannot be encoded. */
static void
certinfo_spki_sha256(X509 *x, char out[65])
{
    unsigned char *der = NULL;
    unsigned char md[SHA256_DIGEST_LENGTH];
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);

    out[0] = '\0';
    if (n > 0 && SHA256(der, (size_t)n, md) != NULL)
        for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
    OPENSSL_free(der);
}

/* tw_certinfo_record, also giving the SHA-256 of the DER in md (the
 * verification cache's key uses it).  Returns 0, or -1 when the digest
 * could not be computed (md is then zero and the record has no sha256). */
static int
certinfo_record_md(X509 *x, struct tw_cert *out, unsigned char md[32])
{
    struct certinfo_cache *c = certinfo_cache_get();
    struct certinfo_slot *slot = NULL;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    memset(md, 0, 32);
    if (X509_digest(x, EVP_sha256(), buf, &mdlen) == 1 && mdlen == 32) {
        memcpy(md, buf, 32);
        rc = 0;
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(out->sha256 + 2 * i, 3, "%02x", md[i]);
        if (c != NULL)
            slot = &c->slots[((unsigned)md[0] | (unsigned)md[1] << 8) % CERTINFO_CACHE_SLOTS];
    }
    if (slot != NULL && slot->used && memcmp(slot->md, md, 32) == 0) {
        cert_copy(out, &slot->rec);
        return rc;
    }
    certinfo_record_fields(x, out);
    if (slot != NULL) {
        tw_cert_cleanup(&slot->rec);
        memcpy(slot->md, md, 32);
        cert_copy(&slot->rec, out);
        slot->used = 1;
    }
    return rc;
}

/* Overwrites *out without freeing it: pass a zeroed or cleaned-up record. */
void
tw_certinfo_record(X509 *x, struct tw_cert *out)
{
    unsigned char md[32];

    certinfo_record_md(x, out, md);
}

/* Every field but the fingerprint, from the certificate itself. */
static void
certinfo_record_fields(X509 *x, struct tw_cert *out)
{
    const char *sig;
    int64_t t;
    BIO *pem;

    out->subject = name_text(X509_get_subject_name(x));
    out->issuer = name_text(X509_get_issuer_name(x));
    if (asn1_time_unix(X509_get0_notBefore(x), &t) == 0)
        tw_time_iso(t, out->not_before);
    if (asn1_time_unix(X509_get0_notAfter(x), &t) == 0)
        tw_time_iso(t, out->not_after);
    key_info(x, out->key_type, sizeof(out->key_type), &out->key_bits);
    certinfo_spki_sha256(x, out->spki_sha256);
    sig = OBJ_nid2ln(X509_get_signature_nid(x));
    tw_strlcpy(out->sig_alg, sig ? sig : "unknown", sizeof(out->sig_alg));
    out->san = san_text(x);

    pem = BIO_new(BIO_s_mem());
    if (pem != NULL && PEM_write_bio_X509(pem, x) == 1 && BIO_pending(pem) < (int)TW_CERT_PEM_MAX)
        out->pem = bio_take(pem, TW_CERT_PEM_MAX);
    else
        out->pem = tw_xstrdup(""); /* see the file comment: never a cut PEM */
    BIO_free(pem);
    ERR_clear_error();
}

/* ---- verification ---- */

static int
certinfo_verify_cb(int ok, X509_STORE_CTX *ctx)
{
    struct tw_cert_evidence *ev = X509_STORE_CTX_get_app_data(ctx);

    if (ok || ev == NULL)
        return 1;
    if (ev->n_verify < TW_VERIFY_ERRORS_MAX) {
        ev->verify[ev->n_verify].depth = X509_STORE_CTX_get_error_depth(ctx);
        ev->verify[ev->n_verify].code = X509_STORE_CTX_get_error(ctx);
        ev->n_verify++;
    } else {
        ev->verify_truncated = 1;
    }
    return 1; /* walk the whole chain: every problem, not only the first */
}

/* How every chain is judged here: at now, as a TLS server certificate,
 * every error recorded into ev (certinfo_verify_cb), good signatures
 * remembered (tw_vcache_verify_chain).  ctx is initialised. */
static void
certinfo_verify_setup(X509_STORE_CTX *ctx, int64_t now, struct tw_cert_evidence *ev)
{
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    X509_STORE_CTX_set_verify_cb(ctx, certinfo_verify_cb);
    X509_STORE_CTX_set_verify(ctx, tw_vcache_verify_chain);
    X509_STORE_CTX_set_app_data(ctx, ev);
}

/*
 * Subject == issuer (and AKID, if any, matches).  X509_self_signed() rather
 * than X509_check_issued(x, x): the latter also demands keyCertSign, which
 * many self-signed leaves lack.  verify_sig adds the signature check.
 */
static int
is_self_issued(X509 *x, int verify_sig)
{
    return X509_self_signed(x, verify_sig) == 1;
}

static int
has_aia_issuer(X509 *x)
{
    AUTHORITY_INFO_ACCESS *aia = X509_get_ext_d2i(x, NID_info_access, NULL, NULL);
    int found = 0;

    for (int i = 0; aia != NULL && i < sk_ACCESS_DESCRIPTION_num(aia); i++) {
        ACCESS_DESCRIPTION *ad = sk_ACCESS_DESCRIPTION_value(aia, i);
        if (OBJ_obj2nid(ad->method) == NID_ad_ca_issuers)
            found = 1;
    }
    AUTHORITY_INFO_ACCESS_free(aia);
    return found;
}

static int
weak_digest_nid(int nid)
{
    return nid == NID_sha1 || nid == NID_md5 || nid == NID_md4 || nid == NID_md2 ||
           nid == NID_md5_sha1;
}

/* A SHA-1/MD5 signature on a certificate that is not a self-signed root. */
static int
has_weak_signature(X509 *x)
{
    int md = NID_undef, pk = NID_undef;

    if (is_self_issued(x, 0))
        return 0;
    if (X509_get_signature_info(x, &md, &pk, NULL, NULL) != 1 &&
        OBJ_find_sigid_algs(X509_get_signature_nid(x), &md, &pk) != 1)
        return 0;
    return weak_digest_nid(md);
}

/* ---- stapled OCSP ---- */

/* Judge one DER OCSP response p[len] about leaf (see ocsp_judge). */
static enum tw_ocsp_status
ocsp_judge_der(const unsigned char *p, long len, X509 *leaf, X509 *issuer, STACK_OF(X509) * sent,
               X509_STORE *store, int64_t now)
{
    OCSP_RESPONSE *resp = NULL;
    OCSP_BASICRESP *bs = NULL;
    enum tw_ocsp_status st = TW_OCSP_INVALID;
    int status = -1;
    ASN1_GENERALIZEDTIME *thisupd = NULL, *nextupd = NULL;

    if (len <= 0 || p == NULL)
        return TW_OCSP_NONE;
    resp = d2i_OCSP_RESPONSE(NULL, &p, len);
    if (resp == NULL || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
        goto out;
    bs = OCSP_response_get1_basic(resp);
    if (bs == NULL || issuer == NULL)
        goto out;

    /* Find the single response for the leaf, with the responder's CertID digest. */
    for (int i = 0; i < OCSP_resp_count(bs) && status < 0; i++) {
        OCSP_SINGLERESP *single = OCSP_resp_get0(bs, i);
        OCSP_CERTID *id = (OCSP_CERTID *)OCSP_SINGLERESP_get0_id(single);
        ASN1_OBJECT *alg = NULL;
        const EVP_MD *md;
        OCSP_CERTID *mine;

        if (id == NULL || OCSP_id_get0_info(NULL, &alg, NULL, NULL, id) != 1)
            continue;
        md = EVP_get_digestbyobj(alg);
        if (md == NULL)
            continue;
        mine = OCSP_cert_to_id(md, leaf, issuer);
        if (mine != NULL && OCSP_id_cmp(mine, id) == 0)
            status = OCSP_single_get0_status(single, NULL, NULL, &thisupd, &nextupd);
        OCSP_CERTID_free(mine);
    }
    if (status < 0)
        goto out;

    if (OCSP_basic_verify(bs, sent, store, 0) != 1) {
        /* The file comment: an unverifiable REVOKED signed by the issuer itself
         * stands.  NOINTERN|NOVERIFY: the signer must be the issuer, and only
         * the signature is checked. */
        STACK_OF(X509) *only = sk_X509_new_null();
        if (status == V_OCSP_CERTSTATUS_REVOKED && only != NULL && sk_X509_push(only, issuer) > 0 &&
            OCSP_basic_verify(bs, only, store, OCSP_NOINTERN | OCSP_NOVERIFY) == 1)
            st = TW_OCSP_REVOKED;
        sk_X509_free(only);
        goto out;
    }
    if (status == V_OCSP_CERTSTATUS_GOOD) {
        int64_t tu = 0, nu = 0;
        /* Compared as tu - skew > now to stay clear of overflow near the limits. */
        if (thisupd != NULL && asn1_time_unix(thisupd, &tu) == 0 && tu > now &&
            tu - now > OCSP_SKEW_SECS)
            goto out; /* not valid yet at `now` */
        if (nextupd != NULL && asn1_time_unix(nextupd, &nu) == 0 && nu < now &&
            now - nu > OCSP_SKEW_SECS)
            goto out; /* stale */
        st = TW_OCSP_GOOD;
    } else if (status == V_OCSP_CERTSTATUS_REVOKED) {
        st = TW_OCSP_REVOKED;
    } else {
        st = TW_OCSP_UNKNOWN;
    }
out:
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(resp);
    return st;
}

static enum tw_ocsp_status
ocsp_judge(SSL *ssl, X509 *leaf, X509 *issuer, STACK_OF(X509) * sent, X509_STORE *store,
           int64_t now)
{
    const unsigned char *p = NULL;
    long len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);

    return ocsp_judge_der(p, len, leaf, issuer, sent, store, now);
}

/* The leaf's issuer: from the verified chain, the sent chain, or the store.
 * Returns a new reference (X509_free) or NULL. */
static X509 *
find_issuer(X509_STORE_CTX *ctx, X509 *leaf, STACK_OF(X509) * sent)
{
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
    X509 *iss = NULL;

    if (built != NULL && sk_X509_num(built) > 1 &&
        X509_check_issued(sk_X509_value(built, 1), leaf) == X509_V_OK) {
        iss = sk_X509_value(built, 1);
        X509_up_ref(iss);
        return iss;
    }
    for (int i = 1; i < sk_X509_num(sent); i++) {
        if (X509_check_issued(sk_X509_value(sent, i), leaf) == X509_V_OK) {
            iss = sk_X509_value(sent, i);
            X509_up_ref(iss);
            return iss;
        }
    }
    if (X509_STORE_CTX_get1_issuer(&iss, ctx, leaf) == 1)
        return iss;
    return NULL;
}

/* The window in which every certificate sent and every certificate of the
 * built chain is valid: the latest notBefore, the earliest notAfter.
 * Returns 0, or -1 when a date cannot be read (nothing is cached then). */
static int
certinfo_window(STACK_OF(X509) * sent, STACK_OF(X509) * built, int64_t *lo, int64_t *hi)
{
    STACK_OF(X509) * sets[2] = {sent, built};

    *lo = INT64_MIN;
    *hi = INT64_MAX;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; sets[k] != NULL && i < sk_X509_num(sets[k]); i++) {
            X509 *x = sk_X509_value(sets[k], i);
            int64_t nb, na;

            if (asn1_time_unix(X509_get0_notBefore(x), &nb) < 0 ||
                asn1_time_unix(X509_get0_notAfter(x), &na) < 0)
                return -1;
            if (nb > *lo)
                *lo = nb;
            if (na < *hi)
                *hi = na;
        }
    }
    return 0;
}

int
tw_certinfo_collect(SSL *ssl, X509_STORE *store, const char *name, const char *ip, int64_t now,
                    struct tw_cert_evidence *ev, struct tw_result *r)
{
    STACK_OF(X509) *sent = SSL_get_peer_cert_chain(ssl);
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE_CTX *ctx = NULL;
    X509 *leaf, *issuer = NULL;
    unsigned char(*mds)[32] = NULL;
    unsigned char vkey[TW_VCACHE_KEY_LEN];
    struct tw_vcache_outcome vo;
    size_t n_rec;
    int n, rc = -1, mds_ok = 1, have_key;

    memset(ev, 0, sizeof(*ev));
    ev->now = now;
    ev->ocsp = TW_OCSP_NONE;
    for (size_t i = 0; i < r->n_chain; i++)
        tw_cert_cleanup(&r->chain[i]);
    free(r->chain);
    r->chain = NULL;
    r->n_chain = 0;
    ERR_clear_error();

    n = sent ? sk_X509_num(sent) : 0;
    if (n <= 0)
        goto out;
    leaf = sk_X509_value(sent, 0);
    ev->has_chain = 1;
    ev->n_sent = n;

    /* The records: as sent, leaf first, at most TW_CHAIN_MAX; and the
     * SHA-256 of every certificate sent, for the verification cache. */
    n_rec = (size_t)n < TW_CHAIN_MAX ? (size_t)n : TW_CHAIN_MAX;
    r->chain = tw_xcalloc(n_rec, sizeof(*r->chain));
    mds = tw_xcalloc((size_t)n, sizeof(*mds));
    for (size_t i = 0; i < n_rec; i++)
        if (certinfo_record_md(sk_X509_value(sent, (int)i), &r->chain[i], mds[i]) < 0)
            mds_ok = 0;
    for (int i = (int)n_rec; i < n && mds_ok; i++) {
        unsigned int mdlen = 0;

        if (X509_digest(sk_X509_value(sent, i), EVP_sha256(), mds[i], &mdlen) != 1 || mdlen != 32)
            mds_ok = 0;
    }
    r->n_chain = n_rec;
    have_key = mds_ok && tw_vcache_key(vkey, store, now, CERTINFO_VERIFY_FLAGS,
                                       (const unsigned char(*)[32])mds, n) == 0;

    /* Verify: leaf + the rest as untrusted, at `now`, recording every error;
     * or take the outcome of the same verification from the cache. */
    if (have_key && tw_vcache_get(vkey, now, &vo)) {
        memcpy(ev->verify, vo.verify, sizeof(ev->verify));
        ev->n_verify = vo.n_verify;
        ev->verify_truncated = vo.verify_truncated;
        issuer = vo.issuer;
        goto verified;
    }
    untrusted = sk_X509_new_null();
    for (int i = 1; untrusted != NULL && i < n; i++)
        sk_X509_push(untrusted, sk_X509_value(sent, i));
    ctx = X509_STORE_CTX_new();
    if (ctx != NULL && store != NULL && untrusted != NULL &&
        X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1) {
        int64_t lo, hi;

        certinfo_verify_setup(ctx, now, ev);
        if (X509_verify_cert(ctx) != 1 && ev->n_verify == 0) {
            /* failed without telling the callback (internal error): keep the code */
            int e = X509_STORE_CTX_get_error(ctx);
            ev->verify[0].depth = X509_STORE_CTX_get_error_depth(ctx);
            ev->verify[0].code = e != X509_V_OK ? e : X509_V_ERR_UNSPECIFIED;
            ev->n_verify = 1;
        }
        issuer = find_issuer(ctx, leaf, sent);
        if (have_key && certinfo_window(sent, X509_STORE_CTX_get0_chain(ctx), &lo, &hi) == 0) {
            memcpy(vo.verify, ev->verify, sizeof(vo.verify));
            vo.n_verify = ev->n_verify;
            vo.verify_truncated = ev->verify_truncated;
            vo.issuer = issuer;
            tw_vcache_put(vkey, now, lo, hi, &vo);
        }
    } else {
        ev->verify[0].depth = 0;
        ev->verify[0].code = X509_V_ERR_UNSPECIFIED;
        ev->n_verify = 1;
    }

verified:
    ev->leaf_self_issued = is_self_issued(leaf, 1);
    ev->chain_complete = is_self_issued(sk_X509_value(sent, n - 1), 0);
    ev->leaf_has_aia_issuer = has_aia_issuer(leaf);

    /* Names are checked as browsers check them (CA/B Forum BR 7.1.4.2,
     * Chrome 58 and Firefox since 2017): the subjectAltName alone, never a
     * fallback to the subject CN, which X509_check_host would otherwise take
     * when the leaf has no dNSName. */
    ev->leaf_no_san = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1) < 0;
    if (name != NULL && name[0] != '\0') {
        ev->hostname_checked = 1;
        ev->hostname_ok = X509_check_host(leaf, name, strlen(name),
                                          X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
                                              X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
                                          NULL) == 1;
        /* Old clients (Java, old Android) still take the CN: the simulation
         * needs to know whether it would match (X509_check_host's fallback). */
        ev->hostname_ok_cn =
            ev->leaf_no_san && X509_check_host(leaf, name, strlen(name),
                                               X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
    } else if (ip != NULL && ip[0] != '\0') {
        ev->hostname_checked = 1;
        ev->address_checked = 1;
        ev->hostname_ok = X509_check_ip_asc(leaf, ip, 0) == 1;
    }

    asn1_time_unix(X509_get0_notBefore(leaf), &ev->not_before);
    asn1_time_unix(X509_get0_notAfter(leaf), &ev->not_after);

    key_info(leaf, ev->key_type, sizeof(ev->key_type), &ev->key_bits);
    if (strcmp(ev->key_type, "RSA") == 0 || strcmp(ev->key_type, "RSA-PSS") == 0 ||
        strcmp(ev->key_type, "DSA") == 0)
        ev->weak_key = ev->key_bits < 2048;
    else if (strcmp(ev->key_type, "EC") == 0)
        ev->weak_key = ev->key_bits < 224;

    for (int i = 0; i < n; i++)
        if (has_weak_signature(sk_X509_value(sent, i)))
            ev->weak_signature = 1;

    ev->ocsp = ocsp_judge(ssl, leaf, issuer, sent, store, now);
    rc = 0;
out:
    free(mds);
    X509_free(issuer);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    ERR_clear_error();
    return rc;
}

/* ---- AIA chain completion (issue 14) ---- */

/* The verifier could not find an issuer for some certificate. */
static int
certinfo_issuer_missing(const struct tw_cert_evidence *ev)
{
    for (int i = 0; i < ev->n_verify; i++) {
        int code = ev->verify[i].code;

        if (code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
            code == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
            code == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE)
            return 1;
    }
    return 0;
}

/* The chain still fails to reach a trusted root. */
static int
certinfo_untrusted(const struct tw_cert_evidence *ev)
{
    for (int i = 0; i < ev->n_verify; i++) {
        int code = ev->verify[i].code;

        if (code == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
            code == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || code == X509_V_ERR_UNSPECIFIED)
            return 1;
    }
    return certinfo_issuer_missing(ev) || ev->verify_truncated;
}

int
tw_certinfo_complete_aia(SSL *ssl, X509_STORE *store, int64_t now, struct tw_cert_evidence *ev,
                         struct tw_result *r)
{
    return tw_certinfo_complete_aia_chain(SSL_get_peer_cert_chain(ssl), store, now, ev, r);
}

int
tw_certinfo_online_wanted(STACK_OF(X509) * sent, const struct tw_cert_evidence *ev, int aia,
                          int revocation)
{
    char url[TW_AIA_URL_MAX];
    int n = sent != NULL ? sk_X509_num(sent) : 0;

    if (!ev->has_chain || n <= 0)
        return 0;
    if (aia && !ev->leaf_self_issued && !ev->chain_complete && certinfo_issuer_missing(ev) &&
        (tw_aia_issuer_url(sk_X509_value(sent, 0), url) ||
         (n >= 2 && tw_aia_issuer_url(sk_X509_value(sent, n - 1), url))))
        return 1;
    return revocation && ev->ocsp == TW_OCSP_NONE &&
           (tw_aia_ocsp_url(sk_X509_value(sent, 0), url) ||
            tw_aia_crl_url(sk_X509_value(sent, 0), url));
}

int
tw_certinfo_complete_aia_chain(STACK_OF(X509) * sent, X509_STORE *store, int64_t now,
                               struct tw_cert_evidence *ev, struct tw_result *r)
{
    STACK_OF(X509) *untrusted = NULL;
    X509_STORE_CTX *ctx = NULL;
    struct tw_cert_evidence *again = NULL;
    char url[TW_AIA_URL_MAX];
    X509 *fetched = NULL;
    int n, done = 0;

    if (!ev->has_chain || ev->leaf_self_issued || ev->chain_complete || store == NULL ||
        !certinfo_issuer_missing(ev) || sent == NULL || (n = sk_X509_num(sent)) <= 0)
        return 0;
    /* The leaf names its issuer; failing that, the last certificate sent
     * (a server that sent the wrong intermediate, or a cut chain). */
    if (!tw_aia_issuer_url(sk_X509_value(sent, 0), url) &&
        (n < 2 || !tw_aia_issuer_url(sk_X509_value(sent, n - 1), url)))
        return 0;
    fetched = tw_aia_fetch(url);
    if (fetched == NULL)
        return 0;

    /* Verify again with the fetched certificate as one more untrusted one.
     * Not through the verification cache: its key is the sent chain alone. */
    untrusted = sk_X509_new_null();
    again = tw_xcalloc(1, sizeof(*again));
    for (int i = 1; untrusted != NULL && i < n; i++)
        sk_X509_push(untrusted, sk_X509_value(sent, i));
    ctx = X509_STORE_CTX_new();
    if (ctx != NULL && untrusted != NULL && sk_X509_push(untrusted, fetched) > 0 &&
        X509_STORE_CTX_init(ctx, store, sk_X509_value(sent, 0), untrusted) == 1) {
        certinfo_verify_setup(ctx, now, again);
        if (X509_verify_cert(ctx) != 1 && again->n_verify == 0)
            again->verify_truncated = 1; /* failed without a reason: not completed */
        done = !certinfo_untrusted(again);
    }
    if (done) {
        ev->aia_completed = 1;
        tw_strlcpy(ev->aia_url, url, sizeof(ev->aia_url));
        if (r->n_chain < TW_CHAIN_MAX) {
            r->chain = tw_xrealloc(r->chain, (r->n_chain + 1) * sizeof(*r->chain));
            memset(&r->chain[r->n_chain], 0, sizeof(r->chain[0]));
            tw_certinfo_record(fetched, &r->chain[r->n_chain]);
            r->chain[r->n_chain].via_aia = 1;
            r->n_chain++;
        }
    }
    free(again);
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    X509_free(fetched);
    ERR_clear_error();
    return done;
}

/* ---- online revocation (issue 14) ---- */

static int certinfo_check_ocsp(STACK_OF(X509) * sent, X509_STORE *store, int64_t now,
                               struct tw_cert_evidence *ev);

/* The leaf's issuer for an OCSP request: sent, fetched through AIA, or in
 * the store.  A new reference or NULL. */
static X509 *
certinfo_online_issuer(STACK_OF(X509) * sent, X509_STORE *store, const struct tw_cert_evidence *ev)
{
    X509 *leaf = sk_X509_value(sent, 0), *iss = NULL;
    X509_STORE_CTX *ctx;

    for (int i = 1; i < sk_X509_num(sent); i++) {
        if (X509_check_issued(sk_X509_value(sent, i), leaf) == X509_V_OK) {
            iss = sk_X509_value(sent, i);
            X509_up_ref(iss);
            return iss;
        }
    }
    if (ev->aia_completed) {
        iss = tw_aia_fetch(ev->aia_url); /* cached: no new request */
        if (iss != NULL && X509_check_issued(iss, leaf) == X509_V_OK)
            return iss;
        X509_free(iss);
        iss = NULL;
    }
    ctx = X509_STORE_CTX_new();
    if (ctx != NULL && X509_STORE_CTX_init(ctx, store, leaf, NULL) == 1 &&
        X509_STORE_CTX_get1_issuer(&iss, ctx, leaf) != 1)
        iss = NULL;
    X509_STORE_CTX_free(ctx);
    return iss;
}

int
tw_certinfo_check_revocation(SSL *ssl, X509_STORE *store, int64_t now, struct tw_cert_evidence *ev)
{
    return tw_certinfo_check_revocation_chain(SSL_get_peer_cert_chain(ssl), store, now, ev);
}

/* The CRL of the leaf's CRL distribution point (http): fetched, its issuer
 * name and signature checked against the leaf's issuer, the leaf's serial
 * looked up.  Sets ev->crl_url and ev->crl_online. */
static void
certinfo_check_crl(STACK_OF(X509) * sent, X509_STORE *store, struct tw_cert_evidence *ev)
{
    X509 *leaf = sk_X509_value(sent, 0), *issuer = NULL;
    X509_CRL *crl = NULL;
    X509_REVOKED *rev = NULL;
    EVP_PKEY *pk;
    char url[TW_AIA_URL_MAX];

    if (!tw_aia_crl_url(leaf, url))
        return;
    tw_strlcpy(ev->crl_url, url, sizeof(ev->crl_url));
    ev->crl_online = TW_OCSP_INVALID; /* asked, no usable answer (until judged) */
    issuer = certinfo_online_issuer(sent, store, ev);
    if (issuer == NULL)
        goto out;
    crl = tw_aia_fetch_crl(url);
    if (crl == NULL ||
        X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(issuer)) != 0 ||
        (pk = X509_get0_pubkey(issuer)) == NULL || X509_CRL_verify(crl, pk) != 1)
        goto out;
    /* 1: listed; 2: listed as removeFromCRL (a hold lifted): not revoked. */
    ev->crl_online = X509_CRL_get0_by_serial(crl, &rev, X509_get0_serialNumber(leaf)) == 1
                         ? TW_OCSP_REVOKED
                         : TW_OCSP_GOOD;
out:
    X509_CRL_free(crl);
    X509_free(issuer);
    ERR_clear_error();
}

int
tw_certinfo_check_revocation_chain(STACK_OF(X509) * sent, X509_STORE *store, int64_t now,
                                   struct tw_cert_evidence *ev)
{
    if (!ev->has_chain || ev->ocsp != TW_OCSP_NONE || store == NULL || sent == NULL ||
        sk_X509_num(sent) <= 0)
        return 0;
    certinfo_check_ocsp(sent, store, now, ev);
    /* No OCSP answer (none named, or none usable): the CRL. */
    if (ev->ocsp_online != TW_OCSP_GOOD && ev->ocsp_online != TW_OCSP_REVOKED)
        certinfo_check_crl(sent, store, ev);
    return ev->ocsp_online == TW_OCSP_REVOKED || ev->crl_online == TW_OCSP_REVOKED;
}

/* The leaf's AIA OCSP responder, asked (the part of
 * tw_certinfo_check_revocation_chain before the CRL). */
static int
certinfo_check_ocsp(STACK_OF(X509) * sent, X509_STORE *store, int64_t now,
                    struct tw_cert_evidence *ev)
{
    STACK_OF(X509) *certs = NULL;
    OCSP_REQUEST *req = NULL;
    OCSP_CERTID *id = NULL;
    unsigned char *der = NULL, *resp = NULL;
    char url[TW_AIA_URL_MAX];
    X509 *leaf, *issuer = NULL;
    size_t resp_len = 0;
    int der_len;

    if (!ev->has_chain || ev->ocsp != TW_OCSP_NONE || store == NULL || sent == NULL ||
        sk_X509_num(sent) <= 0)
        return 0;
    leaf = sk_X509_value(sent, 0);
    if (!tw_aia_ocsp_url(leaf, url))
        return 0;
    issuer = certinfo_online_issuer(sent, store, ev);
    if (issuer == NULL)
        goto out;
    req = OCSP_REQUEST_new();
    id = OCSP_cert_to_id(NULL, leaf, issuer);
    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL)
        goto out;
    id = NULL; /* the request owns it */
    der_len = i2d_OCSP_REQUEST(req, &der);
    if (der_len <= 0)
        goto out;
    tw_strlcpy(ev->ocsp_url, url, sizeof(ev->ocsp_url));
    resp = tw_aia_post(url, "application/ocsp-request", der, (size_t)der_len, &resp_len);
    if (resp == NULL) {
        ev->ocsp_online = TW_OCSP_INVALID; /* asked, no usable answer */
        goto out;
    }
    /* The responder signs with the issuer's key or a delegate: the sent
     * certificates and the issuer may build its chain. */
    certs = sk_X509_dup(sent);
    if (certs != NULL)
        sk_X509_push(certs, issuer);
    ev->ocsp_online = ocsp_judge_der(resp, (long)resp_len, leaf, issuer, certs, store, now);
out:
    OPENSSL_free(der);
    free(resp);
    sk_X509_free(certs);
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    X509_free(issuer);
    ERR_clear_error();
    return ev->ocsp_online == TW_OCSP_REVOKED;
}
