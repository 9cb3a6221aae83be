"""The upload policy: one check for every way a file arrives (portal, agent
reply, API, inbound e-mail). The type is decided by the bytes (libmagic),
the name only has to agree with it. docs/uploads.md explains the policy.
"""

import mimetypes
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import checks
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse

from helpdesk.lib.exceptions import ApplicationError

if TYPE_CHECKING:
    from tickets.models import Attachment

# Types a browser renders or runs: never accepted, whatever the setting
# says, and never served under their own type (rows from before the policy).
ACTIVE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/ecmascript",
        "application/ecmascript",
    }
)
# XML may be rendered (XHTML is detected as text/xml): accepted only when
# the setting allows it, and always served as application/octet-stream.
XML_TYPES = frozenset({"text/xml", "application/xml"})
# libmagic's "text/x-c", "text/x-diff"... are guesses at what a plain text
# says, not formats: they count as text/plain, except XML (may render).
TEXT_FAMILY = "text/plain"
NAME_MAX = 200
DETECT_BYTES = 1024 * 1024  # libmagic decides on the head of a file
_RESERVED = re.compile(r'[<>:"|?*]')
_SEPARATORS = re.compile(r"[/\\]")


class AttachmentRejected(ApplicationError):
    code = "attachment_rejected"
    status_code = 400


@dataclass(frozen=True)
class IncomingFile:
    """A file to attach, from an upload, an email part or an import."""

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    is_inline: bool = False

    @classmethod
    def from_upload(cls, upload: UploadedFile) -> "IncomingFile":
        # The client's content_type is kept for the record only: file_check
        # replaces it with the detected one.
        return cls(
            filename=upload.name or "file",
            content=upload.read(),
            content_type=upload.content_type or "application/octet-stream",
        )


def filename_normalise(name: str) -> str:
    """A display-safe file name: NFC; no control, format (bidi, zero-width)
    or private characters; no path; no trailing dots or spaces; capped.

    Idempotent, so checking an already checked file changes nothing.
    """
    name = unicodedata.normalize("NFC", name or "")
    # Cf holds the bidi overrides (U+202E) and zero-width characters that
    # make "invoice\u202egnp.hta" display as "invoiceath.png".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"})
    name = _SEPARATORS.split(name)[-1]
    name = _RESERVED.sub("_", name)
    name = " ".join(name.split())
    # Windows drops trailing dots and spaces: "setup.exe." runs as setup.exe.
    name = name.strip(" .")
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = f"{stem[: NAME_MAX - len(ext) - 1].rstrip(' .')}.{ext}"
        else:
            name = name[:NAME_MAX].rstrip(" .")
    return name or "file"


def filename_extension(name: str) -> str:
    """The lower-case last suffix ("" for none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def content_type_detect(content: bytes) -> str:
    """The MIME type libmagic reads from the bytes (never from the name)."""
    import magic  # python-magic; needs libmagic1 (system check below)

    detected = magic.from_buffer(content[:DETECT_BYTES], mime=True)
    return (detected or "application/octet-stream").split(";")[0].strip().lower()


def allowed_types() -> Mapping[str, tuple[str, ...]]:
    """Accepted detected types, each with the name extensions that agree.

    HELPDESK_ATTACHMENT_ALLOWED_TYPES is merged over the defaults; a type
    mapped to an empty list is removed. Active types can never be added.
    """
    merged: dict[str, tuple[str, ...]] = {}
    for mime, exts in {**DEFAULT_ALLOWED_TYPES, **settings.HELPDESK_ATTACHMENT_ALLOWED_TYPES}.items():
        if exts and mime.lower() not in ACTIVE_TYPES:
            merged[mime.lower()] = tuple(dict.fromkeys(e.lower().lstrip(".") for e in exts))
    return merged


def _extension_for(detected: str, extensions: tuple[str, ...]) -> str:
    guessed = (mimetypes.guess_extension(detected) or "").lstrip(".")
    return guessed if guessed in extensions else extensions[0]


def _extensions_for(detected: str, allowed: Mapping[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    if detected in allowed:
        return allowed[detected]
    if detected.startswith("text/") and detected not in XML_TYPES and TEXT_FAMILY in allowed:
        return allowed[TEXT_FAMILY]
    return None


def file_check(f: IncomingFile) -> IncomingFile:
    """The file as it will be stored (clean name, detected type), or
    AttachmentRejected saying why not."""
    name = filename_normalise(f.filename)
    if len(f.content) > settings.HELPDESK_ATTACHMENT_MAX_BYTES:
        limit_mb = settings.HELPDESK_ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise AttachmentRejected(f"{name} is larger than the {limit_mb} MB limit.")
    ext = filename_extension(name)
    blocked = {b.lower().lstrip(".") for b in settings.HELPDESK_ATTACHMENT_BLOCKED_EXTENSIONS}
    if ext in blocked:
        raise AttachmentRejected(f"Files of type .{ext} are not accepted ({name}).")
    if not f.content:
        raise AttachmentRejected(f"{name} is empty.")
    detected = content_type_detect(f.content)
    if detected in ACTIVE_TYPES:
        raise AttachmentRejected(
            f"{name} contains web page or script content ({detected}), which is not accepted; "
            "send it inside a .zip or as a PDF."
        )
    allowed = allowed_types()
    extensions = _extensions_for(detected, allowed)
    if extensions is None:
        raise AttachmentRejected(f"{name}: files of this kind ({detected}) are not accepted; send it inside a .zip.")
    if not ext:
        name = f"{name}.{_extension_for(detected, extensions)}"
    elif ext not in extensions:
        raise AttachmentRejected(
            f"{name} is named .{ext} but its content is {detected}; rename it to match what it is."
        )
    return replace(f, filename=name, content_type=detected)


def attachments_validate(files: Sequence[IncomingFile]) -> list[IncomingFile]:
    """Check every file (count, size, name, content type) and return them as
    they will be stored. Raises AttachmentRejected for the first bad one."""
    if len(files) > settings.HELPDESK_ATTACHMENT_MAX_PER_MESSAGE:
        raise AttachmentRejected(f"At most {settings.HELPDESK_ATTACHMENT_MAX_PER_MESSAGE} files per message.")
    return [file_check(f) for f in files]


def served_content_type(*, stored: str, head: bytes) -> str:
    """The type to serve: the stored one only when the bytes still say so
    and it is not active content; application/octet-stream otherwise (rows
    from before this policy stored whatever the client claimed)."""
    stored = (stored or "").split(";")[0].strip().lower()
    if not stored or stored in ACTIVE_TYPES | XML_TYPES or "javascript" in stored:
        return "application/octet-stream"
    if not head or content_type_detect(head) != stored:
        return "application/octet-stream"
    return stored


def attachment_file_response(attachment: "Attachment", *, content_type: str | None = None) -> FileResponse:
    """Serve a stored attachment as a download, never rendered: detected
    type, clean name, nosniff and a sandboxing CSP. Raises FileNotFoundError
    or ValueError when the file is gone."""
    handle = attachment.file.open("rb")
    if content_type is None:
        head = handle.read(DETECT_BYTES)
        handle.seek(0)
        content_type = served_content_type(stored=attachment.content_type, head=head)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=filename_normalise(attachment.filename),
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@checks.register()
def libmagic_check(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """Uploads are checked by content: without libmagic none could be."""
    try:
        detected = content_type_detect(b"%PDF-1.4\n%%EOF\n")
    except (ImportError, OSError) as exc:
        return [
            checks.Error(
                f"libmagic is not usable ({exc}); attachments cannot be checked.",
                hint="Install it: apt-get install libmagic1 (macOS: brew install libmagic).",
                id="tickets.E001",
            )
        ]
    if detected != "application/pdf":
        return [checks.Error(f"libmagic misreads a PDF as {detected}.", id="tickets.E002")]
    return []


@checks.register()
def allowed_types_check(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    """A malformed HELPDESK_ATTACHMENT_ALLOWED_TYPES stops start-up rather
    than failing every upload."""
    value = settings.HELPDESK_ATTACHMENT_ALLOWED_TYPES
    well_formed = isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(e, str) for e in v) for k, v in value.items()
    )
    if well_formed:
        return []
    return [
        checks.Error(
            "HELPDESK_ATTACHMENT_ALLOWED_TYPES must be a JSON object of type -> list of extensions.",
            hint='e.g. {"text/xml": ["xml"], "video/webm": []}',
            id="tickets.E003",
        )
    ]


_IMAGE = ("png", "jpg", "jpeg", "jpe", "gif", "webp", "bmp", "tif", "tiff", "heic", "heif")
_OFFICE_ZIP = ("docx", "xlsx", "pptx", "odt", "ods", "odp")
# .eml too: libmagic names a mail message/rfc822 only when it starts with
# certain headers (Received:, Date:...), text/plain otherwise.
_TEXT = ("txt", "text", "log", "md", "csv", "tsv", "json", "eml")
_OLE = ("doc", "dot", "xls", "xlt", "ppt", "pps", "msg")
# Detected type -> name extensions that agree with it. Images share one
# family (a PNG named .jpg is common and harmless). Office files written by
# some tools are detected as plain zip or OLE, hence the shared entries.
DEFAULT_ALLOWED_TYPES: Mapping[str, tuple[str, ...]] = {
    **{f"image/{t}": _IMAGE for t in ("png", "jpeg", "gif", "webp", "bmp", "x-ms-bmp", "tiff", "heic", "heif")},
    "application/pdf": ("pdf",),
    # libmagic calls a log with commas text/csv and a log of one JSON
    # document application/json: every text name fits every text type.
    "text/plain": _TEXT,
    "text/csv": ("csv", *_TEXT),
    "application/json": ("json", *_TEXT),
    "text/rtf": ("rtf",),
    "application/msword": ("doc", "dot"),
    "application/vnd.ms-excel": ("xls", "xlt"),
    "application/vnd.ms-powerpoint": ("ppt", "pps"),
    "application/vnd.ms-outlook": ("msg",),
    "application/x-ole-storage": _OLE,
    "application/cdfv2": _OLE,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    "application/zip": ("zip", *_OFFICE_ZIP),
    "application/gzip": ("gz", "tgz"),
    "application/x-7z-compressed": ("7z",),
    "application/x-tar": ("tar",),
    "message/rfc822": ("eml", *_TEXT),
    "video/mp4": ("mp4", "m4v"),
    "video/quicktime": ("mov",),
    "video/webm": ("webm",),
}
