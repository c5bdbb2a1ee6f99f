"""A real Celery worker process for tests that go through the broker.

``celery_worker_process`` starts ``python -m celery -A ehr worker`` as a
subprocess against the *test* database and the configured broker (Redis when
``CELERY_BROKER_URL`` is set, the embedded filesystem broker otherwise), waits
until it is ready, and stops it after the test. The worker consumes a queue
of its own, so another worker on the same broker (a developer's, another test
run's) never takes the test's tasks, and this worker never takes theirs.
Private storage points at a temporary folder shared by the test and the worker.
A test gives its worker more environment (settings) by overriding the
``worker_env`` fixture, e.g. ``@pytest.mark.parametrize("worker_env", [{...}])``.

The worker reads what the test committed, so a test using it needs
``transactional_db`` (which the fixture requests) or ``live_server``. Mark
such tests ``@pytest.mark.worker``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    queue: str
    log_path: Path
    storage_root: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def worker_database_url() -> str:
    """A DATABASE_URL naming the database the test process is using right now."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(params["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("A worker process cannot share an in-memory SQLite database.")
        return f"sqlite:///{Path(name).resolve()}"
    if connection.vendor == "postgresql":
        user = quote(params.get("USER") or "", safe="")
        password = quote(params.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = params.get("HOST") or "localhost"
        port = f":{params['PORT']}" if params.get("PORT") else ""
        return f"postgres://{credentials}{host}{port}/{quote(params['NAME'], safe='')}"
    raise RuntimeError(f"No worker support for the {connection.vendor} database.")


def _purge(app, queue: str) -> None:
    # A queue that was never declared has nothing to purge.
    with app.connection_for_write() as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_purge(queue)


def _wait_until_ready(worker: WorkerProcess) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"The Celery worker exited early:\n{worker.log()}")
        if " ready." in worker.log():
            return
        time.sleep(0.1)
    raise RuntimeError(f"The Celery worker was not ready in time:\n{worker.log()}")


def _stop(worker: WorkerProcess) -> None:
    if worker.process.poll() is None:
        worker.process.terminate()
        try:
            worker.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=STOP_TIMEOUT_SECONDS)


@pytest.fixture
def worker_env() -> dict[str, str]:
    """More environment for the test's worker (none unless a test overrides this fixture)."""
    return {}


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path, worker_env):
    """A running Celery worker on a queue of its own, for one test."""
    from ehr.celery import app

    queue = f"tests-{uuid.uuid4().hex[:12]}"
    storage_root = tmp_path / "private"
    storage_root.mkdir()
    settings.PRIVATE_STORAGE_ROOT = storage_root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {
                **settings.STORAGES["default"].get("OPTIONS", {}),
                "location": str(storage_root),
            },
        },
    }
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ehr.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": ""
        if settings.CELERY_BROKER_URL == "filesystem://"
        else settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PRIVATE_STORAGE_ROOT": str(storage_root),
        "PYTHONUNBUFFERED": "1",
        **worker_env,
    }
    previous = (app.conf.task_default_queue, app.conf.task_always_eager)
    app.conf.task_default_queue = queue
    app.conf.task_always_eager = False
    _purge(app, queue)

    log_path = tmp_path / "celery-worker.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "ehr",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--loglevel=info",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    worker = WorkerProcess(process, queue, log_path, storage_root)
    try:
        _wait_until_ready(worker)
        yield worker
    finally:
        _stop(worker)
        _purge(app, queue)
        app.conf.task_default_queue, app.conf.task_always_eager = previous
