# controlml: two commands do all the set-up on a fresh machine.
#   make reproduce   venv + install + `controlml reproduce` -> report/index.html
#   make test        venv + install (dev extra) + the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= report
ARGS   ?=
# Folder with user-supplied data sets (the sentiment corpus); used when it exists.
DATA_DIR ?= $(wildcard ../shared/data)
DATA_ARG := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

.PHONY: reproduce reproduce-quick test bench lint clean venv

$(BIN)/python:
	@echo ">> creating virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files make the installs idempotent: they rerun only when the
# dependency declarations change.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	@echo ">> installing controlml (pinned by constraints.txt)"
	$(BIN)/python -m pip install --quiet -c constraints.txt torch
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	@echo ">> installing the dev extra"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,fl]'
	@touch $@

venv: $(VENV)/.installed

reproduce: $(VENV)/.installed
	$(BIN)/controlml reproduce --out $(OUT) $(DATA_ARG) $(ARGS)
	@echo ">> report written to $(abspath $(OUT))/index.html"

reproduce-quick: $(VENV)/.installed
	$(BIN)/controlml reproduce --quick --out $(OUT) $(DATA_ARG) $(ARGS)
	@echo ">> report written to $(abspath $(OUT))/index.html"

test: $(VENV)/.installed-dev
	@echo ">> running the test suite"
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check src tests benchmarks

clean:
	rm -rf $(VENV) report .pytest_cache
