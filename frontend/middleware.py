"""Session limits: idle logoff, an absolute lifetime, and a second factor the clinic requires.

Idle logoff after ``settings.IDLE_TIMEOUT_MINUTES`` without activity: the
session records when the user last *did* something. Requests a page makes by
itself (htmx polling of the infusion board or of a summary's status, the idle
timer's own check) carry ``X-Background-Refresh: 1`` and do not count as
activity, so a screen left open on a poller still signs out on time. The
session cookie's own expiry (``SESSION_COOKIE_AGE``) is refreshed by every
request, polling included; this deadline is the one that decides.

Absolute limit: a session ends ``settings.SESSION_ABSOLUTE_HOURS`` after the
sign-in however active it is, so a stolen or forgotten session cookie does not
live for ever on a screen that keeps polling or a user who keeps clicking.

Both sign-outs go through ``django.contrib.auth.logout``, so they reach the
audit trail as ``logout`` events (with the reason in the detail).

With ``OTP_REQUIRED`` on, a staff session that was not verified with a one-time
code (one signed in before the clinic turned the rule on) reaches no page: it
is ended and the user continues at the code (or enrolment) step of signing in.
"""

from __future__ import annotations

import math
import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from ehr.roles import is_staff_member
from frontend.audit import is_background_request, login_redirect

LAST_ACTIVITY_KEY = "frontend:last_activity"
LOGIN_AT_KEY = "frontend:login_at"

#: Why a session was ended by this module (``request.logout_reason``, audited).
IDLE_REASON = "idle timeout"
ABSOLUTE_REASON = "session limit reached"
SECOND_FACTOR_REASON = "second factor required"

#: The reason, kept in the fresh (anonymous) session a sign-out leaves behind. The
#: sign-in page reads it as well as its ``?idle=1`` / ``?expired=1``: a poll that left
#: with the ended session's cookie before the sign-out's answer arrived is only
#: anonymous by the time it is answered, and the redirect it brings back cannot say why.
SIGNED_OUT_REASON_KEY = "frontend:signed_out_reason"


def idle_seconds_left(request, *, now: float | None = None) -> int:
    """Whole seconds (rounded up) before the user of ``request`` is signed out for inactivity."""
    now = time.time() if now is None else now
    last = request.session.get(LAST_ACTIVITY_KEY, now)
    return max(0, math.ceil(last + settings.IDLE_TIMEOUT_MINUTES * 60 - now))


def session_seconds_left(request, *, now: float | None = None) -> int:
    """Whole seconds (rounded up) before the session reaches its absolute limit."""
    now = time.time() if now is None else now
    login_at = request.session.get(LOGIN_AT_KEY, now)
    return max(0, math.ceil(login_at + settings.SESSION_ABSOLUTE_HOURS * 3600 - now))


@receiver(user_logged_in)
def _remember_login_time(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT_KEY] = time.time()


def _sign_out(request, reason: str) -> None:
    request.logout_reason = reason
    logout(request)
    request.session[SIGNED_OUT_REASON_KEY] = reason


class IdleLogoutMiddleware:
    """Ends a session idle for ``IDLE_TIMEOUT_MINUTES`` or older than ``SESSION_ABSOLUTE_HOURS``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            if LOGIN_AT_KEY not in request.session:
                # A session from before this limit existed: its clock starts now.
                request.session[LOGIN_AT_KEY] = now
            elif session_seconds_left(request, now=now) <= 0:
                _sign_out(request, ABSOLUTE_REASON)
                return login_redirect(request, expired=True)
            if LAST_ACTIVITY_KEY in request.session and idle_seconds_left(request, now=now) <= 0:
                _sign_out(request, IDLE_REASON)
                return login_redirect(request, idle=True)
            if LAST_ACTIVITY_KEY not in request.session or not is_background_request(request):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


# Where a half-signed-in user may go: the sign-in steps themselves and sign-out.
_SECOND_FACTOR_EXEMPT = ("frontend:login", "frontend:login_code", "frontend:login_enrol")


class SecondFactorRequiredMiddleware:
    """With ``OTP_REQUIRED``, a staff session not verified by a one-time code reaches nothing.

    Runs after django-otp's ``OTPMiddleware`` (which knows whether the session is
    verified). The session is ended and the user is sent to the code step (or
    to enrolment when they have no authenticator yet), the same step a fresh
    sign-in would take them to; the API answers 401.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            settings.OTP_REQUIRED
            and user is not None
            and user.is_authenticated
            and is_staff_member(user)
            and not user.is_verified()
            and not self._exempt(request)
        ):
            return self._second_step(request, user)
        return self.get_response(request)

    @staticmethod
    def _exempt(request) -> bool:
        if request.path.startswith(settings.STATIC_URL):
            return True
        return request.path in {reverse(name) for name in _SECOND_FACTOR_EXEMPT}

    @staticmethod
    def _second_step(request, user) -> HttpResponse:
        # Imported here: the views import this module (idle_seconds_left).
        from frontend.two_factor import has_second_factor
        from frontend.views.auth import begin_second_step

        next_url = request.get_full_path() if request.method == "GET" else ""
        _sign_out(request, SECOND_FACTOR_REASON)
        if request.path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": "This clinic requires a second factor. Sign in again in the web "
                    "app with your one-time code."
                },
                status=401,
            )
        begin_second_step(request, user, next_url)
        step = "frontend:login_code" if has_second_factor(user) else "frontend:login_enrol"
        if request.headers.get("HX-Request") == "true" or is_background_request(request):
            response = HttpResponse(status=401)
            response["HX-Redirect"] = reverse(step)
            return response
        return redirect(step)
