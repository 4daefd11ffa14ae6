#!/usr/bin/env bash
# `meson install` (issue 17): installed into a temporary DESTDIR, the tree
# holds the binary (which runs), the manual page tlsweep(1), bash completion
# and the systemd units under share/.  The page lints clean with mandoc and
# covers every command, every failure class of the README, every exit code
# and every table of the README's schema; the completion knows every long
# option each command's --help lists; the installed units call the
# installed binary.  Binds nothing.
. "$(dirname "$0")/common.sh"
: "${BUILDDIR:?}" "${SRCDIR:?}"

DEST=$TMP/dest
meson install -C "$BUILDDIR" --destdir "$DEST" --no-rebuild --quiet > "$TMP/install.log" 2>&1 \
    || fail "meson install failed: $(tail -5 "$TMP/install.log")"

bin=$(cd "$DEST" && find . -path '*/bin/tlsweep' -type f | head -1)
[ -n "$bin" ] || fail "no bin/tlsweep under DESTDIR: $(cd "$DEST" && find . -type f)"
bin=${bin#.}
prefix=${bin%/bin/tlsweep}
pass "binary installed as $bin"
[ -x "$DEST$bin" ] || fail "$bin is not executable"
"$DEST$bin" --help > "$TMP/help.txt" || fail "installed tlsweep --help failed"
grep -q '^usage: tlsweep COMMAND' "$TMP/help.txt" || fail "installed tlsweep: unexpected --help"
pass "installed binary runs"

man=$DEST$prefix/share/man/man1/tlsweep.1
comp=$DEST$prefix/share/bash-completion/completions/tlsweep
units=$DEST$prefix/share/tlsweep/systemd
for f in "$man" "$comp" "$units/tlsweep-scan.service" "$units/tlsweep-scan.timer" \
         "$units/tlsweep-alert@.service"; do
    [ -s "$f" ] || fail "not installed: ${f#"$DEST"}"
    pass "installed ${f#"$DEST"}"
done

# --- the manual page ---
if command -v mandoc > /dev/null; then
    mandoc -T lint -W warning "$man" > "$TMP/lint.txt" 2>&1 || fail "mandoc -T lint: $(cat "$TMP/lint.txt")"
    pass "mandoc -T lint -W warning: clean"
    mandoc -T ascii "$man" > "$TMP/page.txt" 2>&1 || fail "mandoc cannot render the page"
elif command -v man > /dev/null; then
    echo "# mandoc not installed: rendering with man -l, no lint"
    MANWIDTH=100 man -l "$man" > "$TMP/page.txt" 2>/dev/null || fail "man -l cannot render the page"
else
    fail "neither mandoc nor man is installed (tests/packages-ci.txt lists mandoc)"
fi
# Plain text: drop the overstrike (bold/underline) that renderers emit.
sed -e 's/.\x08//g' "$TMP/page.txt" > "$TMP/plain.txt"
page=$TMP/plain.txt
for sec in NAME SYNOPSIS DESCRIPTION COMMANDS "FAILURE CLASSES" DATABASE "EXIT STATUS" EXAMPLES; do
    grep -qx "$sec" "$page" || fail "the page has no section $sec"
done
pass "sections: NAME, SYNOPSIS, DESCRIPTION, COMMANDS, FAILURE CLASSES, DATABASE, EXIT STATUS, EXAMPLES"
for cmd in scan report diff lab merge prune; do
    grep -qE "^ +tlsweep $cmd\$" "$page" || fail "no subsection for tlsweep $cmd"
done
pass "a subsection per command"
# Every class of the README's table, every table of its schema.
classes=$(sed -n '/^## Failure classes/,/^## /p' "$SRCDIR/README.md" | grep -oE '^\| `[a-z_]+`' | tr -d '|` ')
[ "$(echo "$classes" | wc -l)" -ge 20 ] || fail "could not read the README's classes"
for c in $classes; do
    grep -qE "^ +$c( |\$)" "$page" || fail "class $c is not in the page"
done
pass "every README class is in the page ($(echo "$classes" | wc -l))"
tables=$(sed -n '/^## The database/,/^## /p' "$SRCDIR/README.md" | grep -oE '^\| `[a-z_]+`' | tr -d '|` ')
for t in $tables; do
    grep -qE "(^| )$t( |,|\$)" "$page" || fail "table $t is not in the page"
done
pass "every README table is in the page ($(echo "$tables" | wc -l))"
for code in 0 1 2 3 4; do
    sed -n '/^EXIT STATUS/,/^[A-Z]/p' "$page" | grep -qE "^ +$code( |\$)" || fail "exit code $code is not in the page"
done
pass "exit codes 0-4 are in the page"

# --- bash completion ---
for cmd in scan report diff lab merge prune; do
    # The option lines of --help; lab's help lists its options in the usage.
    pat='^ +(-[a-zA-Z], )?--[a-z][a-z-]*(/--[a-z-]+)?'
    [ "$cmd" = lab ] && pat='\[--[a-z][a-z-]*'
    "$DEST$bin" "$cmd" --help 2>/dev/null | grep -oE -- "$pat" \
        | grep -oE -- '--[a-z][a-z-]*' | sort -u > "$TMP/opts-$cmd"
    [ -s "$TMP/opts-$cmd" ] || fail "no options read from tlsweep $cmd --help"
    # Ask the completion itself: tlsweep CMD --<TAB>.
    got=$(bash -c '. "$1"; COMP_WORDS=(tlsweep "$2" --); COMP_CWORD=2
                   [ "$2" = lab ] && { COMP_WORDS=(tlsweep lab up --); COMP_CWORD=3; }
                   _tlsweep; printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$cmd" | sort -u)
    missing=$(comm -23 "$TMP/opts-$cmd" <(echo "$got"))
    [ -z "$missing" ] || fail "completion of tlsweep $cmd lacks: $(echo $missing)"
done
pass "completion offers every long option of every command's --help"
compl() { bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _tlsweep; echo "${COMPREPLY[*]}"' _ "$comp" "$@"; }
assert_eq "merge" "$(compl tlsweep mer)" "completion: tlsweep mer -> merge"
assert_eq "--allow-missing" "$(compl tlsweep merge --al)" "completion: merge --al -> --allow-missing"
assert_eq "html" "$(compl tlsweep report --format h)" "completion: report --format h -> html"
assert_eq "up" "$(compl tlsweep lab u)" "completion: lab u -> up"

# --- systemd units call the installed binary ---
u=$units/tlsweep-scan.service
assert_eq 4 "$(grep -c "^ExecStart=$prefix/bin/tlsweep " "$u")" "tlsweep-scan.service: 4 ExecStart= of $prefix/bin/tlsweep"
assert_eq "" "$(grep '^ExecStart=' "$u" | grep -v "^ExecStart=$prefix/bin/tlsweep " || true)" \
    "tlsweep-scan.service calls no other binary"
if command -v systemd-analyze > /dev/null; then
    # As contrib/validate.sh does; verify wants the binary at its path, so
    # point the units at the installed copy first.
    mkdir -p "$TMP/units"
    sed "s|$prefix/bin/tlsweep|$DEST$prefix/bin/tlsweep|g" "$u" > "$TMP/units/tlsweep-scan.service"
    cp "$units/tlsweep-scan.timer" "$units/tlsweep-alert@.service" "$TMP/units/"
    systemd-analyze verify "$TMP/units/tlsweep-scan.service" "$TMP/units/tlsweep-scan.timer" \
        > "$TMP/verify.txt" 2>&1 || fail "systemd-analyze verify: $(cat "$TMP/verify.txt")"
    pass "systemd-analyze verify: the installed units"
fi
