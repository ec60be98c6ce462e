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
	$(BIN)/hiroba serve --seed-demo

setup: $(VENV)/.deps $(VENV)/.model client

# The venv, made once by Python 3.11 (or newer: the lock is universal); `deps` refuses an
# older one with a hint to `make clean`.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Every Python package comes from requirements.lock (hashed, compiled by uv from
# pyproject.toml: `make lock`). uv is bootstrapped from its own hashed line of the lock,
# then `uv pip sync` makes the venv exactly the lock: it installs what is missing, changes
# what has another version and removes what the lock does not name (a package installed by
# hand, or left by an older lock), so a stale venv cannot differ from a fresh one. It runs on
# every make (well under a second when nothing changed). --compile-bytecode writes every
# package's .pyc once, at install: uv installs none by default, and with
# PYTHONDONTWRITEBYTECODE set (as in the shells of this machine) nothing writes them later, so
# every process (pytest, each `hiroba` or server subprocess of the tests) compiled MediaPipe,
# aiortc, numpy... from source again: about 1.7 s of CPU per `hiroba` start, 7 s for
# MediaPipe (docs/performance.md, "The suite's time").
.PHONY: deps lock test-media
deps: | $(BIN)/python
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "$(VENV) uses $$($(BIN)/python --version); Hiroba needs Python 3.11+: make clean"; exit 1; }
	@$(BIN)/uv --version 2>/dev/null | grep -qx "uv $(UV_VERSION)" || \
	  $(BIN)/python -m pip install -q --no-deps --require-hashes \
	    -r <(awk '/^uv==/{p=1} p&&/# via/{exit} p' requirements.lock)
	@$(BIN)/uv pip sync -q --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	@$(BIN)/uv pip install -q --python $(BIN)/python --no-deps \
	  --build-constraint requirements-build.lock -e .
	@$(BIN)/python -m server.config.versions

UV_VERSION := $(shell awk -F'[= ]+' '/^uv==/{print $$2}' requirements.lock)

# Re-resolve the lock after changing pyproject.toml (a deliberate commit of its own).
lock: deps
	$(BIN)/uv pip compile pyproject.toml --extra test --generate-hashes --universal \
	  --python-version 3.11 --quiet -o requirements.lock
	printf 'setuptools>=77\nwheel\n' | $(BIN)/uv pip compile - --generate-hashes --universal \
	  --python-version 3.11 --quiet --no-header -o requirements-build.lock

$(VENV)/.deps: deps
	@touch $@

# The face-tracking model and the speech-recognition model (docs/models.md): fetched once
# into the default cache, verified by sha256; fetched again if a file has gone.
# `hiroba models fetch` is quick when cached.
MODEL_FILES := data/models/face_landmarker.task data/models/whisper-base/model.bin
$(VENV)/.model: $(VENV)/.deps $(if $(filter-out $(wildcard $(MODEL_FILES)),$(MODEL_FILES)),model-missing)
	$(BIN)/hiroba models fetch
	touch $@

.PHONY: model-missing

web_client/node_modules/.installed: web_client/package.json web_client/package-lock.json
	cd web_client && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The browser client as it ships: built by Vite (web_client/vite.config.js) into
# server/static/ with .br/.gz siblings (docs/operations.md, "The web client build"); built
# again when a file of web_client/ (not its tests) or the npm lock changed. A failed build
# leaves no build behind, so that the server refuses to start instead of serving half of one.
.PHONY: client
CLIENT_SOURCES := $(shell find web_client -path web_client/node_modules -prune \
  -o -path web_client/test -prune -o -type f -print)
client: server/static/index.html
server/static/index.html: web_client/node_modules/.installed $(CLIENT_SOURCES)
	cd web_client && npm run build --silent || { rm -rf ../server/static; exit 1; }

# Debian's Chromium for the end-to-end tests (Playwright drives it; it never downloads one),
# redis-server for the cluster tests (bench/cluster.py starts it on a free port),
# coturn for the TURN relay test (tests/e2e/test_turn.py starts it on loopback),
# a Japanese font so that screenshots kept as test artifacts show the Japanese UI,
# and the other engines' browsers for tests/e2e/engines (issue 20): Firefox ESR (driven
# through its own WebDriver BiDi), WebKitGTK's WebDriver and MiniBrowser, and Xvfb for
# their windows (neither runs headless on Debian the way Chromium does).
TEST_APT_PACKAGES := chromium fonts-ipafont-gothic strace redis-server coturn \
  firefox-esr webkit2gtk-driver xvfb xauth
chromium:
	@missing=$$(for p in $(TEST_APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# The synthesised Japanese speech the transcription tests play (tests/transcription_media.py),
# cached in .cache/: minutes on a fresh machine, made once here rather than in the suite.
test-media: setup
	$(BIN)/python -m tests.transcription_media

setup-test: setup chromium test-media

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy

js-test: setup
	cd web_client && npm test --silent

test: setup-test lint js-test
	# --durations: the suite must stay under 20 minutes; the log names what to speed up.
	$(BIN)/pytest --durations=25

unit: setup-test
	$(BIN)/pytest tests/unit

integration: setup-test
	$(BIN)/pytest tests/integration

e2e: setup-test
	$(BIN)/pytest tests/e2e

clean:
	rm -rf $(VENV) web_client/node_modules server/static test-artifacts
