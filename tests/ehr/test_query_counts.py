"""Query-count guards: a list, a detail or a page costs the same queries for 2 records as
for 12.

Each case grows the records a user is shown (patients, sessions, vitals...; for a
detail, the records inside it or beside it), first to ``FEW`` then to ``MANY``,
and requests the same URL; the number of queries must not change (no query per
row: no N+1), nor for a shorter page (but for its COUNT: a list that fits on its first
page is counted without one), and must stay within the case's explicit
budget. A list must return every record and a page must show the last one added,
so a case cannot pass by showing nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from ehr.audit import audit_record
from ehr.models import AuditAction
from ehr.roles import Role
from patients.models import BreakGlassAccess, EvaluationAmendment
from patients.services import care_team_grant
from reports.models import RELEASED_SUMMARY_PERMISSION, TreatmentSummary
from sessions.models import MonitoringProtocol, SessionAmendment
from tests.factories import PatientFactory, ReferringProviderFactory, UserFactory, earlier_today
from tests.patients.factories import (
    AssessmentFactory,
    ConsentFactory,
    EvaluationFactory,
    SafetyAlertFactory,
)
from tests.sessions.factories import (
    InfusionSessionFactory,
    MoodNoteFactory,
    SideEffectFactory,
    TreatmentCourseFactory,
    VitalSignFactory,
)

pytestmark = pytest.mark.django_db

FEW, MANY = 2, 12


class Cast:
    """The users and one patient with a course and a session, on the nurse's care team."""

    def __init__(self, admin_user, prescriber, nurse, referrer_user, referrer):
        self.users = {
            "admin": admin_user,
            "prescriber": prescriber,
            "nurse": nurse,
            "referrer": referrer_user,
        }
        self.prescriber, self.nurse, self.referrer = prescriber, nurse, referrer
        self.patient = self.team_patient()
        self.course = TreatmentCourseFactory(patient=self.patient, ordered_by=prescriber)
        self.session = InfusionSessionFactory(
            course=self.course, number=1, created_by=nurse, nurse=nurse
        )
        self.evaluation = EvaluationFactory(
            patient=self.patient, evaluator=prescriber, signed_by=prescriber
        )

    def team_patient(self, **fields):
        """A patient ready for treatment, on the prescriber's and the nurse's care team."""
        patient = PatientFactory(
            referring_provider=self.referrer,
            responsible_prescriber=self.prescriber,
            care_team=[self.prescriber, self.nurse],
            **fields,
        )
        EvaluationFactory(patient=patient, evaluator=self.prescriber, signed_by=self.prescriber)
        ConsentFactory(patient=patient, recorded_by=self.prescriber)
        return patient

    def stage(self) -> dict:
        """Scheduled, running, completed or signed in turn: each reads different records."""
        self.made = getattr(self, "made", 0) + 1
        now = timezone.now()
        running = dict(
            status="in_progress",
            dose_verified_by=self.prescriber,
            dose_verified_at=earlier_today(minutes=30),
            fasting_confirmed=True,
            escort_confirmed=True,
            pre_bp_systolic=120,
            pre_bp_diastolic=80,
            started_at=earlier_today(minutes=20),
        )
        ended = {**running, "status": "completed", "ended_at": earlier_today(minutes=1)}
        signed = {**ended, "signed_by": self.prescriber, "signed_at": now}
        return [{}, running, ended, signed][self.made % 4]

    def team_session(self):
        """A session of a new patient, with a reading, a side effect and a mood note."""
        patient = self.team_patient()
        course = TreatmentCourseFactory(patient=patient, ordered_by=self.prescriber)
        return self.session_of(course, number=1)

    def session_of(self, course, **fields):
        session = InfusionSessionFactory(
            course=course,
            created_by=self.nurse,
            nurse=self.nurse,
            supervising_prescriber=self.prescriber,
            scheduled_for=earlier_today(minutes=40),
            **fields,
            **self.stage(),
        )
        VitalSignFactory(session=session, recorded_by=self.nurse)
        SideEffectFactory(session=session, recorded_by=self.nurse)
        MoodNoteFactory(session=session, recorded_by=self.nurse)
        return session

    def summary(self, patient, *, released=False):
        summary = TreatmentSummary.objects.create(
            patient=patient,
            requested_by=self.prescriber,
            status=TreatmentSummary.Status.READY,
            generated_at=timezone.now(),
            signed_by=self.prescriber,
            signed_at=timezone.now(),
        )
        if released:
            summary.released_by, summary.released_at = self.prescriber, timezone.now()
            summary.released_to = self.referrer
            summary.save()
            assign_perm(f"reports.{RELEASED_SUMMARY_PERMISSION}", self.referrer.user, summary)
        return summary


@dataclass
class Case:
    name: str
    role: str
    url: Callable[[Cast], str]
    add: Callable[[Cast], object]
    budget: int
    _: KW_ONLY
    web: bool = False
    #: How many rows the response shows beyond those added (the cast's own).
    extra: int | None = 0
    #: A list (its rows are counted); a detail shows the records inside one object.
    listed: bool = True
    #: For a page: text of the last record added that the page must show.
    shows: Callable[[object], str] | None = None


def _staff_patient(c: Cast):
    patient = c.team_patient()
    SafetyAlertFactory(patient=patient)
    return patient


def _referred_patient(c: Cast):
    return PatientFactory(
        referring_provider=c.referrer, responsible_prescriber=c.prescriber, care_team=[c.prescriber]
    )


def _care_team_member(c: Cast):
    care_team_grant(patient=c.patient, user=UserFactory(role=Role.NURSE))


def _provider(c: Cast):
    return ReferringProviderFactory(user=UserFactory(role=Role.REFERRING_PROVIDER))


def _evaluation(c: Cast):
    evaluation = EvaluationFactory(
        patient=c.team_patient(), evaluator=c.prescriber, signed_by=c.prescriber
    )
    EvaluationAmendment.objects.create(evaluation=evaluation, author=c.nurse, text="Note.")
    return evaluation


def _course(c: Cast):
    return TreatmentCourseFactory(patient=c.team_patient(), ordered_by=c.prescriber)


def _chart_records(c: Cast):
    """One more of everything on the patient's chart."""
    c.session_of(c.course)
    EvaluationFactory(patient=c.patient, evaluator=c.prescriber, signed_by=c.prescriber)
    AssessmentFactory(patient=c.patient, recorded_by=c.nurse)
    ConsentFactory(patient=c.patient, recorded_by=c.prescriber)
    SafetyAlertFactory(patient=c.patient)
    c.summary(c.patient)


def _flowsheet(c: Cast):
    VitalSignFactory(session=c.session, recorded_by=c.nurse)
    SideEffectFactory(session=c.session, recorded_by=c.nurse)
    MoodNoteFactory(session=c.session, recorded_by=c.nurse)


def _break_glass(c: Cast):
    return BreakGlassAccess.objects.create(
        user=UserFactory(role=Role.NURSE),
        patient=c.patient,
        reason="Night cover.",
        expires_at=timezone.now() + datetime.timedelta(hours=4),
    )


def _protocol_version(c: Cast):
    latest = MonitoringProtocol.objects.order_by("-version").first()
    return MonitoringProtocol.objects.create(version=latest.version + 1, created_by=c.prescriber)


def _portal_record(c: Cast):
    return c.summary(_referred_patient(c), released=True)


def _patient_name(record) -> str:
    patient = getattr(record, "patient", None) or getattr(
        getattr(record, "course", None), "patient", None
    )
    return (patient or record).last_name


def _in_session(rest: str) -> Callable[[Cast], str]:
    return lambda c: f"/api/v1/sessions/{c.session.pk}/{rest}"


API = [
    Case("patients staff", "nurse", lambda c: "/api/v1/patients/", _staff_patient, 6, extra=1),
    Case("patients admin", "admin", lambda c: "/api/v1/patients/", _staff_patient, 6, extra=1),
    Case(
        "patients referrer",
        "referrer",
        lambda c: "/api/v1/patients/",
        _referred_patient,
        5,
        extra=1,
    ),
    Case(
        "patient detail care team",
        "nurse",
        lambda c: f"/api/v1/patients/{c.patient.pk}/",
        _care_team_member,
        5,
        listed=False,
    ),
    Case(
        "referring providers",
        "nurse",
        lambda c: "/api/v1/referring-providers/",
        _provider,
        5,
        extra=1,
    ),
    Case("users", "admin", lambda c: "/api/v1/users/", lambda c: UserFactory(), 5, extra=None),
    Case(
        "consents",
        "nurse",
        lambda c: "/api/v1/consents/",
        lambda c: ConsentFactory(patient=c.team_patient(), recorded_by=c.prescriber),
        5,
        extra=None,
    ),
    Case("evaluations", "nurse", lambda c: "/api/v1/evaluations/", _evaluation, 5, extra=None),
    Case(
        "evaluation amendments",
        "nurse",
        lambda c: f"/api/v1/evaluations/{c.evaluation.pk}/amendments/",
        lambda c: EvaluationAmendment.objects.create(
            evaluation=c.evaluation, author=c.nurse, text="Note."
        ),
        5,
    ),
    Case(
        "assessments",
        "nurse",
        lambda c: "/api/v1/assessments/",
        lambda c: AssessmentFactory(patient=c.team_patient(), recorded_by=c.nurse),
        5,
    ),
    Case("courses", "nurse", lambda c: "/api/v1/courses/", _course, 5, extra=1),
    Case(
        "sessions", "nurse", lambda c: "/api/v1/sessions/", lambda c: c.team_session(), 8, extra=1
    ),
    Case(
        "session detail with vitals",
        "nurse",
        lambda c: f"/api/v1/sessions/{c.session.pk}/",
        _flowsheet,
        7,
        listed=False,
    ),
    Case(
        "vitals",
        "nurse",
        _in_session("vitals/"),
        lambda c: VitalSignFactory(session=c.session, recorded_by=c.nurse),
        6,
    ),
    Case(
        "side effects",
        "nurse",
        _in_session("side-effects/"),
        lambda c: SideEffectFactory(session=c.session, recorded_by=c.nurse),
        6,
    ),
    Case(
        "mood notes",
        "nurse",
        _in_session("mood-notes/"),
        lambda c: MoodNoteFactory(session=c.session, recorded_by=c.nurse),
        6,
    ),
    Case(
        "session amendments",
        "nurse",
        _in_session("amendments/"),
        lambda c: SessionAmendment.objects.create(session=c.session, author=c.nurse, text="N."),
        6,
    ),
    Case(
        "alerts",
        "prescriber",
        lambda c: f"/api/v1/patients/{c.patient.pk}/alerts/",
        lambda c: SafetyAlertFactory(patient=c.patient),
        6,
    ),
    Case(
        "summaries staff",
        "prescriber",
        lambda c: "/api/v1/summaries/",
        lambda c: c.summary(c.team_patient()),
        5,
    ),
    Case(
        "summaries referrer",
        "referrer",
        lambda c: "/api/v1/summaries/",
        lambda c: c.summary(_referred_patient(c), released=True),
        5,
    ),
    Case(
        "audit events",
        "admin",
        lambda c: "/api/v1/audit-events/",
        lambda c: audit_record(action=AuditAction.VIEW, user=c.nurse, obj=c.patient),
        5,
        extra=None,
    ),
    Case("break-glass grants", "admin", lambda c: "/api/v1/break-glass-accesses/", _break_glass, 5),
    Case(
        "monitoring protocol versions",
        "nurse",
        lambda c: "/api/v1/monitoring-protocol/versions/",
        _protocol_version,
        5,
        extra=None,
    ),
]


def _detail(name, role, prefix: Callable[[Cast], str], add, budget) -> Case:
    """The first of the records ``add`` makes, while more of them are made."""
    return Case(
        f"{name} detail", role, lambda c: f"{prefix(c)}{c.first.pk}/", add, budget, listed=False
    )


def _course_session(c: Cast):
    return c.session_of(c.course)


DETAILS = [
    _detail("user", "admin", lambda c: "/api/v1/users/", lambda c: UserFactory(), 4),
    _detail("referring provider", "nurse", lambda c: "/api/v1/referring-providers/", _provider, 4),
    _detail("patient referrer", "referrer", lambda c: "/api/v1/patients/", _referred_patient, 4),
    _detail(
        "consent",
        "nurse",
        lambda c: "/api/v1/consents/",
        lambda c: ConsentFactory(patient=c.patient, recorded_by=c.prescriber),
        4,
    ),
    Case(
        "evaluation detail with amendments",
        "nurse",
        lambda c: f"/api/v1/evaluations/{c.evaluation.pk}/",
        lambda c: EvaluationAmendment.objects.create(
            evaluation=c.evaluation, author=c.nurse, text="Note."
        ),
        4,
        listed=False,
    ),
    _detail(
        "assessment",
        "nurse",
        lambda c: "/api/v1/assessments/",
        lambda c: AssessmentFactory(patient=c.patient, recorded_by=c.nurse),
        4,
    ),
    Case(
        "course detail with sessions",
        "nurse",
        lambda c: f"/api/v1/courses/{c.course.pk}/",
        _course_session,
        4,
        listed=False,
    ),
    Case(
        "course next session with sessions",
        "nurse",
        lambda c: f"/api/v1/courses/{c.course.pk}/next-session/",
        _course_session,
        6,
        listed=False,
    ),
    _detail(
        "vital",
        "nurse",
        _in_session("vitals/"),
        lambda c: VitalSignFactory(session=c.session, recorded_by=c.nurse),
        5,
    ),
    _detail(
        "side effect",
        "nurse",
        _in_session("side-effects/"),
        lambda c: SideEffectFactory(session=c.session, recorded_by=c.nurse),
        5,
    ),
    _detail(
        "mood note",
        "nurse",
        _in_session("mood-notes/"),
        lambda c: MoodNoteFactory(session=c.session, recorded_by=c.nurse),
        5,
    ),
    _detail(
        "session amendment",
        "nurse",
        _in_session("amendments/"),
        lambda c: SessionAmendment.objects.create(session=c.session, author=c.nurse, text="N."),
        5,
    ),
    _detail(
        "alert",
        "prescriber",
        lambda c: f"/api/v1/patients/{c.patient.pk}/alerts/",
        lambda c: SafetyAlertFactory(patient=c.patient),
        5,
    ),
    _detail(
        "summary staff",
        "prescriber",
        lambda c: "/api/v1/summaries/",
        lambda c: c.summary(c.patient),
        4,
    ),
    _detail(
        "summary referrer",
        "referrer",
        lambda c: "/api/v1/summaries/",
        lambda c: c.summary(c.patient, released=True),
        4,
    ),
    _detail(
        "audit event",
        "admin",
        lambda c: "/api/v1/audit-events/",
        lambda c: audit_record(action=AuditAction.VIEW, user=c.nurse, obj=c.patient),
        4,
    ),
    _detail(
        "break-glass grant", "admin", lambda c: "/api/v1/break-glass-accesses/", _break_glass, 4
    ),
    _detail(
        "monitoring protocol version",
        "nurse",
        lambda c: "/api/v1/monitoring-protocol/versions/",
        _protocol_version,
        4,
    ),
    Case(
        "monitoring protocol in force",
        "nurse",
        lambda c: "/api/v1/monitoring-protocol/",
        _protocol_version,
        4,
        listed=False,
    ),
]

WEB = [
    Case(
        "board",
        "nurse",
        lambda c: "/today/",
        lambda c: c.team_session(),
        12,
        web=True,
        shows=_patient_name,
    ),
    Case(
        "patient list",
        "nurse",
        lambda c: "/patients/",
        _staff_patient,
        9,
        web=True,
        shows=_patient_name,
    ),
    Case(
        "patient list admin",
        "admin",
        lambda c: "/patients/",
        _staff_patient,
        9,
        web=True,
        shows=_patient_name,
    ),
    Case(
        "board prescriber",
        "prescriber",
        lambda c: "/today/",
        lambda c: c.team_session(),
        12,
        web=True,
        shows=_patient_name,
    ),
    Case(
        "patient chart",
        "prescriber",
        lambda c: f"/patients/{c.patient.pk}/",
        _chart_records,
        26,
        web=True,
    ),
    Case(
        "charting screen",
        "nurse",
        lambda c: f"/sessions/{c.session.pk}/",
        _flowsheet,
        18,
        web=True,
    ),
    Case(
        "referrer portal",
        "referrer",
        lambda c: "/portal/",
        _portal_record,
        9,
        web=True,
        shows=_patient_name,
    ),
    Case(
        "audit log",
        "admin",
        lambda c: "/manage/audit/",
        lambda c: audit_record(action=AuditAction.VIEW, user=c.nurse, obj=c.patient),
        10,
        web=True,
    ),
    Case(
        "break-the-glass log",
        "admin",
        lambda c: "/manage/break-the-glass/",
        _break_glass,
        9,
        web=True,
    ),
    Case(
        "staff list",
        "admin",
        lambda c: "/manage/staff/",
        lambda c: UserFactory(),
        8,
        web=True,
        shows=lambda user: user.username,
    ),
    Case(
        "referring provider list",
        "admin",
        lambda c: "/manage/referring-providers/",
        _provider,
        8,
        web=True,
        shows=lambda provider: provider.name,
    ),
]


@pytest.fixture(autouse=True)
def _static_files_not_scanned(settings):
    # Each new test client loads the middleware: WhiteNoise would scan every static file.
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture
def cast(admin_user, prescriber, nurse, referrer_user, referrer):
    return Cast(admin_user, prescriber, nurse, referrer_user, referrer)


def _client(cast: Cast, case: Case):
    user = cast.users[case.role]
    if case.web:
        client = Client()
        client.force_login(user)
        return client
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured), response


def _rows(response) -> int:
    data = response.json()
    return len(data["results"] if isinstance(data, dict) else data)


@pytest.mark.parametrize("case", API + DETAILS + WEB, ids=lambda case: case.name)
def test_queries_do_not_grow_with_the_records_shown(cast, case, django_assert_max_num_queries):
    client = _client(cast, case)
    cast.first = case.add(cast)
    for _ in range(FEW - 1):
        case.add(cast)
    url = case.url(cast)
    client.get(url)  # warm: the first request of a client may look up its session or token
    few, response = _queries(client, url)
    _assert_shows(case, response, FEW)
    for _ in range(MANY - FEW):
        last = case.add(cast)

    with django_assert_max_num_queries(few):
        many, response = _queries(client, url)

    assert many == few, f"{case.name}: {few} queries for {FEW} records, {many} for {MANY}"
    assert few <= case.budget, f"{case.name}: {few} queries, budget {case.budget}"
    _assert_shows(case, response, MANY)
    if case.shows is not None:
        assert escape(case.shows(last)) in response.content.decode(), case.name
    if case.listed and not case.web:
        # A shorter page, which the list no longer fits on, adds at most its COUNT.
        with django_assert_max_num_queries(few + 1):
            client.get(url, {"page_size": 5})


def _assert_shows(case: Case, response, added: int):
    if case.web or not case.listed:
        return
    if case.extra is None:
        assert _rows(response) >= added, case.name
    else:
        assert _rows(response) == added + case.extra, case.name
