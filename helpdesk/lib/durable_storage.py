"""The local-disk storage, made durable: a file is on disk before its row commits.

Django's FileSystemStorage leaves written bytes in the page cache; a crash
after the database row (the inbound message, the attachment) commits could
keep the row and lose the file. Inbound mail is acknowledged to the mail
server (`\\Seen`) once its row commits, so the bytes must be synced first:
the file and its directory entry (docs/storage.md, "Durability").
"""

import os
from typing import Any

from django.core.files.storage import FileSystemStorage


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DurableFileSystemStorage(FileSystemStorage):
    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        name = super().save(name, content, max_length=max_length)
        path = self.path(name)
        _fsync_path(path)
        _fsync_path(os.path.dirname(path))
        return name
