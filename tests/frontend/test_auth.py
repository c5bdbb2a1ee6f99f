"""Signing in (password, TOTP second factor), lockout, signing out, idle logoff."""

import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ehr.models import AuditEvent
from frontend.middleware import LAST_ACTIVITY_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def signed_in(client) -> bool:
    return client.get(reverse("frontend:patient_list")).status_code == 200


@pytest.mark.parametrize(
    ("who", "landing"),
    [("nurse", "/today/"), ("prescriber", "/today/"), ("admin_user", "/patients/")],
)
def test_staff_sign_in_lands_on_the_page_their_role_works_from(client, request, who, landing):
    user = request.getfixturevalue(who)

    response = client.post("/login/", {"username": user.username, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == landing
    assert AuditEvent.objects.filter(user=user, action="login").count() == 1


def test_wrong_password_is_refused_next_to_the_form_and_recorded(client, nurse):
    response = client.post("/login/", {"username": nurse.username, "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", username=nurse.username).exists()
    assert not signed_in(client)


def test_repeated_failures_lock_the_account_with_a_clear_message(client, nurse, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": nurse.username, "password": "nope"})

    response = client.post("/login/", {"username": nurse.username, "password": PASSWORD})

    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert not signed_in(client)


def test_a_user_with_an_authenticator_must_give_the_code(client, nurse):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)

    first = client.post("/login/", {"username": nurse.username, "password": PASSWORD})

    assert first["Location"] == reverse("frontend:login_code")
    assert not signed_in(client)
    wrong = client.post(reverse("frontend:login_code"), {"code": "000000"})
    assert "That code is not valid" in wrong.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", user=nurse).exists()
    assert not signed_in(client)
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    right = client.post(reverse("frontend:login_code"), {"code": current_code(device)})
    assert right.status_code == 302
    assert right["Location"] == "/today/"
    assert signed_in(client)


def test_the_code_step_expires_without_a_password_step(client):
    response = client.get(reverse("frontend:login_code"))

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:login")


def test_when_the_clinic_requires_it_staff_enrol_an_authenticator_before_signing_in(
    client, prescriber, settings
):
    settings.OTP_REQUIRED = True

    first = client.post("/login/", {"username": prescriber.username, "password": PASSWORD})

    assert first["Location"] == reverse("frontend:login_enrol")
    page = client.get(reverse("frontend:login_enrol")).content.decode()
    assert "otpauth://totp/" in page
    assert 'src="data:image/svg+xml;base64,' in page
    assert not signed_in(client)
    device = TOTPDevice.objects.get(user=prescriber, confirmed=False)
    response = client.post(reverse("frontend:login_enrol"), {"code": current_code(device)})
    assert response.status_code == 302
    assert signed_in(client)
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(
        action="permission_change", user=prescriber, detail__contains="second factor"
    ).exists()


def test_referring_providers_are_not_forced_to_enrol(client, referrer_user, settings):
    settings.OTP_REQUIRED = True

    response = client.post("/login/", {"username": referrer_user.username, "password": PASSWORD})

    assert response["Location"] == reverse("frontend:portal")


def test_staff_enrol_an_authenticator_from_their_security_page(client_for, nurse):
    client = client_for(nurse)

    page = client.get(reverse("frontend:account_security")).content.decode()

    assert "No second factor yet" in page
    assert "otpauth://totp/" in page
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    wrong = client.post(reverse("frontend:account_security"), {"code": "123"})
    assert "That code does not match" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    client.post(reverse("frontend:account_security"), {"code": current_code(device)})
    assert TOTPDevice.objects.get(user=nurse).confirmed
    assert (
        "A second factor is enrolled"
        in client.get(reverse("frontend:account_security")).content.decode()
    )


def test_sign_out_is_a_post_and_ends_the_session(client_for, nurse):
    client = client_for(nurse)

    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")

    assert response.status_code == 302
    assert not signed_in(client)
    assert AuditEvent.objects.filter(user=nurse, action="logout").count() == 1


def _set_last_activity(client, seconds_ago: float):
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - seconds_ago
    session.save()


def test_an_idle_session_is_signed_out_with_a_message(client_for, nurse, settings):
    client = client_for(nurse)
    client.get(reverse("frontend:patient_list"))
    _set_last_activity(client, settings.IDLE_TIMEOUT_MINUTES * 60 + 1)

    response = client.get(reverse("frontend:patient_list"))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?idle=1")
    login_page = client.get(response["Location"]).content.decode()
    assert (
        f"You were signed out after {settings.IDLE_TIMEOUT_MINUTES} minutes without activity"
        in login_page
    )
    assert not signed_in(client)
    assert AuditEvent.objects.filter(user=nurse, action="logout").exists()


def test_a_session_just_before_the_idle_limit_stays_signed_in(client_for, nurse, settings):
    client = client_for(nurse)
    client.get(reverse("frontend:patient_list"))
    _set_last_activity(client, settings.IDLE_TIMEOUT_MINUTES * 60 - 5)

    assert client.get(reverse("frontend:patient_list")).status_code == 200


def test_polling_does_not_keep_an_idle_session_alive(client_for, nurse, settings):
    client = client_for(nurse)
    client.get(reverse("frontend:patient_list"))
    idle_for = settings.IDLE_TIMEOUT_MINUTES * 60 - 30
    _set_last_activity(client, idle_for)

    poll = client.get(reverse("frontend:board"), headers={"X-Background-Refresh": "1"})

    assert poll.status_code == 200
    seconds_left = client.get(
        reverse("frontend:idle_status"), headers={"X-Background-Refresh": "1"}
    ).json()["seconds_left"]
    assert 0 < seconds_left <= 30
    _set_last_activity(client, settings.IDLE_TIMEOUT_MINUTES * 60 + 1)
    expired = client.get(reverse("frontend:board"), headers={"X-Background-Refresh": "1"})
    assert expired.status_code == 401
    assert expired["HX-Redirect"] == "/login/?idle=1"


def test_a_poll_that_finds_the_session_already_ended_still_leads_to_the_idle_message(
    client_for, nurse, settings
):
    # The idle timer's check and a board poll leave together; the check signs the
    # session out first, so the poll arrives with the ended session's cookie.
    client = client_for(nurse)
    client.get(reverse("frontend:board"))
    ended_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    _set_last_activity(client, settings.IDLE_TIMEOUT_MINUTES * 60 + 1)
    check = client.get(reverse("frontend:idle_status"), headers={"X-Background-Refresh": "1"})
    assert check["HX-Redirect"] == "/login/?idle=1"
    after_sign_out = client.cookies[settings.SESSION_COOKIE_NAME].value

    client.cookies[settings.SESSION_COOKIE_NAME] = ended_cookie
    poll = client.get(reverse("frontend:board"), headers={"X-Background-Refresh": "1"})
    assert poll.status_code == 401
    # Whichever redirect the page follows last, the sign-in page says why.
    client.cookies[settings.SESSION_COOKIE_NAME] = after_sign_out
    message = f"You were signed out after {settings.IDLE_TIMEOUT_MINUTES} minutes without activity"
    assert message in client.get(poll["HX-Redirect"]).content.decode()
    # Once: the next visit to the sign-in page is an ordinary one.
    assert message not in client.get(poll["HX-Redirect"]).content.decode()
    assert AuditEvent.objects.filter(user=nurse, action="logout").count() == 1


def test_the_sign_in_page_says_nothing_about_an_ordinary_sign_out(client_for, nurse):
    client = client_for(nurse)
    client.post("/logout/")

    page = client.get("/login/").content.decode()

    assert "You were signed out" not in page


def test_stay_signed_in_counts_as_activity(client_for, nurse, settings):
    client = client_for(nurse)
    client.get(reverse("frontend:patient_list"))
    _set_last_activity(client, settings.IDLE_TIMEOUT_MINUTES * 60 - 30)

    assert client.post(reverse("frontend:keep_alive")).status_code == 204

    seconds_left = client.get(
        reverse("frontend:idle_status"), headers={"X-Background-Refresh": "1"}
    ).json()["seconds_left"]
    assert seconds_left > settings.IDLE_TIMEOUT_MINUTES * 60 - 5
