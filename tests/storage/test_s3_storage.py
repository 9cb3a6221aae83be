"""Attachments and raw e-mails in a real S3-compatible server (moto in
server mode, tests/storage/conftest.py): written through every way a file
arrives, read back only by those who may see it. docs/storage.md."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from mail import services as mail_services
from mail.models import InboundMessage
from mail.storage import inbound_raw
from privacy import services as privacy_services
from tests.attachments import samples
from tests.factories import ticket_make
from tests.mail.conftest import authenticated, mime
from tickets.models import Attachment, RequestType, Ticket

pytestmark = pytest.mark.django_db


def _files_on_disk(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _download(client, attachment: Attachment):
    return client.get(reverse("tickets:attachment-download", args=[attachment.pk]))


def test_portal_upload_lands_in_the_bucket_and_only_the_right_people_get_it(
    s3_bucket, settings, client, customer, other_customer, agent, queue
):
    request_type = RequestType.objects.create(slug="broken", name="Broken", queue=queue)
    client.force_login(customer)
    response = client.post(
        reverse("tickets:customer-ticket-create"),
        {
            "request_type": request_type.pk,
            "subject": "Printer",
            "description": "see the log",
            "attachments": SimpleUploadedFile("printer.log", samples.TEXT, content_type="text/plain"),
        },
    )
    assert response.status_code == 302, response.content
    attachment = Attachment.objects.get(message__ticket=Ticket.objects.get())
    # The object is really in the bucket, under the random name, and nowhere on disk.
    assert s3_bucket.keys() == [f"helpdesk/{attachment.file.name}"]
    assert s3_bucket.get(f"helpdesk/{attachment.file.name}") == samples.TEXT
    assert _files_on_disk(settings) == []
    # Private: the object carries no grant but its owner's.
    acl = s3_bucket.client.get_object_acl(Bucket=s3_bucket.name, Key=f"helpdesk/{attachment.file.name}")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert all("URI" not in g["Grantee"] for g in acl["Grants"])  # no AllUsers / AuthenticatedUsers

    for user in (customer, agent):  # the requester and an agent of the queue
        client.force_login(user)
        got = _download(client, attachment)
        assert got.status_code == 200
        assert b"".join(got.streaming_content) == samples.TEXT
        assert got["Content-Disposition"].startswith("attachment;")
        assert got["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert "Location" not in got  # streamed through the check, no signed URL handed out
    client.force_login(other_customer)
    assert _download(client, attachment).status_code == 404
    client.logout()
    assert _download(client, attachment).status_code == 302  # to the sign-in page


def test_agent_page_and_api_uploads_land_in_the_bucket(
    s3_bucket, settings, client, agent, customer, other_customer, queue
):
    ticket = ticket_make(queue=queue, requester=customer)
    client.force_login(agent)
    response = client.post(
        reverse("tickets:agent-ticket-reply", args=[ticket.pk]),
        {"body": "see", "visibility": "public", "attachments": SimpleUploadedFile("shot.png", samples.PNG)},
    )
    assert response.status_code == 302
    api = APIClient()
    api.force_authenticate(customer)
    response = api.post(
        reverse("api:ticket-attachments", kwargs={"pk": ticket.pk}),
        {"files": [SimpleUploadedFile("report.pdf", samples.PDF)]},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    names = sorted(f"helpdesk/{a.file.name}" for a in Attachment.objects.filter(message__ticket=ticket))
    assert len(names) == 2 and s3_bucket.keys() == names
    assert _files_on_disk(settings) == []

    pdf = Attachment.objects.get(filename="report.pdf")
    url = reverse("api:attachment-download", kwargs={"pk": pdf.pk})
    got = api.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == samples.PDF
    api.force_authenticate(other_customer)
    assert api.get(url).status_code == 404


def test_split_copies_the_file_through_the_storage(s3_bucket, agent, customer, queue):
    """Reading an attachment back server-side (split) works from the bucket."""
    from tickets import operations, services

    ticket = ticket_make(queue=queue, requester=customer)
    message = services.message_post(
        ticket_id=ticket.pk,
        author=customer,
        body="second problem",
        attachments=[services.IncomingFile(filename="b.csv", content=samples.CSV)],
    )
    new = operations.ticket_split(ticket_id=ticket.pk, message_id=message.pk, actor=agent)
    copy = Attachment.objects.get(message__ticket=new)
    assert s3_bucket.get(f"helpdesk/{copy.file.name}") == samples.CSV
    assert len(s3_bucket.keys()) == 2


def test_raw_email_is_stored_in_the_bucket_and_read_back(s3_bucket, settings, mail_settings):
    raw = authenticated(mime(subject="Raw in S3", attachments=[("a.pdf", samples.PDF, "application/pdf")]))
    inbound = mail_services.inbound_receive(raw, source=InboundMessage.Source.HTTP)
    inbound.refresh_from_db()
    assert inbound.status == InboundMessage.Status.PROCESSED, inbound.reason
    key = f"helpdesk/{inbound.raw_file.name}"
    assert key.startswith("helpdesk/mail/raw/") and key.endswith(".eml")
    assert s3_bucket.get(key) == raw  # byte for byte in the bucket
    assert bytes(inbound.raw) == b""  # not in the database
    assert inbound_raw(inbound) == raw
    # ...and its attachment went to the bucket too.
    (attachment,) = Attachment.objects.filter(message=inbound.result_message)
    assert sorted(s3_bucket.keys()) == sorted([key, f"helpdesk/{attachment.file.name}"])
    assert _files_on_disk(settings) == []


def test_erasure_deletes_the_objects_from_the_bucket(
    s3_bucket, mail_settings, admin_user, django_capture_on_commit_callbacks
):
    raw = authenticated(mime(sender="erin@customer.example", attachments=[("a.pdf", samples.PDF, "application/pdf")]))
    inbound = mail_services.inbound_receive(raw, source=InboundMessage.Source.HTTP)
    inbound.refresh_from_db()
    assert len(s3_bucket.keys()) == 2
    with django_capture_on_commit_callbacks(execute=True):  # the objects go on commit
        privacy_services.person_erase(subject_id=inbound.result_message.author_id, actor=admin_user, via="test")
    inbound.refresh_from_db()
    assert s3_bucket.keys() == []
    assert inbound_raw(inbound) == b""


def test_legacy_raw_rows_move_to_the_bucket(s3_bucket, mail_settings):
    from django.core.management import call_command

    raw = mime(subject="old")
    old = InboundMessage.objects.create(raw=raw, size=len(raw), sha256="x", source="http", dedupe_key="old-1")
    assert inbound_raw(old) == raw  # read from the column before the move
    call_command("inbound_raw_to_storage", batch=1)
    old.refresh_from_db()
    assert bytes(old.raw) == b"" and s3_bucket.get(f"helpdesk/{old.raw_file.name}") == raw
    assert inbound_raw(old) == raw


def test_kb_article_image_lives_in_the_bucket_and_follows_the_article(s3_bucket, settings, client, manager, customer):
    """Knowledge-base images use the same storage (docs/storage.md): the
    object is in the bucket and /kb/images/<token>/ streams it only to
    people who may read the article."""
    from knowledge_base import services as kb_services
    from knowledge_base.models import ArticleImage
    from tests.knowledge_base.test_editor_and_images import PNG

    article = kb_services.article_create(title="Jammed tray", body="Body", actor=manager, visibility="public")
    client.force_login(manager)
    response = client.post(
        reverse("knowledge_base:staff-image-upload", args=[article.pk]),
        {"image": SimpleUploadedFile("tray.png", PNG, content_type="image/png")},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    image = ArticleImage.objects.get(article=article)
    assert s3_bucket.keys() == [f"helpdesk/{image.file.name}"] and image.file.name.startswith("kb-images/")
    assert s3_bucket.get(f"helpdesk/{image.file.name}") == PNG
    assert _files_on_disk(settings) == []
    url = reverse("knowledge_base:image", args=[image.token])
    got = client.get(url)  # staff see a draft's image
    assert got.status_code == 200 and b"".join(got.streaming_content) == PNG
    client.force_login(customer)
    assert client.get(url).status_code == 404  # a draft: not for customers
    kb_services.article_publish(article_id=article.pk, actor=manager)
    got = client.get(url)
    assert got.status_code == 200 and b"".join(got.streaming_content) == PNG
