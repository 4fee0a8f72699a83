#!/bin/sh
# uiommu exec and the caller's real CAP_IPC_LOCK (issue 12): a program with
# the capability in its effective set (root) maps past its RLIMIT_MEMLOCK,
# as under the kernel (charged, never limited); --memlock models a limit for
# a process without it, and the same program gets ENOMEM.  The program
# (tests/vfio_program.c) maps 2 x 64 KiB.  Skipped (77) without the
# capability or prlimit.
#   exec_cap_ipc_lock.sh UIOMMU VFIO_PROGRAM
uiommu=$1
prog=$2
eff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
[ $((0x$eff >> 14 & 1)) -eq 1 ] || exit 77
command -v prlimit >/dev/null 2>&1 || exit 77
prlimit --memlock=65536:65536 "$uiommu" exec -- "$prog" >/dev/null || {
	echo "exec with CAP_IPC_LOCK and a 64 KiB limit failed" >&2
	exit 1
}
if "$uiommu" exec --memlock 65536 -- "$prog" >/dev/null 2>&1; then
	echo "exec --memlock 65536 (no CAP_IPC_LOCK) did not fail" >&2
	exit 1
fi
if UIOMMU_MEMLOCK=65536 "$uiommu" exec -- "$prog" >/dev/null 2>&1; then
	echo "UIOMMU_MEMLOCK=65536 (no CAP_IPC_LOCK) did not fail" >&2
	exit 1
fi
"$uiommu" exec --memlock 262144 -- "$prog" >/dev/null || {
	echo "exec --memlock 262144 failed" >&2
	exit 1
}
exit 0
