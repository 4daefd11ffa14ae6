#!/bin/sh
# contrib/debian/check.sh [--install]: build the Debian package from a copy
# of the source tree (`dpkg-buildpackage -us -uc -b`, debian/ at the top),
# then check the .deb: its files (binary, manual page, completion, systemd
# units), and that the binary runs from the extracted package.  With
# --install (root), also `dpkg -i` it, run /usr/bin/tlsweep and `man -w
# tlsweep`, and purge it again.  Needs debhelper and the Build-Depends of
# debian/control (tests/packages.txt covers them).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
install=0
[ "${1:-}" = --install ] && install=1
work=$(mktemp -d /tmp/tlsweep-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)
mkdir "$work/tlsweep"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./obj-\* -cf - . | tar -C "$work/tlsweep" -xf -
(cd "$work/tlsweep" && dpkg-buildpackage -us -uc -b > "$work/build.log" 2>&1) \
    || { tail -30 "$work/build.log" >&2; echo "check.sh: dpkg-buildpackage failed" >&2; exit 1; }
deb=$(ls "$work"/tlsweep_*.deb)
echo "check.sh: built $(basename "$deb") in $(( $(date +%s) - t0 )) s"
dpkg-deb -c "$deb" | awk '{print $6}' > "$work/files"
for f in ./usr/bin/tlsweep ./usr/share/man/man1/tlsweep.1.gz \
         ./usr/share/bash-completion/completions/tlsweep \
         ./usr/share/tlsweep/systemd/tlsweep-scan.service \
         ./usr/share/tlsweep/systemd/tlsweep-scan.timer \
         ./usr/share/tlsweep/systemd/tlsweep-alert@.service; do
    grep -qx "$f" "$work/files" || { echo "check.sh: the package lacks $f" >&2; exit 1; }
done
echo "check.sh: the package holds the binary, tlsweep.1.gz, the completion and the units"
dpkg-deb -f "$deb" Depends
grep -q '^ExecStart=/usr/bin/tlsweep scan' "$work/tlsweep/debian/tlsweep/usr/share/tlsweep/systemd/tlsweep-scan.service" \
    || { echo "check.sh: the packaged unit does not call /usr/bin/tlsweep" >&2; exit 1; }
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/tlsweep" --help > /dev/null
echo "check.sh: the packaged binary runs; its units call /usr/bin/tlsweep"
if [ "$install" = 1 ]; then
    dpkg -i "$deb" > /dev/null
    /usr/bin/tlsweep merge --help | head -1
    man -w tlsweep
    dpkg -P tlsweep > /dev/null
    echo "check.sh: dpkg -i, ran /usr/bin/tlsweep, found the manual page, purged"
fi
