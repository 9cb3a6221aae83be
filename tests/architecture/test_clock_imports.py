"""The event-clock engine lives in tickets/: SLA and metrics both use
tickets/clock.py, and neither it nor tickets/sla.py imports metrics
(docs/complexity.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(path: Path) -> set[str]:
    """Every module imported anywhere in the file (also inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_sla_and_clock_import_nothing_from_metrics():
    for rel in ("tickets/sla.py", "tickets/clock.py"):
        bad = {m for m in imported_modules(ROOT / rel) if m == "metrics" or m.startswith("metrics.")}
        assert bad == set(), f"{rel} imports {sorted(bad)}"


def test_metrics_compute_uses_the_tickets_clock():
    assert "tickets.clock" in imported_modules(ROOT / "metrics/compute.py")


def test_the_check_sees_function_level_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def g():\n    from metrics.compute import compute\n    import metrics\n")
    assert imported_modules(f) == {"metrics.compute", "metrics"}
