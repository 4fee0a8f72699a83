#!/bin/sh
# make check-qemu: Debian's QEMU 7.2 (package qemu-system-x86) runs
# unmodified under `uiommu exec` and assigns the default topology's emulated
# Intel I/OAT (0000:00:04.0) to a q35 guest that never starts (-S):
#
#   uiommu exec -- qemu-system-x86_64 -machine q35,accel=tcg -nodefaults \
#       -nographic -S -monitor stdio -device vfio-pci,host=0000:00:04.0
#
# Cases: the device realizes (the monitor prompt comes, no error), no line
# from QEMU's vfio code, `info pci` lists the function with its BARs, `quit`
# exits 0, and at exit no pin or locked memory is left: the preload's
# $UIOMMU_REPORT lines (tools/preload.c), the state at exit and after the
# release a kernel makes when the process's VFIO fds close.
#
# Ends with "N passed, N failed" (.ci/run adds it to its count).  Usage:
# scripts/check-qemu.sh [BUILD_DIR]; the logs stay in BUILD_DIR/check-qemu/.
# As root the package is installed with apt-get when missing; otherwise the
# exact apt-get command is printed.
set -u

build=${1:-build}
bdf=${UIOMMU_QEMU_BDF:-0000:00:04.0}
ids=${UIOMMU_QEMU_IDS:-8086:2021}
uiommu=$build/tools/uiommu
logs=$build/check-qemu

# the packages (scripts/deps.sh installs them as root, else says how)
if ! sh "$(dirname "$0")/deps.sh" qemu; then
	echo "0 passed, 1 failed"
	exit 1
fi
if [ ! -x "$uiommu" ]; then
	echo "no $uiommu: build first (make)" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
rm -rf "$logs" && mkdir -p "$logs"

python3 - "$uiommu" "$bdf" "$ids" "$logs" <<'PY'
import os, re, select, subprocess, sys, time
uiommu, bdf, ids, logs = sys.argv[1:5]
report = f"{logs}/uiommu-report.txt"
cmd = [uiommu, "exec", "--", "qemu-system-x86_64", "-machine", "q35,accel=tcg",
       "-nodefaults", "-nographic", "-S", "-monitor", "stdio",
       "-device", f"vfio-pci,host={bdf}"]
env = dict(os.environ, UIOMMU_REPORT=report)
passed = failed = 0

def case(ok, name, why=""):
    global passed, failed
    print(f'  {"ok  " if ok else "FAIL"}  {name}' + (f"  ({why})" if why and not ok else ""))
    if ok:
        passed += 1
    else:
        failed += 1

start = time.time()
p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT, env=env)
buf = b""

def until_prompt(timeout):
    """Output up to the next "(qemu) " prompt; None if QEMU exited or the
    time ran out first."""
    global buf
    end = time.time() + timeout
    while b"(qemu) " not in buf:
        left = end - time.time()
        if left <= 0:
            return None
        r, _, _ = select.select([p.stdout], [], [], left)
        if not r:
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            return None
        buf += chunk
    text, _, buf = buf.partition(b"(qemu) ")
    return text.decode(errors="replace")

def send(line):
    try:
        p.stdin.write(line.encode() + b"\n")
        p.stdin.flush()
    except BrokenPipeError:
        pass

banner = until_prompt(120)
# The prompt is printed before the devices realize: give a failed realize
# time to print and exit, then ask.
info = None
if banner is not None:
    send("info pci")
    info = until_prompt(60)
    if info is not None:
        send("quit")
try:
    rc = p.wait(timeout=60)
except subprocess.TimeoutExpired:
    p.kill()
    rc = p.wait()
rest = buf.decode(errors="replace")
try:
    rest += p.stdout.read().decode(errors="replace")
except Exception:
    pass
log = (banner or "") + "(qemu) " + (info or "") + "(qemu) " + rest
open(f"{logs}/qemu.log", "w").write(log)
secs = time.time() - start
print(" ".join(["uiommu exec --"] + cmd[3:]) + f"  ({secs:.1f} s, exit {rc})")

vfio_lines = [l for l in log.splitlines() if re.search(r"(?i)vfio", l)]
case(info is not None and not any(f"vfio-pci,host={bdf}:" in l for l in log.splitlines()),
     f"-device vfio-pci,host={bdf} realizes", "; ".join(vfio_lines[:2]) or "no monitor")
case(not vfio_lines, "no line from QEMU's vfio code", "; ".join(vfio_lines[:3]))

# `info pci`: the function's block (vendor:device ids) and its BAR lines.
blocks = re.split(r"\n(?=\s*Bus\s+\d+, device)", info or "")
dev = [b for b in blocks if ids in b]
bars = re.findall(r"BAR\d: .*", dev[0]) if dev else []
case(bool(dev) and bool(bars), f"info pci lists {ids} with its BARs",
     "no device" if not dev else "no BAR lines")
for b in bars:
    print(f"          {b.strip()}")
case(rc == 0, "quit exits 0", f"exit status {rc}")

# The preload's report (tools/preload.c, $UIOMMU_REPORT): one line of the
# state at exit, one after the release the kernel makes as the fds close.
try:
    rep = open(report).read().splitlines()
except OSError:
    rep = []
for l in rep:
    print(f"          {l}")
after = [l for l in rep if "after-release" in l]
def val(l, k):
    m = re.search(rf"\b{k}=(\d+)", l)
    return int(m.group(1)) if m else None
ok = bool(after) and val(after[-1], "pinned-pages") == 0 and val(after[-1], "locked-bytes") == 0
case(ok, "no pin or locked memory left at exit",
     "no $UIOMMU_REPORT after-release line" if not after else after[-1])
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
