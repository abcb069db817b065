# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NURTURE := $(BIN)/nurture
STAMP := $(VENV)/.installed

.PHONY: install demo tour check test lint typecheck bench clean

# The fast lane leaves out what needs a service or takes long; tests/conftest.py marks tests
# by the fixtures they use, so a new test lands in the right lane by itself.
FAST := not (postgres or smtp or browser or prefect or slow)
# --tb=native: pytest's own traceback formatting re-parses sources, which trips CPython 3.11.7's
# "AST constructor recursion depth mismatch" (python/cpython#106905) now and then.
PYTEST := $(BIN)/pytest -q -p no:cacheprovider --tb=native

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# setuptools' own notices about editable installs are not for the user to act on.
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[dev,eval]'
	touch $(STAMP)

# The main job through the real Prefect flows over 120 simulated days, in a fresh demo/.
demo: install
	$(BIN)/python -m nurture.demo

# The CLI step by step at the wall clock (nurture.db, ./outbox, demo-out/ in this folder).
tour: install
	NURTURE="$(NURTURE)" bash examples/cli-tour.sh

lint: install
	$(BIN)/ruff check nurture flows tests bench
	$(BIN)/ruff format --check nurture flows tests bench

# Strict on nurture/ and flows/ (pyproject.toml); bench/ on its own, as its scripts import
# their helpers by file name (`common`, and `xlsxgen` from tests/intake).
typecheck: install
	$(BIN)/mypy
	MYPYPATH=bench:tests/intake $(BIN)/mypy bench

# Lint, types and the unit tests that need no service, on two cores: about a minute.
check: install lint typecheck
	NURTURE_TEST_LANE=fast $(PYTEST) -n 2 -m "$(FAST)" tests

# The full suite CI runs (.ci/run): every test on SQLite and PostgreSQL, SMTP, chromium,
# Prefect, then the notebooks; on two processes, as most of its time is spent waiting on
# PostgreSQL, SMTP, chromium and subprocesses (every fixture gives each test its own database).
test: install lint typecheck
	$(PYTEST) -n 2 --nbmake tests notebooks

bench: install
	for b in bench/cli.py bench/intake.py bench/routing.py bench/cycle.py bench/scale.py bench/send.py bench/scoring.py; do \
		$(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) demo nurture.db outbox .mypy_cache .ruff_cache .pytest_cache build dist nurture/_data
