# Two entry points: `make demo` runs the whole thing locally, `make test` runs the checks (CI adds `make test-slow`).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test test-slow lint typecheck unit bench soak clean catalogs

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: install
	$(BIN)/notifier demo

lint: install
	$(BIN)/ruff check notifier tests $(wildcard benchmarks)
	$(BIN)/ruff format --check notifier tests $(wildcard benchmarks)

typecheck: install
	$(BIN)/mypy

# Two workers: the tests that wait on real processes (daemon, demo, browser) overlap the ones that compute.
unit: install
	$(BIN)/pytest -n 2

test: lint typecheck unit

# The exhaustive runs `make test` leaves out: large equivalence checks and every property test at 300 examples.
test-slow: install
	NOTIFIER_SLOW_TESTS=1 $(BIN)/pytest -m "slow or hypothesis"

bench: install
	$(BIN)/python benchmarks/run.py

# Ten minutes of more work than the daemon can do: its memory must stay flat (not part of `make bench`).
soak: install
	$(BIN)/python benchmarks/soak.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis test-artifacts

# Re-extract translatable strings from code and templates, then merge them into every catalog.
catalogs: install
	$(BIN)/pybabel -q extract -F babel.cfg -o notifier/i18n/locales/messages.pot --project=dmc-notifier \
	  --version=0.1.0 -c Translators: -s --no-wrap notifier
	$(BIN)/pybabel -q update -i notifier/i18n/locales/messages.pot -d notifier/i18n/locales -D messages \
	  --no-wrap --previous --ignore-obsolete
