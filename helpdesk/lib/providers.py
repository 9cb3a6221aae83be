"""What an app offers to the apps below it, registered from its own
`AppConfig.ready` (docs/architecture.md). The asking app looks the provider
up by name and does without when no app offers one, so it never imports
the app above it.

* ARTICLE_SUGGEST: fn(*, user, query, limit) -> list of articles
  (knowledge_base, for the agent ticket page's "link an article" search).
* CUSTOMER_TICKET_PANELS: fn(request, ticket, forms) -> list of panel dicts
  (surveys: the rating forms on the portal ticket page).
* REPORT_MAIL: fn(*, recipient, subject, body, dedupe_key) -> outbox row
  or None (mail: metrics' weekly report goes out through it).
"""

from collections.abc import Callable
from typing import Any

ARTICLE_SUGGEST = "article_suggest"
CUSTOMER_TICKET_PANELS = "customer_ticket_panels"
REPORT_MAIL = "report_mail"

_providers: dict[str, Callable[..., Any]] = {}


def provide(name: str, fn: Callable[..., Any]) -> None:
    """Offer `fn` as the provider of `name` (one per name; a later call replaces it)."""
    _providers[name] = fn


def provider(name: str) -> Callable[..., Any] | None:
    return _providers.get(name)
