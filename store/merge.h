/*
 * merge.h - `tlsweep merge OUT.db IN.db...`: combine shard databases.
 *
 * A fleet scanned as `--shard 1/N` ... `--shard N/N` on N machines leaves N
 * databases.  tw_store_merge() folds the newest scan of each input into one
 * scan of OUT (created and migrated when missing), so that report and diff
 * see the whole estate.  Called from the main thread; it opens its own
 * connections and holds no state between calls.
 *
 * The inputs must describe shards of one scan, else nothing is written:
 *  - their labels agree and their targets_sha256 agree (the same target
 *    list), or the message names the two files that differ;
 *  - each is a shard "K/N" with the same N, and no K appears twice
 *    ("shard 2/4 appears in a.db and b.db");
 *  - OUT is not one of the inputs.
 *
 * The set must also be complete: all N shards present and each scan
 * 'done'.  A shard whose task was killed (its scan still 'running' or
 * 'interrupted') or never started would otherwise vanish from the estate
 * without a word, so an incomplete set is refused, naming the missing and
 * unfinished shards, unless flags holds TW_MERGE_ALLOW_MISSING.  Then the
 * merge goes ahead and the merged scan is marked scans.partial = 1: its
 * status is still 'done' (it is finished; nothing will add the missing
 * shards to it), and report and diff say it is partial.
 *
 * The merged scan has shard NULL, label and targets_sha256 of the inputs,
 * started_at the earliest and finished_at the latest of theirs, status
 * 'done', and partial 0 or 1.  Results are copied with their chains (result
 * ids renumbered), certificates are stored once by SHA-256.
 *
 * Idempotent: a scan in OUT with shard NULL and the same label,
 * targets_sha256 and started_at is the earlier merge of these shards; it is
 * emptied and refilled under its id, never duplicated.  Each input is copied
 * in its own transaction (SQLite attaches at most 10 databases), and the
 * merged scan reads 'running' until the last one commits; if merge dies
 * half-way, running it again repairs OUT.
 *
 * Returns 0, or -1 with a message in err[TW_ERRLEN].  On success err is
 * empty, or for a partial merge says which shards are missing or unfinished.
 */
#ifndef TW_STORE_MERGE_H
#define TW_STORE_MERGE_H

#include <stddef.h>

/* Merge an incomplete shard set instead of refusing it; mark it partial. */
#define TW_MERGE_ALLOW_MISSING 1u
/*
 * merge --any: the inputs' newest scans need not be shards of one scan
 * (labels, target lists and shard marks may differ), but their target sets
 * must be disjoint: an endpoint (host, port, sni, starttls) that two inputs
 * both scanned is refused ("target sets overlap: a.db and b.db both scanned
 * HOST:PORT"), nothing written.  Each scan must be 'done' (with
 * TW_MERGE_ALLOW_MISSING an unfinished one is merged, marked partial).  The
 * merged scan takes the inputs' common label (else "merged") and --now,
 * and no targets_sha256 or options.
 */
#define TW_MERGE_ANY 2u

int tw_store_merge(const char *out_path, const char *const *in_paths, size_t n, unsigned flags,
                   char *err);

#endif /* TW_STORE_MERGE_H */
