"""People: one custom user model with a role, and customer organisations."""

from typing import ClassVar

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext_lazy as _


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    # Email domain used to attach new customers to the organisation.
    domain = models.CharField(max_length=200, blank=True, db_index=True)
    # When set, every member sees every ticket of the organisation.
    shares_tickets = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        # The agent search's "organisation contains" (tickets/search.py:_requester_q):
        # `UPPER(name) LIKE '%...%'` is what icontains writes. PostgreSQL only
        # (migration 0004).
        indexes = [GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="organisation_name_upper_trgm")]

    def __str__(self) -> str:
        return self.name


class HelpdeskUserManager(UserManager["User"]):
    """Users log in with their email; `username` mirrors it."""

    def _create_user(self, username, email, password, **extra_fields):
        email = self.normalize_email(email or username)
        return super()._create_user(email, email, password, **extra_fields)

    def create_user(self, email=None, password=None, **extra_fields):
        extra_fields.pop("username", None)
        return super().create_user(email, email, password, **extra_fields)

    def create_superuser(self, email=None, password=None, **extra_fields):
        extra_fields.pop("username", None)
        extra_fields.setdefault("role", User.Role.ADMIN)
        return super().create_superuser(email, email, password, **extra_fields)


class User(AbstractUser):
    class Role(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        AGENT = "agent", _("Agent")
        MANAGER = "manager", _("Manager")
        ADMIN = "admin", _("Admin")

    # The roles that work tickets, and those that also manage: the one place
    # these lists are written (helpdesk.lib.access reads the properties).
    STAFF_ROLES = (Role.AGENT, Role.MANAGER, Role.ADMIN)
    MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    # Least-loaded auto-assignment: maximum open tickets (agents only).
    capacity = models.PositiveIntegerField(null=True, blank=True)
    # Away agents get no automatic assignments (tickets.routing.ticket_auto_assign).
    is_away = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, blank=True)
    # When the person proved they read mail at `email` (a sign-up, claim,
    # reset or e-mail change link). Null for accounts that never did; an
    # inactive customer who never did and never logged in is "unclaimed"
    # (docs/accounts.md) and may claim the account through a link.
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Preferred language code from settings.LANGUAGES ("" = site default).
    # Stored now; the interface is translated later.
    language = models.CharField(max_length=16, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[HelpdeskUserManager] = HelpdeskUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=["customer", "agent", "manager", "admin"]), name="user_role_valid"
            ),
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]
        # The agent search's "requester's name or e-mail contains" (tickets/search.py:
        # _requester_q) without reading every person: trigram indexes on what
        # icontains writes, `UPPER(col) LIKE '%...%'`. PostgreSQL only (migration 0004).
        indexes = [
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="user_name_upper_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="user_email_upper_trgm"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def first_name_or_name(self) -> str:
        return self.first_name or (self.name.split(" ")[0] if self.name else self.email.split("@")[0])

    @property
    def is_staff_role(self) -> bool:
        """Agents, managers and admins work tickets; customers do not."""
        return self.role in self.STAFF_ROLES

    @property
    def is_claimable(self) -> bool:
        """An inactive customer account nobody ever used: created by an
        e-mail, an import or an agent, or a sign-up not yet confirmed.
        Proving the address (a link sent to it) activates it. A deactivated
        account that was ever used (logged in or confirmed) never is."""
        return (
            self.role == self.Role.CUSTOMER
            and not self.is_active
            and self.last_login is None
            and self.email_confirmed_at is None
        )

    @property
    def is_manager_role(self) -> bool:
        return self.role in self.MANAGER_ROLES
