"""Writes to patients and their care teams."""

from __future__ import annotations

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from ehr.roles import is_clinician
from patients.models import CARE_TEAM_PERMISSION, Patient


def care_team_grant(*, patient: Patient, user) -> None:
    """Put a clinician on the patient's care team (idempotent)."""
    assign_perm(CARE_TEAM_PERMISSION, user, patient)


def care_team_revoke(*, patient: Patient, user) -> None:
    remove_perm(CARE_TEAM_PERMISSION, user, patient)


@transaction.atomic
def patient_create(*, actor, **fields) -> Patient:
    """Register a patient. A clinician who registers a patient joins its care team."""
    patient = Patient(created_by=actor, **fields)
    patient.full_clean()
    patient.save()
    if is_clinician(actor):
        care_team_grant(patient=patient, user=actor)
    return patient
