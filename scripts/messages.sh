#!/usr/bin/env bash
# Bring the German and Spanish catalogues in line with the marked strings
# (docs/languages.md). No source locations: they change with every edit and
# would make every catalogue merge a conflict.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python manage.py makemessages -l de -l es --no-obsolete --no-location --no-wrap \
  --ignore ".venv/*" --ignore "node_modules/*" --ignore "tests/*" --ignore "bench/*" \
  --ignore "staticfiles/*" --ignore "media/*" "$@"
