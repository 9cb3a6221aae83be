"""DATABASE_REPLICA_URL and the lag bound are checked when the settings load
(docs/scaling.md): a wrong value stops every process at start-up instead of
sending reads to something that is not a copy of the primary."""

import os
import subprocess
import sys

import pytest

from tests.scaling.conftest import ROOT

PRIMARY = "postgres://postgres@127.0.0.1:5432/helpdesk"


def _check(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DATABASE_REPLICA_URL", "DATABASE_URL"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings;"
         " print(sorted(settings.DATABASES), settings.HELPDESK_DB_REPLICAS)"],
        env={**base, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base", "DJANGO_SECRET_KEY": "x", **env},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_two_replicas_become_two_aliases():
    done = _check(DATABASE_URL=PRIMARY, DATABASE_REPLICA_URL="postgres://r1:5432/helpdesk, postgres://r2:5432/helpdesk")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['default', 'replica', 'replica2'] ['replica', 'replica2']"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": "sqlite:////tmp/x.db"}, "postgres:// URL"),
        ({"DATABASE_URL": "sqlite:////tmp/y.db", "DATABASE_REPLICA_URL": "postgres://r1/helpdesk"}, "postgres:// URL"),
        ({"DATABASE_URL": PRIMARY, "HELPDESK_REPLICA_MAX_LAG_SECONDS": "0"}, "HELPDESK_REPLICA_MAX_LAG_SECONDS"),
        ({"DATABASE_URL": PRIMARY, "HELPDESK_REPLICA_MAX_LAG_SECONDS": "-5"}, "HELPDESK_REPLICA_MAX_LAG_SECONDS"),
    ],
)
def test_bad_replica_settings_stop_the_start(env, message):
    done = _check(**env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr
