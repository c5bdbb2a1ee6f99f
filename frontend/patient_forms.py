"""Forms of the patient pages: shape only; the services apply the rules."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from ehr import selectors as account_selectors
from ehr.roles import Capability, can
from patients import scales
from patients import selectors as patient_selectors
from patients.contraindications import CONTRAINDICATIONS
from patients.models import Evaluation, Patient
from patients.services import CARE_TEAM_ADD, CARE_TEAM_REMOVE

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def prescribers():
    """Active prescribers (who may be responsible for a patient)."""
    return [u for u in account_selectors.clinician_list() if can(u, Capability.ORDER_TREATMENT)]


class PatientForm(forms.Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    date_of_birth = forms.DateField(widget=DATE)
    sex = forms.ChoiceField(choices=Patient.Sex.choices, initial=Patient.Sex.UNKNOWN)
    phone = forms.CharField(max_length=32, required=False)
    email = forms.EmailField(required=False)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    emergency_contact = forms.CharField(max_length=300, required=False)
    primary_diagnosis = forms.ChoiceField(
        choices=Patient._meta.get_field("primary_diagnosis").choices
    )
    referring_provider = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="None (self-referred)"
    )
    responsible_prescriber = forms.TypedChoiceField(
        choices=(), required=False, coerce=int, empty_value=None
    )
    status = forms.ChoiceField(choices=Patient.Status.choices, initial=Patient.Status.REFERRED)

    def __init__(self, *args, user, include_status: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "referring_provider"
        ].queryset = patient_selectors.referring_provider_list_for_user(user=user)
        self._prescribers = {p.pk: p for p in prescribers()}
        self.fields["responsible_prescriber"].choices = [("", "Not yet assigned")] + [
            (pk, str(p)) for pk, p in self._prescribers.items()
        ]
        if not include_status:
            del self.fields["status"]

    @staticmethod
    def initial_from(patient: Patient) -> dict:
        initial = {name: getattr(patient, name) for name in PatientForm.base_fields}
        initial["responsible_prescriber"] = patient.responsible_prescriber_id
        return initial

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        pk = data.get("responsible_prescriber")
        data["responsible_prescriber"] = self._prescribers.get(pk) if pk else None
        return data


class ConsentForm(forms.Form):
    form_version = forms.CharField(max_length=50, help_text="As printed on the form, e.g. v3.1")
    signed_on = forms.DateField(widget=DATE)
    witness = forms.CharField(max_length=200)


class AcknowledgeAlertForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=5000,
        help_text="Required: e.g. risk assessed, safety plan reviewed.",
    )


class CareTeamForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, label="Clinician", empty_label="Choose…")
    action = forms.ChoiceField(
        choices=[(CARE_TEAM_ADD, "Add"), (CARE_TEAM_REMOVE, "Remove")],
        initial=CARE_TEAM_ADD,
        widget=forms.HiddenInput,
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates


class AssessmentForm(forms.Form):
    """One rating scale: a select per item, 0..the instrument's maximum."""

    instrument = forms.ChoiceField(choices=scales.Instrument.choices, widget=forms.HiddenInput)
    administered_at = forms.DateTimeField(widget=DATETIME, label="Administered at")

    def __init__(self, *args, instrument: str, **kwargs):
        super().__init__(*args, **kwargs)
        if instrument not in scales.Instrument.values:
            instrument = scales.Instrument.GAD7
        self.instrument = instrument
        self.instrument_label = scales.instrument_label(instrument)
        self.fields["instrument"].initial = instrument
        self.fields["administered_at"].initial = timezone.localtime().replace(
            second=0, microsecond=0
        )
        low, high = scales.answer_range(instrument)
        choices = [("", "–")] + [(str(v), str(v)) for v in range(low, high + 1)]
        self.item_names = []
        for number in range(1, scales.item_count(instrument) + 1):
            name = f"item_{number}"
            self.fields[name] = forms.TypedChoiceField(
                label=f"Item {number}", choices=choices, coerce=int
            )
            self.item_names.append(name)

    @property
    def items(self):
        return [self[name] for name in self.item_names]

    def service_fields(self) -> dict:
        return {
            "instrument": self.instrument,
            "answers": [self.cleaned_data[name] for name in self.item_names],
            "administered_at": self.cleaned_data["administered_at"],
        }


class EvaluationForm(forms.Form):
    """Every field of the pre-treatment evaluation, with one yes/no per contraindication."""

    evaluated_on = forms.DateField(widget=DATE)
    psychiatric_history = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    prior_treatments = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Medications tried, psychotherapy.",
    )
    medical_history = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    current_medications = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    allergies = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    weight_kg = forms.DecimalField(label="Weight (kg)", max_digits=5, decimal_places=1)
    height_cm = forms.DecimalField(label="Height (cm)", max_digits=5, decimal_places=1)
    bp_systolic = forms.IntegerField(label="Blood pressure, systolic (mmHg)")
    bp_diastolic = forms.IntegerField(label="Blood pressure, diastolic (mmHg)")
    heart_rate = forms.IntegerField(label="Heart rate (/min)")
    eligibility = forms.ChoiceField(choices=Evaluation.Eligibility.choices)
    precautions = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    YES_NO = [("no", "No"), ("yes", "Yes")]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.contraindication_names = []
        for item in CONTRAINDICATIONS:
            name = f"ci_{item.key}"
            self.fields[name] = forms.ChoiceField(
                label=item.label,
                choices=self.YES_NO,
                widget=forms.RadioSelect,
                help_text="Absolute contraindication" if item.absolute else "Relative",
            )
            self.contraindication_names.append(name)

    @property
    def contraindication_fields(self):
        return [self[name] for name in self.contraindication_names]

    @staticmethod
    def initial_from(evaluation: Evaluation) -> dict:
        # The declared fields; the contraindication answers are added per item below.
        initial = {name: getattr(evaluation, name) for name in EvaluationForm.base_fields}
        for item in CONTRAINDICATIONS:
            answer = (evaluation.contraindications or {}).get(item.key)
            initial[f"ci_{item.key}"] = "yes" if answer else "no"
        return initial

    def contraindication_answers(self, data=None) -> dict:
        """{key: bool} from cleaned data (or from raw data while the clinician types)."""
        source = self.cleaned_data if data is None else data
        return {item.key: source.get(f"ci_{item.key}") == "yes" for item in CONTRAINDICATIONS}

    def service_fields(self) -> dict:
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.contraindication_names}
        data["contraindications"] = self.contraindication_answers()
        return data
