"""Which patients have an active (unacknowledged) safety alert, for screens listing many."""

import pytest
from django.utils import timezone

from patients.selectors import patient_ids_with_active_safety_alerts, with_active_safety_alert
from tests.factories import PatientFactory
from tests.patients.factories import SafetyAlertFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_patients(prescriber, nurse):
    return [PatientFactory(care_team=[prescriber, nurse]) for _ in range(3)]


def test_only_patients_with_an_unacknowledged_alert_are_flagged(nurse, prescriber, team_patients):
    alerted, acknowledged, _quiet = team_patients
    SafetyAlertFactory(patient=alerted)
    SafetyAlertFactory(
        patient=acknowledged,
        acknowledged_at=timezone.now(),
        acknowledged_by=prescriber,
        note="Risk assessed; safety plan agreed.",
    )

    flagged = patient_ids_with_active_safety_alerts(
        user=nurse, patient_ids=[p.pk for p in team_patients]
    )

    assert flagged == {alerted.pk}


def test_a_patient_off_the_users_care_team_is_never_flagged(outside_nurse, team_patients):
    SafetyAlertFactory(patient=team_patients[0])

    flagged = patient_ids_with_active_safety_alerts(
        user=outside_nurse, patient_ids=[p.pk for p in team_patients]
    )

    assert flagged == set()


def test_referrers_and_the_practice_manager_learn_of_no_alert(
    referrer_user, admin_user, team_patients
):
    SafetyAlertFactory(patient=team_patients[0])
    ids = [p.pk for p in team_patients]

    assert patient_ids_with_active_safety_alerts(user=referrer_user, patient_ids=ids) == set()
    assert patient_ids_with_active_safety_alerts(user=admin_user, patient_ids=ids) == set()


def test_many_patients_are_answered_in_one_query(nurse, prescriber, django_assert_num_queries):
    patients = [PatientFactory(care_team=[prescriber, nurse]) for _ in range(12)]
    for patient in patients[::2]:
        SafetyAlertFactory(patient=patient)
        SafetyAlertFactory(patient=patient)

    with django_assert_num_queries(1):
        flagged = patient_ids_with_active_safety_alerts(
            user=nurse, patient_ids=[p.pk for p in patients]
        )

    assert flagged == {p.pk for p in patients[::2]}


def test_the_annotation_flags_each_patient_of_a_list(nurse, prescriber, team_patients):
    alerted = team_patients[1]
    SafetyAlertFactory(patient=alerted)
    SafetyAlertFactory(patient=alerted)

    rows = with_active_safety_alert(
        type(alerted).objects.filter(pk__in=[p.pk for p in team_patients])
    ).order_by("pk")

    assert [(p.pk, p.has_active_safety_alert) for p in rows] == [
        (p.pk, p is alerted) for p in sorted(team_patients, key=lambda p: p.pk)
    ]
