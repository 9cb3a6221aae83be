"""Secrets at rest: Fernet with a key derived from SECRET_KEY."""

import base64

from cryptography.fernet import Fernet, InvalidToken
from django.utils.crypto import salted_hmac


def _fernet() -> Fernet:
    digest = salted_hmac("mail.crypto.fernet", "mailbox-password", algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def secret_decrypt(token: str) -> str:
    """Raises ValueError when the token is not ours (e.g. SECRET_KEY rotated)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("cannot decrypt: SECRET_KEY changed or data corrupt") from exc
