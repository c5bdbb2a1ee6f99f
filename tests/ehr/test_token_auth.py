import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ehr.models import AuditEvent

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
PASSWORD = "correct horse battery staple"


def test_valid_credentials_return_a_token_that_authenticates(api, admin_user):
    response = api().post(TOKEN, {"username": "manager", "password": PASSWORD})

    assert response.status_code == 200
    token = response.json()["token"]
    users = api().get("/api/v1/users/", HTTP_AUTHORIZATION=f"Token {token}")
    assert users.status_code == 200
    assert AuditEvent.objects.filter(action="login", user=admin_user).count() == 1


def test_wrong_password_is_refused_and_audited(api, admin_user):
    response = api().post(TOKEN, {"username": "manager", "password": "nope"})

    assert response.status_code == 401
    assert "token" not in response.json()
    event = AuditEvent.objects.get(action="login_failed")
    assert event.user == admin_user
    assert event.username == "manager"


def test_unknown_username_failure_keeps_the_typed_name(api, db):
    api().post(TOKEN, {"username": "ghost", "password": "nope"})

    event = AuditEvent.objects.get(action="login_failed")
    assert event.user is None
    assert event.username == "ghost"


def test_missing_password_is_a_field_error(api, db):
    response = api().post(TOKEN, {"username": "manager"})

    assert response.status_code == 400
    assert "password" in response.json()


def test_repeated_failures_lock_the_account_even_with_the_right_password(api, admin_user, settings):
    client = api()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert client.post(TOKEN, {"username": "manager", "password": "wrong"}).status_code in (
            401,
            429,
        )

    response = client.post(TOKEN, {"username": "manager", "password": PASSWORD})

    assert response.status_code == 429
    assert "token" not in response.json()
    assert "Too many failed" in response.json()["detail"]


def test_deactivated_account_cannot_get_a_token(api, nurse):
    nurse.is_active = False
    nurse.save()

    response = api().post(TOKEN, {"username": nurse.username, "password": PASSWORD})

    assert response.status_code == 401


class TestSecondFactor:
    @pytest.fixture
    def device(self, prescriber):
        return TOTPDevice.objects.create(user=prescriber, name="phone", confirmed=True)

    def test_enrolled_user_must_give_a_code(self, api, prescriber, device):
        response = api().post(TOKEN, {"username": prescriber.username, "password": PASSWORD})

        assert response.status_code == 400
        assert "otp" in response.json()

    def test_wrong_code_is_refused(self, api, prescriber, device):
        response = api().post(
            TOKEN, {"username": prescriber.username, "password": PASSWORD, "otp": "000000"}
        )

        assert response.status_code == 400
        assert "otp" in response.json()
        assert AuditEvent.objects.filter(action="login_failed", user=prescriber).exists()

    def test_current_code_gives_a_token(self, api, prescriber, device):
        code = f"{totp(device.bin_key, step=device.step, digits=device.digits):0{device.digits}d}"

        response = api().post(
            TOKEN, {"username": prescriber.username, "password": PASSWORD, "otp": code}
        )

        assert response.status_code == 200
        assert response.json()["token"]

    def test_clinic_requiring_a_second_factor_refuses_staff_without_one(self, api, nurse, settings):
        settings.OTP_REQUIRED = True

        response = api().post(TOKEN, {"username": nurse.username, "password": PASSWORD})

        assert response.status_code == 403
        assert "second factor" in response.json()["detail"]
