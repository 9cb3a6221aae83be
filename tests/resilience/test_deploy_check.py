"""check --deploy refuses a per-process cache in production."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import Tags, run_checks

ROOT = Path(__file__).resolve().parents[2]
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    ("backend", "debug", "expected"),
    [
        (LOCMEM, False, ["helpdesk.E001"]),
        ("django.core.cache.backends.dummy.DummyCache", False, ["helpdesk.E001"]),
        (LOCMEM, True, []),  # the embedded default (make run) has DEBUG on
        ("helpdesk.lib.cache.ResilientRedisCache", False, []),
        ("django.core.cache.backends.db.DatabaseCache", False, []),
    ],
)
def test_shared_cache_check(settings, backend, debug, expected):
    settings.DEBUG = debug
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:1/0"}}
    messages = run_checks(tags=[Tags.caches], include_deployment_checks=True)
    assert [m.id for m in messages if m.id.startswith("helpdesk.")] == expected


def test_production_settings_without_redis_fail_check_deploy():
    """As CI runs it, minus REDIS_URL: a clear error, non-zero exit."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings.base",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "helpdesk.example.com",
        "REDIS_URL": "",
    }
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "helpdesk.E001" in out.stderr and "Set REDIS_URL" in out.stderr
