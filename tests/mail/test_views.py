"""HTTP: the intake endpoint and the CSAT page."""

import time

import pytest
from django.core import signing

from mail import services
from mail.models import InboundMessage
from tests.factories import ticket_make
from tests.mail.conftest import eml, mime
from tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db

URL = "/mail/inbound/"


def post(client, raw, *, secret="s3cret-inbound", ctype="message/rfc822"):  # noqa: S107
    headers = {"HTTP_X_HELPDESK_INBOUND_SECRET": secret} if secret is not None else {}
    return client.post(URL, data=raw, content_type=ctype, **headers)


def test_endpoint_creates_ticket_and_answers_202(client, mail_settings):
    response = post(client, eml("plain.eml"))
    assert response.status_code == 202
    body = response.json()
    inbound = InboundMessage.objects.get(pk=body["id"])
    assert body == {"id": inbound.pk, "status": "processed", "duplicate": False}
    assert Ticket.objects.get(pk=inbound.ticket_id).subject == "Printer does not print"
    again = post(client, eml("plain.eml"))
    assert again.status_code == 202 and again.json()["duplicate"] is True


@pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret-inbound-x"])
def test_endpoint_rejects_bad_secret(client, mail_settings, secret):
    response = post(client, eml("plain.eml"), secret=secret)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert not InboundMessage.objects.exists()


def test_endpoint_closed_when_no_secret_configured(client, mail_settings, settings):
    settings.HELPDESK_INBOUND_SECRET = ""
    assert post(client, eml("plain.eml"), secret="").status_code == 403


def test_bearer_token_also_works(client, mail_settings):
    response = client.post(
        URL, data=eml("plain.eml"), content_type="message/rfc822", HTTP_AUTHORIZATION="Bearer s3cret-inbound"
    )
    assert response.status_code == 202


def test_endpoint_limits(client, mail_settings, settings):
    settings.HELPDESK_INBOUND_MAX_BYTES = 1000
    big = mime(body="x" * 2000)
    response = post(client, big)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert post(client, eml("plain.eml"), ctype="application/json").status_code == 415
    assert post(client, b"", ctype="message/rfc822").status_code == 400
    assert client.get(URL).status_code == 405


def test_endpoint_accepts_more_than_the_form_upload_limit(client, mail_settings, settings):
    """6 MB passes although DATA_UPLOAD_MAX_MEMORY_SIZE is 5 MB (streamed read)."""
    raw = mime(attachments=[("big.bin", b"\0" * 6 * 1024 * 1024, "application/octet-stream")])
    assert post(client, raw, ctype="application/octet-stream").status_code == 202


def test_endpoint_stores_garbage_and_quarantines(client, mail_settings):
    response = post(client, eml("garbage.eml"))
    assert response.status_code == 202
    assert response.json()["status"] == "quarantined"


def test_endpoint_task_mode_without_broker_still_202(client, mail_settings, settings):
    """Redis down: the raw row is stored and answered 202; processing waits."""
    from helpdesk.celery import app

    settings.HELPDESK_INBOUND_PROCESS = "task"
    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = "redis://127.0.0.1:1/0", False
    try:
        response = post(client, eml("plain.eml"))
    finally:
        app.conf.broker_url, app.conf.task_always_eager = old
    assert response.status_code == 202
    inbound = InboundMessage.objects.get(pk=response.json()["id"])
    assert inbound.status == "received"
    # When the broker is back, the sweeper's service processes it.
    InboundMessage.objects.filter(pk=inbound.pk).update(received_at=inbound.received_at.replace(year=2000))
    assert services.inbound_pending_ids() == [inbound.pk]
    assert services.inbound_process(inbound_id=inbound.pk).status == "processed"


# --- CSAT ----------------------------------------------------------------------


@pytest.fixture
def solved_ticket(mail_settings, queue, customer, agent):
    from tickets import services as ticket_services

    ticket = ticket_make(queue=queue, requester=customer)
    ticket_services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    return ticket


def csat_events(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind="csat.responded").order_by("id").values_list("data", flat=True)
    )


def test_csat_link_get_records_nothing_post_records_once(client, solved_ticket, customer):
    """Issue 15: a GET (a mail scanner's prefetch) records nothing; the page
    has the link's rating chosen and one POST records it. Posting the same
    rating again writes nothing new."""
    token = services.csat_token_make(ticket_id=solved_ticket.pk, rating=5)
    response = client.get(f"/mail/csat/{token}/")
    assert response.status_code == 200
    assert b'value="5" required id="id_rating_0" checked' in response.content
    client.get(f"/mail/csat/{token}/")
    assert csat_events(solved_ticket) == []
    response = client.post(f"/mail/csat/{token}/", {"rating": "5"})
    assert response.status_code == 200
    assert b"rating of <strong>5</strong>" in response.content
    assert [e["value"] for e in csat_events(solved_ticket)] == [5]
    event = TicketEvent.objects.get(ticket=solved_ticket, kind="csat.responded")
    assert event.actor == customer and event.actor_role == "customer"
    client.post(f"/mail/csat/{token}/", {"rating": "5"})
    assert len(csat_events(solved_ticket)) == 1


def test_csat_later_rating_replaces_with_comment(client, solved_ticket):
    token5 = services.csat_token_make(ticket_id=solved_ticket.pk, rating=5)
    token2 = services.csat_token_make(ticket_id=solved_ticket.pk, rating=2)
    client.post(f"/mail/csat/{token5}/", {"rating": "5"})
    client.post(f"/mail/csat/{token2}/", {"rating": "2"})
    response = client.post(f"/mail/csat/{token2}/", {"rating": "3", "comment": "Slow but OK"})
    assert response.status_code == 200
    assert [(e["value"], e["comment"]) for e in csat_events(solved_ticket)] == [(5, ""), (2, ""), (3, "Slow but OK")]
    bad = client.post(f"/mail/csat/{token2}/", {"rating": "9"})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        signing.dumps({"t": 1, "r": 5}, salt="another.salt"),
        "x" * 500,
    ],
)
def test_csat_invalid_links_are_400(client, solved_ticket, token):
    response = client.get(f"/mail/csat/{token}/")
    assert response.status_code == 400
    assert b"This rating link is not valid" in response.content
    assert csat_events(solved_ticket) == []


def test_csat_tampered_rating_is_400(client, solved_ticket):
    forged = signing.dumps({"t": solved_ticket.pk, "r": 9}, salt="mail.csat.v1", compress=True)
    assert client.get(f"/mail/csat/{forged}/").status_code == 400
    other = services.csat_token_make(ticket_id=solved_ticket.pk, rating=4)
    swapped = other.replace(other.split(":")[0], signing.dumps({"t": solved_ticket.pk + 1, "r": 4}).split(":")[0])
    assert client.get(f"/mail/csat/{swapped}/").status_code == 400
    assert csat_events(solved_ticket) == []


def test_csat_expired_link_is_400(client, solved_ticket, settings):
    token = services.csat_token_make(ticket_id=solved_ticket.pk, rating=5)
    settings.HELPDESK_CSAT_MAX_AGE_DAYS = 0
    time.sleep(1.1)
    response = client.get(f"/mail/csat/{token}/")
    assert response.status_code == 400
    assert b"This rating link has expired" in response.content
    assert client.post(f"/mail/csat/{token}/", {"rating": "5"}).status_code == 400
    assert csat_events(solved_ticket) == []


def test_csat_link_for_deleted_ticket_is_400(client, solved_ticket, agent):
    from tickets import services as ticket_services

    token = services.csat_token_make(ticket_id=solved_ticket.pk, rating=5)
    ticket_services.ticket_delete(ticket_id=solved_ticket.pk, actor=agent)
    assert client.get(f"/mail/csat/{token}/").status_code == 400


def test_admin_shows_quarantine_and_never_the_mailbox_password(client, mail_settings):
    from accounts.models import User
    from mail.models import Mailbox

    admin = User.objects.create_superuser(email="root@acme.test", password="pw-Secret-123")
    client.force_login(admin)
    bad = services.inbound_receive(eml("garbage.eml"), source="http")
    page = client.get("/admin/mail/inboundmessage/?status__exact=quarantined")
    assert page.status_code == 200 and f">{bad.pk}<".encode() in page.content
    response = client.post(
        "/admin/mail/inboundmessage/", {"action": "replay", "_selected_action": [bad.pk]}, follow=True
    )
    assert response.status_code == 200
    mailbox = Mailbox.objects.create(name="box", host="imap.example", username="u")
    services.mailbox_set_password(mailbox=mailbox, password="hunter2-secret")
    page = client.get(f"/admin/mail/mailbox/{mailbox.pk}/change/")
    assert page.status_code == 200
    assert b"hunter2-secret" not in page.content
    mailbox.refresh_from_db()
    assert mailbox.password_encrypted.encode() not in page.content
