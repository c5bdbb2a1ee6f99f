"""Eligibility for ketamine treatment and the measures of the pre-treatment evaluation.

``eligibility_errors`` is the one place the eligibility rules live: the
evaluation service refuses what it reports and the web form calls it live
while the clinician types.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from patients.contraindications import ABSOLUTE_KEYS, CONTRAINDICATIONS, RELATIVE_KEYS

ELIGIBLE = "eligible"
ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"

_LABELS = {c.key: c.label for c in CONTRAINDICATIONS}


def eligibility_allows_treatment(*, eligibility: str) -> bool:
    """Whether an evaluation's decision allows a treatment course to be ordered."""
    return eligibility in (ELIGIBLE, ELIGIBLE_WITH_PRECAUTIONS)


def _present(contraindications: dict, keys) -> list[str]:
    return [c.key for c in CONTRAINDICATIONS if c.key in keys and contraindications.get(c.key)]


def eligibility_errors(*, contraindications: dict, eligibility: str, precautions: str) -> dict:
    """What stops this eligibility decision, as {field: message}; empty when allowed.

    - ``eligible`` is refused while any absolute contraindication is yes, and so
      is ``eligible_with_precautions``: an absolute contraindication cannot be
      managed by precautions;
    - ``eligible`` is refused while any relative contraindication is yes: the
      decision is then ``eligible_with_precautions`` (with its note),
      ``not_eligible`` or still ``pending``;
    - ``eligible_with_precautions`` needs a precautions note when any relative
      contraindication is yes.
    """
    errors: dict[str, str] = {}
    contraindications = contraindications or {}
    absolute = _present(contraindications, ABSOLUTE_KEYS)
    relative = _present(contraindications, RELATIVE_KEYS)
    if eligibility in (ELIGIBLE, ELIGIBLE_WITH_PRECAUTIONS) and absolute:
        names = "; ".join(_LABELS[key] for key in absolute)
        errors["eligibility"] = f"Not eligible while an absolute contraindication is yes: {names}."
    elif eligibility == ELIGIBLE and relative:
        names = "; ".join(_LABELS[key] for key in relative)
        errors["eligibility"] = (
            f"A relative contraindication is yes ({names}): choose eligible with precautions "
            "and describe them, or not eligible."
        )
    if eligibility == ELIGIBLE_WITH_PRECAUTIONS and relative and not (precautions or "").strip():
        names = "; ".join(_LABELS[key] for key in relative)
        errors["precautions"] = (
            f"Describe the precautions taken for the relative contraindication(s): {names}."
        )
    return errors


def bmi(*, weight_kg, height_cm) -> Decimal | None:
    """Body-mass index (kg/m²) rounded half up to one decimal; None without both measures."""
    if weight_kg in (None, "") or height_cm in (None, ""):
        return None
    weight = Decimal(str(weight_kg))
    height_m = Decimal(str(height_cm)) / 100
    if height_m <= 0:
        return None
    return (weight / (height_m * height_m)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


#: Physically plausible ranges for the measures taken at the evaluation (inclusive).
MEASURE_RANGES = {
    "weight_kg": (Decimal("20"), Decimal("400"), "kg"),
    "height_cm": (Decimal("50"), Decimal("250"), "cm"),
    "bp_systolic": (50, 280, "mmHg"),
    "bp_diastolic": (20, 180, "mmHg"),
    "heart_rate": (20, 250, "/min"),
}


def evaluation_measure_errors(
    *, weight_kg, height_cm, bp_systolic, bp_diastolic, heart_rate
) -> dict[str, str]:
    """Physically impossible evaluation measures, as {field: message}; empty when plausible.

    Ranges are ``MEASURE_RANGES``; the diastolic pressure must be below the systolic.
    """
    values = {
        "weight_kg": weight_kg,
        "height_cm": height_cm,
        "bp_systolic": bp_systolic,
        "bp_diastolic": bp_diastolic,
        "heart_rate": heart_rate,
    }
    errors: dict[str, str] = {}
    for field, value in values.items():
        low, high, unit = MEASURE_RANGES[field]
        if value is None:
            errors[field] = "This measure is required."
        elif not low <= value <= high:
            errors[field] = f"{value} {unit} is not plausible; expected {low}–{high} {unit}."
    both_plausible = "bp_systolic" not in errors and "bp_diastolic" not in errors
    if both_plausible and bp_diastolic >= bp_systolic:
        errors["bp_diastolic"] = "The diastolic pressure must be below the systolic."
    return errors
