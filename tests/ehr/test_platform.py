import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from ehr.celery import app as celery_app
from ehr.models import User
from ehr.roles import Role

pytestmark = pytest.mark.django_db


def _import_settings(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "-c", "import ehr.settings"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )


def test_production_mode_refuses_the_development_secret_key():
    result = _import_settings(DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_mode_starts_with_a_real_secret_key():
    result = _import_settings(
        DEBUG="false", SECRET_KEY="k" * 20 + "-a-sufficiently-long-random-production-secret"
    )

    assert result.returncode == 0, result.stderr


def test_login_page_and_api_docs_are_served(client):
    assert client.get("/login/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/users/" in schema.content


def test_pages_need_a_signed_in_user(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_seed_demo_creates_one_user_per_role_and_is_idempotent():
    call_command("seed_demo", "--password", "demo")
    call_command("seed_demo", "--password", "demo")

    users = {
        u.username: u
        for u in User.objects.filter(username__in=["admin", "prescriber", "nurse", "referrer"])
    }
    assert {u.role for u in users.values()} == set(Role.values)
    assert users["admin"].role == Role.ADMIN
    assert all(u.check_password("demo") for u in users.values())
    assert User.objects.filter(username="admin").count() == 1


def test_celery_app_is_configured_from_django_settings():
    conf = celery_app.conf

    assert celery_app.main == "ehr"
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_url == settings.CELERY_BROKER_URL
    assert conf.task_serializer == "json"


def _deploy_check(**extra_env):
    env = {
        # The browser tests need DJANGO_ALLOW_ASYNC_UNSAFE; a deployment never sets it.
        **{k: v for k, v in os.environ.items() if k not in ("DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")},
        "DEBUG": "false",
        "SECRET_KEY": "p" * 30 + "-production-secret-for-the-deploy-check-0123456789",
        "ALLOWED_HOSTS": "records.clinic.example",
        "BEHIND_TLS_PROXY": "true",
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )


def test_deploy_checks_are_clean_with_production_settings():
    result = _deploy_check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_fail_on_a_weakened_production_setting():
    # The check is not clean by accident: switching off HSTS is reported (and fails).
    result = _deploy_check(SECURE_HSTS_SECONDS="0")

    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def _database_options(**env):
    code = (
        "import json, ehr.settings as s; "
        "print(json.dumps(s.DATABASES['default'].get('OPTIONS', {})))"
    )
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_PREPARED_STATEMENTS"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_statements_are_prepared_unless_turned_off():
    url = "postgres://clinic@db.invalid:5432/clinic"

    default = _database_options(DATABASE_URL=url)
    off = _database_options(DATABASE_URL=url, DATABASE_PREPARED_STATEMENTS="false")

    assert (default["server_side_binding"], default["prepare_threshold"]) == (True, 5)
    assert "server_side_binding" not in off
    assert "prepare_threshold" not in off


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL connection feature")
def test_a_statement_a_connection_runs_again_gets_a_prepared_plan():
    with connection.cursor() as cursor:
        for _ in range(6):
            User.objects.filter(username="nobody").exists()
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]

    assert any('FROM "ehr_user"' in statement for statement in prepared)
