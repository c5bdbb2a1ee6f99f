"""Celery tasks of the treatment summaries. They take ids only and return nothing.

``generate_summary`` acknowledges late and is rejected back to the queue if
its worker dies (also set globally in settings), so a job is not lost; the
lease and attempt counter in ``reports.services.summary_generate`` make a
redelivered or retried job safe.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from reports import services

#: Retry delays grow 10 s, 20 s, 40 s, ... up to 5 minutes.
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 300


def retry_delay(retries: int) -> int:
    return min(RETRY_BASE_SECONDS * 2**retries, RETRY_MAX_SECONDS)


@shared_task(
    bind=True,
    name="reports.generate_summary",
    acks_late=True,
    reject_on_worker_lost=True,
    # Both well below the broker's visibility timeout (settings).
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    max_retries=5,
    ignore_result=True,
)
def generate_summary(self, summary_id: int) -> None:
    """Build the PDF of one summary (idempotent)."""
    try:
        services.summary_generate(summary_id=summary_id, task_id=self.request.id or "")
    except (services.TransientGenerationError, *services.TRANSIENT_ERRORS) as exc:
        if self.request.retries >= self.max_retries:
            services.summary_give_up(
                summary_id=summary_id,
                reason=f"The PDF could not be generated after several tries (temporary problem: "
                f"{exc}). Request a new summary, and tell the practice manager if it fails again.",
            )
            return
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task(name="reports.requeue_stuck_summaries", ignore_result=True)
def requeue_stuck_summaries() -> None:
    """Periodic sweep (Celery beat): re-enqueue summaries that stopped moving."""
    services.summaries_requeue_stuck()
