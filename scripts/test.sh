#!/usr/bin/env bash
# Install everything the tests need and run them against PostgreSQL and Redis.
# Fails (never skips) when PostgreSQL or Redis cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/helpdesk}
export REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}
export DJANGO_SECRET_KEY=${DJANGO_SECRET_KEY:-test-only-secret-key-not-for-production}
export DJANGO_SETTINGS_MODULE=helpdesk.settings.test

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

# libmagic decides attachment types by content (docs/uploads.md).
if ! ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libmagic1 >/dev/null
  fi
fi
# Debian's Chromium for the browser tests (Playwright cannot download one here).
if grep -qi '^playwright' requirements-dev.txt && [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
  fi
fi
# gettext's msgfmt compiles the language catalogues (docs/languages.md).
if ! command -v msgfmt >/dev/null 2>&1; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq gettext >/dev/null
  fi
fi
if [ -f package.json ]; then
  npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
fi

# The services must be up: start them if this machine has them stopped.
if ! .venv/bin/python -c "import psycopg2; psycopg2.connect(host='127.0.0.1', user='postgres', dbname='postgres', connect_timeout=3).close()" 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>/dev/null || true
  sleep 2
fi
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no 2>/dev/null || true
  sleep 1
fi
.venv/bin/python - <<'PY'
import sys, psycopg2, redis
try:
    psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres", connect_timeout=5).close()
    redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=5).ping()
except Exception as exc:  # noqa: BLE001
    sys.exit(f"FAIL: PostgreSQL and Redis must be reachable on 127.0.0.1 for the tests: {exc}")
print("PostgreSQL and Redis reachable.")
PY
# The main database must exist (makemigrations --check reads its history).
.venv/bin/python - <<'PY'
import os, urllib.parse, psycopg2
url = urllib.parse.urlparse(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
conn = psycopg2.connect(host=url.hostname, port=url.port or 5432, user=url.username or "postgres", dbname="postgres")
conn.autocommit = True
with conn.cursor() as cur:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    if cur.fetchone() is None:
        cur.execute(f'CREATE DATABASE "{name}"')
conn.close()
PY
redis-cli -n 15 flushdb >/dev/null 2>&1 || true

echo "== compiled language catalogues"
.venv/bin/python manage.py compilemessages --ignore ".venv" --ignore "node_modules" -v0

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy (pyproject.toml [tool.mypy]; docs/architecture.md, Types)"
.venv/bin/mypy
echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run
echo "== production settings pass check --deploy"
# Production runs with Redis (cache and broker): without REDIS_URL the
# check fails on purpose (helpdesk.E001, docs/resilience.md).
REDIS_URL="$REDIS_URL" DJANGO_SETTINGS_MODULE=helpdesk.settings.base DJANGO_DEBUG=false \
  DJANGO_SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
  DJANGO_ALLOWED_HOSTS=helpdesk.example.com \
  .venv/bin/python manage.py check --deploy --fail-level WARNING
echo "== docker-compose.yml is valid"
.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
echo "== pytest"
.venv/bin/pytest "$@"
