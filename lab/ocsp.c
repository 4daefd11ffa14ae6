/*
 * ocsp.c - the OCSP response the `revoked` endpoint staples (and the
 * revoked-crl endpoint's CRL, at the end).
 *
 * Built once at start-up: a successful basic response, signed directly by
 * the leaf's issuing CA (so no delegated responder certificate is needed),
 * saying the leaf was revoked a day ago for keyCompromise.  thisUpdate is an
 * hour ago and nextUpdate a week ahead, so the response itself is fresh and
 * only the status is bad.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include "base/log.h"
#include "lab/lab_int.h"

int
tw_lab_ocsp_revoked(X509 *leaf, X509 *issuer, EVP_PKEY *issuer_key, unsigned char **der,
                    size_t *der_len, char *err)
{
    OCSP_CERTID *id = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_RESPONSE *resp = NULL;
    ASN1_TIME *revtime = NULL, *thisupd = NULL, *nextupd = NULL;
    unsigned char *buf = NULL;
    int n, rc = -1;

    *der = NULL;
    *der_len = 0;
    id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
    bs = OCSP_BASICRESP_new();
    revtime = X509_gmtime_adj(NULL, -24L * 3600L);
    thisupd = X509_gmtime_adj(NULL, -3600L);
    nextupd = X509_gmtime_adj(NULL, 7L * 24L * 3600L);
    if (id == NULL || bs == NULL || revtime == NULL || thisupd == NULL || nextupd == NULL)
        goto fail;
    if (OCSP_basic_add1_status(bs, id, V_OCSP_CERTSTATUS_REVOKED, OCSP_REVOKED_STATUS_KEYCOMPROMISE,
                               revtime, thisupd, nextupd) == NULL)
        goto fail;
    if (OCSP_basic_sign(bs, issuer, issuer_key, EVP_sha256(), NULL, OCSP_NOCERTS) != 1)
        goto fail;
    resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
    if (resp == NULL)
        goto fail;
    n = i2d_OCSP_RESPONSE(resp, &buf);
    if (n <= 0)
        goto fail;
    *der = buf;
    buf = NULL;
    *der_len = (size_t)n;
    rc = 0;
    goto out;
fail:
    tw_lab_ssl_err(err, NULL, "OCSP response");
out:
    OPENSSL_free(buf);
    OCSP_RESPONSE_free(resp);
    OCSP_BASICRESP_free(bs);
    OCSP_CERTID_free(id);
    ASN1_TIME_free(revtime);
    ASN1_TIME_free(thisupd);
    ASN1_TIME_free(nextupd);
    return rc;
}

/*
 * The CRL the revoked-crl endpoint's leaf names (issue 14, online
 * revocation by CRL): a v2 CRL of the leaf's issuing CA, signed with its
 * key, that lists the leaf's serial (revoked a day ago, keyCompromise).
 * lastUpdate is an hour ago and nextUpdate a week ahead.  DER in *der
 * (OPENSSL_free).  Returns 0, or -1 with err.
 */
int
tw_lab_crl_revoked(X509 *leaf, X509 *issuer, EVP_PKEY *issuer_key, unsigned char **der,
                   size_t *der_len, char *err)
{
    X509_CRL *crl = X509_CRL_new();
    X509_REVOKED *rev = X509_REVOKED_new();
    ASN1_TIME *revtime = X509_gmtime_adj(NULL, -24L * 3600L);
    ASN1_TIME *lastupd = X509_gmtime_adj(NULL, -3600L);
    ASN1_TIME *nextupd = X509_gmtime_adj(NULL, 7L * 24L * 3600L);
    ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
    unsigned char *buf = NULL;
    int n, rc = -1;

    *der = NULL;
    *der_len = 0;
    if (crl == NULL || rev == NULL || revtime == NULL || lastupd == NULL || nextupd == NULL ||
        reason == NULL || X509_CRL_set_version(crl, X509_CRL_VERSION_2) != 1 ||
        X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)) != 1 ||
        X509_CRL_set1_lastUpdate(crl, lastupd) != 1 ||
        X509_CRL_set1_nextUpdate(crl, nextupd) != 1 ||
        X509_REVOKED_set_serialNumber(rev, X509_get_serialNumber(leaf)) != 1 ||
        X509_REVOKED_set_revocationDate(rev, revtime) != 1 ||
        ASN1_ENUMERATED_set(reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE) != 1 ||
        X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0, 0) != 1 ||
        X509_CRL_add0_revoked(crl, rev) != 1)
        goto fail;
    rev = NULL; /* the CRL owns it */
    if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, issuer_key, EVP_sha256()) <= 0)
        goto fail;
    n = i2d_X509_CRL(crl, &buf);
    if (n <= 0)
        goto fail;
    *der = buf;
    *der_len = (size_t)n;
    rc = 0;
    goto out;
fail:
    tw_lab_ssl_err(err, NULL, "CRL");
out:
    ERR_clear_error();
    X509_REVOKED_free(rev);
    X509_CRL_free(crl);
    ASN1_TIME_free(revtime);
    ASN1_TIME_free(lastupd);
    ASN1_TIME_free(nextupd);
    ASN1_ENUMERATED_free(reason);
    return rc;
}
