/*
 * fuzz_hello.c - libFuzzer target for scanner/hello.c.
 *
 * Each input is used three ways:
 *  1. as a server's first flight for tw_hello_parse(), whose output contract
 *     is checked (offsets inside the input, an error text with every ERROR,
 *     the leaf copy agreeing with the offsets);
 *  2. split at a point chosen by the input, to check that parsing is
 *     incremental: once a prefix gives DONE or ERROR, the whole input gives
 *     the same answer, and an input that needs more has prefixes that do too;
 *  3. as parameters for tw_hello_build() (version, flags, suites, groups,
 *     SNI, ALPN and output capacity all come from the bytes), whose output is
 *     checked for length consistency.
 * Any broken contract aborts.  Build and run (see tests/fuzz/README.md):
 *   clang -fsanitize=fuzzer,address -I. tests/fuzz/fuzz_hello.c scanner/hello.c tls/suites.c \
 *       base/\*.c -o /tmp/fuzz_hello && /tmp/fuzz_hello tests/fuzz/corpus/hello
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_flight(const uint8_t *data, size_t size, int rc, const struct tw_server_flight *f)
{
    static uint8_t leaf[TW_HELLO_FLIGHT_MAX];
    size_t lim = size < TW_HELLO_FLIGHT_MAX ? size : TW_HELLO_FLIGHT_MAX;

    if (rc != TW_HELLO_NEED_MORE && rc != TW_HELLO_DONE && rc != TW_HELLO_ERROR)
        abort();
    if ((rc == TW_HELLO_ERROR) != (f->error != NULL))
        abort();
    if (f->consumed > lim || f->n_first > 8)
        abort();
    if (f->n_ext < 0 || f->n_certs < 0 || f->n_v2_specs < 0)
        abort();
    if (memchr(f->alpn, '\0', sizeof(f->alpn)) == NULL)
        abort();
    if (f->is_sslv2 && (f->v2_cert_off > lim || f->v2_cert_len > lim - f->v2_cert_off))
        abort();
    if (f->has_certificate && f->n_certs > 0 && f->leaf_len > 0) {
        if (!f->is_leaf_split && (f->leaf_off > lim || f->leaf_len > lim - f->leaf_off))
            abort();
        if (tw_hello_copy_leaf(data, size, f, leaf, sizeof(leaf)) != f->leaf_len)
            abort();
        if (!f->is_leaf_split && memcmp(leaf, data + f->leaf_off, f->leaf_len) != 0)
            abort();
    }
}

static void
fuzz_parse(const uint8_t *data, size_t size)
{
    struct tw_server_flight full, part;
    size_t cut;
    int rc, rc_part;

    rc = tw_hello_parse(data, size, &full);
    fuzz_check_flight(data, size, rc, &full);
    if (size < 2 || size >= TW_HELLO_FLIGHT_MAX)
        return;
    /* An exact-size prefix copy, so ASan catches any read past its end. */
    cut = ((size_t)data[0] << 8 | data[size - 1]) % size;
    {
        uint8_t *prefix = malloc(cut ? cut : 1);

        if (prefix == NULL)
            return;
        memcpy(prefix, data, cut);
        rc_part = tw_hello_parse(prefix, cut, &part);
        fuzz_check_flight(prefix, cut, rc_part, &part);
        free(prefix);
    }
    if (rc_part != TW_HELLO_NEED_MORE && rc_part != rc)
        abort();
    if (rc == TW_HELLO_NEED_MORE && rc_part != TW_HELLO_NEED_MORE)
        abort();
    if (rc_part == TW_HELLO_DONE &&
        (part.cipher_suite != full.cipher_suite || part.version != full.version ||
         part.has_alert != full.has_alert || part.n_certs != full.n_certs))
        abort();
}

/* Little reader over the fuzz input for the builder parameters. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};

static unsigned
fuzz_u8(struct fuzz_in *in)
{
    unsigned v = 0;

    if (in->n > 0) {
        v = in->p[0];
        in->p++;
        in->n--;
    }
    return v;
}

static unsigned
fuzz_u16(struct fuzz_in *in)
{
    return fuzz_u8(in) << 8 | fuzz_u8(in);
}

static void
fuzz_build(const uint8_t *data, size_t size)
{
    static const uint16_t versions[] = {
        TW_VERSION_SSL2,  TW_VERSION_SSL3,  TW_VERSION_TLS10, TW_VERSION_TLS11,
        TW_VERSION_TLS12, TW_VERSION_TLS13, 0x0305,           0x0000};
    static uint16_t suites[TW_HELLO_MAX_SUITES + 8], groups[TW_HELLO_MAX_GROUPS + 8];
    static uint32_t specs[TW_HELLO_MAX_SUITES + 8];
    static uint8_t out[TW_HELLO_MAX_OUT + 64];
    static const char *alpn[TW_HELLO_MAX_ALPN + 2];
    static char names[TW_HELLO_MAX_ALPN + 2][300], sni[300];
    uint8_t random[32], share[32];
    struct fuzz_in in = {data, size};
    struct tw_hello_params p;
    size_t i, n, cap, len = 0, sni_len;
    int rc;

    memset(random, 0x33, sizeof(random));
    memset(share, 0x44, sizeof(share));
    tw_hello_params_init(&p, versions[fuzz_u8(&in) % 8], random);
    p.flags = fuzz_u16(&in);
    p.min_version = (uint16_t)(fuzz_u8(&in) % 2 ? 0x0300 + fuzz_u8(&in) % 6 : 0);
    p.legacy_version = (uint16_t)(fuzz_u8(&in) % 4 == 0 ? fuzz_u16(&in) : 0);
    p.x25519_share = fuzz_u8(&in) % 2 ? share : NULL;
    p.session_id = fuzz_u8(&in) % 2 ? share : NULL;
    n = fuzz_u16(&in) % (TW_HELLO_MAX_SUITES + 4);
    for (i = 0; i < n; i++)
        suites[i] = (uint16_t)fuzz_u16(&in);
    p.suites = suites;
    p.n_suites = n;
    n = fuzz_u8(&in) % 16;
    for (i = 0; i < n; i++)
        specs[i] = (uint32_t)fuzz_u16(&in) << 8 | fuzz_u8(&in);
    p.sslv2_specs = specs;
    p.n_sslv2_specs = n;
    if (fuzz_u8(&in) % 2) {
        n = fuzz_u8(&in) % (TW_HELLO_MAX_GROUPS + 4);
        for (i = 0; i < n; i++)
            groups[i] = (uint16_t)fuzz_u16(&in);
        p.groups = groups;
        p.n_groups = n;
    }
    sni_len = fuzz_u16(&in) % 290;
    for (i = 0; i < sni_len; i++)
        sni[i] = (char)(fuzz_u8(&in) | 1); /* no NUL inside */
    sni[sni_len] = '\0';
    p.sni = sni_len ? sni : NULL;
    n = fuzz_u8(&in) % (TW_HELLO_MAX_ALPN + 2);
    for (i = 0; i < n; i++) {
        size_t k, l = fuzz_u16(&in) % 290;

        for (k = 0; k < l; k++)
            names[i][k] = (char)(fuzz_u8(&in) | 1);
        names[i][l] = '\0';
        alpn[i] = names[i];
    }
    p.alpn = n ? alpn : NULL;
    p.n_alpn = n;
    cap = fuzz_u16(&in) % (sizeof(out) + 1);

    rc = tw_hello_build(&p, out, cap, &len);
    if (rc != 0 && rc != -1)
        abort();
    if (rc == -1) {
        if (len != 0)
            abort();
        return;
    }
    if (len == 0 || len > cap || len > TW_HELLO_MAX_OUT)
        abort();
    if (p.version == TW_VERSION_SSL2) {
        if (!(out[0] & 0x80) || (((size_t)(out[0] & 0x7f) << 8) | out[1]) != len - 2 || out[2] != 1)
            abort();
    } else {
        if (len < 9 || out[0] != 22 || ((size_t)out[3] << 8 | out[4]) != len - 5 || out[5] != 1 ||
            ((size_t)out[6] << 16 | (size_t)out[7] << 8 | out[8]) != len - 9)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parse(data, size);
    fuzz_build(data, size);
    return 0;
}
