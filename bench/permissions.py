"""How many rows the released-summary permission table holds, set with ``seed_scale``.

The portal scenario compares the referrer's lists with about 1,000 and about
1,000,000 rows in ``TreatmentSummaryUserObjectPermission`` (guardian's direct
foreign-key table for ``reports.receive_summary``). The extra rows are
``seed_scale``'s filler grants (``--extra-permission-rows``): deactivated
portal accounts holding ``receive_summary`` on existing summaries, so every
real user, the referrer included, sees exactly what they saw before. The run
puts the filler count back as it found it.
"""

from __future__ import annotations

import io

from django.core.management import call_command
from django.db import connection

from reports.models import TreatmentSummaryUserObjectPermission

FILLER_PREFIX = "scale-filler-"


def table_rows() -> int:
    return TreatmentSummaryUserObjectPermission.objects.count()


def filler_rows() -> int:
    return TreatmentSummaryUserObjectPermission.objects.filter(
        user__username__startswith=FILLER_PREFIX, user__is_active=False
    ).count()


def set_filler(rows: int) -> None:
    call_command(
        "seed_scale",
        "--permissions-only",
        "--extra-permission-rows",
        str(rows),
        "--extra-permission-kind",
        "summary",
        "--no-progress",
        stdout=io.StringIO(),
    )
    # Deleted filler leaves dead index entries that the next lists would wade through
    # until autovacuum comes by: clean them now, so each level is measured as it stands.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {TreatmentSummaryUserObjectPermission._meta.db_table}")


def fill_to(total: int) -> int:
    """Filler rows so that the table holds ``total`` rows (or only the real ones, if more)."""
    real = table_rows() - filler_rows()
    set_filler(max(0, total - real))
    return table_rows()
