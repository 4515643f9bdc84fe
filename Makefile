# civicflow — `make help` lists the targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install tools run test unit bench clean test-versions

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install civicflow with its test tools

# Debian's packages the suite needs: prometheus brings promtool (config, rules and their unit tests),
# docker-compose validates deploy/compose.yaml (no Docker engine is installed: only the client), postgresql brings
# the server binaries (initdb, pg_ctl) for the throwaway cluster the suite starts (tests/support/postgres.py).
# Post-install scripts may start daemons (prometheus on :9090, a postgresql main cluster on :5432); they are
# stopped, since the suite starts its own servers. Never fails: without root or apt-get those checks are skipped
# and say so (and fail in CI, where CI=true, for PostgreSQL).
tools: ## install promtool, docker-compose and PostgreSQL (Debian) if missing and apt-get is usable
	@missing="$$(command -v promtool >/dev/null || echo prometheus) $$(command -v docker-compose >/dev/null || echo docker-compose) $$(command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || echo postgresql)"; \
	if [ -n "$$(echo $$missing | tr -d ' ')" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  ( test "$$(id -u)" = 0 && command -v apt-get >/dev/null && apt-get update -qq \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    && { command -v invoke-rc.d >/dev/null && { invoke-rc.d prometheus stop; invoke-rc.d postgresql stop; } >/dev/null 2>&1 || true; } ) \
	  || echo "could not install $$missing: their checks will be skipped"; \
	fi

run: $(STAMP) ## the whole platform on the embedded broker, with NYC demo traffic (Ctrl-C stops)
	$(BIN)/civicflow run

# The whole suite on the embedded broker and, alongside it, the integration tests again on Apache Kafka (a
# throwaway KRaft node: tests/support/kafka.py), then the fault tests on a three-node Apache Kafka cluster (broker
# killed and paused under load: tests/streams/pipeline/test_cluster_faults.py), where java and mvn are installed;
# without them those two runs are skipped and say why, and in CI (CI=true) it is an error. The Apache Kafka
# integration run mostly waits (workers joining, timers falling due), so it runs beside the embedded run, each
# with its own broker, topics and groups; its output is printed when it ends. The fault tests run alone.
# Every run goes on when another fails; the target fails if any did.
test: $(STAMP) tools ## the whole suite (embedded broker) with the integration tests on Apache Kafka, then the cluster fault tests
	@missing=$$(echo $$(command -v java >/dev/null || echo java) $$(command -v mvn >/dev/null || echo mvn)); \
	if [ -z "$$missing" ]; then \
	  status=0; log=$$(mktemp); \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -m integration --broker=kafka >$$log 2>&1 & kafka=$$!; \
	  echo "whole suite on the embedded broker (the integration tests on Apache Kafka run alongside):"; \
	  $(BIN)/python -m pytest -q || status=1; \
	  wait $$kafka || status=1; \
	  echo "integration tests on Apache Kafka:"; cat $$log; rm -f $$log; \
	  echo "fault tests on a three-node Apache Kafka cluster:"; \
	  $(BIN)/python -m pytest -q -m cluster --broker=kafka || status=1; \
	  exit $$status; \
	fi; \
	$(BIN)/python -m pytest -q || exit 1; \
	if [ "$$CI" = true ]; then \
	  echo "error: the Apache Kafka run needs java (17+) and mvn; missing on PATH: $$missing"; exit 1; \
	fi; \
	echo "Apache Kafka run skipped: missing on PATH: $$missing (install Java 17+ and Maven to run it)"

unit: $(STAMP) ## only the tests that need no broker
	$(BIN)/python -m pytest -q -m "not integration"

bench: $(STAMP) ## throughput and latency, with same-run baselines; last line is JSON
	$(BIN)/civicflow bench

clean: ## remove the virtualenv and scratch data
	rm -rf $(VENV) .venv-3.* .civicflow .pytest_cache .hypothesis

# The suite on every other supported Python present (3.12, 3.13 from pyenv, or on PATH), each in its own
# virtualenv (.venv-3.12, .venv-3.13): the unit tests, then the integration tests on the embedded broker.
PYTHON_VERSIONS ?= 3.12 3.13
test-versions: ## the suite again on each other supported Python present (PYTHON_VERSIONS)
	@for v in $(PYTHON_VERSIONS); do \
	  py=$$(command -v python$$v || ls -d /root/.pyenv/versions/$$v.*/bin/python 2>/dev/null | tail -1); \
	  if [ -z "$$py" ]; then echo "Python $$v: not installed, skipped"; continue; fi; \
	  echo "Python $$v ($$py):"; \
	  test -x .venv-$$v/bin/python || $$py -m venv .venv-$$v || exit 1; \
	  .venv-$$v/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' || exit 1; \
	  .venv-$$v/bin/python -m pytest -q || exit 1; \
	done
