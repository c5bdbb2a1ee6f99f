"""Fixtures for the web UI tests (the cast of users is in tests/conftest.py).

Clinical records are made through the apps' services, the way the pages make
them: an eligible patient (signed evaluation, consent), a course ordered by the
prescriber and a session prepared by the nurse, scheduled for now.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from patients import services as patient_services
from sessions import services as session_services
from tests.factories import earlier_today
from tests.patients.factories import ConsentFactory, EvaluationFactory


@pytest.fixture
def client_for(db):
    """``client_for(user)``: a test client signed in as ``user`` (None: anonymous)."""

    def make(user=None):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def eligible_patient(patient, prescriber):
    """The cast's patient with a signed, eligible evaluation and a consent on file."""
    EvaluationFactory(patient=patient, signed_by=prescriber, evaluator=prescriber)
    ConsentFactory(patient=patient, recorded_by=prescriber)
    return patient


@pytest.fixture
def course(eligible_patient, prescriber):
    return session_services.course_order(
        actor=prescriber,
        patient=eligible_patient,
        start_date=timezone.localdate() - datetime.timedelta(days=7),
    )


@pytest.fixture
def session(course, nurse, prescriber):
    """Scheduled for now; prepared (created) by the nurse, so the prescriber may verify it."""
    return session_services.session_create(
        actor=nurse,
        course=course,
        scheduled_for=earlier_today(minutes=5),
        weight_kg=Decimal("72.5"),
        dose_mg_per_kg=Decimal("0.50"),
        nurse=nurse,
        supervising_prescriber=prescriber,
    )


@pytest.fixture
def ready_session(session, prescriber, nurse):
    """Dose verified by the prescriber, fasting and escort confirmed, pre-infusion BP normal."""
    session_services.session_verify_dose(actor=prescriber, session=session)
    return session_services.session_update(
        actor=nurse,
        session=session,
        fasting_confirmed=True,
        escort_confirmed=True,
        pre_bp_systolic=126,
        pre_bp_diastolic=82,
    )


@pytest.fixture
def running_session(ready_session, nurse):
    return session_services.session_start(actor=nurse, session=ready_session)


@pytest.fixture
def completed_session(running_session, nurse):
    return session_services.session_complete(actor=nurse, session=running_session)


@pytest.fixture
def break_glass(db):
    """``break_glass(user, patient)``: open the patient to an outsider the way the page does."""

    def open_(user, patient):
        return patient_services.break_glass_open(
            actor=user, patient=patient, reason="Covering the infusion suite"
        )

    return open_


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """The system Chromium, headless (no browser download)."""
    return {
        "executable_path": "/usr/bin/chromium",
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }
