"""The demo data of the patients app."""

import io

import pytest

from ehr.seed import seed_users
from patients import seed
from patients.models import (
    Assessment,
    Consent,
    Evaluation,
    Patient,
    ReferringProvider,
    SafetyAlert,
)
from patients.selectors import care_team_patients

pytestmark = pytest.mark.django_db


def counts():
    return [
        m.objects.count()
        for m in (ReferringProvider, Patient, Consent, Evaluation, Assessment, SafetyAlert)
    ]


def test_seed_is_idempotent_and_covers_the_demo_cases():
    users = seed_users(password="demo")

    seed.seed(users=users, stdout=io.StringIO())
    first = counts()
    seed.seed(users=users, stdout=io.StringIO())

    assert counts() == first
    assert ReferringProvider.objects.get(user=users["referrer"]).name == "Dr. Amara Nwosu"
    assert Patient.objects.count() == 8
    assert len(set(Patient.objects.values_list("primary_diagnosis", flat=True))) >= 5
    assert care_team_patients(user=users["prescriber"]).count() == 8
    assert care_team_patients(user=users["nurse"]).count() == 7
    signed = Evaluation.objects.filter(signed_at__isnull=False)
    assert set(signed.values_list("eligibility", flat=True)) == {
        "eligible",
        "eligible_with_precautions",
        "not_eligible",
    }
    assert Evaluation.objects.get(signed_at__isnull=True).eligibility == "pending"
    assert set(Assessment.objects.values_list("instrument", flat=True)) == {"GAD7", "PHQ9", "PCL5"}
    alert = SafetyAlert.objects.get()
    assert alert.acknowledged_at is None
    assert Patient.objects.filter(referring_provider__user=users["referrer"]).exists()
