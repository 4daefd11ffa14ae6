#!/usr/bin/env bash
# bench/testssl_compare.sh - tlsweep vs testssl.sh on the same lab endpoints,
# side by side in one run (issue 5, performance part).
#
#   bench/testssl_compare.sh [--serial] [--max N] [--names a,b,...] [--keep] [--out FILE]
#   bench/testssl_compare.sh --vulns [--names a,b,...] [--keep] [--out FILE]
#
# --vulns (issue 14): the vulnerability probes instead of the grades.
# testssl runs its vulnerability checks alone (-U, under nice) on the lab's
# vulnerability endpoints plus a few safe ones (VULN_NAMES below, plus every
# endpoint whose name says robot/poodle/doodle/padding/oracle/lucky), tlsweep
# grades the same endpoints, and the output is one agreement table: per
# endpoint x per probe, tlsweep's vulns row (or grade reason) next to
# testssl's JSON id (VULN_MAP in the Python below), then every disagreement
# with both tools' own words.  A probe tlsweep has no row for is "not tested
# by tlsweep" (-), one testssl 3.0 lacks is "not tested by testssl" (-).
#
# Builds nothing: uses $TLSWEEP, else build/tlsweep.  Needs testssl.sh
# (Debian: apt-get install -y testssl.sh; the binary is `testssl`), sqlite3,
# python3, /usr/bin/time.  In one run it:
#   1. starts a lab (127.85.0.0, port 48443, DNS 127.85.0.1:45353) in $W/lab;
#   2. picks the lab's named endpoints whose handshake completes (one
#      `tlsweep scan --quick` of `lab targets`; STARTTLS, no-SNI and IPv6
#      lines are left out: testssl needs other options for them), or --names;
#   3. tlsweep grades exactly those (-j 2, grading on), timed by /usr/bin/time;
#   4. testssl.sh runs its default check set (what its rating needs in later
#      versions) on the same endpoints: --ip ADDR https://NAME:PORT, the lab CA
#      through --add-ca, no DNS (--nodns none), all endpoints at once
#      (--parallel; --serial: one after the other), timed the same way;
#   5. prints one table: endpoints/s for both and the ratio, CPU, connections
#      per endpoint for both, the one-per-suite reference, and per endpoint
#      tlsweep's grade next to the grade testssl's findings give (testssl
#      3.0.x has no rating of its own: see bench/TESTSSL.md).
#
# Connections are counted by the kernel: when `unshare -n` works (root), the
# whole run happens in a fresh network namespace holding only its loopback,
# the lab and the two scanners, and each scanner's count is the difference
# of the namespace's TCP ActiveOpens (/proc/net/snmp: one per connect() that
# sent a SYN) around its run.  The lab's own connects happen at `lab up`,
# before the first reading; DNS is UDP.  Without a namespace the counter is
# machine-wide and other processes pollute it: testssl's count is then n/a
# and tlsweep's comes from its probe_stats table only.
#
# The lab is stopped by `lab down` and, failing that, by its PID, on exit.
set -euo pipefail

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
SERIAL=0 MAX=0 NAMES='' KEEP=0 OUT='' VULNS=0
ARGS=("$@")
while [ $# -gt 0 ]; do
    case $1 in
    --serial) SERIAL=1 ;;
    --vulns) VULNS=1 ;;
    --max) MAX=$2; shift ;;
    --names) NAMES=$2; shift ;;
    --keep) KEEP=1 ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,44p' "$0"; exit 0 ;;
    *) echo "testssl_compare: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
log() { echo "testssl_compare: $*" >&2; }

TLSWEEP=${TLSWEEP:-$SRCDIR/build/tlsweep}
[ -x "$TLSWEEP" ] || { log "no tlsweep binary at $TLSWEEP (set TLSWEEP= or build: meson compile -C build)"; exit 2; }
TESTSSL=$(command -v testssl.sh || command -v testssl || true)
if [ -z "$TESTSSL" ]; then
    log "testssl.sh is not installed: apt-get install -y testssl.sh (Debian package; the command is 'testssl')"
    exit 2
fi
for c in sqlite3 python3; do
    command -v $c >/dev/null || { log "$c is required"; exit 2; }
done
[ -x /usr/bin/time ] || { log "/usr/bin/time is required: apt-get install -y time"; exit 2; }

# ---- a private network namespace, so that connection counts are ours alone ----
if [ -z "${TSC_NETNS:-}" ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
    exec unshare -n env TSC_NETNS=1 bash "$0" "${ARGS[@]}"
fi
ISOLATED=0
if [ "${TSC_NETNS:-}" = 1 ]; then
    ip link set lo up
    ISOLATED=1
fi
active_opens() { awk '/^Tcp:/ { if (n++) { for (i = 1; i <= NF; i++) if (h[i] == "ActiveOpens") print $i } else for (i = 1; i <= NF; i++) h[i] = $i }' /proc/net/snmp; }

W=$(mktemp -d /tmp/tlsweep-testssl.XXXXXX)
LAB=$W/lab LAB_PID=
cleanup() {
    if [ -n "$LAB_PID" ]; then
        "$TLSWEEP" lab down --dir "$LAB" >/dev/null 2>&1 || true
        for _ in $(seq 20); do kill -0 "$LAB_PID" 2>/dev/null || break; sleep 0.1; done
        kill "$LAB_PID" 2>/dev/null || true
    fi
    if [ "$KEEP" = 1 ]; then log "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

PORT=48443 DNSPORT=45353 BASE=127.85.0.0 RESOLVER=127.85.0.1:45353
"$TLSWEEP" lab up --daemon --dir "$LAB" --base $BASE --port $PORT --dns-port $DNSPORT >"$W/lab-up.txt" 2>&1 ||
    { cat "$W/lab-up.txt" >&2; exit 3; }
LAB_PID=$(cat "$LAB/lab.pid")

# ---- the endpoints: named, direct TLS, handshake completes ----
"$TLSWEEP" lab targets --dir "$LAB" --port $PORT | grep -E "^[a-z0-9-]+\.lab\.tlsweep\.test:$PORT\$" >"$W/candidates.txt"
"$TLSWEEP" scan --db "$W/select.db" --no-progress --quick --resolver $RESOLVER --ca-file "$LAB/ca.pem" \
    "$W/candidates.txt" >/dev/null 2>&1
# --vulns: the vulnerability endpoints (issue 14) and three safe ones; the
# ROBOT and CBC padding oracle endpoints of other branches by their names.
VULN_NAMES=heartbleed,ccs-injection,ticketbleed,compression,insecure-reneg,legacy-no-reneg,drown-sslv2,drown-peer,3des,tls10-only,rc4-sslv3,dhe-1024,early-data,valid-rsa,hsts,tls13-only
VULN_PAT='robot|bleichenbacher|poodle|doodle|padding|oracle|lucky|zero-len'
if [ "$VULNS" = 1 ] && [ -z "$NAMES" ]; then NAMES=$VULN_NAMES; else VULN_PAT='^$'; fi
: >"$W/endpoints.tsv"
while read -r line; do
    name=${line%%.lab.tlsweep.test:*}
    if [ -n "$NAMES" ] && [[ ",$NAMES," != *",$name,"* ]] && ! [[ $name =~ $VULN_PAT ]]; then continue; fi
    ip=$(sqlite3 "$W/select.db" "select ip from results where host='${line%:*}' and tls_version is not null and ip like '%.%' limit 1")
    [ -n "$ip" ] || continue
    printf '%s\t%s\t%s\n' "$name" "$ip" "$line" >>"$W/endpoints.tsv"
done <"$W/candidates.txt"
if [ "$MAX" -gt 0 ]; then head -n "$MAX" "$W/endpoints.tsv" >"$W/e.tsv"; mv "$W/e.tsv" "$W/endpoints.tsv"; fi
N=$(wc -l <"$W/endpoints.tsv")
[ "$N" -gt 0 ] || { log "no endpoint completes a handshake"; exit 3; }
cut -f3 "$W/endpoints.tsv" >"$W/targets.txt"
log "$N endpoints: $(cut -f1 "$W/endpoints.tsv" | tr '\n' ' ')"

# ---- tlsweep: grade them ----
TW_CMD="$TLSWEEP scan --db $W/tlsweep.db --no-progress -j 2 --resolver $RESOLVER --ca-file $LAB/ca.pem $W/targets.txt"
sleep 0.5
a0=$(active_opens)
/usr/bin/time -f '%e %U %S %M' -o "$W/tlsweep.time" $TW_CMD >"$W/tlsweep.log" 2>&1
a1=$(active_opens)
echo "$((a1 - a0))" >"$W/tlsweep.opens"
log "tlsweep: $(cat "$W/tlsweep.time") (wall user sys maxrss), $((a1 - a0)) connects"

# ---- testssl.sh: its default run on the same endpoints ----
: >"$W/testssl.cmds"
while IFS=$'\t' read -r name ip line; do
    # --warnings off: testssl's pre-check uses the system openssl, which at
    # Debian's security level cannot talk TLS 1.0 or verify SHA-1; in batch
    # mode it would give up on those endpoints instead of scanning by sockets
    echo "--warnings off --ip $ip https://$line" >>"$W/testssl.cmds"
done <"$W/endpoints.tsv"
MODE=--parallel; [ "$SERIAL" = 1 ] && MODE=--serial
CHECKS=''; NICE=''
[ "$VULNS" = 1 ] && CHECKS=-U NICE='nice -n 10'
TS_CMD="$NICE $TESTSSL $CHECKS --quiet --color 0 --nodns none --connect-timeout 10 --openssl-timeout 10 --add-ca $LAB/ca.pem --jsonfile-pretty $W/testssl.json $MODE --file $W/testssl.cmds"
a0=$(active_opens)
if [ "$VULNS" = 1 ]; then
    # One testssl per endpoint, all at once, each bounded by TSC_TIMEOUT:
    # testssl's own --parallel mode kills a child after 1,200 s and then
    # merges nothing of it (the first --vulns run on a loaded machine kept
    # 1 endpoint of 16).  Each JSON file is written as testssl goes, so a
    # killed run still leaves its findings so far (read leniently below).
    # TSC_CHECKS replaces -U (e.g. "-H -I -T" for a short run).
    TS_CMD="$NICE $TESTSSL ${TSC_CHECKS:--U} --quiet --color 0 --nodns none --warnings off --connect-timeout 10 --openssl-timeout 10 --add-ca $LAB/ca.pem --jsonfile-pretty $W/ts-NAME.json --ip ADDR https://NAME:$PORT (one per endpoint, timeout ${TSC_TIMEOUT:-900} s)"
    start=$(date +%s.%N)
    while IFS=$'\t' read -r name ip line; do
        timeout "${TSC_TIMEOUT:-900}" $NICE "$TESTSSL" ${TSC_CHECKS:--U} --quiet --color 0 --nodns none --warnings off \
            --connect-timeout 10 --openssl-timeout 10 --add-ca "$LAB/ca.pem" --jsonfile-pretty "$W/ts-$name.json" \
            --ip "$ip" "https://$line" >"$W/ts-$name.log" 2>&1 </dev/null &
    done <"$W/endpoints.tsv"
    wait || true
    python3 - "$W" >"$W/testssl.json" <<'PYEOF'
import json, re, sys
W = sys.argv[1]
out = []
for line in open(f"{W}/endpoints.tsv"):
    name, ip, target = line.rstrip("\n").split("\t")
    try:
        s = open(f"{W}/ts-{name}.json").read()
    except OSError:
        continue
    found = []
    for m in re.finditer(r'\{[^{}]*"id"\s*:\s*"([^"]+)"[^{}]*\}', s):
        blk = m.group(0)
        sev = re.search(r'"severity"\s*:\s*"([^"]*)"', blk)
        fin = re.search(r'"finding"\s*:\s*"((?:[^"\\]|\\.)*)"', blk)
        found.append({"id": m.group(1), "severity": sev.group(1) if sev else "",
                      "finding": fin.group(1) if fin else ""})
    out.append({"targetHost": target.rsplit(":", 1)[0], "ip": ip, "service": "",
                "vulnerabilities": found})
print(json.dumps({"scanResult": out}))
PYEOF
    printf '%s 0 0 0\n' "$(echo "$(date +%s.%N) - $start" | bc)" >"$W/testssl.time"
else
/usr/bin/time -f '%e %U %S %M' -o "$W/testssl.time" $TS_CMD >"$W/testssl.log" 2>&1 || log "testssl exited $? (see the table for what it produced)"
fi
a1=$(active_opens)
echo "$((a1 - a0))" >"$W/testssl.opens"
log "testssl: $(cat "$W/testssl.time"), $((a1 - a0)) connects"

# ---- the table ----
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
TS_VER=$("$TESTSSL" --version 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' | sed -n 's/.*testssl *\([0-9][^ ]*\) .*/\1/p' | head -1)
short() { sed "s|$W|\$W|g; s|$SRCDIR/||g" <<<"$1"; }
python3 - "$W" "$ISOLATED" "$SERIAL" "$DATE" "$(nproc)" "$CPU" "$TS_VER" "$(short "$TW_CMD")" "$(short "$TS_CMD")" \
    "$VULNS" "$("$TLSWEEP" --version 2>/dev/null | head -1)" >"$W/results.md" <<'EOF'
import json, os, re, sqlite3, sys

W, isolated, serial, date, nproc, cpu, tsver, tw_cmd, ts_cmd, vulns_mode, tw_ver = sys.argv[1:12]
isolated = isolated == "1"
eps = [l.rstrip("\n").split("\t") for l in open(f"{W}/endpoints.tsv") if l.strip()]
n = len(eps)

def rtime(p):
    wall, u, s, rss = open(p).read().split()[:4]
    return float(wall), float(u), float(s), int(rss)

tw_wall, tw_u, tw_s, tw_rss = rtime(f"{W}/tlsweep.time")
ts_wall, ts_u, ts_s, ts_rss = rtime(f"{W}/testssl.time")
tw_opens = int(open(f"{W}/tlsweep.opens").read())
ts_opens = int(open(f"{W}/testssl.opens").read())

# ---- tlsweep's grades and connections ----
db = sqlite3.connect(f"{W}/tlsweep.db")
tw = {}
for host, cls, grade, reasons, conns in db.execute(
        "select r.host, r.class, r.grade, g.reasons, p.connections from results r"
        " left join grades g on g.result_id = r.id left join probe_stats p on p.result_id = r.id"):
    tw[host.split(".")[0]] = dict(cls=cls, grade=grade or "-", reasons=reasons or "", conns=conns)
tw_conn_sum = sum((tw.get(e[0], {}).get("conns") or 0) for e in eps)

# ---- testssl's findings, per endpoint ----
def load_testssl(path):
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as e:
        sys.stderr.write(f"testssl json: {e}\n")
        return {}
    out = {}
    for s in d.get("scanResult", []):
        f = {}
        for sec, v in s.items():
            if isinstance(v, list):
                for x in v:
                    # "cert_keySize <cert#1>" -> one list per id
                    f.setdefault(re.sub(r" <.*>$", "", x.get("id", "")), []).append(
                        (x.get("severity", ""), str(x.get("finding", ""))))
        f["_service"] = [("", str(s.get("service", "")))]
        out[s.get("targetHost", "").split(".")[0]] = f
    return out

ts = load_testssl(f"{W}/testssl.json")

# ---- --vulns: per endpoint x per probe (issue 14) ----
# (label, tlsweep source, testssl JSON id).  The source is a vulns row (the
# first of the names that exists: other branches may name theirs slightly
# otherwise) or a grade reason (POODLE against SSLv3 and RC4 are judged by
# the grader, not by a probe of their own).  None: the other tool has no
# such check (testssl 3.0.8 has no CBC padding oracle scan; tlsweep no
# Lucky13 verdict).
VULN_MAP = [
    ("Heartbleed", ("vuln", ["heartbleed"]), "heartbleed"),
    ("CCS injection", ("vuln", ["ccs_injection"]), "CCS"),
    ("Ticketbleed", ("vuln", ["ticketbleed"]), "ticketbleed"),
    ("ROBOT", ("vuln", ["robot"]), "ROBOT"),
    ("no RFC 5746", ("vuln", ["no_secure_renegotiation"]), "secure_renego"),
    ("client reneg.", ("vuln", ["insecure_renegotiation"]), "secure_client_renego"),
    ("CRIME", ("vuln", ["compression"]), "CRIME_TLS"),
    ("POODLE SSLv3", ("reason", ["poodle_ssl3"]), "POODLE_SSL"),
    ("POODLE TLS", ("vuln", ["poodle_tls"]), "POODLE_TLS"),
    ("no fallback SCSV", ("vuln", ["no_fallback_scsv"]), "fallback_SCSV"),
    ("Sweet32", ("vuln", ["sweet32"]), "SWEET32"),
    ("FREAK", ("vuln", ["freak"]), "FREAK"),
    ("DROWN", ("vuln", ["drown"]), "DROWN"),
    ("Logjam", ("vuln", ["logjam"]), "LOGJAM"),
    ("BEAST", ("vuln", ["beast"]), "BEAST"),
    ("Lucky13", ("vuln", ["lucky13"]), "LUCKY13"),
    ("RC4", ("reason", ["rc4", "rc4_only", "rc4_tls11plus"]), "RC4"),
    ("Zombie POODLE", ("vuln", ["zombie_poodle"]), None),
    ("GOLDENDOODLE", ("vuln", ["goldendoodle"]), None),
    ("Sleeping POODLE", ("vuln", ["sleeping_poodle"]), None),
    ("0-length padding", ("vuln", ["zero_length_padding_oracle", "openssl_0_length",
                                   "zero_length_padding", "cve_2019_1559"]), None),
]

def vulns_report():
    rows = {}
    try:
        for host, name, tested, vul, detail in db.execute(
                "select r.host, v.name, v.tested, v.vulnerable, v.detail from vulns v"
                " join results r on r.id = v.result_id"):
            rows[(host.split(".")[0], name)] = (tested, vul, detail or "")
    except sqlite3.Error as e:
        sys.stderr.write(f"tlsweep vulns: {e}\n")

    def tw_verdict(ep, src):
        kind, names = src
        if kind == "reason":
            t = tw.get(ep)
            if not t or t["grade"] in ("-", None):
                return "-", "not graded"
            got = [c for c in re.split(r"[ ,]+", t["reasons"]) if c in names]
            return ("V", "grade reason " + got[0]) if got else ("ok", "no " + "/".join(names) + " reason")
        for nm in names:
            if (ep, nm) in rows:
                tested, vul, detail = rows[(ep, nm)]
                return ("V" if vul else "ok" if tested else "nt"), detail
        return "-", "no such tlsweep row"

    def ts_verdict(ep, tid):
        xs = ts.get(ep, {}).get(tid) if tid else None
        if not xs:
            return "-", "no such testssl finding"
        sev, finding = xs[0][0].upper(), xs[0][1]
        if sev in ("LOW", "MEDIUM", "HIGH", "CRITICAL"):
            return "V", f"{sev}: {finding}"
        if sev in ("OK", "INFO"):
            return "ok", f"{sev}: {finding}"
        return "?", f"{sev}: {finding}"

    print(f"Date {date}; machine: {nproc} x {cpu}; {tw_ver}; testssl {tsver}; "
          f"{len(eps)} lab endpoints; network namespace: {'private' if isolated else 'shared'}.")
    print()
    print(f"- tlsweep: `{tw_cmd}`")
    print(f"- testssl: `{ts_cmd}`")
    print()
    print("Cells: `V` both say vulnerable, `.` both say not vulnerable, `tw/ts` a disagreement "
          "(V vulnerable, ok not vulnerable, nt tlsweep has the row but no verdict, ? testssl "
          "warned), `-` neither has a verdict (no such check in one tool, or not applicable).")
    print()
    labels = [m[0] for m in VULN_MAP]
    print("| endpoint | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    same = total = 0
    diffs, onlies = [], []
    for ep, _, _ in eps:
        cells = []
        for label, src, tid in VULN_MAP:
            a, ad = tw_verdict(ep, src)
            b, bd = ts_verdict(ep, tid)
            if a in ("V", "ok") and b in ("V", "ok"):
                total += 1
                if a == b:
                    same += 1
                    cells.append("V" if a == "V" else ".")
                else:
                    cells.append(f"**{a}/{b}**")
                    diffs.append((ep, label, a, ad, b, bd))
            elif a == "-" and b == "-":
                cells.append("-")
            else:
                cells.append(f"{a}/{b}")
                if "V" in (a, b):
                    onlies.append((ep, label, a, ad, b, bd))
        print(f"| {ep} | " + " | ".join(cells) + " |")
    print()
    print(f"Verdicts where both tools have one: {same} of {total} agree.")
    print()
    print("Disagreements (both tools have a verdict):")
    print()
    for ep, label, a, ad, b, bd in diffs or [("-", "-", "", "none", "", "")]:
        print(f"- {ep}, {label}: tlsweep {a} ({ad}); testssl {b} ({bd})")
    print()
    print("Vulnerable in one tool, no verdict in the other:")
    print()
    for ep, label, a, ad, b, bd in onlies or [("-", "-", "", "none", "", "")]:
        print(f"- {ep}, {label}: tlsweep {a} ({ad}); testssl {b} ({bd})")

if vulns_mode == "1":
    vulns_report()
    sys.exit(0)

# cipher bits by OpenSSL name, from testssl's own table
BITS = {}
try:
    for line in open("/etc/testssl/cipher-mapping.txt"):
        m = re.search(r"^\s*\S+ - (\S+)\s+(\S+)\s+(\S+).*Enc=[^(]*\((\d+)\)", line)
        if m:
            BITS[m.group(1)] = int(m.group(4))
            BITS[m.group(2)] = int(m.group(4))
except OSError:
    pass

PSCORE = {"SSLv2": 0, "SSLv3": 80, "TLS1": 90, "TLS1_1": 95, "TLS1_2": 100, "TLS1_3": 100}
EC_RSA = {"prime256v1": 3072, "secp256r1": 3072, "X25519": 3072, "secp384r1": 7680, "X448": 7680,
          "secp521r1": 15360, "secp224r1": 2048, "secp192r1": 1536, "brainpoolP256r1": 3072,
          "brainpoolP384r1": 7680, "brainpoolP512r1": 15360}
ORDER = ["A+", "A", "A-", "B", "C", "D", "E", "F"]

def key_score(b):
    return 20 if b < 512 else 40 if b < 1024 else 80 if b < 2048 else 90 if b < 4096 else 100

def ciph_score(b):
    return 0 if b == 0 else 20 if b < 128 else 80 if b < 256 else 100

def ec_to_rsa(bits):
    for lim, r in ((160, 512), (224, 1024), (256, 2048), (384, 3072), (512, 7680)):
        if bits < lim:
            return r
    return 15360

def derive(f):
    """The 2009r grade (tls/GRADING.md) from testssl's findings; (letter, reasons)."""
    get = lambda i: [x[1] for x in f.get(i, [])]
    one = lambda i: (get(i) or [""])[0]
    offered = lambda i: one(i).startswith("offered")
    vuln = lambda i: any(s in ("HIGH", "CRITICAL") and not v.startswith("not vulnerable")
                         for s, v in f.get(i, []))
    if not any(k in f for k in PSCORE):
        return None, "no result"
    protos = [p for p in PSCORE if offered(p)]
    if not protos:
        return None, "no protocol"
    caps, warn = [], []
    cap = lambda code, letter: caps.append((code, letter))
    # suites: the server-order enumeration (cipherTests) with bits; else the categories
    suites = []
    for i, vals in f.items():
        if i.startswith("cipher_x"):
            for _, v in vals:
                t = v.split()
                if len(t) >= 4 and t[-2].isdigit():
                    suites.append((t[1], int(t[-2]), " ".join(t[2:-3])))
    bits = [b for _, b, _ in suites]
    if not bits:  # categories only: a representative size for each
        for cat, b in (("cipherlist_NULL", 0), ("cipherlist_EXPORT", 40), ("cipherlist_LOW", 56),
                       ("cipherlist_3DES_IDEA", 168), ("cipherlist_AVERAGE", 128),
                       ("cipherlist_STRONG", 128)):
            if offered(cat):
                bits.append(b)
        if "TLS1_3" in protos:
            bits.append(128)
    bits = [168 if b == 112 else b for b in bits]  # 3DES scores 168 (spec choice 2)
    p2 = max(PSCORE[p] for p in protos) + min(PSCORE[p] for p in protos)
    c2 = ciph_score(max(bits)) + ciph_score(min(bits)) if bits else 0
    # key exchange: leaf keys, DHE groups, ECDHE curves
    k = 100
    for v in get("cert_keySize"):
        m = re.match(r"(RSA|EC|ECDSA|DSA|DH)\D*(\d+)", v)
        if not m:
            continue
        b = int(m.group(2))
        rsa = ec_to_rsa(b) if m.group(1).startswith("EC") else b
        k = min(k, key_score(rsa))
        if rsa < 1024:
            cap("weak_key_lt1024", "F")
        elif rsa < 2048:
            cap("weak_key_lt2048", "B")
    for _, _, kx in suites:
        m = re.match(r"DH (\d+)", kx)
        if m:
            b = int(m.group(1))
            k = min(k, key_score(b))
            if b < 1024:
                cap("dh_lt1024", "F")
            elif b < 2048:
                cap("dh_lt2048", "B")
    for g in one("DH_groups").split():
        m = re.match(r"ffdhe(\d+)", g)
        if m:
            k = min(k, key_score(int(m.group(1))))
    for c in one("PFS_ECDHE_curves").split():
        if c in EC_RSA:
            k = min(k, key_score(EC_RSA[c]))
            if EC_RSA[c] < 2048:
                cap("ecdh_lt2048", "B")
    if offered("cipherlist_EXPORT"):
        k = min(k, 40); cap("export_kx", "F")
    if offered("cipherlist_aNULL"):
        k = 0; cap("anon_kx", "F")
    # testssl's LOW category holds RC4-128 too: use it only without the enumeration
    if offered("cipherlist_NULL") or any(b < 112 for b in bits) or \
            not suites and offered("cipherlist_LOW"):
        cap("cipher_lt112", "F")
    s20 = 3 * p2 + 6 * k + 4 * c2
    if p2 == 0 or k == 0 or c2 == 0:
        s20 = 0; cap("zero_category", "F")
    letter = "A" if s20 >= 1600 else "B" if s20 >= 1300 else "C" if s20 >= 1000 else \
        "D" if s20 >= 700 else "E" if s20 >= 400 else "F"
    if letter != "A":
        cap("score", letter)
    # protocol rules
    if "SSLv2" in protos: cap("ssl2", "F")
    if "SSLv3" in protos:
        cap("ssl3", "B")
        if protos == ["SSLv3"] or max(protos, key=PSCORE.get) == "SSLv3": cap("ssl3_best", "F")
    if "TLS1" in protos or "TLS1_1" in protos: cap("tls10_or_11", "B")
    if "TLS1_2" not in protos and "TLS1_3" not in protos: cap("no_tls12", "C")
    if "TLS1_3" not in protos: warn.append("no_tls13_warning")
    if vuln("POODLE_SSL"): cap("poodle_ssl3", "C")
    if vuln("RC4") or any("RC4" in s for s, _, _ in suites): cap("rc4", "B")
    if suites and all("RC4" in s for s, _, _ in suites): cap("rc4_only", "F")
    for p in ("TLSv1_1", "TLSv1_2"):
        lst = one("cipherorder_" + p)
        if re.search(r"DES-CBC3|IDEA|RC2|\bDES-CBC\b", lst): cap("3des_tls11plus", "C")
        if "RC4" in lst: cap("rc4_tls11plus", "C")
    if "TLS1_3" not in protos and not one("PFS").startswith("offered"): cap("no_fs", "B")
    if "TLS1_3" not in protos and not offered("cipherlist_STRONG"): cap("no_aead", "B")
    for v, code in (("heartbleed", "heartbleed"), ("CCS", "ccs_injection"), ("ticketbleed", "ticketbleed"),
                    ("ROBOT", "robot"), ("DROWN", "drown")):
        if vuln(v): cap(code, "F")
    if vuln("secure_client_renego") and not one("secure_renego").startswith("supported"):
        cap("insecure_reneg", "F")
    if vuln("CRIME_TLS"): cap("compression", "C")
    # only an explicit answer: "OpenSSL handshake didn't succeed" is no answer
    if set(protos) & {"SSLv3", "TLS1", "TLS1_1", "TLS1_2"} and \
            re.match(r"not supported|VULNERABLE", one("secure_renego")):
        warn.append("no_secure_reneg")
    # HSTS
    hsts_ok = False
    if one("_service") != "HTTP":
        cap("hsts_not_applicable", "A")
    elif "HSTS_time" not in f:  # testssl writes HSTS_time (and no HSTS id) when it saw one
        cap("hsts_absent", "A")
    else:
        m = re.search(r"=(\d+) seconds", one("HSTS_time"))
        age = int(m.group(1)) if m else -1
        if age == 0: warn.append("hsts_disabled")
        elif age < 0: warn.append("hsts_invalid")
        elif age < 15552000: cap("hsts_short", "A")
        else: hsts_ok = True
    # the letter: worst cap, warnings, A+
    for _, c in caps:
        if ORDER.index(c) > ORDER.index(letter):
            letter = c
    if letter == "A" and warn:
        letter = "A-"
    if letter == "A" and hsts_ok and not caps:
        letter = "A+"
    # trust overlay: F > T > M
    sig = one("cert_signatureAlgorithm")
    if re.search(r"MD5|MD2|MD4", sig):
        letter = "F"; caps.append(("sig_md5", "F"))
    trust = []
    if re.search(r"SHA1\b", sig): trust.append("sig_sha1")
    chain = one("cert_chain_of_trust")
    if chain and not chain.startswith("passed"): trust.append("trust_chain:" + chain[:40].strip())
    exp = one("cert_expirationStatus")
    if "expired" in exp: trust.append("trust_expired")
    if re.search(r"not yet valid|in the future", exp + one("cert_notBefore"), re.I): trust.append("trust_not_yet_valid")
    if re.search(r"revoked", one("OCSP_stapling") + one("cert_ocspRevoked") + one("cert_crlRevoked"), re.I):
        trust.append("trust_revoked")
    mismatch = not one("cert_trust").startswith("Ok")
    grade = letter
    if letter != "F":
        if trust: grade = "T"
        elif mismatch: grade = "M"
    reasons = [c for c, _ in caps] + warn + trust + (["name_mismatch"] if mismatch else [])
    return grade, ",".join(reasons)

rows, agree = [], 0
for name, ip, line in eps:
    t = tw.get(name, {"grade": "-", "reasons": "", "conns": None, "cls": "missing"})
    g, why = derive(ts[name]) if name in ts else (None, "no testssl result")
    ok = g is not None and g == t["grade"]
    agree += ok
    rows.append(f"| {name} | {ip} | {t['grade']} | {t['reasons'] or '-'} | {g or 'n/a'} | {why or '-'} | "
                f"{'yes' if ok else '**no**'} |")

ts_done = sum(1 for e in eps if e[0] in ts)
tw_eps = n / max(tw_wall, 1e-3)
ts_eps = n / max(ts_wall, 1e-3)
# one-per-suite reference: one connection per suite of testssl's own table, each
# tried once (at the newest protocol it exists in): the least any one-suite-per-
# connection enumeration of that table can cost
n_suites = len({l.split()[0] for l in open("/etc/testssl/cipher-mapping.txt") if l.strip()}) \
    if os.path.exists("/etc/testssl/cipher-mapping.txt") else 0
print(f"Date {date}; machine: {nproc} x {cpu}; testssl {tsver} ({'--serial' if serial == '1' else '--parallel'}); "
      f"connections counted {'in a private network namespace (TCP ActiveOpens)' if isolated else 'machine-wide: testssl n/a'}.")
print()
print("| case | what | figure | command |")
print("|---|---|---|---|")
print(f"| tlsweep | {n} lab endpoints graded (-j 2) | {tw_wall:.2f} s, {tw_eps:.2f} endpoints/s, CPU {tw_u + tw_s:.2f} s "
      f"({(tw_u + tw_s) / n * 1000:.0f} ms/endpoint), peak RSS {tw_rss // 1024} MiB | `{tw_cmd}` |")
print(f"| testssl | {n} lab endpoints, default run ({ts_done} with JSON results) | {ts_wall:.2f} s, {ts_eps:.3f} endpoints/s, "
      f"CPU {ts_u + ts_s:.1f} s ({(ts_u + ts_s) / n:.1f} s/endpoint), peak RSS of one process {ts_rss // 1024} MiB | `{ts_cmd}` |")
print(f"| ratio | tlsweep endpoints/s over testssl's | {tw_eps / ts_eps:.0f}x (CPU per endpoint: "
      f"{(ts_u + ts_s) / max(tw_u + tw_s, 1e-3):.0f}x less) | `bench/testssl_compare.sh` |")
print(f"| tlsweep-conns | connections per graded endpoint | {tw_conn_sum / n:.1f} (probe_stats; "
      f"kernel count {tw_opens / n:.1f}{'' if isolated else ', machine-wide'}) | `sqlite3 tlsweep.db 'select avg(connections) from probe_stats'` |")
print(f"| testssl-conns | connections per endpoint | "
      f"{f'{ts_opens / n:.1f}' if isolated else 'n/a (no private namespace)'} | TCP ActiveOpens around the testssl run |")
print(f"| one-per-suite | one connection per suite of testssl's table ({n_suites} suites, each tried once) | "
      f"{n_suites} per endpoint; tlsweep {tw_conn_sum / n / max(n_suites, 1):.3f}x of it | `/etc/testssl/cipher-mapping.txt` |")
print(f"| agreement | tlsweep grade = grade from testssl's findings | {agree} of {n} | (table below) |")
print()
print("| endpoint | address | tlsweep | tlsweep reasons | testssl findings -> grade | from testssl's findings | same |")
print("|---|---|---|---|---|---|---|")
print("\n".join(rows))

# ---- the vulnerability probes, side by side (issue 14) ----
# tlsweep's vulns row -> testssl's JSON id.  testssl counts a finding as
# vulnerable by its severity (LOW and up); its secure_client_renego also
# flags *secure* client renegotiation (a DoS concern), which tlsweep's
# insecure_renegotiation does not.
VULNS = [("heartbleed", "heartbleed"), ("ccs_injection", "CCS"),
         ("no_secure_renegotiation", "secure_renego"), ("insecure_renegotiation", "secure_client_renego"),
         ("compression", "CRIME_TLS"), ("sweet32", "SWEET32"), ("beast", "BEAST"),
         ("logjam", "LOGJAM"), ("freak", "FREAK"), ("no_fallback_scsv", "fallback_SCSV")]
twv = {}
try:
    for host, name, tested, vuln in db.execute(
            "select r.host, v.name, v.tested, v.vulnerable from vulns v join results r on r.id = v.result_id"):
        twv[(host.split(".")[0], name)] = "vulnerable" if vuln else ("ok" if tested else "not tested")
except sqlite3.Error:
    pass
def ts_verdict(f, tid):
    xs = f.get(tid)
    if not xs:
        return "n/a"
    sev = xs[0][0].upper()
    return ("vulnerable" if sev in ("LOW", "MEDIUM", "HIGH", "CRITICAL") else "ok") + f" ({xs[0][1][:40]})"
print()
print("| endpoint | probe | tlsweep | testssl | same |")
print("|---|---|---|---|---|")
vsame = vtotal = 0
for e in eps:
    f = ts.get(e[0], {})
    for tn, tid in VULNS:
        a = twv.get((e[0], tn), "n/a")
        b = ts_verdict(f, tid)
        if a == "n/a" or b == "n/a":
            continue
        same = (a == "vulnerable") == b.startswith("vulnerable")
        vtotal += 1
        vsame += same
        if not same or a == "vulnerable" or b.startswith("vulnerable"):
            print(f"| {e[0]} | {tn} | {a} | {b} | {'yes' if same else 'NO'} |")
print()
print(f"Vulnerability verdicts: {vsame} of {vtotal} agree (rows shown: every disagreement and every finding).")
EOF
cat "$W/results.md"
[ -n "$OUT" ] && cp "$W/results.md" "$OUT"
exit 0
