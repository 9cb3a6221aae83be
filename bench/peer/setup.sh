#!/bin/sh
# django-helpdesk side-by-side: venv, database, data (bench/peer/README.md).
#   bench/peer/setup.sh /tmp/bench_100k.jsonl [N]
# PEER_VENV (default /tmp/peer-venv), PEER_DB (default helpdesk_peer; DROPPED
# and re-created), PGHOST/PGUSER (default 127.0.0.1/postgres).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
FILE=${1:?usage: setup.sh FILE.jsonl [N]}
N=${2:-0}
VENV=${PEER_VENV:-/tmp/peer-venv}
DB=${PEER_DB:-helpdesk_peer}
PY=${PEER_PYTHON:-python3.11}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres} PEER_DB=$DB
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
psql -q -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
cd "$HERE"
"$VENV/bin/python" manage.py migrate -v0
"$VENV/bin/python" manage.py collectstatic --noinput -v0
"$VENV/bin/python" load_peer.py "$FILE" --limit "$N"
psql -q -d "$DB" -c "VACUUM ANALYZE"
psql -tA -d "$DB" -c "SELECT 'peer database ' || pg_size_pretty(pg_database_size('$DB'))"
