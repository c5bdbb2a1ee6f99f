"""The benchmark: the app under gunicorn on PostgreSQL, each scenario against a baseline
measured in the same run, printed as ratios with the targets they must meet.

    scripts/bench            # full run (PASS / MISS against the targets)
    scripts/bench --smoke    # every scenario on a tiny throw-away database (CI)

See docs/performance.md for what each scenario measures and the latest figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/ehr_bench"
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"
#: How often the end-to-end scenario looks at the summary's row.
WATCH_SECONDS = 0.02


@dataclass
class Profile:
    seconds: float
    warmup: float
    rounds: int
    clients: int
    write_clients: int
    charting_sessions: int
    rows_low: int
    rows_high: int
    pdf_rounds: int
    weasy_rounds: int
    e2e_rounds: int


FULL = Profile(
    seconds=5,
    warmup=1,
    rounds=3,
    clients=8,
    write_clients=50,
    charting_sessions=10,
    rows_low=1_000,
    rows_high=1_000_000,
    pdf_rounds=20,
    weasy_rounds=8,
    e2e_rounds=10,
)
SMOKE = Profile(
    seconds=1,
    warmup=0.3,
    rounds=1,
    clients=4,
    write_clients=10,
    charting_sessions=2,
    rows_low=1_000,
    rows_high=10_000,
    pdf_rounds=2,
    weasy_rounds=1,
    e2e_rounds=2,
)


@dataclass
class Row:
    """One measured line: a scenario or its baseline."""

    name: str
    median_ms: float
    p95_ms: float
    per_second: float
    errors: int = 0
    samples: list[str] = field(default_factory=list)


@dataclass
class Target:
    name: str
    ratio: float
    limit: float
    #: "max": the ratio must be at most ``limit``; "min": at least.
    kind: str
    detail: str = ""

    @property
    def met(self) -> bool:
        return self.ratio <= self.limit if self.kind == "max" else self.ratio >= self.limit


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _row(name: str, outcome) -> Row:
    latencies = outcome.latencies or [float("nan")]
    return Row(
        name=name,
        median_ms=statistics.median(latencies) * 1000,
        p95_ms=_percentile(latencies, 0.95) * 1000,
        per_second=len(outcome.latencies) / outcome.seconds if outcome.seconds else 0.0,
        errors=outcome.errors,
        samples=outcome.samples,
    )


class Bench:
    def __init__(self, profile: Profile, *, port: int, fixture, smoke: bool):
        self.profile, self.port, self.fixture, self.smoke = profile, port, fixture, smoke
        self.rows: list[Row] = []
        self.targets: list[Target] = []
        self.notes: list[str] = []

    # --- load ------------------------------------------------------------------------

    def _load(self, clients) -> object:
        from bench import load

        return load.run(
            port=self.port,
            clients=clients,
            seconds=self.profile.seconds,
            warmup=self.profile.warmup,
            processes=min(len(clients), 8),
        )

    def pair(
        self,
        name: str,
        calls,
        baseline_calls,
        *,
        clients: int,
        limit: float = 2.0,
        baseline: str = "bare DRF",
        floor_calls=None,
    ):
        """Scenario and baseline (and the constant floor, when given), alternated
        ``rounds`` times; the scenario's p95 over the baseline's, against ``limit``."""
        from bench.load import Outcome

        mine, base, floor = Outcome(), Outcome(), Outcome()
        for _ in range(self.profile.rounds):
            base.add(self._load([baseline_calls(i) for i in range(clients)]))
            mine.add(self._load([calls(i) for i in range(clients)]))
            if floor_calls is not None:
                floor.add(self._load([floor_calls(i) for i in range(clients)]))
        base_row = _row(f"  baseline: {baseline} ({clients} clients)", base)
        row = _row(name, mine)
        self.rows += [row, base_row]
        detail = (
            f"median x{row.median_ms / base_row.median_ms:.2f}, "
            f"throughput x{row.per_second / max(base_row.per_second, 1e-9):.2f}"
        )
        if floor_calls is not None:
            floor_row = _row(f"  floor: bare DRF, constant answer ({clients} clients)", floor)
            self.rows.append(floor_row)
            detail += f"; p95 x{row.p95_ms / floor_row.p95_ms:.2f} the constant floor"
        self.targets.append(
            Target(f"{name}: p95 vs {baseline}", row.p95_ms / base_row.p95_ms, limit, "max", detail)
        )
        return row, base_row

    # --- scenarios -------------------------------------------------------------------

    def api_reads(self) -> None:
        from bench.load import Call, token_header

        f, n = self.fixture, self.profile.clients
        prescriber = token_header(f.tokens["prescriber"])
        nurse = token_header(f.tokens["nurse"])
        referrer = token_header(f.tokens["referrer"])

        def floor(headers):
            return lambda i: [Call("GET", "/bench/bare/", headers)]

        patient, session = f.course_patient_id, f.detail_session_id
        reads = [
            (
                "GET patient list, page of 50 (prescriber)",
                "/api/v1/patients/",
                "/bench/bare/patients/",
                prescriber,
            ),
            (
                "GET patient detail (prescriber)",
                f"/api/v1/patients/{patient}/",
                f"/bench/bare/patients/{patient}/",
                prescriber,
            ),
            (
                "GET session detail (nurse)",
                f"/api/v1/sessions/{session}/",
                f"/bench/bare/sessions/{session}/",
                nurse,
            ),
            (
                "GET session vitals flowsheet (nurse)",
                f"/api/v1/sessions/{session}/vitals/",
                f"/bench/bare/sessions/{session}/vitals/",
                nurse,
            ),
            (
                "GET summary list (referrer)",
                "/api/v1/summaries/",
                "/bench/bare/summaries/",
                referrer,
            ),
        ]
        for name, path, bare_path, headers in reads:
            self.pair(
                name,
                lambda i, path=path, headers=headers: [Call("GET", path, headers)],
                lambda i, path=bare_path, headers=headers: [Call("GET", path, headers)],
                clients=n,
                baseline="bare DRF, same rows",
                floor_calls=floor(headers),
            )

    def vitals_writes(self) -> None:
        from bench.load import Call, token_header

        f, n = self.fixture, self.profile.write_clients
        nurse = token_header(f.tokens["nurse"])
        body = (
            '{"recorded_at": "{now}", "bp_systolic": 128, "bp_diastolic": 82, '
            '"heart_rate": 76, "spo2": 98, "resp_rate": 14}'
        )
        sessions = f.charting_session_ids

        def real(i):
            session = sessions[i % len(sessions)]
            return [Call("POST", f"/api/v1/sessions/{session}/vitals/", nurse, body, 201)]

        def bare(i):
            session = sessions[i % len(sessions)]
            return [Call("POST", f"/bench/bare/vitals/{session}/", nurse, body, 201)]

        self.pair(
            f"POST a vitals reading (nurse, {n} clients, {len(sessions)} sessions)",
            real,
            bare,
            clients=n,
        )

    def portal(self) -> None:
        from bench import permissions
        from bench.load import Call, Outcome, token_header

        f, n = self.fixture, self.profile.clients
        referrer = token_header(f.tokens["referrer"])
        page = (("Cookie", f"sessionid={f.referrer_session}"),)
        checks = [
            ("referrer's summary list (API)", [Call("GET", "/api/v1/summaries/", referrer)]),
            ("referrer's portal page (web)", [Call("GET", "/portal/", page)]),
        ]
        low, high = self.profile.rows_low, self.profile.rows_high
        outcomes = {(name, level): Outcome() for name, _ in checks for level in (low, high)}
        counts: dict[int, int] = {}
        found = permissions.filler_rows()
        try:
            # Low, high, low again: the levels cannot alternate round by round (changing
            # the table takes a while), but a drift of the machine's load between them
            # then weighs on both sides alike.
            for level in (low, high, low):
                began = time.perf_counter()
                counts[level] = permissions.fill_to(level)
                self.notes.append(
                    f"summary permission table set to {counts[level]:,} rows (seed_scale "
                    f"filler) in {time.perf_counter() - began:.1f} s"
                )
                for name, calls in checks:
                    for _ in range(self.profile.rounds):
                        outcomes[name, level].add(self._load([calls] * n))
        finally:
            permissions.set_filler(found)
        results: dict[str, dict[int, Row]] = {name: {} for name, _ in checks}
        for level in (low, high):
            for name, _ in checks:
                row = _row(f"{name}, {counts[level]:,} permission rows", outcomes[name, level])
                results[name][level] = row
                self.rows.append(row)
        for name, _ in checks:
            low = results[name][self.profile.rows_low]
            high = results[name][self.profile.rows_high]
            self.targets.append(
                Target(
                    f"{name}: p95 at {self.profile.rows_high:,} vs "
                    f"{self.profile.rows_low:,} permission rows",
                    high.p95_ms / low.p95_ms,
                    2.0,
                    "max",
                    f"median x{high.median_ms / low.median_ms:.2f}",
                )
            )

    def pdf(self, weasy_python: Path) -> float:
        """reportlab against WeasyPrint (judged on CPU time); returns the bare render's
        median wall time (seconds), the baseline of the end-to-end scenario."""
        from bench import pdf

        content = self.fixture.summary_content
        rounds = self.profile.pdf_rounds
        wall, cpu, data = pdf.time_reportlab(content, rounds=rounds)
        (OUT / "summary-reportlab.pdf").write_bytes(data)
        weasy_wall, weasy_cpu = pdf.time_weasyprint(
            content,
            rounds=self.profile.weasy_rounds,
            python=weasy_python,
            keep=OUT / "summary-weasyprint.pdf",
        )
        for name, values in (
            (f"render summary PDF, reportlab, wall ({rounds} renders)", wall),
            (f"render summary PDF, reportlab, CPU ({rounds} renders)", cpu),
            (f"  WeasyPrint, same content as HTML, wall ({len(weasy_wall)} renders)", weasy_wall),
            (f"  WeasyPrint, same content as HTML, CPU ({len(weasy_cpu)} renders)", weasy_cpu),
        ):
            median = statistics.median(values)
            self.rows.append(Row(name, median * 1000, _percentile(values, 0.95) * 1000, 1 / median))
        ours, theirs = statistics.median(cpu), statistics.median(weasy_cpu)
        sessions = len(content["course_rows"])
        self.targets.append(
            Target(
                f"summary PDF ({sessions} sessions, chart): WeasyPrint CPU time / reportlab",
                theirs / ours,
                10.0,
                "min",
                f"reportlab {ours * 1000:.1f} ms, WeasyPrint {theirs * 1000:.1f} ms CPU; "
                f"wall {statistics.median(wall) * 1000:.1f} vs "
                f"{statistics.median(weasy_wall) * 1000:.1f} ms (medians)",
            )
        )
        return statistics.median(wall)

    def end_to_end(self, bare_render: float) -> None:
        """POST a summary request through gunicorn; time until the row says ready."""
        import http.client

        from django.db import connection

        from bench.load import BASE_HEADERS
        from reports.models import TreatmentSummary

        f = self.fixture
        body = json.dumps({"patient": f.course_patient_id})
        headers = {
            **BASE_HEADERS,
            "Authorization": f"Token {f.tokens['prescriber']}",
            "Content-Type": "application/json",
        }
        table = TreatmentSummary._meta.db_table
        totals, http_parts, waits, errors, samples = [], [], [], 0, []
        for _ in range(self.profile.e2e_rounds):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            began_at = time.time()  # the clock the worker stamps ``generated_at`` with
            began = time.perf_counter()
            conn.request("POST", "/api/v1/summaries/", body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            answered = time.perf_counter()
            conn.close()
            if response.status != 202:
                errors += 1
                samples.append(f"POST /api/v1/summaries/ -> {response.status}: {answer[:200]!r}")
                continue
            summary_id = json.loads(answer)["id"]
            status, generated_at = "", None
            deadline = began + 120
            # The worker stamps the summary ready (``generated_at``, just before it saves
            # and commits the row); that stamp ends the measurement. The row is watched
            # every 20 ms only: polling every millisecond kept a process and a database
            # backend busy on the 2 CPUs and slowed the worker it was timing by a third.
            with connection.cursor() as cursor:
                while time.perf_counter() < deadline:
                    cursor.execute(
                        f"SELECT status, generated_at FROM {table} WHERE id = %s",  # noqa: S608
                        [summary_id],
                    )
                    status, generated_at = cursor.fetchone()
                    if status in ("ready", "failed"):
                        break
                    time.sleep(WATCH_SECONDS)
            if status != "ready":
                errors += 1
                error = TreatmentSummary.objects.filter(pk=summary_id).values_list(
                    "error", flat=True
                )
                samples.append(f"summary {summary_id} ended {status!r}: {list(error)}")
                continue
            total = generated_at.timestamp() - began_at
            totals.append(total)
            http_parts.append(answered - began)
            waits.append(total - (answered - began))
        if not totals:
            totals = [float("nan")]
        # What building a summary must do besides drawing: read the whole record.
        from reports.content import summary_content

        summary = TreatmentSummary.objects.filter(pk__in=f.referrer_summary_ids).first()
        reads = []
        for _ in range(max(3, self.profile.e2e_rounds)):
            began = time.perf_counter()
            summary_content(summary=summary)
            reads.append(time.perf_counter() - began)
        read = statistics.median(reads)
        # The same work without HTTP and Celery: the worker's task body, called here.
        generations = self._generations(max(3, self.profile.e2e_rounds))
        generation = statistics.median(generations)
        median = statistics.median(totals)
        self.rows.append(
            Row(
                f"summary request -> ready (HTTP + Celery on Redis + DB + storage, "
                f"{self.profile.e2e_rounds} runs)",
                median * 1000,
                _percentile(totals, 0.95) * 1000,
                1 / median,
                errors,
                samples,
            )
        )
        self.rows.append(
            Row("  bare render (reportlab only)", bare_render * 1000, 0, 1 / bare_render)
        )
        self.rows.append(
            Row(
                "  reading the record for it (reports.content.summary_content)",
                read * 1000,
                _percentile(reads, 0.95) * 1000,
                1 / read,
            )
        )
        self.rows.append(
            Row(
                "  generating it in-process (reports.services.summary_generate: lease, read, "
                "render, storage; no HTTP, no Celery)",
                generation * 1000,
                _percentile(generations, 0.95) * 1000,
                1 / generation,
            )
        )
        wait = statistics.median(waits or [0])
        self.targets.append(
            Target(
                "summary end-to-end / bare render",
                median / bare_render,
                1.25,
                "max",
                f"request answered in {statistics.median(http_parts or [0]) * 1000:.1f} ms, "
                f"then ready after {wait * 1000:.1f} ms (medians); reading the record alone is "
                f"{read / bare_render:.2f}x the render; the same generation in-process takes "
                f"{generation * 1000:.1f} ms, {(wait - generation) * 1000:.1f} ms less than "
                "that wait (the request's commit, the hop through Redis, the worker's run)",
            )
        )

    def _generations(self, rounds: int) -> list[float]:
        """Wall seconds of ``summary_generate`` on summaries requested without a task."""
        from rest_framework.authtoken.models import Token

        from patients.models import Patient
        from reports.services import summary_generate, summary_request

        prescriber = Token.objects.select_related("user").get(key=self.fixture.tokens["prescriber"])
        patient = Patient.objects.get(pk=self.fixture.course_patient_id)
        times = []
        for _ in range(rounds + 1):  # the first one warms up
            summary = summary_request(actor=prescriber.user, patient=patient, enqueue=False)
            began = time.perf_counter()
            summary_generate(summary_id=summary.pk)
            times.append(time.perf_counter() - began)
        return times[1:]

    # --- report ----------------------------------------------------------------------

    def report(self, header: list[str]) -> str:
        lines = [*header, ""]
        lines.append("| scenario | median ms | p95 ms | req/s | errors |")
        lines.append("|---|---:|---:|---:|---:|")
        for row in self.rows:
            lines.append(
                f"| {row.name} | {row.median_ms:.1f} | {row.p95_ms:.1f} | "
                f"{row.per_second:.1f} | {row.errors} |"
            )
        lines += ["", "| target | ratio | limit | result | detail |", "|---|---:|---:|---|---|"]
        for target in self.targets:
            sign = "≤" if target.kind == "max" else "≥"
            result = "PASS" if target.met else "MISS"
            if self.smoke:
                result += " (smoke: not judged)"
            lines.append(
                f"| {target.name} | {target.ratio:.2f} | {sign} {target.limit:g} | {result} | "
                f"{target.detail} |"
            )
        if self.notes:
            lines += ["", *[f"- {note}" for note in self.notes]]
        for row in self.rows:
            for sample in row.samples:
                lines.append(f"! error in {row.name.strip()}: {sample}")
        return "\n".join(lines)

    @property
    def errors(self) -> int:
        return sum(row.errors for row in self.rows)


# --- setting up ------------------------------------------------------------------------


def _environment(args, *, queue: str) -> dict:
    """What every process of the run sees: production mode behind a TLS proxy."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        BEHIND_TLS_PROXY="true",
        CONN_MAX_AGE=str(args.conn_max_age),
        CONN_HEALTH_CHECKS="true",
        LOG_LEVEL="WARNING",
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.broker_url,
        CELERY_TASK_DEFAULT_QUEUE=queue,
        CELERY_TASK_ALWAYS_EAGER="false",
        PRIVATE_STORAGE_ROOT=str(OUT / "private"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PYTHONPATH=str(ROOT),
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _admin_url(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def _recreate_database(database_url: str, *, drop_only: bool = False) -> None:
    import psycopg

    admin, name = _admin_url(database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _smoke_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "ehr"
    return urlunsplit(parts._replace(path=f"/{name}_bench_smoke"))


def _seed_small(stdout) -> str:
    """A tiny dataset from the seeding command (seed_scale if the app has it, else seed_demo)."""
    from django.core.management import call_command, get_commands

    if "seed_scale" in get_commands():
        call_command(
            "seed_scale", "--patients", "200", "--summaries", "20", "--no-progress", stdout=stdout
        )
        return "seed_scale --patients 200 --summaries 20"
    from bench.fixtures import PASSWORD

    call_command("seed_demo", "--password", PASSWORD, stdout=stdout)
    return "seed_demo"


def _machine(database_url: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
        cursor.execute("SHOW autovacuum")
        autovacuum = cursor.fetchone()[0]
    try:
        redis = subprocess.run(
            ["redis-server", "--version"],  # noqa: S607 - whichever Redis is installed
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()[2]
    except (OSError, IndexError):
        redis = "?"
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    load = os.getloadavg()
    return [
        f"- machine: {os.cpu_count()} CPUs, {memory} memory, load {load[0]:.2f} at start; "
        f"Python {platform.python_version()}, PostgreSQL {postgres}, Redis {redis.split('=')[-1]}",
        f"- database: {urlsplit(database_url).path.lstrip('/')} ({size}; the server's "
        f"autovacuum {autovacuum})",
    ]


def _dataset() -> str:
    from patients.models import Patient
    from reports.models import TreatmentSummaryUserObjectPermission
    from sessions.models import InfusionSession, VitalSign

    return (
        f"- data: {Patient.objects.count():,} patients, {InfusionSession.objects.count():,} "
        f"sessions, {VitalSign.objects.count():,} vitals readings, "
        f"{TreatmentSummaryUserObjectPermission.objects.count():,} summary permission rows"
    )


def _referrer_session(user) -> str:
    """A signed-in web session of the referrer (the portal page needs one)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from frontend import middleware

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    now = time.time()
    for key in ("LAST_ACTIVITY_KEY", "LOGIN_AT_KEY"):
        if hasattr(middleware, key):
            store[getattr(middleware, key)] = now
    store.create()
    return store.session_key


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny data, every scenario, quick")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE,
        help="PostgreSQL database to run against (full run; default %(default)s). "
        "The run adds its fixture records, API tokens, audit events, vitals readings "
        "and summaries there.",
    )
    parser.add_argument(
        "--broker-url",
        default=os.environ.get("BENCH_BROKER_URL") or DEFAULT_BROKER,
        help="Redis for the Celery worker (default %(default)s)",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (3)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE of gunicorn (seconds; 60, as docker-compose.yml's web service)",
    )
    parser.add_argument(
        "--worker-conn-max-age",
        type=int,
        default=60,
        help="CONN_MAX_AGE of the Celery worker (seconds; 60, as docker-compose.yml's worker)",
    )
    parser.add_argument(
        "--weasy-python",
        default=str(ROOT / ".venv-bench" / "bin" / "python"),
        help="Python with WeasyPrint (bench/requirements.txt)",
    )
    parser.add_argument(
        "--only",
        default="reads,writes,portal,pdf,e2e",
        help="comma-separated scenario groups (reads, writes, portal, pdf, e2e)",
    )
    parser.add_argument("--seconds", type=float, help="seconds per load round")
    parser.add_argument("--rounds", type=int, help="alternated rounds per pair")
    parser.add_argument("--rows-high", type=int, help="permission rows of the large portal case")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    profile = SMOKE if args.smoke else FULL
    for name in ("seconds", "rounds", "rows_high"):
        if getattr(args, name) is not None:
            setattr(profile, name, getattr(args, name))
    groups = set(args.only.split(","))
    if args.smoke:
        base = os.environ.get("DATABASE_URL", "")
        if not base.startswith("postgres"):
            base = DEFAULT_DATABASE
        args.database_url = _smoke_database_url(base)
        _recreate_database(args.database_url)
    queue = f"bench-{os.getpid()}"
    env = _environment(args, queue=queue)
    os.environ.update(env)
    OUT.mkdir(parents=True, exist_ok=True)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import fixtures, servers
    from ehr.models import User

    log = (OUT / "setup.log").open("w")
    began = time.perf_counter()
    call_command("migrate", "--noinput", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patients_patient")
        empty = cursor.fetchone()[0] == 0
    seeded = _seed_small(log) if empty else "existing data"
    fixture = fixtures.prepare(charting_sessions=profile.charting_sessions)
    fixture.referrer_session = _referrer_session(User.objects.get(pk=fixture.referrer_id))
    header = [
        f"## Benchmark {'smoke ' if args.smoke else ''}run, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        *_machine(args.database_url),
        _dataset() + f" ({seeded})",
        f"- requests as {fixture.cast}",
        f"- server: gunicorn {args.workers} sync workers, DEBUG off, CONN_MAX_AGE "
        f"{args.conn_max_age} (the worker's {args.worker_conn_max_age}); load: "
        f"{profile.clients} keep-alive clients for reads, "
        f"{profile.write_clients} for writes, {profile.rounds} alternated round(s) of "
        f"{profile.seconds:g} s per side after {profile.warmup:g} s warm-up; "
        f"setup {time.perf_counter() - began:.0f} s",
    ]
    print("\n".join(header), flush=True)

    gunicorn = worker = None
    bench = None
    try:
        gunicorn, port = servers.gunicorn(env=env, workers=args.workers, log=OUT / "gunicorn.log")
        bench = Bench(profile, port=port, fixture=fixture, smoke=args.smoke)
        steps = [
            ("reads", bench.api_reads),
            ("writes", bench.vitals_writes),
            ("portal", bench.portal),
        ]
        for group, step in steps:
            if group in groups:
                print(f"... {group}", flush=True)
                step()
        bare_render = None
        if "pdf" in groups or "e2e" in groups:
            print("... pdf", flush=True)
            bare_render = bench.pdf(Path(args.weasy_python))
        if "e2e" in groups:
            print("... e2e", flush=True)
            worker = servers.celery_worker(
                env={**env, "CONN_MAX_AGE": str(args.worker_conn_max_age)},
                queue=queue,
                log=OUT / "worker.log",
            )
            bench.end_to_end(bare_render)
    finally:
        for process in (worker, gunicorn):
            if process is not None:
                process.stop()
        connection.close()
        if args.smoke:
            _recreate_database(args.database_url, drop_only=True)
    text = bench.report(header)
    print()
    print(text)
    (OUT / ("smoke.md" if args.smoke else "latest.md")).write_text(text + "\n")
    if bench.errors:
        print(f"\n{bench.errors} request(s) failed: see the errors above.", file=sys.stderr)
        return 1
    return 0
