"""Demo data, the infusion board selector and the summary helpers the PDF uses."""

import datetime
import io
import itertools

import pytest
from django.utils import timezone

from ehr.seed import seed_users
from patients.models import Assessment, Patient, SafetyAlert
from patients.scales import treatment_response
from patients.selectors import baseline_scores
from sessions import monitoring, selectors
from sessions.models import InfusionSession, SideEffect, TreatmentCourse, VitalSign
from tests.sessions.factories import SideEffectFactory, VitalSignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    from patients import seed as patients_seed
    from sessions import seed as sessions_seed

    users = seed_users(password="demo")
    patients_seed.seed(users=users, stdout=io.StringIO())
    sessions_seed.seed(users=users, stdout=io.StringIO())
    return users


def _demo_counts():
    return (
        TreatmentCourse.objects.count(),
        InfusionSession.objects.count(),
        VitalSign.objects.count(),
        Assessment.objects.count(),
    )


def test_demo_sessions_are_created_once(demo):
    from sessions import seed as sessions_seed

    counts = _demo_counts()
    sessions_seed.seed(users=demo, stdout=io.StringIO())

    assert counts[0] >= 3
    assert _demo_counts() == counts


def test_demo_doses_are_verified_before_each_infusion_starts(demo):
    started = InfusionSession.objects.filter(started_at__isnull=False)

    assert started.filter(status="in_progress").count() == 1
    for session in started:
        assert session.dose_verified_at is not None, session
        assert session.dose_verified_at <= session.started_at, session
        assert session.dose_verified_by != session.created_by


def test_demo_follow_up_scales_show_response_or_remission(demo):
    outcomes = {}
    for patient in Patient.objects.filter(courses__isnull=False).distinct():
        baselines = baseline_scores(patient=patient)
        for instrument in ("GAD7", "PHQ9", "PCL5"):
            if instrument not in baselines:
                continue
            follow_ups = patient.assessments.filter(
                instrument=instrument, administered_at__gt=baselines[instrument].administered_at
            ).order_by("administered_at")
            assert follow_ups.exists(), (patient, instrument)
            latest = follow_ups.last()
            outcomes.setdefault(patient.pk, set()).add(
                treatment_response(
                    instrument=instrument,
                    baseline_total=baselines[instrument].total,
                    current_total=latest.total,
                )
            )

    improved = [p for p, seen in outcomes.items() if seen & {"response", "remission"}]
    assert len(improved) >= 2
    assert any("remission" in seen for seen in outcomes.values())
    # Follow-up PHQ-9s leave item 9 (self-harm) at 0: only baseline answers raise alerts.
    assert not SafetyAlert.objects.filter(assessment__evaluation__isnull=True).exists()


def test_demo_past_sessions_are_signed_with_vitals_every_15_minutes(demo):
    past = InfusionSession.objects.filter(signed_at__isnull=False)

    assert past.count() >= 10
    for session in past:
        times = [v.recorded_at for v in session.vitals.all()]
        gaps = {(b - a) for a, b in itertools.pairwise(times)}
        assert gaps == {datetime.timedelta(minutes=15)}, session
        assert times[-1] >= session.ended_at + datetime.timedelta(minutes=45)
        assert {n.phase for n in session.mood_notes.all()} == {"pre", "during", "post"}
        assert session.assessments.filter(instrument="CADSS").count() == 1


def test_demo_has_one_serious_adverse_event(demo):
    assert SideEffect.objects.filter(grade__gte=3).count() == 1
    assert InfusionSession.objects.filter(serious_adverse_event=True).count() == 1


def test_demo_board_shows_a_working_day(demo):
    today = selectors.sessions_for_day(user=demo["nurse"], day=timezone.localdate())

    statuses = [s.status for s in today]
    assert statuses.count("in_progress") == 1
    assert statuses.count("scheduled") >= 2
    running = next(s for s in today if s.status == "in_progress")
    assert running.vitals.count() >= 1


def test_demo_seed_does_nothing_without_eligible_patients(db):
    from sessions import seed as sessions_seed

    out = io.StringIO()
    sessions_seed.seed(users=seed_users(password="demo"), stdout=out)

    assert not TreatmentCourse.objects.exists()
    assert "0 new" in out.getvalue()


def test_board_for_the_day_costs_a_fixed_number_of_queries(
    running_session, nurse, django_assert_max_num_queries
):
    VitalSignFactory.create_batch(3, session=running_session, recorded_by=nurse, bp_systolic=182)
    SideEffectFactory(session=running_session, recorded_by=nurse)
    protocol = monitoring.current_protocol()

    with django_assert_max_num_queries(6):
        rows = [
            (
                s.course.patient.last_name,
                s.nurse,
                monitoring.session_active_alerts(session=s, protocol=protocol),
                monitoring.next_vitals_due_at(session=s, protocol=protocol),
            )
            for s in selectors.sessions_for_day(
                user=nurse, day=timezone.localdate(running_session.scheduled_for)
            )
        ]

    assert len(rows) == 1


def test_board_shows_the_latest_reading_alerts_and_an_overdue_reading(running_session, nurse):
    running_session.started_at = timezone.now() - datetime.timedelta(minutes=40)
    running_session.save()
    VitalSignFactory(
        session=running_session,
        recorded_by=nurse,
        recorded_at=timezone.now() - datetime.timedelta(minutes=20),
        spo2=90,
        alerts=["SpO2 90 % is below 92 %"],
    )
    session = selectors.sessions_for_day(
        user=nurse, day=timezone.localdate(running_session.scheduled_for)
    ).get()

    alerts = monitoring.session_active_alerts(
        session=session, protocol=monitoring.current_protocol()
    )

    assert alerts[0] == "SpO2 90 % is below 92 %"
    assert alerts[1].startswith("Vitals overdue since")


def test_board_is_empty_for_a_nurse_off_the_care_team(running_session, outside_nurse):
    day = timezone.localdate(running_session.scheduled_for)

    assert not selectors.sessions_for_day(user=outside_nurse, day=day).exists()


def test_peak_blood_pressure_is_the_highest_systolic_reading(running_session):
    for systolic, diastolic in [(130, 90), (152, 84), (152, 88), (140, 96)]:
        VitalSignFactory(session=running_session, bp_systolic=systolic, bp_diastolic=diastolic)

    assert monitoring.peak_blood_pressure(running_session.vitals.all()) == (152, 88)
    assert monitoring.peak_blood_pressure([]) is None


def test_worst_grade_per_effect_worst_first(running_session):
    for effect, grade, other in [
        ("nausea", 1, ""),
        ("nausea", 2, ""),
        ("dissociation", 3, ""),
        ("other", 1, "Tinnitus"),
        ("headache", 2, ""),
    ]:
        SideEffectFactory(session=running_session, effect=effect, grade=grade, other_text=other)

    assert monitoring.worst_grades_by_effect(running_session.side_effects.all()) == [
        ("Dissociation", 3),
        ("Headache", 2),
        ("Nausea", 2),
        ("Other: Tinnitus", 1),
    ]


def test_session_chart_prefetches_the_whole_flowsheet(
    running_session, nurse, django_assert_max_num_queries
):
    VitalSignFactory.create_batch(4, session=running_session, recorded_by=nurse)
    SideEffectFactory.create_batch(2, session=running_session, recorded_by=nurse)

    with django_assert_max_num_queries(10):
        chart = selectors.session_chart(user=nurse, pk=running_session.pk)
        assert len(chart.vitals.all()) == 4
        assert len(chart.side_effects.all()) == 2
        assert list(chart.mood_notes.all()) == []
        assert list(chart.amendments.all()) == []
