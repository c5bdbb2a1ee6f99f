"""Database behaviour that must not depend on the backend.

SQLite (the zero-setup default) lowercases ASCII letters only, so a search for
"ångström" would miss "Ångström" and "гагарин" would miss "Гагарин". Each new
SQLite connection gets a ``LOWER`` that folds case in every script, as PostgreSQL's
does in a UTF-8 database.
"""

from django.db.backends.signals import connection_created
from django.dispatch import receiver


def _lower(value):
    return value.lower() if isinstance(value, str) else value


@receiver(connection_created)
def _unicode_lower_on_sqlite(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("LOWER", 1, _lower, deterministic=True)
