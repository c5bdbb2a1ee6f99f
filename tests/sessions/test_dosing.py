"""Dose arithmetic (decimal, half up) and the dose rules through the API."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from sessions.dosing import DosePlan, dose_limit_errors, dose_plan, total_dose_mg
from sessions.models import InfusionSession

pytestmark = pytest.mark.django_db


# The arithmetic


@pytest.mark.parametrize(
    ("weight", "dose", "total"),
    [
        # Binary floating point rounds each of these ties the other way.
        ("72.5", "0.5", "36.3"),  # 36.25: round() in float gives 36.2 (half to even)
        ("33.5", "0.3", "10.1"),  # 10.05 is 10.049999… in float
        ("41.0", "0.95", "39.0"),  # 38.95 is 38.949999… in float
        ("30.5", "0.7", "21.4"),  # 21.35 is 21.349999… in float
        ("80.5", "0.35", "28.2"),  # 28.175 is 28.174999… in float
        ("70", "0.5", "35.0"),
        ("300", "1.0", "300.0"),
    ],
)
def test_total_dose_is_weight_times_dose_rounded_half_up_to_a_tenth(weight, dose, total):
    assert total_dose_mg(weight_kg=Decimal(weight), dose_mg_per_kg=Decimal(dose)) == Decimal(total)


def test_a_float_input_is_taken_as_written_not_as_its_binary_value():
    assert total_dose_mg(weight_kg=33.5, dose_mg_per_kg=0.3) == Decimal("10.1")


def test_dose_plan_for_the_usual_infusion():
    plan = dose_plan(
        weight_kg=Decimal("72.5"),
        dose_mg_per_kg=Decimal("0.5"),
        infusion_minutes=40,
        concentration_mg_per_ml=Decimal("10"),
        bag_volume_ml=Decimal("100"),
    )

    assert plan == DosePlan(
        total_mg=Decimal("36.3"),
        rate_mg_per_min=Decimal("0.91"),  # 36.3 / 40 = 0.9075, half up
        draw_volume_ml=Decimal("3.63"),  # 36.3 mg of 10 mg/mL stock
        pump_rate_ml_per_h=Decimal("150.0"),  # 100 mL over 40 minutes
    )


def test_dose_plan_rounds_draw_volume_to_hundredths_and_pump_rate_to_tenths():
    plan = dose_plan(
        weight_kg=Decimal("72.5"),
        dose_mg_per_kg=Decimal("0.5"),
        infusion_minutes=40,
        concentration_mg_per_ml=Decimal("50"),
        bag_volume_ml=Decimal("49.9"),
    )

    assert plan.draw_volume_ml == Decimal("0.73")  # 0.726
    assert plan.pump_rate_ml_per_h == Decimal("74.9")  # 74.85 exactly: half up, not 74.8


def test_dose_plan_pump_rate_over_an_uneven_time():
    plan = dose_plan(
        weight_kg=Decimal("60"),
        dose_mg_per_kg=Decimal("0.75"),
        infusion_minutes=35,
        concentration_mg_per_ml=Decimal("10"),
        bag_volume_ml=Decimal("100"),
    )

    assert plan.total_mg == Decimal("45.0")
    assert plan.rate_mg_per_min == Decimal("1.29")  # 1.2857…
    assert plan.pump_rate_ml_per_h == Decimal("171.4")  # 171.428…


@pytest.mark.parametrize(
    ("dose", "ordered", "override", "refused"),
    [
        ("0.50", "0.50", None, False),
        ("0.51", "0.50", None, True),  # above the order
        ("0.40", "0.50", None, False),  # below the order, within range
        ("0.10", "0.50", None, False),
        ("0.09", "0.50", None, True),  # below the range
        ("1.00", "1.00", None, False),
        ("1.01", "1.00", None, True),  # above the range
        ("0.60", "0.50", "0.60", False),  # covered by an override of exactly that dose
        ("0.70", "0.50", "0.60", True),  # an override covers one dose only
        ("2.01", "0.50", "2.01", True),  # above the absolute limit, even overridden
        ("0.04", "0.50", "0.04", True),  # below the absolute limit, even overridden
    ],
)
def test_dose_limit_rule(dose, ordered, override, refused):
    errors = dose_limit_errors(
        weight_kg=Decimal("70"),
        dose_mg_per_kg=Decimal(dose),
        ordered_mg_per_kg=Decimal(ordered),
        overridden_mg_per_kg=Decimal(override) if override else None,
    )

    assert ("dose_mg_per_kg" in errors) is refused


@pytest.mark.parametrize(
    ("weight", "refused"), [("29.9", True), ("30.0", False), ("300.0", False), ("300.1", True)]
)
def test_weight_limit_rule(weight, refused):
    errors = dose_limit_errors(
        weight_kg=Decimal(weight), dose_mg_per_kg=Decimal("0.5"), ordered_mg_per_kg=Decimal("0.5")
    )

    assert ("weight_kg" in errors) is refused


# Through the API


def _new_session(client, course, **values):
    body = {
        "course": course.pk,
        "scheduled_for": timezone.now().isoformat(),
        "weight_kg": "72.5",
        "dose_mg_per_kg": "0.50",
        **values,
    }
    return client.post("/api/v1/sessions/", body)


def test_nurse_schedules_a_session_and_sees_the_dose_plan(api, nurse, course):
    response = _new_session(api(nurse), course)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == 1
    assert body["patient"] == course.patient_id
    assert body["status"] == "scheduled"
    assert body["total_dose_mg"] == "36.3"
    assert body["rate_mg_per_min"] == "0.91"
    assert body["draw_volume_ml"] == "3.63"
    assert body["pump_rate_ml_per_h"] == "150.0"
    assert body["infusion_minutes"] == 40  # the course's order
    assert body["dose_verified_by"] is None
    assert "The dose has not been verified by a second clinician." in body["start_blockers"]
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient_id) == (
        "create",
        "infusionsession",
        course.patient_id,
    )


def test_sessions_are_numbered_in_order_within_the_course(api, nurse, course):
    numbers = [_new_session(api(nurse), course).json()["number"] for _ in range(3)]

    assert numbers == [1, 2, 3]


def test_weight_and_dose_must_be_confirmed_not_defaulted(api, nurse, course):
    response = api(nurse).post(
        "/api/v1/sessions/", {"course": course.pk, "scheduled_for": timezone.now().isoformat()}
    )

    assert response.status_code == 400
    assert {"weight_kg", "dose_mg_per_kg"} <= set(response.json())


@pytest.mark.parametrize(
    ("field", "value", "status_code"),
    [
        ("infusion_minutes", 0, 400),  # never silently the course's 40 minutes
        ("infusion_minutes", 9, 400),
        ("infusion_minutes", 10, 201),
        ("infusion_minutes", 240, 201),
        ("infusion_minutes", 241, 400),
        ("concentration_mg_per_ml", "0", 400),  # never silently the usual 10 mg/mL
        ("concentration_mg_per_ml", "0.99", 400),
        ("concentration_mg_per_ml", "1.00", 201),
        ("concentration_mg_per_ml", "100.00", 201),
        ("concentration_mg_per_ml", "100.01", 400),
        ("bag_volume_ml", "0", 400),  # never silently the usual 100 mL
        ("bag_volume_ml", "9.9", 400),
        ("bag_volume_ml", "10.0", 201),
        ("bag_volume_ml", "1000.0", 201),
        ("bag_volume_ml", "1000.1", 400),
    ],
)
def test_a_preparation_value_sent_is_checked_never_replaced_by_the_default(
    api, nurse, course, field, value, status_code
):
    response = _new_session(api(nurse), course, **{field: value})

    assert response.status_code == status_code, response.json()
    if status_code == 400:
        assert field in response.json()
        assert not InfusionSession.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("infusion_minutes", 0),
        ("concentration_mg_per_ml", Decimal("0")),
        ("bag_volume_ml", Decimal("0")),
    ],
)
def test_the_service_refuses_a_zero_rather_than_taking_the_default(nurse, course, field, value):
    from django.core.exceptions import ValidationError

    from sessions.services import session_create

    with pytest.raises(ValidationError) as refused:
        session_create(
            actor=nurse,
            course=course,
            scheduled_for=timezone.now(),
            weight_kg=Decimal("72.5"),
            dose_mg_per_kg=Decimal("0.50"),
            **{field: value},
        )

    assert field in refused.value.message_dict


def test_only_a_missing_value_takes_the_default(nurse, course):
    from sessions.services import session_create

    session = session_create(
        actor=nurse,
        course=course,
        scheduled_for=timezone.now(),
        weight_kg=Decimal("72.5"),
        dose_mg_per_kg=Decimal("0.50"),
    )

    assert (session.infusion_minutes, session.concentration_mg_per_ml, session.bag_volume_ml) == (
        course.infusion_minutes,
        Decimal("10"),
        Decimal("100"),
    )


@pytest.mark.parametrize(
    ("weight", "status_code"), [("29.9", 400), ("30.0", 201), ("300.0", 201), ("300.1", 400)]
)
def test_weight_outside_30_to_300_kg_is_refused(api, nurse, course, weight, status_code):
    response = _new_session(api(nurse), course, weight_kg=weight)

    assert response.status_code == status_code
    if status_code == 400:
        assert "30–300 kg" in response.json()["weight_kg"][0]


@pytest.mark.parametrize("dose", ["0.51", "0.09", "1.20"])
def test_dose_above_the_order_or_outside_the_range_is_refused(api, nurse, course, dose):
    response = _new_session(api(nurse), course, dose_mg_per_kg=dose)

    assert response.status_code == 400
    assert "override" in response.json()["dose_mg_per_kg"][0]
    assert not InfusionSession.objects.exists()


def test_dose_below_the_order_within_range_is_accepted(api, nurse, course):
    assert _new_session(api(nurse), course, dose_mg_per_kg="0.40").status_code == 201


def test_patch_to_a_dose_above_the_order_is_refused(api, nurse, session):
    response = api(nurse).patch(f"/api/v1/sessions/{session.pk}/", {"dose_mg_per_kg": "0.60"})

    assert response.status_code == 400
    assert "dose_mg_per_kg" in response.json()
    session.refresh_from_db()
    assert session.dose_mg_per_kg == Decimal("0.50")


def test_nurse_cannot_record_an_override(api, nurse, session):
    response = api(nurse).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "0.60", "reason": "Partial response at 0.5"},
    )

    assert response.status_code == 403
    session.refresh_from_db()
    assert session.dose_mg_per_kg == Decimal("0.50")


def test_prescriber_overrides_the_dose_with_a_reason(api, prescriber, session):
    response = api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "0.60", "reason": "Partial response at 0.5 mg/kg"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["dose_mg_per_kg"] == "0.60"
    assert body["total_dose_mg"] == "43.5"
    assert body["dose_override_by"] == prescriber.pk
    assert body["dose_override_reason"] == "Partial response at 0.5 mg/kg"
    event = AuditEvent.objects.get()
    assert event.action == "update"
    assert "override" in event.detail


def test_an_override_allows_a_dose_above_the_sub_anaesthetic_range(api, prescriber, session):
    response = api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "1.20", "reason": "Documented non-response; anaesthetist present"},
    )

    assert response.status_code == 200


def test_an_override_never_passes_the_absolute_ceiling(api, prescriber, session):
    response = api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "2.50", "reason": "Typed in error"},
    )

    assert response.status_code == 400
    assert "absolute limits" in response.json()["dose_mg_per_kg"][0]


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_override_needs_a_reason(api, prescriber, session, reason):
    response = api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/", {"dose_mg_per_kg": "0.60", "reason": reason}
    )

    assert response.status_code == 400
    assert "reason" in response.json()


def test_an_override_covers_only_its_own_dose(api, prescriber, nurse, session):
    api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "0.60", "reason": "Partial response"},
    )

    response = api(nurse).patch(f"/api/v1/sessions/{session.pk}/", {"dose_mg_per_kg": "0.70"})

    assert response.status_code == 400


def test_the_creator_cannot_verify_their_own_dose(api, nurse, session):
    response = api(nurse).post(f"/api/v1/sessions/{session.pk}/verify-dose/")

    assert response.status_code == 403
    assert "second clinician" in response.json()["detail"]
    session.refresh_from_db()
    assert session.dose_verified_at is None


def test_a_second_clinician_verifies_the_dose(api, second_nurse, prescriber, session):
    from patients.services import care_team_grant

    care_team_grant(patient=session.course.patient, user=second_nurse)

    response = api(second_nurse).post(
        f"/api/v1/sessions/{session.pk}/verify-dose/", {"total_dose_mg": "36.3"}
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["dose_verified_by"] == second_nurse.pk
    assert body["dose_verified_at"] is not None
    assert "The dose has not been verified by a second clinician." not in body["start_blockers"]


def test_verification_refused_when_the_dose_changed_since_it_was_checked(api, prescriber, session):
    response = api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/verify-dose/", {"total_dose_mg": "35.0"}
    )

    assert response.status_code == 409
    session.refresh_from_db()
    assert session.dose_verified_at is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weight_kg", "73.0"),
        ("dose_mg_per_kg", "0.45"),
        ("infusion_minutes", 45),
        ("concentration_mg_per_ml", "50.00"),
        ("bag_volume_ml", "250.0"),
    ],
)
def test_any_change_to_the_dose_clears_the_verification(
    api, nurse, prescriber, session, field, value
):
    assert api(prescriber).post(f"/api/v1/sessions/{session.pk}/verify-dose/").status_code == 200

    response = api(nurse).patch(f"/api/v1/sessions/{session.pk}/", {field: value})

    assert response.status_code == 200, response.json()
    assert response.json()["dose_verified_by"] is None
    assert response.json()["dose_verified_at"] is None
    assert api(prescriber).post(f"/api/v1/sessions/{session.pk}/verify-dose/").status_code == 200


def test_an_unchanged_value_keeps_the_verification(api, nurse, prescriber, session):
    api(prescriber).post(f"/api/v1/sessions/{session.pk}/verify-dose/")

    response = api(nurse).patch(
        f"/api/v1/sessions/{session.pk}/", {"weight_kg": "72.5", "notes": "Weighed again: same."}
    )

    assert response.json()["dose_verified_by"] == prescriber.pk


def test_an_override_clears_the_verification(api, prescriber, nurse, session):
    session.dose_verified_by = prescriber
    session.dose_verified_at = timezone.now()
    session.save()

    response = api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "0.60", "reason": "Partial response"},
    )

    assert response.json()["dose_verified_by"] is None


def test_the_dose_cannot_change_once_the_infusion_started(api, nurse, running_session):
    response = api(nurse).patch(f"/api/v1/sessions/{running_session.pk}/", {"weight_kg": "80.0"})

    assert response.status_code == 409
    assert "started" in response.json()["detail"]


def test_next_session_proposal_comes_from_the_previous_session(api, nurse, session):
    session.weight_kg = Decimal("74.0")
    session.dose_mg_per_kg = Decimal("0.45")
    session.save()

    response = api(nurse).get(f"/api/v1/courses/{session.course_id}/next-session/")

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == 2
    assert body["prefilled_from"] == session.pk
    assert (body["weight_kg"], body["weight_source"]) == ("74.0", "previous_session")
    assert (body["dose_mg_per_kg"], body["dose_source"]) == ("0.45", "previous_session")
    assert body["total_dose_mg"] == "33.3"
    assert InfusionSession.objects.count() == 1  # nothing was created


def test_first_session_proposal_takes_the_weight_from_the_evaluation(api, nurse, course):
    body = api(nurse).get(f"/api/v1/courses/{course.pk}/next-session/").json()

    assert (body["weight_kg"], body["weight_source"]) == ("72.5", "evaluation")
    assert (body["dose_mg_per_kg"], body["dose_source"]) == ("0.50", "course_order")
    assert body["prefilled_from"] is None


def test_proposal_does_not_carry_an_overridden_dose_forward(api, nurse, prescriber, session):
    api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "0.60", "reason": "Partial response"},
    )

    body = api(nurse).get(f"/api/v1/courses/{session.course_id}/next-session/").json()

    assert (body["dose_mg_per_kg"], body["dose_source"]) == ("0.50", "course_order")
    assert any("override" in note for note in body["notes"])


def test_sessions_beyond_the_planned_number_are_refused(api, nurse, course):
    course.planned_sessions = 1
    course.save()
    _new_session(api(nurse), course)

    response = _new_session(api(nurse), course)

    assert response.status_code == 409
    assert "planned" in response.json()["detail"]


def test_a_session_before_the_course_start_is_refused(api, nurse, course):
    early = timezone.now() - datetime.timedelta(days=30)

    response = _new_session(api(nurse), course, scheduled_for=early.isoformat())

    assert response.status_code == 400
    assert "scheduled_for" in response.json()


# Who may verify, and when: one function for the service and the charting screen


def test_verification_blockers_name_the_preparer_and_nothing_for_a_second_clinician(
    nurse, prescriber, session
):
    from sessions.services import dose_verification_blockers

    assert dose_verification_blockers(session=session, user=nurse) == [
        "You prepared this dose; a second clinician must verify it."
    ]
    assert dose_verification_blockers(session=session, user=prescriber) == []


def test_a_verified_dose_cannot_be_verified_again(api, prescriber, second_nurse, session):
    from patients.services import care_team_grant
    from sessions.services import dose_verification_blockers

    care_team_grant(patient=session.course.patient, user=second_nurse)
    api(prescriber).post(f"/api/v1/sessions/{session.pk}/verify-dose/")
    session.refresh_from_db()

    blockers = dose_verification_blockers(session=session, user=second_nurse)
    response = api(second_nurse).post(f"/api/v1/sessions/{session.pk}/verify-dose/")

    assert len(blockers) == 1 and "already verified by Daniel Reyes" in blockers[0]
    assert response.status_code == 409
    assert response.json()["detail"] == blockers[0]


def test_a_dose_the_order_no_longer_covers_cannot_be_verified(api, prescriber, session):
    from sessions.services import dose_verification_blockers

    api(prescriber).patch(f"/api/v1/courses/{session.course_id}/", {"dose_mg_per_kg": "0.40"})
    session.refresh_from_db()

    blockers = dose_verification_blockers(session=session, user=prescriber)
    response = api(prescriber).post(f"/api/v1/sessions/{session.pk}/verify-dose/")

    assert len(blockers) == 1 and "cannot be verified" in blockers[0]
    assert response.status_code == 409
    assert response.json()["detail"] == blockers[0]
    session.refresh_from_db()
    assert session.dose_verified_at is None


def test_the_preparer_is_refused_with_403_even_when_the_dose_is_also_blocked(
    api, nurse, prescriber, session
):
    api(prescriber).patch(f"/api/v1/courses/{session.course_id}/", {"dose_mg_per_kg": "0.40"})

    response = api(nurse).post(f"/api/v1/sessions/{session.pk}/verify-dose/")

    assert response.status_code == 403


def test_a_verification_charted_later_keeps_its_time_but_never_in_the_future(prescriber, session):
    from ehr.errors import RuleViolation
    from sessions.services import session_verify_dose

    with pytest.raises(RuleViolation):
        session_verify_dose(
            actor=prescriber, session=session, at=timezone.now() + datetime.timedelta(minutes=5)
        )
    checked = timezone.now() - datetime.timedelta(minutes=3)

    verified = session_verify_dose(actor=prescriber, session=session, at=checked)

    assert verified.dose_verified_at == checked


# What the audit trail says about the dose actions: what happened, never the reason's text


def test_an_override_is_audited_with_the_dose_and_without_the_reason(api, prescriber, session):
    api(prescriber).post(
        f"/api/v1/sessions/{session.pk}/override/",
        {"dose_mg_per_kg": "0.60", "reason": "Partial response; patient FREE-TEXT-MARKER"},
    )

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type) == ("update", "infusionsession")
    assert event.detail == "dose override to 0.60 mg/kg (reason recorded on the session)"
    assert "FREE-TEXT-MARKER" not in event.detail
