#!/usr/bin/env bash
# Formatting is checked by a machine, not by review (STYLE G18): every C
# file must be what clang-format (.clang-format at the top) makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h'); do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
[ $bad = 0 ] && echo "clang-format: every C file formatted"
exit $bad
