from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from ehr.records import Amendment, History, SignedRecord


class MonitoringProtocol(models.Model):
    """The clinic's vitals thresholds and timing. Versioned: a change is a new row.

    The protocol in force is the newest version; every vitals reading keeps the
    version whose thresholds computed its alerts.
    """

    version = models.PositiveIntegerField(unique=True)
    pause_systolic_at = models.PositiveSmallIntegerField(default=180)
    pause_diastolic_at = models.PositiveSmallIntegerField(default=110)
    heart_rate_high_at = models.PositiveSmallIntegerField(default=130)
    heart_rate_low_at = models.PositiveSmallIntegerField(default=45)
    spo2_below = models.PositiveSmallIntegerField(default=92)
    resp_rate_below = models.PositiveSmallIntegerField(default=10)
    hold_pre_systolic_at = models.PositiveSmallIntegerField(default=160)
    hold_pre_diastolic_at = models.PositiveSmallIntegerField(default=100)
    vitals_interval_minutes = models.PositiveSmallIntegerField(default=15)
    observation_minutes = models.PositiveSmallIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self):
        return f"Monitoring protocol v{self.version}"


class TreatmentCourse(models.Model):
    class Protocol(models.TextChoices):
        INDUCTION = "induction"
        MAINTENANCE = "maintenance"

    class Status(models.TextChoices):
        ACTIVE = "active"
        COMPLETED = "completed"
        DISCONTINUED = "discontinued"

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="courses"
    )
    protocol = models.CharField(max_length=16, choices=Protocol.choices, default=Protocol.INDUCTION)
    dose_mg_per_kg = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("1.0"))],
    )
    infusion_minutes = models.PositiveSmallIntegerField(
        default=40, validators=[MinValueValidator(10), MaxValueValidator(240)]
    )
    planned_sessions = models.PositiveSmallIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    start_date = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = History()

    class Meta:
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(dose_mg_per_kg__gte=Decimal("0.1"))
                & Q(dose_mg_per_kg__lte=Decimal("1.0")),
                name="course_dose_in_subanaesthetic_range",
            ),
        ]

    def __str__(self):
        return f"{self.get_protocol_display()} course from {self.start_date}"


class InfusionSession(SignedRecord):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        STOPPED_EARLY = "stopped_early"
        CANCELLED = "cancelled"

    class Route(models.TextChoices):
        IV = "IV"

    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="sessions")
    number = models.PositiveSmallIntegerField(editable=False)
    scheduled_for = models.DateTimeField(db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    nurse = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supervising_prescriber = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # Dose. total_dose_mg is computed by sessions.dosing from weight and mg/kg.
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    dose_mg_per_kg = models.DecimalField(max_digits=4, decimal_places=2)
    total_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, editable=False)
    infusion_minutes = models.PositiveSmallIntegerField()
    route = models.CharField(max_length=4, choices=Route.choices, default=Route.IV)
    concentration_mg_per_ml = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("10")
    )
    bag_volume_ml = models.DecimalField(max_digits=6, decimal_places=1, default=Decimal("100"))
    dose_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dose_override_at = models.DateTimeField(null=True, blank=True)
    dose_override_reason = models.TextField(blank=True)
    # The exact mg/kg the override covers; a different dose needs a new override.
    dose_override_mg_per_kg = models.DecimalField(
        max_digits=4, decimal_places=2, null=True, blank=True
    )
    # Who prepared the dose as it stands: the creator, then whoever last changed a dose
    # value or recorded an override. Neither may verify it (four eyes on every change).
    dose_prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )
    dose_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dose_verified_at = models.DateTimeField(null=True, blank=True)

    # Pre-infusion checks.
    fasting_confirmed = models.BooleanField(default=False)
    escort_confirmed = models.BooleanField(default=False)
    pre_bp_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    pre_bp_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    go_ahead_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    go_ahead_at = models.DateTimeField(null=True, blank=True)
    go_ahead_reason = models.TextField(blank=True)

    stop_reason = models.TextField(blank=True)
    cancel_reason = models.TextField(blank=True)

    # Discharge checklist.
    discharge_at = models.DateTimeField(null=True, blank=True)
    discharge_alert_oriented = models.BooleanField(default=False)
    discharge_vitals_baseline = models.BooleanField(default=False)
    discharge_ambulating = models.BooleanField(default=False)
    discharge_escort_present = models.BooleanField(default=False)

    notes = models.TextField(blank=True)
    serious_adverse_event = models.BooleanField(default=False)
    # The protocol in force when the session was created.
    protocol = models.ForeignKey(MonitoringProtocol, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = History()

    class Meta:
        ordering = ["scheduled_for", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "number"], name="session_number_unique_in_course"
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__gte=30) & Q(weight_kg__lte=300),
                name="session_weight_30_to_300_kg",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(signed_by__isnull=False),
                name="session_signature_names_signer",
            ),
            models.CheckConstraint(
                condition=Q(dose_verified_by__isnull=True) | ~Q(dose_verified_by=F("created_by")),
                name="session_dose_verified_by_second_clinician",
            ),
            models.CheckConstraint(
                condition=Q(dose_verified_by__isnull=True)
                | ~Q(dose_verified_by=F("dose_prepared_by")),
                name="session_dose_not_verified_by_its_preparer",
            ),
            models.CheckConstraint(
                condition=Q(dose_mg_per_kg__gte=Decimal("0.05"))
                & Q(dose_mg_per_kg__lte=Decimal("2.0")),
                name="session_dose_within_absolute_limits",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "cancelled"])
                | (Q(dose_verified_by__isnull=False) & Q(started_at__isnull=False)),
                name="session_started_only_with_verified_dose",
            ),
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | Q(status__in=["completed", "stopped_early"]),
                name="session_signed_only_when_finished",
            ),
            models.CheckConstraint(
                condition=~Q(status="stopped_early") | ~Q(stop_reason=""),
                name="session_stopped_early_has_reason",
            ),
        ]

    def __str__(self):
        return f"Session {self.number} of {self.course}"

    def save(self, *args, **kwargs):
        # A new session's dose is prepared by whoever creates it.
        if self.dose_prepared_by_id is None:
            self.dose_prepared_by_id = self.created_by_id
        super().save(*args, **kwargs)

    @property
    def patient(self):
        return self.course.patient

    @property
    def dose_plan(self):
        """Total mg, mg/min, draw mL and pump mL/h, from ``sessions.dosing.dose_plan``."""
        from sessions.dosing import dose_plan

        return dose_plan(
            weight_kg=self.weight_kg,
            dose_mg_per_kg=self.dose_mg_per_kg,
            infusion_minutes=self.infusion_minutes,
            concentration_mg_per_ml=self.concentration_mg_per_ml,
            bag_volume_ml=self.bag_volume_ml,
        )

    @property
    def discharge_checklist_missing(self) -> list[str]:
        """The discharge items not yet recorded (empty: the checklist is complete)."""
        items = [
            ("discharge_at", "discharge time"),
            ("discharge_alert_oriented", "alert and oriented"),
            ("discharge_vitals_baseline", "vitals near baseline"),
            ("discharge_ambulating", "ambulating"),
            ("discharge_escort_present", "escort present"),
        ]
        return [label for field, label in items if not getattr(self, field)]

    def audit_patient(self):
        return self.course.patient_id


class _SessionChild(models.Model):
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def audit_patient(self):
        return self.session.course.patient_id


class _Correctable(_SessionChild):
    """An entry that may be corrected before the session is signed.

    The latest correction is named here; every earlier version is in ``history``.
    """

    corrected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    corrected_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True


def _correction_names_who(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(corrected_at__isnull=True, corrected_by__isnull=True)
        | Q(corrected_at__isnull=False, corrected_by__isnull=False),
        name=name,
    )


class VitalSign(_Correctable):
    session = models.ForeignKey(InfusionSession, on_delete=models.PROTECT, related_name="vitals")
    recorded_at = models.DateTimeField()
    bp_systolic = models.PositiveSmallIntegerField()
    bp_diastolic = models.PositiveSmallIntegerField()
    heart_rate = models.PositiveSmallIntegerField()
    spo2 = models.PositiveSmallIntegerField()
    resp_rate = models.PositiveSmallIntegerField()
    # Alert messages computed from ``protocol`` when the reading was saved; a correction
    # recomputes them under the same version.
    alerts = models.JSONField(default=list, editable=False)
    protocol = models.ForeignKey(MonitoringProtocol, on_delete=models.PROTECT, related_name="+")

    history = History()

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(bp_systolic__gte=50) & Q(bp_systolic__lte=280),
                name="vitals_systolic_possible",
            ),
            models.CheckConstraint(
                condition=Q(bp_diastolic__gte=20)
                & Q(bp_diastolic__lte=180)
                & Q(bp_diastolic__lt=F("bp_systolic")),
                name="vitals_diastolic_possible",
            ),
            models.CheckConstraint(
                condition=Q(heart_rate__gte=20) & Q(heart_rate__lte=250),
                name="vitals_heart_rate_possible",
            ),
            models.CheckConstraint(
                condition=Q(spo2__gte=50) & Q(spo2__lte=100), name="vitals_spo2_possible"
            ),
            models.CheckConstraint(
                condition=Q(resp_rate__gte=4) & Q(resp_rate__lte=60),
                name="vitals_resp_rate_possible",
            ),
            _correction_names_who("vitals_correction_names_who"),
        ]


class SideEffect(_Correctable):
    class Effect(models.TextChoices):
        DISSOCIATION = "dissociation"
        DIZZINESS = "dizziness"
        NAUSEA = "nausea"
        VOMITING = "vomiting"
        HEADACHE = "headache"
        TACHYCARDIA = "tachycardia"
        HYPERTENSION = "hypertension"
        SEDATION = "sedation"
        BLURRED_VISION = "blurred_vision", "Blurred vision"
        ANXIETY_AGITATION = "anxiety_agitation", "Anxiety or agitation"
        EMERGENCE_REACTION = "emergence_reaction", "Emergence reaction"
        HALLUCINATIONS = "hallucinations"
        OTHER = "other"

    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, related_name="side_effects"
    )
    effect = models.CharField(max_length=24, choices=Effect.choices)
    other_text = models.CharField(max_length=200, blank=True)
    grade = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    onset_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    intervention = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)

    history = History()

    class Meta:
        ordering = ["onset_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1) & Q(grade__lte=5), name="side_effect_grade_1_to_5"
            ),
            models.CheckConstraint(
                condition=~Q(effect="other") | ~Q(other_text=""),
                name="side_effect_other_is_described",
            ),
            models.CheckConstraint(
                condition=Q(resolved_at__isnull=True) | Q(resolved_at__gte=F("onset_at")),
                name="side_effect_resolves_after_onset",
            ),
            _correction_names_who("side_effect_correction_names_who"),
        ]

    @property
    def label(self) -> str:
        """How the effect is named on screen and on paper (``sessions.monitoring``)."""
        from sessions.monitoring import side_effect_label

        return side_effect_label(self)

    @property
    def serious(self) -> bool:
        """Grade 3 or above (``sessions.monitoring.is_serious_adverse_event``)."""
        from sessions.monitoring import is_serious_adverse_event

        return is_serious_adverse_event(self.grade)


class MoodNote(_Correctable):
    class Phase(models.TextChoices):
        PRE = "pre"
        DURING = "during"
        POST = "post"

    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, related_name="mood_notes"
    )
    recorded_at = models.DateTimeField()
    phase = models.CharField(max_length=8, choices=Phase.choices)
    mood = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    anxiety = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    text = models.TextField(blank=True)

    history = History()

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mood__lte=10) & Q(anxiety__lte=10), name="mood_note_scores_0_to_10"
            ),
            _correction_names_who("mood_note_correction_names_who"),
        ]


class SessionAmendment(Amendment):
    session = models.ForeignKey(
        InfusionSession, on_delete=models.PROTECT, related_name="amendments"
    )

    def audit_patient(self):
        return self.session.course.patient_id
