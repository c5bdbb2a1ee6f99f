"""The demo clinic's pages: a break-the-glass opening and an acknowledged safety alert show."""

import io

import pytest
from django.urls import reverse

from ehr.seed import seed_users
from patients import seed
from patients.models import BreakGlassAccess, SafetyAlert

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_users():
    users = seed_users(password="demo")
    seed.seed(users=users, stdout=io.StringIO())
    return users


def test_the_practice_manager_sees_the_nurse_s_break_the_glass_opening(client_for, demo_users):
    grant = BreakGlassAccess.objects.get()

    page = client_for(demo_users["admin"]).get(reverse("frontend:break_glass_log"))

    body = page.content.decode()
    assert grant.patient.mrn in body
    assert "phoned the infusion suite about fasting" in body
    assert 'class="badge warn">active' in body


def test_the_nurse_reads_the_opened_chart_with_the_emergency_access_banner(client_for, demo_users):
    grant = BreakGlassAccess.objects.get()

    page = client_for(demo_users["nurse"]).get(
        reverse("frontend:patient_chart", args=[grant.patient.pk])
    )

    assert page.status_code == 200
    assert 'id="emergency-access"' in page.content.decode()


def test_the_chart_lists_the_acknowledged_alert_with_its_note(client_for, demo_users):
    alert = SafetyAlert.objects.get(acknowledged_at__isnull=False)

    page = client_for(demo_users["prescriber"]).get(
        reverse("frontend:patient_chart", args=[alert.patient.pk])
    )

    body = page.content.decode()
    assert "C-SSRS screen negative" in body[body.index("acknowledged-alerts") :]
