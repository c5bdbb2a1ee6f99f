"""Filters of accounts and of the audit trail, shared by the API and the practice manager's pages.

``/api/v1/users/`` and the staff page search accounts with ``UserFilter``;
``/api/v1/audit-events/`` and the audit log page filter with ``AuditEventFilter``,
so a page and the API always find the same rows.
"""

import datetime
import re

from django import forms
from django.db.models import Q
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ehr.models import AuditAction, AuditEvent, User

#: A whole number as a query parameter: ASCII digits, optionally a minus (not ``12.0``,
#: ``+3``, `` 7`` or other scripts' digits). Id filters and the page size read it.
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


class _WholeNumberField(forms.IntegerField):
    """Digits only: Django's own integer field also reads ``12.0`` as 12."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not WHOLE_NUMBER.fullmatch(str(value)):
            raise forms.ValidationError("Enter a whole number.", code="invalid")
        return super().to_python(value)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(filters.NumberFilter):
    """A related record's id, as a plain whole number (digits; anything else answers 400).

    Unlike a model choice, it never checks that the id exists: an id the user
    may not see, or one that does not exist, matches nothing and reads the same.
    """

    field_class = _WholeNumberField


class _StrictBooleanField(forms.NullBooleanField):
    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError("Use true or false.", code="invalid")


class StrictBooleanFilter(filters.BooleanFilter):
    """``true`` or ``false`` (also ``1``/``0``); any other value answers 400.

    django-filter's own boolean filter reads a value it does not know as "no
    filter", so a typo would silently list everything.
    """

    field_class = _StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)


class _UtcIsoDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError:  # a moment before year 1 or after 9999 once in UTC
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


class MomentFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 date and time, compared as the moment it names (in UTC).

    Any offset Python reads (up to ±23:59) is accepted; the database, which
    refuses offsets past ±15:59, only ever sees UTC.
    """

    field_class = _UtcIsoDateTimeField


class UserFilter(filters.FilterSet):
    is_active = StrictBooleanFilter()
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
    since = MomentFilter(field_name="at", lookup_expr="gte")
    until = MomentFilter(field_name="at", lookup_expr="lte")
    action = filters.ChoiceFilter(choices=AuditAction.choices)
    user = IdFilter(field_name="user_id")
    patient = IdFilter(field_name="patient_id")

    class Meta:
        model = AuditEvent
        fields = ["user", "patient", "action", "object_type"]
