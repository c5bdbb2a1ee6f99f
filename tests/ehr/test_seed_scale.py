"""``manage.py seed_scale``: a synthetic clinic that the application itself accepts."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, DateTimeField, Max, Q
from django.utils import timezone

from ehr import scale
from ehr.models import User
from ehr.roles import Role
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
from patients.scales import score
from reports.models import TreatmentSummary, TreatmentSummaryUserObjectPermission
from sessions import services
from sessions.models import InfusionSession, MoodNote, SideEffect, TreatmentCourse, VitalSign
from sessions.monitoring import current_protocol, vitals_alerts
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PATIENTS = 60


@pytest.fixture
def private_storage(settings, tmp_path):
    """The generated summaries' PDFs go to a temporary private folder."""
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_STORAGE_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"].get("OPTIONS", {}), "location": str(root)},
        },
    }
    return root


def seed_scale(**options):
    out = io.StringIO()
    call_command("seed_scale", no_progress=True, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def clinic(private_storage):
    seed_scale(patients=PATIENTS, seed=7, chunk=25)


def test_a_small_clinic_has_the_promised_size_and_shape(clinic):
    sessions = InfusionSession.objects.count()
    vitals = VitalSign.objects.count()
    assert Patient.objects.count() == PATIENTS
    assert 7 * PATIENTS <= sessions <= 14 * PATIENTS
    assert 9 * sessions <= vitals <= 13 * sessions
    for model in (Consent, Evaluation, Assessment, TreatmentCourse, MoodNote, SideEffect):
        assert model.objects.exists(), model.__name__
    assert TreatmentSummary.objects.filter(released_at__isnull=False).count() == 1
    assert set(User.objects.filter(username__in=scale.KNOWN_USERS).values_list("role", flat=True))
    for username in scale.KNOWN_USERS:
        assert User.objects.get(username=username).check_password("scale")
    # Every patient has a care team with their responsible prescriber on it.
    teams = PatientUserObjectPermission.objects.filter(permission__codename=CARE_TEAM_PERMISSION)
    for patient in Patient.objects.all():
        assert teams.filter(content_object=patient, user=patient.responsible_prescriber).exists()


def test_every_generated_record_passes_model_validation(clinic):
    models = (
        ReferringProvider, Patient, Consent, Evaluation, Assessment, SafetyAlert,
        TreatmentCourse, InfusionSession, VitalSign, SideEffect, MoodNote, TreatmentSummary,
    )  # fmt: skip
    for model in models:
        records = list(model.objects.order_by("id"))
        # Forty records spread over the whole table (first, last and between).
        for record in records[:: max(1, len(records) // 40)] + records[-1:]:
            record.full_clean()


def test_generated_sessions_follow_the_clinical_rules(clinic):
    protocol = current_protocol()
    for course in TreatmentCourse.objects.all():
        numbers = list(course.sessions.order_by("number").values_list("number", flat=True))
        assert numbers == list(range(1, len(numbers) + 1))
        assert course.sessions.exclude(status="cancelled").count() <= course.planned_sessions
    for session in InfusionSession.objects.exclude(status__in=["scheduled", "cancelled"]):
        assert session.dose_verified_by_id not in (
            session.created_by_id,
            session.dose_prepared_by_id,
        )
        assert session.started_at >= session.dose_verified_at
        assert not services.session_dose_limit_errors(session)
    for session in InfusionSession.objects.filter(signed_at__isnull=False):
        assert not services.sign_blockers(session)
        assert session.serious_adverse_event == session.side_effects.filter(grade__gte=3).exists()
    for session in InfusionSession.objects.filter(status="scheduled"):
        assert session.course.status == TreatmentCourse.Status.ACTIVE
        assert not services.treatment_readiness_errors(patient=session.course.patient)
    for reading in VitalSign.objects.all()[:2000]:
        assert reading.alerts == vitals_alerts(
            systolic=reading.bp_systolic,
            diastolic=reading.bp_diastolic,
            heart_rate=reading.heart_rate,
            spo2=reading.spo2,
            resp_rate=reading.resp_rate,
            protocol=protocol,
        )
    for assessment in Assessment.objects.all():
        result = score(instrument=assessment.instrument, answers=assessment.answers)
        assert (assessment.total, assessment.severity) == (result.total, result.severity)
    active = Count("courses", filter=Q(courses__status=TreatmentCourse.Status.ACTIVE))
    assert not Patient.objects.annotate(active=active).filter(active__gt=1).exists()


def test_nothing_generated_happened_in_the_future(clinic):
    # Only appointments lie ahead; every charted, signed or created moment is past.
    soon = timezone.now() + datetime.timedelta(minutes=2)
    models = (
        Patient, Consent, Evaluation, Assessment, SafetyAlert, TreatmentCourse,
        InfusionSession, VitalSign, SideEffect, MoodNote,
    )  # fmt: skip
    for model in models:
        for f in model._meta.concrete_fields:
            if isinstance(f, DateTimeField) and f.name != "scheduled_for":
                latest = model.objects.aggregate(latest=Max(f.name))["latest"]
                assert latest is None or latest <= soon, f"{model.__name__}.{f.name}"


def test_a_care_team_nurse_reads_a_generated_record_and_an_outsider_gets_404(clinic, api):
    session = InfusionSession.objects.filter(signed_at__isnull=False).order_by("id").first()
    patient = session.course.patient
    team = PatientUserObjectPermission.objects.filter(content_object=patient).values("user")
    nurse = User.objects.filter(role=Role.NURSE, pk__in=team).first()
    client = api(nurse)
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code == 200
    assert client.get(f"/api/v1/sessions/{session.pk}/").status_code == 200
    vitals = client.get(f"/api/v1/sessions/{session.pk}/vitals/")
    assert vitals.status_code == 200
    assert vitals.json()["count"] == session.vitals.count() > 0
    outsider = UserFactory(username="nurse_elsewhere", role=Role.NURSE)
    assert api(outsider).get(f"/api/v1/patients/{patient.pk}/").status_code == 404


def test_the_referrer_sees_only_their_own_patients_and_released_summaries(clinic, api):
    referrer = User.objects.get(username="scale-referrer")
    theirs = set(
        Patient.objects.filter(referring_provider__user=referrer).values_list("id", flat=True)
    )
    assert theirs and len(theirs) < PATIENTS
    client = api(referrer)
    listed = client.get("/api/v1/patients/", {"page_size": 100}).json()
    assert {row["id"] for row in listed["results"]} == theirs
    summaries = client.get("/api/v1/summaries/").json()
    released = TreatmentSummary.objects.filter(released_to__user=referrer)
    assert {row["id"] for row in summaries["results"]} == set(released.values_list("id", flat=True))
    assert released.exists()


def test_a_second_run_refuses_and_clear_regenerates_the_same_clinic(clinic):
    mrns = sorted(Patient.objects.values_list("mrn", flat=True))
    with pytest.raises(CommandError, match="already in this database"):
        seed_scale(patients=PATIENTS, seed=7)
    assert sorted(Patient.objects.values_list("mrn", flat=True)) == mrns
    seed_scale(patients=PATIENTS, seed=7, chunk=25, clear=True)
    assert sorted(Patient.objects.values_list("mrn", flat=True)) == mrns
    assert User.objects.filter(username="scale-referrer").count() == 1


def test_clear_is_refused_once_the_audit_trail_names_generated_data(clinic, api):
    referrer = User.objects.get(username="scale-referrer")
    assert api(referrer).get("/api/v1/patients/").status_code == 200  # audited
    with pytest.raises(CommandError, match="audit"):
        seed_scale(patients=PATIENTS, clear=True)
    assert Patient.objects.count() == PATIENTS


def test_filler_permission_rows_change_the_table_not_what_the_referrer_sees(clinic, api):
    referrer = User.objects.get(username="scale-referrer")
    before = api(referrer).get("/api/v1/summaries/").json()["results"]
    seed_scale(permissions_only=True, extra_permission_rows=500)
    fillers = TreatmentSummaryUserObjectPermission.objects.filter(
        user__username__startswith="scale-filler-"
    )
    assert fillers.count() == 500
    assert not User.objects.filter(username__startswith="scale-filler-", is_active=True).exists()
    assert api(referrer).get("/api/v1/summaries/").json()["results"] == before
    seed_scale(permissions_only=True, extra_permission_rows=0)
    assert not fillers.exists()
    seed_scale(permissions_only=True, extra_permission_rows=300, extra_permission_kind="care-team")
    grants = PatientUserObjectPermission.objects.filter(user__username__startswith="scale-filler-")
    assert grants.count() == 300


@pytest.mark.django_db(transaction=True)
def test_the_generated_tables_are_left_as_autovacuum_leaves_a_database_in_service(
    private_storage,
):
    """Statistics for the planner everywhere; on PostgreSQL also the visibility map that
    lets the care-team grants be read from their index alone (as in a vacuumed database)."""
    from django.db import connection

    seed_scale(patients=20, seed=3, chunk=10, summaries=0)

    table = PatientUserObjectPermission._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT relpages, relallvisible FROM pg_class WHERE relname = %s", [table]
            )
            pages, all_visible = cursor.fetchone()
            assert pages > 0
            assert all_visible == pages
        else:
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
            assert cursor.fetchone()[0] > 0
