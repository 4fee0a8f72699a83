#!/bin/sh
# uiommu exec and the caller's real CAP_IPC_LOCK (issue 12): a program with
# the capability in its effective set (root) maps past its RLIMIT_MEMLOCK,
# as under the kernel (charged, never limited); --memlock models a limit for
# a process without it, and the same program gets ENOMEM.  The program
# (tests/vfio_program.c) maps 2 x 64 KiB.  Speaks TAP; skipped without
# the capability or prlimit.
#   exec_cap_ipc_lock.sh UIOMMU VFIO_PROGRAM
uiommu=$1
prog=$2
eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
if [ $((0x$eff >> 14 & 1)) -ne 1 ]; then
	echo "1..0 # SKIP no CAP_IPC_LOCK in the effective set"
	exit 0
fi
if ! command -v prlimit >/dev/null 2>&1; then
	echo "1..0 # SKIP no prlimit"
	exit 0
fi
n=0
failed=0
# case EXPECT DESCRIPTION COMMAND...: EXPECT is ok (exit 0) or fail
case_() {
	expect=$1 what=$2
	shift 2
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then got=ok; else got=fail; fi
	if [ "$got" = "$expect" ]; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=$((failed + 1))
	fi
}
echo "1..4"
case_ ok "CAP_IPC_LOCK: maps past a 64 KiB RLIMIT_MEMLOCK" \
	prlimit --memlock=65536:65536 "$uiommu" exec -- "$prog"
case_ fail "--memlock 65536 (no CAP_IPC_LOCK): ENOMEM" \
	"$uiommu" exec --memlock 65536 -- "$prog"
case_ fail "UIOMMU_MEMLOCK=65536 (no CAP_IPC_LOCK): ENOMEM" \
	env UIOMMU_MEMLOCK=65536 "$uiommu" exec -- "$prog"
case_ ok "--memlock 262144 (no CAP_IPC_LOCK): room for both maps" \
	"$uiommu" exec --memlock 262144 -- "$prog"
[ $failed -eq 0 ]
