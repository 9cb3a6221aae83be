"""The CI drift check (docs/languages.md, Updating the catalogues): every
string the code marks is in the shipped German and Spanish catalogues with
a real translation. A new `{% translate %}` or `_()` without a German and
Spanish translation fails here.

The project is copied to a temporary folder and scripts/messages.sh runs
there (the one way makemessages runs: same flags for everyone), starting
from an empty locale folder, so the result is exactly what the code marks
today, whatever state the shipped catalogues are in."""

import os
import shutil
import subprocess
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("de", "es")
SKIP = shutil.ignore_patterns(
    ".venv",
    ".venv-load",
    "node_modules",
    ".git",
    "locale",
    "media",
    "staticfiles",
    "__pycache__",
    ".*_cache",
    "test-artifacts",
    "*.mo",
)


def _key(entry: polib.POEntry) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def _translated(entry: polib.POEntry) -> bool:
    if entry.fuzzy or entry.obsolete:
        return False
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


@pytest.fixture(scope="module")
def marked(tmp_path_factory) -> list[polib.POEntry]:
    """The entries makemessages extracts from a copy of the sources."""
    copy = tmp_path_factory.mktemp("sources") / "project"
    shutil.copytree(ROOT, copy, ignore=SKIP, symlinks=True)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    (copy / "locale").mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"}
    subprocess.run(
        ["bash", str(copy / "scripts" / "messages.sh"), "-v", "0"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )
    return [e for e in polib.pofile(str(copy / "locale" / "de" / "LC_MESSAGES" / "django.po")) if e.msgid]


def test_the_code_marks_strings(marked):
    """Guards the check itself: an empty extraction would pass anything."""
    assert len(marked) > 300
    assert "My requests" in {e.msgid for e in marked}


@pytest.mark.parametrize("language", SHIPPED)
def test_every_marked_string_is_translated(marked, language):
    shipped = {_key(e): e for e in polib.pofile(str(ROOT / "locale" / language / "LC_MESSAGES" / "django.po"))}
    missing = [e.msgid for e in marked if _key(e) not in shipped]
    untranslated = [e.msgid for e in marked if _key(e) in shipped and not _translated(shipped[_key(e)])]
    assert missing == [], f"not in locale/{language}: run scripts/messages.sh and translate"
    assert untranslated == [], f"empty or fuzzy in locale/{language}"
