import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.signals import post_save

from ehr.api.base import AuditedAPIMixin
from ehr.api.permissions import HasCapability
from ehr.audit import audit_record
from ehr.database import insert_new
from ehr.models import AuditAction, AuditEvent, AuditEventImmutable
from tests.api_routes import api_views

pytestmark = pytest.mark.django_db


def test_each_read_leaves_exactly_one_event_naming_the_patient(api, nurse, patient):
    response = api(nurse).get(f"/api/v1/patients/{patient.pk}/", REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_type, event.object_id, event.patient) == (
        nurse,
        "view",
        "patient",
        str(patient.pk),
        patient,
    )
    assert event.ip == "10.1.2.3"


def test_a_list_leaves_one_list_event(api, nurse, patient):
    api(nurse).get("/api/v1/patients/")

    event = AuditEvent.objects.get()
    assert (event.action, event.object_type) == ("list", "patient")


def test_a_write_leaves_one_create_event(api, nurse):
    response = api(nurse).post(
        "/api/v1/patients/",
        {
            "first_name": "Ana",
            "last_name": "Silva",
            "date_of_birth": "1990-01-02",
            "primary_diagnosis": "F41.1",
        },
    )

    assert response.status_code == 201, response.json()
    event = AuditEvent.objects.get()
    assert event.action == "create"
    assert event.patient_id == response.json()["id"]


def test_a_denied_read_leaves_one_denied_event(api, outside_nurse, patient):
    response = api(outside_nurse).get(f"/api/v1/patients/{patient.pk}/")

    assert response.status_code == 404
    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.object_id, event.status_code) == (
        outside_nurse,
        "denied",
        str(patient.pk),
        404,
    )
    # The denied event names no patient: the outsider learns nothing of its existence.
    assert event.patient is None


def test_a_role_denial_leaves_one_denied_event(api, nurse):
    api(nurse).get("/api/v1/audit-events/")

    event = AuditEvent.objects.get()
    assert (event.action, event.status_code) == ("denied", 403)


def test_an_anonymous_attempt_is_recorded_without_a_user(api, db):
    api().get("/api/v1/patients/", REMOTE_ADDR="192.0.2.9")

    event = AuditEvent.objects.get()
    assert (event.user, event.action, event.ip) == (None, "denied", "192.0.2.9")


def test_invalid_input_changes_nothing_and_records_nothing(api, nurse):
    response = api(nurse).post("/api/v1/patients/", {"first_name": "Ana"})

    assert response.status_code == 400
    assert "last_name" in response.json()
    assert not AuditEvent.objects.exists()


def test_admin_reads_the_audit_log_filtered_by_user_and_patient(
    api, admin_user, nurse, prescriber, patient
):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    api(prescriber).get("/api/v1/patients/")

    response = api(admin_user).get(
        "/api/v1/audit-events/", {"user": nurse.pk, "patient": patient.pk}
    )

    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 1
    assert {"at", "user", "action", "object_type", "object_id", "patient", "ip"} <= set(rows[0])
    assert rows[0]["action"] == "view"


def test_audit_log_filters_by_action_and_time(api, admin_user, nurse, patient):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    first = AuditEvent.objects.get()

    by_action = api(admin_user).get("/api/v1/audit-events/", {"action": "view"}).json()
    later = (
        api(admin_user)
        .get(
            "/api/v1/audit-events/",
            {"since": first.at.isoformat().replace("+00:00", "Z"), "action": "view"},
        )
        .json()
    )
    earlier = api(admin_user).get("/api/v1/audit-events/", {"until": "2000-01-01T00:00:00Z"}).json()

    assert by_action["count"] == 1
    assert later["count"] == 1
    assert earlier["count"] == 0


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_the_api_offers_no_way_to_change_an_audit_event(api, admin_user, nurse, patient, method):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    event = AuditEvent.objects.get()

    response = getattr(api(admin_user), method)(
        f"/api/v1/audit-events/{event.pk}/", {"action": "list"}
    )

    assert response.status_code == 405
    event.refresh_from_db()
    assert event.action == "view"


def test_the_model_refuses_to_change_or_delete_events(api, nurse, patient):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    event = AuditEvent.objects.get()

    event.action = "list"
    with pytest.raises(AuditEventImmutable):
        event.save()
    with pytest.raises(AuditEventImmutable):
        event.delete()
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.all().update(action="list")
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.all().delete()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)
def test_postgresql_refuses_raw_updates_and_deletes(api, nurse, patient):
    api(nurse).get(f"/api/v1/patients/{patient.pk}/")
    event = AuditEvent.objects.get()

    for sql in ("UPDATE ehr_auditevent SET action = 'list'", "DELETE FROM ehr_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    event.refresh_from_db()
    assert event.action == "view"


def test_every_api_view_is_audited_and_role_checked():
    views = list(api_views())
    assert views, "no API routes found"
    for route, view_class in views:
        assert view_class is not None and issubclass(view_class, AuditedAPIMixin), route
        if not view_class.audit_exempt:
            assert any(issubclass(p, HasCapability) for p in view_class.permission_classes), route


def test_an_event_is_written_as_the_orm_would_write_it(rf, nurse, patient):
    request = rf.get(f"/api/v1/patients/{patient.pk}/", REMOTE_ADDR="192.0.2.7")
    request.user = nurse

    event = audit_record(action=AuditAction.VIEW, request=request, obj=patient, status_code=200)

    stored = AuditEvent.objects.get()
    assert stored.pk == event.pk
    assert (stored.at, stored.user, stored.username) == (event.at, nurse, nurse.username)
    assert stored.at.tzinfo is not None
    assert (stored.action, stored.object_type, stored.object_id) == (
        "view",
        "patient",
        str(patient.pk),
    )
    assert (stored.patient_id, stored.ip, stored.path) == (
        patient.pk,
        "192.0.2.7",
        f"/api/v1/patients/{patient.pk}/",
    )
    assert (stored.method, stored.status_code, stored.detail) == ("GET", 200, "")
    assert event._state.adding is False
    second = audit_record(action=AuditAction.LIST, request=request, object_type="patient")
    assert second.pk > event.pk


def test_the_single_statement_insert_refuses_what_it_cannot_write(nurse, patient):
    event = audit_record(action=AuditAction.VIEW, user=nurse, obj=patient)

    with pytest.raises(ValueError):
        insert_new(event)

    def listener(**kwargs):
        pass

    post_save.connect(listener, sender=AuditEvent)
    try:
        with pytest.raises(TypeError):
            insert_new(AuditEvent(action=AuditAction.VIEW))
    finally:
        post_save.disconnect(listener, sender=AuditEvent)
    assert AuditEvent.objects.count() == 1
