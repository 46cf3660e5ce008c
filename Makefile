# Lockstep — `make run` to try it, `make test` to test everything.
BUILD     ?= build
ASAN      ?= build-asan
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
LOCKSTEP  := $(BUILD)/lockstep
# API test files run at once: they mostly wait (on serve's schedules, throttle
# windows, receivers), so three at a time fit two CPUs.
API_JOBS  ?= 3
# Extra CMake settings; `make test` sets LOCKSTEP_TESTS_REQUIRED so that a
# missing cmocka fails the configure step instead of skipping the unit tests.
CMAKE_ARGS ?=

.PHONY: all build asan run test unit unit-asan api api-asan e2e pg prom fuzz fuzz-ci bench clean install deb install-test
# `make install`: under $(DESTDIR)$(PREFIX); lockstep.ini and the logrotate file
# under $(DESTDIR)/etc (docs/operations.md "Installing").
PREFIX    ?= /usr/local
DESTDIR   ?=

all: build

build:
	@scripts/bootstrap build
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan:
	@scripts/bootstrap test
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DLOCKSTEP_SANITIZE=ON -DLOCKSTEP_BENCH=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(ASAN) -j$(JOBS)

# First start: demo data and the admin login; then serve on 127.0.0.1:8000 until Ctrl-C.
run: build
	@scripts/run $(LOCKSTEP)

test:
	@scripts/bootstrap test
	@start=$$(date +%s); $(MAKE) --no-print-directory build asan CMAKE_ARGS=-DLOCKSTEP_TESTS_REQUIRED=ON && \
	  echo "make test: build asan took $$(( $$(date +%s) - start )) s"
	@for step in prom unit unit-asan install-test api api-asan e2e pg fuzz-ci; do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory $$step || { echo "make test: $$step failed"; exit 1; }; \
	  echo "make test: $$step took $$(( $$(date +%s) - start )) s"; \
	done

unit:
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

unit-asan:
	@cd $(ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j$(JOBS)

api:
	@cd tests && LOCKSTEP_BIN=$(abspath $(LOCKSTEP)) node --test --test-concurrency=$(API_JOBS) api/

# The API suite against the AddressSanitizer + UBSan build: any report fails it.
api-asan:
	@cd tests && LOCKSTEP_BIN=$(abspath $(ASAN))/lockstep ASAN_OPTIONS=detect_leaks=1 \
		node --test --test-concurrency=$(API_JOBS) api/

e2e:
	@if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then \
	  cd tests && LOCKSTEP_BIN=$(abspath $(LOCKSTEP)) node --test --test-concurrency=1 e2e/; \
	else echo "e2e: no browser tests yet"; fi

pg:
	@scripts/pg-test $(abspath $(BUILD))

# Each libFuzzer harness (fuzz/) for FUZZ_SECONDS (default 60) in build-fuzz/
# (clang, ASan + UBSan); any crash, leak or sanitizer report fails. docs/fuzzing.md.
fuzz:
	@scripts/fuzz

# In make test: each harness 60 s, all six at once (the suites before it are
# done: two CPUs shared by six, about 20 s of CPU each), to keep make test
# within its time budget; the long runs are `make fuzz` with FUZZ_SECONDS or
# FUZZ_RUNS (docs/fuzzing.md).
fuzz-ci:
	@FUZZ_JOBS=$${FUZZ_JOBS:-6} FUZZ_SECONDS=$${FUZZ_SECONDS:-60} scripts/fuzz

# The Prometheus rules shipped in contrib/prometheus: valid, and their unit
# tests pass (the exposition itself is linted by tests/api/prometheus.test.mjs).
prom:
	@promtool check rules contrib/prometheus/lockstep.rules.yml
	@cd contrib/prometheus && promtool test rules lockstep.rules.test.yml

install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# The Debian package, as build-deb/lockstep_<version>_<arch>.deb (scripts/deb-build).
deb:
	@scripts/bootstrap deb
	@scripts/deb-build

# `make install` into a temporary DESTDIR: every file in place, the man page
# and the unit checked (tests/install/run).
install-test:
	@tests/install/run $(abspath $(BUILD))

bench: build
	@scripts/bootstrap bench
	@bench/run $(abspath $(BUILD))

clean:
	rm -rf $(BUILD) $(ASAN) build-deb build-fuzz
