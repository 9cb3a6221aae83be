#!/usr/bin/env bash
# Set up and run the help desk. Embedded default: SQLite, Celery tasks in-process.
# DATABASE_URL / REDIS_URL switch to PostgreSQL and a real broker + worker.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PORT=${PORT:-8000}
# Loopback only unless asked (HOST=0.0.0.0): debug is on in the embedded default.
HOST=${HOST:-127.0.0.1}
DEMO_TICKETS=${DEMO_TICKETS:-500}
# Links in e-mails (sign-in, reset, notifications) point here. Derived from
# HOST and PORT unless set; a wildcard listen address is not a place a
# browser can go, so the machine's host name is used for it.
if [ -z "${HELPDESK_BASE_URL:-}" ]; then
  case "$HOST" in
    0.0.0.0|::|"[::]") link_host=$(hostname -f 2>/dev/null || hostname) ;;
    *:*) link_host="[$HOST]" ;;
    *) link_host=$HOST ;;
  esac
  HELPDESK_BASE_URL="http://${link_host}:${PORT}"
fi
export HELPDESK_BASE_URL
# The demo asks no role for two-factor, so a trial signs in with the demo
# logins at once; production requires it of managers and admins
# (HELPDESK_2FA_REQUIRED_ROLES, docs/sign-in.md). Set it to try enforcement.
export HELPDESK_2FA_REQUIRED_ROLES="${HELPDESK_2FA_REQUIRED_ROLES-}"
if [ "${RUN_PRINT_BASE_URL:-}" = "1" ]; then echo "$HELPDESK_BASE_URL"; exit 0; fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
# libmagic decides attachment types by content (docs/uploads.md).
if ! ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1'; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libmagic1 >/dev/null
  fi
fi
# gettext's msgfmt compiles the language catalogues (docs/languages.md).
if ! command -v msgfmt >/dev/null 2>&1; then
  if command -v apt-get >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq gettext >/dev/null
  fi
fi
if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
  # Front-end libraries (Chart.js, ...) served as static files, no CDN.
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; else npm install --no-audit --no-fund --silent; fi
fi

if [ ! -f .env ]; then
  # A development-only environment: a fresh random secret, DEBUG on.
  key=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')
  printf 'DJANGO_SECRET_KEY=%s\nDJANGO_DEBUG=true\n' "$key" > .env
  echo "Wrote .env (development settings)."
fi

.venv/bin/python manage.py compilemessages --ignore ".venv" --ignore "node_modules" -v0
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py seed_demo --tickets "$DEMO_TICKETS"

worker_pid=""
if [ -n "${REDIS_URL:-}" ]; then
  # A real broker: run a worker with an embedded beat next to the web server.
  # No -Q: it consumes every queue of helpdesk/celery.py.
  .venv/bin/celery -A helpdesk worker -B -l info --concurrency 2 &
  worker_pid=$!
  trap '[ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null || true' EXIT
fi

cat <<MSG

  Help desk is running at  http://${HOST}:${PORT}/
  Links in e-mails use     ${HELPDESK_BASE_URL}/  (HELPDESK_BASE_URL)
  Demo logins (password: demo-pass-123)
    customer  customer@example.com   -> /portal/
    agent     agent@example.com      -> /agent/tickets/
    manager   manager@example.com    -> /agent/tickets/
    admin     admin@example.com      -> /admin/
  Two-factor sign-in is optional in this demo (each person: /accounts/2fa/);
  production requires it of managers and admins (docs/sign-in.md).

MSG
exec .venv/bin/python manage.py runserver "${HOST}:${PORT}"
