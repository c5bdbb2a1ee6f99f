"""Building the PDF: content, idempotency, failures, attempts and the sweep."""

import datetime
import hashlib

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from reports import services
from reports.tasks import generate_summary
from tests.reports.factories import queued_summary
from tests.reports.pdf import pdf_pages, stored_pdf

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def _build(summary):
    generate_summary(summary.pk)
    summary.refresh_from_db()
    return summary


def test_a_built_summary_is_ready_with_its_hash_and_page_count(patient, prescriber, course):
    summary = _build(queued_summary(patient, prescriber))

    data = stored_pdf(summary)
    assert summary.status == "ready"
    assert summary.error == ""
    assert summary.sha256 == hashlib.sha256(data).hexdigest()
    assert summary.page_count == len(pdf_pages(data)) >= 1
    assert summary.generated_at is not None
    assert summary.attempts == 1


def test_the_pdf_shows_identifiers_course_and_page_numbers(patient, prescriber, course):
    summary = _build(queued_summary(patient, prescriber, comment="Tolerated well."))

    text = "\n".join(pdf_pages(stored_pdf(summary)))
    assert "Zoë Ångström" in text
    assert patient.mrn in text
    assert "1986-04-12" in text
    assert "F41.1 Generalized anxiety disorder" in text
    assert "Dr. Amara Nwosu" in text
    assert "36.3" in text  # 72.5 kg × 0.50 mg/kg, as stored on the session
    assert "0.50" in text
    assert "Nausea (2)" in text
    assert "3 → 6" in text
    assert "147/90" in text  # the peak reading of session 6
    assert "Tolerated well." in text
    assert f"Page 1 of {summary.page_count}" in text
    assert str(summary.document_id) in text
    assert "Confidential" in text
    assert "DRAFT, not signed" in text


def test_a_task_run_twice_for_one_summary_yields_one_document(
    patient, prescriber, course, private_storage
):
    summary = _build(queued_summary(patient, prescriber))
    first = (summary.pdf.name, summary.sha256, summary.generated_at)

    generate_summary(summary.pk)
    summary.refresh_from_db()

    assert (summary.pdf.name, summary.sha256, summary.generated_at) == first
    assert summary.attempts == 1
    assert [p.name for p in private_storage.rglob("*.pdf")] == [summary.pdf.name.split("/")[-1]]


def test_a_redelivered_task_does_not_build_while_another_attempt_holds_the_lease(
    patient, prescriber, course
):
    summary = queued_summary(
        patient,
        prescriber,
        status="generating",
        attempts=1,
        generating_since=timezone.now(),
        generating_task_id="the-running-attempt",
    )

    assert services.summary_generate(summary_id=summary.pk, task_id="a-duplicate") is None

    summary.refresh_from_db()
    assert (summary.status, summary.attempts, summary.pdf.name) == ("generating", 1, "")


def test_a_redelivery_of_the_attempt_that_died_takes_over_at_once(patient, prescriber, course):
    # The worker running task "t-1" was killed: the broker hands "t-1" out again.
    summary = queued_summary(
        patient,
        prescriber,
        status="generating",
        attempts=1,
        generating_since=timezone.now(),
        generating_task_id="t-1",
    )

    services.summary_generate(summary_id=summary.pk, task_id="t-1")

    summary.refresh_from_db()
    assert (summary.status, summary.attempts) == ("ready", 2)


def test_no_sessions_in_the_chosen_period_fails_with_a_reason(patient, prescriber, course):
    summary = _build(
        queued_summary(
            patient,
            prescriber,
            period_start=datetime.date(2025, 6, 1),
            period_end=datetime.date(2025, 6, 30),
        )
    )

    assert summary.status == "failed"
    assert "No infusion sessions in the chosen period" in summary.error
    assert summary.pdf.name == ""


def test_a_patient_without_given_sessions_fails_with_a_reason(patient, prescriber):
    summary = _build(queued_summary(patient, prescriber))

    assert summary.status == "failed"
    assert summary.error.startswith("No infusion sessions for this patient yet")


def test_a_render_error_fails_the_summary_with_the_reason(patient, prescriber, course, monkeypatch):
    def broken(content, signature=None):
        raise ValueError("table too wide")

    monkeypatch.setattr(services, "render_summary", broken)

    summary = _build(queued_summary(patient, prescriber))

    assert summary.status == "failed"
    assert summary.error == "The PDF could not be built: ValueError: table too wide"


def test_a_requester_who_left_the_care_team_gets_a_failed_summary(patient, prescriber, course):
    from patients.services import care_team_revoke

    summary = queued_summary(patient, prescriber)
    care_team_revoke(patient=patient, user=prescriber)

    summary = _build(summary)

    assert summary.status == "failed"
    assert "can no longer read this patient's records" in summary.error


def test_a_summary_that_keeps_crashing_fails_after_the_attempt_limit(
    patient, prescriber, course, settings
):
    settings.SUMMARY_MAX_ATTEMPTS = 3
    # Three attempts already took the lease and died (e.g. the worker was killed each time).
    summary = queued_summary(
        patient,
        prescriber,
        status="generating",
        attempts=3,
        generating_since=timezone.now() - datetime.timedelta(hours=1),
        generating_task_id="t-9",
    )

    summary = _build(summary)

    assert summary.status == "failed"
    assert "could not be built after 3 attempts" in summary.error
    assert summary.attempts == 3


def test_one_attempt_below_the_limit_still_builds(patient, prescriber, course, settings):
    settings.SUMMARY_MAX_ATTEMPTS = 3
    summary = queued_summary(patient, prescriber, attempts=2)

    summary = _build(summary)

    assert (summary.status, summary.attempts) == ("ready", 3)


def test_a_storage_error_gives_the_lease_back_for_a_retry(patient, prescriber, course, monkeypatch):
    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    summary = queued_summary(patient, prescriber)
    monkeypatch.setattr(FileSystemStorage, "save", full_disk)

    with pytest.raises(services.TransientGenerationError):
        services.summary_generate(summary_id=summary.pk)

    summary.refresh_from_db()
    assert summary.status == "queued"
    assert summary.generating_since is None
    assert "No space left on device" in summary.error
    assert summary.attempts == 1


def test_the_task_retries_a_transient_error_and_then_builds(
    patient, prescriber, course, monkeypatch
):
    real_save = FileSystemStorage.save
    failures = iter([OSError("storage unavailable")])

    def flaky(storage, *args, **kwargs):
        error = next(failures, None)
        if error:
            raise error
        return real_save(storage, *args, **kwargs)

    monkeypatch.setattr(FileSystemStorage, "save", flaky)
    summary = queued_summary(patient, prescriber)

    generate_summary.apply(args=[summary.pk], throw=False)

    summary.refresh_from_db()
    assert (summary.status, summary.attempts) == ("ready", 2)


@pytest.fixture
def sent(monkeypatch):
    """The summary ids handed to the broker (the task's only argument)."""
    ids = []
    monkeypatch.setattr(generate_summary, "delay", lambda *args, **kwargs: ids.append(args))
    return ids


def test_the_sweep_requeues_a_summary_stuck_in_queued_but_not_a_fresh_one(
    patient, prescriber, settings, sent, django_capture_on_commit_callbacks
):
    settings.SUMMARY_QUEUED_GRACE_MINUTES = 5
    now = timezone.now()
    stuck = queued_summary(patient, prescriber, enqueued_at=now - datetime.timedelta(minutes=6))
    fresh = queued_summary(patient, prescriber, enqueued_at=now - datetime.timedelta(minutes=4))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.summaries_requeue_stuck(now=now) == 1

    assert sent == [(stuck.pk,)]
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert stuck.enqueued_at == now
    assert fresh.enqueued_at == now - datetime.timedelta(minutes=4)


def test_the_sweep_takes_back_an_expired_lease_but_not_a_live_one(
    patient, prescriber, settings, sent, django_capture_on_commit_callbacks
):
    settings.SUMMARY_LEASE_MINUTES = 10
    now = timezone.now()
    expired = queued_summary(
        patient,
        prescriber,
        status="generating",
        attempts=1,
        generating_since=now - datetime.timedelta(minutes=11),
        generating_task_id="t-dead",
    )
    live = queued_summary(
        patient,
        prescriber,
        status="generating",
        attempts=1,
        generating_since=now - datetime.timedelta(minutes=9),
        generating_task_id="t-live",
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.summaries_requeue_stuck(now=now) == 1

    assert sent == [(expired.pk,)]
    expired.refresh_from_db()
    live.refresh_from_db()
    assert (expired.status, expired.generating_task_id) == ("queued", "")
    assert (live.status, live.generating_task_id) == ("generating", "t-live")


def test_the_sweep_leaves_ready_and_failed_summaries_alone(
    patient, prescriber, sent, django_capture_on_commit_callbacks
):
    long_ago = timezone.now() - datetime.timedelta(days=1)
    queued_summary(patient, prescriber, status="ready", enqueued_at=long_ago)
    queued_summary(patient, prescriber, status="failed", enqueued_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.summaries_requeue_stuck() == 0

    assert sent == []


def test_the_beat_schedule_runs_the_sweep_every_minute(settings):
    from ehr.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["requeue-stuck-summaries"]
    assert entry["task"] == "reports.requeue_stuck_summaries"
    assert entry["schedule"] == 60.0
    assert entry["task"] in app.tasks


def test_generation_limits_stay_below_the_broker_visibility_timeout(settings):
    # Redis hands an unacknowledged task to another worker after this long.
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    assert generate_summary.acks_late is True
    assert generate_summary.reject_on_worker_lost is True
    assert generate_summary.soft_time_limit < generate_summary.time_limit < visibility
    assert generate_summary.time_limit < settings.SUMMARY_LEASE_MINUTES * 60 < visibility


def test_the_task_gives_up_with_a_reason_when_retries_run_out(
    patient, prescriber, course, monkeypatch
):
    def down(*args, **kwargs):
        raise OSError("storage unavailable")

    monkeypatch.setattr(FileSystemStorage, "save", down)
    summary = queued_summary(patient, prescriber)

    # The last retry the task allows.
    generate_summary.apply(args=[summary.pk], retries=generate_summary.max_retries, throw=False)

    summary.refresh_from_db()
    assert summary.status == "failed"
    assert summary.error.startswith("The PDF could not be generated after several tries")
    assert "storage unavailable" in summary.error
