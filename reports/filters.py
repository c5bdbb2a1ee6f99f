"""Filters of treatment summaries (``/api/v1/summaries/``)."""

from django_filters import rest_framework as filters

from ehr.filters import IdFilter
from reports.models import TreatmentSummary


class SummaryFilter(filters.FilterSet):
    # A plain number: an id the user may not see reads like one that does not exist.
    patient = IdFilter(field_name="patient_id")
    status = filters.ChoiceFilter(choices=TreatmentSummary.Status.choices)

    class Meta:
        model = TreatmentSummary
        fields = ["patient", "status"]
