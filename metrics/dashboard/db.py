"""Shared plumbing: SQL or portable path, raw queries, filters, the per-cohort result shape."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection

from helpdesk.lib.db_router import read_connection

# Formatting (templates, e-mail): the one formatter of the product, re-exported.
from helpdesk.lib.human import fmt_duration as fmt_duration
from helpdesk.lib.human import fmt_pct as fmt_pct
from metrics.dashboard.kpis import DURATION_KPIS, FILTER_COLUMNS, HIST_EDGES, KINDS
from metrics.dashboard.period import Scope

_PORTABLE: ContextVar[bool] = ContextVar("dashboard_portable", default=False)


def _use_sql() -> bool:
    """PostgreSQL: aggregate in SQL. Elsewhere (the embedded SQLite default), or inside
    `portable()`: plain ORM reads aggregated in Python, same numbers."""
    return connection.vendor == "postgresql" and not _PORTABLE.get()


@contextmanager
def portable() -> Iterator[None]:
    """Force the database-independent path (used to check it against the SQL path)."""
    token = _PORTABLE.set(True)
    try:
        yield
    finally:
        _PORTABLE.reset(token)


def _run_plain(sql: str) -> None:
    if connection.vendor == "postgresql":
        with read_connection().cursor() as cur:
            cur.execute(sql)


def _run(sql: str, params: list[Any]) -> list[dict[str, Any]]:
    with read_connection().cursor() as cur:
        cur.execute(sql, params)
        names = [c[0] for c in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _duration_column(kpi: str, clock: str) -> str:
    spec = DURATION_KPIS[kpi]
    if spec.get("fixed"):
        return spec["stem"]
    return f"{spec['stem']}_{clock}_s"


def _filters_sql(scope: Scope, agent_column: str, alias: str = "m") -> tuple[str, list[Any]]:
    sql, params = "", []
    for key in FILTER_COLUMNS:
        value = getattr(scope, key)
        if value not in (None, ""):
            sql += f" AND {alias}.{key} = %s"
            params.append(value)
    if scope.agent_id is not None:
        sql += f" AND {alias}.{agent_column} = %s"
        params.append(scope.agent_id)
    return sql, params


def _orm_filters(scope: Scope, agent_column: str) -> dict[str, Any]:
    out = {key: getattr(scope, key) for key in FILTER_COLUMNS if getattr(scope, key) not in (None, "")}
    if scope.agent_id is not None:
        out[agent_column] = scope.agent_id
    return out


def _side_of(row: dict[str, Any]) -> str:
    return row["kind"] if row["kind"] in KINDS else "other"


def _hist_bucket(value: float) -> int:
    """width_bucket(value, HIST_EDGES): the number of edges <= value."""
    return bisect_right(HIST_EDGES, value)


@dataclass
class CohortResult:
    """Aggregates of one cohort: tiles per (side, period), and current-period rows per
    trend bucket (local start as naive datetime), agent id (0 = none) and histogram bucket."""

    cells: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    buckets: dict[datetime, dict[str, Any]] = field(default_factory=dict)
    agents: dict[int, dict[str, Any]] = field(default_factory=dict)
    hist: dict[int, int] = field(default_factory=dict)
