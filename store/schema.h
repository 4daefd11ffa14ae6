/*
 * schema.h - the database contract (DESIGN §4) and its migrations.
 *
 * The schema is versioned with PRAGMA user_version; tw_schema_migrate()
 * brings any older database up to TW_SCHEMA_VERSION inside one transaction
 * and refuses a database newer than this binary.  Called by whoever opens
 * the database, on that thread.
 */
#ifndef TW_STORE_SCHEMA_H
#define TW_STORE_SCHEMA_H

#include <sqlite3.h>

#define TW_SCHEMA_VERSION 8

/* Returns 0, or -1 with a message in err[TW_ERRLEN]. */
int tw_schema_migrate(sqlite3 *db, char *err);

/* Set the connection PRAGMAs (WAL, synchronous=NORMAL, foreign keys, busy
 * timeout).  read_only connections skip journal_mode.  Returns 0 or -1. */
int tw_schema_pragmas(sqlite3 *db, int read_only, char *err);

#endif /* TW_STORE_SCHEMA_H */
