"""The session lifecycle: pre-infusion checks, start, stop, complete, cancel, sign, amend."""

import datetime

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from sessions.models import InfusionSession, SessionAmendment

pytestmark = pytest.mark.django_db


def _post(client, session, action, data=None):
    return client.post(f"/api/v1/sessions/{session.pk}/{action}/", data or {})


# Pre-infusion blood pressure hold


@pytest.mark.parametrize(
    ("systolic", "diastolic", "held"),
    [
        (160, 80, True),  # systolic at the threshold
        (159, 80, False),
        (130, 100, True),  # diastolic at the threshold
        (130, 99, False),
        (159, 99, False),  # one step inside both
        (160, 100, True),
    ],
)
def test_pre_infusion_blood_pressure_hold_at_160_over_100(
    api, nurse, ready_session, systolic, diastolic, held
):
    patched = api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/",
        {"pre_bp_systolic": systolic, "pre_bp_diastolic": diastolic},
    )
    assert patched.json()["pre_infusion_hold"] is held

    response = _post(api(nurse), ready_session, "start")

    if held:
        assert response.status_code == 409
        assert "go-ahead" in response.json()["detail"]
        assert f"{systolic}/{diastolic}" in response.json()["detail"]
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == "in_progress"


def test_prescriber_go_ahead_lifts_the_hold(api, nurse, prescriber, ready_session):
    api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/", {"pre_bp_systolic": 164, "pre_bp_diastolic": 92}
    )

    response = _post(
        api(prescriber), ready_session, "go-ahead", {"reason": "Anxious; 158/90 on recheck"}
    )

    assert response.status_code == 200, response.json()
    assert response.json()["go_ahead_by"] == prescriber.pk
    assert _post(api(nurse), ready_session, "start").status_code == 200


def test_nurse_cannot_give_a_go_ahead(api, nurse, ready_session):
    ready_session.pre_bp_systolic = 170
    ready_session.save()

    assert _post(api(nurse), ready_session, "go-ahead", {"reason": "fine"}).status_code == 403


def test_go_ahead_needs_a_reason(api, prescriber, ready_session):
    ready_session.pre_bp_systolic = 170
    ready_session.save()

    response = _post(api(prescriber), ready_session, "go-ahead", {"reason": ""})

    assert response.status_code == 400
    assert "reason" in response.json()


def test_go_ahead_without_a_hold_is_refused(api, prescriber, ready_session):
    response = _post(api(prescriber), ready_session, "go-ahead", {"reason": "Just in case"})

    assert response.status_code == 409


def test_a_new_pre_infusion_pressure_needs_a_new_go_ahead(api, nurse, prescriber, ready_session):
    api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/", {"pre_bp_systolic": 164, "pre_bp_diastolic": 92}
    )
    _post(api(prescriber), ready_session, "go-ahead", {"reason": "Recheck 150/88"})

    response = api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/", {"pre_bp_systolic": 178, "pre_bp_diastolic": 104}
    )

    assert response.json()["go_ahead_by"] is None
    assert _post(api(nurse), ready_session, "start").status_code == 409


# Start


def test_start_refused_until_the_dose_is_verified(api, nurse, ready_session):
    ready_session.dose_verified_by = None
    ready_session.dose_verified_at = None
    ready_session.save()

    response = _post(api(nurse), ready_session, "start")

    assert response.status_code == 409
    assert "not been verified" in response.json()["detail"]
    ready_session.refresh_from_db()
    assert ready_session.status == "scheduled"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("fasting_confirmed", False, "Fasting has not been confirmed"),
        ("escort_confirmed", False, "escort home has not been confirmed"),
        ("pre_bp_systolic", None, "pre-infusion blood pressure has not been recorded"),
    ],
)
def test_start_needs_the_pre_infusion_checks(api, nurse, ready_session, field, value, message):
    setattr(ready_session, field, value)
    if field == "pre_bp_systolic":
        ready_session.pre_bp_diastolic = None
    ready_session.save()

    response = _post(api(nurse), ready_session, "start")

    assert response.status_code == 409
    assert message in response.json()["detail"]


def test_start_names_every_missing_check_at_once(api, nurse, session):
    detail = _post(api(nurse), session, "start").json()["detail"]

    for missing in ("verified", "Fasting", "escort", "blood pressure"):
        assert missing in detail


def test_start_records_the_time_and_the_protocol(api, nurse, ready_session):
    response = _post(api(nurse), ready_session, "start")

    body = response.json()
    assert body["status"] == "in_progress"
    assert body["started_at"] is not None
    assert body["protocol_version"] == 1
    assert body["next_vitals_due_at"] is not None
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (
        "update",
        "infusionsession",
        str(ready_session.pk),
    )


def test_the_start_cannot_be_charted_before_the_dose_was_verified(api, nurse, ready_session):
    verified = ready_session.dose_verified_at
    early = verified - datetime.timedelta(minutes=1)

    refused = _post(api(nurse), ready_session, "start", {"at": early.isoformat()})
    accepted = _post(api(nurse), ready_session, "start", {"at": verified.isoformat()})

    assert refused.status_code == 400
    assert "before the dose was verified" in refused.json()["at"][0]
    assert accepted.status_code == 200, accepted.json()


def test_the_start_cannot_be_charted_before_the_go_ahead(api, nurse, prescriber, ready_session):
    ready_session.dose_verified_at = timezone.now() - datetime.timedelta(minutes=10)
    ready_session.save()
    api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/", {"pre_bp_systolic": 164, "pre_bp_diastolic": 92}
    )
    _post(api(prescriber), ready_session, "go-ahead", {"reason": "Rechecked 150/90"})
    ready_session.refresh_from_db()
    early = ready_session.go_ahead_at - datetime.timedelta(seconds=30)

    response = _post(api(nurse), ready_session, "start", {"at": early.isoformat()})

    assert response.status_code == 400
    assert "before the prescriber's go-ahead" in response.json()["at"][0]


def test_status_cannot_be_written_by_patch(api, nurse, ready_session):
    response = api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/", {"status": "completed", "notes": "Arrived 8:50"}
    )

    assert response.status_code == 200
    ready_session.refresh_from_db()
    assert ready_session.status == "scheduled"
    assert ready_session.notes == "Arrived 8:50"


# Stop, complete, cancel


def test_stop_needs_a_reason(api, nurse, running_session):
    response = _post(api(nurse), running_session, "stop", {"reason": ""})

    assert response.status_code == 400
    assert "reason" in response.json()
    running_session.refresh_from_db()
    assert running_session.status == "in_progress"


def test_stop_early_with_a_reason(api, nurse, running_session):
    response = _post(
        api(nurse), running_session, "stop", {"reason": "Emergence reaction, distressed"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["stop_reason"]) == (
        "stopped_early",
        "Emergence reaction, distressed",
    )
    assert body["ended_at"] is not None


def test_complete_a_running_infusion(api, nurse, running_session):
    response = _post(api(nurse), running_session, "complete")

    assert response.status_code == 200
    assert response.json()["status"] == "completed"


def test_completion_time_cannot_precede_the_start(api, nurse, running_session):
    before = running_session.started_at - datetime.timedelta(minutes=1)

    response = _post(api(nurse), running_session, "complete", {"at": before.isoformat()})

    assert response.status_code == 400


def test_cancel_a_scheduled_session_with_a_reason(api, nurse, session):
    response = _post(api(nurse), session, "cancel", {"reason": "Patient unwell (viral illness)"})

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("fixture", "action", "data"),
    [
        ("ready_session", "complete", {}),
        ("ready_session", "stop", {"reason": "x"}),
        ("running_session", "start", {}),
        ("running_session", "cancel", {"reason": "x"}),
        ("completed_session", "start", {}),
        ("completed_session", "complete", {}),
        ("completed_session", "stop", {"reason": "x"}),
        ("running_session", "sign", {}),
        ("ready_session", "sign", {}),
    ],
)
def test_invalid_transitions_answer_409(api, prescriber, request, fixture, action, data):
    session = request.getfixturevalue(fixture)
    status_before = session.status

    response = _post(api(prescriber), session, action, data)

    assert response.status_code == 409
    assert response.json()["detail"]
    session.refresh_from_db()
    assert session.status == status_before


def test_a_cancelled_session_takes_no_charting(api, nurse, session):
    _post(api(nurse), session, "cancel", {"reason": "Patient unwell"})

    response = api(nurse).post(
        f"/api/v1/sessions/{session.pk}/vitals/",
        {
            "recorded_at": timezone.now().isoformat(),
            "bp_systolic": 120,
            "bp_diastolic": 80,
            "heart_rate": 70,
            "spo2": 98,
            "resp_rate": 14,
        },
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("fixture", "action", "detail"),
    [
        ("ready_session", "cancel", "session cancelled (reason recorded on the session)"),
        ("running_session", "stop", "infusion stopped early (reason recorded on the session)"),
    ],
)
def test_actions_with_a_reason_are_audited_without_its_text(
    api, nurse, request, fixture, action, detail
):
    session = request.getfixturevalue(fixture)

    _post(api(nurse), session, action, {"reason": "FREE-TEXT-MARKER vomiting"})

    event = AuditEvent.objects.get()
    assert (event.action, event.detail) == ("update", detail)


def test_a_go_ahead_is_audited_without_its_reason(api, nurse, prescriber, ready_session):
    api(nurse).patch(
        f"/api/v1/sessions/{ready_session.pk}/", {"pre_bp_systolic": 164, "pre_bp_diastolic": 92}
    )
    before = AuditEvent.objects.count()

    _post(api(prescriber), ready_session, "go-ahead", {"reason": "FREE-TEXT-MARKER anxious"})

    event = AuditEvent.objects.order_by("id")[before:].get()
    assert event.action == "update"
    assert event.detail == (
        "go-ahead despite pre-infusion blood pressure hold (reason recorded on the session)"
    )


# Discharge and signing


def test_discharge_checklist_waits_for_the_end_of_the_infusion(api, nurse, running_session):
    response = api(nurse).patch(
        f"/api/v1/sessions/{running_session.pk}/", {"discharge_ambulating": True}
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("missing", "label"),
    [
        ("discharge_at", "discharge time"),
        ("discharge_alert_oriented", "alert and oriented"),
        ("discharge_vitals_baseline", "vitals near baseline"),
        ("discharge_ambulating", "ambulating"),
        ("discharge_escort_present", "escort present"),
    ],
)
def test_a_completed_session_is_signed_only_with_the_whole_discharge_checklist(
    api, prescriber, discharged_session, missing, label
):
    setattr(discharged_session, missing, None if missing == "discharge_at" else False)
    discharged_session.save()

    response = _post(api(prescriber), discharged_session, "sign")

    assert response.status_code == 409
    assert label in response.json()["detail"]
    discharged_session.refresh_from_db()
    assert discharged_session.signed_at is None


def test_prescriber_signs_a_discharged_session(api, prescriber, discharged_session):
    response = _post(api(prescriber), discharged_session, "sign")

    assert response.status_code == 200
    body = response.json()
    assert body["signed_by"] == prescriber.pk
    assert body["signed_at"] is not None
    event = AuditEvent.objects.get()
    assert (event.action, event.object_id) == ("sign", str(discharged_session.pk))


def test_discharge_checklist_through_the_api_then_sign(api, nurse, prescriber, completed_session):
    response = api(nurse).patch(
        f"/api/v1/sessions/{completed_session.pk}/",
        {
            "discharge_at": timezone.now().isoformat(),
            "discharge_alert_oriented": True,
            "discharge_vitals_baseline": True,
            "discharge_ambulating": True,
            "discharge_escort_present": True,
        },
    )
    assert response.status_code == 200, response.json()
    assert response.json()["sign_blockers"] == []

    assert _post(api(prescriber), completed_session, "sign").status_code == 200


def test_a_session_stopped_early_can_be_signed(api, nurse, prescriber, running_session):
    _post(api(nurse), running_session, "stop", {"reason": "Vomiting"})

    assert _post(api(prescriber), running_session, "sign").status_code == 200


def test_nurse_cannot_sign(api, nurse, discharged_session):
    assert _post(api(nurse), discharged_session, "sign").status_code == 403


def test_a_signed_session_cannot_be_signed_again(api, prescriber, discharged_session):
    _post(api(prescriber), discharged_session, "sign")

    response = _post(api(prescriber), discharged_session, "sign")

    assert response.status_code == 409
    assert "locked" in response.json()["detail"]


@pytest.fixture
def signed_session(discharged_session, prescriber):
    discharged_session.signed_by = prescriber
    discharged_session.signed_at = timezone.now()
    discharged_session.save()
    return discharged_session


_NOW = "__now__"
_WRITES = [
    ("patch", "", {"notes": "late entry"}),
    ("patch", "", {"discharge_ambulating": False}),
    ("post", "verify-dose/", {}),
    ("post", "override/", {"dose_mg_per_kg": "0.6", "reason": "x"}),
    ("post", "go-ahead/", {"reason": "x"}),
    ("post", "start/", {}),
    ("post", "stop/", {"reason": "x"}),
    ("post", "complete/", {}),
    ("post", "cancel/", {"reason": "x"}),
    ("post", "sign/", {}),
    (
        "post",
        "vitals/",
        {
            "recorded_at": _NOW,
            "bp_systolic": 120,
            "bp_diastolic": 80,
            "heart_rate": 70,
            "spo2": 98,
            "resp_rate": 14,
        },
    ),
    ("post", "side-effects/", {"effect": "nausea", "grade": 1, "onset_at": _NOW}),
    ("post", "mood-notes/", {"recorded_at": _NOW, "phase": "post", "mood": 6, "anxiety": 2}),
]


@pytest.mark.parametrize(("method", "path", "data"), _WRITES)
def test_signing_locks_the_session_and_everything_charted_on_it(
    api, prescriber, signed_session, method, path, data
):
    now = timezone.now().isoformat()
    data = {key: now if value == _NOW else value for key, value in data.items()}

    response = getattr(api(prescriber), method)(
        f"/api/v1/sessions/{signed_session.pk}/{path}", data
    )

    assert response.status_code == 409, response.json()
    assert "signed" in response.json()["detail"] and "locked" in response.json()["detail"]


def test_signing_locks_an_existing_side_effect(api, nurse, signed_session):
    from tests.sessions.factories import SideEffectFactory

    side_effect = SideEffectFactory(session=signed_session, recorded_by=nurse)

    response = api(nurse).patch(
        f"/api/v1/sessions/{signed_session.pk}/side-effects/{side_effect.pk}/",
        {"resolved_at": timezone.now().isoformat()},
    )

    assert response.status_code == 409


def test_amendments_are_appended_to_a_signed_session(api, nurse, prescriber, signed_session):
    first = api(nurse).post(
        f"/api/v1/sessions/{signed_session.pk}/amendments/",
        {"text": "Escort was the patient's sister, not her husband."},
    )
    api(prescriber).post(f"/api/v1/sessions/{signed_session.pk}/amendments/", {"text": "Reviewed."})

    assert first.status_code == 201, first.json()
    assert first.json()["author"] == nurse.pk
    listing = api(nurse).get(f"/api/v1/sessions/{signed_session.pk}/amendments/").json()
    assert [a["text"] for a in listing["results"]] == [
        "Escort was the patient's sister, not her husband.",
        "Reviewed.",
    ]
    assert AuditEvent.objects.filter(action="amend").count() == 2


def test_amendments_cannot_be_edited_or_deleted(api, nurse, signed_session):
    amendment = SessionAmendment.objects.create(session=signed_session, author=nurse, text="x")
    url = f"/api/v1/sessions/{signed_session.pk}/amendments/{amendment.pk}/"

    assert api(nurse).patch(url, {"text": "y"}).status_code == 405
    assert api(nurse).delete(url).status_code == 405


def test_an_unsigned_session_is_corrected_directly_not_amended(api, nurse, session):
    response = api(nurse).post(f"/api/v1/sessions/{session.pk}/amendments/", {"text": "x"})

    assert response.status_code == 409


def test_amendment_needs_text(api, nurse, signed_session):
    response = api(nurse).post(f"/api/v1/sessions/{signed_session.pk}/amendments/", {"text": ""})

    assert response.status_code == 400


def test_history_keeps_every_change_of_a_session(api, nurse, prescriber, session):
    api(nurse).patch(f"/api/v1/sessions/{session.pk}/", {"weight_kg": "74.0"})
    api(nurse).patch(f"/api/v1/sessions/{session.pk}/", {"weight_kg": "73.0"})

    weights = [str(h.weight_kg) for h in session.history.order_by("history_date")]
    assert weights[-3:] == ["72.5", "74.0", "73.0"]


def test_the_full_infusion_day_through_the_api(api, nurse, prescriber, course):
    client, doctor = api(nurse), api(prescriber)
    proposal = client.get(f"/api/v1/courses/{course.pk}/next-session/").json()
    created = client.post(
        "/api/v1/sessions/",
        {
            "course": course.pk,
            "scheduled_for": timezone.now().isoformat(),
            "weight_kg": proposal["weight_kg"],
            "dose_mg_per_kg": proposal["dose_mg_per_kg"],
            "fasting_confirmed": True,
            "escort_confirmed": True,
            "pre_bp_systolic": 132,
            "pre_bp_diastolic": 84,
            "nurse": nurse.pk,
            "supervising_prescriber": prescriber.pk,
        },
    ).json()
    session = InfusionSession.objects.get(pk=created["id"])

    assert doctor.post(f"/api/v1/sessions/{session.pk}/verify-dose/").status_code == 200
    assert client.post(f"/api/v1/sessions/{session.pk}/start/").status_code == 200
    assert client.post(f"/api/v1/sessions/{session.pk}/complete/").status_code == 200
    assert (
        client.patch(
            f"/api/v1/sessions/{session.pk}/",
            {
                "discharge_at": timezone.now().isoformat(),
                "discharge_alert_oriented": True,
                "discharge_vitals_baseline": True,
                "discharge_ambulating": True,
                "discharge_escort_present": True,
            },
        ).status_code
        == 200
    )
    signed = doctor.post(f"/api/v1/sessions/{session.pk}/sign/")
    assert signed.status_code == 200
    assert signed.json()["next_vitals_due_at"] is None


def test_a_session_cannot_start_before_its_day(api, nurse, ready_session):
    ready_session.scheduled_for = timezone.now() + datetime.timedelta(days=2)
    ready_session.save()

    response = _post(api(nurse), ready_session, "start")

    assert response.status_code == 400
    assert "before the day of the session" in response.json()["at"][0]
