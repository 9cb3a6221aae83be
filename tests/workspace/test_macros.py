"""Macros: placeholders from a whitelist, HTML escaped; actions as events;
a refused status move undoes the whole macro with the reason."""

import pytest

from tests.factories import CustomerFactory, ticket_make
from tickets import macros, services
from tickets.models import Macro, Message, TicketEvent
from tickets.workflow import InvalidTransition

K = TicketEvent.Kind


@pytest.fixture
def evil_ticket(queue):
    requester = CustomerFactory(name="<script>alert(1)</script> Eve", first_name="<img src=x onerror=alert(2)>")
    return ticket_make(queue=queue, requester=requester, subject="Hi & <b>bye</b>")


@pytest.mark.django_db
def test_placeholders_render_escaped(evil_ticket, agent):
    body = (
        "Hi {{ requester.first_name }} ({{ requester.name }}), "
        "#{{ ticket.number }} {{ ticket.subject }} — {{ agent.name }}"
    )
    text = macros.macro_render(body=body, ticket=evil_ticket, agent=agent)
    assert "<script>" not in text and "<img" not in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Eve" in text
    assert f"#{evil_ticket.pk} Hi &amp; &lt;b&gt;bye&lt;/b&gt;" in text
    assert agent.display_name in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        "{{ ticket.requester.password }}",  # only the whitelisted strings exist
        "{% load static %}x",
        "{% include 'base.html' %}",
        "{% debug %}",
        "{{ requester.first_name.__class__ }}",
    ],
)
def test_no_escape_from_the_whitelist(evil_ticket, agent, body):
    try:
        text = macros.macro_render(body=body, ticket=evil_ticket, agent=agent)
    except macros.MacroError:
        return
    assert "pbkdf2" not in text and "md5" not in text and "class" not in text and "base.html" not in text


@pytest.mark.django_db
def test_macro_apply_posts_and_applies_actions_as_events(ticket_and_macro, agent):
    ticket, macro = ticket_and_macro
    result = macros.macro_apply(macro=macro, ticket_id=ticket.pk, agent=agent)
    assert result.status == "pending" and result.priority == "high" and result.assignee_id == agent.pk
    assert set(result.tags.values_list("name", flat=True)) == {"billing"}
    msg = Message.objects.filter(ticket=ticket, is_description=False).get()
    assert msg.body.startswith("Hello Ann,") and msg.visibility == "public"
    kinds = list(TicketEvent.objects.filter(ticket=ticket).values_list("kind", flat=True))
    for kind in (K.MESSAGE, K.PRIORITY, K.TAGS, K.ASSIGNEE, K.STATUS):
        assert kind in kinds


@pytest.fixture
def ticket_and_macro(queue, agent):
    ticket = ticket_make(queue=queue, requester=CustomerFactory(name="Ann Lee", first_name="Ann"))
    macro = Macro.objects.create(
        name="Need info",
        body="Hello {{ requester.first_name }},\n\nCould you send the invoice for #{{ ticket.number }}?",
        actions={"status": "pending", "priority": "high", "add_tags": ["billing"], "assignee": "me"},
    )
    return ticket, macro


@pytest.mark.django_db
def test_refused_status_undoes_the_macro(ticket_and_macro, agent):
    ticket, macro = ticket_and_macro
    services.ticket_transition(ticket_id=ticket.pk, target="closed", actor=agent)
    macro.body = ""
    macro.actions = {"status": "open", "priority": "urgent"}
    macro.save()
    before = TicketEvent.objects.filter(ticket=ticket).count()
    with pytest.raises(InvalidTransition) as exc:
        macros.macro_apply(macro=macro, ticket_id=ticket.pk, agent=agent)
    assert "closed" in exc.value.message
    ticket.refresh_from_db()
    assert ticket.priority == "normal"
    assert TicketEvent.objects.filter(ticket=ticket).count() == before


@pytest.mark.django_db
def test_reply_with_macro_through_the_page(ticket_and_macro, agent, client):
    ticket, macro = ticket_and_macro
    client.force_login(agent)
    page = client.get(f"/agent/tickets/{ticket.pk}/?macro={macro.pk}")
    assert "Hello Ann," in page.content.decode()
    response = client.post(
        f"/agent/tickets/{ticket.pk}/reply/",
        {"body": "Hello Ann, edited", "visibility": "public", "macro": macro.pk},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "pending" and ticket.assignee_id == agent.pk
    assert Message.objects.filter(ticket=ticket, body="Hello Ann, edited").exists()


LOCALISED = "{{ ticket.status }} / {{ ticket.priority }} / {{ ticket.created }} / {{ True|yesno }}"


@pytest.fixture
def spanish_ticket(queue):
    from datetime import UTC, datetime

    requester = CustomerFactory(name="Ana Ruiz", first_name="Ana", language="es")
    ticket = ticket_make(queue=queue, requester=requester, subject="Factura", priority="high")
    ticket.created_at = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    ticket.save(update_fields=["created_at"])
    return ticket


@pytest.mark.django_db
def test_a_public_macro_is_filled_in_the_requesters_language(spanish_ticket, agent, client):
    """docs/languages.md, Macros: an English-speaking agent applies a macro
    to a Spanish customer's ticket: status (as the customer reads it),
    priority, dates and filter output come out in Spanish; the agent's own
    page stays English. An internal note stays in the agent's language."""
    from django.utils import translation

    agent.language = "en"
    agent.save(update_fields=["language"])
    macro = Macro.objects.create(name="Status", body=LOCALISED, actions={})
    text = macros.macro_render(body=LOCALISED, ticket=spanish_ticket, agent=agent)
    assert text == "Recibida / Alta / 5 de marzo de 2026 / sí"
    with translation.override("de"):  # whatever the agent's page is in
        assert macros.macro_render(body=LOCALISED, ticket=spanish_ticket, agent=agent) == text
        note = macros.macro_render(body=LOCALISED, ticket=spanish_ticket, agent=agent, visibility="internal")
    assert note == "Neu / Hoch / 5. März 2026 / Ja"

    client.force_login(agent)
    page = client.get(f"/agent/tickets/{spanish_ticket.pk}/?macro={macro.pk}").content.decode()
    assert "Recibida / Alta / 5 de marzo de 2026" in page
    macros.macro_apply(macro=macro, ticket_id=spanish_ticket.pk, agent=agent)
    posted = Message.objects.filter(ticket=spanish_ticket, is_description=False).get()
    assert posted.body == "Recibida / Alta / 5 de marzo de 2026 / sí"
