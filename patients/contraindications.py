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
