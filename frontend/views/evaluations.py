"""The pre-treatment evaluation: form with live eligibility feedback, sign, amendments."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from ehr.errors import DomainError
from ehr.models import AuditAction
from ehr.roles import Capability, can
from frontend.audit import clinic_page
from frontend.errors import add_service_error, is_conflict
from frontend.forms import AmendmentForm
from frontend.patient_forms import EvaluationForm
from patients import selectors, services
from patients.contraindications import CONTRAINDICATIONS
from patients.eligibility import bmi, eligibility_errors


def _form_context(request, *, patient, form, evaluation=None) -> dict:
    return {
        "patient": patient,
        "form": form,
        "evaluation": evaluation,
        "eligibility_messages": _live_eligibility(form),
        "may_sign": can(request.user, Capability.SIGN_RECORDS),
    }


def _live_eligibility(form) -> dict:
    """The eligibility rules' verdict on what the form holds now."""
    data = form.data if form.is_bound else form.initial
    answers = form.contraindication_answers(data)
    return eligibility_errors(
        contraindications=answers,
        eligibility=data.get("eligibility") or "",
        precautions=data.get("precautions") or "",
    )


@clinic_page(Capability.CHART, methods=("GET", "HEAD", "POST"), object_type="patient")
def evaluation_create(request, patient_id):
    patient = selectors.clinical_patient_get(user=request.user, pk=patient_id)
    request.audit.record(patient)
    form = EvaluationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = services.evaluation_create(
                actor=request.user, patient=patient, **form.service_fields()
            )
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(evaluation, AuditAction.CREATE)
            messages.success(request, "Evaluation saved.")
            return redirect("frontend:evaluation_detail", evaluation.pk)
    return render(
        request,
        "frontend/evaluations/form.html",
        _form_context(request, patient=patient, form=form),
        status=400 if form.errors else 200,
    )


@clinic_page(
    Capability.VIEW_CLINICAL_RECORDS, methods=("GET", "HEAD", "POST"), object_type="evaluation"
)
def evaluation_detail(request, evaluation_id):
    """An unsigned evaluation is an editable form; a signed one is read-only with amendments."""
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    patient = evaluation.patient
    request.audit.record(evaluation)
    editable = not evaluation.is_signed and can(request.user, Capability.CHART)
    if request.method == "POST":
        if not editable:
            return _locked_response(request, evaluation)
        form = EvaluationForm(request.POST)
        if form.is_valid():
            try:
                services.evaluation_update(
                    actor=request.user, evaluation=evaluation, **form.service_fields()
                )
            except (DomainError, ValidationError) as exc:
                if is_conflict(exc):
                    messages.error(request, exc.message)
                    return redirect("frontend:evaluation_detail", evaluation.pk)
                add_service_error(form, exc)
            else:
                messages.success(request, "Evaluation saved.")
                return redirect("frontend:evaluation_detail", evaluation.pk)
    else:
        form = EvaluationForm(initial=EvaluationForm.initial_from(evaluation))
    context = _form_context(request, patient=patient, form=form, evaluation=evaluation)
    context.update(_record_context(request, evaluation, editable=editable))
    template = "frontend/evaluations/form.html" if editable else "frontend/evaluations/detail.html"
    return render(request, template, context, status=400 if form.errors else 200)


def _record_context(request, evaluation, *, editable: bool, amendment_form=None) -> dict:
    contraindications = evaluation.contraindications or {}
    return {
        "editable": editable,
        "bmi": bmi(weight_kg=evaluation.weight_kg, height_cm=evaluation.height_cm),
        "screen": [(item, bool(contraindications.get(item.key))) for item in CONTRAINDICATIONS],
        "amendments": selectors.evaluation_amendment_list(evaluation=evaluation),
        "amendment_form": amendment_form or AmendmentForm(),
        "may_amend": evaluation.is_signed and can(request.user, Capability.CHART),
    }


def _locked_response(request, evaluation):
    messages.error(
        request,
        "This evaluation is signed and locked. Add an amendment to correct it.",
    )
    return redirect("frontend:evaluation_detail", evaluation.pk)


@clinic_page(Capability.SIGN_RECORDS, methods=("POST",), object_type="evaluation")
def evaluation_sign(request, evaluation_id):
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    request.audit.record(evaluation)
    try:
        services.evaluation_sign(actor=request.user, evaluation=evaluation)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        request.audit.record(evaluation, AuditAction.SIGN)
        messages.success(
            request, "Evaluation signed. It is now locked; corrections are amendments."
        )
    return redirect("frontend:evaluation_detail", evaluation.pk)


@clinic_page(Capability.CHART, methods=("POST",), object_type="evaluation")
def evaluation_amend(request, evaluation_id):
    evaluation = selectors.evaluation_get(user=request.user, pk=evaluation_id)
    request.audit.record(evaluation)
    form = AmendmentForm(request.POST)
    if form.is_valid():
        try:
            amendment = services.evaluation_amend(
                actor=request.user, evaluation=evaluation, text=form.cleaned_data["text"]
            )
        except DomainError as exc:
            if is_conflict(exc):
                messages.error(request, exc.message)
                return redirect("frontend:evaluation_detail", evaluation.pk)
            add_service_error(form, exc)
        else:
            request.audit.record(amendment, AuditAction.AMEND)
            messages.success(request, "Amendment added.")
            return redirect(
                reverse("frontend:evaluation_detail", args=[evaluation.pk]) + "#amendments"
            )
    form_initial = EvaluationForm(initial=EvaluationForm.initial_from(evaluation))
    context = _form_context(request, patient=evaluation.patient, form=form_initial)
    context["evaluation"] = evaluation
    context.update(_record_context(request, evaluation, editable=False, amendment_form=form))
    return render(request, "frontend/evaluations/detail.html", context, status=400)


@clinic_page(Capability.CHART, methods=("POST",))
def eligibility_check(request):
    """Live feedback while the clinician types: the eligibility rules on the form's values.

    Reads no record (it only judges the posted answers), so it records no audit event.
    """
    form = EvaluationForm(request.POST)
    return render(
        request,
        "frontend/evaluations/_eligibility.html",
        {"eligibility_messages": _live_eligibility(form), "form": form},
    )
