/*
 * vuln.c - the vulnerability probes' records and the reader of what follows
 * the first flight (see vuln.h).
 */
#include <string.h>

#include "scanner/hello.h"
#include "scanner/vuln.h"

size_t
tw_vuln_heartbeat_request(uint16_t version, uint8_t *out, size_t cap)
{
    /* Record type 24 (heartbeat), length 3: HeartbeatMessage type 1
     * (request), payload_length TW_VULN_HB_CLAIM, no payload, no padding. */
    if (cap < TW_VULN_HB_REQ_LEN)
        return 0;
    out[0] = 24;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)(version & 0xff);
    out[3] = 0;
    out[4] = 3;
    out[5] = 1;
    out[6] = (uint8_t)(TW_VULN_HB_CLAIM >> 8);
    out[7] = (uint8_t)(TW_VULN_HB_CLAIM & 0xff);
    return TW_VULN_HB_REQ_LEN;
}

size_t
tw_vuln_ccs_records(uint16_t version, uint8_t *out, size_t cap)
{
    if (cap < TW_VULN_CCS_LEN)
        return 0;
    for (size_t i = 0; i < 2; i++) {
        uint8_t *r = out + 6 * i;

        r[0] = 20; /* change_cipher_spec */
        r[1] = (uint8_t)(version >> 8);
        r[2] = (uint8_t)(version & 0xff);
        r[3] = 0;
        r[4] = 1;
        r[5] = 1;
    }
    return TW_VULN_CCS_LEN;
}

void
tw_vuln_tail(const uint8_t *p, size_t len, struct tw_vuln_tail *t)
{
    size_t off = 0;

    memset(t, 0, sizeof(*t));
    while (len >= 5 && off <= len - 5) {
        size_t rl = ((size_t)p[off + 3] << 8) | p[off + 4];

        if (rl > TW_HELLO_RECORD_ABSURD || rl > len - off - 5)
            return;
        if (p[off] == 22) { /* the flight */
            off += 5 + rl;
            continue;
        }
        t->n_records++;
        if (p[off] == 21 && rl >= 2) {
            t->has_alert = 1;
            t->alert_level = p[off + 5];
            t->alert_desc = p[off + 6];
            return;
        }
        if (p[off] == 24) {
            t->has_heartbeat = 1;
            t->heartbeat_len = rl;
            return;
        }
        off += 5 + rl;
    }
}

int
tw_vuln_tail_complete(const uint8_t *p, size_t len)
{
    struct tw_server_flight f;
    struct tw_vuln_tail t;
    int rc = tw_hello_parse(p, len, &f);

    if (rc == TW_HELLO_NEED_MORE)
        return 0;
    if (rc == TW_HELLO_ERROR || f.has_alert || !f.has_server_hello)
        return 1;
    tw_vuln_tail(p, len, &t);
    return t.has_alert || t.has_heartbeat;
}

enum tw_vuln_tb
tw_vuln_ticketbleed(const struct tw_server_flight *f, uint16_t version, size_t sid_len,
                    uint8_t sid0)
{
    if (f == NULL)
        return TW_VULN_TB_NO_ANSWER;
    if (!f->has_server_hello || f->is_hrr || f->version != version)
        return f->has_alert ? TW_VULN_TB_ALERT : TW_VULN_TB_NO_ANSWER;
    if (f->has_certificate || f->has_server_hello_done)
        return TW_VULN_TB_FULL;
    if (f->session_id_len == 32 && sid_len < 32 && f->session_id_first == sid0)
        return TW_VULN_TB_VULNERABLE;
    if (f->session_id_len == sid_len && sid_len > 0 && f->session_id_first == sid0)
        return TW_VULN_TB_ECHOED;
    return TW_VULN_TB_OTHER_ID;
}
