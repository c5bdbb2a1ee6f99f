"""The summaries API: request (202), lifecycle, roles, download, sign, audit."""

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from reports.models import TreatmentSummary
from reports.tasks import generate_summary
from tests.factories import PatientFactory
from tests.reports.factories import queued_summary
from tests.reports.pdf import pdf_pages

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]

URL = "/api/v1/summaries/"


@pytest.fixture
def sent(monkeypatch):
    """What was handed to the broker: the positional arguments of each task sent."""
    calls = []
    monkeypatch.setattr(
        generate_summary, "delay", lambda *args, **kwargs: calls.append((args, kwargs))
    )
    return calls


@pytest.fixture
def ready_summary(patient, prescriber, course):
    summary = queued_summary(patient, prescriber, comment="Good response.")
    generate_summary(summary.pk)
    summary.refresh_from_db()
    assert summary.status == "ready", summary.error
    return summary


def test_prescriber_request_answers_202_at_once_with_id_and_status(
    api, prescriber, patient, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api(prescriber).post(
            URL,
            {
                "patient": patient.pk,
                "period_start": "2026-01-01",
                "period_end": "2026-03-31",
                "comment": "Please see the course.",
            },
        )

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "queued"
    summary = TreatmentSummary.objects.get(pk=body["id"])
    assert (summary.patient, summary.requested_by, summary.comment) == (
        patient,
        prescriber,
        "Please see the course.",
    )
    # Nothing is sent before the request's transaction commits.
    assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    # The task gets the summary's id and nothing else.
    assert sent == [((summary.pk,), {})]


def test_a_request_that_fails_validation_sends_no_task(
    api, prescriber, patient, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api(prescriber).post(
            URL, {"patient": patient.pk, "period_start": "2026-03-01", "period_end": "2026-02-01"}
        )

    assert response.status_code == 400
    assert "period_end" in response.json()
    assert sent == []
    assert not TreatmentSummary.objects.exists()


def test_the_period_may_be_one_day(api, prescriber, patient, sent):
    response = api(prescriber).post(
        URL, {"patient": patient.pk, "period_start": "2026-03-01", "period_end": "2026-03-01"}
    )

    assert response.status_code == 202


def test_nurse_on_the_care_team_may_not_request_a_summary(api, nurse, patient, sent):
    response = api(nurse).post(URL, {"patient": patient.pk})

    assert response.status_code == 403
    assert not TreatmentSummary.objects.exists()


def test_prescriber_off_the_care_team_gets_404(api, other_prescriber, patient, sent):
    response = api(other_prescriber).post(URL, {"patient": patient.pk})

    assert response.status_code == 404
    assert not TreatmentSummary.objects.exists()


def test_prescriber_with_break_the_glass_access_may_not_request(
    api, other_prescriber, patient, sent
):
    from patients.services import break_glass_open

    break_glass_open(actor=other_prescriber, patient=patient, reason="Covering tonight")

    response = api(other_prescriber).post(URL, {"patient": patient.pk})

    assert response.status_code == 403
    assert "care team" in response.json()["detail"]


@pytest.mark.parametrize("who", ["admin_user", "referrer_user"])
def test_admin_and_referrer_may_not_request(api, who, patient, request, sent):
    response = api(request.getfixturevalue(who)).post(URL, {"patient": patient.pk})

    assert response.status_code == 403


def test_admin_may_not_read_summaries(api, admin_user, ready_summary):
    assert api(admin_user).get(URL).status_code == 403
    assert api(admin_user).get(f"{URL}{ready_summary.pk}/").status_code == 403
    assert api(admin_user).get(f"{URL}{ready_summary.pk}/pdf/").status_code == 403


def test_detail_shows_progress_fields(api, nurse, ready_summary):
    response = api(nurse).get(f"{URL}{ready_summary.pk}/")

    assert response.status_code == 200
    body = response.json()
    for field in (
        "id",
        "patient",
        "period_start",
        "period_end",
        "comment",
        "document_id",
        "status",
        "error",
        "sha256",
        "page_count",
        "created_at",
        "generated_at",
        "signed_at",
        "released_at",
    ):
        assert field in body, field
    assert body["status"] == "ready"
    assert body["sha256"] == ready_summary.sha256
    assert body["page_count"] == ready_summary.page_count
    assert body["pdf_url"] == f"{URL}{ready_summary.pk}/pdf/"
    assert body["status_display"] == "Ready: review and sign"


def test_a_failed_summary_shows_its_reason(api, prescriber, patient):
    summary = queued_summary(patient, prescriber)
    generate_summary(summary.pk)  # no sessions at all

    body = api(prescriber).get(f"{URL}{summary.pk}/").json()

    assert body["status"] == "failed"
    assert body["error"].startswith("No infusion sessions")
    assert body["pdf_url"] is None


def test_clinicians_list_only_their_care_teams_summaries(
    api, nurse, outside_nurse, prescriber, patient
):
    mine = queued_summary(patient, prescriber)
    elsewhere = PatientFactory(care_team=[])
    queued_summary(elsewhere, prescriber)

    ids = [row["id"] for row in api(nurse).get(URL).json()["results"]]

    assert ids == [mine.pk]
    assert api(outside_nurse).get(URL).json()["results"] == []
    assert api(outside_nurse).get(f"{URL}{mine.pk}/").status_code == 404


def test_the_list_filters_by_patient_and_status(api, prescriber, patient):
    queued_summary(patient, prescriber, status="failed")
    queued = queued_summary(patient, prescriber)

    by_status = api(prescriber).get(URL, {"status": "queued"}).json()
    by_patient = api(prescriber).get(URL, {"patient": patient.pk + 1000}).json()

    assert [row["id"] for row in by_status["results"]] == [queued.pk]
    assert by_patient["results"] == []


def test_the_list_costs_the_same_queries_for_more_summaries(
    api, prescriber, patient, django_assert_max_num_queries
):
    queued_summary(patient, prescriber)
    client = api(prescriber)
    client.get(URL)  # warm the token and content-type caches
    with django_assert_max_num_queries(12) as few:
        client.get(URL)
    for _ in range(15):
        queued_summary(patient, prescriber, status="failed")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL)
    assert response.json()["count"] == 16


def test_download_serves_the_pdf_to_the_care_team(api, nurse, patient, ready_summary):
    response = api(nurse).get(f"{URL}{ready_summary.pk}/pdf/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    day = timezone.localdate(ready_summary.generated_at)
    assert response["Content-Disposition"] == (
        f'attachment; filename="treatment-summary-{patient.mrn}-{day:%Y-%m-%d}.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    data = b"".join(response.streaming_content)
    assert data.startswith(b"%PDF")
    assert "Good response." in "\n".join(pdf_pages(data))


def test_download_before_the_pdf_is_ready_is_409(api, prescriber, patient):
    summary = queued_summary(patient, prescriber)

    response = api(prescriber).get(f"{URL}{summary.pk}/pdf/")

    assert response.status_code == 409
    assert "not ready" in response.json()["detail"]


def test_download_of_a_pdf_missing_from_storage_is_409_and_not_audited(api, nurse, ready_summary):
    ready_summary.pdf.storage.delete(ready_summary.pdf.name)

    response = api(nurse).get(f"{URL}{ready_summary.pk}/pdf/")

    assert response.status_code == 409
    assert "missing from storage" in response.json()["detail"]
    assert not AuditEvent.objects.filter(action="download").exists()


def test_download_for_someone_off_the_care_team_is_404(api, outside_nurse, ready_summary):
    assert api(outside_nurse).get(f"{URL}{ready_summary.pk}/pdf/").status_code == 404


def test_prescriber_signs_a_ready_summary_once(api, prescriber, ready_summary):
    first = api(prescriber).post(f"{URL}{ready_summary.pk}/sign/")
    again = api(prescriber).post(f"{URL}{ready_summary.pk}/sign/")

    assert first.status_code == 200, first.json()
    assert first.json()["signed_at"] is not None
    assert first.json()["signed_by"] == prescriber.pk
    assert again.status_code == 409
    assert "locked" in again.json()["detail"]


def test_a_summary_that_is_not_ready_cannot_be_signed(api, prescriber, patient):
    summary = queued_summary(patient, prescriber)

    response = api(prescriber).post(f"{URL}{summary.pk}/sign/")

    assert response.status_code == 409
    summary.refresh_from_db()
    assert summary.signed_at is None


def test_nurse_may_not_sign_or_release(api, nurse, ready_summary):
    assert api(nurse).post(f"{URL}{ready_summary.pk}/sign/").status_code == 403
    assert api(nurse).post(f"{URL}{ready_summary.pk}/release/").status_code == 403


def test_request_download_sign_and_release_are_audited(
    api, prescriber, patient, ready_summary, sent, django_capture_on_commit_callbacks
):
    client = api(prescriber)
    created = client.post(URL, {"patient": patient.pk}).json()["id"]
    client.get(f"{URL}{ready_summary.pk}/pdf/")
    client.post(f"{URL}{ready_summary.pk}/sign/")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"{URL}{ready_summary.pk}/release/")

    events = list(
        AuditEvent.objects.order_by("id").values_list(
            "action", "object_type", "object_id", "patient"
        )
    )
    assert events == [
        # Building the ready summary read the record as its requester.
        ("view", "treatmentsummary", str(ready_summary.pk), patient.pk),
        ("create", "treatmentsummary", str(created), patient.pk),
        ("download", "treatmentsummary", str(ready_summary.pk), patient.pk),
        ("sign", "treatmentsummary", str(ready_summary.pk), patient.pk),
        ("release", "treatmentsummary", str(ready_summary.pk), patient.pk),
    ]


def test_every_download_is_audited(api, nurse, ready_summary):
    for _ in range(2):
        api(nurse).get(f"{URL}{ready_summary.pk}/pdf/")

    assert AuditEvent.objects.filter(action="download", user=nurse).count() == 2


def test_the_schema_documents_the_summary_endpoints(api, prescriber):
    schema = api(prescriber).get("/api/schema/", {"format": "json"}).json()

    paths = schema["paths"]
    assert "202" in paths["/api/v1/summaries/"]["post"]["responses"]
    assert (
        "application/pdf"
        in paths["/api/v1/summaries/{id}/pdf/"]["get"]["responses"]["200"]["content"]
    )
    assert "409" in paths["/api/v1/summaries/{id}/release/"]["post"]["responses"]


def test_an_unreachable_broker_leaves_the_request_queued_for_the_sweep(
    api, prescriber, patient, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("Error 111 connecting to redis:6379")

    monkeypatch.setattr(generate_summary, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        response = api(prescriber).post(URL, {"patient": patient.pk})

    assert response.status_code == 202
    assert TreatmentSummary.objects.get().status == "queued"
