#!/usr/bin/env python3
"""check_layers.py - the architecture of DESIGN §1 / STYLE G1, checked by a machine.

    check_layers.py SRCDIR [BUILDDIR]

1. The ladder, from the sources: a file of a floor includes only headers of
   its own folder or of a floor below it (base < tls < store < scanner,
   report, lab < cli < tlsweep.c).  scanner/, report/ and lab/ share a floor
   and never include one another.  No product code lives under tests/.
2. No two files call each other in a circle, from the objects of BUILDDIR
   (when given): an edge A -> B means an object of A references a symbol
   that B defines; any cycle in that graph is reported.
3. getopt is parsed only in cli/.

Prints one line per finding and exits 1 when there is any; prints a summary
and exits 0 otherwise.
"""
import collections
import glob
import os
import re
import subprocess
import sys

FLOORS = {"base": 0, "tls": 1, "store": 2, "scanner": 3, "report": 3, "lab": 3, "cli": 4}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def product_files(src):
    files = []
    for d in FLOORS:
        files += sorted(glob.glob(os.path.join(src, d, "*.[ch]")))
    files.append(os.path.join(src, "tlsweep.c"))
    return files


def floor_of(rel):
    top = rel.split("/")[0]
    if rel == "tlsweep.c":
        return "tlsweep", 5
    return top, FLOORS.get(top)


def check_includes(src, findings):
    n = 0
    for path in product_files(src):
        rel = os.path.relpath(path, src)
        top, fl = floor_of(rel)
        text = open(path, encoding="utf-8", errors="replace").read()
        for inc in INCLUDE.findall(text):
            n += 1
            itop, ifl = floor_of(inc)
            if ifl is None:
                findings.append(f"{rel}: includes {inc}, outside the product floors")
            elif itop != top and ifl >= fl:
                findings.append(f"{rel}: includes {inc} ({itop}/ is not below {top}/)")
        if re.search(r"\bgetopt(_long)?\s*\(", text) and top != "cli":
            findings.append(f"{rel}: parses options (getopt) outside cli/")
    return n


def check_calls(build, findings):
    objs = glob.glob(os.path.join(build, "**", "libtw_*.a.p", "*.o"), recursive=True)
    objs += glob.glob(os.path.join(build, "tlsweep.p", "*.o"))
    defs, uses = {}, collections.defaultdict(set)
    for o in objs:
        owner = os.path.basename(os.path.dirname(o))
        key = owner.replace("libtw_", "").replace(".a.p", "").replace(".p", "")
        key += "/" + os.path.basename(o).replace(".c.o", ".c")
        out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDRB":
                defs[f[2]] = key
            elif len(f) == 2 and f[0] == "U":
                uses[key].add(f[1])
    edges = collections.defaultdict(set)
    for k, syms in uses.items():
        for s in syms:
            if s in defs and defs[s] != k:
                edges[k].add(defs[s])
    state, stack, seen = {}, [], set()

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(edges.get(u, ())):
            if state.get(v) == 1:
                cyc = stack[stack.index(v):] + [v]
                if tuple(cyc) not in seen:
                    seen.add(tuple(cyc))
                    findings.append("call circle: " + " -> ".join(cyc))
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(edges):
        if u not in state:
            visit(u)
    return len(objs)


def main():
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    src = sys.argv[1]
    findings = []
    n_inc = check_includes(src, findings)
    n_obj = check_calls(sys.argv[2], findings) if len(sys.argv) > 2 else 0
    if glob.glob(os.path.join(src, "tests", "lab", "*")):
        findings.append("tests/lab exists: the lab is product code (lab/)")
    for f in findings:
        print(f)
    if findings:
        return 1
    print(f"layers: {n_inc} includes and {n_obj} objects checked, no floor crossed, no circle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
