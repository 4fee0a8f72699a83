#!/bin/sh
# Issue 16: each buggy program of tests/sanitizer/ under `uiommu exec
# --sanitize` on both DMA engines (dma0, the platform engine; ioat, the
# I/OAT at 0000:00:04.0): the report's head line (kind, device, access,
# IOVA), the stack naming the buggy function, the SUMMARY line and exit
# status 1; then the fixed program: no report, exit 0.  Also: the
# sanitizer is off without --sanitize or UIOMMU_OPTIONS (no report, the
# program's own status), exitcode= and log_path= are obeyed, an unknown
# option is warned about.  Speaks TAP.
#   check.sh UIOMMU DMA_UNMAPPED DMA_PERMISSION
uiommu=$1
unmapped=$2
permission=$3
out=${TMPDIR:-/tmp}/uiommu-san.$$
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
run() { # PROGRAM ARGS...: rc and $out
	"$uiommu" exec --sanitize -- "$@" >"$out" 2>&1
	rc=$?
}
echo "1..35"
for dev in dma0 ioat; do
	name=$dev
	[ $dev = ioat ] && name=0000:00:04.0
	# DMA through no mapping: the UNMAP came too early
	run "$unmapped" $dev
	check '[ $rc -eq 1 ]' "dma-unmapped on $dev: exit status 1"
	check 'head -1 "$out" | grep -qx "uiommu: ERROR: dma-unmapped on $name write 4096 bytes at IOVA 0x200000"' \
		"dma-unmapped on $dev: the head line"
	check 'grep -A3 "IOVA unmapped by UNMAP #" "$out" | grep -q " in release_dst_early .*dma_unmapped.c:"' \
		"dma-unmapped on $dev: the UNMAP's stack names release_dst_early"
	check 'grep -q "earlier mapped by MAP #.* (device may read and write), at:" "$out"' \
		"dma-unmapped on $dev: and the MAP before it"
	check 'grep -qx "SUMMARY: uiommu: 1 error (1 dma-unmapped)" "$out"' \
		"dma-unmapped on $dev: the SUMMARY line"
	run "$unmapped" $dev --fixed
	check '[ $rc -eq 0 ] && ! grep -q "uiommu: ERROR\|SUMMARY" "$out"' \
		"dma-unmapped on $dev, fixed: no report, exit 0"
	# a write through a read-only mapping
	run "$permission" $dev
	check '[ $rc -eq 1 ]' "dma-permission on $dev: exit status 1"
	check 'head -1 "$out" | grep -qx "uiommu: ERROR: dma-permission on $name write 4096 bytes at IOVA 0x200000"' \
		"dma-permission on $dev: the head line"
	check 'grep -A3 "IOVA mapped by MAP #.* (device may read), at:" "$out" | grep -q " in map_dst_buffer .*dma_permission.c:"' \
		"dma-permission on $dev: the MAP's stack names map_dst_buffer"
	check 'grep -qx "SUMMARY: uiommu: 1 error (1 dma-permission)" "$out"' \
		"dma-permission on $dev: the SUMMARY line"
	run "$permission" $dev --fixed
	check '[ $rc -eq 0 ] && ! grep -q "uiommu: ERROR\|SUMMARY" "$out"' \
		"dma-permission on $dev, fixed: no report, exit 0"
done
# what started the access, as each device model names it
run "$unmapped" dma0
check 'grep -q "started by the DOORBELL register (copy 1: SRC 0x100000, DST 0x200000)" "$out"' \
	"dma0: the DOORBELL register started the access"
check 'grep -q "device dma0, stream id 1: the SMMU answered F_TRANSLATION" "$out"' \
	"dma0: its stream id and the SMMU's answer"
run "$unmapped" ioat
check 'grep -q "started by descriptor 1 of the channel (a copy of 4096 bytes), at IOVA 0xf00040" "$out"' \
	"ioat: descriptor 1 started the access"
check 'grep -q "device 0000:00:04.0, stream id 3: the SMMU answered F_TRANSLATION" "$out"' \
	"ioat: its stream id and the SMMU's answer"
check 'grep -q "host address 0x[0-9a-f]* lies in the process.s mapping" "$out"' \
	"ioat: the host address the IOVA pointed to"
# the iommufd compat container keeps a history too
"$uiommu" exec --sanitize --vfio-container=iommufd -- "$unmapped" dma0 >"$out" 2>&1
rc=$?
check '[ $rc -eq 1 ] && grep -A3 "IOVA unmapped by UNMAP #" "$out" | grep -q "in the iommufd IOAS, at:"' \
	"iommufd's IOAS: the UNMAP in its history"
check 'grep -A3 "IOVA unmapped by UNMAP #" "$out" | grep -q " in release_dst_early "' \
	"iommufd's IOAS: the UNMAP's stack names release_dst_early"
# off unless asked for: the buggy program's own status, no report
"$uiommu" exec -- "$unmapped" dma0 >"$out" 2>&1
rc=$?
check '[ $rc -eq 0 ] && ! grep -q "uiommu: ERROR\|SUMMARY" "$out"' \
	"without --sanitize: off"
# UIOMMU_OPTIONS turns it on, with its options
UIOMMU_OPTIONS=exitcode=7 "$uiommu" exec -- "$permission" ioat >"$out" 2>&1
rc=$?
check '[ $rc -eq 7 ] && grep -q "^uiommu: ERROR: dma-permission" "$out"' \
	"UIOMMU_OPTIONS=exitcode=7: on, exit status 7"
rm -f "$out".log.*
UIOMMU_OPTIONS="log_path=$out.log" "$uiommu" exec -- "$permission" dma0 >"$out" 2>&1
rc=$?
check '[ $rc -eq 1 ] && ! grep -q "uiommu: ERROR" "$out" && cat "$out".log.* | grep -q "^uiommu: ERROR: dma-permission on dma0" && cat "$out".log.* | grep -q "^SUMMARY: uiommu: 1 error"' \
	"log_path=: the report and the summary in PATH.PID, not on stderr"
rm -f "$out".log.*
UIOMMU_OPTIONS=halt_on_error=1:exitcode=9 "$uiommu" exec -- "$unmapped" dma0 >"$out" 2>&1
rc=$?
check '[ $rc -eq 9 ] && grep -q "^SUMMARY: uiommu: 1 error" "$out" && ! grep -q "the second copy failed" "$out"' \
	"halt_on_error=1: the process ends at the first report"
UIOMMU_OPTIONS=no_such_option=1:exitcode=3 "$uiommu" exec -- "$permission" dma0 >"$out" 2>&1
rc=$?
check '[ $rc -eq 3 ] && grep -q "^uiommu: WARNING: unrecognized option or value in UIOMMU_OPTIONS: no_such_option=1" "$out"' \
	"an unknown option: a warning, the others obeyed"
UIOMMU_OPTIONS=history_size=1 "$uiommu" exec -- "$unmapped" dma0 >"$out" 2>&1
rc=$?
check '[ $rc -eq 1 ] && grep -q "IOVA unmapped by UNMAP #" "$out" && ! grep -q "earlier mapped by MAP" "$out"' \
	"history_size=1: only the latest operation is kept"
rm -f "$out"
[ $failed -eq 0 ]
