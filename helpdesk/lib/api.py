"""DRF glue: every error is JSON with a stable code, a message and details.

Also: the error schema every operation documents (AutoSchema) and the
cursor pagination (keyset, never OFFSET). The throttle lives in
apikeys.throttle (DRF imports it while defining APIView).
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from helpdesk.lib.exceptions import ApplicationError

# --- Errors ----------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `invalid`, `invalid_transition`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.DictField(
        child=serializers.JSONField(), help_text="Field errors ({field: [messages]}) or extra facts."
    )


def _details(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return data
    return {"non_field_errors": data if isinstance(data, list) else [data]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        body = {"code": exc.code, "message": exc.message, "details": exc.extra}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        details = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(
            {"code": "invalid", "message": _("Invalid input."), "details": details},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"code": "invalid", "message": _("Invalid input."), "details": _details(response.data)}
    elif isinstance(exc, exceptions.Throttled):
        response.data = {
            "code": "throttled",
            "message": _("Too many requests; retry later."),
            "details": {"retry_after": getattr(exc, "wait", None)},
        }
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = getattr(detail, "code", None) or exc.default_code
        if isinstance(detail, dict | list):
            message, details = str(exc.default_detail), _details(detail)
        else:
            message, details = str(detail), {}
        response.data = {"code": str(code), "message": message, "details": details}
    return response


class AutoSchema(SpectacularAutoSchema):
    """Documents the error answers every operation can give, so clients (and
    schemathesis) know each status: 400 on write or filtered reads, 401,
    403, 404 on objects, 409 and 415 on commands, 429."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes += ["409", "415"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return responses


# --- Pagination --------------------------------------------------------------


class IdCursorPagination(CursorPagination):
    """Keyset pages on `-id`: `?cursor=` is opaque and, the id being unique,
    DRF's cursor never needs its tie-breaking offset (no OFFSET scans)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Any) -> Any:
        """A garbled cursor is bad input (400 `invalid`), not a missing page."""
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            raise exceptions.ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None
