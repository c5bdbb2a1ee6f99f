"""Every operation of the served OpenAPI schema, fuzzed with schemathesis as a role that may use it.

The schema is the one ``/api/schema/`` serves, loaded through the WSGI app. Each
operation is called with generated valid and invalid input, as the first role of
prescriber, nurse, practice manager and referring provider whose policy
(``ehr.roles``) allows the action, on records that exist (ids in the path come
from a clinic built once for the module). Every answer must be no 5xx, a status
the operation documents, the content type it documents, and a body that matches
its schema; invalid input must be refused. Each example runs in a savepoint that
is rolled back, so examples do not depend on each other and a run is repeatable
(``derandomize``). ``scripts/fuzz`` runs the same test with more examples.
"""

from __future__ import annotations

import datetime
import os
import re

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from django.urls import resolve
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ehr.api.permissions import required_capability
from ehr.audit import audit_record
from ehr.models import AuditAction
from ehr.roles import POLICY, Role
from patients import services as patient_services
from reports import services as report_services
from reports.tasks import generate_summary
from sessions.models import SessionAmendment
from tests.factories import PatientFactory, ReferringProviderFactory, UserFactory
from tests.patients.factories import (
    AssessmentFactory,
    ConsentFactory,
    EvaluationFactory,
    SafetyAlertFactory,
)
from tests.reports.factories import given_course, queued_summary, signed_evaluation
from tests.sessions.factories import (
    InfusionSessionFactory,
    MoodNoteFactory,
    SideEffectFactory,
    TreatmentCourseFactory,
    VitalSignFactory,
)

pytestmark = pytest.mark.django_db

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}

#: Examples per operation and mode (valid and invalid input); ``scripts/fuzz`` raises it.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
#: ``FUZZ_RANDOM=1`` explores new input on every run instead of the same input every time.
DERANDOMIZE = not os.environ.get("FUZZ_RANDOM")

#: The one kept leniency (docs/decisions.md): a number sent for a text field is read as
#: its text, as DRF's CharField does, so it is not refused.
_NUMBER_FOR_TEXT = re.compile(r"violates `type` at \S+ \(was string, became (number|integer)\)")


def invalid_input_is_refused(ctx, response, case):
    """schemathesis' ``negative_data_rejection``, less the number-for-text leniency."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData as failure:
        if _NUMBER_FOR_TEXT.search(failure.message):
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    invalid_input_is_refused,
]

#: Who calls an operation: the first of these roles whose policy allows the action.
ROLE_PREFERENCE = (Role.PRESCRIBER, Role.NURSE, Role.ADMIN, Role.REFERRING_PROVIDER)
#: Operations anyone may call without signing in.
ANONYMOUS = {"POST /api/v1/auth/token/"}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def role_for(label: str) -> Role | None:
    """The role that exercises ``label``, from the capability its view declares."""
    method, path = label.split(" ", 1)
    match = resolve(_concrete(path))
    view_class = match.func.cls
    actions = getattr(match.func, "actions", None) or {}
    view = view_class(action_map=actions) if actions else view_class()
    view.action = actions.get(method.lower(), method.lower())
    view.kwargs = match.kwargs

    class _Request:
        pass

    request = _Request()
    request.method = method
    capability = required_capability(view, request)
    if capability is None:
        return None
    return next(role for role in ROLE_PREFERENCE if role in POLICY[capability])


@pytest.fixture(scope="module")
def private_storage(tmp_path_factory):
    """Summary PDFs of the module go to a temporary private folder."""
    root = tmp_path_factory.mktemp("private")
    storages = {
        **django_settings.STORAGES,
        "default": {
            **django_settings.STORAGES["default"],
            "OPTIONS": {**django_settings.STORAGES["default"]["OPTIONS"], "location": str(root)},
        },
    }
    with override_settings(PRIVATE_STORAGE_ROOT=root, STORAGES=storages):
        yield root


@pytest.fixture(scope="module")
def clinic(django_db_setup, django_db_blocker, private_storage):
    """A clinic with a record in every state the API's paths reach, rolled back afterwards."""
    # As Django's test client does: a request through the WSGI handler must not close the
    # connection that holds the test's transaction when it ends.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            yield _build_clinic()
            transaction.set_rollback(True)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def _build_clinic() -> dict:
    admin = UserFactory(username="fuzz_admin", role=Role.ADMIN)
    prescriber = UserFactory(username="fuzz_prescriber", role=Role.PRESCRIBER)
    other_prescriber = UserFactory(username="fuzz_other_prescriber", role=Role.PRESCRIBER)
    nurse = UserFactory(username="fuzz_nurse", role=Role.NURSE)
    staff_member = UserFactory(username="fuzz_staff", role=Role.NURSE)
    referrer_user = UserFactory(username="fuzz_referrer", role=Role.REFERRING_PROVIDER)
    referrer = ReferringProviderFactory(user=referrer_user)
    patient = PatientFactory(
        referring_provider=referrer,
        responsible_prescriber=prescriber,
        care_team=[prescriber, nurse],
    )
    outside_patient = PatientFactory(
        referring_provider=referrer,
        responsible_prescriber=other_prescriber,
        care_team=[other_prescriber],
    )
    signed = signed_evaluation(patient, prescriber)
    unsigned = EvaluationFactory(patient=patient, evaluator=prescriber)
    consent = ConsentFactory(patient=patient, recorded_by=prescriber)
    alert = SafetyAlertFactory(patient=patient)
    assessment = AssessmentFactory(patient=patient, recorded_by=nurse, evaluation=signed)
    access = patient_services.break_glass_open(
        actor=nurse, patient=outside_patient, reason="Covering the evening clinic"
    )

    course = TreatmentCourseFactory(patient=patient, ordered_by=prescriber)
    now = timezone.now()
    scheduled = InfusionSessionFactory(course=course, number=1, created_by=nurse, nurse=nurse)
    running = InfusionSessionFactory(
        course=course,
        number=2,
        created_by=nurse,
        nurse=nurse,
        dose_verified_by=prescriber,
        dose_verified_at=now - datetime.timedelta(minutes=15),
        fasting_confirmed=True,
        escort_confirmed=True,
        pre_bp_systolic=126,
        pre_bp_diastolic=82,
        status="in_progress",
        started_at=now - datetime.timedelta(minutes=10),
    )
    discharged = InfusionSessionFactory(
        course=course,
        number=3,
        created_by=nurse,
        nurse=nurse,
        dose_verified_by=prescriber,
        dose_verified_at=now - datetime.timedelta(minutes=60),
        fasting_confirmed=True,
        escort_confirmed=True,
        pre_bp_systolic=126,
        pre_bp_diastolic=82,
        status="completed",
        started_at=now - datetime.timedelta(minutes=55),
        ended_at=now - datetime.timedelta(minutes=10),
        discharge_at=now - datetime.timedelta(minutes=5),
        discharge_alert_oriented=True,
        discharge_vitals_baseline=True,
        discharge_ambulating=True,
        discharge_escort_present=True,
    )
    given = given_course(patient, prescriber, nurse, sessions=1)[0]
    given.signed_by = prescriber
    given.signed_at = now
    given.save()
    children = {}
    for session in (running, discharged, given):
        children[session.pk] = {
            "vitals": VitalSignFactory(session=session, recorded_by=nurse).pk,
            "side-effects": SideEffectFactory(session=session, recorded_by=nurse).pk,
            "mood-notes": MoodNoteFactory(session=session, recorded_by=nurse).pk,
        }
    amendment = SessionAmendment.objects.create(session=given, author=prescriber, text="Typo.")

    queued = queued_summary(patient, prescriber)
    ready = queued_summary(patient, prescriber)
    generate_summary(ready.pk)
    ready.refresh_from_db()
    signed_summary = queued_summary(patient, prescriber)
    generate_summary(signed_summary.pk)
    signed_summary.refresh_from_db()
    report_services.summary_sign(actor=prescriber, summary=signed_summary)
    assert ready.status == signed_summary.status == "ready"

    event = audit_record(action=AuditAction.VIEW, request=None, obj=patient, status_code=200)

    sessions = [scheduled.pk, running.pk, discharged.pk, given.pk]
    child_pairs = lambda kind: [  # noqa: E731
        {"session_pk": s, "id": ids[kind]} for s, ids in children.items()
    ]
    path_ids = {
        "/api/v1/users/{id}/": [{"id": staff_member.pk}],
        "/api/v1/audit-events/{id}/": [{"id": event.pk}],
        "/api/v1/assessments/{id}/": [{"id": assessment.pk}],
        "/api/v1/break-glass-accesses/{id}/": [{"id": access.pk}],
        "/api/v1/consents/{id}/": [{"id": consent.pk}],
        "/api/v1/courses/{id}/": [{"id": course.pk}],
        "/api/v1/courses/{id}/next-session/": [{"id": course.pk}],
        "/api/v1/evaluations/{id}/": [{"id": unsigned.pk}, {"id": signed.pk}],
        "/api/v1/evaluations/{id}/amendments/": [{"id": signed.pk}, {"id": unsigned.pk}],
        "/api/v1/evaluations/{id}/sign/": [{"id": unsigned.pk}, {"id": signed.pk}],
        "/api/v1/monitoring-protocol/versions/{id}/": [{"id": scheduled.protocol_id}],
        "/api/v1/patients/{patient_pk}/alerts/": [{"patient_pk": patient.pk}],
        "/api/v1/patients/{patient_pk}/alerts/{id}/": [{"patient_pk": patient.pk, "id": alert.pk}],
        "/api/v1/patients/{patient_pk}/alerts/{id}/acknowledge/": [
            {"patient_pk": patient.pk, "id": alert.pk}
        ],
        "/api/v1/patients/{id}/": [{"id": patient.pk}],
        "/api/v1/patients/{id}/break-glass/": [{"id": outside_patient.pk}, {"id": patient.pk}],
        "/api/v1/patients/{id}/care-team/": [{"id": patient.pk}],
        "/api/v1/referring-providers/{id}/": [{"id": referrer.pk}],
        "/api/v1/sessions/{session_pk}/amendments/": [{"session_pk": s} for s in sessions],
        "/api/v1/sessions/{session_pk}/amendments/{id}/": [
            {"session_pk": given.pk, "id": amendment.pk}
        ],
        "/api/v1/summaries/{id}/": [{"id": queued.pk}, {"id": ready.pk}, {"id": signed_summary.pk}],
        "/api/v1/summaries/{id}/pdf/": [{"id": ready.pk}, {"id": queued.pk}],
        "/api/v1/summaries/{id}/release/": [{"id": signed_summary.pk}, {"id": ready.pk}],
        "/api/v1/summaries/{id}/sign/": [{"id": ready.pk}, {"id": queued.pk}],
    }
    for kind in ("vitals", "side-effects", "mood-notes"):
        path_ids[f"/api/v1/sessions/{{session_pk}}/{kind}/"] = [{"session_pk": s} for s in sessions]
        path_ids[f"/api/v1/sessions/{{session_pk}}/{kind}/{{id}}/"] = child_pairs(kind)
    for action in (
        "",
        "cancel/",
        "complete/",
        "go-ahead/",
        "override/",
        "sign/",
        "start/",
        "stop/",
        "verify-dose/",
    ):
        path_ids[f"/api/v1/sessions/{{id}}/{action}"] = [{"id": s} for s in sessions]

    tokens = {
        role: Token.objects.get_or_create(user=user)[0].key
        for role, user in (
            (Role.ADMIN, admin),
            (Role.PRESCRIBER, prescriber),
            (Role.NURSE, nurse),
            (Role.REFERRING_PROVIDER, referrer_user),
        )
    }
    references = {
        "patient": patient.pk,
        "course": course.pk,
        "session": discharged.pk,
        "evaluation": signed.pk,
        "user": staff_member.pk,
        "referring_provider": referrer.pk,
        "responsible_prescriber": prescriber.pk,
        "evaluator": prescriber.pk,
        "nurse": nurse.pk,
        "supervising_prescriber": prescriber.pk,
    }
    return {"path_ids": path_ids, "tokens": tokens, "references": references}


def test_every_operation_of_the_served_schema_is_fuzzed(clinic):
    documented = set(OPERATIONS)
    with_ids = {
        label
        for label, op in OPERATIONS.items()
        if "{" not in op.path or op.path in clinic["path_ids"]
    }
    with_role = {label for label in OPERATIONS if label in ANONYMOUS or role_for(label)}

    assert len(documented) > 70
    assert documented - with_ids == set(), "operations without records for their path ids"
    assert documented - with_role == set(), "operations no role may call"
    assert set(clinic["path_ids"]) <= {op.path for op in OPERATIONS.values()}, "stale path ids"


def _strategy(operation, choices):
    """(valid?, case): generated valid input and, where there is input to break, invalid input."""
    modes = [schemathesis.GenerationMode.POSITIVE]
    if operation.body or operation.query:
        modes.append(schemathesis.GenerationMode.NEGATIVE)
    return st.sampled_from(choices).flatmap(
        lambda ids: st.one_of(
            *(
                st.tuples(
                    st.just(mode == schemathesis.GenerationMode.POSITIVE),
                    operation.as_strategy(generation_mode=mode, path_parameters=ids),
                )
                for mode in modes
            )
        )
    )


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_answers_as_its_schema_says(clinic, label):
    operation = OPERATIONS[label]
    role = None if label in ANONYMOUS else role_for(label)
    headers = {"Authorization": f"Token {clinic['tokens'][role]}"} if role else {}
    choices = clinic["path_ids"].get(operation.path, [{}])
    statuses = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(example=_strategy(operation, choices))
    def fuzz(example):
        valid, case = example
        if valid and isinstance(case.body, dict):
            # Valid input names records that exist, so it gets past "no such patient".
            for field in case.body.keys() & clinic["references"].keys():
                case.body[field] = clinic["references"][field]
        with transaction.atomic():
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.append(response.status_code)
            transaction.set_rollback(True)

    fuzz()

    assert statuses, "no example reached the API"
    if label not in ANONYMOUS:
        assert any(code not in (401, 403, 405) for code in statuses), statuses
