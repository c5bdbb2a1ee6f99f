"""Between tasks a real worker treats its database connection as Django does between requests.

By default (``CONN_MAX_AGE`` 0) no connection outlives a task. With ``CONN_MAX_AGE``
the worker keeps it, as the compose file's worker does: Celery's own Django support
would close it around every task whatever the setting says.
"""

import time

import pytest
from django.db import connection

from reports.models import TreatmentSummary
from reports.services import summary_request
from tests.reports.factories import given_course, signed_evaluation

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="reads PostgreSQL's list of connections"
    ),
]

WAIT_SECONDS = 60
KEPT = {"CONN_MAX_AGE": "60", "CONN_HEALTH_CHECKS": "true"}


def _other_connections() -> list[tuple]:
    """(pid, started) of every connection to the test database but the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sorted(cursor.fetchall())


def _built(patient, prescriber) -> None:
    summary = summary_request(actor=prescriber, patient=patient)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        summary.refresh_from_db()
        if summary.status in (TreatmentSummary.Status.READY, TreatmentSummary.Status.FAILED):
            break
        time.sleep(0.05)
    assert summary.status == TreatmentSummary.Status.READY, summary.error


def _settled(expected_count: int) -> list[tuple]:
    """The other connections once the worker has finished with its task."""
    deadline = time.monotonic() + 10
    while len(found := _other_connections()) != expected_count and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


@pytest.fixture
def course(prescriber, nurse, patient):
    signed_evaluation(patient, prescriber)
    given_course(patient, prescriber, nurse, sessions=2)


@pytest.mark.parametrize("worker_env", [KEPT])
def test_with_conn_max_age_the_worker_builds_summaries_on_one_connection(
    celery_worker_process, course, prescriber, patient
):
    _built(patient, prescriber)
    after_first = _settled(1)
    _built(patient, prescriber)
    after_second = _settled(1)

    assert len(after_first) == 1, celery_worker_process.log()
    assert after_second == after_first


def test_by_default_no_connection_of_the_worker_outlives_its_task(
    celery_worker_process, course, prescriber, patient
):
    _built(patient, prescriber)

    assert _settled(0) == [], celery_worker_process.log()
