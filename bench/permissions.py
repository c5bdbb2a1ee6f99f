"""Filler rows in the released-summary permission table, and their removal.

The portal scenario compares the referrer's lists with about 1,000 and about
1,000,000 rows in ``TreatmentSummaryUserObjectPermission`` (guardian's direct
foreign-key table for ``reports.receive_summary``) while the referrer's own
rows stay as they are. The filler grants inactive portal accounts
(``bench-filler-N``, kept for the next run: accounts are never deleted) the
permission on filler summaries (``failed``, on the bench course patient); both
the rows and the filler summaries are deleted when the scenario ends.
"""

from __future__ import annotations

import math

from django.contrib.auth.models import Permission
from django.db import connection, transaction

from ehr.models import User
from ehr.roles import Role
from reports.models import (
    RELEASED_SUMMARY_PERMISSION,
    TreatmentSummary,
    TreatmentSummaryUserObjectPermission,
)

FILLER_ERROR = "bench filler: not a real summary"
FILLER_USERNAME = "bench-filler-{}"
SUMMARIES = 1000


def table_rows() -> int:
    return TreatmentSummaryUserObjectPermission.objects.count()


def _filler_users(count: int) -> list[int]:
    names = [FILLER_USERNAME.format(n) for n in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    User.objects.bulk_create(
        [
            User(username=name, role=Role.REFERRING_PROVIDER, is_active=False, password="!")
            for name in names
            if name not in existing
        ]
    )
    return list(User.objects.filter(username__in=names).order_by("id").values_list("pk", flat=True))


def _filler_summaries(*, patient_id: int, requested_by_id: int) -> list[int]:
    have = list(
        TreatmentSummary.objects.filter(error=FILLER_ERROR)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    missing = SUMMARIES - len(have)
    if missing > 0:
        TreatmentSummary.objects.bulk_create(
            [
                TreatmentSummary(
                    patient_id=patient_id,
                    requested_by_id=requested_by_id,
                    status=TreatmentSummary.Status.FAILED,
                    error=FILLER_ERROR,
                )
                for _ in range(missing)
            ]
        )
    return list(
        TreatmentSummary.objects.filter(error=FILLER_ERROR)
        .order_by("id")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def fill_to(total: int, *, patient_id: int, requested_by_id: int) -> int:
    """Add filler rows until the table holds ``total`` rows (if it holds fewer); the new count."""
    missing = total - table_rows()
    if missing <= 0:
        return table_rows()
    summaries = _filler_summaries(patient_id=patient_id, requested_by_id=requested_by_id)
    already = TreatmentSummaryUserObjectPermission.objects.filter(
        content_object_id__in=summaries
    ).count()
    users = _filler_users(math.ceil((already + missing) / len(summaries)))
    permission = Permission.objects.get(
        content_type__app_label="reports", codename=RELEASED_SUMMARY_PERMISSION
    )
    table = TreatmentSummaryUserObjectPermission._meta.db_table
    with connection.cursor() as cursor:
        # Every (user, summary) pair not granted yet, in a fixed order, as many as missing.
        cursor.execute(
            f"""
            INSERT INTO {table} (permission_id, user_id, content_object_id)
            SELECT %s, u, s
            FROM unnest(%s::bigint[]) AS u, unnest(%s::bigint[]) AS s
            WHERE NOT EXISTS (
                SELECT 1 FROM {table} t
                WHERE t.user_id = u AND t.content_object_id = s AND t.permission_id = %s
            )
            ORDER BY u, s
            LIMIT %s
            """,  # noqa: S608 - the table name is the model's, the values are parameters
            [permission.pk, users, summaries, permission.pk, missing],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    return table_rows()


@transaction.atomic
def remove_filler() -> int:
    """Delete the filler rows and summaries; how many rows were removed."""
    summaries = TreatmentSummary.objects.filter(error=FILLER_ERROR)
    removed, _ = TreatmentSummaryUserObjectPermission.objects.filter(
        content_object__in=summaries
    ).delete()
    summaries.delete()
    table = TreatmentSummaryUserObjectPermission._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
    return removed
