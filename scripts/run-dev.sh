#!/usr/bin/env bash
# Runs the web server (which also serves the sandbox's fake Graph API) and a Celery worker with
# the periodic sweep; seeds the demo once the web server answers. Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}

trap 'trap - EXIT INT TERM; kill 0 2>/dev/null; wait' EXIT INT TERM

$BIN/python manage.py runserver "127.0.0.1:$PORT" &
# --beat: the worker also runs the periodic sweeps (unprocessed deliveries, unsent replies).
$BIN/celery -A config worker --beat --loglevel INFO --concurrency 2 &
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.2
done
$BIN/python manage.py seed_demo --base-url "http://127.0.0.1:$PORT"
echo
echo "Campaign Builder: http://127.0.0.1:$PORT/  (Ctrl+C stops it)"
wait
