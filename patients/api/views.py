"""The patients API: thin views over ``patients.selectors`` and ``patients.services``."""

from django.db.models import Count
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from ehr.api.base import ReadCreateViewSet, ReadOnlyClinicViewSet
from ehr.models import AuditAction
from ehr.records import ensure_unsigned
from ehr.roles import Capability
from patients import selectors, services
from patients.api.serializers import (
    AcknowledgeSerializer,
    AmendmentSerializer,
    AssessmentSerializer,
    BreakGlassAccessSerializer,
    BreakGlassRequestSerializer,
    CareTeamChangeSerializer,
    ConsentSerializer,
    EvaluationSerializer,
    PatientSerializer,
    ReferredPatientSerializer,
    ReferringProviderSerializer,
    SafetyAlertSerializer,
)
from patients.filters import (
    AssessmentFilter,
    BreakGlassAccessFilter,
    ConsentFilter,
    EvaluationFilter,
    PatientFilter,
    PatientIdentificationFilter,
    ReferringProviderFilter,
    SafetyAlertFilter,
)
from patients.models import (
    Evaluation,
    Patient,
)

# 401, 403, 404 and 400 (input, filters) are documented for every endpoint by
# ehr.api.schema.ClinicAutoSchema; views add what is particular to them.
_409 = OpenApiResponse(description="The record is signed (locked) or already in that state")


# --- Referring providers ------------------------------------------------------------------------


class ReferringProviderViewSet(mixins.UpdateModelMixin, ReadCreateViewSet):
    """Outside doctors who refer patients. Staff read them; the practice manager keeps them."""

    serializer_class = ReferringProviderSerializer
    filterset_class = ReferringProviderFilter
    ordering_fields = ["name", "npi"]
    required_capabilities = {
        "list": Capability.VIEW_REFERRING_PROVIDERS,
        "retrieve": Capability.VIEW_REFERRING_PROVIDERS,
        "create": Capability.MANAGE_REFERRING_PROVIDERS,
        "update": Capability.MANAGE_REFERRING_PROVIDERS,
    }

    def scoped_queryset(self):
        return selectors.referring_provider_list_for_user(user=self.request.user)

    def perform_create(self, serializer):
        self.save_with(services.referring_provider_create, serializer)

    def perform_update(self, serializer):
        before = serializer.instance.user_id
        provider = self.save_with(
            services.referring_provider_update, serializer, provider=serializer.instance
        )
        if provider.user_id != before:
            # The portal account receives the provider's released summaries.
            self.audit_as(
                provider,
                AuditAction.PERMISSION_CHANGE,
                detail=f"portal account: user {before} -> user {provider.user_id}",
            )


# --- Patients -----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        description="Patients you may see: care team (and break-the-glass) for clinicians, "
        "every patient for the practice manager, the patients they referred for a "
        "referring provider (identification fields only; they may filter by `search` and "
        "`status` and order by name or MRN only — other filters and orderings are ignored).",
    ),
)
class PatientViewSet(mixins.UpdateModelMixin, ReadCreateViewSet):
    serializer_class = PatientSerializer
    required_capabilities = {
        "list": Capability.VIEW_PATIENTS,
        "retrieve": Capability.VIEW_PATIENTS,
        "create": Capability.REGISTER_PATIENTS,
        "update": Capability.EDIT_DEMOGRAPHICS,
        "care_team": Capability.MANAGE_CARE_TEAMS,
        "break_glass": Capability.BREAK_THE_GLASS,
    }
    #: Ordering by a field reveals it as surely as showing it: identification fields only.
    IDENTIFICATION_ORDERING = ["last_name", "first_name", "mrn"]

    # What a user is shown of a patient decides what they may filter and order by too.
    @property
    def filterset_class(self):
        return PatientIdentificationFilter if self._identification_only() else PatientFilter

    @property
    def ordering_fields(self):
        if self._identification_only():
            return self.IDENTIFICATION_ORDERING
        return [*self.IDENTIFICATION_ORDERING, "created_at"]

    def scoped_queryset(self):
        patients = selectors.patient_list_for_user(user=self.request.user)
        if self._identification_only():
            return patients
        return selectors.with_care_team(patients)

    def get_serializer_class(self):
        if self._identification_only():
            return ReferredPatientSerializer
        return super().get_serializer_class()

    def _identification_only(self) -> bool:
        """Whether the requesting user sees a patient's identification only."""
        return self.requester_lacks(Capability.VIEW_PATIENT_DETAILS)

    def perform_create(self, serializer):
        self.save_with(services.patient_create, serializer)

    def perform_update(self, serializer):
        before = serializer.instance.responsible_prescriber_id
        patient = services.patient_update(
            actor=self.request.user, patient=serializer.instance, **serializer.validated_data
        )
        serializer.instance = selectors.with_care_team(Patient.objects.filter(pk=patient.pk)).get()
        if patient.responsible_prescriber_id != before:
            # Naming a responsible prescriber puts them on the care team.
            self.audit_as(
                patient,
                AuditAction.PERMISSION_CHANGE,
                detail=f"responsible prescriber: user {patient.responsible_prescriber_id}",
            )
        else:
            self.audit_as(patient)

    @extend_schema(
        request=CareTeamChangeSerializer,
        responses={200: PatientSerializer, 409: _409},
        description="Add a clinician to, or remove one from, the care team "
        "(practice manager, or the patient's responsible prescriber).",
    )
    @action(detail=True, methods=["post"], url_path="care-team")
    def care_team(self, request, pk=None):
        patient = self.get_object()
        form = CareTeamChangeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        member, change = form.validated_data["user"], form.validated_data["action"]
        changed = services.care_team_change(
            actor=request.user, patient=patient, user=member, action=change
        )
        outcome = "" if changed else " (no change)"
        self.audit_as(
            patient,
            AuditAction.PERMISSION_CHANGE,
            detail=f"care team {change} {member.get_username()} (user {member.pk}){outcome}",
        )
        patient = selectors.with_care_team(Patient.objects.filter(pk=patient.pk)).get()
        return Response(PatientSerializer(patient, context=self.get_serializer_context()).data)

    @extend_schema(
        request=BreakGlassRequestSerializer,
        responses={201: BreakGlassAccessSerializer, 409: _409},
        description="Open the record of a patient whose care team you are not on, for "
        "BREAK_GLASS_HOURS (default 4), giving a reason. Audited as break_glass and shown "
        "to the practice manager. Any clinician may break the glass on an existing patient; "
        "the answer reveals nothing but the grant.",
    )
    @action(detail=True, methods=["post"], url_path="break-glass")
    def break_glass(self, request, pk=None):
        patient = selectors.patient_for_break_glass(user=request.user, pk=pk)
        form = BreakGlassRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        grant = services.break_glass_open(
            actor=request.user, patient=patient, reason=form.validated_data["reason"]
        )
        self.audit_as(grant, AuditAction.BREAK_GLASS, detail=grant.reason[:400])
        return Response(BreakGlassAccessSerializer(grant).data, status=status.HTTP_201_CREATED)


class BreakGlassAccessViewSet(ReadOnlyClinicViewSet):
    """Every break-the-glass grant, for the practice manager (who reads the audit log)."""

    serializer_class = BreakGlassAccessSerializer
    filterset_class = BreakGlassAccessFilter
    ordering_fields = ["granted_at", "expires_at"]
    required_capabilities = {
        "list": Capability.READ_AUDIT_LOG,
        "retrieve": Capability.READ_AUDIT_LOG,
    }

    def scoped_queryset(self):
        return selectors.break_glass_list_for_user(user=self.request.user)


# --- Safety alerts ------------------------------------------------------------------------------


class SafetyAlertViewSet(ReadOnlyClinicViewSet):
    """A patient's safety alerts (``/patients/{patient_id}/alerts/``), newest first."""

    serializer_class = SafetyAlertSerializer
    filterset_class = SafetyAlertFilter
    audit_object_type = "safetyalert"
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "acknowledge": Capability.ACKNOWLEDGE_SAFETY_ALERTS,
    }

    def get_patient(self) -> Patient:
        if not hasattr(self, "_patient"):
            self._patient = selectors.clinical_patient_get(
                user=self.request.user, pk=self.kwargs["patient_pk"]
            )
            self.audit_patient = self._patient
        return self._patient

    def scoped_queryset(self):
        return selectors.safety_alert_list(patient=self.get_patient())

    @extend_schema(
        request=AcknowledgeSerializer,
        responses={200: SafetyAlertSerializer, 409: _409},
        description="A prescriber acknowledges the alert with a note; it leaves the active list.",
    )
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, patient_pk=None, pk=None):
        alert = self.get_object()
        form = AcknowledgeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        alert = services.safety_alert_acknowledge(
            actor=request.user, alert=alert, note=form.validated_data["note"]
        )
        self.audit_as(alert, AuditAction.UPDATE, detail="acknowledged")
        return Response(SafetyAlertSerializer(alert).data)


# --- Consents -----------------------------------------------------------------------------------


class ConsentViewSet(ReadCreateViewSet):
    """Informed consents for ketamine treatment. Recorded once; never edited."""

    serializer_class = ConsentSerializer
    filterset_class = ConsentFilter
    ordering_fields = ["signed_on"]
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
    }

    def scoped_queryset(self):
        return selectors.consent_list_for_user(user=self.request.user)

    def perform_create(self, serializer):
        self.save_with(services.consent_create, serializer)


# --- Evaluations --------------------------------------------------------------------------------


@extend_schema_view(
    update=extend_schema(responses={200: EvaluationSerializer, 409: _409}),
    partial_update=extend_schema(responses={200: EvaluationSerializer, 409: _409}),
)
class EvaluationViewSet(mixins.UpdateModelMixin, ReadCreateViewSet):
    """Pre-treatment evaluations. A prescriber signs; a signed evaluation is corrected
    only by amendments."""

    serializer_class = EvaluationSerializer
    filterset_class = EvaluationFilter
    ordering_fields = ["evaluated_on", "signed_at"]
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
        "update": Capability.CHART,
        "sign": Capability.SIGN_RECORDS,
        "amendments": Capability.VIEW_CLINICAL_RECORDS,
        "add_amendment": Capability.CHART,
    }

    def scoped_queryset(self):
        return (
            selectors.evaluation_list_for_user(user=self.request.user)
            .annotate(amendment_count=Count("amendments"))
            .order_by(*Evaluation._meta.ordering)
        )

    def perform_create(self, serializer):
        self.save_with(services.evaluation_create, serializer)

    def update(self, request, *args, **kwargs):
        # A signed evaluation answers 409 whatever is sent, before the input is checked.
        ensure_unsigned(self.get_object(), what="evaluation")
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        changes = dict(serializer.validated_data)
        changes.pop("patient", None)
        evaluation = services.evaluation_update(
            actor=self.request.user, evaluation=serializer.instance, **changes
        )
        serializer.instance = self.get_queryset().get(pk=evaluation.pk)
        self.audit_as(evaluation)

    @extend_schema(
        request=None,
        responses={
            200: EvaluationSerializer,
            400: OpenApiResponse(description="The evaluation cannot be signed as it stands"),
            409: _409,
        },
        description="Sign (prescriber only). The eligibility must be decided (not pending). "
        "Once signed the evaluation is locked: edits answer 409; use amendments.",
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        evaluation = services.evaluation_sign(actor=request.user, evaluation=self.get_object())
        self.audit_as(evaluation, AuditAction.SIGN)
        evaluation = self.get_queryset().get(pk=evaluation.pk)
        return Response(self.get_serializer(evaluation).data)

    @extend_schema(
        responses={200: AmendmentSerializer(many=True)},
        filters=False,
        description="The amendments of the evaluation, oldest first.",
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def amendments(self, request, pk=None):
        evaluation = self.get_object()
        self.audit_as(evaluation, AuditAction.VIEW, detail="amendments")
        amendments = selectors.evaluation_amendment_list(evaluation=evaluation)
        return Response(AmendmentSerializer(amendments, many=True).data)

    @extend_schema(
        request=AmendmentSerializer,
        responses={201: AmendmentSerializer, 409: _409},
        description="Append a correction to a signed evaluation. Amendments are never edited.",
    )
    @amendments.mapping.post
    def add_amendment(self, request, pk=None):
        evaluation = self.get_object()
        form = AmendmentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        amendment = services.evaluation_amend(
            actor=request.user, evaluation=evaluation, text=form.validated_data["text"]
        )
        self.audit_as(evaluation, AuditAction.AMEND, detail=f"amendment {amendment.pk}")
        return Response(AmendmentSerializer(amendment).data, status=status.HTTP_201_CREATED)


# --- Assessments --------------------------------------------------------------------------------


@extend_schema_view(create=extend_schema(responses={201: AssessmentSerializer, 409: _409}))
class AssessmentViewSet(ReadCreateViewSet):
    """Rating scales with every item answer; total and severity are computed."""

    serializer_class = AssessmentSerializer
    filterset_class = AssessmentFilter
    ordering_fields = ["administered_at"]
    required_capabilities = {
        "list": Capability.VIEW_CLINICAL_RECORDS,
        "retrieve": Capability.VIEW_CLINICAL_RECORDS,
        "create": Capability.CHART,
    }

    def scoped_queryset(self):
        return selectors.assessment_list_for_user(user=self.request.user)

    def perform_create(self, serializer):
        self.save_with(services.assessment_create, serializer)
