#!/usr/bin/env bash
# Runs the fake Graph API (sandbox), a Celery worker and the web server; Ctrl+C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
FAKE_GRAPH_PORT=${FAKE_GRAPH_PORT:-8765}

trap 'trap - EXIT INT TERM; kill 0 2>/dev/null; wait' EXIT INT TERM

$BIN/python manage.py run_fake_graph --port "$FAKE_GRAPH_PORT" &
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$FAKE_GRAPH_PORT") 2>/dev/null && break
  sleep 0.1
done
$BIN/python manage.py seed_demo
# --beat: the worker also runs the periodic sweep of deliveries left unprocessed.
$BIN/celery -A config worker --beat --loglevel INFO --concurrency 2 &
echo
echo "Campaign Builder: http://127.0.0.1:$PORT/  (Ctrl+C stops it)"
$BIN/python manage.py runserver "127.0.0.1:$PORT" &
wait
