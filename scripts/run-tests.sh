#!/usr/bin/env bash
# Lint, migration check, then every test (on SQLite + the embedded broker unless DATABASE_URL /
# CELERY_BROKER_URL say otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
echo "== ruff"
$BIN/ruff check .
echo "== migrations are up to date"
DEBUG=1 $BIN/python manage.py makemigrations --check --dry-run
echo "== tests (database: ${DATABASE_URL:-SQLite}, broker: ${CELERY_BROKER_URL:-embedded})"
$BIN/pytest "$@"
