/*
 * sim.c - reference-client simulation from the grading enumeration, see
 * sim.h for the rules and what each step assumes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tls/sim.h"
#include "tls/suites.h"

static const struct {
    const char *cls;
    const char *text;
} reasons[TW_SIM_R__COUNT] = {
    [TW_SIM_R_NONE] = {NULL, ""},
    [TW_SIM_R_SNI] = {"sni_required", "sends no SNI; the server requires it"},
    [TW_SIM_R_CLIENT_CERT] = {"client_cert_required", "the server requires a client certificate"},
    [TW_SIM_R_PROTOCOL] = {"protocol_mismatch", "no shared TLS version"},
    [TW_SIM_R_CIPHER] = {"no_shared_cipher", "no shared cipher suite"},
    [TW_SIM_R_GROUP] = {"tls_alert", "no shared key-exchange group"},
    [TW_SIM_R_SIGALG] = {"tls_alert", "no signature algorithm for the server's keys"},
    [TW_SIM_R_WEAK_KEY] = {"weak_key", "server key below the client's minimum"},
    [TW_SIM_R_WEAK_DH] = {"weak_key", "DHE group below the client's minimum"},
    [TW_SIM_R_CN_ONLY] = {"hostname_mismatch", "name only in the subject CN"},
    [TW_SIM_R_NAME] = {"hostname_mismatch", "the certificate does not cover the name"},
    [TW_SIM_R_CHAIN] = {"incomplete_chain", "intermediate missing; the client does not fetch it"},
};

const char *
tw_sim_outcome_name(enum tw_sim_outcome o)
{
    return o == TW_SIM_OK ? "ok" : "fail";
}

const char *
tw_sim_reason_class(enum tw_sim_reason r)
{
    return (unsigned)r < TW_SIM_R__COUNT ? reasons[r].cls : NULL;
}

const char *
tw_sim_reason_text(enum tw_sim_reason r)
{
    return (unsigned)r < TW_SIM_R__COUNT ? reasons[r].text : "";
}

static int
in_list(const uint16_t *a, size_t n, uint16_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

/* The wire version of a TW_PROTO_* index (SSLv2 is never simulated). */
static uint16_t
wire_of(int p)
{
    static const uint16_t wire[TW_PROTO__COUNT] = {
        0, TW_VERSION_SSL3, TW_VERSION_TLS10, TW_VERSION_TLS11, TW_VERSION_TLS12, TW_VERSION_TLS13};
    return p >= 0 && p < TW_PROTO__COUNT ? wire[p] : 0;
}

/* Does signature scheme sa sign with key (k, bits) at version v?  TLS 1.3
 * binds ECDSA to its curve and allows no PKCS#1 v1.5 handshake signature. */
static int
sigalg_fits(uint16_t sa, const struct tw_sim_leaf *k, uint16_t v)
{
    int tls13 = v >= TW_VERSION_TLS13;

    switch (k->key_type) {
    case TW_KEY_RSA:
        if (sa >= 0x0804 && sa <= 0x0806) /* rsa_pss_rsae_* */
            return 1;
        if (sa >= 0x0809 && sa <= 0x080b) /* rsa_pss_pss_* (an RSA-PSS key) */
            return 1;
        return !tls13 && (sa == 0x0201 || sa == 0x0401 || sa == 0x0501 || sa == 0x0601);
    case TW_KEY_EC:
        if (!tls13)
            return sa == 0x0203 || sa == 0x0403 || sa == 0x0503 || sa == 0x0603;
        return (sa == 0x0403 && k->key_bits == 256) || (sa == 0x0503 && k->key_bits == 384) ||
               (sa == 0x0603 && k->key_bits == 521);
    case TW_KEY_ED25519:
        return sa == 0x0807;
    case TW_KEY_ED448:
        return sa == 0x0808;
    case TW_KEY_DSA:
        return !tls13 && (sa == 0x0202 || sa == 0x0402);
    case TW_KEY_UNKNOWN:
    case TW_KEY_DH:
        break;
    }
    return 0;
}

/* Can client c verify a handshake signature by key k at version v?  Below
 * TLS 1.2 there is no signature_algorithms negotiation; a TLS 1.2 client
 * that sends none takes SHA-1 with any key (RFC 5246 §7.4.1.4.1). */
static int
client_verifies(const struct tw_refclient *c, const struct tw_sim_leaf *k, uint16_t v)
{
    if (v < TW_VERSION_TLS12 || (v == TW_VERSION_TLS12 && c->n_sigalgs == 0))
        return 1;
    for (size_t i = 0; i < c->n_sigalgs; i++)
        if (sigalg_fits(c->sigalgs[i], k, v))
            return 1;
    return 0;
}

/* The leaf of key type t, or NULL when none was seen. */
static const struct tw_sim_leaf *
leaf_of(const struct tw_sim_server *s, enum tw_key_type t)
{
    for (size_t i = 0; i < s->n_leaves && i < TW_SIM_LEAVES_MAX; i++)
        if (s->leaves[i].key_type == t)
            return &s->leaves[i];
    return NULL;
}

/* The certificate key type a TLS <= 1.2 suite authenticates with. */
static enum tw_key_type
suite_key(const struct tw_suite *si)
{
    switch (si->auth) {
    case TW_AUTH_RSA:
        return TW_KEY_RSA;
    case TW_AUTH_ECDSA:
        return TW_KEY_EC;
    case TW_AUTH_DSS:
        return TW_KEY_DSA;
    default:
        return TW_KEY_UNKNOWN;
    }
}

/* The ECDHE group for a TLS <= 1.2 handshake, 0 when none is shared.  With
 * no group seen at all (enumeration cut short) the client's first is taken
 * and the basis says so. */
static uint16_t
pick_group12(const struct tw_refclient *c, const struct tw_sim_server *s, int server_order,
             unsigned *basis)
{
    size_t shared = 0;
    uint16_t first_c = 0, first_s = 0;

    if (s->n_groups12 == 0) {
        *basis |= TW_SIM_BASIS_GROUP_ORDER;
        return c->n_groups > 0 ? c->groups[0] : 0;
    }
    for (size_t i = 0; i < c->n_groups; i++)
        if (in_list(s->groups12, s->n_groups12, c->groups[i])) {
            if (shared++ == 0)
                first_c = c->groups[i];
        }
    for (size_t i = 0; i < s->n_groups12 && first_s == 0; i++)
        if (in_list(c->groups, c->n_groups, s->groups12[i]))
            first_s = s->groups12[i];
    if (shared > 1 && first_c != first_s)
        *basis |= TW_SIM_BASIS_GROUP_ORDER;
    return server_order ? first_s : first_c;
}

/* Is suite code (accepted by the server at v) usable for client c?  Sets
 * *group for an ECDHE suite and *leaf to the certificate it would send. */
static int
suite_usable(const struct tw_refclient *c, const struct tw_sim_server *s, uint16_t v, uint16_t code,
             int server_order, uint16_t *group, const struct tw_sim_leaf **leaf, unsigned *basis)
{
    const struct tw_suite *si = tw_suites_find(code);
    enum tw_key_type kt;

    *group = 0;
    *leaf = NULL;
    if (si == NULL)
        return 0;
    if (si->kx == TW_KX_ECDHE) {
        *group = pick_group12(c, s, server_order, basis);
        if (*group == 0)
            return 0;
    }
    kt = suite_key(si);
    *leaf = kt != TW_KEY_UNKNOWN ? leaf_of(s, kt) : NULL;
    /* RSA key transport signs nothing: no signature algorithm needed. */
    if (*leaf != NULL && si->kx != TW_KX_RSA && !client_verifies(c, *leaf, v))
        return 0;
    return 1;
}

static void
fail(struct tw_sim_result *out, enum tw_sim_reason r)
{
    out->outcome = TW_SIM_FAIL;
    out->reason = r;
}

/* Step 3 for TLS <= 1.2: the suite.  Returns 0 when none fits. */
static int
choose12(const struct tw_refclient *c, const struct tw_sim_server *s, uint16_t v, int p,
         struct tw_sim_result *out, const struct tw_sim_leaf **leaf)
{
    int server_order = (s->server_pref & TW_PROTO_BIT(p)) != 0;
    uint16_t g;

    if (server_order) {
        for (size_t i = 0; i < s->n_suites && i < TW_SIM_SUITES_MAX; i++) {
            if (s->suites[i].protocol != v || !in_list(c->suites, c->n_suites, s->suites[i].code))
                continue;
            if (suite_usable(c, s, v, s->suites[i].code, 1, &g, leaf, &out->basis)) {
                out->suite = s->suites[i].code;
                out->group = g;
                return 1;
            }
        }
        return 0;
    }
    for (size_t k = 0; k < c->n_suites; k++) {
        for (size_t i = 0; i < s->n_suites && i < TW_SIM_SUITES_MAX; i++) {
            if (s->suites[i].protocol != v || s->suites[i].code != c->suites[k])
                continue;
            if (suite_usable(c, s, v, c->suites[k], 0, &g, leaf, &out->basis)) {
                out->suite = c->suites[k];
                out->group = g;
                return 1;
            }
        }
    }
    return 0;
}

/* Step 3 for TLS 1.3: the suite (server order when enforced). */
static uint16_t
choose13_suite(const struct tw_refclient *c, const struct tw_sim_server *s, int server_order)
{
    if (server_order) {
        for (size_t i = 0; i < s->n_suites && i < TW_SIM_SUITES_MAX; i++)
            if (s->suites[i].protocol == TW_VERSION_TLS13 &&
                in_list(c->suites, c->n_suites, s->suites[i].code))
                return s->suites[i].code;
        return 0;
    }
    for (size_t k = 0; k < c->n_suites; k++)
        for (size_t i = 0; i < s->n_suites && i < TW_SIM_SUITES_MAX; i++)
            if (s->suites[i].protocol == TW_VERSION_TLS13 && s->suites[i].code == c->suites[k])
                return c->suites[k];
    return 0;
}

/* Step 4: the TLS 1.3 group.  The client sends a key share for its first
 * group, and for its second too when the first is a post-quantum hybrid
 * (what current browsers do). */
static uint16_t
choose13_group(const struct tw_refclient *c, const struct tw_sim_server *s,
               struct tw_sim_result *out)
{
    size_t n_shares = 0, shared = 0;
    uint16_t first_c = 0, first_s = 0;

    if (c->n_groups > 0) {
        const struct tw_group *g0 = tw_suites_group_find(c->groups[0]);

        n_shares = g0 != NULL && g0->kind == TW_GROUP_KIND_HYBRID && c->n_groups > 1 ? 2 : 1;
    }
    for (size_t i = 0; i < n_shares; i++)
        if (in_list(s->groups13, s->n_groups13, c->groups[i]))
            return c->groups[i];
    for (size_t i = 0; i < c->n_groups; i++)
        if (in_list(s->groups13, s->n_groups13, c->groups[i]) && shared++ == 0)
            first_c = c->groups[i];
    for (size_t i = 0; i < s->n_groups13 && first_s == 0; i++)
        if (in_list(c->groups, c->n_groups, s->groups13[i]))
            first_s = s->groups13[i];
    if (shared == 0)
        return 0;
    out->hrr = 1;
    if (shared > 1 && first_c != first_s)
        out->basis |= TW_SIM_BASIS_GROUP_ORDER;
    /* The HelloRetryRequest names the server's first group that the client
     * supports, whatever the suite order setting: OpenSSL does so
     * (--simulate real showed it on the lab's servers), and the
     * enumeration found the groups in the server's order. */
    return first_s;
}

/* Step 5 for TLS 1.3: the leaf for the client's first signature algorithm
 * the server has a key for; NULL when none fits. */
static const struct tw_sim_leaf *
choose13_leaf(const struct tw_refclient *c, const struct tw_sim_server *s)
{
    for (size_t i = 0; i < c->n_sigalgs; i++)
        for (size_t k = 0; k < s->n_leaves && k < TW_SIM_LEAVES_MAX; k++)
            if (sigalg_fits(c->sigalgs[i], &s->leaves[k], TW_VERSION_TLS13))
                return &s->leaves[k];
    return NULL;
}

/* Step 5: what the client makes of the certificate and the rest. */
static void
check_cert(const struct tw_refclient *c, const struct tw_sim_server *s,
           const struct tw_sim_leaf *leaf, struct tw_sim_result *out)
{
    if (leaf != NULL) {
        int bits = leaf->key_bits;

        if (((leaf->key_type == TW_KEY_RSA || leaf->key_type == TW_KEY_DSA) && bits > 0 &&
             bits < c->min_rsa) ||
            (leaf->key_type == TW_KEY_EC && bits > 0 && bits < c->min_ec)) {
            fail(out, TW_SIM_R_WEAK_KEY);
            return;
        }
    }
    if (!s->name_ok) {
        if (!s->name_ok_cn) {
            fail(out, TW_SIM_R_NAME);
            return;
        }
        if (!c->cn_fallback) {
            fail(out, TW_SIM_R_CN_ONLY);
            return;
        }
    }
    if (s->chain_incomplete && !(c->aia && s->chain_aia)) {
        fail(out, TW_SIM_R_CHAIN);
        return;
    }
    if (s->client_cert_required)
        fail(out, TW_SIM_R_CLIENT_CERT);
}

void
tw_sim_run(const struct tw_refclient *c, const struct tw_sim_server *s, struct tw_sim_result *out)
{
    const struct tw_sim_leaf *leaf = NULL;
    uint16_t v = 0;
    int p;

    memset(out, 0, sizeof(*out));
    if (s->sni_required && !c->sni) {
        fail(out, TW_SIM_R_SNI);
        return;
    }
    /* Step 2: the highest version both speak (SSLv2 is never simulated). */
    for (p = TW_PROTO_TLS13; p >= TW_PROTO_SSL3; p--) {
        uint16_t w = wire_of(p);

        if ((s->protocols & TW_PROTO_BIT(p)) && w >= c->min_version && w <= c->max_version) {
            v = w;
            break;
        }
    }
    if (v == 0) {
        fail(out, TW_SIM_R_PROTOCOL);
        return;
    }
    out->protocol = v;
    if (v == TW_VERSION_TLS13) {
        int server_order = (s->server_pref & TW_PROTO_BIT(TW_PROTO_TLS13)) != 0;

        out->suite = choose13_suite(c, s, server_order);
        if (out->suite == 0) {
            fail(out, TW_SIM_R_CIPHER);
            return;
        }
        out->group = choose13_group(c, s, out);
        if (out->group == 0) {
            fail(out, TW_SIM_R_GROUP);
            return;
        }
        if (s->n_leaves > 0) {
            leaf = choose13_leaf(c, s);
            if (leaf == NULL) {
                out->basis |= TW_SIM_BASIS_LEAF_TLS13;
                fail(out, TW_SIM_R_SIGALG);
                return;
            }
        }
    } else {
        const struct tw_suite *si;

        if (!choose12(c, s, v, p, out, &leaf)) {
            fail(out, TW_SIM_R_CIPHER);
            return;
        }
        si = tw_suites_find(out->suite);
        if (si != NULL && si->kx == TW_KX_DHE) {
            if (s->dh_bits <= 0)
                out->basis |= TW_SIM_BASIS_DH_UNSEEN;
            else if (c->min_dh > 0 && s->dh_bits < c->min_dh) {
                fail(out, TW_SIM_R_WEAK_DH);
                return;
            }
        }
    }
    check_cert(c, s, leaf, out);
}
