"""The same check on every way a file arrives over HTTP: portal request,
portal reply, agent reply (field errors) and the API (JSON 400), never a 500.
The e-mail path is in tests/mail/test_attachment_policy.py."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from tests.attachments import samples
from tests.factories import ticket_make
from tickets.models import Attachment, Message, RequestType, Ticket

pytestmark = pytest.mark.django_db

HTML_AS_PNG = ("photo.png", samples.HTML, "image/png")


def _upload(name: str, content: bytes, declared: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=declared)


@pytest.fixture
def ticket(queue, customer):
    return ticket_make(queue=queue, requester=customer)


@pytest.fixture
def api(settings):
    cache.clear()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/min", "api_write": "100000/min", "api_anon": "100000/min"},
    }

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    yield make
    cache.clear()


def test_portal_new_request_refuses_html_dressed_as_png(client, customer, queue):
    request_type = RequestType.objects.create(slug="broken", name="Broken", queue=queue)
    client.force_login(customer)
    response = client.post(
        reverse("tickets:customer-ticket-create"),
        {"request_type": request_type.pk, "subject": "s", "description": "d", "attachments": _upload(*HTML_AS_PNG)},
    )
    assert response.status_code == 200
    error = response.context["form"].errors["attachments"][0]
    assert error.startswith("photo.png contains web page or script content (text/html)")
    assert error in response.content.decode().replace("&#x27;", "'")  # shown next to the field
    assert not Ticket.objects.exists()


def test_portal_reply_refuses_a_trailing_dot_executable(client, customer, ticket):
    client.force_login(customer)
    response = client.post(
        reverse("tickets:customer-ticket-reply", args=[ticket.pk]),
        {"body": "here", "attachments": _upload("setup.exe.", samples.EXE, "application/octet-stream")},
    )
    assert response.status_code == 200
    assert response.context["reply_form"].errors["attachments"] == ["Files of type .exe are not accepted (setup.exe)."]
    assert not Message.objects.filter(ticket=ticket, is_description=False).exists()


def test_agent_reply_refuses_a_bidi_disguised_hta_and_stores_the_detected_type(client, agent, ticket):
    client.force_login(agent)
    url = reverse("tickets:agent-ticket-reply", args=[ticket.pk])
    bad = _upload("invoice\u202egnp.hta", samples.HTA, "image/png")
    response = client.post(url, {"body": "see", "visibility": "public", "attachments": bad})
    assert response.status_code == 200
    assert response.context["reply_form"].errors["attachments"] == [
        "Files of type .hta are not accepted (invoicegnp.hta)."
    ]
    good = _upload("screen.png", samples.PNG, "text/html")
    response = client.post(url, {"body": "see", "visibility": "public", "attachments": good})
    assert response.status_code == 302
    assert Attachment.objects.get().content_type == "image/png"


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        HTML_AS_PNG,
        ("invoice\u202egnp.hta", samples.HTA, "application/hta"),
        ("tool.jar", samples.JAR, "application/java-archive"),
        ("drawing.svg", samples.SVG, "image/svg+xml"),
        ("photo.png", samples.TEXT, "image/png"),
    ],
)
def test_api_upload_refusal_is_a_json_400(api, customer, ticket, name, content, declared):
    url = reverse("api:ticket-attachments", kwargs={"pk": ticket.pk})
    response = api(customer).post(url, {"files": [_upload(name, content, declared)]}, format="multipart")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "attachment_rejected" and body["message"]
    assert "\u202e" not in body["message"]
    assert not Attachment.objects.exists()


def test_api_upload_reports_the_clean_name_and_detected_type(api, customer, ticket):
    url = reverse("api:ticket-attachments", kwargs={"pk": ticket.pk})
    upload = _upload("..\\scr\u200been.png. ", samples.PNG, "text/html")
    response = api(customer).post(url, {"files": [upload]}, format="multipart")
    assert response.status_code == 201, response.content
    (attachment,) = response.json()["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("screen.png", "image/png")


@pytest.mark.parametrize(
    "name",
    ["", ".", "..", "/", "\\", "\u202e", "%00", " ", "a" * 1000, "con.png", "x.", ".png", "..%2F..%2Fx.png"],
)
def test_api_odd_names_never_500(api, customer, ticket, name):
    """Odd names, sent in a hand-made multipart body as any client could,
    are cleaned or refused with a message, never a crash."""
    url = reverse("api:ticket-attachments", kwargs={"pk": ticket.pk})
    boundary = "XyZboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'.encode()
        + b"Content-Type: image/png\r\n\r\n"
        + samples.PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api(customer).post(url, body, content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code in (201, 400), response.content
    if response.status_code == 201:
        (attachment,) = response.json()["attachments"]
        assert attachment["filename"] and "\u202e" not in attachment["filename"]
    else:
        assert response.json()["message"]
