"""Treatment summaries on the chart (request, live status, sign, release) and in the portal."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ehr.models import AuditEvent
from reports import services as report_services
from reports.models import TreatmentSummary
from tests.reports.factories import given_course, signed_evaluation

pytestmark = pytest.mark.django_db


@pytest.fixture
def private_storage(settings, tmp_path):
    root = tmp_path / "private"
    root.mkdir()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"].get("OPTIONS", {}), "location": str(root)},
        },
    }
    return root


@pytest.fixture
def treated_patient(patient, prescriber, nurse):
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=2)
    return patient


@pytest.fixture
def ready_summary(treated_patient, prescriber, private_storage):
    summary = report_services.summary_request(
        actor=prescriber, patient=treated_patient, enqueue=False
    )
    report_services.summary_generate(summary_id=summary.pk)
    summary.refresh_from_db()
    assert summary.status == TreatmentSummary.Status.READY
    return summary


def chart(client, patient):
    return client.get(reverse("frontend:patient_chart", args=[patient.pk])).content.decode()


def test_a_prescriber_requests_a_summary_and_sees_it_queued_with_live_status(
    client_for, prescriber, treated_patient, django_capture_on_commit_callbacks
):
    client = client_for(prescriber)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("frontend:summary_request", args=[treated_patient.pk]),
            {"comment": "Responding well.", "period_start": "", "period_end": ""},
        )

    assert response.status_code == 302
    summary = TreatmentSummary.objects.get()
    assert (summary.status, summary.comment) == ("queued", "Responding well.")
    assert len(callbacks) == 1  # the generation task is sent after the commit
    page = chart(client, treated_patient)
    row = page[page.index(f'id="summary-{summary.pk}"') :][:600]
    assert 'hx-trigger="every 2s"' in row
    assert '"X-Background-Refresh": "1"' in row
    assert 'data-summary-status="queued"' in page


def test_a_period_ending_before_it_starts_is_refused_next_to_the_end(
    client_for, prescriber, treated_patient
):
    response = client_for(prescriber).post(
        reverse("frontend:summary_request", args=[treated_patient.pk]),
        {"period_start": "2026-02-01", "period_end": "2026-01-01"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "before it starts" in body[body.index('id="field-period_end"') :][:1500]
    assert not TreatmentSummary.objects.exists()


def test_a_nurse_cannot_request_a_summary(client_for, nurse, treated_patient):
    page = chart(client_for(nurse), treated_patient)
    response = client_for(nurse).post(
        reverse("frontend:summary_request", args=[treated_patient.pk]), {}
    )

    assert "Request a treatment summary" not in page
    assert response.status_code == 403


def test_the_status_row_stops_polling_once_ready(client_for, prescriber, ready_summary):
    response = client_for(prescriber).get(
        reverse("frontend:summary_status", args=[ready_summary.pk]),
        headers={"HX-Request": "true", "X-Background-Refresh": "1"},
    )

    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="summary-{ready_summary.pk}"')
    assert 'data-summary-status="ready"' in body
    assert "hx-trigger" not in body
    assert "Download PDF" in body


def test_status_polls_are_recorded_when_the_status_changes(
    client_for, prescriber, treated_patient, private_storage
):
    summary = report_services.summary_request(
        actor=prescriber, patient=treated_patient, enqueue=False
    )
    client = client_for(prescriber)
    url = reverse("frontend:summary_status", args=[summary.pk])
    poll = {"HX-Request": "true", "X-Background-Refresh": "1"}

    for _ in range(3):
        assert 'data-summary-status="queued"' in client.get(url, headers=poll).content.decode()
    report_services.summary_generate(summary_id=summary.pk)
    ready = client.get(url, headers=poll).content.decode()
    again = client.get(url, headers=poll).content.decode()

    assert 'data-summary-status="ready"' in ready
    # The sign form's CSRF token is masked afresh on each render: not a change of content.
    assert "csrfmiddlewaretoken" in ready
    assert ready != again
    reads = AuditEvent.objects.filter(path=url, action="view", object_id=str(summary.pk))
    assert reads.count() == 2  # queued once, then ready
    assert {event.patient for event in reads} == {treated_patient}


def test_sign_then_release_then_the_referrer_downloads_it_from_the_portal(
    client_for, prescriber, referrer_user, ready_summary, django_capture_on_commit_callbacks
):
    client = client_for(prescriber)
    client.post(reverse("frontend:summary_sign", args=[ready_summary.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("frontend:summary_release", args=[ready_summary.pk]))

    ready_summary.refresh_from_db()
    assert ready_summary.is_signed and ready_summary.is_released
    assert len(mail.outbox) == 1
    portal = client_for(referrer_user)
    page = portal.get(reverse("frontend:portal")).content.decode()
    pdf_url = reverse("frontend:summary_pdf", args=[ready_summary.pk])
    assert pdf_url in page
    download = portal.get(pdf_url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF-")
    event = AuditEvent.objects.filter(action="download").get()
    assert (event.user, event.patient) == (referrer_user, ready_summary.patient)


def test_staff_download_has_the_api_file_name_and_is_never_cached(client_for, nurse, ready_summary):
    response = client_for(nurse).get(reverse("frontend:summary_pdf", args=[ready_summary.pk]))

    assert response.status_code == 200
    day = timezone.localdate(ready_summary.generated_at)
    mrn = ready_summary.patient.mrn
    assert response["Content-Disposition"] == (
        f'attachment; filename="treatment-summary-{mrn}-{day:%Y-%m-%d}.pdf"'
    )
    assert response["Cache-Control"] == "no-store, private"
    event = AuditEvent.objects.get(action="download")
    assert (event.user, event.object_id) == (nurse, str(ready_summary.pk))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("queued", "The PDF is not ready: the summary is queued."),
        ("missing", "The PDF file is missing from storage; request a new summary."),
    ],
)
def test_a_pdf_that_cannot_be_served_sends_back_to_the_chart_with_the_reason(
    client_for, prescriber, ready_summary, spoil, message
):
    if spoil == "queued":
        TreatmentSummary.objects.filter(pk=ready_summary.pk).update(status="queued")
    else:
        ready_summary.pdf.storage.delete(ready_summary.pdf.name)
    client = client_for(prescriber)

    response = client.get(reverse("frontend:summary_pdf", args=[ready_summary.pk]))

    assert response.status_code == 302
    assert response["Location"].endswith(
        reverse("frontend:patient_chart", args=[ready_summary.patient.pk]) + "#summaries"
    )
    assert message in chart(client, ready_summary.patient)
    assert not AuditEvent.objects.filter(action="download").exists()


def test_the_referrer_sees_nothing_before_release(client_for, referrer_user, ready_summary):
    portal = client_for(referrer_user)

    page = portal.get(reverse("frontend:portal")).content.decode()
    download = portal.get(reverse("frontend:summary_pdf", args=[ready_summary.pk]))

    assert ready_summary.patient.mrn in page  # their patient's demographics
    assert "None released yet" in page
    assert download.status_code == 404


def test_another_referrer_sees_neither_the_patient_nor_the_summary(
    client_for, prescriber, other_referrer_user, other_referrer, ready_summary
):
    client = client_for(prescriber)
    client.post(reverse("frontend:summary_sign", args=[ready_summary.pk]))
    client.post(reverse("frontend:summary_release", args=[ready_summary.pk]))
    portal = client_for(other_referrer_user)

    page = portal.get(reverse("frontend:portal")).content.decode()
    download = portal.get(reverse("frontend:summary_pdf", args=[ready_summary.pk]))

    assert ready_summary.patient.mrn not in page
    assert download.status_code == 404


def test_releasing_an_unsigned_summary_is_refused_with_a_message(
    client_for, prescriber, ready_summary
):
    response = client_for(prescriber).post(
        reverse("frontend:summary_release", args=[ready_summary.pk]), follow=True
    )

    assert "Sign the summary before releasing it." in response.content.decode()
    ready_summary.refresh_from_db()
    assert not ready_summary.is_released


def test_a_failed_summary_shows_its_reason(client_for, prescriber, treated_patient):
    summary = report_services.summary_request(
        actor=prescriber, patient=treated_patient, enqueue=False
    )
    TreatmentSummary.objects.filter(pk=summary.pk).update(
        status="failed", error="<b>Fonts missing</b> on the worker"
    )

    page = chart(client_for(prescriber), treated_patient)

    assert 'data-summary-status="failed"' in page
    assert "&lt;b&gt;Fonts missing&lt;/b&gt; on the worker" in page
