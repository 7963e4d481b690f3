# The two commands of the README, and the steps they are made of.
#   make run   installs everything, creates the SQLite database, loads the demo group, serves the app
#   make test  installs everything (Chromium included), then lint, type checks and the whole suite
# Everything Python lives in .venv inside the checkout; nothing is installed globally but Chromium.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test install lint typecheck pytest browser clean

run: install
	@ASSAY_ENV=$${ASSAY_ENV:-development} $(BIN)/assay db upgrade
	@ASSAY_ENV=$${ASSAY_ENV:-development} $(BIN)/assay demo load
	@ASSAY_ENV=$${ASSAY_ENV:-development} $(BIN)/assay serve

test: install browser lint typecheck pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	@scripts/check-python.sh $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

browser:
	@scripts/install-chromium.sh

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .assay .pytest_cache .mypy_cache .ruff_cache
