"""Care-team changes and break-the-glass access."""

import datetime

import pytest
from django.utils import timezone

from ehr.models import AuditEvent
from patients.models import BreakGlassAccess
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _team_url(patient):
    return f"/api/v1/patients/{patient.pk}/care-team/"


def _glass_url(patient):
    return f"/api/v1/patients/{patient.pk}/break-glass/"


def test_responsible_prescriber_adds_a_nurse(api, prescriber, outside_nurse, patient):
    response = api(prescriber).post(_team_url(patient), {"user": outside_nurse.pk, "action": "add"})

    assert response.status_code == 200, response.json()
    assert outside_nurse.pk in response.json()["care_team"]
    event = AuditEvent.objects.get()
    assert (event.action, event.patient, event.user) == ("permission_change", patient, prescriber)
    assert api(outside_nurse).get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert "add" in event.detail and outside_nurse.username in event.detail


def test_admin_removes_a_nurse_who_then_gets_404(api, admin_user, nurse, patient):
    response = api(admin_user).post(_team_url(patient), {"user": nurse.pk, "action": "remove"})

    assert response.status_code == 200
    assert nurse.pk not in response.json()["care_team"]
    assert api(nurse).get(f"/api/v1/patients/{patient.pk}/").status_code == 404


def test_a_prescriber_on_the_team_who_is_not_responsible_gets_403(
    api, other_prescriber, outside_nurse, patient
):
    api(patient.responsible_prescriber).post(
        _team_url(patient), {"user": other_prescriber.pk, "action": "add"}
    )

    response = api(other_prescriber).post(
        _team_url(patient), {"user": outside_nurse.pk, "action": "add"}
    )

    assert response.status_code == 403
    assert (
        outside_nurse.pk
        not in api(other_prescriber).get(f"/api/v1/patients/{patient.pk}/").json()["care_team"]
    )


def test_a_prescriber_off_the_team_gets_404(api, other_prescriber, outside_nurse, patient):
    response = api(other_prescriber).post(
        _team_url(patient), {"user": outside_nurse.pk, "action": "add"}
    )

    assert response.status_code == 404


@pytest.mark.parametrize("who", ["nurse", "referrer_user"])
def test_nurses_and_referrers_cannot_change_care_teams(api, request, patient, second_nurse, who):
    user = request.getfixturevalue(who)

    response = api(user).post(_team_url(patient), {"user": second_nurse.pk, "action": "add"})

    assert response.status_code == 403


def test_only_active_clinicians_join(api, admin_user, referrer_user, second_nurse, patient):
    second_nurse.is_active = False
    second_nurse.save()

    referrer = api(admin_user).post(_team_url(patient), {"user": referrer_user.pk, "action": "add"})
    admin = api(admin_user).post(_team_url(patient), {"user": admin_user.pk, "action": "add"})
    inactive = api(admin_user).post(_team_url(patient), {"user": second_nurse.pk, "action": "add"})

    assert [r.status_code for r in (referrer, admin, inactive)] == [400, 400, 400]
    assert "user" in referrer.json()


def test_the_responsible_prescriber_stays_on_the_team(api, admin_user, prescriber, patient):
    response = api(admin_user).post(_team_url(patient), {"user": prescriber.pk, "action": "remove"})

    assert response.status_code == 409


def test_an_unknown_action_is_refused(api, admin_user, nurse, patient):
    response = api(admin_user).post(_team_url(patient), {"user": nurse.pk, "action": "promote"})

    assert response.status_code == 400
    assert "action" in response.json()


def test_break_the_glass_grants_time_limited_access(api, outside_nurse, patient, settings):
    settings.BREAK_GLASS_HOURS = 4
    before = timezone.now()

    response = api(outside_nurse).post(_glass_url(patient), {"reason": "Covering the infusion"})

    assert response.status_code == 201, response.json()
    expires = datetime.datetime.fromisoformat(response.json()["expires_at"])
    assert before + datetime.timedelta(hours=4) <= expires
    assert expires <= timezone.now() + datetime.timedelta(hours=4)
    assert api(outside_nurse).get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert (
        api(outside_nurse).get("/api/v1/evaluations/", {"patient": patient.pk}).status_code == 200
    )
    event = AuditEvent.objects.filter(action="break_glass").get()
    assert (event.user, event.patient) == (outside_nurse, patient)
    assert "Covering the infusion" in event.detail


def test_break_the_glass_access_ends_when_it_expires(api, outside_nurse, patient):
    api(outside_nurse).post(_glass_url(patient), {"reason": "Covering the infusion"})
    BreakGlassAccess.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    assert api(outside_nurse).get(f"/api/v1/patients/{patient.pk}/").status_code == 404


def test_break_the_glass_needs_a_reason(api, outside_nurse, patient):
    blank = api(outside_nurse).post(_glass_url(patient), {"reason": "   "})
    missing = api(outside_nurse).post(_glass_url(patient), {})

    assert blank.status_code == 400
    assert missing.status_code == 400
    assert "reason" in missing.json()
    assert not BreakGlassAccess.objects.exists()


@pytest.mark.parametrize("who", ["admin_user", "referrer_user"])
def test_only_clinicians_break_the_glass(api, request, patient, who):
    response = api(request.getfixturevalue(who)).post(_glass_url(patient), {"reason": "Curious"})

    assert response.status_code == 403
    assert not BreakGlassAccess.objects.exists()


def test_break_the_glass_on_a_missing_patient_is_404(api, outside_nurse, db):
    assert (
        api(outside_nurse).post("/api/v1/patients/999999/break-glass/", {"reason": "x"}).status_code
        == 404
    )


def test_a_care_team_member_does_not_need_the_glass(api, nurse, patient):
    response = api(nurse).post(_glass_url(patient), {"reason": "Habit"})

    assert response.status_code == 409


def test_admin_sees_break_the_glass_grants(api, admin_user, outside_nurse, nurse, patient):
    other = PatientFactory()
    api(outside_nurse).post(_glass_url(patient), {"reason": "Covering"})
    api(nurse).post(_glass_url(other), {"reason": "Phone call from ED"})

    listing = api(admin_user).get("/api/v1/break-glass-accesses/")
    by_audit = api(admin_user).get("/api/v1/audit-events/", {"action": "break_glass"})

    assert listing.status_code == 200
    assert {(g["user"], g["patient"], g["active"]) for g in listing.json()["results"]} == {
        (outside_nurse.pk, patient.pk, True),
        (nurse.pk, other.pk, True),
    }
    assert by_audit.json()["count"] == 2
    assert api(nurse).get("/api/v1/break-glass-accesses/").status_code == 403


def test_break_glass_list_queries_stay_constant(
    api, admin_user, outside_nurse, django_assert_max_num_queries
):
    def grant(n):
        for patient in PatientFactory.create_batch(n):
            BreakGlassAccess.objects.create(
                user=outside_nurse,
                patient=patient,
                reason="Covering",
                expires_at=timezone.now() + datetime.timedelta(hours=1),
            )

    grant(2)
    client = api(admin_user)
    with django_assert_max_num_queries(10) as small:
        client.get("/api/v1/break-glass-accesses/")
    grant(20)

    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/api/v1/break-glass-accesses/").json()["count"] == 22
