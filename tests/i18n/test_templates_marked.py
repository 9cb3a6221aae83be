"""Every user-visible string in a template is marked for translation, so a
new English string cannot slip past the shipped catalogues (docs/languages.md)."""

from pathlib import Path

import pytest

from tests.i18n.marking import unmarked_strings

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

# Template folders whose strings are not marked yet. Remove a folder once
# every template in it passes; the list only ever shrinks.
PENDING: set[str] = set()


def _checked() -> list[Path]:
    files = sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})
    return [p for p in files if str(p.parent.relative_to(TEMPLATES)) not in PENDING]


@pytest.mark.parametrize("path", _checked(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_strings_are_marked(path):
    assert unmarked_strings(path) == []


def test_pending_folders_exist():
    folders = {str(p.parent.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.*")}
    assert folders >= PENDING, PENDING - folders


def test_the_check_finds_unmarked_text(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '{% load i18n %}{% block title %}New request{% endblock %}<p title="Open it">{% translate "Fine" %}</p>'
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}{# a note #}<b>{{ ticket.pk }}</b> CSV"
        '{% include "components/field.html" with label="Your name" css="wide" %}'
    )
    assert unmarked_strings(page) == ["Your name", "Open it", "New request"]
