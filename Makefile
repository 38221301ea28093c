# The two quick-start commands are `make run` and `make test`; both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit integration browser clean help postgres

help:
	@echo "make run   - the daemon on specs/ against the built-in Globus sandbox"
	@echo "make test  - install into .venv and run lint, type checks and the whole test suite"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/reconciler run --sandbox specs/

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

# The integration tests start a throwaway PostgreSQL cluster (tests/postgres.py) with the
# server binaries of Debian's postgresql-15: installed here when missing and we are root.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || \
	{ if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing postgresql-15 (the tests start a throwaway cluster)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
	  else \
	    echo "PostgreSQL server binaries (initdb, pg_ctl) are missing: install postgresql-15, or the PostgreSQL tests fail"; \
	  fi; }

integration: $(STAMP) postgres
	$(BIN)/pytest -q tests/integration

# The dashboard's browser test needs Debian's Chromium; install it when it is missing.
# If that fails (no root, no network), say so: the browser test then fails with one line.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { echo "installing chromium (the dashboard's browser test needs it)"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends chromium >/dev/null; } \
	  || echo "warning: could not install chromium: the browser test will fail"; }

test: lint typecheck browser postgres
	$(BIN)/pytest -q -n 2 tests

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .reconciler
