"""The infusion sessions API: thin views over ``sessions.selectors`` and ``sessions.services``.

Reads start from the selectors (404 outside the user's clinical patients);
writes call the services, whose errors become 400 / 403 / 409 in
``ehr.api.exceptions``. Every request leaves exactly one audit event
(``ehr.api.base.AuditedAPIMixin``).
"""

from __future__ import annotations

from django.utils import timezone
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from ehr.api.base import ClinicViewSet, ReadCreateViewSet, ReadOnlyClinicViewSet
from ehr.filters import IdFilter
from ehr.models import AuditAction
from ehr.roles import Capability
from sessions import monitoring, selectors, services
from sessions.api.serializers import (
    ActionTimeSerializer,
    CourseOrderSerializer,
    CourseSerializer,
    MonitoringProtocolSerializer,
    MoodNoteSerializer,
    NextSessionProposalSerializer,
    OverrideSerializer,
    ReasonSerializer,
    SessionAmendmentSerializer,
    SessionCreateSerializer,
    SessionSerializer,
    SessionUpdateSerializer,
    SideEffectSerializer,
    StopSerializer,
    VerifyDoseSerializer,
    VitalSignSerializer,
)
from sessions.models import (
    InfusionSession,
    MoodNote,
    SessionAmendment,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)

_400 = OpenApiResponse(
    description="Invalid input or a clinical rule refused it: field-level messages"
)
_403 = OpenApiResponse(description="Your role (or relation to the record) does not allow this")
_404 = OpenApiResponse(description="No such record among those you may see")
_409 = OpenApiResponse(
    description="The record is signed (locked), or its state does not allow this action"
)


class _MonitoringContext:
    """Fetch the protocol in force and the time once per request, not once per row."""

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not self.describing_schema:
            context["protocol"] = monitoring.current_protocol()
            context["now"] = timezone.now()
        return context


# Treatment courses


class CourseFilter(filters.FilterSet):
    patient = IdFilter(field_name="patient", label="Patient id")

    class Meta:
        model = TreatmentCourse
        fields = ["patient", "status", "protocol"]


@extend_schema_view(
    create=extend_schema(
        request=CourseOrderSerializer,
        responses={201: CourseSerializer, 400: _400, 403: _403, 409: _409},
        description="Order a course (prescriber). Refused (400 on `patient`) unless the "
        "patient's latest signed evaluation is eligible (with or without precautions), "
        "a consent is on file and the patient is not discharged or declined; 409 while "
        "another course is active.",
    ),
    partial_update=extend_schema(
        responses={200: CourseSerializer, 400: _400, 403: _403, 404: _404, 409: _409},
        description="Change the order (prescriber). A changed ordered dose clears the dose "
        "verification of every session not yet started: it must be verified against the new "
        "order, and a session whose dose is now above it needs an override.",
    ),
)
class CourseViewSet(mixins.UpdateModelMixin, ReadCreateViewSet):
    """Treatment courses of the patients on your care team."""

    serializer_class = CourseSerializer
    filterset_class = CourseFilter
    ordering_fields = ["start_date", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.ORDER_TREATMENT,
        "update": Capability.ORDER_TREATMENT,
        "next_session": Capability.CHART,
    }

    def scoped_queryset(self):
        return selectors.course_list_for_user(user=self.request.user)

    def create(self, request, *args, **kwargs):
        form = CourseOrderSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        course = services.course_order(actor=request.user, **form.validated_data)
        self.audit_as(course)
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        course = services.course_update(
            actor=self.request.user, course=serializer.instance, **serializer.validated_data
        )
        serializer.instance = course
        self.audit_as(course)

    @extend_schema(
        responses={200: NextSessionProposalSerializer, 403: _403, 404: _404},
        description="The values a new session of this course would be pre-filled with "
        "(weight and mg/kg from the previous session) and where each comes from. Nothing "
        "is saved: the clinician confirms the values by sending them to `POST /sessions/`.",
    )
    @action(detail=True, methods=["get"], url_path="next-session")
    def next_session(self, request, pk=None):
        course = self.get_object()
        proposal = services.next_session_proposal(course=course)
        return Response(NextSessionProposalSerializer(proposal).data)


# Infusion sessions


class SessionFilter(filters.FilterSet):
    course = IdFilter(field_name="course", label="Course id")
    patient = IdFilter(field_name="course__patient", label="Patient id")
    date = filters.DateFilter(
        field_name="scheduled_for", lookup_expr="date", label="Scheduled on (clinic time zone)"
    )

    class Meta:
        model = InfusionSession
        fields = ["course", "patient", "status", "date"]


_SESSION_RESPONSES = {200: SessionSerializer, 400: _400, 403: _403, 404: _404, 409: _409}


@extend_schema_view(
    create=extend_schema(
        request=SessionCreateSerializer,
        responses={201: SessionSerializer, 400: _400, 403: _403, 409: _409},
        description="Schedule the next session of a course; its number is assigned. A dose "
        "above the order or outside 0.1–1.0 mg/kg is refused (400 on `dose_mg_per_kg`): "
        "create it within the order and have a prescriber record an override. Refused (400 "
        "on `course`) when the patient is no longer ready for treatment (latest signed "
        "evaluation not eligible, no consent, discharged or declined). Minutes, "
        "concentration and bag volume take their defaults only when not sent.",
    ),
    partial_update=extend_schema(
        request=SessionUpdateSerializer,
        responses=_SESSION_RESPONSES,
        description="Change editable fields. Dose fields and pre-infusion checks only while "
        "scheduled (changing a dose field clears the verification and makes you the dose's "
        "preparer, `dose_prepared_by`, who cannot verify it; changing the pre-infusion "
        "blood pressure clears the go-ahead); discharge checklist only once the infusion "
        "ended. Status changes only through the actions. Signed: 409.",
    ),
)
class SessionViewSet(_MonitoringContext, ReadCreateViewSet):
    """Infusion sessions of the patients on your care team, and their lifecycle actions."""

    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["scheduled_for", "number"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
        "partial_update": Capability.CHART,
        "verify_dose": Capability.CHART,
        "override": Capability.OVERRIDE_DOSE,
        "go_ahead": Capability.GIVE_GO_AHEAD,
        "start": Capability.CHART,
        "stop": Capability.CHART,
        "complete": Capability.CHART,
        "cancel": Capability.CHART,
        "sign": Capability.SIGN_RECORDS,
    }

    def scoped_queryset(self):
        sessions = selectors.session_list_for_user(user=self.request.user, people=False)
        if self.detail:
            # One session: its patient and readiness are read only if it is still scheduled.
            return sessions
        # Start blockers of scheduled sessions read each patient's readiness: prefetched.
        with_patients = sessions.select_related("course__patient")
        return selectors.sessions_with_treatment_readiness(with_patients)

    def _respond(self, session, *, code=status.HTTP_200_OK, audit=None, detail=""):
        fresh = selectors.session_get_for_user(user=self.request.user, pk=session.pk, people=False)
        self.audit_as(fresh, audit, detail)
        return Response(SessionSerializer(fresh, context=self.get_serializer_context()).data, code)

    def create(self, request, *args, **kwargs):
        form = SessionCreateSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        session = services.session_create(actor=request.user, **form.validated_data)
        return self._respond(session, code=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        session = self.get_object()
        form = SessionUpdateSerializer(
            session, data=request.data, partial=True, context=self.get_serializer_context()
        )
        form.is_valid(raise_exception=True)
        services.session_update(actor=request.user, session=session, **form.validated_data)
        return self._respond(session)

    def _detail(self, session) -> str:
        return services.session_action_audit_detail(action=self.action, session=session)

    def _form(self, serializer_class):
        form = serializer_class(data=self.request.data)
        form.is_valid(raise_exception=True)
        return form.validated_data

    @extend_schema(
        request=VerifyDoseSerializer,
        responses=_SESSION_RESPONSES,
        description="A second clinician verifies the calculated dose (records who and when). "
        "Neither the clinician who created the session nor the one who last changed the dose "
        "(`dose_prepared_by`: a changed weight, mg/kg, minutes, concentration or bag volume, or "
        "an override) may (403). Send the values you checked — every input of the dose plan "
        "and the total: weight, mg/kg, total mg, minutes, stock concentration, bag volume; "
        "each is compared with the session: if one changed meanwhile, 409 and nothing is "
        "verified. 409 also when the dose is already verified, the session is not scheduled, "
        "or the course's order in force no longer covers the dose.",
    )
    @action(detail=True, methods=["post"], url_path="verify-dose")
    def verify_dose(self, request, pk=None):
        session = self.get_object()
        expected = self._form(VerifyDoseSerializer)
        services.session_verify_dose(actor=request.user, session=session, expected=expected)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=OverrideSerializer,
        responses=_SESSION_RESPONSES,
        description="A prescriber sets a dose above the order or outside 0.1–1.0 mg/kg, with a "
        "reason. Never outside the absolute limits 0.05–2.0 mg/kg. The prescriber becomes the "
        "dose's preparer: another clinician must verify it again.",
    )
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        session = self.get_object()
        data = self._form(OverrideSerializer)
        session = services.session_override_dose(actor=request.user, session=session, **data)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=ReasonSerializer,
        responses=_SESSION_RESPONSES,
        description="A prescriber lets the infusion start despite a pre-infusion blood "
        "pressure at or above the hold threshold (409 when there is no hold).",
    )
    @action(detail=True, methods=["post"], url_path="go-ahead")
    def go_ahead(self, request, pk=None):
        session = self.get_object()
        data = self._form(ReasonSerializer)
        services.session_go_ahead(actor=request.user, session=session, **data)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=ActionTimeSerializer,
        responses=_SESSION_RESPONSES,
        description="Start the infusion. 409 with every reason until the patient is still "
        "ready for treatment (latest signed evaluation eligible, consent on file, not "
        "discharged or declined), the dose is verified and still covered by the course's "
        "order in force (or an override of exactly that dose), fasting and escort are "
        "confirmed, the pre-infusion blood pressure is recorded and, if it is at or above the "
        "hold threshold, a prescriber gave a go-ahead.",
    )
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        session = self.get_object()
        data = self._form(ActionTimeSerializer)
        services.session_start(actor=request.user, session=session, **data)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=StopSerializer,
        responses=_SESSION_RESPONSES,
        description="Stop a running infusion early; the reason is required.",
    )
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        session = self.get_object()
        data = self._form(StopSerializer)
        services.session_stop(actor=request.user, session=session, **data)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=ActionTimeSerializer,
        responses=_SESSION_RESPONSES,
        description="The infusion ran in full; observation continues until discharge.",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        session = self.get_object()
        data = self._form(ActionTimeSerializer)
        services.session_complete(actor=request.user, session=session, **data)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=ReasonSerializer,
        responses=_SESSION_RESPONSES,
        description="Cancel a session that has not started; the reason is required.",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        session = self.get_object()
        data = self._form(ReasonSerializer)
        services.session_cancel(actor=request.user, session=session, **data)
        return self._respond(session, detail=self._detail(session))

    @extend_schema(
        request=None,
        responses=_SESSION_RESPONSES,
        description="A prescriber signs a completed (discharge checklist complete) or stopped "
        "session. It and its vitals, side effects and mood notes are then locked (409).",
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        session = self.get_object()
        services.session_sign(actor=request.user, session=session)
        return self._respond(session, audit=AuditAction.SIGN)


# Flowsheet entries under one session


class _SessionChildViewSet(ClinicViewSet):
    """Entries under ``/sessions/{session_pk}/…``; the session comes from the selector (404)."""

    child_model = None

    @property
    def session(self) -> InfusionSession:
        if not hasattr(self, "_session"):
            self._session = selectors.session_reach_for_user(
                user=self.request.user, pk=self.kwargs["session_pk"]
            )
            self.audit_patient = self._session.course.patient_id
        return self._session

    @property
    def audit_object_type(self) -> str:
        return self.child_model._meta.model_name

    def scoped_queryset(self):
        return self.entries()

    def entries(self):
        raise NotImplementedError

    #: The service that charts an entry, ``service(actor=, session_id=, **values)``: it
    #: reads the session through the user's reach (404) and locks it.
    record_with = None

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.save_with(self.record_with, serializer, session_id=self.kwargs["session_pk"])
        return Response(serializer.data, status=status.HTTP_201_CREATED)


def _child_schema(serializer, what: str, *, correction: str = ""):
    views = dict(
        list=extend_schema(responses={200: serializer(many=True), 403: _403, 404: _404}),
        retrieve=extend_schema(responses={200: serializer, 403: _403, 404: _404}),
        create=extend_schema(
            responses={201: serializer, 400: _400, 403: _403, 404: _404, 409: _409},
            description=f"Chart {what}. Refused (409) once the session is signed or if it "
            "was cancelled.",
        ),
    )
    if correction:
        views["partial_update"] = extend_schema(
            responses={200: serializer, 400: _400, 403: _403, 404: _404, 409: _409},
            description=f"{correction} Values are checked as when charted; every earlier "
            "version is kept in the entry's history and the response names the correction "
            "(`corrected_by`, `corrected_at`). Refused (409) once the session is signed or if "
            "it was cancelled: after signing, corrections are amendments.",
        )
    return extend_schema_view(**views)


class _CorrectableChildViewSet(mixins.UpdateModelMixin, _SessionChildViewSet):
    """PATCH corrects an entry before the session is signed (``correct`` calls the service)."""

    http_method_names = ["get", "post", "patch", "head", "options"]

    def correct(self, entry, data):
        raise NotImplementedError

    def partial_update(self, request, *args, **kwargs):
        entry = self.get_object()
        serializer = self.get_serializer(entry, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        entry, changed = self.correct(entry, serializer.validated_data)
        self.audit_as(entry, detail=services.correction_audit_detail(entry=entry, fields=changed))
        serializer.instance = entry
        return Response(serializer.data)


@_child_schema(
    VitalSignSerializer,
    "a vital-signs reading; its alerts come back in the response",
    correction="Correct a reading before the session is signed (a mistyped value). Its "
    "alerts are recomputed under the protocol version that judged it when it was charted "
    "(`protocol_version` does not change).",
)
class VitalSignViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CorrectableChildViewSet):
    """The vitals flowsheet of a session; PATCH corrects a reading before signing."""

    serializer_class = VitalSignSerializer
    child_model = VitalSign
    record_with = staticmethod(services.vitals_record)
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
        "partial_update": Capability.CHART,
    }

    def entries(self):
        return selectors.vitals_of_session(session=self.session)

    def correct(self, entry, data):
        return services.vitals_correct(actor=self.request.user, reading=entry, **data)


@_child_schema(
    SideEffectSerializer,
    "a side effect (grade 3 or above marks the session serious)",
    correction="Record a side effect's resolution or intervention, or correct it (a grade "
    "charted too high), before the session is signed. The session's serious adverse event "
    "follows the grades.",
)
class SideEffectViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CorrectableChildViewSet):
    """Side effects of a session; PATCH records resolution or intervention before signing."""

    serializer_class = SideEffectSerializer
    child_model = SideEffect
    record_with = staticmethod(services.side_effect_record)
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
        "partial_update": Capability.CHART,
    }

    def entries(self):
        return selectors.side_effects_of_session(session=self.session)

    def correct(self, entry, data):
        return services.side_effect_update(actor=self.request.user, side_effect=entry, **data)


@_child_schema(
    MoodNoteSerializer,
    "a mood note",
    correction="Correct a mood note (time, phase, mood, anxiety, text) before the session "
    "is signed.",
)
class MoodNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _CorrectableChildViewSet):
    """Mood and anxiety notes of a session (pre, during, post); PATCH corrects one before
    signing."""

    serializer_class = MoodNoteSerializer
    child_model = MoodNote
    record_with = staticmethod(services.mood_note_record)
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
        "partial_update": Capability.CHART,
    }

    def entries(self):
        return selectors.mood_notes_of_session(session=self.session)

    def correct(self, entry, data):
        return services.mood_note_correct(actor=self.request.user, note=entry, **data)


@extend_schema_view(
    list=extend_schema(
        responses={200: SessionAmendmentSerializer(many=True), 403: _403, 404: _404}
    ),
    retrieve=extend_schema(responses={200: SessionAmendmentSerializer, 403: _403, 404: _404}),
    create=extend_schema(
        responses={201: SessionAmendmentSerializer, 400: _400, 403: _403, 404: _404, 409: _409},
        description="Append a correction to a signed session (409 while it is not signed).",
    ),
)
class SessionAmendmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, _SessionChildViewSet
):
    """Corrections to a signed session: append-only."""

    serializer_class = SessionAmendmentSerializer
    child_model = SessionAmendment
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
    }

    def entries(self):
        return selectors.amendments_of_session(session=self.session)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        amendment = services.session_amend(
            actor=request.user, session=self.session, text=serializer.validated_data["text"]
        )
        self.audit_as(amendment, AuditAction.AMEND)
        return Response(self.get_serializer(amendment).data, status=status.HTTP_201_CREATED)


# Monitoring protocol


class MonitoringProtocolViewSet(ClinicViewSet):
    """The monitoring protocol in force (GET) and publishing a new version (POST)."""

    serializer_class = MonitoringProtocolSerializer
    audit_object_type = "monitoringprotocol"
    required_capabilities = {
        "current": Capability.VIEW_CLINICAL_RECORDS,
        "publish": Capability.PUBLISH_MONITORING_PROTOCOL,
    }

    @extend_schema(responses={200: MonitoringProtocolSerializer, 403: _403})
    def current(self, request):
        return Response(
            MonitoringProtocolSerializer(self.audit_as(monitoring.current_protocol())).data
        )

    @extend_schema(
        request=MonitoringProtocolSerializer,
        responses={201: MonitoringProtocolSerializer, 400: _400, 403: _403, 409: _409},
        description="Publish a new version (prescriber). Fields not sent keep the current "
        "values. New readings are judged by it; earlier readings keep their version.",
    )
    def publish(self, request):
        form = MonitoringProtocolSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        protocol = services.monitoring_protocol_publish(actor=request.user, **form.validated_data)
        self.audit_as(protocol, AuditAction.CREATE)
        return Response(MonitoringProtocolSerializer(protocol).data, status.HTTP_201_CREATED)


class MonitoringProtocolVersionViewSet(ReadOnlyClinicViewSet):
    """Every published version of the monitoring protocol, newest first."""

    serializer_class = MonitoringProtocolSerializer
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
    }

    def get_queryset(self):
        return selectors.monitoring_protocol_versions()
