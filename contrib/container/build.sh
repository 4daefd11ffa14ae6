#!/bin/sh
# build.sh [IMAGE]: build the tlsweep container image from Debian's archive
# alone, without any registry, and (with --check) scan a loopback endpoint
# with it.
#   1. mmdebstrap makes two Debian 12 (bookworm) root file systems: a build
#      base (compiler, meson, -dev packages) and a runtime base (minbase,
#      the shared libraries tlsweep links, ca-certificates);
#   2. `podman import` turns each into a local image;
#   3. `podman build` runs contrib/container/Containerfile on a copy of the
#      source tree (without build directories and .git).
# IMAGE defaults to localhost/tlsweep:VERSION (VERSION from meson.build).
# DEBIAN_MIRROR overrides http://deb.debian.org/debian.  Needs root (or a
# rootless podman setup), mmdebstrap and podman.  PODMAN_OPTS goes before
# every podman command: on a host whose cgroups are in hybrid mode crun
# refuses to start containers, and PODMAN_OPTS='--runtime runc' (apt-get
# install runc) works.  Containers get nofile 8192 and nproc 4096: podman's
# defaults are higher than a host without CAP_SYS_RESOURCE may grant.
#
#   contrib/container/build.sh [--check] [IMAGE]
#
# REUSE_BASES=1 skips mmdebstrap and the imports when both base images
# exist (a rebuild after a source change).
#
# --check: after the build, start an `openssl s_server` on a loopback port
# from the kernel and run `tlsweep scan` in the image against it and a port
# where nothing listens (--network host), then check the classes with the
# image's own `tlsweep report --format csv`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
version=$(sed -n "s/^ *version *: *'\([^']*\)'.*/\1/p" "$src/meson.build" | head -1)
image=${1:-localhost/tlsweep:$version}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
for cmd in mmdebstrap podman; do
    command -v "$cmd" > /dev/null || { echo "build.sh: $cmd is not installed (apt-get install mmdebstrap podman)" >&2; exit 2; }
done
# PODMAN_OPTS is split into words on purpose.
# shellcheck disable=SC2086
pm() { command podman ${PODMAN_OPTS:-} "$@"; }
limits="--ulimit nofile=8192:8192 --ulimit nproc=4096:4096"
work=$(mktemp -d /tmp/tlsweep-image.XXXXXX)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t0=$(date +%s)
step() { echo "build.sh: $* ($(( $(date +%s) - t0 )) s)"; }

# Debian 12 "slim": no documentation, manual pages or locales.
slim="--dpkgopt=path-exclude=/usr/share/doc/* --dpkgopt=path-exclude=/usr/share/man/*
      --dpkgopt=path-exclude=/usr/share/locale/* --dpkgopt=path-include=/usr/share/doc/*/copyright"
if [ "${REUSE_BASES:-0}" = 1 ] && pm image exists localhost/tlsweep-runtime-base:bookworm &&
    pm image exists localhost/tlsweep-build-base:bookworm; then
    step "REUSE_BASES=1: using the base images imported earlier"
else
step "mmdebstrap: the runtime base"
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=minbase $slim \
    --include=libssl3,libev4,libc-ares2,libsqlite3-0,ca-certificates \
    bookworm "$work/runtime.tar" "$mirror"
step "mmdebstrap: the build base"
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=minbase $slim \
    --include=build-essential,meson,ninja-build,pkg-config,libssl-dev,libev-dev,libc-ares-dev,libsqlite3-dev \
    bookworm "$work/build.tar" "$mirror"
step "podman import"
pm import --quiet "$work/runtime.tar" localhost/tlsweep-runtime-base:bookworm > /dev/null
pm import --quiet "$work/build.tar" localhost/tlsweep-build-base:bookworm > /dev/null
rm -f "$work/runtime.tar" "$work/build.tar"
fi

step "podman build $image"
mkdir "$work/src"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude='./subprojects/packagecache' -cf - . \
    | tar -C "$work/src" -xf -
# shellcheck disable=SC2086
pm build --pull=never --network=none $limits -f "$here/Containerfile" -t "$image" "$work/src"
step "built $image ($(pm image inspect --format '{{.Size}}' "$image") bytes)"
[ "$check" = 1 ] || exit 0

# --check: scan a loopback endpoint from inside the image.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
mkdir "$work/data"
chmod 777 "$work/data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$work/key.pem" -out "$work/data/ca.pem" -subj /CN=image.test \
    -addext subjectAltName=DNS:image.test 2> /dev/null
port=$(free_port)
closed=$(free_port)
openssl s_server -quiet -www -accept "127.0.0.1:$port" -cert "$work/data/ca.pem" \
    -key "$work/key.pem" > /dev/null 2>&1 < /dev/null &
server=$!
sleep 1
printf '127.0.0.1:%s image.test\n127.0.0.1:%s\n' "$port" "$closed" > "$work/data/targets.txt"
# shellcheck disable=SC2086
pm run --rm $limits --network host -v "$work/data:/work" "$image" \
    scan --no-progress --ca-file /work/ca.pem --db /work/image.db /work/targets.txt
# shellcheck disable=SC2086
got=$(pm run --rm $limits -v "$work/data:/work" "$image" report --db /work/image.db --format csv \
    | python3 -c 'import csv, sys; print(" ".join(sorted(r["class"] for r in csv.DictReader(sys.stdin))))')
# shellcheck disable=SC2086
uid=$(pm run --rm $limits --entrypoint /usr/bin/id "$image" -u)
[ "$got" = "ok tcp_refused" ] || { echo "build.sh: the scan in the image found '$got'" >&2; exit 1; }
[ "$uid" = 65532 ] || { echo "build.sh: the image runs as uid $uid" >&2; exit 1; }
step "check: tlsweep in $image (uid $uid) scanned 127.0.0.1:$port ok and :$closed tcp_refused"
