"""``ehr.grants``: a user's own object permissions as SQL answer what django-guardian
answers for the same user and permission (own grants only)."""

import pytest
from django.contrib.auth.models import Group
from guardian.shortcuts import assign_perm, get_objects_for_user

from ehr.grants import own_grant_ids
from patients.models import CARE_TEAM_PERMISSION, Patient, PatientUserObjectPermission
from reports.models import (
    RELEASED_SUMMARY_PERMISSION,
    TreatmentSummary,
    TreatmentSummaryUserObjectPermission,
)
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _guardian(user, codename, model):
    return get_objects_for_user(
        user,
        f"{model._meta.app_label}.{codename}",
        klass=model.objects.all(),
        use_groups=False,
        with_superuser=False,
        accept_global_perms=False,
    )


def test_own_care_team_grants_only(prescriber, nurse):
    patients = [PatientFactory(care_team=[]) for _ in range(5)]
    assign_perm(f"patients.{CARE_TEAM_PERMISSION}", nurse, patients[0])
    assign_perm(f"patients.{CARE_TEAM_PERMISSION}", nurse, patients[1])
    assign_perm(f"patients.{CARE_TEAM_PERMISSION}", prescriber, patients[2])
    # Another permission on the same grant table, and a group grant: neither counts.
    assign_perm("patients.view_patient", nurse, patients[3])
    group = Group.objects.create(name="night shift")
    nurse.groups.add(group)
    assign_perm(f"patients.{CARE_TEAM_PERMISSION}", group, patients[4])

    ids = own_grant_ids(
        user=nurse, grant_model=PatientUserObjectPermission, codename=CARE_TEAM_PERMISSION
    )
    mine = set(Patient.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert mine == {patients[0].pk, patients[1].pk}
    assert mine == set(_guardian(nurse, CARE_TEAM_PERMISSION, Patient).values_list("pk", flat=True))
    nobody = UserFactory(username="no-grants")
    none = own_grant_ids(
        user=nobody, grant_model=PatientUserObjectPermission, codename=CARE_TEAM_PERMISSION
    )
    assert not Patient.objects.filter(pk__in=none).exists()


def test_released_summary_grants(referrer_user, other_referrer_user, prescriber, patient):
    summaries = [
        TreatmentSummary.objects.create(patient=patient, requested_by=prescriber) for _ in range(3)
    ]
    assign_perm(f"reports.{RELEASED_SUMMARY_PERMISSION}", referrer_user, summaries[0])
    assign_perm(f"reports.{RELEASED_SUMMARY_PERMISSION}", other_referrer_user, summaries[1])
    ids = own_grant_ids(
        user=referrer_user,
        grant_model=TreatmentSummaryUserObjectPermission,
        codename=RELEASED_SUMMARY_PERMISSION,
    )
    mine = list(TreatmentSummary.objects.filter(pk__in=ids).values_list("pk", flat=True))
    assert mine == [summaries[0].pk]
    assert set(mine) == set(
        _guardian(referrer_user, RELEASED_SUMMARY_PERMISSION, TreatmentSummary).values_list(
            "pk", flat=True
        )
    )
