# idp-agents: the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure

.PHONY: help deps build test test-unit test-asan bench demo format clean

help:
	@echo "make deps       install Debian packages and npm test peers (scripts/install-deps.sh)"
	@echo "make build      configure and build; binaries land in $(BUILD)/bin/"
	@echo "make test       deps + build + every ctest label (unit, integration, interop)"
	@echo "make test-asan  ASan+UBSan build, unit and integration labels"
	@echo "make bench      benchmarks (bench/); prints BENCH lines, never fails on timing"
	@echo "make demo       idp-agents demo: identity provider, protected MCP server, secret, agent, a tool call"

deps:
	scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: deps build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

test-unit: build
	cd $(BUILD) && ctest $(CTEST_FLAGS) -L unit

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIDP_SANITIZE=ON $(CMAKE_FLAGS)

test-asan: $(ASAN_BUILD)/build.ninja
	scripts/install-deps.sh --no-npm
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS) -L 'unit|integration'

bench: deps build
	BUILD_DIR=$(CURDIR)/$(BUILD) bench/server_throughput
	BUILD_DIR=$(CURDIR)/$(BUILD) bench/client_latency
	BUILD_DIR=$(CURDIR)/$(BUILD) bench/jwt_verify
	BUILD_DIR=$(CURDIR)/$(BUILD) bench/discovery

demo: deps build
	scripts/demo.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
