/*
 * scan.h - the scan orchestration (reader thread, workers, writer,
 * progress, signals, resume).
 *
 * tw_scan_run runs one scan with a configuration that cli/scan_cli.c
 * parsed from `tlsweep scan`'s options.  Called from the main thread.
 */
#ifndef TW_SCANNER_SCAN_H
#define TW_SCANNER_SCAN_H

#include "scanner/config.h"

/* The exit code of an interrupted scan (cli/cli.h TW_EXIT_INTERRUPTED;
 * scanner/ may not include cli/, so scan_cli.c checks that they agree). */
#define TW_SCAN_EXIT_INTERRUPTED 4

/*
 * Run one scan, or with cfg->resume finish a stored one (its stored options
 * reloaded; see config.h).  Returns the exit code: 0 done; 2 usage or input
 * error (no valid target, a --resume that contradicts the stored options,
 * stdin closed); 3 runtime failure (database, resources, the scan leased by
 * another live process); TW_SCAN_EXIT_INTERRUPTED after SIGINT, SIGTERM or
 * SIGHUP.  err holds a message for 2 and 3 (empty for 4: the summary says
 * it).  A second signal _exit()s with TW_SCAN_EXIT_INTERRUPTED at once.
 */
int tw_scan_run(const struct tw_config *cfg, char *err);

#endif /* TW_SCANNER_SCAN_H */
