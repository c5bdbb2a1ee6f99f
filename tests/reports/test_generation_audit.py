"""Building a summary reads the patient's whole record: the read is in the audit trail."""

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from ehr.models import AuditEvent
from reports import services
from reports.tasks import generate_summary
from tests.reports.factories import queued_summary

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_storage")]


def _reads(summary):
    return list(
        AuditEvent.objects.filter(
            action="view",
            object_type="treatmentsummary",
            object_id=str(summary.pk),
            detail__startswith="records read",
        )
    )


def test_a_build_records_one_read_by_the_requesting_prescriber(patient, prescriber, course):
    summary = queued_summary(patient, prescriber)

    generate_summary(summary.pk)

    [event] = _reads(summary)
    assert event.user == prescriber
    assert event.patient == patient
    assert event.detail.startswith("records read to build the treatment summary")


def test_a_duplicate_task_for_a_ready_summary_records_nothing(patient, prescriber, course):
    summary = queued_summary(patient, prescriber)
    generate_summary(summary.pk)

    generate_summary(summary.pk)

    assert len(_reads(summary)) == 1


def test_a_redelivered_task_during_a_live_lease_records_nothing(patient, prescriber, course):
    summary = queued_summary(
        patient,
        prescriber,
        status="generating",
        attempts=1,
        generating_since=timezone.now(),
        generating_task_id="the-running-attempt",
    )

    services.summary_generate(summary_id=summary.pk, task_id="a-duplicate")

    assert _reads(summary) == []


def test_a_requester_who_left_the_care_team_reads_nothing_and_records_nothing(
    patient, prescriber, course
):
    from patients.services import care_team_revoke

    summary = queued_summary(patient, prescriber)
    care_team_revoke(patient=patient, user=prescriber)

    generate_summary(summary.pk)

    assert _reads(summary) == []


def test_a_patient_without_given_sessions_records_nothing(patient, prescriber):
    summary = queued_summary(patient, prescriber)

    generate_summary(summary.pk)

    assert _reads(summary) == []


def test_a_render_error_after_the_records_were_read_still_records_the_read(
    patient, prescriber, course, monkeypatch
):
    def broken(*args, **kwargs):
        raise ValueError("bad table")

    monkeypatch.setattr(services, "render_summary", broken)
    summary = queued_summary(patient, prescriber)

    generate_summary(summary.pk)

    summary.refresh_from_db()
    assert summary.status == "failed"
    assert len(_reads(summary)) == 1


def test_each_attempt_that_read_the_records_is_recorded(patient, prescriber, course, monkeypatch):
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
    assert summary.status == "ready"
    assert [e.detail for e in reversed(_reads(summary))] == [
        "records read to build the treatment summary (attempt 1)",
        "records read to build the treatment summary (attempt 2)",
    ]
