"""API tokens expire, and every change of password, role, activity or second factor ends them."""

import datetime
import io

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehr.models import AuditEvent, User
from ehr.roles import Role

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
PASSWORD = "correct horse battery staple"


def _token_for(user, *, age: datetime.timedelta = datetime.timedelta(0)) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - age)
    return token


def _get(path: str, token_key: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_key}")
    return client.get(path)


@pytest.fixture
def client_for(db):
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make


def _current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


# --- Lifetime -----------------------------------------------------------------------------


def test_token_one_minute_short_of_its_lifetime_still_works(nurse, patient, settings):
    settings.API_TOKEN_TTL_HOURS = 12
    token = _token_for(nurse, age=datetime.timedelta(hours=12) - datetime.timedelta(minutes=1))

    assert _get("/api/v1/patients/", token.key).status_code == 200


def test_token_at_its_lifetime_is_refused_with_a_clear_message(nurse, patient, settings):
    settings.API_TOKEN_TTL_HOURS = 12
    token = _token_for(nurse, age=datetime.timedelta(hours=12))

    response = _get("/api/v1/patients/", token.key)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert "/api/v1/auth/token/" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="denied", path="/api/v1/patients/").exists()


def test_the_lifetime_is_configurable(nurse, patient, settings):
    settings.API_TOKEN_TTL_HOURS = 1
    token = _token_for(nurse, age=datetime.timedelta(hours=2))

    assert _get("/api/v1/patients/", token.key).status_code == 401


def test_signing_in_again_replaces_an_expired_token_with_a_fresh_one(nurse, patient, settings):
    old = _token_for(nurse, age=datetime.timedelta(hours=settings.API_TOKEN_TTL_HOURS + 1))

    response = APIClient().post(TOKEN_URL, {"username": nurse.username, "password": PASSWORD})

    assert response.status_code == 200
    fresh = response.json()["token"]
    assert fresh != old.key
    assert _get("/api/v1/patients/", fresh).status_code == 200
    assert _get("/api/v1/patients/", old.key).status_code == 401


def test_signing_in_again_keeps_a_token_still_valid(nurse, settings):
    old = _token_for(nurse, age=datetime.timedelta(hours=1))

    response = APIClient().post(TOKEN_URL, {"username": nurse.username, "password": PASSWORD})

    assert response.json()["token"] == old.key


# --- Changes that end every token -------------------------------------------------------------


def test_a_password_change_ends_the_users_tokens(api, admin_user, nurse, patient):
    token = _token_for(nurse)

    changed = api(admin_user).patch(
        f"/api/v1/users/{nurse.pk}/", {"password": "a new and long passphrase"}
    )

    assert changed.status_code == 200
    assert _get("/api/v1/patients/", token.key).status_code == 401


def test_a_password_set_outside_the_app_ends_the_users_tokens(nurse, patient, monkeypatch):
    token = _token_for(nurse)
    answers = iter(["a new and long passphrase"] * 2)
    monkeypatch.setattr(
        "django.contrib.auth.management.commands.changepassword.getpass.getpass",
        lambda prompt="": next(answers),
    )

    call_command("changepassword", nurse.username, stdout=io.StringIO())

    assert _get("/api/v1/patients/", token.key).status_code == 401
    nurse.refresh_from_db()
    assert nurse.check_password("a new and long passphrase")


def test_saving_an_account_without_a_new_password_keeps_its_tokens(nurse, patient):
    token = _token_for(nurse)
    nurse.refresh_from_db()

    nurse.last_name = "Okafor"
    nurse.save()

    assert _get("/api/v1/patients/", token.key).status_code == 200


def test_a_password_hash_upgrade_at_sign_in_keeps_the_users_tokens(nurse, patient):
    # A hash whose salt is too short for the hasher: checking the password stores a
    # fresh hash of the same password.
    weak = make_password(PASSWORD, salt="short", hasher="md5")
    User.objects.filter(pk=nurse.pk).update(password=weak)
    token = _token_for(nurse)
    nurse.refresh_from_db()

    assert nurse.check_password(PASSWORD)

    nurse.refresh_from_db()
    assert nurse.password != weak
    assert _get("/api/v1/patients/", token.key).status_code == 200


def test_a_role_change_ends_the_users_tokens(api, admin_user, nurse, patient):
    token = _token_for(nurse)

    api(admin_user).patch(f"/api/v1/users/{nurse.pk}/", {"role": Role.PRESCRIBER})

    assert _get("/api/v1/patients/", token.key).status_code == 401


def test_reactivating_an_account_does_not_revive_its_old_token(api, admin_user, nurse, patient):
    token = _token_for(nurse)
    manager = api(admin_user)

    manager.patch(f"/api/v1/users/{nurse.pk}/", {"is_active": False})
    manager.patch(f"/api/v1/users/{nurse.pk}/", {"is_active": True})

    assert _get("/api/v1/patients/", token.key).status_code == 401


def test_a_name_change_keeps_the_users_tokens(api, admin_user, nurse, patient):
    token = _token_for(nurse)

    api(admin_user).patch(f"/api/v1/users/{nurse.pk}/", {"first_name": "Siobhan"})

    assert _get("/api/v1/patients/", token.key).status_code == 200


def test_a_password_change_on_the_staff_page_ends_the_users_tokens(
    client_for, admin_user, nurse, patient
):
    token = _token_for(nurse)
    form = {
        "first_name": nurse.first_name,
        "last_name": nurse.last_name,
        "email": nurse.email,
        "role": nurse.role,
        "password": "a new and long passphrase",
    }

    response = client_for(admin_user).post(reverse("frontend:staff_edit", args=[nurse.pk]), form)

    assert response.status_code == 302
    assert _get("/api/v1/patients/", token.key).status_code == 401


def test_enrolling_an_authenticator_ends_the_users_tokens(client_for, nurse, patient):
    token = _token_for(nurse)
    client = client_for(nurse)
    client.get(reverse("frontend:account_security"))
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)

    client.post(reverse("frontend:account_security"), {"code": _current_code(device)})

    assert TOTPDevice.objects.get(user=nurse).confirmed
    assert _get("/api/v1/patients/", token.key).status_code == 401


def test_seeding_the_demo_again_with_another_password_ends_the_demo_tokens(db):
    from ehr.seed import seed_users

    nurse = seed_users(password="demo")["nurse"]
    token = _token_for(nurse)
    seed_users(password="demo")
    assert Token.objects.filter(pk=token.pk).exists()

    seed_users(password="another demo password")

    assert not Token.objects.filter(user=nurse).exists()


# --- A second factor required by the clinic -----------------------------------------------


def test_with_otp_required_a_staff_token_without_a_second_factor_is_refused(
    nurse, patient, settings
):
    token = _token_for(nurse)
    settings.OTP_REQUIRED = True

    response = _get("/api/v1/patients/", token.key)

    assert response.status_code == 401
    assert "second factor" in response.json()["detail"]


def test_with_otp_required_a_staff_token_with_a_second_factor_works(nurse, patient, settings):
    TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    token = _token_for(nurse)
    settings.OTP_REQUIRED = True

    assert _get("/api/v1/patients/", token.key).status_code == 200


def test_with_otp_required_a_referring_providers_token_still_works(
    referrer_user, patient, settings
):
    token = _token_for(referrer_user)
    settings.OTP_REQUIRED = True

    assert _get("/api/v1/patients/", token.key).status_code == 200
