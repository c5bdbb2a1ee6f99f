"""Treatment summaries: request, live status, download, sign, release; the portal's downloads.

A summary is built by a Celery worker. Its row on the patient chart polls
``summary_status`` (a background request: it does not count as activity for
the idle logoff) until the summary is ready or failed, then stops polling.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from ehr.errors import ConflictingState, DomainError
from ehr.models import AuditAction
from ehr.roles import Capability, can
from frontend.audit import clinic_page
from frontend.errors import add_service_error
from frontend.patient_forms import DATE
from patients import selectors as patient_selectors
from reports import selectors, services
from reports.downloads import summary_pdf_response
from reports.models import TreatmentSummary


class SummaryRequestForm(forms.Form):
    period_start = forms.DateField(
        label="From", required=False, widget=DATE, help_text="Empty: the whole treatment."
    )
    period_end = forms.DateField(label="To", required=False, widget=DATE)
    comment = forms.CharField(
        label="Clinician comment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
        help_text="Printed in the summary for the referring provider.",
    )


def summaries_for_chart(request, patient, *, form=None) -> dict:
    """The chart's summaries section."""
    user = request.user
    return {
        "summaries_enabled": can(user, Capability.VIEW_SUMMARIES),
        "summaries": selectors.summary_list_for_patient(user=user, patient=patient),
        "summary_form": form or SummaryRequestForm(),
        "may_request_summary": can(user, Capability.REQUEST_SUMMARIES),
        "may_sign_summary": can(user, Capability.SIGN_RECORDS),
        "may_release_summary": can(user, Capability.RELEASE_SUMMARIES),
    }


def _chart_url(patient) -> str:
    return reverse("frontend:patient_chart", args=[patient.pk]) + "#summaries"


@clinic_page(Capability.REQUEST_SUMMARIES, methods=("POST",), object_type="patient")
def summary_request(request, patient_id):
    patient = patient_selectors.clinical_patient_get(user=request.user, pk=patient_id)
    request.audit.record(patient)
    form = SummaryRequestForm(request.POST)
    if form.is_valid():
        try:
            summary = services.summary_request(
                actor=request.user, patient=patient, **form.cleaned_data
            )
        except (DomainError, ValidationError) as exc:
            if isinstance(exc, DomainError) and exc.status_code == 403:
                messages.error(request, exc.message)
                return redirect(_chart_url(patient))
            add_service_error(form, exc)
        else:
            request.audit.record(summary, AuditAction.CREATE)
            messages.success(request, "Summary requested: it is being prepared.")
            return redirect(_chart_url(patient))
    from frontend.views.patients import chart_context

    context = chart_context(request, patient, True, summary_form=form)
    return render(request, "frontend/patients/chart.html", context, status=400)


@clinic_page(Capability.VIEW_SUMMARIES, object_type="treatmentsummary")
def summary_status(request, summary_id):
    """One summary's row: polled while it is queued or generating."""
    summary = selectors.summary_get_for_user(user=request.user, pk=summary_id)
    request.audit.record(summary)
    return render(
        request,
        "frontend/summaries/_row.html",
        {"summary": summary, **summaries_for_chart(request, summary.patient)},
    )


@clinic_page(
    (Capability.VIEW_SUMMARIES, Capability.VIEW_RELEASED_SUMMARIES),
    object_type="treatmentsummary",
)
def summary_pdf(request, summary_id):
    summary = selectors.summary_get_for_user(user=request.user, pk=summary_id)
    try:
        response = summary_pdf_response(summary=summary)
    except ConflictingState as exc:
        messages.error(request, exc.message)
        return redirect(_chart_url(summary.patient))
    request.audit.record(summary, AuditAction.DOWNLOAD)
    return response


def _summary_action(request, summary_id, perform, *, action: AuditAction, done: str):
    summary = selectors.summary_get_for_user(user=request.user, pk=summary_id)
    request.audit.record(summary)
    try:
        summary = perform(summary)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        request.audit.record(summary, action)
        messages.success(request, done)
    return redirect(_chart_url(summary.patient))


@clinic_page(Capability.SIGN_RECORDS, methods=("POST",), object_type="treatmentsummary")
def summary_sign(request, summary_id):
    return _summary_action(
        request,
        summary_id,
        lambda s: services.summary_sign(actor=request.user, summary=s),
        action=AuditAction.SIGN,
        done="Summary signed.",
    )


@clinic_page(Capability.RELEASE_SUMMARIES, methods=("POST",), object_type="treatmentsummary")
def summary_release(request, summary_id):
    return _summary_action(
        request,
        summary_id,
        lambda s: services.summary_release(actor=request.user, summary=s),
        action=AuditAction.RELEASE,
        done="Summary released to the referring provider; they have been notified by email.",
    )


@clinic_page(Capability.VIEW_RELEASED_SUMMARIES)
def portal(request):
    """A referring provider's patients (demographics only) with the summaries released to them."""
    user = request.user
    released: dict[int, list[TreatmentSummary]] = {}
    for summary in selectors.summary_list_for_user(user=user):
        released.setdefault(summary.patient_id, []).append(summary)
    patients = list(
        patient_selectors.patient_list_for_user(user=user).order_by("last_name", "first_name", "id")
    )
    request.audit.listing(TreatmentSummary)
    rows = [(p, released.get(p.pk, [])) for p in patients]
    return render(request, "frontend/portal/home.html", {"rows": rows})
