# Campaign Builder: `make run` runs the app with its sandbox, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# The sample shop, a second local origin that embeds the website chat widget.
SHOP_PORT ?= 8001

.PHONY: setup run test lint fmt clean bench bench-reports soak lock lock-check prod-check

setup: $(VENV)/.installed .env

# The versions and hashes of the lock (requirements-dev.txt, compiled from pyproject.toml), then
# the project itself.
$(VENV)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# After changing the dependencies in pyproject.toml: compile the lock files again, keeping the
# pins they have (scripts/lock.sh --upgrade-package NAME moves one). lock-check fails when they
# are out of date (CI runs it).
lock: setup
	scripts/lock.sh

lock-check: setup
	scripts/lock.sh --check

# The production install from a fresh clone of HEAD, run and checked as deployed (a few minutes;
# needs PostgreSQL, Redis and PyPI): see scripts/prod_check.py.
prod-check:
	$(PYTHON) scripts/prod_check.py

# Development settings for this checkout (the real environment wins over them).
.env:
	printf '%s\n' \
	  '# Development settings made by `make setup`; see the settings table in README.md.' \
	  'DEBUG=1' \
	  '# The sandbox: Graph API calls go to the fake Graph API the app serves itself.' \
	  'GRAPH_API_URL=http://127.0.0.1:$(PORT)/sandbox/graph/v25.0' > $@

run: setup
	$(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) SHOP_PORT=$(SHOP_PORT) scripts/run-dev.sh

test: setup
	scripts/run-tests.sh

# Benchmark on the real stack (gunicorn, PostgreSQL, Redis, a Celery worker, the fake Graph API);
# prints the figures beside their targets and writes bench/results/latest.json. Phases:
# ingest, processing, desk, queues, pacing, the embedded default, then the reports at size (each
# starts its own services; `python bench/run.py --only PHASE` runs one).
bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/reports.py

# The reports part alone: 100 000 conversations, 1 000 000 messages (PostgreSQL must be running).
bench-reports: setup
	$(BIN)/python bench/reports.py

# Ten minutes of steady traffic (webhook posts, replies, agents polling) with a worker killed,
# Redis and PostgreSQL restarted along the way, on a PostgreSQL and a Redis of its own; prints
# what was stored and sent, duplicates and losses (bench/soak.py; not in CI). SOAK_SECONDS=120
# for a short trial.
SOAK_SECONDS ?= 600
soak: setup
	$(BIN)/python bench/soak.py --seconds $(SOAK_SECONDS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ $(VENV) .env
