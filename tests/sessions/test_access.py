"""Who reaches sessions and their flowsheets: the care team only; admin and referrers never."""

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from ehr.models import AuditEvent
from patients.services import care_team_grant
from sessions import services
from sessions.models import MoodNote, SideEffect, VitalSign
from tests.factories import PatientFactory
from tests.sessions.factories import (
    InfusionSessionFactory,
    TreatmentCourseFactory,
    VitalSignFactory,
)

pytestmark = pytest.mark.django_db

_CHILDREN = ["vitals", "side-effects", "mood-notes", "amendments"]


def _paths(session):
    base = f"/api/v1/sessions/{session.pk}/"
    return [base, *(f"{base}{child}/" for child in _CHILDREN)]


def test_nurse_off_care_team_gets_404_for_the_session_and_its_flowsheet(
    api, outside_nurse, running_session
):
    client = api(outside_nurse)

    for path in _paths(running_session):
        assert client.get(path).status_code == 404, path
    assert client.get("/api/v1/sessions/").json()["count"] == 0
    response = client.post(
        f"/api/v1/sessions/{running_session.pk}/vitals/",
        {
            "recorded_at": timezone.now().isoformat(),
            "bp_systolic": 120,
            "bp_diastolic": 80,
            "heart_rate": 70,
            "spo2": 98,
            "resp_rate": 14,
        },
    )
    assert response.status_code == 404


def test_the_charting_services_refuse_a_session_outside_the_actors_reach(
    outside_nurse, running_session
):
    now = timezone.now()
    charting = [
        (
            services.vitals_record,
            dict(
                recorded_at=now,
                bp_systolic=120,
                bp_diastolic=80,
                heart_rate=70,
                spo2=98,
                resp_rate=14,
            ),
        ),
        (services.side_effect_record, dict(effect="nausea", grade=1, onset_at=now)),
        (services.mood_note_record, dict(recorded_at=now, phase="before", mood=5, anxiety=5)),
    ]

    for record, values in charting:
        with pytest.raises(Http404):
            record(actor=outside_nurse, session_id=running_session.pk, **values)

    assert not VitalSign.objects.exists()
    assert not SideEffect.objects.exists()
    assert not MoodNote.objects.exists()


def test_corrections_are_refused_outside_the_actors_reach(outside_nurse, nurse, running_session):
    reading = VitalSignFactory(session=running_session, recorded_by=nurse, heart_rate=70)

    with pytest.raises(Http404):
        services.vitals_correct(actor=outside_nurse, reading=reading, heart_rate=72)

    reading.refresh_from_db()
    assert reading.heart_rate == 70


def test_a_denied_read_is_audited_without_naming_the_patient(api, outside_nurse, session):
    api(outside_nurse).get(f"/api/v1/sessions/{session.pk}/")

    event = AuditEvent.objects.get()
    assert (event.action, event.status_code, event.patient) == ("denied", 404, None)


def test_nurse_off_care_team_cannot_act_on_the_session(api, outside_nurse, ready_session):
    response = api(outside_nurse).post(f"/api/v1/sessions/{ready_session.pk}/start/")

    assert response.status_code == 404
    ready_session.refresh_from_db()
    assert ready_session.status == "scheduled"


@pytest.mark.parametrize("who", ["admin_user", "referrer_user"])
def test_admin_and_referrers_get_403_on_every_session_endpoint(api, request, running_session, who):
    client = api(request.getfixturevalue(who))

    assert client.get("/api/v1/sessions/").status_code == 403
    for path in _paths(running_session):
        assert client.get(path).status_code == 403, path
    assert client.get("/api/v1/monitoring-protocol/").status_code == 403
    assert client.post(f"/api/v1/sessions/{running_session.pk}/complete/").status_code == 403


def test_break_the_glass_opens_the_sessions(api, outside_nurse, session):
    from patients.models import BreakGlassAccess

    BreakGlassAccess.objects.create(
        user=outside_nurse,
        patient=session.course.patient,
        reason="Covering for a sick colleague",
        expires_at=timezone.now() + datetime.timedelta(hours=4),
    )

    assert api(outside_nurse).get(f"/api/v1/sessions/{session.pk}/").status_code == 200


def test_each_request_leaves_exactly_one_audit_event(api, nurse, running_session):
    client = api(nurse)
    for path in _paths(running_session):
        before = AuditEvent.objects.count()
        client.get(path)
        assert AuditEvent.objects.count() == before + 1, path
    event = AuditEvent.objects.filter(object_type="vitalsign").get()
    assert (event.action, event.patient_id) == ("list", running_session.course.patient_id)


def test_sessions_list_filters(api, nurse, prescriber, session):
    other_patient = PatientFactory(care_team=[nurse, prescriber], responsible_prescriber=prescriber)
    other_course = TreatmentCourseFactory(patient=other_patient, ordered_by=prescriber)
    tomorrow = InfusionSessionFactory(
        course=other_course,
        number=1,
        created_by=nurse,
        scheduled_for=timezone.now() + datetime.timedelta(days=1),
    )
    client = api(nurse)

    def ids(**params):
        return [row["id"] for row in client.get("/api/v1/sessions/", params).json()["results"]]

    assert ids(course=session.course_id) == [session.pk]
    assert ids(patient=other_patient.pk) == [tomorrow.pk]
    assert ids(status="scheduled") == [session.pk, tomorrow.pk]
    assert ids(date=timezone.localdate(tomorrow.scheduled_for).isoformat()) == [tomorrow.pk]


def test_sessions_list_query_count_does_not_grow_with_the_page(
    api, nurse, prescriber, django_assert_max_num_queries
):
    def add_sessions(count):
        for _ in range(count):
            patient = PatientFactory(
                care_team=[nurse, prescriber], responsible_prescriber=prescriber
            )
            course = TreatmentCourseFactory(patient=patient, ordered_by=prescriber)
            started = InfusionSessionFactory(
                course=course,
                number=1,
                created_by=nurse,
                nurse=nurse,
                dose_verified_by=prescriber,
                dose_verified_at=timezone.now(),
                status="in_progress",
                started_at=timezone.now(),
            )
            VitalSignFactory(session=started, recorded_by=nurse)

    add_sessions(2)
    client = api(nurse)
    with django_assert_max_num_queries(12) as small:
        client.get("/api/v1/sessions/")
    add_sessions(10)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/api/v1/sessions/")

    assert response.json()["count"] == 12


def test_a_clinician_added_to_the_care_team_sees_the_session(api, second_nurse, session):
    assert api(second_nurse).get(f"/api/v1/sessions/{session.pk}/").status_code == 404

    care_team_grant(patient=session.course.patient, user=second_nurse)

    assert api(second_nurse).get(f"/api/v1/sessions/{session.pk}/").status_code == 200


def test_the_nurse_named_on_a_session_must_be_on_the_care_team(api, nurse, outside_nurse, session):
    response = api(nurse).patch(f"/api/v1/sessions/{session.pk}/", {"nurse": outside_nurse.pk})

    assert response.status_code == 400
    assert "nurse" in response.json()


@pytest.mark.parametrize(
    ("path", "param", "record"),
    [
        ("/api/v1/courses/", "patient", "patient"),
        ("/api/v1/sessions/", "patient", "patient"),
        ("/api/v1/sessions/", "course", "course"),
    ],
)
def test_filtering_by_an_id_out_of_reach_reads_like_an_id_that_does_not_exist(
    api, outside_nurse, session, path, param, record
):
    target = {"patient": session.course.patient, "course": session.course}[record]
    client = api(outside_nurse)

    hidden = client.get(path, {param: target.pk})
    missing = client.get(path, {param: 987654321})

    assert hidden.status_code == missing.status_code == 200
    assert hidden.json()["count"] == missing.json()["count"] == 0
