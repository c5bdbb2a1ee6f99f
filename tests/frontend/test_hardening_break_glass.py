"""Break-the-glass: time-limited emergency access, audited, and reviewed by the practice manager."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ehr.models import AuditEvent
from patients.models import BreakGlassAccess

pytestmark = pytest.mark.django_db

REASON = "Patient in chair 2 asks about tomorrow's dose; covering nurse"


def chart(patient):
    return reverse("frontend:patient_chart", args=[patient.pk])


def stamp(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def open_glass(client, patient, reason=REASON):
    return client.post(reverse("frontend:break_glass", args=[patient.pk]), {"reason": reason})


def test_access_lasts_the_configured_hours(client_for, outside_nurse, patient, settings):
    settings.BREAK_GLASS_HOURS = 2
    client = client_for(outside_nurse)
    before = timezone.now()

    open_glass(client, patient)

    grant = BreakGlassAccess.objects.get(user=outside_nurse, patient=patient)
    hours = datetime.timedelta(hours=2)
    assert before + hours <= grant.expires_at <= timezone.now() + hours
    assert client.get(chart(patient)).status_code == 200


def test_access_holds_until_the_expiry_and_ends_at_it(client_for, outside_nurse, patient):
    client = client_for(outside_nurse)
    open_glass(client, patient)
    grant = BreakGlassAccess.objects.get(user=outside_nurse)

    grant.expires_at = timezone.now() + datetime.timedelta(seconds=5)
    grant.save(update_fields=["expires_at"])
    assert client.get(chart(patient)).status_code == 200
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200

    grant.expires_at = timezone.now()
    grant.save(update_fields=["expires_at"])
    assert client.get(chart(patient)).status_code == 404
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 404


def test_a_blank_reason_opens_nothing(client_for, outside_nurse, patient):
    client = client_for(outside_nurse)

    response = open_glass(client, patient, reason="\n  \t")

    assert "This field is required." in response.content.decode()
    assert not BreakGlassAccess.objects.exists()
    assert not AuditEvent.objects.filter(action="break_glass").exists()


def test_the_opening_is_flagged_in_the_audit_log(client_for, outside_nurse, patient):
    open_glass(client_for(outside_nurse), patient)

    event = AuditEvent.objects.get(action="break_glass")
    assert (event.user, event.patient, event.detail) == (outside_nurse, patient, REASON)


def test_admin_navigation_links_the_emergency_access_list(client_for, admin_user, nurse):
    url = reverse("frontend:break_glass_log")

    admin_page = client_for(admin_user).get(reverse("frontend:patient_list")).content.decode()
    nurse_page = client_for(nurse).get(reverse("frontend:patient_list")).content.decode()

    assert f'<a href="{url}">Break the glass</a>' in admin_page
    assert url not in nurse_page
    assert client_for(nurse).get(url).status_code == 403


def test_the_list_shows_who_which_patient_why_when_and_until(
    client_for, admin_user, outside_nurse, other_prescriber, patient, settings
):
    open_glass(client_for(outside_nurse), patient)
    open_glass(client_for(other_prescriber), patient, reason="Old grant")
    old = BreakGlassAccess.objects.get(user=other_prescriber)
    old.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    old.save(update_fields=["expires_at"])
    grant = BreakGlassAccess.objects.get(user=outside_nurse)

    page = client_for(admin_user).get(reverse("frontend:break_glass_log")).content.decode()

    rows = [row for row in page.split("<tr>") if "<td>" in row]
    assert len(rows) == 2
    newest, current = rows  # newest first: the prescriber's grant was opened last
    assert outside_nurse.display_name in current
    assert patient.last_name in current and patient.mrn in current
    assert REASON.replace("'", "&#x27;") in current
    assert stamp(grant.granted_at) in current
    assert stamp(grant.expires_at) in current
    assert 'badge warn">active' in current
    assert other_prescriber.display_name in newest and "Old grant" in newest
    assert stamp(old.expires_at) in newest
    assert 'badge warn">active' not in newest
