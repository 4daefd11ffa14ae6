/*
 * dns_responder.c - the lab's authoritative DNS server for lab.tlsweep.test.
 *
 * UDP only (answers are far below 512 bytes, so nothing is ever truncated
 * and resolvers never switch to TCP).  NAME.lab.tlsweep.test has an A record
 * for each endpoint of the estate (lab.c) with an IPv4 address (BASE+N);
 * AAAA and every other type get NOERROR with no data.  The estate's DNS
 * rows say what else a name gets: nxdomain -> NXDOMAIN, servfail ->
 * SERVFAIL, dnstimeout -> never answered.  Other names in the zone without
 * an IPv4 address get NXDOMAIN; names outside it get REFUSED.
 *
 * Every packet is hostile: tw_lab_dns_answer checks each length before it
 * reads, accepts no compression pointers in the question, and drops (answers
 * nothing to) anything that is not one standard query with one question.
 * tw_lab_dns_serve handles a bounded number of datagrams per wake-up.
 */
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "lab/lab.h"
#include "lab/lab_int.h"

#define DNS_HDR 12
#define DNS_T_A 1
#define DNS_T_ANY 255
#define DNS_C_IN 1
#define DNS_C_ANY 255
#define DNS_RC_NOERROR 0
#define DNS_RC_SERVFAIL 2
#define DNS_RC_NXDOMAIN 3
#define DNS_RC_REFUSED 5
#define DNS_TTL 60
#define DNS_BATCH 64 /* datagrams handled per wake-up */

static void
dns_put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned
dns_get16(const uint8_t *p)
{
    return ((unsigned)p[0] << 8) | p[1];
}

/* Does name (lowercase, dotted, no trailing dot) end in ".lab.tlsweep.test"?
 * On yes, *label and *label_len give the part before it. */
static int
dns_in_zone(const char *name, size_t len, const char **label, size_t *label_len)
{
    static const char zone[] = "." TW_LAB_DOMAIN;
    size_t zlen = sizeof(zone) - 1;

    if (len <= zlen || memcmp(name + len - zlen, zone, zlen) != 0)
        return 0;
    *label = name;
    *label_len = len - zlen;
    return 1;
}

static int
dns_label_is(const char *label, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(label, want, len) == 0;
}

size_t
tw_lab_dns_answer(const uint8_t *q, size_t qlen, uint8_t *out, size_t cap, uint32_t base)
{
    char name[256];
    size_t nlen = 0, off = DNS_HDR, qend, n, label_len = 0;
    const char *label = NULL;
    const struct tw_lab_endpoint *e;
    unsigned qtype, qclass, rcode = DNS_RC_NOERROR;
    int addr = 0;

    if (qlen < DNS_HDR || qlen > 4096)
        return 0;
    if ((q[2] & 0x80) != 0 || ((q[2] >> 3) & 0x0f) != 0) /* a response, or not QUERY */
        return 0;
    if (dns_get16(q + 4) != 1)
        return 0;
    /* QNAME: uncompressed labels only, bounded by the packet and by 255. */
    for (;;) {
        size_t l;

        if (off >= qlen)
            return 0;
        l = q[off++];
        if (l == 0)
            break;
        if (l > 63 || off + l > qlen || nlen + l + 1 >= sizeof(name))
            return 0;
        if (nlen > 0)
            name[nlen++] = '.';
        for (size_t i = 0; i < l; i++) {
            uint8_t c = q[off + i];

            if (c == '.' || c == 0)
                return 0; /* would make the dotted form ambiguous */
            name[nlen++] = (char)((c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c);
        }
        off += l;
    }
    name[nlen] = '\0';
    if (off + 4 > qlen)
        return 0;
    qtype = dns_get16(q + off);
    qclass = dns_get16(q + off + 2);
    qend = off + 4;

    if (qclass != DNS_C_IN && qclass != DNS_C_ANY)
        rcode = DNS_RC_REFUSED;
    else if (dns_label_is(name, nlen, TW_LAB_DOMAIN))
        rcode = DNS_RC_NOERROR; /* the zone apex: no data */
    else if (!dns_in_zone(name, nlen, &label, &label_len))
        rcode = DNS_RC_REFUSED;
    else if ((e = tw_lab_estate_find(label, label_len)) == NULL)
        rcode = DNS_RC_NXDOMAIN;
    else if (e->kind == TW_LAB_K_DNS_TIMEOUT)
        return 0; /* never answered: the client's timer must fire */
    else if (e->kind == TW_LAB_K_DNS_SERVFAIL)
        rcode = DNS_RC_SERVFAIL;
    else if (e->addr > 0)
        addr = e->addr;
    else
        rcode = DNS_RC_NXDOMAIN; /* the nxdomain row, and names without an IPv4 address */

    n = qend + ((rcode == DNS_RC_NOERROR && addr > 0) ? 16 : 0);
    if (n > cap)
        return 0;
    memcpy(out, q, qend);                            /* id and the question, as asked */
    out[2] = (uint8_t)(0x80 | 0x04 | (q[2] & 0x01)); /* QR, AA, RD echoed */
    out[3] = (uint8_t)(0x80 | rcode);                /* RA */
    dns_put16(out + 4, 1);
    dns_put16(out + 6, 0);
    dns_put16(out + 8, 0);
    dns_put16(out + 10, 0);
    if (rcode == DNS_RC_NOERROR && addr > 0 && (qtype == DNS_T_A || qtype == DNS_T_ANY)) {
        uint8_t *a = out + qend;
        uint32_t ip = base + (uint32_t)addr;

        dns_put16(out + 6, 1);
        dns_put16(a, 0xc000 | DNS_HDR); /* pointer to the question's name */
        dns_put16(a + 2, DNS_T_A);
        dns_put16(a + 4, DNS_C_IN);
        a[6] = 0;
        a[7] = 0;
        dns_put16(a + 8, DNS_TTL);
        dns_put16(a + 10, 4);
        a[12] = (uint8_t)(ip >> 24);
        a[13] = (uint8_t)(ip >> 16);
        a[14] = (uint8_t)(ip >> 8);
        a[15] = (uint8_t)ip;
        return qend + 16;
    }
    return qend; /* NXDOMAIN, SERVFAIL, REFUSED or no data (AAAA) */
}

int
tw_lab_dns_open(const struct in_addr *addr, unsigned port, char *err)
{
    struct sockaddr_in sin;
    int fd;

    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        tw_errf(err, "dns socket: %s", strerror(errno));
        return -1;
    }
    /* No SO_REUSEADDR: on UDP it would let a second lab (or anything
     * else) share the port silently instead of failing to start. */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr = *addr;
    sin.sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        char ip[INET_ADDRSTRLEN];

        inet_ntop(AF_INET, addr, ip, sizeof(ip));
        tw_errf(err, "dns bind %s:%u: %s", ip, port, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

void
tw_lab_dns_serve(int fd, uint32_t base)
{
    uint8_t in[1500], out[TW_LAB_DNS_MAX];

    for (int i = 0; i < DNS_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof(from);
        ssize_t n;
        size_t m;

        n = recvfrom(fd, in, sizeof(in), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN, or an ICMP error from an earlier answer */
        }
        m = tw_lab_dns_answer(in, (size_t)n, out, sizeof(out), base);
        if (m > 0)
            (void)sendto(fd, out, m, MSG_DONTWAIT, (struct sockaddr *)&from, fromlen);
    }
}
