"""A model instance from a row of written-out SQL, built as the ORM builds it
(the per-request reads in accounts/backends.py and apikeys/selectors.py)."""

from typing import Any

from django.db import connections
from django.db.models import Model


def columns(model: type[Model], alias: str) -> str:
    """The model's concrete columns, qualified by `alias`, in field order."""
    return ", ".join(f'{alias}."{f.column}"' for f in model._meta.concrete_fields)


def instance_from_row(model: type[Model], db: str, values: list[Any]) -> Any:
    """`values` in concrete-field order, decoded by each field's from_db_value."""
    fields = model._meta.concrete_fields
    for i, field in enumerate(fields):
        decode = getattr(field, "from_db_value", None)
        if decode is not None and values[i] is not None:
            values[i] = decode(values[i], None, connections[db])
    return model.from_db(db, [f.attname for f in fields], values)
