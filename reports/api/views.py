from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from ehr.api.base import ReadOnlyClinicViewSet
from ehr.models import AuditAction
from ehr.roles import Capability, can
from patients.selectors import clinical_patient_get
from reports import selectors, services
from reports.api.serializers import (
    INTERNAL_FIELDS,
    ReleasedSummarySerializer,
    SummaryRequestSerializer,
    TreatmentSummarySerializer,
)
from reports.downloads import summary_pdf_response
from reports.filters import SummaryFilter

# 401, 403, 404 and 400 (input, filters) are documented for every endpoint by
# ehr.api.schema.ClinicAutoSchema; views add what is particular to them.
_409 = OpenApiResponse(description="The summary is not in a state that allows this")
_INTERNAL = ", ".join(f"`{name}`" for name in INTERNAL_FIELDS)


@extend_schema_view(
    list=extend_schema(
        description="Summaries you may see: those of your care team's patients for clinicians, "
        f"those released to you for a referring provider (without {_INTERNAL}, the clinic's "
        "own handling of the summary).",
    ),
    retrieve=extend_schema(
        description="One summary; poll it for the status while the PDF is generated. A "
        f"referring provider sees it without {_INTERNAL}.",
    ),
)
class TreatmentSummaryViewSet(ReadOnlyClinicViewSet):
    """Treatment summaries: request (202), poll, download, sign, release."""

    serializer_class = TreatmentSummarySerializer
    filterset_class = SummaryFilter
    ordering_fields = ["created_at"]
    audit_object_type = "treatmentsummary"

    @property
    def required_capabilities(self):
        # Clinicians read their patients' summaries; a referring provider reads the
        # ones released to them. Which summaries exactly is the selector's job.
        user = getattr(getattr(self, "request", None), "user", None)
        reading = (
            Capability.VIEW_RELEASED_SUMMARIES
            if can(user, Capability.VIEW_RELEASED_SUMMARIES)
            else Capability.VIEW_SUMMARIES
        )
        return {
            "list": reading,
            "retrieve": reading,
            "pdf": reading,
            "create": Capability.REQUEST_SUMMARIES,
            "sign": Capability.SIGN_RECORDS,
            "release": Capability.RELEASE_SUMMARIES,
        }

    def scoped_queryset(self):
        return selectors.summary_list_for_user(user=self.request.user, people=False)

    def get_serializer_class(self):
        # The clinic's handling of a summary (attempts, staff account ids) is shown to
        # clinicians only; a referring provider sees the document.
        if self.requester_lacks(Capability.VIEW_SUMMARIES):
            return ReleasedSummarySerializer
        return super().get_serializer_class()

    @extend_schema(
        request=SummaryRequestSerializer,
        responses={
            202: TreatmentSummarySerializer,
            404: OpenApiResponse(description="No such patient among those you may see"),
        },
        description="Request a summary. Answers at once (202) with the queued summary; the "
        "PDF is generated in the background. Poll the summary for its status.",
    )
    def create(self, request):
        form = SummaryRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        patient = clinical_patient_get(user=request.user, pk=data["patient"])
        summary = services.summary_request(
            actor=request.user,
            patient=patient,
            period_start=data.get("period_start"),
            period_end=data.get("period_end"),
            comment=data.get("comment", ""),
        )
        self.audit_as(summary, AuditAction.CREATE)
        return Response(
            TreatmentSummarySerializer(summary, context=self.get_serializer_context()).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            409: OpenApiResponse(description="The PDF is not ready (queued, generating, failed)"),
        },
        description="Download the PDF (every download is audited).",
    )
    @action(detail=True, methods=["get"], url_path="pdf", url_name="pdf")
    def pdf(self, request, pk=None):
        summary = self.get_object()
        response = summary_pdf_response(summary=summary)
        self.audit_as(summary, AuditAction.DOWNLOAD)
        return response

    @extend_schema(
        request=None,
        responses={200: TreatmentSummarySerializer, 409: _409},
        description="Sign a ready summary. The PDF is re-drawn with the signature "
        "(same content, same document id); it is then locked.",
    )
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        summary = services.summary_sign(actor=request.user, summary=self.get_object())
        self.audit_as(summary, AuditAction.SIGN)
        return Response(self.get_serializer(summary).data)

    @extend_schema(
        request=None,
        responses={
            200: TreatmentSummarySerializer,
            400: OpenApiResponse(
                description="The patient has no referring provider with an active portal account"
            ),
            409: _409,
        },
        description="Release a signed summary to the patient's referring provider: their "
        "portal account may then read and download it, and they get an email with a link "
        "(no health information).",
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        summary = services.summary_release(actor=request.user, summary=self.get_object())
        self.audit_as(summary, AuditAction.RELEASE)
        return Response(self.get_serializer(summary).data)
