/*
 * fuzz_classify.c - libFuzzer target for classification, the probe plan and
 * the reproduce command (store/model.c) built from the classified result.
 *
 * Input: the first bytes become a struct tw_evidence as is (every field,
 * including out-of-range enums, counts and unterminated strings: it is a
 * plain record), the next bytes the result's host/ip/sni (raw, also
 * unterminated), has_name and a model server's answers for the plan loop.
 * Checks, aborting when broken: the plan never names a probe already run and
 * ends within TW_PK__COUNT steps; the primary class is tw_issues_primary of
 * the issue set, which never holds "ok"; the detail exists, is shorter than
 * TW_DETAIL_MAX and is one line; the repro is terminated within its buffer
 * and has no control bytes.  Build and run: see tests/fuzz/README.md, with
 * scanner/classify.c scanner/probekind.c store/model.c and the base/ sources, -lssl -lcrypto.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/classify.h"
#include "store/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
take(void *dst, size_t n, const uint8_t **data, size_t *size)
{
    size_t k = n < *size ? n : *size;

    memset(dst, 0, n);
    memcpy(dst, *data, k);
    *data += k;
    *size -= k;
    return k;
}

static void
check_result(const struct tw_result *r)
{
    if (r->issues & TW_ISSUE(TW_CLASS_OK))
        abort();
    if (r->cls != tw_issues_primary(r->issues))
        abort();
    if (r->detail == NULL || strnlen(r->detail, TW_DETAIL_MAX + 1) > TW_DETAIL_MAX)
        abort();
    for (const char *p = r->detail; *p; p++)
        if (*p == '\n' || *p == '\r')
            abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_evidence ev;
    struct tw_result r;
    uint8_t flags = 0;
    char repro[160], big[1024];
    size_t n;
    int steps = 0, k;

    take(&ev, sizeof(ev), &data, &size);
    memset(&r, 0, sizeof(r));
    take(r.host, sizeof(r.host), &data, &size);
    take(r.ip, sizeof(r.ip), &data, &size);
    take(r.sni, sizeof(r.sni), &data, &size);
    take(r.tls_version, sizeof(r.tls_version), &data, &size);
    take(&r.port, sizeof(r.port), &data, &size);
    take(&flags, 1, &data, &size);
    r.has_sni = flags & 1;

    tw_classify(&ev, &r);
    check_result(&r);
    /* The command builder takes C strings, as a stored result holds them. */
    r.host[sizeof(r.host) - 1] = '\0';
    r.ip[sizeof(r.ip) - 1] = '\0';
    r.sni[sizeof(r.sni) - 1] = '\0';
    r.tls_version[sizeof(r.tls_version) - 1] = '\0';
    for (int i = 0; i < 2; i++) {
        char *out = i ? big : repro;
        size_t len = i ? sizeof(big) : sizeof(repro);
        struct tw_repro_in in = {
            .host = r.host,
            .ip = r.ip,
            .port = r.port,
            .sni = r.has_sni ? r.sni : NULL,
            .starttls = r.starttls,
            .cls = r.cls,
            .tls_version = r.tls_version,
            .detail = r.detail,
        };

        n = tw_class_repro(&in, out, len);
        if (n >= len || strlen(out) != n)
            abort();
        for (size_t j = 0; j < n; j++)
            if ((unsigned char)out[j] < 0x20 || out[j] == 0x7f)
                abort();
    }

    /* Drive the plan with answers from the rest of the input. */
    while ((k = tw_classify_next_probe(&ev, (flags >> 1) & 1)) >= 0) {
        uint8_t ans = 0;

        if (k >= TW_PK__COUNT || ev.probe[k].outcome != TW_PROBE_NOT_RUN)
            abort();
        if (++steps > TW_PK__COUNT)
            abort();
        take(&ans, 1, &data, &size);
        ev.probe[k].outcome = (enum tw_probe_outcome)(1 + ans % 9);
        ev.probe[k].alert = ans >> 1;
    }
    tw_classify(&ev, &r);
    check_result(&r);
    free(r.detail);
    return 0;
}
