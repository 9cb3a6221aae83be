"""Read side of the customer success view (docs/customer-success.md).

An *account* is an organisation, or a customer without one. Every input of
the health indicator is one grouped query over the period, the same for the
list and for one account's page, so the two always agree.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby
from typing import Any

from django.db.models import Count, Max, Q, QuerySet
from django.utils.formats import date_format

from accounts.models import Organisation, User
from metrics.models import TicketMetrics
from metrics.surveys import Window, csat_satisfied, relationship_nps_load, survey_report, ticket_surveys
from success.health import STALE_OPEN_DAYS, Health, Inputs, health
from tickets import selectors as ticket_selectors
from tickets.models import REOPEN_EVENT, Message, Ticket, TicketEvent

Key = tuple[str, int]  # ("org", organisation id) or ("customer", user id)
ORG, CUSTOMER = "org", "customer"


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime  # half-open [start, end)

    @property
    def before(self) -> "Period":
        return Period(start=self.start - (self.end - self.start), end=self.start)


@dataclass
class Account:
    key: Key
    name: str
    email: str
    inputs: Inputs
    health: Health

    @property
    def kind(self) -> str:
        return self.key[0]

    @property
    def pk(self) -> int:
        return self.key[1]


def key_parse(kind: str, pk: int) -> Key | None:
    return (kind, pk) if kind in (ORG, CUSTOMER) else None


def _live_tickets() -> QuerySet[Ticket]:
    return Ticket.objects.filter(is_spam=False, is_deleted=False, merged_into__isnull=True)


def _scoped(qs: QuerySet[Any], prefix: str, only: Key | None) -> QuerySet[Any]:
    if only is None:
        return qs
    if only[0] == ORG:
        return qs.filter(**{f"{prefix}organisation_id": only[1]})
    return qs.filter(**{f"{prefix}organisation__isnull": True, f"{prefix}requester_id": only[1]})


def _grouped(qs: QuerySet[Any], prefix: str, **aggregates: Any) -> dict[Key, dict[str, Any]]:
    """One grouped query per account kind: by organisation, and by requester
    for tickets without an organisation."""
    out: dict[Key, dict[str, Any]] = {}
    org_field, req_field = f"{prefix}organisation_id", f"{prefix}requester_id"
    for row in qs.filter(**{f"{org_field}__isnull": False}).values(org_field).annotate(**aggregates).order_by():
        out[(ORG, row.pop(org_field))] = row
    no_org = qs.filter(**{f"{prefix}organisation_id__isnull": True})
    for row in no_org.values(req_field).annotate(**aggregates).order_by():
        out[(CUSTOMER, row.pop(req_field))] = row
    return out


def _ticket_counts(period: Period, now: datetime, only: Key | None) -> dict[Key, dict[str, Any]]:
    before = period.before
    stale = now - timedelta(days=STALE_OPEN_DAYS)
    return _grouped(
        _scoped(_live_tickets(), "", only),
        "",
        created=Count("id", filter=Q(created_at__gte=period.start, created_at__lt=period.end)),
        created_before=Count("id", filter=Q(created_at__gte=before.start, created_at__lt=before.end)),
        open_now=Count("id", filter=Q(status__in=Ticket.UNSOLVED)),
        stale_open=Count("id", filter=Q(status__in=Ticket.UNSOLVED, created_at__lt=stale)),
    )


def _event_counts(period: Period, only: Key | None) -> dict[Key, dict[str, Any]]:
    events = TicketEvent.objects.filter(
        occurred_at__gte=period.start,
        occurred_at__lt=period.end,
        ticket__is_spam=False,
        ticket__is_deleted=False,
    )
    reopen = REOPEN_EVENT  # the index predicate of event_kind_time implies it
    escalation = Q(kind=TicketEvent.Kind.QUEUE, data__escalation=True)
    return _grouped(
        _scoped(events.filter(reopen | escalation), "ticket__", only),
        "ticket__",
        reopens=Count("id", filter=reopen),
        escalations=Count("id", filter=escalation),
    )


def _breaches(period: Period, only: Key | None) -> dict[Key, dict[str, Any]]:
    def breached(name: str) -> Q:
        return Q(
            **{
                f"{name}_outcome": "breached",
                f"{name}_outcome_at__gte": period.start,
                f"{name}_outcome_at__lt": period.end,
            }
        )

    ids = TicketMetrics.objects.filter(breached("sla_first_reply") | breached("sla_resolution")).values("ticket_id")
    return _grouped(_scoped(_live_tickets().filter(pk__in=ids), "", only), "", sla_breaches=Count("id"))


def _last_contact(only: Key | None) -> dict[Key, dict[str, Any]]:
    """The latest public message either way (automated mail is not contact)."""
    messages = Message.objects.filter(visibility=Message.Visibility.PUBLIC, is_automated=False)
    return _grouped(_scoped(messages, "ticket__", only), "ticket__", last_contact_at=Max("created_at"))


def _relationship_owner(r: Any) -> Key | None:
    if r.organisation_id:
        return (ORG, r.organisation_id)
    return (CUSTOMER, r.customer_id) if r.customer_id else None


def _surveys(period: Period, only: Key | None) -> dict[Key, dict[str, Any]]:
    """CSAT, CES and NPS per account, by the survey definitions of
    docs/surveys.md (latest response per ticket; NPS latest per customer,
    relationship-survey answers included)."""
    window = Window(start=period.start, end=period.end)
    ids = ticket_selectors.ticket_ids_with_survey_events(start=period.start, end=period.end)
    owners = {
        t["id"]: ((ORG, t["organisation_id"]) if t["organisation_id"] else (CUSTOMER, t["requester_id"]))
        for t in _scoped(Ticket.objects.filter(pk__in=ids), "", only).values("id", "organisation_id", "requester_id")
    }
    per_account: dict[Key, list[Any]] = defaultdict(list)
    events = ticket_selectors.ticket_events_for_metrics(ticket_ids=list(owners))
    for tid, evs in groupby(events, key=lambda e: e[0]):
        per_account[owners[tid]].append(ticket_surveys(tid, list(evs)))
    relationship: dict[Key, list[Any]] = defaultdict(list)
    for r in relationship_nps_load(window=window):
        key = _relationship_owner(r)
        if key is not None and (only is None or key == only):
            relationship[key].append(r)
    out: dict[Key, dict[str, Any]] = {}
    for key in {*per_account, *relationship}:
        report = survey_report(per_account.get(key, []), window, relationship.get(key, []))
        csat = report["responses"]["csat"]
        ces, nps = report["ces"]["all"], report["nps"]
        out[key] = {
            "csat_responses": len(csat),
            "csat_satisfied": sum(1 for r in csat if csat_satisfied(r)),
            "ces_responses": ces.get("n", 0),
            "ces_mean": ces.get("mean_score"),
            "nps_responses": nps.get("n", 0),
            "nps": nps.get("nps"),
        }
    return out


def account_inputs(period: Period, *, now: datetime, only: Key | None = None) -> dict[Key, Inputs]:
    """Every account with tickets (or `only` that one), with its inputs."""
    sources: Iterable[dict[Key, dict[str, Any]]] = (
        _ticket_counts(period, now, only),
        _event_counts(period, only),
        _breaches(period, only),
        _last_contact(only),
        _surveys(period, only),
    )
    inputs: dict[Key, Inputs] = defaultdict(Inputs)
    for source in sources:
        for key, values in source.items():
            for name, value in values.items():
                setattr(inputs[key], name, value)
    return dict(inputs)


def _relevant(key: Key, inputs: Inputs) -> bool:
    """Organisations are always listed; a customer without one only when
    they wrote in the period or have a ticket open."""
    return key[0] == ORG or bool(inputs.created or inputs.open_now)


def _names(keys: Iterable[Key]) -> dict[Key, tuple[str, str]]:
    keys = list(keys)
    orgs = [pk for kind, pk in keys if kind == ORG]
    people = [pk for kind, pk in keys if kind == CUSTOMER]
    names: dict[Key, tuple[str, str]] = {}
    for org in Organisation.objects.filter(pk__in=orgs).only("id", "name", "domain"):
        names[(ORG, org.pk)] = (org.name, org.domain)
    for user in User.objects.filter(pk__in=people).only("id", "name", "email", "first_name", "last_name"):
        names[(CUSTOMER, user.pk)] = (user.display_name, user.email)
    return names


def account_list(period: Period, *, now: datetime) -> list[Account]:
    """All accounts, riskiest first (lowest score, then longest silence)."""
    inputs = {k: v for k, v in account_inputs(period, now=now).items() if _relevant(k, v)}
    for org_id in Organisation.objects.values_list("id", flat=True):
        inputs.setdefault((ORG, org_id), Inputs())
    names = _names(inputs)
    accounts = [
        Account(
            key=k, name=names.get(k, ("?", ""))[0], email=names.get(k, ("", ""))[1], inputs=v, health=health(v, now=now)
        )
        for k, v in inputs.items()
        if k in names
    ]
    oldest = datetime.min.replace(tzinfo=now.tzinfo)
    accounts.sort(key=lambda a: (a.health.score, a.inputs.last_contact_at or oldest, a.name.lower()))
    return accounts


def account_get(key: Key, period: Period, *, now: datetime) -> Account | None:
    names = _names([key])
    if key not in names:
        return None
    inputs = account_inputs(period, now=now, only=key).get(key, Inputs())
    name, email = names[key]
    return Account(key=key, name=name, email=email, inputs=inputs, health=health(inputs, now=now))


def account_tickets_for_user(key: Key, *, user: Any) -> QuerySet[Ticket]:
    """The account's tickets that `user` may open (tickets.policy decides)."""
    return _scoped(ticket_selectors.ticket_list_for_user(user=user), "", key).order_by("-created_at", "-id")


def account_contacts(key: Key) -> QuerySet[User]:
    if key[0] == ORG:
        return User.objects.filter(organisation_id=key[1], role=User.Role.CUSTOMER, is_active=True).order_by(
            "name", "email"
        )
    return User.objects.filter(pk=key[1], role=User.Role.CUSTOMER)


Bucket = tuple[str, Period]


def _median(values: list[float]) -> float | None:
    from statistics import median

    return median(values) if values else None


def account_trend(key: Key, buckets: list[Bucket], *, now: datetime) -> list[dict[str, Any]]:
    """Per bucket (e.g. month): created, median first reply and full
    resolution (calendar seconds, tickets created in the bucket), and the
    health inputs of that bucket (surveys, reopens, escalations, breaches)."""
    rows = []
    for label, period in buckets:
        ids = _scoped(_live_tickets(), "", key).filter(created_at__gte=period.start, created_at__lt=period.end)
        metrics = TicketMetrics.objects.filter(ticket_id__in=ids.values("id"), excluded=False)
        frt = [float(v) for (v,) in metrics.values_list("frt_cal_s") if v is not None]
        res = [float(v) for (v,) in metrics.values_list("full_resolution_cal_s") if v is not None]
        inputs = account_inputs(period, now=now, only=key).get(key, Inputs())
        rows.append(
            {
                "label": label,
                "created": inputs.created,
                "frt_median_s": _median(frt),
                "resolution_median_s": _median(res),
                "csat_pct": _pct(inputs.csat_satisfied, inputs.csat_responses),
                "csat_n": inputs.csat_responses,
                "ces_mean": inputs.ces_mean,
                "nps": inputs.nps,
                "nps_n": inputs.nps_responses,
                "reopens": inputs.reopens,
                "escalations": inputs.escalations,
                "sla_breaches": inputs.sla_breaches,
            }
        )
    return rows


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def months_back(now: datetime, count: int, zone: Any, label: Callable[[datetime], str] | None = None) -> list[Bucket]:
    """The last `count` calendar months in `zone`, oldest first, the current one included."""
    local = now.astimezone(zone)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = [first]
    for _ in range(count - 1):
        prev = (starts[-1] - timedelta(days=1)).replace(day=1)
        starts.append(prev)
    starts.reverse()
    buckets = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else (start + timedelta(days=32)).replace(day=1)
        buckets.append(((label or (lambda d: date_format(d, "M Y")))(start), Period(start=start, end=end)))
    return buckets
