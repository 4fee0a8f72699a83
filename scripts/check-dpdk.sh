#!/bin/sh
# make check-dpdk: Debian's DPDK 22.11 (packages dpdk, dpdk-dev) run
# unmodified under `uiommu exec` against the default topology's emulated
# Intel I/OAT (0000:00:04.0), in type1 mode:
#
#   dpdk-test and dpdk-testpmd start: VFIO is found ("VFIO support
#   initialized"), the device is set up through type1 ("Using IOMMU type 1"),
#   and no line reports a VFIO error;
#   DPDK_TEST=dmadev_autotest dpdk-test: one case per skeleton API case
#   ("test_dma_* Passed") and per group the I/OAT instance runs ("DMA Dev N:
#   Running copy Tests", ...); groups the test itself skips are listed as
#   "skip" and not counted.
#
# Ends with "N passed, N failed" (.ci/run adds it to its count).  Usage:
# scripts/check-dpdk.sh [BUILD_DIR]; the logs stay in BUILD_DIR/check-dpdk/.
# As root the packages are installed with apt-get when missing; otherwise
# the exact apt-get command is printed.
set -u

build=${1:-build}
bdf=${UIOMMU_DPDK_BDF:-0000:00:04.0}
uiommu=$build/tools/uiommu
logs=$build/check-dpdk

# the packages (scripts/deps.sh installs them as root, else says how)
if ! sh "$(dirname "$0")/deps.sh" dpdk; then
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$uiommu" ]; then
	echo "no $uiommu: build first (make)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

rm -rf "$logs" && mkdir -p "$logs"
eal="--no-huge -m 512 --iova-mode=va -a $bdf"

# One run: stdout and stderr apart (stdout is block-buffered into a file,
# so the two would not interleave in order), the exit status, the seconds.
run() {
	name=$1
	shift
	start=$(date +%s)
	"$@" >"$logs/$name.out" 2>"$logs/$name.err" </dev/null
	echo $? >"$logs/$name.rc"
	echo $(($(date +%s) - start)) >"$logs/$name.time"
}

# The interactive programs read "quit" from their prompt.
printf 'quit\n' >"$logs/quit.in"
run test-start sh -c "timeout 180 '$uiommu' exec -- dpdk-test $eal <'$logs/quit.in'"
run testpmd-start sh -c "timeout 180 '$uiommu' exec -- dpdk-testpmd $eal -- -i --total-num-mbufs=2048 <'$logs/quit.in'"
run dmadev env DPDK_TEST=dmadev_autotest timeout 900 "$uiommu" exec -- dpdk-test $eal

python3 - "$logs" "$bdf" <<'PY'
import re, sys
logs, bdf = sys.argv[1], sys.argv[2]
passed = failed = 0

def case(ok, name, why=""):
    global passed, failed
    print(f'  {"ok  " if ok else "FAIL"}  {name}' + (f"  ({why})" if why and not ok else ""))
    if ok:
        passed += 1
    else:
        failed += 1

def load(name):
    def rd(ext):
        try:
            return open(f"{logs}/{name}.{ext}", errors="replace").read()
        except OSError:
            return ""
    out, err = rd("out"), rd("err")
    rc = int(rd("rc") or 1)
    lines = [l for l in re.split(r"[\r\n]", out + "\n" + err) if l.strip()]
    return out, err, rc, lines, rd("time").strip()

# A VFIO error: what the EAL's VFIO and PCI code print when something in
# the VFIO path fails, and the module check's own message.
vfio_err = re.compile(
    r"(?i)(vfio.*(error|fail|cannot|could not|not found|unable|not viable|"
    r"not managed)|module /sys/module/vfio|cannot (mmap|set up dma|get (device|group)|"
    r"add vfio)|requested device .* cannot be used|eal: error|cause:|"
    r"probe.*failed|cannot attach|cannot reset device)")

for name, prog in (("test-start", "dpdk-test"), ("testpmd-start", "dpdk-testpmd")):
    out, err, rc, lines, secs = load(name)
    print(f"{prog} {'--no-huge -m 512 --iova-mode=va -a ' + bdf} ({secs} s, exit {rc})")
    bad = [l for l in lines if vfio_err.search(l)]
    case(rc == 0, f"{prog}: starts and quits with status 0", f"exit status {rc}")
    case(any("VFIO support initialized" in l for l in lines),
         f"{prog}: VFIO found (\"VFIO support initialized\")", "line missing")
    case(any("Using IOMMU type 1" in l for l in lines),
         f"{prog}: {bdf} set up through type1 (\"Using IOMMU type 1\")", "line missing")
    case(not bad, f"{prog}: no VFIO error on start", "; ".join(bad[:3]))

out, err, rc, lines, secs = load("dmadev")
print(f"DPDK_TEST=dmadev_autotest dpdk-test ({secs} s, exit {rc})")
outl = [l for l in re.split(r"[\r\n]", out) if l.strip()]
for l in outl:
    m = re.match(r"^(test_dma_\w+) (Passed|Failed)$", l)
    if m:
        case(m.group(2) == "Passed", f"dmadev_autotest: skeleton {m.group(1)}")

# Instances and their groups, in stdout's order; a failed instance is named
# on stderr ("Error, test failure for device N") and its last group is the
# one that failed (the test stops at the first failing group).
failed_devs = set(int(d) for d in re.findall(r"test failure for device (\d+)", err))
instances = []  # [dev, name, [groups], [skips]]
for l in outl:
    m = re.match(r"^### Test dmadev instance (\d+) \[(.*)\]", l)
    if m:
        instances.append([int(m.group(1)), m.group(2), [], []])
        continue
    m = re.match(r"^DMA Dev (\d+): Running (.+?) Tests", l)
    if m and instances:
        instances[-1][2].append(m.group(2))
        continue
    m = re.match(r"^DMA Dev (\d+): (.*skipping.*)$", l)
    if m and instances:
        instances[-1][3].append(m.group(2))
finished = "Test OK" in out or "Test Failed" in out
case(any(i[1] == bdf for i in instances), f"dmadev_autotest: the I/OAT {bdf} is a dmadev instance",
     "no \"### Test dmadev instance N [%s]\"" % bdf)
for dev, iname, groups, skips in instances:
    if iname != bdf:
        continue  # the skeleton's own instance is DPDK's, not ours
    for n, g in enumerate(groups):
        last = n == len(groups) - 1
        ok = not (last and (dev in failed_devs or not finished))
        case(ok, f"dmadev_autotest: {iname} {g}",
             "failed: " + "; ".join(l for l in err.splitlines() if l.startswith("In "))[:300])
    for s in skips:
        print(f"  skip  dmadev_autotest: {iname}: {s}")
errs = [l for l in err.splitlines() if l.startswith("In ")]
case(rc == 0 and "Test OK" in out, "dmadev_autotest: Test OK, exit status 0",
     f"exit {rc}; " + "; ".join(errs[:3]))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
