/*
 * testcert.c - the unit tests' self-signed certificate (see testcert.h).
 */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tests/unit/testcert.h"

X509 *
tx_self_signed(EVP_PKEY *key, const char *cn, long from_s, long to_s)
{
    X509 *x = X509_new();
    X509_NAME *name;

    if (x == NULL || key == NULL || cn == NULL)
        goto fail;
    name = X509_get_subject_name(x);
    if (X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
        X509_gmtime_adj(X509_getm_notBefore(x), from_s) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), to_s) == NULL || X509_set_pubkey(x, key) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(x, name) != 1 || X509_sign(x, key, EVP_sha256()) <= 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}
