"""Migrations that create PostgreSQL extensions roll back on the embedded
SQLite database too (knowledge_base/db.py: Django's extension operations
query pg_extension going backwards, whatever the database)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings


def _manage(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base"}
    return subprocess.run(
        [sys.executable, "manage.py", *args, "-v0"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_extension_migrations_roll_back_and_forward_on_sqlite(tmp_path):
    db = tmp_path / "rollback.sqlite3"
    for args in (
        ("migrate",),
        ("migrate", "tickets", "0022"),  # before tickets 0023 (btree_gin)
        ("migrate", "accounts", "0003"),  # before accounts 0004 (pg_trgm)
        ("migrate",),
    ):
        proc = _manage(db, *args)
        assert proc.returncode == 0, f"{args}: {proc.stderr[-2000:]}"
