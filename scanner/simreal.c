/*
 * simreal.c - each reference client's own ClientHello (see simreal.h).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include "scanner/classify.h"
#include "scanner/hello.h"
#include "scanner/simreal.h"
#include "tls/suites.h"

#define SR_GROUP_X25519MLKEM768 0x11EC
#define SR_GROUP_X25519KYBER768 0x6399 /* draft: X25519 first, then Kyber768 */
#define SR_MLKEM768_EK 1184            /* bytes of an ML-KEM-768 encapsulation key */

/* The uncompressed generator of a NIST curve into buf; its length, 0 when
 * OpenSSL cannot give it. */
static size_t
sr_ec_generator(int nid, uint8_t *buf, size_t cap)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(nid);
    size_t n = 0;

    if (g != NULL) {
        n = EC_POINT_point2oct(g, EC_GROUP_get0_generator(g), POINT_CONVERSION_UNCOMPRESSED, buf,
                               cap, NULL);
        EC_GROUP_free(g);
    }
    if (n == 0)
        ERR_clear_error();
    return n;
}

/* A key share for group into buf (cap >= TW_HELLO_MAX_SHARE); its length, 0
 * when this module cannot make one (the server then asks in an HRR). */
static size_t
sr_share(uint16_t group, const uint8_t *rnd, uint8_t *buf, size_t cap)
{
    static const struct {
        uint16_t group;
        size_t len;
    } ff[] = {{256, 256}, {257, 384}, {258, 512}, {259, 768}, {260, 1024}};

    switch (group) {
    case TW_GROUP_X25519:
        memcpy(buf, rnd, 32);
        return 32;
    case TW_GROUP_X448:
        memcpy(buf, rnd, 56);
        return 56;
    case TW_GROUP_SECP256R1:
        return sr_ec_generator(NID_X9_62_prime256v1, buf, cap);
    case TW_GROUP_SECP384R1:
        return sr_ec_generator(NID_secp384r1, buf, cap);
    case TW_GROUP_SECP521R1:
        return sr_ec_generator(NID_secp521r1, buf, cap);
    case SR_GROUP_X25519MLKEM768:
        memset(buf, 0, SR_MLKEM768_EK);
        memcpy(buf + SR_MLKEM768_EK, rnd, 32);
        return SR_MLKEM768_EK + 32;
    case SR_GROUP_X25519KYBER768:
        memcpy(buf, rnd, 32);
        memset(buf + 32, 0, SR_MLKEM768_EK);
        return SR_MLKEM768_EK + 32;
    default:
        break;
    }
    for (size_t i = 0; i < sizeof(ff) / sizeof(ff[0]); i++)
        if (ff[i].group == group) {
            /* y = 2: inside 2 <= y <= p - 2, which is all a server checks. */
            memset(buf, 0, ff[i].len);
            buf[ff[i].len - 1] = 2;
            return ff[i].len;
        }
    return 0;
}

int
tw_simreal_build(const struct tw_refclient *c, const char *sni, const uint8_t *rnd, uint8_t *out,
                 size_t cap, size_t *len)
{
    static uint8_t zero_sid[32];
    uint8_t share_buf[2][TW_HELLO_MAX_SHARE];
    struct tw_hello_share shares[2];
    struct tw_hello_params p;
    size_t n_want = 0, n_shares = 0;

    *len = 0;
    if (c == NULL || c->n_suites == 0 || c->max_version < TW_VERSION_SSL3)
        return -1;
    tw_hello_params_init(&p, c->max_version, rnd);
    if (c->max_version == TW_VERSION_TLS13) {
        p.min_version = c->min_version < TW_VERSION_SSL3 ? TW_VERSION_SSL3 : c->min_version;
        /* Real TLS 1.3 clients send a legacy session id (middlebox mode). */
        p.session_id = zero_sid;
        if (c->n_groups > 0) {
            const struct tw_group *g0 = tw_suites_group_find(c->groups[0]);

            n_want = g0 != NULL && g0->kind == TW_GROUP_KIND_HYBRID && c->n_groups > 1 ? 2 : 1;
        }
        for (size_t i = 0; i < n_want; i++) {
            size_t n = sr_share(c->groups[i], rnd + 32, share_buf[n_shares], TW_HELLO_MAX_SHARE);

            if (n > 0) {
                shares[n_shares].group = c->groups[i];
                shares[n_shares].data = share_buf[n_shares];
                shares[n_shares].len = n;
                n_shares++;
            }
        }
        p.shares = shares;
        p.n_shares = n_shares;
    }
    p.suites = c->suites;
    p.n_suites = c->n_suites;
    if (c->n_groups > 0) {
        p.groups = c->groups;
        p.n_groups = c->n_groups;
    } else {
        p.flags |= TW_HELLO_F_NO_GROUPS;
    }
    if (c->n_sigalgs > 0) {
        p.sigalgs = c->sigalgs;
        p.n_sigalgs = c->n_sigalgs;
    } else {
        p.flags |= TW_HELLO_F_NO_SIGALGS;
    }
    p.sni = c->sni && sni != NULL && sni[0] != '\0' ? sni : NULL;
    /* The hello itself, not the flight of the enumeration: no OCSP request
     * needed, and a record of one ClientHello no larger than a browser's. */
    p.flags &= ~(unsigned)TW_HELLO_F_STATUS_REQUEST;
    return tw_hello_build(&p, out, cap, len);
}

static int
sr_in(const uint16_t *a, size_t n, uint16_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

void
tw_simreal_feed(const struct tw_server_flight *f, const struct tw_refclient *c,
                struct tw_grec_real *out)
{
    char name[64];

    memset(out, 0, sizeof(*out));
    out->ran = 1;
    out->alert = -1;
    out->agrees = -1;
    if (f == NULL) {
        snprintf(out->why, sizeof(out->why), "no answer to the hello");
        return;
    }
    if (f->has_server_hello) {
        out->ok = 1;
        out->protocol = f->version;
        out->suite = f->cipher_suite;
        out->hrr = f->is_hrr;
        if (f->version == TW_VERSION_TLS13)
            out->group = f->has_key_share ? f->key_share_group : 0;
        else if (f->kx == TW_FLIGHT_KX_ECDHE)
            out->group = f->ecdh_group;
        /* What the client never offered, it refuses (illegal_parameter). */
        if (c != NULL && (out->protocol < c->min_version || out->protocol > c->max_version ||
                          !sr_in(c->suites, c->n_suites, out->suite) ||
                          (out->group != 0 && !sr_in(c->groups, c->n_groups, out->group)))) {
            const struct tw_group *g = tw_suites_group_find(out->group);

            out->ok = 0;
            snprintf(out->why, sizeof(out->why),
                     "the server chose %s, which the client did not offer",
                     out->protocol < c->min_version || out->protocol > c->max_version ? "a version"
                     : !sr_in(c->suites, c->n_suites, out->suite)                     ? "a suite"
                     : g != NULL                                                      ? g->name
                                                                                      : "a group");
        }
        return;
    }
    if (f->has_alert) {
        out->alert = f->alert_desc;
        snprintf(out->why, sizeof(out->why), "alert %s",
                 tw_classify_alert_name(f->alert_desc, name, sizeof(name)));
        return;
    }
    snprintf(out->why, sizeof(out->why), "%s", f->is_sslv2 ? "an SSLv2 answer" : "no ServerHello");
}

int
tw_simreal_agree(const struct tw_grec_sim *s, const struct tw_grec_real *r)
{
    /* Failures after the ServerHello: the handshake itself got that far. */
    static const char *const late[] = {"client_cert_required", "weak_key", "hostname_mismatch",
                                       "incomplete_chain"};
    int sim_hello = s->ok;

    if (!s->ok && s->cls != NULL)
        for (size_t i = 0; i < sizeof(late) / sizeof(late[0]); i++)
            if (strcmp(s->cls, late[i]) == 0)
                sim_hello = 1;
    if (!sim_hello || !r->ok)
        return !sim_hello && !r->ok;
    return s->protocol == r->protocol && s->suite == r->suite && s->group == r->group;
}

void
tw_simreal_judge(struct tw_grade_record *rec)
{
    for (int i = 0; i < rec->n_reals && i < TW_GREC_SIMS_MAX; i++)
        rec->reals[i].agrees = i < rec->n_sims && rec->reals[i].ran
                                   ? tw_simreal_agree(&rec->sims[i], &rec->reals[i])
                                   : -1;
}
