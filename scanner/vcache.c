/*
 * vcache.c - per-thread cache of chain verification outcomes (see vcache.h).
 *
 * The table is direct-mapped: the first two bytes of the key pick the slot,
 * the whole key must match.  Keys are SHA-256 values, so slots fill evenly
 * and a false match would need a SHA-256 collision.  Each thread also keeps
 * its own fetched SHA-256 and digest context, so computing a key takes no
 * lock in OpenSSL's algorithm store.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "scanner/vcache.h"
#include "base/xalloc.h"

#define VCACHE_TAG "tlsweep-vcache-1"

struct vcache_slot {
    unsigned char key[TW_VCACHE_KEY_LEN];
    int used;
    int64_t not_before, not_after;
    struct tw_vcache_outcome o; /* o.issuer: the slot's own reference */
};

struct vcache {
    struct vcache_slot slots[TW_VCACHE_SLOTS];
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
