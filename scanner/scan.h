/*
 * scan.h - `tlsweep scan` and `tlsweep merge`: option parsing and the scan
 * orchestration (reader thread, workers, writer, progress, signals, resume).
 *
 * tw_scan_main takes the subcommand's argv (argv[0] = "scan") and returns
 * the exit code (0 ok, 2 usage/input error, 3 runtime failure).
 * tw_scan_run runs one scan with a parsed configuration.
 */
#ifndef TW_SCANNER_SCAN_H
#define TW_SCANNER_SCAN_H

#include "scanner/config.h"

int tw_scan_main(int argc, char **argv);
int tw_merge_main(int argc, char **argv);

/* Returns the exit code; err holds a message when it is not 0. */
int tw_scan_run(const struct tw_config *cfg, char *err);

#endif /* TW_SCANNER_SCAN_H */
