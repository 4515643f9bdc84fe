# civicflow — `make help` lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test unit bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install civicflow with its test tools

run: $(STAMP) ## the whole platform on the embedded broker, with NYC demo traffic (Ctrl-C stops)
	$(BIN)/civicflow run

test: $(STAMP) ## the whole suite, unit and integration (starts its own broker)
	$(BIN)/python -m pytest -q

unit: $(STAMP) ## only the tests that need no broker
	$(BIN)/python -m pytest -q -m "not integration"

bench: $(STAMP) ## throughput and latency, with same-run baselines; last line is JSON
	$(BIN)/civicflow bench

clean: ## remove the virtualenv and scratch data
	rm -rf $(VENV) .civicflow .pytest_cache .hypothesis
