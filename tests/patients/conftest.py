"""Fixtures for the patients tests (the cast of users is in tests/conftest.py)."""

import pytest

from tests.factories import PatientFactory


@pytest.fixture
def unteamed_patient(prescriber, referrer):
    """A patient whose care team is only the prescriber: the nurse is not on it."""
    return PatientFactory(
        first_name="Νίκος",
        last_name="Παπαδόπουλος",
        referring_provider=referrer,
        responsible_prescriber=prescriber,
        care_team=[prescriber],
    )
