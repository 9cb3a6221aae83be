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


class _DemoTicket:
    """One demo ticket's history being written: the clock `t`, status, agent, events."""

    def __init__(self, rng: random.Random, created: datetime, anchor: datetime, queue: str, requester: str) -> None:
        self.rng = rng
        self.t = created
        self.anchor = anchor
        self.queue = queue
        self.requester = requester
        self.status = "new"
        self.events: list[dict[str, Any]] = []
        self.agent = ""

    def step(self, lo: int, hi: int) -> bool:
        """Advance the clock; False once it passes the anchor (the history stops)."""
        self.t = self.t + timedelta(seconds=self.rng.randint(lo, hi))
        return self.t < self.anchor

    def ev(self, **kw: Any) -> None:
        kw["at"] = _iso(self.t)
        self.events.append(kw)

    def move(self, to: str) -> None:
        if to != self.status:
            self.ev(type="status", to=to)
            self.status = to

    def reply(self, body: str | None = None, who: str | None = None) -> None:
        self.ev(
            type="message",
            author={"email": who or self.agent, "role": "agent"},
            visibility="public",
            body=body or self.rng.choice(REPLIES),
        )

    def customer(self, body: str) -> None:
        self.ev(type="message", author={"email": self.requester, "role": "customer"}, visibility="public", body=body)

    def work(self, seconds: int) -> None:
        start = self.t - timedelta(seconds=seconds)
        self.ev(type="work_session", agent=self.agent, started_at=_iso(start), ended_at=_iso(self.t))


def _demo_triage(d: _DemoTicket) -> None:
    """Assigned and opened; maybe an internal note; maybe moved to the other team."""
    r, rng = d.rng.random, d.rng
    d.ev(type="assign", to=d.agent)
    d.move("open")
    if r() < 0.3 and d.step(60, 1800):
        d.ev(type="message", author={"email": d.agent, "role": "agent"}, visibility="internal", body=rng.choice(NOTES))
    if r() < 0.1 and d.step(600, 7200):
        other = rng.choice(SUPPORT_QUEUES if QUEUE_KIND[d.queue] == "service" else SERVICE_QUEUES)
        d.ev(type="queue", to=other, reason="Needs the other team")
        d.queue = other
        d.agent = rng.choice(AGENTS_BY_QUEUE[d.queue])
        d.ev(type="assign", to=d.agent)
        if r() < 0.5:
            d.move("on_hold")
            if d.step(3600, 86400):
                d.move("open")


def _demo_rounds(d: _DemoTicket) -> bool:
    """Reply rounds (the customer answers between them); False if the history stopped."""
    r, rng = d.rng.random, d.rng
    rounds = 1 + (r() < 0.4) + (r() < 0.2)
    for k in range(rounds):
        if not d.step(600, 36 * 3600):
            return False
        d.reply()
        d.work(rng.randint(120, 1800))
        if k < rounds - 1:
            d.move("pending")
            if not d.step(1800, 48 * 3600):
                return False
            d.customer(rng.choice(CUSTOMER_MSGS))
            d.move("open")
    return True


def _demo_resolve(d: _DemoTicket) -> None:
    """Maybe escalated; solved, rated, sometimes reopened, closed after four days."""
    r, rng = d.rng.random, d.rng
    if r() < 0.1:
        d.ev(type="priority", to=rng.choice(("high", "urgent")))
    if not d.step(60, 3600):
        return
    d.move("solved")
    if r() < 0.6 and d.step(3600, 86400):
        # The solved e-mail offers CSAT, and CES on support queues (docs/surveys.md).
        support = QUEUE_KIND[d.queue] == "support"
        d.ev(type="survey_offered", survey="csat")
        if support:
            d.ev(type="survey_offered", survey="ces")
        if r() < 0.5 and d.step(600, 86400):
            d.ev(
                type="csat",
                scale="1-5",
                value=rng.choices((1, 2, 3, 4, 5), (1, 1, 2, 5, 10))[0],
                comment=rng.choice(("", "", "Quick and helpful", "Took too long")),
            )
            _demo_effort_and_nps(d, support=support)
    if r() < 0.08 and d.step(3600, 72 * 3600):
        d.customer("It broke again.")
        d.move("open")
        if d.step(1800, 24 * 3600):
            d.reply()
            d.move("solved")
    if d.status == "solved" and d.step(4 * 86400, 4 * 86400 + 60):
        d.move("closed")


def _demo_effort_and_nps(d: _DemoTicket, *, support: bool) -> None:
    """With the CSAT answer: often a CES answer (support queues), sometimes an
    NPS answer, so the dashboard's CES and NPS tiles have demo data. A
    second generator, seeded from the ticket's own history, draws them: the
    main generator's draws (every other demo value) stay as they were."""
    rng = random.Random(f"{d.requester}|{d.t.isoformat()}")  # noqa: S311 (demo data, not security)
    if support and rng.random() < 0.8:
        d.ev(type="ces", scale="1-7", value=rng.choices(range(1, 8), (1, 1, 2, 3, 5, 8, 6))[0])
    if rng.random() < 0.3:
        value = rng.choices(range(11), (1, 1, 1, 1, 2, 2, 3, 6, 8, 10, 8))[0]
        d.ev(type="nps", scale="0-10", value=value, comment=rng.choice(("", "", "", "Reliable product")))


def demo_line(i: int, *, seed: int, anchor: datetime) -> dict[str, Any]:
    """The import line of demo ticket `i` (0-based). The order of random draws is the format:
    changing it changes every demo ticket."""
    rng = random.Random(seed * 1_000_003 + i)  # noqa: S311 (demo data, not security)
    r = rng.random
    queue = rng.choice((*SUPPORT_QUEUES, *SERVICE_QUEUES, "customer-service", "tech-support"))
    initial_queue = queue
    created = anchor - timedelta(seconds=rng.randint(3600, HISTORY_DAYS * 86400))
    # Depends on i only (not on N): a larger demo keeps the same first tickets.
    requester = customer_email(0 if i % 25 == 0 else rng.randrange(1, customer_count(i + 1)))
    d = _DemoTicket(rng, created, anchor, queue, requester)
    tags: list[str] = rng.sample(TAGS, rng.randint(0, 2))
    d.agent = rng.choice(AGENTS_BY_QUEUE[queue])
    if r() < 0.3:
        d.ev(
            type="message",
            author={"role": "system"},
            visibility="public",
            body="We received your request and will get back to you soon.",
            automated=True,
        )
    if d.step(300, 8 * 3600):
        _demo_triage(d)
        if _demo_rounds(d):
            _demo_resolve(d)
        if r() < 0.15 and d.step(60, 600):
            d.ev(type="tag", add=[rng.choice(TAGS)], remove=[])
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
        "events": d.events,
    }


def demo_lines(n: int, *, seed: int, anchor: datetime, start: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, line) for demo tickets start..n-1, streamed."""
    for i in range(start, n):
        yield i + 1, demo_line(i, seed=seed, anchor=anchor)


def default_anchor() -> datetime:
    now = datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)
