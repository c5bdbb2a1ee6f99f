"""Web sessions: a new key at every sign-in, the absolute limit, and a second factor
the clinic requires before any staff page.

Time is moved by editing the timestamps the session keeps, never by sleeping.
"""

import base64
import html
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ehr.models import AuditEvent
from frontend.middleware import LAST_ACTIVITY_KEY, LOGIN_AT_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
PAGE = "/patients/"


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def session_key(client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def signed_in_client(user) -> Client:
    client = Client()
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def move_sign_in_back(client, seconds: float) -> None:
    """Pretend the sign-in happened ``seconds`` ago while the user kept working."""
    session = client.session
    now = time.time()
    session[LOGIN_AT_KEY] = now - seconds
    session[LAST_ACTIVITY_KEY] = now
    session.save()


# --- A new session key at every sign-in ---------------------------------------------------


def test_signing_in_gives_a_new_session_key_and_ends_the_old_one(client, nurse):
    planted = client.session.session_key  # e.g. a key an attacker fixed in the browser

    client.post("/login/", {"username": nurse.username, "password": PASSWORD})

    assert session_key(client) != planted
    assert not Session.objects.filter(session_key=planted).exists()
    assert client.get(PAGE).status_code == 200


def test_the_one_time_code_step_gives_a_new_session_key_too(client, nurse):
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    client.post("/login/", {"username": nurse.username, "password": PASSWORD})
    half_way = session_key(client)

    client.post(reverse("frontend:login_code"), {"code": current_code(device)})

    assert session_key(client) != half_way
    assert not Session.objects.filter(session_key=half_way).exists()
    assert client.get(PAGE).status_code == 200


# --- Absolute session limit ---------------------------------------------------------------


def test_signing_in_records_the_time_in_the_session(nurse):
    before = time.time()

    client = signed_in_client(nurse)

    assert before <= client.session[LOGIN_AT_KEY] <= time.time()


def test_an_active_session_just_before_the_limit_stays_signed_in(nurse, settings):
    client = signed_in_client(nurse)
    move_sign_in_back(client, settings.SESSION_ABSOLUTE_HOURS * 3600 - 5)

    assert client.get(PAGE).status_code == 200


def test_an_active_session_past_the_limit_is_signed_out_and_audited(nurse, settings):
    client = signed_in_client(nurse)
    move_sign_in_back(client, settings.SESSION_ABSOLUTE_HOURS * 3600 + 1)

    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?expired=1")
    page = client.get(response["Location"]).content.decode()
    assert f"more than {settings.SESSION_ABSOLUTE_HOURS} hours ago" in page
    assert client.get(PAGE).status_code == 302
    event = AuditEvent.objects.filter(user=nurse, action="logout").get()
    assert event.detail == "session limit reached"


def test_the_limit_is_configurable(nurse, settings):
    settings.SESSION_ABSOLUTE_HOURS = 1
    client = signed_in_client(nurse)
    move_sign_in_back(client, 3600 + 1)

    assert client.get(PAGE).status_code == 302


def test_polling_past_the_limit_is_sent_to_sign_in(nurse, settings):
    client = signed_in_client(nurse)
    move_sign_in_back(client, settings.SESSION_ABSOLUTE_HOURS * 3600 + 1)

    poll = client.get(reverse("frontend:board"), headers={"X-Background-Refresh": "1"})

    assert poll.status_code == 401
    assert poll["HX-Redirect"] == "/login/?expired=1"


def test_the_sign_in_page_says_why_even_when_reached_without_the_reason_in_its_address(
    nurse, settings
):
    client = signed_in_client(nurse)
    move_sign_in_back(client, settings.SESSION_ABSOLUTE_HOURS * 3600 + 1)
    client.get(reverse("frontend:board"), headers={"X-Background-Refresh": "1"})

    page = client.get("/login/").content.decode()

    assert f"more than {settings.SESSION_ABSOLUTE_HOURS} hours ago" in page
    assert "minutes without activity" not in page


def test_an_idle_sign_out_is_audited_with_its_reason(nurse, settings):
    client = signed_in_client(nurse)
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - settings.IDLE_TIMEOUT_MINUTES * 60 - 1
    session.save()

    client.get(PAGE)

    event = AuditEvent.objects.filter(user=nurse, action="logout").get()
    assert event.detail == "idle timeout"


def test_a_sign_out_the_user_asked_for_has_no_reason(nurse):
    client = signed_in_client(nurse)

    client.post("/logout/")

    assert AuditEvent.objects.filter(user=nurse, action="logout").get().detail == ""


# --- A second factor the clinic requires, before any staff page ---------------------------


def test_a_staff_session_from_before_the_rule_must_enrol_before_any_page(nurse, settings):
    client = signed_in_client(nurse)  # signed in with the password only
    settings.OTP_REQUIRED = True

    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:login_enrol")
    assert client.get(reverse("frontend:board")).status_code == 302
    page = client.get(reverse("frontend:login_enrol")).content.decode()
    assert 'src="data:image/svg+xml;base64,' in page
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    done = client.post(reverse("frontend:login_enrol"), {"code": current_code(device)})
    assert done["Location"] == PAGE
    assert client.get(PAGE).status_code == 200
    assert AuditEvent.objects.filter(
        user=nurse, action="logout", detail="second factor required"
    ).exists()


def test_the_enrolment_qr_code_is_an_svg_image_of_the_otpauth_uri(nurse):
    client = signed_in_client(nurse)

    page = client.get(reverse("frontend:account_security")).content.decode()

    src = page.split('src="data:image/svg+xml;base64,')[1].split('"')[0]
    svg = base64.b64decode(src).decode()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "<path" in svg
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    assert html.escape(device.config_url) in page
    assert not device.confirmed


def test_an_enrolled_user_whose_session_was_not_verified_gives_the_code(nurse, settings):
    client = Client()
    client.force_login(nurse)  # a session that never saw a one-time code
    device = TOTPDevice.objects.create(user=nurse, name="phone", confirmed=True)
    settings.OTP_REQUIRED = True

    response = client.get(PAGE)

    assert response["Location"] == reverse("frontend:login_code")
    client.post(reverse("frontend:login_code"), {"code": current_code(device)})
    assert client.get(PAGE).status_code == 200


def test_the_api_refuses_an_unverified_staff_session(nurse, patient, settings):
    client = signed_in_client(nurse)
    settings.OTP_REQUIRED = True

    response = client.get("/api/v1/patients/")

    assert response.status_code == 401
    assert "second factor" in response.json()["detail"]


def test_an_htmx_request_of_an_unverified_session_is_redirected_by_htmx(nurse, settings):
    client = signed_in_client(nurse)
    settings.OTP_REQUIRED = True

    response = client.get(PAGE, headers={"HX-Request": "true"})

    assert response.status_code == 401
    assert response["HX-Redirect"] == reverse("frontend:login_enrol")


def test_a_session_verified_at_sign_in_works_with_the_rule_on(nurse, settings):
    settings.OTP_REQUIRED = True
    client = Client()
    client.post("/login/", {"username": nurse.username, "password": PASSWORD})
    client.get(reverse("frontend:login_enrol"))
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    client.post(reverse("frontend:login_enrol"), {"code": current_code(device)})

    assert client.get(PAGE).status_code == 200
    assert client.get(reverse("frontend:board")).status_code == 200


def test_the_rule_does_not_reach_referring_providers(referrer_user, settings):
    client = signed_in_client(referrer_user)
    settings.OTP_REQUIRED = True

    assert client.get(reverse("frontend:portal")).status_code == 200


def test_without_the_rule_a_password_session_works(nurse):
    client = signed_in_client(nurse)

    assert client.get(PAGE).status_code == 200
