#!/usr/bin/env bash
# The lock files, compiled from pyproject.toml by uv (pinned in requirements-dev.txt) for every
# platform and Python >= 3.11, each pin with its hashes, installed with plain pip:
#   requirements.txt      the runtime dependencies: the production install
#   requirements-dev.txt  the same pins plus the dev extra: `make setup`
# Pins already in the files are kept; pass uv options to move some, e.g.
# `scripts/lock.sh --upgrade-package django` (or `--upgrade` for all).
#
#   scripts/lock.sh [uv options]   regenerate them (`make lock`)
#   scripts/lock.sh --check        fail if they are out of date with pyproject.toml (`make lock-check`)
# Both ask PyPI (or uv's cache) for the available versions.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
UV=${UV:-$ROOT/.venv/bin/uv}
if [ ! -x "$UV" ]; then
  echo "uv not found at $UV: run \`make setup\` first (or set UV=/path/to/uv)" >&2
  exit 2
fi

# Compile both files in folder $1 (which holds pyproject.toml and the current lock files).
compile() {
  local folder=$1
  shift
  local common=(--quiet --universal --python-version 3.11 --generate-hashes
    --custom-compile-command "make lock")
  (
    cd "$folder"
    "$UV" pip compile "${common[@]}" "$@" pyproject.toml -o requirements.txt
    # The runtime pins constrain the dev file, so both install the same versions.
    "$UV" pip compile "${common[@]}" "$@" pyproject.toml --extra dev \
      -c requirements.txt -o requirements-dev.txt
  )
}

if [ "${1:-}" != "--check" ]; then
  compile "$ROOT" "$@"
  echo "requirements.txt and requirements-dev.txt compiled from pyproject.toml"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp pyproject.toml requirements.txt requirements-dev.txt "$work/"
compile "$work"
stale=0
for lock in requirements.txt requirements-dev.txt; do
  if ! diff -u "$lock" "$work/$lock" --label "$lock (committed)" --label "$lock (from pyproject.toml)"; then
    stale=1
  fi
done
if [ "$stale" = 1 ]; then
  echo "FAIL: the lock files are out of date with pyproject.toml; run \`make lock\` and commit them" >&2
  exit 1
fi
echo "ok: requirements.txt and requirements-dev.txt match pyproject.toml"
