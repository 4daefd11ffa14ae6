/*
 * writer.h - the single database writer thread.
 *
 * Workers push finished results into a bounded queue; one thread takes them
 * and commits them in batches: every batch_rows results or every batch_ms
 * milliseconds, whichever comes first.  So at most one batch window of
 * results is lost if the process is killed (stated in the README).
 *
 * tw_writer_push() takes ownership of the result and blocks while the queue
 * is full (back-pressure: the scanner stops starting endpoints).  It may be
 * called from any thread.  tw_writer_stop() flushes, joins, and returns the
 * first error the writer met; after a write error, pushes are freed and
 * dropped, and tw_writer_failed() returns 1 so the scan can stop early.
 */
#ifndef TW_STORE_WRITER_H
#define TW_STORE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "store/model.h"
#include "store/store.h"

struct tw_writer;

/* The defaults, the one place they are set: a zero field in struct
 * tw_writer_opts (or opts NULL) means these.  batch_ms bounds what a crash
 * loses (README "crash-loss bound"). */
#define TW_WRITER_DEFAULT_QUEUE_CAP 8192
#define TW_WRITER_DEFAULT_BATCH_ROWS 2000
#define TW_WRITER_DEFAULT_BATCH_MS 250

struct tw_writer_opts {
    size_t queue_cap;  /* results waiting at most; 0 = TW_WRITER_DEFAULT_QUEUE_CAP */
    size_t batch_rows; /* commit after this many; 0 = TW_WRITER_DEFAULT_BATCH_ROWS */
    int batch_ms;      /* or after this long; <= 0 = TW_WRITER_DEFAULT_BATCH_MS */
};

/* Start the writer thread on st (borrowed; the writer is its only user until
 * stop).  opts may be NULL (all defaults); each field must be at most 2^24
 * (batch_ms at most an hour).  Returns 0, or -1 with err. */
int tw_writer_start(struct tw_store *st, int64_t scan_id, const struct tw_writer_opts *opts,
                    struct tw_writer **out, char *err);
/* Queue one result; takes ownership of r. */
void tw_writer_push(struct tw_writer *w, struct tw_result *r);
/* Results committed so far (any thread). */
uint64_t tw_writer_committed(struct tw_writer *w);
int tw_writer_failed(struct tw_writer *w);
/* Flush everything queued, join the thread, free w.  Returns 0 or -1 with
 * err (the first write error). */
int tw_writer_stop(struct tw_writer *w, char *err);

#endif /* TW_STORE_WRITER_H */
