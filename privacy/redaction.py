"""Pure helpers of the erasure: the placeholder, the pseudonym and the
text scrubber. No queries here."""

import re
from collections.abc import Iterable
from typing import Any

ERASED = "[erased]"
# Free-text and address keys of event payloads (tickets.services writes
# `note` on status changes and time entries, `reason` on assignment and
# queue moves, `comment` on survey responses, `to_email` on assignment).
# The event trigger (privacy migration 0002) allows blanking these only.
EVENT_REDACTABLE_KEYS = ("note", "reason", "comment", "to_email")
# Name parts shorter than this are not scrubbed on their own ("Al" would
# hit "Also"); the full name and the address always are.
MIN_NAME_PART = 3


def pseudonym_email(user_id: int) -> str:
    """`.invalid` is reserved (RFC 2606): mail to it can never be delivered."""
    return f"erased-{user_id}@invalid"


def pseudonym_name(user_id: int) -> str:
    return f"Erased user #{user_id}"


def identifiers_of(*, email: str, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(whole identifiers, name parts) to scrub from text about a person.

    Whole identifiers (the address, its local part when distinctive, full
    names) are replaced wherever they occur; name parts only as words.
    """
    whole = {email.strip()} if email.strip() else set()
    local = email.split("@", 1)[0]
    if len(local) >= MIN_NAME_PART + 2:
        whole.add(local)
    parts: set[str] = set()
    for name in names:
        name = (name or "").strip()
        if not name:
            continue
        whole.add(name)
        parts.update(p for p in re.split(r"[\s,.]+", name) if len(p) >= MIN_NAME_PART)
    return sorted(whole, key=len, reverse=True), sorted(parts, key=len, reverse=True)


def scrub_pattern(whole: list[str], parts: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern for all identifiers (longest first)."""
    alternatives = [re.escape(w) for w in whole] + [rf"\b{re.escape(p)}\b" for p in parts]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None


def scrub(text: str, pattern: re.Pattern[str] | None) -> str:
    if not text or pattern is None:
        return text
    return pattern.sub(ERASED, text)


def scrub_json(value: Any, pattern: re.Pattern[str] | None) -> Any:
    """Scrub every string inside a JSON value (keys kept)."""
    if isinstance(value, str):
        return scrub(value, pattern)
    if isinstance(value, list):
        return [scrub_json(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v, pattern) for k, v in value.items()}
    return value


def redact_event_data(data: dict[str, Any], *, keys: Iterable[str] = EVENT_REDACTABLE_KEYS) -> dict[str, Any]:
    """The payload with each present, non-empty redactable key blanked.

    Empty values stay empty so counts such as "CSAT responses with a
    comment" are the same after the erasure.
    """
    out = dict(data)
    for key in keys:
        if key in out and out[key] not in (None, "", ERASED):
            out[key] = ERASED
    return out
