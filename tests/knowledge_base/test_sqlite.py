"""The embedded default (SQLite) gets the same search tests as PostgreSQL:
this runs test_search_engine.py in a subprocess against a temporary SQLite
database (migrated from scratch, so the FTS5 tables and triggers of
migration 0004 are exercised too)."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

ENGINE_TESTS = "tests/knowledge_base/test_search_engine.py"


def test_search_tests_pass_on_sqlite(tmp_path):
    assert connection.vendor == "postgresql", "this launcher runs in the PostgreSQL suite"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'kb.sqlite3'}",
        "KB_SQLITE_RUN": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", ENGINE_TESTS, "-q", "-p", "no:cacheprovider", "-s", "-rA"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert "sqlite {'queries'" in output  # the threshold test really ran on SQLite
    assert " skipped" not in output and " passed" in output, output[-2000:]
