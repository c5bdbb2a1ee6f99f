"""Patient search and list, the chart, and what is done from it."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ehr.models import AuditEvent
from patients.models import Assessment, Consent, Patient, SafetyAlert
from patients.selectors import care_team_ids
from tests.factories import PatientFactory
from tests.patients.factories import AssessmentFactory, SafetyAlertFactory

pytestmark = pytest.mark.django_db


def chart_url(patient):
    return reverse("frontend:patient_chart", args=[patient.pk])


def test_search_finds_a_patient_by_name_or_mrn_within_the_care_team(
    client_for, nurse, patient, prescriber
):
    other = PatientFactory(last_name="Ångström-Other", care_team=[prescriber])
    client = client_for(nurse)

    by_name = client.get(reverse("frontend:patient_list"), {"q": "ångström"}).content.decode()
    by_mrn = client.get(reverse("frontend:patient_list"), {"q": patient.mrn}).content.decode()

    assert patient.mrn in by_name
    assert other.mrn not in by_name  # not on the nurse's care team
    assert patient.mrn in by_mrn


def test_search_as_you_type_answers_only_the_results(client_for, nurse, patient):
    response = client_for(nurse).get(
        reverse("frontend:patient_list"),
        {"q": "Zoë"},
        headers={"HX-Request": "true", "HX-Target": "patient-results"},
    )

    body = response.content.decode()
    assert "<html" not in body
    assert patient.mrn in body


def test_the_patient_list_costs_the_same_queries_for_more_patients(
    client_for, nurse, django_assert_max_num_queries
):
    client = client_for(nurse)
    PatientFactory.create_batch(3, care_team=[nurse])
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("frontend:patient_list"))
    baseline = len(few.captured_queries)
    PatientFactory.create_batch(6, care_team=[nurse])
    with django_assert_max_num_queries(baseline):
        client.get(reverse("frontend:patient_list"))


def test_the_practice_manager_registers_a_patient(client_for, admin_user, prescriber, referrer):
    response = client_for(admin_user).post(
        reverse("frontend:patient_register"),
        {
            "first_name": "李",
            "last_name": "小龙",
            "date_of_birth": "1990-03-04",
            "sex": "male",
            "primary_diagnosis": "F43.10",
            "referring_provider": referrer.pk,
            "responsible_prescriber": prescriber.pk,
        },
    )

    patient = Patient.objects.get(last_name="小龙")
    assert response.status_code == 302
    assert response["Location"] == chart_url(patient)
    assert prescriber.pk in care_team_ids(patient)
    assert AuditEvent.objects.filter(action="create", patient=patient).count() == 1


def test_a_registration_with_a_missing_field_says_which(client_for, admin_user):
    response = client_for(admin_user).post(
        reverse("frontend:patient_register"), {"first_name": "Ana", "primary_diagnosis": "F41.1"}
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "This field is required." in body[body.index('id="field-last_name"') :]


def test_the_status_follows_the_lifecycle(client_for, admin_user, patient):
    data = {
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": "1986-04-12",
        "sex": "female",
        "primary_diagnosis": "F41.1",
        "status": "referred",
    }

    response = client_for(admin_user).post(
        reverse("frontend:patient_edit", args=[patient.pk]), data
    )

    assert response.status_code == 400
    assert "cannot become referred" in response.content.decode()


def test_the_chart_shows_evaluation_consent_sessions_and_scales(
    client_for, prescriber, session, eligible_patient
):
    AssessmentFactory(
        patient=eligible_patient,
        answers=[3, 3, 3, 2, 2, 2, 1],
        administered_at=timezone.now() - datetime.timedelta(days=20),
    )
    AssessmentFactory(
        patient=eligible_patient,
        answers=[1, 1, 1, 0, 0, 0, 0],
        administered_at=timezone.now() - datetime.timedelta(days=1),
    )

    body = client_for(prescriber).get(chart_url(eligible_patient)).content.decode()

    assert "Signed by Daniel Reyes" in body
    assert "KET-CONSENT v3 (2024)" in body
    assert f'href="{reverse("frontend:session_chart", args=[session.pk])}"' in body
    assert "<svg" in body and "GAD-7 totals over time" in body
    assert "baseline 16, latest 3" in body
    assert "Remission" in body


def test_a_prescriber_acknowledges_a_safety_alert_with_a_note(client_for, prescriber, patient):
    alert = SafetyAlertFactory(patient=patient)
    client = client_for(prescriber)
    url = reverse("frontend:alert_acknowledge", args=[patient.pk, alert.pk])
    assert "PHQ-9 item 9" in client.get(chart_url(patient)).content.decode()

    refused = client.post(url, {"note": ""})

    assert refused.status_code == 400
    assert "This field is required." in refused.content.decode()
    done = client.post(url, {"note": "Risk assessed; safety plan reviewed with patient."})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == prescriber
    assert 'id="alert-' not in client.get(chart_url(patient)).content.decode()


def test_a_nurse_sees_the_alert_but_cannot_acknowledge_it(client_for, nurse, patient):
    alert = SafetyAlertFactory(patient=patient)
    client = client_for(nurse)

    body = client.get(chart_url(patient)).content.decode()
    response = client.post(
        reverse("frontend:alert_acknowledge", args=[patient.pk, alert.pk]), {"note": "ok"}
    )

    assert "A prescriber must acknowledge this alert" in body
    assert response.status_code == 403
    assert SafetyAlert.objects.get().acknowledged_at is None


def test_a_consent_is_recorded_from_the_chart(client_for, nurse, patient):
    response = client_for(nurse).post(
        reverse("frontend:consent_add", args=[patient.pk]),
        {"form_version": "v4", "signed_on": timezone.localdate().isoformat(), "witness": "M. Tan"},
    )

    assert response.status_code == 302
    assert Consent.objects.get().form_version == "v4"


def test_a_consent_dated_tomorrow_is_refused_next_to_the_date(client_for, nurse, patient):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client_for(nurse).post(
        reverse("frontend:consent_add", args=[patient.pk]),
        {"form_version": "v4", "signed_on": tomorrow.isoformat(), "witness": "M. Tan"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "cannot be signed in the future" in body[body.index('id="field-signed_on"') :]


def test_a_phq9_is_recorded_item_by_item_and_scored(client_for, nurse, patient):
    answers = {f"item_{n}": "2" for n in range(1, 10)}
    answers["item_9"] = "1"
    response = client_for(nurse).post(
        reverse("frontend:assessment_add", args=[patient.pk]),
        {"instrument": "PHQ9", "administered_at": "2025-02-01T10:00", **answers},
    )

    assert response.status_code == 302
    assessment = Assessment.objects.get()
    assert (assessment.total, assessment.severity) == (17, "moderately severe")
    assert SafetyAlert.objects.filter(patient=patient, acknowledged_at__isnull=True).exists()


def test_a_scale_with_an_unanswered_item_is_refused(client_for, nurse, patient):
    response = client_for(nurse).post(
        reverse("frontend:assessment_add", args=[patient.pk]),
        {"instrument": "GAD7", "administered_at": "2025-02-01T10:00", "item_1": "1"},
    )

    assert response.status_code == 400
    assert not Assessment.objects.exists()


def test_the_practice_manager_changes_the_care_team(client_for, admin_user, patient, second_nurse):
    client = client_for(admin_user)

    client.post(
        reverse("frontend:care_team_change", args=[patient.pk]),
        {"user": second_nurse.pk, "action": "add"},
    )

    assert second_nurse.pk in care_team_ids(patient)
    event = AuditEvent.objects.get(action="permission_change")
    assert event.patient == patient
    assert "nurse_tan added" in event.detail
    client.post(
        reverse("frontend:care_team_change", args=[patient.pk]),
        {"user": second_nurse.pk, "action": "remove"},
    )
    assert second_nurse.pk not in care_team_ids(patient)


def test_the_responsible_prescriber_cannot_be_removed_from_the_team(
    client_for, admin_user, patient, prescriber
):
    response = client_for(admin_user).post(
        reverse("frontend:care_team_change", args=[patient.pk]),
        {"user": prescriber.pk, "action": "remove"},
        follow=True,
    )

    assert "The responsible prescriber stays on the care team" in response.content.decode()
    assert prescriber.pk in care_team_ids(patient)


def test_another_prescriber_cannot_change_this_care_team(
    client_for, other_prescriber, patient, second_nurse, break_glass
):
    break_glass(other_prescriber, patient)

    response = client_for(other_prescriber).post(
        reverse("frontend:care_team_change", args=[patient.pk]),
        {"user": second_nurse.pk, "action": "add"},
    )

    assert response.status_code == 404
    assert second_nurse.pk not in care_team_ids(patient)


def test_a_chart_opened_by_breaking_the_glass_says_so_with_the_reason_and_expiry(
    client_for, outside_nurse, nurse, patient, break_glass
):
    grant = break_glass(outside_nurse, patient)

    page = client_for(outside_nurse).get(chart_url(patient)).content.decode()
    own = client_for(nurse).get(chart_url(patient)).content.decode()

    banner = page[page.index('id="emergency-access"') :][:600]
    assert f"until {timezone.localtime(grant.expires_at):%H:%M}" in banner
    assert "Covering the infusion suite" in banner
    assert 'id="emergency-access"' not in own


def test_patient_names_are_shown_literally(client_for, nurse):
    hostile = PatientFactory(
        first_name="<script>alert(1)</script>", last_name="<b>x</b>", care_team=[nurse]
    )
    client = client_for(nurse)

    for url in (chart_url(hostile), reverse("frontend:patient_list")):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "<b>x</b>" not in body
        assert "&lt;b&gt;x&lt;/b&gt;" in body


def test_a_cadss_is_attached_to_the_session_it_was_taken_in(client_for, nurse, running_session):
    patient = running_session.course.patient
    answers = {f"item_{n}": "1" for n in range(1, 7)}

    response = client_for(nurse).post(
        reverse("frontend:assessment_add", args=[patient.pk]),
        {
            "instrument": "CADSS6",
            "session": running_session.pk,
            "administered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            **answers,
        },
    )

    assert response["Location"] == reverse("frontend:session_chart", args=[running_session.pk])
    assessment = Assessment.objects.get()
    assert (assessment.session, assessment.total) == (running_session, 6)


def test_a_scale_cannot_be_attached_to_another_care_teams_session(
    client_for, outside_nurse, nurse, running_session
):
    own = PatientFactory(care_team=[outside_nurse])

    response = client_for(outside_nurse).get(
        reverse("frontend:assessment_add", args=[own.pk]), {"session": running_session.pk}
    )

    assert response.status_code == 404
