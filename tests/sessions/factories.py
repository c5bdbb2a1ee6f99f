"""Factories for treatment courses, infusion sessions and their flowsheets."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from sessions.dosing import total_dose_mg
from sessions.models import (
    InfusionSession,
    MonitoringProtocol,
    MoodNote,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)
from sessions.monitoring import current_protocol
from tests.factories import PatientFactory, earlier_today


def protocol_in_force() -> MonitoringProtocol:
    return current_protocol()


class TreatmentCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TreatmentCourse

    patient = factory.SubFactory(PatientFactory)
    protocol = TreatmentCourse.Protocol.INDUCTION
    dose_mg_per_kg = Decimal("0.50")
    infusion_minutes = 40
    planned_sessions = 6
    start_date = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=14))
    ordered_by = factory.LazyAttribute(lambda c: c.patient.responsible_prescriber)


class InfusionSessionFactory(factory.django.DjangoModelFactory):
    """A scheduled session for today, prepared (created) by ``created_by``."""

    class Meta:
        model = InfusionSession

    course = factory.SubFactory(TreatmentCourseFactory)
    number = factory.Sequence(lambda n: n + 1)
    scheduled_for = factory.LazyFunction(lambda: earlier_today(minutes=30))
    weight_kg = Decimal("72.5")
    dose_mg_per_kg = Decimal("0.50")
    total_dose_mg = factory.LazyAttribute(
        lambda s: total_dose_mg(weight_kg=s.weight_kg, dose_mg_per_kg=s.dose_mg_per_kg)
    )
    infusion_minutes = 40
    protocol = factory.LazyFunction(protocol_in_force)
    created_by = factory.LazyAttribute(lambda s: s.course.ordered_by)


class VitalSignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VitalSign

    session = factory.SubFactory(InfusionSessionFactory)
    recorded_at = factory.LazyFunction(timezone.now)
    bp_systolic = 128
    bp_diastolic = 80
    heart_rate = 76
    spo2 = 98
    resp_rate = 14
    protocol = factory.LazyFunction(protocol_in_force)
    recorded_by = factory.LazyAttribute(lambda v: v.session.created_by)


class SideEffectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SideEffect

    session = factory.SubFactory(InfusionSessionFactory)
    effect = SideEffect.Effect.NAUSEA
    grade = 1
    onset_at = factory.LazyFunction(timezone.now)
    recorded_by = factory.LazyAttribute(lambda s: s.session.created_by)


class MoodNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MoodNote

    session = factory.SubFactory(InfusionSessionFactory)
    recorded_at = factory.LazyFunction(timezone.now)
    phase = MoodNote.Phase.PRE
    mood = 4
    anxiety = 6
    text = "Nervous about the infusion."
    recorded_by = factory.LazyAttribute(lambda m: m.session.created_by)
