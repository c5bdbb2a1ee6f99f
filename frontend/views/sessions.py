"""Treatment courses, today's infusion board and the infusion charting screen.

The charting screen is one page of sections (dose, pre-infusion checks,
infusion, vitals, side effects, mood notes, discharge, signature). Every
entry posts with htmx and the server answers with the whole chart body
re-rendered from the database, so what the nurse sees after saving is what
was stored (and survives a reload); errors come back next to their field
(400) and conflicts as a banner (409). Without htmx the same URLs answer
with a redirect (or the full page with the errors).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from ehr import selectors as account_selectors
from ehr.errors import DomainError, NotAllowed
from ehr.models import AuditAction
from ehr.roles import Capability, can
from frontend.audit import clinic_page
from frontend.errors import add_service_error, is_conflict
from frontend.forms import AmendmentForm
from frontend.patient_forms import prescribers
from frontend.session_forms import (
    ChecksForm,
    CourseForm,
    DischargeForm,
    DoseForm,
    MoodNoteForm,
    NotesForm,
    OverrideForm,
    ReasonForm,
    SessionScheduleForm,
    SideEffectForm,
    VerifyDoseForm,
    VitalsForm,
    now_if_empty,
)
from patients import selectors as patient_selectors
from sessions import monitoring, selectors, services
from sessions.models import InfusionSession, SideEffect

# --- Treatment courses -------------------------------------------------------------------


@clinic_page(Capability.ORDER_TREATMENT, methods=("GET", "HEAD", "POST"), object_type="patient")
def course_order(request, patient_id):
    patient = patient_selectors.clinical_patient_get(user=request.user, pk=patient_id)
    request.audit.record(patient)
    form = CourseForm(
        request.POST if request.method == "POST" else None,
        initial={"start_date": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            course = services.course_order(actor=request.user, patient=patient, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(course, AuditAction.CREATE)
            messages.success(request, f"{course} ordered.")
            return redirect(reverse("frontend:patient_chart", args=[patient.pk]) + "#sessions")
    return render(
        request,
        "frontend/sessions/course_form.html",
        {
            "patient": patient,
            "form": form,
            "readiness": services.treatment_readiness_errors(patient=patient),
        },
        status=400 if form.errors else 200,
    )


@clinic_page(Capability.CHART, methods=("GET", "HEAD", "POST"), object_type="treatmentcourse")
def session_schedule(request, course_id):
    """Schedule the next session, pre-filled from the previous one for the clinician to confirm."""
    course = selectors.course_get_for_user(user=request.user, pk=course_id)
    patient = course.patient
    request.audit.record(course)
    proposal = services.next_session_proposal(course=course)
    team = account_selectors.clinician_list().filter(
        pk__in=patient_selectors.care_team_ids(patient)
    )
    team_prescribers = [p.pk for p in prescribers() if p.pk in {u.pk for u in team}]
    form = SessionScheduleForm(
        request.POST if request.method == "POST" else None,
        nurses=team,
        prescribers=team.filter(pk__in=team_prescribers),
        initial={
            "scheduled_for": timezone.localtime().replace(minute=0, second=0, microsecond=0),
            "weight_kg": proposal["weight_kg"],
            "dose_mg_per_kg": proposal["dose_mg_per_kg"],
            "infusion_minutes": proposal["infusion_minutes"],
            "concentration_mg_per_ml": proposal["concentration_mg_per_ml"],
            "bag_volume_ml": proposal["bag_volume_ml"],
            "nurse": request.user.pk if can(request.user, Capability.CHART) else None,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            session = services.session_create(
                actor=request.user, course=course, **form.service_fields()
            )
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(session, AuditAction.CREATE)
            messages.success(request, f"Session {session.number} scheduled.")
            return redirect("frontend:session_chart", session.pk)
    return render(
        request,
        "frontend/sessions/schedule_form.html",
        {"course": course, "patient": patient, "form": form, "proposal": proposal},
        status=400 if form.errors else 200,
    )


# --- Today's infusion board --------------------------------------------------------------------


@dataclass
class BoardRow:
    session: InfusionSession
    alerts: list[str]
    safety_alert: bool


def _board_rows(request) -> list[BoardRow]:
    sessions = list(selectors.sessions_for_day(user=request.user, day=timezone.localdate()))
    protocol = monitoring.current_protocol()
    patient_ids = {s.course.patient_id for s in sessions}
    with_alerts = set(
        patient_selectors.clinical_patient_list_for_user(user=request.user)
        .filter(
            pk__in=patient_ids,
            safety_alerts__isnull=False,
            safety_alerts__acknowledged_at__isnull=True,
        )
        .values_list("pk", flat=True)
    )
    return [
        BoardRow(
            session=s,
            alerts=monitoring.session_active_alerts(session=s, protocol=protocol),
            safety_alert=s.course.patient_id in with_alerts,
        )
        for s in sessions
    ]


@clinic_page(Capability.VIEW_CLINICAL_RECORDS)
def board(request):
    request.audit.listing(InfusionSession)
    context = {"rows": _board_rows(request), "today": timezone.localdate(), "now": timezone.now()}
    template = "frontend/sessions/board.html"
    if request.htmx:
        template = "frontend/sessions/_board_rows.html"
    return render(request, template, context)


# --- The charting screen -------------------------------------------------------------------------


_FORMS = {
    "dose": DoseForm,
    "verify": VerifyDoseForm,
    "override": OverrideForm,
    "checks": ChecksForm,
    "goahead": ReasonForm,
    "stop": ReasonForm,
    "vitals": VitalsForm,
    "sideeffect": SideEffectForm,
    "mood": MoodNoteForm,
    "discharge": DischargeForm,
    "notes": NotesForm,
    "amend": AmendmentForm,
}


def _initial(session: InfusionSession, name: str) -> dict:
    if name in ("dose", "verify"):
        return {
            "weight_kg": session.weight_kg,
            "dose_mg_per_kg": session.dose_mg_per_kg,
            "infusion_minutes": session.infusion_minutes,
            "concentration_mg_per_ml": session.concentration_mg_per_ml,
            "bag_volume_ml": session.bag_volume_ml,
            "total_dose_mg": session.total_dose_mg,
        }
    if name == "override":
        return {"dose_mg_per_kg": session.dose_mg_per_kg}
    if name == "checks":
        return {f: getattr(session, f) for f in services.PRE_INFUSION_FIELDS}
    if name == "discharge":
        return {f: getattr(session, f) for f in services.DISCHARGE_FIELDS}
    if name == "notes":
        return {"notes": session.notes}
    if name == "mood":
        phase = {"scheduled": "pre", "in_progress": "during"}.get(session.status, "post")
        return {"phase": phase, "mood": 5, "anxiety": 5}
    if name == "sideeffect":
        return {"effect": SideEffect.Effect.DISSOCIATION}
    return {}


def _form(name: str, session, data=None):
    return _FORMS[name](data, prefix=name, initial=_initial(session, name))


def chart_context(request, session: InfusionSession, *, bound: dict | None = None, **extra):
    """Everything the charting screen shows, read fresh from the database."""
    user = request.user
    session = selectors.session_chart(user=user, pk=session.pk)
    patient = session.course.patient
    protocol = monitoring.current_protocol()
    timing = monitoring.timing_protocol(session=session, current=protocol)
    now = timezone.now()
    bound = bound or {}
    forms = {name: bound.get(name) or _form(name, session) for name in _FORMS}
    status = InfusionSession.Status
    scheduled = session.status == status.SCHEDULED
    ended = session.status in (status.COMPLETED, status.STOPPED_EARLY)
    held = monitoring.pre_infusion_hold(
        systolic=session.pre_bp_systolic, diastolic=session.pre_bp_diastolic, protocol=protocol
    )
    due = monitoring.next_vitals_due_at(session=session, protocol=timing, now=now)
    vitals = list(session.vitals.all())
    return {
        "session": session,
        "patient": patient,
        "forms": forms,
        "plan": session.dose_plan,
        "protocol": protocol,
        "safety_alerts": patient_selectors.active_safety_alerts(patient=patient),
        "scheduled": scheduled,
        "running": session.status == status.IN_PROGRESS,
        "ended": ended,
        "locked": session.is_signed,
        "may_chart": can(user, Capability.CHART) and not session.is_signed,
        "may_sign": can(user, Capability.SIGN_RECORDS),
        "may_amend": session.is_signed and can(user, Capability.CHART),
        "may_override": can(user, Capability.OVERRIDE_DOSE),
        "may_go_ahead": can(user, Capability.GIVE_GO_AHEAD),
        "verify_refusal": _verify_refusal(user, session),
        "start_blockers": services.start_blockers(session=session, protocol=protocol)
        if scheduled
        else [],
        "sign_blockers": services.sign_blockers(session) if not session.is_signed else [],
        "hold_message": monitoring.pre_infusion_hold_message(
            systolic=session.pre_bp_systolic,
            diastolic=session.pre_bp_diastolic,
            protocol=protocol,
        )
        if held and session.go_ahead_at is None
        else "",
        "vitals": vitals,
        "vitals_due_at": due,
        "vitals_overdue": monitoring.vitals_overdue(session=session, protocol=timing, now=now),
        "peak_bp": monitoring.peak_blood_pressure(vitals),
        "side_effects": list(session.side_effects.all()),
        "mood_notes": list(session.mood_notes.all()),
        "amendments": list(session.amendments.all()),
        "discharge_missing": session.discharge_checklist_missing,
        **extra,
    }


def _verify_refusal(user, session) -> str:
    """Why this user cannot verify the dose now (shown beside the disabled button)."""
    if not can(user, Capability.CHART):
        return "Your role cannot verify doses."
    if session.created_by_id == user.pk:
        return "You prepared this dose; a second clinician must verify it."
    return ""


@clinic_page(Capability.VIEW_CLINICAL_RECORDS, object_type="infusionsession")
def session_chart(request, session_id):
    session = selectors.session_get_for_user(user=request.user, pk=session_id)
    request.audit.record(session)
    return render(request, "frontend/sessions/chart.html", chart_context(request, session))


def _respond(request, session, *, bound=None, status=200, conflict="", saved=""):
    """The chart body for htmx; otherwise the redirect (success) or the full page (errors)."""
    if not request.htmx and status == 200:
        if saved:
            messages.success(request, saved)
        return redirect("frontend:session_chart", session.pk)
    context = chart_context(request, session, bound=bound, conflict=conflict, saved=saved)
    template = (
        "frontend/sessions/_chart_body.html" if request.htmx else "frontend/sessions/chart.html"
    )
    return render(request, template, context, status=status)


def _session_action(request, session_id, form_name: str | None, perform, *, saved: str):
    """Run one charting action: bind its form, call the service, answer with the chart.

    ``perform(session, data)`` calls the service and returns the record it made
    or changed (for the audit trail) and optionally its audit action.
    """
    session = selectors.session_get_for_user(user=request.user, pk=session_id)
    request.audit.record(session)
    form = None
    if form_name is not None:
        form = _FORMS[form_name](
            request.POST, prefix=form_name, initial=_initial(session, form_name)
        )
        if not form.is_valid():
            return _respond(request, session, bound={form_name: form}, status=400)
    try:
        result = perform(session, form.cleaned_data if form is not None else {})
    except NotAllowed:
        raise  # the page decorator answers 403 and records the denial
    except (DomainError, ValidationError) as exc:
        if is_conflict(exc):
            return _respond(request, session, status=409, conflict=exc.message)
        if form is None or (isinstance(exc, DomainError) and exc.field not in form.fields):
            message = exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)
            return _respond(request, session, status=409 if form is None else 400, conflict=message)
        add_service_error(form, exc)
        return _respond(request, session, bound={form_name: form}, status=400)
    record, action = result if isinstance(result, tuple) else (result, None)
    request.audit.record(record, action or AuditAction.UPDATE)
    return _respond(request, session, saved=saved)


def _chart_action(form_name, *, saved, capability=Capability.CHART):
    """Declare a charting action: ``@_chart_action("vitals", saved="...")`` over perform()."""

    def decorator(perform):
        @clinic_page(capability, methods=("POST",), object_type="infusionsession")
        def view(request, session_id):
            return _session_action(
                request,
                session_id,
                form_name,
                lambda session, data: perform(request, session, data),
                saved=saved,
            )

        view.__name__ = perform.__name__
        view.__doc__ = perform.__doc__
        return view

    return decorator


@_chart_action("dose", saved="Dose saved. It must be verified (again) by a second clinician.")
def session_dose(request, session, data):
    """Change weight, mg/kg, minutes or the preparation (clears a verification)."""
    return services.session_update(actor=request.user, session=session, **data)


@_chart_action("verify", saved="Dose verified.")
def session_verify_dose(request, session, data):
    """A second clinician confirms the dose they saw (409 if it changed meanwhile)."""
    return services.session_verify_dose(actor=request.user, session=session, expected=data)


@_chart_action("override", saved="Dose override recorded.", capability=Capability.OVERRIDE_DOSE)
def session_override(request, session, data):
    return services.session_override_dose(actor=request.user, session=session, **data)


@_chart_action("checks", saved="Pre-infusion checks saved.")
def session_checks(request, session, data):
    return services.session_update(actor=request.user, session=session, **data)


@_chart_action("goahead", saved="Go-ahead recorded.", capability=Capability.GIVE_GO_AHEAD)
def session_go_ahead(request, session, data):
    return services.session_go_ahead(actor=request.user, session=session, **data)


@_chart_action(None, saved="Infusion started.")
def session_start(request, session, data):
    return services.session_start(actor=request.user, session=session)


@_chart_action("stop", saved="Infusion stopped early.")
def session_stop(request, session, data):
    return services.session_stop(actor=request.user, session=session, **data)


@_chart_action(None, saved="Infusion completed. Observation continues until discharge.")
def session_complete(request, session, data):
    return services.session_complete(actor=request.user, session=session)


@_chart_action("vitals", saved="Vitals saved.")
def session_vitals(request, session, data):
    reading = services.vitals_record(
        actor=request.user, session=session, **now_if_empty(data, "recorded_at")
    )
    return reading, AuditAction.CREATE


@_chart_action("sideeffect", saved="Side effect saved.")
def session_side_effect(request, session, data):
    entry = services.side_effect_record(
        actor=request.user, session=session, **now_if_empty(data, "onset_at")
    )
    return entry, AuditAction.CREATE


@_chart_action("mood", saved="Mood note saved.")
def session_mood(request, session, data):
    note = services.mood_note_record(
        actor=request.user, session=session, **now_if_empty(data, "recorded_at")
    )
    return note, AuditAction.CREATE


@_chart_action("discharge", saved="Discharge checklist saved.")
def session_discharge(request, session, data):
    data = dict(data)
    items = [k for k in data if k.startswith("discharge_") and k != "discharge_at"]
    if data["discharge_at"] is None and all(data[k] for k in items):
        data["discharge_at"] = timezone.now()
    return services.session_update(actor=request.user, session=session, **data)


@_chart_action("notes", saved="Notes saved.")
def session_notes(request, session, data):
    return services.session_update(actor=request.user, session=session, **data)


@_chart_action(None, saved="Session signed and locked.", capability=Capability.SIGN_RECORDS)
def session_sign(request, session, data):
    return services.session_sign(actor=request.user, session=session), AuditAction.SIGN


@_chart_action("amend", saved="Amendment added.")
def session_amend(request, session, data):
    amendment = services.session_amend(actor=request.user, session=session, **data)
    return amendment, AuditAction.AMEND
