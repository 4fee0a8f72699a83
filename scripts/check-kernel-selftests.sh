#!/bin/sh
# make check-kernel-selftests: the kernel's own iommufd selftests, from
# Debian's linux-source-6.12 package, run unmodified under `uiommu exec`.
#
# At test time (nothing of the kernel tree is committed) the script
# extracts from /usr/src/linux-source-6.12.tar.xz ($UIOMMU_LINUX_TARBALL)
# into BUILD_DIR/kselftest/src:
#   tools/testing/selftests/iommu/{iommufd.c,iommufd_fail_nth.c,iommufd_utils.h}
#   tools/testing/selftests/{kselftest_harness.h,kselftest.h}
#   drivers/iommu/iommufd/iommufd_test.h   (the IOMMU_TEST_CMD uAPI)
#   include/uapi/linux/{iommufd.h,vfio.h}   (the uAPI the tests include)
# installs the two uAPI headers the way `make headers_install` would (the
# __user annotation dropped) into BUILD_DIR/kselftest/usr/include, and
# builds both programs with gcc as the selftest Makefile does (-Wall -O2
# -Wno-unused-function -D_GNU_SOURCE=, that include directory as
# -isystem ahead of the system's), plus tests/kselftest/uapi_bridge.h
# force-included for the names the tree's tests use before its headers
# define them (the script switches each piece on only when the header
# lacks the name).
#
# Each program runs under `uiommu exec --` with a time limit
# ($KSELFTEST_TIMEOUT seconds each, default 900; the harness itself limits
# each case to 30 s).  Its kselftest TAP output is parsed per case
# (fixture.variant.test): one line per case, "ok", "FAIL" with the reason
# (the assertion, the signal, the timeout the harness reported) or "skip"
# with the skip's reason.  The harness forks one child per case, so a case
# that crashes is that case's failure and the run goes on; if the program
# itself dies or runs out of time, the case it was in fails with that
# reason and every case it never reached (from the program's -l list)
# fails as "not run".  The last lines are "N skipped" and
# "N passed, N failed" (skips are counted apart, in neither); the exit
# status is non-zero when any case failed or a program could not be built.
# A case tests/kselftest/known-failures lists fails for a reason
# docs/iommufd.md gives: it is "known", counted apart like a skip (the
# harness cannot skip it), and if it passes the run fails (tap.py).
#
# Some cases map MAP_HUGETLB buffers (up to 64 2 MiB pages at once: the
# 128M_huge dirty-tracking variants): as root the script raises
# /proc/sys/vm/nr_hugepages to $KSELFTEST_HUGEPAGES (80) for the run when it
# is lower, and puts the old value back at the end; otherwise it says so and
# those cases fail for the machine.
#
# Usage: scripts/check-kernel-selftests.sh [BUILD_DIR]; the sources,
# programs and logs stay in BUILD_DIR/kselftest/.  As root the package is
# installed with apt-get when missing (scripts/deps.sh kselftest).
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
tarball=${UIOMMU_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
limit=${KSELFTEST_TIMEOUT:-900}
uiommu=$build/tools/uiommu
work=$build/kselftest
src=$work/src
inc=$work/usr/include
logs=$work/logs
progs="iommufd iommufd_fail_nth"

fail() {
	echo "check-kernel-selftests: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

if [ -z "${UIOMMU_LINUX_TARBALL:-}" ]; then
	sh "$here/scripts/deps.sh" kselftest || fail "linux-source-6.12 missing"
fi
[ -r "$tarball" ] || fail "no $tarball (apt-get install linux-source-6.12)"
[ -x "$uiommu" ] || fail "no $uiommu: build first (make)"

# ---- the sources, extracted once per tarball -----------------------------
members="tools/testing/selftests/iommu/iommufd.c
tools/testing/selftests/iommu/iommufd_fail_nth.c
tools/testing/selftests/iommu/iommufd_utils.h
tools/testing/selftests/kselftest_harness.h
tools/testing/selftests/kselftest.h
drivers/iommu/iommufd/iommufd_test.h
include/uapi/linux/iommufd.h
include/uapi/linux/vfio.h"
stamp="$(stat -c '%s %Y' "$tarball") $tarball"
if [ "$(cat "$work/extracted" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$work" && mkdir -p "$src"
	top=$(tar -tJf "$tarball" | head -n 1)
	top=${top%%/*}
	list=""
	for m in $members; do list="$list $top/$m"; done
	# shellcheck disable=SC2086
	tar -xJf "$tarball" -C "$src" --strip-components=1 $list ||
		fail "cannot extract the selftests from $tarball"
	echo "$stamp" >"$work/extracted"
fi
rm -rf "$logs" && mkdir -p "$logs"

# ---- hugetlb pages for the MAP_HUGETLB cases ------------------------------------
want=${KSELFTEST_HUGEPAGES:-80}
nr=/proc/sys/vm/nr_hugepages
old_nr=$(cat "$nr" 2>/dev/null || echo 0)
if [ "$old_nr" -lt "$want" ]; then
	if [ "$(id -u)" = 0 ] && echo "$want" >"$nr" 2>/dev/null; then
		trap 'echo "$old_nr" >"$nr"' EXIT
		echo "hugetlb pages: $(cat "$nr") for the run (were $old_nr)"
	else
		echo "hugetlb pages: $old_nr (< $want; as root the script reserves them):" \
			"the MAP_HUGETLB cases will fail for the machine"
	fi
fi

# ---- the uAPI headers, as headers_install leaves them -----------------------
mkdir -p "$inc/linux"
for h in iommufd vfio; do
	sed -E 's/([[:space:](])(__user|__force|__iomem)[[:space:]]/\1/g' \
		"$src/include/uapi/linux/$h.h" >"$inc/linux/$h.h"
done

# ---- the bridge pieces this tree needs ----------------------------------------
bridge=""
grep -q in_data_type "$inc/linux/iommufd.h" ||
	bridge="$bridge -DUIOMMU_KST_BRIDGE_HW_INFO_INPUT"
grep -q MOCK_FLAGS_DEVICE_PASID "$src/drivers/iommu/iommufd/iommufd_test.h" ||
	bridge="$bridge -DUIOMMU_KST_BRIDGE_MOCK_PASID"
echo "uAPI bridge (tests/kselftest/uapi_bridge.h):${bridge:- none}"

# ---- build and run ------------------------------------------------------------
for p in $progs; do
	# shellcheck disable=SC2086
	if ! gcc -Wall -O2 -Wno-unused-function -D_GNU_SOURCE= -isystem "$inc" \
		-include "$here/tests/kselftest/uapi_bridge.h" $bridge \
		-o "$work/$p" "$src/tools/testing/selftests/iommu/$p.c" \
		>"$logs/$p.build" 2>&1; then
		cat "$logs/$p.build" >&2
		echo "build failed" >"$logs/$p.nobuild"
		continue
	fi
	# the case list (the harness prints it on stderr and exits 4, SKIP)
	"$work/$p" -l >/dev/null 2>"$logs/$p.list"
	start=$(date +%s)
	timeout -k 10 "$limit" "$uiommu" exec -- "$work/$p" \
		>"$logs/$p.out" 2>&1 </dev/null
	echo $? >"$logs/$p.rc"
	echo $(($(date +%s) - start)) >"$logs/$p.time"
done

python3 "$here/tests/kselftest/tap.py" \
	--known "$here/tests/kselftest/known-failures" "$logs" "$limit" $progs
