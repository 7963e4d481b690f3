# The two commands of the README, and the steps they are made of.
#   make run   installs everything, creates the SQLite database, loads the demo group, serves the app
#   make test  installs everything (Chromium included), then lint, type checks and the whole suite
# Everything Python lives in .venv inside the checkout; nothing is installed globally but Chromium
# (and, for the sum tree's SHA-256 helper, gcc and libssl-dev when missing).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# The sum tree's SHA-256 helper (C, through OpenSSL); without it the sum tree uses hashlib.
NATIVE_SRC := src/assay/reserves/_sha256batch.c
NATIVE     := src/assay/reserves/libsha256batch.so.1

.PHONY: run test install lint typecheck pytest browser clean

run: install
	@ASSAY_ENV=$${ASSAY_ENV:-development} $(BIN)/assay db upgrade
	@ASSAY_ENV=$${ASSAY_ENV:-development} $(BIN)/assay demo load
	@ASSAY_ENV=$${ASSAY_ENV:-development} $(BIN)/assay serve

test: install browser lint typecheck pytest

install: $(STAMP) $(NATIVE)

$(STAMP): pyproject.toml $(NATIVE_SRC)
	@scripts/check-python.sh $(PYTHON)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@scripts/build-native.sh
	@rm -f $(VENV)/.installed-*
	@touch $@

# Built again when deleted (the stamp above rebuilds it when its source changes).
$(NATIVE): $(NATIVE_SRC)
	@scripts/build-native.sh

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
	rm -rf $(VENV) .assay .pytest_cache .mypy_cache .ruff_cache $(NATIVE)
