"""Code cites the repository's own docs/ (docs/README.md), never documents
outside it, and every docs/ page it cites exists."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(
    r"\bSPEC(\.md)? ?§?\d|(?<![/\w])METRICS(\.md)? ?(§|M\d|E\d|\d)|\.\./shared/|(?<![/\w])(STYLE|RECIPES)\.md"
)
METRIC_NUMBER = re.compile(r"\bM1?\d\b")  # M1..M19: the definitions in docs/metrics.md
DEFINITIONS = ("docs/metrics.md", "docs/surveys.md")
CITED = re.compile(r"\bdocs/([\w.-]+\.md)")


def _sources() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "*.py", "*.html", "*.js", "*.css"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return [ROOT / f for f in out if not f.startswith("tests/architecture/")]


def test_no_citation_of_documents_outside_the_repository():
    found = []
    for path in _sources():
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}")
    assert not found, "cite docs/ instead:\n" + "\n".join(found)


def test_every_cited_docs_page_exists():
    missing = set()
    for path in _sources():
        for name in CITED.findall(path.read_text(errors="replace")):
            if not (ROOT / "docs" / name).exists():
                missing.add(f"{path.relative_to(ROOT)} cites docs/{name}")
    assert not missing, sorted(missing)


def test_a_metric_named_by_number_cites_its_definitions():
    """A bare "M13" names a definition a reader may not find: a Python
    file that uses the numbers cites docs/metrics.md (or docs/surveys.md) too."""
    found = []
    for path in _sources():
        if path.suffix != ".py":
            continue
        text = path.read_text(errors="replace")
        if METRIC_NUMBER.search(text) and not any(d in text for d in DEFINITIONS):
            found.append(str(path.relative_to(ROOT)))
    assert not found, "cite docs/metrics.md where the numbers are defined:\n" + "\n".join(found)
