"""End to end through the broker: a real Celery worker process builds the PDF."""

import time

import pytest

from ehr.models import AuditEvent
from patients.models import Patient
from reports.models import TreatmentSummary
from tests.reports.factories import given_course, signed_evaluation
from tests.reports.pdf import pdf_pages

pytestmark = pytest.mark.worker

URL = "/api/v1/summaries/"
HOSTILE_NOTE = "<font color=red>x</font> & <para>"
WAIT_SECONDS = 60


def _poll_until_settled(client, summary_id) -> dict:
    """Poll the API as the web page does, until the summary is ready or failed."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        body = client.get(f"{URL}{summary_id}/").json()
        if body["status"] in ("ready", "failed"):
            return body
        time.sleep(0.1)
    raise AssertionError(f"The summary did not settle: {body}")


def test_request_is_built_by_the_worker_and_downloaded(
    celery_worker_process, api, prescriber, nurse, patient
):
    Patient.objects.filter(pk=patient.pk).update(first_name="Ζωή", last_name="Иванова")
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=3)
    client = api(prescriber)

    response = client.post(URL, {"patient": patient.pk, "comment": HOSTILE_NOTE})

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    body = _poll_until_settled(client, response.json()["id"])
    assert body["status"] == "ready", (body["error"], celery_worker_process.log())
    assert body["attempts"] == 1
    assert len(body["sha256"]) == 64

    download = client.get(body["pdf_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    text = "\n".join(pdf_pages(b"".join(download.streaming_content)))
    assert "Ζωή Иванова" in text
    assert "36.3" in text
    assert HOSTILE_NOTE in text
    assert f"Page 1 of {body['page_count']}" in text
    # The worker stored it where the web process reads it, under the document id.
    stored = list(celery_worker_process.storage_root.rglob("*.pdf"))
    assert [p.name for p in stored] == [f"treatment-summary-{body['document_id']}.pdf"]
    # The worker's read of the record is in the audit trail, once, as the requester's.
    reads = AuditEvent.objects.filter(
        action="view",
        object_type="treatmentsummary",
        object_id=str(body["id"]),
        detail__startswith="records read",
    )
    assert list(reads.values_list("user", "patient")) == [(prescriber.pk, patient.pk)]


@pytest.mark.parametrize(
    ("first_name", "last_name"), [("李", "小龙"), ("محمد", "عبدالله")], ids=["cjk", "arabic"]
)
def test_the_worker_prints_cjk_and_arabic_names(
    celery_worker_process, api, prescriber, nurse, patient, first_name, last_name
):
    Patient.objects.filter(pk=patient.pk).update(first_name=first_name, last_name=last_name)
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=1)
    client = api(prescriber)

    summary_id = client.post(URL, {"patient": patient.pk}).json()["id"]
    body = _poll_until_settled(client, summary_id)

    assert body["status"] == "ready", (body["error"], celery_worker_process.log())
    text = "\n".join(pdf_pages(b"".join(client.get(body["pdf_url"]).streaming_content)))
    assert first_name in text
    assert last_name in text


def test_the_worker_fails_a_summary_without_sessions_with_its_reason(
    celery_worker_process, api, prescriber, patient
):
    client = api(prescriber)

    summary_id = client.post(URL, {"patient": patient.pk}).json()["id"]
    body = _poll_until_settled(client, summary_id)

    assert body["status"] == "failed"
    assert body["error"].startswith("No infusion sessions")
    assert TreatmentSummary.objects.get(pk=summary_id).pdf.name == ""
