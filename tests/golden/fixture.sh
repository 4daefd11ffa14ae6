# fixture.sh - sourced by the report/diff integration tests.
#
# tw_fixture_schema DB   create an empty tlsweep database at the current
#                        schema version: the DDL is read from the `steps`
#                        array in $SRCDIR/store/schema.c (so the tests follow
#                        every migration) and user_version is set to the
#                        number of steps, as tw_schema_migrate() does.
# tw_fixture_db DB       the schema plus tests/golden/fixture.sql: three scans
#                        (1 done, 2 done, 3 interrupted) with every kind of
#                        change between 1 and 2 and hostile values.

tw_fixture_schema() {
    python3 - "$SRCDIR/store/schema.c" "$1" <<'PY'
import re, sqlite3, sys
src = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"steps\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
if not m:
    sys.exit("fixture: no steps[] array in schema.c")
body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
steps, cur, pos = [], [], 0
lit = re.compile(r'"((?:[^"\\]|\\.)*)"')
while pos < len(body):
    c = body[pos]
    if c == '"':
        mm = lit.match(body, pos)
        cur.append(bytes(mm.group(1), "utf-8").decode("unicode_escape"))
        pos = mm.end()
    elif c == ',':
        steps.append("".join(cur)); cur = []; pos += 1
    else:
        pos += 1
if cur:
    steps.append("".join(cur))
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA journal_mode=WAL")
for s in steps:
    db.executescript(s)
db.execute("PRAGMA user_version=%d" % len(steps))
db.commit()
db.close()
PY
}

tw_fixture_db() {
    rm -f "$1" "$1-wal" "$1-shm"
    tw_fixture_schema "$1" || return 1
    sqlite3 -bail "$1" < "$SRCDIR/tests/golden/fixture.sql"
}
