"""helpdesk.lib.csp.CSPMiddleware keeps the common case's header per process
and otherwise is django-csp's middleware: the same headers for every kind of
response (docs/security-headers.md)."""

import pytest
from csp.constants import NONCE
from csp.exceptions import CSPNonceError
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from helpdesk.lib.csp import CSPMiddleware
from tests.security.policy import STRICT, directives


def _response(kind: str) -> HttpResponse:
    response = HttpResponse("page")
    if kind == "update":
        response._csp_update = {"script-src": ["https://cdn.example.com"]}
    elif kind == "replace":
        response._csp_replace = {"frame-ancestors": ["https://www.example.com"]}
    elif kind == "config":
        response._csp_config = {"default-src": ["'none'"]}
    elif kind == "exempt":
        response._csp_exempt = True
    elif kind == "report-only":
        response._csp_config_ro = {"default-src": ["'self'"]}
    elif kind == "preset":
        response["Content-Security-Policy"] = "default-src 'none'"
    return response


def _headers(middleware_class, kind: str, *, nonce: bool = False) -> dict[str, str]:
    middleware = middleware_class(lambda request: _response(kind))
    request = RequestFactory().get("/accounts/login/")
    middleware.process_request(request)
    if nonce:
        str(request.csp_nonce)
    response = middleware.process_response(request, _response(kind))
    return {
        name: value
        for name, value in response.items()
        if name in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
    }


@pytest.mark.parametrize("kind", ["plain", "update", "replace", "config", "exempt", "report-only", "preset"])
def test_headers_are_django_csps(kind):
    ours, theirs = _headers(CSPMiddleware, kind), _headers(DjangoCSPMiddleware, kind)
    assert {k: directives(v) for k, v in ours.items()} == {k: directives(v) for k, v in theirs.items()}
    if kind == "plain":
        assert directives(ours["Content-Security-Policy"]) == STRICT
        # Kept: the second response gets the very same string.
        assert _headers(CSPMiddleware, kind) == ours


def test_a_nonce_takes_django_csps_path(settings):
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]}}
    settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["script-src"] = ["'self'", NONCE]
    ours = _headers(CSPMiddleware, "plain", nonce=True)["Content-Security-Policy"]
    assert "'nonce-" in ours
    plain = _headers(CSPMiddleware, "plain")["Content-Security-Policy"]
    assert "'nonce-" not in plain and directives(plain)["script-src"] == "'self'"


def test_settings_changes_are_followed(settings):
    before = _headers(CSPMiddleware, "plain")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    after = _headers(CSPMiddleware, "plain")["Content-Security-Policy"]
    assert before != after and directives(after) == {"default-src": "'none'"}


def test_a_nonce_asked_for_after_the_header_is_an_error():
    middleware = CSPMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    middleware.process_request(request)
    middleware.process_response(request, HttpResponse())
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
