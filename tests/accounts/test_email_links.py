"""Every link in every e-mail the help desk sends starts with
HELPDESK_BASE_URL: account mails (sign-up, claim, magic link, reset,
e-mail change, password change), every ticket notification kind and the
weekly report. Each kind is produced by the real code path and read back
from the mail backend."""

from datetime import date

import pytest
from django.db import transaction

from accounts.models import User
from mail import services as mail_services
from mail.models import Notification
from tests.accounts.conftest import links_in, outbox
from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, ticket_make
from tickets import services as ticket_services
from tickets.events import event_record
from tickets.models import TicketEvent

pytestmark = pytest.mark.django_db

BASE = "https://help.example.org:8443"


@pytest.fixture
def mail_base_url(settings):
    settings.HELPDESK_BASE_URL = BASE
    settings.DEFAULT_FROM_EMAIL = "helpdesk@example.org"
    return BASE


def _account_mails(client) -> None:
    CustomerFactory(email="known@example.com")
    unclaimed = User.objects.create_user(email="wrote@example.com", password=None, is_active=False)
    assert unclaimed.is_claimable
    client.post("/accounts/magic-link/", {"email": "known@example.com"})
    client.post("/accounts/magic-link/", {"email": "wrote@example.com"})
    client.post("/accounts/password-reset/", {"email": "known@example.com"})
    client.post("/accounts/password-reset/", {"email": "wrote@example.com"})
    signup = {"name": "N", "password1": "long-pass-123", "password2": "long-pass-123"}
    client.post("/accounts/signup/", {**signup, "email": "new@example.com"})
    client.post("/accounts/signup/", {**signup, "email": "known@example.com"}, REMOTE_ADDR="10.3.0.1")
    me = CustomerFactory(email="me@example.com")
    client.force_login(me)
    client.post(
        "/accounts/profile/password/",
        {"old_password": "pw-Secret-123", "new_password1": "brand-new-1234", "new_password2": "brand-new-1234"},
    )
    client.post("/accounts/profile/email/", {"email": "me2@example.com"})
    confirm = next(m for m in outbox() if m.to == ["me2@example.com"])
    [link] = [u for u in links_in(confirm) if "/confirm/" in u]
    client.post(link[len(BASE) :])  # the notice to the old address


def _notification_mails(queue) -> None:
    queue.send_acknowledgement = True  # test queues are created with it off (tests/factories.py)
    queue.save(update_fields=["send_acknowledgement"])
    agent, other = AgentFactory(), AgentFactory()
    queue.members.add(agent, other)
    customer = CustomerFactory(email="cust@example.com")
    ManagerFactory(email="boss@example.com")
    with transaction.atomic():
        # An e-mailed request (acknowledgement) and a portal ticket that
        # goes through a reply, a customer reply, an assignment, an SLA
        # warning and solving.
        mail_services.inbound_receive(
            b"From: Ann <ann@customer.example>\r\nTo: support@example.org\r\nSubject: Hi\r\n"
            b"Message-ID: <a1@customer.example>\r\n\r\nBody\r\n",
            source="http",
        )
        ticket = ticket_make(queue=queue, requester=customer, subject="Links")
        ticket_services.ticket_assign(ticket_id=ticket.pk, assignee=other, actor=agent)
        ticket_services.message_post(ticket_id=ticket.pk, author=agent, body="Try this")
        ticket_services.message_post(ticket_id=ticket.pk, author=customer, body="Still broken")
        ticket.refresh_from_db()
        event_record(ticket, TicketEvent.Kind.SLA_WARNING, data={"target": "next_reply"})
        ticket_services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    from metrics.report_tasks import weekly_report_send

    weekly_report_send(today=date.today())
    from surveys.nps import nps_config_save, nps_send_due

    nps_config_save({"enabled": True})
    assert nps_send_due() >= 1
    for pk in Notification.objects.values_list("pk", flat=True):
        mail_services.notification_deliver(notification_id=pk)


def test_every_link_in_every_email_uses_the_base_url(client, settings, mail_base_url, queue):
    settings.HELPDESK_MAIL_DEFAULT_QUEUE = queue.slug
    settings.HELPDESK_INBOUND_PROCESS = "inline"
    _account_mails(client)
    _notification_mails(queue)

    kinds = set(Notification.objects.values_list("kind", flat=True))
    assert kinds == set(Notification.Kind.values), "a notification kind is not covered"
    subjects = {m.subject for m in outbox()}
    for subject in (
        "Your sign-in link",
        "Set your password",
        "Confirm your e-mail address",
        "You already have an account",
        "Your password was changed",
        "Confirm your new e-mail address",
        "Your e-mail address was changed",
    ):
        assert subject in subjects, subject

    checked = 0
    for message in outbox():
        for url in links_in(message):
            assert url.startswith(BASE + "/"), (message.subject, url)
            checked += 1
    assert checked >= 20
