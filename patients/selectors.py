"""The access functions for patients and everything recorded under a patient.

Every read of patient data starts here (API views, web pages, Celery tasks).
What a user may not see does not exist for them: ``*_get`` functions answer
404, never 403, so an outsider cannot learn that a record exists.

- the practice manager (admin) reaches every patient's demographics and no
  clinical record;
- a clinician reaches the patients whose care team they are on (a
  django-guardian object permission), plus those opened by break-the-glass
  while the grant lasts — demographics and clinical records;
- a referring provider reaches the demographics of the patients they referred.
"""

from __future__ import annotations

from functools import cache

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, connections
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from ehr.grants import own_grant_ids, own_grants_params, own_grants_sql, quoted_names
from ehr.roles import Capability, can
from patients.models import (
    CARE_TEAM_PERMISSION,
    Assessment,
    BreakGlassAccess,
    Consent,
    Evaluation,
    Patient,
    PatientUserObjectPermission,
    ReferringProvider,
    SafetyAlert,
)


def care_team_patients(*, user) -> QuerySet[Patient]:
    """Patients on whose care team the user is: their own object permission only.

    Care-team grants are given to users (``care_team_grant``), never to groups,
    so groups are not consulted: guardian's user-or-group query is an ``OR`` of
    two subqueries that PostgreSQL answers by scanning every patient of the
    clinic, where the user's own grants are one index lookup.
    """
    ids = own_grant_ids(
        user=user, grant_model=PatientUserObjectPermission, codename=CARE_TEAM_PERMISSION
    )
    return Patient.objects.filter(pk__in=ids)


@cache
def _clinical_patient_ids_sql() -> str:
    """The ids of the patients a clinician reaches, as one SQL statement.

    Care-team grants (the user's own ``care_for_patient`` permissions, as in
    ``care_team_patients``) ``UNION`` break-glass grants still in force: one set of
    ids, not "in the team OR in the grants" (an ``OR`` of two subqueries makes
    PostgreSQL scan every patient; a union reads only the user's rows, by index).
    Written once (``ehr.grants``): the ORM would build and compile the same statement
    from querysets on every request. The values are always parameters.
    """
    names = quoted_names(
        glass=(BreakGlassAccess, None),
        glass_patient=(BreakGlassAccess, "patient"),
        glass_user=(BreakGlassAccess, "user"),
        expires_at=(BreakGlassAccess, "expires_at"),
    )
    # Identifiers only (quoted names from the models); every value is a parameter.
    return own_grants_sql(PatientUserObjectPermission) + (  # noqa: S608
        " UNION SELECT b.{glass_patient} FROM {glass} b"  # nosec B608
        " WHERE b.{glass_user} = %s AND b.{expires_at} > %s"
    ).format(**names)


def clinical_patient_ids(*, user) -> RawSQL | None:
    """The ids of the patients whose clinical records the user may read and chart, as a
    subquery for ``<patient>__in=``; None when the role reads no clinical record."""
    if not can(user, Capability.VIEW_CLINICAL_RECORDS):
        return None
    team = own_grants_params(
        user=user, grant_model=PatientUserObjectPermission, codename=CARE_TEAM_PERMISSION
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return RawSQL(_clinical_patient_ids_sql(), (*team, user.pk, now))  # noqa: S611  # nosec B611


def clinical_patient_list_for_user(*, user) -> QuerySet[Patient]:
    """Patients whose clinical records the user may read and chart."""
    ids = clinical_patient_ids(user=user)
    if ids is None:
        return Patient.objects.none()
    return Patient.objects.filter(pk__in=ids)


def patient_list_for_user(*, user) -> QuerySet[Patient]:
    """Patients whose demographics the user may see."""
    if can(user, Capability.VIEW_ALL_DEMOGRAPHICS):
        return Patient.objects.all()
    if can(user, Capability.VIEW_CLINICAL_RECORDS):
        return clinical_patient_list_for_user(user=user)
    if can(user, Capability.VIEW_REFERRED_PATIENTS):
        return Patient.objects.filter(referring_provider__user=user)
    return Patient.objects.none()


def patient_get_for_user(*, user, pk) -> Patient:
    """One patient whose demographics the user may see, or 404."""
    return _get_or_404(patient_list_for_user(user=user), pk)


def clinical_patient_get(*, user, pk) -> Patient:
    """One patient whose clinical record the user may read, or 404."""
    return _get_or_404(clinical_patient_list_for_user(user=user), pk)


def scoped_to_clinical_patients(
    queryset: QuerySet, *, user, patient_path: str = "patient"
) -> QuerySet:
    """Restrict any queryset of records under a patient to what the user may read.

    ``patient_path`` is the lookup from the record to its patient, e.g.
    ``"session__course__patient"`` for vitals.
    """
    ids = clinical_patient_ids(user=user)
    if ids is None:
        return queryset.none()
    return queryset.filter(**{f"{patient_path}__in": ids})


def with_care_team(queryset: QuerySet[Patient]) -> QuerySet[Patient]:
    """Each patient with its care team's user ids, so ``care_team_ids`` costs no query.

    The ids come as one array per patient from the same query (a subquery that
    PostgreSQL runs for the rows of the page only, by index): no grant rows are
    built into model instances, which is most of what a page of patients costs.
    Other databases (SQLite, the zero-setup default) have no arrays: there the
    grants are prefetched, one query per page.
    """
    grants = PatientUserObjectPermission.objects.filter(
        permission__codename=CARE_TEAM_PERMISSION
    ).order_by("user_id")
    if connections[queryset.db].vendor != "postgresql":
        return queryset.prefetch_related(
            Prefetch("patientuserobjectpermission_set", queryset=grants, to_attr="care_team_grants")
        )
    ids = grants.filter(content_object=OuterRef("pk")).values("user_id")
    return queryset.annotate(care_team_user_ids=ArraySubquery(ids))


def care_team_ids(patient: Patient) -> list[int]:
    ids = getattr(patient, "care_team_user_ids", None)
    if ids is not None:
        return list(ids)
    prefetched = getattr(patient, "care_team_grants", None)
    if prefetched is not None:
        return [grant.user_id for grant in prefetched]
    grants = patient.patientuserobjectpermission_set.filter(
        permission__codename=CARE_TEAM_PERMISSION
    ).order_by("user_id")
    return [grant.user_id for grant in grants]


def patient_for_break_glass(*, user, pk) -> Patient:
    """The patient a clinician outside the care team asks to open by breaking the glass.

    Any clinician may break the glass on an existing patient id; the answer
    reveals nothing but that the grant was made. Others get 404.
    """
    if not can(user, Capability.BREAK_THE_GLASS):
        raise Http404("No such patient.")
    return _get_or_404(Patient.objects.all(), pk)


def live_break_glass_grant(*, user, patient: Patient) -> BreakGlassAccess | None:
    """The user's break-the-glass grant on this patient still in force (the latest), or None."""
    return (
        BreakGlassAccess.objects.filter(user=user, patient=patient, expires_at__gt=timezone.now())
        .order_by("-expires_at")
        .first()
    )


def break_glass_list_for_user(*, user) -> QuerySet[BreakGlassAccess]:
    """Break-the-glass grants, for whoever reads the audit log (the practice manager)."""
    if not can(user, Capability.READ_AUDIT_LOG):
        return BreakGlassAccess.objects.none()
    return BreakGlassAccess.objects.select_related("user", "patient")


# --- Referring providers ------------------------------------------------------------------------


def referring_provider_list_for_user(*, user) -> QuerySet[ReferringProvider]:
    """Referring providers, for clinic staff only (never another referring provider)."""
    if not can(user, Capability.VIEW_REFERRING_PROVIDERS):
        return ReferringProvider.objects.none()
    return ReferringProvider.objects.all()


# --- Clinical records under a patient -----------------------------------------------------------


def consent_list_for_user(*, user) -> QuerySet[Consent]:
    return scoped_to_clinical_patients(Consent.objects.all(), user=user).select_related(
        "patient", "recorded_by"
    )


def patient_has_consent(*, patient: Patient) -> bool:
    """Whether an informed consent for ketamine treatment is on file."""
    return patient.consents.exists()


def evaluation_list_for_user(*, user) -> QuerySet[Evaluation]:
    return scoped_to_clinical_patients(Evaluation.objects.all(), user=user).select_related(
        "patient", "evaluator", "signed_by"
    )


def evaluation_get(*, user, pk) -> Evaluation:
    """One evaluation the user may read, or 404."""
    return _get_or_404(evaluation_list_for_user(user=user), pk, what="evaluation")


def evaluation_amendment_list(*, evaluation: Evaluation) -> QuerySet:
    """The amendments of an evaluation the caller reached through ``evaluation_get``."""
    return evaluation.amendments.select_related("author").order_by("created_at", "id")


def latest_signed_evaluation(*, patient: Patient) -> Evaluation | None:
    """The patient's most recent signed evaluation (by date, then signature), or None."""
    return (
        patient.evaluations.filter(signed_at__isnull=False)
        .select_related("evaluator", "signed_by")
        .order_by("-evaluated_on", "-signed_at", "-id")
        .first()
    )


def assessment_list_for_user(*, user) -> QuerySet[Assessment]:
    return scoped_to_clinical_patients(Assessment.objects.all(), user=user).select_related(
        "patient", "recorded_by"
    )


_LATEST = object()


def baseline_scores(*, patient: Patient, evaluation=_LATEST) -> dict[str, Assessment]:
    """The baseline of each instrument for response and remission: {instrument: Assessment}.

    The baseline is the evaluation's score: the assessment attached to the
    latest signed evaluation (the latest one if several of an instrument);
    for an instrument not scored there, the earliest assessment administered
    before the first infusion session (any assessment if there is no session
    yet). The caller reached the patient through ``clinical_patient_get``.
    ``evaluation``: the patient's ``latest_signed_evaluation`` when the caller has
    already read it (saves reading it again).
    """
    baselines: dict[str, Assessment] = {}
    if evaluation is _LATEST:
        evaluation = latest_signed_evaluation(patient=patient)
    if evaluation is not None:
        for assessment in evaluation.assessments.order_by("administered_at", "id"):
            baselines[assessment.instrument] = assessment
    earlier = patient.assessments.order_by("administered_at", "id")
    first_session = first_session_time(patient=patient)
    if first_session is not None:
        earlier = earlier.filter(administered_at__lt=first_session)
    for assessment in earlier:
        baselines.setdefault(assessment.instrument, assessment)
    return baselines


def first_session_time(*, patient: Patient):
    """When the patient's first infusion session (not cancelled) started or was scheduled."""
    from sessions.models import InfusionSession

    return (
        InfusionSession.objects.filter(course__patient=patient)
        .exclude(status=InfusionSession.Status.CANCELLED)
        .aggregate(first=Min(Coalesce("started_at", "scheduled_for")))["first"]
    )


#: A safety alert stays active until a prescriber acknowledges it with a note.
_ACTIVE_ALERT = Q(acknowledged_at__isnull=True)


def safety_alert_list(patient: Patient, *, active: bool | None = None) -> QuerySet[SafetyAlert]:
    """A patient's safety alerts, newest first; ``active=True``: not yet acknowledged.

    The caller reached the patient through ``clinical_patient_get``.
    """
    alerts = patient.safety_alerts.select_related("acknowledged_by")
    if active is True:
        alerts = alerts.filter(_ACTIVE_ALERT)
    elif active is False:
        alerts = alerts.exclude(_ACTIVE_ALERT)
    return alerts


def active_safety_alerts(*, patient: Patient) -> QuerySet[SafetyAlert]:
    """One patient's active safety alerts (reached through ``clinical_patient_get``)."""
    return safety_alert_list(patient=patient, active=True)


def with_active_safety_alert(patients: QuerySet[Patient]) -> QuerySet[Patient]:
    """Annotate each patient with ``has_active_safety_alert`` (no extra query per patient).

    Annotates the queryset it is given: start from a clinical selector
    (``clinical_patient_list_for_user``) so the flag is shown only to whoever may
    read the patient's clinical record.
    """
    active = SafetyAlert.objects.filter(_ACTIVE_ALERT, patient=OuterRef("pk"))
    return patients.annotate(has_active_safety_alert=Exists(active))


def patient_ids_with_active_safety_alerts(*, user, patient_ids) -> set[int]:
    """Of ``patient_ids``, those whose clinical record the user may read that have an
    active safety alert. One query however many patients (for boards and lists)."""
    patients = clinical_patient_list_for_user(user=user).filter(pk__in=list(patient_ids))
    return set(
        with_active_safety_alert(patients)
        .filter(has_active_safety_alert=True)
        .values_list("pk", flat=True)
    )


def safety_alert_get(*, patient: Patient, pk) -> SafetyAlert:
    return _get_or_404(safety_alert_list(patient=patient), pk, what="safety alert")


def _get_or_404(queryset: QuerySet, pk, what: str = "patient"):
    try:
        return queryset.get(pk=int(pk))
    except (ValueError, TypeError, queryset.model.DoesNotExist):
        raise Http404(f"No such {what}.") from None
