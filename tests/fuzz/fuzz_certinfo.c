/*
 * fuzz_certinfo.c - libFuzzer target for the certificate record.
 *
 * Input: DER bytes.  d2i_X509() decides whether they are a certificate; if
 * so tw_certinfo_record() copies it into a bounded struct tw_cert.  Besides
 * the sanitizers, the target checks the header's contract and aborts when it
 * is broken: every string present, NUL-terminated within its cap, the
 * fingerprint 64 lowercase hex digits, the SAN list at most 1000 entries,
 * dates either empty or ISO-8601 shaped.  Seeds: make_certinfo_seeds.sh
 * (certificates are generated, never committed).  Build and run: see
 * tests/fuzz/README.md, with scanner/certinfo.c scanner/classify.c scanner/probekind.c
 * store/model.c and the base/ sources, -lssl -lcrypto.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "scanner/certinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s, size_t cap)
{
    if (s == NULL)
        abort();
    if (strnlen(s, cap) >= cap)
        abort();
}

static void
check_date(const char *d)
{
    size_t n = strnlen(d, 21);

    if (n == 21)
        abort();
    if (n != 0 && (n != 20 || d[4] != '-' || d[10] != 'T' || d[19] != 'Z'))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)size);
    struct tw_cert c;
    size_t commas = 0;

    if (x == NULL) {
        ERR_clear_error();
        return 0;
    }
    tw_certinfo_record(x, &c);
    if (strlen(c.sha256) != 64 || strspn(c.sha256, "0123456789abcdef") != 64)
        abort();
    check_text(c.subject, TW_CERT_FIELD_MAX);
    check_text(c.issuer, TW_CERT_FIELD_MAX);
    check_text(c.san, TW_CERT_FIELD_MAX);
    check_text(c.pem, TW_CERT_PEM_MAX);
    check_text(c.key_type, sizeof(c.key_type));
    check_text(c.sig_alg, sizeof(c.sig_alg));
    check_date(c.not_before);
    check_date(c.not_after);
    for (const char *s = c.san; *s; s++)
        commas += *s == ',';
    if (commas > 1000)
        abort();
    if (c.key_bits < 0)
        abort();
    tw_cert_cleanup(&c);
    X509_free(x);
    ERR_clear_error();
    return 0;
}
