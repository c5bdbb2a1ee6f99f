"""Shapes of the patients API. Serializers check shape only; rules live in services."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ehr.api.serializers import CharField, ModelSerializer, RelatedIdField, ScopedPrimaryKeyField
from ehr.models import User
from ehr.selectors import clinician_list
from patients import selectors
from patients.contraindications import (
    CONTRAINDICATION_KEYS,
    CONTRAINDICATIONS,
    contraindication_answer_errors,
)
from patients.diagnoses import diagnosis_label
from patients.models import (
    Assessment,
    BreakGlassAccess,
    Consent,
    Evaluation,
    EvaluationAmendment,
    Patient,
    ReferringProvider,
    SafetyAlert,
)
from patients.scales import Instrument
from patients.selectors import care_team_ids
from patients.services import CARE_TEAM_ADD, CARE_TEAM_REMOVE, EVALUATION_FIELDS
from sessions.selectors import session_list_for_user

# --- Referring providers ------------------------------------------------------------------------


class ReferringProviderSerializer(ModelSerializer):
    npi = CharField(
        max_length=10,
        min_length=10,
        help_text="National Provider Identifier: 10 digits, Luhn check digit (prefix 80840).",
    )
    user = RelatedIdField(
        queryset=User.objects.all(),
        required=False,
        allow_null=True,
        help_text="Linked portal account (role referring_provider).",
    )

    class Meta:
        model = ReferringProvider
        fields = ["id", "name", "npi", "practice", "email", "phone", "fax", "user"]


# --- Patients -----------------------------------------------------------------------------------


class PatientSerializer(ModelSerializer):
    care_team = serializers.SerializerMethodField(help_text="User ids of the care team.")
    primary_diagnosis_label = serializers.SerializerMethodField()
    responsible_prescriber = RelatedIdField(
        queryset=User.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "phone",
            "email",
            "address",
            "emergency_contact",
            "referring_provider",
            "responsible_prescriber",
            "primary_diagnosis",
            "primary_diagnosis_label",
            "status",
            "care_team",
        ]
        read_only_fields = ["mrn", "care_team", "primary_diagnosis_label"]

    def get_care_team(self, patient) -> list[int]:
        return care_team_ids(patient)

    def get_primary_diagnosis_label(self, patient) -> str:
        return diagnosis_label(patient.primary_diagnosis)

    def validate(self, attrs):
        # The MRN is read-only; say so rather than silently ignoring a new value.
        sent = self.initial_data.get("mrn") if hasattr(self.initial_data, "get") else None
        current = self.instance.mrn if self.instance is not None else None
        if sent not in (None, "", current):
            raise serializers.ValidationError(
                {"mrn": ["The MRN is assigned by the clinic and never changes."]}
            )
        return attrs


class ReferredPatientSerializer(ModelSerializer):
    """What a referring provider sees of the patients they referred: identification only."""

    class Meta:
        model = Patient
        fields = [
            "id",
            "mrn",
            "first_name",
            "last_name",
            "date_of_birth",
            "sex",
            "referring_provider",
            "status",
        ]
        read_only_fields = fields


class CareTeamChangeSerializer(serializers.Serializer):
    user = RelatedIdField(queryset=User.objects.all())
    action = serializers.ChoiceField(choices=[CARE_TEAM_ADD, CARE_TEAM_REMOVE])


class BreakGlassRequestSerializer(serializers.Serializer):
    reason = CharField(max_length=2000)


class BreakGlassAccessSerializer(ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = BreakGlassAccess
        fields = ["id", "user", "patient", "reason", "granted_at", "expires_at", "active"]
        read_only_fields = fields

    def get_active(self, grant) -> bool:
        from django.utils import timezone

        return grant.expires_at > timezone.now()


# --- Safety alerts ------------------------------------------------------------------------------


class SafetyAlertSerializer(ModelSerializer):
    class Meta:
        model = SafetyAlert
        fields = [
            "id",
            "kind",
            "message",
            "raised_at",
            "assessment",
            "acknowledged_at",
            "acknowledged_by",
            "note",
        ]
        read_only_fields = fields


class AcknowledgeSerializer(serializers.Serializer):
    note = CharField(max_length=5000, help_text="What was done about the alert (required).")


# --- Consents -----------------------------------------------------------------------------------


class ConsentSerializer(ModelSerializer):
    patient = ScopedPrimaryKeyField(selector=selectors.clinical_patient_list_for_user)

    class Meta:
        model = Consent
        fields = ["id", "patient", "form_version", "signed_on", "witness", "recorded_by"]
        read_only_fields = ["recorded_by"]


# --- Evaluations --------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "description": "Every contraindication of the screen answered true (yes) or false (no).",
        "properties": {
            c.key: {
                "type": "boolean",
                "description": f"{c.label} ({'absolute' if c.absolute else 'relative'})",
            }
            for c in CONTRAINDICATIONS
        },
        "required": list(CONTRAINDICATION_KEYS),
        "additionalProperties": False,
    }
)
class ContraindicationsField(serializers.Field):
    """The contraindication screen: exactly the keys of the screen, each true or false."""

    default_error_messages = {"invalid": "Invalid contraindication screen."}

    def to_internal_value(self, data):
        problems = contraindication_answer_errors(data)
        if problems:
            raise serializers.ValidationError(problems)
        return {key: data[key] for key in CONTRAINDICATION_KEYS}

    def to_representation(self, value):
        return {key: bool((value or {}).get(key, False)) for key in CONTRAINDICATION_KEYS}


class EvaluationSerializer(ModelSerializer):
    patient = ScopedPrimaryKeyField(selector=selectors.clinical_patient_list_for_user)
    evaluator = RelatedIdField(
        queryset=clinician_list(active_only=False),
        required=False,
        help_text="Defaults to the requesting clinician.",
    )
    contraindications = ContraindicationsField()
    bmi = serializers.DecimalField(max_digits=4, decimal_places=1, read_only=True, allow_null=True)
    amendment_count = serializers.SerializerMethodField()

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "patient",
            *EVALUATION_FIELDS,
            "bmi",
            "signed_at",
            "signed_by",
            "amendment_count",
        ]
        read_only_fields = ["bmi", "signed_at", "signed_by", "amendment_count"]
        extra_kwargs = {
            "weight_kg": {"min_value": 20, "max_value": 400},
            "height_cm": {"min_value": 50, "max_value": 250},
            "bp_systolic": {"min_value": 50, "max_value": 280},
            "bp_diastolic": {"min_value": 20, "max_value": 180},
            "heart_rate": {"min_value": 20, "max_value": 250},
        }

    def get_amendment_count(self, evaluation) -> int:
        count = getattr(evaluation, "amendment_count", None)
        return count if count is not None else evaluation.amendments.count()

    def validate_patient(self, patient):
        # A record never moves to another patient.
        if self.instance is not None and patient.pk != self.instance.patient_id:
            raise serializers.ValidationError("An evaluation cannot move to another patient.")
        return patient


class AmendmentSerializer(ModelSerializer):
    class Meta:
        model = EvaluationAmendment
        fields = ["id", "text", "author", "created_at"]
        read_only_fields = ["author", "created_at"]


# --- Assessments --------------------------------------------------------------------------------


class AssessmentSerializer(ModelSerializer):
    patient = ScopedPrimaryKeyField(selector=selectors.clinical_patient_list_for_user)
    instrument = serializers.ChoiceField(choices=Instrument.choices)
    answers = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=40,
        help_text="Every item answer in order (GAD7 7×0–3, PHQ9 9×0–3, PCL5 20×0–4, "
        "CADSS 23×0–4, CADSS6 6×0–4: CADSS items 1, 2, 6, 7, 15, 22).",
    )
    session = ScopedPrimaryKeyField(
        selector=session_list_for_user,
        required=False,
        allow_null=True,
        help_text="Infusion session id.",
    )
    evaluation = ScopedPrimaryKeyField(
        selector=selectors.evaluation_list_for_user,
        required=False,
        allow_null=True,
        help_text="Evaluation id.",
    )

    class Meta:
        model = Assessment
        fields = [
            "id",
            "patient",
            "instrument",
            "answers",
            "total",
            "severity",
            "administered_at",
            "session",
            "evaluation",
            "recorded_by",
        ]
        read_only_fields = ["total", "severity", "recorded_by"]
