"""The evaluation form: live eligibility feedback, save, sign, amendments."""

import pytest
from django.urls import reverse

from ehr.models import AuditEvent
from patients.contraindications import CONTRAINDICATION_KEYS
from patients.models import Evaluation, EvaluationAmendment

pytestmark = pytest.mark.django_db


def form_data(eligibility="eligible", precautions="", **yes):
    data = {
        "evaluated_on": "2025-01-06",
        "psychiatric_history": "GAD since adolescence.",
        "prior_treatments": "Sertraline, escitalopram; CBT.",
        "medical_history": "",
        "current_medications": "",
        "allergies": "NKDA",
        "weight_kg": "72.5",
        "height_cm": "170",
        "bp_systolic": "124",
        "bp_diastolic": "78",
        "heart_rate": "72",
        "eligibility": eligibility,
        "precautions": precautions,
        "notes": "",
    }
    for key in CONTRAINDICATION_KEYS:
        data[f"ci_{key}"] = "yes" if yes.get(key) else "no"
    return data


def live(client, data):
    return client.post(
        reverse("frontend:eligibility_check"), data, headers={"HX-Request": "true"}
    ).content.decode()


def test_the_form_asks_every_contraindication_as_yes_or_no(client_for, nurse, patient):
    body = (
        client_for(nurse)
        .get(reverse("frontend:evaluation_create", args=[patient.pk]))
        .content.decode()
    )

    for key in CONTRAINDICATION_KEYS:
        assert f'name="ci_{key}" value="yes"' in body
        assert f'name="ci_{key}" value="no"' in body
    assert 'hx-post="/evaluations/eligibility/"' in body
    assert 'hx-trigger="change' in body


def test_eligible_is_refused_live_while_an_absolute_contraindication_is_yes(client_for, nurse):
    body = live(client_for(nurse), form_data(pregnancy=True))

    assert "Not eligible while an absolute contraindication is yes: Pregnancy." in body
    assert 'id="live-eligibility" hx-swap-oob="true"' in body


def test_precautions_are_asked_for_live_when_a_relative_contraindication_is_yes(client_for, nurse):
    client = client_for(nurse)
    data = form_data("eligible_with_precautions", interstitial_cystitis=True)

    missing = live(client, data)
    data["precautions"] = "Urology review; limit to 0.5 mg/kg."
    given = live(client, data)

    assert "Describe the precautions" in missing
    assert "Describe the precautions" not in given
    assert "consistent with the contraindication screen" in given


def test_eligible_is_refused_live_while_a_relative_contraindication_is_yes(client_for, nurse):
    client = client_for(nurse)

    refused = live(client, form_data("eligible", interstitial_cystitis=True))
    without = live(client, form_data("eligible"))

    assert "A relative contraindication is yes (Interstitial cystitis)" in refused
    assert "consistent with the contraindication screen" in without


def test_the_live_check_reads_no_record_and_records_no_event(client_for, nurse):
    client = client_for(nurse)
    before = AuditEvent.objects.count()

    live(client, form_data())

    assert AuditEvent.objects.count() == before


def test_saving_an_evaluation_the_rules_refuse_shows_the_message_next_to_the_field(
    client_for, nurse, patient
):
    response = client_for(nurse).post(
        reverse("frontend:evaluation_create", args=[patient.pk]),
        form_data(psychosis_history=True),
    )

    assert response.status_code == 400
    body = response.content.decode()
    field = body[body.index('id="field-eligibility"') :][:1500]
    assert "Not eligible while an absolute contraindication is yes" in field
    assert not Evaluation.objects.exists()


def test_an_impossible_measure_is_refused_next_to_it(client_for, nurse, patient):
    data = form_data()
    data["bp_diastolic"] = "130"
    response = client_for(nurse).post(
        reverse("frontend:evaluation_create", args=[patient.pk]), data
    )

    body = response.content.decode()
    assert "must be below the systolic" in body[body.index('id="field-bp_diastolic"') :][:1500]


def test_a_nurse_saves_and_a_prescriber_signs_then_it_is_locked(
    client_for, nurse, prescriber, patient
):
    nurse_client = client_for(nurse)
    created = nurse_client.post(
        reverse("frontend:evaluation_create", args=[patient.pk]), form_data()
    )
    evaluation = Evaluation.objects.get()
    detail = reverse("frontend:evaluation_detail", args=[evaluation.pk])
    assert created["Location"] == detail
    refused = nurse_client.post(reverse("frontend:evaluation_sign", args=[evaluation.pk]))
    assert refused.status_code == 403
    evaluation.refresh_from_db()
    assert not evaluation.is_signed

    client_for(prescriber).post(reverse("frontend:evaluation_sign", args=[evaluation.pk]))

    evaluation.refresh_from_db()
    assert evaluation.signed_by == prescriber
    page = nurse_client.get(detail).content.decode()
    assert "Signed by Daniel Reyes" in page
    assert 'name="psychiatric_history"' not in page  # read-only now
    nurse_client.post(detail, form_data(eligibility="not_eligible"))
    evaluation.refresh_from_db()
    assert evaluation.eligibility == "eligible"


def test_a_nurse_cannot_sign(client_for, nurse, patient):
    client = client_for(nurse)
    client.post(reverse("frontend:evaluation_create", args=[patient.pk]), form_data())

    response = client.post(reverse("frontend:evaluation_sign", args=[Evaluation.objects.get().pk]))

    assert response.status_code == 403


def test_amendments_are_added_to_a_signed_evaluation_and_listed(
    client_for, nurse, prescriber, patient
):
    nurse_client = client_for(nurse)
    nurse_client.post(reverse("frontend:evaluation_create", args=[patient.pk]), form_data())
    evaluation = Evaluation.objects.get()
    client_for(prescriber).post(reverse("frontend:evaluation_sign", args=[evaluation.pk]))

    empty = nurse_client.post(
        reverse("frontend:evaluation_amend", args=[evaluation.pk]), {"text": ""}
    )
    nurse_client.post(
        reverse("frontend:evaluation_amend", args=[evaluation.pk]),
        {"text": "Allergy: penicillin (rash), reported 2025-01-08."},
    )

    assert empty.status_code == 400
    amendment = EvaluationAmendment.objects.get()
    assert amendment.author == nurse
    page = nurse_client.get(reverse("frontend:evaluation_detail", args=[evaluation.pk]))
    assert "Allergy: penicillin (rash)" in page.content.decode()
    assert AuditEvent.objects.filter(action="amend", user=nurse).count() == 1


def test_the_evaluation_of_another_care_team_is_404(client_for, outside_nurse, nurse, patient):
    client_for(nurse).post(reverse("frontend:evaluation_create", args=[patient.pk]), form_data())

    response = client_for(outside_nurse).get(
        reverse("frontend:evaluation_detail", args=[Evaluation.objects.get().pk])
    )

    assert response.status_code == 404
