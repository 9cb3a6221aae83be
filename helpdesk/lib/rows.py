"""A model instance from a row of written-out SQL, built as the ORM builds it
(the per-request reads in accounts/backends.py and apikeys/selectors.py)."""

import weakref
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)
Converter = tuple[int, Any, list[Any]]


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


class Columns(Generic[M]):
    """A model's concrete columns under a table alias, for a written-out
    statement that joins several tables (docs/delivery.md, "Delivery written
    out"): the SELECT list once, then instances built from slices of each
    fetched row with every converter a queryset applies, the backend's too
    (SQLite's dates and booleans), not only the fields' from_db_value."""

    def __init__(self, model: type[M], alias: str) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [f.attname for f in self.fields]
        self.width = len(self.fields)
        self._pk = self.attnames.index(model._meta.pk.attname)
        # Per connection: a converter may be bound to its backend.
        self._converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, list[Converter]] = weakref.WeakKeyDictionary()

    def sql(self, connection: BaseDatabaseWrapper) -> str:
        """`alias."column", …` in field order."""
        quote = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{quote(str(f.column))}" for f in self.fields)

    def _converters_for(self, connection: BaseDatabaseWrapper) -> list[Converter]:
        found = self._converters.get(connection)
        if found is None:
            found = []
            for i, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if converters:
                    found.append((i, col, converters))
            self._converters[connection] = found
        return found

    def build(self, values: Sequence[Any], connection: BaseDatabaseWrapper) -> M | None:
        """The instance of `values` (this model's slice of a row), None when
        its primary key is NULL (an outer join that found nothing)."""
        row = list(values)
        if row[self._pk] is None:
            return None
        for i, col, converters in self._converters_for(connection):
            value = row[i]
            for converter in converters:
                value = converter(value, col, connection)
            row[i] = value
        return self.model.from_db(connection.alias, self.attnames, row)
