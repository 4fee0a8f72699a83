#!/bin/sh
# $UIOMMU_REPORT (issue 14): at the exit of a program that leaves its VFIO
# files open (tests/vfio_program.c --exit-open, as QEMU leaves them), the
# report names the pins and locked memory those files hold, then releases
# them as the kernel does at exit and reports zero; a program that closed
# everything reports zero twice.  Speaks TAP.
#   exec_report.sh UIOMMU VFIO_PROGRAM
uiommu=$1
prog=$2
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
echo "1..5"
rm -f "$out"
UIOMMU_REPORT=$out "$uiommu" exec -- "$prog" --exit-open >/dev/null 2>&1
rc=$?
check '[ $rc -eq 0 ]' "the program exits 0 with its files open"
check 'line at-exit | grep -q "open-fds=3 pinned-pages=[1-9][0-9]* locked-bytes=[1-9]"' \
	"at exit: 3 files open, pages pinned and charged"
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
