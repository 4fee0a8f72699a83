#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The results of kselftest programs, one line per test case.

Reads what scripts/check-kernel-selftests.sh left in LOGS for each
PROGRAM and prints one line per case, then "N skipped" and the final
"N passed, N failed" line; exits 1 when any case failed.

    tap.py [--known FILE] LOGS LIMIT PROGRAM...

Per program, LOGS holds:
  PROG.list  the program's -l output (stderr): the FIXTURE / VARIANT / TEST
             table of kselftest_harness.h, the cases it would run
  PROG.out   stdout and stderr of the run under `uiommu exec`: the TAP
             stream ("ok N name", "not ok N name #  reason",
             "ok N name # SKIP reason", XFAIL, XPASS) with the harness's
             "#  RUN name ..." before each case and its diagnostics
             ("# file:line:test:Expected ...", "# test: Test terminated
             unexpectedly by signal 11", "... by timeout") between
  PROG.rc    the run's exit status (124: `timeout` stopped it after LIMIT
             seconds; 128 + N: killed by signal N)
  PROG.time  its seconds
  PROG.nobuild  present when gcc failed (PROG.build has its messages)

Cases are named as the harness names them: fixture.variant.test, or
fixture.test without variants.  The harness forks one child per case, so
a crash is reported by the harness as that case's failure and the rest
run on.  When the program itself dies or runs out of time, the case it
was running fails with that reason and the cases it never reached fail
as "not run".  Passed and failed count cases; skips are counted apart:
a skip is neither.  XFAIL counts as passed, XPASS as failed (the
expectation was wrong).

--known FILE lists the cases that fail for a documented reason
(tests/kselftest/known-failures, mirrored in docs/iommufd.md): one entry
per line, "PATTERN CONDITION REASON", PATTERN an fnmatch pattern over
"program:case" names, CONDITION "always" or "without-CAP_NAME" (the
entry holds only while this process lacks that effective capability).
A failing case that a holding entry names is a known failure: listed as
"known" with the entry's reason and counted apart, like a skip, in
neither total (the kernel's harness cannot skip it).  A case an "always"
entry names that passes fails ("known failure passed"): the list must
stay true.  The line before the totals is "N known failures".
"""
import fnmatch
import re
import signal
import sys

TAP = re.compile(r"^(not ok|ok) (\d+) (\S+)(?: # ?(SKIP|XFAIL|XPASS)?\s*(.*))?$")
RUN = re.compile(r"^#\s+RUN\s+(\S+) \.\.\.$")
DIAG = re.compile(r"^# ")
VERDICT = re.compile(r"^#\s+(OK|FAIL)\s+\S+$")


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def parse_list(text):
    """The case names of a -l table, in the order the harness runs them:
    per fixture, every variant (or none) times every test."""
    names = []
    blocks = []  # [fixture, [variants], [tests]]
    for line in (text or "").splitlines():
        if line.startswith("# FIXTURE") or not line.strip():
            continue
        if line.startswith("----"):
            blocks.append(None)
            continue
        toks = [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]
        if not blocks or blocks[-1] is None:
            if blocks:
                blocks.pop()
            blocks.append([toks[0][1], [], []])
            rest = toks[1:]
            vcol = max(21, len(toks[0][1]) + 1)
        else:
            rest = toks
            vcol = 21
        b = blocks[-1]
        if len(rest) == 2:
            b[1].append(rest[0][1])
            b[2].append(rest[1][1])
        elif len(rest) == 1:
            # the variant column starts right after the fixture's; a test
            # alone sits past the variant column's 25 characters
            (b[1] if rest[0][0] == vcol else b[2]).append(rest[0][1])
    for b in blocks:
        if b is None:
            continue
        f, variants, tests = b
        for v in variants or [None]:
            for t in tests:
                names.append(f"{f}.{v}.{t}" if v else f"{f}.{t}")
    return names


def signame(n):
    try:
        return signal.Signals(n).name
    except ValueError:
        return f"signal {n}"


CAPS = {"CAP_IPC_LOCK": 14, "CAP_SYS_ADMIN": 21, "CAP_SYS_RESOURCE": 24}


def cap_effective(name):
    """Whether this process has capability NAME in its effective set."""
    for line in (read("/proc/self/status") or "").splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> CAPS[name] & 1)
    return False


def parse_known(text):
    """[(pattern, always, reason)] of the entries that hold here."""
    known = []
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise ValueError(f"known failures, line {n}: PATTERN CONDITION REASON")
        pattern, cond, reason = parts
        if cond == "always":
            known.append((pattern, True, reason))
        elif cond.startswith("without-") and cond[8:] in CAPS:
            if not cap_effective(cond[8:]):
                known.append((pattern, False, reason))
        else:
            raise ValueError(f"known failures, line {n}: unknown condition {cond}")
    return known


def program(logs, limit, prog, out, known=()):
    """Print PROG's cases; return (passed, failed, skipped, known failures)."""
    passed = failed = skipped = kfail = 0

    def entry(name):
        return next((k for k in known if fnmatch.fnmatchcase(f"{prog}:{name}", k[0])), None)

    def case(kind, name, why=""):
        nonlocal passed, failed, skipped, kfail
        k = entry(name)
        if k and kind == "fail":
            kind, why = "known", f"{k[2]}; it failed: {why}"
        elif k and kind == "ok" and k[1]:
            kind, why = "fail", "known failure passed: take it off tests/kselftest/known-failures and docs/iommufd.md"
        tag = {"ok": "ok  ", "fail": "FAIL", "skip": "skip", "known": "known"}[kind]
        out.append(f"  {tag}  {prog}: {name}" + (f"  ({why})" if why else ""))
        if kind == "ok":
            passed += 1
        elif kind == "fail":
            failed += 1
        elif kind == "known":
            kfail += 1
        else:
            skipped += 1

    if read(f"{logs}/{prog}.nobuild") is not None:
        out.append(f"{prog}: build failed ({logs}/{prog}.build)")
        case("fail", "(build)", "gcc failed")
        return passed, failed, skipped, kfail
    listed = parse_list(read(f"{logs}/{prog}.list"))
    text = read(f"{logs}/{prog}.out") or ""
    rc_text = (read(f"{logs}/{prog}.rc") or "").strip()
    rc = int(rc_text) if rc_text.lstrip("-").isdigit() else None
    secs = (read(f"{logs}/{prog}.time") or "?").strip()
    out.append(f"{prog} ({secs} s, exit {rc if rc is not None else '?'})")

    results = {}  # name -> (kind, why), in the order reported
    diags = {}
    current = None
    plan = None
    for line in text.splitlines():
        m = re.match(r"^1\.\.(\d+)$", line)
        if m:
            plan = int(m.group(1))
            continue
        m = RUN.match(line)
        if m:
            current = m.group(1)
            diags[current] = []
            continue
        m = TAP.match(line)
        if m:
            code, _, name, directive, msg = m.groups()
            msg = (msg or "").strip()
            if directive == "SKIP":
                results[name] = ("skip", msg or "no reason given")
            elif directive == "XFAIL":
                results[name] = ("ok", "XFAIL: " + msg if msg else "XFAIL")
            elif directive == "XPASS":
                results[name] = ("fail", "XPASS: passed but expected to fail")
            elif code == "ok":
                results[name] = ("ok", "")
            else:
                why = msg or "; ".join(diags.get(name, [])[-2:])
                results[name] = ("fail", why or "failed")
            current = None
            continue
        if current and DIAG.match(line) and not VERDICT.match(line):
            # the assertion's file by its name, not the extraction path
            d = re.sub(r"^\S*/([^/\s:]+\.[ch]:)", r"\1", line[2:].strip())
            if d and not d.startswith("SKIP"):
                diags[current].append(d)

    # how the program ended, if it did not finish the run itself
    died = None
    timed = secs.isdigit() and limit.isdigit() and int(secs) >= int(limit)
    if rc == 124 or (rc == 137 and timed):
        died = f"program stopped by the {limit} s time limit"
    elif rc is not None and rc > 128:
        died = f"program killed by {signame(rc - 128)}"
    elif rc is None:
        died = "program did not run"

    names = list(results)
    for n in listed:
        if n not in results:
            names.append(n)
    if current and current not in names:
        names.append(current)
    for n in names:
        if n in results:
            case(results[n][0], n, results[n][1])
        elif n == current:
            why = died or "no result reported"
            extra = "; ".join(diags.get(n, [])[-2:])
            case("fail", n, why + (f": {extra}" if extra else ""))
        else:
            case("fail", n, f"not run ({died or 'no result reported'})")
    if plan is not None and plan > len(names):
        for i in range(len(names), plan):
            case("fail", f"(case {i + 1} of {plan})", f"not run ({died or 'no result reported'})")
    if not names and plan is None:
        case("fail", "(no cases)", died or "no TAP output")
    return passed, failed, skipped, kfail


def main(argv):
    known = []
    if len(argv) > 2 and argv[1] == "--known":
        known = parse_known(read(argv[2]))
        argv = argv[:1] + argv[3:]
    logs, limit, progs = argv[1], argv[2], argv[3:]
    passed = failed = skipped = kfail = 0
    for prog in progs:
        out = []
        p, f, s, k = program(logs, limit, prog, out, known)
        print("\n".join(out))
        print(f"{prog}: {p} passed, {f} failed, {s} skipped, {k} known failures")
        passed, failed, skipped, kfail = passed + p, failed + f, skipped + s, kfail + k
    print(f"{skipped} skipped")
    print(f"{kfail} known failures (tests/kselftest/known-failures, docs/iommufd.md)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
