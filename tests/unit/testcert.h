/*
 * testcert.h - the unit tests' throw-away self-signed certificate: the
 * key, a CN and a validity window around the clock's time are all a test
 * server needs to complete handshakes (test_hello, test_probe,
 * test_starttls, test_robot, test_cbcrec).  No extensions; X.509 v3,
 * serial 1, SHA-256.
 */
#ifndef TW_TESTS_UNIT_TESTCERT_H
#define TW_TESTS_UNIT_TESTCERT_H

#include <openssl/x509.h>

/* A certificate for key, subject and issuer CN=cn, valid from now + from_s
 * to now + to_s (seconds), signed by key.  NULL on failure (OpenSSL's error
 * queue says why); the caller frees it. */
X509 *tx_self_signed(EVP_PKEY *key, const char *cn, long from_s, long to_s);

#endif /* TW_TESTS_UNIT_TESTCERT_H */
