"""The public shape of a metrics row: expected.json field names (export, API)."""

from datetime import UTC, datetime
from typing import Any

# Every per-ticket field of tests/fixtures/metrics_examples/expected.json, in order.
EXPORT_FIELDS = (
    "excluded",
    "excluded_reason",
    "status_at_as_of",
    "frt_cal_s",
    "frt_bus_s",
    "first_reply_at",
    "frt_zendesk_cal_s",
    "frt_zendesk_bus_s",
    "next_reply_cal_s",
    "next_reply_bus_s",
    "first_resolved_at",
    "first_resolution_cal_s",
    "first_resolution_bus_s",
    "last_resolved_at",
    "full_resolution_cal_s",
    "full_resolution_bus_s",
    "requester_wait_cal_s",
    "requester_wait_bus_s",
    "agent_wait_cal_s",
    "agent_wait_bus_s",
    "on_hold_cal_s",
    "on_hold_bus_s",
    "time_in_progress_cal_s",
    "time_in_progress_bus_s",
    "queue_time_cal_s",
    "queue_time_bus_s",
    "agent_work_cal_s",
    "agent_work_bus_s",
    "solved_before_reopen_cal_s",
    "solved_before_reopen_bus_s",
    "reopens",
    "substantive_reopens",
    "public_agent_replies",
    "fcr_eligible",
    "fcr",
    "assignee_stations",
    "group_stations",
    "resolver",
    "csat_offered",
    "csat_value",
    "csat_satisfied",
    "csat_at",
    "ces_offered",
    "ces_value",
    "ces_easy",
    "ces_at",
    "handle_s",
    "handle_by_agent_s",
    "time_logged_s",
    "sla_first_reply_target_s",
    "sla_first_reply_outcome",
    "sla_first_reply_elapsed_s",
    "sla_first_reply_breach_at",
    "sla_first_reply_outcome_at",
    "sla_resolution_target_s",
    "sla_resolution_outcome",
    "sla_resolution_elapsed_s",
    "sla_resolution_breach_at",
    "sla_resolution_outcome_at",
    "sla_next_reply_target_s",
    "sla_next_reply_achieved",
    "sla_next_reply_breached",
    "sla_next_reply_outcome_at",
)


# The per-ticket values no TicketMetrics column holds, kept in its `data` JSON, with the value
# a missing key stands for: only values that differ are written (docs/metrics.md#storage).
# Every other export field is read from its column (`stored_row`); rows written before this
# layout also carry the column values in `data`, and those copies are ignored.
DATA_DEFAULTS: dict[str, Any] = {
    "frt_zendesk_cal_s": None,
    "frt_zendesk_bus_s": None,
    "next_reply_cal_s": [],
    "next_reply_bus_s": [],
    "handle_by_agent_s": None,
}
# The same for TicketSegment: the split lists of one segment.
SEGMENT_DATA_DEFAULTS: dict[str, Any] = {"next_reply_cal_s": [], "next_reply_bus_s": [], "handle_by_agent_s": None}
# Export names stored in a column of another name.
_COLUMN_OF = {"status_at_as_of": "status", "resolver": "resolver_id"}
_BLANK_IS_NONE = frozenset({"excluded_reason", "sla_first_reply_outcome", "sla_resolution_outcome"})


def csat_value_of(column: str, score: int | None) -> Any:
    """The rating as given (5, "good") from the TicketMetrics columns `csat_value` (text) and
    `csat_score` (the 1-5 number); None without a rating."""
    if score is not None:
        return score
    return column or None


def _with_defaults(data: dict[str, Any] | None, defaults: dict[str, Any]) -> dict[str, Any]:
    data = data or {}
    return {name: list(empty) if isinstance(empty, list) else empty for name, empty in defaults.items()} | {
        name: data[name] for name in defaults if name in data
    }


def stored_row(m: Any) -> dict[str, Any]:
    """A stored TicketMetrics row as a compute() row of the export fields (for `row_present`):
    the columns, plus the values only `data` holds."""
    row: dict[str, Any] = {"resolver_id": m.resolver_id}
    for name in EXPORT_FIELDS:
        if name in DATA_DEFAULTS or name == "csat_value":
            continue
        value = getattr(m, _COLUMN_OF.get(name, name))
        row[name] = (value or None) if name in _BLANK_IS_NONE else value
    data = m.data or {}
    row |= _with_defaults(data, DATA_DEFAULTS)
    row["csat_value"] = data["csat_value"] if "csat_value" in data else csat_value_of(m.csat_value, m.csat_score)
    return row


def stored_segment(seg: dict[str, Any]) -> dict[str, Any]:
    """A stored TicketSegment (`.values()` dict) with its `data` lists merged in (for `segment_present`)."""
    data = seg.pop("data", None)
    return seg | _with_defaults(data, SEGMENT_DATA_DEFAULTS)


def iso_z(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _num(value: Any) -> Any:
    """Whole seconds as ints (2550, not 2550.0); fractions kept."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def row_present(row: dict[str, Any], *, emails: dict[int, str]) -> dict[str, Any]:
    """A compute()/TicketMetrics row in expected.json's per-ticket shape.

    Excluded tickets show only `excluded` and `excluded_reason`.
    `emails` maps user ids to emails (resolver, handle by agent).
    """
    if row["excluded"]:
        return {"excluded": True, "excluded_reason": row["excluded_reason"]}
    out: dict[str, Any] = {}
    for name in EXPORT_FIELDS:
        if name == "resolver":
            rid = row.get("resolver_id")
            value: Any = emails.get(rid, rid) if rid is not None else None
        elif name == "handle_by_agent_s":
            by_agent = row.get("handle_by_agent_s")
            value = (
                None
                if by_agent is None
                else {emails.get(int(k), str(k)): _num(v) for k, v in sorted(by_agent.items(), key=lambda kv: str(kv))}
            )
        else:
            value = row.get(name)
        if isinstance(value, datetime):
            value = iso_z(value)
        elif isinstance(value, list):
            value = [_num(v) for v in value]
        else:
            value = _num(value)
        out[name] = value
    return out


# One row per ticket x queue segment (`metrics_export --segments`,
# docs/metrics.md#18-queue-and-kind-attribution-across-escalations): where and when the segment
# ran, then the values attributed to it (NULL = not in this segment, or an empty window).
SEGMENT_EXPORT_FIELDS = (
    "segment",
    "queue",
    "kind",
    "started_at",
    "ended_at",
    "created_at",
    "frt_cal_s",
    "frt_bus_s",
    "first_reply_at",
    "first_replier",
    "next_reply_cal_s",
    "next_reply_bus_s",
    "first_resolved_at",
    "first_resolution_cal_s",
    "first_resolution_bus_s",
    "last_resolved_at",
    "last_resolution_here",
    "full_resolution_cal_s",
    "full_resolution_bus_s",
    "resolver",
    "requester_wait_cal_s",
    "requester_wait_bus_s",
    "agent_wait_cal_s",
    "agent_wait_bus_s",
    "on_hold_cal_s",
    "on_hold_bus_s",
    "time_in_progress_cal_s",
    "time_in_progress_bus_s",
    "queue_time_cal_s",
    "queue_time_bus_s",
    "agent_work_cal_s",
    "agent_work_bus_s",
    "solved_before_reopen_cal_s",
    "solved_before_reopen_bus_s",
    "handle_s",
    "handle_by_agent_s",
    "public_agent_replies",
    "reopens",
    "substantive_reopens",
    "fcr_eligible",
    "fcr",
    "csat_offered_at",
    "csat_value",
    "csat_satisfied",
    "csat_at",
    "sla_first_reply_outcome",
    "sla_first_reply_outcome_at",
    "sla_resolution_outcome",
    "sla_resolution_outcome_at",
    "sla_next_reply_achieved",
    "sla_next_reply_breached",
)
_SEGMENT_RENAMES = {"segment": "idx", "last_resolution_here": "last_res_here"}
_SEGMENT_PEOPLE = {"first_replier": "first_replier_id", "resolver": "resolver_id"}


def segment_present(seg: dict[str, Any], *, emails: dict[int, str], queues: dict[int, str]) -> dict[str, Any]:
    """A compute() segment or a stored TicketSegment (its values and `data`) in export shape."""
    out: dict[str, Any] = {}
    for name in SEGMENT_EXPORT_FIELDS:
        if name == "queue":
            queue_id = seg.get("queue_id")
            value: Any = queues.get(queue_id) if queue_id is not None else None
        elif name in _SEGMENT_PEOPLE:
            uid = seg.get(_SEGMENT_PEOPLE[name])
            value = emails.get(uid, uid) if uid is not None and (name != "resolver" or seg["last_res_here"]) else None
        elif name == "handle_by_agent_s":
            by_agent = seg.get(name)
            value = None if by_agent is None else {emails.get(int(k), str(k)): _num(v) for k, v in by_agent.items()}
        else:
            value = seg.get(_SEGMENT_RENAMES.get(name, name))
        if name == "last_resolved_at" and not seg.get("last_res_here"):
            value = None  # the ticket's last resolution is another segment's
        if isinstance(value, datetime):
            value = iso_z(value)
        elif isinstance(value, list):
            value = [_num(v) for v in value]
        else:
            value = _num(value)
        out[name] = value
    return out
