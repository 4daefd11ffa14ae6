/*
 * pki.c - the lab's certificate authority, built in memory at each `lab up`.
 *
 * Two hierarchies: the trusted one (root -> intermediate, RSA-2048, the
 * root is what `lab ca` prints) and an unrelated one (root -> intermediate,
 * P-256) that no scanner trusts.  Leaves share three keys (RSA-2048, P-256,
 * RSA-1024): generating RSA keys is the slow part of `lab up` and reusing a
 * leaf key changes nothing a scanner tests.  Validity is set by dates
 * relative to now (an expired leaf has a notAfter in the past), never by
 * clock tricks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "base/log.h"
#include "lab/lab_int.h"

#define DAY (24L * 3600L)

#define LAB_AIA_URL "caIssuers;URI:http://127.77.0.1/intermediate.crt"

void
tw_lab_ssl_err(char *err, const char *who, const char *what)
{
    char buf[256] = "unknown error";
    unsigned long e = ERR_get_error();

    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    if (who != NULL)
        tw_errf(err, "%s: %s: %s", who, what, buf);
    else
        tw_errf(err, "%s: %s", what, buf);
    ERR_clear_error();
}

int
tw_lab_pki_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext = NULL;
    int rc = -1;

    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        goto out;
    if (X509_add_ext(cert, ext, -1) != 1)
        goto out;
    rc = 0;
out:
    X509_EXTENSION_free(ext);
    return rc;
}

/* A fresh certificate with a random 64-bit serial, the subject CN, the
 * issuer name and the validity window set; extensions and signature are the
 * caller's. */
X509 *
tw_lab_pki_new_cert(const char *cn, X509 *issuer, EVP_PKEY *pub, long not_before, long not_after)
{
    X509 *x = NULL;
    X509_NAME *name = NULL;
    BIGNUM *bn = NULL;
    int ok = 0;

    x = X509_new();
    bn = BN_new();
    if (x == NULL || bn == NULL)
        goto out;
    if (X509_set_version(x, X509_VERSION_3) != 1)
        goto out;
    if (BN_rand(bn, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    if (X509_gmtime_adj(X509_getm_notBefore(x), not_before) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), not_after) == NULL)
        goto out;
    name = X509_get_subject_name(x);
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tlsweep lab",
                                   -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        goto out;
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) != 1)
        goto out;
    if (X509_set_pubkey(x, pub) != 1)
        goto out;
    ok = 1;
out:
    BN_free(bn);
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* A CA certificate: self-signed root when issuer is NULL. */
static X509 *
pki_make_ca(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, char *err)
{
    X509 *x = NULL;
    int ok = 0;

    x = tw_lab_pki_new_cert(cn, issuer, key, -DAY, 3650 * DAY);
    if (x == NULL)
        goto out;
    if (tw_lab_pki_add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints,
                           issuer != NULL ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE") <
            0 ||
        tw_lab_pki_add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") <
            0 ||
        tw_lab_pki_add_ext(x, x, NID_subject_key_identifier, "hash") < 0 ||
        tw_lab_pki_add_ext(x, issuer != NULL ? issuer : x, NID_authority_key_identifier,
                           "keyid:always") < 0)
        goto out;
    if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <= 0)
        goto out;
    ok = 1;
out:
    if (!ok) {
        tw_lab_ssl_err(err, NULL, cn);
        X509_free(x);
        x = NULL;
    }
    return x;
}

int
tw_lab_pki_init(struct tw_lab_pki *pki, char *err)
{
    int rc = -1;

    memset(pki, 0, sizeof(*pki));
    /* Three RSA-2048 keys: this is most of the start-up time. */
    pki->root_key = EVP_RSA_gen(2048);
    pki->inter_key = EVP_RSA_gen(2048);
    pki->leaf_rsa = EVP_RSA_gen(2048);
    pki->leaf_rsa1024 = EVP_RSA_gen(1024);
    pki->leaf_drown = EVP_RSA_gen(2048);
    pki->uroot_key = EVP_EC_gen("P-256");
    pki->uinter_key = EVP_EC_gen("P-256");
    pki->leaf_ec = EVP_EC_gen("P-256");
    if (pki->root_key == NULL || pki->inter_key == NULL || pki->leaf_rsa == NULL ||
        pki->leaf_rsa1024 == NULL || pki->uroot_key == NULL || pki->uinter_key == NULL ||
        pki->leaf_ec == NULL || pki->leaf_drown == NULL) {
        tw_lab_ssl_err(err, NULL, "key generation");
        goto out;
    }
    pki->root = pki_make_ca("tlsweep lab root CA", pki->root_key, NULL, NULL, err);
    if (pki->root == NULL)
        goto out;
    pki->inter =
        pki_make_ca("tlsweep lab intermediate CA", pki->inter_key, pki->root, pki->root_key, err);
    if (pki->inter == NULL)
        goto out;
    pki->uroot = pki_make_ca("tlsweep lab untrusted root CA", pki->uroot_key, NULL, NULL, err);
    if (pki->uroot == NULL)
        goto out;
    pki->uinter = pki_make_ca("tlsweep lab untrusted intermediate CA", pki->uinter_key, pki->uroot,
                              pki->uroot_key, err);
    if (pki->uinter == NULL)
        goto out;
    rc = 0;
out:
    if (rc < 0)
        tw_lab_pki_cleanup(pki);
    return rc;
}

void
tw_lab_pki_cleanup(struct tw_lab_pki *pki)
{
    EVP_PKEY_free(pki->root_key);
    EVP_PKEY_free(pki->inter_key);
    EVP_PKEY_free(pki->uroot_key);
    EVP_PKEY_free(pki->uinter_key);
    EVP_PKEY_free(pki->leaf_rsa);
    EVP_PKEY_free(pki->leaf_ec);
    EVP_PKEY_free(pki->leaf_rsa1024);
    EVP_PKEY_free(pki->leaf_drown);
    X509_free(pki->root);
    X509_free(pki->inter);
    X509_free(pki->uroot);
    X509_free(pki->uinter);
    memset(pki, 0, sizeof(*pki));
}

X509 *
tw_lab_pki_leaf(const struct tw_lab_pki *pki, const struct tw_lab_leaf_spec *spec, EVP_PKEY **key,
                char *err)
{
    X509 *x = NULL, *issuer = NULL;
    EVP_PKEY *pub = NULL, *signer = NULL;
    char san[320];
    int ok = 0;

    switch (spec->key) {
    case TW_LAB_KEY_RSA:
        pub = pki->leaf_rsa;
        break;
    case TW_LAB_KEY_EC:
        pub = pki->leaf_ec;
        break;
    case TW_LAB_KEY_RSA1024:
        pub = pki->leaf_rsa1024;
        break;
    case TW_LAB_KEY_DROWN:
        pub = pki->leaf_drown;
        break;
    }
    switch (spec->issuer) {
    case TW_LAB_ISS_INTER:
        issuer = pki->inter;
        signer = pki->inter_key;
        break;
    case TW_LAB_ISS_UNTRUSTED:
        issuer = pki->uinter;
        signer = pki->uinter_key;
        break;
    case TW_LAB_ISS_SELF:
        issuer = NULL;
        signer = pub;
        break;
    }
    if (spec->ip != NULL)
        snprintf(san, sizeof(san), "DNS:%s,IP:%s", spec->dns, spec->ip);
    else
        snprintf(san, sizeof(san), "DNS:%s", spec->dns);

    x = tw_lab_pki_new_cert(spec->dns, issuer, pub, spec->not_before, spec->not_after);
    if (x == NULL)
        goto out;
    /* A self-signed leaf gets no keyUsage: with one lacking keyCertSign,
     * OpenSSL would not see it as its own issuer and would report
     * "unable to get local issuer" instead of a self-signed leaf. */
    if (tw_lab_pki_add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, "CA:FALSE") < 0 ||
        (!spec->no_san && tw_lab_pki_add_ext(x, x, NID_subject_alt_name, san) < 0) ||
        tw_lab_pki_add_ext(x, x, NID_ext_key_usage, "serverAuth") < 0 ||
        tw_lab_pki_add_ext(x, x, NID_subject_key_identifier, "hash") < 0)
        goto out;
    if (issuer != NULL) {
        if (tw_lab_pki_add_ext(x, x, NID_key_usage, "critical,digitalSignature,keyEncipherment") <
                0 ||
            tw_lab_pki_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always") < 0)
            goto out;
    }
    if (spec->aia && tw_lab_pki_add_ext(x, issuer, NID_info_access, LAB_AIA_URL) < 0)
        goto out;
    if (X509_sign(x, signer, spec->sha1 ? EVP_sha1() : EVP_sha256()) <= 0)
        goto out;
    *key = pub;
    ok = 1;
out:
    if (!ok) {
        tw_lab_ssl_err(err, NULL, spec->dns);
        X509_free(x);
        x = NULL;
    }
    return x;
}

int
tw_lab_pki_write_pem(X509 *cert, const char *path, char *err)
{
    FILE *f = NULL;
    int fd = -1, rc = -1;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        goto out;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1; /* owned by f now */
    if (PEM_write_X509(f, cert) != 1) {
        tw_lab_ssl_err(err, NULL, path);
        goto out;
    }
    rc = 0;
out:
    if (f != NULL && fclose(f) != 0 && rc == 0) {
        tw_errf(err, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (fd >= 0)
        close(fd);
    return rc;
}
