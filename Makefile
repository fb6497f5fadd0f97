# alertnet: `make demo` runs the hub with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench serve browser clean lock docker-check

# Every package is pinned with its sha256 hashes: pip refuses any other file.
$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    || { echo "could not install chromium: run 'sudo apt-get install chromium'"; exit 1; }; }

# The notification worker runs beside the hub and stops with it; without SMTP_URL
# the demo's mail lands in instance/mail/, shown at /notifications/mail.
demo: $(STAMP)
	$(BIN)/alertnet db upgrade
	$(BIN)/alertnet demo
	ALERTNET_DEMO=1 $(BIN)/alertnet worker --periodic-interval 30 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	ALERTNET_DEMO=1 $(BIN)/alertnet serve --bind 127.0.0.1:5000

test: $(STAMP) browser lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=30

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/crypto.py

# Pin the versions, with their hashes, after changing dependencies in pyproject.toml:
# requirements.lock for the hub (the image counts rate limits in Redis, so the
# `redis` extra is in it), requirements-dev.lock for tests and tools. Pins
# already in a lock are kept; LOCK_FLAGS=--upgrade takes the newest allowed.
LOCK_FLAGS ?=
COMPILE = CUSTOM_COMPILE_COMMAND="make lock" .lockenv/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--no-emit-find-links $(LOCK_FLAGS)
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip pip-tools
	$(COMPILE) --extra redis -o requirements.lock pyproject.toml
	$(COMPILE) --extra dev --extra redis -o requirements-dev.lock pyproject.toml
	rm -rf .lockenv

# Runs the Dockerfile's install and start steps without a Docker engine.
docker-check:
	bash scripts/docker-steps.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
