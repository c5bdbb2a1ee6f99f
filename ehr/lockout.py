"""What a locked-out user sees (django-axes calls this for every locked request)."""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

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
