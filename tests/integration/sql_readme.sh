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
