# nfyio-gateway: every target works on a fresh machine (it creates .venv itself).
# The interpreter the venv is made from: Debian's CPython 3.11 where the machine has it.
# Debian builds it with PGO and LTO; on a plain source build (pyenv's default, without
# --enable-optimizations) the gateway spends 1.3-1.4x the CPU per small request
# (docs/performance.md, "The interpreter"). Elsewhere, python3. `make install` recreates
# a venv made from another interpreter.
PYTHON ?= $(shell test -x /usr/bin/python3.11 && echo /usr/bin/python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
PACKAGES := gateway sigv4 backends
# Test processes: one more than the CPUs, 2 to 4 (each starts its own moto, SeaweedFS,
# PostgreSQL and gateways). The tests wait on clients and servers a quarter of the time:
# on 2 CPUs, 3 processes finish the suite in 13.5 minutes where 2 took 14-16.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); n=$$((n + 1)); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: install system-packages services chromium awscli2 valgrind run test check format bench bench-scale fuzz lock clean

install: $(STAMP)

# The pinned versions of the lock (hash-checked), then the project itself on top of them.
$(STAMP): pyproject.toml $(LOCK) Makefile
	@if [ -x $(BIN)/python ] && [ "$$(cat $(VENV)/.interpreter 2>/dev/null)" != "$(PYTHON)" ]; then \
		echo "$(VENV) was made from another interpreter: recreating it from $(PYTHON)"; \
		rm -rf $(VENV); fi
	@# Debian ships its python3.11's venv support apart: installed when the first try
	@# fails (needs root, as on CI).
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { [ "$(PYTHON)" = /usr/bin/python3.11 ] \
		&& rm -rf $(VENV) && apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11-venv \
		&& $(PYTHON) -m venv $(VENV); }
	echo "$(PYTHON)" > $(VENV)/.interpreter
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Regenerate the lock from pyproject.toml (with the test extra), pinned with hashes. Pins
# that still fit are kept, so adding a dependency changes only what it brings;
# `make lock LOCK_FLAGS=--upgrade` moves every pin to the newest release that fits.
LOCK_FLAGS ?=
lock: install
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra test \
		--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links $(LOCK_FLAGS) --output-file $(LOCK) pyproject.toml

run: install
	$(BIN)/nfyio-gateway serve --data-dir ./data

check: install
	$(BIN)/ruff format --check $(PACKAGES) tests examples
	$(BIN)/ruff check $(PACKAGES) tests examples
	$(BIN)/mypy --strict $(PACKAGES) tests examples
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format $(PACKAGES) tests examples
	$(BIN)/ruff check --fix $(PACKAGES) tests examples

# Debian packages the tests use, installed when missing (needs root, as on CI; otherwise
# install them by hand), all in one apt-get run: PostgreSQL and PgBouncer (the state
# store, alone and behind a transaction-mode pooler: tests/services/), chromium (the web
# console's browser tests drive it through Playwright: no browser download) and awscli
# (Debian's is the aws CLI v2; the venv's, from PyPI, is v1: the tests run both).
# `make services`, `make chromium` and `make awscli2` install one group; `make test` all.
CHROMIUM := /usr/bin/chromium
AWSCLI2 := /usr/bin/aws
VALGRIND := /usr/bin/valgrind
missing = $(strip \
	$(if $(wildcard /usr/lib/postgresql/*/bin/initdb)$(shell command -v initdb),,postgresql) \
	$(if $(wildcard /usr/sbin/pgbouncer),,pgbouncer) \
	$(if $(wildcard $(CHROMIUM)),,chromium) \
	$(if $(wildcard $(AWSCLI2)),,awscli) \
	$(if $(wildcard $(VALGRIND)),,valgrind))
# $(call apt_install,<packages>): nothing when the list is empty.
apt_install = @$(if $(1),apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -qq $(1),true)

system-packages:
	$(call apt_install,$(filter-out valgrind,$(missing)))

services:
	$(call apt_install,$(filter postgresql pgbouncer,$(missing)))

chromium:
	$(call apt_install,$(filter chromium,$(missing)))

awscli2:
	$(call apt_install,$(filter awscli,$(missing)))

# Debian's valgrind: make bench counts instructions per request under callgrind
# (tests/perf/instructions.py).
valgrind:
	$(call apt_install,$(filter valgrind,$(missing)))

test: install system-packages check
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) tests --ignore=tests/perf

# Property-based fuzzing of the S3 request path, long run (make test runs a quick one).
fuzz: install
	NFYIO_FUZZ=long $(BIN)/python -m pytest -q -p no:xdist -o timeout=0 tests/gateway/s3/test_fuzz.py

# The gateway side by side with SeaweedFS (tests/perf/sidebyside.py): one table; then
# what each feature costs a small request (tests/perf/features.py: CPU time; then
# tests/perf/instructions.py: instructions counted under callgrind, steady to about 1 %); then
# small GETs through one and two gateway processes over SeaweedFS with the state in
# PostgreSQL (tests/perf/scale.py; alone: make bench-scale); then what the rate limiter
# costs a small GET and HEAD (tests/perf/ratelimit_cost.py: limits on against off); then
# what the audit trail costs the lifecycle sweeper (tests/perf/lifecycle_audit_cost.py);
# then HEADs during a GET of an object not in the page cache, on a throttled disk
# (tests/perf/cold_read.py; needs root and the blkio cgroup, else it says so and skips).
# Micro-benchmarks: $(BIN)/python -m pytest -q -s tests/perf --benchmark-only -p no:xdist
bench: install services valgrind
	$(BIN)/python -m tests.perf.sidebyside
	$(BIN)/python -m tests.perf.features
	$(BIN)/python -m tests.perf.instructions
	$(BIN)/python -m tests.perf.version_scale
	$(BIN)/python -m tests.perf.scale
	$(BIN)/python -m tests.perf.ratelimit_cost
	$(BIN)/python -m tests.perf.lifecycle_audit_cost
	$(BIN)/python -m tests.perf.cold_read
	$(BIN)/python -m tests.perf.collector

bench-scale: install services
	$(BIN)/python -m tests.perf.scale

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
