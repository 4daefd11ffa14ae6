/*
 * fixture.h - the unit tests' temporary database: a fresh mkdtemp
 * directory under /tmp, the path of a database in it, optionally a store
 * opened on that path, and removal of all of it at the end.
 *
 * Used from cmocka setup and teardown functions (test_store, test_prune,
 * test_writer): one struct fx per test, owned by the test's state, touched
 * by one thread.  No timing: nothing here waits.
 */
#ifndef TW_TESTS_UNIT_FIXTURE_H
#define TW_TESTS_UNIT_FIXTURE_H

#include <stddef.h>

struct tw_store;

struct fx {
    char dir[64];        /* the test's own directory, /tmp/tw-test-TAG-XXXXXX */
    char db[128];        /* DIR/tlsweep.db: a path only, no file is made */
    struct tw_store *st; /* the store fx_open_store opened on db, or NULL */
};

/* Make the directory and the database path; tag names the test (a short
 * word).  Returns a new fixture (free it with fx_free), or NULL with a
 * message on stderr. */
struct fx *fx_new(const char *tag);
/* Open a read-write store on f->db into f->st.  Returns 0, or -1 with a
 * message on stderr. */
int fx_open_store(struct fx *f);
/* The path of the file `name` in the fixture's directory, into out[len]. */
void fx_path(const struct fx *f, const char *name, char *out, size_t len);
/* Close f->st when open, remove every file of the directory, then the
 * directory, and free f.  NULL is a no-op. */
void fx_free(struct fx *f);

#endif /* TW_TESTS_UNIT_FIXTURE_H */
