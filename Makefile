# Two entry points: `make demo` runs the whole thing locally, `make test` runs the checks CI runs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install demo test lint typecheck unit bench soak clean catalogs

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

unit: install
	$(BIN)/pytest

test: lint typecheck unit

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
