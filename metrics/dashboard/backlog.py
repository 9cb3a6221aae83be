"""Backlog (M13): counts at each bucket end and the ages at the last snapshot."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from metrics.dashboard import rollup as rollup_cells
from metrics.dashboard.db import _filters_sql, _orm_filters, _run, _side_of, _use_sql
from metrics.dashboard.kpis import SIDES, UNSOLVED
from metrics.dashboard.period import Scope, _midnight, bucket_starts
from metrics.dashboard.sql_cohorts import by_segment

# --- backlog ----------------------------------------------------------------


def _snapshot_instants(scope: Scope, now: datetime) -> list[tuple[date, datetime]]:
    """(day, local midnight ending that day) per bucket end inside the period, up to now."""
    out = []
    for start in bucket_starts(scope):
        last = start + timedelta(days=6 if scope.bucket == "week" else 0)
        last = min(last, scope.period.last)
        instant = _midnight(last + timedelta(days=1), scope.period.zone)
        if instant > now:
            instant = now
        out.append((last, instant))
    return out


def _backlog_where(scope: Scope, segments: bool = False) -> tuple[str, list[Any]]:
    """Filters on the ticket; with `segments`, queue and kind on the segment holding the
    snapshot instead (backlog: the queue at the snapshot,
    docs/metrics.md#18-queue-and-kind-attribution-across-escalations)."""
    if not segments:
        return _filters_sql(scope, "assignee_id", alias="c")
    on_ticket, p1 = _filters_sql(replace(scope, queue_id=None, kind=None), "assignee_id", alias="c")
    on_segment, p2 = _filters_sql(replace(scope, priority=None, channel=None, agent_id=None), "assignee_id", alias="s")
    return on_ticket + on_segment, p1 + p2


# A status interval cut at the queue moves: the pieces of it in each (non-empty) segment.
_SEGMENT_JOIN = """
        JOIN metrics_ticketsegment s ON s.ticket_id = c.ticket_id AND s.started_at < %s
         AND (s.ended_at >= %s OR s.ended_at IS NULL)
         AND (s.ended_at IS NULL OR (s.ended_at > i.started_at AND s.ended_at > s.started_at))
         AND (i.ended_at IS NULL OR i.ended_at > s.started_at)"""


_UNSOLVED_SQL = "(" + ", ".join(f"'{s}'" for s in UNSOLVED) + ")"


def _backlog_join_sql(scope: Scope, select: str, segments: bool = False) -> tuple[str, list[Any]]:
    """Unsolved status intervals overlapping [lo, hi] of tickets that may be unsolved then.

    Tickets: not excluded, created before hi, last resolved at/after lo or unresolved.
    Intervals: ending at/after lo or still open, started before hi (partial covering index
    tsi_unsolved_end). Each side is one scan of its table with an OR (a BitmapOr of two
    ranges of the same index), not a UNION ALL of two: over a UNION ALL the planner has no
    statistics for ticket_id and estimated the join at 100x its size (5.4M rows for 22k),
    which bought a partitioned hash aggregate and JIT compilation (bench/PERF_SECOND_PASS.md).
    Params: lo, hi, filters, lo, hi (see `_backlog_join_params`). With `segments`, each
    interval is cut at the ticket's queue moves (alias s: the segment of the piece).
    """
    where, _ = _backlog_where(scope, segments)
    join = _SEGMENT_JOIN if segments else ""
    sql = f"""
        SELECT {select}
        FROM metrics_ticketmetrics c
        JOIN metrics_ticketstatusinterval i ON i.ticket_id = c.ticket_id {join}
        WHERE NOT c.excluded AND (c.last_resolved_at >= %s OR c.last_resolved_at IS NULL) AND c.created_at < %s
              {where}
          AND i.status IN {_UNSOLVED_SQL} AND (i.ended_at >= %s OR i.ended_at IS NULL) AND i.started_at < %s
    """  # noqa: S608 - fixed identifiers only
    return sql, []


def _backlog_join_params(scope: Scope, lo: datetime, hi: datetime, segments: bool = False) -> list[Any]:
    _, fparams = _backlog_where(scope, segments)
    return [*([hi, lo] if segments else []), lo, hi, *fparams, lo, hi]


def _backlog_counts_sql(scope: Scope, instants: list[datetime]) -> list[tuple[int, int]]:
    """(backlog, actionable) at each of the ascending distinct `instants`, in one pass.

    An interval of a ticket counts at T iff max(started_at, created_at) < T <= ended_at
    (or still open) - the same predicate as stabbing it at T. width_bucket against the
    instants gives the first and one-past-last snapshot it counts at; the per-snapshot
    counts are a running sum of +n / -n at those positions.
    """
    segments = by_segment(scope)
    if segments:  # the pieces in the filtered queue or kind
        start, end = "GREATEST(i.started_at, s.started_at, c.created_at)", "LEAST(i.ended_at, s.ended_at)"
    else:
        start, end = "GREATEST(i.started_at, c.created_at)", "i.ended_at"
    select = f"""width_bucket({start}, %s::timestamptz[]) AS k_from,
                CASE WHEN {end} IS NULL THEN %s ELSE width_bucket({end}, %s::timestamptz[]) END AS k_to,
                (i.status <> 'pending') AS actionable, COUNT(*) AS n"""
    sql, _ = _backlog_join_sql(scope, select, segments)
    sql += " GROUP BY 1, 2, 3"
    params = [instants, len(instants), instants, *_backlog_join_params(scope, instants[0], instants[-1], segments)]
    diff_all = [0] * (len(instants) + 1)
    diff_act = [0] * (len(instants) + 1)
    for r in _run(sql, params):
        lo, hi = r["k_from"], r["k_to"]
        if lo >= hi:
            continue
        diff_all[lo] += r["n"]
        diff_all[hi] -= r["n"]
        if r["actionable"]:
            diff_act[lo] += r["n"]
            diff_act[hi] -= r["n"]
    out, run_all, run_act = [], 0, 0
    for k in range(len(instants)):
        run_all += diff_all[k]
        run_act += diff_act[k]
        out.append((run_all, run_act))
    return out


def _backlog_tickets_py(scope: Scope, lo: datetime, hi: datetime) -> list[dict[str, Any]]:
    """Candidate tickets joined with their unsolved intervals overlapping [lo, hi] (ORM, any database)."""
    from django.db.models import Q

    from metrics.models import TicketMetrics, TicketSegment, TicketStatusInterval

    on_ticket = _orm_filters(replace(scope, queue_id=None, kind=None), "assignee_id")
    cands = {
        r["ticket_id"]: r
        for r in TicketMetrics.objects.filter(excluded=False, created_at__lt=hi, **on_ticket)
        .filter(Q(last_resolved_at__isnull=True) | Q(last_resolved_at__gte=lo))
        .values("ticket_id", "created_at", "assignee_id")
    }
    ivs = (
        TicketStatusInterval.objects.filter(status__in=UNSOLVED, started_at__lt=hi, ticket_id__in=list(cands))
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=lo))
        .values("ticket_id", "status", "started_at", "ended_at")
    )
    on_segment = _orm_filters(replace(scope, priority=None, channel=None, agent_id=None), "assignee_id")
    segs: dict[int, list[dict[str, Any]]] = {}
    for seg in TicketSegment.objects.filter(ticket_id__in=list(cands), **on_segment).values(
        "ticket_id", "kind", "queue_id", "started_at", "ended_at"
    ):
        segs.setdefault(seg["ticket_id"], []).append(dict(seg))
    return [
        piece for i in ivs for piece in _pieces_py(dict(cands[i["ticket_id"]]), dict(i), segs.get(i["ticket_id"], []))
    ]


def _pieces_py(ticket: dict[str, Any], interval: dict[str, Any], segs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An interval cut at the queue moves: one row per non-empty piece, with its segment's queue and kind."""
    out = []
    for seg in segs:
        lo = max(interval["started_at"], seg["started_at"])
        ends = [e for e in (interval["ended_at"], seg["ended_at"]) if e is not None]
        hi = min(ends) if ends else None
        if hi is None or hi > lo:
            row = {**ticket, **interval, "kind": seg["kind"], "queue_id": seg["queue_id"]}
            out.append({**row, "started_at": lo, "ended_at": hi})
    return out


def _stabbed(row: dict[str, Any], at: datetime) -> bool:
    return row["started_at"] < at and row["created_at"] < at and (row["ended_at"] is None or row["ended_at"] >= at)


def backlog_series(*, scope: Scope, now: datetime, rollup: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Backlog and actionable backlog at each bucket end (M13), and the last snapshot with ages.

    Candidates are tickets unresolved at some instant of the period: created
    before its end and not last resolved before its start; their unsolved status
    intervals are stabbed at each snapshot instant.
    """
    snaps = _snapshot_instants(scope, now)
    if not snaps:
        return [], {}
    instants = sorted({s for _, s in snaps})
    if rollup:
        counts = rollup_cells.backlog_counts(scope, snaps, now)
    elif _use_sql():
        counts = dict(zip(instants, _backlog_counts_sql(scope, instants), strict=True))
    else:
        rows = _backlog_tickets_py(scope, instants[0], instants[-1])
        counts = {
            at: (
                sum(1 for r in rows if _stabbed(r, at)),
                sum(1 for r in rows if _stabbed(r, at) and r["status"] != "pending"),
            )
            for at in instants
        }
    series = [{"day": day, "at": at, "backlog": counts[at][0], "actionable": counts[at][1]} for day, at in snaps]
    if rollup and snaps[-1][1] == now:
        return series, rollup_cells.backlog_now_summary(scope, now)
    last = backlog_tickets_summary(scope=scope, instant=snaps[-1][1])
    return series, last


# Stabbed at the snapshot: the interval and the segment holding it (queue at the snapshot).
_STABBED_SQL = """ AND i.started_at < %s AND c.created_at < %s AND (i.ended_at IS NULL OR i.ended_at >= %s)
                   AND (s.ended_at IS NULL OR s.ended_at >= %s)"""


def _backlog_tickets(scope: Scope, instant: datetime) -> list[dict[str, Any]]:
    """The backlog at one instant: ticket_id, status, age_s, kind, queue_id, agent_id (unordered)."""
    if _use_sql():
        select = """i.ticket_id, i.status, EXTRACT(EPOCH FROM (%s - c.created_at))::float8 AS age_s, s.kind,
                    s.queue_id, c.assignee_id AS agent_id"""
        sql, _ = _backlog_join_sql(scope, select, segments=True)
        sql += _STABBED_SQL
        params = [instant, *_backlog_join_params(scope, instant, instant, True), *[instant] * 4]
        return _run(sql, params)
    return [
        {
            "ticket_id": r["ticket_id"],
            "status": r["status"],
            "age_s": (instant - r["created_at"]).total_seconds(),
            "kind": r["kind"],
            "queue_id": r["queue_id"],
            "agent_id": r["assignee_id"],
        }
        for r in _backlog_tickets_py(scope, instant, instant)
        if _stabbed(r, instant)
    ]


def backlog_tickets_summary(*, scope: Scope, instant: datetime) -> dict[str, Any]:
    """Backlog at one instant per side: count, actionable, age median/p90/max and age buckets."""
    from helpdesk.lib.sqlite import percentile_cont

    if _use_sql():
        return _backlog_summary_sql(scope, instant)
    rows = _backlog_tickets(scope, instant)
    out: dict[str, Any] = {"at": instant}
    for side in SIDES:
        group = [r for r in rows if side == "all" or r["kind"] == side]
        ages = sorted(r["age_s"] for r in group)
        out[side] = {
            "backlog": len(group),
            "actionable": sum(1 for r in group if r["status"] != "pending"),
            "median_age_s": percentile_cont(ages, 0.5),
            "p90_age_s": percentile_cont(ages, 0.9),
            "max_age_s": ages[-1] if ages else None,
            "age_buckets": [
                sum(1 for a in ages if a < 86400),
                sum(1 for a in ages if 86400 <= a < 3 * 86400),
                sum(1 for a in ages if 3 * 86400 <= a < 7 * 86400),
                sum(1 for a in ages if a >= 7 * 86400),
            ],
        }
    return out


def _backlog_summary_sql(scope: Scope, instant: datetime) -> dict[str, Any]:
    select = """i.ticket_id, i.status, EXTRACT(EPOCH FROM (%s - c.created_at))::float8 AS age_s, s.kind"""
    inner, _ = _backlog_join_sql(scope, select, segments=True)
    inner += _STABBED_SQL
    sql = f"""
        SELECT GROUPING(kind) AS g, kind, COUNT(*) AS backlog,
               COUNT(*) FILTER (WHERE status <> 'pending') AS actionable,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY age_s) AS pct,
               MAX(age_s) AS max_age_s,
               COUNT(*) FILTER (WHERE age_s < 86400) AS age_0_1,
               COUNT(*) FILTER (WHERE age_s >= 86400 AND age_s < 3 * 86400) AS age_1_3,
               COUNT(*) FILTER (WHERE age_s >= 3 * 86400 AND age_s < 7 * 86400) AS age_3_7,
               COUNT(*) FILTER (WHERE age_s >= 7 * 86400) AS age_7
        FROM ({inner}) b GROUP BY GROUPING SETS ((kind), ())
    """  # noqa: S608
    params = [instant, *_backlog_join_params(scope, instant, instant, True), *[instant] * 4]
    out: dict[str, Any] = {"at": instant}
    for side in SIDES:
        out[side] = {
            "backlog": 0,
            "actionable": 0,
            "median_age_s": None,
            "p90_age_s": None,
            "max_age_s": None,
            "age_buckets": [0, 0, 0, 0],
        }
    for r in _run(sql, params):
        side = "all" if r["g"] else _side_of(r)
        if side not in out:
            continue
        pct = r["pct"] or [None, None]
        out[side] = {
            "backlog": r["backlog"],
            "actionable": r["actionable"],
            "median_age_s": pct[0],
            "p90_age_s": pct[1],
            "max_age_s": r["max_age_s"],
            "age_buckets": [r["age_0_1"], r["age_1_3"], r["age_3_7"], r["age_7"]],
        }
    return out
