"""Rating scales through the API, the PHQ-9 item-9 safety alert and its acknowledgement."""

import datetime

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from patients.models import Assessment, SafetyAlert
from tests.factories import PatientFactory
from tests.patients.factories import (
    AssessmentFactory,
    EvaluationFactory,
    SafetyAlertFactory,
    make_session,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/assessments/"


def when(hours_ago=1):
    return (timezone.now() - datetime.timedelta(hours=hours_ago)).isoformat()


def scale(patient, instrument="GAD7", answers=None, **extra):
    answers = answers if answers is not None else [2, 2, 2, 1, 1, 1, 1]
    return {
        "patient": patient.pk,
        "instrument": instrument,
        "answers": answers,
        "administered_at": when(),
        **extra,
    }


def alerts_url(patient):
    return f"/api/v1/patients/{patient.pk}/alerts/"


def test_total_and_severity_are_computed(api, nurse, patient):
    response = api(nurse).post(URL, scale(patient, answers=[2, 2, 2, 1, 1, 1, 1]))

    assert response.status_code == 201, response.json()
    assert (response.json()["total"], response.json()["severity"]) == (10, "moderate")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient) == ("create", "assessment", patient)


def test_typed_totals_are_ignored(api, nurse, patient):
    response = api(nurse).post(URL, scale(patient, total=0, severity="minimal"))

    assert (response.json()["total"], response.json()["severity"]) == (10, "moderate")


@pytest.mark.parametrize(
    ("instrument", "answers", "message"),
    [
        ("GAD7", [1] * 6, "GAD-7 needs exactly 7 answers, got 6"),
        ("GAD7", [1, 1, 4, 1, 1, 1, 1], "GAD-7 answers are 0–3; item 3 is 4"),
        ("PHQ9", [0] * 10, "PHQ-9 needs exactly 9 answers, got 10"),
        ("PCL5", [5] + [0] * 19, "PCL-5 answers are 0–4; item 1 is 5"),
        ("CADSS6", [0] * 23, "CADSS-6 needs exactly 6 answers, got 23"),
        ("CADSS", [0] * 22 + [-1], "CADSS answers are 0–4; item 23 is -1"),
    ],
)
def test_wrong_answers_are_refused_with_a_clear_message(
    api, nurse, patient, instrument, answers, message
):
    response = api(nurse).post(URL, scale(patient, instrument=instrument, answers=answers))

    assert response.status_code == 400
    assert response.json() == {"answers": [message]}
    assert not Assessment.objects.exists()


def test_non_integer_answers_are_refused(api, nurse, patient):
    response = api(nurse).post(URL, scale(patient, answers=[1, 1, "a", 1, 1, 1, 1]))

    assert response.status_code == 400
    assert "answers" in response.json()


def test_phq9_item_9_above_zero_raises_a_safety_alert(api, nurse, patient):
    response = api(nurse).post(URL, scale(patient, "PHQ9", [1, 1, 1, 1, 1, 1, 1, 1, 1]))

    assert response.status_code == 201
    alert = SafetyAlert.objects.get()
    assert (alert.patient, alert.kind, alert.assessment_id) == (
        patient,
        "self_harm",
        response.json()["id"],
    )
    listing = api(nurse).get(alerts_url(patient), {"active": "true"}).json()
    assert listing["count"] == 1
    row = listing["results"][0]
    assert {
        "id",
        "kind",
        "message",
        "raised_at",
        "acknowledged_at",
        "acknowledged_by",
        "note",
    } <= set(row)
    assert "item 9" in row["message"]


def test_phq9_item_9_at_zero_raises_no_alert(api, nurse, patient):
    api(nurse).post(URL, scale(patient, "PHQ9", [3, 3, 3, 3, 3, 3, 3, 3, 0]))

    assert not SafetyAlert.objects.exists()


def test_a_gad7_never_raises_a_self_harm_alert(api, nurse, patient):
    api(nurse).post(URL, scale(patient, "GAD7", [3] * 7))

    assert not SafetyAlert.objects.exists()


def test_a_prescriber_acknowledges_an_alert_with_a_note(api, prescriber, nurse, patient):
    alert = SafetyAlertFactory(patient=patient)
    url = f"{alerts_url(patient)}{alert.pk}/acknowledge/"

    by_nurse = api(nurse).post(url, {"note": "Seen"})
    empty = api(prescriber).post(url, {"note": "   "})
    done = api(prescriber).post(url, {"note": "Safety plan reviewed; no intent or plan."})
    again = api(prescriber).post(url, {"note": "Again"})

    assert by_nurse.status_code == 403
    assert empty.status_code == 400
    assert "note" in empty.json()
    assert done.status_code == 200, done.json()
    assert done.json()["acknowledged_by"] == prescriber.pk
    assert done.json()["note"] == "Safety plan reviewed; no intent or plan."
    assert again.status_code == 409
    assert api(nurse).get(alerts_url(patient), {"active": "true"}).json()["count"] == 0
    assert api(nurse).get(alerts_url(patient)).json()["count"] == 1
    assert api(nurse).get(alerts_url(patient), {"active": "false"}).json()["count"] == 1
    ack = AuditEvent.objects.get(action="update")
    assert (ack.object_type, ack.patient) == ("safetyalert", patient)


def test_alerts_of_another_patient_are_404(api, prescriber, patient):
    other = PatientFactory(care_team=[prescriber])
    alert = SafetyAlertFactory(patient=other)

    response = api(prescriber).post(f"{alerts_url(patient)}{alert.pk}/acknowledge/", {"note": "x"})

    assert response.status_code == 404


def test_alert_visibility_by_role(api, admin_user, referrer_user, outside_nurse, patient):
    SafetyAlertFactory(patient=patient)

    assert api(outside_nurse).get(alerts_url(patient)).status_code == 404
    assert api(admin_user).get(alerts_url(patient)).status_code == 403
    assert api(referrer_user).get(alerts_url(patient)).status_code == 403


def test_alert_list_is_audited_once_with_the_patient(api, nurse, patient):
    SafetyAlertFactory(patient=patient)

    api(nurse).get(alerts_url(patient))

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient) == ("list", "safetyalert", patient)


def test_alert_list_queries_stay_constant(
    api, nurse, prescriber, patient, django_assert_max_num_queries
):
    SafetyAlertFactory.create_batch(2, patient=patient)
    client = api(nurse)
    with django_assert_max_num_queries(12) as small:
        client.get(alerts_url(patient))
    for alert in SafetyAlertFactory.create_batch(20, patient=patient):
        alert.acknowledged_at, alert.acknowledged_by, alert.note = timezone.now(), prescriber, "ok"
        alert.save()

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(alerts_url(patient)).json()["count"] == 22


def test_a_scale_attaches_to_an_unsigned_evaluation_but_not_a_signed_one(
    api, nurse, prescriber, patient
):
    open_evaluation = EvaluationFactory(patient=patient)
    signed = EvaluationFactory(patient=patient, signed_by=prescriber)

    attached = api(nurse).post(URL, scale(patient, evaluation=open_evaluation.pk))
    locked = api(nurse).post(URL, scale(patient, evaluation=signed.pk))

    assert attached.status_code == 201
    assert attached.json()["evaluation"] == open_evaluation.pk
    assert locked.status_code == 409


def test_a_scale_attaches_to_an_unsigned_session_but_not_a_signed_one(
    api, nurse, prescriber, patient
):
    session = make_session(patient=patient)
    signed = make_session(patient=patient, signed_by=prescriber, verified_by=nurse)

    attached = api(nurse).post(URL, scale(patient, session=session.pk))
    locked = api(nurse).post(URL, scale(patient, session=signed.pk))

    assert attached.status_code == 201, attached.json()
    assert locked.status_code == 409


def test_a_scale_cannot_attach_to_another_patients_records(api, nurse, prescriber, patient):
    other = PatientFactory(care_team=[nurse, prescriber], responsible_prescriber=prescriber)
    evaluation = EvaluationFactory(patient=other)
    session = make_session(patient=other)

    on_evaluation = api(nurse).post(URL, scale(patient, evaluation=evaluation.pk))
    on_session = api(nurse).post(URL, scale(patient, session=session.pk))

    assert on_evaluation.status_code == 400
    assert "evaluation" in on_evaluation.json()
    assert on_session.status_code == 400
    assert "session" in on_session.json()


def test_a_scale_in_the_future_is_refused(api, nurse, patient):
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()

    response = api(nurse).post(URL, scale(patient, administered_at=future))

    assert response.status_code == 400
    assert "administered_at" in response.json()


def test_filter_by_patient_and_instrument(api, nurse, patient):
    other = PatientFactory(care_team=[nurse])
    AssessmentFactory(patient=patient, instrument="GAD7", recorded_by=nurse)
    phq = AssessmentFactory(patient=patient, instrument="PHQ9", recorded_by=nurse)
    AssessmentFactory(patient=other, instrument="PHQ9", recorded_by=nurse)

    response = api(nurse).get(URL, {"patient": patient.pk, "instrument": "PHQ9"})

    assert [a["id"] for a in response.json()["results"]] == [phq.pk]


def test_scale_visibility_by_role(api, admin_user, referrer_user, outside_nurse, nurse, patient):
    assessment = AssessmentFactory(patient=patient)

    assert api(nurse).get(f"{URL}{assessment.pk}/").status_code == 200
    assert api(outside_nurse).get(f"{URL}{assessment.pk}/").status_code == 404
    assert api(admin_user).get(URL).status_code == 403
    assert api(referrer_user).get(f"{URL}{assessment.pk}/").status_code == 403
    assert api(admin_user).post(URL, scale(patient)).status_code == 403


def test_a_scale_for_a_patient_off_the_team_is_refused(api, outside_nurse, patient):
    response = api(outside_nurse).post(URL, scale(patient))

    assert response.status_code == 400
    assert "patient" in response.json()
    assert not Assessment.objects.exists()


def test_assessment_list_queries_stay_constant(api, nurse, patient, django_assert_max_num_queries):
    AssessmentFactory.create_batch(2, patient=patient)
    client = api(nurse)
    with django_assert_max_num_queries(10) as small:
        client.get(URL)
    AssessmentFactory.create_batch(25, patient=patient, instrument="PCL5")

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).json()["count"] == 27


def test_an_acknowledgement_note_counts_its_length_as_sent(api, prescriber, patient):
    alert = SafetyAlertFactory(patient=patient)
    url = f"{alerts_url(patient)}{alert.pk}/acknowledge/"

    over = api(prescriber).post(url, {"note": "\u00a0" + "x" * 5000})
    at_limit = api(prescriber).post(url, {"note": " " + "x" * 4999})

    assert over.status_code == 400
    assert over.json()["note"] == ["Ensure this field has no more than 5000 characters."]
    assert at_limit.status_code == 200, at_limit.json()
    alert.refresh_from_db()
    assert alert.note == "x" * 4999
