#!/usr/bin/env bash
# Every ```sql block in README.md and report/README.md runs without error
# (sqlite3 CLI, -bail) against a database with the current schema (views
# included) and the fixture rows.  report/README.md must hold at least five
# under "Example queries".
. "$(dirname "$0")/common.sh"
. "$SRCDIR/tests/golden/fixture.sh"

DB="$TMP/fx.db"
tw_fixture_db "$DB" || fail "cannot build the fixture database"

total=0
for readme in "$SRCDIR/README.md" "$SRCDIR/report/README.md"; do
    if [ ! -f "$readme" ]; then
        [ "$readme" = "$SRCDIR/README.md" ] && { echo "note: no $readme yet"; continue; }
        fail "$readme is missing"
    fi
    rm -rf "$TMP/blocks"; mkdir "$TMP/blocks"
    python3 - "$readme" "$TMP/blocks" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
blocks = re.findall(r"^```sql[ \t]*\n(.*?)^```", text, re.S | re.M)
for i, b in enumerate(blocks):
    open("%s/%03d.sql" % (sys.argv[2], i), "w", encoding="utf-8").write(b)
PY
    n=0
    for f in "$TMP"/blocks/*.sql; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        if ! out=$(sqlite3 -bail -batch "$DB" < "$f" 2>&1) || grep -qE '^(Error|Parse error)' <<<"$out"; then
            cat "$f" >&2
            fail "$(basename "$readme") block $n: $out"
        fi
        rows=$(printf '%s' "$out" | grep -c . || true)
        pass "$(basename "$(dirname "$readme")")/$(basename "$readme") sql block $n runs ($rows rows)"
    done
    if [ "$readme" = "$SRCDIR/report/README.md" ]; then
        [ "$n" -ge 5 ] || fail "report/README.md has $n sql blocks, expected at least 5"
        grep -q "^#\+ Example queries" "$readme" || fail "report/README.md has no 'Example queries' heading"
    fi
    total=$((total + n))
done
pass "$total sql blocks run"

# Schema 8's views on the fixture: latest keeps only the newest complete
# scan's endpoints (vanished.example, only in scan 1, leaves it; its row stays
# in results) and joins by result_id; problems and grades_order answer.
q() { sqlite3 -batch "$DB" "$1"; }
assert_eq "0|1" "$(q "select (select count(*) from latest where host = 'vanished.example'),
                              (select count(*) from results where host = 'vanished.example')")" \
    "latest drops the endpoint the newest complete scan no longer has"
assert_eq "$(q "select count(*) from results where scan_id = 2")" \
    "$(q "select count(*) from latest l join results r on r.id = l.result_id and r.scan_id = 2")" \
    "latest's result_id is the scan-2 row of every endpoint"
assert_eq "1|certificate|cert_expired|expired.example:443" \
    "$(q "select severity, kind, problem, example from problems limit 1")" "problems: worst first"
assert_eq "F" "$(q "select grade from grades_order order by severity desc limit 1")" "grades_order: F is worst"
# grade_rank() is registered on tlsweep's own connections: report --where uses it.
"$TLSWEEP" report --db "$DB" --scan 2 --format csv --where "grade_rank(grade) >= 7" -o "$TMP/rank.csv" \
    || fail "report --where grade_rank() failed"
assert_eq "better.example evil.example expired.example" \
    "$(tail -n +2 "$TMP/rank.csv" | grep -o '^2,[a-z.]*' | cut -d, -f2 | sort | tr '\n' ' ' | sed 's/ $//')" \
    "report --where 'grade_rank(grade) >= 7': the T and F endpoints"
