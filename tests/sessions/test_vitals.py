"""The vitals flowsheet: impossible values, alerts from the versioned protocol, overdue readings."""

import datetime

import pytest
from django.db import connection
from django.utils import timezone

from ehr.models import AuditEvent
from sessions.models import MonitoringProtocol, VitalSign
from tests.sessions.factories import VitalSignFactory

pytestmark = pytest.mark.django_db

NORMAL = {"bp_systolic": 128, "bp_diastolic": 80, "heart_rate": 76, "spo2": 98, "resp_rate": 14}


def _chart(client, session, **values):
    body = {"recorded_at": timezone.now().isoformat(), **NORMAL, **values}
    return client.post(f"/api/v1/sessions/{session.pk}/vitals/", body)


def test_a_normal_reading_raises_no_alert(api, nurse, running_session):
    response = _chart(api(nurse), running_session)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["alerts"] == []
    assert body["protocol_version"] == 1
    assert body["recorded_by"] == nurse.pk
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient_id) == (
        "create",
        "vitalsign",
        running_session.course.patient_id,
    )


@pytest.mark.parametrize(
    ("field", "alerting", "inside", "words"),
    [
        ("bp_systolic", 180, 179, "Systolic"),
        ("bp_diastolic", 110, 109, "Diastolic"),
        ("heart_rate", 130, 129, "Heart rate 130"),
        ("heart_rate", 45, 46, "Heart rate 45"),
        ("spo2", 91, 92, "SpO2"),
        ("resp_rate", 9, 10, "Respiratory rate"),
    ],
)
def test_every_pause_threshold_at_the_value_and_one_step_inside(
    api, nurse, running_session, field, alerting, inside, words
):
    extra = {"bp_systolic": 190} if field == "bp_diastolic" else {}

    alert = _chart(api(nurse), running_session, **{**extra, field: alerting}).json()
    calm = _chart(api(nurse), running_session, **{**extra, field: inside}).json()

    assert len(alert["alerts"]) == len(calm["alerts"]) + 1, (alert, calm)
    new = [a for a in alert["alerts"] if a not in calm["alerts"]]
    assert words in new[0]
    assert "pause the infusion" in new[0]


def test_several_alerts_on_one_reading(api, nurse, running_session):
    body = _chart(
        api(nurse), running_session, bp_systolic=186, bp_diastolic=112, spo2=89, resp_rate=8
    ).json()

    assert len(body["alerts"]) == 4


@pytest.mark.parametrize(
    ("field", "refused", "accepted", "other"),
    [
        ("bp_systolic", 49, 50, {"bp_diastolic": 30}),
        ("bp_systolic", 281, 280, {}),
        ("bp_diastolic", 19, 20, {}),
        ("bp_diastolic", 181, 180, {"bp_systolic": 220}),
        ("heart_rate", 19, 20, {}),
        ("heart_rate", 251, 250, {}),
        ("spo2", 49, 50, {}),
        ("spo2", 101, 100, {}),
        ("resp_rate", 3, 4, {}),
        ("resp_rate", 61, 60, {}),
    ],
)
def test_impossible_values_are_refused_at_each_bound(
    api, nurse, running_session, field, refused, accepted, other
):
    bad = _chart(api(nurse), running_session, **{**other, field: refused})
    good = _chart(api(nurse), running_session, **{**other, field: accepted})

    assert bad.status_code == 400
    assert "not possible" in bad.json()[field][0]
    assert good.status_code == 201, good.json()
    assert VitalSign.objects.count() == 1


@pytest.mark.parametrize("diastolic", [120, 130])
def test_diastolic_must_be_below_systolic(api, nurse, running_session, diastolic):
    response = _chart(api(nurse), running_session, bp_systolic=120, bp_diastolic=diastolic)

    assert response.status_code == 400
    assert "below systolic" in response.json()["bp_diastolic"][0]


def test_every_impossible_field_is_named_at_once(api, nurse, running_session):
    response = _chart(api(nurse), running_session, heart_rate=0, spo2=120, resp_rate=0)

    assert {"heart_rate", "spo2", "resp_rate"} <= set(response.json())


def test_a_reading_in_the_future_is_refused(api, nurse, running_session):
    later = timezone.now() + datetime.timedelta(minutes=5)

    response = _chart(api(nurse), running_session, recorded_at=later.isoformat())

    assert response.status_code == 400
    assert "future" in response.json()["recorded_at"][0]


def test_a_device_clock_a_minute_ahead_is_tolerated(api, nurse, running_session):
    ahead = timezone.now() + datetime.timedelta(minutes=1)

    assert _chart(api(nurse), running_session, recorded_at=ahead.isoformat()).status_code == 201


def test_a_reading_before_the_session_day_is_refused(api, nurse, running_session):
    day_before = running_session.scheduled_for - datetime.timedelta(days=1)

    response = _chart(api(nurse), running_session, recorded_at=day_before.isoformat())

    assert response.status_code == 400
    assert "before the day of the session" in response.json()["recorded_at"][0]


# The protocol as data


def test_clinicians_read_the_protocol_in_force(api, nurse):
    response = api(nurse).get("/api/v1/monitoring-protocol/")

    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["pause_systolic_at"], body["spo2_below"]) == (1, 180, 92)
    assert (body["vitals_interval_minutes"], body["hold_pre_systolic_at"]) == (15, 160)


def test_prescriber_publishes_a_new_version(api, prescriber):
    response = api(prescriber).post(
        "/api/v1/monitoring-protocol/", {"pause_systolic_at": 170, "note": "Stricter BP"}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["version"], body["pause_systolic_at"], body["pause_diastolic_at"]) == (2, 170, 110)
    assert body["created_by"] == prescriber.pk
    assert api(prescriber).get("/api/v1/monitoring-protocol/").json()["version"] == 2
    versions = api(prescriber).get("/api/v1/monitoring-protocol/versions/").json()
    assert [v["version"] for v in versions["results"]] == [2, 1]


@pytest.mark.parametrize("who", ["nurse", "admin_user", "referrer_user"])
def test_only_a_prescriber_publishes_the_protocol(api, request, who):
    response = api(request.getfixturevalue(who)).post(
        "/api/v1/monitoring-protocol/", {"pause_systolic_at": 170}
    )

    assert response.status_code == 403
    assert MonitoringProtocol.objects.count() == 1


def test_an_implausible_protocol_is_refused(api, prescriber):
    response = api(prescriber).post(
        "/api/v1/monitoring-protocol/", {"hold_pre_systolic_at": 190, "pause_systolic_at": 180}
    )

    assert response.status_code == 400
    assert "hold_pre_systolic_at" in response.json()


def test_new_version_applies_to_new_readings_old_readings_keep_theirs(
    api, nurse, prescriber, running_session
):
    before = _chart(api(nurse), running_session, bp_systolic=175).json()
    api(prescriber).post("/api/v1/monitoring-protocol/", {"pause_systolic_at": 170})

    after = _chart(api(nurse), running_session, bp_systolic=175).json()

    assert (before["protocol_version"], before["alerts"]) == (1, [])
    assert after["protocol_version"] == 2
    assert "at or above 170" in after["alerts"][0]
    listed = api(nurse).get(f"/api/v1/sessions/{running_session.pk}/vitals/").json()["results"]
    assert [(r["protocol_version"], len(r["alerts"])) for r in listed] == [(1, 0), (2, 1)]


def test_the_hold_threshold_of_the_protocol_in_force_applies(api, nurse, prescriber, ready_session):
    api(prescriber).post(
        "/api/v1/monitoring-protocol/", {"hold_pre_systolic_at": 150, "note": "Lower hold"}
    )
    ready_session.pre_bp_systolic = 152
    ready_session.save()

    response = api(nurse).post(f"/api/v1/sessions/{ready_session.pk}/start/")

    assert response.status_code == 409
    assert "150/100" in response.json()["detail"]


# Readings due and overdue


def _session_view(client, session):
    return client.get(f"/api/v1/sessions/{session.pk}/").json()


def test_first_reading_due_one_interval_after_the_start(api, nurse, running_session):
    body = _session_view(api(nurse), running_session)  # started ten minutes ago

    due = datetime.datetime.fromisoformat(body["next_vitals_due_at"])
    assert due == running_session.started_at + datetime.timedelta(minutes=15)
    assert body["vitals_overdue"] is False


def test_no_reading_for_longer_than_the_interval_is_overdue(api, nurse, running_session):
    running_session.started_at = timezone.now() - datetime.timedelta(minutes=16)
    running_session.save()

    assert _session_view(api(nurse), running_session)["vitals_overdue"] is True


def test_a_reading_resets_the_interval(api, nurse, running_session):
    running_session.started_at = timezone.now() - datetime.timedelta(minutes=40)
    running_session.save()
    assert _session_view(api(nurse), running_session)["vitals_overdue"] is True

    _chart(api(nurse), running_session)

    body = _session_view(api(nurse), running_session)
    assert body["vitals_overdue"] is False


def test_readings_stay_due_during_the_observation_period(api, nurse, completed_session):
    completed_session.started_at = timezone.now() - datetime.timedelta(minutes=70)
    completed_session.ended_at = timezone.now() - datetime.timedelta(minutes=30)
    completed_session.save()
    VitalSignFactory(
        session=completed_session, recorded_at=timezone.now() - datetime.timedelta(minutes=20)
    )

    body = _session_view(api(nurse), completed_session)

    assert body["next_vitals_due_at"] is not None
    assert body["vitals_overdue"] is True


def test_no_reading_is_due_after_the_observation_period(api, nurse, completed_session):
    completed_session.started_at = timezone.now() - datetime.timedelta(minutes=150)
    completed_session.ended_at = timezone.now() - datetime.timedelta(minutes=110)
    completed_session.save()
    VitalSignFactory(
        session=completed_session, recorded_at=timezone.now() - datetime.timedelta(minutes=55)
    )

    body = _session_view(api(nurse), completed_session)

    assert body["next_vitals_due_at"] is None
    assert body["vitals_overdue"] is False


def test_no_reading_is_due_before_the_start_or_after_discharge(
    api, nurse, ready_session, discharged_session
):
    assert _session_view(api(nurse), discharged_session)["next_vitals_due_at"] is None


def test_no_reading_is_due_for_a_scheduled_session(api, nurse, ready_session):
    body = _session_view(api(nurse), ready_session)

    assert (body["next_vitals_due_at"], body["vitals_overdue"]) == (None, False)


def test_vitals_list_query_count_does_not_grow_with_the_page(
    api, nurse, running_session, django_assert_max_num_queries
):
    url = f"/api/v1/sessions/{running_session.pk}/vitals/"
    VitalSignFactory.create_batch(2, session=running_session, recorded_by=nurse)
    client = api(nurse)
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    VitalSignFactory.create_batch(20, session=running_session, recorded_by=nurse)

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(url)

    assert response.json()["count"] == 22


def test_charting_a_reading_reads_the_session_and_protocol_once_with_the_lock(
    api, nurse, running_session, django_assert_max_num_queries
):
    client = api(nurse)
    _chart(client, running_session)  # the token's first use is recorded once

    # Token, one statement for the session (reach and lock) and the protocol in force,
    # the reading and its history row, the audit event; savepoints and their release
    # come on top where a test transaction is open.
    with django_assert_max_num_queries(7) as charted:
        response = _chart(client, running_session)

    assert response.status_code == 201
    reads = [
        query["sql"]
        for query in charted.captured_queries
        if 'FROM "infusions_infusionsession"' in query["sql"]
        or 'FROM "infusions_monitoringprotocol"' in query["sql"]
    ]
    assert len(reads) == 1
    assert 'FROM "infusions_monitoringprotocol"' in reads[0]
    # SQLite (the zero-setup default) locks the whole database for a write instead.
    assert ("FOR UPDATE" in reads[0]) is connection.features.has_select_for_update_of
    event = AuditEvent.objects.filter(action="create", object_type="vitalsign").latest("id")
    assert event.patient_id == running_session.course.patient_id


def test_the_protocol_read_with_the_session_is_the_version_in_force_whole(
    api, nurse, prescriber, running_session
):
    published = {
        "pause_systolic_at": 171,
        "pause_diastolic_at": 101,
        "heart_rate_high_at": 121,
        "heart_rate_low_at": 51,
        "spo2_below": 94,
        "resp_rate_below": 11,
        "note": "Post-operative patients",
    }
    assert api(prescriber).post("/api/v1/monitoring-protocol/", published).status_code == 201
    # Every pause threshold of version 2 at its value; none of them is an alert under v1.
    at_thresholds = {
        "bp_systolic": 171,
        "bp_diastolic": 101,
        "heart_rate": 121,
        "spo2": 93,
        "resp_rate": 10,
    }

    body = _chart(api(nurse), running_session, **at_thresholds).json()
    low_heart_rate = _chart(api(nurse), running_session, heart_rate=51).json()

    assert body["protocol_version"] == 2
    assert len(body["alerts"]) == 5
    assert len(low_heart_rate["alerts"]) == 1
    reading = VitalSign.objects.select_related("protocol").get(pk=body["id"])
    assert reading.protocol.note == "Post-operative patients"
    assert reading.protocol.created_by == prescriber


def test_a_protocol_published_mid_infusion_keeps_the_running_cadence(
    api, nurse, prescriber, running_session
):
    api(prescriber).post("/api/v1/monitoring-protocol/", {"vitals_interval_minutes": 5})

    body = _session_view(api(nurse), running_session)  # started ten minutes ago, v1: 15 min

    assert body["vitals_overdue"] is False
    due = datetime.datetime.fromisoformat(body["next_vitals_due_at"])
    assert due == running_session.started_at + datetime.timedelta(minutes=15)
