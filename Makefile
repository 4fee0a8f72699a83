# The README's two commands: `make run` and `make check`.  Meson and Ninja do
# the building; this file only names the jobs.
#
#   make run                  build, then run every scenario of `uiommu run`
#   make check                build, then run every test; ends "N passed, N failed"
#   make check SANITIZE=address,undefined
#                             the same under sanitizers (build-san/)
#   make bench                benchmark medians, also as JSON in build-release/bench.json
#                             (a release build: no lock checks, NDEBUG)
#   make format               clang-format every C file
#   make check-dpdk           Debian's DPDK 22.11 under `uiommu exec`: dpdk-test,
#                             dpdk-testpmd, dmadev_autotest on the emulated I/OAT
#   make check-qemu           Debian's QEMU 7.2 under `uiommu exec`: vfio-pci realize
#                             (both install their packages as root; docs/exec.md)
#   make check-kernel-selftests
#                             the kernel's iommufd selftests (Debian's
#                             linux-source-6.12, built at test time) under
#                             `uiommu exec`; docs/build.md

SANITIZE ?=
BUILD ?= $(if $(SANITIZE),build-$(subst $(comma),-,$(SANITIZE)),build)
MESON_OPTS ?=
comma := ,

ifneq ($(SANITIZE),)
MESON_OPTS += -Db_sanitize=$(SANITIZE) -Db_lundef=false
endif
# UBSan with recovery off: any undefined behaviour aborts the test that hit it
ifneq ($(findstring undefined,$(SANITIZE)),)
MESON_OPTS += -Dc_args=-fno-sanitize-recover=all -Dc_link_args=-fno-sanitize-recover=all
endif

.PHONY: all build run check check-dpdk check-qemu check-kernel-selftests bench \
	format clean deps

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/tools/uiommu run

check: build
	@scripts/check.sh $(BUILD)

# Real programs, unmodified, under `uiommu exec` (scripts/check-dpdk.sh,
# scripts/check-qemu.sh); each ends "N passed, N failed".
check-dpdk: build
	@scripts/check-dpdk.sh $(BUILD)

check-qemu: build
	@scripts/check-qemu.sh $(BUILD)

# tools/testing/selftests/iommu/{iommufd,iommufd_fail_nth} of Debian's
# linux-source-6.12, extracted and built in $(BUILD)/kselftest/ (nothing of
# the kernel tree is committed); one line per test case, then
# "N skipped" and "N passed, N failed" (scripts/check-kernel-selftests.sh).
check-kernel-selftests: build
	@scripts/check-kernel-selftests.sh $(BUILD)

# Benchmarks time the release build: the lock checks of debug and test
# builds (src/lib/lock.h) would be part of every figure.
BENCH_BUILD ?= build-release

$(BENCH_BUILD)/build.ninja: | deps
	meson setup $(BENCH_BUILD) -Dbuildtype=release

bench: deps $(BENCH_BUILD)/build.ninja
	ninja -C $(BENCH_BUILD) bench/uiommu-bench
	$(BENCH_BUILD)/bench/uiommu-bench --json $(BENCH_BUILD)/bench.json

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-*

# ---- fuzzing (tests/fuzz/, docs/build.md) ------------------------------------
# The libFuzzer harness of the uAPI, built with clang straight from the
# sources (every object instrumented, ASan + UBSan, recovery off) in
# build-fuzz/, then run over the committed corpus for FUZZ_SECONDS; any
# finding fails the job and leaves its input in build-fuzz/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1 # >1: that many processes (-fork)
FUZZ_DIR := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-D_GNU_SOURCE -DUIOMMU_VERSION='"fuzz"' -Iinclude -Isrc \
	-Wno-unused-parameter -Wno-missing-field-initializers
FUZZ_LIB_SRCS := $(wildcard src/*/*.c)
FUZZ_OBJS := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_BIN := $(FUZZ_DIR)/fuzz_uapi

.PHONY: fuzz fuzz-build fuzz-deps

fuzz-deps:
	@scripts/deps.sh fuzz

$(FUZZ_DIR)/obj/%.o: src/%.c $(wildcard include/uiommu/*.h src/*/*.h) | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BIN): tests/fuzz/fuzz_uapi.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -lbsd -ljansson -lZydis -ldw -lm \
		-lpthread -o $@

fuzz-build: $(FUZZ_BIN)

# The corpus is copied so that what the run learns stays out of the tree.
fuzz: $(FUZZ_BIN)
	@rm -rf $(FUZZ_DIR)/corpus && mkdir -p $(FUZZ_DIR)/corpus
	cp tests/fuzz/corpus/* $(FUZZ_DIR)/corpus/
	UIOMMU_QUIET=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
		-timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
		$(if $(filter-out 1,$(FUZZ_JOBS)),-fork=$(FUZZ_JOBS)) \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus
