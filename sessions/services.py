"""Writes to treatment courses, infusion sessions and their flowsheets.

Each function runs in one transaction, locks the session (or course) it
changes, checks the signing lock first and raises ``ehr.errors`` exceptions the
API turns into 400 (field-level) / 403 / 409 responses. Callers reach the
course or session through ``sessions.selectors`` first (404 for outsiders).

The session lifecycle, only through these actions::

    scheduled --start--> in_progress --complete--> completed --sign--> (locked)
        |                     \\--stop(reason)--> stopped_early --sign--> (locked)
        \\--cancel(reason)--> cancelled
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ehr.errors import ConflictingState, NotAllowed, RuleViolation
from ehr.records import ensure_unsigned
from ehr.roles import Capability, can
from patients.eligibility import eligibility_allows_treatment
from patients.models import Patient
from patients.selectors import (
    clinical_patient_list_for_user,
    latest_signed_evaluation,
    patient_has_consent,
)
from patients.services import patient_lock_for_readiness
from sessions import dosing, monitoring, selectors
from sessions.models import (
    InfusionSession,
    MonitoringProtocol,
    MoodNote,
    SessionAmendment,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)

#: How far ahead of the server clock a charted time may be (device clock skew).
CLOCK_SKEW = datetime.timedelta(minutes=2)

#: Changing any of these changes what is prepared: the verification is cleared.
DOSE_FIELDS = (
    "weight_kg",
    "dose_mg_per_kg",
    "infusion_minutes",
    "concentration_mg_per_ml",
    "bag_volume_ml",
)
PRE_INFUSION_FIELDS = (
    "fasting_confirmed",
    "escort_confirmed",
    "pre_bp_systolic",
    "pre_bp_diastolic",
)
DISCHARGE_FIELDS = (
    "discharge_at",
    "discharge_alert_oriented",
    "discharge_vitals_baseline",
    "discharge_ambulating",
    "discharge_escort_present",
)
STAFFING_FIELDS = ("nurse", "supervising_prescriber")
SCHEDULING_FIELDS = ("scheduled_for", "route")
SESSION_EDITABLE_FIELDS = (
    *SCHEDULING_FIELDS,
    "notes",
    *DOSE_FIELDS,
    *PRE_INFUSION_FIELDS,
    *DISCHARGE_FIELDS,
    *STAFFING_FIELDS,
)

CONCENTRATION_RANGE = (Decimal("1"), Decimal("100"))
BAG_VOLUME_RANGE = (Decimal("10"), Decimal("1000"))

Status = InfusionSession.Status


def _require(actor, capability: Capability, message: str) -> None:
    if not can(actor, capability):
        raise NotAllowed(message)


def _refuse(errors: dict[str, str]) -> None:
    """Raise a field-level 400 naming every field at fault."""
    if errors:
        raise ValidationError({field: [message] for field, message in errors.items()})


def _reason(text: str | None, *, field: str = "reason", what: str = "a reason") -> str:
    text = (text or "").strip()
    if not text:
        raise RuleViolation(f"Give {what}.", field=field)
    return text


def _locked(session: InfusionSession) -> InfusionSession:
    """The session's row, locked until the transaction ends, read afresh with its course
    and patient (charting under a session locks it with ``_lock_for_charting``)."""
    sessions = InfusionSession.objects.select_for_update(of=("self",))
    return sessions.select_related("course", "course__patient").get(pk=session.pk)


def _lock_readiness(*, patient_id: int, course_id: int) -> None:
    """Lock the patient, then the course: before a session is scheduled or started.

    Whether the patient may be treated (status, latest signed evaluation, consent)
    and the course's status are read after these locks, so a change made at the
    same moment (an evaluation signed, the patient discharged, the course stopped)
    either commits first and is seen, or waits until this transaction ends
    (``patients.services.patient_lock_for_readiness``).
    """
    patient_lock_for_readiness(patient_id=patient_id)
    courses = TreatmentCourse.objects.select_for_update(no_key=True)
    courses.values_list("pk", flat=True).get(pk=course_id)


def _session_day_start(session: InfusionSession) -> datetime.datetime:
    day = timezone.localtime(session.scheduled_for).date()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def charted_time_error(*, session: InfusionSession, when, label: str, now=None) -> str | None:
    """Why a charted time is refused (None: accepted).

    Refused: in the future beyond the clock skew, or before the session's day.
    """
    now = now or timezone.now()
    if when is None:
        return f"{label} is required."
    if when > now + CLOCK_SKEW:
        return f"{label} cannot be in the future."
    if when < _session_day_start(session):
        return (
            f"{label} cannot be before the day of the session ({session.scheduled_for:%Y-%m-%d})."
        )
    return None


# Treatment courses


#: A patient with one of these statuses is given no treatment, whatever their evaluation says.
PATIENT_STATUSES_WITHOUT_TREATMENT = (Patient.Status.DISCHARGED, Patient.Status.DECLINED)


def _latest_signed_evaluation(patient: Patient):
    # A session list prefetches it (sessions.selectors.sessions_with_treatment_readiness).
    prefetched = getattr(patient, "signed_evaluations_newest_first", None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return latest_signed_evaluation(patient=patient)


def _has_consent(patient: Patient) -> bool:
    prefetched = getattr(patient, "consents_on_file", None)
    if prefetched is not None:
        return bool(prefetched)
    return patient_has_consent(patient=patient)


def treatment_readiness_errors(*, patient: Patient) -> list[str]:
    """What stops this patient being treated now (empty: they may be).

    The one rule for ordering a course, scheduling a session and starting an
    infusion: the patient's most recent signed evaluation finds them
    ``eligible`` or ``eligible_with_precautions`` (a later ``not_eligible`` one
    stops treatment), an informed consent is on file, and the patient is not
    discharged or declined.
    """
    problems = []
    if patient.status in PATIENT_STATUSES_WITHOUT_TREATMENT:
        problems.append(
            f"The patient's status is {patient.status}: infusions are not given to a "
            "discharged or declined patient."
        )
    evaluation = _latest_signed_evaluation(patient)
    if evaluation is None:
        problems.append("The patient has no signed pre-treatment evaluation.")
    elif not eligibility_allows_treatment(eligibility=evaluation.eligibility):
        problems.append(
            f"The latest signed evaluation ({evaluation.evaluated_on:%Y-%m-%d}) records "
            f"eligibility '{evaluation.get_eligibility_display().lower()}': the patient is not "
            "eligible for treatment."
        )
    if not _has_consent(patient):
        problems.append("No informed consent for ketamine treatment is on file.")
    return problems


def default_planned_sessions(protocol: str) -> int:
    """Induction: 6 infusions; maintenance: one booster at a time."""
    return 6 if protocol == TreatmentCourse.Protocol.INDUCTION else 1


def _course_field_errors(*, dose_mg_per_kg, infusion_minutes, planned_sessions) -> dict:
    errors = {}
    if dose_mg_per_kg is not None and not (
        dosing.DOSE_MIN_MG_PER_KG <= dosing.as_decimal(dose_mg_per_kg) <= dosing.DOSE_MAX_MG_PER_KG
    ):
        errors["dose_mg_per_kg"] = (
            f"An ordered dose must be within the sub-anaesthetic range of "
            f"{dosing.DOSE_MIN_MG_PER_KG}–{dosing.DOSE_MAX_MG_PER_KG} mg/kg."
        )
    if infusion_minutes is not None:
        message = dosing.infusion_minutes_error(infusion_minutes)
        if message:
            errors["infusion_minutes"] = message
    if planned_sessions is not None and not (1 <= planned_sessions <= 52):
        errors["planned_sessions"] = "Plan between 1 and 52 sessions."
    return errors


@transaction.atomic
def course_order(
    *,
    actor,
    patient: Patient,
    start_date: datetime.date,
    protocol: str = TreatmentCourse.Protocol.INDUCTION,
    dose_mg_per_kg: Decimal = Decimal("0.5"),
    infusion_minutes: int = 40,
    planned_sessions: int | None = None,
) -> TreatmentCourse:
    """Order a treatment course (prescriber only). One active course per patient."""
    _require(actor, Capability.ORDER_TREATMENT, "Only a prescriber can order a treatment course.")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    problems = treatment_readiness_errors(patient=patient)
    if problems:
        raise RuleViolation(
            "A treatment course cannot be ordered: " + " ".join(problems), field="patient"
        )
    if planned_sessions is None:
        planned_sessions = default_planned_sessions(protocol)
    _refuse(
        _course_field_errors(
            dose_mg_per_kg=dose_mg_per_kg,
            infusion_minutes=infusion_minutes,
            planned_sessions=planned_sessions,
        )
    )
    active = patient.courses.filter(status=TreatmentCourse.Status.ACTIVE).first()
    if active is not None:
        raise ConflictingState(
            f"The patient already has an active {active.protocol} course from "
            f"{active.start_date:%Y-%m-%d}; complete or discontinue it first."
        )
    return TreatmentCourse.objects.create(
        patient=patient,
        protocol=protocol,
        dose_mg_per_kg=dosing.as_decimal(dose_mg_per_kg),
        infusion_minutes=infusion_minutes,
        planned_sessions=planned_sessions,
        start_date=start_date,
        ordered_by=actor,
    )


@transaction.atomic
def course_update(*, actor, course: TreatmentCourse, **changes) -> TreatmentCourse:
    """Change an order (prescriber only): dose, minutes, planned sessions, dates, status.

    The patient of a course never changes. Sessions already prepared keep their
    own dose; a lower order makes those above it need an override. A changed
    ordered dose clears the verification of every session not yet started: the
    second clinician checked the dose against the order of then.
    """
    _require(actor, Capability.ORDER_TREATMENT, "Only a prescriber can change a treatment order.")
    course = TreatmentCourse.objects.select_for_update().get(pk=course.pk)
    changes.pop("patient", None)
    _refuse(
        _course_field_errors(
            dose_mg_per_kg=changes.get("dose_mg_per_kg"),
            infusion_minutes=changes.get("infusion_minutes"),
            planned_sessions=changes.get("planned_sessions"),
        )
    )
    if "planned_sessions" in changes:
        booked = course.sessions.exclude(status=Status.CANCELLED).count()
        if changes["planned_sessions"] < booked:
            raise RuleViolation(
                f"{booked} sessions are already booked on this course; plan at least that many.",
                field="planned_sessions",
            )
    new_status = changes.get("status")
    if new_status == TreatmentCourse.Status.ACTIVE and course.status != new_status:
        other = course.patient.courses.filter(status=TreatmentCourse.Status.ACTIVE)
        if other.exclude(pk=course.pk).exists():
            raise ConflictingState("The patient already has another active course.")
    dose_changed = (
        "dose_mg_per_kg" in changes
        and dosing.as_decimal(changes["dose_mg_per_kg"]) != course.dose_mg_per_kg
    )
    for field, value in changes.items():
        setattr(course, field, value)
    course.save()
    if dose_changed:
        _clear_verifications_against_an_old_order(course)
    return course


def _clear_verifications_against_an_old_order(course: TreatmentCourse) -> None:
    # Locked, so that no start slips in on the old verification.
    waiting = (
        course.sessions.select_for_update()
        .filter(status=Status.SCHEDULED, signed_at__isnull=True, dose_verified_by__isnull=False)
        .order_by("id")
    )
    for session in waiting:
        _clear_verification(session)
        session.save(update_fields=["dose_verified_by", "dose_verified_at", "updated_at"])


def next_session_proposal(*, course: TreatmentCourse) -> dict:
    """What a new session of ``course`` would be pre-filled with, and where each value came from.

    Never applied silently: the clinician confirms the values by sending them
    when creating the session. Weight and mg/kg come from the previous session
    of the course (weight from the signed evaluation for the first session);
    a previous dose the current order no longer covers is replaced by the
    ordered dose, with a note saying so.
    """
    previous = (
        course.sessions.exclude(status=Status.CANCELLED)
        .select_related(None)
        .order_by("-number")
        .first()
    )
    notes = []
    proposal = {
        "course": course.pk,
        "number": (course.sessions.aggregate(n=Max("number"))["n"] or 0) + 1,
        "prefilled_from": previous.pk if previous else None,
        "weight_kg": None,
        "weight_source": None,
        "dose_mg_per_kg": course.dose_mg_per_kg,
        "dose_source": "course_order",
        "infusion_minutes": course.infusion_minutes,
        "concentration_mg_per_ml": _field_default("concentration_mg_per_ml"),
        "bag_volume_ml": _field_default("bag_volume_ml"),
        "notes": notes,
    }
    if previous is not None:
        proposal["weight_kg"] = previous.weight_kg
        proposal["weight_source"] = "previous_session"
        proposal["concentration_mg_per_ml"] = previous.concentration_mg_per_ml
        proposal["bag_volume_ml"] = previous.bag_volume_ml
        needs_override = dosing.dose_override_reason_needed(
            dose_mg_per_kg=previous.dose_mg_per_kg, ordered_mg_per_kg=course.dose_mg_per_kg
        )
        if needs_override:
            notes.append(
                f"Session {previous.number} was given {previous.dose_mg_per_kg} mg/kg under an "
                f"override; the ordered {course.dose_mg_per_kg} mg/kg is proposed instead."
            )
        else:
            proposal["dose_mg_per_kg"] = previous.dose_mg_per_kg
            proposal["dose_source"] = "previous_session"
        notes.append(f"Weight and dose from session {previous.number}: weigh the patient today.")
    else:
        evaluation = latest_signed_evaluation(patient=course.patient)
        if evaluation is not None:
            proposal["weight_kg"] = evaluation.weight_kg
            proposal["weight_source"] = "evaluation"
            notes.append(
                f"Weight from the evaluation of {evaluation.evaluated_on:%Y-%m-%d}: "
                "weigh the patient today."
            )
    if proposal["weight_kg"] is not None:
        proposal["total_dose_mg"] = dosing.total_dose_mg(
            weight_kg=proposal["weight_kg"], dose_mg_per_kg=proposal["dose_mg_per_kg"]
        )
    else:
        proposal["total_dose_mg"] = None
    return proposal


# Infusion sessions


def _staff_errors(*, patient: Patient, nurse=None, supervising_prescriber=None) -> dict:
    errors = {}
    if nurse is not None and not (
        can(nurse, Capability.CHART)
        and clinical_patient_list_for_user(user=nurse).filter(pk=patient.pk).exists()
    ):
        errors["nurse"] = (
            f"{nurse} cannot chart for this patient (not a clinician on the care team)."
        )
    if supervising_prescriber is not None and not (
        can(supervising_prescriber, Capability.ORDER_TREATMENT)
        and clinical_patient_list_for_user(user=supervising_prescriber)
        .filter(pk=patient.pk)
        .exists()
    ):
        errors["supervising_prescriber"] = (
            f"{supervising_prescriber} cannot supervise this session "
            "(not a prescriber on the care team)."
        )
    return errors


def _preparation_errors(values: dict) -> dict:
    errors = {}
    message = dosing.infusion_minutes_error(values["infusion_minutes"])
    if message:
        errors["infusion_minutes"] = message
    low, high = CONCENTRATION_RANGE
    if not (low <= dosing.as_decimal(values["concentration_mg_per_ml"]) <= high):
        errors["concentration_mg_per_ml"] = f"Stock concentration must be {low}–{high} mg/mL."
    low, high = BAG_VOLUME_RANGE
    if not (low <= dosing.as_decimal(values["bag_volume_ml"]) <= high):
        errors["bag_volume_ml"] = f"The bag's final volume must be {low}–{high} mL."
    return errors


def _given_or(value, default):
    """``value`` unless it was not given at all: a 0 sent is checked and refused, never
    silently replaced by the default (``value or default`` would)."""
    return default if value is None else value


def _field_default(field: str):
    return InfusionSession._meta.get_field(field).default


def _pre_bp_errors(systolic, diastolic) -> dict:
    if systolic is None and diastolic is None:
        return {}
    if systolic is None or diastolic is None:
        field = "pre_bp_systolic" if systolic is None else "pre_bp_diastolic"
        return {field: "Record both numbers of the pre-infusion blood pressure."}
    errors = monitoring.blood_pressure_impossible_errors(systolic=systolic, diastolic=diastolic)
    return {f"pre_{field}": message for field, message in errors.items()}


@transaction.atomic
def session_create(
    *,
    actor,
    course: TreatmentCourse,
    scheduled_for: datetime.datetime,
    weight_kg: Decimal,
    dose_mg_per_kg: Decimal,
    infusion_minutes: int | None = None,
    concentration_mg_per_ml: Decimal | None = None,
    bag_volume_ml: Decimal | None = None,
    route: str = InfusionSession.Route.IV,
    nurse=None,
    supervising_prescriber=None,
    fasting_confirmed: bool = False,
    escort_confirmed: bool = False,
    pre_bp_systolic: int | None = None,
    pre_bp_diastolic: int | None = None,
    notes: str = "",
) -> InfusionSession:
    """Schedule the next infusion of a course; its number is assigned here.

    Weight and mg/kg are required: the clinician confirms the values (see
    ``next_session_proposal``). Minutes, stock concentration and bag volume
    take the course's order and the usual preparation only when not given; a
    value given (0 included) is checked, never replaced. The patient must still
    be ready for treatment (``treatment_readiness_errors``; 400 on ``course``).
    The creator is the clinician who prepares the dose, so a second clinician
    must verify it before the start.
    """
    _require(actor, Capability.CHART, "Your role cannot schedule infusion sessions.")
    _lock_readiness(patient_id=course.patient_id, course_id=course.pk)
    course = TreatmentCourse.objects.select_related("patient").get(pk=course.pk)
    if course.status != TreatmentCourse.Status.ACTIVE:
        raise ConflictingState(
            f"The course is {course.status}; sessions can only be added to an active course."
        )
    problems = treatment_readiness_errors(patient=course.patient)
    if problems:
        raise RuleViolation(
            "No session can be scheduled for this patient now: " + " ".join(problems),
            field="course",
        )
    booked = course.sessions.exclude(status=Status.CANCELLED).count()
    if booked >= course.planned_sessions:
        raise ConflictingState(
            f"All {course.planned_sessions} planned sessions of this course are booked; "
            "a prescriber must increase the planned sessions first."
        )
    values = {
        "weight_kg": weight_kg,
        "dose_mg_per_kg": dose_mg_per_kg,
        "infusion_minutes": _given_or(infusion_minutes, course.infusion_minutes),
        "concentration_mg_per_ml": _given_or(
            concentration_mg_per_ml, _field_default("concentration_mg_per_ml")
        ),
        "bag_volume_ml": _given_or(bag_volume_ml, _field_default("bag_volume_ml")),
    }
    errors = dosing.dose_limit_errors(
        weight_kg=weight_kg, dose_mg_per_kg=dose_mg_per_kg, ordered_mg_per_kg=course.dose_mg_per_kg
    )
    errors.update(_preparation_errors(values))
    errors.update(_pre_bp_errors(pre_bp_systolic, pre_bp_diastolic))
    errors.update(
        _staff_errors(
            patient=course.patient, nurse=nurse, supervising_prescriber=supervising_prescriber
        )
    )
    if timezone.localtime(scheduled_for).date() < course.start_date:
        errors["scheduled_for"] = (
            f"The course starts on {course.start_date:%Y-%m-%d}; "
            "schedule the session on or after it."
        )
    _refuse(errors)
    number = (course.sessions.aggregate(n=Max("number"))["n"] or 0) + 1
    return InfusionSession.objects.create(
        course=course,
        number=number,
        scheduled_for=scheduled_for,
        route=route,
        nurse=nurse,
        supervising_prescriber=supervising_prescriber,
        fasting_confirmed=fasting_confirmed,
        escort_confirmed=escort_confirmed,
        pre_bp_systolic=pre_bp_systolic,
        pre_bp_diastolic=pre_bp_diastolic,
        notes=notes,
        total_dose_mg=dosing.total_dose_mg(weight_kg=weight_kg, dose_mg_per_kg=dose_mg_per_kg),
        protocol=monitoring.current_protocol(),
        created_by=actor,
        dose_prepared_by=actor,
        **{k: dosing.as_decimal(v) if k != "infusion_minutes" else v for k, v in values.items()},
    )


def session_field_change_blocker(*, session: InfusionSession, field: str) -> str | None:
    """Why ``field`` of the session cannot change in its current state (None: it may).

    Dose fields, pre-infusion checks and scheduling only while scheduled; the
    discharge checklist only once the infusion has ended; a cancelled session
    only takes notes. The charting screen shows each form only when this allows it.
    """
    if session.is_signed:
        return "The session is signed and locked; add an amendment to correct it."
    status = session.status
    if status == Status.CANCELLED and field != "notes":
        return "The session was cancelled; only its notes can change."
    before_start = (*DOSE_FIELDS, *PRE_INFUSION_FIELDS, *SCHEDULING_FIELDS)
    if field in before_start and status != Status.SCHEDULED:
        return (
            f"The infusion has started ({session.get_status_display()}); "
            "the dose and pre-infusion checks can no longer change."
        )
    if field in DISCHARGE_FIELDS and status not in (Status.COMPLETED, Status.STOPPED_EARLY):
        return "The discharge checklist is filled in after the infusion has ended."
    return None


@transaction.atomic
def session_update(*, actor, session: InfusionSession, **changes) -> InfusionSession:
    """Change a session's editable fields (never its status: use the actions).

    - dose fields and pre-infusion checks only while scheduled; any change to
      weight, mg/kg, minutes, concentration or bag volume clears the dose
      verification and makes ``actor`` the dose's preparer (who may then not
      verify it); a changed pre-infusion blood pressure clears the go-ahead;
    - discharge checklist only once the infusion has ended;
    - nothing once signed (409).
    """
    _require(actor, Capability.CHART, "Your role cannot chart infusion sessions.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    unknown = set(changes) - set(SESSION_EDITABLE_FIELDS)
    if unknown:
        raise RuleViolation(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changed = {f: v for f, v in changes.items() if getattr(session, f) != v}
    for field in changed:
        reason = session_field_change_blocker(session=session, field=field)
        if reason:
            raise ConflictingState(reason, field=field)
    if not changed:
        return session

    after = {f: changed.get(f, getattr(session, f)) for f in SESSION_EDITABLE_FIELDS}
    errors = {}
    if any(f in changed for f in DOSE_FIELDS):
        errors.update(
            dosing.dose_limit_errors(
                weight_kg=after["weight_kg"],
                dose_mg_per_kg=after["dose_mg_per_kg"],
                ordered_mg_per_kg=session.course.dose_mg_per_kg,
                overridden_mg_per_kg=session.dose_override_mg_per_kg,
            )
        )
        errors.update(_preparation_errors(after))
    if "pre_bp_systolic" in changed or "pre_bp_diastolic" in changed:
        errors.update(_pre_bp_errors(after["pre_bp_systolic"], after["pre_bp_diastolic"]))
    errors.update(
        _staff_errors(
            patient=session.course.patient,
            nurse=changed.get("nurse"),
            supervising_prescriber=changed.get("supervising_prescriber"),
        )
    )
    if changed.get("discharge_at") is not None:
        message = charted_time_error(
            session=session, when=after["discharge_at"], label="Discharge time"
        )
        if message is None and session.ended_at and after["discharge_at"] < session.ended_at:
            message = "Discharge cannot be before the end of the infusion."
        if message:
            errors["discharge_at"] = message
    if "scheduled_for" in changed and (
        timezone.localtime(after["scheduled_for"]).date() < session.course.start_date
    ):
        errors["scheduled_for"] = f"The course starts on {session.course.start_date:%Y-%m-%d}."
    _refuse(errors)

    for field, value in changed.items():
        setattr(session, field, value)
    if any(f in changed for f in DOSE_FIELDS):
        session.total_dose_mg = dosing.total_dose_mg(
            weight_kg=session.weight_kg, dose_mg_per_kg=session.dose_mg_per_kg
        )
        session.dose_prepared_by = actor
        _clear_verification(session)
        if (
            session.dose_override_mg_per_kg is not None
            and session.dose_override_mg_per_kg != session.dose_mg_per_kg
        ):
            _clear_override(session)
    if "pre_bp_systolic" in changed or "pre_bp_diastolic" in changed:
        session.go_ahead_by = None
        session.go_ahead_at = None
        session.go_ahead_reason = ""
    session.save()
    return session


def _clear_verification(session: InfusionSession) -> None:
    session.dose_verified_by = None
    session.dose_verified_at = None


def _clear_override(session: InfusionSession) -> None:
    session.dose_override_by = None
    session.dose_override_at = None
    session.dose_override_reason = ""
    session.dose_override_mg_per_kg = None


def _ensure_scheduled(session: InfusionSession, doing: str) -> None:
    if session.status != Status.SCHEDULED:
        raise ConflictingState(
            f"Cannot {doing}: the session is {session.get_status_display().lower()}, not scheduled."
        )


def dose_verifier_refusal(*, session: InfusionSession, user) -> str | None:
    """Why ``user`` may never verify this session's dose (None: they may). Refused with 403.

    Only clinicians verify, and never the clinician who created the session nor
    the one who prepared the dose as it stands (``dose_prepared_by``: whoever
    last changed a dose value or recorded an override): every change needs a
    second pair of eyes.
    """
    if not can(user, Capability.CHART):
        return "Your role cannot verify doses."
    if session.created_by_id == user.pk:
        return "You prepared this dose; a second clinician must verify it."
    if session.dose_prepared_by_id == user.pk:
        return "You changed this dose after it was prepared; a second clinician must verify it."
    return None


def session_dose_limit_errors(session: InfusionSession) -> dict[str, str]:
    """``sessions.dosing.dose_limit_errors`` for the session's dose against the course's
    order in force now (and the override the session carries, which covers exactly its
    own mg/kg). Verification and the start both judge the dose by it."""
    return dosing.dose_limit_errors(
        weight_kg=session.weight_kg,
        dose_mg_per_kg=session.dose_mg_per_kg,
        ordered_mg_per_kg=session.course.dose_mg_per_kg,
        overridden_mg_per_kg=session.dose_override_mg_per_kg,
    )


def dose_verification_blockers(*, session: InfusionSession, user) -> list[str]:
    """Everything that stops ``user`` verifying the dose now (empty: they may).

    ``dose_verifier_refusal`` first, then the session's state: only a scheduled,
    unsigned session whose dose is not yet verified, of a patient still ready for
    treatment (``treatment_readiness_errors``: no dose is prepared for a patient a
    later evaluation found not eligible; the start, which locks the patient, stays
    the gate), and only a dose within the order and the 0.1–1.0 mg/kg range unless
    a prescriber's override covers it. The service enforces exactly this list; the
    charting screen shows it beside the disabled button.
    """
    blockers = []
    refusal = dose_verifier_refusal(session=session, user=user)
    if refusal:
        blockers.append(refusal)
    if session.status != Status.SCHEDULED:
        blockers.append(
            f"Cannot verify the dose: the session is {session.get_status_display().lower()}, "
            "not scheduled."
        )
        return blockers
    if session.dose_verified_at is not None:
        blockers.append(
            f"The dose was already verified by {session.dose_verified_by} at "
            f"{timezone.localtime(session.dose_verified_at):%H:%M}."
        )
    blockers += treatment_readiness_errors(patient=session.course.patient)
    errors = session_dose_limit_errors(session)
    if errors:
        blockers.append("This dose cannot be verified: " + " ".join(errors.values()))
    return blockers


#: What a verifier may say they saw (``session_verify_dose(expected=...)``), as named to them.
VERIFIED_VALUES = {
    "weight_kg": ("weight", "kg"),
    "dose_mg_per_kg": ("dose", "mg/kg"),
    "total_dose_mg": ("total dose", "mg"),
    "infusion_minutes": ("infusion time", "min"),
    "concentration_mg_per_ml": ("stock concentration", "mg/mL"),
    "bag_volume_ml": ("bag volume", "mL"),
}


@transaction.atomic
def session_verify_dose(
    *, actor, session: InfusionSession, expected: dict | None = None, at=None
) -> InfusionSession:
    """A second clinician confirms the calculated dose (records who and when).

    Refused as ``dose_verification_blockers`` says: 403 for
    ``dose_verifier_refusal`` (the session's creator or the dose's last
    preparer), 409 for the rest. ``expected`` may carry the values the verifier
    checked (any of ``VERIFIED_VALUES``: every input of the dose plan and the
    total): if the session changed meanwhile, nothing is verified (409). ``at``:
    when the check was done, if charted a little later (default now).
    """
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    refusal = dose_verifier_refusal(session=session, user=actor)
    if refusal:
        raise NotAllowed(refusal)
    blockers = dose_verification_blockers(session=session, user=actor)
    if blockers:
        raise ConflictingState(" ".join(blockers))
    unknown = set(expected or {}) - set(VERIFIED_VALUES)
    if unknown:
        raise RuleViolation(f"Not a value of the dose: {', '.join(sorted(unknown))}.")
    for field, value in (expected or {}).items():
        if value is not None and getattr(session, field) != value:
            label, unit = VERIFIED_VALUES[field]
            raise ConflictingState(
                f"The session's {label} is now {getattr(session, field)} {unit}, not {value} "
                f"{unit}: it changed while you were checking. Check the dose again.",
                field=field,
            )
    session.dose_verified_by = actor
    session.dose_verified_at = _action_time(session, at, "Verification time")
    session.save(update_fields=["dose_verified_by", "dose_verified_at", "updated_at"])
    return session


@transaction.atomic
def session_override_dose(
    *, actor, session: InfusionSession, dose_mg_per_kg: Decimal, reason: str
) -> InfusionSession:
    """A prescriber sets a dose outside the order (or the 0.1–1.0 mg/kg range) with a reason.

    The override covers exactly that mg/kg; it never passes the absolute limits
    (``sessions.dosing.DOSE_ABSOLUTE_*``). The prescriber becomes the dose's
    preparer: another clinician must verify it again.
    """
    _require(actor, Capability.OVERRIDE_DOSE, "Only a prescriber can override a dose.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    _ensure_scheduled(session, "change the dose")
    reason = _reason(reason, what="the reason for the override")
    message = dosing.dose_absolute_limit_error(dose_mg_per_kg)
    if message:
        raise RuleViolation(message, field="dose_mg_per_kg")
    dose = dosing.as_decimal(dose_mg_per_kg)
    session.dose_mg_per_kg = dose
    session.total_dose_mg = dosing.total_dose_mg(weight_kg=session.weight_kg, dose_mg_per_kg=dose)
    session.dose_override_mg_per_kg = dose
    session.dose_override_by = actor
    session.dose_override_at = timezone.now()
    session.dose_override_reason = reason
    session.dose_prepared_by = actor
    _clear_verification(session)
    session.save()
    return session


@transaction.atomic
def session_go_ahead(*, actor, session: InfusionSession, reason: str) -> InfusionSession:
    """A prescriber lets an infusion start despite a pre-infusion blood pressure hold."""
    _require(actor, Capability.GIVE_GO_AHEAD, "Only a prescriber can give a go-ahead.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    _ensure_scheduled(session, "give a go-ahead")
    reason = _reason(reason, what="the reason for the go-ahead")
    if not monitoring.pre_infusion_hold(
        systolic=session.pre_bp_systolic,
        diastolic=session.pre_bp_diastolic,
        protocol=monitoring.current_protocol(),
    ):
        raise ConflictingState(
            "There is no blood pressure hold on this session: record the pre-infusion blood "
            "pressure first; a go-ahead is needed only when it is at or above the hold threshold."
        )
    if session.go_ahead_at is not None:
        raise ConflictingState(f"A go-ahead was already given by {session.go_ahead_by}.")
    session.go_ahead_by = actor
    session.go_ahead_at = timezone.now()
    session.go_ahead_reason = reason
    session.save(update_fields=["go_ahead_by", "go_ahead_at", "go_ahead_reason", "updated_at"])
    return session


def start_blockers(*, session: InfusionSession, protocol: MonitoringProtocol) -> list[str]:
    """Everything that stops a scheduled infusion from starting (empty: it may start).

    The patient still ready for treatment (``treatment_readiness_errors``); a
    verified dose that the course's order in force still covers (or an override
    of exactly that dose: ``session_dose_limit_errors``); fasting and escort
    confirmed; a pre-infusion blood pressure, and a prescriber's go-ahead when
    that pressure is at or above the hold; an active course.
    """
    blockers = treatment_readiness_errors(patient=session.course.patient)
    if session.dose_verified_at is None:
        blockers.append("The dose has not been verified by a second clinician.")
    errors = session_dose_limit_errors(session)
    if errors:
        blockers.append("This dose cannot be given as it stands: " + " ".join(errors.values()))
    if not session.fasting_confirmed:
        blockers.append("Fasting has not been confirmed.")
    if not session.escort_confirmed:
        blockers.append("An escort home has not been confirmed.")
    if session.pre_bp_systolic is None or session.pre_bp_diastolic is None:
        blockers.append("The pre-infusion blood pressure has not been recorded.")
    elif monitoring.awaiting_go_ahead(session=session, protocol=protocol):
        blockers.append(
            monitoring.pre_infusion_hold_message(
                systolic=session.pre_bp_systolic,
                diastolic=session.pre_bp_diastolic,
                protocol=protocol,
            )
        )
    if session.course.status != TreatmentCourse.Status.ACTIVE:
        blockers.append(f"The course is {session.course.status}.")
    return blockers


def _action_time(session: InfusionSession, at, label: str) -> datetime.datetime:
    at = at or timezone.now()
    message = charted_time_error(session=session, when=at, label=label)
    if message:
        raise RuleViolation(message, field="at")
    return at


@transaction.atomic
def session_start(*, actor, session: InfusionSession, at=None) -> InfusionSession:
    """Start the infusion (``at``: when, if charted a little later; default now)."""
    _require(actor, Capability.CHART, "Your role cannot start infusions.")
    _lock_readiness(patient_id=session.course.patient_id, course_id=session.course_id)
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    _ensure_scheduled(session, "start the infusion")
    protocol = monitoring.current_protocol()
    blockers = start_blockers(session=session, protocol=protocol)
    if blockers:
        raise ConflictingState("The infusion cannot start. " + " ".join(blockers))
    started = _action_time(session, at, "Start time")
    if started < session.dose_verified_at:
        raise RuleViolation(
            "Start time cannot be before the dose was verified "
            f"({timezone.localtime(session.dose_verified_at):%H:%M}).",
            field="at",
        )
    if session.go_ahead_at is not None and started < session.go_ahead_at:
        raise RuleViolation(
            "Start time cannot be before the prescriber's go-ahead "
            f"({timezone.localtime(session.go_ahead_at):%H:%M}).",
            field="at",
        )
    session.started_at = started
    session.status = Status.IN_PROGRESS
    session.protocol = protocol
    session.save()
    return session


def _ensure_in_progress(session: InfusionSession, doing: str) -> None:
    if session.status != Status.IN_PROGRESS:
        raise ConflictingState(
            f"Cannot {doing}: the session is {session.get_status_display().lower()}, "
            "not in progress."
        )


def _end_time(session: InfusionSession, at, label: str) -> datetime.datetime:
    ended = _action_time(session, at, label)
    if ended < session.started_at:
        raise RuleViolation(f"{label} cannot be before the start of the infusion.", field="at")
    return ended


@transaction.atomic
def session_stop(*, actor, session: InfusionSession, reason: str, at=None) -> InfusionSession:
    """Stop a running infusion early; the reason is required."""
    _require(actor, Capability.CHART, "Your role cannot stop infusions.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    _ensure_in_progress(session, "stop the infusion")
    session.stop_reason = _reason(reason, what="the reason for stopping early")
    session.ended_at = _end_time(session, at, "Stop time")
    session.status = Status.STOPPED_EARLY
    session.save()
    return session


@transaction.atomic
def session_complete(*, actor, session: InfusionSession, at=None) -> InfusionSession:
    """Mark a running infusion as given in full; observation continues."""
    _require(actor, Capability.CHART, "Your role cannot complete infusions.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    _ensure_in_progress(session, "complete the infusion")
    session.ended_at = _end_time(session, at, "End time")
    session.status = Status.COMPLETED
    session.save()
    return session


@transaction.atomic
def session_cancel(*, actor, session: InfusionSession, reason: str) -> InfusionSession:
    """Cancel a session that has not started; the reason is required."""
    _require(actor, Capability.CHART, "Your role cannot cancel sessions.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    _ensure_scheduled(session, "cancel the session")
    session.cancel_reason = _reason(reason, what="the reason for cancelling")
    session.status = Status.CANCELLED
    session.save()
    return session


def sign_blockers(session: InfusionSession) -> list[str]:
    """What stops a prescriber signing the session (empty: it may be signed)."""
    if session.status not in (Status.COMPLETED, Status.STOPPED_EARLY):
        return [
            f"Only a completed or stopped session can be signed; this one is "
            f"{session.get_status_display().lower()}."
        ]
    if session.status == Status.COMPLETED:
        missing = session.discharge_checklist_missing
        if missing:
            return [f"The discharge checklist is incomplete: {', '.join(missing)}."]
    return []


@transaction.atomic
def session_sign(*, actor, session: InfusionSession) -> InfusionSession:
    """Sign the session (prescriber): locks it and its vitals, side effects and mood notes."""
    _require(actor, Capability.SIGN_RECORDS, "Only a prescriber can sign a session.")
    session = _locked(session)
    ensure_unsigned(session, what="infusion session")
    blockers = sign_blockers(session)
    if blockers:
        raise ConflictingState("The session cannot be signed. " + " ".join(blockers))
    session.signed_by = actor
    session.signed_at = timezone.now()
    session.save()
    return session


@transaction.atomic
def session_amend(*, actor, session: InfusionSession, text: str) -> SessionAmendment:
    """Append a correction to a signed session (append-only; author and time recorded)."""
    _require(actor, Capability.CHART, "Your role cannot amend sessions.")
    session = _locked(session)
    if not session.is_signed:
        raise ConflictingState(
            "The session is not signed: correct it directly. Amendments are for signed sessions."
        )
    text = _reason(text, field="text", what="the text of the amendment")
    return SessionAmendment.objects.create(session=session, author=actor, text=text)


# Flowsheet


def flowsheet_closed_reason(session: InfusionSession) -> str | None:
    """Why vitals, side effects and mood notes can no longer be charted or corrected on
    this session (None: they can). Signed (locked) or cancelled."""
    if session.is_signed:
        return "The session is signed and locked; add an amendment to correct it."
    if session.status == Status.CANCELLED:
        return "The session was cancelled; nothing can be charted on it."
    return None


def _ensure_open_for_charting(session: InfusionSession) -> None:
    """409 once the session is signed or if it was cancelled."""
    ensure_unsigned(session, what="infusion session")
    reason = flowsheet_closed_reason(session)
    if reason:
        raise ConflictingState(reason)


def _lock_for_charting(*, actor, session_id: int) -> InfusionSession:
    """The session, locked, if ``actor`` may chart on it now: 404 outside their reach,
    409 once it is signed or if it was cancelled."""
    session = selectors.session_for_charting(user=actor, pk=session_id)
    _ensure_open_for_charting(session)
    return session


VITALS_FIELDS = ("recorded_at", "bp_systolic", "bp_diastolic", "heart_rate", "spo2", "resp_rate")
MOOD_NOTE_FIELDS = ("recorded_at", "phase", "mood", "anxiety", "text")


def _vitals_errors(session: InfusionSession, values: dict) -> dict:
    errors = monitoring.vitals_impossible_errors(
        systolic=values["bp_systolic"],
        diastolic=values["bp_diastolic"],
        heart_rate=values["heart_rate"],
        spo2=values["spo2"],
        resp_rate=values["resp_rate"],
    )
    message = charted_time_error(session=session, when=values["recorded_at"], label="Reading time")
    if message:
        errors["recorded_at"] = message
    return errors


def _vitals_alerts(values: dict, protocol: MonitoringProtocol) -> list[str]:
    return monitoring.vitals_alerts(
        systolic=values["bp_systolic"],
        diastolic=values["bp_diastolic"],
        heart_rate=values["heart_rate"],
        spo2=values["spo2"],
        resp_rate=values["resp_rate"],
        protocol=protocol,
    )


@transaction.atomic
def vitals_record(
    *,
    actor,
    session_id: int,
    recorded_at: datetime.datetime,
    bp_systolic: int,
    bp_diastolic: int,
    heart_rate: int,
    spo2: int,
    resp_rate: int,
) -> VitalSign:
    """Chart one reading on the session ``session_id`` (404 outside the actor's reach);
    its alerts are computed now with the protocol in force, which it keeps."""
    _require(actor, Capability.CHART, "Your role cannot chart vital signs.")
    session, protocol = selectors.session_for_vitals(user=actor, pk=session_id)
    _ensure_open_for_charting(session)
    values = dict(
        recorded_at=recorded_at,
        bp_systolic=bp_systolic,
        bp_diastolic=bp_diastolic,
        heart_rate=heart_rate,
        spo2=spo2,
        resp_rate=resp_rate,
    )
    _refuse(_vitals_errors(session, values))
    return VitalSign.objects.create(
        session=session,
        alerts=_vitals_alerts(values, protocol),
        protocol=protocol,
        recorded_by=actor,
        **values,
    )


def _apply_correction(entry, *, actor, values: dict) -> list[str]:
    """Set the changed values on ``entry``, name the correction, save; the changed fields."""
    changed = [field for field, value in values.items() if getattr(entry, field) != value]
    if changed:
        for field in changed:
            setattr(entry, field, values[field])
        entry.corrected_by = actor
        entry.corrected_at = timezone.now()
        entry._history_user = actor
        entry.save()
    return changed


@transaction.atomic
def vitals_correct(*, actor, reading: VitalSign, **changes) -> tuple[VitalSign, list[str]]:
    """Correct a reading before the session is signed (a mistyped 190 for 140).

    The values are checked as on charting (impossible values refused field by
    field, time within the session's day) and the alerts are recomputed under
    the protocol version that judged the reading when it was charted
    (``reading.protocol``, unchanged): the correction fixes what was observed
    then, so the thresholds of then apply. Every earlier version stays in the
    reading's history. Returns the reading and the fields that changed (none:
    nothing saved). 409 once the session is signed or if it was cancelled.
    """
    _require(actor, Capability.CHART, "Your role cannot chart vital signs.")
    session = _lock_for_charting(actor=actor, session_id=reading.session_id)
    reading = VitalSign.objects.select_for_update().select_related("protocol").get(pk=reading.pk)
    unknown = set(changes) - set(VITALS_FIELDS)
    if unknown:
        raise RuleViolation(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    values = {f: changes.get(f, getattr(reading, f)) for f in VITALS_FIELDS}
    _refuse(_vitals_errors(session, values))
    alerts = _vitals_alerts(values, reading.protocol)
    changed = _apply_correction(reading, actor=actor, values={**values, "alerts": alerts})
    return reading, [field for field in changed if field != "alerts"]


def _side_effect_errors(session: InfusionSession, values: dict) -> dict:
    errors = {}
    if values["effect"] == SideEffect.Effect.OTHER and not (values.get("other_text") or "").strip():
        errors["other_text"] = "Describe the side effect when the effect is 'other'."
    if not (1 <= (values["grade"] or 0) <= 5):
        errors["grade"] = "Grade must be 1 (mild) to 5 (death)."
    message = charted_time_error(session=session, when=values["onset_at"], label="Onset")
    if message:
        errors["onset_at"] = message
    resolved = values.get("resolved_at")
    if resolved is not None:
        message = charted_time_error(session=session, when=resolved, label="Resolution")
        if message is None and values["onset_at"] and resolved < values["onset_at"]:
            message = "Resolution cannot be before the onset."
        if message:
            errors["resolved_at"] = message
    return errors


def _refresh_serious_adverse_event(session: InfusionSession) -> None:
    serious = any(
        monitoring.is_serious_adverse_event(grade)
        for grade in session.side_effects.values_list("grade", flat=True)
    )
    if serious != session.serious_adverse_event:
        # Charting read a few of the locked row's fields; its history keeps whole versions.
        session = InfusionSession.objects.get(pk=session.pk)
        session.serious_adverse_event = serious
        session.save(update_fields=["serious_adverse_event", "updated_at"])


@transaction.atomic
def side_effect_record(
    *,
    actor,
    session_id: int,
    effect: str,
    grade: int,
    onset_at: datetime.datetime,
    other_text: str = "",
    resolved_at: datetime.datetime | None = None,
    intervention: str = "",
    note: str = "",
) -> SideEffect:
    """Chart a side effect on the session ``session_id`` (404 outside the actor's reach);
    grade 3 or above marks the session as a serious adverse event."""
    _require(actor, Capability.CHART, "Your role cannot chart side effects.")
    session = _lock_for_charting(actor=actor, session_id=session_id)
    values = dict(
        effect=effect,
        grade=grade,
        onset_at=onset_at,
        other_text=(other_text or "").strip(),
        resolved_at=resolved_at,
        intervention=intervention,
        note=note,
    )
    _refuse(_side_effect_errors(session, values))
    side_effect = SideEffect.objects.create(session=session, recorded_by=actor, **values)
    _refresh_serious_adverse_event(session)
    return side_effect


SIDE_EFFECT_FIELDS = (
    "effect",
    "other_text",
    "grade",
    "onset_at",
    "resolved_at",
    "intervention",
    "note",
)


@transaction.atomic
def side_effect_update(
    *, actor, side_effect: SideEffect, **changes
) -> tuple[SideEffect, list[str]]:
    """Record a side effect's resolution, intervention or a corrected grade before signing.

    Checked as on charting; ``corrected_by`` / ``corrected_at`` name the latest
    change and every earlier version stays in the entry's history (as for vitals
    and mood notes). The session's serious adverse event follows the grades.
    Returns the side effect and the fields that changed (none: nothing saved).
    409 once the session is signed or if it was cancelled.
    """
    _require(actor, Capability.CHART, "Your role cannot chart side effects.")
    session = _lock_for_charting(actor=actor, session_id=side_effect.session_id)
    side_effect = SideEffect.objects.select_for_update().get(pk=side_effect.pk)
    unknown = set(changes) - set(SIDE_EFFECT_FIELDS)
    if unknown:
        raise RuleViolation(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    values = {f: changes.get(f, getattr(side_effect, f)) for f in SIDE_EFFECT_FIELDS}
    values["other_text"] = (values["other_text"] or "").strip()
    _refuse(_side_effect_errors(session, values))
    changed = _apply_correction(side_effect, actor=actor, values=values)
    _refresh_serious_adverse_event(session)
    return side_effect, changed


def _mood_note_errors(session: InfusionSession, values: dict) -> dict:
    errors = {}
    if values["phase"] not in MoodNote.Phase.values:
        errors["phase"] = "Choose the phase: before, during or after the infusion."
    for field, value in (("mood", values["mood"]), ("anxiety", values["anxiety"])):
        if value is None or not (0 <= value <= 10):
            errors[field] = f"{field.capitalize()} is scored 0 to 10."
    message = charted_time_error(session=session, when=values["recorded_at"], label="Time")
    if message:
        errors["recorded_at"] = message
    return errors


@transaction.atomic
def mood_note_record(
    *,
    actor,
    session_id: int,
    recorded_at: datetime.datetime,
    phase: str,
    mood: int,
    anxiety: int,
    text: str = "",
) -> MoodNote:
    """Chart the patient's mood and anxiety (0–10) before, during or after the infusion,
    on the session ``session_id`` (404 outside the actor's reach)."""
    _require(actor, Capability.CHART, "Your role cannot chart mood notes.")
    session = _lock_for_charting(actor=actor, session_id=session_id)
    values = dict(recorded_at=recorded_at, phase=phase, mood=mood, anxiety=anxiety, text=text)
    _refuse(_mood_note_errors(session, values))
    return MoodNote.objects.create(session=session, recorded_by=actor, **values)


@transaction.atomic
def mood_note_correct(*, actor, note: MoodNote, **changes) -> tuple[MoodNote, list[str]]:
    """Correct a mood note before the session is signed (checked as on charting).

    Every earlier version stays in the note's history. Returns the note and the
    fields that changed (none: nothing saved). 409 once the session is signed
    or if it was cancelled.
    """
    _require(actor, Capability.CHART, "Your role cannot chart mood notes.")
    session = _lock_for_charting(actor=actor, session_id=note.session_id)
    note = MoodNote.objects.select_for_update().get(pk=note.pk)
    unknown = set(changes) - set(MOOD_NOTE_FIELDS)
    if unknown:
        raise RuleViolation(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    values = {f: changes.get(f, getattr(note, f)) for f in MOOD_NOTE_FIELDS}
    _refuse(_mood_note_errors(session, values))
    return note, _apply_correction(note, actor=actor, values=values)


# What the audit trail says about an action: what happened, never clinician free text
# (reasons and notes stay in the record, which the audit event points to).


def session_action_audit_detail(*, action: str, session: InfusionSession) -> str:
    """The audit event's detail line for a session action (API and charting screen alike)."""
    if action == "override":
        return f"dose override to {session.dose_mg_per_kg} mg/kg (reason recorded on the session)"
    return {
        "verify_dose": "dose verified",
        "go_ahead": "go-ahead despite pre-infusion blood pressure hold "
        "(reason recorded on the session)",
        "start": "infusion started",
        "stop": "infusion stopped early (reason recorded on the session)",
        "complete": "infusion completed",
        "cancel": "session cancelled (reason recorded on the session)",
    }[action]


def correction_audit_detail(*, entry, fields: list[str]) -> str:
    """The audit event's detail line for a corrected flowsheet entry: which fields changed."""
    what = {"vitalsign": "vital signs", "sideeffect": "side effect", "moodnote": "mood note"}[
        entry._meta.model_name
    ]
    if not fields:
        return f"{what} resubmitted unchanged"
    return f"{what} corrected: {', '.join(fields)}"


# Monitoring protocol

PROTOCOL_FIELD_RANGES = {
    "pause_systolic_at": (100, 280),
    "pause_diastolic_at": (50, 180),
    "heart_rate_high_at": (80, 250),
    "heart_rate_low_at": (20, 80),
    "spo2_below": (80, 100),
    "resp_rate_below": (4, 20),
    "hold_pre_systolic_at": (100, 280),
    "hold_pre_diastolic_at": (50, 180),
    "vitals_interval_minutes": (5, 60),
    "observation_minutes": (0, 480),
}


@transaction.atomic
def monitoring_protocol_publish(*, actor, note: str = "", **thresholds) -> MonitoringProtocol:
    """Publish a new protocol version (prescriber). Fields not given keep the current value.

    New readings are judged by it; earlier readings keep the version that
    judged them.
    """
    _require(
        actor,
        Capability.PUBLISH_MONITORING_PROTOCOL,
        "Only a prescriber can publish the monitoring protocol.",
    )
    current = MonitoringProtocol.objects.select_for_update().get(
        pk=monitoring.current_protocol().pk
    )
    values = {f: thresholds.get(f, getattr(current, f)) for f in PROTOCOL_FIELD_RANGES}
    errors = {}
    for field, (low, high) in PROTOCOL_FIELD_RANGES.items():
        if values[field] is None or not (low <= values[field] <= high):
            errors[field] = f"Must be between {low} and {high}."
    if not errors:
        if values["hold_pre_systolic_at"] > values["pause_systolic_at"]:
            errors["hold_pre_systolic_at"] = (
                "The pre-infusion hold cannot be above the pause level."
            )
        if values["hold_pre_diastolic_at"] > values["pause_diastolic_at"]:
            errors["hold_pre_diastolic_at"] = (
                "The pre-infusion hold cannot be above the pause level."
            )
        if values["heart_rate_low_at"] >= values["heart_rate_high_at"]:
            errors["heart_rate_low_at"] = "The low heart rate must be below the high one."
    _refuse(errors)
    try:
        with transaction.atomic():
            return MonitoringProtocol.objects.create(
                version=current.version + 1,
                created_by=actor,
                note=note,
                **values,
            )
    except IntegrityError:
        raise ConflictingState(
            "Another version of the protocol was published at the same time; review it first."
        ) from None
