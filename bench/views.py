"""Baselines: what DRF itself costs, with the API's own authentication.

Every baseline authenticates the request exactly as the API does (the
authentication and permission classes from ``REST_FRAMEWORK``: an expiring token
looked up in the database). None checks a role or a care team, writes an audit
event or applies a clinical rule: that is the application's work, which the
benchmark measures against them.

- ``BareReadView`` (``/bench/bare/``) answers a constant: the floor of any DRF
  request, printed beside every read for reference.
- The *same rows* reads (``/bench/bare/patients/`` ...) are stock DRF generic
  views (``ListAPIView`` / ``RetrieveAPIView``) with a stock ``ModelSerializer``
  of the model columns the application's serializer shows, reading only those
  columns, paginated by DRF's stock ``PageNumberPagination`` (a page of 50 with its
  count, as the API answers). They return rows
  of the same kind and number as the application's endpoint: the same session's
  readings, the summaries released to the same referrer, the patients whose
  responsible prescriber the user is (by a plain filter; the application's list is
  the user's care teams, about as many). That is the least a DRF endpoint can do to
  answer the same request, and the baseline a read is judged against.
- ``BareVitalsView`` (POST) validates a serializer with the vitals fields and
  ranges and inserts one ``VitalSign`` row for the session in the URL with a
  single INSERT (``bulk_create``: no history row, no signals): no session lock,
  no role or care-team check, no alert rules, no audit event. It is what any DRF
  write of a reading must cost at least.
"""

from __future__ import annotations

from functools import cache

from django.utils import timezone
from rest_framework import generics, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from patients.api.serializers import PatientSerializer
from reports.api.serializers import ReleasedSummarySerializer
from sessions.api.serializers import SessionSerializer, VitalSignSerializer
from sessions.models import MonitoringProtocol, VitalSign


class BareReadView(APIView):
    def get(self, request):
        return Response({"ok": True, "user": request.user.pk})


@cache
def stock_serializer(shown) -> type[serializers.ModelSerializer]:
    """DRF's stock ``ModelSerializer`` of ``shown``'s model, with the model columns
    ``shown`` lists (computed fields left out)."""
    model = shown.Meta.model
    columns = {field.name for field in model._meta.concrete_fields}
    fields = [name for name in shown.Meta.fields if name in columns]
    meta = type("Meta", (), {"model": model, "fields": fields})
    return type(f"Stock{model.__name__}Serializer", (serializers.ModelSerializer,), {"Meta": meta})


class _StockPagination(PageNumberPagination):
    page_size = 50  # the API's page


class _SameRows:
    shown = None  # the application's serializer whose columns are read
    pagination_class = _StockPagination

    def get_serializer_class(self):
        return stock_serializer(self.shown)

    def get_queryset(self):
        model = self.shown.Meta.model
        columns = [
            field.attname
            for field in model._meta.concrete_fields
            if field.name in self.get_serializer_class().Meta.fields
        ]
        return self.rows(model._default_manager.only(*columns))

    def rows(self, queryset):
        return queryset


class BarePatientList(_SameRows, generics.ListAPIView):
    """The patients the user is the responsible prescriber of: a plain indexed filter
    picking about as many patients as the prescriber's care-team reach."""

    shown = PatientSerializer

    def rows(self, queryset):
        return queryset.filter(responsible_prescriber=self.request.user)


class BarePatientDetail(_SameRows, generics.RetrieveAPIView):
    shown = PatientSerializer


class BareSessionDetail(_SameRows, generics.RetrieveAPIView):
    shown = SessionSerializer


class BareVitalsList(_SameRows, generics.ListAPIView):
    shown = VitalSignSerializer

    def rows(self, queryset):
        return queryset.filter(session_id=self.kwargs["session_pk"])


class BareSummaryList(_SameRows, generics.ListAPIView):
    shown = ReleasedSummarySerializer  # what the referrer is shown

    def rows(self, queryset):
        return queryset.filter(released_to__user=self.request.user)


class BareVitalsSerializer(serializers.Serializer):
    recorded_at = serializers.DateTimeField()
    bp_systolic = serializers.IntegerField(min_value=50, max_value=280)
    bp_diastolic = serializers.IntegerField(min_value=20, max_value=180)
    heart_rate = serializers.IntegerField(min_value=20, max_value=250)
    spo2 = serializers.IntegerField(min_value=50, max_value=100)
    resp_rate = serializers.IntegerField(min_value=4, max_value=60)


@cache
def _protocol_id() -> int:
    return MonitoringProtocol.objects.order_by("-version").values_list("pk", flat=True).first()


class BareVitalsView(APIView):
    def post(self, request, session_pk: int):
        form = BareVitalsSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        (reading,) = VitalSign.objects.bulk_create(
            [
                VitalSign(
                    session_id=session_pk,
                    protocol_id=_protocol_id(),
                    recorded_by=request.user,
                    alerts=[],
                    **form.validated_data,
                )
            ]
        )
        return Response(
            {"id": reading.pk, "created_at": timezone.now()}, status=status.HTTP_201_CREATED
        )
