# The two commands a newcomer needs: `make run` and `make test`. Both set everything up
# (idempotent, quick when nothing changed); see README.md.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test setup setup-test chromium lint unit integration e2e js-test clean

run: setup
	$(BIN)/hiroba serve

setup: $(VENV)/.deps $(VENV)/.model web_client/node_modules/.installed

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

# The face-tracking model (docs/models.md): fetched once into the default cache, verified
# by sha256; fetched again if the file has gone. `hiroba models fetch` is quick when cached.
MODEL_FILE := data/models/face_landmarker.task
$(VENV)/.model: $(VENV)/.deps $(if $(wildcard $(MODEL_FILE)),,model-missing)
	$(BIN)/hiroba models fetch
	touch $@

.PHONY: model-missing

$(VENV)/.test-deps: pyproject.toml $(VENV)/.deps
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

web_client/node_modules/.installed: web_client/package.json web_client/package-lock.json
	cd web_client && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the end-to-end tests (Playwright drives it; it never downloads one),
# redis-server for the cluster tests (tests/cluster_harness.py starts it on a free port),
# coturn for the TURN relay test (tests/e2e/test_turn.py starts it on loopback),
# and a Japanese font so that screenshots kept as test artifacts show the Japanese UI.
TEST_APT_PACKAGES := chromium fonts-ipafont-gothic strace redis-server coturn
chromium:
	@missing=$$(for p in $(TEST_APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

setup-test: setup $(VENV)/.test-deps chromium

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy

js-test: setup
	cd web_client && npm test --silent

test: setup-test lint js-test
	$(BIN)/pytest

unit: setup-test
	$(BIN)/pytest tests/unit

integration: setup-test
	$(BIN)/pytest tests/integration

e2e: setup-test
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) web_client/node_modules test-artifacts
