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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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
    [TW_CLIENTS_SET] = "set",
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
    for (int i = 0; i < TW_CLIENTS_SET; i++) {
        if (strcmp(name, policy_names[i]) == 0) {
            *out = i;
            return 0;
        }
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

/* ---- --clients, resolved ---- */

/* A bounded, printable copy of untrusted text for a message. */
static void
clean(char *dst, size_t cap, const char *src)
{
    size_t o = 0;

    for (size_t i = 0; src[i] != '\0' && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)src[i];

        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            dst[o++] = (char)ch;
        } else {
            snprintf(dst + o, cap - o, "\\x%02x", ch);
            o += 4;
        }
    }
    dst[o] = '\0';
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void
add_member(struct tw_clients_set *out, const struct tw_refclient *c)
{
    for (size_t i = 0; i < out->n_members; i++)
        if (out->members[i] == c)
            return;
    if (out->n_members < TW_CLIENTS_SET_MAX)
        out->members[out->n_members++] = c;
}

/* A file listing client names, one a line ('#' comments, blanks ignored). */
static int
resolve_names(const char *label, char *buf, struct tw_clients_set *out, char *err, size_t errlen)
{
    int line = 0;

    for (char *p = buf; p != NULL && *p != '\0';) {
        char *nl = strchr(p, '\n');
        char *end;
        const struct tw_refclient *c;

        line++;
        if (nl != NULL)
            *nl = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (*p != '\0' && *p != '#') {
            c = tw_refclients_find(p);
            if (c == NULL) {
                char q[128];

                clean(q, sizeof(q), p);
                return fail(err, errlen, "%s:%d: unknown client '%s' (see tls/refclients.c)", label,
                            line, q);
            }
            add_member(out, c);
        }
        p = nl != NULL ? nl + 1 : NULL;
    }
    if (out->n_members == 0)
        return fail(err, errlen, "%s: no client named", label);
    return 0;
}

static int
resolve_file(const char *spec, struct tw_clients_set *out, char *err, size_t errlen)
{
    char buf[TW_CLIENTS_FILE_MAX + 1];
    char label[128];
    FILE *f;
    size_t n;
    int is_def = 0;

    clean(label, sizeof(label), spec);
    f = fopen(spec, "r");
    if (f == NULL)
        return fail(err, errlen, "'%s' is not modern, any, all, a named policy or a readable file",
                    label);
    n = fread(buf, 1, TW_CLIENTS_FILE_MAX + 1, f);
    fclose(f);
    if (n > TW_CLIENTS_FILE_MAX)
        return fail(err, errlen, "%s: longer than %d bytes", label, TW_CLIENTS_FILE_MAX);
    buf[n] = '\0';
    if (memchr(buf, '\0', n) != NULL)
        return fail(err, errlen, "%s: not a text file", label);
    /* A client definition has 'key = value' lines; a list has names only. */
    for (const char *p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '#') {
            const char *nl = strchr(p, '\n');
            const char *eq = strchr(p, '=');

            if (eq != NULL && (nl == NULL || eq < nl))
                is_def = 1;
        }
    }
    if (!is_def)
        return resolve_names(label, buf, out, err, errlen);
    if (tw_refclients_parse(label, buf, n, &out->loaded, err, errlen) < 0)
        return -1;
    if (tw_refclients_find(out->loaded.client.name) != NULL) {
        char q[128];

        clean(q, sizeof(q), out->loaded.client.name);
        return fail(err, errlen, "%s: client '%s' is already built in", label, q);
    }
    out->has_loaded = 1;
    add_member(out, &out->loaded.client);
    if (out->n_sim < TW_CLIENTS_SET_MAX)
        out->sim[out->n_sim++] = &out->loaded.client;
    return 0;
}

int
tw_clients_resolve(const char *spec, struct tw_clients_set *out, char *err, size_t errlen)
{
    size_t n = tw_refclients_count();

    memset(out, 0, sizeof(*out));
    if (spec == NULL || spec[0] == '\0' || strlen(spec) >= sizeof(out->spec))
        return fail(err, errlen, "an empty or too long value");
    snprintf(out->spec, sizeof(out->spec), "%s", spec);
    for (size_t i = 0; i < n && out->n_sim < TW_CLIENTS_SET_MAX; i++)
        out->sim[out->n_sim++] = tw_refclients_at(i);
    if (tw_clients_policy_parse(spec, &out->policy) == 0) {
        for (size_t i = 0; out->policy == TW_CLIENTS_MODERN && i < n; i++)
            if (tw_refclients_in_policy(tw_refclients_at(i), TW_REFCLIENTS_POLICY_MODERN))
                add_member(out, tw_refclients_at(i));
        return 0;
    }
    out->policy = TW_CLIENTS_SET;
    if (strcmp(spec, "all") == 0) {
        for (size_t i = 0; i < n; i++)
            add_member(out, tw_refclients_at(i));
        return 0;
    }
    if (tw_refclients_named_has(spec, tw_refclients_at(0)) >= 0) {
        for (size_t i = 0; i < n; i++)
            if (tw_refclients_named_has(spec, tw_refclients_at(i)) == 1)
                add_member(out, tw_refclients_at(i));
        return 0;
    }
    return resolve_file(spec, out, err, errlen);
}

int
tw_clients_set_has(const struct tw_clients_set *set, const char *name)
{
    for (size_t i = 0; set != NULL && i < set->n_members; i++)
        if (strcasecmp(set->members[i]->name, name) == 0)
            return 1;
    return 0;
}
