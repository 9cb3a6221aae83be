"""Absolute links for e-mails.

A request's host is not known when a mail is rendered by a task, and a
request's Host header is client input, so every link in every e-mail is
built on HELPDESK_BASE_URL (README, configuration table).
"""

from django.conf import settings

DEFAULT_BASE_URL = "http://localhost:8000"


def absolute_url(path: str) -> str:
    """`path` (starting with "/") on the configured public base URL."""
    base = getattr(settings, "HELPDESK_BASE_URL", "") or DEFAULT_BASE_URL
    return base.rstrip("/") + path
