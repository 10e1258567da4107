#!/usr/bin/env bash
# Runs the web server (which also serves the sandbox's fake Graph API) and a Celery worker with
# the periodic sweep; seeds the demo once the web server answers. Ctrl+C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT=${PORT:-8000}
# The sandbox's fake Graph API is served by this web server: when .env points GRAPH_API_URL at
# the in-app sandbox (on whatever port `make setup` wrote), follow the port used now. A Graph
# URL set in the environment, or a non-sandbox one in .env, is left alone.
if [ -z "${GRAPH_API_URL:-}" ] && grep -q '^GRAPH_API_URL=http://127.0.0.1:[0-9]*/sandbox/' .env 2>/dev/null; then
  export GRAPH_API_URL="http://127.0.0.1:$PORT/sandbox/graph/v25.0"
fi

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
