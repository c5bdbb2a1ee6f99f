"""Every API operation x every role, against records the role may not reach.

The operations come from the URL resolver and the OpenAPI schema (which must
agree), so an endpoint added later is in the matrix without anyone listing it.
Each is sent, with a body that would be valid, by the practice manager, a
prescriber, a nurse, a referring provider, an anonymous client and an inactive
account, naming the records of a patient outside the user's reach:

- the answer is 401, 403 or 404 — never a success, never a server error;
- nothing is written: PostgreSQL counts no row inserted, updated or deleted in
  any table but the audit log (which records every refusal);
- a list the role may read never contains the unreachable record.

What a role may do to those records by design (the practice manager keeps every
patient's demographics and care team, clinic staff read the referring
providers, clinicians read the monitoring protocol, a clinician breaks the glass
with a reason...) is listed in ``BY_DESIGN`` and checked elsewhere.
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehr.audit import audit_record
from ehr.models import AuditAction
from ehr.roles import Role
from patients.models import BreakGlassAccess, EvaluationAmendment
from reports.models import RELEASED_SUMMARY_PERMISSION, TreatmentSummary
from sessions.models import SessionAmendment
from sessions.monitoring import current_protocol
from tests.api_routes import generated_schema, resolver_operations, schema_operations
from tests.factories import PatientFactory, ReferringProviderFactory, UserFactory
from tests.patients.factories import (
    AssessmentFactory,
    ConsentFactory,
    EvaluationFactory,
    SafetyAlertFactory,
    no_contraindications,
)
from tests.sessions.factories import (
    InfusionSessionFactory,
    MoodNoteFactory,
    SideEffectFactory,
    TreatmentCourseFactory,
    VitalSignFactory,
)

SCHEMA = generated_schema()
OPERATIONS = sorted(schema_operations(SCHEMA), key=lambda op: (op[1], op[0]))
ROLES = ("admin", "prescriber", "nurse", "referrer", "anonymous", "inactive")
CLINICIANS = {"prescriber", "nurse"}
STAFF = {"admin", "prescriber", "nurse"}
REFUSED = {401, 403, 404}

#: Signing in is how a token is obtained: open to anyone by design (checked below).
PUBLIC = {("POST", "/api/v1/auth/token/")}

#: (method, path) -> roles that may do this to the records used here, by design.
BY_DESIGN: dict[tuple[str, str], set[str]] = {
    # The practice manager keeps every patient's demographics and care team.
    ("GET", "/api/v1/patients/"): {"admin"},
    ("GET", "/api/v1/patients/{id}/"): {"admin"},
    ("PUT", "/api/v1/patients/{id}/"): {"admin"},
    ("PATCH", "/api/v1/patients/{id}/"): {"admin"},
    ("POST", "/api/v1/patients/{id}/care-team/"): {"admin"},
    # Registering names no existing record.
    ("POST", "/api/v1/patients/"): STAFF,
    # Any clinician may open any record with a reason (docs/patients.md, Break-the-glass).
    ("POST", "/api/v1/patients/{id}/break-glass/"): CLINICIANS,
    # Accounts, the audit trail and break-the-glass review are the practice manager's.
    ("GET", "/api/v1/users/"): {"admin"},
    ("POST", "/api/v1/users/"): {"admin"},
    ("GET", "/api/v1/users/{id}/"): {"admin"},
    ("PUT", "/api/v1/users/{id}/"): {"admin"},
    ("PATCH", "/api/v1/users/{id}/"): {"admin"},
    ("GET", "/api/v1/audit-events/"): {"admin"},
    ("GET", "/api/v1/audit-events/{id}/"): {"admin"},
    ("GET", "/api/v1/break-glass-accesses/"): {"admin"},
    ("GET", "/api/v1/break-glass-accesses/{id}/"): {"admin"},
    # Staff read every referring provider; the practice manager keeps them.
    ("GET", "/api/v1/referring-providers/"): STAFF,
    ("GET", "/api/v1/referring-providers/{id}/"): STAFF,
    ("POST", "/api/v1/referring-providers/"): {"admin"},
    ("PUT", "/api/v1/referring-providers/{id}/"): {"admin"},
    ("PATCH", "/api/v1/referring-providers/{id}/"): {"admin"},
    # The monitoring protocol is the clinic's, not a patient's.
    ("GET", "/api/v1/monitoring-protocol/"): CLINICIANS,
    ("POST", "/api/v1/monitoring-protocol/"): {"prescriber"},
    ("GET", "/api/v1/monitoring-protocol/versions/"): CLINICIANS,
    ("GET", "/api/v1/monitoring-protocol/versions/{id}/"): CLINICIANS,
}

#: Creates naming the unreachable record in the body: (field, kind of record).
#: A role that may create answers exactly as for an id that does not exist.
BODY_REFERENCE = {
    ("POST", "/api/v1/consents/"): ("patient", "patient"),
    ("POST", "/api/v1/evaluations/"): ("patient", "patient"),
    ("POST", "/api/v1/assessments/"): ("patient", "patient"),
    ("POST", "/api/v1/courses/"): ("patient", "patient"),
    ("POST", "/api/v1/sessions/"): ("course", "course"),
    ("POST", "/api/v1/summaries/"): ("patient", "patient"),
}

_WHEN = "2026-01-05T09:30:00Z"
_EVALUATION = {
    "evaluated_on": "2025-01-06",
    "psychiatric_history": "Generalized anxiety since adolescence.",
    "prior_treatments": "Sertraline.",
    "medical_history": "None relevant.",
    "current_medications": "Escitalopram 20 mg daily.",
    "allergies": "NKDA",
    "weight_kg": "72.5",
    "height_cm": "170.0",
    "bp_systolic": 124,
    "bp_diastolic": 78,
    "heart_rate": 72,
    "contraindications": no_contraindications(),
    "eligibility": "pending",
}

#: A body for every write that would be valid for a record the user may reach.
BODIES: dict[tuple[str, str], dict | None] = {
    ("POST", "/api/v1/users/"): {
        "username": "matrix_new",
        "first_name": "New",
        "last_name": "Account",
        "email": "matrix_new@clinic.invalid",
        "role": "nurse",
        "password": "a long enough passphrase 42",
    },
    ("PUT", "/api/v1/users/{id}/"): {
        "username": "matrix_renamed",
        "first_name": "Re",
        "last_name": "Named",
        "email": "renamed@clinic.invalid",
        "role": "nurse",
        "is_active": True,
    },
    ("PATCH", "/api/v1/users/{id}/"): {"role": "admin"},
    ("POST", "/api/v1/referring-providers/"): {
        "name": "Dr. New Referrer",
        "npi": "1234567893",
        "practice": "Elsewhere",
        "email": "new@practice.invalid",
    },
    ("PUT", "/api/v1/referring-providers/{id}/"): {
        "name": "Dr. Changed",
        "npi": "1234567893",
        "practice": "Elsewhere",
        "email": "changed@practice.invalid",
    },
    ("PATCH", "/api/v1/referring-providers/{id}/"): {"practice": "Changed practice"},
    ("POST", "/api/v1/patients/"): {
        "first_name": "New",
        "last_name": "Patient",
        "date_of_birth": "1990-02-03",
        "sex": "F",
    },
    ("PUT", "/api/v1/patients/{id}/"): {
        "first_name": "Changed",
        "last_name": "Name",
        "date_of_birth": "1990-02-03",
        "sex": "F",
    },
    ("PATCH", "/api/v1/patients/{id}/"): {"last_name": "Changed"},
    ("POST", "/api/v1/patients/{id}/care-team/"): {"user": "<nurse>", "action": "add"},
    ("POST", "/api/v1/patients/{id}/break-glass/"): {"reason": "Covering an emergency."},
    ("POST", "/api/v1/patients/{patient_pk}/alerts/{id}/acknowledge/"): {"note": "Discussed."},
    ("POST", "/api/v1/consents/"): {
        "patient": "<patient>",
        "form_version": "KET-CONSENT v3 (2024)",
        "signed_on": "2025-01-06",
        "witness": "A witness",
    },
    ("POST", "/api/v1/evaluations/"): {"patient": "<patient>", **_EVALUATION},
    ("PUT", "/api/v1/evaluations/{id}/"): {"patient": "<patient>", **_EVALUATION},
    ("PATCH", "/api/v1/evaluations/{id}/"): {"allergies": "Penicillin"},
    ("POST", "/api/v1/evaluations/{id}/sign/"): None,
    ("POST", "/api/v1/evaluations/{id}/amendments/"): {"text": "Correction."},
    ("POST", "/api/v1/assessments/"): {
        "patient": "<patient>",
        "instrument": "GAD7",
        "answers": [1, 1, 1, 1, 1, 1, 1],
        "administered_at": _WHEN,
    },
    ("POST", "/api/v1/courses/"): {"patient": "<patient>", "start_date": "2026-01-05"},
    ("PATCH", "/api/v1/courses/{id}/"): {"planned_sessions": 8},
    ("POST", "/api/v1/sessions/"): {
        "course": "<course>",
        "scheduled_for": _WHEN,
        "weight_kg": "72.5",
        "dose_mg_per_kg": "0.50",
    },
    ("PATCH", "/api/v1/sessions/{id}/"): {"fasting_confirmed": True},
    ("POST", "/api/v1/sessions/{id}/verify-dose/"): {"weight_kg": "72.5", "dose_mg_per_kg": "0.50"},
    ("POST", "/api/v1/sessions/{id}/override/"): {"dose_mg_per_kg": "0.60", "reason": "Plan."},
    ("POST", "/api/v1/sessions/{id}/go-ahead/"): {"reason": "Rechecked."},
    ("POST", "/api/v1/sessions/{id}/start/"): {},
    ("POST", "/api/v1/sessions/{id}/stop/"): {"reason": "Patient asked."},
    ("POST", "/api/v1/sessions/{id}/complete/"): {},
    ("POST", "/api/v1/sessions/{id}/cancel/"): {"reason": "Unwell."},
    ("POST", "/api/v1/sessions/{id}/sign/"): None,
    ("POST", "/api/v1/sessions/{session_pk}/vitals/"): {
        "recorded_at": _WHEN,
        "bp_systolic": 128,
        "bp_diastolic": 80,
        "heart_rate": 76,
        "spo2": 98,
        "resp_rate": 14,
    },
    ("PATCH", "/api/v1/sessions/{session_pk}/vitals/{id}/"): {"heart_rate": 81},
    ("POST", "/api/v1/sessions/{session_pk}/side-effects/"): {
        "effect": "nausea",
        "grade": 1,
        "onset_at": _WHEN,
    },
    ("PATCH", "/api/v1/sessions/{session_pk}/side-effects/{id}/"): {"intervention": "Ondansetron"},
    ("POST", "/api/v1/sessions/{session_pk}/mood-notes/"): {
        "recorded_at": _WHEN,
        "phase": "pre",
        "mood": 4,
        "anxiety": 5,
        "text": "Calm.",
    },
    ("PATCH", "/api/v1/sessions/{session_pk}/mood-notes/{id}/"): {"mood": 6},
    ("POST", "/api/v1/sessions/{session_pk}/amendments/"): {"text": "Correction."},
    ("POST", "/api/v1/monitoring-protocol/"): {},
    ("POST", "/api/v1/summaries/"): {"patient": "<patient>"},
    ("POST", "/api/v1/summaries/{id}/sign/"): None,
    ("POST", "/api/v1/summaries/{id}/release/"): None,
}

#: The record a path segment before an id names (``/sessions/{session_pk}/vitals/{id}/``).
KIND_OF_SEGMENT = {
    "patients": "patient",
    "alerts": "alert",
    "users": "user",
    "referring-providers": "provider",
    "audit-events": "audit_event",
    "break-glass-accesses": "break_glass",
    "consents": "consent",
    "evaluations": "evaluation",
    "assessments": "assessment",
    "courses": "course",
    "sessions": "session",
    "vitals": "vital",
    "side-effects": "side_effect",
    "mood-notes": "mood_note",
    "amendments": "session_amendment",
    "summaries": "summary",
    "versions": "protocol",
}

#: Tables a refused request may write: the audit log records every refusal.
MAY_CHANGE = {"ehr_auditevent"}


# --- The cast and the records -------------------------------------------------------------------


def _records_of(patient, prescriber, nurse) -> dict:
    """Every kind of clinical record, under ``patient``."""
    evaluation = EvaluationFactory(patient=patient, evaluator=prescriber)
    signed = EvaluationFactory(patient=patient, evaluator=prescriber, signed_by=prescriber)
    EvaluationAmendment.objects.create(evaluation=signed, author=prescriber, text="Earlier note.")
    course = TreatmentCourseFactory(patient=patient, ordered_by=prescriber)
    session = InfusionSessionFactory(course=course, number=1, created_by=nurse, nurse=nurse)
    return {
        "patient": patient,
        "consent": ConsentFactory(patient=patient, recorded_by=prescriber),
        "evaluation": evaluation,
        "signed_evaluation": signed,
        "assessment": AssessmentFactory(patient=patient, recorded_by=nurse),
        "alert": SafetyAlertFactory(patient=patient),
        "course": course,
        "session": session,
        "vital": VitalSignFactory(session=session, recorded_by=nurse),
        "side_effect": SideEffectFactory(session=session, recorded_by=nurse),
        "mood_note": MoodNoteFactory(session=session, recorded_by=nurse),
        "session_amendment": SessionAmendment.objects.create(
            session=session, author=prescriber, text="A correction."
        ),
        "summary": TreatmentSummary.objects.create(
            patient=patient,
            requested_by=prescriber,
            status=TreatmentSummary.Status.READY,
            generated_at=timezone.now(),
        ),
    }


def _build_world() -> dict:
    users = {
        "admin": UserFactory(username="mx_admin", role=Role.ADMIN),
        "prescriber": UserFactory(username="mx_prescriber", role=Role.PRESCRIBER),
        "nurse": UserFactory(username="mx_nurse", role=Role.NURSE),
        "referrer": UserFactory(username="mx_referrer", role=Role.REFERRING_PROVIDER),
        # Inactive, yet on the unreachable patient's care team: inactivity alone refuses.
        "inactive": UserFactory(username="mx_inactive", role=Role.PRESCRIBER, is_active=False),
    }
    outside_prescriber = UserFactory(username="mx_out_prescriber", role=Role.PRESCRIBER)
    outside_nurse = UserFactory(username="mx_out_nurse", role=Role.NURSE)
    other_referrer_user = UserFactory(username="mx_other_ref", role=Role.REFERRING_PROVIDER)
    referrer = ReferringProviderFactory(user=users["referrer"])
    other_referrer = ReferringProviderFactory(user=other_referrer_user)

    seen_patient = PatientFactory(
        referring_provider=referrer,
        responsible_prescriber=users["prescriber"],
        care_team=[users["prescriber"], users["nurse"]],
    )
    unseen_patient = PatientFactory(
        referring_provider=other_referrer,
        responsible_prescriber=outside_prescriber,
        care_team=[outside_prescriber, outside_nurse, users["inactive"]],
    )
    seen = _records_of(seen_patient, users["prescriber"], users["nurse"])
    unseen = _records_of(unseen_patient, outside_prescriber, outside_nurse)

    # The referrer's own patient's summary is signed, not released to them.
    own = seen["summary"]
    own.signed_by, own.signed_at = users["prescriber"], timezone.now()
    own.save()
    # The unreachable patient's summary was released, to another referring provider.
    summary = unseen["summary"]
    summary.signed_by, summary.signed_at = outside_prescriber, timezone.now()
    summary.released_by, summary.released_at = outside_prescriber, timezone.now()
    summary.released_to = other_referrer
    summary.save()
    assign_perm(f"reports.{RELEASED_SUMMARY_PERMISSION}", other_referrer_user, summary)

    unseen["user"] = outside_prescriber
    unseen["provider"] = other_referrer
    unseen["protocol"] = current_protocol()
    unseen["break_glass"] = BreakGlassAccess.objects.create(
        user=UserFactory(username="mx_glass", role=Role.NURSE),
        patient=unseen_patient,
        reason="Night cover.",
        expires_at=timezone.now() + datetime.timedelta(hours=4),
    )
    unseen["audit_event"] = audit_record(
        action=AuditAction.VIEW, user=outside_prescriber, obj=unseen_patient
    )
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    web_sessions = {}
    for role, user in users.items():
        browser = Client()
        browser.force_login(user)
        web_sessions[role] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "users": users,
        "seen": seen,
        "unseen": unseen,
        "tokens": tokens,
        "web_sessions": web_sessions,
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at its end.

    Each test runs in a savepoint within it (pytest-django's ``db``), so what a
    test writes is undone and the next one sees the same records.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _client(world, role):
    """The role's API client, made once: a new client loads every middleware again."""
    clients = world.setdefault("api_clients", {})
    if role not in clients:
        client = APIClient()
        if role != "anonymous":
            client.credentials(HTTP_AUTHORIZATION=f"Token {world['tokens'][role]}")
        clients[role] = client
    return clients[role]


def _browser(world, role):
    """The role's signed-in browser (its session made with the world), made once."""
    browsers = world.setdefault("browsers", {})
    if role not in browsers:
        browser = Client()
        if role != "anonymous":
            browser.cookies[settings.SESSION_COOKIE_NAME] = world["web_sessions"][role]
        browsers[role] = browser
    return browsers[role]


# --- What is unreachable, for whom --------------------------------------------------------------


def _target(world, kind, role, variant):
    """The record of ``kind`` the role may not reach.

    For a referring provider the summary is also one of *their own* patient's,
    signed but not released (variant ``unreleased``).
    """
    if kind == "summary" and variant == "unreleased":
        return world["seen"]["summary"]
    return world["unseen"][kind]


def _fill_path(path: str, world, role, variant) -> str:
    segments = path.strip("/").split("/")
    filled = []
    for i, segment in enumerate(segments):
        if segment.startswith("{"):
            owner = segments[i - 1]
            kind = KIND_OF_SEGMENT.get(owner)
            assert kind, f"{path}: say which record a /{owner}/{{id}} names (KIND_OF_SEGMENT)"
            if owner == "evaluations" and segments[i + 1 : i + 2] == ["amendments"]:
                kind = "signed_evaluation"
            segment = str(_target(world, kind, role, variant).pk)
        filled.append(segment)
    return "/" + "/".join(filled) + "/"


def _fill_body(body, world, role, variant, *, missing=False):
    if body is None:
        return None
    filled = {}
    for key, value in body.items():
        if isinstance(value, str) and value.startswith("<"):
            name = value.strip("<>")
            if name == "nurse":
                value = world["users"]["nurse"].pk
            else:
                value = 987654321 if missing else _target(world, name, role, variant).pk
        filled[key] = value
    return filled


def _list_kind(path: str) -> str:
    return KIND_OF_SEGMENT[path.strip("/").split("/")[-1]]


def _is_list(method, path) -> bool:
    if method != "GET" or path.endswith("}/"):
        return False
    content = SCHEMA["paths"][path]["get"]["responses"]["200"].get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    return schema.get("type") == "array" or "Paginated" in schema.get("$ref", "")


def _ids_in(data) -> set[int]:
    rows = data["results"] if isinstance(data, dict) else data
    return {row["id"] for row in rows}


# --- Writes leave no trace ----------------------------------------------------------------------


def _fingerprint() -> dict[str, int]:
    """Rows inserted, updated or deleted so far in this transaction, per table (PostgreSQL
    counts every tuple written, even one written back unchanged), but the audit log."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables"
        )
        return {table: n for table, n in cursor.fetchall() if table not in MAY_CHANGE}


def _changed(before: dict, after: dict) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t, 0) != after.get(t, 0))


# --- The matrix ---------------------------------------------------------------------------------


def _cases():
    for method, path in OPERATIONS:
        if (method, path) in PUBLIC:
            continue
        for role in ROLES:
            if role in BY_DESIGN.get((method, path), set()):
                continue
            yield pytest.param(method, path, role, "outsider", id=f"{method} {path} {role}")
            if role == "referrer" and "/summaries/" in path:
                yield pytest.param(
                    method, path, role, "unreleased", id=f"{method} {path} {role} unreleased"
                )


CASES = list(_cases())


def test_the_matrix_covers_every_operation_of_the_schema_and_the_resolver():
    from_resolver = resolver_operations()

    assert len(OPERATIONS) >= 60
    assert set(OPERATIONS) == from_resolver
    assert {(m, p) for m, p, *_ in (c.values for c in CASES)} | PUBLIC == set(OPERATIONS)
    # Nothing listed here is stale.
    for table in (BY_DESIGN, BODY_REFERENCE, BODIES):
        assert set(table) <= set(OPERATIONS), set(table) - set(OPERATIONS)
    assert set(PUBLIC) <= set(OPERATIONS)
    writes = {(m, p) for m, p in OPERATIONS if m != "GET"} - PUBLIC
    assert writes - set(BODIES) == set(), "give every write a body that would be valid"


def test_the_served_schema_describes_the_same_operations(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    served = schema_operations(response.json())
    assert served == set(OPERATIONS)


@pytest.mark.parametrize(("method", "path", "role", "variant"), CASES)
def test_an_unreachable_record_is_refused_and_left_untouched(
    world, db, method, path, role, variant
):
    url = _fill_path(path, world, role, variant)
    body = _fill_body(BODIES.get((method, path)), world, role, variant)
    before = _fingerprint()

    response = _client(world, role).generic(
        method, url, data=None if body is None else _json(body), content_type="application/json"
    )

    code = response.status_code
    assert code < 500, f"{method} {url} as {role}: {code}"
    assert not 200 <= code < 300 or _is_list(method, path), f"{method} {url} as {role}: {code}"
    if 200 <= code < 300:
        unseen = _target(world, _list_kind(path), role, variant)
        assert unseen.pk not in _ids_in(response.json()), f"{method} {url} lists it to {role}"
    elif code == 400 and (method, path) in BODY_REFERENCE:
        # Naming the record in the body reads exactly like naming one that does not exist.
        field, _ = BODY_REFERENCE[(method, path)]
        assert set(response.json()) == {field}, response.json()
        missing = _fill_body(BODIES[(method, path)], world, role, variant, missing=True)
        twin = _client(world, role).post(url, missing, format="json")
        named = str(_target(world, BODY_REFERENCE[(method, path)][1], role, variant).pk)
        assert twin.status_code == 400
        assert str(twin.json()).replace("987654321", "<id>") == str(response.json()).replace(
            f'"{named}"', '"<id>"'
        )
    else:
        assert code in REFUSED, f"{method} {url} as {role}: {code} {response.content[:300]!r}"
    if method != "GET":
        assert _changed(before, _fingerprint()) == [], f"{method} {url} as {role} wrote"


def _json(body):
    return json.dumps(body)


# --- A record of another patient is not reached through one's own --------------------------------


NESTED = [(m, p) for m, p in OPERATIONS if p.count("{") == 2]


@pytest.mark.parametrize("role", sorted(CLINICIANS))
@pytest.mark.parametrize(("method", "path"), NESTED, ids=lambda v: v)
def test_a_nested_record_of_another_patient_is_not_found_under_ones_own(
    world, db, method, path, role
):
    """``/sessions/{mine}/vitals/{theirs}/``: the parent is reachable, the entry is not."""
    parent, child = re.findall(r"\{(\w+)\}", path)
    owner = path.strip("/").split("/")
    parent_kind = KIND_OF_SEGMENT[owner[owner.index("{" + parent + "}") - 1]]
    child_kind = KIND_OF_SEGMENT[owner[owner.index("{" + child + "}") - 1]]
    url = path.replace("{" + parent + "}", str(world["seen"][parent_kind].pk)).replace(
        "{" + child + "}", str(world["unseen"][child_kind].pk)
    )
    body = _fill_body(BODIES.get((method, path)), world, role, "outsider")
    before = _fingerprint()

    response = _client(world, role).generic(
        method, url, data=None if body is None else _json(body), content_type="application/json"
    )

    assert response.status_code in {403, 404}, (url, response.status_code)
    assert _changed(before, _fingerprint()) == []


# --- Lists a role may read never show what it may not reach -------------------------------------


LIST_OPERATIONS = [p for m, p in OPERATIONS if _is_list(m, p) and "{" not in p]


@pytest.mark.parametrize("role", ["admin", "prescriber", "nurse", "referrer"])
def test_every_list_a_role_reads_leaves_out_what_it_may_not_reach(world, db, role):
    assert len(LIST_OPERATIONS) >= 10
    read = []
    for path in LIST_OPERATIONS:
        response = _client(world, role).get(path, {"page_size": 100})
        assert response.status_code in {200, 403}, f"{path} as {role}: {response.status_code}"
        if response.status_code == 200:
            read.append(path)
            if role in BY_DESIGN.get(("GET", path), set()):
                continue
            ids = _ids_in(response.json())
            for variant in ("outsider", "unreleased"):
                unseen = _target(world, _list_kind(path), role, variant)
                if variant == "unreleased" and role != "referrer":
                    continue
                assert unseen.pk not in ids, f"{path} lists an unreachable record to {role}"
    # Each role reads some lists: the check above is not vacuous.
    assert read, role


def test_the_lists_show_what_the_role_does_reach(world, db):
    """The control: the same lists do show the reachable twin records."""
    for path, role in (
        ("/api/v1/patients/", "nurse"),
        ("/api/v1/patients/", "referrer"),
        ("/api/v1/consents/", "nurse"),
        ("/api/v1/evaluations/", "prescriber"),
        ("/api/v1/assessments/", "nurse"),
        ("/api/v1/courses/", "nurse"),
        ("/api/v1/sessions/", "prescriber"),
        ("/api/v1/summaries/", "prescriber"),
    ):
        response = _client(world, role).get(path)
        assert response.status_code == 200, (path, role)
        assert world["seen"][_list_kind(path)].pk in _ids_in(response.json()), (path, role)


# --- Break-the-glass ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(CLINICIANS))
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_breaking_the_glass_without_a_reason_is_refused(world, db, role, reason):
    patient = world["unseen"]["patient"]
    body = {} if reason is None else {"reason": reason}
    before = _fingerprint()

    response = _client(world, role).post(
        f"/api/v1/patients/{patient.pk}/break-glass/", body, format="json"
    )

    assert response.status_code == 400
    assert "reason" in response.json()
    assert _changed(before, _fingerprint()) == []
    # And the record stays closed.
    assert _client(world, role).get(f"/api/v1/patients/{patient.pk}/").status_code == 404


@pytest.mark.parametrize("role", sorted(CLINICIANS))
def test_breaking_the_glass_with_a_reason_opens_the_record(world, db, role):
    patient = world["unseen"]["patient"]
    client = _client(world, role)
    before = _fingerprint()

    response = client.post(
        f"/api/v1/patients/{patient.pk}/break-glass/", {"reason": "Emergency."}, format="json"
    )

    assert response.status_code == 201
    # The write detector of this module sees a write (and only the grant).
    assert _changed(before, _fingerprint()) == ["patients_breakglassaccess"]
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200


# --- Signing in, and the web download -----------------------------------------------------------


def test_an_inactive_account_cannot_sign_in_for_a_token(world, db):
    before = Token.objects.count()

    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "mx_inactive", "password": "correct horse battery staple"},
        format="json",
    )

    assert response.status_code == 401
    assert Token.objects.count() == before


WEB_PDF = "/summaries/{id}/pdf/"

#: Web page URL argument -> the record it names.
KIND_OF_KWARG = {
    "user_id": "user",
    "provider_id": "provider",
    "patient_id": "patient",
    "alert_id": "alert",
    "evaluation_id": "evaluation",
    "course_id": "course",
    "session_id": "session",
    "vital_id": "vital",
    "note_id": "mood_note",
    "summary_id": "summary",
}

#: Web pages (URL name) -> roles that may use them on the records used here, by design.
WEB_BY_DESIGN = {
    "patient_chart": {"admin"},
    "patient_edit": {"admin"},
    "care_team_change": {"admin"},
    "staff_edit": {"admin"},
    "staff_set_active": {"admin"},
    "provider_edit": {"admin"},
}


def _page_methods(view) -> list[str]:
    """The methods a page takes (``require_http_methods`` keeps them in its closure)."""
    for cell in view.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, list | tuple) and value and all(m in METHOD_NAMES for m in value):
            return [m for m in value if m in ("GET", "POST")]
    return ["GET", "POST"]


METHOD_NAMES = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _web_pages():
    """``(url name, route, kwargs, methods)`` of every web page that names a record in its URL."""
    from django.urls import URLPattern, get_resolver

    for pattern in get_resolver("frontend.urls").url_patterns:
        if isinstance(pattern, URLPattern) and pattern.pattern.converters:
            route = str(pattern.pattern)
            kwargs = list(pattern.pattern.converters)
            yield pattern.name, route, kwargs, _page_methods(pattern.callback)


WEB_PAGES = sorted(_web_pages())


def _web_cases():
    for name, route, kwargs, methods in WEB_PAGES:
        for method in methods:
            for role in ROLES:
                if role in WEB_BY_DESIGN.get(name, set()):
                    continue
                yield pytest.param(
                    name, kwargs, method, role, "outsider", id=f"{method} {route} {role}"
                )
                if role == "referrer" and "summary_id" in kwargs:
                    yield pytest.param(
                        name,
                        kwargs,
                        method,
                        role,
                        "unreleased",
                        id=f"{method} {route} {role} unreleased",
                    )


@pytest.mark.parametrize(("name", "kwargs", "method", "role", "variant"), list(_web_cases()))
def test_a_web_page_of_an_unreachable_record_is_refused_and_changes_nothing(
    world, db, name, kwargs, method, role, variant
):
    from django.urls import reverse

    ids = {k: _target(world, KIND_OF_KWARG[k], role, variant).pk for k in kwargs}
    url = reverse(f"frontend:{name}", kwargs=ids)
    client = _browser(world, role)
    before = _fingerprint()

    response = client.generic(method, url)

    code = response.status_code
    if code == 302:
        assert role in ("anonymous", "inactive"), f"{method} {url} as {role}: {code}"
        assert "/login/" in response["Location"], (url, response["Location"])
    else:
        # 405: the page does not take this method at all.
        assert code in {403, 404, 405}, f"{method} {url} as {role}: {code}"
    if method != "GET":
        # A signed-in browser session records its last activity.
        changed = [t for t in _changed(before, _fingerprint()) if t != "django_session"]
        assert changed == [], f"{method} {url} as {role} wrote"


def test_every_web_page_naming_a_record_is_in_the_matrix():
    assert len(WEB_PAGES) >= 30
    for _name, route, kwargs, _methods in WEB_PAGES:
        assert set(kwargs) <= set(KIND_OF_KWARG), f"{route}: say which record it names"
    assert set(WEB_BY_DESIGN) <= {name for name, *_ in WEB_PAGES}
    methods = {name: methods for name, _route, _kwargs, methods in WEB_PAGES}
    assert methods["summary_pdf"] == ["GET"]
    assert methods["session_sign"] == ["POST"]
    assert methods["patient_edit"] == ["GET", "POST"]


@pytest.mark.parametrize("role", ROLES)
def test_the_web_pdf_download_of_an_unreachable_summary_is_refused(world, db, role):
    variants = ["outsider", "unreleased"] if role == "referrer" else ["outsider"]
    for variant in variants:
        summary = _target(world, "summary", role, variant)
        client = _browser(world, role)

        response = client.get(WEB_PDF.format(id=summary.pk))

        if role in ("anonymous", "inactive"):
            assert response.status_code == 302
            assert re.search(r"/login/", response["Location"])
        else:
            assert response.status_code in {403, 404}, (role, variant, response.status_code)
        assert response.get("Content-Type", "") != "application/pdf"


def test_the_web_pdf_route_is_the_one_served():
    from django.urls import resolve

    assert resolve(WEB_PDF.format(id=1)).url_name == "summary_pdf"
