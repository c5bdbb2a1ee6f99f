"""Records a treatment summary is built from: a course of given infusions with flowsheets."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from patients.models import Assessment, Evaluation
from patients.scales import score
from reports.models import TreatmentSummary
from sessions.dosing import total_dose_mg
from sessions.models import (
    InfusionSession,
    MonitoringProtocol,
    MoodNote,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)
from tests.patients.factories import no_contraindications

START = datetime.date(2026, 1, 5)


def at(day: datetime.date, hour: int = 9, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def monitoring_protocol() -> MonitoringProtocol:
    # A flush after a transactional test removes the row the migration created.
    protocol = MonitoringProtocol.objects.order_by("-version").first()
    return protocol or MonitoringProtocol.objects.create(version=1)


def signed_evaluation(patient, prescriber, **fields) -> Evaluation:
    values = dict(
        patient=patient,
        evaluated_on=START - datetime.timedelta(days=3),
        evaluator=prescriber,
        weight_kg=Decimal("72.5"),
        height_cm=Decimal("170.0"),
        bp_systolic=124,
        bp_diastolic=78,
        heart_rate=72,
        contraindications=no_contraindications(),
        eligibility=Evaluation.Eligibility.ELIGIBLE,
        signed_by=prescriber,
        signed_at=timezone.now(),
    )
    values.update(fields)
    return Evaluation.objects.create(**values)


def assessment(patient, recorded_by, *, instrument, answers, when, **links) -> Assessment:
    scored = score(instrument=instrument, answers=answers)
    return Assessment.objects.create(
        patient=patient,
        instrument=instrument,
        answers=answers,
        total=scored.total,
        severity=scored.severity,
        administered_at=when,
        recorded_by=recorded_by,
        **links,
    )


def given_course(
    patient,
    prescriber,
    nurse,
    *,
    sessions: int = 6,
    start: datetime.date = START,
    weight_kg: str = "72.5",
    dose_mg_per_kg: str = "0.50",
) -> list[InfusionSession]:
    """A course whose sessions were all given (completed), every other day from ``start``.

    Each session has vitals, a pre and a post mood note, a CADSS-6 and, on odd
    sessions, nausea grade 2.
    """
    protocol = monitoring_protocol()
    course = TreatmentCourse.objects.create(
        patient=patient,
        dose_mg_per_kg=Decimal(dose_mg_per_kg),
        planned_sessions=max(sessions, 1),
        start_date=start,
        ordered_by=prescriber,
    )
    given = []
    for number in range(1, sessions + 1):
        day = start + datetime.timedelta(days=2 * (number - 1))
        session = InfusionSession.objects.create(
            course=course,
            number=number,
            scheduled_for=at(day, 9),
            started_at=at(day, 9, 5),
            ended_at=at(day, 9, 45),
            status=InfusionSession.Status.COMPLETED,
            nurse=nurse,
            supervising_prescriber=prescriber,
            dose_verified_by=prescriber,
            dose_verified_at=at(day, 8, 55),
            weight_kg=Decimal(weight_kg),
            dose_mg_per_kg=Decimal(dose_mg_per_kg),
            total_dose_mg=total_dose_mg(weight_kg=weight_kg, dose_mg_per_kg=dose_mg_per_kg),
            infusion_minutes=40,
            protocol=protocol,
            created_by=nurse,
        )
        for minute, (systolic, diastolic) in (
            (10, (132, 84)),
            (25, (141 + number, 90)),
            (40, (128, 80)),
        ):
            VitalSign.objects.create(
                session=session,
                recorded_at=at(day, 9, 5 + minute),
                bp_systolic=systolic,
                bp_diastolic=diastolic,
                heart_rate=80,
                spo2=98,
                resp_rate=14,
                protocol=protocol,
                recorded_by=nurse,
            )
        MoodNote.objects.create(
            session=session,
            recorded_at=at(day, 9),
            phase="pre",
            mood=3,
            anxiety=7,
            recorded_by=nurse,
        )
        MoodNote.objects.create(
            session=session,
            recorded_at=at(day, 10),
            phase="post",
            mood=6,
            anxiety=3,
            recorded_by=nurse,
        )
        if number % 2:
            SideEffect.objects.create(
                session=session,
                effect=SideEffect.Effect.NAUSEA,
                grade=2,
                onset_at=at(day, 9, 20),
                recorded_by=nurse,
            )
        assessment(
            patient,
            nurse,
            instrument="CADSS6",
            answers=[1, 1, 1, 1, 0, 0],
            when=at(day, 9, 50),
            session=session,
        )
        given.append(session)
    return given


def queued_summary(patient, prescriber, **fields) -> TreatmentSummary:
    values = dict(
        patient=patient,
        requested_by=prescriber,
        status=TreatmentSummary.Status.QUEUED,
        enqueued_at=timezone.now(),
    )
    values.update(fields)
    return TreatmentSummary.objects.create(**values)


def released_summary(patient, prescriber, provider, **fields) -> TreatmentSummary:
    """A summary signed by ``prescriber`` and released to ``provider``, whose portal
    account holds the ``receive_summary`` permission on it."""
    from guardian.shortcuts import assign_perm

    from reports.models import RELEASED_SUMMARY_PERMISSION

    now = timezone.now()
    values = dict(
        patient=patient,
        requested_by=prescriber,
        status=TreatmentSummary.Status.READY,
        generated_at=now,
        signed_by=prescriber,
        signed_at=now,
        released_by=prescriber,
        released_at=now,
        released_to=provider,
    )
    values.update(fields)
    summary = TreatmentSummary.objects.create(**values)
    assign_perm(f"reports.{RELEASED_SUMMARY_PERMISSION}", provider.user, summary)
    return summary
