"""Attachment download: access-checked, always as a download."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from tickets import selectors
from tickets.attachments import attachment_file_response


@require_GET
@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """Serve an attachment the user may see (404 otherwise), never inline,
    under the type its bytes show (tickets.attachments.served_content_type)."""
    attachment = selectors.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    try:
        return attachment_file_response(attachment)
    except (FileNotFoundError, ValueError):
        raise Http404("No such file.") from None
