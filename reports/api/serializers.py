"""Shapes of the treatment summaries API. Serializers check shape only; rules live in services."""

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ehr.api.serializers import CharField, ModelSerializer
from reports.models import TreatmentSummary


class SummaryRequestSerializer(serializers.Serializer):
    patient = serializers.IntegerField(min_value=1, help_text="Id of a patient on your care team.")
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(required=False, allow_null=True)
    comment = CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="Clinician comment printed in the summary (any script; shown literally).",
    )


class TreatmentSummarySerializer(ModelSerializer):
    pdf_url = serializers.SerializerMethodField(
        help_text="Where to download the PDF once the summary is ready (a path on this "
        "server); null before."
    )
    status_display = serializers.SerializerMethodField(
        help_text="The status in words, for a progress display."
    )

    class Meta:
        model = TreatmentSummary
        fields = [
            "id",
            "document_id",
            "patient",
            "period_start",
            "period_end",
            "comment",
            "status",
            "status_display",
            "error",
            "attempts",
            "sha256",
            "page_count",
            "pdf_url",
            "requested_by",
            "created_at",
            "generated_at",
            "signed_at",
            "signed_by",
            "released_at",
            "released_to",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri-reference", "nullable": True})
    def get_pdf_url(self, summary) -> str | None:
        if summary.status != TreatmentSummary.Status.READY:
            return None
        return reverse("api:summary-pdf", args=[summary.pk])

    def get_status_display(self, summary) -> str:
        return status_in_words(summary)


#: The clinic's own handling of a summary, which the referring provider it is released to
#: has no use for: how many attempts it took, and which staff accounts requested and signed
#: it (the PDF names the signer).
INTERNAL_FIELDS = ("attempts", "requested_by", "signed_by")


class ReleasedSummarySerializer(TreatmentSummarySerializer):
    """What a referring provider sees of a summary released to them: the document."""

    class Meta(TreatmentSummarySerializer.Meta):
        fields = [f for f in TreatmentSummarySerializer.Meta.fields if f not in INTERNAL_FIELDS]
        read_only_fields = fields


def status_in_words(summary: TreatmentSummary) -> str:
    """Where a summary stands, as the request page shows it while polling."""
    status = TreatmentSummary.Status
    if summary.status == status.QUEUED:
        return "Queued: waiting for the document service"
    if summary.status == status.GENERATING:
        return "Generating the PDF"
    if summary.status == status.FAILED:
        return "Failed"
    if summary.is_released:
        return "Released to the referring provider"
    if summary.is_signed:
        return "Signed: ready to release"
    return "Ready: review and sign"
