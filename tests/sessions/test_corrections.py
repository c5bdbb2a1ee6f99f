"""Correcting a vitals reading, a side effect or a mood note before the session is signed."""

import datetime

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from sessions.models import MoodNote, SideEffect, VitalSign
from tests.sessions.factories import MoodNoteFactory, SideEffectFactory, VitalSignFactory

pytestmark = pytest.mark.django_db

NORMAL = {"bp_systolic": 128, "bp_diastolic": 80, "heart_rate": 76, "spo2": 98, "resp_rate": 14}


def _chart(client, session, **values):
    body = {"recorded_at": timezone.now().isoformat(), **NORMAL, **values}
    return client.post(f"/api/v1/sessions/{session.pk}/vitals/", body)


def _vitals_url(session, reading_id):
    return f"/api/v1/sessions/{session.pk}/vitals/{reading_id}/"


def _mood_url(session, note_id):
    return f"/api/v1/sessions/{session.pk}/mood-notes/{note_id}/"


@pytest.fixture
def signed_session(discharged_session, prescriber):
    discharged_session.signed_by = prescriber
    discharged_session.signed_at = timezone.now()
    discharged_session.save()
    return discharged_session


# Vitals


def test_a_mistyped_systolic_is_corrected_and_its_false_alert_goes(api, nurse, running_session):
    typo = _chart(api(nurse), running_session, bp_systolic=190).json()
    assert typo["alerts"]

    response = api(nurse).patch(_vitals_url(running_session, typo["id"]), {"bp_systolic": 140})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["bp_systolic"], body["alerts"]) == (140, [])
    assert body["corrected_by"] == nurse.pk
    assert body["corrected_at"] is not None
    assert body["recorded_by"] == nurse.pk
    listed = api(nurse).get(f"/api/v1/sessions/{running_session.pk}/vitals/").json()
    assert [(r["bp_systolic"], r["alerts"]) for r in listed["results"]] == [(140, [])]
    session = api(nurse).get(f"/api/v1/sessions/{running_session.pk}/").json()
    assert session["id"] == running_session.pk


def test_a_correction_keeps_every_version_in_the_history(api, nurse, second_nurse, running_session):
    from patients.services import care_team_grant

    care_team_grant(patient=running_session.course.patient, user=second_nurse)
    reading = _chart(api(nurse), running_session, bp_systolic=190).json()

    api(second_nurse).patch(_vitals_url(running_session, reading["id"]), {"bp_systolic": 140})

    history = VitalSign.objects.get(pk=reading["id"]).history.order_by("history_date")
    assert [(h.bp_systolic, h.history_type, h.corrected_by_id) for h in history] == [
        (190, "+", None),
        (140, "~", second_nurse.pk),
    ]
    assert history.last().history_user == second_nurse
    assert len(history.first().alerts) == 1
    assert history.last().alerts == []


def test_a_corrected_reading_is_judged_by_the_protocol_that_judged_it(
    api, nurse, prescriber, running_session
):
    reading = _chart(api(nurse), running_session, bp_systolic=171).json()
    api(prescriber).post("/api/v1/monitoring-protocol/", {"pause_systolic_at": 170})

    response = api(nurse).patch(_vitals_url(running_session, reading["id"]), {"bp_systolic": 175})

    body = response.json()
    # Version 2 would pause at 170; the reading was charted under version 1 (180).
    assert (body["protocol_version"], body["alerts"]) == (1, [])


@pytest.mark.parametrize(("systolic", "alerting"), [(180, True), (179, False)])
def test_a_correction_recomputes_the_alert_at_the_threshold_and_one_step_inside(
    api, nurse, running_session, systolic, alerting
):
    reading = _chart(api(nurse), running_session).json()

    body = api(nurse).patch(_vitals_url(running_session, reading["id"]), {"bp_systolic": systolic})

    assert bool(body.json()["alerts"]) is alerting


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bp_systolic", 49),
        ("bp_systolic", 281),
        ("bp_diastolic", 19),
        ("heart_rate", 251),
        ("spo2", 101),
        ("resp_rate", 3),
    ],
)
def test_impossible_corrections_are_refused_as_on_charting(
    api, nurse, running_session, field, value
):
    reading = _chart(api(nurse), running_session).json()

    response = api(nurse).patch(_vitals_url(running_session, reading["id"]), {field: value})

    assert response.status_code == 400
    assert field in response.json()
    assert VitalSign.objects.get(pk=reading["id"]).corrected_at is None


def test_a_corrected_systolic_is_checked_against_the_stored_diastolic(api, nurse, running_session):
    reading = _chart(api(nurse), running_session, bp_systolic=128, bp_diastolic=80).json()

    response = api(nurse).patch(_vitals_url(running_session, reading["id"]), {"bp_systolic": 80})

    assert response.status_code == 400
    assert "must be below systolic" in response.json()["bp_diastolic"][0]


def test_a_corrected_time_in_the_future_is_refused(api, nurse, running_session):
    reading = _chart(api(nurse), running_session).json()
    later = (timezone.now() + datetime.timedelta(minutes=10)).isoformat()

    response = api(nurse).patch(_vitals_url(running_session, reading["id"]), {"recorded_at": later})

    assert response.status_code == 400
    assert "recorded_at" in response.json()


def test_a_correction_is_audited_as_update_naming_the_fields_not_the_values(
    api, nurse, running_session
):
    reading = _chart(api(nurse), running_session, bp_systolic=190, heart_rate=77).json()
    before = AuditEvent.objects.count()

    api(nurse).patch(
        _vitals_url(running_session, reading["id"]), {"bp_systolic": 140, "heart_rate": 77}
    )

    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.object_id, e.patient_id) for e in events] == [
        ("update", "vitalsign", str(reading["id"]), running_session.course.patient_id)
    ]
    assert events[0].detail == "vital signs corrected: bp_systolic"


def test_an_unchanged_value_saves_no_new_version(api, nurse, running_session):
    reading = _chart(api(nurse), running_session).json()

    response = api(nurse).patch(_vitals_url(running_session, reading["id"]), {"bp_systolic": 128})

    assert response.status_code == 200
    assert response.json()["corrected_at"] is None
    assert VitalSign.objects.get(pk=reading["id"]).history.count() == 1


def test_a_reading_is_reached_only_under_its_own_session(
    api, nurse, running_session, course, prescriber
):
    from tests.sessions.factories import InfusionSessionFactory

    other = InfusionSessionFactory(course=course, number=2, created_by=nurse)
    reading = VitalSignFactory(session=running_session, recorded_by=nurse)

    response = api(nurse).patch(_vitals_url(other, reading.pk), {"bp_systolic": 140})

    assert response.status_code == 404


def test_nurse_off_the_care_team_gets_404_and_admin_403(
    api, outside_nurse, admin_user, running_session
):
    reading = VitalSignFactory(session=running_session, bp_systolic=190)
    url = _vitals_url(running_session, reading.pk)

    assert api(outside_nurse).patch(url, {"bp_systolic": 140}).status_code == 404
    assert api(admin_user).patch(url, {"bp_systolic": 140}).status_code == 403
    reading.refresh_from_db()
    assert reading.bp_systolic == 190


# Mood notes


def test_a_mood_note_is_corrected_before_signing(api, nurse, running_session):
    note = MoodNoteFactory(session=running_session, recorded_by=nurse, mood=5, anxiety=5)

    response = api(nurse).patch(
        _mood_url(running_session, note.pk), {"mood": 3, "anxiety": 7, "text": "Tearful; 3/10."}
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["mood"], body["anxiety"], body["text"]) == (3, 7, "Tearful; 3/10.")
    assert body["corrected_by"] == nurse.pk
    note.refresh_from_db()
    assert [h.mood for h in note.history.order_by("history_date")] == [5, 3]
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type) == ("update", "moodnote")
    assert event.detail == "mood note corrected: mood, anxiety, text"
    assert "Tearful" not in event.detail


@pytest.mark.parametrize(
    ("field", "value"), [("mood", 11), ("anxiety", -1), ("phase", "later"), ("mood", "")]
)
def test_an_impossible_mood_note_correction_is_refused(api, nurse, running_session, field, value):
    note = MoodNoteFactory(session=running_session, recorded_by=nurse)

    response = api(nurse).patch(_mood_url(running_session, note.pk), {field: value})

    assert response.status_code == 400
    assert field in response.json()
    assert MoodNote.objects.get(pk=note.pk).corrected_at is None


# Side effects: the resolution, the intervention or a corrected grade


def _side_effect_url(session, entry_id):
    return f"/api/v1/sessions/{session.pk}/side-effects/{entry_id}/"


def test_a_side_effect_change_names_who_made_it_and_keeps_the_history(
    api, nurse, second_nurse, running_session
):
    from patients.services import care_team_grant

    care_team_grant(patient=running_session.course.patient, user=second_nurse)
    entry = SideEffectFactory(session=running_session, recorded_by=nurse, grade=3)

    response = api(second_nurse).patch(
        _side_effect_url(running_session, entry.pk),
        {"grade": 2, "intervention": "Ondansetron 4 mg IV"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["grade"], body["recorded_by"]) == (2, nurse.pk)
    assert body["corrected_by"] == second_nurse.pk
    assert body["corrected_at"] is not None
    history = SideEffect.objects.get(pk=entry.pk).history.order_by("history_date")
    assert [(h.grade, h.corrected_by_id) for h in history] == [(3, None), (2, second_nurse.pk)]
    assert history.last().history_user == second_nurse


def test_a_side_effect_change_is_audited_naming_the_fields_not_the_values(
    api, nurse, running_session
):
    entry = SideEffectFactory(session=running_session, recorded_by=nurse)
    before = AuditEvent.objects.count()

    api(nurse).patch(
        _side_effect_url(running_session, entry.pk),
        {"resolved_at": timezone.now().isoformat(), "note": "Settled with rest; feels well."},
    )

    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_type, e.object_id) for e in events] == [
        ("update", "sideeffect", str(entry.pk))
    ]
    assert events[0].detail == "side effect corrected: resolved_at, note"


def test_an_unchanged_side_effect_saves_no_new_version(api, nurse, running_session):
    entry = SideEffectFactory(session=running_session, recorded_by=nurse, grade=2)
    before = AuditEvent.objects.count()

    response = api(nurse).patch(_side_effect_url(running_session, entry.pk), {"grade": 2})

    assert response.status_code == 200
    assert response.json()["corrected_at"] is None
    assert SideEffect.objects.get(pk=entry.pk).history.count() == 1
    assert AuditEvent.objects.order_by("id")[before:][0].detail == (
        "side effect resubmitted unchanged"
    )


# Locked after signing: every child


@pytest.mark.parametrize(
    ("child", "factory", "change"),
    [
        ("vitals", VitalSignFactory, {"bp_systolic": 140}),
        ("side-effects", SideEffectFactory, {"grade": 2}),
        ("mood-notes", MoodNoteFactory, {"mood": 3}),
    ],
)
def test_no_child_can_be_patched_after_signing(api, nurse, signed_session, child, factory, change):
    entry = factory(session=signed_session, recorded_by=nurse)

    response = api(nurse).patch(f"/api/v1/sessions/{signed_session.pk}/{child}/{entry.pk}/", change)

    assert response.status_code == 409
    assert "locked" in response.json()["detail"]
    assert entry.history.count() == 1


@pytest.mark.parametrize(
    ("child", "factory", "change"),
    [
        ("vitals", VitalSignFactory, {"bp_systolic": 140}),
        ("side-effects", SideEffectFactory, {"grade": 2}),
        ("mood-notes", MoodNoteFactory, {"mood": 3}),
    ],
)
def test_no_entry_of_a_cancelled_session_can_be_corrected(
    api, nurse, session, child, factory, change
):
    entry = factory(session=session, recorded_by=nurse)
    api(nurse).post(f"/api/v1/sessions/{session.pk}/cancel/", {"reason": "Patient unwell"})

    response = api(nurse).patch(f"/api/v1/sessions/{session.pk}/{child}/{entry.pk}/", change)

    assert response.status_code == 409
    assert "cancelled" in response.json()["detail"]
