# idp-agents: the commands a developer and CI use. `make help` lists them.
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure
# Warnings in our code are errors in these builds (CI's); WERROR=OFF to look at them all at once.
WERROR ?= ON

# What `make demo` builds: the programs scripts/demo.sh runs and the web UI the service serves.
# Its set-up installs the Debian packages and, from npm, only the UI's libraries (deps-demo).
DEMO_TARGETS ?= idp-agents idp-mcp-server idp_ui
DEMO_ARGS ?=
# What `make bench` builds and runs (bench/<name> each; docs/benchmarks.md).
BENCH_TARGETS ?= mcp-conformance-server idp-agents idp-mcp-server bench-client-latency bench-jwt-verify \
  bench-discovery bench-agent-turn bench-fake-model agent-test-server bench-service-chat \
  bench-chat-load
BENCHMARKS ?= server_throughput client_latency jwt_verify discovery example_server scaling agent_turn \
  service_chat scale_out
# `make fuzz` (docs/fuzzing.md): each target in fuzz/targets runs FUZZ_SECONDS under libFuzzer
# with ASan+UBSan, built by clang in $(FUZZ_BUILD).
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= jsonrpc sse_parser http_server http_client event_stream openai_stream jwt \
  secret_schema sigv4 url_policy calculator
FUZZ_CXX ?= clang++-16
FUZZ_CXXFLAGS ?= -O1 -gline-tables-only

.PHONY: help deps deps-build deps-demo build test test-unit test-asan fuzz bench bench-smoke demo format \
  tidy clean

help:
	@echo "make deps       install Debian packages and npm test peers (scripts/install-deps.sh)"
	@echo "make build      configure and build; binaries land in $(BUILD)/bin/"
	@echo "make test       deps + build + every ctest label (unit, integration, interop, e2e, browser, scale, bench-smoke, fuzz-smoke)"
	@echo "make test-asan  ASan+UBSan build, unit, integration and fuzz-smoke labels"
	@echo "make fuzz       libFuzzer (clang, ASan+UBSan) on every fuzz target, FUZZ_SECONDS=$(FUZZ_SECONDS) each"
	@echo "                (FUZZ_TARGETS=\"jwt sigv4\" for some; findings land in $(FUZZ_BUILD)/artifacts/)"
	@echo "make tidy       clang-tidy-16 (.clang-tidy) on every unit of the build; report only"
	@echo "                (TIDY_ARGS=\"--changed HEAD~1\": the last commit's files, as CI; --werror: fail on a warning)"
	@echo "make bench      benchmarks (bench/): BENCH lines with rounds and spread; fails on INVALID or an error, never on timing"
	@echo "make bench-smoke  every benchmark at a tiny size (ctest -L bench-smoke; also part of make test)"
	@echo "make demo       builds only $(DEMO_TARGETS) and runs the demo: identity provider, example MCP server, secret,"
	@echo "                the service and its web UI; prints the URL and the sign-in (DEMO_ARGS=--once: ask one question and exit)"

deps:
	scripts/install-deps.sh

# The Debian packages only (what building needs; no npm peers).
deps-build:
	scripts/install-deps.sh --no-npm

# The Debian packages and the web UI's libraries (ui/package-lock.json), no test peers.
deps-demo:
	scripts/install-deps.sh --npm-only ui

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIDP_WERROR=$(WERROR) $(CMAKE_FLAGS)

build: $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: deps build
	cd $(BUILD) && ctest $(CTEST_FLAGS)

test-unit: build
	cd $(BUILD) && ctest $(CTEST_FLAGS) -L unit

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DIDP_SANITIZE=ON -DIDP_WERROR=$(WERROR) \
	  $(CMAKE_FLAGS)

test-asan: $(ASAN_BUILD)/build.ninja
	scripts/install-deps.sh --no-npm
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest $(CTEST_FLAGS) -L 'unit|integration|fuzz-smoke'

# libFuzzer needs clang: scripts/install-deps.sh --fuzz installs clang-16 and libFuzzer.
$(FUZZ_BUILD)/build.ninja:
	scripts/install-deps.sh --no-npm --fuzz
	CXX=$(FUZZ_CXX) cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$(FUZZ_CXXFLAGS)" -DIDP_FUZZ=ON -DIDP_SANITIZE=ON \
	  -DIDP_BUILD_TESTS=OFF $(CMAKE_FLAGS)

fuzz: $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz-,$(FUZZ_TARGETS))
	FUZZ_BIN=$(abspath $(FUZZ_BUILD))/bin FUZZ_WORK=$(abspath $(FUZZ_BUILD)) \
	  FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh $(FUZZ_TARGETS)

# Every benchmark runs even when one fails; the BENCH lines are repeated at the end (and kept in
# $(BUILD)/bench/*.log), and the target fails when one benchmark failed or was INVALID.
bench: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target $(BENCH_TARGETS)
	@mkdir -p $(BUILD)/bench; failed=; \
	for b in $(BENCHMARKS); do \
	  BUILD_DIR=$(abspath $(BUILD)) bench/$$b 2>&1 | tee $(BUILD)/bench/$$b.log; \
	  [ $${PIPESTATUS[0]} -eq 0 ] || failed="$$failed $$b"; \
	done; \
	echo; echo "make bench: $$(nproc) CPUs, load average $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	grep -h '^BENCH ' $(foreach b,$(BENCHMARKS),$(BUILD)/bench/$(b).log) || true; \
	if [ -n "$$failed" ]; then echo "make bench: failed or INVALID:$$failed" >&2; exit 1; fi

bench-smoke: deps build
	cd $(BUILD) && ctest $(CTEST_FLAGS) -L bench-smoke

# A build folder configured before the UI's libraries were installed has no UI bundling step
# (cmake looks for esbuild when it configures): configure it again.
demo: deps-demo $(BUILD)/build.ninja
	@if [ build/peers/ui/.install-stamp -nt $(BUILD)/build.ninja ]; then cmake -S . -B $(BUILD); fi
	cmake --build $(BUILD) -j $(JOBS) --target $(DEMO_TARGETS)
	IDP_BIN_DIR=$(abspath $(BUILD))/bin IDP_DEMO_DIR=$(abspath $(BUILD))/demo scripts/demo.sh $(DEMO_ARGS)

# clang-tidy with the curated checks of .clang-tidy (scripts/tidy.sh): the whole tree takes about
# an hour of one CPU here, so CI checks the files of the last commit only.
TIDY_ARGS ?=
tidy: $(BUILD)/build.ninja
	scripts/install-deps.sh --no-npm --tidy
	scripts/tidy.sh --build $(BUILD) --jobs $(JOBS) $(TIDY_ARGS)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
