"""Vital-sign rules of the clinic's monitoring protocol.

The thresholds are data (``MonitoringProtocol``, versioned: a change is a new
row); these functions are the only place that compares a reading with them. The
API, the charting screen, the infusion board and the PDF all call them.

- pause alerts: systolic ≥ 180 or diastolic ≥ 110 mmHg, heart rate ≥ 130 or ≤ 45,
  SpO2 < 92 %, respiratory rate < 10 (defaults of protocol v1);
- pre-infusion hold: systolic ≥ 160 **or** diastolic ≥ 100 mmHg (either number
  alone at or above its threshold holds the start);
- readings due every ``vitals_interval_minutes`` from the start of the infusion
  until ``observation_minutes`` after it ended.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from ehr.database import instance_from_row
from sessions.models import InfusionSession, MonitoringProtocol

#: Physically possible ranges; anything outside is a typing or device error.
POSSIBLE_RANGES = {
    "bp_systolic": (50, 280, "Systolic blood pressure", "mmHg"),
    "bp_diastolic": (20, 180, "Diastolic blood pressure", "mmHg"),
    "heart_rate": (20, 250, "Heart rate", "/min"),
    "spo2": (50, 100, "SpO2", "%"),
    "resp_rate": (4, 60, "Respiratory rate", "/min"),
}


@functools.cache
def protocol_in_force_sql() -> str:
    """The newest protocol version's columns (no row when the table is empty), in the
    order ``protocol_from_row`` takes them.

    A constant statement, written once from the model (the ORM would build and compile
    the same query for every reading charted); its columns are named, so a prepared
    statement stays valid however the table changes.
    """
    quote = connection.ops.quote_name
    meta = MonitoringProtocol._meta
    columns = ", ".join(quote(field.column) for field in meta.concrete_fields)
    table, version = quote(meta.db_table), quote(meta.get_field("version").column)
    # Identifiers only, quoted; no value goes into the statement.
    return f"SELECT {columns} FROM {table} ORDER BY {version} DESC LIMIT 1"  # noqa: S608  # nosec B608


def protocol_from_row(values) -> MonitoringProtocol:
    """The protocol read by ``protocol_in_force_sql`` (its columns, in that order)."""
    return instance_from_row(
        MonitoringProtocol, tuple(MonitoringProtocol._meta.concrete_fields), values
    )


def current_protocol() -> MonitoringProtocol:
    """The protocol in force: the newest version (the clinic defaults, v1, if none exists).

    Read from the database every time, never cached: a version a prescriber
    publishes applies to the next reading on every worker.
    """
    with connection.cursor() as cursor:
        cursor.execute(protocol_in_force_sql())
        row = cursor.fetchone()
    if row is None:
        # The data migration creates v1; a database emptied since (e.g. flushed) gets it back.
        protocol, _ = MonitoringProtocol.objects.get_or_create(
            version=1, defaults={"note": "Clinic defaults"}
        )
        return protocol
    return protocol_from_row(row)


def _range_error(field: str, value) -> str | None:
    low, high, label, unit = POSSIBLE_RANGES[field]
    if value is None:
        return f"{label} is required."
    if not (low <= value <= high):
        return f"{label} {value} {unit} is not possible; enter a value between {low} and {high}."
    return None


def blood_pressure_impossible_errors(*, systolic, diastolic) -> dict[str, str]:
    """Field -> message for an impossible blood pressure (ranges; diastolic below systolic)."""
    errors = {}
    for field, value in (("bp_systolic", systolic), ("bp_diastolic", diastolic)):
        message = _range_error(field, value)
        if message:
            errors[field] = message
    if not errors and diastolic >= systolic:
        errors["bp_diastolic"] = (
            f"Diastolic {diastolic} mmHg must be below systolic {systolic} mmHg."
        )
    return errors


def vitals_impossible_errors(*, systolic, diastolic, heart_rate, spo2, resp_rate) -> dict[str, str]:
    """Field -> message for physically impossible values (empty when the reading is possible)."""
    errors = blood_pressure_impossible_errors(systolic=systolic, diastolic=diastolic)
    for field, value in (("heart_rate", heart_rate), ("spo2", spo2), ("resp_rate", resp_rate)):
        message = _range_error(field, value)
        if message:
            errors[field] = message
    return errors


def vitals_alerts(
    *, systolic, diastolic, heart_rate, spo2, resp_rate, protocol: MonitoringProtocol
) -> list[str]:
    """The pause alerts a reading raises under ``protocol`` (empty list: no alert)."""
    p = protocol
    alerts = []
    if systolic >= p.pause_systolic_at:
        alerts.append(
            f"Systolic blood pressure {systolic} mmHg is at or above {p.pause_systolic_at}: "
            "pause the infusion and inform the prescriber."
        )
    if diastolic >= p.pause_diastolic_at:
        alerts.append(
            f"Diastolic blood pressure {diastolic} mmHg is at or above {p.pause_diastolic_at}: "
            "pause the infusion and inform the prescriber."
        )
    if heart_rate >= p.heart_rate_high_at:
        alerts.append(
            f"Heart rate {heart_rate}/min is at or above {p.heart_rate_high_at}: "
            "pause the infusion and inform the prescriber."
        )
    if heart_rate <= p.heart_rate_low_at:
        alerts.append(
            f"Heart rate {heart_rate}/min is at or below {p.heart_rate_low_at}: "
            "pause the infusion and inform the prescriber."
        )
    if spo2 < p.spo2_below:
        alerts.append(
            f"SpO2 {spo2} % is below {p.spo2_below} %: "
            "pause the infusion, support the airway and inform the prescriber."
        )
    if resp_rate < p.resp_rate_below:
        alerts.append(
            f"Respiratory rate {resp_rate}/min is below {p.resp_rate_below}: "
            "pause the infusion, rouse the patient and inform the prescriber."
        )
    return alerts


def pre_infusion_hold(*, systolic, diastolic, protocol: MonitoringProtocol) -> bool:
    """Whether a pre-infusion blood pressure holds the start (systolic OR diastolic at/above)."""
    if systolic is None or diastolic is None:
        return False
    return systolic >= protocol.hold_pre_systolic_at or diastolic >= protocol.hold_pre_diastolic_at


def awaiting_go_ahead(*, session: InfusionSession, protocol: MonitoringProtocol) -> bool:
    """Whether a scheduled session's start is held by its pre-infusion blood pressure and
    no prescriber has recorded a go-ahead yet."""
    return (
        session.status == InfusionSession.Status.SCHEDULED
        and session.go_ahead_at is None
        and pre_infusion_hold(
            systolic=session.pre_bp_systolic, diastolic=session.pre_bp_diastolic, protocol=protocol
        )
    )


def pre_infusion_hold_message(*, systolic, diastolic, protocol: MonitoringProtocol) -> str:
    return (
        f"Pre-infusion blood pressure {systolic}/{diastolic} mmHg is at or above the hold "
        f"threshold of {protocol.hold_pre_systolic_at}/{protocol.hold_pre_diastolic_at}: "
        "the infusion may start only after a prescriber records a go-ahead."
    )


def timing_protocol(*, session: InfusionSession, current: MonitoringProtocol) -> MonitoringProtocol:
    """The protocol whose interval and observation period time a session's readings.

    Once the infusion has started, the version in force at its start (a change
    published mid-infusion does not alter its cadence); before, ``current``.
    Alerts on new readings always use the version in force when they are taken.
    """
    return session.protocol if session.started_at is not None else current


def _latest_reading_at(session: InfusionSession) -> datetime.datetime | None:
    # A selector's annotation, then prefetched readings, then one query.
    if hasattr(session, "latest_vitals_at"):
        return session.latest_vitals_at
    cache = getattr(session, "_prefetched_objects_cache", {})
    if "vitals" in cache:
        times = [v.recorded_at for v in cache["vitals"]]
        return max(times) if times else None
    latest = session.vitals.order_by("-recorded_at").values_list("recorded_at", flat=True).first()
    return latest


def monitoring_ends_at(
    *, session: InfusionSession, protocol: MonitoringProtocol
) -> datetime.datetime | None:
    """End of the observation period (None while the infusion runs or if it never started)."""
    if session.ended_at is None:
        return None
    return session.ended_at + datetime.timedelta(minutes=protocol.observation_minutes)


def next_vitals_due_at(
    *, session: InfusionSession, protocol: MonitoringProtocol, now=None
) -> datetime.datetime | None:
    """When the next reading is due, or None when none is (not started, done, signed).

    Readings are due every ``vitals_interval_minutes`` counted from the latest
    reading taken since the start (or from the start itself), during the
    infusion and until the observation period after it ends. A session whose
    patient has been discharged or that is signed needs no further reading.
    """
    status = InfusionSession.Status
    if session.started_at is None or session.is_signed or session.discharge_at is not None:
        return None
    if session.status not in (status.IN_PROGRESS, status.COMPLETED, status.STOPPED_EARLY):
        return None
    anchor = session.started_at
    latest = _latest_reading_at(session)
    if latest is not None and latest > anchor:
        anchor = latest
    due = anchor + datetime.timedelta(minutes=protocol.vitals_interval_minutes)
    ends = monitoring_ends_at(session=session, protocol=protocol)
    if ends is not None and due > ends:
        return None
    return due


def vitals_overdue(*, session: InfusionSession, protocol: MonitoringProtocol, now=None) -> bool:
    """Whether a due reading has not been taken by now."""
    due = next_vitals_due_at(session=session, protocol=protocol, now=now)
    return due is not None and (now or timezone.now()) > due


def peak_blood_pressure(vitals: Iterable) -> tuple[int, int] | None:
    """The reading with the highest systolic (ties: higher diastolic), as (systolic, diastolic)."""
    peak = None
    for reading in vitals:
        candidate = (reading.bp_systolic, reading.bp_diastolic)
        if peak is None or candidate > peak:
            peak = candidate
    return peak


def side_effect_label(side_effect) -> str:
    if side_effect.effect == side_effect.Effect.OTHER and side_effect.other_text:
        return f"Other: {side_effect.other_text}"
    return side_effect.get_effect_display().capitalize()


def worst_grades_by_effect(side_effects: Iterable) -> list[tuple[str, int]]:
    """(effect label, worst grade) per effect, worst first then by label.

    ``other`` effects are told apart by their text.
    """
    worst: dict[str, int] = {}
    for side_effect in side_effects:
        label = side_effect_label(side_effect)
        worst[label] = max(worst.get(label, 0), side_effect.grade)
    return sorted(worst.items(), key=lambda item: (-item[1], item[0].lower()))


def is_serious_adverse_event(grade: int) -> bool:
    """Grade 3 or above (CTCAE: severe, life-threatening, death) is a serious adverse event."""
    return grade >= 3


def session_active_alerts(
    *, session: InfusionSession, protocol: MonitoringProtocol, now=None
) -> list[str]:
    """What the infusion board shows for a session right now.

    The latest reading's pause alerts (as recorded with it), an overdue reading,
    a pre-infusion hold awaiting go-ahead and a serious adverse event.
    """
    alerts = []
    status = InfusionSession.Status
    if awaiting_go_ahead(session=session, protocol=protocol):
        alerts.append(
            pre_infusion_hold_message(
                systolic=session.pre_bp_systolic,
                diastolic=session.pre_bp_diastolic,
                protocol=protocol,
            )
        )
    if session.status in (status.IN_PROGRESS, status.COMPLETED, status.STOPPED_EARLY):
        readings = list(session.vitals.all())
        if readings:
            latest = max(readings, key=lambda v: (v.recorded_at, v.id))
            alerts.extend(latest.alerts)
        timing = timing_protocol(session=session, current=protocol)
        due = next_vitals_due_at(session=session, protocol=timing, now=now)
        if due is not None and (now or timezone.now()) > due:
            alerts.append(f"Vitals overdue since {timezone.localtime(due):%H:%M}.")
    if session.serious_adverse_event:
        alerts.append("Serious adverse event (side effect grade 3 or above) recorded.")
    return alerts
