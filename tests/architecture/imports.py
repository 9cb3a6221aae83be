"""The app-level import graph, read from the source with `ast` (every import,
at module level or inside a function). Used by test_imports.py and to draw
the diagram in docs/architecture.md (`python -m tests.architecture.imports`)."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# First-party apps. `helpdesk.lib` (with the project's infrastructure models,
# helpdesk.models) is the bottom layer; `helpdesk` is the project (settings,
# URLs, Celery), above every app.
# Every directory with an apps.py is a first-party app (a new app is
# checked without editing this file).
APPS = tuple(sorted(p.parent.name for p in ROOT.glob("*/apps.py")))
LIB = "helpdesk.lib"
LIB_MODULES = ("helpdesk.lib", "helpdesk.models", "helpdesk.migrations")


def node_of(module: str) -> str | None:
    """The graph node a dotted module belongs to (None: not first-party)."""
    top = module.split(".")[0]
    if top not in APPS:
        return None
    if any(module == m or module.startswith(m + ".") for m in LIB_MODULES):
        return LIB
    return top


def modules() -> Iterator[tuple[str, Path]]:
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts and app != "helpdesk":
                continue  # migrations name other apps' models as strings
            yield ".".join(rel.with_suffix("").parts).removesuffix(".__init__"), path


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every absolute import in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def edges() -> dict[tuple[str, str], list[str]]:
    """(from node, to node) -> ["path:line module", ...] across nodes."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, path in modules():
        src = node_of(module)
        assert src is not None
        for line, imported in imports_of(path):
            dst = node_of(imported)
            if dst is not None and dst != src:
                out[(src, dst)].append(f"{path.relative_to(ROOT)}:{line} {imported}")
    return dict(out)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def graph_of(edge_map: dict[tuple[str, str], list[str]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {n: set() for n in (*APPS, LIB)}
    for src, dst in edge_map:
        graph[src].add(dst)
    return graph


def layers(graph: dict[str, set[str]]) -> list[list[str]]:
    """Nodes by depth: layer 0 imports no other node, layer n only lower ones."""
    depth: dict[str, int] = {}

    def of(v: str) -> int:
        if v not in depth:
            depth[v] = 1 + max((of(w) for w in graph[v]), default=-1)
        return depth[v]

    for v in graph:
        of(v)
    out: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for v, d in depth.items():
        out[d].append(v)
    return [sorted(layer) for layer in out]


def mermaid(graph: dict[str, set[str]]) -> str:
    """The diagram of docs/architecture.md: each app and what it imports,
    direct edges only (a dependency implied through another app is left out)."""

    def reaches(a: str, b: str, skip: tuple[str, str]) -> bool:
        seen, todo = set(), [a]
        while todo:
            v = todo.pop()
            for w in graph[v]:
                if (v, w) == skip or w in seen:
                    continue
                if w == b:
                    return True
                seen.add(w)
                todo.append(w)
        return False

    def name(v: str) -> str:
        return f"{v.replace('.', '_')}[{v}]"

    lines = ["flowchart BT"]
    lines += [
        f"    {name(src)} --> {name(dst)}"
        for src in sorted(graph)
        for dst in sorted(graph[src])
        if not reaches(src, dst, skip=(src, dst))
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    g = graph_of(edges())
    print(mermaid(g))
    for c in cycles(g):
        print("cycle:", c)
