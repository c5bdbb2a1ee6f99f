"""Eligibility rules, evaluation measures and BMI (the functions the form and the API share)."""

from decimal import Decimal

import pytest

from patients.contraindications import ABSOLUTE_KEYS, RELATIVE_KEYS, contraindication_answer_errors
from patients.eligibility import (
    bmi,
    eligibility_allows_treatment,
    eligibility_errors,
    evaluation_measure_errors,
)
from tests.patients.factories import no_contraindications


@pytest.mark.parametrize("key", sorted(ABSOLUTE_KEYS))
def test_eligible_is_refused_with_any_absolute_contraindication(key):
    errors = eligibility_errors(
        contraindications=no_contraindications(**{key: True}),
        eligibility="eligible",
        precautions="",
    )

    assert set(errors) == {"eligibility"}


@pytest.mark.parametrize("key", sorted(ABSOLUTE_KEYS))
def test_not_eligible_is_allowed_with_an_absolute_contraindication(key):
    assert not eligibility_errors(
        contraindications=no_contraindications(**{key: True}),
        eligibility="not_eligible",
        precautions="",
    )


def test_precautions_cannot_make_an_absolute_contraindication_eligible():
    errors = eligibility_errors(
        contraindications=no_contraindications(pregnancy=True),
        eligibility="eligible_with_precautions",
        precautions="Obstetric review.",
    )

    assert "Pregnancy" in errors["eligibility"]


def test_eligible_is_allowed_without_contraindications():
    assert not eligibility_errors(
        contraindications=no_contraindications(), eligibility="eligible", precautions=""
    )


@pytest.mark.parametrize("key", sorted(RELATIVE_KEYS))
def test_precautions_note_is_required_with_a_relative_contraindication(key):
    contraindications = no_contraindications(**{key: True})

    missing = eligibility_errors(
        contraindications=contraindications,
        eligibility="eligible_with_precautions",
        precautions="   ",
    )
    given = eligibility_errors(
        contraindications=contraindications,
        eligibility="eligible_with_precautions",
        precautions="Hepatology review before each course.",
    )

    assert set(missing) == {"precautions"}
    assert given == {}


@pytest.mark.parametrize("key", sorted(RELATIVE_KEYS))
def test_eligible_is_refused_with_any_relative_contraindication(key):
    errors = eligibility_errors(
        contraindications=no_contraindications(**{key: True}),
        eligibility="eligible",
        precautions="A note does not make it plain eligible.",
    )

    assert set(errors) == {"eligibility"}
    assert "eligible with precautions" in errors["eligibility"]


@pytest.mark.parametrize("eligibility", ["not_eligible", "pending"])
def test_not_eligible_or_pending_is_allowed_with_a_relative_contraindication(eligibility):
    assert not eligibility_errors(
        contraindications=no_contraindications(active_substance_use_disorder=True),
        eligibility=eligibility,
        precautions="",
    )


def test_precautions_without_relative_contraindication_need_no_note():
    assert not eligibility_errors(
        contraindications=no_contraindications(),
        eligibility="eligible_with_precautions",
        precautions="",
    )


def test_pending_is_always_allowed_while_deciding():
    assert not eligibility_errors(
        contraindications=no_contraindications(pregnancy=True, interstitial_cystitis=True),
        eligibility="pending",
        precautions="",
    )


def test_a_complete_screen_has_no_errors():
    assert contraindication_answer_errors(no_contraindications()) == []


def test_screen_errors_name_missing_extra_and_non_boolean_keys():
    answers = no_contraindications()
    del answers["pregnancy"]
    answers["asthma"] = False
    answers["interstitial_cystitis"] = "yes"

    errors = " ".join(contraindication_answer_errors(answers))

    assert "'pregnancy' is missing" in errors
    assert "'asthma' is not a contraindication" in errors
    assert "'interstitial_cystitis' must be true or false" in errors


@pytest.mark.parametrize(
    ("weight", "height", "expected"),
    [("72.5", "170.0", "25.1"), ("50", "160", "19.5"), ("100", "200", "25.0")],
)
def test_bmi_is_weight_over_height_squared_to_one_decimal(weight, height, expected):
    assert bmi(weight_kg=Decimal(weight), height_cm=Decimal(height)) == Decimal(expected)


def test_bmi_needs_both_measures():
    assert bmi(weight_kg=None, height_cm=Decimal("170")) is None


def _measures(**changes):
    values = dict(
        weight_kg=Decimal("70"),
        height_cm=Decimal("170"),
        bp_systolic=120,
        bp_diastolic=80,
        heart_rate=70,
    )
    values.update(changes)
    return evaluation_measure_errors(**values)


@pytest.mark.parametrize(
    ("field", "low", "high", "step", "others"),
    [
        ("weight_kg", Decimal("20"), Decimal("400"), Decimal("0.1"), {}),
        ("height_cm", Decimal("50"), Decimal("250"), Decimal("0.1"), {}),
        ("bp_systolic", 50, 280, 1, {"bp_diastolic": 30}),
        ("bp_diastolic", 20, 180, 1, {"bp_systolic": 250}),
        ("heart_rate", 20, 250, 1, {}),
    ],
)
def test_measures_at_the_limits_are_plausible_and_one_step_beyond_is_not(
    field, low, high, step, others
):
    assert _measures(**others, **{field: low}) == {}
    assert _measures(**others, **{field: high}) == {}
    assert set(_measures(**others, **{field: low - step})) == {field}
    assert set(_measures(**others, **{field: high + step})) == {field}


def test_diastolic_must_be_below_systolic():
    assert set(_measures(bp_systolic=120, bp_diastolic=120)) == {"bp_diastolic"}
    assert _measures(bp_systolic=120, bp_diastolic=119) == {}


@pytest.mark.parametrize(
    ("eligibility", "allowed"),
    [
        ("eligible", True),
        ("eligible_with_precautions", True),
        ("not_eligible", False),
        ("pending", False),
    ],
)
def test_only_an_eligible_decision_allows_treatment(eligibility, allowed):
    assert eligibility_allows_treatment(eligibility=eligibility) is allowed
