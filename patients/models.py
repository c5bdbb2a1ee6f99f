import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from ehr.records import Amendment, History, SignedRecord
from patients.diagnoses import DIAGNOSIS_CHOICES
from patients.scales import Instrument

CARE_TEAM_PERMISSION = "care_for_patient"


class ReferringProvider(models.Model):
    """An outside doctor who refers patients and receives treatment summaries."""

    name = models.CharField(max_length=200)
    npi = models.CharField("NPI", max_length=10, unique=True)
    practice = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    fax = models.CharField(max_length=32, blank=True)
    # The portal account (role referring_provider) that receives released summaries.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referring_provider",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = History()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return f"{self.name} (NPI {self.npi})"


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female"
        MALE = "male"
        OTHER = "other"
        UNKNOWN = "unknown"

    class Status(models.TextChoices):
        REFERRED = "referred"
        EVALUATING = "evaluating"
        ACTIVE = "active"
        MAINTENANCE = "maintenance"
        DISCHARGED = "discharged"
        DECLINED = "declined"

    mrn = models.CharField("MRN", max_length=16, unique=True, editable=False)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=32, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    emergency_contact = models.CharField(max_length=300, blank=True)
    referring_provider = models.ForeignKey(
        ReferringProvider, null=True, blank=True, on_delete=models.PROTECT, related_name="patients"
    )
    responsible_prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responsible_for",
    )
    primary_diagnosis = models.CharField(max_length=10, choices=DIAGNOSIS_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REFERRED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    history = History()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        permissions = [(CARE_TEAM_PERMISSION, "Is on the patient's care team")]
        indexes = [models.Index(fields=["last_name", "first_name"])]

    def __str__(self):
        return f"{self.last_name}, {self.first_name} ({self.mrn})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def save(self, *args, **kwargs):
        if not self.mrn:
            self.mrn = _new_mrn()
        super().save(*args, **kwargs)


def _new_mrn() -> str:
    """A random eight-digit MRN not yet in use (prefixed so it never reads as a number)."""
    while True:
        candidate = f"K{secrets.randbelow(10**8):08d}"
        if not Patient.objects.filter(mrn=candidate).exists():
            return candidate


class PatientUserObjectPermission(UserObjectPermissionBase):
    """Care-team grants: a direct foreign key, not guardian's generic table."""

    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class PatientGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Patient, on_delete=models.CASCADE)


class BreakGlassAccess(models.Model):
    """Time-limited access for a clinician not on the care team, with a reason."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="break_glass_grants"
    )
    reason = models.TextField()
    granted_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-granted_at"]
        indexes = [models.Index(fields=["user", "patient", "expires_at"])]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="break_glass_has_reason"),
        ]


class Consent(models.Model):
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    form_version = models.CharField(max_length=50)
    signed_on = models.DateField()
    witness = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = History()

    class Meta:
        ordering = ["-signed_on", "-id"]


class Evaluation(SignedRecord):
    """The pre-treatment evaluation that decides eligibility for ketamine."""

    class Eligibility(models.TextChoices):
        PENDING = "pending"
        ELIGIBLE = "eligible"
        ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"
        NOT_ELIGIBLE = "not_eligible"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="evaluations")
    evaluated_on = models.DateField()
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    psychiatric_history = models.TextField(blank=True)
    prior_treatments = models.TextField(blank=True)
    medical_history = models.TextField(blank=True)
    current_medications = models.TextField(blank=True)
    allergies = models.TextField(blank=True)
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(20), MaxValueValidator(400)],
    )
    height_cm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        validators=[MinValueValidator(50), MaxValueValidator(250)],
    )
    bp_systolic = models.PositiveSmallIntegerField()
    bp_diastolic = models.PositiveSmallIntegerField()
    heart_rate = models.PositiveSmallIntegerField()
    # Every key of patients.contraindications.CONTRAINDICATIONS -> true/false.
    contraindications = models.JSONField(default=dict)
    eligibility = models.CharField(
        max_length=32, choices=Eligibility.choices, default=Eligibility.PENDING
    )
    precautions = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = History()

    class Meta:
        ordering = ["-evaluated_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False),
                name="evaluation_signature_names_signer",
            ),
            # Backs patients.eligibility.evaluation_measure_errors.
            models.CheckConstraint(
                condition=Q(bp_systolic__gte=50)
                & Q(bp_systolic__lte=280)
                & Q(bp_diastolic__gte=20)
                & Q(bp_diastolic__lte=180)
                & Q(bp_diastolic__lt=F("bp_systolic"))
                & Q(heart_rate__gte=20)
                & Q(heart_rate__lte=250),
                name="evaluation_vitals_possible",
            ),
            # A pending evaluation is never signed (patients.services.evaluation_sign).
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | ~Q(eligibility="pending"),
                name="evaluation_signed_with_a_decision",
            ),
        ]

    def __str__(self):
        return f"Evaluation {self.evaluated_on} of {self.patient}"

    @property
    def bmi(self):
        """Body-mass index from weight and height (``patients.eligibility.bmi``)."""
        from patients.eligibility import bmi

        return bmi(weight_kg=self.weight_kg, height_cm=self.height_cm)


class AmendmentImmutable(Exception):
    pass


class EvaluationAmendment(Amendment):
    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="amendments")

    def save(self, *args, **kwargs):
        # Append-only: a correction is corrected by another amendment.
        if self.pk is not None:
            raise AmendmentImmutable("Amendments cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AmendmentImmutable("Amendments cannot be deleted.")

    def audit_patient(self):
        return self.evaluation.patient_id


class Assessment(models.Model):
    """One administration of a rating scale, with every item answer."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="assessments")
    instrument = models.CharField(max_length=8, choices=Instrument.choices)
    answers = models.JSONField()
    # Computed by patients.scales from the answers; never typed.
    total = models.PositiveSmallIntegerField(editable=False)
    severity = models.CharField(max_length=32, blank=True, editable=False)
    administered_at = models.DateTimeField()
    session = models.ForeignKey(
        "infusions.InfusionSession",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    evaluation = models.ForeignKey(
        Evaluation, null=True, blank=True, on_delete=models.PROTECT, related_name="assessments"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = History()

    class Meta:
        ordering = ["administered_at", "id"]
        indexes = [models.Index(fields=["patient", "instrument", "administered_at"])]


class SafetyAlert(models.Model):
    """A safety concern that stays on the patient until a prescriber acknowledges it."""

    class Kind(models.TextChoices):
        SELF_HARM = "self_harm", "Thoughts of self-harm (PHQ-9 item 9)"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="safety_alerts")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.CharField(max_length=500)
    raised_at = models.DateTimeField(auto_now_add=True)
    assessment = models.ForeignKey(
        Assessment, null=True, blank=True, on_delete=models.PROTECT, related_name="safety_alerts"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True)
                | (Q(acknowledged_by__isnull=False) & ~Q(note="")),
                name="safety_alert_acknowledgement_has_prescriber_and_note",
            ),
        ]
