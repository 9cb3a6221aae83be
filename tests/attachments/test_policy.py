"""The upload policy in tickets.attachments, through the services every path
uses: type by content against the allow list, names normalised, the stored
type is the detected one."""

import pytest

from tests.attachments import samples
from tests.factories import ticket_make
from tickets import services
from tickets.models import Attachment

pytestmark = pytest.mark.django_db


def _post(ticket, agent, *files: tuple[str, bytes, str]):
    incoming = [services.IncomingFile(filename=n, content=c, content_type=t) for n, c, t in files]
    return services.message_post(ticket_id=ticket.pk, author=agent, body="see file", attachments=incoming)


@pytest.fixture
def ticket(queue, customer):
    return ticket_make(queue=queue, requester=customer)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.exe.", samples.EXE),  # Windows drops the trailing dot and runs it
        ("setup.exe ", samples.EXE),
        ("setup.exe . .", samples.EXE),
        ("report.hta", samples.HTA),
        ("script.ps1", samples.PS1),
        ("tool.jar", samples.JAR),
        ("shortcut.lnk", samples.LNK),
        ("job.wsf", samples.WSF),
        ("page.xhtml", samples.XHTML),
        ("page.shtml", samples.SHTML),
        ("drawing.svgz", samples.SVGZ),
        ("drawing.svg", samples.SVG),
        ("invoice\u202egnp.hta", samples.HTA),  # displays as "invoiceath.png"
    ],
)
def test_dangerous_files_are_refused(ticket, agent, name, content):
    """Each was accepted by the old extension-only block list."""
    with pytest.raises(services.AttachmentRejected) as exc:
        _post(ticket, agent, (name, content, "application/octet-stream"))
    assert "\u202e" not in exc.value.message
    assert not Attachment.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("photo.png", samples.HTML, "image/png"),  # HTML dressed as an image
        ("photo.png", samples.SVG, "image/png"),
        ("notes.txt", samples.HTML, "text/plain"),
        ("report.pdf", samples.EXE, "application/pdf"),
        ("data.csv", samples.BINARY, "text/csv"),  # unrecognised binary data
    ],
)
def test_content_decides_not_the_name_or_the_declared_type(ticket, agent, name, content, declared):
    with pytest.raises(services.AttachmentRejected):
        _post(ticket, agent, (name, content, declared))
    assert not Attachment.objects.exists()


def test_name_must_agree_with_the_content(ticket, agent):
    """Plain text named .png is refused with a message saying what it is."""
    with pytest.raises(services.AttachmentRejected) as exc:
        _post(ticket, agent, ("photo.png", samples.TEXT, "image/png"))
    assert exc.value.message == "photo.png is named .png but its content is text/plain; rename it to match what it is."


@pytest.mark.parametrize(
    ("name", "content", "declared", "stored_name", "stored_type"),
    [
        ("screen.png", samples.PNG, "text/html", "screen.png", "image/png"),
        ("screen.jpg", samples.PNG, "image/jpeg", "screen.jpg", "image/png"),  # same family
        ("photo.JPEG", samples.JPEG, "", "photo.JPEG", "image/jpeg"),
        ("invoice.pdf", samples.PDF, "application/octet-stream", "invoice.pdf", "application/pdf"),
        ("server.log", samples.TEXT, "application/octet-stream", "server.log", "text/plain"),
        ("export.csv", samples.CSV, "application/vnd.ms-excel", "export.csv", "text/csv"),
        ("access.log", samples.CSV, "text/plain", "access.log", "text/csv"),  # a log with commas
        ("letter.docx", samples.DOCX, "application/octet-stream", "letter.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("sheet.xlsx", samples.XLSX, "application/octet-stream", "sheet.xlsx",
         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("logs.zip", samples.ZIP, "application/x-zip-compressed", "logs.zip", "application/zip"),
        ("forwarded.eml", samples.EML, "message/rfc822", "forwarded.eml", "message/rfc822"),
        ("saved.eml", b"MIME-Version: 1.0\nSubject: s\n\nbody\n", "message/rfc822", "saved.eml", "text/plain"),
        ("screenshot", samples.PNG, "application/octet-stream", "screenshot.png", "image/png"),
        ("README", samples.TEXT, "application/octet-stream", "README.txt", "text/plain"),
    ],
)  # fmt: skip
def test_accepted_files_are_stored_under_the_detected_type(
    ticket, agent, name, content, declared, stored_name, stored_type
):
    message = _post(ticket, agent, (name, content, declared))
    attachment = message.attachments.get()
    assert (attachment.filename, attachment.content_type) == (stored_name, stored_type)
    assert attachment.file.read() == content


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("invoice\u202egnp.png", "invoicegnp.png"),  # bidi override removed
        ("a\u2066b\u2069c\u200f\u200b.png", "abc.png"),  # isolates, marks, zero-width
        ("Re\u0301sume\u0301.png", "Résumé.png"),  # NFC
        ("bad\x00na\x1bme\x7f.png", "badname.png"),  # control characters
        ("..\\..\\windows\\system32\\x.png", "x.png"),  # path separators
        ("/etc/passwd/../x.png", "x.png"),
        ("photo.png. . ", "photo.png"),  # trailing dots and spaces
        ("  spaced   out .png", "spaced out .png"),
        ('a<b>c:d"e|f?g*.png', "a_b_c_d_e_f_g_.png"),
        ("\u202e", "file"),
        ("...", "file"),
        ("x" * 300 + ".png", "x" * 196 + ".png"),  # capped, extension kept
    ],
)
def test_names_are_normalised_before_storing(ticket, agent, raw, clean):
    from tickets.attachments import filename_normalise  # here, so the old code fails only this test

    assert filename_normalise(raw) == clean
    assert filename_normalise(clean) == clean  # idempotent: a second check changes nothing
    message = _post(ticket, agent, (raw, samples.PNG, "image/png"))
    # A name left without an extension gets the detected type's.
    assert message.attachments.get().filename == (clean if "." in clean else f"{clean}.png")


def test_allow_list_is_configurable(ticket, agent, settings):
    """The setting is merged over the defaults: a type mapped to [] is
    removed, a new type is added; active types can never be added."""
    settings.HELPDESK_ATTACHMENT_ALLOWED_TYPES = {"application/zip": [], "text/xml": ["xml"], "text/html": ["html"]}
    with pytest.raises(services.AttachmentRejected):
        _post(ticket, agent, ("logs.zip", samples.ZIP, "application/zip"))
    message = _post(ticket, agent, ("data.xml", b'<?xml version="1.0"?><root><a>1</a></root>', "text/xml"))
    assert message.attachments.get().content_type == "text/xml"
    settings.HELPDESK_ATTACHMENT_BLOCKED_EXTENSIONS = []
    with pytest.raises(services.AttachmentRejected):
        _post(ticket, agent, ("page.html", samples.HTML, "text/html"))


def test_one_bad_file_refuses_the_whole_message(ticket, agent):
    with pytest.raises(services.AttachmentRejected):
        _post(ticket, agent, ("ok.png", samples.PNG, "image/png"), ("photo.png", samples.HTML, "image/png"))
    assert not Attachment.objects.exists()
    assert not ticket.messages.filter(is_description=False).exists()


@pytest.mark.parametrize(
    ("value", "errors"),
    [
        ({}, []),
        ({"text/xml": ["xml"], "video/webm": []}, []),
        (["xml"], ["tickets.E003"]),
        ({"x/y": "z"}, ["tickets.E003"]),
    ],
)
def test_system_checks_libmagic_and_the_setting(settings, value, errors):
    """libmagic is usable here (tickets.E001 otherwise); a malformed setting
    stops start-up instead of failing every upload."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.HELPDESK_ATTACHMENT_ALLOWED_TYPES = value
    if errors:
        with pytest.raises(SystemCheckError, match=errors[0]):
            call_command("check")
    else:
        call_command("check")
