"""Downloads are served under the type the bytes show, as attachments with
nosniff, under a clean name, also for rows stored before the content check
(built directly here, with whatever type the client had claimed)."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.attachments import samples
from tests.factories import ticket_make
from tickets import services
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


@pytest.fixture
def description(queue, customer):
    return ticket_make(queue=queue, requester=customer).messages.get(is_description=True)


def _legacy_row(message, *, filename: str, content: bytes, content_type: str) -> Attachment:
    attachment = Attachment(message=message, filename=filename, content_type=content_type, size=len(content))
    attachment.file.save("legacy", ContentFile(content), save=False)
    attachment.save()
    return attachment


def _get(client, user, attachment):
    client.force_login(user)
    response = client.get(reverse("tickets:attachment-download", args=[attachment.pk]))
    assert response.status_code == 200
    return response


def test_html_stored_as_png_is_not_served_as_png(client, customer, description):
    """The old view served the stored, client-claimed type."""
    row = _legacy_row(description, filename="photo.png", content=samples.HTML, content_type="image/png")
    response = _get(client, customer, row)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_bidi_name_of_an_old_row_is_served_clean(client, customer, description):
    row = _legacy_row(description, filename="invoice\u202egnp.pdf", content=samples.PDF, content_type="application/pdf")
    response = _get(client, customer, row)
    assert response["Content-Disposition"] == 'attachment; filename="invoicegnp.pdf"'


@pytest.mark.parametrize(
    ("name", "content", "served"),
    [
        ("screen.png", samples.PNG, "image/png"),
        ("invoice.pdf", samples.PDF, "application/pdf"),
        ("server.log", samples.TEXT, "text/plain"),
        ("logs.zip", samples.ZIP, "application/zip"),
    ],
)
def test_checked_uploads_are_served_under_their_detected_type(client, customer, description, name, content, served):
    """Never inline, not even images: the type only helps the user's
    program open the download."""
    message = services.message_post(
        ticket_id=description.ticket_id,
        author=customer,
        body="file",
        attachments=[services.IncomingFile(filename=name, content=content, content_type="application/octet-stream")],
    )
    response = _get(client, customer, message.attachments.get())
    assert response["Content-Type"] == served
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == content


def test_api_download_stays_octet_stream_with_a_clean_name(client, customer, description):
    row = _legacy_row(description, filename="a\u202etxt.exe", content=samples.TEXT, content_type="text/plain")
    client.force_login(customer)
    response = client.get(reverse("api:attachment-download", kwargs={"pk": row.pk}))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == 'attachment; filename="atxt.exe"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_migration_cleans_old_names(description):
    """Old rows' names are cleaned once, so every page that lists them shows
    what the file is."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tickets.migrations.0008_attachment_filenames_normalised")
    row = _legacy_row(description, filename="invoice\u202egnp.hta", content=samples.HTA, content_type="image/png")
    clean = _legacy_row(description, filename="report.pdf", content=samples.PDF, content_type="application/pdf")
    migration.filenames_normalise(apps, None)
    row.refresh_from_db()
    clean.refresh_from_db()
    assert (row.filename, clean.filename) == ("invoicegnp.hta", "report.pdf")
