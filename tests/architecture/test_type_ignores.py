"""Every `# type: ignore` names the error codes it silences
(`# type: ignore[attr-defined]`), so that a later mypy run reports any other
error on that line instead of hiding it (docs/complexity.md)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {".venv", "node_modules", ".git", "static"}

IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<codes>\[[^\]]*\])?")
CODES = re.compile(r"\[[a-z][a-z0-9-]*(\s*,\s*[a-z][a-z0-9-]*)*\]")


def first_party_python() -> list[Path]:
    return [
        p
        for p in sorted(ROOT.rglob("*.py"))
        if not SKIP & set(p.relative_to(ROOT).parts)
        and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
    ]


def bare_ignores(text: str, name: str) -> list[str]:
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for match in IGNORE.finditer(line):
            codes = match.group("codes")
            if codes is None or not CODES.fullmatch(codes):
                found.append(f"{name}:{lineno}: {line.strip()}")
    return found


def test_every_type_ignore_has_an_error_code():
    found = []
    for path in first_party_python():
        if path == Path(__file__).resolve():
            continue  # its docstring and samples spell the bare form
        text = path.read_text(errors="replace")
        if "type:" in text:
            found.extend(bare_ignores(text, path.relative_to(ROOT).as_posix()))
    assert found == [], "add the mypy error code, e.g. # type: ignore[attr-defined]:\n" + "\n".join(found)


def test_the_check_catches_bare_and_empty_ignores():
    text = (
        "a = 1  # type: ignore\n"
        "b = 2  # type: ignore[]\n"
        "c = 3  # type:ignore[attr-defined]\n"
        "d = 4  # type: ignore[misc, union-attr]\n"
    )
    assert [f.split(":")[1] for f in bare_ignores(text, "x.py")] == ["1", "2"]
