"""A large synthetic clinic for performance work: ``manage.py seed_scale``.

``scale_generate`` writes staff, referring providers, patients with their care
teams, consents, evaluations, rating scales, safety alerts, treatment courses,
infusion sessions with vitals, side effects and mood notes, and a few signed and
released treatment summaries. At the default size (100,000 patients) that is
about a million sessions and ten million vital-sign rows.

Speed: ids are assigned here, rows are buffered per batch of patients and
written table by table with PostgreSQL's ``COPY ... FROM STDIN (FORMAT BINARY)``
(psycopg 3), foreign keys checked at the end of each COPY
(``SET CONSTRAINTS ALL IMMEDIATE``), all in one transaction; identity sequences
are moved past the ids used and the tables analysed at the end. Other
databases (SQLite, for tests) get the same rows through batched INSERTs.

Validity: every row obeys the models' constraints and the clinical rules of
docs/patients.md and docs/sessions.md (signed evaluations with a decision,
eligibility against the contraindication screen, consent before treatment,
four eyes on every dose, doses from ``sessions.dosing``, vitals alerts from
``sessions.monitoring``, scale totals from ``patients.scales``, session
numbering, lifecycle times in order, discharge checklist before signing,
safety alerts for PHQ-9 item 9). Rules are computed by the owning app's
functions, never re-implemented here.

Not written: audit events (the audit trail records what people did, and
generated data must stay removable: audit events are append-only) and
django-simple-history rows for records that can no longer change (signed
evaluations and sessions with their flowsheet entries, consents, rating
scales). Records that can still change (providers, patients, courses,
unsigned evaluations and sessions and their flowsheet entries) get the
"created" history row the application would have written.

Every generated account's username starts with ``scale-``; generated patients
are registered by ``scale-admin`` and generated providers have e-mail
addresses at ``scale.invalid``: that is how ``scale_clear`` finds them.
"""

from __future__ import annotations

import datetime
import json
import math
import operator
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import connection, models, transaction
from django.utils import timezone

from ehr.models import AuditEvent, User
from ehr.roles import Role
from patients.contraindications import ABSOLUTE_KEYS, CONTRAINDICATION_KEYS, RELATIVE_KEYS
from patients.diagnoses import DIAGNOSES
from patients.eligibility import eligibility_errors
from patients.models import (
    CARE_TEAM_PERMISSION,
    Assessment,
    Consent,
    Evaluation,
    Patient,
    PatientUserObjectPermission,
    ReferringProvider,
    SafetyAlert,
)
from patients.npi import npi_check_digit
from patients.scales import PHQ9_SELF_HARM_ITEM, item_count, raises_self_harm_alert, score
from reports.models import (
    RELEASED_SUMMARY_PERMISSION,
    TreatmentSummary,
    TreatmentSummaryUserObjectPermission,
)
from sessions.dosing import total_dose_mg
from sessions.models import (
    InfusionSession,
    MoodNote,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)
from sessions.monitoring import current_protocol, vitals_alerts

PREFIX = "scale-"
DEFAULT_PASSWORD = "scale"
PROVIDER_DOMAIN = "scale.invalid"
#: The accounts a benchmark signs in as (all share the password given to the command).
KNOWN_USERS = ("scale-admin", "scale-prescriber", "scale-nurse", "scale-referrer")

#: The tables the generator writes row by row, in dependency order.
CLINIC_MODELS = (
    User,
    ReferringProvider,
    Patient,
    PatientUserObjectPermission,
    Consent,
    Evaluation,
    Assessment,
    SafetyAlert,
    TreatmentCourse,
    InfusionSession,
    VitalSign,
    SideEffect,
    MoodNote,
)
FILLER_KINDS = ("summary", "care-team")

# Per 100,000 patients: the size of the staff and of the referral network.
STAFF_PER_100K = {"admin": 5, "prescriber": 200, "nurse": 500, "provider": 2000}
INDUCTION_DAYS = [0, 2, 4, 7, 9, 11]
# Readings at the start, at 5 minutes, then every 10 minutes (within the protocol's 15)
# through the infusion and the 60-minute observation: a 40-minute infusion has 12.
VITALS_EVERY_MINUTES = 10
OBSERVATION_MINUTES = 60
#: Column order of the vital-sign rows built as tuples (the largest table).
VITAL_COLUMNS = [
    "id",
    "recorded_by_id",
    "created_at",
    "corrected_by_id",
    "corrected_at",
    "session_id",
    "recorded_at",
    "bp_systolic",
    "bp_diastolic",
    "heart_rate",
    "spo2",
    "resp_rate",
    "alerts",
    "protocol_id",
]

FIRST_NAMES = [
    "Sofía",
    "Νίκος",
    "Дмитрий",
    "فاطمة",
    "נועה",
    "美咲",
    "Kwame",
    "Chloé",
    "Olivia",
    "Liam",
    "Amelia",
    "Noah",
    "Ava",
    "Mateo",
    "Isla",
    "Lucas",
    "Mia",
    "Ethan",
    "Zoë",
    "Arjun",
    "Priya",
    "Jonas",
    "Ingrid",
    "Siobhán",
    "Tomás",
    "Aisha",
    "Yusuf",
    "Mei",
    "Hiroshi",
    "Olga",
    "Marek",
    "Lena",
    "Kofi",
    "Ana",
    "João",
    "Emma",
    "Oscar",
    "Nadia",
    "Samir",
    "Hana",
]
LAST_NAMES = [
    "Hernández",
    "Παπαδόπουλος",
    "Волков",
    "الزهراء",
    "לוי",
    "佐藤",
    "Mensah",
    "Lefèvre",
    "Smith",
    "Johnson",
    "Nguyen",
    "Garcia",
    "Kowalski",
    "O'Brien",
    "Müller",
    "Rossi",
    "Kim",
    "Patel",
    "Cohen",
    "Dubois",
    "Andersen",
    "Silva",
    "Tanaka",
    "Novak",
    "Ivanova",
    "Okafor",
    "Reyes",
    "Kelly",
    "Byrne",
    "Haddad",
    "Chen",
    "Wang",
    "Singh",
    "Costa",
    "Jensen",
    "Horvat",
    "Popescu",
    "Yilmaz",
    "Fischer",
    "Moreau",
]
PATIENT_STATUSES = [  # (status, weight)
    (Patient.Status.REFERRED, 8),
    (Patient.Status.EVALUATING, 5),
    (Patient.Status.DECLINED, 4),
    (Patient.Status.ACTIVE, 38),
    (Patient.Status.MAINTENANCE, 20),
    (Patient.Status.DISCHARGED, 25),
]
EFFECTS = [
    (SideEffect.Effect.DISSOCIATION, "Reassurance; lights dimmed."),
    (SideEffect.Effect.NAUSEA, "Ondansetron 4 mg IV."),
    (SideEffect.Effect.DIZZINESS, "Remained seated until resolved."),
    (SideEffect.Effect.BLURRED_VISION, ""),
    (SideEffect.Effect.HEADACHE, "Paracetamol 1 g PO after discharge check."),
]
MOOD_TEXT = {
    "pre": ["A bit nervous but looking forward to it.", "Rough week; slept poorly."],
    "during": ["Describes floating, colours vivid; calm.", "Quiet, eyes closed."],
    "post": ["Feels lighter.", "Tired but calm; oriented, eating a snack."],
}
PRECAUTIONS = (
    "Relative contraindication reviewed: monitoring plan agreed with the patient's "
    "physician; re-screen before each infusion."
)


@dataclass
class ScaleReport:
    """What a run wrote: rows per table, seconds per phase."""

    counts: dict[str, int] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    #: Seconds spent writing each table (COPY or INSERT), inside the phases.
    writing: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, rows: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + rows


class ScaleDataExists(Exception):
    """Generated data is already in the database (clear it first)."""


class ScaleClearRefused(Exception):
    """Generated data has been used (audit trail, tokens, ...) and cannot be removed."""


# --- Writing rows ------------------------------------------------------------------------


def _pg_type(field: models.Field) -> str:
    base = field.db_type(connection).split("(")[0].strip().lower()
    return {"timestamp with time zone": "timestamptz", "double precision": "float8"}.get(base, base)


class _Table:
    """Rows for one table, written by ``flush``.

    ``add`` takes keyword arguments (missing columns take the field's default;
    a column without one must be given); ``add_row`` takes a tuple already in
    ``columns`` order, for the largest tables.
    """

    def __init__(self, model, *, exclude: tuple[str, ...] = (), columns: list[str] | None = None):
        self.model = model
        by_name = {f.attname: f for f in model._meta.concrete_fields}
        names = columns or [name for name in by_name if name not in exclude]
        self.fields = [by_name[name] for name in names]
        self.columns = names
        self.postgres = connection.vendor == "postgresql"
        self.json = [i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]
        self.types = [_pg_type(f) for f in self.fields] if self.postgres else []
        self.defaults = {}
        for f in self.fields:
            required = f.primary_key or (
                not f.null and (f.has_default() is False and not f.empty_strings_allowed)
            )
            if required or getattr(f, "auto_now_add", False) or getattr(f, "auto_now", False):
                self.defaults[f.attname] = _REQUIRED
            else:
                self.defaults[f.attname] = f.get_default()
        self.getter = operator.itemgetter(*self.columns)
        self.rows: list[tuple] = []
        self.written = 0

    def add(self, **values) -> None:
        merged = {**self.defaults, **values}
        if len(merged) != len(self.columns):
            unknown = sorted(set(values) - set(self.columns))
            raise KeyError(f"{self.model.__name__}: unknown columns {unknown}")
        row = self.getter(merged)
        if _REQUIRED in row:
            missing = [c for c, v in zip(self.columns, row, strict=True) if v is _REQUIRED]
            raise KeyError(f"{self.model.__name__}: {missing} required")
        self.rows.append(row)

    def add_row(self, row: tuple) -> None:
        self.rows.append(row)

    def flush(self) -> int:
        rows, self.rows = self.rows, []
        if not rows:
            return 0
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cursor:
            if self.postgres:
                raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(self.types)
                    write = copy.write_row
                    if self.json:
                        for row in rows:
                            row = list(row)
                            for index in self.json:
                                row[index] = _jsonb(row[index])
                            write(row)
                    else:
                        for row in rows:
                            write(row)
            else:
                # Only values the backend stores differently need Django's conversion.
                convert = [
                    (i, f)
                    for i, f in enumerate(self.fields)
                    if not isinstance(f, models.IntegerField | models.CharField | models.TextField)
                    and not f.is_relation
                ]
                prepared = []
                for row in rows:
                    row = list(row)
                    for index, f in convert:
                        row[index] = f.get_db_prep_save(row[index], connection)
                    prepared.append(row)
                marks = ", ".join(["%s"] * len(self.columns))
                insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
                cursor.executemany(insert, prepared)
        self.written += len(rows)
        return len(rows)


def _as_is(text: str) -> str:
    return text


_EMPTY_LIST = []


def _jsonb(value):
    """A JSON value for binary COPY (an empty list, most vitals' alerts, is made once)."""
    from psycopg.types.json import Jsonb

    if value == []:
        if not _EMPTY_LIST:
            _EMPTY_LIST.append(Jsonb("[]", dumps=_as_is))
        return _EMPTY_LIST[0]
    return Jsonb(json.dumps(value, ensure_ascii=False), dumps=_as_is)


_REQUIRED = object()


def _history_table(model) -> tuple[_Table, list[str]]:
    """The simple-history table of ``model`` (its own id left to the database)."""
    history = model.history.model
    return _Table(history, exclude=("history_id",)), [
        f.attname for f in model._meta.concrete_fields
    ]


class _Ids:
    """Ids handed out here, above those already in each table."""

    def __init__(self, models_):
        self.next = {m: (m.objects.aggregate(n=models.Max("pk"))["n"] or 0) + 1 for m in models_}

    def take(self, model) -> int:
        value = self.next[model]
        self.next[model] = value + 1
        return value


# --- The generator ------------------------------------------------------------------------


def scale_data_exists() -> bool:
    return User.objects.filter(username__startswith=PREFIX).exists()


def _scaled(per_100k: int, patients: int, minimum: int) -> int:
    return max(minimum, math.ceil(per_100k * patients / 100_000))


class _Clinic:
    """Generates the rows of one run; ``rng`` drives every random choice."""

    def __init__(self, *, patients: int, seed: int, password: str, report: ScaleReport):
        self.rng = random.Random(seed)  # noqa: S311 - reproducible synthetic data
        self.patient_total = patients
        self.report = report
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.tz = timezone.get_current_timezone()
        self.protocol = current_protocol()
        self.password = make_password(password)
        self.care_perm = Permission.objects.get(
            content_type__app_label="patients", codename=CARE_TEAM_PERMISSION
        )
        tracked = list(CLINIC_MODELS)
        self.ids = _Ids(tracked)
        self.t = {m: _Table(m) for m in tracked}
        self.t[VitalSign] = _Table(VitalSign, columns=VITAL_COLUMNS)
        self.h = {}
        for m in (
            ReferringProvider,
            Patient,
            Evaluation,
            TreatmentCourse,
            InfusionSession,
            VitalSign,
            SideEffect,
            MoodNote,
        ):
            self.h[m] = _history_table(m)
        self.mrns = set(Patient.objects.values_list("mrn", flat=True))
        self.npis = set(ReferringProvider.objects.values_list("npi", flat=True))
        self.mrn_next = self.rng.randrange(10**8)

    # Order in which tables are written (each row's references are written before it).
    def flush(self) -> None:
        order = [
            User,
            ReferringProvider,
            Patient,
            PatientUserObjectPermission,
            Consent,
            Evaluation,
            TreatmentCourse,
            InfusionSession,
            Assessment,
            SafetyAlert,
            VitalSign,
            SideEffect,
            MoodNote,
        ]
        tables = [self.t[model] for model in order] + [table for table, _ in self.h.values()]
        for table in tables:
            started = time.monotonic()
            name = table.model._meta.db_table
            self.report.add(name, table.flush())
            self.report.writing[name] = self.report.writing.get(name, 0.0) + (
                time.monotonic() - started
            )

    def history(self, model, row: dict, *, at, by) -> None:
        table, columns = self.h[model]
        table.add(
            **{c: row[c] for c in columns},
            history_date=at,
            history_change_reason=None,
            history_type="+",
            history_user_id=by,
        )

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    # --- People ----------------------------------------------------------------------------

    def user(self, username: str, role: str, first: str, last: str, *, active=True) -> int:
        uid = self.ids.take(User)
        self.t[User].add(
            id=uid,
            password=self.password,
            last_login=None,
            is_superuser=False,
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@{PROVIDER_DOMAIN}",
            is_staff=False,
            is_active=active,
            date_joined=self.now - datetime.timedelta(days=1200),
            role=role,
        )
        return uid

    def staff(self) -> None:
        n = self.patient_total
        rng = self.rng
        self.admins = [
            self.user(_name("scale-admin", i), Role.ADMIN, "Practice", f"Manager {i + 1}")
            for i in range(_scaled(STAFF_PER_100K["admin"], n, 1))
        ]
        self.prescribers = [
            self.user(
                _name("scale-prescriber", i),
                Role.PRESCRIBER,
                rng.choice(FIRST_NAMES),
                rng.choice(LAST_NAMES),
            )
            for i in range(_scaled(STAFF_PER_100K["prescriber"], n, 2))
        ]
        self.nurses = [
            self.user(
                _name("scale-nurse", i), Role.NURSE, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            )
            for i in range(_scaled(STAFF_PER_100K["nurse"], n, 3))
        ]
        providers = _scaled(STAFF_PER_100K["provider"], n, 3)
        self.providers = []
        payload = 100_000_000 + rng.randrange(10**8)
        for i in range(providers):
            # Two providers in three have a portal account (the first always: scale-referrer).
            portal = None
            if i == 0 or rng.random() < 0.67:
                portal = self.user(
                    _name("scale-referrer", i),
                    Role.REFERRING_PROVIDER,
                    "Dr.",
                    rng.choice(LAST_NAMES),
                )
            while True:
                payload = payload + 1 if payload < 999_999_999 else 100_000_000
                npi = f"{payload:09d}{npi_check_digit(f'{payload:09d}')}"
                if npi not in self.npis:
                    break
            self.npis.add(npi)
            pid = self.ids.take(ReferringProvider)
            row = dict(
                id=pid,
                name=f"Dr. {rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                npi=npi,
                practice=f"{rng.choice(LAST_NAMES)} Family Medicine",
                email=f"provider{i + 1}@{PROVIDER_DOMAIN}",
                phone=f"(207) 555-{i % 10000:04d}",
                fax="",
                user_id=portal,
                created_at=self.now - datetime.timedelta(days=1100),
            )
            self.t[ReferringProvider].add(**row)
            self.history(ReferringProvider, row, at=row["created_at"], by=self.admins[0])
            self.providers.append(pid)

    # --- Patients ---------------------------------------------------------------------------

    def mrn(self) -> str:
        while True:
            # 7919 is prime to 10**8: a walk that visits every eight-digit number once.
            self.mrn_next = (self.mrn_next + 7919) % 10**8
            candidate = f"K{self.mrn_next:08d}"
            if candidate not in self.mrns:
                self.mrns.add(candidate)
                return candidate

    def patient(self, index: int) -> None:
        rng = self.rng
        status = rng.choices(*zip(*PATIENT_STATUSES, strict=True))[0]
        prescriber = rng.choice(self.prescribers)
        nurses = rng.sample(self.nurses, k=min(len(self.nurses), rng.choice((1, 2, 2, 3))))
        diagnosis = rng.choice(DIAGNOSES)
        plan = self.timeline(status)
        pid = self.ids.take(Patient)
        dob = datetime.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
        registered = self.at(plan["registered"], 9, rng.randint(0, 59))
        row = dict(
            id=pid,
            mrn=self.mrn(),
            first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES),
            date_of_birth=dob,
            sex=rng.choice(("female", "male", "female", "male", "other", "unknown")),
            phone=f"(207) 555-{index % 10000:04d}",
            email="",
            address=f"{index % 900 + 1} Congress Street, Portland, ME 04101",
            emergency_contact="Next of kin, (207) 555-0100",
            # The first provider (scale-referrer's) always has a known share of patients.
            referring_provider_id=(
                self.providers[0]
                if index % 2000 == 0
                else (rng.choice(self.providers) if rng.random() < 0.9 else None)
            ),
            responsible_prescriber_id=prescriber,
            primary_diagnosis=diagnosis.code,
            status=status,
            created_at=registered,
            created_by_id=self.admins[0],
        )
        self.t[Patient].add(**row)
        self.history(Patient, row, at=registered, by=self.admins[0])
        for member in [prescriber, *nurses]:
            self.t[PatientUserObjectPermission].add(
                id=self.ids.take(PatientUserObjectPermission),
                permission_id=self.care_perm.pk,
                user_id=member,
                content_object_id=pid,
            )
        if status == Patient.Status.REFERRED:
            return
        ctx = dict(patient=pid, prescriber=prescriber, nurses=nurses, diagnosis=diagnosis)
        evaluation = self.evaluation(ctx, status=status, day=plan["evaluated"], dob=dob)
        ctx["weight"] = evaluation["weight"]
        ctx["baselines"] = evaluation["baselines"]
        if status in (Patient.Status.EVALUATING, Patient.Status.DECLINED):
            return
        for course in plan["courses"]:
            self.course(ctx, **course)

    def timeline(self, status: str) -> dict:
        """Dates of registration, evaluation and each course for a patient in ``status``."""
        rng, today = self.rng, self.today
        days = datetime.timedelta
        if status in (Patient.Status.REFERRED, Patient.Status.EVALUATING):
            registered = today - days(rng.randint(2, 60))
            evaluated = registered + days(min(7, (today - registered).days - 1))
            return dict(registered=registered, evaluated=evaluated, courses=[])
        courses = []
        if status == Patient.Status.ACTIVE:
            past = rng.randint(1, 5)
            start = today - days(INDUCTION_DAYS[past - 1] + rng.randint(1, 2))
            courses.append(dict(protocol="induction", start=start, sessions=6, state="active"))
        elif status == Patient.Status.MAINTENANCE:
            boosters = rng.randint(3, 22)
            maintenance = today - days(28 * boosters + rng.randint(1, 20))
            start = maintenance - days(INDUCTION_DAYS[-1] + rng.randint(14, 30))
            courses.append(dict(protocol="induction", start=start, sessions=6, state="completed"))
            courses.append(
                dict(
                    protocol="maintenance", start=maintenance, sessions=boosters + 2, state="active"
                )
            )
        elif status == Patient.Status.DISCHARGED:
            boosters = rng.randint(0, 22)
            span = INDUCTION_DAYS[-1] + 30 + 28 * boosters
            start = today - days(rng.randint(span + 14, span + 900))
            courses.append(dict(protocol="induction", start=start, sessions=6, state="completed"))
            if boosters:
                maintenance = start + days(INDUCTION_DAYS[-1] + 30)
                courses.append(
                    dict(
                        protocol="maintenance",
                        start=maintenance,
                        sessions=boosters,
                        state=rng.choice(("completed", "completed", "discontinued")),
                    )
                )
        else:  # declined
            start = today - days(rng.randint(30, 900))
        evaluated = start - days(rng.randint(3, 14))
        registered = evaluated - days(rng.randint(7, 21))
        return dict(registered=registered, evaluated=evaluated, courses=courses)

    def evaluation(self, ctx: dict, *, status: str, day: datetime.date, dob) -> dict:
        rng = self.rng
        yes: set[str] = set()
        precautions = ""
        bp = (rng.randint(108, 142), rng.randint(66, 88))
        if status == Patient.Status.EVALUATING:
            eligibility, signed = Evaluation.Eligibility.PENDING, False
        elif status == Patient.Status.DECLINED:
            eligibility, signed = Evaluation.Eligibility.NOT_ELIGIBLE, True
            yes.add(rng.choice(sorted(ABSOLUTE_KEYS)))
            if "uncontrolled_hypertension" in yes:
                bp = (172, 104)
        elif rng.random() < 0.15:
            eligibility, signed = Evaluation.Eligibility.ELIGIBLE_WITH_PRECAUTIONS, True
            yes.add(rng.choice(sorted(RELATIVE_KEYS)))
            precautions = PRECAUTIONS
        else:
            eligibility, signed = Evaluation.Eligibility.ELIGIBLE, True
        contraindications = {key: key in yes for key in CONTRAINDICATION_KEYS}
        if eligibility_errors(
            contraindications=contraindications, eligibility=eligibility, precautions=precautions
        ):
            raise AssertionError("generated evaluation breaks the eligibility rules")
        weight = Decimal(rng.randint(480, 1300)) / 10
        eid = self.ids.take(Evaluation)
        evaluated_at = self.at(day, 10)
        signed_at = self.at(day, 16, rng.randint(0, 59)) if signed else None
        # The consent is signed on the day of the evaluation, before it.
        self.t[Consent].add(
            id=self.ids.take(Consent),
            patient_id=ctx["patient"],
            form_version="KET-CONSENT v3 (2024)",
            signed_on=day,
            witness="Infusion nurse",
            recorded_by_id=ctx["nurses"][0],
            created_at=self.at(day, 9, 30),
        )
        row = dict(
            id=eid,
            signed_at=signed_at,
            signed_by_id=ctx["prescriber"] if signed else None,
            patient_id=ctx["patient"],
            evaluated_on=day,
            evaluator_id=ctx["prescriber"],
            psychiatric_history="Symptoms for several years; no psychiatric admissions.",
            prior_treatments="Two antidepressants at adequate dose and duration; psychotherapy.",
            medical_history="No cardiovascular, hepatic or neurological disease.",
            current_medications="Escitalopram 20 mg daily.",
            allergies="No known drug allergies.",
            weight_kg=weight,
            height_cm=Decimal(rng.randint(1500, 1950)) / 10,
            bp_systolic=bp[0],
            bp_diastolic=bp[1],
            heart_rate=rng.randint(58, 92),
            contraindications=contraindications,
            eligibility=eligibility,
            precautions=precautions,
            notes="",
            created_at=evaluated_at,
            updated_at=signed_at or evaluated_at,
        )
        self.t[Evaluation].add(**row)
        if not signed:
            self.history(Evaluation, row, at=evaluated_at, by=ctx["prescriber"])
        instruments = ["GAD7", "PHQ9"] + (["PCL5"] if ctx["diagnosis"].group == "ptsd" else [])
        baselines = {}
        for instrument in instruments:
            answers = _answers(rng, instrument, rng.uniform(0.45, 0.8))
            if instrument == "PHQ9" and rng.random() < 0.03:
                answers[PHQ9_SELF_HARM_ITEM - 1] = 1
            baselines[instrument] = score(instrument=instrument, answers=answers).total
            self.assessment(
                ctx, instrument, answers, at=evaluated_at, evaluation=eid, acknowledge=signed_at
            )
        return dict(weight=weight, baselines=baselines)

    def assessment(
        self, ctx, instrument, answers, *, at, session=None, evaluation=None, acknowledge=None
    ) -> None:
        result = score(instrument=instrument, answers=answers)
        aid = self.ids.take(Assessment)
        self.t[Assessment].add(
            id=aid,
            patient_id=ctx["patient"],
            instrument=instrument,
            answers=answers,
            total=result.total,
            severity=result.severity,
            administered_at=at,
            session_id=session,
            evaluation_id=evaluation,
            recorded_by_id=ctx["nurses"][0],
            created_at=at,
        )
        if raises_self_harm_alert(instrument=instrument, answers=answers):
            # The prescriber assessed the patient before signing the evaluation.
            self.t[SafetyAlert].add(
                id=self.ids.take(SafetyAlert),
                patient_id=ctx["patient"],
                kind=SafetyAlert.Kind.SELF_HARM,
                message="PHQ-9 item 9 answered above 0: thoughts of self-harm.",
                raised_at=at,
                assessment_id=aid,
                acknowledged_at=acknowledge,
                acknowledged_by_id=ctx["prescriber"] if acknowledge else None,
                note="Passive thoughts, no plan or intent; safety plan reviewed."
                if acknowledge
                else "",
            )

    # --- Courses and sessions ---------------------------------------------------------------

    def course(self, ctx: dict, *, protocol: str, start, sessions: int, state: str) -> None:
        rng = self.rng
        cid = self.ids.take(TreatmentCourse)
        dose = rng.choice(
            (
                Decimal("0.50"),
                Decimal("0.50"),
                Decimal("0.50"),
                Decimal("0.40"),
                Decimal("0.60"),
                Decimal("0.75"),
            )
        )
        minutes = rng.choice((40, 40, 40, 60))
        days = INDUCTION_DAYS if protocol == "induction" else [28 * i for i in range(sessions)]
        dates = [start + datetime.timedelta(days=d) for d in days[:sessions]]
        if state in ("completed", "discontinued"):
            dates = [d for d in dates if d < self.today]
        hour = rng.randint(8, 14)
        given = 0
        number = 0
        booked = 0
        for day in dates:
            number += 1
            when = self.at(day, hour, rng.choice((0, 15, 30, 45)))
            if day < self.today and rng.random() < 0.03:
                self.session(ctx, cid, number, when, dose, minutes, kind="cancelled")
                continue
            booked += 1
            sign = day < self.today
            if sign:
                kind = "stopped" if rng.random() < 0.015 else "completed"
                given += 1
            elif day == self.today:
                # Today's list: finished and awaiting signature, running, or prepared.
                start = when + datetime.timedelta(minutes=10)
                if self.now >= start + datetime.timedelta(
                    minutes=minutes + OBSERVATION_MINUTES + 5
                ):
                    kind = "completed"
                elif self.now >= start + datetime.timedelta(minutes=5):
                    kind = "in_progress"
                elif self.now >= self.at(day, 0) + datetime.timedelta(minutes=10):
                    kind = "verified"
                else:
                    kind = "scheduled"
            else:
                kind = "scheduled"
            self.session(ctx, cid, number, when, dose, minutes, kind=kind, sign=sign, given=given)
        row = dict(
            id=cid,
            patient_id=ctx["patient"],
            protocol=protocol,
            dose_mg_per_kg=dose,
            infusion_minutes=minutes,
            planned_sessions=max(booked, 1, sessions if state == "active" else 1),
            start_date=start,
            status=state,
            ordered_by_id=ctx["prescriber"],
            created_at=self.at(start, 8) - datetime.timedelta(days=1),
        )
        self.t[TreatmentCourse].add(**row)
        self.history(TreatmentCourse, row, at=row["created_at"], by=ctx["prescriber"])

    def session(self, ctx, cid, number, when, dose, minutes, *, kind: str, sign=False, given=0):
        """One session of a course. ``kind``: cancelled, scheduled, verified (scheduled with
        its dose verified and checks done), in_progress, completed or stopped (early);
        ``sign``: a finished session is signed."""
        rng = self.rng
        td = datetime.timedelta
        sid = self.ids.take(InfusionSession)
        nurse = rng.choice(ctx["nurses"])
        prescriber = ctx["prescriber"]
        weight = max(Decimal("30"), ctx["weight"] + Decimal(rng.randint(-20, 20)) / 10)
        # Booked two days ahead, or (for later sessions) an hour ago: never in the future.
        created = min(when - td(days=2), self.now - td(hours=1))
        pre = (rng.randint(112, 150), rng.randint(66, 92))
        hold = kind in ("completed", "in_progress") and rng.random() < 0.01
        if hold:
            pre = (162, 96)
        row = dict(
            id=sid,
            signed_at=None,
            signed_by_id=None,
            course_id=cid,
            number=number,
            scheduled_for=when,
            started_at=None,
            ended_at=None,
            status="cancelled" if kind == "cancelled" else "scheduled",
            nurse_id=nurse,
            supervising_prescriber_id=prescriber,
            weight_kg=weight,
            dose_mg_per_kg=dose,
            total_dose_mg=total_dose_mg(weight_kg=weight, dose_mg_per_kg=dose),
            infusion_minutes=minutes,
            route="IV",
            concentration_mg_per_ml=Decimal("10"),
            bag_volume_ml=Decimal("100"),
            dose_override_by_id=None,
            dose_override_at=None,
            dose_override_reason="",
            dose_override_mg_per_kg=None,
            dose_prepared_by_id=nurse,
            dose_verified_by_id=None,
            dose_verified_at=None,
            fasting_confirmed=False,
            escort_confirmed=False,
            pre_bp_systolic=None,
            pre_bp_diastolic=None,
            go_ahead_by_id=None,
            go_ahead_at=None,
            go_ahead_reason="",
            stop_reason="",
            cancel_reason="",
            discharge_at=None,
            discharge_alert_oriented=False,
            discharge_vitals_baseline=False,
            discharge_ambulating=False,
            discharge_escort_present=False,
            notes="",
            serious_adverse_event=False,
            protocol_id=self.protocol.pk,
            created_by_id=nurse,
            created_at=created,
            updated_at=created,
        )
        if kind == "cancelled":
            row.update(cancel_reason="Patient unwell on the day; rebooked.", updated_at=when)
        if kind in ("completed", "stopped", "in_progress", "verified"):
            row.update(
                fasting_confirmed=True,
                escort_confirmed=True,
                pre_bp_systolic=pre[0],
                pre_bp_diastolic=pre[1],
                dose_verified_by_id=prescriber,
                # A session later today was verified a minute ago, not in the future.
                dose_verified_at=min(when + td(minutes=5), self.now - td(minutes=1)),
            )
            if hold:
                row.update(
                    go_ahead_by_id=prescriber,
                    go_ahead_at=when + td(minutes=7),
                    go_ahead_reason="Repeat pressure settling; known white-coat effect.",
                )
        if kind not in ("completed", "stopped", "in_progress"):
            self.t[InfusionSession].add(**row)
            self.history(InfusionSession, row, at=created, by=nurse)
            return
        start = when + td(minutes=10)
        stop_at = 25 if kind == "stopped" else minutes
        end = start + td(minutes=stop_at)
        last_minute = stop_at + OBSERVATION_MINUTES
        if kind == "in_progress":
            last_minute = min(stop_at, int((self.now - start).total_seconds() // 60))
        row.update(started_at=start, status="in_progress", updated_at=start)
        signed = sign and kind != "in_progress"
        if kind != "in_progress":
            discharged = end + td(minutes=OBSERVATION_MINUTES + 5)
            row.update(
                status="completed" if kind == "completed" else "stopped_early",
                ended_at=end,
                discharge_at=discharged,
                discharge_alert_oriented=True,
                discharge_vitals_baseline=True,
                discharge_ambulating=True,
                discharge_escort_present=True,
                updated_at=discharged,
            )
            if signed:
                row.update(
                    signed_by_id=prescriber, signed_at=discharged + td(minutes=rng.randint(20, 180))
                )
                row["updated_at"] = row["signed_at"]
            if kind == "stopped":
                row.update(
                    stop_reason="Blood pressure 184/108 despite pausing (grade 3 hypertension).",
                    serious_adverse_event=True,
                )
        self.t[InfusionSession].add(**row)
        if not signed:
            self.history(InfusionSession, row, at=start, by=nurse)
        track = None if signed else nurse
        self.flowsheet(
            ctx,
            sid,
            row,
            start=start,
            end=end,
            last_minute=last_minute,
            pre=pre,
            nurse=nurse,
            spike=kind == "stopped",
            track=track,
            given=given,
        )

    def flowsheet(
        self, ctx, sid, row, *, start, end, last_minute, pre, nurse, spike, track, given
    ) -> None:
        rng = self.rng
        td = datetime.timedelta
        vitals = self.t[VitalSign]
        take = self.ids.take
        protocol = self.protocol
        protocol_id = protocol.pk
        stop_at = row["infusion_minutes"] if not spike else 25
        pulse = rng.randint(60, 84)
        # A reading at the start, five minutes in, then every ten minutes.
        minutes = [0, 5, *range(VITALS_EVERY_MINUTES, last_minute + 1, VITALS_EVERY_MINUTES)]
        for minute in minutes if last_minute >= 5 else [0]:
            if minute <= stop_at:
                rise = min(minute, 20) * 0.8
            else:
                rise = max(0.0, 16 - (minute - stop_at) * 0.4)
            systolic = int(pre[0] + rise + rng.random() * 8 - 4)
            diastolic = int(pre[1] + rise / 2 + rng.random() * 6 - 3)
            heart_rate = int(pulse + rise / 2 + rng.random() * 8 - 4)
            if spike and minute == 20:
                systolic, diastolic, heart_rate = 184, 108, 112
            spo2 = 96 + int(rng.random() * 4)
            resp = 12 + 2 * int(rng.random() * 3)
            at = start + td(minutes=minute)
            alerts = vitals_alerts(
                systolic=systolic,
                diastolic=diastolic,
                heart_rate=heart_rate,
                spo2=spo2,
                resp_rate=resp,
                protocol=protocol,
            )
            values = (take(VitalSign), nurse, at, None, None, sid, at, systolic, diastolic)
            values += (heart_rate, spo2, resp, alerts, protocol_id)
            vitals.add_row(values)
            if track:
                self.history(
                    VitalSign, dict(zip(VITAL_COLUMNS, values, strict=True)), at=at, by=track
                )
        moods = [("pre", start - td(minutes=5))]
        if last_minute >= 16:
            moods.append(("during", start + td(minutes=15, seconds=30)))
        if row["discharge_at"]:
            moods.append(("post", end + td(minutes=OBSERVATION_MINUTES)))
        base_mood = rng.randint(2, 5)
        for step, (phase, at) in enumerate(moods):
            values = dict(
                id=take(MoodNote),
                recorded_by_id=nurse,
                created_at=at,
                corrected_by_id=None,
                corrected_at=None,
                session_id=sid,
                recorded_at=at,
                phase=phase,
                mood=min(10, base_mood + 2 * step),
                anxiety=max(0, 7 - 2 * step - rng.randint(0, 1)),
                text=rng.choice(MOOD_TEXT[phase]),
            )
            self.t[MoodNote].add(**values)
            if track:
                self.history(MoodNote, values, at=at, by=track)
        effects = []
        if spike:
            effects.append(
                dict(
                    effect=SideEffect.Effect.HYPERTENSION,
                    grade=3,
                    onset_at=start + td(minutes=20),
                    resolved_at=end + td(minutes=45),
                    intervention="Infusion paused then stopped; labetalol 10 mg IV.",
                    note="184/108 at 20 minutes with headache.",
                )
            )
        elif last_minute >= 15 and rng.random() < 0.25:
            effect, intervention = rng.choice(EFFECTS)
            onset = start + td(minutes=rng.randint(5, 15))
            effects.append(
                dict(
                    effect=effect,
                    grade=rng.choice((1, 1, 2)),
                    onset_at=onset,
                    resolved_at=(end + td(minutes=rng.randint(5, 40)))
                    if row["discharge_at"]
                    else None,
                    intervention=intervention,
                    note="",
                )
            )
        for effect in effects:
            values = dict(
                id=take(SideEffect),
                recorded_by_id=nurse,
                created_at=effect["onset_at"],
                corrected_by_id=None,
                corrected_at=None,
                session_id=sid,
                other_text="",
                **effect,
            )
            self.t[SideEffect].add(**values)
            if track:
                self.history(SideEffect, values, at=effect["onset_at"], by=track)
        if row["discharge_at"] is None:
            return
        # The dissociation scale after each infusion; follow-up scales every third.
        self.assessment(
            ctx,
            "CADSS",
            [int(rng.random() * 2.2) for _ in range(23)],
            at=end + td(minutes=15),
            session=sid,
        )
        if given % 3 == 0:
            fraction = max(0.15, 0.7 - 0.03 * given)
            for instrument, baseline in ctx["baselines"].items():
                total = round(baseline * fraction)
                self.assessment(
                    ctx,
                    instrument,
                    _answers_for_total(instrument, total),
                    at=start - td(minutes=8),
                    session=sid,
                )


def _name(stem: str, index: int) -> str:
    return stem if index == 0 else f"{stem}-{index + 1:04d}"


def _answers(rng, instrument: str, fraction: float) -> list[int]:
    count = item_count(instrument)
    highest = {"GAD7": 3, "PHQ9": 3, "PCL5": 4}[instrument]
    answers = [
        min(highest, max(0, round(highest * fraction + rng.random() - 0.5))) for _ in range(count)
    ]
    if instrument == "PHQ9":
        answers[PHQ9_SELF_HARM_ITEM - 1] = 0
    return answers


def _answers_for_total(instrument: str, total: int) -> list[int]:
    """Item answers adding up to ``total`` (PHQ-9 item 9 stays 0 on follow-ups)."""
    count = item_count(instrument)
    highest = {"GAD7": 3, "PHQ9": 3, "PCL5": 4}[instrument]
    items = [i for i in range(count) if not (instrument == "PHQ9" and i == PHQ9_SELF_HARM_ITEM - 1)]
    answers = [0] * count
    for step in range(min(total, len(items) * highest)):
        answers[items[step % len(items)]] += 1
    return answers


# --- Running it --------------------------------------------------------------------------------


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="patients", disable=not enabled, mininterval=1.0)


def scale_generate(
    *,
    patients: int = 100_000,
    seed: int = 1,
    chunk: int = 2000,
    password: str = DEFAULT_PASSWORD,
    summaries: int | None = None,
    progress: bool = True,
    log: Callable[[str], None] = lambda message: None,
) -> ScaleReport:
    """Write a synthetic clinic of ``patients`` patients; refuses if one is already there.

    Everything is written in one transaction (all or nothing). ``summaries``
    signed and released treatment summaries are built with real PDFs
    (default: one per 1,000 patients, at least one); ``seed`` makes the data
    reproducible for a given size and starting database.
    """
    if patients < 1:
        raise ValueError("Generate at least one patient.")
    if scale_data_exists():
        raise ScaleDataExists("Generated scale data is already in the database; use --clear.")
    report = ScaleReport()
    summaries = max(1, patients // 1000) if summaries is None else summaries
    with transaction.atomic():
        bulk_checked = _foreign_keys_checked_in_bulk()
        started = time.monotonic()
        clinic = _Clinic(patients=patients, seed=seed, password=password, report=report)
        clinic.staff()
        clinic.flush()
        report.phases["staff and providers"] = time.monotonic() - started
        started = time.monotonic()
        with _progress(patients, "patients", progress) as bar:
            for first in range(0, patients, chunk):
                last = min(patients, first + chunk)
                for index in range(first, last):
                    clinic.patient(index)
                clinic.flush()
                bar.update(last - first)
                bar.set_postfix(vitals=report.counts.get(VitalSign._meta.db_table, 0))
        report.phases["patients and clinical records"] = time.monotonic() - started
        started = time.monotonic()
        report.add(TreatmentSummary._meta.db_table, _summaries(count=summaries, clinic=clinic))
        report.phases["treatment summaries"] = time.monotonic() - started
        started = time.monotonic()
        if bulk_checked:
            _check_foreign_keys()
        _reset_sequences()
        report.phases["foreign keys and sequences"] = time.monotonic() - started
    started = time.monotonic()
    _analyze()
    report.phases["analyze"] = time.monotonic() - started
    log(f"Generated {patients} patients.")
    return report


def _summaries(*, count: int, clinic: _Clinic) -> int:
    """Signed treatment summaries released to the referring provider, with their PDFs.

    Built with the reports app's own content and rendering; scale-referrer's
    patients come first so the portal benchmark always has some.
    """
    from reports.content import SummaryNotBuildable, summary_content
    from reports.document import render_summary
    from reports.services import signature_of, store_summary_pdf

    permission = Permission.objects.get(
        content_type__app_label="reports", codename=RELEASED_SUMMARY_PERMISSION
    )
    treated = InfusionSession.objects.filter(
        status=InfusionSession.Status.COMPLETED, signed_at__isnull=False
    ).values("course__patient_id")
    candidates = (
        Patient.objects.filter(
            created_by_id=clinic.admins[0], referring_provider__user__isnull=False, id__in=treated
        )
        .select_related("referring_provider", "responsible_prescriber")
        .order_by(
            models.Case(models.When(referring_provider_id=clinic.providers[0], then=0), default=1),
            "id",
        )
    )
    made = 0
    for patient in candidates[: count * 2]:
        if made >= count:
            break
        prescriber = patient.responsible_prescriber
        summary = TreatmentSummary.objects.create(
            patient=patient,
            requested_by=prescriber,
            comment="Course completed; please continue the current oral medication.",
            status=TreatmentSummary.Status.GENERATING,
            attempts=1,
            enqueued_at=clinic.now,
        )
        try:
            content = summary_content(summary=summary)
        except SummaryNotBuildable:
            summary.delete()
            continue
        summary.content = content
        summary.signed_at = timezone.now()
        summary.signed_by = prescriber
        data = render_summary(content, signature=signature_of(summary))
        store_summary_pdf(summary, data, signed=True)
        summary.status = TreatmentSummary.Status.READY
        summary.generated_at = summary.signed_at
        summary.released_at = timezone.now()
        summary.released_by = prescriber
        summary.released_to = patient.referring_provider
        summary.save()
        TreatmentSummaryUserObjectPermission.objects.create(
            permission=permission,
            user_id=patient.referring_provider.user_id,
            content_object=summary,
        )
        made += 1
    return made


def _tables():
    models_ = [*CLINIC_MODELS, TreatmentSummary, TreatmentSummaryUserObjectPermission]
    for model in (
        ReferringProvider,
        Patient,
        Evaluation,
        TreatmentCourse,
        InfusionSession,
        VitalSign,
        SideEffect,
        MoodNote,
    ):
        models_.append(model.history.model)
    return models_


def _foreign_keys_checked_in_bulk() -> bool:
    """On PostgreSQL, switch the row-by-row foreign-key triggers off for this transaction
    when the role may (a superuser): ``_check_foreign_keys`` then checks every reference
    in one query per key before commit. Otherwise each COPY checks its rows when it ends.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")
            return True
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return False


def _check_foreign_keys() -> None:
    """Every foreign key of the generated tables points at an existing row, or raise
    (the transaction then rolls back). Restores the foreign-key triggers."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in _tables():
            for f in model._meta.concrete_fields:
                if not f.is_relation or not f.db_constraint:
                    continue
                target = f.related_model
                cursor.execute(
                    f"SELECT COUNT(*) FROM {q(model._meta.db_table)} c "  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
                    f"WHERE c.{q(f.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "
                    f"{q(target._meta.db_table)} p WHERE p.{q(f.target_field.column)} = "
                    f"c.{q(f.column)})"
                )
                broken = cursor.fetchone()[0]
                if broken:
                    raise AssertionError(
                        f"{broken} rows of {model._meta.db_table}.{f.column} point nowhere"
                    )
        cursor.execute("SET LOCAL session_replication_role = origin")


def _reset_sequences() -> None:
    """Move each identity sequence past the ids written here (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in _tables():
            table = model._meta.db_table
            column = model._meta.pk.column
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # noqa: S608 - our table names  # nosec B608  # table names from our models, constants only; no input
                f"COALESCE((SELECT MAX({connection.ops.quote_name(column)}) "
                f"FROM {connection.ops.quote_name(table)}), 0) + 1, false)",
                [table, column],
            )


def _analyze(*models_) -> None:
    """Refresh the planner's statistics of these tables (all tables when none is named).

    On PostgreSQL, outside a transaction, also vacuum them, as autovacuum does to a
    database in service: rows just copied in are not yet marked visible to all, so
    every index-only scan (a user's care-team grants, read from the unique index of
    the grants table) would visit the table as well, which a clinic's database does
    not do.
    """
    q = connection.ops.quote_name
    vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
    command = "VACUUM (ANALYZE)" if vacuum else "ANALYZE"
    with connection.cursor() as cursor:
        if not models_:
            cursor.execute(command)
        for model in models_:
            cursor.execute(f"{command} {q(model._meta.db_table)}")


# --- Filler permission rows --------------------------------------------------------------------


def filler_permissions_set(
    *, rows: int, kind: str = "summary", password: str = DEFAULT_PASSWORD
) -> int:
    """Make the filler accounts hold exactly ``rows`` object permissions of ``kind``.

    ``summary``: ``receive_summary`` grants on released summaries, in the table a
    referring provider's portal list reads; ``care-team``: ``care_for_patient``
    grants on generated patients. Filler accounts (``scale-filler-NNNNNN``) are
    deactivated portal (or nurse) accounts: they cannot sign in, so nobody sees
    more than before, and every real user's visible set stays the same. Earlier
    filler rows of that kind are removed first. Returns the rows written.
    """
    if kind not in FILLER_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FILLER_KINDS)}")
    if kind == "summary":
        grant_model, app, codename = (
            TreatmentSummaryUserObjectPermission,
            "reports",
            RELEASED_SUMMARY_PERMISSION,
        )
        objects = list(TreatmentSummary.objects.order_by("id").values_list("id", flat=True))
        role, stem = Role.REFERRING_PROVIDER, "scale-filler"
    else:
        grant_model, app, codename = PatientUserObjectPermission, "patients", CARE_TEAM_PERMISSION
        objects = list(
            Patient.objects.filter(created_by__username="scale-admin")
            .order_by("id")
            .values_list("id", flat=True)
        )
        role, stem = Role.NURSE, "scale-filler-nurse"
    if rows and not objects:
        raise ValueError("There is nothing to grant filler permissions on: generate data first.")
    permission = Permission.objects.get(content_type__app_label=app, codename=codename)
    with transaction.atomic():
        fillers = User.objects.filter(username__startswith=f"{stem}-", role=role)
        grant_model.objects.filter(user__in=fillers, permission=permission).delete()
        if not rows:
            return 0
        needed = math.ceil(rows / len(objects))
        existing = list(fillers.order_by("id").values_list("id", flat=True))
        if len(existing) < needed:
            users = _Table(User)
            ids = _Ids([User, grant_model])
            hashed = make_password(password)
            now = timezone.now()
            for number in range(len(existing), needed):
                uid = ids.take(User)
                users.add(
                    id=uid,
                    password=hashed,
                    last_login=None,
                    is_superuser=False,
                    username=f"{stem}-{number + 1:06d}",
                    first_name="Filler",
                    last_name=f"Account {number + 1}",
                    email="",
                    is_staff=False,
                    is_active=False,
                    date_joined=now,
                    role=role,
                )
                existing.append(uid)
            users.flush()
        ids = _Ids([grant_model])
        grants = _Table(grant_model)
        written = 0
        for user_id in existing[:needed]:
            for object_id in objects:
                if written >= rows:
                    break
                grants.add(
                    id=ids.take(grant_model),
                    permission_id=permission.pk,
                    user_id=user_id,
                    content_object_id=object_id,
                )
                written += 1
            if len(grants.rows) >= 200_000:
                grants.flush()
        grants.flush()
        _reset_sequences()
    _analyze(User, grant_model)
    return written


# --- Clearing -----------------------------------------------------------------------------------


def scale_clear() -> dict[str, int]:
    """Remove every generated row (and the generated summaries' PDFs), in one transaction.

    Refuses (``ScaleClearRefused``) when the audit trail names generated
    patients or accounts: audit events are append-only, so a used dataset is
    removed by recreating the database instead.
    """
    users = User.objects.filter(username__startswith=PREFIX)
    patients = Patient.objects.filter(created_by__in=users)
    used = AuditEvent.objects.filter(models.Q(patient__in=patients) | models.Q(user__in=users))
    if used.exists():
        raise ScaleClearRefused(
            "The audit trail names generated patients or accounts (the data has been used) and "
            "audit events are never deleted: drop and recreate the database instead."
        )
    q = connection.ops.quote_name

    def t(model) -> str:
        return q(model._meta.db_table)

    patient_ids = f"SELECT id FROM {t(Patient)} WHERE created_by_id IN (SELECT id FROM {t(User)} WHERE username LIKE 'scale-%')"  # noqa: E501, S608  # nosec B608  # table names from our models, constants only; no input
    course_ids = f"SELECT id FROM {t(TreatmentCourse)} WHERE patient_id IN ({patient_ids})"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
    session_ids = f"SELECT id FROM {t(InfusionSession)} WHERE course_id IN ({course_ids})"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
    summary_ids = f"SELECT id FROM {t(TreatmentSummary)} WHERE patient_id IN ({patient_ids})"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
    user_ids = f"SELECT id FROM {t(User)} WHERE username LIKE 'scale-%'"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
    provider_ids = f"SELECT id FROM {t(ReferringProvider)} WHERE email LIKE '%@{PROVIDER_DOMAIN}'"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
    evaluation_ids = f"SELECT id FROM {t(Evaluation)} WHERE patient_id IN ({patient_ids})"  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
    steps = []
    for model in (VitalSign, SideEffect, MoodNote):
        steps.append(
            (
                model.history.model,
                f"id IN (SELECT id FROM {t(model)} WHERE session_id IN ({session_ids}))",  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
            )
        )
        steps.append((model, f"session_id IN ({session_ids})"))
    steps += [
        (SafetyAlert, f"patient_id IN ({patient_ids})"),
        (Assessment, f"patient_id IN ({patient_ids})"),
        (InfusionSession.history.model, f"id IN ({session_ids})"),
        (InfusionSession, f"course_id IN ({course_ids})"),
        (TreatmentCourse.history.model, f"id IN ({course_ids})"),
        (TreatmentCourse, f"patient_id IN ({patient_ids})"),
        (Evaluation.history.model, f"id IN ({evaluation_ids})"),
        (Evaluation, f"patient_id IN ({patient_ids})"),
        (Consent, f"patient_id IN ({patient_ids})"),
        (
            TreatmentSummaryUserObjectPermission,
            f"content_object_id IN ({summary_ids}) OR user_id IN ({user_ids})",
        ),
        (TreatmentSummary, f"patient_id IN ({patient_ids})"),
        (
            PatientUserObjectPermission,
            f"content_object_id IN ({patient_ids}) OR user_id IN ({user_ids})",
        ),
        (Patient.history.model, f"id IN ({patient_ids})"),
        (Patient, f"id IN ({patient_ids})"),
        (ReferringProvider.history.model, f"id IN ({provider_ids})"),
        (ReferringProvider, f"id IN ({provider_ids})"),
        (User, "username LIKE 'scale-%'"),
    ]
    pdfs = list(
        TreatmentSummary.objects.filter(patient__in=patients)
        .exclude(pdf="")
        .values_list("pdf", flat=True)
    )
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for model, where in steps:
            cursor.execute(f"DELETE FROM {t(model)} WHERE {where}")  # noqa: S608  # nosec B608  # table names from our models, constants only; no input
            counts[model._meta.db_table] = cursor.rowcount
    storage = TreatmentSummary._meta.get_field("pdf").storage
    for name in pdfs:
        storage.delete(name)
    return counts


def scale_summary() -> dict[str, int]:
    """Rows per generated table now in the database (for the command's report)."""
    return {model._meta.db_table: model.objects.count() for model in _tables() if model is not User}


__all__ = [
    "KNOWN_USERS",
    "ScaleClearRefused",
    "ScaleDataExists",
    "ScaleReport",
    "filler_permissions_set",
    "scale_clear",
    "scale_data_exists",
    "scale_generate",
    "scale_summary",
]
