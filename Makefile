# The README's two commands: `make run` and `make check`.  Meson and Ninja do
# the building; this file only names the jobs.
#
#   make run                  build, then run every scenario of `uiommu run`
#   make check                build, then run every test; ends "N passed, N failed"
#   make check SANITIZE=address,undefined
#                             the same under sanitizers (build-san/)
#   make bench                benchmark medians, also as JSON in build/bench.json
#   make format               clang-format every C file

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

.PHONY: all build run check bench format clean deps

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

bench: build
	$(BUILD)/bench/uiommu-bench --json $(BUILD)/bench.json

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-*
