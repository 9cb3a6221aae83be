"""Deterministic demo data as import lines (used by seed_demo and bench/).

Ticket `i` depends only on (seed, i, anchor), so lines stream one at a time,
any N is a prefix of a larger N, and re-running yields identical lines
(idempotent through the import's digests). Every status move respects the
state machine; times never pass the anchor (later work stays open: backlog).
"""

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

DEMO_PASSWORD = "demo-pass-123"  # noqa: S105 (documented demo password)
DEMO_LOGINS = (
    ("customer@example.com", "Casey Customer", "customer"),
    ("agent@example.com", "Alex Agent", "agent"),
    ("manager@example.com", "Morgan Manager", "manager"),
    ("admin@example.com", "Ada Admin", "admin"),
)
HISTORY_DAYS = 180

SUPPORT_QUEUES = ("tech-support", "integrations")
SERVICE_QUEUES = ("customer-service", "billing")
QUEUE_KIND = {**dict.fromkeys(SUPPORT_QUEUES, "support"), **dict.fromkeys(SERVICE_QUEUES, "service")}
AGENTS_BY_QUEUE = {
    "tech-support": ["agent@example.com", "tara@acme.test", "sam@acme.test"],
    "integrations": ["ivan@acme.test", "sam@acme.test"],
    "customer-service": ["agent@example.com", "cleo@acme.test", "omar@acme.test"],
    "billing": ["bea@acme.test", "omar@acme.test"],
}
SUBJECTS = {
    "tech-support": ["CSV export stops at 50%", "App crashes on login", "Sync is very slow", "Error 500 on reports"],
    "integrations": ["Webhook not firing", "API returns 401", "Zapier integration broken", "SSO setup help"],
    "customer-service": ["Change my plan", "Update shipping address", "Return an item", "Add a team member"],
    "billing": ["Invoice is wrong", "Refund request", "Charged twice", "Update card details"],
}
TAGS = ["urgent-customer", "vip", "bug", "how-to", "refund", "invoice", "onboarding", "mobile", "api", "export"]
REPLIES = [
    "Thanks for reaching out! Could you send a screenshot of the error?",
    "I have looked into this and applied a fix on our side; please try again.",
    "Here is a link to the guide that explains the steps.",
    "I have escalated this to the right team; we will update you soon.",
    "Your request is done. Anything else I can help with?",
]
CUSTOMER_MSGS = ["Still not working, sorry.", "Here is the screenshot.", "Thanks, that fixed it!", "Any update?"]
NOTES = ["Reproduced on staging.", "Customer is on the legacy plan.", "Waiting for engineering.", "Checked the logs."]


def demo_config(agent_emails: list[str] | None = None) -> dict[str, Any]:
    """The configuration document seed_demo applies."""
    hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    agents: dict[str, list[str]] = {}
    for queue, emails in AGENTS_BY_QUEUE.items():
        for e in emails:
            agents.setdefault(e, []).append(queue)
    return {
        "calendars": [
            {"name": "business-hours", "timezone": "America/New_York", "hours": hours, "holidays": [], "overrides": []}
        ],
        "sla_policies": [
            {
                "name": "standard",
                "pause_statuses": ["pending"],
                "targets": {
                    # Urgent and high run around the clock (the live workload's
                    # at-risk and breached tickets are so at any hour).
                    "urgent": {
                        "first_response": 3600,
                        "next_reply": 7200,
                        "resolution": 28800,
                        "business_hours": False,
                    },
                    "high": {
                        "first_response": 14400,
                        "next_reply": 14400,
                        "resolution": 86400,
                        "business_hours": False,
                    },
                    "normal": {
                        "first_response": 28800,
                        "next_reply": 28800,
                        "resolution": 172800,
                        "business_hours": True,
                    },
                    "low": {"first_response": 86400, "next_reply": 86400, "resolution": 432000, "business_hours": True},
                },
            }
        ],
        "queues": [
            {
                "slug": slug,
                "name": slug.replace("-", " ").capitalize(),
                "kind": QUEUE_KIND[slug],
                "calendar": "business-hours",
                "sla_policy": "standard",
                "auto_assign": "least_loaded" if QUEUE_KIND[slug] == "service" else "round_robin",
            }
            for slug in (*SUPPORT_QUEUES, *SERVICE_QUEUES)
        ],
        "request_types": [
            {"slug": "bug", "name": "Something is broken", "queue": "tech-support"},
            {"slug": "integration", "name": "API and integrations", "queue": "integrations"},
            {"slug": "account", "name": "Account or order change", "queue": "customer-service"},
            {"slug": "billing", "name": "Billing question", "queue": "billing"},
        ],
        "agents": [
            {
                "email": e,
                "name": e.split("@")[0].capitalize() if e != "agent@example.com" else "Alex Agent",
                "role": "agent",
                "queues": sorted(qs),
                "capacity": 25,
            }
            for e, qs in sorted(agents.items())
        ]
        + [
            {
                "email": "manager@example.com",
                "name": "Morgan Manager",
                "role": "manager",
                "queues": sorted(AGENTS_BY_QUEUE),
                "capacity": None,
            }
        ],
        "reporting": {"timezone": "America/New_York"},
    }


def customer_count(n_tickets: int) -> int:
    return 20 + n_tickets // 5


def org_count(n_tickets: int) -> int:
    return max(4, customer_count(n_tickets) // 10)


def customer_email(j: int) -> str:
    return "customer@example.com" if j == 0 else f"customer{j}@org{j % 1000}.example"


def _iso(t: datetime) -> str:
    return t.isoformat()


def demo_line(i: int, *, seed: int, anchor: datetime) -> dict[str, Any]:
    """The import line of demo ticket `i` (0-based)."""
    rng = random.Random(seed * 1_000_003 + i)  # noqa: S311 (demo data, not security)
    r = rng.random
    queue = rng.choice((*SUPPORT_QUEUES, *SERVICE_QUEUES, "customer-service", "tech-support"))
    initial_queue = queue
    created = anchor - timedelta(seconds=rng.randint(3600, HISTORY_DAYS * 86400))
    # Depends on i only (not on N): a larger demo keeps the same first tickets.
    requester = customer_email(0 if i % 25 == 0 else rng.randrange(1, customer_count(i + 1)))
    events: list[dict[str, Any]] = []
    t = created
    status = "new"
    tags: list[str] = rng.sample(TAGS, rng.randint(0, 2))
    agent = rng.choice(AGENTS_BY_QUEUE[queue])

    def step(lo: int, hi: int) -> bool:
        nonlocal t
        t = t + timedelta(seconds=rng.randint(lo, hi))
        return t < anchor

    def ev(**kw: Any) -> None:
        kw["at"] = _iso(t)
        events.append(kw)

    def move(to: str) -> None:
        nonlocal status
        if to != status:
            ev(type="status", to=to)
            status = to

    def reply(body: str | None = None, who: str | None = None) -> None:
        ev(
            type="message",
            author={"email": who or agent, "role": "agent"},
            visibility="public",
            body=body or rng.choice(REPLIES),
        )

    def work(seconds: int) -> None:
        start = t - timedelta(seconds=seconds)
        ev(type="work_session", agent=agent, started_at=_iso(start), ended_at=_iso(t))

    if r() < 0.3:
        ev(
            type="message",
            author={"role": "system"},
            visibility="public",
            body="We received your request and will get back to you soon.",
            automated=True,
        )
    if step(300, 8 * 3600):
        ev(type="assign", to=agent)
        move("open")
        if r() < 0.3 and step(60, 1800):
            ev(type="message", author={"email": agent, "role": "agent"}, visibility="internal", body=rng.choice(NOTES))
        if r() < 0.1 and step(600, 7200):
            other = rng.choice(SUPPORT_QUEUES if QUEUE_KIND[queue] == "service" else SERVICE_QUEUES)
            ev(type="queue", to=other, reason="Needs the other team")
            queue = other
            agent = rng.choice(AGENTS_BY_QUEUE[queue])
            ev(type="assign", to=agent)
            if r() < 0.5:
                move("on_hold")
                if step(3600, 86400):
                    move("open")
        rounds = 1 + (r() < 0.4) + (r() < 0.2)
        for k in range(rounds):
            if not step(600, 36 * 3600):
                break
            reply()
            work(rng.randint(120, 1800))
            if k < rounds - 1:
                move("pending")
                if not step(1800, 48 * 3600):
                    break
                ev(
                    type="message",
                    author={"email": requester, "role": "customer"},
                    visibility="public",
                    body=rng.choice(CUSTOMER_MSGS),
                )
                move("open")
        else:
            if r() < 0.1:
                ev(type="priority", to=rng.choice(("high", "urgent")))
            if step(60, 3600):
                move("solved")
                if r() < 0.6 and step(3600, 86400):
                    ev(type="survey_offered", survey="csat")
                    if r() < 0.5 and step(600, 86400):
                        ev(
                            type="csat",
                            scale="1-5",
                            value=rng.choices((1, 2, 3, 4, 5), (1, 1, 2, 5, 10))[0],
                            comment=rng.choice(("", "", "Quick and helpful", "Took too long")),
                        )
                if r() < 0.08 and step(3600, 72 * 3600):
                    ev(
                        type="message",
                        author={"email": requester, "role": "customer"},
                        visibility="public",
                        body="It broke again.",
                    )
                    move("open")
                    if step(1800, 24 * 3600):
                        reply()
                        move("solved")
                if status == "solved" and step(4 * 86400, 4 * 86400 + 60):
                    move("closed")
        if r() < 0.15 and step(60, 600):
            ev(type="tag", add=[rng.choice(TAGS)], remove=[])
    return {
        "external_id": f"DEMO-{i + 1:07d}",
        "queue": initial_queue,
        "subject": rng.choice(SUBJECTS[initial_queue]),
        "priority": rng.choices(("low", "normal", "high", "urgent"), (2, 10, 3, 1))[0],
        "channel": rng.choice(("portal", "email", "email", "api", "chat")),
        "tags": tags,
        "requester": {"email": requester},
        "created_at": _iso(created),
        "created_by": {"email": requester, "role": "customer"},
        "description": "Hello, I need help with this. " + rng.choice(CUSTOMER_MSGS),
        "events": events,
    }


def demo_lines(n: int, *, seed: int, anchor: datetime, start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, line) for demo tickets start..n-1, streamed."""
    for i in range(start, n):
        yield i + 1, demo_line(i, seed=seed, anchor=anchor)


def default_anchor() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
