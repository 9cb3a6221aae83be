"""The worked-example fixture (docs/metrics.md section 3) loaded for the dashboard tests."""

import json
from datetime import datetime

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.metrics.jsonl_events import FIXTURES
from tickets.models import Ticket

EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
AS_OF = datetime.fromisoformat(EXPECTED["as_of"])
AGG = EXPECTED["aggregates"]

WEEK = {"range": "custom", "start": "2025-10-27", "end": "2025-11-02"}  # E10a
WHOLE = {"range": "custom", "start": "2025-10-01", "end": "2025-11-30"}  # E10c (every cohort instant)


def load_examples():
    from metrics.services import tickets_recompute

    call_command("helpdesk_config", "apply", str(FIXTURES / "config.json"))
    call_command("import_tickets", str(FIXTURES / "examples.jsonl"))
    numbers = dict(Ticket.objects.values_list("external_id", "pk"))
    assert len(numbers) == 16
    with transaction.atomic():
        tickets_recompute(ticket_ids=list(numbers.values()), as_of=AS_OF)
    return numbers


@pytest.fixture
def examples(db):
    """external_id -> ticket number, metrics recomputed as of 2025-12-01T00:00-05:00."""
    return load_examples()
