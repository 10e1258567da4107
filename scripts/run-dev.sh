#!/usr/bin/env bash
# Runs the web server (which also serves the sandbox's fake Graph API), a Celery worker, Celery
# beat (the periodic sweeps) and the sample shop (a second origin embedding the website chat
# widget); seeds the demo once the web server answers. Ctrl+C stops everything within a few
# seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-.venv/bin}
PORT=${PORT:-8000}
SHOP_PORT=${SHOP_PORT:-8001}
# The builder's "Try it on a sample page" link follows the shop's port.
export WEBCHAT_SAMPLE_PAGE_URL=${WEBCHAT_SAMPLE_PAGE_URL:-http://127.0.0.1:$SHOP_PORT/}
# How long the processes get to stop on their own before they are killed: an idle worker on the
# embedded broker takes 3-5 s (it polls the broker's folder), and a busy one finishes its task.
# Killing it loses nothing: the sweeps enqueue again what it had not finished.
STOP_GRACE_SECONDS=${STOP_GRACE_SECONDS:-6}
# The sandbox's fake Graph API is served by this web server: when .env points GRAPH_API_URL at
# the in-app sandbox (on whatever port `make setup` wrote), follow the port used now. A Graph
# URL set in the environment, or a non-sandbox one in .env, is left alone.
if [ -z "${GRAPH_API_URL:-}" ] && grep -q '^GRAPH_API_URL=http://127.0.0.1:[0-9]*/sandbox/' .env 2>/dev/null; then
  export GRAPH_API_URL="http://127.0.0.1:$PORT/sandbox/graph/v25.0"
fi

# Job control: each process started below leads a process group of its own, so a signal to the
# group reaches its children too (runserver's reloader child, the worker's pool), and Ctrl+C
# reaches only this script, which stops them in order: TERM, then KILL after the grace period.
# (Left in this script's group they used to outlive it: a background job ignores SIGINT, and
# an embedded beat could hang in "beat: Shutting down…" for a minute.)
set -m
started=()
start() {
  "$@" &
  started+=("$!")
}

any_left() {
  local group
  for group in "${started[@]}"; do
    kill -0 -- "-$group" 2>/dev/null && return 0
  done
  return 1
}

stop() {
  local status=$? group
  trap '' INT TERM  # a second Ctrl+C must not cut the clean-up short
  trap - EXIT
  # TERM to each leader: the worker stops its own pool (TERM to the pool as well made the
  # worker wait for its lost children), runserver its reloader child.
  for group in "${started[@]}"; do kill -TERM "$group" 2>/dev/null || true; done
  local deadline=$((SECONDS + STOP_GRACE_SECONDS))
  while any_left && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if any_left; then
    echo "Killing what did not stop within ${STOP_GRACE_SECONDS} s." >&2
    for group in "${started[@]}"; do kill -KILL -- "-$group" 2>/dev/null || true; done
  fi
  exit "$status"
}
trap stop EXIT INT TERM

start "$BIN/python" manage.py runserver "127.0.0.1:$PORT"
# One worker: the events it would exchange with others (gossip, mingle, heartbeat) only slow
# its start and stop.
start "$BIN/celery" -A config worker --loglevel INFO --concurrency 2 \
  --without-gossip --without-mingle --without-heartbeat
# Beat in a process of its own (not the worker's --beat): it stops on TERM at once.
start "$BIN/celery" -A config beat --loglevel INFO
# The sample shop reads the demo's widget key at each request, so it may start before seeding.
start "$BIN/python" manage.py serve_sample_shop --port "$SHOP_PORT" --app-origin "http://127.0.0.1:$PORT"
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.2
done
# In the background too, so Ctrl+C during the seeding stops everything at once.
start "$BIN/python" manage.py seed_demo --base-url "http://127.0.0.1:$PORT"
wait "$!"
echo
echo "Campaign Builder: http://127.0.0.1:$PORT/  (Ctrl+C stops it)"
echo "Sample shop with the website chat: http://127.0.0.1:$SHOP_PORT/"
wait
