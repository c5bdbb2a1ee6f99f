"""Fixtures for the infusion sessions tests (the cast of users is in tests/conftest.py).

``session`` is scheduled for today and was prepared (created) by the nurse, so
the prescriber is the second clinician who may verify its dose.
"""

import datetime

import pytest
from django.utils import timezone

from tests.factories import earlier_today
from tests.patients.factories import ConsentFactory, EvaluationFactory
from tests.sessions.factories import InfusionSessionFactory, TreatmentCourseFactory


@pytest.fixture
def eligible_patient(patient, prescriber):
    """The cast's patient with a signed, eligible evaluation and a consent on file."""
    EvaluationFactory(patient=patient, signed_by=prescriber)
    ConsentFactory(patient=patient, recorded_by=prescriber)
    return patient


@pytest.fixture
def course(eligible_patient, prescriber):
    return TreatmentCourseFactory(patient=eligible_patient, ordered_by=prescriber)


@pytest.fixture
def session(course, nurse):
    return InfusionSessionFactory(course=course, number=1, created_by=nurse, nurse=nurse)


@pytest.fixture
def ready_session(session, prescriber):
    """Dose verified by the prescriber, fasting and escort confirmed, pre-infusion BP normal."""
    session.dose_verified_by = prescriber
    session.dose_verified_at = timezone.now()
    session.fasting_confirmed = True
    session.escort_confirmed = True
    session.pre_bp_systolic = 126
    session.pre_bp_diastolic = 82
    session.save()
    return session


@pytest.fixture
def running_session(ready_session):
    """An infusion started ten minutes ago."""
    ready_session.status = "in_progress"
    ready_session.started_at = earlier_today(minutes=10)
    ready_session.save()
    return ready_session


@pytest.fixture
def completed_session(running_session):
    running_session.status = "completed"
    running_session.ended_at = timezone.now() - datetime.timedelta(minutes=1)
    running_session.save()
    return running_session


@pytest.fixture
def discharged_session(completed_session):
    """Completed with the whole discharge checklist: ready to sign."""
    completed_session.discharge_at = timezone.now()
    completed_session.discharge_alert_oriented = True
    completed_session.discharge_vitals_baseline = True
    completed_session.discharge_ambulating = True
    completed_session.discharge_escort_present = True
    completed_session.save()
    return completed_session
