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

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from ehr.roles import Capability, can
from patients.models import (
    CARE_TEAM_PERMISSION,
    BreakGlassAccess,
    Patient,
    PatientUserObjectPermission,
)


def care_team_patients(*, user) -> QuerySet[Patient]:
    """Patients on whose care team the user is (object permission only)."""
    return get_objects_for_user(
        user,
        CARE_TEAM_PERMISSION,
        klass=Patient.objects.all(),
        use_groups=True,
        with_superuser=False,
        accept_global_perms=False,
    )


def clinical_patient_list_for_user(*, user) -> QuerySet[Patient]:
    """Patients whose clinical records the user may read and chart."""
    if not can(user, Capability.VIEW_CLINICAL_RECORDS):
        return Patient.objects.none()
    team = care_team_patients(user=user).values("pk")
    glass = BreakGlassAccess.objects.filter(user=user, expires_at__gt=timezone.now()).values(
        "patient_id"
    )
    return Patient.objects.filter(Q(pk__in=team) | Q(pk__in=glass))


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
    return queryset.filter(**{f"{patient_path}__in": clinical_patient_list_for_user(user=user)})


def with_care_team(queryset: QuerySet[Patient]) -> QuerySet[Patient]:
    """Prefetch care-team grants so ``care_team_ids`` costs no query per patient."""
    return queryset.prefetch_related(
        Prefetch(
            "patientuserobjectpermission_set",
            queryset=PatientUserObjectPermission.objects.filter(
                permission__codename=CARE_TEAM_PERMISSION
            ).order_by("user_id"),
            to_attr="care_team_grants",
        )
    )


def care_team_ids(patient: Patient) -> list[int]:
    grants = getattr(patient, "care_team_grants", None)
    if grants is None:
        grants = patient.patientuserobjectpermission_set.filter(
            permission__codename=CARE_TEAM_PERMISSION
        ).order_by("user_id")
    return [grant.user_id for grant in grants]


def _get_or_404(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=int(pk))
    except (ValueError, TypeError, Patient.DoesNotExist):
        raise Http404("No such patient.") from None
