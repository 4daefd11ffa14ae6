/*
 * prune.h - retention for a nightly database: the operation behind
 * `tlsweep prune` (whose options, help and output are cli/prune_cli.c).
 *
 * Pure library code: it prints nothing and parses no options.  What it
 * selected comes back through the per-scan callback, what it removed
 * through the OUT struct tw_prune_stats.  Called from one thread; it opens
 * its own connection and keeps no state between calls.
 *
 * A scan is a candidate when its status is not 'running' (a running scan,
 * or one a crash left 'running' for --resume, is never touched and never
 * counted).  Candidates are ordered newest first (started_at, then id).
 * keep >= 0 selects every candidate after the newest `keep`; older_than >= 0
 * selects every candidate started more than `older_than` days before `now`.
 * With both rules, a scan is removed only when both select it (keep the
 * newest N *and* everything younger than DAYS).
 *
 * Each selected scan is deleted with everything that refers to it: its
 * result_chain rows, its results, and rows of any other table whose foreign
 * key points at results(id) or scans(id) (found with
 * pragma_foreign_key_list, so tables added by later schema versions are
 * covered whether or not they declare ON DELETE CASCADE).  Deletion is
 * explicit, so the counts are exact and it does not depend on
 * PRAGMA foreign_keys.  Results go in transactions of at most `batch` rows
 * so that a scan writing to the same database is never locked out for long
 * (its writer retries for 60 s); the scans row goes last.  If prune is
 * killed half-way, a scan can be left partly deleted: it is still selected,
 * and the next prune finishes it.
 *
 * Then certificates that no result_chain or results row (nor any other
 * table's foreign key) refers to are deleted, and, unless vacuum is 0 or a
 * scan is running, the file is rebuilt with VACUUM and the WAL truncated.
 * Without VACUUM the freed pages stay in the file and later scans reuse
 * them.
 *
 * dry_run computes the same selection and counts in a transaction that is
 * rolled back.
 *
 * Returns 0, or -1 with a message in err[TW_ERRLEN].
 */
#ifndef TW_STORE_PRUNE_H
#define TW_STORE_PRUNE_H

#include <stdint.h>
#include <time.h>

#define TW_PRUNE_BATCH_DEFAULT 20000 /* results per transaction */

struct tw_prune_opts {
    int64_t keep;       /* keep the newest N candidates; -1 = no such rule */
    int64_t older_than; /* days; -1 = no such rule */
    time_t now;         /* reference time for older_than */
    int dry_run;
    int vacuum;    /* 1 = VACUUM when something was removed */
    int64_t batch; /* results per transaction; <= 0 = TW_PRUNE_BATCH_DEFAULT */
};

struct tw_prune_stats {
    uint64_t scans;       /* scans removed (or that would be) */
    uint64_t results;     /* results rows */
    uint64_t chain_rows;  /* result_chain rows */
    uint64_t other_rows;  /* rows of other tables referring to results or scans */
    uint64_t certs;       /* certificates no longer referenced */
    int64_t bytes_before; /* database + WAL file sizes */
    int64_t bytes_after;
    int vacuumed; /* 1 when VACUUM ran */
    int running;  /* scans left alone because they are 'running' */
};

/* Called once per selected scan, oldest first, before anything is removed
 * (and in a dry run too), on the caller's thread.  Strings may be NULL and
 * are valid only during the call. */
typedef void tw_prune_scan_cb(void *arg, int64_t scan_id, const char *label, const char *started_at,
                              const char *status, int64_t n_results);

/* Prune the database at path (which must exist) by opts.  cb may be NULL;
 * arg is passed to it.  stats (OUT) is zeroed first and filled as far as
 * the run got. */
int tw_prune_run(const char *path, const struct tw_prune_opts *opts, tw_prune_scan_cb *cb,
                 void *arg, struct tw_prune_stats *stats, char *err);

#endif /* TW_STORE_PRUNE_H */
