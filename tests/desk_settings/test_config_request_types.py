"""The config document carries a request type's description and default
(so dump -> apply round-trips what the Settings page sets)."""

import pytest

from tickets.config import ConfigInvalid, config_apply, config_dump
from tickets.models import RequestType

pytestmark = pytest.mark.django_db


def test_description_and_default_apply_dump_and_move(queue):
    RequestType.objects.create(slug="old", name="Old", queue=queue, is_default=True)
    doc = {
        "request_types": [
            {"slug": "old", "name": "Old", "queue": "tech"},
            {"slug": "refund", "name": "Refund", "queue": "tech", "description": "Money back", "default": True},
        ]
    }
    report = config_apply(doc)
    refund = RequestType.objects.get(slug="refund")
    assert refund.description == "Money back" and refund.is_default
    assert not RequestType.objects.get(slug="old").is_default
    assert any(c.key == "old" and c.fields == ["is_default"] for c in report.changes)
    dumped = config_dump()["request_types"]
    assert {"slug": "refund", "name": "Refund", "queue": "tech", "description": "Money back", "default": True} in dumped
    assert not config_apply({"request_types": dumped}).has_changes


@pytest.mark.parametrize(
    ("items", "path"),
    [
        ([{"slug": "a", "name": "A", "queue": "tech", "default": "yes"}], "request_types[0].default"),
        ([{"slug": "a", "name": "A", "queue": "tech", "description": 3}], "request_types[0].description"),
        (
            [
                {"slug": "a", "name": "A", "queue": "tech", "default": True},
                {"slug": "b", "name": "B", "queue": "tech", "default": True},
            ],
            "request_types[1].default",
        ),
    ],
)
def test_bad_description_or_default_is_refused(queue, items, path):
    with pytest.raises(ConfigInvalid) as exc:
        config_apply({"request_types": items})
    assert path in [p.path for p in exc.value.problems]
    assert not RequestType.objects.exists()
