"""Every read of the patients app's records leaves exactly one audit event."""

import pytest

from ehr.models import AuditEvent
from tests.patients.factories import (
    AssessmentFactory,
    ConsentFactory,
    EvaluationFactory,
    SafetyAlertFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def records(patient, prescriber):
    return {
        "evaluation": EvaluationFactory(patient=patient, signed_by=prescriber),
        "assessment": AssessmentFactory(patient=patient),
        "consent": ConsentFactory(patient=patient),
        "safetyalert": SafetyAlertFactory(patient=patient),
    }


def _url(kind, obj):
    if kind == "safetyalert":
        return f"/api/v1/patients/{obj.patient_id}/alerts/{obj.pk}/"
    return f"/api/v1/{kind}s/{obj.pk}/"


@pytest.mark.parametrize("kind", ["evaluation", "assessment", "consent", "safetyalert"])
def test_reading_a_record_leaves_one_view_event_naming_the_patient(
    api, nurse, patient, records, kind
):
    record = records[kind]

    response = api(nurse).get(_url(kind, record))

    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_type, event.object_id, event.patient) == (
        nurse,
        "view",
        kind,
        str(record.pk),
        patient,
    )


@pytest.mark.parametrize("kind", ["evaluation", "assessment", "consent", "safetyalert"])
def test_an_outsiders_attempt_leaves_one_denied_event_without_the_patient(
    api, outside_nurse, records, kind
):
    response = api(outside_nurse).get(_url(kind, records[kind]))

    assert response.status_code == 404
    event = AuditEvent.objects.get()
    assert (event.action, event.status_code, event.patient) == ("denied", 404, None)


@pytest.mark.parametrize(
    "url", ["/api/v1/evaluations/", "/api/v1/assessments/", "/api/v1/consents/"]
)
def test_a_list_leaves_one_list_event(api, nurse, records, url):
    api(nurse).get(url)

    event = AuditEvent.objects.get()
    assert event.action == "list"


def test_reading_amendments_leaves_one_event(api, nurse, patient, records):
    api(nurse).get(f"/api/v1/evaluations/{records['evaluation'].pk}/amendments/")

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient) == ("view", "evaluation", patient)


def test_admin_refused_on_clinical_records_leaves_one_denied_event(api, admin_user, records):
    response = api(admin_user).get(_url("evaluation", records["evaluation"]))

    assert response.status_code == 403
    assert AuditEvent.objects.get().action == "denied"
