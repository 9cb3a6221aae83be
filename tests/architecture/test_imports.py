"""The layering of the apps, read from the source (docs/architecture.md).

* tickets imports none of the apps that follow its events (they subscribe:
  tickets.subscribers, tickets.extensions), at module level or in functions;
* the app-level import graph has no cycle, and helpdesk.lib imports no app;
* the diagram in docs/architecture.md is the graph's.
"""

import re

import pytest

from tests.architecture import imports

# Apps above tickets: it publishes, they follow; it never calls them.
NOT_FROM_TICKETS = (
    "apikeys",
    "automation",
    "desk_settings",
    "knowledge_base",
    "mail",
    "metrics",
    "privacy",
    "surveys",
    "webhooks",
)
# Not yet moved: the event-clock engine (metrics.compute's _Clock, Ev,
# Context) and the history loader become tickets' own in the other part of
# issue #16 ("engine"). Each entry must still exist (so that the list only
# shrinks); delete it when its import goes.
PENDING: set[tuple[str, str]] = set()  # imports waiting for a move (none left)


def _pending(where: str) -> bool:
    path, _, module = where.partition(" ")
    return (path.split(":")[0], module) in PENDING


def _edges(skip_pending: bool = True) -> dict[tuple[str, str], list[str]]:
    out = {}
    for edge, where in imports.edges().items():
        kept = [w for w in where if not (skip_pending and _pending(w))]
        if kept:
            out[edge] = kept
    return out


def test_tickets_imports_none_of_its_followers():
    found = [w for (src, dst), where in _edges().items() if src == "tickets" and dst in NOT_FROM_TICKETS for w in where]
    assert found == [], "tickets publishes events; the apps subscribe (docs/architecture.md):\n" + "\n".join(found)


def test_pending_exceptions_still_exist():
    everywhere = [w for where in imports.edges().values() for w in where]
    for path, module in PENDING:
        assert any(w.split(":")[0] == path and w.endswith(" " + module) for w in everywhere), (path, module)


def test_the_app_graph_has_no_cycle():
    edge_map = _edges()
    graph = imports.graph_of(edge_map)
    found = imports.cycles(graph)
    detail = [
        f"{s} -> {d}: {w}" for (s, d), where in edge_map.items() for c in found if s in c and d in c for w in where
    ]
    assert found == [], "import cycles between apps:\n" + "\n".join(detail)


def test_lib_is_below_every_app():
    lib = [w for (src, _dst), where in _edges().items() if src == imports.LIB for w in where]
    assert lib == []


def test_the_architecture_diagram_is_the_graph():
    doc = (imports.ROOT / "docs" / "architecture.md").read_text()
    match = re.search(r"```mermaid\n(.*?)\n```", doc, re.S)
    assert match, "docs/architecture.md has no mermaid diagram"
    expected = imports.mermaid(imports.graph_of(_edges()))
    assert match.group(1) == expected, "docs/architecture.md's diagram is out of date; replace it with:\n" + expected


@pytest.mark.parametrize("bad", ["tickets/x.py", "tickets/api/y.py"])
def test_the_checker_sees_function_level_imports(tmp_path, bad):
    """The parser finds an import inside a function (the kind that hid the
    old tickets -> mail dependency)."""
    path = tmp_path / "m.py"
    path.write_text("def f():\n    from mail.services import notifications_for_event\n")
    assert list(imports.imports_of(path)) == [(2, "mail.services")]
    assert imports.node_of("mail.services") == "mail" and imports.node_of(bad.replace("/", ".")[:-3]) == "tickets"
