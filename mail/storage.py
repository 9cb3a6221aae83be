"""Raw e-mails in the file storage (local disk or S3, docs/storage.md).

Every read and write of an inbound message's bytes goes through here, so
no caller knows where they live. Rows stored before the move keep their
bytes in the `raw` column and are read from there.
"""

import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from mail.models import InboundMessage, inbound_raw_upload_to

logger = logging.getLogger(__name__)


def raw_save(raw: bytes) -> str:
    """Write `raw` as a new private object; its storage name."""
    return default_storage.save(inbound_raw_upload_to(None, "raw.eml"), ContentFile(raw))  # type: ignore[arg-type]


def inbound_raw(inbound: InboundMessage) -> bytes:
    """The message exactly as received (b"" once erased or lost)."""
    if inbound.raw_file and inbound.raw_file.name:
        try:
            with default_storage.open(inbound.raw_file.name, "rb") as fh:
                return bytes(fh.read())
        except (FileNotFoundError, OSError):
            logger.exception("mail: raw object %s of inbound #%s is missing", inbound.raw_file.name, inbound.pk)
            return b""
    return bytes(inbound.raw or b"")


def raw_names(qs: "object") -> list[str]:
    """Storage names of the raw objects of the rows in `qs` (a queryset)."""
    return [n for n in qs.exclude(raw_file="").values_list("raw_file", flat=True) if n]  # type: ignore[attr-defined]


def raw_delete(names: list[str]) -> None:
    """Delete raw objects (after the rows forgot them: erasure)."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("mail: could not delete raw object %s", name)
