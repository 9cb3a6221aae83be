"""Webhook signatures (for us and for receivers).

Every delivery carries

    X-Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>

where `body` is the exact bytes of the request body. A receiver recomputes
the HMAC over the raw body with the subscription's secret, compares in
constant time, and rejects timestamps older than a tolerance (default five
minutes), so a captured request cannot be replayed later. Receivers should
also de-duplicate on X-Helpdesk-Delivery (a delivery may arrive twice if
their answer is lost). This module has no Django imports; receivers may
copy it as it is.
"""

import hashlib
import hmac
import time

DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """The header is missing, malformed, stale or does not match."""


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of f"{timestamp}.{body}" with `secret`."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def webhook_signature_header(secret: str, body: bytes, timestamp: int | None = None) -> tuple[int, str]:
    """(timestamp, header value) for a body sent now."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    return ts, f"t={ts},v1={webhook_signature(secret, ts, body)}"


def webhook_signature_verify(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a X-Helpdesk-Signature header against the raw body.

    Returns the signed timestamp; raises SignatureError when the header is
    malformed, the timestamp is further than `tolerance` seconds from now
    (either way), or no v1 signature matches (several v1= values are
    accepted, for secret rotation).
    """
    if not header:
        raise SignatureError("missing signature header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError("bad timestamp") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance")
    expected = webhook_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("signature mismatch")
    return timestamp
