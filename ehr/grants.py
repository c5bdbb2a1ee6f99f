"""A user's own object permissions, as SQL: the ids of the objects they were granted.

django-guardian's ``get_objects_for_user`` builds the same subquery from querysets
(permission lookup, content type, the direct grant table) each time it is called,
which costs more CPU per API request than reading a page of records. Here the
statement is written once per grant table from the models' tables and columns;
user, permission and app label are always query parameters. Only the user's own
grants count (no group grants, no global permissions, no superuser bypass),
as with ``get_objects_for_user(..., use_groups=False, with_superuser=False,
accept_global_perms=False)``.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models.expressions import RawSQL


def quoted_names(**fields) -> dict[str, str]:
    """``name=(model, field name or None for the table)`` -> quoted identifiers."""
    quote = connection.ops.quote_name
    names = {}
    for name, (model, field) in fields.items():
        meta = model._meta
        names[name] = quote(meta.db_table if field is None else meta.get_field(field).column)
    return names


@cache
def own_grants_sql(grant_model) -> str:
    """``SELECT <object id> FROM <grant table> …`` for one user, permission codename and
    app label (three parameters, in that order)."""
    names = quoted_names(
        grants=(grant_model, None),
        grant_object=(grant_model, "content_object"),
        grant_user=(grant_model, "user"),
        grant_permission=(grant_model, "permission"),
        permissions=(Permission, None),
        permission_id=(Permission, "id"),
        codename=(Permission, "codename"),
        permission_type=(Permission, "content_type"),
        types=(ContentType, None),
        type_id=(ContentType, "id"),
        app_label=(ContentType, "app_label"),
    )
    # Identifiers only (quoted names from the models); every value is a parameter.
    return (  # noqa: S608
        "SELECT g.{grant_object} FROM {grants} g"  # nosec B608
        " JOIN {permissions} p ON p.{permission_id} = g.{grant_permission}"
        " JOIN {types} c ON c.{type_id} = p.{permission_type}"
        " WHERE g.{grant_user} = %s AND p.{codename} = %s AND c.{app_label} = %s"
    ).format(**names)


def own_grants_params(*, user, grant_model, codename: str) -> tuple:
    app_label = grant_model._meta.get_field("content_object").related_model._meta.app_label
    return (user.pk, codename, app_label)


def own_grant_ids(*, user, grant_model, codename: str) -> RawSQL:
    """The ids of the objects ``user`` holds ``codename`` on, for ``pk__in=``."""
    params = own_grants_params(user=user, grant_model=grant_model, codename=codename)
    return RawSQL(own_grants_sql(grant_model), params)  # noqa: S611  # nosec B611
