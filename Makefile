# Metanprom churn warehouse. `make build` then `make test` on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help setup build test lint sql-fix docs clean browser bench test-engines engines-setup

help:
	@echo "make build         set up .venv, build the warehouse, reports, BI file and call list (metanprom.duckdb)"
	@echo "make test          ruff + pytest (2 workers): throwaway warehouses in temp dirs"
	@echo "make test-engines  the same project on PostgreSQL and Spark, every mart compared with DuckDB's"
	@echo "make bench         benchmark (BENCH_SIZES=10000,1000000,10000000) with a pandas baseline"
	@echo "make docs          dbt docs as one offline file (target/static_index.html)"
	@echo "make lint          ruff, one-way layers (staging -> intermediate -> marts), sqlfluff (.sqlfluff house style)"
	@echo "make sql-fix       apply the SQL house style with sqlfluff fix"
	@echo "make clean         remove .venv, target, reports and the built files"
	@echo "variables: METANPROM_EXTRACT (another extract), METANPROM_DB (another target file)"

$(STAMP): requirements.txt pyproject.toml
	@echo "==> set-up: creating $(VENV) and installing pinned dependencies"
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt && \
	$(BIN)/python -m metanprom parse && \
	touch $(STAMP) && echo "    set-up done in $$(( $$(date +%s) - start )) s"

setup: $(STAMP)

build: $(STAMP)
	$(BIN)/python -m metanprom build

lint: $(STAMP)
	$(BIN)/ruff check metanprom tests scripts
	$(BIN)/ruff format --check metanprom tests scripts
	$(BIN)/dbt parse --profiles-dir . --quiet --target-path target/lint
	$(BIN)/python -m metanprom.layers target/lint/manifest.json
	$(BIN)/sqlfluff lint models tests/dbt analyses --processes 2

# apply the SQL house style (.sqlfluff) to the models and tests
sql-fix: $(STAMP)
	$(BIN)/sqlfluff fix models tests/dbt analyses --processes 2

browser:
	scripts/ensure_chromium.sh

test: $(STAMP) lint browser
	$(BIN)/pytest -n 2

# PostgreSQL and Spark: extra Python packages (pinned) on top of the same .venv, Debian's
# postgresql and a Java runtime when missing; then build on each engine and compare every mart
# with DuckDB's (tests/engines; report in reports/engines.md).
ENGINES_STAMP := $(VENV)/.engines-installed
$(ENGINES_STAMP): $(STAMP) requirements-engines.txt
	@echo "==> set-up: installing the PostgreSQL and Spark adapters (requirements-engines.txt)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-engines.txt
	@touch $(ENGINES_STAMP)

engines-setup: $(ENGINES_STAMP)
	scripts/ensure_engines.sh

test-engines: engines-setup
	$(BIN)/pytest tests/engines
	@cat reports/engines.md

# dbt docs on a copy of the published warehouse (never locks the file BI tools read)
docs: $(STAMP)
	@test -f "$${METANPROM_DB:-metanprom.duckdb}" || $(MAKE) build
	@mkdir -p target/docs_db && cp "$${METANPROM_DB:-metanprom.duckdb}" target/docs_db/metanprom.duckdb
	METANPROM_DB=target/docs_db/metanprom.duckdb $(BIN)/dbt docs generate --static --profiles-dir . --target-path target
	@echo "docs: target/static_index.html (one offline file) or: $(BIN)/dbt docs serve --profiles-dir ."

# sizes: make bench BENCH_SIZES=10000,1000000,10000000 (10 M takes a few minutes)
# 100 M: make bench BENCH_SIZES=100000000 BENCH_ARGS="--out reports/benchmark_100m.md --projection-from reports/benchmark.json"
BENCH_SIZES ?= 10000,1000000
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python scripts/bench.py --sizes $(BENCH_SIZES) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) target logs reports .metanprom-build* metanprom.duckdb metanprom.duckdb.wal metanprom.duckdb.lock metanprom_bi.duckdb spark-warehouse metastore_db
