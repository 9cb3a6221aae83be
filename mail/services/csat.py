"""CSAT: signed one-click rating links and recording the answer."""

from dataclasses import dataclass

from django.core import signing
from django.urls import reverse

from helpdesk.lib.exceptions import ApplicationError
from mail.conf import mail_setting
from tickets import services as ticket_services
from tickets.models import Ticket, TicketEvent

SALT = "mail.csat.v1"


class CsatLinkInvalid(ApplicationError):
    code = "csat_link_invalid"
    status_code = 400


class CsatLinkExpired(CsatLinkInvalid):
    code = "csat_link_expired"


@dataclass(frozen=True)
class CsatClaim:
    ticket_id: int
    rating: int


def csat_token_make(*, ticket_id: int, rating: int) -> str:
    """A signed, timestamped token for one rating of one ticket."""
    if not 1 <= rating <= 5:
        raise ApplicationError("A CSAT rating is 1 to 5.", code="invalid_rating")
    return signing.dumps({"t": ticket_id, "r": rating}, salt=SALT, compress=True)


def csat_url(*, ticket_id: int, rating: int) -> str:
    path = reverse("mail:csat", args=[csat_token_make(ticket_id=ticket_id, rating=rating)])
    return mail_setting("HELPDESK_BASE_URL").rstrip("/") + path


def csat_token_read(token: str) -> CsatClaim:
    """Raises CsatLinkExpired or CsatLinkInvalid (bad signature, shape, value)."""
    max_age = 86400 * mail_setting("HELPDESK_CSAT_MAX_AGE_DAYS")
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise CsatLinkExpired("This rating link has expired.") from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise CsatLinkInvalid("This rating link is not valid.") from exc
    if not isinstance(data, dict):
        raise CsatLinkInvalid("This rating link is not valid.")
    ticket_id, rating = data.get("t"), data.get("r")
    if not isinstance(ticket_id, int) or isinstance(rating, bool) or not isinstance(rating, int):
        raise CsatLinkInvalid("This rating link is not valid.")
    if not 1 <= rating <= 5:
        raise CsatLinkInvalid("This rating link is not valid.")
    if not Ticket.objects.filter(pk=ticket_id, is_deleted=False).exists():
        raise CsatLinkInvalid("This rating link is not valid.")
    return CsatClaim(ticket_id=ticket_id, rating=rating)


def csat_latest(*, ticket_id: int) -> TicketEvent | None:
    return (
        TicketEvent.objects.filter(ticket_id=ticket_id, kind=TicketEvent.Kind.CSAT)
        .order_by("-occurred_at", "-id")
        .first()
    )


def csat_record(*, token: str, rating: int | None = None, comment: str = "") -> TicketEvent:
    """Record the rating of a link (optionally another 1-5 and a comment).

    A later rating replaces the earlier one as a new csat.responded event
    (docs/metrics.md M10 takes the latest). Opening the same link again without
    changing anything writes nothing new. The actor is the requester.
    Raises CsatLinkInvalid/CsatLinkExpired, ApplicationError for bad values.
    """
    claim = csat_token_read(token)
    value = claim.rating if rating is None else rating
    comment = (comment or "").strip()
    latest = csat_latest(ticket_id=claim.ticket_id)
    if latest is not None and latest.data.get("value") == value and not comment:
        return latest
    ticket = Ticket.objects.select_related("requester").get(pk=claim.ticket_id)
    return ticket_services.survey_respond(
        ticket_id=claim.ticket_id, survey="csat", value=value, comment=comment, actor=ticket.requester
    )
