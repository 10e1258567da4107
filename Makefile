# Campaign Builder: `make run` runs the app with its sandbox, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: setup run test lint fmt clean bench

setup: $(VENV)/.installed .env

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# Development settings for this checkout (the real environment wins over them).
.env:
	printf '%s\n' \
	  '# Development settings made by `make setup`; see the settings table in README.md.' \
	  'DEBUG=1' \
	  '# The sandbox: Graph API calls go to the fake Graph API the app serves itself.' \
	  'GRAPH_API_URL=http://127.0.0.1:$(PORT)/sandbox/graph/v25.0' > $@

run: setup
	$(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) scripts/run-dev.sh

test: setup
	scripts/run-tests.sh

# Benchmark on the real stack (gunicorn, PostgreSQL, Redis, a Celery worker, the fake Graph API);
# prints the figures beside their targets and writes bench/results/latest.json. About 3 minutes.
bench: setup
	$(BIN)/python bench/run.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf var/ $(VENV) .env
