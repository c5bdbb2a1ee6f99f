"""Filters by a related id: an id the user may not see reads like one that does not exist."""

import pytest

from tests.factories import PatientFactory
from tests.patients.factories import AssessmentFactory, ConsentFactory, EvaluationFactory

pytestmark = pytest.mark.django_db

NO_SUCH_ID = 999_999


@pytest.fixture
def other_patient(prescriber):
    """A patient whose care team the nurse is not on, with records of each kind."""
    other = PatientFactory()
    EvaluationFactory(patient=other, evaluator=prescriber)
    ConsentFactory(patient=other, recorded_by=prescriber)
    return other


@pytest.mark.parametrize("resource", ["evaluations", "consents", "assessments"])
def test_nurse_filtering_by_a_patient_off_her_team_gets_the_same_empty_list_as_for_no_patient(
    api, nurse, other_patient, resource
):
    client = api(nurse)

    hidden = client.get(f"/api/v1/{resource}/", {"patient": other_patient.pk})
    missing = client.get(f"/api/v1/{resource}/", {"patient": NO_SUCH_ID})

    assert (hidden.status_code, missing.status_code) == (200, 200)
    assert (
        hidden.json()
        == missing.json()
        == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }
    )


def test_nurse_filtering_by_her_own_patient_finds_the_records(api, nurse, patient, prescriber):
    EvaluationFactory(patient=patient, evaluator=prescriber)

    response = api(nurse).get("/api/v1/evaluations/", {"patient": patient.pk})

    assert [row["patient"] for row in response.json()["results"]] == [patient.pk]


@pytest.mark.parametrize("value", ["abc", "1.5", "0.0", "12.0", " 7", "1e2", "+3", "٣"])
def test_an_id_filter_that_is_not_a_whole_number_is_400(api, nurse, value):
    response = api(nurse).get("/api/v1/evaluations/", {"patient": value})

    assert response.status_code == 400
    assert "patient" in response.json()


def test_patient_filters_by_a_provider_or_prescriber_that_does_not_exist_find_nobody(
    api, admin_user, patient
):
    client = api(admin_user)

    for name in ("referring_provider", "responsible_prescriber"):
        response = client.get("/api/v1/patients/", {name: NO_SUCH_ID})
        assert response.status_code == 200, name
        assert response.json()["count"] == 0, name


def test_audit_log_filtered_by_an_unknown_user_or_patient_is_empty_not_400(api, admin_user):
    client = api(admin_user)
    client.get("/api/v1/patients/")  # leaves one event

    for name in ("user", "patient"):
        response = client.get("/api/v1/audit-events/", {name: NO_SUCH_ID})
        assert response.status_code == 200, name
        assert response.json()["count"] == 0, name


@pytest.mark.parametrize("offset", ["-16:26", "+23:59", "+14:00"])
def test_a_time_filter_with_any_offset_is_read_as_the_moment_it_names(api, nurse, patient, offset):
    # PostgreSQL refuses offsets past ±15:59; the filter sends the moment in UTC.
    client = api(nurse)

    before = client.get(
        "/api/v1/assessments/", {"administered_after": f"0880-05-09T22:34:01{offset}"}
    )
    after = client.get(
        "/api/v1/assessments/", {"administered_before": f"0880-05-09T22:34:01{offset}"}
    )

    assert (before.status_code, after.status_code) == (200, 200)


def test_a_time_filter_compares_moments_across_offsets(api, nurse, patient):
    AssessmentFactory(patient=patient, administered_at="2026-03-01T12:00:00Z")
    client = api(nurse)

    # 2026-03-01T12:00Z is 2026-03-02T03:30+15:30 and 2026-02-28T20:00-16:00.
    just_after = client.get(
        "/api/v1/assessments/", {"administered_after": "2026-03-02T03:31+15:30"}
    )
    just_before = client.get(
        "/api/v1/assessments/", {"administered_after": "2026-02-28T19:59-16:00"}
    )

    assert just_after.json()["count"] == 0
    assert just_before.json()["count"] == 1


def test_a_time_filter_that_leaves_the_calendar_in_utc_is_400(api, nurse):
    response = api(nurse).get(
        "/api/v1/assessments/", {"administered_after": "0001-01-01T00:00+05:00"}
    )

    assert response.status_code == 400
    assert "administered_after" in response.json()


def test_the_audit_log_since_filter_takes_an_offset_past_the_database_s_range(api, admin_user):
    response = api(admin_user).get("/api/v1/audit-events/", {"since": "2026-01-01T00:00:00-16:26"})

    assert response.status_code == 200
