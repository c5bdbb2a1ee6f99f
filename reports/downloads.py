"""Serving a treatment summary's PDF: the one way out for the API and the web pages alike.

The caller reached the summary through ``reports.selectors`` (which answers 404
for what the user may not see) and records the download in the audit trail
once it has the response.
"""

from __future__ import annotations

from django.http import FileResponse
from django.utils import timezone

from ehr.errors import ConflictingState
from reports.models import TreatmentSummary


def download_filename(summary: TreatmentSummary) -> str:
    """``treatment-summary-<MRN>-<day generated>.pdf`` (the day in the clinic's time zone)."""
    day = timezone.localdate(summary.generated_at or summary.created_at)
    return f"treatment-summary-{summary.patient.mrn}-{day:%Y-%m-%d}.pdf"


def summary_pdf_response(*, summary: TreatmentSummary) -> FileResponse:
    """The summary's PDF as an attachment that no browser or proxy keeps a copy of.

    Raises ``ConflictingState`` (409) while the PDF is not ready (queued,
    generating, failed) or when its file is missing from storage.
    """
    if not summary.is_ready:
        raise ConflictingState(f"The PDF is not ready: the summary is {summary.status}.")
    try:
        handle = summary.pdf.open("rb")
    except FileNotFoundError:
        raise ConflictingState(
            "The PDF file is missing from storage; request a new summary."
        ) from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=download_filename(summary),
        content_type="application/pdf",
    )
    # Health information: never cached by the browser or anything in between.
    response["Cache-Control"] = "no-store, private"
    return response
