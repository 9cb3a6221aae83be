"""RFC 6238 codes computed by the tests themselves from the base32 secret
the enrolment page shows (independent of django-otp's implementation)."""

import base64
import hashlib
import hmac
import re
import struct
import time


def totp(secret_b32: str, *, step_offset: int = 0, at: float | None = None) -> str:
    key = base64.b32decode(secret_b32.replace(" ", "").upper())
    counter = int((time.time() if at is None else at) // 30) + step_offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def secret_in(html: str) -> str:
    match = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', html)
    assert match, "the enrolment page shows the key"
    return match.group(1)


def recovery_codes_in(html: str) -> list[str]:
    block = re.search(r'id="recovery-codes">(.*?)</ul>', html, re.S)
    assert block, "the recovery codes are shown"
    return re.findall(r"<code>([a-z2-7]+)</code>", block.group(1))
