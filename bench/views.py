"""Baselines: the least a DRF endpoint can do with the API's own authentication.

``BareReadView`` (GET) authenticates the request exactly as the API does (the
same authentication and permission classes from ``REST_FRAMEWORK``: an expiring
token looked up in the database) and answers a constant JSON body.

``BareVitalsView`` (POST) also validates a serializer with the vitals fields and
ranges and inserts one ``VitalSign`` row for the session in the URL with a
single INSERT (``bulk_create``: no history row, no signals): no session lock,
no role or care-team check, no alert rules, no audit event. It is what any DRF
write of a reading must cost at least.
"""

from __future__ import annotations

from functools import cache

from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from sessions.models import MonitoringProtocol, VitalSign


class BareReadView(APIView):
    def get(self, request):
        return Response({"ok": True, "user": request.user.pk})


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
