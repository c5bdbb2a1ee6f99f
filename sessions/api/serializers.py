"""Shapes of the infusion sessions API. Serializers check shape only; rules live in services.

Computed values (dose plan, alerts, vitals due, readiness to start or sign)
come from ``sessions.dosing``, ``sessions.monitoring`` and ``sessions.services``.
Views put the monitoring protocol in force and the request time in the
serializer context (``protocol``, ``now``) so a list costs no query per row.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ehr.api.serializers import ModelSerializer, RelatedIdField
from ehr.selectors import clinician_list
from patients.selectors import clinical_patient_list_for_user
from sessions import dosing, monitoring, services
from sessions.models import (
    InfusionSession,
    MonitoringProtocol,
    MoodNote,
    SessionAmendment,
    SideEffect,
    TreatmentCourse,
    VitalSign,
)


def _request_user(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class ClinicalPatientField(RelatedIdField):
    """A patient among those the requesting user may chart; others read as not existing."""

    def get_queryset(self):
        return clinical_patient_list_for_user(user=_request_user(self.parent))


class CourseField(RelatedIdField):
    def get_queryset(self):
        from sessions.selectors import course_list_for_user

        return course_list_for_user(user=_request_user(self.parent))


class ClinicianField(RelatedIdField):
    def get_queryset(self):
        return clinician_list()


# Treatment courses


class CourseSerializer(ModelSerializer):
    """A treatment course. ``patient`` is set when ordering and never changes."""

    class Meta:
        model = TreatmentCourse
        fields = [
            "id",
            "patient",
            "protocol",
            "dose_mg_per_kg",
            "infusion_minutes",
            "planned_sessions",
            "start_date",
            "status",
            "ordered_by",
            "created_at",
        ]
        read_only_fields = ["patient", "ordered_by", "created_at"]
        extra_kwargs = {
            "dose_mg_per_kg": {"min_value": Decimal("0.10"), "max_value": Decimal("1.00")},
            "infusion_minutes": {"min_value": 10, "max_value": 240},
            "planned_sessions": {"min_value": 1, "max_value": 52},
        }


class CourseOrderSerializer(ModelSerializer):
    """Ordering a course: defaults induction, 0.5 mg/kg, 40 minutes, 6 sessions (1 for
    maintenance)."""

    patient = ClinicalPatientField()
    planned_sessions = serializers.IntegerField(min_value=1, max_value=52, required=False)

    class Meta:
        model = TreatmentCourse
        fields = [
            "patient",
            "protocol",
            "dose_mg_per_kg",
            "infusion_minutes",
            "planned_sessions",
            "start_date",
        ]
        extra_kwargs = {
            "dose_mg_per_kg": {"min_value": Decimal("0.10"), "max_value": Decimal("1.00")},
            "infusion_minutes": {"min_value": 10, "max_value": 240},
        }


class NextSessionProposalSerializer(serializers.Serializer):
    """Values proposed for the next session; the clinician confirms them by sending them."""

    course = serializers.IntegerField()
    number = serializers.IntegerField()
    prefilled_from = serializers.IntegerField(
        allow_null=True, help_text="The previous session the values come from, if any."
    )
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)
    weight_source = serializers.ChoiceField(
        choices=["previous_session", "evaluation"], allow_null=True
    )
    dose_mg_per_kg = serializers.DecimalField(max_digits=4, decimal_places=2)
    dose_source = serializers.ChoiceField(choices=["previous_session", "course_order"])
    total_dose_mg = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    infusion_minutes = serializers.IntegerField()
    concentration_mg_per_ml = serializers.DecimalField(max_digits=6, decimal_places=2)
    bag_volume_ml = serializers.DecimalField(max_digits=6, decimal_places=1)
    notes = serializers.ListField(child=serializers.CharField())


# Infusion sessions

SESSION_READ_ONLY = [
    "id",
    "number",
    "patient",
    "started_at",
    "ended_at",
    "status",
    "total_dose_mg",
    "rate_mg_per_min",
    "draw_volume_ml",
    "pump_rate_ml_per_h",
    "dose_prepared_by",
    "dose_verified_by",
    "dose_verified_at",
    "dose_override_by",
    "dose_override_at",
    "dose_override_reason",
    "pre_infusion_hold",
    "go_ahead_by",
    "go_ahead_at",
    "go_ahead_reason",
    "start_blockers",
    "stop_reason",
    "cancel_reason",
    "serious_adverse_event",
    "next_vitals_due_at",
    "vitals_overdue",
    "sign_blockers",
    "signed_at",
    "signed_by",
    "protocol_version",
    "created_by",
    "created_at",
    "updated_at",
]
SESSION_WRITABLE = [
    "course",
    "scheduled_for",
    "weight_kg",
    "dose_mg_per_kg",
    "infusion_minutes",
    "route",
    "concentration_mg_per_ml",
    "bag_volume_ml",
    "nurse",
    "supervising_prescriber",
    "fasting_confirmed",
    "escort_confirmed",
    "pre_bp_systolic",
    "pre_bp_diastolic",
    "discharge_at",
    "discharge_alert_oriented",
    "discharge_vitals_baseline",
    "discharge_ambulating",
    "discharge_escort_present",
    "notes",
]


class SessionSerializer(ModelSerializer):
    """An infusion session with its computed dose plan and monitoring state."""

    patient = serializers.SerializerMethodField()
    rate_mg_per_min = serializers.SerializerMethodField()
    draw_volume_ml = serializers.SerializerMethodField()
    pump_rate_ml_per_h = serializers.SerializerMethodField()
    pre_infusion_hold = serializers.SerializerMethodField(
        help_text="The pre-infusion blood pressure is at or above the protocol's hold threshold."
    )
    start_blockers = serializers.SerializerMethodField(
        help_text="Why the infusion cannot start yet (empty when it may)."
    )
    sign_blockers = serializers.SerializerMethodField(
        help_text="Why the session cannot be signed yet (empty when it may)."
    )
    next_vitals_due_at = serializers.SerializerMethodField()
    vitals_overdue = serializers.SerializerMethodField()
    protocol_version = serializers.IntegerField(source="protocol.version", read_only=True)
    dose_prepared_by = RelatedIdField(
        read_only=True,
        help_text="Who prepared the dose as it stands: the creator, or whoever last changed a "
        "dose value or recorded an override. Neither they nor the creator may verify it.",
    )

    class Meta:
        model = InfusionSession
        fields = [*SESSION_READ_ONLY[:3], *SESSION_WRITABLE, *SESSION_READ_ONLY[3:]]
        # Output only: writes go through SessionCreateSerializer / SessionUpdateSerializer.
        read_only_fields = fields

    def _protocol(self) -> MonitoringProtocol:
        if "protocol" not in self.context:
            self.context["protocol"] = monitoring.current_protocol()
        return self.context["protocol"]

    def get_patient(self, session) -> int:
        return session.course.patient_id

    @extend_schema_field(serializers.DecimalField(max_digits=8, decimal_places=2))
    def get_rate_mg_per_min(self, session):
        return str(session.dose_plan.rate_mg_per_min)

    @extend_schema_field(serializers.DecimalField(max_digits=8, decimal_places=2))
    def get_draw_volume_ml(self, session):
        return str(session.dose_plan.draw_volume_ml)

    @extend_schema_field(serializers.DecimalField(max_digits=8, decimal_places=1))
    def get_pump_rate_ml_per_h(self, session):
        return str(session.dose_plan.pump_rate_ml_per_h)

    def get_pre_infusion_hold(self, session) -> bool:
        return monitoring.pre_infusion_hold(
            systolic=session.pre_bp_systolic,
            diastolic=session.pre_bp_diastolic,
            protocol=self._protocol(),
        )

    def get_start_blockers(self, session) -> list[str]:
        if session.status != InfusionSession.Status.SCHEDULED:
            return []
        return services.start_blockers(session=session, protocol=self._protocol())

    def get_sign_blockers(self, session) -> list[str]:
        if session.is_signed:
            return []
        return services.sign_blockers(session)

    def _timing(self, session) -> MonitoringProtocol:
        return monitoring.timing_protocol(session=session, current=self._protocol())

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_vitals_due_at(self, session):
        due = monitoring.next_vitals_due_at(
            session=session, protocol=self._timing(session), now=self.context.get("now")
        )
        return serializers.DateTimeField().to_representation(due) if due else None

    def get_vitals_overdue(self, session) -> bool:
        return monitoring.vitals_overdue(
            session=session, protocol=self._timing(session), now=self.context.get("now")
        )


def _minutes_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=False,
        min_value=dosing.INFUSION_MIN_MINUTES,
        max_value=dosing.INFUSION_MAX_MINUTES,
        **kwargs,
    )


def _preparation_kwargs(**extra) -> dict:
    """Ranges of the stock concentration and bag volume (``sessions.services``), for the schema."""
    return {
        "concentration_mg_per_ml": {
            "min_value": services.CONCENTRATION_RANGE[0],
            "max_value": services.CONCENTRATION_RANGE[1],
            **extra,
        },
        "bag_volume_ml": {
            "min_value": services.BAG_VOLUME_RANGE[0],
            "max_value": services.BAG_VOLUME_RANGE[1],
            **extra,
        },
    }


class SessionCreateSerializer(ModelSerializer):
    """Scheduling a session. Weight and mg/kg are required: confirm the proposal of
    ``GET /courses/{id}/next-session/`` by sending its values."""

    course = CourseField()
    nurse = ClinicianField(allow_null=True, required=False)
    supervising_prescriber = ClinicianField(allow_null=True, required=False)
    infusion_minutes = _minutes_field(
        help_text="Default (only when not sent): the course's ordered infusion minutes."
    )
    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1)
    dose_mg_per_kg = serializers.DecimalField(max_digits=4, decimal_places=2)
    pre_bp_systolic = serializers.IntegerField(required=False, allow_null=True)
    pre_bp_diastolic = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = InfusionSession
        fields = [
            "course",
            "scheduled_for",
            "weight_kg",
            "dose_mg_per_kg",
            "infusion_minutes",
            "route",
            "concentration_mg_per_ml",
            "bag_volume_ml",
            "nurse",
            "supervising_prescriber",
            "fasting_confirmed",
            "escort_confirmed",
            "pre_bp_systolic",
            "pre_bp_diastolic",
            "notes",
        ]
        extra_kwargs = _preparation_kwargs(
            help_text="Default (only when not sent): the usual preparation."
        )


class SessionUpdateSerializer(ModelSerializer):
    """Editable fields of a session (PATCH). Status changes only through the actions."""

    nurse = ClinicianField(allow_null=True, required=False)
    supervising_prescriber = ClinicianField(allow_null=True, required=False)
    infusion_minutes = _minutes_field()
    pre_bp_systolic = serializers.IntegerField(required=False, allow_null=True)
    pre_bp_diastolic = serializers.IntegerField(required=False, allow_null=True)

    class Meta:
        model = InfusionSession
        fields = [f for f in SESSION_WRITABLE if f != "course"]
        extra_kwargs = _preparation_kwargs()


def _seen(help_text: str) -> dict:
    return {"required": False, "help_text": f"{help_text} as you checked it."}


class VerifyDoseSerializer(serializers.Serializer):
    """The values the verifier checked: every input of the dose plan (weight, mg/kg, minutes,
    stock concentration, bag volume) and the total. Each value sent is compared with the
    session; if one changed meanwhile, 409 and nothing is verified. Send them all: a value
    not sent is not compared."""

    weight_kg = serializers.DecimalField(max_digits=5, decimal_places=1, **_seen("Weight (kg)"))
    dose_mg_per_kg = serializers.DecimalField(
        max_digits=4, decimal_places=2, **_seen("Dose (mg/kg)")
    )
    total_dose_mg = serializers.DecimalField(
        max_digits=6, decimal_places=1, **_seen("Total dose (mg)")
    )
    infusion_minutes = serializers.IntegerField(**_seen("Infusion minutes"))
    concentration_mg_per_ml = serializers.DecimalField(
        max_digits=6,
        decimal_places=2,
        **_seen("Stock concentration (mg/mL), from which the draw volume comes,"),
    )
    bag_volume_ml = serializers.DecimalField(
        max_digits=6,
        decimal_places=1,
        **_seen("Bag final volume (mL), from which the pump rate comes,"),
    )


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class OverrideSerializer(serializers.Serializer):
    dose_mg_per_kg = serializers.DecimalField(max_digits=4, decimal_places=2)
    reason = serializers.CharField()


class ActionTimeSerializer(serializers.Serializer):
    at = serializers.DateTimeField(
        required=False, help_text="When it happened, if charted a little later (default: now)."
    )


class StopSerializer(ActionTimeSerializer):
    reason = serializers.CharField()


# Flowsheet


class VitalSignSerializer(ModelSerializer):
    """One reading. Possible ranges: systolic 50–280, diastolic 20–180 and below systolic,
    heart rate 20–250, SpO2 50–100, respiratory rate 4–60. ``corrected_by`` /
    ``corrected_at`` name the latest correction (PATCH before signing)."""

    bp_systolic = serializers.IntegerField()
    bp_diastolic = serializers.IntegerField()
    heart_rate = serializers.IntegerField()
    spo2 = serializers.IntegerField()
    resp_rate = serializers.IntegerField()
    alerts = serializers.ListField(child=serializers.CharField(), read_only=True)
    protocol_version = serializers.IntegerField(source="protocol.version", read_only=True)

    class Meta:
        model = VitalSign
        fields = [
            "id",
            "session",
            "recorded_at",
            "bp_systolic",
            "bp_diastolic",
            "heart_rate",
            "spo2",
            "resp_rate",
            "alerts",
            "protocol_version",
            "recorded_by",
            "created_at",
            "corrected_by",
            "corrected_at",
        ]
        read_only_fields = ["session", "recorded_by", "created_at", "corrected_by", "corrected_at"]


class SideEffectSerializer(ModelSerializer):
    """A side effect. ``corrected_by`` / ``corrected_at`` name the latest change (PATCH before
    signing: resolution, intervention, a corrected grade)."""

    effect_label = serializers.SerializerMethodField()
    serious = serializers.SerializerMethodField(help_text="Grade 3 or above.")
    grade = serializers.IntegerField(min_value=1, max_value=5)

    class Meta:
        model = SideEffect
        fields = [
            "id",
            "session",
            "effect",
            "effect_label",
            "other_text",
            "grade",
            "serious",
            "onset_at",
            "resolved_at",
            "intervention",
            "note",
            "recorded_by",
            "created_at",
            "corrected_by",
            "corrected_at",
        ]
        read_only_fields = ["session", "recorded_by", "created_at", "corrected_by", "corrected_at"]

    def get_effect_label(self, side_effect) -> str:
        return monitoring.side_effect_label(side_effect)

    def get_serious(self, side_effect) -> bool:
        return monitoring.is_serious_adverse_event(side_effect.grade)


class MoodNoteSerializer(ModelSerializer):
    """Mood and anxiety 0–10. ``corrected_by`` / ``corrected_at`` name the latest correction."""

    mood = serializers.IntegerField(min_value=0, max_value=10)
    anxiety = serializers.IntegerField(min_value=0, max_value=10)

    class Meta:
        model = MoodNote
        fields = [
            "id",
            "session",
            "recorded_at",
            "phase",
            "mood",
            "anxiety",
            "text",
            "recorded_by",
            "created_at",
            "corrected_by",
            "corrected_at",
        ]
        read_only_fields = ["session", "recorded_by", "created_at", "corrected_by", "corrected_at"]
        extra_kwargs = {"text": {"trim_whitespace": False}}


class SessionAmendmentSerializer(ModelSerializer):
    class Meta:
        model = SessionAmendment
        fields = ["id", "session", "text", "author", "created_at"]
        read_only_fields = ["session", "author", "created_at"]


# Monitoring protocol


class MonitoringProtocolSerializer(ModelSerializer):
    """The clinic's vitals thresholds. Publishing sends the fields to change; the others
    keep the current version's values."""

    class Meta:
        model = MonitoringProtocol
        fields = [
            "id",
            "version",
            "pause_systolic_at",
            "pause_diastolic_at",
            "heart_rate_high_at",
            "heart_rate_low_at",
            "spo2_below",
            "resp_rate_below",
            "hold_pre_systolic_at",
            "hold_pre_diastolic_at",
            "vitals_interval_minutes",
            "observation_minutes",
            "note",
            "created_at",
            "created_by",
        ]
        read_only_fields = ["id", "version", "created_at", "created_by"]
        extra_kwargs = {
            field: {"required": False, "min_value": low, "max_value": high}
            for field, (low, high) in services.PROTOCOL_FIELD_RANGES.items()
        }
