/*
 * clients.c - the client policy (see clients.h).
 *
 * Where the modern set comes from.  It is the intersection of the cipher
 * suites that these clients put in their ClientHello (read from their
 * published lists and from their hellos as a packet capture shows them),
 * written here by hand:
 *
 *   - Chromium/Chrome and Edge (BoringSSL's default client list, also shown
 *     by chrome://net-export captures): the three TLS 1.3 suites; ECDHE
 *     ECDSA/RSA with AES-GCM and ChaCha20-Poly1305; ECDHE-RSA AES-CBC-SHA;
 *     RSA key transport AES-GCM and AES-CBC-SHA.
 *   - Firefox (NSS's enabled suites, about:config security.ssl3.*): the
 *     same, plus ECDHE-ECDSA AES-CBC-SHA.
 *   - Safari on macOS/iOS (Apple's Network framework): the same as
 *     Firefox, plus a 3DES tail.
 *   - OpenSSL 3.0's DEFAULT list at its default security level 1: a
 *     superset of all of the above (DHE, CBC-SHA256/384, CCM); that level
 *     refuses TLS 1.0 and 1.1 (their handshakes need SHA-1 and MD5), so
 *     TLS 1.2 and 1.3 only, like the browsers since 2020.
 *
 * Mozilla's Server Side TLS guidelines ("intermediate") recommend a subset
 * of it (ECDHE with AES-GCM and ChaCha20-Poly1305 only); a server that
 * follows them shares a suite with every modern client.  DHE, CCM, CCM_8,
 * CBC with SHA-256/384, Camellia, ARIA, 3DES, RC4 and NULL are not in the
 * set: at least one current browser offers none of them (Chrome and Firefox
 * dropped DHE in 2016 and 2020), so a server that accepts only those fails
 * for it.
 */
#include <string.h>

#include "tls/clients.h"

/* IANA codes, TLS 1.3 first; the names are the IANA registry's. */
static const uint16_t modern_suites[] = {
    0x1301, /* TLS_AES_128_GCM_SHA256 */
    0x1302, /* TLS_AES_256_GCM_SHA384 */
    0x1303, /* TLS_CHACHA20_POLY1305_SHA256 */
    0xC02B, /* TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 */
    0xC02F, /* TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 */
    0xC02C, /* TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 */
    0xC030, /* TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 */
    0xCCA9, /* TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 */
    0xCCA8, /* TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 */
    0xC013, /* TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA */
    0xC014, /* TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA */
    0x009C, /* TLS_RSA_WITH_AES_128_GCM_SHA256 */
    0x009D, /* TLS_RSA_WITH_AES_256_GCM_SHA384 */
    0x002F, /* TLS_RSA_WITH_AES_128_CBC_SHA */
    0x0035, /* TLS_RSA_WITH_AES_256_CBC_SHA */
};

static const char *const policy_names[TW_CLIENTS__COUNT] = {
    [TW_CLIENTS_MODERN] = "modern",
    [TW_CLIENTS_ANY] = "any",
};

const char *
tw_clients_policy_name(int policy)
{
    return policy >= 0 && policy < TW_CLIENTS__COUNT ? policy_names[policy] : "?";
}

int
tw_clients_policy_parse(const char *name, int *out)
{
    if (name == NULL)
        return -1;
    for (int i = 0; i < TW_CLIENTS__COUNT; i++) {
        if (strcmp(name, policy_names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    /* The spelling of the broad judgement. */
    if (strcmp(name, "all") == 0) {
        *out = TW_CLIENTS_ANY;
        return 0;
    }
    return -1;
}

int
tw_clients_modern_suite(uint16_t code)
{
    for (size_t i = 0; i < sizeof(modern_suites) / sizeof(modern_suites[0]); i++)
        if (modern_suites[i] == code)
            return 1;
    return 0;
}
