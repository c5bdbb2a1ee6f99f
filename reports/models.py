import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from ehr.records import SignedRecord

RELEASED_SUMMARY_PERMISSION = "receive_summary"


class TreatmentSummary(SignedRecord):
    """A PDF treatment summary for the referring provider, built by a Celery task."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        GENERATING = "generating"
        READY = "ready"
        FAILED = "failed"

    # The document id printed on every page (and used to verify a copy later).
    document_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="summaries"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    comment = models.TextField(blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the current generation attempt took its lease (sweep re-queues stale ones),
    # and the Celery task that holds it: a redelivery of that same task takes over.
    generating_since = models.DateTimeField(null=True, blank=True)
    generating_task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    # What the PDF shows, as computed from the records when it was generated
    # (reports.content). Signing re-draws this same snapshot with the signature.
    content = models.JSONField(default=dict, blank=True, editable=False)

    pdf = models.FileField(upload_to="summaries/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    page_count = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    generated_at = models.DateTimeField(null=True, blank=True)

    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_to = models.ForeignKey(
        "patients.ReferringProvider",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [(RELEASED_SUMMARY_PERMISSION, "Receives the released summary")]
        constraints = [
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | Q(signed_at__isnull=False),
                name="summary_released_only_when_signed",
            ),
            models.CheckConstraint(
                condition=Q(period_start__isnull=True)
                | Q(period_end__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="summary_period_in_order",
            ),
        ]

    def __str__(self):
        return f"Treatment summary {self.document_id}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_released(self) -> bool:
        return self.released_at is not None


class TreatmentSummaryUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(TreatmentSummary, on_delete=models.CASCADE)


class TreatmentSummaryGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(TreatmentSummary, on_delete=models.CASCADE)
