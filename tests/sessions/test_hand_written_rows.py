"""Rows of hand-written statements become model instances as the ORM would build them."""

import pytest
from django.db import connection

from ehr.database import instance_from_row
from sessions.models import InfusionSession, MonitoringProtocol, VitalSign
from sessions.selectors import session_for_vitals
from tests.sessions.factories import VitalSignFactory

pytestmark = pytest.mark.django_db


def test_a_row_read_by_hand_is_converted_as_the_orm_converts_it(running_session, nurse):
    reading = VitalSignFactory(
        session=running_session,
        recorded_by=nurse,
        alerts=["Heart rate 131/min is at or above 130."],
    )
    fields = tuple(
        VitalSign._meta.get_field(name) for name in ("id", "created_at", "recorded_at", "alerts")
    )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(VitalSign._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {table} WHERE id = %s", [reading.pk])
        row = cursor.fetchone()
    built = instance_from_row(VitalSign, fields, row)
    # The converters found for the first row serve the next ones on this connection.
    again = instance_from_row(VitalSign, fields, row)
    read = VitalSign.objects.only("created_at", "recorded_at", "alerts").get(pk=reading.pk)

    # JSON decoded (PostgreSQL hands back text); dates time-zone aware (SQLite: text).
    assert built.alerts == again.alerts == read.alerts == ["Heart rate 131/min is at or above 130."]
    assert (built.created_at, built.recorded_at) == (read.created_at, read.recorded_at)
    assert (again.created_at, again.recorded_at) == (read.created_at, read.recorded_at)
    assert built.recorded_at.tzinfo is not None
    assert built.get_deferred_fields() == read.get_deferred_fields()
    assert built._state.adding is False


def test_the_charting_statement_gives_the_session_as_the_orm_reads_it(running_session, nurse):
    session, protocol = session_for_vitals(user=nurse, pk=running_session.pk)

    read = InfusionSession.objects.get(pk=running_session.pk)
    assert (session.scheduled_for, session.status, session.signed_at) == (
        read.scheduled_for,
        read.status,
        read.signed_at,
    )
    assert session.scheduled_for.tzinfo is not None
    assert session.course.patient_id == read.course.patient_id
    in_force = MonitoringProtocol.objects.order_by("-version").first()
    assert (protocol.pk, protocol.created_at) == (in_force.pk, in_force.created_at)
