"""Manager KPI dashboard, drill-downs and CSV exports; an agent's own stats (thin views).

Managers and admins: /manager/dashboard/ (all queues, every agent). Agents:
/agent/my-stats/ with their own numbers only (the agent filter is forced,
docs/metrics.md §1.7 attribution). Customers get 404 (staff pages do not exist for
them); agents asking for the team dashboard get 403.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_GET

from accounts.models import User
from helpdesk.lib.csv_response import csv_response as _csv_response
from helpdesk.lib.db_router import replica_reads
from metrics import dashboard
from metrics.dashboard.kpis import KPI_BY_KEY, KPIS, Kpi, kpis_of
from metrics.definitions import page_url
from metrics.forms import DashboardForm, DrillForm, period_label, previous_label
from metrics.services import reporting_zone
from tickets.config import config_health
from tickets.selectors import queue_list_for_user
from tickets.views.common import staff_required

DRILL_PAGE_LIMIT = 1000
FILTER_PARAMS = ("range", "start", "end", "queue", "kind", "agent", "priority", "channel", "clock", "bucket")


# --- helpers ----------------------------------------------------------------


def _require_manager(user: Any) -> None:
    if not dashboard.may_see_team(user):
        raise PermissionDenied(_("The team dashboard is for managers."))


def _form(request: HttpRequest, *, personal: bool) -> DashboardForm:
    queues = list(queue_list_for_user(user=request.user).order_by("name").values_list("pk", "name"))
    agents = None
    if not personal:
        # A person reads names; the e-mail only tells apart agents without one.
        agents = [
            (pk, name or email)
            for pk, name, email in User.objects.filter(role__in=User.STAFF_ROLES, is_active=True)
            .order_by("name", "email")
            .values_list("pk", "name", "email")
        ]
    return DashboardForm(request.GET or None, queues=queues, agents=agents)


def _scope(request: HttpRequest, form: DashboardForm, *, personal: bool) -> dashboard.Scope:
    scope = form.scope(zone=reporting_zone())
    if personal:
        from dataclasses import replace

        return replace(scope, agent_id=request.user.pk, with_agents=False)
    return dashboard.scope_for_user(user=request.user, scope=scope)


def _filter_query(request: HttpRequest) -> dict[str, str]:
    return {k: request.GET[k] for k in FILTER_PARAMS if request.GET.get(k)}


class Links:
    """Drill-down URLs carrying the page's filters."""

    def __init__(self, base: str, filters: dict[str, str]):
        self.base, self.filters = base, filters
        # The filters are encoded once; a page has hundreds of links.
        self.prefix = f"{base}?{urlencode(filters)}&" if filters else f"{base}?"
        self._heads: dict[tuple[str, str, str], str] = {}

    def __call__(self, metric: str, side: str = "all", period: str = "cur", **extra: Any) -> str:
        # The same as urlencode() of every parameter in this order; the (metric, side, period)
        # head is encoded once per page (a page has ~40 distinct heads for ~450 links).
        head = self._heads.get((metric, side, period))
        if head is None:
            head = self._heads[(metric, side, period)] = self.prefix + urlencode(
                {"metric": metric, "side": side, "period": period}
            )
        rest = {k: v for k, v in extra.items() if v is not None}
        return f"{head}&{urlencode(rest)}" if rest else head


def _delta(cur: float | None, prev: float | None) -> float | None:
    if cur is None or prev is None or prev == 0:
        return None
    return 100.0 * (cur - prev) / prev


def _duration_card(dash: dashboard.Dashboard, link: Links, kpi: Kpi) -> dict[str, Any]:
    cols = []
    for side in dash.sides:
        cur, prev = dash.tiles[kpi.key][side]["cur"], dash.tiles[kpi.key][side]["prev"]
        cols.append(
            {
                "side": side,
                "href": link(kpi.key, side),
                "cur": cur,
                "n": cur["n"],
                "prev_href": link(kpi.key, side, "prev"),
                "prev_median": prev["median_s"],
                "prev_median_fmt": dashboard.fmt_duration(prev["median_s"]),
                "prev_n": prev["n"],
                "delta": _delta(cur["median_s"], prev["median_s"]),
            }
        )
    # One row per statistic, its cells in column order: the template reads dict keys only (an index
    # lookup such as `s.0` costs Django a failed key lookup, an exception and a dir() per cell).
    rows = [
        {
            "stat": stat,
            "label": label,
            "cells": [
                {
                    "side": c["side"],
                    "href": c["href"],
                    "value": c["cur"][f"{stat}_s"],
                    "fmt": dashboard.fmt_duration(c["cur"][f"{stat}_s"]),
                }
                for c in cols
            ],
        }
        for stat, label in (("median", _("median")), ("mean", _("mean")), ("p90", "p90"))
    ]
    calendar = kpi.fixed_clock or dash.scope.clock == "cal"
    clock = pgettext("clock", "calendar") if calendar else pgettext("clock", "business hours")
    return {"kind": "duration", "cols": cols, "rows": rows, "unit": clock}


def _ratio_col(dash: dashboard.Dashboard, link: Links, kpi: Kpi, side: str) -> dict[str, Any]:
    cur, prev = dash.tiles[kpi.key][side]["cur"], dash.tiles[kpi.key][side]["prev"]
    col = {
        "side": side,
        "href": link(kpi.key, side),
        "pct": cur["pct"],
        "pct_fmt": dashboard.fmt_pct(cur["pct"]),
        "num": cur["num"],
        "den": cur["den"],
        "prev_href": link(kpi.key, side, "prev"),
        "prev_pct": prev["pct"],
        "prev_pct_fmt": dashboard.fmt_pct(prev["pct"]),
        "prev_den": prev["den"],
        "delta_pts": (cur["pct"] - prev["pct"]) if cur["pct"] is not None and prev["pct"] is not None else None,
    }
    if kpi.key == "csat":
        rate = dash.tiles["csat_response"][side]["cur"]
        col.update(
            rate_href=link("csat_response", side),
            rate=rate["pct"],
            rate_fmt=dashboard.fmt_pct(rate["pct"]),
            rate_num=rate["num"],
            rate_den=rate["den"],
            mean_score=cur.get("mean_score"),
            score_n=cur.get("score_n"),
        )
    if kpi.key == "fcr":
        col["zero_touch"] = dash.tiles["zero_touch"][side]["cur"]["n"]
    return col


def _ratio_card(dash: dashboard.Dashboard, link: Links, kpi: Kpi) -> dict[str, Any]:
    return {"kind": "ratio", "cols": [_ratio_col(dash, link, kpi, side) for side in dash.sides]}


def _volume_card(dash: dashboard.Dashboard, link: Links) -> dict[str, Any]:
    count_cols = [
        {
            "side": side,
            "created": dash.tiles["created"][side]["cur"]["n"],
            "created_prev": dash.tiles["created"][side]["prev"]["n"],
            "created_href": link("created", side),
            "resolved": dash.tiles["resolved"][side]["cur"]["n"],
            "resolved_prev": dash.tiles["resolved"][side]["prev"]["n"],
            "resolved_href": link("resolved", side),
        }
        for side in dash.sides
    ]
    definition = f"{KPI_BY_KEY['created'].definition} {KPI_BY_KEY['resolved'].definition}"
    return {
        "kpi": "volume",
        "label": _("Volume"),
        "kind": "volume",
        "cols": count_cols,
        "definition": definition,
        "docs": KPI_BY_KEY["created"].docs,
    }


def _backlog_card(dash: dashboard.Dashboard, link: Links, kpi: Kpi) -> dict[str, Any]:
    cols = []
    for side in dash.sides:
        b = (dash.backlog or {}).get(side) or {}
        cols.append(
            {
                "side": side,
                "href": link("backlog", side),
                "backlog": b.get("backlog", 0),
                "actionable": b.get("actionable", 0),
                "median_age_s": b.get("median_age_s"),
                "median_age_fmt": dashboard.fmt_duration(b.get("median_age_s")),
                "p90_age_s": b.get("p90_age_s"),
                "p90_age_fmt": dashboard.fmt_duration(b.get("p90_age_s")),
                "max_age_s": b.get("max_age_s"),
                "max_age_fmt": dashboard.fmt_duration(b.get("max_age_s")),
                "age_buckets": b.get("age_buckets") or [0, 0, 0, 0],
            }
        )
    return {"kind": "backlog", "cols": cols}


def _survey_col(dash: dashboard.Dashboard, link: Links, kpi: Kpi, side: str) -> dict[str, Any]:
    cur, prev = dash.tiles[kpi.key][side]["cur"], dash.tiles[kpi.key][side]["prev"]
    headline = "nps" if kpi.key == "nps" else "mean_score"
    return {
        "side": side,
        "href": link(kpi.key, side),
        "prev_href": link(kpi.key, side, "prev"),
        "cur": cur,
        "prev": prev,
        "headline": cur[headline],
        "prev_headline": prev[headline],
        "easy_pct_fmt": dashboard.fmt_pct(cur.get("easy_pct")),
        "rate_fmt": dashboard.fmt_pct(cur.get("response_rate_pct")),
    }


def _survey_card(dash: dashboard.Dashboard, link: Links, kpi: Kpi) -> dict[str, Any]:
    """CES / NPS per side; none when the page is filtered by what survey answers do not carry."""
    if kpi.key not in dash.tiles:
        return {"kind": "survey", "cols": [], "unfiltered": True}
    return {"kind": "survey", "cols": [_survey_col(dash, link, kpi, side) for side in dash.sides]}


def _awaiting_card(dash: dashboard.Dashboard, link: Links, kpi: Kpi) -> dict[str, Any]:
    """Live: the count and the oldest's age per side (docs/metrics.md#awaiting-first-reply-now)."""
    tiles = dash.tiles[kpi.key]
    return {"kind": "awaiting", "cols": [{"side": s, "href": link(kpi.key, s), **tiles[s]["now"]} for s in dash.sides]}


_CARDS = {
    "duration": _duration_card,
    "ratio": _ratio_card,
    "backlog": _backlog_card,
    "survey": _survey_card,
    "awaiting": _awaiting_card,
}


def _tiles(dash: dashboard.Dashboard, link: Links) -> list[dict[str, Any]]:
    """Presentation of the KPI tiles: one card per KPI of the registry, one column per side."""
    cards = [_volume_card(dash, link)]
    for kpi in KPIS:
        if kpi.card and kpi.unit in _CARDS:
            card = _CARDS[kpi.unit](dash, link, kpi)
            cards.append(
                {
                    "kpi": kpi.key,
                    "label": kpi.label,
                    "definition": kpi.definition,
                    "docs": kpi.docs,
                    "docs_url": page_url(kpi.docs),
                    **card,
                }
            )
    return cards


def _frt_tooltips(dash: dashboard.Dashboard) -> dict[str, list[str]]:
    """FRT chart tooltips, formatted here in the reader's language
    (static/js/dashboard.js formats no duration; docs/languages.md)."""
    return {
        key: [dashboard.fmt_duration(r[field]) for r in dash.trend]
        for key, field in (("frt_median_fmt", "frt_median_s"), ("frt_p90_fmt", "frt_p90_s"))
    }


def _chart_data(dash: dashboard.Dashboard, link: Links) -> dict[str, Any]:
    def hours(v: float | None) -> float | None:
        return None if v is None else round(v / 3600, 3)

    return {
        "bucket": dash.scope.bucket,
        "clock": dash.scope.clock,
        "labels": [r["bucket"].isoformat() for r in dash.trend],
        "created": [r["created"] for r in dash.trend],
        "resolved": [r["resolved"] for r in dash.trend],
        "frt_median_h": [hours(r["frt_median_s"]) for r in dash.trend],
        "frt_p90_h": [hours(r["frt_p90_s"]) for r in dash.trend],
        "frt_n": [r["frt_n"] for r in dash.trend],
        **_frt_tooltips(dash),
        "csat_pct": [r["csat"]["pct"] for r in dash.trend],
        "csat_n": [r["csat"]["den"] for r in dash.trend],
        "drill": {
            m: [link(m, bucket_day=r["bucket"].isoformat()) for r in dash.trend] for m in ("created", "resolved", "frt")
        },
        "backlog_labels": [r["day"].isoformat() for r in dash.backlog_trend],
        "backlog": [r["backlog"] for r in dash.backlog_trend],
        "actionable": [r["actionable"] for r in dash.backlog_trend],
        "hist_labels": [str(label) for label in dashboard.HIST_LABELS_SHOWN],
        "hist": {k: [b["n"] for b in v] for k, v in dash.histograms.items()},
        "hist_drill": {k: [link(k, hist=b["bucket"]) for b in v] for k, v in dash.histograms.items()},
    }


# --- CSV --------------------------------------------------------------------


def _iso(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


TILE_CSV_HEADER = ["metric", "side", "period", "n", "mean_s", "median_s", "p90_s", "numerator", "denominator", "pct",
                   "mean_score", "offered", "responded", "response_rate_pct", "max_s"]  # fmt: skip


def _tile_csv_row(kpi: Kpi, v: dict[str, Any]) -> list[Any]:
    """The CSV cells after (metric, side, period) of one tile value, by unit."""
    if kpi.unit == "survey":
        return _survey_csv_row(kpi, v)
    if kpi.unit == "duration":
        return [v["n"], v["mean_s"], v["median_s"], v["p90_s"], "", "", ""]
    if kpi.unit == "ratio":
        return [v["den"], "", "", "", v["num"], v["den"], v["pct"]]
    return [v["n"], "", "", "", "", "", ""]


def _survey_csv_row(kpi: Kpi, v: dict[str, Any]) -> list[Any]:
    """CES: numerator = easy answers, pct = % easy, score = mean; NPS: numerator = promoters - detractors,
    pct = NPS; both with the response-rate columns where the survey has offers (CES)."""
    if kpi.key == "nps":
        return [v["n"], "", "", "", v["promoters"] - v["detractors"], v["n"], v["nps"], "", "", "", ""]
    return [v["n"], "", "", "", v["easy"], v["n"], v["easy_pct"], v["mean_score"], v["offered"], v["responded"],
            v["response_rate_pct"]]  # fmt: skip


def _tiles_csv(dash: dashboard.Dashboard) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for unit in ("duration", "ratio", "count", "survey"):
        for kpi in kpis_of(unit):
            if kpi.key not in dash.tiles:
                continue  # survey KPIs under a filter their answers do not carry
            for side in dash.sides:
                for period in ("cur", "prev"):
                    cells = _tile_csv_row(kpi, dash.tiles[kpi.key][side][period])
                    rows.append([kpi.key, side, period, *cells, *[""] * (len(TILE_CSV_HEADER) - 3 - len(cells))])
    for side in dash.sides:
        b = (dash.backlog or {}).get(side) or {}
        rows.append(["backlog", side, "at_end", b.get("backlog", 0), "", b.get("median_age_s"), b.get("p90_age_s"),
                     b.get("actionable", 0), "", "", "", "", "", "", b.get("max_age_s")])  # fmt: skip
    # Awaiting first reply now (live): n, and the oldest's age in the max_s column.
    for side in dash.sides:
        a = dash.tiles["awaiting_first_reply"][side]["now"]
        rows.append(["awaiting_first_reply", side, "now", a["n"], *[""] * 10, a["oldest_age_s"]])
    return rows


def _trend_csv(dash: dashboard.Dashboard) -> tuple[list[str], list[list[Any]]]:
    header = ["bucket_start", "created", "resolved", "frt_n", "frt_median_s", "frt_p90_s", "csat_responses",
              "csat_satisfied", "csat_pct"]  # fmt: skip
    return header, [
        [
            r["bucket"].isoformat(),
            r["created"],
            r["resolved"],
            r["frt_n"],
            r["frt_median_s"],
            r["frt_p90_s"],
            r["csat"]["den"],
            r["csat"]["num"],
            r["csat"]["pct"],
        ]
        for r in dash.trend
    ]


def _agents_csv(dash: dashboard.Dashboard) -> tuple[list[str], list[list[Any]]]:
    header = ["agent_id", "agent", "solved", "frt_n", "frt_median_s", "aht_n", "aht_s", "csat_satisfied",
              "csat_responses", "csat_pct", "fcr", "fcr_eligible", "fcr_pct"]  # fmt: skip
    return header, [
        [
            a["agent_id"],
            a["name"],
            a["solved"],
            a["frt"]["n"],
            a["frt"]["median_s"],
            a["aht"]["n"],
            a["aht"]["mean_s"],
            a["csat"]["num"],
            a["csat"]["den"],
            a["csat"]["pct"],
            a["fcr"]["num"],
            a["fcr"]["den"],
            a["fcr"]["pct"],
        ]
        for a in dash.agents
    ]


def _backlog_csv(dash: dashboard.Dashboard) -> tuple[list[str], list[list[Any]]]:
    header = ["day", "snapshot_utc", "backlog", "actionable"]
    return header, [[r["day"].isoformat(), _iso(r["at"]), r["backlog"], r["actionable"]] for r in dash.backlog_trend]


def _histograms_csv(dash: dashboard.Dashboard) -> tuple[list[str], list[list[Any]]]:
    header = ["metric", "bucket", "label", "n"]
    return header, [[k, b["bucket"], b["label"], b["n"]] for k, v in dash.histograms.items() for b in v]


def _comments_csv(dash: dashboard.Dashboard) -> tuple[list[str], list[list[Any]]]:
    header = ["ticket_id", "csat_at", "rating", "satisfied", "comment"]
    return header, [
        [c["ticket_id"], _iso(c["csat_at"]), c["csat_value"], c["csat_satisfied"], c["comment"]] for c in dash.comments
    ]


_CSV_TABLES = {
    "tiles": lambda dash: (TILE_CSV_HEADER, _tiles_csv(dash)),
    "trend": _trend_csv,
    "backlog": _backlog_csv,
    "histograms": _histograms_csv,
    "agents": _agents_csv,
    "comments": _comments_csv,
}


def dashboard_csv_rows(dash: dashboard.Dashboard, table: str) -> tuple[list[str], list[list[Any]]]:
    """Every table of the page as raw numbers (seconds, percentages)."""
    if table not in _CSV_TABLES:
        raise ValueError(table)
    return _CSV_TABLES[table](dash)


CSV_TABLES = ("tiles", "trend", "backlog", "histograms", "agents", "comments")


# --- pages ------------------------------------------------------------------


def _page(request: HttpRequest, *, personal: bool) -> HttpResponse:
    form = _form(request, personal=personal)
    scope = _scope(request, form, personal=personal)
    dash = dashboard.dashboard_build(scope=scope)
    filters = _filter_query(request)
    drill_base = reverse("metrics-dashboard:my-stats-drill" if personal else "metrics-dashboard:drill")
    link = Links(drill_base, filters)
    if request.GET.get("format") == "csv":
        table = request.GET.get("table", "tiles")
        if table not in CSV_TABLES or (personal and table == "agents"):
            return HttpResponse(_("Unknown table."), status=400, content_type="text/plain")
        header, rows = dashboard_csv_rows(dash, table)
        return _csv_response(f"dashboard-{table}-{scope.period.first}-{scope.period.last}", header, rows)
    agents = [
        {
            **a,
            "solved_href": link("resolved", agent_row=a["agent_id"]),
            "frt_href": link("frt", agent_row=a["agent_id"]),
            "aht_href": link("handle", agent_row=a["agent_id"]),
            "csat_href": link("csat", agent_row=a["agent_id"]),
            "fcr_href": link("fcr", agent_row=a["agent_id"]),
            "frt_median_fmt": dashboard.fmt_duration(a["frt"]["median_s"]),
            "aht_fmt": dashboard.fmt_duration(a["aht"]["mean_s"]),
            "csat_fmt": dashboard.fmt_pct(a["csat"]["pct"]),
            "fcr_fmt": dashboard.fmt_pct(a["fcr"]["pct"]),
        }
        for a in dash.agents
    ]
    csv_base = "?" + urlencode({**filters, "format": "csv"})
    context = {
        "form": form,
        "dash": dash,
        "scope": scope,
        "personal": personal,
        "cards": _tiles(dash, link),
        "chart_data": _chart_data(dash, link),
        "trend": [
            {
                **r,
                "frt_median_fmt": dashboard.fmt_duration(r["frt_median_s"]),
                "frt_p90_fmt": dashboard.fmt_duration(r["frt_p90_s"]),
                "csat_fmt": dashboard.fmt_pct(r["csat"]["pct"]),
                "created_href": link("created", bucket_day=r["bucket"].isoformat()),
                "resolved_href": link("resolved", bucket_day=r["bucket"].isoformat()),
                "frt_href": link("frt", bucket_day=r["bucket"].isoformat()),
                "csat_href": link("csat", bucket_day=r["bucket"].isoformat()),
            }
            for r in dash.trend
        ],
        "backlog_trend": [{**r, "href": link("backlog", bucket_day=r["day"].isoformat())} for r in dash.backlog_trend],
        "histograms": [
            {
                "kpi": k,
                "label": KPI_BY_KEY[k].label,
                "buckets": [
                    {**b, "label": dashboard.HIST_LABELS_SHOWN[b["bucket"]], "href": link(k, hist=b["bucket"])}
                    for b in v
                ],
            }
            for k, v in dash.histograms.items()
        ],
        "agents": agents,
        "period_label": period_label(scope.period),
        "previous_label": previous_label(scope.period),
        "csv_base": csv_base,
        "zone": str(scope.period.zone),
        "config_warnings": [] if personal else config_health(),
    }
    return render(request, "metrics/dashboard.html", context)


@require_GET
@staff_required
@replica_reads
def manager_dashboard(request: HttpRequest) -> HttpResponse:
    _require_manager(request.user)
    return _page(request, personal=False)


@require_GET
@staff_required
@replica_reads
def my_stats(request: HttpRequest) -> HttpResponse:
    return _page(request, personal=True)


def _drill(request: HttpRequest, *, personal: bool) -> HttpResponse:
    form = _form(request, personal=personal)
    scope = _scope(request, form, personal=personal)
    drill_form = DrillForm(request.GET)
    if not drill_form.is_valid():
        return render(request, "metrics/drill.html", {"errors": drill_form.errors, "personal": personal}, status=400)
    drill = drill_form.drill()
    columns = dashboard.drill_columns(drill.metric)
    if request.GET.get("format") == "csv":
        rows = dashboard.drill_rows(scope=scope, drill=drill)
        return _csv_response(
            f"drill-{drill.metric}-{drill.side}-{scope.period.first}-{scope.period.last}",
            columns,
            ([_iso(r[c]) for c in columns] for r in rows),
        )
    rows = list(dashboard.drill_rows(scope=scope, drill=drill, limit=DRILL_PAGE_LIMIT + 1))
    truncated = len(rows) > DRILL_PAGE_LIMIT
    rows = rows[:DRILL_PAGE_LIMIT]
    _drill_names(rows)
    for r in rows:
        if "value_s" in r:
            r["value_fmt"] = dashboard.fmt_duration(r["value_s"])
        if "age_s" in r:
            r["age_fmt"] = dashboard.fmt_duration(r["age_s"])
    back = reverse("metrics-dashboard:my-stats" if personal else "metrics-dashboard:dashboard")
    filters = _filter_query(request)
    context = {
        "drill": drill,
        "scope": scope,
        "columns": columns,
        "drill_agent_name": _agent_name(drill.agent),
        "headings": [DRILL_HEADINGS.get(c, c.replace("_", " ")) for c in columns],
        "rows": rows,
        "count": len(rows),
        "truncated": truncated,
        "limit": DRILL_PAGE_LIMIT,
        "definition": KPI_BY_KEY[drill.metric].definition,
        "docs": KPI_BY_KEY[drill.metric].docs,
        "label": _drill_label(drill.metric),
        "back_url": f"{back}?{urlencode(filters)}",
        "csv_url": "?" + urlencode({**request.GET.dict(), "format": "csv"}),
        "period_label": period_label(scope.period if drill.period == "cur" else scope.period.previous),
        "personal": personal,
        "zone": str(scope.period.zone),
    }
    return render(request, "metrics/drill.html", context)


def _drill_label(metric: str) -> str:
    return str(KPI_BY_KEY[metric].label)


# Column headings of the drill-down table (the CSV keeps the raw names).
DRILL_HEADINGS = {
    "ticket_id": gettext_lazy("Ticket"),
    "kind": gettext_lazy("Kind"),
    "queue_id": gettext_lazy("Queue"),
    "agent_id": gettext_lazy("Agent"),
    "instant": gettext_lazy("When"),
    "value_s": gettext_lazy("Value"),
    "status": gettext_lazy("Status"),
    "age_s": gettext_lazy("Age"),
    "target": gettext_lazy("Target"),
    "outcome": gettext_lazy("Outcome"),
    "elapsed_s": gettext_lazy("Elapsed (s)"),
    "target_s": gettext_lazy("Target (s)"),
    "counted": gettext_lazy("Counted"),
    "value": gettext_lazy("Value"),
    "category": gettext_lazy("Category"),
    "customer_id": gettext_lazy("Customer"),
    "comment": gettext_lazy("Comment"),
}


def _drill_names(rows: list[dict[str, Any]]) -> None:
    """Subjects, queue and agent names for the rows (three small queries):
    a person reads names, not ids."""
    from tickets.models import Queue, Ticket

    ticket_ids = {r["ticket_id"] for r in rows}
    queue_ids = {r["queue_id"] for r in rows if r.get("queue_id")}
    agent_ids = {r["agent_id"] for r in rows if r.get("agent_id")}
    subjects = dict(Ticket.objects.filter(pk__in=ticket_ids).values_list("pk", "subject")) if ticket_ids else {}
    queues = dict(Queue.objects.filter(pk__in=queue_ids).values_list("pk", "name")) if queue_ids else {}
    agents = {
        pk: name or email
        for pk, name, email in (
            User.objects.filter(pk__in=agent_ids).values_list("pk", "name", "email") if agent_ids else []
        )
    }
    for r in rows:
        r["subject"] = subjects.get(r["ticket_id"], "")
        r["queue_name"] = queues.get(r.get("queue_id"), "")
        r["agent"] = agents.get(r.get("agent_id"), "")


def _agent_name(agent_id: int | None) -> str:
    person = User.objects.filter(pk=agent_id).first() if agent_id is not None else None
    return person.display_name if person else ""


@require_GET
@staff_required
@replica_reads
def manager_drill(request: HttpRequest) -> HttpResponse:
    _require_manager(request.user)
    return _drill(request, personal=False)


@require_GET
@staff_required
@replica_reads
def my_stats_drill(request: HttpRequest) -> HttpResponse:
    return _drill(request, personal=True)


@require_GET
@staff_required
def definitions(request: HttpRequest, page: str) -> HttpResponse:
    """The metric definitions shipped in docs/ (metrics.definitions), for staff."""
    from metrics.definitions import PAGES, page_html

    html = page_html(page)
    if html is None:
        raise Http404("No such page.")
    return render(request, "metrics/definitions.html", {"html": html, "page": page, "pages": PAGES})
