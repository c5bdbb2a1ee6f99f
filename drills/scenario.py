"""One fault drill in a process of its own: ``python -m drills.scenario NAME``.

Started by ``python -m drills`` (``scripts/drill``) with ``DRILL_ROOT`` (a
folder of its own), ``DATABASE_URL`` (a fresh database on the drills' private
PostgreSQL cluster) and ``DRILL_PG_ROOT`` / ``DRILL_PG_PORT`` (that cluster).
``python -m drills.scenario --seed`` fills the template database instead.

A drill starts a private Redis and a real worker, requests summaries through
``reports.services.summary_request``, injects its fault while they are being
generated, waits until every one is ready and then checks the documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from drills.services import (
    CeleryWorker,
    DrillError,
    PrivatePostgres,
    PrivateRedis,
    Timeline,
    alive,
    wait_for,
)

SUMMARIES = int(os.environ.get("DRILL_SUMMARIES", "20"))
RECOVERY_TIMEOUT = float(os.environ.get("DRILL_RECOVERY_TIMEOUT", "150"))

# Production behaviour with its clocks shortened so that a drill takes seconds:
# the lease (10 min) must outlast the task's hard time limit (300 s), as in production.
DRILL_SETTINGS = {
    "DEBUG": "true",
    "DJANGO_SETTINGS_MODULE": "ehr.settings",
    "CELERY_TASK_TIME_LIMIT": "20",
    "CELERY_TASK_SOFT_TIME_LIMIT": "15",
    "SUMMARY_LEASE_MINUTES": "0.5",  # 30 s
    "SUMMARY_QUEUED_GRACE_MINUTES": "0.25",  # 15 s
    "SUMMARY_SWEEP_SECONDS": "3",
    "SUMMARY_MAX_ATTEMPTS": "3",
    # The worker keeps its database connection between tasks, as in docker-compose.yml.
    "CONN_MAX_AGE": "60",
    "CONN_HEALTH_CHECKS": "true",
    "DRILL_RENDER_SECONDS": os.environ.get("DRILL_RENDER_SECONDS", "0.6"),
    "PYTHONUNBUFFERED": "1",
}


def _stop_on_sigterm() -> None:
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def _setup_django() -> None:
    import django

    django.setup()


# --- Data -------------------------------------------------------------------------------


def seed() -> None:
    """The demo clinic (users, patients, courses) without any summary."""
    os.environ.update({k: v for k, v in DRILL_SETTINGS.items() if not k.startswith("DRILL")})
    _setup_django()
    from django.db import transaction

    import patients.seed
    import sessions.seed
    from ehr.seed import seed_users

    with transaction.atomic():
        users = seed_users(password="drill-password-not-used")
        patients.seed.seed(users=users, stdout=sys.stdout)
        sessions.seed.seed(users=users, stdout=sys.stdout)
    print()


def _request_summaries(drill: str, count: int) -> list[int]:
    from django.db.models import Count, Q

    from ehr.models import User
    from patients.selectors import care_team_patients
    from reports import services

    prescriber = User.objects.get(username="prescriber")
    given = Q(courses__sessions__status__in=["completed", "stopped_early"])
    patients = list(
        care_team_patients(user=prescriber)
        .annotate(given=Count("courses__sessions", filter=given))
        .filter(given__gt=0)
        .order_by("pk")
    )
    if not patients:
        raise DrillError("The seeded clinic has no patient with a given infusion.")
    ids = []
    for number in range(count):
        summary = services.summary_request(
            actor=prescriber,
            patient=patients[number % len(patients)],
            comment=f"Fault drill {drill}, request {number + 1}.",
        )
        ids.append(summary.pk)
    return ids


# --- Observing ------------------------------------------------------------------------------


def _statuses(ids: list[int]) -> Counter | None:
    """Status counts of the drill's summaries, or None while the database is unreachable."""
    from django.db import DatabaseError, connection

    from reports.models import TreatmentSummary

    try:
        rows = TreatmentSummary.objects.filter(pk__in=ids).values_list("status", flat=True)
        return Counter(rows)
    except DatabaseError:
        with contextlib.suppress(Exception):
            connection.close()
        return None


def _busy_pids(busy_dir: Path) -> list[int]:
    return sorted(int(p.name) for p in busy_dir.iterdir() if p.name.isdigit())


def _generating(ids: list[int]) -> list[int]:
    from reports.models import TreatmentSummary

    return sorted(
        TreatmentSummary.objects.filter(pk__in=ids, status="generating").values_list(
            "pk", flat=True
        )
    )


def _wait_mid_generation(ids, busy_dir: Path, timeline: Timeline, *, ready_at_least: int) -> None:
    """Until at least ``ready_at_least`` summaries are ready and a child is drawing one."""

    def moment() -> bool:
        counts = _statuses(ids) or Counter()
        return counts["ready"] >= ready_at_least and bool(_busy_pids(busy_dir))

    wait_for(moment, timeout=60, interval=0.05, what="summaries being generated")
    counts = _statuses(ids) or Counter()
    timeline.log(
        f"mid-generation: {counts['ready']} ready, {counts['generating']} generating "
        f"(ids {_generating(ids)}), {counts['queued']} queued"
    )


def _wait_all_ready(ids, timeline: Timeline, busy_dir: Path) -> float | None:
    """Seconds at which every summary was ready or failed, None on timeout."""
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    last = None
    printed_at = 0.0
    while time.monotonic() < deadline:
        counts = _statuses(ids)
        if counts is None:
            if last != "down":
                timeline.log("database unreachable from the drill; still waiting")
                last = "down"
        else:
            shown = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
            finished = counts["ready"] + counts["failed"] == len(ids)
            # A line when the counts change, at most every 2 s.
            if shown != last and (finished or timeline.now() - printed_at >= 2):
                timeline.log(f"status: {shown}")
                last, printed_at = shown, timeline.now()
            if finished:
                return timeline.now()
        time.sleep(0.25)
    return None


# --- Checks ---------------------------------------------------------------------------------


def _check(ids: list[int], storage: Path) -> tuple[list[str], list[str]]:
    """(findings, violations) about the documents of the drill's summaries."""
    from pypdf import PdfReader

    from reports.models import TreatmentSummary

    findings: list[str] = []
    violations: list[str] = []
    summaries = list(TreatmentSummary.objects.filter(pk__in=ids).order_by("pk"))
    referenced: dict[str, int] = {}
    for summary in summaries:
        label = f"summary {summary.pk}"
        if summary.status != "ready":
            violations.append(f"{label} is {summary.status}: {summary.error or '(no reason)'}")
            continue
        if not summary.pdf.name:
            violations.append(f"{label} is ready without a file")
            continue
        if summary.pdf.name in referenced:
            violations.append(
                f"{label} shares its file with summary {referenced[summary.pdf.name]}"
            )
        referenced[summary.pdf.name] = summary.pk
        path = storage / summary.pdf.name
        if not path.is_file():
            violations.append(f"{label}: file {summary.pdf.name} missing from storage")
            continue
        data = path.read_bytes()
        if summary.sha256 != hashlib.sha256(data).hexdigest():
            violations.append(f"{label}: stored SHA-256 does not match the file")
        try:
            pages = len(PdfReader(path).pages)
        except Exception as exc:
            violations.append(f"{label}: file is not a readable PDF ({exc})")
            continue
        if not summary.page_count or summary.page_count != pages:
            violations.append(f"{label}: page_count {summary.page_count}, file has {pages}")
        copies = [p for p in storage.rglob(f"*{summary.document_id}*") if p.is_file()]
        if len(copies) != 1:
            violations.append(f"{label}: {len(copies)} files carry its document id: {copies}")

    # Every file in storage belongs to a summary of the drill: no orphan, no temp file.
    for path in sorted(p for p in storage.rglob("*") if p.is_file()):
        name = path.relative_to(storage).as_posix()
        if name not in referenced:
            violations.append(f"orphaned file in storage: {name}")
    attempts = Counter(s.attempts for s in summaries)
    retried = [f"{s.pk} ({s.attempts})" for s in summaries if s.attempts > 1]
    findings.append(
        f"{len(summaries)} summaries: "
        + ", ".join(f"{n} {s}" for s, n in sorted(Counter(s.status for s in summaries).items()))
    )
    findings.append(
        "attempts per summary: "
        + ", ".join(f"{n}x {a}" for a, n in sorted(attempts.items()))
        + (f"; more than one: {', '.join(retried)}" if retried else "")
    )
    files = [p for p in storage.rglob("*") if p.is_file()]
    findings.append(f"{len(files)} files in storage for {len(referenced)} documents")
    return findings, violations


# --- The faults -----------------------------------------------------------------------------


class Drill:
    def __init__(self, name: str) -> None:
        self.name = name
        self.root = Path(os.environ["DRILL_ROOT"])
        self.timeline = Timeline()
        self.busy = self.root / "busy"
        self.storage = self.root / "storage"
        self.busy.mkdir()
        self.storage.mkdir()
        (self.root / "var").mkdir()
        self.redis = PrivateRedis(self.root)
        self.pg = PrivatePostgres(
            Path(os.environ["DRILL_PG_ROOT"]), port=int(os.environ["DRILL_PG_PORT"])
        )
        self.workers: list[CeleryWorker] = []
        self.notes: list[str] = []
        self.violations: list[str] = []
        self.ids: list[int] = []

    def env(self) -> dict[str, str]:
        pause = {"DRILL_STORE_PAUSE_SECONDS": "0.4"} if self.name == "worker-child-kill" else {}
        return {
            **pause,
            **os.environ,
            **DRILL_SETTINGS,
            "CELERY_BROKER_URL": self.redis.url,
            "PRIVATE_STORAGE_ROOT": str(self.storage),
            "EHR_VAR_DIR": str(self.root / "var"),
            "DRILL_BUSY_DIR": str(self.busy),
        }

    def start_worker(self) -> CeleryWorker:
        worker = CeleryWorker(self.root, self.env(), name=f"worker{len(self.workers) + 1}")
        self.workers.append(worker)
        worker.start()
        self.timeline.log(
            f"{worker.name} ready: main pid {worker.pid}, children {worker.pool_children()}"
        )
        return worker

    def run(self) -> int:
        tl = self.timeline
        self.redis.start()
        tl.log(f"private redis-server on port {self.redis.port} (nothing kept on disk)")
        os.environ.update(self.env())
        _setup_django()
        self.start_worker()
        self.ids = _request_summaries(self.name, SUMMARIES)
        tl.log(f"requested {len(self.ids)} summaries (ids {self.ids[0]}..{self.ids[-1]})")
        getattr(self, "fault_" + self.name.replace("-", "_"))()
        done_at = _wait_all_ready(self.ids, tl, self.busy)
        if done_at is None:
            self.violations.append(
                f"not every summary was ready or failed {RECOVERY_TIMEOUT:.0f} s after the fault"
            )
        else:
            tl.log("RECOVERED: every summary has finished")
        # Let a late duplicate attempt, if any, finish before the storage is inspected.
        with contextlib.suppress(DrillError):
            wait_for(lambda: not _busy_pids(self.busy), timeout=10, what="idle workers")
        time.sleep(1.0)
        findings, violations = _check(self.ids, self.storage)
        findings.append(self._recovery_from_logs())
        self.violations.extend(violations)
        print("  found:")
        for line in self.notes + findings:
            print(f"    - {line}")
        if self.violations:
            print("  VIOLATIONS:")
            for line in self.violations:
                print(f"    ! {line}")
            self._dump_logs()
            return 1
        print("  no violation")
        return 0

    def _recovery_from_logs(self) -> str:
        logs = "".join(worker.log() for worker in self.workers)
        swept = sum(
            int(line.split("Re-enqueued ")[1].split()[0])
            for line in logs.splitlines()
            if "Re-enqueued " in line
        )
        lost = logs.count("Task handler raised error: WorkerLostError")
        retries = logs.count("] retry: ")
        return (
            f"worker logs: {swept} summaries re-enqueued by the sweep, {lost} WorkerLostError "
            f"(message rejected back to the queue), {retries} task retries"
        )

    def _dump_logs(self) -> None:
        for worker in self.workers:
            tail = worker.log()[-4000:]
            print(f"  --- {worker.name} log (tail) ---\n{tail}")

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.redis.stop()

    # 1. A pool child killed while it draws a PDF.
    def fault_worker_child_kill(self) -> None:
        tl = self.timeline
        _wait_mid_generation(self.ids, self.busy, tl, ready_at_least=1)
        worker = self.workers[0]
        busy = [pid for pid in _busy_pids(self.busy) if pid in worker.pool_children()]
        if not busy:
            raise DrillError("No pool child of the worker was busy.")
        victim = busy[0]
        generating = _generating(self.ids)
        os.kill(victim, signal.SIGKILL)
        (self.busy / str(victim)).unlink(missing_ok=True)
        tl.log(f"FAULT: kill -9 pool child {victim} (summaries generating: {generating})")
        wait_for(lambda: not alive(victim), timeout=10, what="the child to die")
        wait_for(
            lambda: len(worker.pool_children()) >= 3,  # two pool processes and beat
            timeout=20,
            what="the pool to replace its child",
        )
        tl.log(f"worker replaced the child: children now {worker.pool_children()}")
        if worker.process.poll() is not None:
            self.violations.append("the main worker process died with its child")
        self.notes.append(f"killed pool child {victim} while summaries {generating} generated")

        # Then a child that has written its PDF file but not yet committed the summary.
        def stored_marker() -> list[Path]:
            return sorted(self.busy.glob("stored-*"))

        wait_for(lambda: bool(stored_marker()), timeout=60, interval=0.02, what="a stored file")
        marker = stored_marker()[0]
        victim = int(marker.name.split("-", 1)[1])
        with contextlib.suppress(OSError):
            written = marker.read_text()
        os.kill(victim, signal.SIGKILL)
        marker.unlink(missing_ok=True)
        (self.busy / str(victim)).unlink(missing_ok=True)
        tl.log(
            f"FAULT: kill -9 pool child {victim} after it wrote {written} and before it "
            "committed the summary"
        )
        self.notes.append(f"killed pool child {victim} between writing {written} and committing")

    # 2. The main worker process killed (its children go with it), then a new worker.
    def fault_worker_main_kill(self) -> None:
        tl = self.timeline
        _wait_mid_generation(self.ids, self.busy, tl, ready_at_least=2)
        worker = self.workers[0]
        children = worker.pool_children()
        generating = _generating(self.ids)
        os.kill(worker.pid, signal.SIGKILL)
        tl.log(
            f"FAULT: kill -9 main worker {worker.pid} (children {children}; "
            f"summaries generating: {generating})"
        )
        worker.process.wait(timeout=10)
        time.sleep(0.5)
        survivors = [pid for pid in children if alive(pid)]
        if survivors:
            # The pool's processes and the embedded beat die with the main process
            # (ehr/celery.py); one left running would schedule beside the new worker's beat.
            self.violations.append(f"children {survivors} outlived the main worker process")
            for pid in survivors:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        else:
            self.notes.append(f"the pool children {children} died with the main process")
        for pid in children:
            (self.busy / str(pid)).unlink(missing_ok=True)
        tl.log(f"children alive after the kill: {survivors or 'none'}")
        time.sleep(1.0)
        self.start_worker()
        tl.log("recovery: a new worker (with beat) started; the sweep must take back the leases")
        self.notes.append(
            f"killed the main worker while summaries {generating} generated; a new worker took over"
        )

    # 3. Redis restarted: it keeps nothing, so every message in it is lost.
    def fault_redis_restart(self) -> None:
        tl = self.timeline
        _wait_mid_generation(self.ids, self.busy, tl, ready_at_least=2)
        waiting = self.redis.queue_length()
        counts = _statuses(self.ids) or Counter()
        self.redis.stop()
        tl.log(
            f"FAULT: redis-server stopped with {waiting} messages waiting in the queue "
            f"({counts['queued']} summaries queued, {counts['generating']} generating)"
        )
        time.sleep(2.0)
        self.redis.start()
        after = self.redis.queue_length()
        tl.log(f"redis-server started again on port {self.redis.port}: {after} messages in it")
        self.notes.append(
            f"redis restarted: {waiting} queued messages lost ({after} after the restart); "
            "the sweep must re-enqueue their summaries"
        )
        worker = self.workers[0]
        if worker.process.poll() is not None:
            self.violations.append("the worker exited when Redis went away")

    # 4. PostgreSQL restarted (fast: open connections are terminated) under running tasks.
    def fault_postgres_restart(self) -> None:
        tl = self.timeline
        _wait_mid_generation(self.ids, self.busy, tl, ready_at_least=2)
        generating = _generating(self.ids)
        busy = _busy_pids(self.busy)
        from django.db import connection

        connection.close()
        started = tl.log(
            f"FAULT: pg_ctl restart -m fast (children drawing: {busy}, summaries "
            f"generating: {generating})"
        )
        self.pg.restart("fast")
        tl.log(f"PostgreSQL accepting connections again ({tl.now() - started:.1f} s down)")
        self.notes.append(
            f"PostgreSQL restarted while summaries {generating} generated (pool children "
            f"{busy} drawing)"
        )
        worker = self.workers[0]
        if worker.process.poll() is not None:
            self.violations.append("the worker exited when PostgreSQL restarted")


def main(argv: list[str]) -> int:
    _stop_on_sigterm()
    if argv == ["--seed"]:
        seed()
        return 0
    (name,) = argv
    drill = Drill(name)
    try:
        return drill.run()
    except DrillError as exc:
        print(f"  DRILL ERROR: {exc}")
        drill._dump_logs()
        return 2
    finally:
        drill.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
