"""A password change ends the account's other sessions and its API tokens.

Two browsers (two test clients) are signed in as the same user: after one of
them changes the password, the other is signed out at its next request and the
one that changed it stays in. The same when the practice manager resets the
password on the staff page or through the users API.
"""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehr.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a fresh and rather long passphrase"
PAGE = "/patients/"


def browser(user, password=PASSWORD) -> Client:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": password})
    assert response.status_code == 302
    assert client.get(PAGE).status_code == 200
    return client


def signed_out(client) -> bool:
    response = client.get(PAGE)
    return response.status_code == 302 and response["Location"].startswith("/login/")


def api_status(key) -> int:
    return APIClient().get("/api/v1/patients/", HTTP_AUTHORIZATION=f"Token {key}").status_code


def change_own_password(client, old=PASSWORD, new=NEW_PASSWORD, again=None):
    return client.post(
        reverse("frontend:password_change"),
        {"old_password": old, "new_password1": new, "new_password2": again or new},
    )


def test_the_security_page_links_to_the_password_change(nurse):
    page = browser(nurse).get(reverse("frontend:account_security")).content.decode()

    assert f'href="{reverse("frontend:password_change")}"' in page


def test_changing_ones_password_signs_out_the_other_session_only(nurse, patient):
    a = browser(nurse)
    b = browser(nurse)
    token = Token.objects.create(user=nurse)

    response = change_own_password(a)

    assert response.status_code == 302
    assert a.get(PAGE).status_code == 200
    assert signed_out(b)
    assert api_status(token.key) == 401
    assert not Token.objects.filter(user=nurse).exists()
    nurse.refresh_from_db()
    assert nurse.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="permission_change", user=nurse)
    assert event.detail == "password changed"
    assert (event.object_type, event.object_id) == ("user", str(nurse.pk))


def test_the_new_password_signs_in_and_the_old_one_no_longer(nurse):
    change_own_password(browser(nurse))

    assert (
        Client().post("/login/", {"username": nurse.username, "password": PASSWORD}).status_code
        == 200
    )
    browser(nurse, NEW_PASSWORD)


def test_a_wrong_current_password_changes_nothing(nurse):
    a = browser(nurse)
    b = browser(nurse)

    response = change_own_password(a, old="not my password")

    assert response.status_code == 400
    assert "Your old password was entered incorrectly" in response.content.decode()
    assert not signed_out(b)
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="permission_change").exists()


def test_the_new_password_must_be_typed_twice_alike(nurse):
    response = change_own_password(browser(nurse), again=NEW_PASSWORD + "!")

    assert response.status_code == 400
    assert "The two password fields didn" in response.content.decode()
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)


def test_the_new_password_must_pass_the_password_rules(nurse):
    response = change_own_password(browser(nurse), new="12345678")

    assert response.status_code == 400
    body = response.content.decode()
    assert "This password is too common." in body
    assert "This password is entirely numeric." in body
    nurse.refresh_from_db()
    assert nurse.check_password(PASSWORD)


def test_the_page_needs_a_signed_in_user(client):
    response = client.get(reverse("frontend:password_change"))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_password_reset_on_the_staff_page_ends_every_session_and_token(
    admin_user, nurse, patient
):
    a = browser(nurse)
    b = browser(nurse)
    token = Token.objects.create(user=nurse)
    form = {
        "first_name": nurse.first_name,
        "last_name": nurse.last_name,
        "email": nurse.email,
        "role": nurse.role,
        "password": NEW_PASSWORD,
    }

    response = browser(admin_user).post(reverse("frontend:staff_edit", args=[nurse.pk]), form)

    assert response.status_code == 302
    assert signed_out(a)
    assert signed_out(b)
    assert api_status(token.key) == 401
    event = AuditEvent.objects.get(action="permission_change", object_id=str(nurse.pk))
    assert (event.user, event.detail) == (admin_user, "password reset")


def test_a_manager_resetting_their_own_password_on_the_staff_page_stays_signed_in(admin_user):
    here = browser(admin_user)
    elsewhere = browser(admin_user)
    form = {
        "first_name": admin_user.first_name,
        "last_name": admin_user.last_name,
        "email": admin_user.email,
        "role": admin_user.role,
        "password": NEW_PASSWORD,
    }

    here.post(reverse("frontend:staff_edit", args=[admin_user.pk]), form)

    assert here.get(PAGE).status_code == 200
    assert signed_out(elsewhere)


def test_a_password_reset_through_the_users_api_ends_every_session_and_token(
    api, admin_user, nurse, patient
):
    a = browser(nurse)
    token = Token.objects.create(user=nurse)

    response = api(admin_user).patch(f"/api/v1/users/{nurse.pk}/", {"password": NEW_PASSWORD})

    assert response.status_code == 200
    assert signed_out(a)
    assert api_status(token.key) == 401
