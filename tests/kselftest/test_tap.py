#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tests of tests/kselftest/tap.py, the parser of make
check-kernel-selftests (issue 15: "run under uiommu exec ... every test
case passes, or skips for a reason ...; none crashing").  Speaks TAP.

The logs are written here in the shapes kselftest_harness.h gives them:
its -l table (fixtures with and without variants, names longer than the
columns) and its TAP stream with the harness's "#  RUN" lines and
diagnostics.  Behaviours checked:
  - one line per case, named fixture.variant.test / fixture.test, in the
    harness's order (the -l table's variants times tests);
  - a SKIP is listed with its reason and counted in neither total;
  - a case the harness reports killed by a signal is that case's failure,
    with the reason, and the cases after it still count;
  - a program killed by a signal (or stopped by the time limit) fails the
    case it was in with that reason, and every case it never reached
    fails as "not run";
  - a program that could not be built is one failure;
  - the last line is "N passed, N failed", the exit status 1 on failures;
  - a failing case a known-failures entry names is "known", counted in
    neither total; one that passes fails (the list must stay true); an
    entry whose capability condition does not hold is ignored.
"""
import io
import os
import sys
import tempfile
from contextlib import redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402

LIST = """\
# FIXTURE            VARIANT                   TEST
global                                         lone
--------------------------------------------------------------------------------
iommufd                                        simple_close
                                               cmd_fail
--------------------------------------------------------------------------------
iommufd_ioas         no_domain                 ioas_destroy
                     mock_domain               area
                     a_variant_name_longer_than_the_column hwpt
--------------------------------------------------------------------------------
a_fixture_name_longer_than_twenty only_variant
--------------------------------------------------------------------------------
a_fixture_name_longer_than_twenty_too                           only_test
"""

NAMES = [
    "global.lone",
    "iommufd.simple_close",
    "iommufd.cmd_fail",
    "iommufd_ioas.no_domain.ioas_destroy",
    "iommufd_ioas.no_domain.area",
    "iommufd_ioas.no_domain.hwpt",
    "iommufd_ioas.mock_domain.ioas_destroy",
    "iommufd_ioas.mock_domain.area",
    "iommufd_ioas.mock_domain.hwpt",
    "iommufd_ioas.a_variant_name_longer_than_the_column.ioas_destroy",
    "iommufd_ioas.a_variant_name_longer_than_the_column.area",
    "iommufd_ioas.a_variant_name_longer_than_the_column.hwpt",
    "a_fixture_name_longer_than_twenty_too.only_test",
]


def stream(results, plan, tail=True):
    """A harness's output for [(name, tap_line_suffix or None, diags)]:
    None: the program died inside that case (no result line)."""
    lines = ["TAP version 13", f"1..{plan}", f"# Starting {plan} tests from 3 test cases."]
    for i, (name, res, diags) in enumerate(results, 1):
        lines.append(f"#  RUN           {name} ...")
        lines += [f"# {d}" for d in diags]
        if res is None:
            return "\n".join(lines) + "\n"
        ok = not res.startswith("not ok")
        lines.append(f"#          {'OK' if ok else 'FAIL'}  {name}")
        lines.append(res.replace("N", str(i), 1).replace("NAME", name))
    if tail:
        lines.append("# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0")
    return "\n".join(lines) + "\n"


def run(files, progs, limit="900", known=None):
    d = tempfile.mkdtemp()
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    buf = io.StringIO()
    with redirect_stdout(buf):
        args = ["tap.py"]
        if known is not None:
            with open(os.path.join(d, "known"), "w") as f:
                f.write(known)
            args += ["--known", os.path.join(d, "known")]
        rc = tap.main(args + [d, limit] + progs)
    return rc, buf.getvalue().splitlines()


n = 0
bad = 0


def check(cond, what):
    global n, bad
    n += 1
    print(f"{'ok' if cond else 'not ok'} {n} - {what}")
    if not cond:
        bad += 1


def line_of(out, name):
    return next((l for l in out if l.endswith(f": {name}") or f": {name}  (" in l), "")


print("1..18")

# the -l table: variants times tests, long names past the columns
check(tap.parse_list(LIST) == NAMES, "the -l table gives fixture.variant.test in the harness's order")

# a full run: passes, a skip with its reason, a crashed case, the rest
ok_all = [(nm, "ok N NAME", []) for nm in NAMES]
ok_all[1] = (NAMES[1], "ok N NAME # SKIP fault injection is not enabled in the kernel",
             ["     SKIP      fault injection is not enabled in the kernel"])
ok_all[4] = (NAMES[4], "not ok N NAME",
             ["iommufd_ioas.no_domain.area: Test terminated unexpectedly by signal 11"])
files = {"p.list": LIST, "p.out": stream(ok_all, len(NAMES)), "p.rc": "1\n", "p.time": "3\n"}
rc, out = run(files, ["p"])
check(out[-1] == f"{len(NAMES) - 2} passed, 1 failed" and rc == 1,
      "passed and failed count cases, a skip is in neither; exit status 1")
check(f"1 skipped" in out, "skips are counted apart")
check("fault injection is not enabled in the kernel" in line_of(out, NAMES[1])
      and line_of(out, NAMES[1]).startswith("  skip"), "a skip is listed with its reason")
check(line_of(out, NAMES[4]).startswith("  FAIL") and "signal 11" in line_of(out, NAMES[4]),
      "a case killed by a signal fails with the harness's reason")
check(line_of(out, NAMES[5]).startswith("  ok"), "the cases after a crashed case still count")
check(sum(1 for l in out if l.startswith("  ")) == len(NAMES), "one line per case")

# the program itself dies inside case 3: that case fails with the signal,
# the cases never reached fail as "not run"
dying = ok_all[:2] + [(NAMES[2], None, ["iommufd.c:62:cmd_fail:Expected 0 (0) == rc (-1)"])]
files = {"p.list": LIST, "p.out": stream(dying, len(NAMES)), "p.rc": "139\n", "p.time": "1\n"}
rc, out = run(files, ["p"])
check("SIGSEGV" in line_of(out, NAMES[2]) and line_of(out, NAMES[2]).startswith("  FAIL"),
      "a program killed by a signal fails the case it was in, naming the signal")
check(all("not run" in line_of(out, nm) for nm in NAMES[3:]),
      "every case a dead program never reached fails as not run")
check(out[-1] == f"1 passed, {len(NAMES) - 2} failed", "the count after a program's death")

# the time limit
files = {"p.list": LIST, "p.out": stream(dying, len(NAMES)), "p.rc": "124\n", "p.time": "900\n"}
rc, out = run(files, ["p"])
check("time limit" in line_of(out, NAMES[2]), "a program stopped by the time limit says so")

# a program that did not build is one failure; two programs add up
files = {"q.nobuild": "build failed\n", "q.build": "error\n",
         "p.list": LIST, "p.out": stream(ok_all, len(NAMES)), "p.rc": "1\n", "p.time": "3\n"}
rc, out = run(files, ["p", "q"])
check(out[-1] == f"{len(NAMES) - 2} passed, 2 failed" and any("q: build failed" in l for l in out),
      "a program that could not be built is one failure")

# everything passes: exit 0
good = [(nm, "ok N NAME", []) for nm in NAMES]
files = {"p.list": LIST, "p.out": stream(good, len(NAMES)), "p.rc": "0\n", "p.time": "1\n"}
rc, out = run(files, ["p"])
check(rc == 0 and out[-1] == f"{len(NAMES)} passed, 0 failed", "all passed: exit status 0")

# no -l list (the program could not list): the TAP stream alone names them
files = {"p.out": stream(good, len(NAMES)), "p.rc": "0\n", "p.time": "1\n"}
rc, out = run(files, ["p"])
check(rc == 0 and out[-1] == f"{len(NAMES)} passed, 0 failed", "without the -l list the TAP stream counts")

# known failures: the crashed case of the full run is known; a known case
# that passes fails; a capability condition that does not hold is no entry
files = {"p.list": LIST, "p.out": stream(ok_all, len(NAMES)), "p.rc": "1\n", "p.time": "3\n"}
rc, out = run(files, ["p"], known="# comment\np:*.no_domain.area always needs a fork\n")
check(rc == 0 and out[-1] == f"{len(NAMES) - 2} passed, 0 failed"
      and "1 known failures" in out[-2]
      and line_of(out, NAMES[4]).startswith("  known") and "needs a fork" in line_of(out, NAMES[4]),
      "a listed failing case is a known failure with its reason, in neither total")
rc, out = run(files, ["p"], known="p:iommufd.cmd_fail always wrong\np:*.no_domain.area always x\n")
check(rc == 1 and "known failure passed" in line_of(out, NAMES[2]),
      "a listed case that passes fails: the list stays true")
has_admin = tap.cap_effective("CAP_SYS_ADMIN")
rc, out = run(files, ["p"], known="p:*.no_domain.area without-CAP_SYS_ADMIN needs admin\n")
check(line_of(out, NAMES[4]).startswith("  known" if not has_admin else "  FAIL"),
      "a capability condition holds only without the capability")
try:
    tap.parse_known("p:x sometimes why\n")
    check(False, "an unknown condition is refused")
except ValueError:
    check(True, "an unknown condition is refused")

sys.exit(1 if bad else 0)
