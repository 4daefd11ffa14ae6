/*
 * sha256.h - SHA-256 and base64 of a small buffer, for the HTML report's
 * Content-Security-Policy script hash.
 *
 * Thin wrappers over libcrypto (which the binary links anyway), so no
 * digest code of our own needs trusting.  Pure; any thread.
 */
#ifndef TW_REPORT_SHA256_H
#define TW_REPORT_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The digest of data[0..n) into out[32]. */
void tw_sha256(const void *data, size_t n, uint8_t out[32]);
/* Standard base64 (with padding) of in[0..n) into out[len]; returns the
 * length written, or 0 when out is too small (needs 4*ceil(n/3)+1). */
size_t tw_base64(const uint8_t *in, size_t n, char *out, size_t len);

#endif /* TW_REPORT_SHA256_H */
