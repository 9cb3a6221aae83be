"""Writes behind Settings → Agents and Organisations (docs/automation.md)."""

from typing import Any

from django.db import transaction

from accounts import policy
from accounts.models import Organisation, User
from tickets.models import Queue, QueueMembership

STAFF = User.STAFF_ROLES


class StaffChangeRefused(Exception):
    def __init__(self, problem: policy.AccountProblem):
        super().__init__(problem.message)
        self.problem = problem


@transaction.atomic
def staff_update(*, actor: User, account_id: int, data: dict[str, Any]) -> User:
    """Apply StaffForm.cleaned_data (already checked against the role rule)
    to the account, keeping the last active admin (its check locks the
    admin rows until this transaction ends)."""
    account = User.objects.select_for_update(no_key=True).get(pk=account_id)
    before = policy.AccountState.of(account)
    after = policy.AccountState(role=data["role"], is_active=data["is_active"], is_superuser=account.is_superuser)
    problems = policy.account_change_problems(actor=actor, before=before, after=after)
    if problems:
        raise StaffChangeRefused(problems[0])
    problem = policy.last_admin_problem(account=account, before=before, after=after)
    if problem is not None:
        raise StaffChangeRefused(problem)
    account.name = data.get("name") or ""
    account.role = data["role"]
    account.is_active = data["is_active"]
    account.capacity = data.get("capacity")
    account.is_away = bool(data.get("is_away"))
    account.save(update_fields=["name", "role", "is_active", "capacity", "is_away"])
    queue_membership_set(account=account, queues=list(data.get("queues") or []))
    return account


def queue_membership_set(*, account: User, queues: list[Queue]) -> None:
    wanted = {q.pk for q in queues}
    current = set(QueueMembership.objects.filter(user=account).values_list("queue_id", flat=True))
    # One by one, so each added or removed membership is its own audit entry.
    for row in QueueMembership.objects.filter(user=account, queue_id__in=current - wanted):
        row.delete()
    for queue_id in sorted(wanted - current):
        QueueMembership.objects.create(user=account, queue_id=queue_id)


def staff_set_away(*, user: User, away: bool) -> User:
    """An agent's own away switch (the workspace's button)."""
    user.is_away = away
    user.save(update_fields=["is_away"])
    return user


@transaction.atomic
def organisation_save(*, data: dict[str, Any], instance: Organisation | None = None) -> Organisation:
    org = instance or Organisation()
    org.name, org.domain, org.shares_tickets = data["name"], data.get("domain") or "", bool(data.get("shares_tickets"))
    org.save()
    return org
