"""The access functions for treatment courses, infusion sessions and their flowsheets.

Every read starts from ``patients.selectors.scoped_to_clinical_patients``: a
clinician reaches the courses and sessions of the patients on their care team
(or opened by break-the-glass); anyone else reaches none. ``*_get_for_user``
answers 404 for what the user may not see.
"""

from __future__ import annotations

import datetime
from functools import cache

from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404

from ehr.database import instance_from_row
from ehr.grants import quoted_names
from patients.models import Consent, Evaluation
from patients.selectors import clinical_patient_ids, scoped_to_clinical_patients
from sessions import monitoring
from sessions.models import (
    InfusionSession,
    MonitoringProtocol,
    MoodNote,
    SessionAmendment,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)

#: What every reader of a session uses: its course and the protocol it was charted under.
_SESSION_RELATED = ("course", "protocol")
#: The patient and the people named on a session, joined for pages that print their
#: names. Eight more joins make PostgreSQL spend far longer planning the query than
#: running it, and the patient's columns double what Django builds per row, so readers
#: that need only their ids (the API) leave them out.
_SESSION_PEOPLE = (
    "course__patient",
    "nurse",
    "supervising_prescriber",
    "dose_prepared_by",
    "dose_verified_by",
    "dose_override_by",
    "go_ahead_by",
    "signed_by",
    "created_by",
)


def _get_or_404(queryset: QuerySet, pk, what: str):
    try:
        return queryset.get(pk=int(pk))
    except (ValueError, TypeError, queryset.model.DoesNotExist):
        raise Http404(f"No such {what}.") from None


# Treatment courses


def course_list_for_user(*, user) -> QuerySet[TreatmentCourse]:
    """Courses of the patients whose clinical records the user may read."""
    queryset = TreatmentCourse.objects.select_related("patient", "ordered_by")
    return scoped_to_clinical_patients(queryset, user=user, patient_path="patient")


def course_get_for_user(*, user, pk) -> TreatmentCourse:
    """One course the user may read, or 404."""
    return _get_or_404(course_list_for_user(user=user), pk, "treatment course")


# Infusion sessions


def session_list_for_user(*, user, people: bool = True) -> QuerySet[InfusionSession]:
    """Sessions the user may read, with the people named on them and the latest reading time.

    ``latest_vitals_at`` (annotation) lets ``sessions.monitoring.next_vitals_due_at``
    work without a query per session. ``people=False``: the patient and the people
    named on each session are not joined (their ids are there; reading one costs a
    query).
    """
    latest = VitalSign.objects.filter(session=OuterRef("pk")).order_by("-recorded_at")
    related = _SESSION_RELATED + (_SESSION_PEOPLE if people else ())
    queryset = (
        InfusionSession.objects.select_related(*related)
        .annotate(latest_vitals_at=Subquery(latest.values("recorded_at")[:1]))
        .order_by("scheduled_for", "id")
    )
    return scoped_to_clinical_patients(queryset, user=user, patient_path="course__patient")


#: The order of ``patients.selectors.latest_signed_evaluation``: the first is the latest.
_SIGNED_EVALUATIONS_NEWEST_FIRST = ("-evaluated_on", "-signed_at", "-id")


def sessions_with_treatment_readiness(queryset: QuerySet[InfusionSession]) -> QuerySet:
    """``queryset`` with what ``sessions.services.treatment_readiness_errors`` reads about
    each session's patient prefetched (signed evaluations newest first, consents on file),
    so a list of scheduled sessions costs no query per row for its start blockers."""
    return queryset.prefetch_related(
        Prefetch(
            "course__patient__evaluations",
            queryset=Evaluation.objects.filter(signed_at__isnull=False).order_by(
                *_SIGNED_EVALUATIONS_NEWEST_FIRST
            ),
            to_attr="signed_evaluations_newest_first",
        ),
        Prefetch(
            "course__patient__consents",
            queryset=Consent.objects.only("id", "patient_id"),
            to_attr="consents_on_file",
        ),
    )


def session_get_for_user(*, user, pk, people: bool = True) -> InfusionSession:
    """One session the user may read, or 404 (``people``: as ``session_list_for_user``)."""
    return _get_or_404(session_list_for_user(user=user, people=people), pk, "infusion session")


def session_reach_for_user(*, user, pk) -> InfusionSession:
    """One session the user may read, or 404: its id and its patient's id only.

    For reading the entries charted under a session (vitals, side effects, mood
    notes, amendments): their views need no more. The services that chart under it
    read the row with the lock, through the charting user's reach
    (``session_for_charting``).
    """
    sessions = InfusionSession.objects.select_related("course").only("id", "course__patient")
    queryset = scoped_to_clinical_patients(sessions, user=user, patient_path="course__patient")
    return _get_or_404(queryset, pk, "infusion session")


#: What charting under a session reads of it: whether it is still open, its day (charted
#: times), whether it is a serious adverse event, and its course (whose patient the audit
#: event names).
CHARTING_FIELDS = ("id", "course", "scheduled_for", "status", "signed_at", "serious_adverse_event")


_COURSE_FIELDS = (TreatmentCourse._meta.pk, TreatmentCourse._meta.get_field("patient"))


@cache
def _charting_fields() -> tuple:
    """The session's ``CHARTING_FIELDS``, in the order ``from_db`` takes them."""
    return tuple(f for f in InfusionSession._meta.concrete_fields if f.name in CHARTING_FIELDS)


@cache
def _charting_sql(reach_sql: str, *, with_protocol: bool) -> str:
    """The statement of ``session_for_charting``: written once per form, from the models.

    The session's ``CHARTING_FIELDS`` and its course's patient, for the session id
    (first parameter) if that patient is among ``reach_sql``'s (the user's reach; its
    parameters follow), locked ``FOR UPDATE OF`` the session row alone. With the
    protocol, the columns of the version in force follow.
    """
    quote = connection.ops.quote_name
    names = quoted_names(
        sessions=(InfusionSession, None),
        session_id=(InfusionSession, "id"),
        session_course=(InfusionSession, "course"),
        courses=(TreatmentCourse, None),
        course_id=(TreatmentCourse, "id"),
        course_patient=(TreatmentCourse, "patient"),
    )
    columns = [f"charted.{quote(f.column)}" for f in _charting_fields()]
    columns.append("course.{course_patient}".format(**names))
    joins = "JOIN {courses} course ON course.{course_id} = charted.{session_course}"
    if with_protocol:
        # The protocol statement's columns, in its order (``monitoring.protocol_from_row``).
        columns.append("in_force.*")
        # Never empty here: the session itself keeps a protocol version (PROTECT).
        joins += f" CROSS JOIN ({monitoring.protocol_in_force_sql()}) in_force"
    lock = " FOR UPDATE OF charted" if connection.features.has_select_for_update_of else ""
    # Identifiers only (quoted names from the models) and two constant statements
    # written the same way; every value is a parameter.
    return (
        f"SELECT {', '.join(columns)} FROM {{sessions}} charted {joins}"  # noqa: S608  # nosec B608
        f" WHERE charted.{{session_id}} = %s AND course.{{course_patient}} IN ({reach_sql})"
        f"{lock}"
    ).format(**names)


def _charting_row(*, user, pk, with_protocol: bool) -> tuple[InfusionSession, tuple]:
    """The session (its course cached on it) and the rest of the row: 404 outside reach."""
    reach = clinical_patient_ids(user=user)
    try:
        pk = int(pk)
    except (ValueError, TypeError):
        reach = None
    row = None
    if reach is not None:
        with connection.cursor() as cursor:
            sql = _charting_sql(reach.sql, with_protocol=with_protocol)
            cursor.execute(sql, (pk, *reach.params))
            row = cursor.fetchone()
    if row is None:
        raise Http404("No such infusion session.")
    fields = _charting_fields()
    count = len(fields)
    session = instance_from_row(InfusionSession, fields, row[:count])
    course = instance_from_row(TreatmentCourse, _COURSE_FIELDS, (session.course_id, row[count]))
    InfusionSession.course.field.set_cached_value(session, course)
    return session, row[count + 1 :]


def session_for_charting(*, user, pk) -> InfusionSession:
    """The session, locked for charting under it, or 404 outside the user's reach.

    One statement checks the reach and takes the lock (``FOR UPDATE OF`` the session
    row alone), so it runs inside the transaction that writes. It reads the
    ``CHARTING_FIELDS`` only (and the course's patient): a service that saves the
    session itself reads it whole.
    """
    session, _ = _charting_row(user=user, pk=pk, with_protocol=False)
    return session


def session_for_vitals(*, user, pk) -> tuple[InfusionSession, MonitoringProtocol]:
    """``session_for_charting``, and the monitoring protocol in force read by the same
    statement (never cached: a version published a moment ago judges this reading)."""
    session, protocol_row = _charting_row(user=user, pk=pk, with_protocol=True)
    return session, monitoring.protocol_from_row(protocol_row)


def sessions_for_day(*, user, day: datetime.date) -> QuerySet[InfusionSession]:
    """The infusion board: sessions scheduled on ``day`` (clinic time zone), in time order.

    Each session carries its patient, nurse and prescriber, and prefetched
    vitals and side effects, so ``sessions.monitoring.session_active_alerts``
    and ``next_vitals_due_at`` cost no query per row.
    """
    return (
        session_list_for_user(user=user)
        .filter(scheduled_for__date=day)
        .prefetch_related(
            Prefetch("vitals", queryset=VitalSign.objects.order_by("recorded_at", "id")),
            "side_effects",
        )
        .order_by("scheduled_for", "id")
    )


def session_chart(*, user, pk) -> InfusionSession:
    """One session with its whole flowsheet prefetched (vitals, side effects, mood notes,
    amendments, scales) and what its patient's readiness for treatment reads (which the
    dose verification and the start both show), or 404. For the charting screen."""
    queryset = sessions_with_treatment_readiness(session_list_for_user(user=user))
    queryset = queryset.prefetch_related(
        Prefetch(
            "vitals",
            queryset=VitalSign.objects.select_related(
                "protocol", "recorded_by", "corrected_by"
            ).order_by("recorded_at", "id"),
        ),
        Prefetch(
            "side_effects",
            queryset=SideEffect.objects.select_related("recorded_by", "corrected_by"),
        ),
        Prefetch(
            "mood_notes",
            queryset=MoodNote.objects.select_related("recorded_by", "corrected_by"),
        ),
        Prefetch("amendments", queryset=SessionAmendment.objects.select_related("author")),
        "assessments",
    )
    return _get_or_404(queryset, pk, "infusion session")


def sessions_for_patient_record(
    *, patient, period_start: datetime.date | None = None, period_end: datetime.date | None = None
) -> QuerySet[InfusionSession]:
    """Every session of one patient (optionally within a date range) with its flowsheet.

    For documents built for an already authorised request (the treatment summary
    task): the caller has checked the user's access to ``patient``.
    """
    queryset = (
        InfusionSession.objects.filter(course__patient=patient)
        .select_related(*_SESSION_RELATED, "course__patient")
        .prefetch_related(
            Prefetch("vitals", queryset=VitalSign.objects.order_by("recorded_at", "id")),
            "side_effects",
            "mood_notes",
            Prefetch("amendments", queryset=SessionAmendment.objects.select_related("author")),
            "assessments",
        )
        .order_by("scheduled_for", "id")
    )
    if period_start is not None:
        queryset = queryset.filter(scheduled_for__date__gte=period_start)
    if period_end is not None:
        queryset = queryset.filter(scheduled_for__date__lte=period_end)
    return queryset


# Flowsheet entries of one session (the session was reached through a selector).
# They are read through its related managers: each entry's ``session`` is then the
# session given (with its course), so naming an entry's patient (for the audit) costs
# no query. The API names the people on an entry by id: their users are not joined.


def vitals_of_session(*, session: InfusionSession) -> QuerySet[VitalSign]:
    return session.vitals.all().select_related("protocol").order_by("recorded_at", "id")


def vital_sign_of_session(*, session: InfusionSession, pk) -> VitalSign:
    """One reading of the session, or 404 (a reading of another session is not found here)."""
    return _get_or_404(vitals_of_session(session=session), pk, "vital-signs reading")


def side_effects_of_session(*, session: InfusionSession) -> QuerySet[SideEffect]:
    return session.side_effects.all().order_by("onset_at", "id")


def mood_notes_of_session(*, session: InfusionSession) -> QuerySet[MoodNote]:
    return session.mood_notes.all().order_by("recorded_at", "id")


def mood_note_of_session(*, session: InfusionSession, pk) -> MoodNote:
    """One mood note of the session, or 404."""
    return _get_or_404(mood_notes_of_session(session=session), pk, "mood note")


def amendments_of_session(*, session: InfusionSession) -> QuerySet[SessionAmendment]:
    return session.amendments.all().order_by("created_at", "id")


# Monitoring protocol (clinic configuration, not patient data)


def monitoring_protocol_versions() -> QuerySet[MonitoringProtocol]:
    """Every published version, newest first."""
    return MonitoringProtocol.objects.select_related("created_by").order_by("-version")
