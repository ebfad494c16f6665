# Lianban: `make run` starts everything on its embedded defaults; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint bench bench-open bench-supervision bench-bridges docs clean kafka keycloak s3proxy mirror-maker migrate console

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

NODE_TOOLS := tools/asyncapi/node_modules/.installed

$(NODE_TOOLS): tools/asyncapi/package-lock.json  ## the official AsyncAPI parser, for the docs test (npm)
	npm ci --prefix tools/asyncapi --no-audit --no-fund --loglevel=error
	touch $(NODE_TOOLS)

CONSOLE_SRC := services/supervision/console
CONSOLE := $(CONSOLE_SRC)/dist/index.html

$(CONSOLE): $(CONSOLE_SRC)/package-lock.json $(CONSOLE_SRC)/build.mjs $(CONSOLE_SRC)/index.html $(CONSOLE_SRC)/style.css $(shell find $(CONSOLE_SRC)/src -name '*.js')
	npm ci --prefix $(CONSOLE_SRC) --no-audit --no-fund --loglevel=error
	npm run --prefix $(CONSOLE_SRC) --silent build

install: $(STAMP)

console: $(CONSOLE)  ## build the operators' console (ECharts and esbuild from npm), served by supervision at /console/

kafka: $(STAMP)  ## resolve the local Kafka broker's jars (Maven Central, cached)
	$(PY) -m deploy.kafka_local fetch

keycloak: $(STAMP)  ## resolve, unpack and build Keycloak once (Maven Central, cached), for the identity tests
	$(PY) -m deploy.keycloak_local fetch

run: $(STAMP) $(CONSOLE)  ## broker, services, adapters, simulators, a demo case; Ctrl-C stops all (CENTERS=2: a district and its city)
	LIANBAN_RUN_CENTERS=$(CENTERS) $(PY) -m deploy.run_local

s3proxy: $(STAMP)  ## resolve S3Proxy's jars (Maven Central, cached): the S3-compatible store of the materials tests
	$(PY) -m deploy.s3proxy_local fetch

mirror-maker: $(STAMP)  ## resolve MirrorMaker 2's jars (Maven Central, cached): a department's own Kafka cluster, mirrored
	$(PY) -m deploy.mirror_maker fetch

test: $(STAMP) $(NODE_TOOLS) $(CONSOLE) kafka keycloak s3proxy mirror-maker  ## the whole suite: unit, integration (SQLite and PostgreSQL), end-to-end on Kafka
	$(PY) -m pytest

migrate: $(STAMP)  ## every service's database to the newest revision (settings from the environment)
	$(PY) -m deploy.cli db upgrade

test-fast: $(STAMP) $(NODE_TOOLS) s3proxy  ## unit and database tests (SQLite and PostgreSQL), no broker
	$(PY) -m pytest -m "not e2e"

lint: $(STAMP)  ## ruff (lint and format check) and mypy --strict, as the pre-commit hooks do
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: $(STAMP) kafka  ## cases through HTTP intake to unified replies on local Kafka
	$(PY) -m tests.bench.bench_cases $(BENCH_ARGS)

bench-open: $(STAMP) kafka  ## the same at a fixed arrival rate (open loop): make bench-open RATE=100
	$(PY) -m tests.bench.bench_cases --rate $(or $(RATE),20) $(BENCH_ARGS)

bench-supervision: $(STAMP)  ## supervision with 1,000,000 open parts: memory, start-up, alert lag
	$(PY) -m tests.bench.bench_supervision $(BENCH_ARGS)

bench-bridges: $(STAMP) kafka mirror-maker  ## each bridge's work orders/s and latency: http, ferry, database, kafka
	$(PY) -m tests.bench.bench_bridges $(BENCH_ARGS)

docs: $(STAMP)  ## regenerate docs/asyncapi.json from the contracts
	$(PY) -m shared.asyncapi > docs/asyncapi.json

clean:
	rm -rf .run .pytest_cache
