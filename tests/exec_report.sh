#!/bin/sh
# $UIOMMU_REPORT (issue 14): at the exit of a program that leaves its VFIO
# files open (tests/vfio_program.c --exit-open, as QEMU leaves them), the
# report names the pins and locked memory those files hold, then releases
# them as the kernel does at exit and reports zero; a program that closed
# everything reports zero twice.  Speaks TAP.
# Its user copies (lib/uaccess.c) take the fixup from the program's first
# open on (no system call per copy; the program's one bad pointer is one
# -EFAULT through it), except in sanitizer builds (SANITIZED=1), which
# keep the system call.
#   exec_report.sh UIOMMU VFIO_PROGRAM [SANITIZED]
uiommu=$1
prog=$2
sanitized=${3:-0}
out=${TMPDIR:-/tmp}/uiommu-report.$$
n=0
failed=0
check() {
	n=$((n + 1))
	if eval "$1"; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		sed 's/^/# /' "$out"
		failed=$((failed + 1))
	fi
}
line() { sed -n "s/^uiommu-report: $1 //p" "$out"; }
echo "1..6"
rm -f "$out"
UIOMMU_REPORT=$out "$uiommu" exec -- "$prog" --exit-open >/dev/null 2>&1
rc=$?
check '[ $rc -eq 0 ]' "the program exits 0 with its files open"
check 'line at-exit | grep -q "open-fds=3 pinned-pages=[1-9][0-9]* locked-bytes=[1-9]"' \
	"at exit: 3 files open, pages pinned and charged"
if [ "$sanitized" = 1 ]; then
	check 'sed -n "s/^uiommu-report: uaccess //p" "$out" | grep -qx "copies=syscall efaults=0"' \
		"user copies: one system call each (sanitizer build)"
else
	check 'sed -n "s/^uiommu-report: uaccess //p" "$out" | grep -qx "copies=fixup efaults=1"' \
		"user copies without system calls; the bad pointer's EFAULT through the fixup"
fi
check 'line after-release | grep -qx "open-fds=0 pinned-pages=0 locked-bytes=0"' \
	"after the release: nothing pinned, nothing charged"
rm -f "$out"
UIOMMU_REPORT=$out "$uiommu" exec -- "$prog" >/dev/null 2>&1
check 'line at-exit | grep -qx "open-fds=0 pinned-pages=0 locked-bytes=0"' \
	"closed before exit: zero at exit"
check 'line after-release | grep -qx "open-fds=0 pinned-pages=0 locked-bytes=0"' \
	"and after the release"
rm -f "$out"
[ $failed -eq 0 ]
