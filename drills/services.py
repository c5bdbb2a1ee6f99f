# ruff: noqa: S603, S607, S103 - runs fixed local commands; the postgres user must read its folders
"""Private services for the fault drills: PostgreSQL, Redis and a Celery worker.

Every process started here is a child of the drill, on ports and in folders of
its own (never the machine's shared PostgreSQL or Redis), and its pid is
written to ``<root>/pids`` so that ``scripts/drill`` can stop whatever a drill
left behind even if the drill itself was killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent


class DrillError(RuntimeError):
    """A drill could not set up or run (not a finding about the app)."""


class Timeline:
    """Prints events with the seconds since the drill started."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start

    def log(self, message: str) -> float:
        at = self.now()
        print(f"  [t={at:6.1f}s] {message}", flush=True)
        return at


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def record_pid(root: Path, pid: int) -> None:
    with (root / "pids").open("a") as handle:
        handle.write(f"{pid}\n")


def children_of(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def wait_for(predicate, *, timeout: float, interval: float = 0.1, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise DrillError(f"Timed out after {timeout:.0f} s waiting for {what}.")


def _as_postgres_user() -> list[str]:
    # PostgreSQL refuses to run as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def postgres_bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise DrillError("No PostgreSQL server binaries (pg_ctl) found under /usr/lib/postgresql.")


class PrivatePostgres:
    """A throwaway PostgreSQL cluster in ``root/pg``, listening on 127.0.0.1:port."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.data = root / "pg"
        self.socket_dir = root / "pgsock"
        self.log_file = root / "postgres.log"
        self.port = port or free_port()
        self.bin = postgres_bin_dir()

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_as_postgres_user(), *args],
            check=check,
            capture_output=True,
            text=True,
            cwd="/",
        )

    def init(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chmod(self.root, 0o755)
            shutil.chown(self.socket_dir, user="postgres")
            self.log_file.touch()
            shutil.chown(self.log_file, user="postgres")
            self.data.mkdir()
            shutil.chown(self.data, user="postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        result = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.log_file),
            "-w",
            action,
            *extra,
            check=False,
        )
        if result.returncode != 0:
            raise DrillError(f"pg_ctl {action} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        self._ctl("start")

    def restart(self, mode: str = "fast") -> None:
        self._ctl("restart", "-m", mode)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._ctl("stop", "-m", mode)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)


class PrivateRedis:
    """``redis-server`` on 127.0.0.1:port that keeps nothing on disk."""

    def __init__(self, root: Path, port: int | None = None) -> None:
        self.root = root
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log_file = root / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.root),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        record_pid(self.root, self.process.pid)
        wait_for(self._ping, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def queue_length(self, queue: str = "celery") -> int:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(f"LLEN {queue}\r\n".encode())
            reply = sock.recv(64)
        return int(reply[1:].split(b"\r\n")[0])


class CeleryWorker:
    """``celery -A ehr worker --beat`` (prefork, concurrency 2), as the deployment runs it."""

    def __init__(self, root: Path, env: dict[str, str], name: str) -> None:
        self.root = root
        self.env = env
        self.name = name
        self.log_file = root / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "ehr",
                    "worker",
                    "--include",
                    "drills.slow_render",
                    "--pool=prefork",
                    "--concurrency=2",
                    "--beat",
                    "--schedule",
                    str(self.root / "celerybeat-schedule"),
                    "--loglevel=info",
                    "-n",
                    f"{self.name}@%h",
                ],
                cwd=ROOT_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record_pid(self.root, self.process.pid)
        wait_for(
            lambda: self._ready() or self.process.poll() is not None,
            timeout=60,
            what=f"the Celery worker {self.name}",
        )
        if self.process.poll() is not None:
            raise DrillError(f"The Celery worker exited early:\n{self.log()[-3000:]}")

    def _ready(self) -> bool:
        return " ready." in self.log()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def pool_children(self) -> list[int]:
        """Live child processes: the pool's and beat's (a killed child may linger as a zombie)."""
        return [pid for pid in children_of(self.pid) if alive(pid)]

    def stop(self) -> None:
        """Warm shutdown, then SIGKILL to the whole process group if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
