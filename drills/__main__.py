# ruff: noqa: S603, S103 - runs fixed local commands; the postgres user must read its folders
"""Fault drills of treatment-summary generation: ``python -m drills [NAME ...|all]``.

Starts a private PostgreSQL cluster, migrates and seeds a template database
once, then runs each drill in a process of its own on a fresh copy of it
(``drills.scenario``). Exits non-zero if any drill found a violation or could
not run. See docs/drills.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drills.services import ROOT_DIR, DrillError, PrivatePostgres

DRILLS = {
    "worker-child-kill": "kill -9 of a pool child while it generates a summary",
    "worker-main-kill": "kill -9 of the main worker process, then a new worker",
    "redis-restart": "Redis stopped and started again empty (queued messages lost)",
    "postgres-restart": "PostgreSQL restarted (pg_ctl restart -m fast) under running tasks",
}


def _stop_on_sigterm() -> None:
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _prepare_template(pg: PrivatePostgres, root: Path) -> None:
    pg.sql("CREATE DATABASE drill_template")
    env = {**os.environ, "DATABASE_URL": pg.url("drill_template"), "DEBUG": "true"}
    env["EHR_VAR_DIR"] = str(root / "var")
    env["PRIVATE_STORAGE_ROOT"] = str(root / "template-storage")
    for command in (
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        [sys.executable, "-m", "drills.scenario", "--seed"],
    ):
        result = subprocess.run(command, cwd=ROOT_DIR, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise DrillError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def main(argv: list[str]) -> int:
    _stop_on_sigterm()
    names = list(DRILLS) if argv in ([], ["all"]) else argv
    unknown = [name for name in names if name not in DRILLS]
    if unknown:
        print(f"Unknown drill {', '.join(unknown)}. Drills: {', '.join(DRILLS)} or all.")
        return 64
    started = time.monotonic()
    given_root = os.environ.get("DRILL_ROOT")
    root = Path(given_root) if given_root else Path(tempfile.mkdtemp(prefix="ehr-drills-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the postgres user reaches its cluster inside
    pg = PrivatePostgres(root / "postgres")
    (root / "postgres").mkdir()
    results: dict[str, int] = {}
    try:
        pg.init()
        pg.start()
        print(f"Private PostgreSQL {pg.bin.parent.name} on port {pg.port} in {pg.data}")
        _prepare_template(pg, root)
        print(f"Template database migrated and seeded ({time.monotonic() - started:.1f} s)")
        for number, name in enumerate(names, start=1):
            database = f"drill_{number}"
            pg.sql(f"CREATE DATABASE {database} TEMPLATE drill_template")
            drill_root = root / name
            drill_root.mkdir()
            print(f"\n== Drill {name}: {DRILLS[name]}")
            drill_started = time.monotonic()
            env = {
                **os.environ,
                "DRILL_ROOT": str(drill_root),
                "DATABASE_URL": pg.url(database),
                "DRILL_PG_ROOT": str(pg.root),
                "DRILL_PG_PORT": str(pg.port),
            }
            process = subprocess.Popen(
                [sys.executable, "-m", "drills.scenario", name], cwd=ROOT_DIR, env=env
            )
            try:
                results[name] = process.wait()
            finally:
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=60)
            verdict = "PASS" if results[name] == 0 else "FAIL"
            print(f"== {name}: {verdict} in {time.monotonic() - drill_started:.1f} s")
    except DrillError as exc:
        print(f"DRILL ERROR: {exc}")
        return 2
    finally:
        with contextlib.suppress(Exception):
            pg.stop("immediate")
        if not given_root and not os.environ.get("DRILL_KEEP"):
            shutil.rmtree(root, ignore_errors=True)
    total = time.monotonic() - started
    print("\nSummary:")
    for name in names:
        if name in results:
            print(f"  {name:20} {'PASS' if results[name] == 0 else 'FAIL'}")
        else:
            print(f"  {name:20} not run")
    print(f"Total time {total:.1f} s")
    return 0 if len(results) == len(names) and not any(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
