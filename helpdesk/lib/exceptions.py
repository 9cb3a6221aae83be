"""Application errors: raised by services, mapped to HTTP by one handler."""

from typing import Any


class ApplicationError(Exception):
    """A business-rule error with a stable code and an HTTP status."""

    code = "error"
    status_code = 400

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra or {}


class NotFound(ApplicationError):
    code = "not_found"
    status_code = 404


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status_code = 403


class Conflict(ApplicationError):
    code = "conflict"
    status_code = 409
