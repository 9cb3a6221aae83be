"""The NPS relationship survey (docs/surveys.md, "NPS relationship survey").

Configuration (HelpdeskSetting `surveys.nps`, written through
tickets.config so the page, the API and the config file validate and audit
it alike), who is due, writing the outbox rows exactly once, the signed
answer links and recording answers. Offers and answers are customer-level
events (ticket NULL) written by tickets.services.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.language import recipient_language
from accounts.models import User
from helpdesk.lib.exceptions import ApplicationError
from mail.conf import mail_setting
from mail.models import Notification, NotificationPreference
from tickets import services as ticket_services
from tickets.models import HelpdeskSetting, TicketEvent

KEY = "surveys.nps"
SALT = "surveys.nps.v1"
PER = ("customer", "organisation")
AUDIENCES = ("solved_within", "all")
DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "interval_days": 90,
    "per": "customer",
    "audience": "solved_within",
    "audience_days": 90,
}
NK = Notification.Kind


class NpsLinkInvalid(ApplicationError):
    code = "survey_link_invalid"
    status_code = 400


# --- configuration ----------------------------------------------------------------


def _days_problem(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        return "a whole number of days from 1 to 3650"
    return None


def nps_config_problems(value: Any) -> dict[str, list[str]]:
    """Field -> messages for a `surveys.nps` document (every key optional)."""
    if not isinstance(value, dict):
        return {"": ["must be an object"]}
    out: dict[str, list[str]] = {}
    for key in sorted(set(value) - set(DEFAULTS)):
        out.setdefault(key, []).append("unknown setting")
    if "enabled" in value and not isinstance(value["enabled"], bool):
        out.setdefault("enabled", []).append("true or false")
    for key in ("interval_days", "audience_days"):
        if key in value and (problem := _days_problem(value[key])):
            out.setdefault(key, []).append(problem)
    if "per" in value and value["per"] not in PER:
        out.setdefault("per", []).append("one of: " + ", ".join(PER))
    if "audience" in value and value["audience"] not in AUDIENCES:
        out.setdefault("audience", []).append("one of: " + ", ".join(AUDIENCES))
    return out


def nps_config() -> dict[str, Any]:
    """The effective configuration (stored keys over the defaults)."""
    stored = HelpdeskSetting.objects.filter(key=KEY).values_list("value", flat=True).first()
    return {**DEFAULTS, **(stored if isinstance(stored, dict) else {})}


def nps_config_save(value: dict[str, Any]) -> str:
    """Store a validated document merged over the current one (the caller
    validated it); one audited HelpdeskSetting row. Returns create, update
    or unchanged."""
    wanted = {**nps_config(), **value}
    row = HelpdeskSetting.objects.filter(key=KEY).first()
    if row is None:
        HelpdeskSetting.objects.create(key=KEY, value=wanted)
        return "create"
    if row.value == wanted:
        return "unchanged"
    row.value = wanted
    row.save(update_fields=["value", "updated_at"])
    return "update"


# --- who is due ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    key: str  # "customer:<id>" or "organisation:<id>": the at-most-every-N-days unit
    customer_id: int
    organisation_id: int | None


def _audience(config: dict[str, Any], now: datetime) -> Any:
    """Customers who may be asked: not deactivated by staff (unclaimed
    e-mail customers are asked too; answering needs no sign-in)."""
    qs = User.objects.filter(role=User.Role.CUSTOMER).exclude(email="")
    qs = qs.filter(Q(is_active=True) | Q(last_login__isnull=True, email_confirmed_at__isnull=True))
    solved = Q(requested_tickets__is_spam=False, requested_tickets__is_deleted=False)
    if config["audience"] == "solved_within":
        since = now - timedelta(days=config["audience_days"])
        solved &= Q(requested_tickets__solved_at__gte=since)
        qs = qs.filter(solved)
    return qs.annotate(last_solved=Max("requested_tickets__solved_at", filter=solved)).distinct()


def nps_targets(*, config: dict[str, Any], now: datetime) -> list[Target]:
    """One target per customer, or per organisation (its member with the
    latest solved ticket; customers without one are asked as themselves)."""
    rows = _audience(config, now).order_by("pk").values_list("pk", "organisation_id", "last_solved")
    if config["per"] == "customer":
        return [Target(f"customer:{pk}", pk, org) for pk, org, _ in rows]
    best: dict[int, tuple[Any, int]] = {}
    out: list[Target] = []
    floor = datetime.min.replace(tzinfo=now.tzinfo)
    for pk, org, last in rows:
        if org is None:
            out.append(Target(f"customer:{pk}", pk, None))
        elif org not in best or (last or floor, -pk) > (best[org][0] or floor, -best[org][1]):
            best[org] = (last, pk)
    out.extend(Target(f"organisation:{org}", pk, org) for org, (_last, pk) in sorted(best.items()))
    return out


# --- sending ------------------------------------------------------------------------


def _recently_asked(key: str, since: datetime) -> bool:
    return (
        Notification.objects.filter(kind=NK.NPS_SURVEY, dedupe_key__startswith=key + ":", created_at__gte=since)
        .exclude(status=Notification.Status.FAILED)
        .exists()
    )


def nps_url(*, customer_id: int, notification_id: int, value: int | None = None) -> str:
    token = signing.dumps({"c": customer_id, "n": notification_id, "v": value}, salt=SALT, compress=True)
    return mail_setting("HELPDESK_BASE_URL").rstrip("/") + reverse("surveys:nps", args=[token])


def _render(notification: Notification, customer: User) -> str:
    links = [(v, nps_url(customer_id=customer.pk, notification_id=notification.pk, value=v)) for v in range(11)]
    with translation.override(recipient_language(customer)):  # docs/languages.md, E-mails
        return render_to_string("mail/nps_survey.txt", {"recipient": customer, "links": links}).strip() + "\n"


def _subject(customer: User) -> str:
    with translation.override(recipient_language(customer)):
        return gettext("How likely are you to recommend us?")


def nps_offer_write(*, target: Target, config: dict[str, Any], now: datetime) -> Notification | None:
    """Write the target's survey to the outbox unless it was asked within
    interval_days. Exactly once under concurrency: a transaction-scoped
    advisory lock per target serialises two runs, and the second sees the
    first's row; the unique dedupe_key backs it up."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{KEY}:{target.key}"])
        if _recently_asked(target.key, now - timedelta(days=config["interval_days"])):
            return None
        customer = User.objects.get(pk=target.customer_id)
        if NotificationPreference.objects.filter(user=customer, kind=NK.NPS_SURVEY, enabled=False).exists():
            return None
        try:
            with transaction.atomic():
                n = Notification.objects.create(
                    recipient=customer,
                    to_email=customer.email,
                    kind=NK.NPS_SURVEY,
                    subject=_subject(customer),
                    body="",
                    dedupe_key=f"{target.key}:{now.date().isoformat()}",
                )
        except IntegrityError:
            return None
        n.body = _render(n, customer)
        n.save(update_fields=["body"])
        from mail.services.outbox import notifications_enqueue

        pk = n.pk
        transaction.on_commit(lambda: notifications_enqueue([pk]))
        return n


def nps_send_due(*, now: datetime | None = None) -> int:
    """The periodic task's work: survey every target not asked within
    interval_days. Returns how many rows were written."""
    config = nps_config()
    if not config["enabled"]:
        return 0
    now = now or timezone.now()
    return sum(1 for t in nps_targets(config=config, now=now) if nps_offer_write(target=t, config=config, now=now))


def nps_offer_sent(notification: Notification) -> TicketEvent:
    """The `survey.offered` event of a sent survey (outbox delivery calls it
    in the transaction that marks the row sent)."""
    org = User.objects.filter(pk=notification.recipient_id).values_list("organisation_id", flat=True).first()
    return ticket_services.relationship_survey_offer(
        customer_id=notification.recipient_id, organisation_id=org, notification_id=notification.pk
    )


# --- answering ------------------------------------------------------------------------


@dataclass(frozen=True)
class NpsClaim:
    customer: User
    notification_id: int
    value: int | None


def nps_token_read(token: str) -> NpsClaim:
    """Raises NpsLinkInvalid (forged, tampered, expired, unknown customer)."""
    max_age = 86400 * mail_setting("HELPDESK_CSAT_MAX_AGE_DAYS")
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise NpsLinkInvalid(gettext("This survey link has expired.")) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise NpsLinkInvalid(gettext("This survey link is not valid.")) from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("n"), int):
        raise NpsLinkInvalid(gettext("This survey link is not valid."))
    value = data.get("v")
    customer = User.objects.filter(pk=data["c"], role=User.Role.CUSTOMER).first()
    if customer is None or (value is not None and (not isinstance(value, int) or not 0 <= value <= 10)):
        raise NpsLinkInvalid(gettext("This survey link is not valid."))
    return NpsClaim(customer=customer, notification_id=data["n"], value=value)


def nps_answer(*, token: str, value: Any, comment: str = "") -> TicketEvent:
    """Record the answer of a survey link (POST only). The same value again
    without a comment writes nothing new (a double click)."""
    from surveys.services import survey_value_check

    claim = nps_token_read(token)
    number = survey_value_check("nps", value)
    comment = (comment or "").strip()[:2000]
    latest = (
        TicketEvent.objects.filter(ticket__isnull=True, kind=TicketEvent.Kind.NPS, actor=claim.customer)
        .order_by("-occurred_at", "-id")
        .first()
    )
    same = latest is not None and (latest.data.get("value"), latest.data.get("notification_id")) == (
        number,
        claim.notification_id,
    )
    if latest is not None and same and not comment:
        return latest
    return ticket_services.relationship_survey_respond(
        customer=claim.customer,
        value=number,
        comment=comment,
        organisation_id=claim.customer.organisation_id,
        notification_id=claim.notification_id,
    )


def _section_problems(value: dict[str, Any]) -> list[tuple[str, str]]:
    """The config file's `surveys` section: `{nps: {...}}` (tickets.config)."""
    problems = [(key, "unknown key (known: nps)") for key in value if key != "nps"]
    if "nps" in value:
        for name, messages in nps_config_problems(value["nps"]).items():
            problems.extend((f"nps.{name}" if name else "nps", message) for message in messages)
    return problems


def _section_apply(value: dict[str, Any]) -> list[tuple[str, str]]:
    return [("nps", nps_config_save(value["nps"]))] if "nps" in value else []


def _section_dump() -> dict[str, Any] | None:
    if HelpdeskSetting.objects.filter(key=KEY).exists():
        return {"nps": nps_config()}
    return None


def config_section_register() -> None:
    from tickets.config import ConfigSection, config_section_register

    config_section_register(
        "surveys", ConfigSection(problems=_section_problems, apply=_section_apply, dump=_section_dump)
    )
