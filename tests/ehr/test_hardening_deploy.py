"""Security headers on every page, and what the production settings switch on.

The deployment checks themselves (``check --deploy --fail-level WARNING``) are in
test_platform.py; the browser test that the pages run under the policy without a
violation is ``test_csp_main_pages_work_under_the_policy_without_a_violation`` in
tests/frontend/test_browser.py.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.test import Client

from ehr.checks import content_security_policy_check

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"

EXPECTED_POLICY = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "font-src": {"'self'"},
    "connect-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def policy_of(response) -> dict[str, set[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: set(sources) for name, *sources in directives}


@pytest.fixture
def nurse_client(nurse):
    client = Client()
    client.post("/login/", {"username": nurse.username, "password": PASSWORD})
    return client


def test_the_login_page_carries_the_strict_policy(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert policy_of(response) == EXPECTED_POLICY


@pytest.mark.parametrize("path", ["/today/", "/patients/", "/account/security/"])
def test_signed_in_pages_carry_the_strict_policy(nurse_client, path):
    response = nurse_client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert policy_of(response) == EXPECTED_POLICY


def test_error_pages_carry_the_policy_too(nurse_client):
    not_found = nurse_client.get("/patients/999999/")
    forbidden = nurse_client.get("/manage/audit/")

    assert (not_found.status_code, forbidden.status_code) == (404, 403)
    assert policy_of(not_found) == EXPECTED_POLICY
    assert policy_of(forbidden) == EXPECTED_POLICY


def test_htmx_fragments_carry_the_policy(nurse_client):
    response = nurse_client.get("/patients/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert policy_of(response) == EXPECTED_POLICY


def test_only_the_api_docs_allow_an_inline_style_and_never_an_inline_script(client):
    docs = policy_of(client.get("/api/docs/"))

    assert docs["style-src"] == {"'self'", "'unsafe-inline'"}
    assert docs["script-src"] == {"'self'"}
    assert "<script>" not in client.get("/api/docs/").content.decode()


def test_pages_refuse_framing_sniffing_and_cross_origin_referrers(client):
    response = client.get("/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_the_page_template_gives_htmx_no_room_for_inline_style_or_eval(client):
    page = client.get("/login/").content.decode()

    config = page.split('name="htmx-config" content=\'')[1].split("'>")[0]
    assert json.loads(config)["includeIndicatorStyles"] is False
    assert json.loads(config)["allowEval"] is False
    assert "<script>" not in page and " style=" not in page and " onclick=" not in page


# --- Production settings ------------------------------------------------------------------


def _production_settings(**extra_env) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DEBUG",)},
        "DEBUG": "false",
        "SECRET_KEY": "s" * 30 + "-production-secret-for-the-settings-test-0123456789",
        "ALLOWED_HOSTS": "clinic.example",
        "BEHIND_TLS_PROXY": "true",
        **extra_env,
    }
    names = [
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_REFERRER_POLICY",
    ]
    code = (
        "import json, ehr.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
        check=True,
    )
    return json.loads(result.stdout)


def test_production_settings_switch_on_https_only_cookies_hsts_and_the_proxy_header():
    values = _production_settings()

    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_without_the_proxy_setting_the_forwarded_scheme_is_not_trusted():
    assert _production_settings(BEHIND_TLS_PROXY="false")["SECURE_PROXY_SSL_HEADER"] is None


@pytest.fixture
def production_security(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    return settings


def test_plain_http_is_redirected_to_https(client, production_security):
    response = client.get("/login/", headers={"X-Forwarded-Proto": "http"})

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/login/"


def test_https_through_the_proxy_is_served_with_hsts(client, production_security):
    response = client.get("/login/", headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


def test_the_health_check_answers_over_plain_http(client, production_security):
    assert client.get("/healthz").status_code == 200


def test_the_session_cookie_is_secure_and_http_only_in_production(
    client, nurse, production_security
):
    response = client.post(
        "/login/",
        {"username": nurse.username, "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )

    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] is True
    assert cookie["httponly"] is True


# --- Our own deployment check of the policy ------------------------------------------------


def test_the_policy_check_is_clean_with_our_settings():
    assert content_security_policy_check() == []


def test_the_policy_check_warns_when_the_header_is_not_sent(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]

    assert [w.id for w in content_security_policy_check()] == ["ehr.W001"]


def test_the_policy_check_warns_about_inline_script(settings):
    policy = {
        "DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", "'unsafe-inline'"]}
    }
    settings.CONTENT_SECURITY_POLICY = policy

    assert [w.id for w in content_security_policy_check()] == ["ehr.W002"]
