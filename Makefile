# controlml: two commands do all the set-up on a fresh machine.
#   make reproduce   venv + install + `controlml reproduce` -> report/index.html
#   make test        venv + install (dev extra) + the whole test suite
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
OUT    ?= report
ARGS   ?=
# Worker processes for the experiments (the machine has 2 cores).
JOBS   ?= 2
# Folder with user-supplied data sets (the sentiment corpus); used when it exists.
DATA_DIR ?= $(wildcard ../shared/data)
DATA_ARG := $(if $(DATA_DIR),--data-dir $(DATA_DIR),)

.PHONY: reproduce reproduce-quick test bench lint clean venv docs wheel

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
	@echo ">> installing the dev, docs and fl (Flower on Ray) extras"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,docs,fl]'
	@touch $@

venv: $(VENV)/.installed

reproduce: $(VENV)/.installed
	$(BIN)/controlml reproduce --out $(OUT) --jobs $(JOBS) $(DATA_ARG) $(ARGS)
	@echo ">> report written to $(abspath $(OUT))/index.html"

reproduce-quick: $(VENV)/.installed
	$(BIN)/controlml reproduce --quick --out $(OUT) --jobs $(JOBS) $(DATA_ARG) $(ARGS)
	@echo ">> report written to $(abspath $(OUT))/index.html"

test: $(VENV)/.installed-dev
	@echo ">> running the test suite"
	$(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks

# The documentation site (mkdocs-material + mkdocstrings): a broken link or a missing
# docstring reference fails the build.
docs: $(VENV)/.installed-dev
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --site-dir site
	@echo ">> documentation written to $(abspath site)/index.html"

# A wheel and an sdist in dist/ (no network: hatchling from the dev venv).
wheel: $(VENV)/.installed-dev
	$(BIN)/python -m build --no-isolation --outdir dist

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check src tests benchmarks

clean:
	rm -rf $(VENV) report .pytest_cache site dist
