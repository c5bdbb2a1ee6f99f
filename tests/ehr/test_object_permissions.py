"""Which patients each role reaches, through the one set of access functions."""

import datetime

import pytest
from django.utils import timezone

from patients.models import BreakGlassAccess
from patients.selectors import clinical_patient_list_for_user, patient_list_for_user
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _ids(response):
    return sorted(p["id"] for p in response.json()["results"])


def test_clinicians_see_only_patients_on_their_care_team(api, nurse, prescriber, patient):
    elsewhere = PatientFactory(care_team=[])

    assert _ids(api(nurse).get("/api/v1/patients/")) == [patient.pk]
    assert _ids(api(prescriber).get("/api/v1/patients/")) == [patient.pk]
    assert api(nurse).get(f"/api/v1/patients/{elsewhere.pk}/").status_code == 404


def test_nurse_off_the_care_team_gets_404(api, outside_nurse, patient):
    assert api(outside_nurse).get(f"/api/v1/patients/{patient.pk}/").status_code == 404
    assert _ids(api(outside_nurse).get("/api/v1/patients/")) == []


def test_referrer_sees_only_the_patients_they_referred(api, referrer_user, other_referrer, patient):
    someone_elses = PatientFactory(referring_provider=other_referrer)

    assert _ids(api(referrer_user).get("/api/v1/patients/")) == [patient.pk]
    assert api(referrer_user).get(f"/api/v1/patients/{someone_elses.pk}/").status_code == 404


def test_admin_sees_every_patients_demographics_but_no_clinical_records(admin_user, patient):
    other = PatientFactory()

    assert set(patient_list_for_user(user=admin_user)) == {patient, other}
    assert not clinical_patient_list_for_user(user=admin_user).exists()


def test_referrer_reaches_no_clinical_records(referrer_user, patient):
    assert not clinical_patient_list_for_user(user=referrer_user).exists()


def test_clinician_who_registers_a_patient_joins_its_care_team(api, nurse):
    response = api(nurse).post(
        "/api/v1/patients/",
        {
            "first_name": "李",
            "last_name": "小龙",
            "date_of_birth": "1980-11-27",
            "primary_diagnosis": "F43.10",
        },
    )

    assert response.status_code == 201, response.json()
    assert response.json()["care_team"] == [nurse.pk]
    assert api(nurse).get(f"/api/v1/patients/{response.json()['id']}/").status_code == 200


def test_admin_who_registers_a_patient_does_not_join_a_care_team(api, admin_user):
    response = api(admin_user).post(
        "/api/v1/patients/",
        {
            "first_name": "Ana",
            "last_name": "Silva",
            "date_of_birth": "1990-01-02",
            "primary_diagnosis": "F41.1",
        },
    )

    assert response.status_code == 201
    assert response.json()["care_team"] == []


def test_an_active_break_glass_grant_opens_the_record_until_it_expires(outside_nurse, patient):
    grant = BreakGlassAccess.objects.create(
        user=outside_nurse,
        patient=patient,
        reason="Covering",
        expires_at=timezone.now() + datetime.timedelta(hours=4),
    )
    assert list(clinical_patient_list_for_user(user=outside_nurse)) == [patient]

    BreakGlassAccess.objects.filter(pk=grant.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    assert not clinical_patient_list_for_user(user=outside_nurse).exists()


def test_deactivated_clinician_reaches_nobody(nurse, patient):
    nurse.is_active = False
    nurse.save()

    assert not patient_list_for_user(user=nurse).exists()


def test_patient_list_queries_do_not_grow_with_the_page(api, nurse, django_assert_max_num_queries):
    PatientFactory.create_batch(3, care_team=[nurse])
    client = api(nurse)
    with django_assert_max_num_queries(12) as small:
        client.get("/api/v1/patients/")
    PatientFactory.create_batch(30, care_team=[nurse])

    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get("/api/v1/patients/")

    assert response.json()["count"] == 33
