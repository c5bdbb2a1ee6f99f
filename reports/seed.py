"""A demo treatment summary: built, signed and released for one seeded patient.

Idempotent: a patient who already has a summary gets no other. The PDF is
built synchronously here (no broker needed), through the same services the
Celery task and the API use.
"""

from __future__ import annotations

from django.db.models import Count, Q

from patients.selectors import care_team_patients
from reports import services
from reports.models import TreatmentSummary
from sessions.models import InfusionSession


def seed(*, users: dict, stdout) -> None:
    prescriber, referrer = users["prescriber"], users["referrer"]
    given = Q(courses__sessions__status__in=[InfusionSession.Status.COMPLETED])
    candidates = (
        care_team_patients(user=prescriber)
        .filter(referring_provider__user=referrer)
        .annotate(given=Count("courses__sessions", filter=given))
        .filter(given__gt=0)
        .order_by("-given", "id")
    )
    patient = candidates.first()
    if patient is None:
        stdout.write(
            "Demo summary: no patient with completed sessions referred by the portal user."
        )
        return
    if TreatmentSummary.objects.filter(patient=patient).exists():
        return
    summary = services.summary_request(
        actor=prescriber,
        patient=patient,
        comment="Induction course completed. Please continue the current oral medication; "
        "we will write again after the maintenance review.",
        enqueue=False,
    )
    services.summary_generate(summary_id=summary.pk)
    summary.refresh_from_db()
    if summary.status != TreatmentSummary.Status.READY:
        stdout.write(f"Demo summary {summary.pk} could not be built: {summary.error}")
        return
    services.summary_sign(actor=prescriber, summary=summary)
    services.summary_release(actor=prescriber, summary=summary, notify=False)
    stdout.write(f"Demo summary {summary.pk}: ready, signed and released to the referrer.")
