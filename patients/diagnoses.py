"""The primary diagnoses the clinic treats (ICD-10-CM), with their labels.

``group`` ties a code to its family (GAD, PTSD, ...) for diagnosis-driven
scale sets later.
"""

from typing import NamedTuple


class Diagnosis(NamedTuple):
    code: str
    label: str
    group: str


DIAGNOSES: tuple[Diagnosis, ...] = (
    Diagnosis("F41.1", "Generalized anxiety disorder", "anxiety"),
    Diagnosis("F41.0", "Panic disorder [episodic paroxysmal anxiety]", "anxiety"),
    Diagnosis("F40.10", "Social phobia, unspecified (social anxiety disorder)", "anxiety"),
    Diagnosis("F40.210", "Arachnophobia", "phobia"),
    Diagnosis("F40.218", "Other animal type phobia", "phobia"),
    Diagnosis("F40.228", "Other natural environment type phobia", "phobia"),
    Diagnosis("F40.230", "Fear of blood", "phobia"),
    Diagnosis("F40.231", "Fear of injections and transfusions", "phobia"),
    Diagnosis("F40.240", "Claustrophobia", "phobia"),
    Diagnosis("F40.241", "Acrophobia", "phobia"),
    Diagnosis("F40.243", "Fear of flying", "phobia"),
    Diagnosis("F40.248", "Other situational type phobia", "phobia"),
    Diagnosis("F40.298", "Other specified phobia", "phobia"),
    Diagnosis("F43.10", "Post-traumatic stress disorder, unspecified", "ptsd"),
    Diagnosis("F43.11", "Post-traumatic stress disorder, acute", "ptsd"),
    Diagnosis("F43.12", "Post-traumatic stress disorder, chronic", "ptsd"),
    Diagnosis("F42.2", "Mixed obsessional thoughts and acts", "ocd"),
    Diagnosis("F42.8", "Other obsessive-compulsive disorder", "ocd"),
    Diagnosis("F42.9", "Obsessive-compulsive disorder, unspecified", "ocd"),
    Diagnosis("F33.0", "Major depressive disorder, recurrent, mild", "depression"),
    Diagnosis("F33.1", "Major depressive disorder, recurrent, moderate", "depression"),
    Diagnosis(
        "F33.2",
        "Major depressive disorder, recurrent severe without psychotic features",
        "depression",
    ),
    Diagnosis(
        "F33.3",
        "Major depressive disorder, recurrent, severe with psychotic symptoms",
        "depression",
    ),
    Diagnosis("F33.8", "Other recurrent depressive disorders", "depression"),
    Diagnosis("F33.9", "Major depressive disorder, recurrent, unspecified", "depression"),
)

DIAGNOSIS_CHOICES = [(d.code, f"{d.code} {d.label}") for d in DIAGNOSES]
_BY_CODE = {d.code: d for d in DIAGNOSES}


def diagnosis_label(code: str) -> str:
    """The label of a code from the list, or the code itself if it is not on it."""
    found = _BY_CODE.get(code)
    return found.label if found else code
