/*
 * fuzz_targets.c - libFuzzer target for the target-list parser and reader.
 *
 * Each input is used twice: as one line for tw_target_parse_line() (with and
 * without --allow-large-ranges, chosen by the first byte), and as a whole
 * target file fed to the reader through fmemopen() on stdin.  Besides the
 * sanitizers, it checks the parser's output contract and aborts when it is
 * broken.  Expansion is capped per input so that a /16 does not turn one
 * run into a slow one.  See tests/fuzz/README.md for how to build and run.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/targets.h"
#include "base/log.h"

#define FUZZ_MAX_ENDPOINTS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *fuzz_devnull;

static void
fuzz_check_spec(const struct tw_target_spec *sp)
{
    char text[64];
    size_t n = strnlen(sp->host, sizeof(sp->host));

    if (n == 0 || n > TW_HOST_MAX)
        abort();
    if (sp->port < 0 || sp->port > 65535)
        abort();
    if (sp->sni_mode < 0 || sp->sni_mode > 2)
        abort();
    if (sp->sni_mode == 2) {
        size_t m = strnlen(sp->sni, sizeof(sp->sni));

        if (m == 0 || m > TW_HOST_MAX)
            abort();
    }
    if (sp->family == 0) {
        if (sp->prefix != -1)
            abort();
    } else {
        /* The text is the canonical form of the address. */
        if (inet_ntop(sp->family, sp->addr, text, sizeof(text)) == NULL)
            abort();
        if (strcmp(text, sp->host) != 0)
            abort();
        if (sp->prefix > (sp->family == AF_INET ? 32 : 128))
            abort();
    }
}

static void
fuzz_parse(const uint8_t *data, size_t size)
{
    struct tw_target_spec sp, again;
    char reason[TW_ERRLEN];
    int allow = size > 0 && (data[0] & 1);
    int rc;

    rc = tw_target_parse_line((const char *)data, size, allow, &sp, reason, sizeof(reason));
    if (rc < -1 || rc > 1)
        abort();
    if (rc == -1 && (reason[0] == '\0' || strlen(reason) >= sizeof(reason)))
        abort();
    if (rc != 1)
        return;
    fuzz_check_spec(&sp);
    /* The normalised host parses again to the same target. */
    rc = tw_target_parse_line(sp.host, strlen(sp.host), 1, &again, reason, sizeof(reason));
    if (rc != 1 || strcmp(again.host, sp.host) != 0 || again.family != sp.family)
        abort();
}

static void
fuzz_reader(const uint8_t *data, size_t size)
{
    static const uint16_t ports[] = {443, 8443};
    struct tw_targets_opts opts;
    struct tw_targets_stats st;
    struct tw_targets *t = NULL;
    struct tw_target tg;
    char err[TW_ERRLEN], fp[TW_TARGETS_FP_HEX + 1];
    FILE *in, *saved = stdin;
    size_t n = 0;
    int rc = 0;

    if (size == 0)
        return;
    in = fmemopen((void *)(uintptr_t)data, size, "r");
    if (in == NULL)
        return;
    memset(&opts, 0, sizeof(opts));
    opts.ports = ports;
    opts.n_ports = 2;
    opts.errf = fuzz_devnull;
    opts.dedup_max = 64; /* also exercise the full-set path */
    if (data[0] & 2) {
        opts.shard_k = 2;
        opts.shard_n = 3;
    }
    stdin = in;
    if (tw_targets_open(NULL, 0, &opts, &t, err) == 0) {
        while (n < FUZZ_MAX_ENDPOINTS) {
            rc = tw_targets_next(t, &tg, err);
            if (rc != 1)
                break;
            if (tg.port == 0 || strnlen(tg.host, sizeof(tg.host)) == 0 || tg.file == NULL ||
                tg.line == 0)
                abort();
            if (tg.has_sni && strnlen(tg.sni, sizeof(tg.sni)) == 0)
                abort();
            n++;
        }
        if (rc < 0)
            abort();
        tw_targets_get_stats(t, &st);
        if (st.endpoints != n || st.bad > st.lines)
            abort();
        tw_targets_fingerprint(t, fp);
        if (strlen(fp) != TW_TARGETS_FP_HEX)
            abort();
        tw_targets_free(t);
    }
    stdin = saved;
    fclose(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (fuzz_devnull == NULL) {
        fuzz_devnull = fopen("/dev/null", "w");
        if (fuzz_devnull == NULL)
            abort();
    }
    fuzz_parse(data, size);
    fuzz_reader(data, size);
    return 0;
}
