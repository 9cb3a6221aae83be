"""E-mails in the recipient's language (docs/languages.md, E-mails): the
recipient's own language, else the site's, whatever language the person
or request that triggered the mail was in. Real MIME through the outbox
and the worker's delivery function, as the mail tests do."""

from email import policy
from email.parser import BytesParser

import pytest
from django.core import mail as django_mail
from django.utils import translation

from mail import services as mail_services
from mail.models import Notification
from tests.factories import CustomerFactory, ticket_make
from tests.mail.conftest import mail_settings  # noqa: F401 - the fixture
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db


def _delivered() -> list:
    """Every pending outbox row delivered, read back as real MIME."""
    django_mail.outbox.clear()
    for pk in Notification.objects.filter(status="pending").order_by("id").values_list("pk", flat=True):
        mail_services.notification_deliver(notification_id=pk)
    return [BytesParser(policy=policy.default).parsebytes(m.message().as_bytes()) for m in django_mail.outbox]


def _text(msg) -> str:
    return msg.get_body(preferencelist=("plain",)).get_content()


def _html(msg) -> str:
    return msg.get_body(preferencelist=("html",)).get_content()


def test_sign_in_link_in_the_customers_language_from_an_english_page(client, mail_settings):  # noqa: F811
    CustomerFactory(email="jonas@example.de", name="Jonas", language="de")
    client.post("/accounts/magic-link/", {"email": "jonas@example.de"}, headers={"accept-language": "en"})
    [msg] = _delivered()
    assert msg["To"] == "jonas@example.de"
    assert msg["Subject"] == "Ihr Anmeldelink"
    assert "Guten Tag Jonas," in _text(msg)
    assert "Mit diesem Link melden Sie sich beim Helpdesk an." in _text(msg)


def test_reset_link_in_spanish_requested_from_a_german_page(client, mail_settings):  # noqa: F811
    CustomerFactory(email="lucia@example.es", name="Lucía", language="es")
    client.cookies["django_language"] = "de"
    client.post("/accounts/password-reset/", {"email": "lucia@example.es"})
    [msg] = _delivered()
    assert msg["Subject"] == "Establezca su contraseña"
    assert "Hola, Lucía:" in _text(msg)


def test_a_customer_without_a_language_gets_the_site_language(client, mail_settings):  # noqa: F811
    CustomerFactory(email="sam@example.com", name="Sam")
    client.cookies["django_language"] = "de"
    client.post("/accounts/magic-link/", {"email": "sam@example.com"})
    [msg] = _delivered()
    assert msg["Subject"] == "Your sign-in link"
    assert "Hello Sam," in _text(msg)


def _solved_by(agent, customer, queue, language: str):
    """`agent`, working in `language`, solves a request of `customer`."""
    ticket = ticket_make(queue=queue, requester=customer, subject="Drucker")
    Notification.objects.all().delete()
    with translation.override(language):  # the agent's request
        ticket_services.ticket_transition(ticket_id=ticket.pk, target="solved", actor=agent)
    return ticket


def test_an_english_agent_solving_reaches_a_german_customer_in_german(mail_settings, queue, agent):  # noqa: F811
    german = CustomerFactory(email="greta@example.de", language="de")
    _solved_by(agent, german, queue, "en")
    [msg] = _delivered()
    assert "(Status: Gelöst)" in _text(msg)
    assert "7 - Sehr einfach" in _text(msg)  # the survey answers, too


def test_a_german_agent_solving_reaches_an_english_customer_in_english(mail_settings, queue, agent):  # noqa: F811
    agent.language = "de"
    agent.save(update_fields=["language"])
    english = CustomerFactory(email="ed@example.com")
    _solved_by(agent, english, queue, "de")
    [msg] = _delivered()
    assert "(status: Solved)" in _text(msg)
    assert "7 - Very easy" in _text(msg)


def test_spanish_customer(mail_settings, queue, agent):  # noqa: F811
    spanish = CustomerFactory(email="lucia@example.es", language="es")
    _solved_by(agent, spanish, queue, "de")
    [msg] = _delivered()
    assert "(estado: Resuelta)" in _text(msg)
