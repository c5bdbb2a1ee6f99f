"""A worker killed outright (kill -9) leaves no process of its own behind.

Found by the worker-main-kill fault drill (docs/drills.md): the deployment runs
``celery -A ehr worker --beat``. Pool children die with the main process, but
the embedded beat outlived it and went on scheduling the sweep beside the beat
of the worker started in its place, both writing the same schedule file.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.worker import worker_database_url

pytestmark = pytest.mark.worker

WAIT_SECONDS = 90


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_worker_killed_outright_takes_its_embedded_beat_and_pool_with_it(
    transactional_db, tmp_path
):
    queue = f"tests-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ehr.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_BROKER_URL": ""
        if settings.CELERY_BROKER_URL == "filesystem://"
        else settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EHR_VAR_DIR": str(tmp_path / "var"),
        "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "ehr",
                "worker",
                "--beat",
                "--schedule",
                str(tmp_path / "celerybeat-schedule"),
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=info",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        # Ready, and beat (its own process, beside the pool's) has sent the first sweep.
        while not (
            " ready." in log_path.read_text()
            and "Sending due task requeue-stuck-summaries" in log_path.read_text()
        ):
            assert worker.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        children = [pid for pid in _children(worker.pid) if _alive(pid)]
        assert len(children) == 2  # one pool process and the embedded beat

        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [pid for pid in children if _alive(pid)] == []
    finally:
        # Whatever is left of the worker's session, by its group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
