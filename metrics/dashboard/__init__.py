"""Manager KPI dashboard: every number of the page in a bounded number of queries.

One SQL statement per cohort (docs/architecture-kpis.md) computes, with GROUPING SETS,
the current and previous period per kind (support / service) and overall, the
trend per day or week, the per-agent figures and the histogram buckets, with
exact `percentile_cont` over `metrics_ticketmetrics` (n with every duration,
NULL where n = 0, ratios as sums of numerators over denominators). Backlog comes
from the status intervals at local midnights (M13, docs/metrics.md#m13-backlog). Every aggregate has a
drill-down listing the tickets behind it with their values.

Modules, by concern (each imports only those listed before it):
kpis (what each KPI is), period (period and scope), db (shared plumbing),
sql_cohorts (PostgreSQL), py_cohorts (SQLite fallback), rollup (long ranges from
rollup cells), backlog, comments, drilldown, build (the page's numbers).

Access control: `scope_for_user` forces the agent filter for non-managers.
This module re-exports the names the views, forms, report e-mail and tests use.
"""

from metrics.dashboard.build import Dashboard, dashboard_build
from metrics.dashboard.db import fmt_duration, fmt_pct, portable
from metrics.dashboard.drilldown import DRILL_METRICS, Drill, drill_columns, drill_rows
from metrics.dashboard.kpis import (
    DEFINITIONS,
    DURATION_KPIS,
    HIST_EDGES,
    HIST_LABELS,
    HIST_LABELS_SHOWN,
    KINDS,
    RATIOS,
    SIDES,
)
from metrics.dashboard.period import Period, Scope, local_today, may_see_team, period_for_preset, scope_for_user

__all__ = [
    "DEFINITIONS",
    "DRILL_METRICS",
    "DURATION_KPIS",
    "HIST_EDGES",
    "HIST_LABELS",
    "HIST_LABELS_SHOWN",
    "KINDS",
    "RATIOS",
    "SIDES",
    "Dashboard",
    "Drill",
    "Period",
    "Scope",
    "dashboard_build",
    "drill_columns",
    "drill_rows",
    "fmt_duration",
    "fmt_pct",
    "local_today",
    "may_see_team",
    "period_for_preset",
    "portable",
    "scope_for_user",
]
