"""How the agent ticket page shows the timeline (display only: the event
log keeps every row).

Handle-time sessions (`work_session.recorded`) arrive every few minutes of
a visit (each pause or hidden tab ends one). The page folds an agent's
sessions that follow each other within VISIT_GAP into one line per visit,
"Alex worked on the ticket for 12 min", placed where the visit ended.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tickets.models import TicketEvent
from tickets.selectors import Timeline, TimelineEntry

# Sessions of one agent less than this apart are one visit.
VISIT_GAP = timedelta(minutes=15)


@dataclass
class Visit:
    """A folded run of one agent's work sessions."""

    agent: Any
    started_at: datetime
    ended_at: datetime
    seconds: float = 0.0
    sessions: int = 0
    event_ids: list[int] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return max(1, round(self.seconds / 60))


@dataclass(frozen=True)
class AgentTimelineEntry:
    at: datetime
    message: Any = None
    event: Any = None
    visit: Visit | None = None


@dataclass(frozen=True)
class AgentTimeline:
    entries: list[AgentTimelineEntry]
    people: dict[int, str]
    queues: dict[int, str]
    hidden_events: int  # events left out by the "messages only" filter
    last_event_id: int = 0  # Timeline.last_event_id


def _session_bounds(event: TicketEvent) -> tuple[datetime, datetime]:
    d = event.data or {}
    try:
        start = datetime.fromisoformat(d["started_at"])
        end = datetime.fromisoformat(d["ended_at"])
    except (KeyError, TypeError, ValueError):
        start = end = event.occurred_at
    return start, end


def timeline_for_agent(*, timeline: Timeline, messages_only: bool = False) -> AgentTimeline:
    """`timeline` with work sessions folded per agent per visit, or only
    its messages (`messages_only`)."""
    entries: list[TimelineEntry] = timeline.entries
    if messages_only:
        kept = [AgentTimelineEntry(at=e.at, message=e.message) for e in entries if e.message is not None]
        return AgentTimeline(
            kept,
            timeline.people,
            timeline.queues,
            hidden_events=len(entries) - len(kept),
            last_event_id=timeline.last_event_id,
        )
    open_visits: dict[Any, Visit] = {}
    visits: list[Visit] = []
    others: list[AgentTimelineEntry] = []
    for e in entries:
        ev = e.event
        if ev is None or ev.kind != TicketEvent.Kind.WORK_SESSION:
            others.append(AgentTimelineEntry(at=e.at, message=e.message, event=ev))
            continue
        start, end = _session_bounds(ev)
        key = ev.actor_id
        visit = open_visits.get(key)
        if visit is None or start - visit.ended_at > VISIT_GAP:
            visit = Visit(agent=ev.actor, started_at=start, ended_at=end)
            open_visits[key] = visit
            visits.append(visit)
        visit.ended_at = max(visit.ended_at, end)
        visit.seconds += max(0.0, (end - start).total_seconds())
        visit.sessions += 1
        visit.event_ids.append(ev.pk)
    folded = others + [AgentTimelineEntry(at=v.ended_at, visit=v) for v in visits]
    folded.sort(key=lambda x: x.at)  # stable: equal instants keep their order
    return AgentTimeline(
        folded, timeline.people, timeline.queues, hidden_events=0, last_event_id=timeline.last_event_id
    )
