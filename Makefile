# Metanprom churn warehouse. `make build` then `make test` on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup build test lint docs clean

$(STAMP): requirements.txt pyproject.toml
	@echo "==> set-up: creating $(VENV) and installing pinned dependencies"
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt && \
	touch $(STAMP) && echo "    set-up done in $$(( $$(date +%s) - start )) s"

setup: $(STAMP)

build: $(STAMP)
	$(BIN)/python -m metanprom build

lint: $(STAMP)
	$(BIN)/ruff check metanprom tests scripts
	$(BIN)/ruff format --check metanprom tests scripts

test: $(STAMP) lint
	$(BIN)/pytest

docs: $(STAMP)
	$(BIN)/dbt docs generate --profiles-dir . 

clean:
	rm -rf $(VENV) target logs reports .metanprom-build metanprom.duckdb metanprom.duckdb.wal
