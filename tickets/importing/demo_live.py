"""The demo's present: an open workload in every queue (new, open,
pending, on hold, SLA at risk and breached), macros, KB categories and
shared saved views, so an agent logging in sees a help desk at work.

The 180 days of imported history (demo.py) end mostly solved; these
tickets are written through the services with times just before now.
Idempotent: each live ticket has an `external_id` (LIVE-DEMO-...), each
macro, category and view a name; what exists is left alone (a KB
category added by someone else with the same slug is reused).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from tickets import services, sla_services
from tickets.importing import demo
from tickets.models import Macro, Queue, SavedView, Ticket

LIVE_PREFIX = "LIVE-DEMO-"  # not "DEMO-": those are the imported history


@dataclass(frozen=True)
class Live:
    """One live ticket: its state, age, and who works it (0 = the queue's
    first agent, Alex where Alex is a member; 1 = a colleague)."""

    status: str
    priority: str
    age: timedelta
    agent: int | None
    reply: str = ""  # "agent", "customer" or "note"


# Urgent and high targets run on calendar time (demo.demo_config), so the
# at-risk (due within 2 h) and breached ones are so at any hour of the day.
WORKLOAD = (
    Live("new", "normal", timedelta(minutes=25), None),
    Live("new", "low", timedelta(hours=3), None),
    Live("open", "normal", timedelta(hours=2), 0, "agent"),
    Live("open", "high", timedelta(minutes=50), 1, "customer"),
    Live("pending", "normal", timedelta(days=1), 0, "agent"),
    Live("on_hold", "normal", timedelta(days=2), 1, "note"),
    Live("open", "urgent", timedelta(minutes=30), 0),  # first reply due in 30 min: at risk
    Live("open", "high", timedelta(hours=3), 0),  # due in 1 h: at risk
    Live("new", "high", timedelta(hours=5), None),  # breached 1 h ago
    Live("open", "urgent", timedelta(hours=3), 1),  # breached 2 h ago
)
EXTRA_SUBJECTS = {
    "tech-support": ["Dashboard shows no data", "Cannot upload attachments", "Password reset mail never arrives"],
    "integrations": ["OAuth token expires early", "Rate limit hit on bulk import", "Webhook signature mismatch"],
    "customer-service": ["Cancel my subscription", "Transfer account ownership", "Change the company name"],
    "billing": ["VAT number missing on invoice", "Switch to annual billing", "Payment failed"],
}
NOTES = ["Waiting for engineering (bug filed).", "Asked finance to check the ledger.", "Vendor investigating."]

MACROS = (
    (
        "Ask for a screenshot",
        "Hi {{ requester.first_name }},\n\nCould you send a screenshot of what you see? That helps us a lot.\n\n"
        "{{ agent.first_name }}",
        {"status": "pending"},
    ),
    (
        "Solved: confirm and close",
        "Hi {{ requester.first_name }},\n\nThis should be fixed now. If anything is still wrong, just reply.\n\n"
        "{{ agent.first_name }}",
        {"status": "solved"},
    ),
    ("Escalate to engineering", "Reproduced; filed for engineering.", {"status": "on_hold", "add_tags": ["bug"]}),
    (
        "Refund issued",
        "Hi {{ requester.first_name }},\n\nWe have issued the refund; it shows on your statement in 5-10 days.",
        {"status": "solved", "add_tags": ["refund"]},
    ),
    ("Take it", "", {"assignee": "me", "status": "open"}),
)

SHARED_VIEWS = (
    ("Urgent and unsolved", {"view": "all", "status": "unsolved", "priority": "urgent"}, "sla"),
    ("Service: unassigned", {"view": "unassigned", "kind": "service"}, "sla"),
    ("VIP customers", {"view": "all", "status": "unsolved", "tags": "vip"}, "updated"),
)


def live_workload_seed(*, now: datetime | None = None) -> int:
    """Create the missing live tickets of every demo queue. Returns how
    many were created."""
    now = now or timezone.now()
    created = 0
    for slug in (*demo.SUPPORT_QUEUES, *demo.SERVICE_QUEUES):
        queue = Queue.objects.filter(slug=slug).first()
        if queue is None:
            continue
        agents = _agents(slug)
        for k, spec in enumerate(WORKLOAD):
            external_id = f"{LIVE_PREFIX}{slug}-{k}"
            if Ticket.objects.filter(external_id=external_id).exists():
                continue
            _live_ticket(queue=queue, spec=spec, k=k, agents=agents, external_id=external_id, now=now)
            created += 1
    return created


def _agents(slug: str) -> list[User]:
    emails = demo.AGENTS_BY_QUEUE[slug]
    found = {u.email: u for u in User.objects.filter(email__in=emails)}
    return [found[e] for e in emails if e in found]


def _requester(slug: str, k: int) -> User:
    if slug == "tech-support" and k == 2:
        email = "customer@example.com"  # the demo customer has a request in progress
    else:
        j = 1 + (sum(map(ord, slug)) + 7 * k) % (demo.customer_count(0) - 1)
        email = demo.customer_email(j)
    return User.objects.filter(email=email).first() or User.objects.get(email="customer@example.com")


@transaction.atomic
def _live_ticket(*, queue: Queue, spec: Live, k: int, agents: list[User], external_id: str, now: datetime) -> None:
    subjects = [*demo.SUBJECTS[queue.slug], *EXTRA_SUBJECTS[queue.slug]]
    requester = _requester(queue.slug, k)
    at = now - spec.age
    ticket = services.ticket_create(
        subject=subjects[k % len(subjects)],
        body="Hello, " + demo.CUSTOMER_MSGS[k % len(demo.CUSTOMER_MSGS)],
        queue=queue,
        requester=requester,
        actor=requester,
        channel=Ticket.Channel.EMAIL if k % 2 else Ticket.Channel.PORTAL,
        priority=spec.priority,
        occurred_at=at,
        external_id=external_id,
        tags=["vip"] if k == 3 else (),
    )
    agent = agents[min(spec.agent, len(agents) - 1)] if spec.agent is not None and agents else None
    # Routing may have auto-assigned it: the workload decides who has it.
    services.ticket_assign(ticket_id=ticket.pk, assignee=agent, actor=None, occurred_at=at + timedelta(minutes=1))
    step = at + timedelta(minutes=5)
    if spec.status != "new":
        services.ticket_transition(ticket_id=ticket.pk, target="open", actor=agent, occurred_at=step)
    if spec.reply == "agent" and agent is not None:
        services.message_post(
            ticket_id=ticket.pk, author=agent, body=demo.REPLIES[k % len(demo.REPLIES)], occurred_at=step
        )
    elif spec.reply == "customer" and agent is not None:
        services.message_post(ticket_id=ticket.pk, author=agent, body=demo.REPLIES[0], occurred_at=step)
        services.message_post(
            ticket_id=ticket.pk,
            author=requester,
            body="Here is the screenshot.",
            occurred_at=step + timedelta(minutes=9),
        )
    elif spec.reply == "note" and agent is not None:
        services.message_post(
            ticket_id=ticket.pk,
            author=agent,
            body=NOTES[k % len(NOTES)],
            visibility="internal",
            occurred_at=step,
        )
    if spec.status not in ("new", "open"):
        services.ticket_transition(
            ticket_id=ticket.pk, target=spec.status, actor=agent, occurred_at=step + timedelta(minutes=1)
        )
    sla_services.tickets_sla_refresh(ticket_ids=[ticket.pk], now=now)


def macros_seed(*, author: User | None) -> int:
    created = 0
    for name, body, actions in MACROS:
        _, made = Macro.objects.get_or_create(
            name=name, defaults={"body": body, "actions": actions, "created_by": author, "visibility": "public"}
        )
        created += made
    return created


def saved_views_seed(*, owner: User | None) -> int:
    if owner is None:
        return 0
    created = 0
    for name, filters, sort in SHARED_VIEWS:
        _, made = SavedView.objects.get_or_create(
            owner=owner, name=name, defaults={"filters": filters, "sort": sort, "is_shared": True}
        )
        created += made
    return created


def present_seed(*, now: datetime | None = None) -> dict[str, Any]:
    """Everything above; returns the counts created (the KB's demo
    categories are knowledge_base.demo's, added by seed_demo)."""
    manager = User.objects.filter(email="manager@example.com").first()
    return {
        "live tickets": live_workload_seed(now=now),
        "macros": macros_seed(author=manager),
        "shared views": saved_views_seed(owner=manager),
    }
