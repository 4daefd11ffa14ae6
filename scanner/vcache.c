/*
 * vcache.c - per-thread cache of chain verification outcomes (see vcache.h).
 *
 * The table is direct-mapped: the first two bytes of the key pick the slot,
 * the whole key must match.  Keys are SHA-256 values, so slots fill evenly
 * and a false match would need a SHA-256 collision.  Each thread also keeps
 * its own fetched SHA-256 and digest context, so computing a key takes no
 * lock in OpenSSL's algorithm store.
 *
 * The signatures' table (tw_vcache_verify_chain) is direct-mapped too, by
 * the signed certificate's digest; an entry holds both digests in full.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "scanner/vcache.h"
#include "base/xalloc.h"

#define VCACHE_TAG "tlsweep-vcache-1"

struct vcache_slot {
    unsigned char key[TW_VCACHE_KEY_LEN];
    int used;
    int64_t not_before, not_after;
    struct tw_vcache_outcome o; /* o.issuer: the slot's own reference */
};

/* A good signature: the signed certificate's DER and the issuer's key. */
struct vcache_sig {
    unsigned char cert[32], key[32];
    int used;
};

struct vcache {
    struct vcache_slot slots[TW_VCACHE_SLOTS];
    struct vcache_sig sigs[TW_VCACHE_SIG_SLOTS];
    struct tw_vcache_stats stats;
    EVP_MD *sha256;
    EVP_MD_CTX *mdctx;
};

static __thread struct vcache *vcache_tls;
static pthread_once_t vcache_once = PTHREAD_ONCE_INIT;
static pthread_key_t vcache_key;
static int vcache_key_ok;
static int vcache_store_idx = -1;
static atomic_uint_fast64_t vcache_next_store_id = 1;

static void
vcache_free(void *p)
{
    struct vcache *c = p;

    if (c == NULL)
        return;
    for (int i = 0; i < TW_VCACHE_SLOTS; i++)
        X509_free(c->slots[i].o.issuer);
    EVP_MD_CTX_free(c->mdctx);
    EVP_MD_free(c->sha256);
    free(c);
    vcache_tls = NULL;
}

static void
vcache_init_once(void)
{
    vcache_key_ok = pthread_key_create(&vcache_key, vcache_free) == 0;
    vcache_store_idx = X509_STORE_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* This thread's cache, made on first use; NULL when it cannot be made. */
static struct vcache *
vcache_get(void)
{
    struct vcache *c;

    pthread_once(&vcache_once, vcache_init_once);
    if (vcache_tls != NULL || !vcache_key_ok)
        return vcache_tls;
    c = tw_xcalloc(1, sizeof(*c));
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->mdctx = EVP_MD_CTX_new();
    if (c->sha256 == NULL || c->mdctx == NULL || pthread_setspecific(vcache_key, c) != 0) {
        vcache_free(c);
        return NULL;
    }
    vcache_tls = c;
    return c;
}

int
tw_vcache_mark_store(X509_STORE *st)
{
    uint64_t id;

    pthread_once(&vcache_once, vcache_init_once);
    if (st == NULL || vcache_store_idx < 0)
        return -1;
    if (X509_STORE_get_ex_data(st, vcache_store_idx) != NULL)
        return 0;
    id = atomic_fetch_add(&vcache_next_store_id, 1);
    return X509_STORE_set_ex_data(st, vcache_store_idx, (void *)(uintptr_t)id) == 1 ? 0 : -1;
}

/* Fixed-width little-endian bytes, so the key never depends on padding. */
static void
put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int
tw_vcache_key(unsigned char key[TW_VCACHE_KEY_LEN], const X509_STORE *st, int64_t now,
              unsigned flags, const unsigned char (*mds)[32], int n)
{
    struct vcache *c = vcache_get();
    unsigned char head[sizeof(VCACHE_TAG) + 32];
    unsigned int len = 0;
    uint64_t id;

    if (c == NULL || st == NULL || mds == NULL || n < 1 || vcache_store_idx < 0)
        return -1;
    id = (uint64_t)(uintptr_t)X509_STORE_get_ex_data(st, vcache_store_idx);
    if (id == 0)
        return -1;
    memcpy(head, VCACHE_TAG, sizeof(VCACHE_TAG));
    put_u64(head + sizeof(VCACHE_TAG), id);
    put_u64(head + sizeof(VCACHE_TAG) + 8, (uint64_t)now);
    put_u64(head + sizeof(VCACHE_TAG) + 16, flags);
    put_u64(head + sizeof(VCACHE_TAG) + 24, (uint64_t)n);
    if (EVP_DigestInit_ex(c->mdctx, c->sha256, NULL) != 1 ||
        EVP_DigestUpdate(c->mdctx, head, sizeof(head)) != 1 ||
        EVP_DigestUpdate(c->mdctx, mds, (size_t)n * 32) != 1 ||
        EVP_DigestFinal_ex(c->mdctx, key, &len) != 1 || len != TW_VCACHE_KEY_LEN)
        return -1;
    return 0;
}

static struct vcache_slot *
vcache_slot(struct vcache *c, const unsigned char key[TW_VCACHE_KEY_LEN])
{
    return &c->slots[((unsigned)key[0] | (unsigned)key[1] << 8) % TW_VCACHE_SLOTS];
}

int
tw_vcache_get(const unsigned char key[TW_VCACHE_KEY_LEN], int64_t now,
              struct tw_vcache_outcome *out)
{
    struct vcache *c = vcache_get();
    struct vcache_slot *s;

    if (c == NULL)
        return 0;
    s = vcache_slot(c, key);
    if (!s->used || memcmp(s->key, key, TW_VCACHE_KEY_LEN) != 0 || now < s->not_before ||
        now > s->not_after) {
        c->stats.misses++;
        return 0;
    }
    if (s->o.issuer != NULL && X509_up_ref(s->o.issuer) != 1) {
        c->stats.misses++;
        return 0;
    }
    *out = s->o;
    c->stats.hits++;
    return 1;
}

void
tw_vcache_put(const unsigned char key[TW_VCACHE_KEY_LEN], int64_t now, int64_t not_before,
              int64_t not_after, const struct tw_vcache_outcome *o)
{
    struct vcache *c = vcache_get();
    struct vcache_slot *s;

    if (c == NULL)
        return;
    if (now < not_before || now > not_after || (o->issuer != NULL && X509_up_ref(o->issuer) != 1)) {
        c->stats.refused++;
        return;
    }
    s = vcache_slot(c, key);
    X509_free(s->o.issuer);
    memcpy(s->key, key, TW_VCACHE_KEY_LEN);
    s->not_before = not_before;
    s->not_after = not_after;
    s->o = *o;
    s->used = 1;
    c->stats.stored++;
}

void
tw_vcache_get_stats(struct tw_vcache_stats *out)
{
    struct vcache *c = vcache_get();

    if (c != NULL)
        *out = c->stats;
    else
        memset(out, 0, sizeof(*out));
}

/* ---- signatures ---- */

/* The SHA-256 of subject's DER and of issuer's SubjectPublicKeyInfo DER. */
static int
sig_ids(struct vcache *c, X509 *subject, X509 *issuer, unsigned char cert[32],
        unsigned char key[32])
{
    unsigned char *der = NULL;
    unsigned int len = 0;
    int n, ok;

    if (X509_digest(subject, c->sha256, cert, &len) != 1 || len != 32)
        return -1;
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &der);
    if (n <= 0)
        return -1;
    ok = EVP_Digest(der, (size_t)n, key, &len, c->sha256, NULL) == 1 && len == 32;
    OPENSSL_free(der);
    return ok ? 0 : -1;
}

/* X509_verify(subject, pkey) > 0, where pkey is issuer's key; a good
 * answer is remembered, a bad one computed every time. */
static int
sig_good(X509 *subject, X509 *issuer, EVP_PKEY *pkey)
{
    struct vcache *c = vcache_get();
    struct vcache_sig *s = NULL;
    unsigned char cert[32], key[32];
    int good;

    if (c != NULL && sig_ids(c, subject, issuer, cert, key) == 0) {
        s = &c->sigs[((unsigned)cert[0] | (unsigned)cert[1] << 8) % TW_VCACHE_SIG_SLOTS];
        if (s->used && memcmp(s->cert, cert, 32) == 0 && memcmp(s->key, key, 32) == 0) {
            c->stats.sig_hits++;
            return 1;
        }
    }
    good = X509_verify(subject, pkey) > 0;
    if (c != NULL)
        c->stats.sig_verified++;
    if (good && s != NULL) {
        memcpy(s->cert, cert, 32);
        memcpy(s->key, key, 32);
        s->used = 1;
    }
    return good;
}

/* An error about x at depth, told to the verify callback as OpenSSL does
 * (verify_cb_cert in x509_vfy.c).  Returns the callback's answer: 0 stops. */
static int
verify_fail(X509_STORE_CTX *ctx, X509 *x, int depth, int err)
{
    X509_STORE_CTX_set_error_depth(ctx, depth);
    X509_STORE_CTX_set_current_cert(ctx, x);
    X509_STORE_CTX_set_error(ctx, err);
    return X509_STORE_CTX_get_verify_cb(ctx)(0, ctx);
}

/* x's dates against the context's time (OpenSSL's check for a certificate
 * of the chain, at its depth). */
static int
verify_time(X509_STORE_CTX *ctx, X509 *x, int depth)
{
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    unsigned long fl = X509_VERIFY_PARAM_get_flags(vp);
    time_t t, *pt = NULL;
    int i;

    if ((fl & X509_V_FLAG_USE_CHECK_TIME) != 0) {
        t = X509_VERIFY_PARAM_get_time(vp);
        pt = &t;
    } else if ((fl & X509_V_FLAG_NO_CHECK_TIME) != 0) {
        return 1;
    }
    i = X509_cmp_time(X509_get0_notBefore(x), pt);
    if (i == 0 && !verify_fail(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD))
        return 0;
    if (i > 0 && !verify_fail(ctx, x, depth, X509_V_ERR_CERT_NOT_YET_VALID))
        return 0;
    i = X509_cmp_time(X509_get0_notAfter(x), pt);
    if (i == 0 && !verify_fail(ctx, x, depth, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD))
        return 0;
    if (i < 0 && !verify_fail(ctx, x, depth, X509_V_ERR_CERT_HAS_EXPIRED))
        return 0;
    return 1;
}

/* May issuer's key sign subject (RFC 5280 6.1.4 (n))?  X509_V_OK or the
 * key usage error.  No keyUsage extension allows everything. */
static int
signing_allowed(X509 *issuer, X509 *subject)
{
    uint32_t ku = X509_get_key_usage(issuer);

    if ((X509_get_extension_flags(subject) & EXFLAG_PROXY) != 0)
        return (ku & KU_DIGITAL_SIGNATURE) != 0 ? X509_V_OK
                                                : X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE;
    return (ku & KU_KEY_CERT_SIGN) != 0 ? X509_V_OK : X509_V_ERR_KEYUSAGE_NO_CERTSIGN;
}

/*
 * The walk from the top of the built chain down to the leaf: at each depth
 * n, the issuer's key usage and key, the signature of the certificate at n
 * by the one above it (not for a self-issued top, unless
 * X509_V_FLAG_CHECK_SS_SIGNATURE asks), its dates, then the callback's
 * "ok" for depth n.  An error goes to the callback, which may carry on (as
 * certinfo's does, to record every problem) or stop the walk.  DANE's bare
 * trust-anchor keys are not handled: nothing in tlsweep enables DANE.
 */
int
tw_vcache_verify_chain(X509_STORE_CTX *ctx)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    unsigned long fl = X509_VERIFY_PARAM_get_flags(X509_STORE_CTX_get0_param(ctx));
    X509_STORE_CTX_check_issued_fn issued = X509_STORE_CTX_get_check_issued(ctx);
    X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);
    int n = sk_X509_num(chain) - 1, dates_only = 0;
    X509 *xi, *xs;

    if (n < 0 || issued == NULL || cb == NULL)
        return -1;
    xi = sk_X509_value(chain, n);
    if (issued(ctx, xi, xi)) {
        xs = xi; /* a self-issued top: its own signature is not checked */
    } else if ((fl & X509_V_FLAG_PARTIAL_CHAIN) != 0) {
        xs = xi; /* a trusted top that is not self-issued: dates only */
        dates_only = 1;
    } else if (n == 0) {
        if (!verify_fail(ctx, xi, 0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE))
            return 0;
        xs = xi;
        dates_only = 1;
    } else {
        n--;
        X509_STORE_CTX_set_error_depth(ctx, n);
        xs = sk_X509_value(chain, n);
    }
    while (n >= 0) {
        uint32_t xif = X509_get_extension_flags(xi);

        if (!dates_only &&
            (xs != xi || ((fl & X509_V_FLAG_CHECK_SS_SIGNATURE) != 0 && (xif & EXFLAG_SS) != 0))) {
            /* Problems with the issuer's key are reported at its depth. */
            int idepth = n + (xs == xi ? 0 : 1);
            int ret = xs == xi && (xif & EXFLAG_CA) == 0 ? X509_V_OK : signing_allowed(xi, xs);
            EVP_PKEY *pkey;

            if (ret != X509_V_OK && !verify_fail(ctx, xi, idepth, ret))
                return 0;
            if ((pkey = X509_get0_pubkey(xi)) == NULL) {
                if (!verify_fail(ctx, xi, idepth, X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY))
                    return 0;
            } else if (!sig_good(xs, xi, pkey) &&
                       !verify_fail(ctx, xs, n, X509_V_ERR_CERT_SIGNATURE_FAILURE)) {
                return 0;
            }
        }
        dates_only = 0;
        if (!verify_time(ctx, xs, n))
            return 0;
        /* Depth n is done; earlier errors stay recorded. */
        X509_STORE_CTX_set_current_cert(ctx, xs);
        X509_STORE_CTX_set_error_depth(ctx, n);
        if (!cb(1, ctx))
            return 0;
        if (--n >= 0) {
            xi = xs;
            xs = sk_X509_value(chain, n);
        }
    }
    return 1;
}
