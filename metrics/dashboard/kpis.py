"""The KPI registry: what each number of the dashboard is, in one definition per KPI.

A KPI is one `Kpi` entry below: key, label, unit, the cohort (and cell fields) its value is
computed from on the exact path and from rollup cells (both produce the same cell shape,
see `CohortResult`), its drill-down, CSV columns and the "What is this?" text with a link to
the docs. The page, CSV, drill-down form and API read this list. The steps to add one are in
docs/architecture-kpis.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

UNSOLVED = ("new", "open", "pending", "on_hold")
KINDS = ("support", "service")
SIDES = ("support", "service", "all")
PERIODS = ("cur", "prev")

DOCS_URL = "docs/architecture-kpis.md"


@dataclass(frozen=True)
class Kpi:
    """One KPI. `unit` decides how its value is computed from cohort cells, shown and exported:

    duration: n / mean / median / p90 of `<stem>_<clock>_s` (or `stem` when `fixed_clock`);
    ratio: sum(`num`) / sum(`den`) over `cohort` and `extra_cohorts`;
    count: the cell field `num`; backlog: snapshots (metrics.dashboard.backlog);
    survey: computed from the event log (metrics.dashboard.surveys);
    awaiting: live count and oldest age from the tickets (metrics.dashboard.awaiting).
    """

    key: str
    label: StrOrPromise  # translated when shown (docs/languages.md); CSV and API use `key`
    unit: str
    definition: StrOrPromise
    cohort: str = ""
    extra_cohorts: tuple[str, ...] = ()
    stem: str = ""
    fixed_clock: bool = False
    num: str = ""
    den: str = ""
    card: bool = True  # its own tile (False: shown inside another tile)
    drill: bool = True
    # Drill-down of a ratio / count KPI: SQL select list and extra condition on metrics_ticketmetrics m,
    # and the same for the portable path (ORM filter; values from the row's columns).
    drill_sql: tuple[str, str] = ("", "")
    drill_orm: dict[str, Any] = field(default_factory=dict)
    drill_values: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    # More fields of the tile value read from the same cell (e.g. CSAT's mean score).
    more_values: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    docs: str = "docs/architecture-kpis.md"

    @property
    def cohorts(self) -> tuple[str, ...]:
        return (self.cohort, *self.extra_cohorts) if self.cohort else ()


def _count_at_least(column: str, least: int = 1) -> dict[str, Any]:
    """Drill-down of a per-ticket count: counted when it is at least `least`,
    the count as the value (the SQL and the Python path say the same)."""
    return {
        "drill_values": lambda r: {"counted": (r[column] or 0) >= least, "value": r[column]},
        "drill_sql": (f"(m.{column} >= {least}) AS counted, m.{column} AS value", ""),
    }


KPIS: tuple[Kpi, ...] = (
    Kpi(
        key="frt",
        docs="docs/metrics.md#m1-first-response-time-frt",
        label=_("First response time"),
        unit="duration",
        cohort="frt",
        stem="frt",
        definition=_(
            "First response time (M1): from creation (or, for agent-created tickets, the customer's first "
            "public message) to the first public reply by a human agent. Internal notes, auto-replies and "
            "bots never count. Cohort: the first-reply instant. Median headlined, with mean, p90 and n."
        ),
    ),
    Kpi(
        key="first_resolution",
        docs="docs/metrics.md#m3-first-resolution-time",
        label=_("First resolution time"),
        unit="duration",
        cohort="first_res",
        stem="first_resolution",
        definition=_(
            "First resolution time (M3): from creation to the first resolution (enters solved, or closed from "
            "an unsolved status). Cohort: the first-resolution instant."
        ),
    ),
    Kpi(
        key="full_resolution",
        docs="docs/metrics.md#m4-full-resolution-time--lead-time",
        label=_("Full resolution time"),
        unit="duration",
        cohort="last_res",
        stem="full_resolution",
        definition=_(
            "Full resolution time = lead time (M4): from creation to the last resolution; only for tickets "
            "currently resolved. Cohort: the last-resolution instant."
        ),
    ),
    Kpi(
        key="requester_wait",
        docs="docs/metrics.md#m5-requester-wait-time",
        label=_("Requester wait"),
        unit="duration",
        cohort="last_res",
        stem="requester_wait",
        definition=_(
            "Requester wait (M5): time in new, open and on-hold up to the last resolution — the customer "
            "waits on us. Cohort: the last-resolution instant."
        ),
    ),
    Kpi(
        key="agent_wait",
        docs="docs/metrics.md#m6-agent-wait-time--time-waiting-for-customer",
        label=_("Waiting for customer"),
        unit="duration",
        cohort="last_res",
        stem="agent_wait",
        definition=_(
            "Time waiting for customer (M6): time in pending up to the last resolution. Cohort: the "
            "last-resolution instant."
        ),
    ),
    Kpi(
        key="time_in_progress",
        docs="docs/metrics.md#m8-time-in-progress-queue-time-agent-work-time",
        label=_("Time in progress"),
        unit="duration",
        cohort="last_res",
        stem="time_in_progress",
        definition=_(
            "Time in progress (M8): cumulative time in open (an agent owns and works the ticket). Cohort: the "
            "last-resolution instant."
        ),
    ),
    Kpi(
        key="handle",
        docs="docs/metrics.md#m9-handle-time-and-average-handle-time-aht",
        label=_("Handle time (AHT)"),
        unit="duration",
        cohort="last_res",
        stem="handle_s",
        fixed_clock=True,
        definition=_(
            "Handle time / AHT (M9): union of each agent's work sessions per ticket, summed over agents, "
            "always calendar seconds; AHT = mean over tickets with sessions. Cohort: the last-resolution "
            "instant."
        ),
    ),
    Kpi(
        key="csat",
        docs="docs/metrics.md#m10-csat",
        drill_values=lambda r: {"counted": r["csat_satisfied"], "value": r["csat_value"]},
        more_values=lambda c: {
            "mean_score": (c["score_sum"] / c["score_n"]) if c.get("score_n") else None,
            "score_n": c.get("score_n") or 0,
        },
        label=_("CSAT"),
        unit="ratio",
        cohort="csat",
        num="satisfied",
        den="responses",
        drill_sql=("m.csat_satisfied AS counted, m.csat_value AS value", ""),
        drill_orm={},
        definition=_(
            "CSAT % (M10): latest rating per ticket; satisfied = 4–5 (1–5 scale) or good; satisfied / "
            "responses. Response rate = responded / surveys sent in the period. Cohort: the rating instant."
        ),
    ),
    Kpi(
        key="csat_response",
        docs="docs/metrics.md#m10-csat",
        drill_values=lambda r: {"counted": r["csat_at"] is not None, "value": r["csat_value"]},
        label=_("CSAT response rate"),
        unit="ratio",
        cohort="offered",
        num="responded",
        den="offered",
        card=False,
        drill_sql=("(m.csat_at IS NOT NULL) AS counted, m.csat_value AS value", ""),
        drill_orm={},
        definition=_(
            "CSAT % (M10): latest rating per ticket; satisfied = 4–5 (1–5 scale) or good; satisfied / "
            "responses. Response rate = responded / surveys sent in the period. Cohort: the rating instant."
        ),
    ),
    Kpi(
        key="fcr",
        docs="docs/metrics.md#m11-first-contact-resolution-fcr-one-touch",
        drill_values=lambda r: {"counted": r["fcr"], "value": r["public_agent_replies"]},
        label=_("First contact resolution"),
        unit="ratio",
        cohort="last_res",
        num="fcr",
        den="fcr_eligible",
        drill_sql=("m.fcr AS counted, m.public_agent_replies AS value", " AND m.fcr_eligible"),
        drill_orm={"fcr_eligible": True},
        definition=_(
            "FCR % (M11, one-touch): currently resolved tickets with exactly one public agent reply, sent at "
            "or before the first resolution / resolved tickets with at least one reply (zero-touch excluded). "
            "Cohort: the last-resolution instant."
        ),
    ),
    Kpi(
        key="reopen",
        docs="docs/metrics.md#m12-reopens-and-reopen-rate",
        **_count_at_least("reopens"),
        label=_("Reopen rate"),
        unit="ratio",
        cohort="first_res",
        num="reopened",
        den="resolved_first",
        drill_orm={},
        definition=_(
            "Reopen rate (M12): tickets with at least one reopen (solved/closed → unsolved) / tickets with a "
            "first resolution in the period. Recent periods are provisional. Cohort: the first-resolution "
            "instant."
        ),
    ),
    Kpi(
        key="sla",
        docs="docs/metrics.md#m14-sla-targets-and-breach-rate",
        label=_("SLA attainment"),
        unit="ratio",
        cohort="sla_fr",
        extra_cohorts=("sla_res",),
        num="achieved",
        den="with_outcome",
        definition=_(
            "SLA attainment (M14): achieved / (achieved + breached) over first-reply and resolution targets "
            "whose outcome instant falls in the period (= 100 % − breach rate). Equality with the target is "
            "achieved."
        ),
    ),
    Kpi(
        key="created",
        docs="docs/metrics.md#0-adopted-definitions-at-a-glance",
        drill_values=lambda r: {"counted": True, "value": r["status"]},
        label=_("Created"),
        unit="count",
        cohort="created",
        num="created",
        card=False,
        drill_sql=("TRUE AS counted, m.status AS value", ""),
        definition=_("Tickets created in the period (spam, deleted and merged-away tickets excluded)."),
    ),
    Kpi(
        key="resolved",
        docs="docs/metrics.md#0-adopted-definitions-at-a-glance",
        drill_values=lambda r: {"counted": True, "value": r["status"]},
        label=_("Resolved"),
        unit="count",
        cohort="last_res",
        num="resolved",
        card=False,
        drill_sql=("TRUE AS counted, m.status AS value", ""),
        definition=_("Tickets whose last resolution falls in the period (currently resolved)."),
    ),
    Kpi(
        key="zero_touch",
        docs="docs/metrics.md#m11-first-contact-resolution-fcr-one-touch",
        label=_("Zero touch"),
        unit="count",
        cohort="last_res",
        num="zero_touch",
        card=False,
        drill=False,
        definition=_("Resolved tickets without any public agent reply (excluded from FCR)."),
    ),
    Kpi(
        key="next_reply",
        docs="docs/metrics.md#next-reply-time-aggregates",
        label=_("Next reply time"),
        unit="duration",
        cohort="next_reply",
        stem="next_reply",
        definition=_(
            "Next reply time (M2): after the first reply, each run of customer public messages waits from its "
            "first message to the next public agent reply; a resolution before a reply cancels the run. One "
            "value per reply (a ticket can count several times). Cohort: the reply instant."
        ),
    ),
    Kpi(
        key="escalation_rate",
        docs="docs/metrics.md#escalation-rate",
        **_count_at_least("escalations"),
        label=_("Escalation rate"),
        unit="ratio",
        cohort="created",
        num="escalated",
        den="created",
        definition=_(
            "Escalation rate: tickets created in the period with at least one escalation (a queue move "
            "between a support and a service queue, either way) / tickets created. Cohort: creation."
        ),
    ),
    Kpi(
        key="esc_to_service",
        docs="docs/metrics.md#escalations-support-to-service-and-service-to-support",
        **_count_at_least("escalations_to_service"),
        label=_("Escalated support → service"),
        unit="ratio",
        cohort="created",
        num="escalated_to_service",
        den="created",
        definition=_(
            "Escalations support → service: tickets created in the period that moved at least once from a "
            "support queue to a service queue (count), and that count / tickets created (rate). Value in the "
            "drill-down: the number of such moves. Cohort: creation."
        ),
    ),
    Kpi(
        key="esc_to_support",
        docs="docs/metrics.md#escalations-support-to-service-and-service-to-support",
        **_count_at_least("escalations_to_support"),
        label=_("Escalated service → support"),
        unit="ratio",
        cohort="created",
        num="escalated_to_support",
        den="created",
        definition=_(
            "Escalations service → support: tickets created in the period that moved at least once from a "
            "service queue to a support queue (count), and that count / tickets created (rate). Cohort: "
            "creation."
        ),
    ),
    Kpi(
        key="time_to_escalation",
        docs="docs/metrics.md#time-to-first-escalation",
        label=_("Time to first escalation"),
        unit="duration",
        cohort="first_esc",
        stem="time_to_escalation",
        definition=_(
            "Time to first escalation: from creation to the ticket's first escalation (queue move between "
            "support and service), calendar or business hours. Cohort: the first-escalation instant."
        ),
    ),
    Kpi(
        key="ping_pong",
        docs="docs/metrics.md#ping-pong",
        **_count_at_least("escalations", 2),
        label=_("Ping-pong"),
        unit="ratio",
        cohort="first_esc",
        num="ping_pong",
        den="escalated_first",
        definition=_(
            "Ping-pong: escalated tickets that were escalated more than once (e.g. support → service → "
            "support) / escalated tickets. Cohort: the first-escalation instant."
        ),
    ),
    Kpi(
        key="resolution_escalated",
        docs="docs/metrics.md#resolution-time-escalated-vs-not-escalated",
        label=_("Resolution time, escalated"),
        unit="duration",
        cohort="last_res",
        stem="resolution_escalated",
        definition=_(
            "Resolution time (M4, creation to the last resolution) of tickets escalated at least once before their "
            "last resolution. "
            "Compare with the not-escalated tile. Cohort: the last-resolution instant."
        ),
    ),
    Kpi(
        key="resolution_not_escalated",
        docs="docs/metrics.md#resolution-time-escalated-vs-not-escalated",
        label=_("Resolution time, not escalated"),
        unit="duration",
        cohort="last_res",
        stem="resolution_not_escalated",
        definition=_(
            "Resolution time (M4, creation to the last resolution) of tickets never escalated before their last "
            "resolution (every "
            "resolved ticket is in exactly one of the two tiles). Cohort: the last-resolution instant."
        ),
    ),
    Kpi(
        key="ces",
        docs="docs/metrics.md#m15-customer-effort-score-ces",
        label=_("Customer effort (CES)"),
        unit="survey",
        definition=_(
            # xgettext:no-python-format
            "Customer effort score (M15): the latest CES answer per ticket (1–7, 7 = very easy) whose instant "
            "falls in the period. Headline: mean score and % easy (answers ≥ 5 ÷ answers), with n and the "
            "response rate (answered ÷ surveys offered in the period). Side: the queue kind at the last "
            "resolution before the answer. Computed exactly from the event log (docs/surveys.md)."
        ),
    ),
    Kpi(
        key="nps",
        docs="docs/metrics.md#m16-net-promoter-score-nps",
        label=_("Net promoter score (NPS)"),
        unit="survey",
        definition=_(
            "Net promoter score (M16): per customer, the latest answer (0–10) in the period; NPS = % promoters "
            "(9–10) − % detractors (0–6), from −100 to 100, with n. Per side: among the answers given on "
            "tickets of that side. Computed exactly from the event log (docs/surveys.md)."
        ),
    ),
    Kpi(
        key="awaiting_first_reply",
        docs="docs/metrics.md#awaiting-first-reply-now",
        label=_("Awaiting first reply now"),
        unit="awaiting",
        definition=_(
            "Tickets awaiting their first reply now: unsolved tickets whose first-response clock runs (created "
            "by the customer, or the customer has written) with no public agent reply yet, and the age of the "
            "oldest (now − the clock's start). Live, not a cohort: the period does not change it. Reported "
            "beside FRT, which only counts replied tickets."
        ),
    ),
    Kpi(
        key="backlog",
        docs="docs/metrics.md#m13-backlog",
        label=_("Backlog"),
        unit="backlog",
        definition=_(
            "Backlog (M13): tickets whose status at the snapshot (local midnight) is new, open, pending or "
            "on-hold. Actionable excludes pending. Age = snapshot − creation."
        ),
    ),
)

KPI_BY_KEY: dict[str, Kpi] = {k.key: k for k in KPIS}


def kpis_of(unit: str) -> tuple[Kpi, ...]:
    return tuple(k for k in KPIS if k.unit == unit)


# Views of the registry kept for the SQL / rollup code (derived, never edited by hand).
DEFINITIONS: dict[str, StrOrPromise] = {k.key: k.definition for k in KPIS}
DURATION_KPIS: dict[str, dict[str, str]] = {
    k.key: {"cohort": k.cohort, "stem": k.stem, **({"fixed": "1"} if k.fixed_clock else {})}
    for k in kpis_of("duration")
}
RATIOS: dict[str, tuple[tuple[str, ...], str, str]] = {k.key: (k.cohorts, k.num, k.den) for k in kpis_of("ratio")}

# cohort -> instant column, attribution column (docs/metrics.md §1.7), extra WHERE
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
    "first_esc": {"instant": "first_escalated_at", "agent": "assignee_id", "where": ""},
    # One row per answered next-reply run (metrics.TicketNextReply), not per ticket; agent = the replier.
    "next_reply": {"instant": "replied_at", "agent": "agent_id", "where": "", "table": "metrics_ticketnextreply"},
}


# Cohorts attributed per queue segment in views filtered to a queue or kind and on the support /
# service sides; the others (escalations, next replies) read whole tickets by their current queue
# and kind (docs/metrics.md "How attribution is built").
SEGMENT_COHORTS = ("frt", "first_res", "last_res", "csat", "offered", "created", "sla_fr", "sla_res")


def cohort_table(cohort: str) -> str:
    return COHORTS[cohort].get("table", "metrics_ticketmetrics")


# Cohorts computed exactly from their rows on every path, also when the other tiles come from rollup
# cells: none since next replies have histogram cells (metrics.rollup.NEXT_REPLY; before, a long
# range sorted every reply of both periods, O(replies), bench/DASHBOARD.md "Third round").
EXACT_COHORTS: tuple[str, ...] = ()

# Histogram edges in seconds (width_bucket): <1h, 1–4h, 4–8h, 8–24h, 1–2d, 2–3d, 3–7d, ≥7d
HIST_EDGES = (3600, 4 * 3600, 8 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400)
# CSV and API keep these (docs/languages.md, Manager side); pages and charts
# show HIST_LABELS_SHOWN, the same buckets in the reader's language.
HIST_LABELS = ("< 1 h", "1–4 h", "4–8 h", "8–24 h", "1–2 d", "2–3 d", "3–7 d", "≥ 7 d")
HIST_LABELS_SHOWN = (
    pgettext_lazy("duration bucket", "< 1 h"),
    pgettext_lazy("duration bucket", "1–4 h"),
    pgettext_lazy("duration bucket", "4–8 h"),
    pgettext_lazy("duration bucket", "8–24 h"),
    pgettext_lazy("duration bucket", "1–2 d"),
    pgettext_lazy("duration bucket", "2–3 d"),
    pgettext_lazy("duration bucket", "3–7 d"),
    pgettext_lazy("duration bucket", "≥ 7 d"),
)
HIST_KPIS = ("frt", "full_resolution")

FILTER_COLUMNS = ("queue_id", "kind", "priority", "channel")
# Cohorts with a per-day/week trend on the page (the others only need the tiles).
TREND_COHORTS = ("frt", "last_res", "csat", "created")
# Cohorts with a column in the per-agent table.
AGENT_COHORTS = ("frt", "last_res", "csat", "created")
