"""Rating-scale totals, severity bands, item rules, response and remission."""

import pytest

from ehr.errors import RuleViolation
from patients.scales import LOINC, instrument_label, score, treatment_response


def answers_totalling(total: int, *, items: int, max_answer: int) -> list[int]:
    answers = []
    for _ in range(items):
        answer = min(max_answer, total)
        answers.append(answer)
        total -= answer
    assert total == 0, "total out of range for the instrument"
    return answers


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_bands(total, band):
    result = score(instrument="GAD7", answers=answers_totalling(total, items=7, max_answer=3))

    assert result == (total, band)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately severe"),
        (19, "moderately severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_bands(total, band):
    result = score(instrument="PHQ9", answers=answers_totalling(total, items=9, max_answer=3))

    assert result.total == total
    assert result.severity == band


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "below threshold"), (32, "below threshold"), (33, "probable PTSD"), (80, "probable PTSD")],
)
def test_pcl5_threshold_is_33(total, band):
    result = score(instrument="PCL5", answers=answers_totalling(total, items=20, max_answer=4))

    assert result == (total, band)


@pytest.mark.parametrize(("instrument", "items"), [("CADSS", 23), ("CADSS6", 6)])
def test_cadss_forms_total_without_bands(instrument, items):
    assert score(instrument=instrument, answers=[4] * items) == (4 * items, "")
    assert score(instrument=instrument, answers=[0] * items) == (0, "")


@pytest.mark.parametrize(
    ("instrument", "label", "items"),
    [
        ("GAD7", "GAD-7", 7),
        ("PHQ9", "PHQ-9", 9),
        ("PCL5", "PCL-5", 20),
        ("CADSS", "CADSS", 23),
        ("CADSS6", "CADSS-6", 6),
    ],
)
@pytest.mark.parametrize("delta", [-1, 1])
def test_wrong_item_count_is_refused_naming_the_instrument(instrument, label, items, delta):
    with pytest.raises(RuleViolation) as refused:
        score(instrument=instrument, answers=[0] * (items + delta))

    assert refused.value.field == "answers"
    assert str(refused.value) == f"{label} needs exactly {items} answers, got {items + delta}"


@pytest.mark.parametrize(
    ("instrument", "label", "items", "max_answer"),
    [
        ("GAD7", "GAD-7", 7, 3),
        ("PHQ9", "PHQ-9", 9, 3),
        ("PCL5", "PCL-5", 20, 4),
        ("CADSS", "CADSS", 23, 4),
        ("CADSS6", "CADSS-6", 6, 4),
    ],
)
@pytest.mark.parametrize("offset", [1, None])
def test_out_of_range_answer_is_refused_naming_the_item(
    instrument, label, items, max_answer, offset
):
    bad = max_answer + 1 if offset else -1
    answers = [max_answer] * items
    answers[2] = bad

    with pytest.raises(RuleViolation) as refused:
        score(instrument=instrument, answers=answers)

    assert str(refused.value) == f"{label} answers are 0–{max_answer}; item 3 is {bad}"
    # The highest allowed answer on every item is accepted.
    assert score(instrument=instrument, answers=[max_answer] * items).total == max_answer * items


@pytest.mark.parametrize("bad", [True, 1.5, "2", None])
def test_non_integer_answers_are_refused(bad):
    with pytest.raises(RuleViolation) as refused:
        score(instrument="GAD7", answers=[0, 0, 0, bad, 0, 0, 0])

    assert "item 4" in str(refused.value)


def test_unknown_instrument_is_refused():
    with pytest.raises(RuleViolation) as refused:
        score(instrument="HAMA", answers=[0] * 14)

    assert refused.value.field == "instrument"


@pytest.mark.parametrize(
    ("instrument", "baseline", "current", "outcome"),
    [
        ("GAD7", 16, 4, "remission"),
        ("GAD7", 16, 8, "response"),
        ("GAD7", 16, 9, "no response"),
        ("GAD7", 15, 7, "response"),
        ("GAD7", 15, 8, "no response"),
        ("PHQ9", 22, 4, "remission"),
        ("PHQ9", 22, 5, "response"),
        ("PHQ9", 22, 11, "response"),
        ("PHQ9", 22, 12, "no response"),
        ("PCL5", 50, 25, "response"),
        ("PCL5", 50, 26, "no response"),
        ("PCL5", 50, 0, "response"),
    ],
)
def test_response_is_a_fall_of_half_and_remission_a_total_below_5(
    instrument, baseline, current, outcome
):
    assert (
        treatment_response(instrument=instrument, baseline_total=baseline, current_total=current)
        == outcome
    )


@pytest.mark.parametrize("baseline", [None, 0])
def test_no_usable_baseline_means_no_response_statement(baseline):
    assert treatment_response(instrument="GAD7", baseline_total=baseline, current_total=3) is None


@pytest.mark.parametrize("instrument", ["CADSS", "CADSS6"])
def test_dissociation_scales_have_no_response_rule(instrument):
    assert treatment_response(instrument=instrument, baseline_total=40, current_total=2) is None


def test_loinc_codes_and_labels():
    assert LOINC["GAD7"] == {"total": "70274-6", "panel": "69737-5"}
    assert LOINC["PHQ9"] == {"total": "44261-6", "panel": "44249-1"}
    assert instrument_label("PHQ9") == "PHQ-9"
    assert instrument_label("CADSS6") == "CADSS-6"
