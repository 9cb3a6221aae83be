"""The one check for user-supplied redirect targets (`next` and the like)."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, target: str | None, default: str | None = None) -> str | None:
    """`target` if it stays on this site, else `default`.

    Refuses other hosts, scheme-relative `//host/` and `/\\host` forms and
    non-http schemes (javascript:, data:); over HTTPS an http:// target is
    refused too. Every view reading `next` (or a back link) must use this.
    """
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def safe_next_path(value: str | None) -> str:
    """`value` if it is a path on this site, else "" (no request needed). Only relative paths
    pass (no scheme, no host, no "//" or "/\\"), so a `next` carried in an
    e-mailed link can never send anyone to another site."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set()):
        return ""
    return value
