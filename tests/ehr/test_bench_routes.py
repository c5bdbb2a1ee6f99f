"""The benchmark's bare baselines are routed only by the benchmark's own URLs."""

import datetime

import pytest
from django.urls import Resolver404, resolve


@pytest.mark.parametrize(
    "path",
    [
        "/bench/bare/",
        "/bench/bare/vitals/1/",
        "/bench/bare/patients/",
        "/bench/bare/sessions/1/vitals/",
        "/bench/bare/summaries/",
    ],
)
def test_bench_baselines_are_not_routed_in_production(path):
    with pytest.raises(Resolver404):
        resolve(path, urlconf="ehr.urls")


def test_bench_urls_serve_the_application_and_the_baselines():
    assert resolve("/bench/bare/", urlconf="bench.urls").url_name == "bench-bare"
    assert resolve("/api/v1/patients/", urlconf="bench.urls").url_name == "patient-list"


@pytest.mark.django_db
@pytest.mark.urls("bench.urls")
def test_same_rows_baselines_answer_what_the_api_answers(
    api, prescriber, nurse, referrer_user, referrer, patient
):
    """Each read's baseline returns the rows the application's endpoint returns (for a
    user who reaches every patient), with the model columns the API shows, and
    authenticates like the API."""
    from tests.factories import PatientFactory
    from tests.reports.factories import released_summary
    from tests.sessions.factories import (
        InfusionSessionFactory,
        TreatmentCourseFactory,
        VitalSignFactory,
    )

    for number in range(3):
        PatientFactory(
            last_name=f"Other{number}", responsible_prescriber=prescriber, care_team=[prescriber]
        )
    session = InfusionSessionFactory(course=TreatmentCourseFactory(patient=patient), nurse=nurse)
    for _ in range(3):
        VitalSignFactory(session=session, recorded_by=nurse)
    for number in range(2):
        start = datetime.date(2026, 1, 1 + number)
        released_summary(patient, prescriber, referrer, period_start=start)

    pairs = [
        (prescriber, "/api/v1/patients/", "/bench/bare/patients/"),
        (prescriber, f"/api/v1/patients/{patient.pk}/", f"/bench/bare/patients/{patient.pk}/"),
        (nurse, f"/api/v1/sessions/{session.pk}/", f"/bench/bare/sessions/{session.pk}/"),
        (
            nurse,
            f"/api/v1/sessions/{session.pk}/vitals/",
            f"/bench/bare/sessions/{session.pk}/vitals/",
        ),
        (referrer_user, "/api/v1/summaries/", "/bench/bare/summaries/"),
    ]
    for user, app_path, bare_path in pairs:
        app, bare = api(user).get(app_path), api(user).get(bare_path)
        assert app.status_code == bare.status_code == 200, bare_path
        assert api().get(bare_path).status_code == 401
        app_body, bare_body = app.json(), bare.json()
        if "results" in app_body:
            assert app_body["count"] == bare_body["count"] > 1, bare_path
            app_rows, bare_rows = app_body["results"], bare_body["results"]
        else:
            app_rows, bare_rows = [app_body], [bare_body]
        assert [row["id"] for row in bare_rows] == [row["id"] for row in app_rows], bare_path
        for app_row, bare_row in zip(app_rows, bare_rows, strict=True):
            assert set(bare_row) <= set(app_row), bare_path
            assert {key: app_row[key] for key in bare_row} == bare_row, bare_path
