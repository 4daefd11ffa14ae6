/*
 * test_probe.c - the grading planner against simulated servers, the HTTP
 * head parser, and the grading input it builds.
 *
 * A simulated server reads the planner's real ClientHello bytes (a minimal
 * parser below: version, suites, supported_versions, supported_groups,
 * key_share) and answers with a struct tw_server_flight as the real parser
 * would fill it, following its configuration: protocols, suites in its
 * order, groups, server or client preference, and hostile variants.  The
 * expected connection counts are derived from that configuration with the
 * enumeration rule (accepted + 1 per protocol, one order check per protocol
 * with two or more suites, accepted + 1 per group phase, one HTTP).
 *
 * The STARTTLS runner tests drive the real grader (tw_grader_*) on an
 * ev_loop against a loopback server thread that answers every connection
 * with the lab's pure STARTTLS responders (lab/starttls_servers.h)
 * and then OpenSSL's server on the same socket: each protocol must reach
 * READY before every hello, no HTTP probe may run, and a dialogue that
 * fails must stop the grading without a grade.  The grader runs every
 * connection as a conn of scanner/conn.c (TW_CONN_RAW after the dialogue).
 *
 * The probe-kind table (scanner/probekind.h) is checked against the rules
 * the engine's switches used to spell out.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "scanner/hello.h"

#include "scanner/grader.h"
#include "scanner/probekind.h"
#include "scanner/gplan.h"
#include "scanner/vuln.h"
#include "tls/cbcrec.h"
#include "tls/grade.h"
#include "tls/mozilla.h"
#include "store/graderec.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "store/model.h"
#include "store/store.h"
#include "lab/starttls_servers.h"
#include "tests/unit/testcert.h"

/* ---- a minimal ClientHello reader (the test's own, not the product's) ---- */

struct chello {
    int is_v2;
    uint16_t legacy;
    uint16_t suites[TW_HELLO_MAX_SUITES];
    size_t n_suites;
    uint16_t versions[8]; /* supported_versions */
    size_t n_versions;
    uint16_t groups[64];
    size_t n_groups;
    int has_key_share;
    int x25519_share;
    int has_sni;
    int has_heartbeat;     /* extension 15 offered */
    int has_fallback_scsv; /* TLS_FALLBACK_SCSV among the suites */
    int trailing;          /* content type of a record after the hello, 0 = none */
    size_t trailing_len;   /* its length field */
    size_t sid_len;        /* the session ID's length ... */
    uint8_t sid0;          /* ... and its first byte */
    int has_ticket_ext;    /* session_ticket (35) offered ... */
    size_t ticket_len;     /* ... with a ticket of this length (0: empty) */
};

static uint16_t
rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void
chello_read(const uint8_t *b, size_t len, struct chello *c)
{
    size_t i, end, ext_end;

    memset(c, 0, sizeof(*c));
    assert_true(len > 9);
    if (b[0] & 0x80) {
        c->is_v2 = 1;
        return;
    }
    assert_int_equal(b[0], 22);
    assert_int_equal(b[5], 1); /* client_hello */
    i = 9;
    c->legacy = rd16(b + i);
    if ((size_t)rd16(b + 3) + 5 + 5 <= len) {
        c->trailing = b[rd16(b + 3) + 5];
        c->trailing_len = rd16(b + rd16(b + 3) + 5 + 3);
    }
    len = rd16(b + 3) + 5; /* the hello record alone */
    i += 2 + 32;
    c->sid_len = b[i];
    c->sid0 = b[i] > 0 ? b[i + 1] : 0;
    i += 1 + b[i]; /* session id */
    end = i + 2 + rd16(b + i);
    for (i += 2; i < end; i += 2) {
        c->suites[c->n_suites++] = rd16(b + i);
        if (rd16(b + i) == TW_SUITE_FALLBACK_SCSV)
            c->has_fallback_scsv = 1;
    }
    i += 1 + b[i]; /* compression */
    if (i >= len)
        return;
    ext_end = i + 2 + rd16(b + i);
    assert_true(ext_end <= len);
    for (i += 2; i + 4 <= ext_end;) {
        uint16_t type = rd16(b + i), el = rd16(b + i + 2);
        const uint8_t *d = b + i + 4;

        if (type == 0)
            c->has_sni = 1;
        if (type == 15)
            c->has_heartbeat = 1;
        if (type == 35) {
            c->has_ticket_ext = 1;
            c->ticket_len = el;
        }
        if (type == 43)
            for (size_t k = 1; k + 1 < (size_t)d[0] + 1; k += 2)
                c->versions[c->n_versions++] = rd16(d + k);
        if (type == 10)
            for (size_t k = 2; k < (size_t)rd16(d) + 2 && c->n_groups < 64; k += 2)
                c->groups[c->n_groups++] = rd16(d + k);
        if (type == 51) {
            c->has_key_share = 1;
            c->x25519_share = rd16(d) >= 36 && rd16(d + 2) == 29;
        }
        i += 4 + el;
    }
}

/* ---- simulated servers ---- */

struct fake {
    unsigned protos;  /* TW_PROTO_BIT set */
    uint16_t s12[16]; /* TLS 1.0-1.2 / SSLv3 suites, server order */
    size_t n12;
    uint16_t s13[5];
    size_t n13;
    uint16_t groups[16]; /* server order */
    size_t ngroups;
    int server_pref;
    int pick_unoffered; /* hostile: answer with a suite nobody offered */
    int accept_any;     /* hostile: take the first suite offered, whatever it is */
    int n_http;         /* HTTP steps seen */
    int n_conns;
    /* Issue 14's behaviours. */
    int heartbeat;        /* acknowledge the heartbeat extension */
    int heartbleed;       /* answer a heartbeat request with the claimed bytes */
    int ccs_vulnerable;   /* accept an early CCS, fail the next record (bad_record_mac) */
    int enforce_fallback; /* inappropriate_fallback to an SCSV hello below the best */
    int n_fallback, n_heartbleed, n_ccs; /* vulnerability probes seen */
    int no_reneg_info;  /* no renegotiation_info in the ServerHello (no RFC 5746) */
    int insecure_reneg; /* answer a client renegotiation with a new ServerHello */
    int n_reneg;        /* renegotiation probes seen */
    /* The answer to each CBC probe record, by enum tw_cbcrec_form (kind
     * TW_CBCREC_R_NONE: bad_record_mac, as a correct server answers). */
    struct tw_cbcrec_reaction cbc_react[5];
    int n_cbc;        /* CBC probe connections seen */
    int tickets;      /* acknowledge session_ticket, issue a ticket, resume it */
    int ticket_fails; /* ... but the ticket handshake fails */
    int ticketbleed;  /* resume with a 32-byte session ID (ours + "memory") */
    int tb_full_32;   /* hostile: decline the ticket with a fresh ID that starts with ours */
    int n_ticket_fetch, n_ticketbleed; /* ticket handshakes, resumption hellos seen */
};

static int
has16(const uint16_t *a, size_t n, uint16_t x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] == x)
            return 1;
    return 0;
}

static int
is_ecdhe(uint16_t s)
{
    return (s >= 0xc009 && s <= 0xc030) || s == 0xcca8 || s == 0xcca9;
}

/* The suite the server takes from what was offered (0 = none). */
static uint16_t
fake_pick(const struct fake *fs, const uint16_t *list, size_t n, const struct chello *c,
          uint16_t *group)
{
    *group = 0;
    for (size_t a = 0; a < (fs->server_pref ? n : c->n_suites); a++) {
        uint16_t s = fs->server_pref ? list[a] : c->suites[a];

        if (!has16(fs->server_pref ? c->suites : list, fs->server_pref ? c->n_suites : n, s))
            continue;
        if (is_ecdhe(s) || (s >= 0x1301 && s <= 0x1305)) {
            for (size_t g = 0; g < fs->ngroups; g++)
                if (has16(c->groups, c->n_groups, fs->groups[g])) {
                    *group = fs->groups[g];
                    break;
                }
            if (*group == 0)
                continue;
        }
        return s;
    }
    return 0;
}

static void
fake_answer(struct fake *fs, const struct chello *c, struct tw_server_flight *f, int *have)
{
    uint16_t v, s, g;

    memset(f, 0, sizeof(*f));
    *have = 0;
    fs->n_conns++;
    if (c->is_v2)
        return; /* SSLv2 hellos get silence (EOF) */
    if (fs->accept_any && c->n_suites > 0) {
        f->has_server_hello = 1;
        f->version = c->n_versions ? c->versions[0] : c->legacy;
        f->cipher_suite = c->suites[0];
        *have = 1;
        return;
    }
    if (c->n_versions > 0 && has16(c->versions, c->n_versions, TW_VERSION_TLS13) &&
        (fs->protos & TW_PROTO_BIT(TW_PROTO_TLS13))) {
        s = fake_pick(fs, fs->s13, fs->n13, c, &g);
        *have = 1;
        if (s == 0) {
            f->has_alert = f->is_alert_first = 1;
            f->alert_desc = 40;
            return;
        }
        f->has_server_hello = 1;
        f->version = TW_VERSION_TLS13;
        f->has_supported_versions = 1;
        f->cipher_suite = fs->pick_unoffered ? 0x13ff : s;
        f->has_key_share = 1;
        f->key_share_group = g;
        f->is_hrr = !(g == 29 && c->x25519_share);
        return;
    }
    v = c->n_versions > 0 ? 0 : c->legacy;
    *have = 1;
    if (v == 0 || tw_grade_proto_from_version(v) < 0 ||
        !(fs->protos & TW_PROTO_BIT(tw_grade_proto_from_version(v)))) {
        f->has_alert = f->is_alert_first = 1;
        f->alert_desc = 70;
        return;
    }
    if (c->has_fallback_scsv) {
        fs->n_fallback++;
        if (fs->enforce_fallback &&
            (fs->protos & ~((TW_PROTO_BIT(tw_grade_proto_from_version(v)) << 1) - 1))) {
            f->has_alert = f->is_alert_first = 1;
            f->alert_desc = 86;
            return;
        }
    }
    s = fake_pick(fs, fs->s12, fs->n12, c, &g);
    if (s == 0) {
        f->has_alert = f->is_alert_first = 1;
        f->alert_desc = 40;
        return;
    }
    f->has_session_ticket = c->has_ticket_ext && fs->tickets;
    if (c->has_ticket_ext && c->ticket_len > 0) {
        /* A resumption hello (Ticketbleed): ServerHello + CCS, no Certificate. */
        fs->n_ticketbleed++;
        assert_int_equal(c->sid_len, TW_VULN_TB_SID_LEN);
        assert_int_equal(c->ticket_len, 3);
        f->has_server_hello = 1;
        f->version = v;
        f->cipher_suite = s;
        f->has_reneg_info = !fs->no_reneg_info;
        f->session_id_len = fs->ticketbleed || fs->tb_full_32 ? 32 : (uint8_t)c->sid_len;
        f->session_id_first = c->sid0;
        if (fs->tb_full_32) {
            f->has_certificate = f->has_server_hello_done = 1;
            f->n_certs = 1;
        } else {
            f->has_ccs = 1;
        }
        return;
    }
    f->has_server_hello = 1;
    f->version = v;
    f->has_heartbeat = c->has_heartbeat && fs->heartbeat;
    f->cipher_suite = fs->pick_unoffered ? TW_SUITE_FALLBACK_SCSV : s;
    f->has_reneg_info = !fs->no_reneg_info;
    if (is_ecdhe(s)) {
        f->has_ske = 1;
        f->kx = TW_FLIGHT_KX_ECDHE;
        f->ecdh_group = g;
    } else if (s == 0x0033 || s == 0x009e) {
        f->has_ske = 1;
        f->kx = TW_FLIGHT_KX_DHE;
        f->dh_p_bits = 1024;
    }
    f->has_server_hello_done = 1;
}

/*
 * The bytes after the flight, for the vulnerability probes (issue 14): the
 * flight itself is stood for by one ServerHelloDone record (the planner
 * reads the parsed struct, vuln.c the records after the handshake ones).
 */
static void
fake_tail(struct fake *fs, const struct chello *c, const struct tw_server_flight *f, int have,
          uint8_t *tail, size_t *n)
{
    static const uint8_t shd[] = {22, 3, 3, 0, 4, 14, 0, 0, 0};

    *n = 0;
    if (!have || !f->has_server_hello || f->version == TW_VERSION_TLS13 || c->trailing == 0)
        return;
    memcpy(tail, shd, sizeof(shd));
    *n = sizeof(shd);
    if (c->trailing == 24) {
        fs->n_heartbleed++;
        assert_int_equal(c->trailing_len, 3); /* type + length, no payload sent */
        if (fs->heartbleed) {
            /* 3 + the 16 claimed bytes (over-read) + 16 padding. */
            uint8_t hb[5 + 35] = {24, 3, 3, 0, 35, 2, 0, 16};

            memset(hb + 8, 0xee, sizeof(hb) - 8); /* "memory" */
            memcpy(tail + *n, hb, sizeof(hb));
            *n += sizeof(hb);
        }
    } else if (c->trailing == 20) {
        uint8_t alert[] = {21, 3, 3, 0, 2, 2, 10};

        fs->n_ccs++;
        if (fs->ccs_vulnerable)
            alert[6] = 20; /* bad_record_mac: the second CCS failed under null keys */
        memcpy(tail + *n, alert, sizeof(alert));
        *n += sizeof(alert);
    }
}

/* Run a whole plan against a simulated server; returns the plan. */
static struct tw_gplan *
run_plan(struct fake *fs, int max_conns)
{
    struct tw_gplan *pl = tw_gplan_new("example.test", max_conns);
    uint8_t rnd[TW_PROBE_RANDOM_LEN];
    uint8_t *out = malloc(TW_HELLO_MAX_OUT);
    uint8_t tail[128];
    size_t n_tail = 0;
    int guard = 0;

    assert_non_null(out);
    memset(rnd, 0x5a, sizeof(rnd));
    for (;;) {
        size_t len = 0;
        enum tw_gstep st = tw_gplan_next(pl, rnd, out, TW_HELLO_MAX_OUT, &len);
        struct chello c;
        struct tw_server_flight f;
        int have;

        assert_true(++guard < 2000);
        if (st == TW_GSTEP_DONE)
            break;
        if (st == TW_GSTEP_HTTP) {
            fs->n_http++;
            fs->n_conns++;
            tw_gplan_feed_http(pl, NULL, 0);
            continue;
        }
        if (st == TW_GSTEP_CBC) {
            int form = tw_gplan_cbc_form(pl);
            struct tw_cbcrec_reaction r = {TW_CBCREC_R_ALERT, 20}; /* a correct server */

            fs->n_cbc++;
            fs->n_conns++;
            if (form >= 0 && form < 5 && fs->cbc_react[form].kind != TW_CBCREC_R_NONE)
                r = fs->cbc_react[form];
            tw_gplan_feed_cbc(pl, 1, &r);
            continue;
        }
        if (st == TW_GSTEP_TICKET) {
            static const uint8_t ticket[3] = {1, 2, 3}, none[1];

            assert_true(tw_gplan_ticket_version(pl) == TW_VERSION_TLS12);
            fs->n_ticket_fetch++;
            fs->n_conns++;
            if (fs->ticket_fails)
                tw_gplan_feed_ticket(pl, NULL, 0);
            else if (fs->tickets)
                tw_gplan_feed_ticket(pl, ticket, sizeof(ticket));
            else
                tw_gplan_feed_ticket(pl, none, 0);
            continue;
        }
        if (st == TW_GSTEP_RENEG) {
            assert_true(tw_gplan_reneg_version(pl) == TW_VERSION_TLS12);
            fs->n_reneg++;
            fs->n_conns++;
            tw_gplan_feed_reneg(pl, 1, fs->insecure_reneg ? 2 : 1, fs->insecure_reneg ? -1 : 100);
            continue;
        }
        assert_true(len > 0 && len <= TW_HELLO_MAX_OUT);
        chello_read(out, len, &c);
        if (!c.is_v2 && c.legacy != TW_VERSION_SSL3) /* SSLv3 hellos carry no extensions */
            assert_true(c.has_sni);
        fake_answer(fs, &c, &f, &have);
        fake_tail(fs, &c, &f, have, tail, &n_tail);
        tw_gplan_feed_hello(pl, have ? &f : NULL, n_tail > 0 ? tail : NULL, n_tail);
    }
    free(out);
    return pl;
}

static struct tw_result *
result_new(tw_issue_set issues)
{
    struct tw_result *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->issues = issues;
    return r;
}

/* The fake server fs planned (no connection cap) and graded on a fresh
 * result: the grade record; *pl and *r for graded_free. */
static struct tw_grade_record *
grade_fake(struct fake *fs, struct tw_gplan **pl, struct tw_result **r)
{
    *pl = run_plan(fs, 0);
    *r = result_new(0);
    return tw_gplan_grade(*pl, *r, NULL);
}

static void
graded_free(struct tw_grade_record *rec, struct tw_result *r, struct tw_gplan *pl)
{
    free(rec);
    tw_result_free(r);
    tw_gplan_free(pl);
}

/* Count of protocols probed: TLS 1.3 .. SSLv2. */
#define N_PROTOS 6

static void
test_modern_server_preference(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl;
    struct tw_result *r = result_new(0);
    struct tw_grade_record *rec;
    struct tw_grade_input in;
    int expect;
    size_t n_legacy = tw_suites_offer_legacy(NULL, 0);

    (void)state;
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13);
    fs.s12[0] = 0xc030; /* ECDHE-RSA-AES256-GCM */
    fs.s12[1] = 0xcca8; /* ECDHE-RSA-CHACHA20 */
    fs.s12[2] = 0xc02f; /* ECDHE-RSA-AES128-GCM */
    fs.n12 = 3;
    fs.s13[0] = 0x1302;
    fs.s13[1] = 0x1301;
    fs.n13 = 2;
    fs.groups[0] = 29;
    fs.groups[1] = 23;
    fs.groups[2] = 24;
    fs.ngroups = 3;
    fs.server_pref = 1;
    pl = run_plan(&fs, 0);

    /* TLS 1.3: n13 + 1 + order; TLS 1.2: n12 + 1 + order; four refused
     * protocols; TLS 1.3 groups: the first hello found one, the others are
     * found one each + 1; TLS 1.2 curves: all known, one refused hello; the
     * vulnerability probes that apply (issue 14): TLS_FALLBACK_SCSV (two
     * versions) and CCS injection (TLS 1.2), not Heartbleed (no heartbeat
     * extension); HTTP. */
    expect = (int)(fs.n13 + 2) + (int)(fs.n12 + 2) + (N_PROTOS - 2) + (int)(fs.ngroups - 1 + 1) +
             1 + 2 + 1;
    assert_int_equal(tw_gplan_connections(pl), expect);
    assert_int_equal(fs.n_conns, expect);
    assert_int_equal(fs.n_http, 1);
    /* Fewer than offering each suite alone on one protocol would need. */
    assert_true((size_t)expect < n_legacy);

    rec = tw_gplan_grade(pl, r, &in);
    assert_int_equal(rec->protocols_tested, (1u << N_PROTOS) - 1);
    assert_int_equal(rec->protocols_ok, fs.protos);
    assert_int_equal(rec->server_preference, fs.protos);
    assert_int_equal(rec->n_suites, (int)(fs.n12 + fs.n13));
    for (int i = 0; i < rec->n_suites; i++) {
        const struct tw_grec_suite *s = &rec->suites[i];
        const uint16_t *list = s->protocol == TW_VERSION_TLS13 ? fs.s13 : fs.s12;

        assert_true(s->pref_order >= 1);
        assert_int_equal(list[s->pref_order - 1], s->code); /* the server's order */
    }
    assert_int_equal(in.n_groups, fs.ngroups);
    for (size_t g = 0; g < fs.ngroups; g++)
        assert_true(has16(in.groups, in.n_groups, fs.groups[g]));
    assert_int_equal(in.n_suites, fs.n12 + fs.n13);
    assert_int_equal(rec->secure_reneg, 1);
    assert_int_equal(in.is_https, 0); /* no HTTP answer: not applicable */
    assert_string_equal(r->grade, rec->grade);
    assert_string_equal(rec->grade, "A"); /* no leaf given: K from the groups */
    free(rec);
    free(r);
    tw_gplan_free(pl);
}

static void
test_client_preference(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl;
    struct tw_result *r = result_new(0);
    struct tw_grade_record *rec;

    (void)state;
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12);
    fs.s12[0] = 0xc02f;
    fs.s12[1] = 0x009c; /* RSA-AES128-GCM */
    fs.s12[2] = 0x002f; /* RSA-AES128-SHA (CBC) */
    fs.s12[3] = 0x0033; /* DHE-RSA-AES128-SHA */
    fs.n12 = 4;
    fs.groups[0] = 23;
    fs.ngroups = 1;
    fs.server_pref = 0;
    pl = run_plan(&fs, 0);
    rec = tw_gplan_grade(pl, r, NULL);
    assert_int_equal(rec->server_preference, 0);
    assert_int_equal(rec->n_suites, 4);
    for (int i = 0; i < rec->n_suites; i++)
        assert_int_equal(rec->suites[i].pref_order, 0);
    /* The DHE suite's prime (1024 bits) is recorded as a group by size. */
    {
        int found = 0;

        for (int g = 0; g < rec->n_groups; g++)
            if (rec->groups[g].id == 0 && rec->groups[g].bits == 1024)
                found = 1;
        assert_true(found);
    }
    /* No TLS 1.3 and a 1024-bit DH group: B at best (dh_lt2048). */
    assert_string_equal(rec->grade, "B");
    free(rec);
    free(r);
    tw_gplan_free(pl);
}

/* Issue 13, MZ12: the main handshake's staple reaches the Mozilla verdicts
 * (tw_gplan_set_ocsp): not known by default (no warning), no staple warns
 * ocsp_staple in every profile, a staple clears it; it never fails one. */
static void
test_gplan_ocsp_staple(void **state)
{
    static const int stapled[] = {-2, 0, 1}; /* -2: leave the default */

    (void)state;
    for (size_t k = 0; k < sizeof(stapled) / sizeof(stapled[0]); k++) {
        struct fake fs = {0};
        struct tw_gplan *pl;
        struct tw_result *r = result_new(0);
        struct tw_grade_record *rec;

        fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12);
        fs.s12[0] = 0xc02f;
        fs.n12 = 1;
        fs.groups[0] = 23;
        fs.ngroups = 1;
        fs.server_pref = 1;
        pl = run_plan(&fs, 0);
        if (stapled[k] != -2)
            tw_gplan_set_ocsp(pl, stapled[k]);
        rec = tw_gplan_grade(pl, r, NULL);
        assert_int_equal(rec->has_compliance, 1);
        for (int p = 0; p < TW_MOZILLA__COUNT; p++) {
            assert_false(rec->compliance[p].failed & TW_MZ_BIT(TW_MZ_OCSP_STAPLE));
            assert_int_equal((rec->compliance[p].warned & TW_MZ_BIT(TW_MZ_OCSP_STAPLE)) != 0,
                             stapled[k] == 0);
        }
        free(rec);
        free(r);
        tw_gplan_free(pl);
    }
}

static void
test_hostile_unoffered_suite(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl;
    struct tw_result *r = result_new(0);
    struct tw_grade_record *rec;

    (void)state;
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13);
    fs.s12[0] = 0xc02f;
    fs.n12 = 1;
    fs.s13[0] = 0x1301;
    fs.n13 = 1;
    fs.groups[0] = 29;
    fs.ngroups = 1;
    fs.pick_unoffered = 1;
    pl = run_plan(&fs, 0);
    /* A choice that was not offered is a refusal: one hello per protocol,
     * no group phase (nothing accepted), HTTP. */
    assert_int_equal(tw_gplan_connections(pl), N_PROTOS + 1);
    rec = tw_gplan_grade(pl, r, NULL);
    assert_int_equal(rec->protocols_ok, 0);
    assert_int_equal(rec->n_suites, 0);
    assert_string_equal(rec->grade, ""); /* nothing to grade */
    assert_string_equal(r->grade, "");
    free(rec);
    free(r);
    tw_gplan_free(pl);
}

static void
test_budget_bounds_an_accept_all_server(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl;

    (void)state;
    fs.accept_any = 1;
    pl = run_plan(&fs, 40);
    assert_int_equal(tw_gplan_connections(pl), 40);
    assert_int_equal(fs.n_http, 1); /* the last connection is kept for HTTP */
    tw_gplan_free(pl);
}

static void
test_trust_and_name_overlay(void **state)
{
    struct fake fs = {0};
    struct {
        tw_issue_set issues;
        const char *grade;
        const char *reason;
    } cases[] = {
        {TW_ISSUE(TW_CLASS_CERT_EXPIRED), "T", "trust_expired"},
        {TW_ISSUE(TW_CLASS_SELF_SIGNED), "T", "trust_self_signed"},
        {TW_ISSUE(TW_CLASS_UNTRUSTED_ROOT), "T", "trust_untrusted"},
        {TW_ISSUE(TW_CLASS_INCOMPLETE_CHAIN), "T", "trust_chain_incomplete"},
        {TW_ISSUE(TW_CLASS_CERT_REVOKED), "T", "trust_revoked"},
        {TW_ISSUE(TW_CLASS_CERT_NOT_YET_VALID), "T", "trust_not_yet_valid"},
        {TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH), "M", "name_mismatch"},
        {TW_ISSUE(TW_CLASS_HOSTNAME_MISMATCH) | TW_ISSUE(TW_CLASS_CERT_EXPIRED), "T",
         "trust_expired"},
    };

    (void)state;
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13);
    fs.s12[0] = 0xc02f;
    fs.n12 = 1;
    fs.s13[0] = 0x1301;
    fs.n13 = 1;
    fs.groups[0] = 29;
    fs.ngroups = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tw_gplan *pl = run_plan(&fs, 0);
        struct tw_result *r = result_new(cases[i].issues);
        struct tw_grade_record *rec = tw_gplan_grade(pl, r, NULL);
        int found = 0;

        assert_string_equal(rec->grade, cases[i].grade);
        assert_string_equal(rec->grade_trust_ignored, "A");
        for (int k = 0; k < rec->n_reasons; k++)
            if (strcmp(rec->reasons[k].code, cases[i].reason) == 0)
                found = 1;
        assert_true(found);
        free(rec);
        free(r);
        tw_gplan_free(pl);
    }
}

static void
test_http_hsts(void **state)
{
    struct tw_grade_record rec;
    static const char ok[] = "HTTP/1.1 200 OK\r\nServer: x\r\n"
                             "strict-TRANSPORT-security:  max-age=31536000 ; IncludeSubDomains;"
                             " preload \r\nStrict-Transport-Security: max-age=0\r\n\r\n";
    static const char disabled[] =
        "HTTP/1.1 301 Moved\r\nStrict-Transport-Security: max-age=0\r\n\r\n";
    static const char invalid[] = "HTTP/1.0 200 OK\nStrict-Transport-Security: max-age=abc\n\n";
    static const char absent[] = "HTTP/1.1 404 Not Found\r\nX-Strict-Transport-Security: "
                                 "max-age=31536000\r\n\r\nStrict-Transport-Security: max-age=5\r\n";
    static const char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
    static const char bad_status[] = "HTTP/1.1 OK\r\nStrict-Transport-Security: max-age=9\r\n\r\n";

    (void)state;
    tw_probe_parse_http(ok, sizeof(ok) - 1, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_PRESENT);
    assert_int_equal(rec.hsts_max_age, 31536000);
    assert_int_equal(rec.hsts_include_subdomains, 1);
    assert_int_equal(rec.hsts_preload, 1);
    assert_string_equal(rec.hsts_header, "max-age=31536000 ; IncludeSubDomains; preload");

    tw_probe_parse_http(disabled, sizeof(disabled) - 1, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_DISABLED);
    assert_int_equal(rec.hsts_max_age, 0);
    tw_probe_parse_http(invalid, sizeof(invalid) - 1, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_INVALID);
    tw_probe_parse_http(absent, sizeof(absent) - 1, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_ABSENT); /* after the head does not count */
    assert_string_equal(rec.hsts_header, "");
    tw_probe_parse_http(ssh, sizeof(ssh) - 1, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_NOT_HTTP);
    tw_probe_parse_http(bad_status, sizeof(bad_status) - 1, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_NOT_HTTP);
    tw_probe_parse_http(NULL, 0, &rec);
    assert_int_equal(rec.hsts, TW_GREC_HSTS_NOT_HTTP);
}

static void
test_http_hostile_lengths(void **state)
{
    struct tw_grade_record rec;
    size_t n = 8192;
    char *buf = malloc(n);
    size_t k;

    (void)state;
    assert_non_null(buf);
    /* A header value far longer than kept: truncated, never overrun. */
    k = (size_t)snprintf(buf, n, "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=1;");
    memset(buf + k, 'x', n - k);
    tw_probe_parse_http(buf, n, &rec);
    assert_true(strlen(rec.hsts_header) < sizeof(rec.hsts_header));
    /* Every prefix of a valid head parses without reading past its length. */
    {
        static const char head[] =
            "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=99\r\n\r\n";

        for (size_t l = 0; l <= sizeof(head) - 1; l++) {
            char *cut = malloc(l + 1);

            assert_non_null(cut);
            memcpy(cut, head, l);
            tw_probe_parse_http(cut, l, &rec);
            free(cut);
        }
        assert_int_equal(rec.hsts, TW_GREC_HSTS_PRESENT);
    }
    free(buf);
}

static void
test_https_hsts_grades_a_plus(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl = tw_gplan_new(NULL, 0);
    uint8_t rnd[TW_PROBE_RANDOM_LEN] = {0};
    uint8_t *out = malloc(TW_HELLO_MAX_OUT);
    struct tw_result *r = result_new(0);
    struct tw_grade_record *rec;
    static const char resp[] =
        "HTTP/1.1 200 OK\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n";

    (void)state;
    assert_non_null(out);
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13);
    fs.s12[0] = 0xc02f;
    fs.n12 = 1;
    fs.s13[0] = 0x1301;
    fs.n13 = 1;
    fs.groups[0] = 29;
    fs.ngroups = 1;
    for (;;) {
        size_t len;
        enum tw_gstep st = tw_gplan_next(pl, rnd, out, TW_HELLO_MAX_OUT, &len);
        struct chello c;
        struct tw_server_flight f;
        int have;

        if (st == TW_GSTEP_DONE)
            break;
        if (st == TW_GSTEP_HTTP) {
            tw_gplan_feed_http(pl, resp, sizeof(resp) - 1);
            continue;
        }
        chello_read(out, len, &c);
        assert_false(c.has_sni); /* no name given: no server_name */
        fake_answer(&fs, &c, &f, &have);
        tw_gplan_feed_hello(pl, have ? &f : NULL, NULL, 0);
    }
    rec = tw_gplan_grade(pl, r, NULL);
    assert_string_equal(rec->grade, "A+");
    assert_int_equal(rec->hsts, TW_GREC_HSTS_PRESENT);
    assert_int_equal(rec->hsts_max_age, 31536000);
    free(rec);
    free(r);
    free(out);
    tw_gplan_free(pl);
}

static int64_t
db_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The record goes to the step-3 tables with its result, in one transaction;
 * an ungradable one keeps its evidence rows without a grades row. */
static void
test_store_roundtrip(void **state)
{
    char path[] = "/tmp/test_probe_XXXXXX";
    int fd = mkstemp(path);
    char err[TW_ERRLEN];
    struct tw_store *st = NULL;
    int64_t scan_id;
    struct fake modern = {0}, hostile = {0};
    struct tw_gplan *pl;
    struct tw_result *r1 = result_new(0), *r2 = result_new(0);
    sqlite3 *db;

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    assert_int_equal(tw_store_open(path, 0, &st, err), 0);
    assert_int_equal(tw_store_scan_begin(st, NULL, &scan_id, err), 0);

    modern.protos = TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13);
    modern.s12[0] = 0xc02f;
    modern.s12[1] = 0xc013; /* ECDHE-RSA-AES128-SHA (CBC) */
    modern.n12 = 2;
    modern.s13[0] = 0x1301;
    modern.n13 = 1;
    modern.groups[0] = 29;
    modern.ngroups = 1;
    modern.server_pref = 1;
    pl = run_plan(&modern, 0);
    r1->grading = tw_gplan_grade(pl, r1, NULL);
    r1->grading->connections = tw_gplan_connections(pl) + 1;
    tw_gplan_free(pl);
    tw_strlcpy(r1->host, "a.example", sizeof(r1->host));
    r1->port = 443;
    r1->cls = TW_CLASS_OK;

    hostile.protos = modern.protos;
    hostile.pick_unoffered = 1;
    hostile.s12[0] = 0xc02f;
    hostile.n12 = 1;
    pl = run_plan(&hostile, 0);
    r2->grading = tw_gplan_grade(pl, r2, NULL);
    tw_gplan_free(pl);
    tw_strlcpy(r2->host, "b.example", sizeof(r2->host));
    r2->port = 443;
    r2->cls = TW_CLASS_OK;

    assert_int_equal(tw_store_begin(st, err), 0);
    assert_int_equal(tw_store_put_result(st, scan_id, r1, err), 0);
    assert_int_equal(tw_store_put_result(st, scan_id, r2, err), 0);
    assert_int_equal(tw_store_commit(st, err), 0);
    db = tw_store_db(st);
    assert_int_equal(db_int(db, "select count(*) from grades"), 1);
    assert_int_equal(db_int(db, "select count(*) from results where grade is not null"), 1);
    assert_int_equal(db_int(db, "select count(*) from protocols"), 2 * 6);
    assert_int_equal(db_int(db, "select count(*) from protocols where accepted = 1"), 2);
    assert_int_equal(db_int(db, "select count(*) from results r join suites s on s.result_id = r.id"
                                " where s.protocol = 'TLSv1.2' and s.is_cbc = 1 and"
                                " s.name = 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA' and"
                                " r.host = 'a.example'"),
                     1);
    assert_int_equal(db_int(db, "select pref_order from suites where code = 49171"), 2);
    assert_int_equal(db_int(db, "select count(*) from groups where name = 'x25519' and bits = 255"),
                     1);
    assert_int_equal(db_int(db, "select connections from probe_stats p join results r on"
                                " r.id = p.result_id where r.host = 'a.example'"),
                     r1->grading->connections);
    assert_int_equal(db_int(db, "select count(*) from grade_reasons"), r1->grading->n_reasons);
    assert_int_equal(db_int(db, "select count(*) from hsts where status = 'not_http'"), 2);
    tw_result_free(r1);
    tw_result_free(r2);
    tw_store_close(st);
    unlink(path);
    {
        char side[sizeof(path) + 8];

        snprintf(side, sizeof(side), "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof(side), "%s-shm", path);
        unlink(side);
    }
}

/* ---- STARTTLS: the planner without HTTP ---- */

static void
test_no_http_plan(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl = tw_gplan_new("example.test", 0);
    uint8_t rnd[TW_PROBE_RANDOM_LEN];
    uint8_t *out = malloc(TW_HELLO_MAX_OUT);
    struct tw_result *r = result_new(0);
    struct tw_grade_record *rec;
    struct tw_grade_input in;
    int expect, hellos = 0, found = 0;

    (void)state;
    assert_non_null(out);
    memset(rnd, 0x33, sizeof(rnd));
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13);
    fs.s12[0] = 0xc02f;
    fs.s12[1] = 0xc030;
    fs.n12 = 2;
    fs.s13[0] = 0x1301;
    fs.n13 = 1;
    fs.groups[0] = 29;
    fs.groups[1] = 23;
    fs.ngroups = 2;
    fs.server_pref = 1;
    tw_gplan_no_http(pl);
    for (;;) {
        size_t len = 0;
        enum tw_gstep st = tw_gplan_next(pl, rnd, out, TW_HELLO_MAX_OUT, &len);
        struct chello c;
        struct tw_server_flight f;
        int have;

        assert_true(hellos < 2000);
        if (st == TW_GSTEP_DONE)
            break;
        assert_int_equal(st, TW_GSTEP_HELLO); /* never HTTP */
        hellos++;
        chello_read(out, len, &c);
        fake_answer(&fs, &c, &f, &have);
        tw_gplan_feed_hello(pl, have ? &f : NULL, NULL, 0);
    }
    /* The enumeration rule of test_modern_server_preference without its HTTP
     * connection: TLS 1.3 n13 + 1 (one suite: no order check), TLS 1.2
     * n12 + 1 + order, four refused protocols, TLS 1.3 groups (one found by
     * the first hello, the other + 1), TLS 1.2 curves (all known: one), the
     * fallback and CCS probes (issue 14). */
    expect =
        (int)(fs.n13 + 1) + (int)(fs.n12 + 2) + (N_PROTOS - 2) + (int)(fs.ngroups - 1 + 1) + 1 + 2;
    assert_int_equal(hellos, expect);
    assert_int_equal(tw_gplan_connections(pl), expect);
    assert_int_equal(fs.n_conns, expect);
    rec = tw_gplan_grade(pl, r, &in);
    assert_int_equal(in.is_https, 0);
    assert_int_equal(in.hsts, TW_HSTS_NOT_APPLICABLE);
    assert_int_equal(rec->hsts, TW_GREC_HSTS_NOT_HTTP); /* stored as not_http */
    for (int k = 0; k < rec->n_reasons; k++)
        if (strcmp(rec->reasons[k].code, "hsts_not_applicable") == 0)
            found = 1;
    assert_true(found);
    assert_string_equal(rec->grade, "A"); /* V61: A is the ceiling without HTTP */
    free(rec);
    free(r);
    free(out);
    tw_gplan_free(pl);
}

static void
test_no_http_budget(void **state)
{
    struct fake fs = {0};
    struct tw_gplan *pl = tw_gplan_new("example.test", 40);
    uint8_t rnd[TW_PROBE_RANDOM_LEN] = {0};
    uint8_t *out = malloc(TW_HELLO_MAX_OUT);
    int n = 0;

    (void)state;
    assert_non_null(out);
    fs.accept_any = 1;
    tw_gplan_no_http(pl);
    for (;;) {
        size_t len = 0;
        enum tw_gstep st = tw_gplan_next(pl, rnd, out, TW_HELLO_MAX_OUT, &len);
        struct chello c;
        struct tw_server_flight f;
        int have;

        if (st == TW_GSTEP_DONE)
            break;
        assert_int_equal(st, TW_GSTEP_HELLO);
        assert_true(++n <= 40);
        chello_read(out, len, &c);
        fake_answer(&fs, &c, &f, &have);
        tw_gplan_feed_hello(pl, have ? &f : NULL, NULL, 0);
    }
    /* No connection is kept back for HTTP: the whole budget goes to hellos. */
    assert_int_equal(n, 40);
    assert_int_equal(tw_gplan_connections(pl), 40);
    free(out);
    tw_gplan_free(pl);
}

/* ---- STARTTLS: the runner against a loopback server ---- */

struct stls_srv {
    int lfd;
    struct sockaddr_in sa;
    enum tw_lab_starttls_kind kind;
    int refuse_after; /* > 0: connections after this many get the 454 variant */
    int stall;        /* accept, read, never answer */
    SSL_CTX *ctx;
    int stop; /* __atomic */
    pthread_t th;
    /* Written by the server thread, read after the join. */
    int accepted, upgraded, hellos, completed;
};

static void
stls_flush(int fd, struct tw_lab_starttls *r)
{
    const uint8_t *p;
    size_t n;

    while (tw_lab_starttls_output(r, &p, &n)) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

        if (w <= 0)
            return;
        tw_lab_starttls_sent(r, (size_t)w);
    }
}

static void
stls_serve_one(struct stls_srv *s, int fd)
{
    struct tw_lab_starttls *r = malloc(sizeof(*r));
    struct timeval tv = {2, 0};
    uint8_t buf[1024];
    int v = TW_LAB_STLS_CONTINUE;
    ssize_t n;

    assert_non_null(r);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (s->stall) {
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            ;
        goto out;
    }
    tw_lab_starttls_init(r, s->refuse_after > 0 && s->accepted > s->refuse_after
                                ? TW_LAB_STLS_SMTP_REFUSED
                                : s->kind);
    for (;;) {
        stls_flush(fd, r);
        if (v != TW_LAB_STLS_CONTINUE)
            break;
        n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            goto out;
        v = tw_lab_starttls_input(r, buf, (size_t)n);
    }
    if (v == TW_LAB_STLS_UPGRADE) {
        SSL *ssl;

        s->upgraded++;
        /* The first byte after the go-ahead: a TLS handshake record or an
         * SSLv2-style hello, never plaintext. */
        if (recv(fd, buf, 1, MSG_PEEK) == 1 && (buf[0] == 0x16 || (buf[0] & 0x80)))
            s->hellos++;
        ssl = SSL_new(s->ctx);
        if (ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1)
            s->completed++; /* only an HTTP probe would complete one */
        SSL_free(ssl);
    }
out:
    free(r);
    close(fd);
}

static void *
stls_main(void *arg)
{
    struct stls_srv *s = arg;

    while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
        struct pollfd pfd = {s->lfd, POLLIN, 0};
        int fd;

        if (poll(&pfd, 1, 50) <= 0)
            continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        s->accepted++;
        stls_serve_one(s, fd);
    }
    return NULL;
}

/* A self-signed P-256 certificate; TLS 1.2 + 1.3, ECDHE AES-GCM only. */
static SSL_CTX *
stls_ctx(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = tx_self_signed(k, "example.test", -3600, 86400);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    assert_non_null(k);
    assert_non_null(x);
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION), 1);
    assert_int_equal(SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM"), 1);
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k), 1);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    X509_free(x);
    EVP_PKEY_free(k);
    return ctx;
}

static void
stls_start(struct stls_srv *s, SSL_CTX *ctx)
{
    socklen_t sl = sizeof(s->sa);

    s->ctx = ctx;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    memset(&s->sa, 0, sizeof(s->sa));
    s->sa.sin_family = AF_INET;
    s->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&s->sa, sizeof(s->sa)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&s->sa, &sl), 0);
    assert_int_equal(pthread_create(&s->th, NULL, stls_main, s), 0);
}

static void
stls_stop(struct stls_srv *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELAXED);
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static void
stls_conn_done(void *arg)
{
    *(int *)arg = 1;
}

/* Run a grader to its end on its own loop; returns tw_grader_finish(). */
static int
stls_grade(struct stls_srv *s, enum tw_starttls_proto proto, double timeout, struct tw_result *r,
           int *conns, char *err, size_t errlen)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct tw_conn_pool *pool;
    struct tw_grader_params gp;
    struct tw_grader *g;
    int rc, guard = 0;

    assert_non_null(loop);
    pool = tw_conn_pool_new(loop);
    memset(&gp, 0, sizeof(gp));
    gp.loop = loop;
    gp.pool = pool;
    gp.sa = (const struct sockaddr *)&s->sa;
    gp.salen = sizeof(s->sa);
    gp.tls = NULL; /* no HTTP probe may run: it would need the contexts */
    gp.sni = "example.test";
    gp.host_header = "example.test";
    gp.connect_timeout = 2.0;
    gp.handshake_timeout = timeout;
    gp.starttls = proto;
    gp.starttls_host = "example.test";
    g = tw_grader_new(&gp);
    while (tw_grader_pending(g)) {
        int done = 0;

        assert_true(++guard <= TW_PROBE_MAX_CONNS);
        assert_int_equal(tw_grader_start(g, stls_conn_done, &done), 0);
        while (!done)
            ev_run(loop, EVRUN_ONCE);
    }
    *conns = tw_grader_connections(g);
    rc = tw_grader_finish(g, r, *conns + 1);
    tw_strlcpy(err, tw_grader_error(g), errlen);
    tw_grader_free(g);
    tw_conn_pool_free(pool);
    ev_loop_destroy(loop);
    return rc;
}

static void
test_starttls_runner_every_protocol(void **state)
{
    static const struct {
        enum tw_lab_starttls_kind kind;
        enum tw_starttls_proto proto;
    } cases[] = {
        {TW_LAB_STLS_SMTP, TW_STARTTLS_SMTP},         {TW_LAB_STLS_IMAP, TW_STARTTLS_IMAP},
        {TW_LAB_STLS_POP3, TW_STARTTLS_POP3},         {TW_LAB_STLS_FTP, TW_STARTTLS_FTP},
        {TW_LAB_STLS_XMPP, TW_STARTTLS_XMPP},         {TW_LAB_STLS_LDAP, TW_STARTTLS_LDAP},
        {TW_LAB_STLS_POSTGRES, TW_STARTTLS_POSTGRES},
    };
    SSL_CTX *ctx = stls_ctx();

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stls_srv s;
        struct tw_result *r = result_new(0);
        char err[256];
        int conns = 0, found = 0;

        memset(&s, 0, sizeof(s));
        s.kind = cases[i].kind;
        stls_start(&s, ctx);
        assert_int_equal(stls_grade(&s, cases[i].proto, 3.0, r, &conns, err, sizeof(err)), 0);
        stls_stop(&s);
        assert_string_equal(err, "");
        /* Every grading connection spoke the dialogue up to READY and then
         * sent a hello; none completed a handshake (no HTTP probe). */
        assert_int_equal(s.accepted, conns);
        assert_int_equal(s.upgraded, conns);
        assert_int_equal(s.hellos, conns);
        assert_int_equal(s.completed, 0);
        assert_non_null(r->grading);
        assert_int_equal(r->grading->grading_connections, conns);
        assert_int_equal(r->grading->connections, conns + 1);
        /* What the server runs: TLS 1.2 + 1.3 ... */
        assert_int_equal(r->grading->protocols_ok,
                         TW_PROTO_BIT(TW_PROTO_TLS12) | TW_PROTO_BIT(TW_PROTO_TLS13));
        assert_int_equal(r->grading->protocols_tested, (1u << N_PROTOS) - 1);
        /* ... ECDHE-ECDSA AES-128/256-GCM on TLS 1.2 (both enumerated) ... */
        for (int k = 0; k < r->grading->n_suites; k++)
            if (r->grading->suites[k].protocol == TW_VERSION_TLS12)
                found |= r->grading->suites[k].code == 0xc02b   ? 1
                         : r->grading->suites[k].code == 0xc02c ? 2
                                                                : 4;
        assert_int_equal(found, 3);
        /* ... P = 100, K = 90 (P-256 leaf from the TLS 1.2 flight, and the
         * groups), C = (80 + 100) / 2 = 90: 93 -> A; not HTTP: A. */
        assert_int_equal(r->grading->hsts, TW_GREC_HSTS_NOT_HTTP);
        assert_string_equal(r->grade, "A");
        tw_result_free(r);
    }
    SSL_CTX_free(ctx);
}

static void
test_starttls_runner_dialogue_failure_stops(void **state)
{
    SSL_CTX *ctx = stls_ctx();
    struct stls_srv s;
    struct tw_result *r = result_new(0);
    char err[256];
    int conns = 0;

    (void)state;
    /* The server refuses STARTTLS from the fourth connection on: three hellos
     * were answered, the fourth was never sent.  No grade, no record (three
     * answers would grade protocols never asked), and the error says where. */
    memset(&s, 0, sizeof(s));
    s.kind = TW_LAB_STLS_SMTP;
    s.refuse_after = 3;
    stls_start(&s, ctx);
    assert_int_equal(stls_grade(&s, TW_STARTTLS_SMTP, 3.0, r, &conns, err, sizeof(err)), -1);
    stls_stop(&s);
    assert_int_equal(conns, 4);
    assert_int_equal(s.accepted, 4);
    assert_int_equal(s.upgraded, 3);
    assert_null(r->grading);
    assert_string_equal(r->grade, "");
    assert_non_null(strstr(err, "smtp dialogue failed on grading connection 4: refused"));
    tw_result_free(r);

    /* A server that never greets: the dialogue's deadline stops the grading
     * after one connection. */
    r = result_new(0);
    memset(&s, 0, sizeof(s));
    s.stall = 1;
    stls_start(&s, ctx);
    assert_int_equal(stls_grade(&s, TW_STARTTLS_IMAP, 0.2, r, &conns, err, sizeof(err)), -1);
    stls_stop(&s);
    assert_int_equal(conns, 1);
    assert_int_equal(s.accepted, 1);
    assert_null(r->grading);
    assert_non_null(strstr(err, "imap dialogue failed on grading connection 1: timed out"));
    tw_result_free(r);
    SSL_CTX_free(ctx);
}

/* Nothing listens: a STARTTLS grading stops at the connect (no dialogue). */
static void
test_starttls_runner_connect_refused(void **state)
{
    struct stls_srv s;
    struct tw_result *r = result_new(0);
    char err[256];
    int conns = 0;
    socklen_t sl = sizeof(s.sa);

    (void)state;
    memset(&s, 0, sizeof(s));
    /* A port that was just free: bound, then closed without listening. */
    s.lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s.lfd >= 0);
    s.sa.sin_family = AF_INET;
    s.sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s.lfd, (struct sockaddr *)&s.sa, sizeof(s.sa)), 0);
    assert_int_equal(getsockname(s.lfd, (struct sockaddr *)&s.sa, &sl), 0);
    close(s.lfd);
    assert_int_equal(stls_grade(&s, TW_STARTTLS_POSTGRES, 1.0, r, &conns, err, sizeof(err)), -1);
    assert_int_equal(conns, 1);
    assert_null(r->grading);
    assert_non_null(strstr(err, "postgres dialogue failed on grading connection 1"));
    tw_result_free(r);
}

/* The probe-kind table (probekind.h) says what the switches of the engine
 * used to: the names in details, the SNI rule of each kind, and which
 * kind's settings the grading HTTP connection uses. */
static void
test_probe_kind_table(void **state)
{
    static const char *const names[TW_PK__COUNT] = {
        "main", "no_sni", "with_sni", "tls10", "tls11", "tls12", "tls13", "all_ciphers", "modern",
    };

    (void)state;
    for (int k = 0; k < TW_PK__COUNT; k++) {
        const struct tw_probe_kind_info *pk = tw_probe_kind_info(k);

        assert_non_null(pk);
        assert_string_equal(tw_probe_kind_name(k), names[k]);
        assert_int_equal(pk->status_request, k == TW_PK_MAIN);
        assert_int_equal(pk->ctx, k == TW_PK_ALL_CIPHERS ? TW_PK_CTX_ALL
                                  : k == TW_PK_MODERN    ? TW_PK_CTX_MODERN
                                                         : TW_PK_CTX_BROAD);
        /* One version, or the context's range; MODERN: TLS 1.2-1.3 (issue 13). */
        if (k == TW_PK_MODERN) {
            assert_int_equal(pk->min_version, TLS1_2_VERSION);
            assert_int_equal(pk->max_version, TLS1_3_VERSION);
        } else {
            assert_int_equal(pk->min_version, pk->max_version);
        }
        /* MAIN, NO_SNI, WITH_SNI: the broad context without status_request. */
        assert_int_equal(pk->grade_http_kind,
                         k == TW_PK_MAIN || k == TW_PK_NO_SNI ? TW_PK_WITH_SNI : k);
    }
    assert_null(tw_probe_kind_info(-1));
    assert_null(tw_probe_kind_info(TW_PK__COUNT));
    assert_string_equal(tw_probe_kind_name(TW_PK__COUNT), "?");
    assert_int_equal(tw_probe_kind_info(TW_PK_TLS12)->max_version, TLS1_2_VERSION);
    assert_int_equal(tw_probe_kind_info(TW_PK_MAIN)->max_version, 0);

    /* A name target with an SNI field, a name target without one (it sends
     * its own name as SNI), an address target without SNI. */
    assert_string_equal(tw_probe_kind_sni(TW_PK_MAIN, "sni.test", "host.test"), "sni.test");
    assert_null(tw_probe_kind_sni(TW_PK_NO_SNI, "sni.test", "host.test"));
    assert_string_equal(tw_probe_kind_sni(TW_PK_WITH_SNI, "sni.test", "host.test"), "host.test");
    assert_string_equal(tw_probe_kind_sni(TW_PK_TLS13, "sni.test", "host.test"), "sni.test");
    assert_null(tw_probe_kind_sni(TW_PK_MAIN, NULL, "host.test"));
    assert_string_equal(tw_probe_kind_sni(TW_PK_NO_SNI, NULL, "host.test"), "host.test");
    assert_null(tw_probe_kind_sni(TW_PK_NO_SNI, NULL, NULL));
    assert_null(tw_probe_kind_sni(TW_PK_WITH_SNI, NULL, NULL));
    assert_string_equal(tw_probe_kind_sni(TW_PK_WITH_SNI, "sni.test", NULL), "sni.test");
}

/* Issue 14: the grading deadline follows the endpoint's own handshake time,
 * within --handshake-timeout. */
static void
test_grader_timeout_derivation(void **state)
{
    (void)state;
    /* A fast endpoint keeps --probe-timeout. */
    assert_true(tw_grader_timeout(3.0, 0.05, 10.0) == 3.0);
    assert_true(tw_grader_timeout(3.0, 1.5, 10.0) == 3.0);
    /* Unknown time (0): the probe timeout alone. */
    assert_true(tw_grader_timeout(3.0, 0.0, 10.0) == 3.0);
    /* A 4 s handshake: 8 s, under the 10 s cap. */
    assert_true(tw_grader_timeout(3.0, 4.0, 10.0) == 8.0);
    /* A 7 s handshake (the issue's case): twice is 14, capped at 10. */
    assert_true(tw_grader_timeout(3.0, 7.0, 10.0) == 10.0);
    /* A 4 s handshake under a 6 s handshake timeout: the cap, 6. */
    assert_true(tw_grader_timeout(3.0, 4.0, 6.0) == 6.0);
    /* An explicit probe timeout above the cap is never lowered. */
    assert_true(tw_grader_timeout(20.0, 7.0, 10.0) == 20.0);
    /* Unset values take the defaults (10 s handshake timeout). */
    assert_true(tw_grader_timeout(0.0, 0.0, 0.0) == 10.0);
    assert_true(tw_grader_timeout(3.0, 30.0, 0.0) == 10.0);
}

/* The vulns row called name of rec (fails the test when missing). */
static const struct tw_grec_vuln *
vuln_row(const struct tw_grade_record *rec, const char *name)
{
    for (int i = 0; i < rec->n_vulns; i++)
        if (strcmp(rec->vulns[i].name, name) == 0)
            return &rec->vulns[i];
    fail_msg("no vulns row %s", name);
    return NULL;
}

static int
has_reason(const struct tw_grade_record *rec, const char *code)
{
    for (int i = 0; i < rec->n_reasons; i++)
        if (strcmp(rec->reasons[i].code, code) == 0)
            return 1;
    return 0;
}

/* A B0-like server (TLS 1.2 + 1.3, ECDHE-RSA AEAD suites, X25519 + P-256). */
static void
fake_b0(struct fake *fs, int tls13)
{
    memset(fs, 0, sizeof(*fs));
    fs->protos = TW_PROTO_BIT(TW_PROTO_TLS12) | (tls13 ? TW_PROTO_BIT(TW_PROTO_TLS13) : 0);
    fs->s12[0] = 0xc02f;
    fs->s12[1] = 0xc030;
    fs->n12 = 2;
    fs->s13[0] = 0x1301;
    fs->n13 = tls13 ? 1 : 0;
    fs->groups[0] = 29;
    fs->groups[1] = 23;
    fs->ngroups = 2;
}

/*
 * Issue 14: each vulnerability probe runs only where its precondition holds,
 * its verdict comes from the server's answer, and its grade effect follows
 * grading.md (Heartbleed C17 F, CCS C18 F; TLS_FALLBACK_SCSV no effect, C43).
 */
static void
test_vuln_probes(void **state)
{
    struct fake fs;
    struct tw_gplan *pl;
    struct tw_result *r;
    struct tw_grade_record *rec;
    int base;

    (void)state;
    /* A fixed server: the SCSV is enforced, no heartbeat, early CCS refused. */
    fake_b0(&fs, 1);
    fs.enforce_fallback = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_fallback, 1);
    assert_int_equal(fs.n_ccs, 1);
    assert_int_equal(fs.n_heartbleed, 0); /* no heartbeat extension: not run */
    base = tw_gplan_connections(pl) - 2;
    assert_int_equal(vuln_row(rec, "no_fallback_scsv")->tested, 1);
    assert_int_equal(vuln_row(rec, "no_fallback_scsv")->vulnerable, 0);
    assert_non_null(strstr(vuln_row(rec, "no_fallback_scsv")->detail, "inappropriate_fallback"));
    assert_int_equal(vuln_row(rec, "heartbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "heartbleed")->vulnerable, 0);
    assert_int_equal(vuln_row(rec, "heartbeat_extension")->vulnerable, 0);
    assert_int_equal(vuln_row(rec, "ccs_injection")->tested, 1);
    assert_int_equal(vuln_row(rec, "ccs_injection")->vulnerable, 0);
    assert_non_null(strstr(vuln_row(rec, "ccs_injection")->detail, "unexpected_message"));
    assert_int_equal(vuln_row(rec, "compression")->tested, 1);
    assert_int_equal(vuln_row(rec, "compression")->vulnerable, 0);
    assert_int_equal(vuln_row(rec, "no_secure_renegotiation")->vulnerable, 0);
    assert_int_equal(vuln_row(rec, "insecure_renegotiation")->tested, 0);
    assert_string_equal(rec->grade, "A");
    graded_free(rec, r, pl);

    /* The same server without the SCSV check: recorded, no grade effect. */
    fake_b0(&fs, 1);
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(tw_gplan_connections(pl), base + 2);
    assert_int_equal(vuln_row(rec, "no_fallback_scsv")->vulnerable, 1);
    assert_string_equal(rec->grade, "A");
    graded_free(rec, r, pl);

    /* Heartbleed: TLS 1.2 only (no fallback: one version), the heartbeat
     * extension acknowledged, the over-read answered.  One more connection. */
    fake_b0(&fs, 0);
    fs.heartbeat = fs.heartbleed = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_fallback, 0);
    assert_int_equal(fs.n_heartbleed, 1);
    assert_int_equal(fs.n_ccs, 1);
    assert_int_equal(vuln_row(rec, "no_fallback_scsv")->tested, 0);
    assert_int_equal(vuln_row(rec, "heartbeat_extension")->vulnerable, 1);
    assert_int_equal(vuln_row(rec, "heartbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "heartbleed")->vulnerable, 1);
    assert_non_null(strstr(vuln_row(rec, "heartbleed")->detail, "35-byte heartbeat answer"));
    assert_int_equal(vuln_row(rec, "ccs_injection")->vulnerable, 0);
    assert_string_equal(rec->grade, "F");
    assert_true(has_reason(rec, "heartbleed"));
    graded_free(rec, r, pl);

    /* Heartbeat without the bug: the malformed request gets no answer. */
    fake_b0(&fs, 0);
    fs.heartbeat = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_heartbleed, 1);
    assert_int_equal(vuln_row(rec, "heartbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "heartbleed")->vulnerable, 0);
    assert_false(has_reason(rec, "heartbleed"));
    graded_free(rec, r, pl);

    /* CCS injection: the early CCS accepted, the next record fails. */
    fake_b0(&fs, 1);
    fs.enforce_fallback = 1;
    fs.ccs_vulnerable = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(vuln_row(rec, "ccs_injection")->vulnerable, 1);
    assert_non_null(strstr(vuln_row(rec, "ccs_injection")->detail, "CVE-2014-0224"));
    assert_string_equal(rec->grade, "F");
    assert_true(has_reason(rec, "ccs_injection"));
    graded_free(rec, r, pl);

    /* TLS 1.3 only: no probe applies, no extra connection. */
    memset(&fs, 0, sizeof(fs));
    fs.protos = TW_PROTO_BIT(TW_PROTO_TLS13);
    fs.s13[0] = 0x1301;
    fs.n13 = 1;
    fs.groups[0] = 29;
    fs.ngroups = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_fallback + fs.n_heartbleed + fs.n_ccs, 0);
    for (int i = 0; i < rec->n_vulns; i++) {
        assert_int_equal(rec->vulns[i].tested, 0);
        assert_int_equal(rec->vulns[i].vulnerable, 0);
    }
    assert_string_equal(rec->grade, "A");
    graded_free(rec, r, pl);
}

/*
 * Issue 14 (second session): the rows the enumeration alone decides (Logjam,
 * FREAK, Sweet32, BEAST) and the 0-RTT row of the HTTP step.  None costs a
 * connection; their grade effects are grade.c's caps on the same evidence.
 */
static void
test_vuln_enum_rows(void **state)
{
    struct fake fs;
    struct tw_gplan *pl;
    struct tw_result *r;
    struct tw_grade_record *rec;
    int conns;

    (void)state;
    /* A clean B0 server: every row tested, none fires; 0-RTT not tested
     * until the HTTP step tells. */
    fake_b0(&fs, 1);
    fs.enforce_fallback = 1;
    pl = run_plan(&fs, 0);
    conns = tw_gplan_connections(pl);
    r = result_new(0);
    rec = tw_gplan_grade(pl, r, NULL);
    assert_int_equal(tw_gplan_connections(pl), conns);
    for (int i = 0; i < 4; i++) {
        static const char *const names[] = {"logjam", "freak", "sweet32", "beast"};

        assert_int_equal(vuln_row(rec, names[i])->tested, 1);
        assert_int_equal(vuln_row(rec, names[i])->vulnerable, 0);
    }
    assert_int_equal(vuln_row(rec, "early_data")->tested, 0);
    assert_string_equal(rec->grade, "A");
    free(rec);
    tw_result_free(r);

    /* The same server's TLS 1.3 ticket allows early data: a note, still A. */
    tw_gplan_feed_early_data(pl, 1, 16384);
    r = result_new(0);
    rec = tw_gplan_grade(pl, r, NULL);
    assert_int_equal(vuln_row(rec, "early_data")->tested, 1);
    assert_int_equal(vuln_row(rec, "early_data")->vulnerable, 1);
    assert_non_null(strstr(vuln_row(rec, "early_data")->detail, "16384"));
    assert_string_equal(rec->grade, "A");
    free(rec);
    tw_result_free(r);
    /* A ticket without early data, and no ticket: tested, not vulnerable. */
    tw_gplan_feed_early_data(pl, 1, 0);
    r = result_new(0);
    rec = tw_gplan_grade(pl, r, NULL);
    assert_int_equal(vuln_row(rec, "early_data")->tested, 1);
    assert_int_equal(vuln_row(rec, "early_data")->vulnerable, 0);
    graded_free(rec, r, pl);

    /* 3DES on TLS 1.2 and TLS 1.0: Sweet32 (C33 caps C), BEAST (a note). */
    fake_b0(&fs, 1);
    fs.protos |= TW_PROTO_BIT(TW_PROTO_TLS10);
    fs.s12[2] = 0x000a;
    fs.n12 = 3;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(vuln_row(rec, "sweet32")->vulnerable, 1);
    assert_non_null(strstr(vuln_row(rec, "sweet32")->detail, "TLS 1.2"));
    assert_int_equal(vuln_row(rec, "beast")->vulnerable, 1);
    assert_int_equal(vuln_row(rec, "freak")->vulnerable, 0);
    assert_int_equal(vuln_row(rec, "logjam")->vulnerable, 0);
    assert_true(has_reason(rec, "3des_tls11plus"));
    graded_free(rec, r, pl);

    /* An RSA export suite: FREAK, F. */
    fake_b0(&fs, 0);
    fs.protos |= TW_PROTO_BIT(TW_PROTO_TLS10);
    fs.s12[2] = 0x0003;
    fs.n12 = 3;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(vuln_row(rec, "freak")->vulnerable, 1);
    assert_int_equal(vuln_row(rec, "early_data")->tested, 0);
    assert_string_equal(rec->grade, "F");
    graded_free(rec, r, pl);
}

/*
 * Issue 14: the insecure renegotiation probe runs only on a TLS <= 1.2
 * server without RFC 5746, costs one connection there, and a new ServerHello
 * to our renegotiation hello is F (C06); a refusal is tested, not vulnerable.
 */
static void
test_vuln_reneg(void **state)
{
    struct fake fs;
    struct tw_gplan *pl;
    struct tw_result *r;
    struct tw_grade_record *rec;

    (void)state;
    /* RFC 5746 supported: no probe, not tested. */
    fake_b0(&fs, 1);
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_reneg, 0);
    assert_int_equal(vuln_row(rec, "insecure_renegotiation")->tested, 0);
    graded_free(rec, r, pl);

    /* No RFC 5746, renegotiation refused (no_renegotiation): A- (C13). */
    fake_b0(&fs, 1);
    fs.no_reneg_info = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_reneg, 1);
    assert_int_equal(vuln_row(rec, "insecure_renegotiation")->tested, 1);
    assert_int_equal(vuln_row(rec, "insecure_renegotiation")->vulnerable, 0);
    assert_non_null(strstr(vuln_row(rec, "insecure_renegotiation")->detail, "no_renegotiation"));
    assert_int_equal(vuln_row(rec, "no_secure_renegotiation")->vulnerable, 1);
    assert_string_equal(rec->grade, "A-");
    assert_false(has_reason(rec, "insecure_reneg"));
    graded_free(rec, r, pl);

    /* No RFC 5746, renegotiation accepted: F (C06). */
    fake_b0(&fs, 1);
    fs.no_reneg_info = 1;
    fs.insecure_reneg = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_reneg, 1);
    assert_int_equal(vuln_row(rec, "insecure_renegotiation")->tested, 1);
    assert_int_equal(vuln_row(rec, "insecure_renegotiation")->vulnerable, 1);
    assert_string_equal(rec->grade, "F");
    graded_free(rec, r, pl);
}

/*
 * Issue 14, the CBC padding oracles: the four records run only where an
 * AES-CBC suite is accepted on TLS 1.1/1.2, each verdict comes from comparing
 * the answers, and each vulnerable one grades F (C21, C41).
 */
static void
test_vuln_cbc(void **state)
{
    static const char *const names[4] = {"poodle_tls", "zombie_poodle", "goldendoodle",
                                         "zero_length_padding_oracle"};
    static const char *const reasons[4] = {"poodle_tls", "zombie_poodle", "goldendoodle",
                                           "zero_length_padding_oracle"};
    struct tw_cbcrec_reaction alert20 = {TW_CBCREC_R_ALERT, 20};
    struct tw_cbcrec_reaction alert21 = {TW_CBCREC_R_ALERT, 21};
    struct tw_cbcrec_reaction data = {TW_CBCREC_R_DATA, -1};
    struct tw_cbcrec_reaction closed = {TW_CBCREC_R_CLOSED, -1};
    struct fake fs;
    struct tw_gplan *pl;
    struct tw_result *r;
    struct tw_grade_record *rec;

    (void)state;
    /* AEAD only: not applicable, no connection. */
    fake_b0(&fs, 1);
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_cbc, 0);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(vuln_row(rec, names[k])->tested, 0);
        assert_non_null(strstr(vuln_row(rec, names[k])->detail, "not applicable"));
    }
    graded_free(rec, r, pl);

    /* Each server: a correct one (all bad_record_mac), then the four oracles
     * as the lab scripts them (lab/cbc.c).  Index = enum tw_cbcrec_form. */
    for (int which = -1; which < 4; which++) {
        fake_b0(&fs, 1);
        fs.s12[2] = 0xc013; /* ECDHE-RSA-AES128-SHA */
        fs.n12 = 3;
        for (int f = 0; f < 5; f++)
            fs.cbc_react[f] = alert20;
        if (which == 0)
            fs.cbc_react[TW_CBCREC_BAD_PAD] = data;
        if (which == 1)
            fs.cbc_react[TW_CBCREC_BAD_PAD] = closed;
        if (which == 2)
            fs.cbc_react[TW_CBCREC_BAD_PAD] = fs.cbc_react[TW_CBCREC_BAD_BOTH] = alert21;
        if (which == 3)
            fs.cbc_react[TW_CBCREC_ZERO_LEN] = closed;
        pl = run_plan(&fs, 0);
        assert_int_equal(tw_gplan_cbc_version(pl), TLS1_2_VERSION);
        r = result_new(0);
        rec = tw_gplan_grade(pl, r, NULL);
        assert_int_equal(fs.n_cbc, 4); /* one connection per record */
        for (int k = 0; k < 4; k++) {
            assert_int_equal(vuln_row(rec, names[k])->tested, 1);
            assert_int_equal(vuln_row(rec, names[k])->vulnerable, k == which);
            assert_int_equal(has_reason(rec, reasons[k]), k == which);
        }
        assert_string_equal(rec->grade, which < 0 ? "A" : "F");
        graded_free(rec, r, pl);
    }

    /* An accepted bad MAC is no padding oracle: nothing fires. */
    {
        struct tw_cbcrec_reaction rr[4] = {alert20, data, alert20, alert20};
        int v[4];

        tw_gplan_cbc_verdicts(rr, v);
        assert_true(!v[0] && !v[1] && !v[2] && !v[3]);
    }
}

/* Ticketbleed (issue 14): precondition, ticket fetch, verdict, grade. */
static void
test_vuln_ticketbleed(void **state)
{
    struct fake fs;
    struct tw_gplan *pl;
    struct tw_result *r;
    struct tw_grade_record *rec;
    int base;

    (void)state;
    /* No session tickets: the CCS hello's ServerHello does not acknowledge
     * the extension, so neither connection is made. */
    fake_b0(&fs, 1);
    rec = grade_fake(&fs, &pl, &r);
    base = tw_gplan_connections(pl);
    assert_int_equal(fs.n_ticket_fetch + fs.n_ticketbleed, 0);
    assert_int_equal(vuln_row(rec, "ticketbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "ticketbleed")->vulnerable, 0);
    assert_non_null(strstr(vuln_row(rec, "ticketbleed")->detail, "no session ticket extension"));
    graded_free(rec, r, pl);

    /* A fixed server: the ticket is resumed and our 1-byte ID echoed; two
     * more connections (the ticket handshake and the hello). */
    fake_b0(&fs, 1);
    fs.tickets = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_ticket_fetch, 1);
    assert_int_equal(fs.n_ticketbleed, 1);
    assert_int_equal(tw_gplan_connections(pl), base + 2);
    assert_int_equal(vuln_row(rec, "ticketbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "ticketbleed")->vulnerable, 0);
    assert_non_null(strstr(vuln_row(rec, "ticketbleed")->detail, "echoed as sent"));
    assert_string_equal(rec->grade, "A");
    graded_free(rec, r, pl);

    /* Vulnerable: 32 bytes back, ours first.  C35 -> F. */
    fake_b0(&fs, 1);
    fs.tickets = fs.ticketbleed = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(vuln_row(rec, "ticketbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "ticketbleed")->vulnerable, 1);
    assert_non_null(strstr(vuln_row(rec, "ticketbleed")->detail, "bytes discarded"));
    assert_true(has_reason(rec, "ticketbleed"));
    assert_string_equal(rec->grade, "F");
    graded_free(rec, r, pl);

    /* Hostile or unlucky: the ticket declined, a fresh 32-byte ID that
     * starts with our byte; a full handshake is never a leak. */
    fake_b0(&fs, 1);
    fs.tickets = fs.tb_full_32 = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(vuln_row(rec, "ticketbleed")->tested, 1);
    assert_int_equal(vuln_row(rec, "ticketbleed")->vulnerable, 0);
    assert_non_null(strstr(vuln_row(rec, "ticketbleed")->detail, "declined"));
    assert_string_equal(rec->grade, "A");
    graded_free(rec, r, pl);

    /* The ticket handshake fails: no verdict, no resumption hello. */
    fake_b0(&fs, 1);
    fs.tickets = fs.ticket_fails = 1;
    rec = grade_fake(&fs, &pl, &r);
    assert_int_equal(fs.n_ticket_fetch, 1);
    assert_int_equal(fs.n_ticketbleed, 0);
    assert_int_equal(vuln_row(rec, "ticketbleed")->tested, 0);
    assert_non_null(strstr(vuln_row(rec, "ticketbleed")->detail, "no verdict"));
    graded_free(rec, r, pl);
}

/* vuln.c: the Ticketbleed verdict on hostile flights. */
static void
test_vuln_ticketbleed_verdict(void **state)
{
    struct tw_server_flight f;

    (void)state;
    assert_int_equal(tw_vuln_ticketbleed(NULL, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_NO_ANSWER);
    memset(&f, 0, sizeof(f));
    f.has_alert = 1;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_ALERT);
    f.has_alert = 0;
    f.has_server_hello = f.has_ccs = 1;
    f.version = TW_VERSION_TLS11; /* another version than offered */
    f.session_id_len = 32;
    f.session_id_first = 7;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_NO_ANSWER);
    f.version = TW_VERSION_TLS12;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_VULNERABLE);
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 8), TW_VULN_TB_OTHER_ID);
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 32, 7), TW_VULN_TB_ECHOED);
    f.session_id_len = 1;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_ECHOED);
    f.session_id_len = 0;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_OTHER_ID);
    f.session_id_len = 32;
    f.has_certificate = 1; /* a full handshake: its fresh ID is no leak */
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_FULL);
    f.has_certificate = 0;
    f.has_server_hello_done = 1;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_FULL);
    f.has_server_hello_done = 0;
    f.is_hrr = 1;
    assert_int_equal(tw_vuln_ticketbleed(&f, TW_VERSION_TLS12, 1, 7), TW_VULN_TB_NO_ANSWER);
}

/* vuln.c: the records after the flight, bounded and hostile-safe. */
static void
test_vuln_tail(void **state)
{
    static const uint8_t flight_alert[] = {22, 3, 3, 0, 4, 14, 0, 0, 0, 21, 3, 3, 0, 2, 2, 20};
    static const uint8_t flight_hb[] = {22, 3, 3, 0, 4, 14, 0, 0, 0, 24, 3, 3, 0, 3, 2, 0, 0};
    static const uint8_t cut[] = {22, 3, 3, 0, 4, 14, 0, 0, 0, 21, 3, 3, 0, 2, 2};
    static const uint8_t absurd[] = {22, 3, 3, 0, 4, 14, 0, 0, 0, 24, 3, 3, 0xff, 0xff, 2};
    struct tw_vuln_tail t;
    uint8_t rec[16];

    (void)state;
    tw_vuln_tail(flight_alert, sizeof(flight_alert), &t);
    assert_int_equal(t.has_alert, 1);
    assert_int_equal(t.alert_desc, 20);
    tw_vuln_tail(flight_hb, sizeof(flight_hb), &t);
    assert_int_equal(t.has_heartbeat, 1);
    assert_int_equal(t.heartbeat_len, 3);
    tw_vuln_tail(cut, sizeof(cut), &t);
    assert_int_equal(t.has_alert + t.has_heartbeat, 0);
    tw_vuln_tail(absurd, sizeof(absurd), &t);
    assert_int_equal(t.has_alert + t.has_heartbeat, 0);
    tw_vuln_tail(NULL, 0, &t);
    assert_int_equal(t.n_records, 0);
    assert_int_equal(tw_vuln_heartbeat_request(TW_VERSION_TLS12, rec, sizeof(rec)),
                     TW_VULN_HB_REQ_LEN);
    assert_memory_equal(rec, ((const uint8_t[]){24, 3, 3, 0, 3, 1, 0, TW_VULN_HB_CLAIM}), 8);
    assert_int_equal(tw_vuln_heartbeat_request(TW_VERSION_TLS12, rec, 7), 0);
    assert_int_equal(tw_vuln_ccs_records(TW_VERSION_TLS10, rec, sizeof(rec)), TW_VULN_CCS_LEN);
    assert_memory_equal(rec, ((const uint8_t[]){20, 3, 1, 0, 1, 1, 20, 3, 1, 0, 1, 1}), 12);
    assert_int_equal(tw_vuln_ccs_records(TW_VERSION_TLS10, rec, 11), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vuln_probes),
        cmocka_unit_test(test_vuln_enum_rows),
        cmocka_unit_test(test_vuln_reneg),
        cmocka_unit_test(test_vuln_cbc),
        cmocka_unit_test(test_vuln_tail),
        cmocka_unit_test(test_vuln_ticketbleed),
        cmocka_unit_test(test_vuln_ticketbleed_verdict),
        cmocka_unit_test(test_grader_timeout_derivation),
        cmocka_unit_test(test_modern_server_preference),
        cmocka_unit_test(test_client_preference),
        cmocka_unit_test(test_gplan_ocsp_staple),
        cmocka_unit_test(test_hostile_unoffered_suite),
        cmocka_unit_test(test_budget_bounds_an_accept_all_server),
        cmocka_unit_test(test_trust_and_name_overlay),
        cmocka_unit_test(test_http_hsts),
        cmocka_unit_test(test_http_hostile_lengths),
        cmocka_unit_test(test_https_hsts_grades_a_plus),
        cmocka_unit_test(test_store_roundtrip),
        cmocka_unit_test(test_no_http_plan),
        cmocka_unit_test(test_no_http_budget),
        cmocka_unit_test(test_starttls_runner_every_protocol),
        cmocka_unit_test(test_starttls_runner_dialogue_failure_stops),
        cmocka_unit_test(test_starttls_runner_connect_refused),
        cmocka_unit_test(test_probe_kind_table),
    };

    /* The lab's servers run in this process: a peer that has closed must
     * not kill the test with SIGPIPE on a write (tlsweep scan and tlsweep
     * lab ignore it the same way). */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
