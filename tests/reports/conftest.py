import pytest

from tests.reports.factories import given_course, signed_evaluation


@pytest.fixture
def private_storage(settings, tmp_path):
    """Generated PDFs go to a temporary private folder for the test."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_STORAGE_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"].get("OPTIONS", {}), "location": str(root)},
        },
    }
    return root


@pytest.fixture
def course(patient, prescriber, nurse):
    """Six given infusions of the ``patient``, after a signed evaluation."""
    signed_evaluation(patient, prescriber)
    return given_course(patient, prescriber, nurse, sessions=6)
