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


def test_a_version_is_the_row_the_orm_would_write(nurse, running_session):
    """Versions are appended by one statement built once per connection
    (``ehr.database.insert_new``); they hold what the ORM would have written."""
    reading = VitalSignFactory(
        session=running_session, recorded_by=nurse, alerts=["Systolic 182 mmHg is at or above 180."]
    )
    reading.bp_systolic = 150
    reading.alerts = []
    reading._history_user = nurse
    reading.save()

    created, corrected = reading.history.order_by("history_id")

    assert created.history_id < corrected.history_id
    assert created.alerts == ["Systolic 182 mmHg is at or above 180."]
    assert (corrected.bp_systolic, corrected.alerts) == (150, [])
    assert corrected.history_date.tzinfo is not None
    assert corrected.history_date >= created.history_date
    assert (created.id, created.session_id, created.recorded_by_id) == (
        reading.pk,
        running_session.pk,
        nurse.pk,
    )
    assert created.recorded_at == reading.recorded_at


def test_a_version_changed_later_is_saved_through_the_orm(nurse, running_session):
    reading = VitalSignFactory(session=running_session, recorded_by=nurse)
    version = reading.history.get()

    version.history_change_reason = "Entered on the wrong session"
    version.save()

    assert reading.history.get().history_change_reason == "Entered on the wrong session"
    assert reading.history.count() == 1
