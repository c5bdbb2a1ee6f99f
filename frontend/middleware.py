"""Automatic logoff after ``settings.IDLE_TIMEOUT_MINUTES`` without activity.

The session records when the user last *did* something. Requests a page makes
by itself (htmx polling of the infusion board or of a summary's status, the
idle timer's own check) carry ``X-Background-Refresh: 1`` and do not count as
activity, so a screen left open on a poller still signs out on time. The
session cookie's own expiry (``SESSION_COOKIE_AGE``) is refreshed by every
request, polling included; this deadline is the one that decides.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.contrib.auth import logout

from frontend.audit import is_background_request, login_redirect

LAST_ACTIVITY_KEY = "frontend:last_activity"


def idle_seconds_left(request, *, now: float | None = None) -> int:
    """Whole seconds (rounded up) before the user of ``request`` is signed out for inactivity."""
    now = time.time() if now is None else now
    last = request.session.get(LAST_ACTIVITY_KEY, now)
    return max(0, math.ceil(last + settings.IDLE_TIMEOUT_MINUTES * 60 - now))


class IdleLogoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            if LAST_ACTIVITY_KEY in request.session and idle_seconds_left(request, now=now) <= 0:
                logout(request)
                return login_redirect(request, idle=True)
            if LAST_ACTIVITY_KEY not in request.session or not is_background_request(request):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)
