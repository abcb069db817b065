# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
NURTURE := $(BIN)/nurture
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,eval]'
	touch $(STAMP)

demo: install
	NURTURE="$(NURTURE)" bash examples/demo.sh

lint: install
	$(BIN)/ruff check nurture flows tests bench
	$(BIN)/ruff format --check nurture flows tests bench

typecheck: install
	$(BIN)/mypy

# --tb=native: pytest's own traceback formatting re-parses sources, which trips CPython 3.11.7's
# "AST constructor recursion depth mismatch" (python/cpython#106905) now and then.
test: install lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider --tb=native --nbmake tests notebooks

bench: install
	for b in bench/intake.py bench/routing.py bench/cycle.py bench/send.py bench/scoring.py; do \
		$(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) nurture.db outbox .mypy_cache .ruff_cache .pytest_cache
