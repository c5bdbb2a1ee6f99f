"""Pre-treatment evaluations: fields, contraindication screen, eligibility, signing, amendments."""

import pytest

from ehr.models import AuditEvent
from patients.models import AmendmentImmutable, Evaluation, EvaluationAmendment
from tests.factories import PatientFactory
from tests.patients.factories import EvaluationFactory, no_contraindications

pytestmark = pytest.mark.django_db

URL = "/api/v1/evaluations/"


def new_evaluation(patient, **changes):
    body = {
        "patient": patient.pk,
        "evaluated_on": "2025-01-06",
        "psychiatric_history": "GAD since 2009; two panic-related ED visits.",
        "prior_treatments": "Sertraline, escitalopram, buspirone; CBT 18 months.",
        "medical_history": "Migraine.",
        "current_medications": "Escitalopram 20 mg",
        "allergies": "Penicillin (rash)",
        "weight_kg": "72.5",
        "height_cm": "170.0",
        "bp_systolic": 124,
        "bp_diastolic": 78,
        "heart_rate": 72,
        "contraindications": no_contraindications(),
        "eligibility": "eligible",
        "precautions": "",
        "notes": "Good candidate.",
    }
    body.update(changes)
    return body


def test_a_clinician_records_an_evaluation_and_is_the_evaluator(api, nurse, patient):
    response = api(nurse).post(URL, new_evaluation(patient))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["evaluator"] == nurse.pk
    assert body["bmi"] == "25.1"
    assert body["contraindications"] == no_contraindications()
    assert (body["signed_at"], body["signed_by"]) == (None, None)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.patient) == ("create", "evaluation", patient)


def test_another_clinician_can_be_named_evaluator(api, nurse, prescriber, patient):
    response = api(nurse).post(URL, new_evaluation(patient, evaluator=prescriber.pk))

    assert response.json()["evaluator"] == prescriber.pk


def test_bmi_is_read_only(api, nurse, patient):
    response = api(nurse).post(URL, new_evaluation(patient, bmi="40.0"))

    assert response.json()["bmi"] == "25.1"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("missing", "pregnancy"),
        ("extra", "asthma"),
        ("not_bool", "interstitial_cystitis"),
    ],
)
def test_the_contraindication_screen_must_be_exactly_the_ten_keys(
    api, nurse, patient, change, named
):
    screen = no_contraindications()
    if change == "missing":
        del screen["pregnancy"]
    elif change == "extra":
        screen["asthma"] = False
    else:
        screen["interstitial_cystitis"] = "yes"

    response = api(nurse).post(URL, new_evaluation(patient, contraindications=screen))

    assert response.status_code == 400
    assert named in " ".join(response.json()["contraindications"])


def test_a_screen_that_is_not_an_object_is_refused(api, nurse, patient):
    response = api(nurse).post(URL, new_evaluation(patient, contraindications=["pregnancy"]))

    assert response.status_code == 400
    assert "contraindications" in response.json()


def test_eligible_is_refused_with_an_absolute_contraindication(api, nurse, patient):
    screen = no_contraindications(uncontrolled_hypertension=True)

    refused = api(nurse).post(URL, new_evaluation(patient, contraindications=screen))
    not_eligible = api(nurse).post(
        URL, new_evaluation(patient, contraindications=screen, eligibility="not_eligible")
    )

    assert refused.status_code == 400
    assert "Uncontrolled hypertension" in refused.json()["eligibility"][0]
    assert not_eligible.status_code == 201


def test_precautions_are_required_with_a_relative_contraindication(api, nurse, patient):
    screen = no_contraindications(active_substance_use_disorder=True)
    body = new_evaluation(
        patient, contraindications=screen, eligibility="eligible_with_precautions"
    )

    refused = api(nurse).post(URL, body)
    accepted = api(nurse).post(URL, {**body, "precautions": "Urine drug screen before each"})

    assert refused.status_code == 400
    assert "precautions" in refused.json()
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bp_systolic", 281),
        ("bp_systolic", 49),
        ("bp_diastolic", 181),
        ("heart_rate", 19),
        ("heart_rate", 251),
        ("weight_kg", "19.9"),
        ("height_cm", "250.1"),
    ],
)
def test_implausible_measures_are_refused(api, nurse, patient, field, value):
    response = api(nurse).post(URL, new_evaluation(patient, **{field: value}))

    assert response.status_code == 400
    assert field in response.json()


def test_diastolic_at_or_above_systolic_is_refused(api, nurse, patient):
    response = api(nurse).post(URL, new_evaluation(patient, bp_systolic=90, bp_diastolic=90))

    assert response.status_code == 400
    assert "bp_diastolic" in response.json()


def test_an_unsigned_evaluation_can_be_edited(api, nurse, patient):
    evaluation = EvaluationFactory(patient=patient)

    response = api(nurse).patch(f"{URL}{evaluation.pk}/", {"heart_rate": 80})

    assert response.status_code == 200
    assert response.json()["heart_rate"] == 80


def test_an_edit_is_checked_against_the_eligibility_rules(api, nurse, patient):
    evaluation = EvaluationFactory(patient=patient)

    response = api(nurse).patch(
        f"{URL}{evaluation.pk}/", {"contraindications": no_contraindications(pregnancy=True)}
    )

    assert response.status_code == 400
    assert "eligibility" in response.json()


def test_only_a_prescriber_signs(api, nurse, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient)

    by_nurse = api(nurse).post(f"{URL}{evaluation.pk}/sign/")
    by_prescriber = api(prescriber).post(f"{URL}{evaluation.pk}/sign/")

    assert by_nurse.status_code == 403
    assert by_prescriber.status_code == 200
    assert by_prescriber.json()["signed_by"] == prescriber.pk
    assert by_prescriber.json()["signed_at"]
    sign_event = AuditEvent.objects.get(action="sign")
    assert (sign_event.object_type, sign_event.object_id) == ("evaluation", str(evaluation.pk))
    assert AuditEvent.objects.filter(action="denied").count() == 1


def test_a_pending_evaluation_cannot_be_signed(api, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient, eligibility="pending")

    response = api(prescriber).post(f"{URL}{evaluation.pk}/sign/")

    assert response.status_code == 400
    assert "eligibility" in response.json()
    evaluation.refresh_from_db()
    assert evaluation.signed_at is None


def test_signing_twice_is_a_conflict(api, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient, signed_by=prescriber)

    assert api(prescriber).post(f"{URL}{evaluation.pk}/sign/").status_code == 409


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_signed_evaluation_is_locked(api, prescriber, patient, method):
    evaluation = EvaluationFactory(patient=patient)
    api(prescriber).post(f"{URL}{evaluation.pk}/sign/")

    response = getattr(api(prescriber), method)(
        f"{URL}{evaluation.pk}/", new_evaluation(patient, heart_rate=90)
    )

    assert response.status_code == 409
    assert "signed" in response.json()["detail"] and "amendment" in response.json()["detail"]
    evaluation.refresh_from_db()
    assert evaluation.heart_rate == 72


def test_amendments_are_appended_to_a_signed_evaluation(api, nurse, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient, signed_by=prescriber)
    url = f"{URL}{evaluation.pk}/amendments/"

    first = api(nurse).post(url, {"text": "Allergy: also latex."})
    second = api(prescriber).post(url, {"text": "Heart rate was 76, not 72."})
    listing = api(nurse).get(url)

    assert first.status_code == 201, first.json()
    assert first.json()["author"] == nurse.pk
    assert first.json()["created_at"]
    assert second.json()["author"] == prescriber.pk
    assert [a["text"] for a in listing.json()] == [
        "Allergy: also latex.",
        "Heart rate was 76, not 72.",
    ]
    assert api(nurse).get(f"{URL}{evaluation.pk}/").json()["amendment_count"] == 2
    assert AuditEvent.objects.filter(action="amend").count() == 2


def test_amendments_cannot_be_edited_or_deleted(api, nurse, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient, signed_by=prescriber)
    api(nurse).post(f"{URL}{evaluation.pk}/amendments/", {"text": "Allergy: also latex."})
    amendment = EvaluationAmendment.objects.get()
    url = f"{URL}{evaluation.pk}/amendments/"

    assert api(nurse).put(url, {"text": "changed"}).status_code == 405
    assert api(nurse).delete(url).status_code == 405
    assert api(nurse).delete(f"{url}{amendment.pk}/").status_code == 404
    amendment.refresh_from_db()
    assert amendment.text == "Allergy: also latex."
    amendment.text = "changed"
    with pytest.raises(AmendmentImmutable):
        amendment.save()
    with pytest.raises(AmendmentImmutable):
        amendment.delete()


def test_an_unsigned_evaluation_is_corrected_directly_not_amended(api, nurse, patient):
    evaluation = EvaluationFactory(patient=patient)

    response = api(nurse).post(f"{URL}{evaluation.pk}/amendments/", {"text": "x"})

    assert response.status_code == 409


def test_an_empty_amendment_is_refused(api, nurse, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient, signed_by=prescriber)

    response = api(nurse).post(f"{URL}{evaluation.pk}/amendments/", {"text": "  "})

    assert response.status_code == 400


def test_history_keeps_every_version(api, nurse, prescriber, patient):
    evaluation = EvaluationFactory(patient=patient)
    api(nurse).patch(f"{URL}{evaluation.pk}/", {"heart_rate": 80})
    api(prescriber).post(f"{URL}{evaluation.pk}/sign/")

    history = list(evaluation.history.order_by("history_date"))

    assert [h.heart_rate for h in history] == [72, 80, 80]
    assert history[1].history_user == nurse
    assert history[2].history_user == prescriber and history[2].signed_at is not None


def test_nurse_off_the_care_team_gets_404(api, outside_nurse, patient):
    evaluation = EvaluationFactory(patient=patient)

    assert api(outside_nurse).get(f"{URL}{evaluation.pk}/").status_code == 404
    assert api(outside_nurse).get(URL).json()["count"] == 0
    assert api(outside_nurse).post(f"{URL}{evaluation.pk}/sign/").status_code == 403
    assert api(outside_nurse).get(f"{URL}{evaluation.pk}/amendments/").status_code == 404


def test_a_nurse_cannot_record_an_evaluation_for_a_patient_off_the_team(
    api, outside_nurse, patient
):
    response = api(outside_nurse).post(URL, new_evaluation(patient))

    assert response.status_code == 400
    assert "patient" in response.json()
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize("who", ["admin_user", "referrer_user"])
def test_admin_and_referrer_get_403_on_evaluations(api, request, patient, who):
    user = request.getfixturevalue(who)
    evaluation = EvaluationFactory(patient=patient)

    assert api(user).get(URL).status_code == 403
    assert api(user).get(f"{URL}{evaluation.pk}/").status_code == 403
    assert api(user).post(URL, new_evaluation(patient)).status_code == 403


def test_filter_by_patient_and_signed(api, nurse, prescriber, patient):
    other = PatientFactory(care_team=[nurse])
    signed = EvaluationFactory(patient=patient, signed_by=prescriber)
    EvaluationFactory(patient=patient)
    EvaluationFactory(patient=other, evaluator=nurse)

    mine = api(nurse).get(URL, {"patient": patient.pk}).json()
    only_signed = api(nurse).get(URL, {"patient": patient.pk, "signed": "true"}).json()

    assert mine["count"] == 2
    assert [e["id"] for e in only_signed["results"]] == [signed.pk]


def test_evaluation_list_queries_stay_constant(
    api, nurse, prescriber, patient, django_assert_max_num_queries
):
    EvaluationFactory.create_batch(2, patient=patient, signed_by=prescriber)
    client = api(nurse)
    with django_assert_max_num_queries(10) as small:
        client.get(URL)
    EvaluationFactory.create_batch(20, patient=patient, signed_by=prescriber)

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(URL).json()["count"] == 22


def test_an_evaluator_who_has_left_does_not_block_the_signature(
    api, nurse, second_nurse, prescriber, patient
):
    evaluation = EvaluationFactory(patient=patient, evaluator=second_nurse)
    second_nurse.is_active = False
    second_nurse.save()

    edited = api(nurse).patch(f"{URL}{evaluation.pk}/", {"notes": "Reviewed."})
    signed = api(prescriber).post(f"{URL}{evaluation.pk}/sign/")
    renamed = api(nurse).post(URL, new_evaluation(patient, evaluator=second_nurse.pk))

    assert edited.status_code == 200
    assert signed.status_code == 200
    assert renamed.status_code == 400
    assert "evaluator" in renamed.json()


# --- A relative contraindication needs precautions (or no treatment) ------------------------


@pytest.mark.parametrize(
    ("eligibility", "precautions", "accepted"),
    [
        ("eligible", "", False),
        ("eligible", "Urine drug screen before each infusion.", False),
        ("eligible_with_precautions", "Urine drug screen before each infusion.", True),
        ("not_eligible", "", True),
        ("pending", "", True),
    ],
)
def test_with_a_relative_contraindication_eligible_alone_is_refused(
    api, nurse, patient, eligibility, precautions, accepted
):
    screen = no_contraindications(severe_hepatic_impairment=True)

    response = api(nurse).post(
        URL,
        new_evaluation(
            patient, contraindications=screen, eligibility=eligibility, precautions=precautions
        ),
    )

    assert (response.status_code == 201) is accepted, response.json()
    if not accepted:
        message = response.json()["eligibility"][0]
        assert "Severe hepatic impairment" in message
        assert "eligible with precautions" in message


def test_without_any_contraindication_eligible_is_accepted(api, nurse, patient):
    response = api(nurse).post(URL, new_evaluation(patient, eligibility="eligible"))

    assert response.status_code == 201


def test_an_eligible_evaluation_with_a_relative_contraindication_cannot_be_signed(
    api, prescriber, patient
):
    # Recorded before the rule (the screen was answered but no precautions chosen).
    evaluation = EvaluationFactory(
        patient=patient,
        evaluator=prescriber,
        contraindications=no_contraindications(interstitial_cystitis=True),
        eligibility="eligible",
        precautions="",
    )

    response = api(prescriber).post(f"{URL}{evaluation.pk}/sign/")

    assert response.status_code == 400
    assert "Interstitial cystitis" in response.json()["eligibility"][0]
    evaluation.refresh_from_db()
    assert evaluation.signed_at is None
