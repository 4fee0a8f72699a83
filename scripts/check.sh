#!/bin/sh
# Run every test program of a build directory and end with one line
# "N passed, N failed" that counts every test case of every program.  The
# programs speak TAP (cmocka); a program that crashes or exits non-zero
# without reporting a failed case counts as one failed case.
set -u

build=${1:-build}
meson test -C "$build" --print-errorlogs >/dev/null 2>&1
status=$?
log="$build/meson-logs/testlog.json"
if [ ! -f "$log" ]; then
	echo "no test log in $build" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
python3 - "$log" <<'PY'
import json, sys
passed = failed = 0
recap = []  # the failures again at the end, where a log's tail shows them
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout", "")
    ok = sum(1 for l in out.splitlines() if l.startswith("ok "))
    bad = sum(1 for l in out.splitlines() if l.startswith("not ok "))
    if t["result"] not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
        bad = 1
    print(f'{t["name"]:>12}: {ok} passed, {bad} failed  ({t["result"]}, {t["duration"]:.1f} s)')
    if bad:
        recap.append(f'{t["name"]} ({t["result"]})')
        for l in out.splitlines():
            if l.startswith("not ok") or l.startswith("#"):
                print("      " + l)
                if l.startswith("not ok"):
                    recap.append("    " + l)
        if t["result"] not in ("OK", "FAIL"):
            print("      " + t.get("stderr", "")[-2000:].replace("\n", "\n      "))
    passed += ok
    failed += bad
if recap:
    print("failed:")
    for l in recap:
        print("  " + l)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
rc=$?
[ $rc -eq 0 ] && [ $status -ne 0 ] && { echo "meson test failed" >&2; exit 1; }
exit $rc
