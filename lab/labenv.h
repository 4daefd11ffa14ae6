/*
 * labenv.h - the lab's DIR/lab.env file, read by `tlsweep scan --lab` and by
 * the lab itself.
 *
 * `tlsweep lab up` writes KEY=VALUE lines (no quotes, absolute paths):
 * TLSWEEP_LAB_RESOLVER, TLSWEEP_LAB_CA, TLSWEEP_LAB_TARGETS.  The reader
 * lives here, below the scanner and the lab, so that both parse the format
 * with one piece of code.  Pure file reading; any thread.
 */
#ifndef TW_LAB_LABENV_H
#define TW_LAB_LABENV_H

#include <stddef.h>

#define TW_LAB_DEFAULT_DIR "./tlsweep-lab"

/*
 * Read DIR/lab.env (dir NULL = TW_LAB_DEFAULT_DIR) into the three buffers:
 * resolver "IP:PORT", the CA bundle path and the targets file path.
 * Returns 0, or -1 with a message in err[TW_ERRLEN] (may be NULL) when the
 * file is missing, unreadable, a value does not fit or a key is absent.
 */
int tw_lab_read_env(const char *dir, char *resolver, size_t resolver_len, char *ca, size_t ca_len,
                    char *targets, size_t targets_len, char *err);

#endif /* TW_LAB_LABENV_H */
