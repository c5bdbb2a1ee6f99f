"""Writes to patients and everything recorded under a patient.

Every function runs in one transaction, enforces the clinical and access rules
(each in its own function elsewhere in the app) and raises ``ehr.errors``
exceptions the API and web UI turn into 400 / 403 / 409 answers. Callers
resolve the patient or record through ``patients.selectors`` first: these
functions do not re-check that the actor may see the patient.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from ehr.errors import ConflictingState, NotAllowed, RuleViolation
from ehr.records import ensure_unsigned
from ehr.roles import Capability, can, is_clinician
from patients.contraindications import contraindication_answer_errors
from patients.eligibility import eligibility_errors, evaluation_measure_errors
from patients.models import (
    CARE_TEAM_PERMISSION,
    Assessment,
    BreakGlassAccess,
    Consent,
    Evaluation,
    EvaluationAmendment,
    Patient,
    PatientUserObjectPermission,
    ReferringProvider,
    SafetyAlert,
)
from patients.npi import npi_is_valid
from patients.scales import PHQ9_SELF_HARM_ITEM, instrument_label, raises_self_harm_alert, score
from patients.signals import portal_account_changed

# --- Care team ----------------------------------------------------------------------------------


def care_team_grant(*, patient: Patient, user) -> None:
    """Put a clinician on the patient's care team (idempotent)."""
    assign_perm(CARE_TEAM_PERMISSION, user, patient)


def care_team_revoke(*, patient: Patient, user) -> None:
    remove_perm(CARE_TEAM_PERMISSION, user, patient)


def is_on_care_team(*, patient: Patient, user) -> bool:
    return PatientUserObjectPermission.objects.filter(
        content_object=patient, user=user, permission__codename=CARE_TEAM_PERMISSION
    ).exists()


def may_manage_care_team(*, actor, patient: Patient) -> bool:
    """The practice manager manages every care team; a prescriber only their own patients'."""
    if not can(actor, Capability.MANAGE_CARE_TEAMS):
        return False
    if is_clinician(actor):
        return patient.responsible_prescriber_id == actor.pk
    return True


CARE_TEAM_ADD = "add"
CARE_TEAM_REMOVE = "remove"


@transaction.atomic
def care_team_change(*, actor, patient: Patient, user, action: str) -> bool:
    """Add a clinician to, or remove one from, the patient's care team.

    Allowed for the practice manager and the patient's responsible prescriber.
    Only active prescribers and nurses can join; the responsible prescriber
    cannot be removed (change the responsible prescriber first). Returns
    whether the team changed (adding a member twice changes nothing). The
    caller records the audit event (action ``permission_change``).
    """
    if not may_manage_care_team(actor=actor, patient=patient):
        raise NotAllowed(
            "Only the practice manager or the patient's responsible prescriber "
            "can change this care team."
        )
    on_team = is_on_care_team(patient=patient, user=user)
    if action == CARE_TEAM_ADD:
        if not is_clinician(user):
            raise RuleViolation(
                "Only active prescribers and nurses can join a care team.", field="user"
            )
        if on_team:
            return False
        care_team_grant(patient=patient, user=user)
        return True
    if action == CARE_TEAM_REMOVE:
        if patient.responsible_prescriber_id == user.pk:
            raise ConflictingState(
                "The responsible prescriber stays on the care team; "
                "name another responsible prescriber first.",
                field="user",
            )
        if not on_team:
            return False
        care_team_revoke(patient=patient, user=user)
        return True
    raise RuleViolation("Action must be 'add' or 'remove'.", field="action")


# --- Break-the-glass ----------------------------------------------------------------------------


@transaction.atomic
def break_glass_open(
    *, actor, patient: Patient, reason: str, hours: int | None = None
) -> BreakGlassAccess:
    """Open a patient's record to a clinician outside its care team for a limited time.

    The grant lasts ``settings.BREAK_GLASS_HOURS`` (default 4) unless ``hours``
    says otherwise. A reason is required. The caller records the audit event
    (action ``break_glass``).
    """
    if not can(actor, Capability.BREAK_THE_GLASS):
        raise NotAllowed("Only clinicians can break the glass.")
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Give the reason you need this record.", field="reason")
    if is_on_care_team(patient=patient, user=actor):
        raise ConflictingState("You are on this patient's care team already.")
    hours = settings.BREAK_GLASS_HOURS if hours is None else hours
    now = timezone.now()
    return BreakGlassAccess.objects.create(
        user=actor,
        patient=patient,
        reason=reason,
        expires_at=now + datetime.timedelta(hours=hours),
    )


# --- Referring providers ------------------------------------------------------------------------


def _check_referring_provider(provider: ReferringProvider) -> None:
    if not npi_is_valid(provider.npi):
        raise RuleViolation(
            "An NPI is 10 digits whose last digit is the Luhn check digit (with prefix 80840).",
            field="npi",
        )
    duplicate = ReferringProvider.objects.filter(npi=provider.npi).exclude(pk=provider.pk)
    if duplicate.exists():
        raise RuleViolation("Another referring provider has this NPI.", field="npi")
    if provider.user_id is not None:
        if not can(provider.user, Capability.VIEW_RELEASED_SUMMARIES):
            raise RuleViolation(
                "The linked portal account must be an active referring-provider account.",
                field="user",
            )
        taken = ReferringProvider.objects.filter(user_id=provider.user_id).exclude(pk=provider.pk)
        if taken.exists():
            raise RuleViolation(
                "This portal account is linked to another referring provider.", field="user"
            )
    _full_clean(provider, exclude=["npi", "user"])


@transaction.atomic
def referring_provider_create(*, actor, **fields) -> ReferringProvider:
    provider = ReferringProvider(**fields)
    _check_referring_provider(provider)
    provider._history_user = actor
    provider.save()
    return provider


@transaction.atomic
def referring_provider_update(
    *, actor, provider: ReferringProvider, **changes
) -> ReferringProvider:
    """Change a referring provider.

    When the linked portal account changes, ``patients.signals.portal_account_changed``
    is sent in this transaction: what was released to the provider follows the link.
    """
    # Lock the row: a summary released at the same moment must see the old link or the new.
    provider = (
        ReferringProvider.objects.select_for_update(of=("self",))
        .select_related("user")
        .get(pk=provider.pk)
    )
    old_user = provider.user
    for name, value in changes.items():
        setattr(provider, name, value)
    _check_referring_provider(provider)
    provider._history_user = actor
    provider.save()
    if provider.user_id != (old_user.pk if old_user else None):
        portal_account_changed.send(
            sender=ReferringProvider,
            provider=provider,
            old_user=old_user,
            new_user=provider.user,
            actor=actor,
        )
    return provider


# --- Patients -----------------------------------------------------------------------------------

# Where a patient may go next. A discharged or declined patient may be referred again.
_STATUS_NEXT = {
    Patient.Status.REFERRED: {
        Patient.Status.EVALUATING,
        Patient.Status.DECLINED,
        Patient.Status.DISCHARGED,
    },
    Patient.Status.EVALUATING: {
        Patient.Status.ACTIVE,
        Patient.Status.DECLINED,
        Patient.Status.DISCHARGED,
    },
    Patient.Status.ACTIVE: {Patient.Status.MAINTENANCE, Patient.Status.DISCHARGED},
    Patient.Status.MAINTENANCE: {Patient.Status.ACTIVE, Patient.Status.DISCHARGED},
    Patient.Status.DISCHARGED: {Patient.Status.REFERRED},
    Patient.Status.DECLINED: {Patient.Status.REFERRED},
}


def patient_lock_for_readiness(*, patient_id: int) -> None:
    """Lock the patient's row before whether they may be treated is read or changed.

    Taken by signing an evaluation and, before the course and the session, by
    scheduling and starting an infusion (``sessions.services``): a start racing a
    signature either sees it or waits for it. Rows are locked patient, course,
    session, and ``FOR NO KEY UPDATE``: a record added under the patient meanwhile
    (a rating scale) only takes a key share, which this lock lets through, so the
    two never deadlock.
    """
    patients = Patient.objects.select_for_update(no_key=True)
    patients.values_list("pk", flat=True).get(pk=patient_id)


def patient_status_change_allowed(*, current: str, new: str) -> bool:
    """The patient status lifecycle: referred → evaluating → active ⇄ maintenance → discharged."""
    return current == new or new in _STATUS_NEXT.get(current, set())


def _check_patient(patient: Patient, *, prescriber_named: bool = True) -> None:
    # A prescriber who has since left does not block edits; naming one who cannot
    # prescribe is refused.
    prescriber = patient.responsible_prescriber
    if (
        prescriber_named
        and prescriber is not None
        and not can(prescriber, Capability.ORDER_TREATMENT)
    ):
        raise RuleViolation(
            "The responsible prescriber must be an active prescriber.",
            field="responsible_prescriber",
        )
    _full_clean(patient, exclude=["created_by"])


@transaction.atomic
def patient_create(*, actor, **fields) -> Patient:
    """Register a patient with a new MRN.

    A clinician who registers a patient joins its care team, and so does the
    responsible prescriber.
    """
    fields.pop("mrn", None)
    patient = Patient(created_by=actor, **fields)
    _check_patient(patient)
    patient._history_user = actor
    patient.save()
    if is_clinician(actor):
        care_team_grant(patient=patient, user=actor)
    if patient.responsible_prescriber_id is not None:
        care_team_grant(patient=patient, user=patient.responsible_prescriber)
    return patient


@transaction.atomic
def patient_update(*, actor, patient: Patient, **changes) -> Patient:
    """Change demographics, referral, diagnosis, responsible prescriber or status.

    The MRN never changes. Status follows ``patient_status_change_allowed``.
    Only whoever may manage the care team names another responsible
    prescriber, who then joins the care team.
    """
    if "mrn" in changes and changes["mrn"] != patient.mrn:
        raise RuleViolation("The MRN is assigned once and never changes.", field="mrn")
    changes.pop("mrn", None)
    # Lock the row: two people changing status at once must not skip the lifecycle.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    new_prescriber = changes.get("responsible_prescriber", patient.responsible_prescriber)
    new_prescriber_id = new_prescriber.pk if new_prescriber is not None else None
    if new_prescriber_id != patient.responsible_prescriber_id and not may_manage_care_team(
        actor=actor, patient=patient
    ):
        # The responsible prescriber manages the care team: naming one is a care-team change.
        raise NotAllowed(
            "Only the practice manager or the current responsible prescriber can name "
            "another responsible prescriber."
        )
    new_status = changes.get("status", patient.status)
    if not patient_status_change_allowed(current=patient.status, new=new_status):
        raise RuleViolation(
            f"A {patient.status} patient cannot become {new_status}.", field="status"
        )
    prescriber_named = new_prescriber_id != patient.responsible_prescriber_id
    for name, value in changes.items():
        setattr(patient, name, value)
    _check_patient(patient, prescriber_named=prescriber_named)
    patient._history_user = actor
    patient.save()
    if patient.responsible_prescriber_id is not None:
        care_team_grant(patient=patient, user=patient.responsible_prescriber)
    return patient


# --- Consent ------------------------------------------------------------------------------------


@transaction.atomic
def consent_create(
    *, actor, patient: Patient, form_version: str, signed_on: datetime.date, witness: str
) -> Consent:
    """Record the patient's signed informed consent for ketamine treatment."""
    if signed_on > timezone.localdate():
        raise RuleViolation("A consent cannot be signed in the future.", field="signed_on")
    if signed_on < patient.date_of_birth:
        raise RuleViolation("A consent cannot predate the patient's birth.", field="signed_on")
    consent = Consent(
        patient=patient,
        form_version=form_version.strip(),
        signed_on=signed_on,
        witness=witness.strip(),
        recorded_by=actor,
    )
    _full_clean(consent)
    consent._history_user = actor
    consent.save()
    return consent


# --- Evaluations --------------------------------------------------------------------------------

#: What a clinician charts on an evaluation: the fields ``evaluation_create`` and
#: ``evaluation_update`` accept besides the patient (the API shows the same fields).
EVALUATION_FIELDS = (
    "evaluated_on",
    "evaluator",
    "psychiatric_history",
    "prior_treatments",
    "medical_history",
    "current_medications",
    "allergies",
    "weight_kg",
    "height_cm",
    "bp_systolic",
    "bp_diastolic",
    "heart_rate",
    "contraindications",
    "eligibility",
    "precautions",
    "notes",
)


def _check_evaluation(evaluation: Evaluation, *, evaluator_named: bool = True) -> None:
    # An evaluator who has since left does not block edits or the signature.
    if evaluator_named and not is_clinician(evaluation.evaluator):
        raise RuleViolation("The evaluator must be an active clinician.", field="evaluator")
    if evaluation.evaluated_on > timezone.localdate():
        raise RuleViolation("An evaluation cannot be dated in the future.", field="evaluated_on")
    problems = contraindication_answer_errors(evaluation.contraindications)
    if problems:
        raise RuleViolation(" ".join(problems), field="contraindications")
    for field, message in evaluation_measure_errors(
        weight_kg=evaluation.weight_kg,
        height_cm=evaluation.height_cm,
        bp_systolic=evaluation.bp_systolic,
        bp_diastolic=evaluation.bp_diastolic,
        heart_rate=evaluation.heart_rate,
    ).items():
        raise RuleViolation(message, field=field)
    for field, message in eligibility_errors(
        contraindications=evaluation.contraindications,
        eligibility=evaluation.eligibility,
        precautions=evaluation.precautions,
    ).items():
        raise RuleViolation(message, field=field)
    _full_clean(evaluation, exclude=["patient", "evaluator", "signed_by"])


def _unknown_fields(changes: dict) -> None:
    unknown = set(changes).difference(EVALUATION_FIELDS)
    if unknown:
        raise TypeError(f"Not evaluation fields: {', '.join(sorted(unknown))}")


@transaction.atomic
def evaluation_create(*, actor, patient: Patient, evaluator=None, **fields) -> Evaluation:
    """Record a pre-treatment evaluation; the evaluator defaults to the actor."""
    if not can(actor, Capability.CHART):
        raise NotAllowed("Only clinicians record evaluations.")
    _unknown_fields(fields)
    evaluation = Evaluation(patient=patient, evaluator=evaluator or actor, **fields)
    _check_evaluation(evaluation)
    evaluation._history_user = actor
    evaluation.save()
    return evaluation


@transaction.atomic
def evaluation_update(*, actor, evaluation: Evaluation, **changes) -> Evaluation:
    """Change an unsigned evaluation; a signed one is locked (409)."""
    if not can(actor, Capability.CHART):
        raise NotAllowed("Only clinicians change evaluations.")
    _unknown_fields(changes)
    # Lock the row so a change cannot slip in while a prescriber signs it.
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    ensure_unsigned(evaluation, what="evaluation")
    if changes.get("evaluator") is None:
        changes.pop("evaluator", None)
    evaluator_named = "evaluator" in changes and changes["evaluator"].pk != evaluation.evaluator_id
    for name, value in changes.items():
        setattr(evaluation, name, value)
    _check_evaluation(evaluation, evaluator_named=evaluator_named)
    evaluation._history_user = actor
    evaluation.save()
    return evaluation


@transaction.atomic
def evaluation_sign(*, actor, evaluation: Evaluation) -> Evaluation:
    """A prescriber signs the evaluation: records who and when and locks it.

    An evaluation still ``pending`` cannot be signed: signing states the
    eligibility decision.
    """
    if not can(actor, Capability.SIGN_RECORDS):
        raise NotAllowed("Only a prescriber can sign an evaluation.")
    patient_lock_for_readiness(patient_id=evaluation.patient_id)
    # Then the row: two signatures, or a signature racing an edit, must not both win.
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if evaluation.is_signed:
        raise ConflictingState(
            f"This evaluation was already signed on {evaluation.signed_at:%Y-%m-%d %H:%M}."
        )
    if evaluation.eligibility == Evaluation.Eligibility.PENDING:
        raise RuleViolation(
            "Decide eligibility before signing: a pending evaluation cannot be signed.",
            field="eligibility",
        )
    _check_evaluation(evaluation, evaluator_named=False)
    evaluation.signed_at = timezone.now()
    evaluation.signed_by = actor
    evaluation._history_user = actor
    evaluation.save(update_fields=["signed_at", "signed_by", "updated_at"])
    return evaluation


@transaction.atomic
def evaluation_amend(*, actor, evaluation: Evaluation, text: str) -> EvaluationAmendment:
    """Append a correction to a signed evaluation (amendments are never edited)."""
    if not can(actor, Capability.CHART):
        raise NotAllowed("Only clinicians amend evaluations.")
    text = (text or "").strip()
    if not text:
        raise RuleViolation("Write the correction.", field="text")
    if not evaluation.is_signed:
        raise ConflictingState(
            "This evaluation is not signed yet: correct it directly instead of amending it."
        )
    return EvaluationAmendment.objects.create(evaluation=evaluation, author=actor, text=text)


# --- Rating scales and safety alerts ------------------------------------------------------------


@transaction.atomic
def assessment_create(
    *,
    actor,
    patient: Patient,
    instrument: str,
    answers: list[int],
    administered_at: datetime.datetime,
    session=None,
    evaluation: Evaluation | None = None,
) -> Assessment:
    """Record one administration of a rating scale with every item answer.

    The total and severity come from ``patients.scales.score``. A PHQ-9 with
    item 9 above 0 raises a self-harm safety alert on the patient. An
    assessment attached to a session or evaluation must be the same patient's
    and the record must not be signed (409).
    """
    if not can(actor, Capability.CHART):
        raise NotAllowed("Only clinicians record rating scales.")
    result = score(instrument=instrument, answers=answers)
    if administered_at > timezone.now() + datetime.timedelta(minutes=5):
        raise RuleViolation(
            "A rating scale cannot be administered in the future.", field="administered_at"
        )
    if session is not None and evaluation is not None:
        raise RuleViolation(
            "Attach the rating scale to a session or to an evaluation, not both.",
            field="session",
        )
    if session is not None:
        session = (
            type(session)
            .objects.select_for_update(of=("self",))  # the session row alone (lock order)
            .select_related("course")
            .get(pk=session.pk)
        )
        if session.course.patient_id != patient.pk:
            raise RuleViolation("This session belongs to another patient.", field="session")
        ensure_unsigned(session, what="session")
    if evaluation is not None:
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
        if evaluation.patient_id != patient.pk:
            raise RuleViolation("This evaluation belongs to another patient.", field="evaluation")
        ensure_unsigned(evaluation, what="evaluation")
    assessment = Assessment(
        patient=patient,
        instrument=instrument,
        answers=list(answers),
        total=result.total,
        severity=result.severity,
        administered_at=administered_at,
        session=session,
        evaluation=evaluation,
        recorded_by=actor,
    )
    assessment._history_user = actor
    assessment.save()
    if raises_self_harm_alert(instrument=instrument, answers=answers):
        safety_alert_raise_self_harm(assessment=assessment)
    return assessment


def safety_alert_raise_self_harm(*, assessment: Assessment) -> SafetyAlert:
    answer = assessment.answers[PHQ9_SELF_HARM_ITEM - 1]
    when = timezone.localtime(assessment.administered_at)
    return SafetyAlert.objects.create(
        patient=assessment.patient,
        kind=SafetyAlert.Kind.SELF_HARM,
        assessment=assessment,
        message=(
            f"{instrument_label(assessment.instrument)} item 9 (thoughts of self-harm) "
            f"answered {answer} of 3 on {when:%Y-%m-%d %H:%M}. "
            "Assess suicide risk before the next infusion."
        ),
    )


@transaction.atomic
def safety_alert_acknowledge(*, actor, alert: SafetyAlert, note: str) -> SafetyAlert:
    """A prescriber acknowledges a safety alert with a note; it then leaves the active list."""
    if not can(actor, Capability.ACKNOWLEDGE_SAFETY_ALERTS):
        raise NotAllowed("Only a prescriber can acknowledge a safety alert.")
    note = (note or "").strip()
    if not note:
        raise RuleViolation("Write what was done about this alert.", field="note")
    # Lock the row: two prescribers acknowledging at once must not both succeed.
    alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is not None:
        raise ConflictingState(
            f"This alert was already acknowledged on {alert.acknowledged_at:%Y-%m-%d %H:%M}."
        )
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    alert.note = note
    alert.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
    return alert


# --- Helpers ------------------------------------------------------------------------------------


def _full_clean(instance, exclude=None) -> None:
    """Model validation as a field-level RuleViolation (the first problem found)."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            raise RuleViolation(
                " ".join(messages), field=None if field == "__all__" else field
            ) from None
