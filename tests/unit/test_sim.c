/*
 * test_sim.c - the reference-client simulation (tls/sim.[ch]) on hand-made
 * enumerations: version choice and protocol_mismatch, the suite by the
 * server's or the client's order, shared ECDHE groups, the TLS 1.3 key share
 * and HelloRetryRequest, the leaf by signature algorithm on a dual-key
 * server, key-size floors (RSA, DHE), CN-only names, SNI, AIA, client
 * certificates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tls/clients.h"
#include "tls/refclients.h"
#include "tls/sim.h"
#include "tls/suites.h"

/* A server that accepts suites codes[] on version v (order as listed),
 * with a named leaf and everything else healthy. */
static void
server(struct tw_sim_server *s, uint16_t v, const uint16_t *codes, size_t n, int pref)
{
    int p = tw_grade_proto_from_version(v);

    memset(s, 0, sizeof(*s));
    s->protocols = TW_PROTO_BIT(p);
    s->server_pref = pref ? TW_PROTO_BIT(p) : 0;
    for (size_t i = 0; i < n; i++) {
        s->suites[s->n_suites].protocol = v;
        s->suites[s->n_suites].code = codes[i];
        s->n_suites++;
    }
    s->groups12[s->n_groups12++] = TW_GROUP_X25519;
    s->groups12[s->n_groups12++] = TW_GROUP_SECP256R1;
    s->groups13[s->n_groups13++] = TW_GROUP_X25519;
    s->groups13[s->n_groups13++] = TW_GROUP_SECP256R1;
    s->leaves[0].key_type = TW_KEY_RSA;
    s->leaves[0].key_bits = 2048;
    s->n_leaves = 1;
    s->name_ok = 1;
}

static void
add_version(struct tw_sim_server *s, uint16_t v, const uint16_t *codes, size_t n)
{
    s->protocols |= TW_PROTO_BIT(tw_grade_proto_from_version(v));
    for (size_t i = 0; i < n; i++) {
        s->suites[s->n_suites].protocol = v;
        s->suites[s->n_suites].code = codes[i];
        s->n_suites++;
    }
}

static void
run(const char *client, const struct tw_sim_server *s, struct tw_sim_result *r)
{
    const struct tw_refclient *c = tw_refclients_find(client);

    assert_non_null(c);
    tw_sim_run(c, s, r);
}

static const uint16_t rsa12[] = {0xC030, 0xC02F, 0x009C}; /* ECDHE-RSA GCM x2, RSA GCM */
static const uint16_t tls13[] = {0x1302, 0x1301, 0x1303};

static void
test_tls10_only(void **state)
{
    static const uint16_t s10[] = {0xC014, 0x002F};
    struct tw_sim_server s;
    struct tw_sim_result r;

    (void)state;
    server(&s, TW_VERSION_TLS10, s10, 2, 0);
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_FAIL);
    assert_int_equal(r.reason, TW_SIM_R_PROTOCOL);
    assert_string_equal(tw_sim_reason_class(r.reason), "protocol_mismatch");
    run("Java 8", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.protocol, TW_VERSION_TLS10);
    assert_int_equal(r.suite, 0xC014); /* Java 8 lists ECDHE-RSA-AES256-SHA first of the two */
    assert_int_equal(r.group, TW_GROUP_SECP256R1); /* Java 8 has no X25519 */
    run("IE 11 on Windows 7", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
}

static void
test_ccm_only(void **state)
{
    static const uint16_t ccm[] = {0xC0AC, 0xC0AD}; /* ECDHE-ECDSA-AES-CCM */
    struct tw_sim_server s;
    struct tw_sim_result r;

    (void)state;
    server(&s, TW_VERSION_TLS12, ccm, 2, 1);
    s.leaves[0].key_type = TW_KEY_EC;
    s.leaves[0].key_bits = 256;
    run("Chrome", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_CIPHER);
    assert_int_equal(r.protocol, TW_VERSION_TLS12);
    assert_string_equal(tw_sim_reason_class(r.reason), "no_shared_cipher");
    run("Firefox", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_CIPHER);
}

static void
test_order(void **state)
{
    struct tw_sim_server s;
    struct tw_sim_result r;

    (void)state;
    /* The server enforces its order: its first choice wins. */
    server(&s, TW_VERSION_TLS12, rsa12, 3, 1);
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.suite, 0xC030);
    assert_int_equal(r.group, TW_GROUP_X25519);
    /* It does not: Chrome's first (ECDHE-RSA-AES128-GCM before AES256). */
    server(&s, TW_VERSION_TLS12, rsa12, 3, 0);
    run("Chrome", &s, &r);
    assert_int_equal(r.suite, 0xC02F);
    /* ECDHE needs a shared group: a server with only secp521r1 leaves
     * Chrome (x25519, P-256, P-384) the RSA key transport suite. */
    s.n_groups12 = 1;
    s.groups12[0] = TW_GROUP_SECP521R1;
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.suite, 0x009C);
    assert_int_equal(r.group, 0);
}

static void
test_tls13_groups(void **state)
{
    struct tw_sim_server s;
    struct tw_sim_result r;

    (void)state;
    server(&s, TW_VERSION_TLS13, tls13, 3, 0);
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.protocol, TW_VERSION_TLS13);
    assert_int_equal(r.suite, 0x1301); /* the client's order */
    assert_int_equal(r.group, TW_GROUP_X25519);
    assert_int_equal(r.hrr, 0); /* the second key share (after the hybrid) fits */
    /* Server order: its first suite. */
    s.server_pref = TW_PROTO_BIT(TW_PROTO_TLS13);
    run("Chrome", &s, &r);
    assert_int_equal(r.suite, 0x1302);
    /* Only P-384: a HelloRetryRequest. */
    s.n_groups13 = 1;
    s.groups13[0] = TW_GROUP_SECP384R1;
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.group, TW_GROUP_SECP384R1);
    assert_int_equal(r.hrr, 1);
    /* P-384 then P-256 on a server without its own suite order: the
     * HelloRetryRequest still names the server's first (OpenSSL; checked
     * against the lab's servers with --simulate real). */
    s.server_pref = 0;
    s.n_groups13 = 2;
    s.groups13[1] = TW_GROUP_SECP256R1;
    run("Chrome", &s, &r);
    assert_int_equal(r.group, TW_GROUP_SECP384R1);
    assert_int_equal(r.hrr, 1);
    s.n_groups13 = 1;
    /* Only x448: no shared group for Chrome. */
    s.groups13[0] = TW_GROUP_X448;
    run("Chrome", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_GROUP);
    assert_string_equal(tw_sim_reason_class(r.reason), "tls_alert");
    /* Old Java 8 speaks no TLS 1.3. */
    run("Java 8", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_PROTOCOL);
}

static void
test_best_version(void **state)
{
    struct tw_sim_server s;
    struct tw_sim_result r;

    (void)state;
    server(&s, TW_VERSION_TLS13, tls13, 3, 0);
    add_version(&s, TW_VERSION_TLS12, rsa12, 3);
    run("Java 8", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.protocol, TW_VERSION_TLS12);
    assert_int_equal(r.suite, 0xC030);
    run("Java 17", &s, &r);
    assert_int_equal(r.protocol, TW_VERSION_TLS13);
}

static void
test_dual_cert(void **state)
{
    static const char only_pss[] = "name = PSS only\nversions = TLSv1.3\n"
                                   "suites = TLS_AES_128_GCM_SHA256\ngroups = x25519\n"
                                   "sigalgs = rsa_pss_rsae_sha256\nsource = test\n";
    struct tw_refclient_loaded lc;
    struct tw_sim_server s;
    struct tw_sim_result r;
    char err[256];

    (void)state;
    assert_int_equal(
        tw_refclients_parse("t", only_pss, sizeof(only_pss) - 1, &lc, err, sizeof(err)), 0);
    server(&s, TW_VERSION_TLS13, tls13, 3, 0);
    s.leaves[0].key_type = TW_KEY_EC;
    s.leaves[0].key_bits = 256;
    /* EC leaf only: the RSA-PSS-only client has nothing to verify with. */
    tw_sim_run(&lc.client, &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_SIGALG);
    assert_true(r.basis & TW_SIM_BASIS_LEAF_TLS13);
    /* Dual RSA + EC: it gets the RSA leaf, Chrome the EC one (a 1024-bit
     * RSA key then fails Safari only when it is the leaf chosen). */
    s.leaves[1].key_type = TW_KEY_RSA;
    s.leaves[1].key_bits = 1024;
    s.n_leaves = 2;
    run("Safari", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    tw_sim_run(&lc.client, &s, &r); /* the RSA leaf, below the file's default floor */
    assert_int_equal(r.reason, TW_SIM_R_WEAK_KEY);
    lc.client.min_rsa = 1024;
    tw_sim_run(&lc.client, &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    s.leaves[0] = s.leaves[1];
    s.n_leaves = 1;
    run("Safari", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_WEAK_KEY);
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
}

static void
test_dhe_floor(void **state)
{
    static const uint16_t dhe[] = {0x009F, 0x009E}; /* DHE-RSA-AES-GCM */
    struct tw_sim_server s;
    struct tw_sim_result r;

    (void)state;
    server(&s, TW_VERSION_TLS12, dhe, 2, 1);
    s.dh_bits = 1024;
    run("Chrome", &s, &r); /* no DHE suite offered */
    assert_int_equal(r.reason, TW_SIM_R_CIPHER);
    run("Java 8", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    assert_int_equal(r.suite, 0x009F);
    s.dh_bits = 768;
    run("Java 8", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_WEAK_DH);
    assert_string_equal(tw_sim_reason_class(r.reason), "weak_key");
}

static void
test_names_chain_sni_cert(void **state)
{
    static const char nosni[] =
        "name = No SNI\nversions = TLSv1.2\nsuites = 0xC02F\n"
        "groups = x25519\nsigalgs = rsa_pkcs1_sha256\nsni = no\nsource = test\n";
    struct tw_refclient_loaded lc;
    struct tw_sim_server s;
    struct tw_sim_result r;
    char err[256];

    (void)state;
    server(&s, TW_VERSION_TLS12, rsa12, 3, 1);
    s.name_ok = 0;
    s.name_ok_cn = 1;
    run("Chrome", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_CN_ONLY);
    assert_string_equal(tw_sim_reason_class(r.reason), "hostname_mismatch");
    assert_int_equal(r.protocol, TW_VERSION_TLS12); /* the handshake got that far */
    run("Java 8", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);
    s.name_ok_cn = 0;
    run("Java 8", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_NAME);

    server(&s, TW_VERSION_TLS12, rsa12, 3, 1);
    s.chain_incomplete = 1;
    run("Chrome", &s, &r); /* no AIA URL in the leaf: nothing to fetch */
    assert_int_equal(r.reason, TW_SIM_R_CHAIN);
    s.chain_aia = 1;
    run("Chrome", &s, &r); /* fetches through AIA */
    assert_int_equal(r.outcome, TW_SIM_OK);
    run("Firefox", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_CHAIN);

    server(&s, TW_VERSION_TLS12, rsa12, 3, 1);
    s.sni_required = 1;
    assert_int_equal(tw_refclients_parse("t", nosni, sizeof(nosni) - 1, &lc, err, sizeof(err)), 0);
    tw_sim_run(&lc.client, &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_SNI);
    run("Chrome", &s, &r);
    assert_int_equal(r.outcome, TW_SIM_OK);

    server(&s, TW_VERSION_TLS12, rsa12, 3, 1);
    s.client_cert_required = 1;
    run("Chrome", &s, &r);
    assert_int_equal(r.reason, TW_SIM_R_CLIENT_CERT);
    assert_int_equal(r.suite, 0xC030);
}

static void
test_every_client_runs(void **state)
{
    struct tw_sim_server s;
    struct tw_sim_result r;
    size_t ok = 0;

    (void)state;
    server(&s, TW_VERSION_TLS13, tls13, 3, 0);
    add_version(&s, TW_VERSION_TLS12, rsa12, 3);
    for (size_t i = 0; i < tw_refclients_count(); i++) {
        tw_sim_run(tw_refclients_at(i), &s, &r);
        if (r.outcome == TW_SIM_OK) {
            ok++;
            assert_true(r.protocol >= TW_VERSION_TLS12);
            assert_int_not_equal(r.suite, 0);
        } else {
            assert_non_null(tw_sim_reason_class(r.reason));
        }
    }
    /* A healthy TLS 1.2 + 1.3 RSA server: only clients without TLS 1.2 fail. */
    assert_true(ok >= tw_refclients_count() - 3);
    assert_null(tw_sim_reason_class(TW_SIM_R_NONE));
    assert_string_equal(tw_sim_outcome_name(TW_SIM_OK), "ok");
}

/* Write text to a fresh temporary file; the path into path[64]. */
static void
temp_file(char path[64], const char *text)
{
    FILE *f;
    int fd;

    snprintf(path, 64, "/tmp/tw_sim_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
test_resolve(void **state)
{
    static struct tw_clients_set set; /* large: not on the test's stack */
    char err[256], path[64];

    (void)state;
    assert_int_equal(tw_clients_resolve("modern", &set, err, sizeof(err)), 0);
    assert_int_equal(set.policy, TW_CLIENTS_MODERN);
    assert_true(tw_clients_set_has(&set, "chrome"));
    assert_false(tw_clients_set_has(&set, "Java 8"));
    assert_int_equal(set.n_sim, tw_refclients_count());
    assert_int_equal(tw_clients_resolve("any", &set, err, sizeof(err)), 0);
    assert_int_equal(set.policy, TW_CLIENTS_ANY);
    assert_int_equal(set.n_members, 0);
    assert_int_equal(tw_clients_resolve("all", &set, err, sizeof(err)), 0);
    assert_int_equal(set.policy, TW_CLIENTS_SET);
    assert_int_equal(set.n_members, tw_refclients_count());
    assert_int_equal(tw_clients_resolve("java", &set, err, sizeof(err)), 0);
    assert_int_equal(set.n_members, 5);
    assert_true(tw_clients_set_has(&set, "Java 8"));
    assert_false(tw_clients_set_has(&set, "Chrome"));
    /* Every named policy names only existing rows, at least two each. */
    for (size_t i = 0; i < tw_refclients_named_count(); i++) {
        size_t n = 0;

        assert_non_null(tw_refclients_named_doc(i));
        for (size_t k = 0; k < tw_refclients_count(); k++)
            n += tw_refclients_named_has(tw_refclients_named_name(i), tw_refclients_at(k)) == 1;
        assert_true(n >= 2);
    }
    assert_null(tw_refclients_named_name(tw_refclients_named_count()));
    assert_int_equal(tw_clients_resolve("nosuch-policy", &set, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nosuch-policy"));

    /* A list of names. */
    temp_file(path, "# batch jobs\n\nJava 8\n  python \n");
    assert_int_equal(tw_clients_resolve(path, &set, err, sizeof(err)), 0);
    assert_int_equal(set.policy, TW_CLIENTS_SET);
    assert_int_equal(set.n_members, 2);
    assert_true(tw_clients_set_has(&set, "Python"));
    assert_string_equal(set.spec, path);
    unlink(path);
    temp_file(path, "Java 8\nNetscape 4\x01\n");
    assert_int_equal(tw_clients_resolve(path, &set, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: unknown client 'Netscape 4\\x01'"));
    unlink(path);
    /* A client definition: simulated beside the table, and the only member. */
    temp_file(path, "name = Batch\nversions = TLSv1.2\nsuites = 0xC02F\nsource = test\n");
    assert_int_equal(tw_clients_resolve(path, &set, err, sizeof(err)), 0);
    assert_int_equal(set.n_members, 1);
    assert_int_equal(set.n_sim, tw_refclients_count() + 1);
    assert_string_equal(set.sim[set.n_sim - 1]->name, "Batch");
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tls10_only),
        cmocka_unit_test(test_ccm_only),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_tls13_groups),
        cmocka_unit_test(test_best_version),
        cmocka_unit_test(test_dual_cert),
        cmocka_unit_test(test_dhe_floor),
        cmocka_unit_test(test_names_chain_sni_cert),
        cmocka_unit_test(test_every_client_runs),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
