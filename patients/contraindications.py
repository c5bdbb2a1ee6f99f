"""The contraindication screen of the pre-treatment evaluation (SPEC §3)."""

from typing import NamedTuple


class Contraindication(NamedTuple):
    key: str
    label: str
    absolute: bool


CONTRAINDICATIONS: tuple[Contraindication, ...] = (
    Contraindication(
        "psychosis_history", "History of psychosis (schizophrenia, psychotic features)", True
    ),
    Contraindication("uncontrolled_hypertension", "Uncontrolled hypertension", True),
    Contraindication("pregnancy", "Pregnancy", True),
    Contraindication("ketamine_hypersensitivity", "Hypersensitivity to ketamine", True),
    Contraindication("raised_intracranial_pressure", "Raised intracranial pressure", True),
    Contraindication(
        "unstable_cardiovascular_disease",
        "Unstable cardiovascular disease (recent MI, aneurysm, unstable angina)",
        True,
    ),
    Contraindication("active_substance_use_disorder", "Active substance use disorder", False),
    Contraindication("severe_hepatic_impairment", "Severe hepatic impairment", False),
    Contraindication("uncontrolled_hyperthyroidism", "Uncontrolled hyperthyroidism", False),
    Contraindication("interstitial_cystitis", "Interstitial cystitis", False),
)

CONTRAINDICATION_KEYS = tuple(c.key for c in CONTRAINDICATIONS)
ABSOLUTE_KEYS = frozenset(c.key for c in CONTRAINDICATIONS if c.absolute)
RELATIVE_KEYS = frozenset(c.key for c in CONTRAINDICATIONS if not c.absolute)


def contraindication_answer_errors(answers) -> list[str]:
    """What is wrong with a contraindication screen: every key answered true/false, no others.

    Empty when the screen is complete. Each message names the key at fault.
    """
    if not isinstance(answers, dict):
        return ["Answer the contraindication screen as an object of key: true/false."]
    errors = [
        f"'{key}' is missing: answer it true or false."
        for key in CONTRAINDICATION_KEYS
        if key not in answers
    ]
    errors += [
        f"'{key}' is not a contraindication on the screen."
        for key in answers
        if key not in CONTRAINDICATION_KEYS
    ]
    errors += [
        f"'{key}' must be true or false, not {value!r}."
        for key, value in answers.items()
        if key in CONTRAINDICATION_KEYS and not isinstance(value, bool)
    ]
    return errors
