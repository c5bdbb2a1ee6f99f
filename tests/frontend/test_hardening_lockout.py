"""Lockout after repeated failed sign-ins, per account and per address, on the web and the API.

The limit is ``AXES_FAILURE_LIMIT`` (5): the failure that reaches it locks, the
ones before it do not. Every failure is a ``login_failed`` audit event; the one
that locks says so.
"""

import ipaddress

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ehr.audit import client_ip
from ehr.env import env_networks
from ehr.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
TOKEN = "/api/v1/auth/token/"
HERE = "10.1.0.1"
ELSEWHERE = "10.2.0.2"


def web_login(username, password, *, ip=HERE):
    return Client().post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def api_login(username, password, *, ip=HERE):
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
    )


LOGINS = {"web": web_login, "api": api_login}


def succeeded(channel, response) -> bool:
    if channel == "web":
        return response.status_code == 302
    return response.status_code == 200 and "token" in response.json()


def locked(response) -> bool:
    return response.status_code == 429 and b"Too many failed sign-in attempts" in response.content


@pytest.mark.parametrize("channel", ["web", "api"])
def test_four_failures_still_let_the_right_password_in(channel, nurse, settings):
    login = LOGINS[channel]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert not locked(login(nurse.username, "wrong"))

    assert succeeded(channel, login(nurse.username, PASSWORD))


@pytest.mark.parametrize("channel", ["web", "api"])
def test_the_fifth_failure_locks_the_account_and_is_audited_as_a_lockout(channel, nurse, settings):
    login = LOGINS[channel]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(nurse.username, "wrong")

    fifth = login(nurse.username, "wrong")

    assert locked(fifth)
    assert locked(login(nurse.username, PASSWORD))
    failures = list(AuditEvent.objects.filter(action="login_failed", user=nurse).order_by("id"))
    assert len(failures) >= settings.AXES_FAILURE_LIMIT
    assert [e.detail for e in failures[: settings.AXES_FAILURE_LIMIT]] == [""] * (
        settings.AXES_FAILURE_LIMIT - 1
    ) + ["locked out"]
    assert all(e.ip == HERE for e in failures)


@pytest.mark.parametrize("channel", ["web", "api"])
def test_an_account_is_locked_from_every_address(channel, nurse, second_nurse, settings):
    login = LOGINS[channel]
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(nurse.username, "wrong", ip=f"10.3.0.{n + 1}")

    assert locked(login(nurse.username, PASSWORD, ip=ELSEWHERE))
    # The address it is tried from now is not the one locked: another account signs in there.
    assert succeeded(channel, login(second_nurse.username, PASSWORD, ip=ELSEWHERE))


@pytest.mark.parametrize("channel", ["web", "api"])
def test_an_address_is_locked_for_every_account(channel, nurse, second_nurse, settings):
    login = LOGINS[channel]
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        login(f"guess{n}", "wrong")
    # One failure short of the address limit: the next account still gets its try.
    assert succeeded(channel, login(nurse.username, PASSWORD))

    login("guess-last", "wrong")

    assert locked(login(second_nurse.username, PASSWORD))
    # The accounts themselves are not locked: from another address they sign in.
    assert succeeded(channel, login(second_nurse.username, PASSWORD, ip=ELSEWHERE))


def test_signing_in_to_ones_own_account_does_not_reset_an_address_count(
    nurse, second_nurse, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        web_login(second_nurse.username, "wrong")
    assert succeeded("web", web_login(nurse.username, PASSWORD))

    web_login(second_nurse.username, "wrong")

    assert locked(web_login(second_nurse.username, PASSWORD))


def test_behind_the_proxy_the_address_is_the_one_the_proxy_saw(rf, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The client forged the first entry; the proxy appended the address it saw.
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", REMOTE_ADDR="10.0.0.1")

    assert client_ip(request) == "203.0.113.9"


def proxied_login(username, password, *, forwarded_for):
    """A web sign-in through the TLS proxy, which appends the address it saw."""
    return Client().post(
        "/login/",
        {"username": username, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_rotating_a_forged_forwarded_address_does_not_escape_the_address_lockout(nurse, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    for n in range(settings.AXES_FAILURE_LIMIT):
        proxied_login(f"guess{n}", "wrong", forwarded_for=f"198.51.100.{n}, {HERE}")

    assert locked(proxied_login(nurse.username, PASSWORD, forwarded_for=f"198.51.100.77, {HERE}"))


CLINIC_NETWORK = "10.1.0.0/16"  # HERE is on it, ELSEWHERE is not


@pytest.fixture
def clinic_network(settings):
    settings.LOGIN_TRUSTED_NETWORKS = [ipaddress.ip_network(CLINIC_NETWORK)]


@pytest.mark.parametrize("channel", ["web", "api"])
def test_staff_behind_the_clinic_s_address_do_not_lock_each_other_out(
    channel, clinic_network, nurse, second_nurse, settings
):
    login = LOGINS[channel]
    for n in range(settings.AXES_FAILURE_LIMIT * 2):
        assert not locked(login(f"typo{n}", "wrong"))

    assert succeeded(channel, login(nurse.username, PASSWORD))
    assert succeeded(channel, login(second_nurse.username, PASSWORD))


@pytest.mark.parametrize("channel", ["web", "api"])
def test_an_account_is_still_locked_from_the_clinic_s_network(
    channel, clinic_network, nurse, second_nurse, settings
):
    login = LOGINS[channel]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert not locked(login(nurse.username, "wrong"))

    assert locked(login(nurse.username, "wrong"))
    assert locked(login(nurse.username, PASSWORD))
    assert locked(login(nurse.username, PASSWORD, ip=ELSEWHERE))
    assert succeeded(channel, login(second_nurse.username, PASSWORD))


def test_an_address_outside_the_clinic_s_network_is_still_locked(clinic_network, nurse, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        web_login(f"guess{n}", "wrong", ip=ELSEWHERE)

    assert locked(web_login(nurse.username, PASSWORD, ip=ELSEWHERE))
    assert succeeded("web", web_login(nurse.username, PASSWORD))


def test_behind_the_proxy_the_clinic_s_network_is_judged_by_the_address_the_proxy_saw(
    clinic_network, nurse, settings
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # An outsider who writes a clinic address into the header is still counted by address.
    for n in range(settings.AXES_FAILURE_LIMIT):
        proxied_login(f"guess{n}", "wrong", forwarded_for=f"{HERE}, 198.51.100.9")

    assert locked(proxied_login(nurse.username, PASSWORD, forwarded_for=f"{HERE}, 198.51.100.9"))


@pytest.mark.parametrize(
    ("raw", "networks"),
    [
        (None, []),
        ("", []),
        ("10.20.0.0/16, 203.0.113.7", ["10.20.0.0/16", "203.0.113.7/32"]),
        ("2001:db8::/48", ["2001:db8::/48"]),
    ],
)
def test_the_clinic_s_networks_are_read_from_the_environment(monkeypatch, raw, networks):
    if raw is None:
        monkeypatch.delenv("LOGIN_TRUSTED_NETWORKS", raising=False)
    else:
        monkeypatch.setenv("LOGIN_TRUSTED_NETWORKS", raw)

    assert [str(n) for n in env_networks("LOGIN_TRUSTED_NETWORKS")] == networks


def test_a_malformed_clinic_network_stops_the_start_with_its_name(monkeypatch):
    monkeypatch.setenv("LOGIN_TRUSTED_NETWORKS", "10.20.0.0/16, clinic-wifi")

    with pytest.raises(ValueError, match=r"LOGIN_TRUSTED_NETWORKS.*'clinic-wifi'"):
        env_networks("LOGIN_TRUSTED_NETWORKS")
