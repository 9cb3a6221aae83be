"""Python-side messages a customer can meet (API field errors, refusals,
survey answers) follow the request's language; the template lint
(tests/i18n/marking.py) cannot see them (docs/languages.md)."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from helpdesk.lib.exceptions import ApplicationError
from tests.factories import CustomerFactory
from tickets import services

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.mark.parametrize(
    ("language", "only_agents", "choose_type", "staff_only"),
    [
        (
            "de",
            "Nur Agenten können dies festlegen.",
            "Wählen Sie eine Anfrageart.",
            "Nur Agenten und Manager können das tun.",
        ),
        (
            "es",
            "Solo los agentes pueden establecer esto.",
            "Elija un tipo de solicitud.",
            "Solo los agentes y los responsables de equipo pueden hacer esto.",
        ),
    ],
)
def test_a_customers_api_errors_are_in_their_language(language, only_agents, choose_type, staff_only):
    api = _api(CustomerFactory())
    created = api.post(
        "/api/v1/tickets/",
        {"subject": "Hallo", "body": "Text", "priority": "high"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert created.status_code == 400, created.content
    details = created.json()["details"]
    assert details["priority"] == [only_agents]
    assert details["request_type"] == [choose_type]
    macros = api.get("/api/v1/macros/", HTTP_ACCEPT_LANGUAGE=language)
    assert macros.status_code == 403
    assert macros.json()["message"] == staff_only


def test_survey_answers_out_of_range_are_refused_in_the_active_language():
    with translation.override("es"), pytest.raises(ApplicationError) as refused:
        services.survey_validate("nps", "0-10", 11)
    assert refused.value.message == "Una valoración NPS debe ser un número entero de 0 a 10."
    with translation.override("de"), pytest.raises(ApplicationError) as refused:
        services.survey_validate("csat", "good_bad", "meh")
    assert refused.value.message == "Eine Gut/Schlecht-Bewertung muss 'good' oder 'bad' sein."
