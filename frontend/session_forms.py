"""Forms of the treatment course and infusion charting pages (shape only; rules in services).

Every form on the charting screen has its own prefix, so field names and ids
never collide and a service error naming ``reason`` lands on the right form.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import timezone

from frontend.patient_forms import DATE, DATETIME
from sessions.models import MoodNote, SideEffect, TreatmentCourse

NOW_HELP = "Leave empty for now."


def now_if_empty(data: dict, field: str) -> dict:
    """``data`` with ``field`` set to now when the clinician left it empty ("now")."""
    return {**data, field: data.get(field) or timezone.now()}


class CourseForm(forms.Form):
    protocol = forms.ChoiceField(
        choices=TreatmentCourse.Protocol.choices, initial=TreatmentCourse.Protocol.INDUCTION
    )
    dose_mg_per_kg = forms.DecimalField(
        label="Ordered dose (mg/kg)",
        max_digits=4,
        decimal_places=2,
        initial=Decimal("0.50"),
        help_text="Sub-anaesthetic range 0.1–1.0 mg/kg.",
    )
    infusion_minutes = forms.IntegerField(label="Infusion minutes", initial=40)
    planned_sessions = forms.IntegerField(
        required=False, help_text="Empty: 6 for induction, 1 for a maintenance booster."
    )
    start_date = forms.DateField(widget=DATE)


class SessionScheduleForm(forms.Form):
    scheduled_for = forms.DateTimeField(widget=DATETIME, label="Scheduled for")
    weight_kg = forms.DecimalField(label="Weight today (kg)", max_digits=5, decimal_places=1)
    dose_mg_per_kg = forms.DecimalField(label="Dose (mg/kg)", max_digits=4, decimal_places=2)
    infusion_minutes = forms.IntegerField(label="Infusion minutes")
    concentration_mg_per_ml = forms.DecimalField(
        label="Stock concentration (mg/mL)", max_digits=6, decimal_places=2
    )
    bag_volume_ml = forms.DecimalField(
        label="Bag final volume (mL)", max_digits=6, decimal_places=1
    )
    nurse = forms.ModelChoiceField(queryset=None, required=False, empty_label="Not yet assigned")
    supervising_prescriber = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Not yet assigned"
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    confirmed = forms.BooleanField(
        label="I have checked the pre-filled weight and dose for this session",
        help_text="Values are proposed from the previous session; they are never applied unseen.",
    )

    def __init__(self, *args, nurses, prescribers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nurse"].queryset = nurses
        self.fields["supervising_prescriber"].queryset = prescribers

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("confirmed")
        return data


class DoseForm(forms.Form):
    weight_kg = forms.DecimalField(label="Weight (kg)", max_digits=5, decimal_places=1)
    dose_mg_per_kg = forms.DecimalField(label="Dose (mg/kg)", max_digits=4, decimal_places=2)
    infusion_minutes = forms.IntegerField(label="Minutes")
    concentration_mg_per_ml = forms.DecimalField(
        label="Stock (mg/mL)", max_digits=6, decimal_places=2
    )
    bag_volume_ml = forms.DecimalField(label="Bag (mL)", max_digits=6, decimal_places=1)


class VerifyDoseForm(forms.Form):
    """The values the verifier saw: every input of the dose plan (so the draw volume and the
    pump rate too) and the total. The service compares each with the session
    (``sessions.services.VERIFIED_VALUES``): if one changed meanwhile, nothing is verified."""

    weight_kg = forms.DecimalField(max_digits=5, decimal_places=1, widget=forms.HiddenInput)
    dose_mg_per_kg = forms.DecimalField(max_digits=4, decimal_places=2, widget=forms.HiddenInput)
    total_dose_mg = forms.DecimalField(max_digits=6, decimal_places=1, widget=forms.HiddenInput)
    infusion_minutes = forms.IntegerField(widget=forms.HiddenInput)
    concentration_mg_per_ml = forms.DecimalField(
        max_digits=6, decimal_places=2, widget=forms.HiddenInput
    )
    bag_volume_ml = forms.DecimalField(max_digits=6, decimal_places=1, widget=forms.HiddenInput)


class OverrideForm(forms.Form):
    dose_mg_per_kg = forms.DecimalField(label="Dose (mg/kg)", max_digits=4, decimal_places=2)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ChecksForm(forms.Form):
    fasting_confirmed = forms.BooleanField(label="Fasting confirmed", required=False)
    escort_confirmed = forms.BooleanField(label="Escort home confirmed", required=False)
    pre_bp_systolic = forms.IntegerField(label="Pre-infusion BP systolic", required=False)
    pre_bp_diastolic = forms.IntegerField(label="Pre-infusion BP diastolic", required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class VitalsForm(forms.Form):
    recorded_at = forms.DateTimeField(
        label="Time", widget=DATETIME, required=False, help_text=NOW_HELP
    )
    bp_systolic = forms.IntegerField(
        label="Systolic", widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    bp_diastolic = forms.IntegerField(
        label="Diastolic", widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    heart_rate = forms.IntegerField(
        label="Heart rate", widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    spo2 = forms.IntegerField(
        label="SpO2 %", widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )
    resp_rate = forms.IntegerField(
        label="Resp. rate", widget=forms.NumberInput(attrs={"inputmode": "numeric"})
    )


GRADE_CHOICES = [
    (1, "1 mild"),
    (2, "2 moderate"),
    (3, "3 severe"),
    (4, "4 life-threatening"),
    (5, "5 death"),
]


class SideEffectForm(forms.Form):
    effect = forms.ChoiceField(choices=SideEffect.Effect.choices)
    other_text = forms.CharField(label="If other: what", max_length=200, required=False)
    grade = forms.TypedChoiceField(
        choices=GRADE_CHOICES, coerce=int, widget=forms.RadioSelect, label="Grade (CTCAE)"
    )
    onset_at = forms.DateTimeField(
        label="Onset", widget=DATETIME, required=False, help_text=NOW_HELP
    )
    resolved_at = forms.DateTimeField(label="Resolved", widget=DATETIME, required=False)
    intervention = forms.CharField(
        max_length=300,
        required=False,
        help_text="e.g. antiemetic given, rate reduced, infusion paused",
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


def focus_first_field(form) -> None:
    """Give the first field with an error (else the first field) the ``autofocus`` attribute:
    a form swapped in by htmx, or a page that opens on it, puts the cursor there."""
    name = next((name for name in form.fields if name in form.errors), next(iter(form.fields)))
    form.fields[name].widget.attrs["autofocus"] = True


class VitalsCorrectionForm(VitalsForm):
    """Correcting a reading: every value shown as stored; the time stays required."""

    field_order = ["bp_systolic", "bp_diastolic", "heart_rate", "spo2", "resp_rate"]
    recorded_at = forms.DateTimeField(label="Time", widget=DATETIME)


#: 0–10 as a row of buttons. No score is chosen until the clinician chooses one:
#: a preset value that nobody touched would be recorded as if the patient had said it.
SCORE_CHOICES = [(score, str(score)) for score in range(11)]


def _score_field(label: str, what: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=SCORE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": f"Choose the {what} score (0–10) the patient gives; none is preset."
        },
    )


class MoodNoteForm(forms.Form):
    phase = forms.ChoiceField(choices=MoodNote.Phase.choices, widget=forms.RadioSelect)
    mood = _score_field("Mood (0 worst – 10 best)", "mood")
    anxiety = _score_field("Anxiety (0 none – 10 extreme)", "anxiety")
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    recorded_at = forms.DateTimeField(
        label="Time", widget=DATETIME, required=False, help_text=NOW_HELP
    )


class MoodNoteCorrectionForm(MoodNoteForm):
    """Correcting a mood note: the stored values shown; the time stays required."""

    recorded_at = forms.DateTimeField(label="Time", widget=DATETIME)


class DischargeForm(forms.Form):
    discharge_at = forms.DateTimeField(
        label="Discharge time", widget=DATETIME, required=False, help_text=NOW_HELP
    )
    discharge_alert_oriented = forms.BooleanField(label="Alert and oriented", required=False)
    discharge_vitals_baseline = forms.BooleanField(label="Vitals near baseline", required=False)
    discharge_ambulating = forms.BooleanField(label="Ambulating", required=False)
    discharge_escort_present = forms.BooleanField(label="Escort present", required=False)


class NotesForm(forms.Form):
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
