"""Forms of the web pages. They check the shape of the input only; the rules are in services."""

from __future__ import annotations

from django import forms

from ehr.models import AuditAction
from ehr.roles import Role


class StaffCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 8 characters, not a common password.",
    )


class StaffUpdateForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ChoiceField(choices=Role.choices)
    password = forms.CharField(
        label="New password",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the current password.",
    )


class AuditFilterForm(forms.Form):
    """The audit log's filters; the filtering itself is the API's FilterSet."""

    user = forms.ModelChoiceField(queryset=None, required=False, empty_label="Anyone")
    patient = forms.CharField(
        label="Patient MRN", required=False, max_length=16, help_text="e.g. K01234567"
    )
    action = forms.ChoiceField(choices=[("", "Any action"), *AuditAction.choices], required=False)
    since = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users


class BreakGlassForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class AmendmentForm(forms.Form):
    text = forms.CharField(
        label="Amendment",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=20000,
        help_text="Appended to the signed record with your name and the time; never edited.",
    )
