"""Ordering treatment courses: who may, and what the patient needs first."""

import pytest

from ehr.models import AuditEvent
from patients.models import Evaluation
from sessions.models import TreatmentCourse
from tests.patients.factories import ConsentFactory, EvaluationFactory
from tests.sessions.factories import TreatmentCourseFactory

pytestmark = pytest.mark.django_db


def _order(client, patient, **extra):
    return client.post(
        "/api/v1/courses/", {"patient": patient.pk, "start_date": "2025-02-03", **extra}
    )


def test_prescriber_orders_a_course_with_the_clinic_defaults(api, prescriber, eligible_patient):
    response = _order(api(prescriber), eligible_patient)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["protocol"] == "induction"
    assert body["dose_mg_per_kg"] == "0.50"
    assert body["infusion_minutes"] == 40
    assert body["planned_sessions"] == 6
    assert body["status"] == "active"
    assert body["ordered_by"] == prescriber.pk
    assert body["patient"] == eligible_patient.pk
    event = AuditEvent.objects.get()
    assert (event.action, event.patient_id) == ("create", eligible_patient.pk)


def test_a_maintenance_course_plans_one_booster_by_default(api, prescriber, eligible_patient):
    response = _order(api(prescriber), eligible_patient, protocol="maintenance")

    assert response.status_code == 201
    assert response.json()["planned_sessions"] == 1


def test_nurse_cannot_order_a_course(api, nurse, eligible_patient):
    response = _order(api(nurse), eligible_patient)

    assert response.status_code == 403
    assert not TreatmentCourse.objects.exists()


def test_course_refused_without_an_evaluation(api, prescriber, patient):
    ConsentFactory(patient=patient, recorded_by=prescriber)

    response = _order(api(prescriber), patient)

    assert response.status_code == 400
    assert "no signed pre-treatment evaluation" in response.json()["patient"][0]
    assert not TreatmentCourse.objects.exists()


def test_course_refused_while_the_evaluation_is_unsigned(api, prescriber, patient):
    EvaluationFactory(patient=patient)
    ConsentFactory(patient=patient, recorded_by=prescriber)

    response = _order(api(prescriber), patient)

    assert response.status_code == 400
    assert "no signed pre-treatment evaluation" in response.json()["patient"][0]


def test_course_refused_when_the_signed_evaluation_is_not_eligible(api, prescriber, patient):
    EvaluationFactory(
        patient=patient, signed_by=prescriber, eligibility=Evaluation.Eligibility.NOT_ELIGIBLE
    )
    ConsentFactory(patient=patient, recorded_by=prescriber)

    response = _order(api(prescriber), patient)

    assert response.status_code == 400
    assert "not eligible for treatment" in response.json()["patient"][0]


def test_course_refused_when_a_later_evaluation_found_the_patient_not_eligible(
    api, prescriber, patient
):
    EvaluationFactory(patient=patient, signed_by=prescriber, evaluated_on="2024-06-01")
    EvaluationFactory(
        patient=patient,
        signed_by=prescriber,
        evaluated_on="2025-01-20",
        eligibility=Evaluation.Eligibility.NOT_ELIGIBLE,
    )
    ConsentFactory(patient=patient, recorded_by=prescriber)

    response = _order(api(prescriber), patient)

    assert response.status_code == 400


def test_course_refused_without_a_consent_on_file(api, prescriber, patient):
    EvaluationFactory(patient=patient, signed_by=prescriber)

    response = _order(api(prescriber), patient)

    assert response.status_code == 400
    assert "No informed consent" in response.json()["patient"][0]


def test_eligible_with_precautions_may_start_a_course(api, prescriber, patient):
    EvaluationFactory(
        patient=patient,
        signed_by=prescriber,
        eligibility=Evaluation.Eligibility.ELIGIBLE_WITH_PRECAUTIONS,
        precautions="Blood pressure checked twice before the start.",
    )
    ConsentFactory(patient=patient, recorded_by=prescriber)

    assert _order(api(prescriber), patient).status_code == 201


@pytest.mark.parametrize(
    ("dose", "accepted"), [("0.09", False), ("0.10", True), ("1.00", True), ("1.01", False)]
)
def test_ordered_dose_stays_in_the_subanaesthetic_range(
    api, prescriber, eligible_patient, dose, accepted
):
    response = _order(api(prescriber), eligible_patient, dose_mg_per_kg=dose)

    assert (response.status_code == 201) is accepted
    if not accepted:
        assert "dose_mg_per_kg" in response.json()


def test_a_second_active_course_is_refused(api, prescriber, course):
    response = _order(api(prescriber), course.patient)

    assert response.status_code == 409
    assert "already has an active" in response.json()["detail"]


def test_nurse_off_care_team_cannot_see_the_course(api, outside_nurse, course):
    assert api(outside_nurse).get(f"/api/v1/courses/{course.pk}/").status_code == 404
    assert api(outside_nurse).get("/api/v1/courses/").json()["count"] == 0


def test_prescriber_cannot_order_for_a_patient_off_their_care_team(
    api, other_prescriber, eligible_patient
):
    response = _order(api(other_prescriber), eligible_patient)

    assert response.status_code == 400
    assert "patient" in response.json()


@pytest.mark.parametrize("who", ["admin_user", "referrer_user"])
def test_non_clinicians_get_403_on_courses(api, request, course, who):
    user = request.getfixturevalue(who)

    assert api(user).get("/api/v1/courses/").status_code == 403
    assert api(user).get(f"/api/v1/courses/{course.pk}/").status_code == 403


def test_course_list_query_count_does_not_grow_with_the_page(
    api, nurse, prescriber, eligible_patient, django_assert_max_num_queries
):
    from tests.factories import PatientFactory

    def add_courses(count):
        for _ in range(count):
            other = PatientFactory(care_team=[nurse, prescriber], responsible_prescriber=prescriber)
            TreatmentCourseFactory(patient=other, ordered_by=prescriber)

    add_courses(2)
    client = api(nurse)
    with django_assert_max_num_queries(8) as small:
        client.get("/api/v1/courses/")
    add_courses(10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/api/v1/courses/")
    assert response.json()["count"] == 12


def test_prescriber_discontinues_a_course(api, prescriber, course):
    response = api(prescriber).patch(f"/api/v1/courses/{course.pk}/", {"status": "discontinued"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "discontinued"


def test_nurse_cannot_change_a_course(api, nurse, course):
    response = api(nurse).patch(f"/api/v1/courses/{course.pk}/", {"dose_mg_per_kg": "0.8"})

    assert response.status_code == 403
