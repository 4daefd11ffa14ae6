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

#define TW_SCHEMA_VERSION 14

/* Returns 0, or -1 with a message in err[TW_ERRLEN]. */
int tw_schema_migrate(sqlite3 *db, char *err);

/* Set the connection PRAGMAs (WAL, synchronous=NORMAL, foreign keys, busy
 * timeout).  read_only connections skip journal_mode.  Returns 0 or -1. */
int tw_schema_pragmas(sqlite3 *db, int read_only, char *err);

/* Register the SQL functions every tlsweep connection offers its users'
 * SQL: grade_rank(grade), the letter's severity as table grades_order holds
 * it (0 = A+ best ... 9 = F worst; NULL when not a grade).  Views never use
 * it (plain sqlite3 has no such function; they join grades_order).
 * Returns 0 or -1 with a message in err[TW_ERRLEN]. */
int tw_schema_functions(sqlite3 *db, char *err);

#endif /* TW_STORE_SCHEMA_H */
