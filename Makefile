# nfyio-gateway: every target works on a fresh machine (it creates .venv itself).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := gateway sigv4 backends

.PHONY: install run test check format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/nfyio-gateway serve --data-dir ./data

check: install
	$(BIN)/ruff format --check $(PACKAGES) tests examples
	$(BIN)/ruff check $(PACKAGES) tests examples
	$(BIN)/mypy --strict $(PACKAGES)

format: install
	$(BIN)/ruff format $(PACKAGES) tests examples
	$(BIN)/ruff check --fix $(PACKAGES) tests examples

test: install check
	$(BIN)/python -m pytest -q -n 2 tests --ignore=tests/perf

bench: install
	$(BIN)/python -m pytest -q tests/perf --benchmark-only -p no:xdist

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
