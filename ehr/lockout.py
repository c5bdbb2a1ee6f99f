"""What failed sign-ins are counted against, and what a locked-out user sees (django-axes
calls both)."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.shortcuts import render

from ehr.audit import client_ip

#: A failed sign-in counts against the account and against the address it came from.
EVERYWHERE = ["username", "ip_address"]
#: From the clinic's own networks: against the account only.
ON_CLINIC_NETWORK = ["username"]

LOCKOUT_MESSAGE = (
    "Too many failed sign-in attempts. Try again in {minutes} minutes or ask the practice "
    "manager to unlock the account."
)


def lockout_message() -> str:
    return LOCKOUT_MESSAGE.format(minutes=int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=429)
    return render(
        request, "frontend/login.html", {"lockout_message": lockout_message()}, status=429
    )


def _on_clinic_network(address: str | None) -> bool:
    if not address or not settings.LOGIN_TRUSTED_NETWORKS:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.LOGIN_TRUSTED_NETWORKS)


def lockout_parameters(request_or_attempt, credentials=None) -> list[str]:
    """``AXES_LOCKOUT_PARAMETERS``: what a failed sign-in is counted against.

    Always the account (from any address). The address too, so that one client
    guessing many accounts is stopped, unless it is one of the clinic's own
    networks (``LOGIN_TRUSTED_NETWORKS``): staff who share one address behind NAT
    would otherwise lock each other out with five typing slips in 15 minutes.
    django-axes passes a request (with the address it read) or a stored attempt.
    """
    address = getattr(request_or_attempt, "axes_ip_address", None) or getattr(
        request_or_attempt, "ip_address", None
    )
    if address is None and isinstance(request_or_attempt, HttpRequest):
        address = client_ip(request_or_attempt)
    return ON_CLINIC_NETWORK if _on_clinic_network(address) else EVERYWHERE
