#!/bin/sh
# Make sure the build's Debian packages are installed (with "fuzz": also
# those of the fuzzing build; with "dpdk" or "qemu": also the programs
# make check-dpdk and make check-qemu run; with "kselftest": the kernel
# source tarball make check-kernel-selftests builds its tests from): install them with apt-get when
# running as root, otherwise say exactly what to run.
set -e

PACKAGES="gcc make python3 meson ninja-build pkg-config libbsd-dev libjansson-dev libcmocka-dev libzydis-dev libdw-dev"
# `make fuzz`: clang and its runtime libraries (libclang_rt.fuzzer)
case "${1:-}" in
fuzz) PACKAGES="$PACKAGES clang libclang-rt-dev" ;;
dpdk) PACKAGES="$PACKAGES dpdk dpdk-dev" ;;   # dpdk-test, dpdk-testpmd, the PMDs
qemu) PACKAGES="$PACKAGES qemu-system-x86" ;; # qemu-system-x86_64 7.2
# /usr/src/linux-source-6.12.tar.xz: tools/testing/selftests/iommu/
kselftest) PACKAGES="$PACKAGES linux-source-6.12 xz-utils" ;;
esac

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq $missing >/dev/null
else
	echo "uiommu needs these packages:$missing" >&2
	echo "run as root:  apt-get install -y$missing" >&2
	exit 1
fi
