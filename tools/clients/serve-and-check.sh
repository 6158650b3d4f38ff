#!/usr/bin/env bash
# Starts the service (the Procfile's gunicorn, from the repository's .venv) on a free loopback port over
# DATABASE_URL, applies the migrations, runs check.sh against it, and stops it again:
#
#   tools/clients/serve-and-check.sh [DATABASE_URL] [WORK_DIR]
#
# DATABASE_URL defaults to a new SQLite file in a temporary directory, removed afterwards; a PostgreSQL
# database must exist (and is left as it was found, plus the accounts the scenarios made and deleted).
# CLIENTS_VENV passes through to check.sh. The service's log is printed when the check fails.
if [[ ${1:-} == -h || ${1:-} == --help ]]; then  # the comment above, as the usage
  echo "usage: tools/clients/serve-and-check.sh [DATABASE_URL] [WORK_DIR]"; sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0
fi
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY="$ROOT/.venv/bin/python"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/client-serve.XXXXXX")
SERVER=""
cleanup() {
  if [[ -n $SERVER ]]; then
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

export DATABASE_URL=${1:-sqlite:///$TMP/clients.db}
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL="http://127.0.0.1:$PORT"

cd "$ROOT"
"$PY" migrations.py >"$TMP/migrations.log" 2>&1 || { cat "$TMP/migrations.log"; exit 1; }
"$ROOT/.venv/bin/gunicorn" bucketlist:app --bind "127.0.0.1:$PORT" --worker-class gevent >"$TMP/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 60); do
  if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$BASE_URL/readyz" \
      2>/dev/null; then
    break
  fi
  kill -0 "$SERVER" 2>/dev/null || { cat "$TMP/server.log"; echo "FAILED: the service exited" >&2; exit 1; }
  sleep 0.5
done
echo "service on $BASE_URL (${DATABASE_URL%%:*})"
if ! "$HERE/check.sh" "$BASE_URL" "${@:2}"; then
  echo "--- the service's log" >&2
  tail -n 50 "$TMP/server.log" >&2
  exit 1
fi
