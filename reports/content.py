"""What a treatment summary shows, taken from the records.

``summary_content`` reads the records the requesting prescriber may read and
returns a JSON-ready snapshot with every value already formatted for print.
Every clinical value comes from the owning app: totals and severity bands are
the stored ones computed by ``patients.scales``, response and remission from
``patients.scales.treatment_response``, baselines from
``patients.selectors.baseline_scores``, total doses stored by
``sessions.dosing``, peak blood pressure and worst grades from
``sessions.monitoring``. This module formats; it decides no clinical rule.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.http import Http404
from django.utils import timezone

from patients import selectors as patient_selectors
from patients.contraindications import CONTRAINDICATIONS
from patients.diagnoses import diagnosis_label
from patients.models import Assessment, Evaluation
from patients.scales import Instrument, instrument_label, treatment_response
from reports.models import TreatmentSummary
from sessions.models import InfusionSession, MoodNote, SideEffect, VitalSign
from sessions.monitoring import peak_blood_pressure, worst_grades_by_effect
from sessions.selectors import sessions_for_patient_record

CONTENT_VERSION = 1
#: Dissociation scales are shown per session in the course table, not charted.
DISSOCIATION_INSTRUMENTS = (Instrument.CADSS, Instrument.CADSS6)
#: Sessions that were given (fully or in part) are the rows of the course table.
GIVEN = (InfusionSession.Status.COMPLETED, InfusionSession.Status.STOPPED_EARLY)
#: What the course table and the period show of a session.
SESSION_FIELDS = (
    "number",
    "status",
    "scheduled_for",
    "started_at",
    "ended_at",
    "dose_mg_per_kg",
    "total_dose_mg",
    "serious_adverse_event",
)


class SummaryNotBuildable(Exception):
    """The records do not allow this summary; the message tells the requester what to do."""


def _day(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime.datetime):
        value = timezone.localdate(value)
    return f"{value:%Y-%m-%d}"


def _moment(value: datetime.datetime) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z}"


def _person(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()


def _sentence_case(label: str) -> str:
    return label[:1].upper() + label[1:].lower()


def _period(summary: TreatmentSummary, sessions: list[InfusionSession]) -> str:
    start, end = summary.period_start, summary.period_end
    if start and end:
        return f"{_day(start)} to {_day(end)}"
    if start:
        return f"From {_day(start)}"
    if end:
        return f"Until {_day(end)}"
    first = _session_time(sessions[0])
    last = _session_time(sessions[-1])
    return f"Whole treatment ({_day(first)} to {_day(last)})"


def _session_time(session: InfusionSession) -> datetime.datetime:
    return session.started_at or session.scheduled_for


def _evaluation(evaluation, baselines) -> dict | None:
    if evaluation is None:
        return None
    answers = evaluation.contraindications or {}
    screened = [c for c in CONTRAINDICATIONS if c.key in answers]
    present = [
        f"{c.label} ({'absolute' if c.absolute else 'relative'})"
        for c in screened
        if answers.get(c.key) is True
    ]
    reviewed = (
        f"All {len(CONTRAINDICATIONS)} screened"
        if len(screened) == len(CONTRAINDICATIONS)
        else f"{len(screened)} of {len(CONTRAINDICATIONS)} screened"
    )
    reviewed += f"; present: {'; '.join(present)}" if present else "; none present"
    return {
        "date": _day(evaluation.evaluated_on),
        "evaluator": _person(evaluation.evaluator),
        "eligibility": Evaluation.Eligibility(evaluation.eligibility).label.capitalize(),
        "contraindications": reviewed,
        "precautions": evaluation.precautions,
        "baseline": [
            {
                "instrument": instrument_label(instrument),
                "total": str(assessment.total),
                "severity": assessment.severity,
                "date": _day(assessment.administered_at),
            }
            for instrument, assessment in _in_instrument_order(baselines)
        ],
    }


def _in_instrument_order(by_instrument: dict):
    order = {code: index for index, code in enumerate(Instrument.values)}
    return sorted(by_instrument.items(), key=lambda item: order.get(item[0], len(order)))


def _mood(notes: list) -> str:
    notes = sorted(notes, key=lambda n: (n.recorded_at, n.id))
    pre = [n.mood for n in notes if n.phase == MoodNote.Phase.PRE]
    post = [n.mood for n in notes if n.phase == MoodNote.Phase.POST]
    if not pre and not post:
        return ""
    return f"{pre[-1] if pre else '—'} → {post[-1] if post else '—'}"


def _minutes(session: InfusionSession) -> str:
    if session.started_at and session.ended_at:
        return str(round((session.ended_at - session.started_at).total_seconds() / 60))
    return ""


def _dissociation(assessments: list) -> str:
    scores = sorted(
        (a for a in assessments if a.instrument in DISSOCIATION_INSTRUMENTS),
        key=lambda a: (a.administered_at, a.id),
    )
    return ", ".join(
        str(a.total) if a.instrument == Instrument.CADSS else f"{a.total} (6-item)" for a in scores
    )


class _Flowsheets:
    """The entries of the given sessions, one query per kind of entry, by session id.

    Dissociation scores come from the patient's ``assessments`` (already read
    for the scales), grouped by the session they were given in.
    """

    def __init__(self, sessions: list[InfusionSession], assessments: list[Assessment]):
        ids = [s.pk for s in sessions]
        self.vitals = _by_session(
            VitalSign.objects.filter(session_id__in=ids).values_list(
                "session_id", "bp_systolic", "bp_diastolic", named=True
            )
        )
        self.side_effects = _by_session(
            SideEffect.objects.filter(session_id__in=ids)
            .only("session_id", "effect", "other_text", "grade")
            .order_by("onset_at", "id")
        )
        self.mood_notes = _by_session(
            MoodNote.objects.filter(session_id__in=ids).values_list(
                "session_id", "recorded_at", "id", "phase", "mood", named=True
            )
        )
        self.dissociation = _by_session(
            a for a in assessments if a.instrument in DISSOCIATION_INSTRUMENTS and a.session_id
        )


def _by_session(queryset) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for entry in queryset:
        grouped.setdefault(entry.session_id, []).append(entry)
    return grouped


def _course_row(session: InfusionSession, flowsheets: _Flowsheets) -> dict:
    peak = peak_blood_pressure(flowsheets.vitals.get(session.pk, ()))
    effects = worst_grades_by_effect(flowsheets.side_effects.get(session.pk, ()))
    return {
        "number": str(session.number),
        "date": _day(_session_time(session)),
        "dose_mg_per_kg": f"{session.dose_mg_per_kg}",
        "total_mg": f"{session.total_dose_mg}",
        "minutes": _minutes(session),
        "status": _sentence_case(session.get_status_display()),
        "side_effects": ", ".join(f"{label} ({grade})" for label, grade in effects),
        "mood": _mood(flowsheets.mood_notes.get(session.pk, [])),
        "peak_bp": f"{peak[0]}/{peak[1]}" if peak else "",
        "cadss": _dissociation(flowsheets.dissociation.get(session.pk, [])),
    }


def _scale_statement(instrument: str, baseline, latest) -> str:
    label = instrument_label(instrument)
    if baseline is None:
        return f"{label}: no baseline score, so response cannot be assessed."
    said = f"{label} baseline {baseline.total}"
    said += f" ({baseline.severity})" if baseline.severity else ""
    said += f" on {_day(baseline.administered_at)}"
    if latest is None or latest.pk == baseline.pk:
        return f"{said}; no later score yet."
    outcome = treatment_response(
        instrument=instrument, baseline_total=baseline.total, current_total=latest.total
    )
    said += f"; latest {latest.total}"
    said += f" ({latest.severity})" if latest.severity else ""
    said += f" on {_day(latest.administered_at)}"
    if outcome is None:
        return f"{said}."
    return f"{said}: {outcome}."


def _scales(summary: TreatmentSummary, assessments, baselines) -> list[dict]:
    by_instrument: dict[str, list] = {}
    for assessment in assessments:
        if assessment.instrument in DISSOCIATION_INSTRUMENTS:
            continue
        day = timezone.localdate(assessment.administered_at)
        if summary.period_start and day < summary.period_start:
            continue
        if summary.period_end and day > summary.period_end:
            continue
        by_instrument.setdefault(assessment.instrument, []).append(assessment)
    scales = []
    for instrument, scored in _in_instrument_order(by_instrument):
        baseline = baselines.get(instrument)
        points = list(scored)
        if baseline is not None and all(a.pk != baseline.pk for a in points):
            points.insert(0, baseline)
        points.sort(key=lambda a: (a.administered_at, a.id))
        latest = points[-1]
        scales.append(
            {
                "instrument": instrument_label(instrument),
                "points": [[_day(a.administered_at), a.total] for a in points],
                "statement": _scale_statement(instrument, baseline, latest),
            }
        )
    return scales


def summary_content(*, summary: TreatmentSummary) -> dict:
    """The snapshot the PDF is drawn from, read with the requester's access.

    Raises ``SummaryNotBuildable`` with a reason a person can act on when the
    requester can no longer read the patient or there is nothing to summarise.
    """
    requester = summary.requested_by
    try:
        patient = patient_selectors.clinical_patient_get(user=requester, pk=summary.patient_id)
    except Http404:
        raise SummaryNotBuildable(
            f"{_person(requester)}, who requested this summary, can no longer read this "
            "patient's records. A prescriber on the care team may request a new one."
        ) from None

    # The rows need only these fields of the sessions: their entries are read below,
    # one query per kind, for the sessions that were given.
    all_sessions = list(
        sessions_for_patient_record(
            patient=patient, period_start=summary.period_start, period_end=summary.period_end
        )
        .select_related(None)
        .prefetch_related(None)
        .only(*SESSION_FIELDS)
    )
    sessions = [s for s in all_sessions if s.status in GIVEN]
    if not sessions:
        chosen = (
            "in the chosen period"
            if summary.period_start or summary.period_end
            else "for this patient yet"
        )
        raise SummaryNotBuildable(
            f"No infusion sessions {chosen}: a summary needs at least one completed or "
            "stopped session. Choose another period or request it after a session."
        )
    left_out = len(all_sessions) - len(sessions)

    evaluation = patient_selectors.latest_signed_evaluation(patient=patient)
    baselines = patient_selectors.baseline_scores(patient=patient, evaluation=evaluation)
    assessments = list(
        patient_selectors.assessment_list_for_user(user=requester)
        .filter(patient=patient)
        .select_related(None)
        .only("instrument", "total", "severity", "administered_at", "session_id")
        .order_by("administered_at", "id")
    )
    flowsheets = _Flowsheets(sessions, assessments)
    all_effects = [effect for s in sessions for effect in flowsheets.side_effects.get(s.pk, ())]
    serious = [s for s in sessions if s.serious_adverse_event]
    provider = patient.referring_provider
    clinic = {
        "name": settings.CLINIC_NAME,
        "address": settings.CLINIC_ADDRESS,
        "phone": settings.CLINIC_PHONE,
    }
    return {
        "version": CONTENT_VERSION,
        "document_id": str(summary.document_id),
        "clinic": clinic,
        "generated_at": _moment(timezone.now()),
        "requested_by": _person(requester),
        "period": _period(summary, sessions),
        "patient": {
            "name": patient.full_name,
            "date_of_birth": _day(patient.date_of_birth),
            "mrn": patient.mrn,
        },
        "referrer": {
            "name": provider.name,
            "practice": provider.practice,
            "npi": provider.npi,
            "phone": provider.phone,
            "fax": provider.fax,
        }
        if provider
        else None,
        "diagnosis": {
            "code": patient.primary_diagnosis,
            "label": diagnosis_label(patient.primary_diagnosis),
        },
        "evaluation": _evaluation(evaluation, baselines),
        "course_rows": [_course_row(s, flowsheets) for s in sessions],
        "course_note": (
            f"{left_out} other session(s) in this period (cancelled, scheduled or in "
            "progress) are not listed."
            if left_out
            else ""
        ),
        "scales": _scales(summary, assessments, baselines),
        "side_effects": [
            {"effect": label, "grade": str(grade)}
            for label, grade in worst_grades_by_effect(all_effects)
        ],
        "serious_adverse_events": (
            "Serious adverse event recorded in session(s) "
            + ", ".join(str(s.number) for s in serious)
            + "."
            if serious
            else ""
        ),
        "comment": summary.comment,
    }
