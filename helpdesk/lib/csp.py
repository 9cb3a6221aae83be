"""django-csp's middleware with the common case's headers built once per
process (docs/security-headers.md).

django-csp builds both policies from settings on every response (a copy of
every directive, a dataclass `asdict`, which deep-copies, and the join):
about a tenth of the CPU of a small page such as the sign-in page. A
response that carries no per-view policy (`csp_update`, `csp_replace`,
`_csp_config`, `_csp_exempt`, their report-only twins) and whose request
used no nonce gets the same two strings every time, so they are kept; any
other response takes django-csp's own path unchanged. A settings change
(tests) drops the kept strings.
"""

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as _CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.http import HttpRequest
from django.http.response import HttpResponseBase

# Set by csp.decorators or by a view (tickets/embed.py): the policy is per response.
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)
# (header, value, excluded path prefixes) per header; None until first built.
_KEPT: list[tuple[str, str, tuple[str, ...]]] | None = None


def _policies() -> list[tuple[str, str, tuple[str, ...]]]:
    global _KEPT  # a per-process memo, dropped on a settings change
    if _KEPT is None:
        kept = []
        for header, setting, report_only in (
            (HEADER, "CONTENT_SECURITY_POLICY", False),
            (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True),
        ):
            value = build_policy(report_only=report_only)
            if value:
                prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
                kept.append((header, value, tuple(prefixes)))
        _KEPT = kept
    return _KEPT


def _forget(*, setting: str, **_: object) -> None:
    global _KEPT  # a per-process memo, dropped on a settings change
    if setting in ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY", "DEBUG"):
        _KEPT = None


setting_changed.connect(_forget, dispatch_uid="helpdesk_csp_forget")


class CSPMiddleware(_CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if getattr(request, "_csp_nonce", None) is not None or any(
            getattr(response, name, None) is not None for name in _PER_RESPONSE
        ):
            return super().process_response(request, response)
        if response.status_code in (500, 404) and settings.DEBUG:
            return response  # django-csp leaves Django's debug pages alone
        for header, value, prefixes in _policies():
            if header not in response and not request.path_info.startswith(prefixes):
                response[header] = value
        # As django-csp: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
