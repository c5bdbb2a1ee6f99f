from django.db.models import Q
from django_filters import rest_framework as filters

from ehr.api.base import ReadCreateViewSet
from ehr.roles import Capability
from patients import selectors, services
from patients.api.serializers import PatientSerializer
from patients.models import Patient


class PatientFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Name or MRN")

    class Meta:
        model = Patient
        fields = ["status", "primary_diagnosis", "referring_provider", "responsible_prescriber"]

    def filter_search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(
            Q(first_name__icontains=value) | Q(last_name__icontains=value) | Q(mrn__iexact=value)
        )


class PatientViewSet(ReadCreateViewSet):
    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["last_name", "first_name", "mrn", "created_at"]
    required_capabilities = {
        "list": Capability.VIEW_PATIENTS,
        "retrieve": Capability.VIEW_PATIENTS,
        "create": Capability.REGISTER_PATIENTS,
    }

    def get_queryset(self):
        return selectors.with_care_team(selectors.patient_list_for_user(user=self.request.user))

    def perform_create(self, serializer):
        patient = services.patient_create(actor=self.request.user, **serializer.validated_data)
        serializer.instance = patient
        self.audit_as(patient)
