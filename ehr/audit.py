"""Recording audit events.

``audit_record`` is the single writer of ``AuditEvent``. API views reach it
through ``ehr.api.base.AuditedAPIMixin`` (one event per request, decided from
the outcome), web pages through ``frontend``'s view mixin, and authentication
through the signal receivers in ``ehr.signals``.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings

from ehr.database import insert_new
from ehr.models import AuditAction, AuditEvent

logger = logging.getLogger(__name__)


def client_ip(request) -> str | None:
    """The client address: REMOTE_ADDR, or, behind the TLS proxy, the address it saw.

    The proxy appends the address it received the request from to
    ``X-Forwarded-For``; anything to its left was sent by the client and can be
    forged, so only the right-most entry is trusted (it decides lockouts too).
    """
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            candidate = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(candidate)) if candidate else None
    except ValueError:
        return None


def patient_of(obj):
    """The id of the patient a record belongs to, or None (``audit_patient`` may say
    otherwise). Ids, not records: naming the patient must not cost a query."""
    if obj is None:
        return None
    from patients.models import Patient

    if isinstance(obj, Patient):
        return obj.pk
    hook = getattr(obj, "audit_patient", None)
    if hook is not None:
        return hook() if callable(hook) else hook
    return getattr(obj, "patient_id", None)


def object_type_of(obj_or_model) -> str:
    if obj_or_model is None:
        return ""
    meta = getattr(obj_or_model, "_meta", None)
    return meta.model_name if meta is not None else str(obj_or_model)


def audit_record(
    *,
    action: AuditAction | str,
    request=None,
    user=None,
    obj=None,
    object_type: str = "",
    object_id: str | int | None = None,
    patient=None,
    status_code: int | None = None,
    detail: str = "",
    username: str = "",
) -> AuditEvent:
    """Append one audit event. Derives type, id and patient from ``obj`` when given.

    ``patient``: the patient or its id.
    """
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    if obj is not None:
        object_type = object_type or object_type_of(obj)
        object_id = object_id if object_id is not None else obj.pk
        patient = patient if patient is not None else patient_of(obj)
    event = AuditEvent(
        user=user,
        username=(username or (user.get_username() if user else ""))[:150],
        action=str(action),
        object_type=object_type[:64],
        object_id="" if object_id is None else str(object_id)[:64],
        patient_id=getattr(patient, "pk", patient),
        ip=client_ip(request),
        path=(request.path[:300] if request is not None else ""),
        method=(request.method[:8] if request is not None and request.method else ""),
        status_code=status_code,
        detail=detail[:500],
    )
    insert_new(event)
    return event
