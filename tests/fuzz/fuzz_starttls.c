/*
 * fuzz_starttls.c - libFuzzer target for the STARTTLS plaintext dialogue
 * (scanner/starttls.h), driven the way conn.c drives it.
 *
 * The input is one server's byte stream, replayed against every protocol:
 * byte 0 picks the read sizes (1..64 bytes, or the whole rest at once) and
 * how much of each pending command is "sent" per write, so partial writes
 * and lines split anywhere are covered.  After each read the pending output
 * is drained as the engine does.  Checked (abort() when broken): the status
 * is a known value and never changes once final; a final status repeats
 * without effect; output is non-empty and bounded; the detail is printable
 * ASCII, NUL-terminated and bounded; tw_starttls_classify() on the recorded
 * probe decides exactly for the verdicts starttls.h lists.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scanner/starttls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_detail(const struct tw_starttls *s)
{
    const char *d = tw_starttls_detail(s);
    size_t n;

    if (d == NULL)
        abort();
    n = strnlen(d, TW_STARTTLS_DETAIL_MAX);
    if (n >= TW_STARTTLS_DETAIL_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)d[i] < 0x20 || (unsigned char)d[i] > 0x7e)
            abort();
}

/* Write what is pending, step bytes at a time (0 = all). */
static void
fuzz_drain(struct tw_starttls *s, size_t step)
{
    const uint8_t *out;
    size_t len;
    int rounds = 0;

    while (tw_starttls_output(s, &out, &len)) {
        if (out == NULL || len == 0 || len > TW_STARTTLS_OUT_MAX)
            abort();
        if (++rounds > TW_STARTTLS_OUT_MAX + 1)
            abort(); /* sending never makes progress */
        tw_starttls_sent(s, step == 0 || step > len ? len : step);
    }
}

/* What conn.c records for the probe, then what classify decides. */
static void
fuzz_check_classify(const struct tw_starttls *s, int proto, int status, uint32_t bytes_in)
{
    struct tw_probe_result pr;
    enum tw_class cls = TW_CLASS_OK;
    char buf[256];
    int decided;

    memset(&pr, 0, sizeof(pr));
    pr.alert = -1;
    pr.starttls = (uint8_t)proto;
    pr.starttls_bytes_in = bytes_in;
    pr.starttls_result = (uint8_t)(status >= TW_STARTTLS_READY ? status : TW_STARTTLS_NEED_MORE);
    snprintf(pr.starttls_detail, sizeof(pr.starttls_detail), "%s", tw_starttls_detail(s));
    switch (status) {
    case TW_STARTTLS_READY:
        pr.outcome = TW_PROBE_OK;
        break;
    case TW_STARTTLS_PROTOCOL_ERROR:
        pr.outcome = TW_PROBE_NOT_TLS;
        break;
    case TW_STARTTLS_UNSUPPORTED:
    case TW_STARTTLS_REFUSED:
        pr.outcome = TW_PROBE_LOCAL_ERROR;
        break;
    default:
        pr.outcome = TW_PROBE_EOF; /* the stream ended mid-dialogue */
        break;
    }
    decided = tw_starttls_classify(&pr, &cls, buf, sizeof(buf));
    if (decided != (status != TW_STARTTLS_READY))
        abort();
    if (strnlen(buf, sizeof(buf)) >= sizeof(buf))
        abort();
    if (status == TW_STARTTLS_UNSUPPORTED && cls != TW_CLASS_STARTTLS_UNSUPPORTED)
        abort();
    if (status == TW_STARTTLS_REFUSED && cls != TW_CLASS_STARTTLS_REFUSED)
        abort();
    if (status == TW_STARTTLS_PROTOCOL_ERROR && cls != TW_CLASS_NOT_TLS)
        abort();
    if (status < TW_STARTTLS_READY && cls != TW_CLASS_TCP_RESET)
        abort();
}

static void
fuzz_one(int proto, const uint8_t *in, size_t len, uint8_t mode)
{
    struct tw_starttls *s = malloc(sizeof(*s));
    size_t chunk = mode & 0x3f, step = (mode >> 6) & 0x3, off = 0;
    int status = TW_STARTTLS_NEED_MORE;
    uint32_t bytes_in = 0;
    char host[64];
    size_t hn = len < sizeof(host) - 1 ? len : sizeof(host) - 1;

    if (s == NULL)
        return;
    /* The XMPP domain is hostile too: the first bytes, up to a NUL. */
    memcpy(host, in, hn);
    host[hn] = '\0';
    tw_starttls_init(s, (enum tw_starttls_proto)proto, (mode & 0x40) ? host : NULL);
    fuzz_check_detail(s);
    fuzz_drain(s, step);
    while (off < len) {
        size_t n = chunk == 0 ? len - off : chunk;
        int r;

        if (n > len - off)
            n = len - off;
        r = tw_starttls_input(s, in + off, n);
        off += n;
        bytes_in += (uint32_t)n;
        if (r < TW_STARTTLS_NEED_MORE || r > TW_STARTTLS_PROTOCOL_ERROR)
            abort();
        if (status >= TW_STARTTLS_READY && r != status)
            abort(); /* a final status is final */
        fuzz_check_detail(s);
        status = r;
        if (r >= TW_STARTTLS_READY)
            break;
        fuzz_drain(s, step);
    }
    if (status >= TW_STARTTLS_READY) {
        char before[TW_STARTTLS_DETAIL_MAX];

        snprintf(before, sizeof(before), "%s", tw_starttls_detail(s));
        if (tw_starttls_input(s, (const uint8_t *)"x\r\n", 3) != status)
            abort();
        if (strcmp(before, tw_starttls_detail(s)) != 0)
            abort();
    }
    if (tw_starttls_status_name(status) == NULL)
        abort();
    fuzz_check_classify(s, proto, status, bytes_in);
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 2 * TW_STARTTLS_TOTAL_MAX)
        return 0;
    for (int p = TW_STARTTLS_NONE + 1; p < TW_STARTTLS__COUNT; p++)
        fuzz_one(p, data + 1, size - 1, data[0]);
    return 0;
}
