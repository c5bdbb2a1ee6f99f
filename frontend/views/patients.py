"""Patient search and list, the patient chart, and the actions taken from it.

Clinicians see the chart of the patients on their care team (or opened by
break-the-glass); the practice manager sees demographics and the care team,
never clinical records; a referring provider has the portal instead.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from ehr import selectors as account_selectors
from ehr.errors import DomainError
from ehr.models import AuditAction
from ehr.roles import Capability, can
from frontend import charts
from frontend.audit import clinic_page, error_page
from frontend.errors import add_service_error, is_conflict
from frontend.forms import BreakGlassForm
from frontend.patient_forms import (
    AcknowledgeAlertForm,
    AssessmentForm,
    CareTeamForm,
    ConsentForm,
    PatientForm,
)
from frontend.views.summaries import summaries_for_chart
from patients import selectors, services
from patients.diagnoses import diagnosis_label
from patients.filters import PatientFilter
from patients.models import Patient
from patients.scales import Instrument
from sessions import selectors as session_selectors

STAFF_PATIENT_PAGES = (Capability.VIEW_CLINICAL_RECORDS, Capability.VIEW_ALL_DEMOGRAPHICS)
PAGE_SIZE = 50


@clinic_page(STAFF_PATIENT_PAGES)
def patient_list(request):
    query = request.GET.get("q", "").strip()
    patients = selectors.patient_list_for_user(user=request.user).select_related(
        "referring_provider", "responsible_prescriber"
    )
    if query:
        patients = PatientFilter({"search": query}, queryset=patients).qs
    page = Paginator(patients.order_by("last_name", "first_name", "id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    request.audit.listing(Patient)
    context = {
        "page": page,
        "q": query,
        "query": urlencode({"q": query}) if query else "",
        "can_register": can(request.user, Capability.REGISTER_PATIENTS),
    }
    template = "frontend/patients/list.html"
    if request.htmx and request.htmx.target == "patient-results":
        template = "frontend/patients/_results.html"
    return render(request, template, context)


@clinic_page(Capability.REGISTER_PATIENTS, methods=("GET", "HEAD", "POST"))
def patient_register(request):
    form = PatientForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_create(actor=request.user, **form.service_fields())
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(patient, AuditAction.CREATE)
            messages.success(request, f"{patient.full_name} registered with MRN {patient.mrn}.")
            return redirect("frontend:patient_chart", patient.pk)
    return render(
        request,
        "frontend/patients/form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@clinic_page(Capability.EDIT_DEMOGRAPHICS, methods=("GET", "HEAD", "POST"), object_type="patient")
def patient_edit(request, patient_id):
    patient = selectors.patient_get_for_user(user=request.user, pk=patient_id)
    request.audit.record(patient)
    form = PatientForm(
        request.POST if request.method == "POST" else None,
        user=request.user,
        include_status=True,
        initial=PatientForm.initial_from(patient),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.patient_update(actor=request.user, patient=patient, **form.service_fields())
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Demographics saved.")
            return redirect("frontend:patient_chart", patient.pk)
    return render(
        request,
        "frontend/patients/form.html",
        {"form": form, "patient": patient},
        status=400 if form.errors else 200,
    )


def _patient_for_chart(request, patient_id) -> tuple[Patient, bool]:
    """The patient and whether the user may see the clinical record (else demographics only)."""
    if can(request.user, Capability.VIEW_CLINICAL_RECORDS):
        return selectors.clinical_patient_get(user=request.user, pk=patient_id), True
    return selectors.patient_get_for_user(user=request.user, pk=patient_id), False


@clinic_page(STAFF_PATIENT_PAGES, object_type="patient", break_glass=True)
def patient_chart(request, patient_id):
    patient, clinical = _patient_for_chart(request, patient_id)
    request.audit.record(patient)
    return render(
        request, "frontend/patients/chart.html", chart_context(request, patient, clinical)
    )


def chart_context(request, patient: Patient, clinical: bool, **forms) -> dict:
    user = request.user
    team_ids = selectors.care_team_ids(patient)
    team = account_selectors.clinician_list(active_only=False).filter(pk__in=team_ids)
    context = {
        "patient": patient,
        "clinical": clinical,
        "diagnosis": f"{patient.primary_diagnosis} {diagnosis_label(patient.primary_diagnosis)}",
        "care_team": team,
        "may_manage_team": services.may_manage_care_team(actor=user, patient=patient),
        "may_edit_demographics": can(user, Capability.EDIT_DEMOGRAPHICS),
    }
    if context["may_manage_team"]:
        context["care_team_form"] = forms.get("care_team_form") or CareTeamForm(
            candidates=account_selectors.clinician_list().exclude(pk__in=team_ids)
        )
    if not clinical:
        return context
    if user.pk not in team_ids:
        # Off the care team: the record is open by break-the-glass; say so, and until when.
        context["emergency_access"] = selectors.live_break_glass_grant(user=user, patient=patient)
    assessments = list(
        selectors.assessment_list_for_user(user=user)
        .filter(patient=patient)
        .order_by("administered_at", "id")
    )
    context.update(
        {
            "alerts": [
                (alert, forms.get("acknowledge_forms", {}).get(alert.pk) or _ack_form(alert))
                for alert in selectors.active_safety_alerts(patient=patient)
            ],
            "acknowledged_alerts": selectors.safety_alert_list(patient=patient, active=False)[:5],
            "may_acknowledge": can(user, Capability.ACKNOWLEDGE_SAFETY_ALERTS),
            "may_chart": can(user, Capability.CHART),
            "may_order": can(user, Capability.ORDER_TREATMENT),
            "evaluations": selectors.evaluation_list_for_user(user=user).filter(patient=patient),
            "consents": selectors.consent_list_for_user(user=user).filter(patient=patient),
            "courses": session_selectors.course_list_for_user(user=user)
            .filter(patient=patient)
            .prefetch_related("sessions"),
            "sessions": session_selectors.session_list_for_user(user=user)
            .filter(course__patient=patient)
            .order_by("-scheduled_for", "-id"),
            "assessments": list(reversed(assessments))[:20],
            "scale_charts": charts.scale_charts(
                assessments, baselines=selectors.baseline_scores(patient=patient)
            ),
            "consent_form": forms.get("consent_form") or ConsentForm(),
        }
    )
    context.update(_summaries_context(request, patient, forms.get("summary_form")))
    return context


def _ack_form(alert, data=None) -> AcknowledgeAlertForm:
    # One form per alert on the page: ids must not collide.
    return AcknowledgeAlertForm(data, auto_id=f"id_alert{alert.pk}_%s")


def _summaries_context(request, patient, form=None) -> dict:
    return summaries_for_chart(request, patient, form=form)


@clinic_page(Capability.BREAK_THE_GLASS, methods=("POST",), object_type="patient")
def break_glass(request, patient_id):
    """A clinician off the care team opens the record for a limited time, with a reason."""
    patient = selectors.patient_for_break_glass(user=request.user, pk=patient_id)
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            grant = services.break_glass_open(
                actor=request.user, patient=patient, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            if is_conflict(exc):
                messages.info(request, exc.message)
                return redirect("frontend:patient_chart", patient.pk)
            add_service_error(form, exc)
        else:
            request.audit.record(grant, AuditAction.BREAK_GLASS, detail=grant.reason)
            messages.warning(
                request,
                f"Emergency access opened until {timezone.localtime(grant.expires_at):%H:%M}. "
                "It is recorded and reviewed.",
            )
            return redirect("frontend:patient_chart", patient.pk)
    # The page only names the id the user typed in: it is the same 404 page they saw.
    return error_page(
        request,
        404,
        context={
            "break_glass_patient_id": patient_id,
            "break_glass_reason": request.POST.get("reason", ""),
            "break_glass_error": " ".join(form.errors.get("reason", [])),
        },
    )


@clinic_page(Capability.MANAGE_CARE_TEAMS, methods=("POST",), object_type="patient")
def care_team_change(request, patient_id):
    patient = selectors.patient_get_for_user(user=request.user, pk=patient_id)
    if not services.may_manage_care_team(actor=request.user, patient=patient):
        raise Http404
    form = CareTeamForm(
        request.POST, candidates=account_selectors.clinician_list(active_only=False)
    )
    if form.is_valid():
        member = form.cleaned_data["user"]
        action = form.cleaned_data["action"]
        try:
            changed = services.care_team_change(
                actor=request.user, patient=patient, user=member, action=action
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if changed:
                verb = "added to" if action == services.CARE_TEAM_ADD else "removed from"
                request.audit.record(
                    patient,
                    AuditAction.PERMISSION_CHANGE,
                    detail=f"{member.username} {verb} the care team",
                )
                messages.success(request, f"{member} {verb} the care team.")
    else:
        messages.error(request, "Choose a clinician.")
    return redirect(reverse("frontend:patient_chart", args=[patient.pk]) + "#care-team")


@clinic_page(Capability.ACKNOWLEDGE_SAFETY_ALERTS, methods=("POST",), object_type="patient")
def alert_acknowledge(request, patient_id, alert_id):
    patient = selectors.clinical_patient_get(user=request.user, pk=patient_id)
    alert = selectors.safety_alert_get(patient=patient, pk=alert_id)
    form = _ack_form(alert, request.POST)
    request.audit.record(alert)
    if form.is_valid():
        try:
            services.safety_alert_acknowledge(
                actor=request.user, alert=alert, note=form.cleaned_data["note"]
            )
        except DomainError as exc:
            if is_conflict(exc):
                messages.error(request, exc.message)
                return redirect("frontend:patient_chart", patient.pk)
            add_service_error(form, exc)
        else:
            request.audit.record(alert, AuditAction.UPDATE, detail="acknowledged")
            messages.success(request, "Safety alert acknowledged.")
            return redirect("frontend:patient_chart", patient.pk)
    context = chart_context(request, patient, True, acknowledge_forms={alert.pk: form})
    return render(request, "frontend/patients/chart.html", context, status=400)


@clinic_page(Capability.CHART, methods=("POST",), object_type="patient")
def consent_add(request, patient_id):
    patient = selectors.clinical_patient_get(user=request.user, pk=patient_id)
    form = ConsentForm(request.POST)
    request.audit.record(patient)
    if form.is_valid():
        try:
            consent = services.consent_create(
                actor=request.user, patient=patient, **form.cleaned_data
            )
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(consent, AuditAction.CREATE)
            messages.success(request, "Consent recorded.")
            return redirect(reverse("frontend:patient_chart", args=[patient.pk]) + "#consents")
    context = chart_context(request, patient, True, consent_form=form)
    return render(request, "frontend/patients/chart.html", context, status=400)


@clinic_page(Capability.CHART, methods=("GET", "HEAD", "POST"), object_type="patient")
def assessment_add(request, patient_id):
    """Record a rating scale: every item answered; total and band are computed, never typed.

    ``?evaluation=<id>`` attaches it to an evaluation (a baseline), ``?session=<id>`` to an
    infusion session (e.g. the CADSS after the infusion); both must be the patient's.
    """
    patient = selectors.clinical_patient_get(user=request.user, pk=patient_id)
    params = request.POST if request.method == "POST" else request.GET
    instrument = params.get("instrument") or "GAD7"
    links = {}
    if params.get("evaluation"):
        links["evaluation"] = selectors.evaluation_get(user=request.user, pk=params["evaluation"])
    elif params.get("session"):
        links["session"] = session_selectors.session_get_for_user(
            user=request.user, pk=params["session"]
        )
    form = AssessmentForm(request.POST if request.method == "POST" else None, instrument=instrument)
    request.audit.record(patient)
    if request.method == "POST" and form.is_valid():
        try:
            assessment = services.assessment_create(
                actor=request.user, patient=patient, **form.service_fields(), **links
            )
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(assessment, AuditAction.CREATE)
            band = f" ({assessment.severity})" if assessment.severity else ""
            messages.success(
                request, f"{form.instrument_label} recorded: total {assessment.total}{band}."
            )
            if "session" in links:
                return redirect("frontend:session_chart", links["session"].pk)
            if "evaluation" in links:
                return redirect("frontend:evaluation_detail", links["evaluation"].pk)
            return redirect(reverse("frontend:patient_chart", args=[patient.pk]) + "#scales")
    return render(
        request,
        "frontend/patients/assessment_form.html",
        {"patient": patient, "form": form, "instruments": Instrument.choices, **links},
        status=400 if form.errors else 200,
    )
