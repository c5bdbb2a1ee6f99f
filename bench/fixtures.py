"""The records every scenario needs, added to whatever the database already holds.

Written through the services, like the demo data (``seed_demo``): users with
API tokens, a patient with a 24-session course (signed sessions with full
flowsheets, scales over time, a released summary), and patients with an
infusion in progress today for the vitals writes. Idempotent: a second run
finds what the first made (patients named ``Bench <role> <n>``) and adds only
what is missing (a new in-progress session when the last one is from another day).
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ehr.models import User
from ehr.seed import seed_users
from ehr.services import api_token_issue
from patients import services as patient_services
from patients.contraindications import CONTRAINDICATION_KEYS
from patients.models import Patient, ReferringProvider
from patients.npi import npi_check_digit
from patients.seed import EVALUATION_TEXT, GAD7_SEVERE, PHQ9_MODERATE
from reports import services as report_services
from reports.models import TreatmentSummary
from sessions import seed as session_seed
from sessions import services as session_services
from sessions.models import InfusionSession, TreatmentCourse

PASSWORD = "bench-password-not-for-production"
COURSE_SESSIONS = 24
COURSE_LAST_NAME = "Bench Course"
CHARTING_LAST_NAME = "Bench Charting"
#: Follow-up scales during the long course: session number -> fraction of the baseline.
COURSE_SCALES = {3: 0.9, 6: 0.75, 9: 0.6, 12: 0.55, 15: 0.45, 18: 0.4, 21: 0.3, 24: 0.25}
NPI_STEM = "199999999"


@dataclass
class Fixture:
    tokens: dict[str, str]
    course_patient_id: int
    detail_session_id: int
    charting_session_ids: list[int]
    summary_content: dict = field(repr=False)
    referrer_summary_ids: list[int] = field(default_factory=list)
    referrer_id: int = 0
    #: Whose accounts the requests use: seed_scale's when the database has them.
    cast: str = ""
    #: A signed-in web session of the referrer, for the portal page (set by the run).
    referrer_session: str = ""


#: seed_scale's accounts: each clinician is on a realistic share of many care teams.
SCALE_CAST = {
    "admin": "scale-admin",
    "prescriber": "scale-prescriber",
    "nurse": "scale-nurse",
    "referrer": "scale-referrer",
}


def _cast() -> tuple[dict[str, User], str]:
    """seed_scale's accounts when the database has them, else the demo accounts."""
    found = {
        role: User.objects.filter(username=name, is_active=True).first()
        for role, name in SCALE_CAST.items()
    }
    if all(found.values()):
        return found, "seed_scale accounts (scale-prescriber, scale-nurse, scale-referrer)"
    return seed_users(password=PASSWORD), "demo accounts (prescriber, nurse, referrer)"


def prepare(*, charting_sessions: int) -> Fixture:
    """Everything the scenarios use; creates what is missing."""
    users, cast = _cast()
    prescriber, nurse, referrer = users["prescriber"], users["nurse"], users["referrer"]
    provider = _referring_provider(referrer=referrer, actor=users["admin"])
    course_patient = _course_patient(provider, prescriber=prescriber, nurse=nurse)
    summary = _released_summary(course_patient, prescriber=prescriber)
    charting = [
        _charting_session(number, provider, prescriber=prescriber, nurse=nurse)
        for number in range(1, charting_sessions + 1)
    ]
    detail = (
        InfusionSession.objects.filter(course__patient=course_patient, number=COURSE_SESSIONS)
        .values_list("pk", flat=True)
        .get()
    )
    tokens = {name: api_token_issue(user=user).key for name, user in users.items()}
    return Fixture(
        tokens=tokens,
        course_patient_id=course_patient.pk,
        detail_session_id=detail,
        charting_session_ids=[s.pk for s in charting],
        summary_content=summary.content,
        referrer_summary_ids=[summary.pk],
        referrer_id=referrer.pk,
        cast=cast,
    )


def _referring_provider(*, referrer: User, actor: User) -> ReferringProvider:
    """The provider whose portal account is the demo referrer (the demo seed's, or ours)."""
    provider = ReferringProvider.objects.filter(user=referrer).first()
    if provider is None:
        provider = patient_services.referring_provider_create(
            actor=actor,
            name="Dr. Bench Referrer",
            npi=NPI_STEM + str(npi_check_digit(NPI_STEM)),
            practice="Bench Family Medicine",
            email="bench-referrer@practice.invalid",
            user=referrer,
        )
    return provider


def _eligible_patient(last_name: str, number: int, provider, *, prescriber, nurse) -> Patient:
    """A registered patient with consent and a signed eligible evaluation (baseline scales)."""
    existing = Patient.objects.filter(last_name=last_name, first_name=f"Patient {number}").first()
    if existing is not None:
        return existing
    evaluated_on = timezone.localdate() - datetime.timedelta(days=120)
    evaluated_at = timezone.now() - datetime.timedelta(days=120)
    patient = patient_services.patient_create(
        actor=prescriber,
        first_name=f"Patient {number}",
        last_name=last_name,
        date_of_birth=datetime.date(1980, 1, 1) + datetime.timedelta(days=97 * number),
        sex=Patient.Sex.FEMALE,
        primary_diagnosis="F41.1",
        status=Patient.Status.ACTIVE,
        referring_provider=provider,
        responsible_prescriber=prescriber,
    )
    patient_services.care_team_change(actor=prescriber, patient=patient, user=nurse, action="add")
    patient_services.consent_create(
        actor=nurse,
        patient=patient,
        form_version="KET-CONSENT v3 (2024)",
        signed_on=evaluated_on,
        witness="Bench witness, RN",
    )
    evaluation = patient_services.evaluation_create(
        actor=prescriber,
        patient=patient,
        evaluated_on=evaluated_on,
        contraindications=dict.fromkeys(CONTRAINDICATION_KEYS, False),
        eligibility="eligible",
        **EVALUATION_TEXT,
    )
    for instrument, answers in (("GAD7", GAD7_SEVERE), ("PHQ9", PHQ9_MODERATE)):
        patient_services.assessment_create(
            actor=nurse,
            patient=patient,
            instrument=instrument,
            answers=answers,
            administered_at=evaluated_at,
            evaluation=evaluation,
        )
    patient_services.evaluation_sign(actor=prescriber, evaluation=evaluation)
    return patient


@transaction.atomic
def _course_patient(provider, *, prescriber, nurse) -> Patient:
    """A patient with one course of 24 given, signed sessions (two a week, ending yesterday)."""
    patient = _eligible_patient(COURSE_LAST_NAME, 1, provider, prescriber=prescriber, nurse=nurse)
    if patient.courses.exists():
        return patient
    rng = random.Random("bench course")  # noqa: S311 - reproducible data, not security
    first_day = timezone.localdate() - datetime.timedelta(days=3 * COURSE_SESSIONS + 1)
    course = session_services.course_order(
        actor=prescriber,
        patient=patient,
        start_date=first_day,
        protocol=TreatmentCourse.Protocol.MAINTENANCE,
        dose_mg_per_kg=Decimal("0.50"),
        infusion_minutes=40,
        planned_sessions=COURSE_SESSIONS,
    )
    scales = session_seed._FollowUps(patient, COURSE_SCALES, nurse=nurse)
    weight = Decimal("72.5")
    for number in range(1, COURSE_SESSIONS + 1):
        day = first_day + datetime.timedelta(days=3 * (number - 1))
        session_seed._past_session(
            course,
            rng,
            scheduled_for=session_seed._at(day, 9),
            weight=weight,
            serious=number == 7,
            scales=scales,
            nurse=nurse,
            prescriber=prescriber,
        )
    return patient


def _released_summary(patient: Patient, *, prescriber) -> TreatmentSummary:
    """The 24-session course's summary: built, signed and released to the referrer."""
    summary = (
        TreatmentSummary.objects.filter(patient=patient, released_at__isnull=False)
        .order_by("id")
        .first()
    )
    if summary is not None:
        return summary
    summary = report_services.summary_request(
        actor=prescriber, patient=patient, comment="Maintenance course.", enqueue=False
    )
    report_services.summary_generate(summary_id=summary.pk)
    summary.refresh_from_db()
    if summary.status != TreatmentSummary.Status.READY:
        raise RuntimeError(f"The bench summary could not be built: {summary.error}")
    summary = report_services.summary_sign(actor=prescriber, summary=summary)
    return report_services.summary_release(actor=prescriber, summary=summary, notify=False)


@transaction.atomic
def _charting_session(number: int, provider, *, prescriber, nurse) -> InfusionSession:
    """A session of today in progress (started a few minutes ago) that the nurse charts."""
    patient = _eligible_patient(
        CHARTING_LAST_NAME, number, provider, prescriber=prescriber, nurse=nurse
    )
    today = timezone.localdate()
    running = (
        InfusionSession.objects.filter(
            course__patient=patient, status=InfusionSession.Status.IN_PROGRESS
        )
        .order_by("-started_at")
        .first()
    )
    if running is not None and timezone.localtime(running.started_at).date() == today:
        return running
    if running is not None:
        session_services.session_stop(
            actor=nurse, session=running, reason="Bench: a session of an earlier day."
        )
    course = patient.courses.filter(status=TreatmentCourse.Status.ACTIVE).first()
    if course is None or course.sessions.count() >= course.planned_sessions:
        if course is not None:
            session_services.course_update(
                actor=prescriber, course=course, status=TreatmentCourse.Status.COMPLETED
            )
        course = session_services.course_order(
            actor=prescriber, patient=patient, start_date=today, planned_sessions=52
        )
    now = timezone.now()
    prepared_at = max(now - datetime.timedelta(minutes=3), _day_start())
    session = session_services.session_create(
        actor=nurse,
        course=course,
        scheduled_for=prepared_at,
        weight_kg=Decimal("70.0"),
        dose_mg_per_kg=course.dose_mg_per_kg,
        nurse=nurse,
        supervising_prescriber=prescriber,
        fasting_confirmed=True,
        escort_confirmed=True,
        pre_bp_systolic=124,
        pre_bp_diastolic=78,
    )
    session_services.session_verify_dose(actor=prescriber, session=session)
    return session_services.session_start(actor=nurse, session=session)


def _day_start() -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(timezone.localdate(), datetime.time()))
