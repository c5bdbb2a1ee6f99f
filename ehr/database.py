"""Database behaviour that must not depend on the backend.

SQLite (the zero-setup default) lowercases ASCII letters only, so a search for
"ångström" would miss "Ångström" and "гагарин" would miss "Гагарин". Each new
SQLite connection gets a ``LOWER`` that folds case in every script, as PostgreSQL's
does in a UTF-8 database.

The few statements written by hand (``ehr.grants``, the charting statement of
``sessions.selectors``, the protocol in force) become model instances through
``instance_from_row``, with the values converted as the ORM converts them: SQLite
hands back dates as text, JSON columns come back as text.
"""

from django.db import connection
from django.db.backends.signals import connection_created
from django.dispatch import receiver


def _lower(value):
    return value.lower() if isinstance(value, str) else value


@receiver(connection_created)
def _unicode_lower_on_sqlite(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("LOWER", 1, _lower, deterministic=True)


def _converters(fields: tuple) -> list:
    """For each of ``fields`` that needs it: its position, the backend's and the field's
    converters, and the column expression they are called with (as the ORM's compiler
    finds them for every query)."""
    found = []
    for position, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        converters = [
            *connection.ops.get_db_converters(column),
            *column.get_db_converters(connection),
        ]
        if converters:
            found.append((position, converters, column))
    return found


def instance_from_row(model, fields: tuple, values) -> object:
    """An instance of ``model`` from a row of a hand-written statement.

    ``fields``: the model's concrete fields the row holds, in the model's order (the
    others are deferred, as with ``only()``), as a tuple; ``values``: the row's values
    for them, in that order.
    """
    values = list(values)
    for position, converters, column in _converters(fields):
        for converter in converters:
            values[position] = converter(values[position], column, connection)
    return model.from_db(connection.alias, [field.attname for field in fields], values)
