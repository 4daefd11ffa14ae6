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

/* Returns the exit code (0 ok, 2 usage/input error, 3 runtime failure);
 * err holds a message when it is not 0. */
int tw_scan_run(const struct tw_config *cfg, char *err);

#endif /* TW_SCANNER_SCAN_H */
