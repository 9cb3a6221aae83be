"""Surveys: which surveys a ticket gets, signed rating links, and recording
answers. Every offer and answer is a ticket event written by
tickets.services (survey_offer / survey_respond): the event log stays the
only source the metrics read (docs/surveys.md).
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from tickets import services as ticket_services
from tickets.models import QueueKind, Ticket, TicketEvent

# Read at call time; the same defaults as the mail channel's (mail.conf),
# which sends these links: surveys sit below mail and do not import it.
_DEFAULTS = {"HELPDESK_BASE_URL": "http://localhost:8000", "HELPDESK_CSAT_MAX_AGE_DAYS": 30}


def _setting(name: str) -> Any:
    return getattr(settings, name, _DEFAULTS[name])


SALT = "surveys.link.v1"

# survey -> (scale, lowest, highest) of the answers a link or form carries.
SCALES: dict[str, tuple[str, int, int]] = {"csat": ("1-5", 1, 5), "ces": ("1-7", 1, 7), "nps": ("0-10", 0, 10)}
QUESTIONS: dict[str, str | Promise] = {
    "csat": _("How would you rate the help you received?"),
    "ces": _("How easy was it to get your issue solved?"),
    "nps": _("How likely are you to recommend us to a friend or colleague?"),
}
LABELS: dict[str, dict[int, str | Promise]] = {
    "csat": {5: _("Great"), 4: _("Good"), 3: _("Okay"), 2: _("Poor"), 1: _("Bad")},
    "ces": {
        7: _("Very easy"),
        6: _("Easy"),
        5: _("Fairly easy"),
        4: _("Neither"),
        3: _("Fairly hard"),
        2: _("Hard"),
        1: _("Very hard"),
    },
    "nps": {10: _("Extremely likely"), 0: _("Not at all likely")},
}
KIND_OF = {"csat": TicketEvent.Kind.CSAT, "ces": TicketEvent.Kind.CES, "nps": TicketEvent.Kind.NPS}


class SurveyLinkInvalid(ApplicationError):
    code = "survey_link_invalid"
    status_code = 400


class SurveyLinkExpired(SurveyLinkInvalid):
    code = "survey_link_expired"


class SurveyNotOpen(ApplicationError):
    code = "survey_not_open"
    status_code = 409


@dataclass(frozen=True)
class SurveyClaim:
    ticket_id: int
    survey: str
    value: int


def surveys_for_ticket(*, ticket: Ticket) -> list[str]:
    """The after-resolution surveys of a ticket: CSAT always, CES only on
    support queues (M15 is a support-side measure, docs/surveys.md)."""
    return ["csat", "ces"] if ticket.kind == QueueKind.SUPPORT else ["csat"]


def survey_value_check(survey: str, value: Any) -> int:
    """The answer as an int inside the survey's scale, else ApplicationError."""
    if survey not in SCALES:
        raise ApplicationError(gettext("Unknown survey '%(survey)s'.") % {"survey": survey}, code="invalid_survey")
    _, low, high = SCALES[survey]
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or not low <= number <= high:
        raise ApplicationError(
            gettext("Choose a whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
            code="invalid_rating",
        )
    return number


def survey_token_make(*, ticket_id: int, survey: str, value: int) -> str:
    """A signed, timestamped token naming one answer of one survey."""
    survey_value_check(survey, value)
    return signing.dumps({"t": ticket_id, "s": survey, "v": value}, salt=SALT, compress=True)


def survey_url(*, ticket_id: int, survey: str, value: int) -> str:
    path = reverse("surveys:rate", args=[survey_token_make(ticket_id=ticket_id, survey=survey, value=value)])
    return _setting("HELPDESK_BASE_URL").rstrip("/") + path


def survey_links(*, ticket: Ticket, survey: str) -> list[tuple[int, str, str]]:
    """(value, label, url) for every answer, best first, for an e-mail."""
    _, low, high = SCALES[survey]
    return [
        (v, str(LABELS[survey].get(v, "")), survey_url(ticket_id=ticket.pk, survey=survey, value=v))
        for v in range(high, low - 1, -1)
    ]


def survey_token_read(token: str) -> SurveyClaim:
    """Raises SurveyLinkExpired or SurveyLinkInvalid. Reads, never writes."""
    max_age = 86400 * _setting("HELPDESK_CSAT_MAX_AGE_DAYS")
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise SurveyLinkExpired(gettext("This rating link has expired.")) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise SurveyLinkInvalid(gettext("This rating link is not valid.")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or data.get("s") not in SCALES:
        raise SurveyLinkInvalid(gettext("This rating link is not valid."))
    try:
        value = survey_value_check(data["s"], data.get("v"))
    except ApplicationError as exc:
        raise SurveyLinkInvalid(gettext("This rating link is not valid.")) from exc
    if not isinstance(data.get("v"), int) or not Ticket.objects.filter(pk=data["t"], is_deleted=False).exists():
        raise SurveyLinkInvalid(gettext("This rating link is not valid."))
    return SurveyClaim(ticket_id=data["t"], survey=data["s"], value=value)


def survey_latest(*, ticket_id: int, survey: str) -> TicketEvent | None:
    return TicketEvent.objects.filter(ticket_id=ticket_id, kind=KIND_OF[survey]).order_by("-occurred_at", "-id").first()


def survey_answer(*, ticket: Ticket, survey: str, value: Any, comment: str, actor: User) -> TicketEvent:
    """Record one answer as `<survey>.responded` (a later one supersedes it,
    M10/M15 take the latest, docs/surveys.md). The same value again without a
    comment writes nothing new (a double click). Raises SurveyNotOpen when
    the ticket is not resolved or the survey does not apply to it."""
    if not ticket.is_resolved:
        raise SurveyNotOpen(gettext("You can rate a request once it is solved."))
    if survey not in surveys_for_ticket(ticket=ticket):
        raise SurveyNotOpen(gettext("This survey is not asked for this request."))
    number = survey_value_check(survey, value)
    comment = (comment or "").strip()[:2000]
    latest = survey_latest(ticket_id=ticket.pk, survey=survey)
    if latest is not None and latest.data.get("value") == number and not comment:
        return latest
    return ticket_services.survey_respond(
        ticket_id=ticket.pk, survey=survey, value=number, scale=SCALES[survey][0], comment=comment, actor=actor
    )


def survey_answer_from_link(*, token: str, value: Any = None, comment: str = "") -> TicketEvent:
    """Record the answer of a rating link (POST only: the view never calls
    this on GET, so a mail scanner that prefetches the link records
    nothing). The actor is the ticket's requester."""
    claim = survey_token_read(token)
    ticket = Ticket.objects.select_related("requester").get(pk=claim.ticket_id)
    chosen = claim.value if value in (None, "") else value
    return survey_answer(ticket=ticket, survey=claim.survey, value=chosen, comment=comment, actor=ticket.requester)


def surveys_offer_on_solved(*, ticket_id: int) -> list[TicketEvent]:
    """Record `survey.offered` for each after-resolution survey of the
    ticket (called when the solved e-mail with the links is sent)."""
    ticket = Ticket.objects.get(pk=ticket_id)
    return [ticket_services.survey_offer(ticket_id=ticket_id, survey=s) for s in surveys_for_ticket(ticket=ticket)]


def solved_mail_links(*, ticket: Any) -> list[tuple[int, str, str]]:
    """The CES answer links of a solved ticket's e-mail (support queues only)."""
    return survey_links(ticket=ticket, survey="ces") if "ces" in surveys_for_ticket(ticket=ticket) else []


def notification_sent(notification: Any) -> None:
    """A sent "solved" e-mail offers CSAT/CES; a sent NPS e-mail offers NPS
    (helpdesk.lib.providers.NOTIFICATION_SENT, in the outbox's transaction)."""
    from mail.models import Notification
    from surveys.nps import nps_offer_sent

    if notification.kind == Notification.Kind.SOLVED:
        surveys_offer_on_solved(ticket_id=notification.ticket_id)
    elif notification.kind == Notification.Kind.NPS_SURVEY:
        nps_offer_sent(notification)
