"""Demo treatment courses and infusion sessions for the eligible demo patients.

Idempotent: a patient who already has a course is left alone. Everything is
written through the services (and ``patients.services.assessment_create`` for
the rating scales), so the demo data obeys the clinic's rules: the nurse
prepares each dose and the prescriber verifies it before the start, vitals are
charted every 15 minutes through the infusion and the observation period, and
past sessions are discharged and signed. A few sessions fall on the day the
seed runs (one in progress), so the infusion board looks like a working clinic.

Follow-up GAD-7, PHQ-9 and PCL-5 scores (the instruments of each patient's
baseline) are given before some infusions and after a finished course, falling
along a per-patient course so the chart shows response and remission.

Randomness (vital signs, scores) is seeded from each patient's name and date of
birth: the same demo database every time.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from patients.models import Patient
from patients.scales import PHQ9_SELF_HARM_ITEM, answer_range, item_count
from patients.selectors import baseline_scores
from sessions import services
from sessions.models import InfusionSession, SideEffect, TreatmentCourse
from sessions.monitoring import current_protocol

try:  # The rating scales belong to the patients app.
    from patients.services import assessment_create
except ImportError:  # pragma: no cover - only while the patients app lacks it
    assessment_create = None

# Per eligible patient (in registration order): the past sessions and what
# happens today. ``today``: None, "in_progress", "verified", "hold" or "awaiting_verification";
# ``override_today``: today's dose is raised by a prescriber's override before it is verified.
# ``scales``: session number (or "after" the course) -> follow-up total as a fraction of the
# baseline, for each of the patient's baseline GAD-7, PHQ-9 and PCL-5.
PLANS = [
    dict(past=5, today="in_progress", future=0, scales={2: 0.75, 4: 0.5, 6: 0.4}),
    dict(past=4, today="verified", future=1, override_today=True, scales={2: 0.9, 4: 0.75}),
    dict(past=3, today="hold", future=2, serious_at=2, scales={3: 0.8}),
    dict(
        past=6, today=None, future=0, finished=True, scales={2: 0.7, 4: 0.4, 6: 0.25, "after": 0.2}
    ),
    dict(past=2, today="awaiting_verification", future=3, scales={2: 0.8}),
]
FOLLOW_UP_INSTRUMENTS = ("GAD7", "PHQ9", "PCL5")
# Days from the course start of each of the six induction infusions (2–3 a week).
INDUCTION_DAYS = [0, 2, 4, 7, 9, 11]

EFFECTS = [
    (SideEffect.Effect.DISSOCIATION, 2, "", "Reassurance; lights dimmed."),
    (SideEffect.Effect.NAUSEA, 1, "", "Ondansetron 4 mg IV."),
    (SideEffect.Effect.DIZZINESS, 1, "", "Remained seated until resolved."),
    (SideEffect.Effect.BLURRED_VISION, 1, "", ""),
    (SideEffect.Effect.HEADACHE, 1, "", "Paracetamol 1 g PO after discharge check."),
]
MOOD_TEXT = {
    "pre": [
        "A bit nervous about today but looking forward to it.",
        "Rough week; slept poorly. Keen to start.",
        "Feeling steadier than last time.",
    ],
    "during": [
        "Describes floating, colours vivid; calm.",
        "Quiet, eyes closed, responds appropriately.",
        "Some time distortion; not distressed.",
    ],
    "post": [
        "Feels lighter; 'the noise in my head is quieter'.",
        "Tired but calm. Oriented, eating a snack.",
        "Mild fogginess fading; mood brighter than on arrival.",
    ],
}


def seed(*, users: dict, stdout) -> None:
    nurse, prescriber = users["nurse"], users["prescriber"]
    patients = [
        patient
        for patient in Patient.objects.filter(
            evaluations__signed_at__isnull=False, consents__isnull=False
        )
        .distinct()
        .order_by("id")
        if not services.treatment_readiness_errors(patient=patient)
    ]
    created = 0
    for patient, plan in zip(patients, PLANS, strict=False):
        if TreatmentCourse.objects.filter(patient=patient).exists():
            continue
        _seed_patient(patient, plan, nurse=nurse, prescriber=prescriber)
        created += 1
    stdout.write(
        f"sessions: {created} new treatment courses "
        f"({InfusionSession.objects.count()} infusion sessions in all)."
    )


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _seed_patient(patient: Patient, plan: dict, *, nurse, prescriber) -> None:
    seed_text = f"{patient.first_name}|{patient.last_name}|{patient.date_of_birth}"
    rng = random.Random(seed_text)  # noqa: S311 - reproducible demo data, not security
    today = timezone.localdate()
    total = plan["past"] + (1 if plan["today"] else 0) + plan["future"]
    start = today - datetime.timedelta(days=INDUCTION_DAYS[plan["past"] - 1] + 2)
    course = services.course_order(
        actor=prescriber,
        patient=patient,
        start_date=start,
        protocol=TreatmentCourse.Protocol.INDUCTION,
        dose_mg_per_kg=Decimal("0.50"),
        infusion_minutes=40,
        planned_sessions=max(total, 6),
    )
    weight = Decimal(rng.choice(["61.4", "68.0", "72.5", "79.3", "88.6"]))
    hour = 8 + rng.randint(0, 3)
    scales = _FollowUps(patient, plan.get("scales", {}), nurse=nurse)
    end = None
    for number in range(1, plan["past"] + 1):
        day = start + datetime.timedelta(days=INDUCTION_DAYS[number - 1])
        end = _past_session(
            course,
            rng,
            scheduled_for=_at(day, hour),
            weight=weight,
            serious=plan.get("serious_at") == number,
            scales=scales,
            nurse=nurse,
            prescriber=prescriber,
        )
        weight += Decimal(rng.choice(["-0.4", "-0.2", "0.0", "0.2", "0.3"]))
    if plan["today"]:
        _today_session(
            course,
            rng,
            plan["today"],
            weight=weight,
            override=plan.get("override_today", False),
            scales=scales,
            nurse=nurse,
            prescriber=prescriber,
        )
    if end is not None and plan.get("finished"):
        # The follow-up visit the day after the last infusion.
        scales.give("after", at=end + datetime.timedelta(days=1))
    for extra in range(plan["future"]):
        services.session_create(
            actor=nurse,
            course=course,
            scheduled_for=_at(today + datetime.timedelta(days=2 + 2 * extra), hour),
            weight_kg=weight,
            dose_mg_per_kg=course.dose_mg_per_kg,
            nurse=nurse,
            supervising_prescriber=prescriber,
        )
    if plan.get("finished"):
        services.course_update(
            actor=prescriber, course=course, status=TreatmentCourse.Status.COMPLETED
        )


class _FollowUps:
    """Follow-up scores of one patient: each baseline instrument, scaled along the plan."""

    def __init__(self, patient: Patient, plan: dict, *, nurse):
        self.patient, self.plan, self.nurse = patient, plan, nurse
        self.baselines = {
            instrument: assessment.total
            for instrument, assessment in baseline_scores(patient=patient).items()
            if instrument in FOLLOW_UP_INSTRUMENTS
        }

    def give(self, when, *, at, session=None) -> None:
        fraction = self.plan.get(when)
        if fraction is None or assessment_create is None:
            return
        for instrument, baseline in sorted(self.baselines.items()):
            assessment_create(
                actor=self.nurse,
                patient=self.patient,
                instrument=instrument,
                answers=_answers(instrument, round(baseline * fraction)),
                administered_at=at,
                session=session,
            )


def _answers(instrument: str, total: int) -> list[int]:
    """Item answers adding up to ``total``, spread evenly; PHQ-9 item 9 (self-harm) stays 0."""
    count = item_count(instrument)
    _, highest = answer_range(instrument)
    self_harm = PHQ9_SELF_HARM_ITEM - 1 if instrument == "PHQ9" else None
    items = [item for item in range(count) if item != self_harm]
    answers = [0] * count
    for step in range(min(total, len(items) * highest)):
        answers[items[step % len(items)]] += 1
    return answers


def _vitals(rng, *, minute: int, infusion_minutes: int, base: tuple[int, int, int]) -> dict:
    """A plausible reading: pressure and pulse rise during the infusion and settle after."""
    systolic, diastolic, pulse = base
    if minute <= infusion_minutes:
        rise = min(minute, 20) * 0.8
    else:
        rise = max(0.0, 16 - (minute - infusion_minutes) * 0.4)
    return dict(
        bp_systolic=int(systolic + rise + rng.randint(-4, 4)),
        bp_diastolic=int(diastolic + rise / 2 + rng.randint(-3, 3)),
        heart_rate=int(pulse + rise / 2 + rng.randint(-4, 4)),
        spo2=rng.choice([96, 97, 98, 98, 99, 99]),
        resp_rate=rng.choice([12, 14, 14, 16]),
    )


def _prepare(
    course,
    rng,
    *,
    scheduled_for,
    weight,
    nurse,
    prescriber,
    verify=True,
    verified_at=None,
    preparer=None,
):
    """Schedule a session prepared by ``preparer`` (the nurse unless said); the prescriber
    verifies it unless ``verify`` is false."""
    pre = (rng.randint(118, 138), rng.randint(72, 86))
    session = services.session_create(
        actor=preparer or nurse,
        course=course,
        scheduled_for=scheduled_for,
        weight_kg=weight,
        dose_mg_per_kg=course.dose_mg_per_kg,
        nurse=nurse,
        supervising_prescriber=prescriber,
        fasting_confirmed=True,
        escort_confirmed=True,
        pre_bp_systolic=pre[0],
        pre_bp_diastolic=pre[1],
    )
    if verify:
        services.session_verify_dose(actor=prescriber, session=session, at=verified_at)
    return session, pre


def _mood(session, rng, phase: str, at, *, nurse, mood: int, anxiety: int) -> None:
    services.mood_note_record(
        actor=nurse,
        session_id=session.pk,
        recorded_at=at,
        phase=phase,
        mood=max(0, min(10, mood)),
        anxiety=max(0, min(10, anxiety)),
        text=rng.choice(MOOD_TEXT[phase]),
    )


def _past_session(
    course, rng, *, scheduled_for, weight, serious, scales, nurse, prescriber
) -> datetime.datetime:
    """A signed session on a past day; returns when its infusion ended."""
    protocol = current_protocol()
    # The prescriber checks the dose five minutes after the nurse prepared it, before the start.
    session, pre = _prepare(
        course,
        rng,
        scheduled_for=scheduled_for,
        weight=weight,
        nurse=nurse,
        prescriber=prescriber,
        verified_at=scheduled_for + datetime.timedelta(minutes=5),
    )
    scales.give(session.number, at=scheduled_for + datetime.timedelta(minutes=2), session=session)
    start = scheduled_for + datetime.timedelta(minutes=10)
    mood_before = rng.randint(2, 5)
    _mood(
        session,
        rng,
        "pre",
        start - datetime.timedelta(minutes=5),
        nurse=nurse,
        mood=mood_before,
        anxiety=rng.randint(5, 8),
    )
    services.session_start(actor=nurse, session=session, at=start)
    base = (pre[0], pre[1], rng.randint(64, 80))
    # A serious reaction stops the infusion at 25 minutes; otherwise it runs in full.
    end_minute = 25 if serious else session.infusion_minutes
    end = start + datetime.timedelta(minutes=end_minute)
    ended = False
    for minute in range(0, end_minute + protocol.observation_minutes + 1, 15):
        if not ended and minute >= end_minute:
            _finish(session, rng, start=start, end=end, serious=serious, nurse=nurse)
            ended = True
        values = _vitals(rng, minute=minute, infusion_minutes=end_minute, base=base)
        if serious and minute == 15:
            values.update(bp_systolic=184, bp_diastolic=108, heart_rate=112)
        services.vitals_record(
            actor=nurse,
            session_id=session.pk,
            recorded_at=start + datetime.timedelta(minutes=minute),
            **values,
        )
        if minute == 15:
            _mood(
                session,
                rng,
                "during",
                start + datetime.timedelta(minutes=minute, seconds=30),
                nurse=nurse,
                mood=mood_before + 2,
                anxiety=rng.randint(2, 4),
            )
    if not ended:
        _finish(session, rng, start=start, end=end, serious=serious, nurse=nurse)
    if assessment_create is not None:
        assessment_create(
            actor=nurse,
            patient=course.patient,
            instrument="CADSS",
            answers=[rng.choice([0, 0, 1, 1, 1, 2, 2, 3]) for _ in range(23)],
            administered_at=end + datetime.timedelta(minutes=15),
            session=session,
        )
    observed = end + datetime.timedelta(minutes=protocol.observation_minutes)
    _mood(
        session,
        rng,
        "post",
        observed,
        nurse=nurse,
        mood=mood_before + rng.randint(2, 4),
        anxiety=rng.randint(1, 3),
    )
    services.session_update(
        actor=nurse,
        session=session,
        discharge_at=observed + datetime.timedelta(minutes=5),
        discharge_alert_oriented=True,
        discharge_vitals_baseline=True,
        discharge_ambulating=True,
        discharge_escort_present=True,
    )
    services.session_sign(actor=prescriber, session=session)
    return end


def _finish(session, rng, *, start, end, serious: bool, nurse) -> None:
    """End the infusion: stopped early for the serious reaction, otherwise completed."""
    if serious:
        services.side_effect_record(
            actor=nurse,
            session_id=session.pk,
            effect=SideEffect.Effect.HYPERTENSION,
            grade=3,
            onset_at=start + datetime.timedelta(minutes=15),
            resolved_at=end + datetime.timedelta(minutes=45),
            intervention="Infusion paused then stopped; labetalol 10 mg IV; prescriber at bedside.",
            note="184/108 at 15 minutes with headache; 142/88 45 minutes after stopping.",
        )
        services.session_stop(
            actor=nurse,
            session=session,
            reason="Blood pressure 184/108 despite pausing the infusion (grade 3 hypertension).",
            at=end,
        )
        return
    for effect, grade, other, intervention in rng.sample(EFFECTS, rng.randint(0, 2)):
        services.side_effect_record(
            actor=nurse,
            session_id=session.pk,
            effect=effect,
            grade=grade,
            other_text=other,
            onset_at=start + datetime.timedelta(minutes=rng.randint(5, 30)),
            resolved_at=end + datetime.timedelta(minutes=rng.randint(5, 40)),
            intervention=intervention,
        )
    services.session_complete(actor=nurse, session=session, at=end)


def _today_session(course, rng, kind: str, *, weight, override, scales, nurse, prescriber) -> None:
    now = timezone.now()
    day_start = _at(timezone.localdate(), 0)
    if kind == "in_progress":
        start = max(now - datetime.timedelta(minutes=25), day_start)
        prepared = max(start - datetime.timedelta(minutes=10), day_start)
        session, pre = _prepare(
            course,
            rng,
            scheduled_for=prepared,
            weight=weight,
            nurse=nurse,
            prescriber=prescriber,
            verified_at=max(start - datetime.timedelta(minutes=5), day_start),
        )
        scales.give(session.number, at=prepared, session=session)
        _mood(session, rng, "pre", start, nurse=nurse, mood=4, anxiety=6)
        services.session_start(actor=nurse, session=session, at=start)
        base = (pre[0], pre[1], rng.randint(64, 80))
        for minute in range(0, 26, 15):
            at = start + datetime.timedelta(minutes=minute)
            if at > now:
                break
            values = _vitals(rng, minute=minute, infusion_minutes=40, base=base)
            services.vitals_record(actor=nurse, session_id=session.pk, recorded_at=at, **values)
        return
    later = max(now + datetime.timedelta(hours=1), day_start)
    if timezone.localtime(later).date() != timezone.localdate():
        later = now  # Late evening: keep it on today's board.
    session, _ = _prepare(
        course,
        rng,
        scheduled_for=later,
        weight=weight,
        nurse=nurse,
        prescriber=prescriber,
        verify=kind != "awaiting_verification" and not override,
        # The prescriber who raises the dose prepares it; the nurse is the second pair of eyes.
        preparer=prescriber if override else nurse,
    )
    if override:
        services.session_override_dose(
            actor=prescriber,
            session=session,
            dose_mg_per_kg=Decimal("0.60"),
            reason="Partial response at 0.5 mg/kg after four infusions; well tolerated.",
        )
        services.session_verify_dose(actor=nurse, session=session)
    if kind == "hold":
        # The start waits for a prescriber's go-ahead.
        services.session_update(
            actor=nurse, session=session, pre_bp_systolic=164, pre_bp_diastolic=98
        )
