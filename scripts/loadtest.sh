#!/usr/bin/env bash
# make loadtest: a bounded, headless mixed load (locust) against gunicorn on
# PostgreSQL + Redis with a real worker; prints throughput, p50/p95 and the
# error rate per endpoint. Knobs: LOAD_USERS (8), LOAD_TIME (60s),
# LOAD_TICKETS (2000 demo tickets), LOAD_WEB_WORKERS (2), LOAD_PORT (8765),
# LOAD_WAIT ("0.5,2.0": think time between a user's requests, seconds).
# LOAD_CURVE="4 8 16 32": one run per user count on the same servers and
# data (LOAD_TIME each), then one table: users | req/s | p50 | p95 | errors | load.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
USERS=${LOAD_USERS:-8}
DURATION=${LOAD_TIME:-60s}
PORT=${LOAD_PORT:-8765}
export DATABASE_URL=${LOADTEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk_load}
export REDIS_URL=${LOADTEST_REDIS_URL:-redis://127.0.0.1:6379/13}
export DJANGO_SETTINGS_MODULE=helpdesk.settings.base DJANGO_DEBUG=false DJANGO_SECRET_KEY=loadtest-only-not-a-secret
export DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost DJANGO_SECURE_SSL_REDIRECT=false DJANGO_SECURE_COOKIES=false
export DJANGO_SECURE_HSTS_SECONDS=0 EMAIL_URL=dummymail://
# Every simulated API client shares one token: the per-token API rate
# (1,200 reads a minute by default) would answer 429 to the mix above ~20
# API reads a second. The bench measures capacity, so the limits are raised.
export HELPDESK_API_RATE_READ=${HELPDESK_API_RATE_READ:-100000/min} HELPDESK_API_RATE_WRITE=${HELPDESK_API_RATE_WRITE:-100000/min}

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
[ -x .venv-load/bin/python ] || "$PYTHON" -m venv .venv-load
.venv-load/bin/python -m pip install -q --disable-pip-version-check -r bench/loadtest/requirements.txt

.venv/bin/python - <<'PY'
import os, urllib.parse, psycopg2
url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
conn = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres", dbname="postgres")
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [url.path.lstrip("/")])
    if cur.fetchone() is None:
        cur.execute(f'CREATE DATABASE "{url.path.lstrip("/")}"')
PY
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py seed_demo --tickets "${LOAD_TICKETS:-2000}"
export LOADTEST_API_TOKEN=$(.venv/bin/python manage.py shell --no-imports -c "
from accounts.models import User
from apikeys.services import api_token_create
print(api_token_create(user=User.objects.get(email='customer@example.com'), name='loadtest').key)" | tail -1)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
.venv/bin/celery -A helpdesk worker -B -s "${TMPDIR:-/tmp}/loadtest-beat-schedule" -l warning --concurrency 1 >/tmp/loadtest-worker.log 2>&1 &
pids+=($!)
.venv/bin/gunicorn helpdesk.wsgi -w "${LOAD_WEB_WORKERS:-2}" -b "127.0.0.1:$PORT" --access-logfile /dev/null \
  >/tmp/loadtest-web.log 2>&1 &
pids+=($!)
for _ in $(seq 1 60); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/accounts/login/" && break; sleep 0.5; done

out=$(mktemp -d)
run_load() {  # users csv-prefix
  .venv-load/bin/locust -f bench/loadtest/locustfile.py --headless -u "$1" -r "$1" -t "$DURATION" \
    --host "http://127.0.0.1:$PORT" --csv "$2" --only-summary --loglevel WARNING >/dev/null 2>&1 || true
}
if [ -z "${LOAD_CURVE:-}" ]; then
  echo "== load before: $(cut -d' ' -f1-3 /proc/loadavg); ${USERS} users for ${DURATION}, think time ${LOAD_WAIT:-0.5,2.0} s"
  run_load "$USERS" "$out/load"
  echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  .venv/bin/python bench/loadtest/report.py "$out/load_stats.csv"
else
  echo "== curve: ${LOAD_CURVE} users, ${DURATION} each, think time ${LOAD_WAIT:-0.5,2.0} s," \
    "${LOAD_WEB_WORKERS:-2} web workers, ${LOAD_TICKETS:-2000} demo tickets"
  points=()
  for users in $LOAD_CURVE; do
    before=$(cut -d' ' -f1 /proc/loadavg)
    run_load "$users" "$out/u$users"
    points+=("$users:$out/u${users}_stats.csv:$before:$(cut -d' ' -f1 /proc/loadavg)")
    echo "   $users users done"
  done
  .venv/bin/python bench/loadtest/report.py --curve "${points[@]}"
fi
