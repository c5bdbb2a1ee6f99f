"""The processes a run starts and always stops: gunicorn and a Celery worker."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Process:
    """A child process whose output goes to a log file; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, command: list[str], *, env: dict, log: Path):
        self.name, self.log = name, log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("wb")
        self.popen = subprocess.Popen(  # noqa: S603 - our own executables, fixed arguments
            command, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def fail(self, why: str):
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{self.name} {why}. Last lines of {self.log}:\n{tail}")

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()


def gunicorn(*, env: dict, workers: int, log: Path) -> tuple[Process, int]:
    """gunicorn serving the app (``bench.settings``) on a free loopback port, once it answers."""
    port = free_port()
    process = Process(
        "gunicorn",
        [
            str(BIN / "gunicorn"),
            "ehr.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--backlog",
            "256",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        env=env,
        log=log,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not process.alive():
            process.fail("exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.2)
    process.stop()
    process.fail("did not answer /healthz within 60 s")


def celery_worker(*, env: dict, queue: str, log: Path) -> Process:
    """A real worker (prefork, one child) on the run's own queue, once it says it is ready."""
    process = Process(
        "celery worker",
        [
            str(BIN / "celery"),
            "-A",
            "ehr",
            "worker",
            "--concurrency=1",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=info",
        ],
        env=env,
        log=log,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if not process.alive():
            process.fail("exited")
        if b" ready." in log.read_bytes():
            return process
        time.sleep(0.2)
    process.stop()
    process.fail("was not ready within 90 s")
