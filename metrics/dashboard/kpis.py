"""What each KPI means and where its numbers come from (docs/architecture-kpis.md)."""

from __future__ import annotations

UNSOLVED = ("new", "open", "pending", "on_hold")
KINDS = ("support", "service")
SIDES = ("support", "service", "all")

# Short definitions shown one click away (from METRICS.md section 0 / 2).
DEFINITIONS: dict[str, str] = {
    "frt": "First response time (M1): from creation (or, for agent-created tickets, the customer's first public "
    "message) to the first public reply by a human agent. Internal notes, auto-replies and bots never count. "
    "Cohort: the first-reply instant. Median headlined, with mean, p90 and n.",
    "first_resolution": "First resolution time (M3): from creation to the first resolution (enters solved, or "
    "closed from an unsolved status). Cohort: the first-resolution instant.",
    "full_resolution": "Full resolution time = lead time (M4): from creation to the last resolution; only for "
    "tickets currently resolved. Cohort: the last-resolution instant.",
    "requester_wait": "Requester wait (M5): time in new, open and on-hold up to the last resolution — the customer "
    "waits on us. Cohort: the last-resolution instant.",
    "agent_wait": "Time waiting for customer (M6): time in pending up to the last resolution. Cohort: the "
    "last-resolution instant.",
    "time_in_progress": "Time in progress (M8): cumulative time in open (an agent owns and works the ticket). "
    "Cohort: the last-resolution instant.",
    "handle": "Handle time / AHT (M9): union of each agent's work sessions per ticket, summed over agents, always "
    "calendar seconds; AHT = mean over tickets with sessions. Cohort: the last-resolution instant.",
    "csat": "CSAT % (M10): latest rating per ticket; satisfied = 4–5 (1–5 scale) or good; satisfied / responses. "
    "Response rate = responded / surveys sent in the period. Cohort: the rating instant.",
    "fcr": "FCR % (M11, one-touch): currently resolved tickets with exactly one public agent reply, sent at or "
    "before the first resolution / resolved tickets with at least one reply (zero-touch excluded). Cohort: the "
    "last-resolution instant.",
    "reopen": "Reopen rate (M12): tickets with at least one reopen (solved/closed → unsolved) / tickets with a "
    "first resolution in the period. Recent periods are provisional. Cohort: the first-resolution instant.",
    "backlog": "Backlog (M13): tickets whose status at the snapshot (local midnight) is new, open, pending or "
    "on-hold. Actionable excludes pending. Age = snapshot − creation.",
    "sla": "SLA attainment (M14): achieved / (achieved + breached) over first-reply and resolution targets whose "
    "outcome instant falls in the period (= 100 % − breach rate). Equality with the target is achieved.",
    "created": "Tickets created in the period (spam, deleted and merged-away tickets excluded).",
    "resolved": "Tickets whose last resolution falls in the period (currently resolved).",
}

DURATION_KPIS: dict[str, dict[str, str]] = {
    # kpi -> cohort, column stem (suffix _cal_s/_bus_s unless fixed), label
    "frt": {"cohort": "frt", "stem": "frt", "label": "First response time"},
    "first_resolution": {"cohort": "first_res", "stem": "first_resolution", "label": "First resolution time"},
    "full_resolution": {"cohort": "last_res", "stem": "full_resolution", "label": "Full resolution time"},
    "requester_wait": {"cohort": "last_res", "stem": "requester_wait", "label": "Requester wait"},
    "agent_wait": {"cohort": "last_res", "stem": "agent_wait", "label": "Waiting for customer"},
    "time_in_progress": {"cohort": "last_res", "stem": "time_in_progress", "label": "Time in progress"},
    "handle": {"cohort": "last_res", "stem": "handle_s", "label": "Handle time (AHT)", "fixed": "1"},
}

# cohort -> instant column, attribution column (METRICS 1.7), extra WHERE
COHORTS: dict[str, dict[str, str]] = {
    "frt": {"instant": "first_reply_at", "agent": "first_replier_id", "where": ""},
    "first_res": {
        "instant": "first_resolved_at",
        "agent": "resolver_id",
        "where": "first_resolution_cal_s IS NOT NULL",
    },
    "last_res": {"instant": "last_resolved_at", "agent": "resolver_id", "where": ""},
    "csat": {"instant": "csat_at", "agent": "csat_agent_id", "where": ""},
    "offered": {"instant": "csat_offered_at", "agent": "resolver_id", "where": ""},
    "created": {"instant": "created_at", "agent": "assignee_id", "where": ""},
    "sla_fr": {
        "instant": "sla_first_reply_outcome_at",
        "agent": "assignee_id",
        "where": "sla_first_reply_outcome IN ('achieved', 'breached')",
    },
    "sla_res": {
        "instant": "sla_resolution_outcome_at",
        "agent": "assignee_id",
        "where": "sla_resolution_outcome IN ('achieved', 'breached')",
    },
}

# Ratio KPIs: (cohorts, numerator key, denominator key)
RATIOS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "csat": (("csat",), "satisfied", "responses"),
    "csat_response": (("offered",), "responded", "offered"),
    "fcr": (("last_res",), "fcr", "fcr_eligible"),
    "reopen": (("first_res",), "reopened", "resolved_first"),
    "sla": (("sla_fr", "sla_res"), "achieved", "with_outcome"),
}

# Histogram edges in seconds (width_bucket): <1h, 1–4h, 4–8h, 8–24h, 1–2d, 2–3d, 3–7d, ≥7d
HIST_EDGES = (3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400)
HIST_LABELS = ("< 1 h", "1–4 h", "4–8 h", "8–24 h", "1–2 d", "2–3 d", "3–7 d", "≥ 7 d")
HIST_KPIS = ("frt", "full_resolution")

FILTER_COLUMNS = ("queue_id", "kind", "priority", "channel")
# Cohorts with a per-day/week trend on the page (the others only need the tiles).
TREND_COHORTS = ("frt", "last_res", "csat", "created")
# Cohorts with a column in the per-agent table.
AGENT_COHORTS = ("frt", "last_res", "csat", "created")
