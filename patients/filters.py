"""Filters of patients and their records, shared by the API and the web pages.

The API's ``?search=`` and the patient search page use the same ``PatientFilter``,
so both find the same patients. Filters only narrow a queryset a selector gave:
they never widen what a user may see, and a related id is a plain number
(``IdFilter``), so filtering by an id the user may not see answers an empty
list, exactly like an id that does not exist. A user who is shown only a
patient's identification (a referring provider) gets only the filters on it
(``PatientIdentificationFilter``): filtering by a hidden field would reveal it.
"""

from django.db.models import Q
from django.db.models.functions import Lower
from django_filters import rest_framework as filters

from ehr.filters import IdFilter, MomentFilter, StrictBooleanFilter
from patients.models import (
    Assessment,
    BreakGlassAccess,
    Consent,
    Evaluation,
    Patient,
    ReferringProvider,
    SafetyAlert,
)
from patients.scales import Instrument


class ReferringProviderFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Name, practice or NPI")

    class Meta:
        model = ReferringProvider
        fields = ["npi"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        folded = value.lower()
        return queryset.alias(name_folded=Lower("name"), practice_folded=Lower("practice")).filter(
            Q(name_folded__contains=folded) | Q(practice_folded__contains=folded) | Q(npi=value)
        )


class PatientIdentificationFilter(filters.FilterSet):
    """Filters on identification only: what a user without ``VIEW_PATIENT_DETAILS`` sees.

    A filter narrows the list by a field's value, so it reveals that value: a
    referring provider, who is not shown the diagnosis or the responsible
    prescriber, must not be able to filter by them either.
    """

    search = filters.CharFilter(method="filter_search", label="Name or MRN")

    class Meta:
        model = Patient
        fields = ["status"]

    def filter_search(self, queryset, name, value):
        query = Q()
        # Every word must match a name (in any script, whatever its case) or be the MRN.
        for word in value.split():
            folded = word.lower()
            query &= (
                Q(first_name_folded__contains=folded)
                | Q(last_name_folded__contains=folded)
                | Q(mrn__iexact=word)
            )
        return queryset.alias(
            first_name_folded=Lower("first_name"), last_name_folded=Lower("last_name")
        ).filter(query)


class PatientFilter(PatientIdentificationFilter):
    """Every patient filter, for staff (``VIEW_PATIENT_DETAILS``)."""

    referring_provider = IdFilter(field_name="referring_provider_id")
    responsible_prescriber = IdFilter(field_name="responsible_prescriber_id")

    class Meta:
        model = Patient
        fields = ["status", "primary_diagnosis", "referring_provider", "responsible_prescriber"]


class SafetyAlertFilter(filters.FilterSet):
    active = StrictBooleanFilter(
        method="filter_active", label="true: not yet acknowledged; false: acknowledged"
    )

    class Meta:
        model = SafetyAlert
        fields = ["kind"]

    def filter_active(self, queryset, name, value):
        return queryset.filter(acknowledged_at__isnull=value)


class BreakGlassAccessFilter(filters.FilterSet):
    user = IdFilter(field_name="user_id")
    patient = IdFilter(field_name="patient_id")

    class Meta:
        model = BreakGlassAccess
        fields = ["user", "patient"]


class ConsentFilter(filters.FilterSet):
    patient = IdFilter(field_name="patient_id")

    class Meta:
        model = Consent
        fields = ["patient"]


class EvaluationFilter(filters.FilterSet):
    signed = StrictBooleanFilter(field_name="signed_at", lookup_expr="isnull", exclude=True)
    patient = IdFilter(field_name="patient_id")

    class Meta:
        model = Evaluation
        fields = ["patient", "eligibility"]


class AssessmentFilter(filters.FilterSet):
    instrument = filters.ChoiceFilter(choices=Instrument.choices)
    administered_after = MomentFilter(field_name="administered_at", lookup_expr="gte")
    administered_before = MomentFilter(field_name="administered_at", lookup_expr="lte")
    patient = IdFilter(field_name="patient_id")
    session = IdFilter(field_name="session_id")
    evaluation = IdFilter(field_name="evaluation_id")

    class Meta:
        model = Assessment
        fields = ["patient", "instrument", "session", "evaluation"]
