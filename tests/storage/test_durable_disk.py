"""The embedded local-disk storage syncs a file and its directory before the
row that names it commits (docs/storage.md, "Durability")."""

import os

from django.core.files.base import ContentFile

from helpdesk.lib.durable_storage import DurableFileSystemStorage
from mail.storage import raw_save


def _spy_fsync(monkeypatch) -> list[str]:
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_a_saved_file_and_its_directory_are_synced(tmp_path, monkeypatch):
    synced = _spy_fsync(monkeypatch)
    storage = DurableFileSystemStorage(location=str(tmp_path))
    name = storage.save("mail/raw/2026/12/x.eml", ContentFile(b"From: a@b.test\r\n\r\nhi"))
    path = os.path.realpath(storage.path(name))
    assert path in synced
    assert os.path.dirname(path) in synced
    with open(path, "rb") as fh:
        assert fh.read().endswith(b"hi")


def test_the_default_storage_syncs_raw_mail(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path)
    synced = _spy_fsync(monkeypatch)
    name = raw_save(b"From: a@b.test\r\n\r\nbody")
    assert any(p.endswith(name) for p in synced), synced
