"""Practice manager pages: staff accounts, referring providers, the audit log."""

import pytest
from django.urls import reverse

from ehr.models import AuditEvent, User
from patients.models import ReferringProvider
from tests.factories import UserFactory, valid_npi

pytestmark = pytest.mark.django_db


def test_the_practice_manager_creates_an_account_with_a_role(client_for, admin_user):
    response = client_for(admin_user).post(
        reverse("frontend:staff_create"),
        {
            "username": "nurse_new",
            "first_name": "Ada",
            "last_name": "Obi",
            "role": "nurse",
            "password": "a-Long-passphrase-42",
        },
    )

    assert response.status_code == 302
    created = User.objects.get(username="nurse_new")
    assert created.role == "nurse"
    assert created.check_password("a-Long-passphrase-42")
    event = AuditEvent.objects.get(action="permission_change")
    assert (event.object_type, event.object_id) == ("user", str(created.pk))


def test_a_weak_password_is_refused_next_to_the_field(client_for, admin_user):
    response = client_for(admin_user).post(
        reverse("frontend:staff_create"),
        {"username": "nurse_new", "role": "nurse", "password": "12345678"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "too common" in body[body.index('id="field-password"') :][:1500]
    assert not User.objects.filter(username="nurse_new").exists()


def test_changing_a_role_is_a_recorded_permission_change(client_for, admin_user, nurse):
    client_for(admin_user).post(
        reverse("frontend:staff_edit", args=[nurse.pk]),
        {"first_name": nurse.first_name, "last_name": nurse.last_name, "role": "prescriber"},
    )

    nurse.refresh_from_db()
    assert nurse.role == "prescriber"
    assert AuditEvent.objects.filter(
        action="permission_change", object_id=str(nurse.pk), detail="role prescriber"
    ).exists()


def test_deactivating_and_reactivating_an_account(client_for, admin_user, nurse):
    client = client_for(admin_user)
    url = reverse("frontend:staff_set_active", args=[nurse.pk])

    client.post(url, {"active": "0"})
    nurse.refresh_from_db()
    assert not nurse.is_active
    client.post(url, {"active": "1"})
    nurse.refresh_from_db()
    assert nurse.is_active


def test_the_practice_manager_cannot_deactivate_themselves(client_for, admin_user):
    response = client_for(admin_user).post(
        reverse("frontend:staff_set_active", args=[admin_user.pk]), {"active": "0"}, follow=True
    )

    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert "You cannot deactivate your own account." in response.content.decode()


def test_a_referring_provider_is_added_and_linked_to_a_portal_account(client_for, admin_user):
    portal = UserFactory(username="dr_portal", role="referring_provider")
    client = client_for(admin_user)
    npi = valid_npi(77)

    client.post(
        reverse("frontend:provider_create"),
        {"name": "Dr. Lena Park", "npi": npi, "practice": "Bayside", "user": portal.pk},
    )

    provider = ReferringProvider.objects.get(npi=npi)
    assert provider.user == portal
    listing = client.get(reverse("frontend:provider_list")).content.decode()
    assert "Dr. Lena Park" in listing and "dr_portal" in listing


def test_an_npi_with_a_wrong_check_digit_is_refused_next_to_it(client_for, admin_user):
    npi = valid_npi(5)
    wrong = npi[:-1] + str((int(npi[-1]) + 1) % 10)

    response = client_for(admin_user).post(
        reverse("frontend:provider_create"), {"name": "Dr. X", "npi": wrong}
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Luhn check digit" in body[body.index('id="field-npi"') :][:1500]


def test_only_portal_accounts_can_be_linked_to_a_provider(client_for, admin_user, nurse):
    body = client_for(admin_user).get(reverse("frontend:provider_create")).content.decode()

    assert f'value="{nurse.pk}"' not in body


def test_the_audit_log_filters_by_user_action_patient_and_time(
    client_for, admin_user, nurse, prescriber, patient
):
    client_for(nurse).get(reverse("frontend:patient_chart", args=[patient.pk]))
    client_for(prescriber).get(reverse("frontend:patient_list"))
    client = client_for(admin_user)

    by_user = client.get(reverse("frontend:audit_log"), {"user": nurse.pk, "action": "view"})
    by_patient = client.get(reverse("frontend:audit_log"), {"patient": patient.mrn})
    future = client.get(reverse("frontend:audit_log"), {"since": "2999-01-01T00:00"})
    unknown = client.get(reverse("frontend:audit_log"), {"patient": "K00000000"})

    rows = by_user.context["page"].object_list
    assert {(e.user, e.action) for e in rows} == {(nurse, "view")}
    assert {e.patient for e in by_patient.context["page"].object_list} == {patient}
    assert list(future.context["page"].object_list) == []
    assert "No patient has this MRN." in unknown.content.decode()


def test_the_audit_log_is_paginated(client_for, admin_user, nurse, patient):
    client = client_for(nurse)
    for _ in range(55):
        client.get(reverse("frontend:patient_chart", args=[patient.pk]))

    admin = client_for(admin_user)
    first = admin.get(reverse("frontend:audit_log"), {"user": nurse.pk})
    second = admin.get(reverse("frontend:audit_log"), {"user": nurse.pk, "page": 2})

    assert len(first.context["page"].object_list) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert f"user={nurse.pk}&amp;page=2" in first.content.decode()
    assert len(second.context["page"].object_list) == 6  # 55 views and the login


def test_the_audit_log_costs_the_same_queries_for_a_longer_page(
    client_for, admin_user, nurse, patient, django_assert_max_num_queries
):
    client = client_for(nurse)
    admin = client_for(admin_user)
    for _ in range(5):
        client.get(reverse("frontend:patient_chart", args=[patient.pk]))
    with django_assert_max_num_queries(12) as few:
        admin.get(reverse("frontend:audit_log"))
    baseline = len(few.captured_queries)
    for _ in range(20):
        client.get(reverse("frontend:patient_chart", args=[patient.pk]))
    with django_assert_max_num_queries(baseline):
        admin.get(reverse("frontend:audit_log"))
