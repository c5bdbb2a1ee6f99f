"""``docker-compose.yml`` agrees with the application it deploys.

The stack cannot be started here, so what would break a deployment silently is
checked against the code: a setting the application never reads (a typo), a worker
without beat (stuck summaries would never be sent again), PDFs written where the
web service cannot read them, a health check or entry point that does not exist.
"""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import resolve

COMPOSE = Path(settings.BASE_DIR) / "docker-compose.yml"
APP_SERVICES = ("web", "worker")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _settings_read() -> set[str]:
    """The environment variables ``ehr/settings.py`` reads (through ``ehr.env``)."""
    source = (Path(settings.BASE_DIR) / "ehr" / "settings.py").read_text()
    return set(re.findall(r'env_(?:str|bool|int|float|list|networks)\(\s*"([A-Z0-9_]+)"', source))


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_every_variable_the_stack_sets_is_one_the_application_reads(services):
    read = _settings_read()
    assert {"DATABASE_URL", "SECRET_KEY", "CONN_MAX_AGE"} <= read  # the scan itself works
    for name in APP_SERVICES:
        unknown = set(services[name]["environment"]) - read
        assert not unknown, f"{name} sets variables the application never reads: {unknown}"


def test_web_and_worker_share_the_database_the_broker_and_the_private_files(services):
    web, worker = services["web"], services["worker"]
    for key in ("DATABASE_URL", "CELERY_BROKER_URL", "PRIVATE_STORAGE_ROOT", "SECRET_KEY"):
        assert web["environment"][key] == worker["environment"][key], key
    root = web["environment"]["PRIVATE_STORAGE_ROOT"]
    # The worker writes the PDFs the web service serves: one volume, at that path, in both.
    mounts = [{volume.split(":")[1] for volume in s["volumes"]} for s in (web, worker)]
    assert all(root in mounted for mounted in mounts)
    assert web["environment"]["DEBUG"] == worker["environment"]["DEBUG"] == "false"


def test_the_worker_runs_beat_so_a_stuck_summary_is_sent_again(services):
    command = _command(services["worker"])
    assert re.search(r"\bcelery\b.* -A ehr\b.*\bworker\b", f" {command}")
    assert "--beat" in command.split() or any(
        "beat" in _command(s).split() for s in services.values() if "command" in s
    )
    assert "reports.requeue_stuck_summaries" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_the_web_service_starts_the_app_that_exists_and_checks_a_real_health_url(services):
    web = services["web"]
    command = _command(web)
    assert "manage.py migrate" in command
    assert "gunicorn ehr.wsgi:application" in command
    from ehr import wsgi

    assert callable(wsgi.application)
    health = " ".join(web["healthcheck"]["test"])
    path = re.search(r"http://127\.0\.0\.1:8000(/[^'\"]*)", health).group(1)
    assert resolve(path)


def test_the_database_the_stack_creates_is_the_one_the_application_uses(services):
    database = services["postgres"]["environment"]
    url = services["web"]["environment"]["DATABASE_URL"]
    assert url.startswith(f"postgres://{database['POSTGRES_USER']}:")
    assert url.endswith(f"@postgres:5432/{database['POSTGRES_DB']}")
    assert services["web"]["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")
