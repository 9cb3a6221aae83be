"""Sent mail is byte-identical to the ORM delivery's (docs/delivery.md,
"Delivery written out").

A seeded mix of tickets (three languages, support and service queues, with
and without the queue's own address, e-mail tickets threading on the
customer's Message-ID, portal and API ones on the first notification, CCs,
attachments, assignments, customer replies, solved mails with CSAT and CES
links, rows rendered in the event's transaction and at send time, a
ticketless account e-mail) is delivered row by row; every message's bytes
(headers, both bodies, MIME structure), every row's stored state and the
survey offers recorded are compared with `tests/fixtures/delivery_mails.json`,
which the previous delivery code (main before the change, ORM reads) wrote.

Rewrite the file only for a deliberate change of the mail (and say so):
DELIVERY_MAILS_WRITE=1 pytest tests/mail/test_delivery_golden.py
"""

import json
import os
import random
import secrets
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core import mail as django_mail

from accounts.models import User
from mail import services
from mail.models import Notification
from tickets import services as ticket_services
from tickets.attachments import IncomingFile
from tickets.models import Queue, TicketEvent

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "delivery_mails.json"
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
LANGS = ["", "en", "de", "es"]


class _Tokens:
    """Reply tokens from a counter, numbered from the first delivery: the
    same tokens in both runs, whatever else in the process drew tokens."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.numbers = count(1)
        monkeypatch.setattr(secrets, "token_hex", lambda n=32: f"{next(self.numbers):0{2 * n}x}")

    def restart(self) -> None:
        self.numbers = count(1)


def _users(rng: random.Random) -> tuple[list[User], list[User]]:
    agents = [
        User.objects.create(
            email=f"agent{i}@acme.test", username=f"agent{i}@acme.test", name=name, role=User.Role.AGENT, language=lang
        )
        for i, (name, lang) in enumerate([("Ada Agent", "en"), ("Bernd Berater", "de"), ("Carla", "es")])
    ]
    customers = [
        User.objects.create(
            email=f"c{i}@customer.example",
            username=f"c{i}@customer.example",
            name=rng.choice(["Zoë Kunde", "Ann Smith", "José Pérez", "", "Li"]),
            role=User.Role.CUSTOMER,
            language=rng.choice(LANGS),
        )
        for i in range(7)
    ]
    return agents, customers


def _queues() -> list[Queue]:
    return [
        Queue.objects.create(
            slug="gold-support",
            name="Support",
            kind="support",
            inbound_email="help@acme.test",
            send_acknowledgement=True,
        ),
        Queue.objects.create(slug="gold-billing", name="Billing", kind="service", send_acknowledgement=True),
        Queue.objects.create(slug="gold-quiet", name="Quiet", kind="support", send_acknowledgement=False),
    ]


def _scenario(settings: Any, rng: random.Random) -> None:
    agents, customers = _users(rng)
    queues = _queues()
    for t in range(9):
        settings.HELPDESK_NOTIFY_RENDER = "event" if t % 4 == 3 else "send"
        queue = queues[t % 3]
        requester = customers[t % len(customers)]
        channel = ["email", "portal", "api"][t % 3]
        ccs = rng.sample([c for c in customers if c != requester], k=rng.choice([0, 1, 2]))
        ticket = ticket_services.ticket_create(
            subject=f"Case {t}: {rng.choice(['Printer jam', 'Rechnung falsch', 'No puedo entrar', 'Ünïcödé ✓'])}",
            body=f"Description {t} with **markdown** and a [link](https://example.com/{t}).",
            queue=queue,
            requester=requester,
            actor=requester,
            channel=channel,
            ccs=ccs,
            email_message_id=f"<orig-{t}@customer.example>" if channel == "email" else "",
        )
        agent, other = agents[t % 2], agents[(t + 1) % 3]
        files = [
            IncomingFile(filename=f"log{i}.txt", content=b"a log line\n" * (i + 1), content_type="text/plain")
            for i in range(rng.choice([0, 1, 2]))
        ]
        ticket_services.message_post(
            ticket_id=ticket.pk, author=agent, body=f"Answer {t}: try *this*.", attachments=files
        )
        ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="internal", visibility="internal")
        if rng.random() < 0.7:
            ticket_services.ticket_assign(ticket_id=ticket.pk, assignee=other, actor=agent)
            ticket_services.message_post(ticket_id=ticket.pk, author=requester, body=f"Customer says {t}.")
        if rng.random() < 0.6:
            ticket_services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    from mail.services.outbox import notification_enqueue_account

    notification_enqueue_account(
        recipient=customers[1], to_email="new@customer.example", subject="Confirm your address", body="Click.\n"
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _snapshot() -> dict[str, Any]:
    mails = []
    for i, email in enumerate(django_mail.outbox):
        random.seed(i)  # the MIME boundary
        mails.append(email.message().as_bytes().decode("utf-8", "surrogateescape"))
    fields = [
        "id", "ticket_id", "recipient_id", "to_email", "kind", "subject", "body", "body_html", "status",
        "attempts", "last_error", "attempt_started_at", "sent_at", "message_id", "render_pending",
    ]  # fmt: skip
    rows = [
        dict(zip(fields, map(_iso, r), strict=True)) for r in Notification.objects.order_by("id").values_list(*fields)
    ]
    offers = list(
        TicketEvent.objects.filter(kind=TicketEvent.Kind.SURVEY_OFFERED)
        .order_by("id")
        .values_list("ticket_id", "actor_id", "data")
    )
    return json.loads(json.dumps({"mails": mails, "rows": rows, "offers": offers}, default=_iso))


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_delivered_mail_is_byte_identical_to_the_orm_delivery(mail_settings, monkeypatch):
    tokens = _Tokens(monkeypatch)
    mail_settings.HELPDESK_MAIL_DOMAIN = "acme.test"
    # The survey links are signed: the key the golden file was written with,
    # whatever DJANGO_SECRET_KEY this run has (CI's differs).
    mail_settings.SECRET_KEY = "x"
    with time_machine.travel(AT, tick=False):
        _scenario(mail_settings, random.Random(2212))
        pending = list(Notification.objects.filter(status="pending").order_by("id").values_list("pk", flat=True))
        assert len(pending) >= 40
        tokens.restart()
        for pk in pending:
            assert services.notification_deliver(notification_id=pk) == "sent"
        assert services.notification_deliver(notification_id=pending[0]) == "sent"  # once
        got = _snapshot()
    if os.environ.get("DELIVERY_MAILS_WRITE"):
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert len(got["mails"]) == len(expected["mails"]) == len(pending)
    for mine, theirs in zip(got["mails"], expected["mails"], strict=True):
        assert mine == theirs
    assert got["rows"] == expected["rows"]
    assert got["offers"] == expected["offers"]
