"""The manager side in German and Spanish (docs/languages.md): the KPI
dashboard, a Settings page, the customer success list and the API's error
messages come out of the shipped catalogues, and the English strings they
replace are gone. The language is chosen by the language cookie or the
browser's Accept-Language (LocaleMiddleware)."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from django.utils.translation import trans_real
from rest_framework.test import APIClient

from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory, ticket_make

pytestmark = pytest.mark.django_db

# Per page: strings that must appear in each language, and English strings
# (all marked, none in the not-yet-translated page layout) that must not.
DASHBOARD = {
    "de": ["KPI-Dashboard", "Erstreaktionszeit", "Rückstand im Zeitverlauf", "Letzte 30 Tage", "Was ist das?"],
    "es": ["Panel de KPI", "Tiempo de primera respuesta", "Acumulado a lo largo del tiempo", "Últimos 30 días"],
    "en": [
        "KPI dashboard",
        "First response time",
        "Backlog over time",
        "Last 30 days",
        "What is this?",
        "Date range",
        "Latest CSAT comments",
        "Full resolution time",
        "SLA attainment",
        'data-t-created="Created"',
    ],
}
SLA_POLICY_FORM = {
    "de": ["Neue SLA-Richtlinie", "Uhren anhalten bei Status", "Eskalationen", "Richtlinie speichern", "Erste Antwort"],
    "es": ["Nueva política de SLA", "Pausar los relojes mientras", "Escalados", "Guardar política"],
    "en": ["New SLA policy", "Pause the clocks while", "Escalations", "Save policy", "Targets (none = all)"],
}
SUCCESS_LIST = {
    "de": ["CSV exportieren", "Letzter Kontakt", "Neue Tickets (90 T)", "(keine Organisation)", "Gesund"],
    "es": ["Exportar CSV", "Último contacto", "Tickets nuevos (90 d)", "(sin organización)", "Saludable"],
    "en": ["Export CSV", "Last contact", "New tickets (90 d)", "(no organisation)", "Healthy", "Any health"],
}


@pytest.fixture(scope="session", autouse=True)
def _compiled_catalogues():
    """Build the .mo files from the shipped .po files, as the setup command does."""
    call_command("compilemessages", ignore_patterns=[".venv", "node_modules"], verbosity=0)
    trans_real._translations.clear()  # catalogues loaded before this point were empty
    trans_real._default = None
    yield
    translation.activate(settings.LANGUAGE_CODE)


def _client(user, language):
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _check(html, expected, language):
    missing = [s for s in expected[language] if s not in html]
    english = [s for s in expected["en"] if s in html]
    assert (missing, english) == ([], []), f"{language}: missing {missing}, still English {english}"


@pytest.mark.parametrize("language", ["de", "es"])
def test_dashboard_in_the_chosen_language(language):
    response = _client(ManagerFactory(), language).get("/manager/dashboard/")
    assert response.status_code == 200
    assert response["Content-Language"] == language
    _check(response.content.decode(), DASHBOARD, language)


@pytest.mark.parametrize("language", ["de", "es"])
def test_settings_page_in_the_chosen_language(language):
    response = _client(ManagerFactory(), language).get("/settings/sla/new/")
    assert response.status_code == 200
    _check(response.content.decode(), SLA_POLICY_FORM, language)


@pytest.mark.parametrize("language", ["de", "es"])
def test_customer_success_list_in_the_chosen_language(language):
    ticket_make(queue=QueueFactory(kind="service"), requester=CustomerFactory())
    response = _client(ManagerFactory(), language).get("/success/")
    assert response.status_code == 200
    _check(response.content.decode(), SUCCESS_LIST, language)


def test_english_stays_the_default():
    html = _client(ManagerFactory(), "en").get("/manager/dashboard/").content.decode()
    assert all(s in html for s in DASHBOARD["en"])


@pytest.mark.parametrize(
    ("language", "forbidden", "invalid"),
    [
        (
            "de",
            "Nur Manager, Administratoren und Service-Agenten können Customer Success sehen.",
            ("Ungültige Eingabe.", "Beginn muss am oder vor dem Ende liegen"),
        ),
        (
            "es",
            "Solo los responsables, administradores y agentes de servicio pueden ver el éxito del cliente.",
            ("Entrada no válida.", "el inicio debe ser igual o anterior al final"),
        ),
    ],
)
def test_api_error_messages_follow_accept_language(language, forbidden, invalid):
    agent = AgentFactory()
    agent.queues.add(QueueFactory(kind="support"))
    api = APIClient()
    api.force_authenticate(agent)
    denied = api.get("/api/v1/success/accounts/", HTTP_ACCEPT_LANGUAGE=language)
    assert denied.status_code == 403
    assert denied.json()["message"] == forbidden
    bad = api.get("/api/v1/metrics/summary/?start=2026-02-01&end=2026-01-01", HTTP_ACCEPT_LANGUAGE=language)
    assert bad.status_code == 400
    body = bad.json()
    assert (body["message"], body["details"]["start"]) == (invalid[0], [invalid[1]])


def test_config_validation_messages_are_translated():
    api = APIClient()
    api.force_authenticate(ManagerFactory(role="admin"))
    document = {"calendars": [{"name": "Office", "timezone": "Mars/Olympus", "hours": {"mon": [["17:00", "09:00"]]}}]}
    response = api.put("/api/v1/config/?dry_run=true", document, format="json", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["message"] == "Die Konfiguration hat 2 Probleme."
    messages = {p["path"]: p["message"] for p in body["details"]["problems"]}
    assert messages == {
        "calendars[0].timezone": "unbekannte Zeitzone 'Mars/Olympus' (verwenden Sie einen IANA-Namen)",
        "calendars[0].hours.mon[0]": "der Beginn muss vor dem Ende liegen",
    }
