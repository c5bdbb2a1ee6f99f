"""Ketamine dose arithmetic and the dose limits of an infusion order.

Everything that shows or checks a dose (API, charting screen, PDF) calls these
functions; nothing else multiplies weights by doses. All arithmetic is done in
``Decimal`` and rounded half up (never binary floating point, which would round
72.5 kg × 0.5 mg/kg = 36.25 mg down to 36.2 mg).

Rounding, each time from exact decimal inputs:

- total dose: mg to 0.1 mg (weight × mg/kg);
- infusion rate: mg/min to 0.01 mg/min (rounded total ÷ infusion minutes);
- volume of stock to draw: mL to 0.01 mL (rounded total ÷ stock concentration), so
  that with the usual 10 mg/mL stock the drawn volume is the total dose exactly;
- pump rate: mL/h to 0.1 mL/h (bag's final volume ÷ infusion hours).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

TENTH = Decimal("0.1")
HUNDREDTH = Decimal("0.01")

#: Sub-anaesthetic range of an order; outside it a prescriber must record an override.
DOSE_MIN_MG_PER_KG = Decimal("0.1")
DOSE_MAX_MG_PER_KG = Decimal("1.0")
#: Absolute limits no override can pass: below is a decimal slip, above is an
#: anaesthetic dose, which this clinic does not give.
DOSE_ABSOLUTE_MIN_MG_PER_KG = Decimal("0.05")
DOSE_ABSOLUTE_MAX_MG_PER_KG = Decimal("2.0")

WEIGHT_MIN_KG = Decimal("30")
WEIGHT_MAX_KG = Decimal("300")

INFUSION_MIN_MINUTES = 10
INFUSION_MAX_MINUTES = 240


class DosePlan(NamedTuple):
    """What the nurse prepares and programs: the numbers the second clinician verifies."""

    total_mg: Decimal
    rate_mg_per_min: Decimal
    draw_volume_ml: Decimal
    pump_rate_ml_per_h: Decimal


def as_decimal(value) -> Decimal:
    """An exact decimal from a Decimal, int or string (a float goes through its shortest repr)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValueError(f"Not a number: {value!r}") from exc


def _round(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def total_dose_mg(*, weight_kg, dose_mg_per_kg) -> Decimal:
    """Total dose in mg: weight × mg/kg, rounded half up to 0.1 mg (72.5 × 0.5 = 36.3)."""
    return _round(as_decimal(weight_kg) * as_decimal(dose_mg_per_kg), TENTH)


def dose_plan(
    *, weight_kg, dose_mg_per_kg, infusion_minutes, concentration_mg_per_ml, bag_volume_ml
) -> DosePlan:
    """Total mg, mg/min, mL of stock to draw and pump mL/h (rounding: see the module doc)."""
    minutes = as_decimal(infusion_minutes)
    concentration = as_decimal(concentration_mg_per_ml)
    if minutes <= 0:
        raise ValueError("Infusion minutes must be positive.")
    if concentration <= 0:
        raise ValueError("Stock concentration must be positive.")
    total = total_dose_mg(weight_kg=weight_kg, dose_mg_per_kg=dose_mg_per_kg)
    return DosePlan(
        total_mg=total,
        rate_mg_per_min=_round(total / minutes, HUNDREDTH),
        draw_volume_ml=_round(total / concentration, HUNDREDTH),
        pump_rate_ml_per_h=_round(as_decimal(bag_volume_ml) * 60 / minutes, TENTH),
    )


def weight_error(weight_kg) -> str | None:
    """Why a weight is refused (outside 30–300 kg), or None."""
    weight = as_decimal(weight_kg)
    if weight < WEIGHT_MIN_KG or weight > WEIGHT_MAX_KG:
        return (
            f"Weight {weight} kg is outside the accepted range of "
            f"{WEIGHT_MIN_KG}–{WEIGHT_MAX_KG} kg. "
            "Check the scale reading and the unit (kg, not lb)."
        )
    return None


def dose_absolute_limit_error(dose_mg_per_kg) -> str | None:
    """Why a dose is refused even with a prescriber's override, or None."""
    dose = as_decimal(dose_mg_per_kg)
    if dose < DOSE_ABSOLUTE_MIN_MG_PER_KG or dose > DOSE_ABSOLUTE_MAX_MG_PER_KG:
        return (
            f"{dose} mg/kg is outside the absolute limits of {DOSE_ABSOLUTE_MIN_MG_PER_KG}–"
            f"{DOSE_ABSOLUTE_MAX_MG_PER_KG} mg/kg and cannot be given, even with an override. "
            "Check for a decimal slip."
        )
    return None


def dose_override_reason_needed(*, dose_mg_per_kg, ordered_mg_per_kg) -> str | None:
    """Why a dose needs a prescriber's override, or None when it is within the order.

    The single rule: a dose above the course's ordered mg/kg, or outside the
    sub-anaesthetic range 0.1–1.0 mg/kg, may be given only under an override
    recorded by a prescriber with a reason.
    """
    dose = as_decimal(dose_mg_per_kg)
    ordered = as_decimal(ordered_mg_per_kg)
    if dose < DOSE_MIN_MG_PER_KG or dose > DOSE_MAX_MG_PER_KG:
        return (
            f"{dose} mg/kg is outside the sub-anaesthetic range of {DOSE_MIN_MG_PER_KG}–"
            f"{DOSE_MAX_MG_PER_KG} mg/kg: a prescriber must record an override with a reason."
        )
    if dose > ordered:
        return (
            f"{dose} mg/kg is above the course's ordered dose of {ordered} mg/kg: "
            "a prescriber must record an override with a reason."
        )
    return None


def dose_limit_errors(
    *, weight_kg, dose_mg_per_kg, ordered_mg_per_kg, overridden_mg_per_kg=None
) -> dict[str, str]:
    """Field -> message for a weight and dose that may not be given.

    ``overridden_mg_per_kg`` is the dose a prescriber's override covers on this
    session (if any): that exact dose is allowed when within the absolute limits.
    """
    errors = {}
    message = weight_error(weight_kg)
    if message:
        errors["weight_kg"] = message
    message = dose_absolute_limit_error(dose_mg_per_kg)
    if message is None and (
        overridden_mg_per_kg is None
        or as_decimal(overridden_mg_per_kg) != as_decimal(dose_mg_per_kg)
    ):
        message = dose_override_reason_needed(
            dose_mg_per_kg=dose_mg_per_kg, ordered_mg_per_kg=ordered_mg_per_kg
        )
    if message:
        errors["dose_mg_per_kg"] = message
    return errors


def infusion_minutes_error(minutes) -> str | None:
    if minutes is None or not (INFUSION_MIN_MINUTES <= int(minutes) <= INFUSION_MAX_MINUTES):
        return f"Infusion time must be {INFUSION_MIN_MINUTES}–{INFUSION_MAX_MINUTES} minutes."
    return None
