"""Patients through the API: registration, MRN, diagnosis, status, search, who sees what."""

import pytest

from ehr.models import AuditEvent
from patients.models import Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "first_name": "Ἀθηνᾶ",
    "last_name": "Παπαδοπούλου",
    "date_of_birth": "1979-03-14",
    "sex": "female",
    "phone": "(207) 555-0199",
    "email": "athena@example.invalid",
    "address": "12 Fore St, Portland, ME",
    "primary_diagnosis": "F43.10",
}


def _ids(response):
    return sorted(p["id"] for p in response.json()["results"])


def test_registration_assigns_an_mrn_and_labels_the_diagnosis(api, admin_user, referrer):
    response = api(admin_user).post(
        "/api/v1/patients/", {**NEW_PATIENT, "referring_provider": referrer.pk}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["mrn"].startswith("K") and len(body["mrn"]) == 9
    assert body["first_name"] == "Ἀθηνᾶ"
    assert body["primary_diagnosis_label"] == "Post-traumatic stress disorder, unspecified"
    assert body["status"] == "referred"
    assert body["referring_provider"] == referrer.pk


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("José", "Müller-Øster"),
        ("Дмитрий", "Иванов"),
        ("محمد", "الحسيني"),
        ("שרה", "כהן"),
        ("美咲", "佐藤"),
    ],
)
def test_names_in_any_script_round_trip(api, nurse, first, last):
    response = api(nurse).post(
        "/api/v1/patients/", {**NEW_PATIENT, "first_name": first, "last_name": last}
    )

    assert response.status_code == 201
    patient = Patient.objects.get(pk=response.json()["id"])
    assert (patient.first_name, patient.last_name) == (first, last)


def test_a_diagnosis_off_the_list_is_refused(api, admin_user):
    response = api(admin_user).post(
        "/api/v1/patients/", {**NEW_PATIENT, "primary_diagnosis": "F20.9"}
    )

    assert response.status_code == 400
    assert "primary_diagnosis" in response.json()


def test_the_responsible_prescriber_must_be_a_prescriber(api, admin_user, nurse, prescriber):
    refused = api(admin_user).post(
        "/api/v1/patients/", {**NEW_PATIENT, "responsible_prescriber": nurse.pk}
    )
    accepted = api(admin_user).post(
        "/api/v1/patients/", {**NEW_PATIENT, "responsible_prescriber": prescriber.pk}
    )

    assert refused.status_code == 400
    assert "responsible_prescriber" in refused.json()
    assert accepted.status_code == 201
    # The responsible prescriber joins the care team.
    assert accepted.json()["care_team"] == [prescriber.pk]


def test_the_mrn_never_changes(api, admin_user, patient):
    mrn = patient.mrn

    changed = api(admin_user).patch(f"/api/v1/patients/{patient.pk}/", {"mrn": "K00000001"})
    same = api(admin_user).patch(
        f"/api/v1/patients/{patient.pk}/", {"mrn": mrn, "phone": "(207) 555-0111"}
    )

    assert changed.status_code == 400
    assert "mrn" in changed.json()
    assert same.status_code == 200
    patient.refresh_from_db()
    assert patient.mrn == mrn
    assert patient.phone == "(207) 555-0111"


def test_an_mrn_cannot_be_chosen_at_registration(api, admin_user):
    response = api(admin_user).post("/api/v1/patients/", {**NEW_PATIENT, "mrn": "K12345678"})

    assert response.status_code == 400
    assert not Patient.objects.filter(mrn="K12345678").exists()


def test_admin_edits_demographics_of_any_patient(api, admin_user, patient):
    response = api(admin_user).patch(
        f"/api/v1/patients/{patient.pk}/", {"address": "1 Congress St", "last_name": "Åström"}
    )

    assert response.status_code == 200
    assert response.json()["last_name"] == "Åström"


def test_care_team_nurse_edits_demographics_with_put(api, nurse, patient):
    body = api(nurse).get(f"/api/v1/patients/{patient.pk}/").json()
    body["phone"] = "(207) 555-0123"

    response = api(nurse).put(f"/api/v1/patients/{patient.pk}/", body)

    assert response.status_code == 200, response.json()
    assert response.json()["phone"] == "(207) 555-0123"


def test_nurse_off_care_team_cannot_edit(api, outside_nurse, patient):
    response = api(outside_nurse).patch(f"/api/v1/patients/{patient.pk}/", {"phone": "1"})

    assert response.status_code == 404


def test_status_follows_the_lifecycle(api, admin_user, patient):
    patient.status = Patient.Status.REFERRED
    patient.save()
    url = f"/api/v1/patients/{patient.pk}/"

    skipped = api(admin_user).patch(url, {"status": "maintenance"})
    evaluating = api(admin_user).patch(url, {"status": "evaluating"})
    active = api(admin_user).patch(url, {"status": "active"})
    backwards = api(admin_user).patch(url, {"status": "referred"})

    assert skipped.status_code == 400
    assert "status" in skipped.json()
    assert evaluating.status_code == 200
    assert active.status_code == 200
    assert backwards.status_code == 400


def test_search_by_name_in_any_script_or_mrn(api, admin_user, patient):
    other = PatientFactory(first_name="Юрий", last_name="Гагарин")

    by_name = api(admin_user).get("/api/v1/patients/", {"search": "ångström"})
    by_cyrillic = api(admin_user).get("/api/v1/patients/", {"search": "гагарин"})
    by_mrn = api(admin_user).get("/api/v1/patients/", {"search": other.mrn})
    by_full = api(admin_user).get("/api/v1/patients/", {"search": "Zoë Ångström"})

    assert _ids(by_name) == [patient.pk]
    assert _ids(by_cyrillic) == [other.pk]
    assert _ids(by_mrn) == [other.pk]
    assert _ids(by_full) == [patient.pk]


def test_referrer_sees_identification_only(api, referrer_user, patient):
    response = api(referrer_user).get(f"/api/v1/patients/{patient.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["mrn"] == patient.mrn
    for hidden in (
        "phone",
        "email",
        "address",
        "emergency_contact",
        "primary_diagnosis",
        "care_team",
        "responsible_prescriber",
    ):
        assert hidden not in body


def test_referrer_cannot_write_patients(api, referrer_user, patient):
    assert (
        api(referrer_user).patch(f"/api/v1/patients/{patient.pk}/", {"phone": "1"}).status_code
        == 403
    )
    assert api(referrer_user).post("/api/v1/patients/", NEW_PATIENT).status_code == 403


def test_another_referrers_patient_is_404(api, referrer_user, other_referrer):
    theirs = PatientFactory(referring_provider=other_referrer)

    assert api(referrer_user).get(f"/api/v1/patients/{theirs.pk}/").status_code == 404


def test_patient_reads_and_writes_are_audited_once(api, admin_user, patient):
    api(admin_user).patch(f"/api/v1/patients/{patient.pk}/", {"phone": "(207) 555-0144"})

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient) == ("update", "patient", patient)


def test_patient_list_queries_stay_constant_for_every_role(
    api, admin_user, referrer_user, referrer, nurse, django_assert_max_num_queries
):
    for user in (admin_user, nurse, referrer_user):
        PatientFactory.create_batch(2, care_team=[nurse], referring_provider=referrer)
        client = api(user)
        with django_assert_max_num_queries(12) as small:
            client.get("/api/v1/patients/")
        counted = any("COUNT(" in query["sql"].upper() for query in small.captured_queries)
        PatientFactory.create_batch(20, care_team=[nurse], referring_provider=referrer)
        # No query per patient; a list grown past its first page adds its COUNT.
        with django_assert_max_num_queries(len(small.captured_queries) + (not counted)):
            assert client.get("/api/v1/patients/").status_code == 200


def test_a_team_prescriber_cannot_make_themselves_responsible(
    api, prescriber, other_prescriber, patient
):
    api(prescriber).post(
        f"/api/v1/patients/{patient.pk}/care-team/", {"user": other_prescriber.pk, "action": "add"}
    )

    response = api(other_prescriber).patch(
        f"/api/v1/patients/{patient.pk}/", {"responsible_prescriber": other_prescriber.pk}
    )

    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.responsible_prescriber == prescriber


def test_admin_names_a_responsible_prescriber_who_joins_the_team(
    api, admin_user, other_prescriber, patient
):
    response = api(admin_user).patch(
        f"/api/v1/patients/{patient.pk}/", {"responsible_prescriber": other_prescriber.pk}
    )

    assert response.status_code == 200
    assert other_prescriber.pk in response.json()["care_team"]
    event = AuditEvent.objects.get()
    assert (event.action, event.patient) == ("permission_change", patient)


def test_a_responsible_prescriber_who_has_left_does_not_block_demographics(
    api, admin_user, prescriber, patient
):
    prescriber.is_active = False
    prescriber.save()

    response = api(admin_user).patch(f"/api/v1/patients/{patient.pk}/", {"phone": "555"})

    assert response.status_code == 200
