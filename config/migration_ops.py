"""Migration operations the apps share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import migrations


def postgresql_only(forward_sql: str, backward_sql: str) -> migrations.RunPython:
    """SQL that only PostgreSQL runs (functions, triggers); on SQLite, the development
    default, the operation does nothing and the models' own guards stand. The SQL is
    executed without parameters, so a `%` in it (PL/pgSQL's RAISE) stays literal."""
    return migrations.RunPython(_on_postgresql(forward_sql), _on_postgresql(backward_sql))


def _on_postgresql(sql: str) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return run
