# Hearth developer entry points. `make run` and `make test` are public contracts (README).
#
#   make run          the whole app on http://127.0.0.1:8000 (SQLite + filesystem broker unless
#                     DATABASE_URL / REDIS_URL are set); PORT=8001 make run for another port
#   make test         lint, format check, import contracts, migrations check, pytest
#                     (PYTEST_ARGS="-k rsvp -x" passes arguments to pytest)
#   make install      the runtime dependencies into .venv
#   make install-dev  the runtime and test dependencies into .venv
#   make clean        caches and runtime state (keeps .venv and db.sqlite3)
#   make distclean    clean, plus .venv and db.sqlite3

PYTHON ?= python3
PYTEST_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
VENV_PYTHON := $(BIN)/python
# Stamps record what was installed; pip runs again only when pyproject.toml is newer.
RUNTIME_STAMP := $(VENV)/.hearth-installed-runtime
DEV_STAMP := $(VENV)/.hearth-installed-dev
# setuptools warns at length on every editable install of a flat layout; nothing to act on.
PIP_INSTALL := PYTHONWARNINGS="ignore:Editable installation" $(VENV_PYTHON) -m pip install --quiet

.DEFAULT_GOAL := help
.PHONY: help run test install install-dev clean distclean

help:
	@sed -n '1,/^$$/s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# ---------------------------------------------------------------------------------------------
# The virtualenv

$(VENV_PYTHON):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "Hearth needs Python 3.11 or newer, but PYTHON=$(PYTHON) is" \
	    "$$($(PYTHON) --version 2>/dev/null || echo 'not found')." >&2; \
	  echo "Install Python 3.11+ or point at one, e.g. make run PYTHON=python3.12" >&2; \
	  exit 1; }
	@echo "Creating $(VENV) with $$($(PYTHON) --version)"
	@$(PYTHON) -m venv $(VENV) || { \
	  echo "Could not create $(VENV). On Debian/Ubuntu: apt install python3-venv" >&2; \
	  rm -rf $(VENV); exit 1; }
	@$(PIP_INSTALL) --upgrade pip

# Order-only on the interpreter: recreating the venv over itself must not force a reinstall.
$(RUNTIME_STAMP): pyproject.toml | $(VENV_PYTHON)
	@echo "Installing Hearth into $(VENV) (the first time takes a minute)..."
	@$(PIP_INSTALL) -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(VENV_PYTHON)
	@echo "Installing Hearth with its test tools into $(VENV)..."
	@$(PIP_INSTALL) -e '.[dev]'
	@touch $@ $(RUNTIME_STAMP)

install: $(RUNTIME_STAMP)

install-dev: $(DEV_STAMP)

# ---------------------------------------------------------------------------------------------
# Run and test

# migrate and seed_demo are idempotent, so every start brings an old checkout up to date.
# `exec` hands the shell's place to the supervisor, so signals from make reach it directly.
run: $(RUNTIME_STAMP)
	$(VENV_PYTHON) manage.py migrate --noinput
	$(VENV_PYTHON) manage.py seed_demo
	exec $(VENV_PYTHON) -m config.devstack

# Explicit, so an exported DJANGO_SETTINGS_MODULE from a shell cannot point the tests elsewhere.
test: export DJANGO_SETTINGS_MODULE = config.settings.test
test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(VENV_PYTHON) manage.py makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

# ---------------------------------------------------------------------------------------------
# Housekeeping

clean:
	rm -rf .run staticfiles test-results playwright-report
	rm -rf .pytest_cache .ruff_cache .import_linter_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) *.egg-info db.sqlite3 db.sqlite3-journal db.sqlite3-wal db.sqlite3-shm
