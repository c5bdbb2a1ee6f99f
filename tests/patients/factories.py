"""Factories for the records of the patients app."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from patients.contraindications import CONTRAINDICATION_KEYS
from patients.models import Assessment, Consent, Evaluation, SafetyAlert
from patients.scales import item_count, score
from tests.factories import PatientFactory


def no_contraindications(**yes) -> dict:
    """A complete contraindication screen, all no except the keys given as True."""
    answers = dict.fromkeys(CONTRAINDICATION_KEYS, False)
    answers.update(yes)
    return answers


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    form_version = "KET-CONSENT v3 (2024)"
    signed_on = datetime.date(2025, 1, 6)
    witness = "Mei Tan, RN"
    recorded_by = factory.LazyAttribute(lambda c: c.patient.responsible_prescriber)


class EvaluationFactory(factory.django.DjangoModelFactory):
    """An unsigned evaluation; ``signed_by=prescriber`` signs it (with ``signed_at`` now)."""

    class Meta:
        model = Evaluation

    patient = factory.SubFactory(PatientFactory)
    evaluated_on = datetime.date(2025, 1, 6)
    evaluator = factory.LazyAttribute(lambda e: e.patient.responsible_prescriber)
    psychiatric_history = "Generalized anxiety since adolescence."
    prior_treatments = "Sertraline, escitalopram, venlafaxine; CBT 2 years."
    medical_history = "None relevant."
    current_medications = "Escitalopram 20 mg daily."
    allergies = "NKDA"
    weight_kg = Decimal("72.5")
    height_cm = Decimal("170.0")
    bp_systolic = 124
    bp_diastolic = 78
    heart_rate = 72
    contraindications = factory.LazyFunction(no_contraindications)
    eligibility = Evaluation.Eligibility.ELIGIBLE
    precautions = ""
    signed_by = None
    signed_at = factory.LazyAttribute(lambda e: timezone.now() if e.signed_by else None)


class AssessmentFactory(factory.django.DjangoModelFactory):
    """A rating scale; total and severity come from ``patients.scales.score``."""

    class Meta:
        model = Assessment

    patient = factory.SubFactory(PatientFactory)
    instrument = "GAD7"
    answers = factory.LazyAttribute(lambda a: [2] * item_count(a.instrument))
    total = factory.LazyAttribute(lambda a: score(instrument=a.instrument, answers=a.answers).total)
    severity = factory.LazyAttribute(
        lambda a: score(instrument=a.instrument, answers=a.answers).severity
    )
    administered_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    recorded_by = factory.LazyAttribute(lambda a: a.patient.responsible_prescriber)


class SafetyAlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SafetyAlert

    patient = factory.SubFactory(PatientFactory)
    kind = SafetyAlert.Kind.SELF_HARM
    message = "PHQ-9 item 9 (thoughts of self-harm) answered 1 of 3."


def make_session(*, patient, scheduled_for=None, signed_by=None, verified_by=None):
    """A minimal infusion session of ``patient`` (its course ordered by the prescriber).

    With ``signed_by`` it is a completed session whose dose ``verified_by`` checked.
    """
    from sessions.models import InfusionSession, MonitoringProtocol, TreatmentCourse

    prescriber = patient.responsible_prescriber
    protocol = MonitoringProtocol.objects.order_by("-version").first()
    if protocol is None:
        protocol = MonitoringProtocol.objects.create(version=1)
    course = TreatmentCourse.objects.create(
        patient=patient, start_date=datetime.date(2025, 1, 13), ordered_by=prescriber
    )
    scheduled_for = scheduled_for or timezone.now() - datetime.timedelta(hours=2)
    finished = {}
    if signed_by is not None:
        finished = dict(
            status=InfusionSession.Status.COMPLETED,
            dose_verified_by=verified_by,
            dose_verified_at=scheduled_for,
            started_at=scheduled_for,
            ended_at=scheduled_for + datetime.timedelta(minutes=40),
            signed_by=signed_by,
            signed_at=timezone.now(),
        )
    return InfusionSession.objects.create(
        course=course,
        number=1,
        scheduled_for=scheduled_for,
        weight_kg=Decimal("72.5"),
        dose_mg_per_kg=Decimal("0.50"),
        total_dose_mg=Decimal("36.3"),
        infusion_minutes=40,
        protocol=protocol,
        created_by=prescriber,
        **finished,
    )
