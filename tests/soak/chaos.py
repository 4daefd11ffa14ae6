#!/usr/bin/env python3
"""The nights of the chaos run (issue 15); tests/soak/chaos.sh starts the
fleet, mounts the database's tmpfs and cleans up, then runs this.

Every night: change a known set of endpoints of the fleet (through the
fleet's --map, re-read on SIGHUP) and of the target list (added, removed),
run `tlsweep scan`, inject one failure at a random point (SIGINT, SIGTERM,
SIGKILL, a full disk, the resolver taken away, or an empty target list),
apply the documented recovery step (`scan --resume ID` with the same options,
or a new scan), then check that the night is told truthfully:

  exit-truth    the scan that met the failure exits 0 only when it is 'done'
                and complete, and is not 'done' when it exits non-zero;
  exit-code     SIGINT/SIGTERM that stop a scan give exit 4 (interrupted),
                a full disk exit 3 or 4, an empty list exit 2 with no scan;
  report-warns  while the night is unfinished, `report --format json` shows
                that scan as unfinished, or warns about it ("warnings":
                newer_scan_interrupted or newer_scan_running), or fails;
  recovered     the recovery step exits 0 and leaves the scan 'done' (the
                step: the resume command the scan printed, run as printed,
                else `scan --resume ID` with the night's options, else a
                new scan);
  complete      the night's scan holds exactly its list's endpoints, each
                once (host, port, sni), and n_endpoints says so;
  verdicts      each endpoint's class, version and address are the ones its
                fleet variant gives;
  diff-exact    `diff --format json` from the previous night lists exactly the
                injected changes (endpoint and kind);
  diff-fail-on  `diff --fail-on regression` exits 1 exactly when a
                regression was injected, else 0;
  diff-warnings the diff JSON warns "targets_differ" exactly when the target
                list changed, "vanished" only when endpoints were removed,
                and nothing else;
  resolver-red  a night whose resolver went away and left DNS failures fails
                `diff --fail-on regression` (the pipeline is not green);
  resume-skips  a resume says it skipped exactly the endpoints stored before;
  lease         two `--resume` of one scan at once: one refuses at once
                (exit 3), the other finishes (exit 0).

At the end: every 'done' scan holds its night's whole list, no scan is left
'running', and PRAGMA integrity_check is ok.  Prints one line per night and a
summary; exits 1 when any check failed.
"""
import argparse
import ctypes
import json
import os
import random
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time

# What each fleet variant serves: (failure?, class, tls_version, cipher id, leaf id).
VARIANTS = {
    "tls13-ec": (False, "ok", "TLSv1.3", "13", "ec"),
    "tls13-rsa": (False, "ok", "TLSv1.3", "13", "rsa"),
    "tls12-ec": (False, "ok", "TLSv1.2", "12-ec", "ec"),
    "tls12-rsa": (False, "ok", "TLSv1.2", "12-rsa", "rsa"),
    "untrusted": (False, "untrusted_root", "TLSv1.3", "13", "other"),
    "tarpit": (True, "handshake_timeout", None, None, None),
    "reset": (True, "tcp_reset", None, None, None),
}
BASE_BY_OCTET = {20: "tls13-ec", 21: "tls13-rsa", 22: "tls12-ec", 23: "tls12-rsa"}
FAILURES = ["sigint", "sigterm", "sigkill", "diskfull", "resolver", "empty"]
EXIT_INTERRUPTED = 4


def die_with_parent():
    """In a scan's child process before exec: SIGKILL it when this driver
    dies (PR_SET_PDEATHSIG), so that no scan outlives a killed run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def expected_kinds(old, new):
    """The diff kinds (report/diff.c) between two variants of one endpoint,
    as a set of (kind, regression)."""
    if old is None and new is None:
        return set()
    if old is None:
        out = {("new", False)}
        if VARIANTS[new][0]:
            out.add(("failure_new", True))
        return out
    if new is None:
        return {("vanished", False)}
    fo, co, vo, ko, lo = VARIANTS[old]
    fn, cn, vn, kn, ln = VARIANTS[new]
    out = set()
    if not fo and fn:
        out.add(("failure_new", True))
    elif fo and not fn:
        out.add(("failure_fixed", False))
    elif co != cn:
        # ok is the best class; untrusted_root is worse than ok.
        out.add(("class_changed", cn != "ok"))
    if lo and ln and lo != ln:
        out.add(("cert_rotated", False))
    if vo and vn and vo != vn:
        out.add(("protocol_changed", False))
    if ko and kn and ko != kn:
        out.add(("cipher_changed", False))
    return out


class Fleet:
    """The endpoint universe: index i -> target line, key, address, base variant."""

    def __init__(self, port):
        self.port = port

    def endpoint(self, i):
        if i % 10 == 0:  # a name, resolved by the fleet's DNS into 127.20/16
            k = i // 10
            n = (k // 254) * 256 + k % 254 + 1
            if n >= 65536:
                raise SystemExit("chaos: too many endpoints for the fleet's name range")
            host = "h%d.fleet.test" % n
            addr = "127.20.%d.%d" % (n >> 8, n & 255)
            return ("%s:%d" % (host, self.port), (host, self.port, host), addr, 20)
        m, g = divmod(i, 3)
        if m >= 254 * 256:
            raise SystemExit("chaos: too many endpoints for the fleet's address ranges")
        addr = "127.%d.%d.%d" % (21 + g, m // 254, m % 254 + 1)
        sni = "a%d.fleet.test" % i
        return ("%s:%d %s" % (addr, self.port, sni), (addr, self.port, sni), addr, 21 + g)

    def base(self, i):
        return BASE_BY_OCTET[self.endpoint(i)[3]]


class Run:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.fleet = Fleet(a.port)
        self.db = os.path.join(a.db_dir, "chaos.db")
        self.active = list(range(a.endpoints))  # indices in the target list, in order
        self.next_index = a.endpoints
        self.override = {}  # index -> variant other than its base
        self.checks = {}  # name -> [passed, failed]
        self.failed_msgs = []
        self.nights = []
        self.done_scans = {}  # scan id -> expected endpoint count
        self.map_gen = 1
        self.opts = [
            "--db", self.db, "--no-progress", "--quick", "--ca-file", a.ca,
            "--resolver", "127.0.0.1:%d" % a.dns_port, "-c", str(a.concurrency), "-j", "2",
            "--connect-timeout", "5", "--handshake-timeout", "5", "--dns-timeout", "2",
            "--dns-tries", "2", "--label", "nightly",
        ]

    # ---- bookkeeping ----

    def check(self, night, name, ok, msg=""):
        c = self.checks.setdefault(name, [0, 0])
        c[0 if ok else 1] += 1
        night["checks"][0 if ok else 1] += 1
        if not ok:
            msg = " ".join(msg.split())  # stderr excerpts on one line
            line = "night %d: %s FAILED%s" % (night["n"], name, ": " + msg if msg else "")
            self.failed_msgs.append(line)
            print("  " + line, flush=True)

    def log(self, msg):
        if self.a.verbose:
            print("  . " + msg, flush=True)

    def q(self, sql, args=()):
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=30)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def q_safe(self, sql, args=()):
        try:
            return self.q(sql, args)
        except sqlite3.Error:
            return None

    def max_scan_id(self):
        if not os.path.exists(self.db):
            return 0
        r = self.q_safe("SELECT ifnull(max(id), 0) FROM scans")
        return r[0][0] if r else 0

    def tw(self, args, **kw):
        return subprocess.run([self.a.tlsweep] + args, capture_output=True, text=True, **kw)

    def spawn_scan(self, extra, targets, argv=None):
        """Start `tlsweep scan` (or argv); its pid goes to the pids file the
        shell's cleanup kills."""
        err = open(os.path.join(self.a.work, "scan.err"), "w")
        if argv is None:
            argv = [self.a.tlsweep, "scan"] + self.opts + extra + [targets]
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=die_with_parent)
        err.close()
        with open(self.a.pids_file, "a") as f:
            f.write("%d\n" % p.pid)
        return p

    def scan_err(self):
        try:
            with open(os.path.join(self.a.work, "scan.err")) as f:
                return f.read()
        except OSError:
            return ""

    def wait_scan(self, p):
        try:
            return p.wait(timeout=self.a.scan_timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return "hung"

    # ---- the fleet ----

    def fleet_stat(self, key):
        try:
            with open(self.a.stats) as f:
                for tok in f.read().split():
                    k, _, v = tok.partition("=")
                    if k == key:
                        return int(v)
        except (OSError, ValueError):
            pass
        return None

    def publish_map(self):
        tmp = self.a.map + ".tmp"
        with open(tmp, "w") as f:
            for i, v in sorted(self.override.items()):
                f.write("%s %s\n" % (self.fleet.endpoint(i)[2], v))
        os.rename(tmp, self.a.map)
        self.map_gen += 1
        os.kill(self.a.fleet_pid, signal.SIGHUP)
        for _ in range(200):
            g = self.fleet_stat("map_gen")
            if g is not None and g >= self.map_gen:
                return
            time.sleep(0.05)
        raise SystemExit("chaos: the fleet did not load its map (generation %d)" % self.map_gen)

    def dns(self, on):
        os.kill(self.a.fleet_pid, signal.SIGUSR2 if on else signal.SIGUSR1)
        want = 1 if on else 0
        for _ in range(200):
            if self.fleet_stat("dns_on") == want:
                time.sleep(0.1)  # the DNS thread closes or binds within 50 ms
                return
            time.sleep(0.05)
        raise SystemExit("chaos: the fleet's DNS did not turn %s" % ("on" if on else "off"))

    # ---- the night's plan ----

    def plan_changes(self, night_no):
        """Change the fleet and the list; returns {index: (old, new)} of every
        endpoint whose diff should show, plus counts for the night's line."""
        a, rng = self.a, self.rng
        changes = {}
        counts = {"flip": 0, "revert": 0, "add": 0, "remove": 0}
        if night_no == 1 or rng.random() < 0.15:
            return changes, counts, "quiet"
        style = "benign" if rng.random() < 0.3 else "mixed"
        scale = max(1, a.endpoints // 400)
        active = set(self.active)
        # Revert about half of what earlier nights changed.
        changed = sorted(i for i in self.override if i in active)
        for i in rng.sample(changed, len(changed) // 2):
            changes[i] = (self.override.pop(i), self.fleet.base(i))
            counts["revert"] += 1
        # Flip some endpoints at their base to another variant.
        pool = [i for i in self.active if i not in self.override and i not in changes]
        targets = ["tls13-ec", "tls13-rsa", "tls12-ec", "tls12-rsa"]
        if style == "mixed":
            targets += ["untrusted", "tarpit", "reset"] * 2
        for i in rng.sample(pool, min(len(pool), rng.randint(1, 2 * scale))):
            base = self.fleet.base(i)
            v = rng.choice([t for t in targets if t != base])
            self.override[i] = v
            changes[i] = (base, v)
            counts["flip"] += 1
        # Remove a few endpoints (never more than 1 %: vanished stays under
        # diff's default threshold) and add a few new ones.
        n_rm = rng.randint(0, max(1, a.endpoints // 2000))
        pool = [i for i in self.active if i not in self.override and i not in changes]
        for i in rng.sample(pool, min(len(pool), n_rm)):
            self.active.remove(i)
            changes[i] = (self.fleet.base(i), None)
            counts["remove"] += 1
        for _ in range(rng.randint(0, max(1, a.endpoints // 2000))):
            i = self.next_index
            self.next_index += 1
            pos = rng.randint(0, len(self.active))
            self.active.insert(pos, i)
            changes[i] = (None, self.fleet.base(i))
            counts["add"] += 1
        return changes, counts, style

    def write_targets(self, path):
        with open(path, "w") as f:
            f.write("# chaos night list\n")
            for i in self.active:
                f.write(self.fleet.endpoint(i)[0] + "\n")

    def variant(self, i):
        return self.override.get(i, self.fleet.base(i))

    # ---- one night ----

    def night(self, n, failure, prev_scan, prev_list):
        a, rng = self.a, self.rng
        night = {"n": n, "checks": [0, 0], "failure": failure}
        changes, counts, style = self.plan_changes(n)
        self.publish_map()
        targets = os.path.join(a.work, "night%02d.txt" % n)
        self.write_targets(targets)
        with open(targets) as f:
            list_text = f.read()
        night["endpoints"] = len(self.active)
        night["changes"] = counts
        night["style"] = style
        t0 = time.monotonic()
        expect_keys = {self.fleet.endpoint(i)[1]: i for i in self.active}

        if failure == "empty":
            # A broken upstream hands over an empty list: exit 2, no scan row;
            # the recovery is the night's scan from the real list.
            empty = os.path.join(a.work, "empty.txt")
            with open(empty, "w") as f:
                f.write("# nothing today\n")
            before = self.max_scan_id()
            p = self.spawn_scan([], empty)
            rc = self.wait_scan(p)
            after = self.max_scan_id()
            self.check(night, "exit-code", rc == 2,
                       "empty list: exit %s, want 2 (%s)" % (rc, self.scan_err().strip()[-200:]))
            self.check(night, "exit-truth", after == before,
                       "empty list: a scan row was recorded (scan %d)" % after)
            night["point"] = "start"
            night["rc"] = rc
            night["status"] = "no scan" if after == before else self.q(
                "SELECT status FROM scans WHERE id=?", (after,))[0][0]
            p = self.spawn_scan([], targets)
            rc2 = self.wait_scan(p)
            sid = self.max_scan_id()
            night["recovery"] = "re-run (scan %d)" % sid
            st = self.q("SELECT status FROM scans WHERE id=?", (sid,))[0][0] if sid else None
            self.check(night, "recovered", rc2 == 0 and st == "done",
                       "re-run exit %s status %s: %s" % (rc2, st, self.scan_err().strip()[-300:]))
        else:
            before = self.max_scan_id()
            p = self.spawn_scan([], targets)
            frac = rng.uniform(0.1, 0.9)
            goal = int(frac * len(self.active))
            sid = 0
            injected = False
            dns_off = False
            point = None
            while p.poll() is None:
                if sid == 0:
                    m = self.max_scan_id()
                    sid = m if m > before else 0
                rows = 0
                if sid:
                    r = self.q_safe("SELECT count(*) FROM results WHERE scan_id=?", (sid,))
                    rows = r[0][0] if r else 0
                if sid and rows >= goal:
                    point = rows
                    self.inject(failure, p)
                    injected = True
                    dns_off = failure == "resolver"
                    break
                time.sleep(0.1)
            rc = self.wait_scan(p)
            if dns_off:
                self.dns(True)
            if failure == "diskfull" and injected:
                self.disk(full=False)
            if sid == 0:
                sid = self.max_scan_id() if self.max_scan_id() > before else 0
            err = self.scan_err()
            night["point"] = ("%d%% (%d rows)" % (round(100 * point / max(1, len(self.active))), point)
                              if injected else "too late (scan ended first)")
            night["rc"] = rc
            st = self.q("SELECT status FROM scans WHERE id=?", (sid,))[0][0] if sid else None
            night["status"] = st
            stored = self.q("SELECT count(*) FROM results WHERE scan_id=?", (sid,))[0][0] if sid else 0
            complete = stored == len(self.active)
            if rc == 0:
                self.check(night, "exit-truth", st == "done" and complete,
                           "exit 0 but status %s with %d of %d endpoints" % (st, stored, len(self.active)))
            else:
                # A SIGKILL can land after the scan committed 'done' with
                # every row (a fast night, polled every 0.1 s): then 'done'
                # is the truth.  Any other failing exit must not say done.
                late_kill = injected and failure == "sigkill" and complete
                self.check(night, "exit-truth", st != "done" or late_kill,
                           "exit %s but status done (%d of %d endpoints)" % (rc, stored, len(self.active)))
            if injected and failure in ("sigint", "sigterm") and not (rc == 0 and st == "done" and complete):
                self.check(night, "exit-code", rc == EXIT_INTERRUPTED,
                           "%s: exit %s, want %d (%s)" % (failure, rc, EXIT_INTERRUPTED, err.strip()[-200:]))
            if injected and failure == "sigkill":
                self.check(night, "exit-code", rc == -signal.SIGKILL, "sigkill: exit %s" % rc)
            if injected and failure == "diskfull" and rc != 0:
                # prlimit's full disk is SIGXFSZ, which kills the scan.
                self.check(night, "exit-code", rc in (3, EXIT_INTERRUPTED) or
                           (not a.tmpfs and rc == -signal.SIGXFSZ),
                           "disk full: exit %s, want 3 or 4 (%s)" % (rc, err.strip()[-200:]))
            if rc == "hung":
                self.check(night, "exit-code", False, "the scan hung after %s" % failure)
            # While the night is unfinished, the report must not look green.
            if st != "done" and sid:
                r = self.tw(["report", "--db", self.db, "--format", "json"])
                codes, shown = set(), (None, None)
                try:
                    d = json.loads(r.stdout)
                    shown = (d["scan"]["id"], d["scan"]["status"])
                    codes = {w.get("code") for w in d.get("warnings") or []
                             if w.get("scan") == sid}
                except (ValueError, AttributeError, TypeError, KeyError):
                    pass
                # It shows this scan as what it is, or an older one with a
                # warning that this newer one is unfinished, or nothing at
                # all (no finished scan to show: an error, not a green page).
                self.check(night, "report-warns",
                           (r.returncode != 0 and not r.stdout.strip())
                           or (shown[0] == sid and shown[1] != "done")
                           or bool(codes & {"newer_scan_interrupted", "newer_scan_running"}),
                           "report (exit %d) shows scan %s (%s) and no warning about unfinished "
                           "scan %d; stderr: %s"
                           % (r.returncode, shown[0], shown[1], sid, r.stderr.strip()[-200:]))
            # Recovery.
            recovery = "none"
            if rc != 0 or st != "done":
                # The documented step: the command the scan printed, run as
                # it is (with this build's binary); without one, --resume ID
                # and the night's options.
                m = re.search(r"resume with: (tlsweep scan [^\n]*)", err)
                hint = shlex.split(m.group(1)) if m else None
                tries = 0
                while tries < 2:
                    tries += 1
                    argv = None
                    if sid and tries == 1 and hint:
                        argv = [self.a.tlsweep] + hint[1:]
                        recovery = "resume %d (its hint)" % sid
                    else:
                        recovery = "resume %d" % sid if sid else "re-run"
                    held = self.q("SELECT count(*) FROM results WHERE scan_id=?", (sid,))[0][0]
                    p = self.spawn_scan(["--resume", str(sid)] if sid else [], targets, argv)
                    if sid and tries == 1:
                        rc2, err2 = self.resume_pair(night, p, sid, targets)
                    else:
                        rc2, err2 = self.wait_scan(p), self.scan_err()
                    if sid and tries == 1 and rc2 == 0:
                        # The resume skips exactly what was stored, and says so.
                        m = re.search(r"(\d+) already stored", err2)
                        self.check(night, "resume-skips", m is not None and int(m.group(1)) == held,
                                   "%d stored before the resume, it says: %s"
                                   % (held, m.group(0) if m else err2.strip()[-200:]))
                    if not sid:
                        sid = self.max_scan_id()
                    st = self.q("SELECT status FROM scans WHERE id=?", (sid,))[0][0]
                    if rc2 == 0 and st == "done":
                        break
                self.check(night, "recovered", rc2 == 0 and st == "done",
                           "%s: exit %s status %s: %s" % (recovery, rc2, st, err2.strip()[-300:]))
                if tries > 1:
                    recovery += " (twice)"
            elif failure == "resolver":
                dnsfail = self.q("SELECT count(*) FROM results WHERE scan_id=? AND class LIKE 'dns%%'",
                                 (sid,))[0][0]
                if dnsfail:
                    # The night is 'done' with DNS failures, which are data: the
                    # pipeline must go red, and the recovery is a new scan.
                    if prev_scan:
                        r = self.tw(["diff", "--db", self.db, str(prev_scan), str(sid),
                                     "--fail-on", "regression"])
                        self.check(night, "resolver-red", r.returncode == 1,
                                   "%d DNS failures, diff --fail-on regression exit %d"
                                   % (dnsfail, r.returncode))
                    self.done_scans[sid] = len(self.active)
                    p = self.spawn_scan([], targets)
                    rc2 = self.wait_scan(p)
                    sid = self.max_scan_id()
                    st = self.q("SELECT status FROM scans WHERE id=?", (sid,))[0][0]
                    recovery = "re-run (%d DNS failures)" % dnsfail
                    self.check(night, "recovered", rc2 == 0 and st == "done",
                               "re-run exit %s status %s" % (rc2, st))
            night["recovery"] = recovery
        night["scan"] = sid
        night["wall"] = time.monotonic() - t0

        # The night's scan: complete, each endpoint once, the right verdicts.
        rows = self.q("SELECT host, port, ifnull(sni, ''), ip, class, ifnull(tls_version, '') "
                      "FROM results WHERE scan_id=?", (sid,))
        keys = [(h, p_, s) for h, p_, s, _, _, _ in rows]
        n_ep = self.q("SELECT n_endpoints, status FROM scans WHERE id=?", (sid,))[0]
        missing = set(expect_keys) - set(keys)
        extra = set(keys) - set(expect_keys)
        self.check(night, "complete",
                   len(keys) == len(set(keys)) == len(expect_keys) and not missing and not extra
                   and n_ep[0] == len(keys) and n_ep[1] == "done",
                   "scan %d: %d rows, %d distinct, %d expected, %d missing, %d extra, n_endpoints %s, %s"
                   % (sid, len(keys), len(set(keys)), len(expect_keys), len(missing), len(extra),
                      n_ep[0], n_ep[1]))
        bad = []
        for h, p_, s, ip, cls, ver in rows:
            i = expect_keys.get((h, p_, s))
            if i is None:
                continue
            _, ecls, ever, _, _ = VARIANTS[self.variant(i)]
            eip = self.fleet.endpoint(i)[2]
            if cls != ecls or ver != (ever or "") or ip != eip:
                bad.append("%s %s: %s %s %s, want %s %s %s" % (h, s, ip, cls, ver, eip, ecls, ever))
        self.check(night, "verdicts", not bad, "%d wrong: %s" % (len(bad), "; ".join(bad[:5])))
        if n_ep[1] == "done":
            self.done_scans[sid] = len(self.active)

        # The diff from the previous night: exactly the injected changes.
        if prev_scan:
            want = set()
            regression = False
            for i, (old, new) in changes.items():
                key = self.fleet.endpoint(i)[1]
                for kind, reg in expected_kinds(old, new):
                    want.add(key + (kind,))
                    regression = regression or reg
            r = self.tw(["diff", "--db", self.db, str(prev_scan), str(sid), "--format", "json"])
            got = set()
            warns = []
            ids = None
            try:
                d = json.loads(r.stdout)
                ids = (d["old"]["id"], d["new"]["id"])
                for c in d["changes"]:
                    got.add((c["host"], c["port"], c["sni"] if c["sni"] is not None else "", c["kind"]))
                warns = d.get("warnings") or []
            except (ValueError, KeyError, TypeError) as e:
                got = {("unparsable", 0, str(e), r.stderr.strip()[-200:])}
            self.check(night, "diff-exact", got == want and ids == (prev_scan, sid),
                       "scans %s: %d changes listed, %d injected; not injected: %s; missing: %s"
                       % (ids, len(got), len(want), sorted(got - want)[:4], sorted(want - got)[:4]))
            r = self.tw(["diff", "--db", self.db, str(prev_scan), str(sid), "--fail-on", "regression"])
            self.check(night, "diff-fail-on", r.returncode == (1 if regression else 0),
                       "exit %d, regression injected: %s (%s)" % (r.returncode, regression,
                                                                 r.stderr.strip()[-200:]))
            list_changed = list_text != prev_list
            codes = {w.get("code") if isinstance(w, dict) else str(w) for w in warns}
            self.check(night, "diff-warnings",
                       ("targets_differ" in codes) == list_changed
                       and codes <= {"targets_differ", "vanished"}
                       and ("vanished" not in codes or counts["remove"] > 0),
                       "target list changed: %s, %d removed; warning codes: %s"
                       % (list_changed, counts["remove"], sorted(codes)))
            night["diff"] = "%d changes%s" % (len(got), ", regression" if regression else "")
        else:
            night["diff"] = "first night"
        return night, sid, list_text

    def resume_pair(self, night, p, sid, targets):
        """While the resume p runs, start a second `--resume` of the same
        scan: one of the two must refuse at once (exit 3, the lease) and the
        other finish (exit 0).  Which one wins is a race; the check is that
        there is exactly one winner.  Returns the winner's (exit, stderr)."""
        t1 = time.monotonic()
        for _ in range(30):  # until the first one holds its lease (best effort)
            if os.path.exists("%s-lock.%d" % (self.db, sid)) or p.poll() is not None:
                break
            time.sleep(0.1)
        if p.poll() is not None:  # finished already: nothing to race with
            return self.wait_scan(p), self.scan_err()
        err2_path = os.path.join(self.a.work, "scan2.err")
        with open(err2_path, "w") as errf:
            t2 = time.monotonic()
            p2 = subprocess.Popen([self.a.tlsweep, "scan"] + self.opts + ["--resume", str(sid), targets],
                                  stdout=subprocess.DEVNULL, stderr=errf, preexec_fn=die_with_parent)
        with open(self.a.pids_file, "a") as f:
            f.write("%d\n" % p2.pid)
        end = {}
        deadline = time.monotonic() + self.a.scan_timeout
        while len(end) < 2 and time.monotonic() < deadline:
            for name, proc in (("first", p), ("second", p2)):
                if name not in end and proc.poll() is not None:
                    end[name] = time.monotonic()
            time.sleep(0.05)
        for proc in (p, p2):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        rcs = (p.returncode, p2.returncode)
        with open(err2_path) as f:
            errs = (self.scan_err(), f.read())
        quick = {"first": end.get("first", 1e9) - t2, "second": end.get("second", 1e9) - t2}
        ok = (rcs == (0, 3) and quick["second"] < 10) or (rcs == (3, 0) and quick["first"] < 10)
        self.check(night, "lease", ok,
                   "two resumes of scan %d at once (%.1f s apart): exits %s, the refusal after "
                   "%.1f s; %s / %s" % (sid, t2 - t1, rcs, min(quick.values()),
                                        errs[0].strip()[-150:], errs[1].strip()[-150:]))
        w = 0 if rcs[0] == 0 else 1 if rcs[1] == 0 else 0
        return rcs[w], errs[w]

    def inject(self, failure, p):
        if failure == "sigint":
            p.send_signal(signal.SIGINT)
        elif failure == "sigterm":
            p.send_signal(signal.SIGTERM)
        elif failure == "sigkill":
            p.send_signal(signal.SIGKILL)
        elif failure == "resolver":
            self.dns(False)
        elif failure == "diskfull":
            self.disk(full=True, pid=p.pid)

    def disk(self, full, pid=None):
        """Fill the database's file system: shrink the tmpfs to what it
        holds now (root), or cap the scan's file size (prlimit)."""
        a = self.a
        if a.tmpfs:
            for _ in range(20):
                # Not a page to spare; a remount below what is in use fails
                # (the scan wrote in between): measure again.
                if full:
                    st = os.statvfs(a.db_dir)
                    size = (st.f_blocks - st.f_bfree) * st.f_frsize
                else:
                    size = a.tmpfs_size
                r = subprocess.run(["mount", "-o", "remount,size=%d" % size, a.db_dir],
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    return
            raise SystemExit("chaos: cannot remount %s: %s" % (a.db_dir, r.stderr))
        elif full:
            limit = max(os.path.getsize(self.db), os.path.getsize(self.db + "-wal")
                        if os.path.exists(self.db + "-wal") else 0)
            subprocess.run(["prlimit", "--pid", str(pid), "--fsize=%d" % limit], check=False)

    # ---- the whole run ----

    def main(self):
        a = self.a
        kinds = (FAILURES * (a.nights // len(FAILURES) + 1))[:a.nights]
        self.rng.shuffle(kinds)
        print("chaos: %d nights x %d endpoints, seed %d, -c %d; tlsweep %s; database on %s"
              % (a.nights, a.endpoints, a.seed, a.concurrency, a.tlsweep,
                 "a tmpfs (disk full = remount to its usage)" if a.tmpfs else
                 "a plain directory (disk full = prlimit --fsize)"), flush=True)
        hdr = "%-5s %-9s %-22s %-9s %-16s %-5s %-12s %-26s %-8s %-24s %s" % (
            "night", "endpoints", "changes", "failure", "at", "exit", "status", "recovery",
            "wall s", "diff", "checks")
        print(hdr, flush=True)
        prev_scan, prev_list = 0, None
        t0 = time.monotonic()
        for n in range(1, a.nights + 1):
            night, sid, list_text = self.night(n, kinds[n - 1], prev_scan, prev_list)
            self.nights.append(night)
            c = night["changes"]
            ch = "+%d -%d ~%d <%d %s" % (c["add"], c["remove"], c["flip"], c["revert"],
                                          night["style"][:5])
            line = "%-5d %-9d %-22s %-9s %-16s %-5s %-12s %-26s %-8.1f %-24s %d/%d" % (
                n, night["endpoints"], ch, night["failure"], night["point"], night["rc"],
                night["status"], night["recovery"], night["wall"], night["diff"],
                night["checks"][0], sum(night["checks"]))
            night["line"] = line
            print(line, flush=True)
            prev_scan, prev_list = sid, list_text
        total = time.monotonic() - t0

        # End: every done scan complete; nothing left running; integrity.
        final = {"n": 0, "checks": [0, 0]}  # "night 0": the checks at the end
        rows = self.q("SELECT id, status, (SELECT count(*) FROM results r WHERE r.scan_id = s.id), "
                      "(SELECT count(DISTINCT host || '|' || port || '|' || ifnull(sni, '')) "
                      "FROM results r WHERE r.scan_id = s.id) FROM scans s ORDER BY id")
        bad = [r for r in rows if r[1] == "done" and not (r[0] in self.done_scans
                                                          and r[2] == r[3] == self.done_scans[r[0]])]
        self.check(final, "end-done-complete", not bad, "done scans not complete: %s" % bad[:5])
        running = [r[0] for r in rows if r[1] == "running"]
        self.check(final, "end-none-running", not running, "scans left running: %s" % running)
        ic = self.q("PRAGMA integrity_check")
        self.check(final, "end-integrity", ic == [("ok",)], str(ic[:3]))
        size = sum(os.path.getsize(os.path.join(a.db_dir, f)) for f in os.listdir(a.db_dir)
                   if f.startswith("chaos.db"))

        passed = sum(c[0] for c in self.checks.values())
        failed = sum(c[1] for c in self.checks.values())
        print("chaos: %d nights, %d scans in the database (%d done), %.0f s, database %.1f MiB"
              % (a.nights, len(rows), sum(1 for r in rows if r[1] == "done"), total, size / 1048576),
              flush=True)
        for name in sorted(self.checks):
            p_, f_ = self.checks[name]
            print("  %-18s %4d passed %4d failed" % (name, p_, f_))
        print("chaos: %d checks passed, %d failed" % (passed, failed), flush=True)
        if a.markdown:
            self.write_markdown(total, rows, size, passed, failed)
        return 1 if failed else 0

    def write_markdown(self, total, rows, size, passed, failed):
        a = self.a
        with open(a.markdown, "w") as f:
            f.write("| night | endpoints | changes (+added -removed ~flipped <reverted) | failure | at "
                    "| exit | status after | recovery | wall s | diff | checks |\n")
            f.write("|---|---|---|---|---|---|---|---|---|---|---|\n")
            for n in self.nights:
                c = n["changes"]
                f.write("| %d | %d | +%d -%d ~%d <%d (%s) | %s | %s | %s | %s | %s | %.1f | %s | %d/%d |\n"
                        % (n["n"], n["endpoints"], c["add"], c["remove"], c["flip"], c["revert"],
                           n["style"], n["failure"], n["point"], n["rc"], n["status"], n["recovery"],
                           n["wall"], n["diff"], n["checks"][0], sum(n["checks"])))
            f.write("\n%d nights in %.0f s; %d scans in the database (%d done); database %.1f MiB; "
                    "%d checks passed, %d failed.\n\n"
                    % (a.nights, total, len(rows), sum(1 for r in rows if r[1] == "done"),
                       size / 1048576, passed, failed))
            f.write("| check | passed | failed |\n|---|---|---|\n")
            for name in sorted(self.checks):
                f.write("| %s | %d | %d |\n" % (name, *self.checks[name]))
            if self.failed_msgs:
                f.write("\nFailed checks:\n\n")
                for m in self.failed_msgs:
                    f.write("- %s\n" % m.replace("|", "\\|"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nights", type=int, required=True)
    ap.add_argument("--endpoints", type=int, required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--concurrency", type=int, default=300)
    ap.add_argument("--tlsweep", required=True)
    ap.add_argument("--fleet-pid", type=int, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dns-port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--map", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--db-dir", required=True)
    ap.add_argument("--tmpfs", action="store_true")
    ap.add_argument("--tmpfs-size", type=int, default=0)
    ap.add_argument("--pids-file", required=True)
    ap.add_argument("--scan-timeout", type=float, default=900)
    ap.add_argument("--markdown")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if a.nights < 1 or a.endpoints < 20:
        ap.error("at least 1 night and 20 endpoints")
    sys.exit(Run(a).main())


if __name__ == "__main__":
    main()
