"""Rating scales: the instruments, their item rules, totals and severity bands.

Every total and band the application shows (API, web pages, PDF) comes from
``score``; response and remission against the baseline come from
``treatment_response``; nothing else computes them.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db import models

from ehr.errors import RuleViolation


class Instrument(models.TextChoices):
    GAD7 = "GAD7", "GAD-7"
    PHQ9 = "PHQ9", "PHQ-9"
    PCL5 = "PCL5", "PCL-5"
    CADSS = "CADSS", "CADSS"
    CADSS6 = "CADSS6", "CADSS-6"


class ScaleScore(NamedTuple):
    total: int
    severity: str


class _Rules(NamedTuple):
    items: int
    max_answer: int
    # (lowest total of the band, band name), ascending; empty: no bands.
    bands: tuple[tuple[int, str], ...]


_RULES: dict[str, _Rules] = {
    Instrument.GAD7: _Rules(7, 3, ((0, "minimal"), (5, "mild"), (10, "moderate"), (15, "severe"))),
    Instrument.PHQ9: _Rules(
        9,
        3,
        (
            (0, "minimal"),
            (5, "mild"),
            (10, "moderate"),
            (15, "moderately severe"),
            (20, "severe"),
        ),
    ),
    Instrument.PCL5: _Rules(20, 4, ((0, "below threshold"), (33, "probable PTSD"))),
    Instrument.CADSS: _Rules(23, 4, ()),
    Instrument.CADSS6: _Rules(6, 4, ()),
}

#: The CADSS items the six-item short form keeps (1-based item numbers of the CADSS).
CADSS6_ITEMS = (1, 2, 6, 7, 15, 22)

#: PHQ-9 item 9 asks about thoughts of self-harm (1-based).
PHQ9_SELF_HARM_ITEM = 9

#: LOINC codes for export: {instrument: {"total": code, "panel": code}}.
LOINC: dict[str, dict[str, str]] = {
    Instrument.GAD7: {"total": "70274-6", "panel": "69737-5"},
    Instrument.PHQ9: {"total": "44261-6", "panel": "44249-1"},
}

#: Instruments with response and remission rules; remission is a total below this.
_REMISSION_BELOW = {Instrument.GAD7: 5, Instrument.PHQ9: 5}
_RESPONSE_INSTRUMENTS = frozenset({Instrument.GAD7, Instrument.PHQ9, Instrument.PCL5})

REMISSION = "remission"
RESPONSE = "response"
NO_RESPONSE = "no response"


def instrument_label(code: str) -> str:
    """The printed name of an instrument ("GAD-7"), or the code if unknown."""
    try:
        return Instrument(code).label
    except ValueError:
        return code


def item_count(instrument: str) -> int:
    return _rules(instrument).items


def answer_range(instrument: str) -> tuple[int, int]:
    """The lowest and highest answer allowed for every item."""
    return 0, _rules(instrument).max_answer


def _rules(instrument: str) -> _Rules:
    try:
        return _RULES[instrument]
    except KeyError:
        raise RuleViolation(
            f"Unknown instrument {instrument!r}; use one of {', '.join(Instrument.values)}.",
            field="instrument",
        ) from None


def score(*, instrument: str, answers: list[int]) -> ScaleScore:
    """Total and severity band of one administration.

    Refuses (``RuleViolation`` on ``answers``) a wrong number of items or an
    answer outside the instrument's range, naming the instrument and the item.
    Instruments without bands (CADSS, CADSS-6) have severity "".
    """
    rules = _rules(instrument)
    label = instrument_label(instrument)
    if not isinstance(answers, list | tuple):
        raise RuleViolation(f"{label} answers must be a list of numbers.", field="answers")
    if len(answers) != rules.items:
        raise RuleViolation(
            f"{label} needs exactly {rules.items} answers, got {len(answers)}", field="answers"
        )
    for number, answer in enumerate(answers, start=1):
        # bool is an int in Python; a checkbox value is not an item answer.
        if not isinstance(answer, int) or isinstance(answer, bool):
            raise RuleViolation(
                f"{label} answers are whole numbers 0–{rules.max_answer}; item {number} is "
                f"{answer!r}",
                field="answers",
            )
        if not 0 <= answer <= rules.max_answer:
            raise RuleViolation(
                f"{label} answers are 0–{rules.max_answer}; item {number} is {answer}",
                field="answers",
            )
    total = sum(answers)
    return ScaleScore(total=total, severity=severity_band(instrument=instrument, total=total))


def severity_band(*, instrument: str, total: int) -> str:
    """The band a total falls in ("" for instruments without bands)."""
    band = ""
    for lowest, name in _rules(instrument).bands:
        if total >= lowest:
            band = name
    return band


def raises_self_harm_alert(*, instrument: str, answers: list[int]) -> bool:
    """PHQ-9 item 9 (thoughts of self-harm) answered above 0."""
    return instrument == Instrument.PHQ9 and answers[PHQ9_SELF_HARM_ITEM - 1] > 0


def treatment_response(
    *, instrument: str, baseline_total: int | None, current_total: int
) -> str | None:
    """Response or remission of a current total against the baseline.

    - "remission": a GAD-7 or PHQ-9 total below 5 (checked first);
    - "response": a fall of at least 50 % from the baseline;
    - "no response": otherwise;
    - None: no usable baseline (None or 0), or an instrument without a
      response rule (CADSS, CADSS-6).
    """
    if instrument not in _RESPONSE_INSTRUMENTS:
        return None
    if not baseline_total:
        return None
    remission_below = _REMISSION_BELOW.get(instrument)
    if remission_below is not None and current_total < remission_below:
        return REMISSION
    # Integer arithmetic: a fall of exactly half the baseline is a response.
    if (baseline_total - current_total) * 2 >= baseline_total:
        return RESPONSE
    return NO_RESPONSE
