"""A model's columns in a statement written by hand, and its rows back as instances.

For the few statements the ORM costs too much to build on a hot path
(accounts.selectors.wallet_account_find_with): the select list comes from the
model's fields, so it follows the model, and every value goes through the
converters the ORM itself applies (the backend's for the field's type, such as
SQLite's text datetimes and integer booleans, then the field's from_db_value)
before Model.from_db makes the instance, which then saves as an update.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, Value


class Columns:
    """A model's concrete columns under a table alias: `sql` for the select list,
    `instance()` for the matching slice of a row."""

    def __init__(self, model: type[Model], alias: str) -> None:
        db = connections[DEFAULT_DB_ALIAS]
        self.model = model
        fields = model._meta.concrete_fields
        self.attnames = [f.attname for f in fields]
        self.sql = ", ".join(f"{alias}.{db.ops.quote_name(f.column)}" for f in fields)
        # Only the columns that have converters (on PostgreSQL, psycopg's own types
        # are already the ORM's, so usually none).
        self.readers = [
            (i, reader) for i, f in enumerate(fields) if (reader := Reader(f.cached_col, db))
        ]
        self.width = len(fields)

    def __len__(self) -> int:
        return self.width

    def instance(self, values: tuple | list, db: BaseDatabaseWrapper) -> Model:
        values = list(values)
        for i, read in self.readers:
            values[i] = read(values[i], db)
        return self.model.from_db(db.alias, self.attnames, values)


@functools.cache
def columns(model: type[Model], alias: str) -> Columns:
    """Columns of `model` under `alias`, built once per process."""
    return Columns(model, alias)


class Reader:
    """One column's raw value as the ORM would hand it over; false when the ORM
    would hand it over as it comes."""

    def __init__(self, expression: Any, db: BaseDatabaseWrapper) -> None:
        self.expression = expression
        field = expression.output_field
        self.converters = tuple(db.ops.get_db_converters(expression) + field.get_db_converters(db))

    def __bool__(self) -> bool:
        return bool(self.converters)

    def __call__(self, value: Any, db: BaseDatabaseWrapper) -> Any:
        for convert in self.converters:
            value = convert(value, self.expression, db)
        return value


def read(field: Field, value: Any, db: BaseDatabaseWrapper) -> Any:
    """A computed column's raw value, read as `field` (an annotation's output_field)."""
    return Reader(Value(None, output_field=field), db)(value, db)
