"""Sign-in (password, then a one-time code where enrolled or required), sign-out, idle logoff,
and a signed-in user's own password change.

A user whose password is right but who still owes a one-time code is *not*
signed in: the session only remembers who is half-way for a few minutes.
Successful and failed sign-ins reach the audit trail and the lockout counter
through Django's auth signals (``ehr.signals``, django-axes).
"""

from __future__ import annotations

import time

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.signals import user_login_failed
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token

from ehr import services as account_services
from ehr.errors import DomainError, RuleViolation
from ehr.lockout import lockout_message
from ehr.models import AuditAction
from ehr.roles import Capability, can, is_staff_member
from frontend.audit import clinic_page, login_redirect
from frontend.errors import add_service_error
from frontend.middleware import (
    ABSOLUTE_REASON,
    IDLE_REASON,
    SIGNED_OUT_REASON_KEY,
    idle_seconds_left,
)
from frontend.two_factor import (
    has_second_factor,
    qr_code_data_uri,
    second_factor_required,
    totp_device_confirm,
    totp_device_pending,
)

PENDING_KEY = "frontend:pending_login"
# How long a user who gave the right password has to type the one-time code.
PENDING_SECONDS = 300
_PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"


class OneTimeCodeForm(forms.Form):
    code = forms.CharField(
        label="One-time code",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def landing_url(user) -> str:
    """Where a user arrives after signing in: the page their role works from."""
    if can(user, Capability.VIEW_RELEASED_SUMMARIES):
        return reverse("frontend:portal")
    if can(user, Capability.VIEW_CLINICAL_RECORDS):
        return reverse("frontend:board")
    if can(user, Capability.VIEW_ALL_DEMOGRAPHICS):
        return reverse("frontend:patient_list")
    return reverse("frontend:account_security")


def _next_url(request, user=None) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    # A referring provider only ever lands in the portal.
    if user is not None and not is_staff_member(user) and not candidate.startswith("/portal/"):
        return ""
    return candidate


def begin_second_step(request, user, next_url: str) -> None:
    """Remember a user who still owes a one-time code (or an enrolment) for a few minutes."""
    request.session[PENDING_KEY] = {"user": user.pk, "at": time.time(), "next": next_url}


def _pending(request):
    """The user half-way through signing in, with their ``next`` URL, or (None, "")."""
    data = request.session.get(PENDING_KEY)
    if not data or time.time() - data.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None, ""
    user = get_user_model().objects.filter(pk=data["user"], is_active=True).first()
    return user, data.get("next", "")


def _complete_login(request, user, device, next_url: str):
    request.session.pop(PENDING_KEY, None)
    auth_login(request, user, backend=_PASSWORD_BACKEND)
    if device is not None:
        otp_login(request, device)
    return redirect(next_url or landing_url(user))


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request):
    if request.user.is_authenticated:
        return redirect(landing_url(request.user))
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        next_url = _next_url(request, user)
        if second_factor_required(user):
            begin_second_step(request, user, next_url)
            step = "frontend:login_code" if has_second_factor(user) else "frontend:login_enrol"
            return redirect(step)
        return _complete_login(request, user, None, next_url)
    context = {"form": form, "next": _next_url(request)}
    # Shown once: the reason a sign-out left in the session is gone after this page.
    signed_out_reason = request.session.pop(SIGNED_OUT_REASON_KEY, None)
    if request.GET.get("idle") == "1" or signed_out_reason == IDLE_REASON:
        context["idle_message"] = (
            f"You were signed out after {settings.IDLE_TIMEOUT_MINUTES} minutes without "
            "activity. Sign in again to continue."
        )
    elif request.GET.get("expired") == "1" or signed_out_reason == ABSOLUTE_REASON:
        context["idle_message"] = (
            f"You were signed out because you signed in more than "
            f"{settings.SESSION_ABSOLUTE_HOURS} hours ago. Sign in again to continue."
        )
    return render(request, "frontend/login.html", context)


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_code(request):
    user, next_url = _pending(request)
    if user is None or not has_second_factor(user):
        messages.info(request, "Sign in again: the one-time code step has expired.")
        return redirect("frontend:login")
    if AxesProxyHandler.is_locked(request, credentials={"username": user.get_username()}):
        request.session.pop(PENDING_KEY, None)
        return render(
            request, "frontend/login.html", {"lockout_message": lockout_message()}, status=429
        )
    form = OneTimeCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"].strip())
        if device is not None:
            return _complete_login(request, user, device, next_url)
        form.add_error("code", "That code is not valid. Type the current code from your app.")
        # Counts towards the lockout and is recorded as a failed login.
        user_login_failed.send(
            sender=__name__, credentials={"username": user.get_username()}, request=request
        )
    return render(request, "frontend/login_code.html", {"form": form})


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_enrol(request):
    """The clinic requires a second factor and this user has none yet: enrol, then sign in."""
    user, next_url = _pending(request)
    if user is None or has_second_factor(user):
        return redirect("frontend:login")
    device, form, confirmed = _enrolment(request, user)
    if confirmed is not None:
        return _complete_login(request, user, confirmed, next_url)
    return render(
        request, "frontend/enrol.html", _enrolment_context(device, form, during_login=True)
    )


def _enrolment(request, user):
    """The pending authenticator, the code form, and the device once a posted code confirms it."""
    device = totp_device_pending(user=user)
    form = OneTimeCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            confirmed = totp_device_confirm(
                user=user, token=form.cleaned_data["code"], request=request
            )
        except RuleViolation as exc:
            add_service_error(form, exc)
        else:
            return device, form, confirmed
    return device, form, None


def _enrolment_context(device, form, *, during_login: bool) -> dict:
    uri = device.config_url
    return {
        "form": form,
        "otpauth_uri": uri,
        "qr_code": qr_code_data_uri(uri),
        "during_login": during_login,
    }


@clinic_page(methods=("GET", "HEAD", "POST"))
@sensitive_post_parameters("code")
def account_security(request):
    """A signed-in user enrols (or replaces) their authenticator app."""
    user = request.user
    enrolled = has_second_factor(user)
    wants_new = request.method == "POST" or request.GET.get("enrol") == "1" or not enrolled
    context = {"enrolled": enrolled, "otp_required": settings.OTP_REQUIRED}
    if wants_new:
        device, form, confirmed = _enrolment(request, user)
        if confirmed is not None:
            otp_login(request, confirmed)
            messages.success(request, "Your authenticator app is enrolled.")
            return redirect("frontend:account_security")
        context.update(_enrolment_context(device, form, during_login=False))
    return render(request, "frontend/account_security.html", context)


@clinic_page(methods=("GET", "HEAD", "POST"))
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def password_change(request):
    """A signed-in user changes their own password (the current one, then the new one twice).

    Every other session of the account ends at its next request (Django's session
    auth hash) and every API token of the account is deleted; this session stays.
    """
    user = request.user
    form = PasswordChangeForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            account_services.user_update(
                actor=user, user=user, password=form.cleaned_data["new_password1"]
            )
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            user.refresh_from_db()
            update_session_auth_hash(request, user)
            request.audit.record(user, AuditAction.PERMISSION_CHANGE, detail="password changed")
            messages.success(
                request, "Your password is changed. Other sessions and API tokens have ended."
            )
            return redirect("frontend:account_security")
    status = 400 if form.errors else 200
    return render(request, "frontend/password_change.html", {"form": form}, status=status)


@require_GET
@never_cache
def idle_status(request):
    """How long the session has left; polled by the idle timer without refreshing it."""
    if not request.user.is_authenticated:
        return login_redirect(request, idle=True)
    return JsonResponse({"seconds_left": idle_seconds_left(request)})


@require_POST
@never_cache
def keep_alive(request):
    """'Stay signed in': an ordinary request, so the idle middleware counts it as activity."""
    if not request.user.is_authenticated:
        return login_redirect(request, idle=True)
    return HttpResponse(status=204)


@never_cache
def home(request):
    if not request.user.is_authenticated:
        return login_redirect(request)
    return redirect(landing_url(request.user))
