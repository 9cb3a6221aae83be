"""factory_boy factories shared by every test package."""

import factory

from accounts.models import Organisation, User
from tickets.models import Queue, QueueKind


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Org {n}")
    domain = factory.Sequence(lambda n: f"org{n}.example")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda o: o.email)
    name = factory.Faker("name")
    role = User.Role.CUSTOMER
    password = factory.PostGenerationMethodCall("set_password", "pw-Secret-123")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class CustomerFactory(UserFactory):
    role = User.Role.CUSTOMER


class AgentFactory(UserFactory):
    role = User.Role.AGENT
    email = factory.Sequence(lambda n: f"agent{n}@acme.test")


class ManagerFactory(UserFactory):
    role = User.Role.MANAGER
    email = factory.Sequence(lambda n: f"manager{n}@acme.test")


class QueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Queue
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"queue-{n}")
    name = factory.Sequence(lambda n: f"Queue {n}")
    kind = QueueKind.SUPPORT
    # The model default is on (every new request is acknowledged). Factory
    # queues start with it off so tests that count notification rows see
    # only what they test; tests of the acknowledgement turn it on.
    send_acknowledgement = False

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)


def ticket_make(*, queue=None, requester=None, actor=None, subject="Help please", body="It broke.", **kwargs):
    """Create a ticket through the real service (events included)."""
    from tickets import services

    queue = queue or QueueFactory()
    requester = requester or CustomerFactory()
    return services.ticket_create(
        subject=subject,
        body=body,
        queue=queue,
        requester=requester,
        actor=requester if actor is None else actor,
        **kwargs,
    )
