"""Who may change whose role and active flag (docs/access-control.md).

One rule for every path that edits accounts: the configuration document
(API and `helpdesk_config apply`), the Django admin's user form.

- Only an admin (role admin, or a superuser) grants or revokes the manager
  or admin role, changes superuser status, or changes the active flag of
  a staff account. Managers may still add agents and edit their queues.
- Nobody removes the last active admin: demoting, deactivating or deleting
  it is refused, whoever asks (the operator running a command included).

`actor=None` is the operator at the command line: trusted like a
superuser, still bound by the last-admin rule.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from accounts.models import User

PRIVILEGED_ROLES = frozenset(User.MANAGER_ROLES)
STAFF_ROLES = frozenset(User.STAFF_ROLES)

ONLY_ADMIN_ROLE = "Only an admin can grant or revoke the manager or admin role."
ONLY_ADMIN_ACTIVE = "Only an admin can deactivate or reactivate a staff account."
ONLY_ADMIN_SUPERUSER = "Only an admin can grant or revoke superuser status."
LAST_ADMIN = "This is the last active admin: make another account an admin first."


@dataclass(frozen=True)
class AccountProblem:
    field: str
    message: str


@dataclass(frozen=True)
class AccountState:
    role: str
    is_active: bool
    is_superuser: bool

    @classmethod
    def of(cls, user: User) -> "AccountState":
        return cls(role=user.role, is_active=user.is_active, is_superuser=user.is_superuser)

    @property
    def is_admin(self) -> bool:
        return self.is_active and (self.role == User.Role.ADMIN or self.is_superuser)


def is_admin(user: Any) -> bool:
    """An active, logged-in admin or superuser."""
    if not getattr(user, "is_authenticated", False):
        return False
    return AccountState.of(user).is_admin


FIELDS = {"role": "role", "is_active": "is_active", "is_superuser": "is_superuser"}


def account_change_problems(
    *, actor: Any, before: AccountState | None, after: AccountState, fields: Mapping[str, str] = FIELDS
) -> list[AccountProblem]:
    """What `actor` may not do in changing an account from `before` (None:
    a new account) to `after`; each problem names its field (`fields` maps
    role / is_active / is_superuser to the caller's field names)."""
    if actor is None or is_admin(actor):
        return []
    problems = []
    old_role = before.role if before else None
    if old_role != after.role and (old_role in PRIVILEGED_ROLES or after.role in PRIVILEGED_ROLES):
        problems.append(AccountProblem(fields["role"], ONLY_ADMIN_ROLE))
    if before is not None and before.is_superuser != after.is_superuser:
        problems.append(AccountProblem(fields["is_superuser"], ONLY_ADMIN_SUPERUSER))
    if after.is_superuser and before is None:
        problems.append(AccountProblem(fields["is_superuser"], ONLY_ADMIN_SUPERUSER))
    touches_staff = (old_role in STAFF_ROLES) or (after.role in STAFF_ROLES)
    if before is not None and before.is_active != after.is_active and touches_staff:
        problems.append(AccountProblem(fields["is_active"], ONLY_ADMIN_ACTIVE))
    return problems


def active_admin_ids(*, exclude: Iterable[int] = (), lock: bool = True) -> set[int]:
    """Ids of the active admins and superusers. With `lock` (inside a
    transaction) their rows stay locked until it ends, so two concurrent
    demotions cannot each count the other and leave no admin."""
    qs = User.objects.filter(Q(role=User.Role.ADMIN) | Q(is_superuser=True), is_active=True)
    if lock:
        # Every admin row, the excluded ones too, in id order: the second of
        # two concurrent demotions waits for the first, then sees its result.
        qs = qs.select_for_update(no_key=True)
    return set(qs.order_by("pk").values_list("pk", flat=True)) - set(exclude)


def last_admin_problem(
    *, account: User, before: AccountState, after: AccountState | None, fields: Mapping[str, str] = FIELDS
) -> AccountProblem | None:
    """Refuses a change (`after`; None: deletion) that leaves no active
    admin. Lock-taking: call inside the transaction that writes."""
    if not before.is_admin or (after is not None and after.is_admin):
        return None
    if active_admin_ids(exclude=[account.pk]):
        return None
    if after is None or after.role != before.role or after.is_superuser != before.is_superuser:
        field = fields["role"] if after is None or after.role != before.role else fields["is_superuser"]
    else:
        field = fields["is_active"]
    return AccountProblem(field, LAST_ADMIN)
