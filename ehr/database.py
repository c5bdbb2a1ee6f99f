"""Database behaviour that must not depend on the backend.

SQLite (the zero-setup default) lowercases ASCII letters only, so a search for
"ångström" would miss "Ångström" and "гагарин" would miss "Гагарин". Each new
SQLite connection gets a ``LOWER`` that folds case in every script, as PostgreSQL's
does in a UTF-8 database.

The few statements written by hand (``ehr.grants``, the charting statement of
``sessions.selectors``, the protocol in force) become model instances through
``instance_from_row``, with the values converted as the ORM converts them: SQLite
hands back dates as text, JSON columns come back as text.

``insert_new`` appends a row of an append-only record (audit events, record versions) with one
statement built once per connection, its values prepared as the ORM prepares them.
"""

from django.db import connection, transaction
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver


def _lower(value):
    return value.lower() if isinstance(value, str) else value


@receiver(connection_created)
def _unicode_lower_on_sqlite(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("LOWER", 1, _lower, deterministic=True)


def _converters(fields: tuple) -> list:
    """For each of ``fields`` that needs it: its position, the backend's and the field's
    converters, and the column expression they are called with, as the ORM's compiler
    finds them for every query. Worked out once per connection for each tuple of
    fields (they depend on the backend and the fields only)."""
    return _per_connection("_row_converters", fields, _find_converters)


def _per_connection(cache_name: str, key, build):
    """``build(key)``, worked out once per database connection for each ``key`` (kept on
    the connection, so each thread's connection has its own)."""
    cache = getattr(connection, cache_name, None)
    if cache is None:
        cache = {}
        setattr(connection, cache_name, cache)
    found = cache.get(key)
    if found is None:
        found = cache[key] = build(key)
    return found


def _find_converters(fields: tuple) -> list:
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


def _insert_statement(model) -> tuple[str, tuple, bool]:
    """The INSERT of one row of ``model`` (every column but the generated id), the
    fields in the order of its placeholders, and whether it returns the id."""
    meta = model._meta
    fields = tuple(field for field in meta.local_concrete_fields if field is not meta.auto_field)
    if meta.parents or any(field.generated or field.db_returning for field in fields):
        raise TypeError(f"{model.__name__} is not one plain row; save it through the ORM.")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    returning = connection.features.can_return_columns_from_insert
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608  # nosec B608
    if returning:
        sql += f" RETURNING {quote(meta.pk.column)}"
    return sql, fields, returning


def insert_new(instance) -> None:
    """Insert ``instance``, a new record of a model without save signal receivers, and
    set its id: what ``instance.save()`` writes for a new row, with the statement built
    once per connection for each model instead of compiled on every save.

    Each value is what the ORM would send: the field's ``pre_save`` (``auto_now_add``
    stamps) and its ``get_db_prep_save``.
    """
    model = type(instance)
    if not instance._state.adding or instance.pk is not None:
        raise ValueError("insert_new writes new records only.")
    if pre_save.has_listeners(model) or post_save.has_listeners(model):
        raise TypeError(f"{model.__name__} has save signal receivers; save it through the ORM.")
    sql, fields, returning = _per_connection("_insert_statements", model, _insert_statement)
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    with transaction.mark_for_rollback_on_error(), connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returning:
            pk = cursor.fetchone()[0]
        else:
            pk = connection.ops.last_insert_id(cursor, model._meta.db_table, model._meta.pk.column)
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
