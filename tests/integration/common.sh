# Shared helpers for the integration tests (sourced, not run).
# Every server a test starts is recorded and killed by PID on exit.
set -euo pipefail
: "${TLSWEEP:?TLSWEEP must name the built tlsweep binary}"
TMP=$(mktemp -d /tmp/tlsweep-test.XXXXXX)
# TLSWEEP_WRAPPER (e.g. "valgrind --error-exitcode=1 ...", set by
# `meson test --setup=valgrind`) prefixes every tlsweep run of the tests.
TLSWEEP_REAL=$TLSWEEP
if [ -n "${TLSWEEP_WRAPPER:-}" ]; then
    printf '#!/bin/sh\nexec %s %q "$@"\n' "$TLSWEEP_WRAPPER" "$TLSWEEP" > "$TMP/tlsweep-wrapped"
    chmod +x "$TMP/tlsweep-wrapped"
    TLSWEEP=$TMP/tlsweep-wrapped
fi
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok - $*"; }

# assert_eq EXPECTED ACTUAL MESSAGE
assert_eq() {
    if [ "$1" != "$2" ]; then
        fail "$3: expected '$1', got '$2'"
    fi
    pass "$3"
}

# A free TCP port on 127.0.0.1 (bound and released; good enough for tests).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# expect_rc WANT CMD...: run CMD (stdin closed; its output in $TMP/out and
# $TMP/err) and fail unless it exits WANT.
expect_rc() {
    local want=$1; shift
    local rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
    [ "$rc" = "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$TMP/err")"
    pass "'$*' exits $want"
}

# wait_port HOST PORT: wait (bounded, 10 s) until something accepts there.
wait_port() {
    local i
    for i in $(seq 1 100); do
        if python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1],int(sys.argv[2])),0.2); s.close()' "$1" "$2" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    fail "nothing listens on $1:$2"
}

# make_cert DIR NAME: a self-signed RSA-2048 certificate for NAME (test-time key).
make_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/$2.key" -out "$1/$2.crt" \
        -days 30 -subj "/CN=$2" -addext "subjectAltName=DNS:$2,IP:127.0.0.1" 2>/dev/null
}

q() { sqlite3 -batch -noheader "$DB" "$1"; }
