"""Pages in the reader's language (docs/languages.md): the portal and the
login page in German and Spanish, and how the language is chosen (the
signed-in user's own choice, then the language cookie, then the browser)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from tests.factories import ticket_make
from tickets import services
from tickets.models import RequestType

pytestmark = pytest.mark.django_db

# Strings each page shows, in each shipped language.
EXPECTED = {
    "de": {
        "home": ["Hilfe-Center", "Kategorien", "Beliebte Artikel", "Suchen"],
        "list": ["Meine Anfragen", "Neue Anfrage", "Angefragt von", "Eingegangen", "Abmelden"],
        "new": ["Anfrage stellen", "Wobei brauchen Sie Hilfe?", "Betreff", "Beschreibung", "Absenden"],
        "detail": ["Antwort senden", "Nachricht", "Dateien anhängen", "Antwort des Supports", "In Bearbeitung"],
        "login": ["Anmelden", "Kein Passwort?", "Passwort", "Registrieren"],
    },
    "es": {
        "home": ["Centro de ayuda", "Categorías", "Artículos populares", "Buscar"],
        "list": ["Mis solicitudes", "Nueva solicitud", "Solicitado por", "Recibida", "Cerrar sesión"],
        "new": ["Enviar una solicitud", "¿Con qué necesita ayuda?", "Asunto", "Descripción"],
        "detail": ["Enviar respuesta", "Mensaje", "Adjuntar archivos", "Respuesta del equipo", "En curso"],
        "login": ["Iniciar sesión", "¿No tiene contraseña?", "Contraseña", "Registrarse"],
    },
}
ENGLISH = [
    "Help centre",
    "Popular articles",
    "My requests",
    "New request",
    "Requested by",
    "Send reply",
    "Submit a request",
    "No password?",
]


@pytest.fixture
def portal(queue, customer, agent):
    """A request type, an open request of `customer` answered by an agent,
    and a second one still new (so "Received" shows in the list)."""
    RequestType.objects.create(slug="question", name="A question", queue=queue, is_default=True)
    answered = ticket_make(queue=queue, requester=customer, subject="Printer jam")
    services.message_post(ticket_id=answered.pk, author=agent, body="Looking into it")
    ticket_make(queue=queue, requester=customer, subject="Second question")
    return answered


def _pages(client, ticket) -> dict[str, str]:
    urls = {
        "home": reverse("knowledge_base:home"),
        "list": reverse("tickets:customer-ticket-list"),
        "new": reverse("tickets:customer-ticket-create"),
        "detail": reverse("tickets:customer-ticket-detail", args=[ticket.pk]),
    }
    return {name: client.get(url).content.decode() for name, url in urls.items()}


def _unescaped(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(html)


@pytest.mark.parametrize("language", ["de", "es"])
def test_portal_pages_in_the_customers_language(client, portal, customer, language):
    customer.language = language
    customer.save(update_fields=["language"])
    client.force_login(customer)
    for name, html in _pages(client, portal).items():
        text = _unescaped(html)
        assert f'<html lang="{language}">' in html, name
        for expected in EXPECTED[language][name]:
            assert expected in text, (name, expected)
        for english in ENGLISH:
            assert english not in text, (name, english)


@pytest.mark.parametrize("language", ["de", "es"])
def test_login_page_in_the_cookie_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = client.get(reverse("accounts:login")).content.decode()
    assert f'<html lang="{language}">' in html
    for expected in EXPECTED[language]["login"]:
        assert expected in _unescaped(html), expected


def test_login_page_follows_the_browser_without_a_cookie(client):
    html = client.get(reverse("accounts:login"), headers={"accept-language": "es-ES,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in html.content.decode()


def test_english_by_default(client):
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en">' in html
    assert "No password?" in html


def test_the_users_own_language_wins_over_cookie_and_browser(client, portal, customer):
    customer.language = "de"
    customer.save(update_fields=["language"])
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = client.get(reverse("tickets:customer-ticket-list"), headers={"accept-language": "es"}).content.decode()
    assert '<html lang="de">' in html and "Meine Anfragen" in html


def test_no_own_language_falls_back_to_the_cookie(client, portal, customer):
    client.force_login(customer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    assert "Mis solicitudes" in client.get(reverse("tickets:customer-ticket-list")).content.decode()


def test_switcher_sets_the_cookie_and_saves_a_signed_in_users_choice(client, portal, customer):
    client.force_login(customer)
    list_url = reverse("tickets:customer-ticket-list")
    response = client.post(reverse("set_language"), {"language": "es", "next": list_url})
    assert response.status_code == 302 and response["Location"] == list_url
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    customer.refresh_from_db()
    assert customer.language == "es"
    # Signed out and in again without the cookie: still Spanish.
    client.logout()
    client.cookies.clear()
    client.force_login(customer)
    assert '<html lang="es">' in client.get(list_url).content.decode()


def test_switcher_refuses_an_unknown_language(client, customer):
    client.force_login(customer)
    client.post(reverse("set_language"), {"language": "xx", "next": "/"})
    customer.refresh_from_db()
    assert customer.language == ""


def test_switcher_checks_csrf_for_signed_in_users_only(customer):
    """Signed in, the switch changes the profile: a forged post is refused.
    Signed out it only sets a cookie, so anonymous pages carry no token."""
    forged = Client(enforce_csrf_checks=True)
    anonymous = forged.post(reverse("set_language"), {"language": "de", "next": "/accounts/login/"})
    assert anonymous.status_code == 302
    assert "csrfmiddlewaretoken" not in forged.get(reverse("accounts:login")).content.decode().split("</header>")[0]
    forged.force_login(customer)
    assert forged.post(reverse("set_language"), {"language": "de", "next": "/"}).status_code == 403
    customer.refresh_from_db()
    assert customer.language == ""
    page = forged.get(reverse("accounts:profile")).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = forged.post(reverse("set_language"), {"language": "de", "next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.language == "de"


def test_switcher_works_signed_out(client):
    response = client.post(reverse("set_language"), {"language": "de", "next": reverse("accounts:login")})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert "Kein Passwort?" in client.get(reverse("accounts:login")).content.decode()


def test_every_page_has_the_switcher(client, portal, customer):
    client.force_login(customer)
    html = client.get(reverse("tickets:customer-ticket-list")).content.decode()
    assert 'id="language-switcher"' in html and 'value="de"' in html and 'value="es"' in html


def test_agent_chooses_a_language_on_the_profile_page(client, agent):
    client.force_login(agent)
    response = client.post(reverse("accounts:profile"), {"name": agent.name, "language": "de"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.language == "de"
    assert "Meine offenen Tickets" in client.get(reverse("accounts:profile")).content.decode()


def test_dates_follow_the_language(client, portal, customer):
    customer.language = "de"
    customer.save(update_fields=["language"])
    client.force_login(customer)
    html = client.get(reverse("tickets:customer-ticket-list")).content.decode()
    with translation.override("de"):
        # "7. Dez. 2026, 14:05": day first, German month name.
        expected = formats.date_format(timezone.localtime(portal.updated_at), "j. M Y, H:i")
    assert expected in html
