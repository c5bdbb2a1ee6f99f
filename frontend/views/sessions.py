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

from collections.abc import Callable
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
    MoodNoteCorrectionForm,
    MoodNoteForm,
    NotesForm,
    OverrideForm,
    ReasonForm,
    SessionScheduleForm,
    SideEffectForm,
    VerifyDoseForm,
    VitalsCorrectionForm,
    VitalsForm,
    focus_first_field,
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
        {
            "course": course,
            "patient": patient,
            "form": form,
            "proposal": proposal,
            "readiness": services.treatment_readiness_errors(patient=patient),
        },
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
    with_alerts = patient_selectors.patient_ids_with_active_safety_alerts(
        user=request.user, patient_ids={s.course.patient_id for s in sessions}
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
        # The phase follows the session's state; mood and anxiety are never preset.
        phase = {"scheduled": "pre", "in_progress": "during"}.get(session.status, "post")
        return {"phase": phase}
    if name == "sideeffect":
        return {"effect": SideEffect.Effect.DISSOCIATION}
    return {}


def _form(name: str, session, data=None):
    return _FORMS[name](data, prefix=name, initial=_initial(session, name))


def chart_context(
    request,
    session: InfusionSession,
    *,
    bound: dict | None = None,
    correcting: _Correcting | None = None,
    focus: tuple[_EntryKind, int] | None = None,
    **extra,
):
    """Everything the charting screen shows, read fresh from the database.

    ``correcting``: a flowsheet entry shown as its correction form; ``focus``:
    the entry whose Edit control takes the focus once the chart is swapped in
    (the one just corrected).
    """
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
    due = monitoring.next_vitals_due_at(session=session, protocol=timing, now=now)
    vitals = list(session.vitals.all())
    mood_notes = list(session.mood_notes.all())
    entries = {VITALS.name: vitals, MOOD_NOTES.name: mood_notes}
    if correcting is not None:
        for entry in entries[correcting.kind.name]:
            if entry.pk == correcting.entry.pk:
                entry.correction_form = correcting.form
    if focus is not None:
        for entry in entries[focus[0].name]:
            entry.autofocus = entry.pk == focus[1]
    may_chart = can(user, Capability.CHART) and not session.is_signed
    blocked = services.session_field_change_blocker
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
        "may_chart": may_chart,
        "may_chart_flowsheet": _may_chart_flowsheet(user, session),
        "may_change_dose": may_chart and blocked(session=session, field="weight_kg") is None,
        "may_change_checks": may_chart
        and blocked(session=session, field="fasting_confirmed") is None,
        "may_discharge": may_chart and blocked(session=session, field="discharge_at") is None,
        "may_sign": can(user, Capability.SIGN_RECORDS),
        "may_amend": session.is_signed and can(user, Capability.CHART),
        "may_override": can(user, Capability.OVERRIDE_DOSE),
        "may_go_ahead": can(user, Capability.GIVE_GO_AHEAD),
        "verify_blockers": services.dose_verification_blockers(session=session, user=user),
        "start_blockers": services.start_blockers(session=session, protocol=protocol)
        if scheduled
        else [],
        "sign_blockers": services.sign_blockers(session) if not session.is_signed else [],
        "hold_message": monitoring.pre_infusion_hold_message(
            systolic=session.pre_bp_systolic,
            diastolic=session.pre_bp_diastolic,
            protocol=protocol,
        )
        if monitoring.awaiting_go_ahead(session=session, protocol=protocol)
        else "",
        "vitals": vitals,
        "vitals_due_at": due,
        "vitals_overdue": monitoring.vitals_overdue(session=session, protocol=timing, now=now),
        "peak_bp": monitoring.peak_blood_pressure(vitals),
        "side_effects": list(session.side_effects.all()),
        "mood_notes": mood_notes,
        "amendments": list(session.amendments.all()),
        "discharge_missing": session.discharge_checklist_missing,
        **extra,
    }


def _may_chart_flowsheet(user, session) -> bool:
    """Entry forms and Edit controls: a charting role and a flowsheet still open."""
    return can(user, Capability.CHART) and services.flowsheet_closed_reason(session) is None


@clinic_page(Capability.VIEW_CLINICAL_RECORDS, object_type="infusionsession")
def session_chart(request, session_id):
    session = selectors.session_get_for_user(user=request.user, pk=session_id)
    request.audit.record(session)
    return render(request, "frontend/sessions/chart.html", chart_context(request, session))


def _respond(
    request,
    session,
    *,
    bound=None,
    status=200,
    conflict="",
    saved="",
    correcting=None,
    focus=None,
    anchor="",
):
    """The chart body for htmx; otherwise the redirect (success) or the full page (errors)."""
    if not request.htmx and status == 200:
        if saved:
            messages.success(request, saved)
        return redirect(reverse("frontend:session_chart", args=[session.pk]) + anchor)
    context = chart_context(
        request,
        session,
        bound=bound,
        correcting=correcting,
        focus=focus,
        conflict=conflict,
        saved=saved,
    )
    template = (
        "frontend/sessions/_chart_body.html" if request.htmx else "frontend/sessions/chart.html"
    )
    response = render(request, template, context, status=status)
    if request.htmx:
        # Whatever element asked (a flowsheet row, a form), the whole chart is replaced.
        response["HX-Retarget"] = "#session-chart"
        response["HX-Reswap"] = "outerHTML"
    return response


def _session_action(
    request, session_id, form_name: str | None, perform, *, saved: str, audit_detail: str = ""
):
    """Run one charting action: bind its form, call the service, answer with the chart.

    ``perform(session, data)`` calls the service and returns the record it made
    or changed (for the audit trail) and optionally its audit action.
    ``audit_detail`` names the session action for the audit event's detail line
    (``sessions.services.session_action_audit_detail``, as the API writes it).
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
    detail = ""
    if audit_detail:
        detail = services.session_action_audit_detail(action=audit_detail, session=record)
    request.audit.record(record, action or AuditAction.UPDATE, detail=detail)
    return _respond(request, session, saved=saved)


def _chart_action(form_name, *, saved, capability=Capability.CHART, audit_detail=""):
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
                audit_detail=audit_detail,
            )

        view.__name__ = perform.__name__
        view.__doc__ = perform.__doc__
        return view

    return decorator


@_chart_action("dose", saved="Dose saved. It must be verified (again) by a second clinician.")
def session_dose(request, session, data):
    """Change weight, mg/kg, minutes or the preparation (clears a verification)."""
    return services.session_update(actor=request.user, session=session, **data)


@_chart_action("verify", saved="Dose verified.", audit_detail="verify_dose")
def session_verify_dose(request, session, data):
    """A second clinician confirms the dose they saw (409 if it changed meanwhile)."""
    return services.session_verify_dose(actor=request.user, session=session, expected=data)


@_chart_action(
    "override",
    saved="Dose override recorded.",
    capability=Capability.OVERRIDE_DOSE,
    audit_detail="override",
)
def session_override(request, session, data):
    return services.session_override_dose(actor=request.user, session=session, **data)


@_chart_action("checks", saved="Pre-infusion checks saved.")
def session_checks(request, session, data):
    return services.session_update(actor=request.user, session=session, **data)


@_chart_action(
    "goahead",
    saved="Go-ahead recorded.",
    capability=Capability.GIVE_GO_AHEAD,
    audit_detail="go_ahead",
)
def session_go_ahead(request, session, data):
    return services.session_go_ahead(actor=request.user, session=session, **data)


@_chart_action(None, saved="Infusion started.", audit_detail="start")
def session_start(request, session, data):
    return services.session_start(actor=request.user, session=session)


@_chart_action("stop", saved="Infusion stopped early.", audit_detail="stop")
def session_stop(request, session, data):
    return services.session_stop(actor=request.user, session=session, **data)


@_chart_action(
    None,
    saved="Infusion completed. Observation continues until discharge.",
    audit_detail="complete",
)
def session_complete(request, session, data):
    return services.session_complete(actor=request.user, session=session)


@_chart_action("vitals", saved="Vitals saved.")
def session_vitals(request, session, data):
    reading = services.vitals_record(
        actor=request.user, session_id=session.pk, **now_if_empty(data, "recorded_at")
    )
    return reading, AuditAction.CREATE


@_chart_action("sideeffect", saved="Side effect saved.")
def session_side_effect(request, session, data):
    entry = services.side_effect_record(
        actor=request.user, session_id=session.pk, **now_if_empty(data, "onset_at")
    )
    return entry, AuditAction.CREATE


@_chart_action("mood", saved="Mood note saved.")
def session_mood(request, session, data):
    note = services.mood_note_record(
        actor=request.user, session_id=session.pk, **now_if_empty(data, "recorded_at")
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


# --- Correcting a flowsheet entry before signing -----------------------------------------------
#
# Each row of the flowsheet (and each mood note) has an Edit control (GET .../edit/) that
# swaps the row for its correction form; Cancel (GET the row) swaps it back. Saving posts
# the form: the whole chart comes back (alerts, peak and due time may change), with the
# focus on the row's Edit control; a refusal comes back as the row's form with the
# errors next to the fields (400) or, when the session was signed meanwhile, as the
# chart with a banner (409).


@dataclass(frozen=True)
class _EntryKind:
    name: str  # "vital" or "mood-note": prefix of the row's ids and of its form's fields
    get: Callable  # selector: (session=, pk=) -> entry, 404 outside the session
    form: type
    fields: tuple[str, ...]
    correct: Callable  # service: (actor, entry, data) -> (entry, changed fields)
    row_template: str
    edit_template: str
    saved: str

    def row_id(self, entry) -> str:
        return f"{self.name}-{entry.pk}"

    def target(self, entry) -> str:
        return f"#entry-{self.row_id(entry)}"

    def bind(self, entry, data=None):
        initial = {field: getattr(entry, field) for field in self.fields}
        return self.form(data, prefix=self.row_id(entry), initial=initial)


@dataclass
class _Correcting:
    kind: _EntryKind
    entry: object
    form: object


VITALS = _EntryKind(
    name="vital",
    get=selectors.vital_sign_of_session,
    form=VitalsCorrectionForm,
    fields=services.VITALS_FIELDS,
    correct=lambda actor, entry, data: services.vitals_correct(actor=actor, reading=entry, **data),
    row_template="frontend/sessions/_vital_row.html",
    edit_template="frontend/sessions/_vital_edit.html",
    saved="Reading corrected; its alerts were recomputed.",
)
MOOD_NOTES = _EntryKind(
    name="mood-note",
    get=selectors.mood_note_of_session,
    form=MoodNoteCorrectionForm,
    fields=services.MOOD_NOTE_FIELDS,
    correct=lambda actor, entry, data: services.mood_note_correct(actor=actor, note=entry, **data),
    row_template="frontend/sessions/_mood_note.html",
    edit_template="frontend/sessions/_mood_note_edit.html",
    saved="Mood note corrected.",
)


def _entry_context(request, session, entry, **extra) -> dict:
    return {
        "session": session,
        "may_chart_flowsheet": _may_chart_flowsheet(request.user, session),
        "entry": entry,
        **extra,
    }


def _unchanged_left_out(kind: _EntryKind, entry, data: dict) -> dict:
    """The submitted values minus those the form only re-displayed.

    The time input shows minutes and a textarea sends CRLF line ends: a time in the
    same minute and the same text are the stored values, not corrections.
    """
    data = dict(data)
    shown = timezone.localtime(entry.recorded_at).replace(second=0, microsecond=0)
    if data.get("recorded_at") == shown:
        data.pop("recorded_at")
    if "text" in data and _same_text(data["text"], entry.text):
        data.pop("text")
    return data


def _same_text(submitted: str, stored: str) -> bool:
    return submitted.replace("\r\n", "\n").strip() == stored.replace("\r\n", "\n").strip()


def _entry_row(request, session_id, entry_id, kind: _EntryKind):
    session = selectors.session_get_for_user(user=request.user, pk=session_id)
    entry = request.audit.record(kind.get(session=session, pk=entry_id))
    if not request.htmx:
        return redirect(
            reverse("frontend:session_chart", args=[session.pk]) + f"#{kind.row_id(entry)}"
        )
    entry.autofocus = True  # back on its Edit control after Cancel
    return render(request, kind.row_template, _entry_context(request, session, entry))


def _entry_edit(request, session_id, entry_id, kind: _EntryKind):
    session = selectors.session_get_for_user(user=request.user, pk=session_id)
    entry = request.audit.record(kind.get(session=session, pk=entry_id))
    closed = services.flowsheet_closed_reason(session)
    if closed:
        return _respond(request, session, status=409, conflict=closed)
    form = kind.bind(entry, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            entry, changed = kind.correct(
                request.user, entry, _unchanged_left_out(kind, entry, form.cleaned_data)
            )
        except NotAllowed:
            raise
        except (DomainError, ValidationError) as exc:
            if is_conflict(exc):
                return _respond(request, session, status=409, conflict=exc.message)
            add_service_error(form, exc)
        else:
            request.audit.record(
                entry,
                AuditAction.UPDATE,
                detail=services.correction_audit_detail(entry=entry, fields=changed),
            )
            return _respond(
                request,
                session,
                saved=kind.saved if changed else "Nothing changed.",
                focus=(kind, entry.pk),
                anchor=f"#{kind.row_id(entry)}",
            )
    status = 400 if form.errors else 200
    focus_first_field(form)
    if not request.htmx:
        return render(
            request,
            "frontend/sessions/chart.html",
            chart_context(request, session, correcting=_Correcting(kind, entry, form)),
            status=status,
        )
    response = render(
        request,
        kind.edit_template,
        _entry_context(request, session, entry, form=form),
        status=status,
    )
    response["HX-Retarget"] = kind.target(entry)
    response["HX-Reswap"] = "outerHTML"
    return response


@clinic_page(Capability.VIEW_CLINICAL_RECORDS, object_type="vitalsign", denied_id_kwarg="vital_id")
def session_vital_row(request, session_id, vital_id):
    """One flowsheet row as shown (Cancel of a correction)."""
    return _entry_row(request, session_id, vital_id, VITALS)


@clinic_page(
    Capability.CHART,
    methods=("GET", "HEAD", "POST"),
    object_type="vitalsign",
    denied_id_kwarg="vital_id",
)
def session_vital_edit(request, session_id, vital_id):
    """Correct a reading before signing: its form in place of the row, then save."""
    return _entry_edit(request, session_id, vital_id, VITALS)


@clinic_page(Capability.VIEW_CLINICAL_RECORDS, object_type="moodnote", denied_id_kwarg="note_id")
def session_mood_row(request, session_id, note_id):
    """One mood note as shown (Cancel of a correction)."""
    return _entry_row(request, session_id, note_id, MOOD_NOTES)


@clinic_page(
    Capability.CHART,
    methods=("GET", "HEAD", "POST"),
    object_type="moodnote",
    denied_id_kwarg="note_id",
)
def session_mood_edit(request, session_id, note_id):
    """Correct a mood note before signing."""
    return _entry_edit(request, session_id, note_id, MOOD_NOTES)
