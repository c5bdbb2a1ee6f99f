"""The demo data of the patients app."""

import io

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from ehr.seed import seed_users
from patients import seed
from patients.models import (
    Assessment,
    BreakGlassAccess,
    Consent,
    Evaluation,
    Patient,
    ReferringProvider,
    SafetyAlert,
)
from patients.selectors import care_team_patients, clinical_patient_list_for_user

pytestmark = pytest.mark.django_db


def counts():
    return [
        m.objects.count()
        for m in (
            ReferringProvider,
            Patient,
            Consent,
            Evaluation,
            Assessment,
            SafetyAlert,
            BreakGlassAccess,
            AuditEvent,
        )
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
    active = SafetyAlert.objects.get(acknowledged_at__isnull=True)
    assert active.patient.last_name == "Волков"
    acknowledged = SafetyAlert.objects.get(acknowledged_at__isnull=False)
    assert acknowledged.acknowledged_by == users["prescriber"]
    assert acknowledged.note.startswith("Passive thoughts of death")
    assert acknowledged.assessment.evaluation is not None  # raised at the baseline
    assert acknowledged.assessment.answers[8] == 1
    assert Patient.objects.filter(referring_provider__user=users["referrer"]).exists()


def test_seed_has_the_nurse_break_the_glass_on_a_patient_off_her_team():
    users = seed_users(password="demo")

    seed.seed(users=users, stdout=io.StringIO())
    seed.seed(users=users, stdout=io.StringIO())

    grant = BreakGlassAccess.objects.get()
    nurse = users["nurse"]
    assert grant.user == nurse
    assert grant.patient not in care_team_patients(user=nurse)
    assert grant.reason and grant.expires_at > timezone.now()
    assert grant.patient in clinical_patient_list_for_user(user=nurse)
    event = AuditEvent.objects.get(action="break_glass")
    assert (event.user, event.patient, event.detail) == (nurse, grant.patient, grant.reason)
