"""A patient is given infusions only while still ready for treatment: the latest signed
evaluation eligible, a consent on file, and not discharged or declined. Checked when a
course is ordered, when a session is scheduled, when its dose is verified (no dose is
prepared for a patient who may not be treated) and when an infusion starts."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ehr.errors import ConflictingState
from patients import services as patient_services
from patients.models import Evaluation, Patient
from sessions import services
from sessions.monitoring import current_protocol
from sessions.services import (
    dose_verification_blockers,
    start_blockers,
    treatment_readiness_errors,
)
from tests.factories import PatientFactory
from tests.patients.factories import ConsentFactory, EvaluationFactory, no_contraindications
from tests.sessions.factories import InfusionSessionFactory, TreatmentCourseFactory

pytestmark = pytest.mark.django_db


def _start(client, session):
    return client.post(f"/api/v1/sessions/{session.pk}/start/", {})


def _schedule(client, course):
    return client.post(
        "/api/v1/sessions/",
        {
            "course": course.pk,
            "scheduled_for": timezone.now().isoformat(),
            "weight_kg": "72.5",
            "dose_mg_per_kg": "0.50",
        },
    )


def _not_eligible_found_later(patient, prescriber, *, signed=True):
    """A re-evaluation after the course was ordered finds a pregnancy."""
    return EvaluationFactory(
        patient=patient,
        evaluated_on=timezone.localdate(),
        signed_by=prescriber if signed else None,
        eligibility=Evaluation.Eligibility.NOT_ELIGIBLE,
        contraindications={"pregnancy": True},
        notes="Pregnancy test positive.",
    )


def test_a_later_signed_not_eligible_evaluation_stops_the_start(
    api, nurse, prescriber, ready_session
):
    _not_eligible_found_later(ready_session.course.patient, prescriber)

    response = _start(api(nurse), ready_session)

    assert response.status_code == 409
    assert "records eligibility 'not eligible'" in response.json()["detail"]
    ready_session.refresh_from_db()
    assert ready_session.status == "scheduled"


def _verify(client, session):
    return client.post(f"/api/v1/sessions/{session.pk}/verify-dose/", {})


def test_a_later_signed_not_eligible_evaluation_stops_the_dose_verification(
    api, prescriber, session
):
    _not_eligible_found_later(session.course.patient, prescriber)

    blockers = dose_verification_blockers(session=session, user=prescriber)
    response = _verify(api(prescriber), session)

    assert response.status_code == 409
    assert "records eligibility 'not eligible'" in response.json()["detail"]
    assert response.json()["detail"] == " ".join(blockers)
    session.refresh_from_db()
    assert session.dose_verified_at is None and session.dose_verified_by is None


@pytest.mark.parametrize(
    ("eligibility", "signed"),
    [
        (Evaluation.Eligibility.NOT_ELIGIBLE, False),  # not signed: it decides nothing yet
        (Evaluation.Eligibility.ELIGIBLE_WITH_PRECAUTIONS, True),
    ],
)
def test_a_re_evaluation_that_still_allows_treatment_lets_the_dose_be_verified(
    api, prescriber, session, eligibility, signed
):
    EvaluationFactory(
        patient=session.course.patient,
        evaluated_on=timezone.localdate(),
        signed_by=prescriber if signed else None,
        eligibility=eligibility,
        precautions="Blood pressure checked twice before each infusion.",
    )

    assert dose_verification_blockers(session=session, user=prescriber) == []
    assert _verify(api(prescriber), session).status_code == 200


def test_a_later_signed_not_eligible_evaluation_stops_scheduling(api, nurse, prescriber, course):
    _not_eligible_found_later(course.patient, prescriber)

    response = _schedule(api(nurse), course)

    assert response.status_code == 400
    assert "records eligibility 'not eligible'" in response.json()["course"][0]
    assert not course.sessions.exists()


def test_an_unsigned_re_evaluation_does_not_stop_the_start(api, nurse, prescriber, ready_session):
    _not_eligible_found_later(ready_session.course.patient, prescriber, signed=False)

    assert _start(api(nurse), ready_session).status_code == 200


def test_a_later_evaluation_eligible_with_precautions_lets_it_start(
    api, nurse, prescriber, ready_session
):
    EvaluationFactory(
        patient=ready_session.course.patient,
        evaluated_on=timezone.localdate(),
        signed_by=prescriber,
        eligibility=Evaluation.Eligibility.ELIGIBLE_WITH_PRECAUTIONS,
        contraindications={"interstitial_cystitis": True},
        precautions="Urology follows; bladder symptoms asked at each visit.",
    )

    assert _start(api(nurse), ready_session).status_code == 200


@pytest.mark.parametrize("status", [Patient.Status.DISCHARGED, Patient.Status.DECLINED])
def test_a_discharged_or_declined_patient_gets_no_infusion(
    api, nurse, ready_session, course, status
):
    Patient.objects.filter(pk=course.patient_id).update(status=status)

    started = _start(api(nurse), ready_session)
    scheduled = _schedule(api(nurse), course)

    assert started.status_code == 409
    assert f"The patient's status is {status}" in started.json()["detail"]
    assert scheduled.status_code == 400
    assert f"The patient's status is {status}" in scheduled.json()["course"][0]


@pytest.mark.parametrize("status", [Patient.Status.ACTIVE, Patient.Status.MAINTENANCE])
def test_an_active_or_maintenance_patient_may_be_given_infusions(
    api, nurse, ready_session, course, status
):
    Patient.objects.filter(pk=course.patient_id).update(status=status)

    assert _schedule(api(nurse), course).status_code == 201
    assert _start(api(nurse), ready_session).status_code == 200


def test_no_course_for_a_discharged_patient(api, prescriber, eligible_patient):
    Patient.objects.filter(pk=eligible_patient.pk).update(status=Patient.Status.DISCHARGED)

    response = api(prescriber).post(
        "/api/v1/courses/", {"patient": eligible_patient.pk, "start_date": "2025-02-03"}
    )

    assert response.status_code == 400
    assert "The patient's status is discharged" in response.json()["patient"][0]


def test_a_consent_withdrawn_from_the_file_stops_the_start(api, nurse, ready_session):
    ready_session.course.patient.consents.all().delete()

    response = _start(api(nurse), ready_session)

    assert response.status_code == 409
    assert "No informed consent" in response.json()["detail"]


def test_the_session_shows_why_the_patient_is_no_longer_ready(
    api, nurse, prescriber, ready_session
):
    _not_eligible_found_later(ready_session.course.patient, prescriber)

    body = api(nurse).get(f"/api/v1/sessions/{ready_session.pk}/").json()

    assert body["start_blockers"] == treatment_readiness_errors(
        patient=ready_session.course.patient
    )


def test_the_session_list_judges_readiness_by_the_same_latest_evaluation(
    api, nurse, prescriber, ready_session
):
    # Two evaluations of the same day: the one signed last decides, though entered first.
    patient = ready_session.course.patient
    first_entered = patient.evaluations.get()
    _not_eligible_found_later(patient, prescriber)
    Evaluation.objects.filter(pk=first_entered.pk).update(
        evaluated_on=timezone.localdate(), signed_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    ready_session.refresh_from_db()
    expected = start_blockers(session=ready_session, protocol=current_protocol())

    listed = api(nurse).get("/api/v1/sessions/", {"status": "scheduled"}).json()["results"]

    assert expected == []
    assert [row["start_blockers"] for row in listed] == [expected]


def test_the_session_list_costs_the_same_queries_with_more_patients_waiting(
    api, nurse, prescriber, django_assert_max_num_queries
):
    def add_scheduled(count):
        for _ in range(count):
            patient = PatientFactory(
                care_team=[nurse, prescriber], responsible_prescriber=prescriber
            )
            EvaluationFactory(patient=patient, signed_by=prescriber)
            ConsentFactory(patient=patient, recorded_by=prescriber)
            course = TreatmentCourseFactory(patient=patient, ordered_by=prescriber)
            InfusionSessionFactory(course=course, number=1, created_by=nurse)

    add_scheduled(2)
    client = api(nurse)
    with django_assert_max_num_queries(14) as small:
        client.get("/api/v1/sessions/")
    add_scheduled(10)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/api/v1/sessions/")

    assert response.json()["count"] == 12
    assert all(row["start_blockers"] for row in response.json()["results"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_start_racing_a_not_eligible_signature_waits_for_it_and_is_stopped(
    nurse, prescriber, ready_session
):
    patient = ready_session.course.patient
    found = _not_eligible_found_later(patient, prescriber, signed=False)
    found.contraindications = no_contraindications(pregnancy=True)  # a complete screen
    found.save()
    signed, commit = threading.Event(), threading.Event()
    outcome = {}

    def sign_and_hold():
        # Signed inside an open transaction, committed only when the test says so.
        try:
            with transaction.atomic():
                patient_services.evaluation_sign(actor=prescriber, evaluation=found)
                signed.set()
                commit.wait(timeout=10)
        except Exception as exc:
            outcome["signing failed"] = exc
            signed.set()
        finally:
            connection.close()

    def start():
        try:
            services.session_start(actor=nurse, session=ready_session)
            outcome["started"] = True
        except ConflictingState as exc:
            outcome["refused"] = str(exc)
        finally:
            connection.close()

    signing = threading.Thread(target=sign_and_hold)
    signing.start()
    assert signed.wait(timeout=10)
    assert "signing failed" not in outcome, outcome
    starting = threading.Thread(target=start)
    starting.start()
    starting.join(timeout=1)
    # The start waits for the patient while the signature is not yet committed...
    assert starting.is_alive()
    commit.set()
    signing.join(timeout=10)
    starting.join(timeout=10)

    # ...then reads the signed evaluation and refuses.
    assert "records eligibility 'not eligible'" in outcome.get("refused", ""), outcome
    ready_session.refresh_from_db()
    assert ready_session.status == "scheduled"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_a_rating_scale_recorded_during_a_start_does_not_deadlock_it(
    nurse, prescriber, ready_session
):
    # Locks are taken patient, course, session: a scale charted on the session at the
    # moment it starts waits for the start (or the start for it), never both.
    barrier = threading.Barrier(2)
    errors = []

    def run(work):
        try:
            barrier.wait(timeout=5)
            work()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def start():
        services.session_start(actor=nurse, session=ready_session)

    def scale():
        patient_services.assessment_create(
            actor=nurse,
            patient=ready_session.course.patient,
            instrument="GAD7",
            answers=[1] * 7,
            administered_at=timezone.now(),
            session=ready_session,
        )

    threads = [threading.Thread(target=run, args=(work,)) for work in (start, scale)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)

    assert errors == []
    ready_session.refresh_from_db()
    assert ready_session.status == "in_progress"
