"""Attachment download: access-checked, always as a download."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from tickets import selectors

# Types a browser might render or execute even from a download link.
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")


@require_GET
@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """Serve an attachment the user may see (404 otherwise), never inline."""
    attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404("No such file.") from None
    content_type = (attachment.content_type or "").split(";")[0].strip().lower()
    if not content_type or "javascript" in content_type or content_type in ACTIVE_TYPES:
        content_type = "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=attachment.filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
