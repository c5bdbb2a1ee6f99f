"""Every version of a record is kept (``ehr.records.History``, django-simple-history)."""

import pytest

from patients.models import Patient
from sessions.models import VitalSign
from tests.sessions.factories import VitalSignFactory

pytestmark = pytest.mark.django_db


def test_every_save_keeps_a_version_with_who_made_it(nurse, running_session):
    reading = VitalSignFactory(session=running_session, recorded_by=nurse, heart_rate=70)
    reading.heart_rate = 72
    reading._history_user = nurse
    reading.save()

    versions = list(reading.history.order_by("history_id"))

    assert [(v.history_type, v.heart_rate) for v in versions] == [("+", 70), ("~", 72)]
    assert versions[-1].history_user == nurse


def test_the_history_manager_class_is_built_once_per_queryset_class(nurse, running_session):
    reading = VitalSignFactory(session=running_session, recorded_by=nurse)

    # Reaching a history (which every save does) used to build a new manager class.
    assert type(reading.history) is type(reading.history)
    assert type(VitalSign.history) is type(Patient.history)
    assert reading.history.model is VitalSign.history.model
    assert VitalSign.history.model is not Patient.history.model
