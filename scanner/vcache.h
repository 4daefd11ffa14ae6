/*
 * vcache.h - the outcome of chain verification, remembered per thread.
 *
 * Estates reuse chains: a wildcard leaf on a load balancer's addresses, one
 * pool behind many names.  Building and verifying the same sent chain
 * against the same trust store at the same time always gives the same
 * answer, so certinfo asks this cache first and verifies only on a miss.
 *
 * What is cached: every (depth, code) the verify callback recorded, the
 * truncation flag, and the leaf's issuer that certinfo picked (for the
 * stapled OCSP check).  What is not: the host name check (per endpoint),
 * the OCSP response (per connection), and anything the TLS handshake
 * itself checks: the server's CertificateVerify signature is verified by
 * OpenSSL's state machine on every connection and never comes near here.
 *
 * The key is the SHA-256 of: a version tag, the trust store's identity, the
 * time the chain is judged at (`now`, to the second), the verification
 * settings, the number of certificates sent, and the SHA-256 of each sent
 * certificate's DER in the order sent.  An entry also holds the validity
 * window every certificate involved shares (the latest notBefore and the
 * earliest notAfter of the sent certificates and of the chain OpenSSL
 * built); an outcome is stored and served only while `now` lies inside it,
 * so a certificate judged outside its validity is always verified afresh.
 *
 * Trust store identity: a store is cached against only after
 * tw_vcache_mark_store() gave it a process-unique number (the worker's
 * store is marked when it is loaded; a store is never changed after that).
 * An unmarked store has identity 0 and is never cached, so a store that is
 * still being filled, or a new store at the address of a freed one, cannot
 * be served another store's outcome.
 *
 * Bounded: TW_VCACHE_SLOTS direct-mapped entries per thread (a new key
 * evicts the one in its slot), each holding one issuer reference.
 *
 * Threading: each thread has its own table (thread-local, freed when the
 * thread ends, like certinfo's records cache), so workers never share or
 * lock it.  tw_vcache_mark_store may be called from any thread.
 */
#ifndef TW_SCANNER_VCACHE_H
#define TW_SCANNER_VCACHE_H

#include <stdint.h>

#include <openssl/x509.h>

#include "scanner/evidence.h"

#define TW_VCACHE_SLOTS 256
#define TW_VCACHE_KEY_LEN 32

/* The cached part of one verification. */
struct tw_vcache_outcome {
    struct tw_verify_error verify[TW_VERIFY_ERRORS_MAX];
    int n_verify;
    int verify_truncated;
    X509 *issuer; /* the leaf's issuer, or NULL; see get/put for who holds the reference */
};

/* Counters of the calling thread's cache (tests and benchmarks). */
struct tw_vcache_stats {
    uint64_t hits;         /* outcomes served */
    uint64_t misses;       /* lookups that found nothing usable */
    uint64_t stored;       /* outcomes stored */
    uint64_t refused;      /* outcomes not stored: now outside a validity window, or no identity */
    uint64_t sig_hits;     /* certificate signatures found good before (not computed) */
    uint64_t sig_verified; /* certificate signatures computed (X509_verify) */
};

/* Give st a process-unique identity (idempotent).  Call once st is filled;
 * st must not change afterwards.  Returns 0, or -1 (st stays unmarked and
 * is never cached against). */
int tw_vcache_mark_store(X509_STORE *st);

/*
 * Compute the key of one verification into key[TW_VCACHE_KEY_LEN].
 *   st     the trust store (its identity is read, nothing else)
 *   now    the time the chain is judged at
 *   flags  the verification settings the caller uses (a constant per caller)
 *   mds    the SHA-256 of each sent certificate's DER, in the order sent
 *   n      how many (at least 1)
 * Returns 0, or -1 when the store is unmarked or hashing failed: the
 * caller then verifies and neither looks up nor stores.
 */
int tw_vcache_key(unsigned char key[TW_VCACHE_KEY_LEN], const X509_STORE *st, int64_t now,
                  unsigned flags, const unsigned char (*mds)[32], int n);

/* Look key up in this thread's cache.  Returns 1 and fills *out (out->issuer
 * is a new reference the caller frees with X509_free) when an entry with
 * this key exists and now lies inside its window; else 0 (*out untouched). */
int tw_vcache_get(const unsigned char key[TW_VCACHE_KEY_LEN], int64_t now,
                  struct tw_vcache_outcome *out);

/* Store an outcome whose certificates are all valid from not_before to
 * not_after (inclusive), judged at now.  Nothing is stored when now lies
 * outside that window.  o is copied; o->issuer is borrowed (the cache takes
 * its own reference). */
void tw_vcache_put(const unsigned char key[TW_VCACHE_KEY_LEN], int64_t now, int64_t not_before,
                   int64_t not_after, const struct tw_vcache_outcome *o);

/* This thread's counters. */
void tw_vcache_get_stats(struct tw_vcache_stats *out);

/*
 * Certificate signatures.  A sent chain that no other endpoint sends (a
 * leaf per host) misses the outcome cache above, yet its intermediates are
 * shared by thousands of leaves: the intermediate's signature by the root
 * is the same computation every time.  tw_vcache_verify_chain is the
 * verify step of X509_verify_cert (the signatures and dates of the chain
 * OpenSSL built; install it with X509_STORE_CTX_set_verify after
 * X509_STORE_CTX_init).  It makes the checks OpenSSL 3.0's own step makes,
 * in the same order, with the same error codes, depths, current
 * certificates and callback calls (tests/unit/test_certinfo.c compares the
 * two on good and broken chains), except that a signature this thread has
 * already found good is not computed again.
 *
 * A good signature is remembered by the SHA-256 of the signed certificate's
 * DER and the SHA-256 of the issuer's SubjectPublicKeyInfo DER (key and
 * algorithm): the same bytes under the same key verify the same way at any
 * time and against any trust store, so neither enters the key.  Dates, key
 * usage and the rest are checked on every call; bad signatures are never
 * remembered (they are computed, and reported, every time).
 * TW_VCACHE_SIG_SLOTS direct-mapped entries per thread.
 */
#define TW_VCACHE_SIG_SLOTS 512

int tw_vcache_verify_chain(X509_STORE_CTX *ctx);

#endif /* TW_SCANNER_VCACHE_H */
