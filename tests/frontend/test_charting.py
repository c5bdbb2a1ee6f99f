"""The infusion charting screen and today's board, through the test client (htmx requests)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from ehr.models import AuditEvent
from sessions import services as session_services
from sessions.models import InfusionSession, MoodNote, SideEffect, VitalSign

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def url(name, session):
    return reverse(f"frontend:{name}", args=[session.pk])


def post(client, name, session, data=None):
    return client.post(url(name, session), data or {}, headers=HTMX)


def vitals(systolic=128, diastolic=80, heart_rate=76, spo2=98, resp_rate=14):
    return {
        "vitals-bp_systolic": systolic,
        "vitals-bp_diastolic": diastolic,
        "vitals-heart_rate": heart_rate,
        "vitals-spo2": spo2,
        "vitals-resp_rate": resp_rate,
    }


def verify_data(session):
    return {
        "verify-weight_kg": session.weight_kg,
        "verify-dose_mg_per_kg": session.dose_mg_per_kg,
        "verify-total_dose_mg": session.total_dose_mg,
        "verify-infusion_minutes": session.infusion_minutes,
        "verify-concentration_mg_per_ml": session.concentration_mg_per_ml,
        "verify-bag_volume_ml": session.bag_volume_ml,
    }


# --- dose and verification -----------------------------------------


def test_the_dose_calculation_is_shown(client_for, nurse, session):
    body = client_for(nurse).get(url("session_chart", session)).content.decode()

    # 72.5 kg × 0.5 mg/kg = 36.25 mg, rounded half up to 36.3 mg; 10 mg/mL stock; 100 mL bag.
    assert "36.3 mg" in body
    assert "0.91 mg/min" in body
    assert "3.63 mL" in body
    assert "150.0 mL/h" in body


def test_the_clinician_who_prepared_the_dose_cannot_verify_it(client_for, nurse, session):
    client = client_for(nurse)

    page = client.get(url("session_chart", session)).content.decode()

    assert 'id="verify-dose" disabled' in page
    assert "You prepared this dose; a second clinician must verify it." in page
    response = post(client, "session_verify_dose", session, verify_data(session))
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.dose_verified_at is None
    assert AuditEvent.objects.filter(action="denied", user=nurse, status_code=403).exists()


def test_a_second_clinician_verifies_the_dose_without_a_page_reload(
    client_for, prescriber, session
):
    client = client_for(prescriber)
    before = AuditEvent.objects.count()

    response = post(client, "session_verify_dose", session, verify_data(session))

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="session-chart"')
    assert "Verified by Daniel Reyes" in body
    session.refresh_from_db()
    assert session.dose_verified_by == prescriber
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.patient_id) for e in events] == [
        ("update", "infusionsession", session.course.patient_id)
    ]


def test_a_dose_changed_while_checking_is_not_verified_and_says_so(
    client_for, prescriber, nurse, session
):
    seen = verify_data(session)
    session_services.session_update(actor=nurse, session=session, weight_kg=Decimal("80.0"))

    response = post(client_for(prescriber), "session_verify_dose", session, seen)

    assert response.status_code == 409
    assert "changed while you were checking" in response.content.decode()
    session.refresh_from_db()
    assert session.dose_verified_at is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("concentration_mg_per_ml", Decimal("50")), ("bag_volume_ml", Decimal("250"))],
)
def test_a_preparation_changed_while_checking_is_not_verified(
    client_for, prescriber, nurse, session, field, value
):
    # The verifier has the chart open; meanwhile the stock or the bag changes, and with it
    # the draw volume or the pump rate the verifier would be vouching for.
    seen = verify_data(session)
    session_services.session_update(actor=nurse, session=session, **{field: value})

    response = post(client_for(prescriber), "session_verify_dose", session, seen)

    assert response.status_code == 409
    assert "changed while you were checking" in response.content.decode()
    session.refresh_from_db()
    assert session.dose_verified_at is None


def test_a_verification_that_does_not_say_what_was_seen_is_refused(client_for, prescriber, session):
    seen = verify_data(session)
    del seen["verify-bag_volume_ml"]

    response = post(client_for(prescriber), "session_verify_dose", session, seen)

    assert response.status_code == 400
    session.refresh_from_db()
    assert session.dose_verified_at is None


def test_whoever_changed_the_dose_sees_they_cannot_verify_it(
    client_for, nurse, second_nurse, prescriber, session
):
    from patients.services import care_team_grant

    care_team_grant(patient=session.course.patient, user=second_nurse)
    client = client_for(second_nurse)
    changed = post(
        client,
        "session_dose",
        session,
        {
            "dose-weight_kg": "95.0",
            "dose-dose_mg_per_kg": "0.50",
            "dose-infusion_minutes": "40",
            "dose-concentration_mg_per_ml": "10",
            "dose-bag_volume_ml": "100",
        },
    )

    body = changed.content.decode()
    assert changed.status_code == 200
    assert "Prepared by Mei Tan" in body
    assert 'id="verify-dose" disabled' in body
    assert "You changed this dose after it was prepared" in body
    session.refresh_from_db()
    assert post(client, "session_verify_dose", session, verify_data(session)).status_code == 403
    verified = post(client_for(prescriber), "session_verify_dose", session, verify_data(session))
    assert verified.status_code == 200


def test_changing_the_weight_clears_the_verification(client_for, nurse, ready_session):
    response = post(
        client_for(nurse),
        "session_dose",
        ready_session,
        {
            "dose-weight_kg": "80.0",
            "dose-dose_mg_per_kg": "0.50",
            "dose-infusion_minutes": "40",
            "dose-concentration_mg_per_ml": "10",
            "dose-bag_volume_ml": "100",
        },
    )

    assert response.status_code == 200
    assert "40.0 mg" in response.content.decode()
    ready_session.refresh_from_db()
    assert ready_session.dose_verified_at is None


def test_a_weight_outside_30_to_300_kg_is_refused_next_to_the_field(client_for, nurse, session):
    response = post(
        client_for(nurse),
        "session_dose",
        session,
        {
            "dose-weight_kg": "301",
            "dose-dose_mg_per_kg": "0.50",
            "dose-infusion_minutes": "40",
            "dose-concentration_mg_per_ml": "10",
            "dose-bag_volume_ml": "100",
        },
    )

    assert response.status_code == 400
    body = response.content.decode()
    field = body[body.index('id="field-dose-weight_kg"') :][:1500]
    assert "outside the accepted range" in field


# --- pre-infusion checks, hold and start ----------------------------------------------------------


def test_the_start_is_disabled_with_the_reasons_until_the_checks_are_done(
    client_for, nurse, session
):
    body = client_for(nurse).get(url("session_chart", session)).content.decode()

    assert 'id="start-infusion" class="big" disabled' in body
    assert "The dose has not been verified by a second clinician." in body
    assert "Fasting has not been confirmed." in body


def test_a_high_pre_infusion_pressure_holds_the_start_until_a_prescriber_goes_ahead(
    client_for, nurse, prescriber, session
):
    session_services.session_verify_dose(actor=prescriber, session=session)
    nurse_client = client_for(nurse)
    checks = post(
        nurse_client,
        "session_checks",
        session,
        {
            "checks-fasting_confirmed": "on",
            "checks-escort_confirmed": "on",
            "checks-pre_bp_systolic": "160",
            "checks-pre_bp_diastolic": "90",
        },
    )
    body = checks.content.decode()
    assert 'id="bp-hold"' in body
    assert "A prescriber must record a go-ahead" in body
    assert (
        post(nurse_client, "session_go_ahead", session, {"goahead-reason": "x"}).status_code == 403
    )
    assert post(nurse_client, "session_start", session).status_code == 409

    go = post(client_for(prescriber), "session_go_ahead", session, {"goahead-reason": "Anxious"})

    assert "Go-ahead by Daniel Reyes" in go.content.decode()
    started = post(nurse_client, "session_start", session)
    assert started.status_code == 200
    session.refresh_from_db()
    assert session.status == InfusionSession.Status.IN_PROGRESS


def test_a_pre_infusion_pressure_one_below_the_hold_does_not_hold(client_for, nurse, session):
    response = post(
        client_for(nurse),
        "session_checks",
        session,
        {"checks-pre_bp_systolic": "159", "checks-pre_bp_diastolic": "99"},
    )

    assert 'id="bp-hold"' not in response.content.decode()


def test_nurse_is_refused_the_go_ahead(client_for, nurse, session):
    response = post(client_for(nurse), "session_go_ahead", session, {"goahead-reason": "ok"})

    assert response.status_code == 403


def test_start_shows_the_elapsed_time_from_the_recorded_start(client_for, nurse, ready_session):
    response = post(client_for(nurse), "session_start", ready_session)

    ready_session.refresh_from_db()
    assert ready_session.status == InfusionSession.Status.IN_PROGRESS
    started = timezone.localtime(ready_session.started_at).isoformat()
    assert f'data-elapsed-since="{started}"' in response.content.decode()


def test_stopping_early_needs_a_reason(client_for, nurse, running_session):
    client = client_for(nurse)

    refused = post(client, "session_stop", running_session, {"stop-reason": ""})

    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    stopped = post(client, "session_stop", running_session, {"stop-reason": "Vomiting"})
    assert stopped.status_code == 200
    running_session.refresh_from_db()
    assert running_session.status == InfusionSession.Status.STOPPED_EARLY
    assert "Stopped early" in stopped.content.decode()


# --- vitals -----------------------------------------


def test_a_reading_at_the_pause_threshold_comes_back_as_an_alert_row(
    client_for, nurse, running_session
):
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    response = post(client, "session_vitals", running_session, vitals(systolic=180))

    assert response.status_code == 200
    body = response.content.decode()
    reading = VitalSign.objects.get(session=running_session)
    row = body[body.index(f'id="vital-{reading.pk}"') - 40 :][:400]
    assert 'class="alert-row"' in row
    assert "Systolic blood pressure 180 mmHg is at or above 180" in body
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.patient_id) for e in events] == [
        ("create", "vitalsign", running_session.course.patient_id)
    ]


def test_a_reading_one_below_the_pause_threshold_is_not_an_alert(
    client_for, nurse, running_session
):
    response = post(client_for(nurse), "session_vitals", running_session, vitals(systolic=179))

    assert response.status_code == 200
    assert "alert-row" not in response.content.decode()


def test_an_impossible_reading_is_refused_next_to_the_field(client_for, nurse, running_session):
    response = post(
        client_for(nurse), "session_vitals", running_session, vitals(systolic=120, diastolic=120)
    )

    assert response.status_code == 400
    body = response.content.decode()
    field = body[body.index('id="field-vitals-bp_diastolic"') :][:1200]
    assert "must be below systolic" in field
    assert not VitalSign.objects.exists()


def test_the_next_reading_is_prompted_and_an_overdue_one_flagged(
    client_for, nurse, running_session
):
    InfusionSession.objects.filter(pk=running_session.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=16)
    )

    body = client_for(nurse).get(url("session_chart", running_session)).content.decode()

    assert 'class="due overdue"' in body
    assert "Vitals overdue since" in body


def test_a_reading_taken_in_time_moves_the_next_due_time(client_for, nurse, running_session):
    response = post(client_for(nurse), "session_vitals", running_session, vitals())

    body = response.content.decode()
    assert "Next reading due at" in body
    assert 'class="due overdue"' not in body


# --- side effects, mood notes, discharge, sign, amend -----------------------------------------


def test_a_grade_3_side_effect_marks_a_serious_adverse_event(client_for, nurse, running_session):
    response = post(
        client_for(nurse),
        "session_side_effect",
        running_session,
        {"sideeffect-effect": "vomiting", "sideeffect-grade": "3", "sideeffect-intervention": "x"},
    )

    assert response.status_code == 200
    assert "Serious adverse event" in response.content.decode()
    assert SideEffect.objects.get().grade == 3


def test_other_side_effect_needs_its_description(client_for, nurse, running_session):
    response = post(
        client_for(nurse),
        "session_side_effect",
        running_session,
        {"sideeffect-effect": "other", "sideeffect-grade": "1"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Describe the side effect" in body[body.index('id="field-sideeffect-other_text"') :]


def test_mood_notes_are_saved_and_still_there_after_a_reload(client_for, nurse, running_session):
    client = client_for(nurse)

    post(
        client,
        "session_mood",
        running_session,
        {"mood-phase": "during", "mood-mood": "6", "mood-anxiety": "3", "mood-text": "Calm"},
    )

    note = MoodNote.objects.get()
    assert (note.phase, note.mood, note.anxiety) == ("during", 6, 3)
    reloaded = client.get(url("session_chart", running_session)).content.decode()
    assert "mood 6/10 · anxiety 3/10" in reloaded


def test_a_mood_score_above_10_is_refused(client_for, nurse, running_session):
    response = post(
        client_for(nurse),
        "session_mood",
        running_session,
        {"mood-phase": "pre", "mood-mood": "11", "mood-anxiety": "3"},
    )

    assert response.status_code == 400
    assert not MoodNote.objects.exists()


def test_discharge_then_sign_then_the_record_is_locked_and_amended(
    client_for, nurse, prescriber, completed_session
):
    nurse_client = client_for(nurse)
    prescriber_client = client_for(prescriber)
    refused = post(prescriber_client, "session_sign", completed_session)
    assert refused.status_code == 409
    assert "discharge checklist is incomplete" in refused.content.decode()

    discharged = post(
        nurse_client,
        "session_discharge",
        completed_session,
        {
            "discharge-discharge_alert_oriented": "on",
            "discharge-discharge_vitals_baseline": "on",
            "discharge-discharge_ambulating": "on",
            "discharge-discharge_escort_present": "on",
        },
    )
    assert "checklist complete" in discharged.content.decode()
    assert post(nurse_client, "session_sign", completed_session).status_code == 403

    signed = post(prescriber_client, "session_sign", completed_session)

    assert signed.status_code == 200
    assert "Signed by Daniel Reyes" in signed.content.decode()
    late = post(nurse_client, "session_vitals", completed_session, vitals())
    assert late.status_code == 409
    assert "is locked" in late.content.decode()
    amended = post(
        nurse_client, "session_amend", completed_session, {"amend-text": "BP cuff was loose."}
    )
    assert "BP cuff was loose." in amended.content.decode()
    assert AuditEvent.objects.filter(action="sign", user=prescriber).count() == 1
    assert AuditEvent.objects.filter(action="amend", user=nurse).count() == 1


def test_without_htmx_an_entry_redirects_back_to_the_chart(client_for, nurse, running_session):
    response = client_for(nurse).post(url("session_vitals", running_session), vitals())

    assert response.status_code == 302
    assert response["Location"] == url("session_chart", running_session)
    assert VitalSign.objects.count() == 1


# --- hostile text -----------------------------------------


def test_clinician_text_is_shown_literally(client_for, nurse, running_session):
    client = client_for(nurse)
    post(
        client,
        "session_side_effect",
        running_session,
        {
            "sideeffect-effect": "other",
            "sideeffect-other_text": "<b>x</b>",
            "sideeffect-grade": "1",
            "sideeffect-note": "<script>alert(1)</script>",
        },
    )
    post(
        client,
        "session_mood",
        running_session,
        {"mood-phase": "during", "mood-mood": "5", "mood-anxiety": "5", "mood-text": "<b>x</b>"},
    )

    body = client.get(url("session_chart", running_session)).content.decode()

    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>x</b>" not in body
    assert "&lt;b&gt;x&lt;/b&gt;" in body


def test_a_patient_found_not_eligible_cannot_be_started_and_the_chart_says_why(
    client_for, nurse, prescriber, ready_session
):
    from patients.models import Evaluation
    from tests.patients.factories import EvaluationFactory

    EvaluationFactory(
        patient=ready_session.course.patient,
        evaluated_on=timezone.localdate(),
        signed_by=prescriber,
        eligibility=Evaluation.Eligibility.NOT_ELIGIBLE,
        contraindications={"pregnancy": True},
    )
    client = client_for(nurse)

    body = client.get(url("session_chart", ready_session)).content.decode()
    response = post(client, "session_start", ready_session)

    assert 'id="start-infusion" class="big" disabled' in body
    assert "records eligibility &#x27;not eligible&#x27;" in body
    assert response.status_code == 409
    ready_session.refresh_from_db()
    assert ready_session.status == InfusionSession.Status.SCHEDULED


def test_no_session_is_scheduled_for_a_discharged_patient(client_for, nurse, course):
    from patients.models import Patient

    Patient.objects.filter(pk=course.patient_id).update(status=Patient.Status.DISCHARGED)

    response = client_for(nurse).post(
        reverse("frontend:session_schedule", args=[course.pk]),
        {
            "scheduled_for": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "weight_kg": "72.5",
            "dose_mg_per_kg": "0.50",
            "infusion_minutes": "40",
            "concentration_mg_per_ml": "10",
            "bag_volume_ml": "100",
            "confirmed": "on",
        },
    )

    assert response.status_code == 400
    assert "The patient&#x27;s status is discharged" in response.content.decode()
    assert not course.sessions.exists()


def test_the_schedule_page_says_up_front_why_no_session_can_be_scheduled(client_for, nurse, course):
    from patients.models import Patient

    Patient.objects.filter(pk=course.patient_id).update(status=Patient.Status.DECLINED)

    body = client_for(nurse).get(reverse("frontend:session_schedule", args=[course.pk]))

    assert 'id="readiness"' in body.content.decode()
    assert "The patient&#x27;s status is declined" in body.content.decode()


def test_the_schedule_page_of_a_ready_patient_has_no_readiness_warning(client_for, nurse, course):
    body = client_for(nurse).get(reverse("frontend:session_schedule", args=[course.pk]))

    assert 'id="readiness"' not in body.content.decode()


def test_a_changed_side_effect_shows_who_changed_it(client_for, nurse, running_session):
    entry = session_services.side_effect_record(
        actor=nurse,
        session_id=running_session.pk,
        effect=SideEffect.Effect.NAUSEA,
        grade=2,
        onset_at=timezone.now(),
    )
    session_services.side_effect_update(actor=nurse, side_effect=entry, grade=1)

    body = client_for(nurse).get(url("session_chart", running_session)).content.decode()

    assert "Corrected by Siobhán Kelly" in body


# --- today's board -----------------------------------------


def test_the_board_lists_todays_sessions_with_their_alerts(client_for, nurse, running_session):
    session_services.vitals_record(
        actor=nurse,
        session_id=running_session.pk,
        recorded_at=timezone.now(),
        bp_systolic=128,
        bp_diastolic=80,
        heart_rate=131,
        spo2=98,
        resp_rate=14,
    )
    client = client_for(nurse)

    page = client.get(reverse("frontend:board")).content.decode()

    assert running_session.course.patient.mrn in page
    assert "Heart rate 131/min is at or above 130" in page
    assert 'hx-trigger="every 30s"' in page
    poll = client.get(
        reverse("frontend:board"), headers={**HTMX, "X-Background-Refresh": "1"}
    ).content.decode()
    assert "<html" not in poll
    assert "Heart rate 131/min" in poll


def test_the_board_shows_nothing_of_patients_off_the_care_team(
    client_for, outside_nurse, running_session
):
    page = client_for(outside_nurse).get(reverse("frontend:board")).content.decode()

    assert running_session.course.patient.mrn not in page
    assert "No infusions scheduled today" in page


def test_the_board_costs_the_same_queries_for_more_sessions(
    client_for, nurse, prescriber, course, django_assert_max_num_queries
):
    client = client_for(nurse)
    for number in range(3):
        session_services.session_create(
            actor=nurse,
            course=course,
            scheduled_for=timezone.now() + datetime.timedelta(minutes=number),
            weight_kg=Decimal("70"),
            dose_mg_per_kg=Decimal("0.5"),
        )
    with django_assert_max_num_queries(16) as few:
        client.get(reverse("frontend:board"))
    baseline = len(few.captured_queries)
    for number in range(3):
        session_services.session_create(
            actor=nurse,
            course=course,
            scheduled_for=timezone.now() + datetime.timedelta(minutes=10 + number),
            weight_kg=Decimal("70"),
            dose_mg_per_kg=Decimal("0.5"),
        )
    with django_assert_max_num_queries(baseline):
        client.get(reverse("frontend:board"))


# --- one rule, one function: what the screen explains comes from the services ---------------


def test_a_dose_the_order_no_longer_covers_disables_verification_with_the_reason(
    client_for, prescriber, session
):
    session_services.course_update(
        actor=prescriber, course=session.course, dose_mg_per_kg=Decimal("0.40")
    )
    session = InfusionSession.objects.get(pk=session.pk)
    expected = session_services.dose_verification_blockers(session=session, user=prescriber)

    body = client_for(prescriber).get(url("session_chart", session)).content.decode()

    assert 'id="verify-dose" disabled' in body
    assert len(expected) == 1
    assert f"<p>{expected[0]}</p>" in body.replace("&#x27;", "'")


def test_a_cancelled_session_offers_no_entry_forms_and_no_corrections(client_for, nurse, session):
    reading = session_services.vitals_record(
        actor=nurse,
        session_id=session.pk,
        recorded_at=timezone.now(),
        bp_systolic=128,
        bp_diastolic=80,
        heart_rate=76,
        spo2=98,
        resp_rate=14,
    )
    session_services.session_cancel(actor=nurse, session=session, reason="Unwell")

    body = client_for(nurse).get(url("session_chart", session)).content.decode()

    for control in ("vitals-save", "side-effect-save", "mood-save", f"vital-{reading.pk}-edit"):
        assert f'id="{control}"' not in body
    assert 'id="notes-save"' in body


@pytest.mark.parametrize(("grade", "serious"), [(3, True), (2, False)])
def test_a_side_effect_is_marked_serious_from_grade_3(
    client_for, nurse, running_session, grade, serious
):
    post(
        client_for(nurse),
        "session_side_effect",
        running_session,
        {"sideeffect-effect": "vomiting", "sideeffect-grade": str(grade)},
    )

    body = client_for(nurse).get(url("session_chart", running_session)).content.decode()

    assert (f'class="grade-{grade} sae"' in body) is serious
    assert f"<strong>Vomiting</strong>, grade {grade}" in body


# --- the audit line of an action names what happened, never the clinician's words ------------


def test_an_override_from_the_screen_is_audited_with_the_dose_not_the_reason(
    client_for, prescriber, session
):
    client = client_for(prescriber)
    before = AuditEvent.objects.count()

    post(
        client,
        "session_override",
        session,
        {"override-dose_mg_per_kg": "0.60", "override-reason": "FREE-TEXT-MARKER partial"},
    )

    event = AuditEvent.objects.order_by("id")[before:].get()
    assert (event.action, event.object_type) == ("update", "infusionsession")
    assert event.detail == "dose override to 0.60 mg/kg (reason recorded on the session)"


def test_a_go_ahead_and_a_stop_from_the_screen_are_audited_without_their_reasons(
    client_for, nurse, prescriber, ready_session
):
    session_services.session_update(
        actor=nurse, session=ready_session, pre_bp_systolic=164, pre_bp_diastolic=98
    )
    doctor, nurse_client = client_for(prescriber), client_for(nurse)
    before = AuditEvent.objects.count()

    post(
        doctor, "session_go_ahead", ready_session, {"goahead-reason": "FREE-TEXT-MARKER rechecked"}
    )
    post(nurse_client, "session_start", ready_session)
    post(nurse_client, "session_stop", ready_session, {"stop-reason": "FREE-TEXT-MARKER"})

    details = [e.detail for e in AuditEvent.objects.order_by("id")[before:]]
    assert details == [
        "go-ahead despite pre-infusion blood pressure hold (reason recorded on the session)",
        "infusion started",
        "infusion stopped early (reason recorded on the session)",
    ]


# --- mood and anxiety are chosen, never preset --------------------------------------------------


def test_mood_and_anxiety_start_with_no_score_chosen(client_for, nurse, running_session):
    body = client_for(nurse).get(url("session_chart", running_session)).content.decode()

    for field in ("mood", "anxiety"):
        fieldset = body[body.index(f'id="field-mood-{field}"') :]
        fieldset = fieldset[: fieldset.index("</fieldset>")]
        assert fieldset.count('type="radio"') == 11
        assert "checked" not in fieldset
    assert 'type="range"' not in body


def test_a_mood_note_without_a_mood_score_is_refused_next_to_the_field(
    client_for, nurse, running_session
):
    response = post(
        client_for(nurse),
        "session_mood",
        running_session,
        {"mood-phase": "during", "mood-anxiety": "3", "mood-text": "Calm"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    fieldset = body[body.index('id="field-mood-mood"') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert "Choose the mood score (0–10) the patient gives; none is preset." in fieldset
    anxiety = body[body.index('id="field-mood-anxiety"') :]
    assert 'value="3" id="id_mood-anxiety_3" required checked' in anxiety[:3000]
    assert not MoodNote.objects.exists()


def test_a_mood_score_of_0_is_a_choice(client_for, nurse, running_session):
    response = post(
        client_for(nurse),
        "session_mood",
        running_session,
        {"mood-phase": "during", "mood-mood": "0", "mood-anxiety": "10"},
    )

    assert response.status_code == 200
    assert (MoodNote.objects.get().mood, MoodNote.objects.get().anxiety) == (0, 10)


# --- correcting a reading or a mood note before signing -------------------------------------------


def _reading(nurse, session, **values):
    return session_services.vitals_record(
        actor=nurse,
        session_id=session.pk,
        recorded_at=timezone.now() - datetime.timedelta(minutes=1),
        **{
            "bp_systolic": 128,
            "bp_diastolic": 80,
            "heart_rate": 76,
            "spo2": 98,
            "resp_rate": 14,
            **values,
        },
    )


def entry_url(name, session, entry):
    return reverse(f"frontend:{name}", args=[session.pk, entry.pk])


def correction(reading, **values):
    data = {
        "bp_systolic": reading.bp_systolic,
        "bp_diastolic": reading.bp_diastolic,
        "heart_rate": reading.heart_rate,
        "spo2": reading.spo2,
        "resp_rate": reading.resp_rate,
        "recorded_at": timezone.localtime(reading.recorded_at).strftime("%Y-%m-%dT%H:%M"),
        **values,
    }
    return {f"vital-{reading.pk}-{field}": value for field, value in data.items()}


def test_every_flowsheet_row_has_an_edit_control_before_signing(client_for, nurse, running_session):
    reading = _reading(nurse, running_session)

    body = client_for(nurse).get(url("session_chart", running_session)).content.decode()

    edit = entry_url("session_vital_edit", running_session, reading)
    assert f'hx-get="{edit}" hx-target="#entry-vital-{reading.pk}"' in body
    assert f'id="vital-{reading.pk}-edit"' in body


def test_edit_swaps_the_row_for_its_form_with_the_stored_values(client_for, nurse, running_session):
    reading = _reading(nurse, running_session, bp_systolic=190)
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    response = client.get(entry_url("session_vital_edit", running_session, reading), headers=HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "{% comment" not in body
    assert f'<tbody id="entry-vital-{reading.pk}" class="reading editing">' in body
    assert f'name="vital-{reading.pk}-bp_systolic" value="190"' in body
    assert "autofocus" in body[body.index(f'id="id_vital-{reading.pk}-bp_systolic"') - 200 :][:400]
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.object_id) for e in events] == [
        ("view", "vitalsign", str(reading.pk))
    ]


def test_a_corrected_reading_loses_its_false_alert_on_screen(client_for, nurse, running_session):
    reading = _reading(nurse, running_session, bp_systolic=190)
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    response = client.post(
        entry_url("session_vital_edit", running_session, reading),
        correction(reading, bp_systolic=140),
        headers=HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#session-chart"
    body = response.content.decode()
    assert "Reading corrected" in body
    row = body[body.index(f'id="entry-vital-{reading.pk}"') :]
    row = row[: row.index("</tbody>")]
    assert "140/80" in row
    assert "alert-row" not in row
    assert "Corrected by Siobhán Kelly" in row
    assert "autofocus" in row
    reading.refresh_from_db()
    assert (reading.bp_systolic, reading.alerts) == (140, [])
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.detail) for e in events] == [
        ("update", "vitalsign", "vital signs corrected: bp_systolic")
    ]


def test_an_impossible_correction_comes_back_in_the_row_with_the_error_next_to_the_field(
    client_for, nurse, running_session
):
    reading = _reading(nurse, running_session)

    response = client_for(nurse).post(
        entry_url("session_vital_edit", running_session, reading),
        correction(reading, bp_diastolic=130),
        headers=HTMX,
    )

    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#entry-vital-{reading.pk}"
    assert response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    field = body[body.index(f'id="field-vital-{reading.pk}-bp_diastolic"') :][:1500]
    assert "must be below systolic" in field
    assert "autofocus" in field
    reading.refresh_from_db()
    assert (reading.bp_diastolic, reading.corrected_at) == (80, None)


def test_resaving_a_reading_unchanged_records_no_correction(client_for, nurse, running_session):
    reading = _reading(nurse, running_session)

    response = client_for(nurse).post(
        entry_url("session_vital_edit", running_session, reading), correction(reading), headers=HTMX
    )

    assert "Nothing changed." in response.content.decode()
    reading.refresh_from_db()
    assert reading.corrected_at is None
    assert reading.history.count() == 1


def test_cancel_brings_the_row_back_with_the_focus_on_its_edit_control(
    client_for, nurse, running_session
):
    reading = _reading(nurse, running_session)

    response = client_for(nurse).get(
        entry_url("session_vital_row", running_session, reading), headers=HTMX
    )

    body = response.content.decode()
    assert f'<tbody id="entry-vital-{reading.pk}" class="reading">' in body
    assert f'id="vital-{reading.pk}-edit" autofocus' in body


def test_after_signing_there_is_no_edit_control_and_a_correction_is_refused(
    client_for, nurse, prescriber, completed_session
):
    reading = _reading(nurse, completed_session, bp_systolic=190)
    session_services.session_update(
        actor=nurse,
        session=completed_session,
        discharge_at=timezone.now(),
        discharge_alert_oriented=True,
        discharge_vitals_baseline=True,
        discharge_ambulating=True,
        discharge_escort_present=True,
    )
    session_services.session_sign(actor=prescriber, session=completed_session)
    client = client_for(nurse)

    page = client.get(url("session_chart", completed_session)).content.decode()
    refused = client.post(
        entry_url("session_vital_edit", completed_session, reading),
        correction(reading, bp_systolic=140),
        headers=HTMX,
    )

    assert f'id="vital-{reading.pk}-edit"' not in page
    assert refused.status_code == 409
    assert refused["HX-Retarget"] == "#session-chart"
    assert "signed and locked" in refused.content.decode()
    reading.refresh_from_db()
    assert reading.bp_systolic == 190


def test_without_htmx_edit_opens_the_chart_with_the_row_as_a_form_and_saving_redirects(
    client_for, nurse, running_session
):
    reading = _reading(nurse, running_session, bp_systolic=190)
    client = client_for(nurse)
    edit = entry_url("session_vital_edit", running_session, reading)

    page = client.get(edit)
    saved = client.post(edit, correction(reading, bp_systolic=140))

    assert page.status_code == 200
    assert "<html" in page.content.decode()
    assert f'name="vital-{reading.pk}-bp_systolic" value="190"' in page.content.decode()
    assert saved.status_code == 302
    assert saved["Location"] == url("session_chart", running_session) + f"#vital-{reading.pk}"


def test_a_nurse_off_the_care_team_cannot_open_a_reading(
    client_for, nurse, outside_nurse, running_session
):
    reading = _reading(nurse, running_session)

    response = client_for(outside_nurse).get(
        entry_url("session_vital_edit", running_session, reading)
    )

    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="denied", user=outside_nurse).exists()


def test_a_mood_note_is_corrected_in_place(client_for, nurse, running_session):
    note = session_services.mood_note_record(
        actor=nurse,
        session_id=running_session.pk,
        recorded_at=timezone.now() - datetime.timedelta(minutes=1),
        phase="during",
        mood=5,
        anxiety=5,
        text="Calm,\nresting",
    )
    client = client_for(nurse)
    form = client.get(entry_url("session_mood_edit", running_session, note), headers=HTMX)
    assert f'<li id="entry-mood-note-{note.pk}" class="editing">' in form.content.decode()
    prefix = f"mood-note-{note.pk}"
    data = {
        f"{prefix}-phase": "during",
        f"{prefix}-anxiety": "5",
        f"{prefix}-text": "Calm,\r\nresting",
        f"{prefix}-recorded_at": timezone.localtime(note.recorded_at).strftime("%Y-%m-%dT%H:%M"),
    }

    missing = client.post(entry_url("session_mood_edit", running_session, note), data, headers=HTMX)
    saved = client.post(
        entry_url("session_mood_edit", running_session, note),
        {**data, f"{prefix}-mood": "2"},
        headers=HTMX,
    )

    assert missing.status_code == 400
    assert "Choose the mood score" in missing.content.decode()
    assert saved.status_code == 200
    assert "mood 2/10 · anxiety 5/10" in saved.content.decode()
    note.refresh_from_db()
    assert (note.mood, note.text, note.recorded_by) == (2, "Calm,\nresting", nurse)
    event = AuditEvent.objects.filter(action="update").get()
    assert (event.object_type, event.detail) == ("moodnote", "mood note corrected: mood")
