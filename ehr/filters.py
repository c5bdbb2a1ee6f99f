"""Filters of accounts and of the audit trail, shared by the API and the practice manager's pages.

``/api/v1/users/`` and the staff page search accounts with ``UserFilter``;
``/api/v1/audit-events/`` and the audit log page filter with ``AuditEventFilter``,
so a page and the API always find the same rows.
"""

from django import forms
from django.db.models import Q
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ehr.models import AuditAction, AuditEvent, User


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A related record's id, as a plain whole number.

    Unlike a model choice, it never checks that the id exists: an id the user
    may not see, or one that does not exist, matches nothing and reads the same.
    """

    field_class = forms.IntegerField


class UserFilter(filters.FilterSet):
    search = filters.CharFilter(method="filter_search", label="Username or name contains")

    class Meta:
        model = User
        fields = ["role", "is_active"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(username__icontains=value)
            | Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
        )


class AuditEventFilter(filters.FilterSet):
    since = filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    user = IdFilter(field_name="user_id")
    patient = IdFilter(field_name="patient_id")

    class Meta:
        model = AuditEvent
        fields = ["user", "patient", "action", "object_type"]
