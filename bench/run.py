"""Latency and throughput benchmark of the main read and write paths.

    .venv/bin/python bench/run.py [--rounds 200] [--patients 200]

Builds a throwaway database (a temporary SQLite file unless BENCH_DATABASE_URL is
set), loads the demo data plus extra patients, then times each scenario in-process
through Django's test client. Machines differ, so absolute numbers mean little: every
scenario is reported as a ratio against a baseline measured in the same run (an
authenticated request for a tiny API page), which is what to compare across
changes. Nothing here asserts; tests assert query counts instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _configure(database_url: str | None) -> None:
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ehr.settings")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        folder = tempfile.mkdtemp(prefix="ehr-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
        os.environ["EHR_VAR_DIR"] = folder


def _time(call, rounds: int) -> list[float]:
    call()  # warm caches and connections
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--patients", type=int, default=200)
    args = parser.parse_args()
    _configure(os.environ.get("BENCH_DATABASE_URL"))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOWED_HOSTS = ["testserver"]
    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--password", "bench", verbosity=0)

    from bench.scenarios import build_scenarios

    baseline, scenarios = build_scenarios(patients=args.patients)
    base_samples = _time(baseline.call, args.rounds)
    base_median = statistics.median(base_samples)
    print(f"{'scenario':44} {'median ms':>10} {'p95 ms':>9} {'req/s':>8} {'x baseline':>11}")
    rows = [(baseline.name, base_samples)] + [
        (s.name, _time(s.call, args.rounds)) for s in scenarios
    ]
    for name, samples in rows:
        median = statistics.median(samples)
        p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
        print(
            f"{name:44} {median * 1000:10.2f} {p95 * 1000:9.2f} {1 / median:8.0f} "
            f"{median / base_median:11.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
