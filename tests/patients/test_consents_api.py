"""Informed consent for ketamine treatment."""

import datetime

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from patients.models import Consent
from tests.factories import PatientFactory
from tests.patients.factories import ConsentFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/consents/"


def consent(patient, **changes):
    body = {
        "patient": patient.pk,
        "form_version": "KET-CONSENT v3 (2024)",
        "signed_on": timezone.localdate().isoformat(),
        "witness": "Mei Tan, RN",
    }
    body.update(changes)
    return body


def test_a_clinician_records_a_consent(api, nurse, patient):
    response = api(nurse).post(URL, consent(patient))

    assert response.status_code == 201, response.json()
    assert response.json()["recorded_by"] == nurse.pk
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient) == ("create", "consent", patient)


def test_a_consent_cannot_be_signed_tomorrow(api, nurse, patient):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = api(nurse).post(URL, consent(patient, signed_on=tomorrow.isoformat()))

    assert response.status_code == 400
    assert "signed_on" in response.json()


@pytest.mark.parametrize("field", ["form_version", "witness", "signed_on"])
def test_every_consent_field_is_required(api, nurse, patient, field):
    body = consent(patient)
    del body[field]

    response = api(nurse).post(URL, body)

    assert response.status_code == 400
    assert field in response.json()


def test_consents_are_never_edited(api, nurse, patient):
    recorded = ConsentFactory(patient=patient)

    assert api(nurse).patch(f"{URL}{recorded.pk}/", {"witness": "x"}).status_code == 405
    assert api(nurse).delete(f"{URL}{recorded.pk}/").status_code == 405


def test_consent_visibility_by_role(api, nurse, outside_nurse, admin_user, referrer_user, patient):
    recorded = ConsentFactory(patient=patient)

    assert api(nurse).get(f"{URL}{recorded.pk}/").status_code == 200
    assert api(outside_nurse).get(f"{URL}{recorded.pk}/").status_code == 404
    assert api(admin_user).get(URL).status_code == 403
    assert api(referrer_user).get(URL).status_code == 403
    assert api(outside_nurse).post(URL, consent(patient)).status_code == 400
    assert Consent.objects.count() == 1


def test_filter_by_patient(api, nurse, patient):
    other = PatientFactory(care_team=[nurse])
    mine = ConsentFactory(patient=patient)
    ConsentFactory(patient=other, recorded_by=nurse)

    response = api(nurse).get(URL, {"patient": patient.pk})

    assert [c["id"] for c in response.json()["results"]] == [mine.pk]


def test_consent_list_queries_stay_constant(api, nurse, patient, django_assert_max_num_queries):
    ConsentFactory.create_batch(2, patient=patient)
    client = api(nurse)
    with django_assert_max_num_queries(10) as small:
        client.get(URL)
    ConsentFactory.create_batch(20, patient=patient)

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).json()["count"] == 22
