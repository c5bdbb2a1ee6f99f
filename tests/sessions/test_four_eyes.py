"""Four eyes on every dose: whoever prepared or last changed it never verifies it, and a
verification never covers values, or an order, the verifier did not see."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.services import care_team_grant
from sessions.models import InfusionSession, TreatmentCourse
from sessions.monitoring import current_protocol
from sessions.services import dose_verification_blockers, start_blockers
from tests.sessions.factories import InfusionSessionFactory

pytestmark = pytest.mark.django_db


def _post(client, session, action, data=None):
    return client.post(f"/api/v1/sessions/{session.pk}/{action}/", data or {})


def _patch(client, session, data):
    return client.patch(f"/api/v1/sessions/{session.pk}/", data)


@pytest.fixture
def team_nurse(second_nurse, session):
    """A second nurse on the patient's care team."""
    care_team_grant(patient=session.course.patient, user=second_nurse)
    return second_nurse


# Who prepared the dose


def test_the_creator_is_the_preparer_of_a_new_session(api, nurse, course):
    response = api(nurse).post(
        "/api/v1/sessions/",
        {
            "course": course.pk,
            "scheduled_for": timezone.now().isoformat(),
            "weight_kg": "72.5",
            "dose_mg_per_kg": "0.50",
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["dose_prepared_by"] == nurse.pk


def test_a_clinician_who_changed_the_weight_cannot_verify_their_change(
    api, nurse, prescriber, team_nurse, session
):
    changed = _patch(api(team_nurse), session, {"weight_kg": "95.0"})

    assert changed.status_code == 200, changed.json()
    assert changed.json()["dose_prepared_by"] == team_nurse.pk
    response = _post(api(team_nurse), session, "verify-dose")
    assert response.status_code == 403
    assert "You changed this dose" in response.json()["detail"]
    session.refresh_from_db()
    assert session.dose_verified_at is None
    # Nor the clinician who created the session; a third one may.
    assert _post(api(nurse), session, "verify-dose").status_code == 403
    assert _post(api(prescriber), session, "verify-dose").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dose_mg_per_kg", "0.45"),
        ("infusion_minutes", 45),
        ("concentration_mg_per_ml", "50.00"),
        ("bag_volume_ml", "250.0"),
    ],
)
def test_whoever_changes_any_dose_value_becomes_its_preparer(
    api, team_nurse, session, field, value
):
    assert _patch(api(team_nurse), session, {field: value}).status_code == 200

    session.refresh_from_db()
    assert session.dose_prepared_by == team_nurse
    assert _post(api(team_nurse), session, "verify-dose").status_code == 403


def test_resending_the_same_dose_does_not_make_you_its_preparer(api, nurse, team_nurse, session):
    _patch(api(team_nurse), session, {"weight_kg": "72.5", "fasting_confirmed": True})

    session.refresh_from_db()
    assert session.dose_prepared_by == nurse
    assert _post(api(team_nurse), session, "verify-dose").status_code == 200


def test_the_prescriber_who_overrode_the_dose_cannot_verify_it(
    api, nurse, prescriber, team_nurse, session
):
    override = _post(
        api(prescriber),
        session,
        "override",
        {"dose_mg_per_kg": "1.50", "reason": "Partial response at 1.0 mg/kg"},
    )

    assert override.status_code == 200, override.json()
    assert override.json()["dose_prepared_by"] == prescriber.pk
    response = _post(api(prescriber), session, "verify-dose")
    assert response.status_code == 403
    assert "You changed this dose" in response.json()["detail"]
    assert _post(api(nurse), session, "verify-dose").status_code == 403
    assert _post(api(team_nurse), session, "verify-dose").status_code == 200


def test_the_verification_blockers_name_the_last_preparer(prescriber, nurse, session):
    from sessions.services import session_update

    session_update(actor=prescriber, session=session, weight_kg=Decimal("80.0"))
    session.refresh_from_db()

    assert dose_verification_blockers(session=session, user=prescriber) == [
        "You changed this dose after it was prepared; a second clinician must verify it."
    ]
    assert dose_verification_blockers(session=session, user=nurse) == [
        "You prepared this dose; a second clinician must verify it."
    ]


def test_the_database_refuses_a_verification_by_the_preparer(prescriber, second_nurse, session):
    InfusionSession.objects.filter(pk=session.pk).update(dose_prepared_by=second_nurse)

    with pytest.raises(IntegrityError), transaction.atomic():
        InfusionSession.objects.filter(pk=session.pk).update(
            dose_verified_by=second_nurse, dose_verified_at=timezone.now()
        )


def test_a_session_saved_without_a_preparer_is_prepared_by_its_creator(nurse, course):
    session = InfusionSessionFactory(course=course, created_by=nurse)

    assert session.dose_prepared_by == nurse


# A verification never covers values the verifier did not see


@pytest.mark.parametrize(
    ("field", "seen", "now"),
    [
        ("concentration_mg_per_ml", "10.00", "50.00"),
        ("bag_volume_ml", "100.0", "250.0"),
    ],
)
def test_a_preparation_changed_while_checking_is_not_verified(
    api, nurse, prescriber, session, field, seen, now
):
    _patch(api(nurse), session, {field: now})

    response = _post(api(prescriber), session, "verify-dose", {field: seen})

    assert response.status_code == 409
    assert "changed while you were checking" in response.json()["detail"]
    session.refresh_from_db()
    assert session.dose_verified_at is None


def test_every_value_of_the_dose_plan_as_seen_is_verified(api, prescriber, session):
    response = _post(
        api(prescriber),
        session,
        "verify-dose",
        {
            "weight_kg": "72.5",
            "dose_mg_per_kg": "0.50",
            "total_dose_mg": "36.3",
            "infusion_minutes": 40,
            "concentration_mg_per_ml": "10.00",
            "bag_volume_ml": "100.0",
        },
    )

    assert response.status_code == 200, response.json()


# The order in force, not the one the verifier saw


def test_lowering_the_order_stops_a_verified_dose_from_starting(
    api, nurse, prescriber, ready_session
):
    lowered = api(prescriber).patch(
        f"/api/v1/courses/{ready_session.course_id}/", {"dose_mg_per_kg": "0.30"}
    )

    assert lowered.status_code == 200, lowered.json()
    response = _post(api(nurse), ready_session, "start")
    assert response.status_code == 409
    assert "above the course's ordered dose of 0.30 mg/kg" in response.json()["detail"]
    ready_session.refresh_from_db()
    assert ready_session.status == "scheduled"


def test_a_changed_order_clears_the_verification_of_sessions_not_yet_started(
    api, prescriber, ready_session, running_session_elsewhere
):
    api(prescriber).patch(f"/api/v1/courses/{ready_session.course_id}/", {"dose_mg_per_kg": "0.60"})

    ready_session.refresh_from_db()
    assert (ready_session.dose_verified_by, ready_session.dose_verified_at) == (None, None)
    running_session_elsewhere.refresh_from_db()
    assert running_session_elsewhere.dose_verified_by is not None


def test_a_course_change_that_leaves_the_dose_keeps_the_verification(
    api, prescriber, ready_session
):
    api(prescriber).patch(f"/api/v1/courses/{ready_session.course_id}/", {"planned_sessions": 8})

    ready_session.refresh_from_db()
    assert ready_session.dose_verified_by == prescriber


def test_start_rechecks_the_current_order_even_for_a_verified_dose(api, nurse, ready_session):
    # However the order came to be lower, the start is judged against it.
    TreatmentCourse.objects.filter(pk=ready_session.course_id).update(
        dose_mg_per_kg=Decimal("0.49")
    )
    ready_session.refresh_from_db()

    blockers = start_blockers(session=ready_session, protocol=current_protocol())
    response = _post(api(nurse), ready_session, "start")

    assert any("above the course's ordered dose of 0.49 mg/kg" in b for b in blockers)
    assert response.status_code == 409


def test_an_order_equal_to_the_dose_lets_it_start(api, nurse, ready_session):
    TreatmentCourse.objects.filter(pk=ready_session.course_id).update(
        dose_mg_per_kg=Decimal("0.50")
    )

    assert _post(api(nurse), ready_session, "start").status_code == 200


def test_an_override_of_exactly_the_dose_still_covers_it_after_the_order_is_lowered(
    api, nurse, prescriber, team_nurse, session
):
    _post(api(prescriber), session, "override", {"dose_mg_per_kg": "0.60", "reason": "Partial"})
    _patch(
        api(nurse),
        session,
        {
            "fasting_confirmed": True,
            "escort_confirmed": True,
            "pre_bp_systolic": 126,
            "pre_bp_diastolic": 82,
        },
    )
    api(prescriber).patch(f"/api/v1/courses/{session.course_id}/", {"dose_mg_per_kg": "0.40"})

    assert _post(api(team_nurse), session, "verify-dose").status_code == 200
    assert _post(api(nurse), session, "start").status_code == 200


@pytest.fixture
def running_session_elsewhere(ready_session, nurse, prescriber):
    """A second session of the same course, already running."""
    return InfusionSessionFactory(
        course=ready_session.course,
        number=2,
        created_by=nurse,
        dose_verified_by=prescriber,
        dose_verified_at=timezone.now(),
        status="in_progress",
        started_at=timezone.now(),
    )
