/*
 * lab.h - `tlsweep lab up|down|targets|ca|status`: a local estate of TLS
 * endpoints, each broken in one known way (DESIGN §2, issue 4).
 *
 * The lab is also the integration tests' fixture: tw_lab_endpoints[] says,
 * for every target line `lab targets` prints, which primary class and which
 * issue set (DESIGN §3 names, precedence order, "ok" when none) a correct
 * scanner must report.  The table is const and may be read from any thread.
 *
 * Addresses: endpoint N listens on BASE+N (127.77.0.N by default, N >= 2) on
 * PORT; the DNS responder is on BASE+1 (127.77.0.1:8053).  Names are
 * NAME.lab.tlsweep.test.  `lab up` writes DIR/lab.env with the keys
 * TLSWEEP_LAB_RESOLVER, TLSWEEP_LAB_CA and TLSWEEP_LAB_TARGETS (key=value,
 * no quotes, absolute paths), read back by tw_lab_read_env.
 */
#ifndef TW_TESTS_LAB_LAB_H
#define TW_TESTS_LAB_LAB_H

#include "lab/labenv.h"

#include <stddef.h>
#include <stdio.h>

#define TW_LAB_DOMAIN "lab.tlsweep.test"
#define TW_LAB_DEFAULT_BASE "127.77.0.0"
#define TW_LAB_DEFAULT_PORT 8443
/* Not 5353: mDNS daemons (avahi) hold *:5353 on many desktops. */
#define TW_LAB_DEFAULT_DNS_PORT 8053

/* How a target line addresses its endpoint. */
enum tw_lab_target_form {
    TW_LAB_T_NAME = 0,    /* "NAME.lab.tlsweep.test:PORT" (SNI = the name) */
    TW_LAB_T_NAME_NO_SNI, /* "NAME.lab.tlsweep.test:PORT -" (no SNI sent) */
    TW_LAB_T_IPV6,        /* "[::1]:PORT+1" (address target, no SNI) */
    TW_LAB_T_STARTTLS,    /* "SCHEME://NAME.lab.tlsweep.test:PORT" (issue 9; SNI = the name) */
};

struct tw_lab_endpoint {
    const char *name; /* the DNS label: NAME.lab.tlsweep.test */
    int addr;         /* N of BASE+N; 0 for the [::1] endpoint and DNS-only names */
    enum tw_lab_target_form form;
    const char *cls;    /* expected primary class (DESIGN §3 spelling) */
    const char *issues; /* expected issues, precedence order, "ok" when none */
    const char *scheme; /* TW_LAB_T_STARTTLS: the target scheme ("smtp"); else NULL */
};

/* Every target line of `lab targets`, in that order. */
extern const struct tw_lab_endpoint tw_lab_endpoints[];
extern const size_t tw_lab_n_endpoints;

/* The hostile group (`lab targets --hostile`, DIR/hostile.txt): servers that
 * attack the scanner (huge or deep chains, hostile certificate fields,
 * truncated, absurd, slow and endless records, renegotiation, an alert
 * after ServerHello).  Kept apart so that a scan of the normal estate
 * (one endpoint per failure class plus the grading vectors) never meets
 * them unless asked.  Same row format, addresses BASE+40.. */
extern const struct tw_lab_endpoint tw_lab_hostile[];
extern const size_t tw_lab_n_hostile;

/*
 * Write the target list for port (and port+1 for [::1]) to f: for each
 * entry a "# expect: CLASS ISSUES" line, then the target line.  Returns 0,
 * or -1 on a write error.
 */
int tw_lab_write_targets(FILE *f, unsigned port);
/* The same for the hostile group. */
int tw_lab_write_hostile_targets(FILE *f, unsigned port);

#endif /* TW_TESTS_LAB_LAB_H */
