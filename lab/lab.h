/*
 * lab.h - `tlsweep lab up|down|targets|ca|status`: a local estate of TLS
 * endpoints, each broken in one known way (DESIGN §2, issue 4).
 *
 * The lab is also the integration tests' fixture: each target line that
 * `lab targets` prints comes after a "# expect: CLASS ISSUES" line saying
 * which primary class and which issue set (DESIGN §3 names, precedence
 * order, "ok" when none) a correct scanner must report.  All of it comes
 * from one const table, the estate (tw_lab_estate[] in lab_int.h), which
 * may be read from any thread.
 *
 * Addresses: endpoint N listens on BASE+N (127.77.0.N by default, N >= 2) on
 * PORT; the DNS responder is on BASE+1 (127.77.0.1:8053).  Names are
 * NAME.lab.tlsweep.test.  `lab up` writes DIR/lab.env with the keys
 * TLSWEEP_LAB_RESOLVER, TLSWEEP_LAB_CA and TLSWEEP_LAB_TARGETS (key=value,
 * no quotes, absolute paths), read back by tw_lab_read_env.
 */
#ifndef TW_LAB_LAB_H
#define TW_LAB_LAB_H

#include "lab/labenv.h"

#include <stddef.h>
#include <stdio.h>

#define TW_LAB_DOMAIN "lab.tlsweep.test"
#define TW_LAB_DEFAULT_BASE "127.77.0.0"
#define TW_LAB_DEFAULT_PORT 8443
/* Not 5353: mDNS daemons (avahi) hold *:5353 on many desktops. */
#define TW_LAB_DEFAULT_DNS_PORT 8053

/* The two target lists of the estate. */
enum tw_lab_group {
    TW_LAB_G_MAIN = 0, /* `lab targets`, DIR/targets.txt: the failure classes, STARTTLS and
                        * grading endpoints, which a scan must survive without effort */
    TW_LAB_G_HOSTILE,  /* `lab targets --hostile`, DIR/hostile.txt: servers that attack the
                        * scanner, kept apart so that a scan of the main group never meets
                        * them unless asked */
};

/*
 * Write the target list for port (and port+1 for [::1]) to f: for each
 * entry a "# expect: CLASS ISSUES" line, then the target line.  Returns 0,
 * or -1 on a write error.
 */
int tw_lab_write_targets(FILE *f, unsigned port);
/* The same for the hostile group. */
int tw_lab_write_hostile_targets(FILE *f, unsigned port);
/* The number of target lines of a group's list. */
size_t tw_lab_count_targets(enum tw_lab_group group);

#endif /* TW_LAB_LAB_H */
