"""Shared fixtures. Tests run on real PostgreSQL (see README: make test)."""

import os

import pytest
from django.db import connection

from tests.factories import AgentFactory, CustomerFactory, ManagerFactory, QueueFactory

# Playwright's sync API runs an event loop in the test thread; without this,
# ORM calls in a browser test raise SynchronousOnlyOperation.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _require_postgresql(request):
    """The suite is meant for PostgreSQL; fail loudly rather than pass on SQLite."""
    if "django_db_setup" in request.fixturenames or request.node.get_closest_marker("django_db"):
        assert connection.vendor == "postgresql", "set DATABASE_URL to PostgreSQL (make test does)"


@pytest.fixture
def queue(db):
    return QueueFactory(slug="tech", name="Tech support", kind="support")


@pytest.fixture
def service_queue(db):
    return QueueFactory(slug="billing", name="Billing", kind="service")


@pytest.fixture
def agent(db, queue):
    user = AgentFactory()
    queue.members.add(user)
    return user


@pytest.fixture
def other_agent(db, service_queue):
    user = AgentFactory()
    service_queue.members.add(user)
    return user


@pytest.fixture
def manager(db):
    return ManagerFactory()


@pytest.fixture
def customer(db):
    return CustomerFactory()


@pytest.fixture
def other_customer(db):
    return CustomerFactory()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright cannot download its own here)."""
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}
