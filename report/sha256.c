/*
 * sha256.c - SHA-256 and base64 through libcrypto.
 */
#include <limits.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "report/sha256.h"

void
tw_sha256(const void *data, size_t n, uint8_t out[32])
{
    SHA256(data, n, out);
}

size_t
tw_base64(const uint8_t *in, size_t n, char *out, size_t len)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    int w;

    if (len < need || n > INT_MAX / 2)
        return 0;
    w = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return w < 0 ? 0 : (size_t)w;
}
