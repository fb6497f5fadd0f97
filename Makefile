# alertnet: `make demo` runs the hub with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench serve browser clean lock docker-check

$(STAMP): requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
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
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/crypto.py

# Regenerate the pinned versions after changing dependencies in pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet .
	.lockenv/bin/pip freeze --exclude alertnet > requirements.lock
	.lockenv/bin/pip install --quiet '.[dev]'
	.lockenv/bin/pip freeze --exclude alertnet > requirements-dev.lock
	rm -rf .lockenv

# Runs the Dockerfile's install and start steps without a Docker engine.
docker-check:
	bash scripts/docker-steps.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
