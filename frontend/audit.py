"""Access checks and the audit trail for every web page, in one decorator.

Each view of the staff web UI is wrapped by ``clinic_page``. It

- sends anonymous visitors to the login page (htmx requests by ``HX-Redirect``);
- refuses a role that the policy does not allow (403 page);
- turns ``Http404`` from a selector into the 404 page (with the break-the-glass
  form where the page is a patient's) and ``NotAllowed`` / ``PermissionDenied``
  into the 403 page;
- writes exactly one audit event for the request, decided from its outcome,
  the way ``ehr.api.base.AuditedAPIMixin`` does for the API:

  * 403 / 404 -> ``denied`` with the id that was asked for and no patient, so
    the event says nothing about whether the record exists;
  * success -> the action the view named with ``request.audit.record(obj, ...)``
    (by default ``view`` for GET and ``update`` for POST), with the object and
    its patient;
  * 400 / 409 / 422 with a record on screen -> ``view``: the page showed the
    record again although the change was refused;
  * anything else (a page with no record, a 5xx) -> no event.

A background refresh (a page polling itself: today's board, a summary's
status) is a read like any other, with one exception: when it shows the user
exactly what the same URL last showed them, and that showing was recorded
less than ``REPEAT_REFRESH_MINUTES`` ago, it adds no event — the user learned
nothing new. The recorded event carries a digest of what was shown, so the
comparison works across web processes with no state besides the audit trail.

Views never call ``ehr.audit.audit_record`` themselves; they only tell the
request which record they showed or changed.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from ehr.audit import audit_record, object_type_of
from ehr.errors import NotAllowed
from ehr.models import AuditAction, AuditEvent
from ehr.roles import Capability, can

_DENIED = {403, 404}
_REFUSED_BUT_SHOWN = {400, 409, 422}

#: A background refresh identical to what the user was shown is recorded again
#: after this long, so the trail still shows the screen was open.
REPEAT_REFRESH_MINUTES = 10
_REFRESH_DETAIL = "background refresh, content {digest}"
# A CSRF token is masked afresh on every render: it is not content.
_CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


@dataclass
class PageAudit:
    """What one request showed or changed; filled in by the view."""

    target: object = None
    action: AuditAction | None = None
    object_type: str = ""
    patient: object = None
    detail: str = ""

    def record(self, obj, action: AuditAction | None = None, *, detail: str = ""):
        """Name the record this request showed or changed (and, optionally, how)."""
        self.target = obj
        if action is not None:
            self.action = action
        if detail:
            self.detail = detail
        return obj

    def listing(self, model_or_type, *, patient=None):
        """The request showed a list of records (optionally all under one patient)."""
        self.object_type = object_type_of(model_or_type)
        self.patient = patient
        self.action = AuditAction.LIST


def _allowed(user, capability) -> bool:
    if capability is None:
        return True
    if isinstance(capability, Capability):
        return can(user, capability)
    return any(can(user, c) for c in capability)


def is_background_request(request) -> bool:
    """A request the page made by itself (polling), not something the user did."""
    return request.headers.get("X-Background-Refresh") == "1"


def login_redirect(request, *, idle: bool = False, expired: bool = False) -> HttpResponse:
    """Send a signed-out visitor to the login page.

    ``idle`` / ``expired``: say they were signed out for inactivity / because the
    session reached its absolute limit.
    """
    login_url = resolve_url(settings.LOGIN_URL)
    if idle:
        login_url += "?idle=1"
    elif expired:
        login_url += "?expired=1"
    # Not request.htmx: the idle middleware runs before django-htmx's middleware.
    if request.headers.get("HX-Request") == "true" or is_background_request(request):
        # htmx follows HX-Redirect with a full page load instead of swapping a login form in.
        response = HttpResponse(status=401)
        response["HX-Redirect"] = login_url
        return response
    return redirect_to_login(request.get_full_path(), login_url)


def error_page(request, status: int, message: str = "", *, context: dict | None = None):
    """The 403/404 page, or a banner fragment for htmx requests."""
    ctx = {"status": status, "message": message, **(context or {})}
    if request.htmx:
        response = render(request, "frontend/partials/error_banner.html", ctx, status=status)
        response["HX-Retarget"] = "#page-messages"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, f"frontend/errors/{status}.html", ctx, status=status)


def clinic_page(
    capability: Capability | Iterable[Capability] | None = None,
    *,
    methods: Iterable[str] = ("GET", "HEAD"),
    object_type: str = "",
    denied_id_kwarg: str | None = None,
    break_glass: bool = False,
):
    """Wrap a web view: login, role check, 403/404 pages and one audit event.

    ``capability`` may be one capability or several (any of them allows the
    page). ``object_type`` names what a denied request asked for (``patient``,
    ``infusionsession``...) and ``denied_id_kwarg`` the URL argument holding its
    id. With ``break_glass`` the 404 page offers a clinician the
    break-the-glass form for the patient in the URL.
    """
    allowed_methods = list(methods)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return login_redirect(request)
            request.audit = PageAudit()
            if not _allowed(request.user, capability):
                response = error_page(request, 403, "Your role does not allow this page.")
            else:
                try:
                    response = view(request, *args, **kwargs)
                except Http404:
                    response = _not_found(request, kwargs, break_glass=break_glass)
                except (NotAllowed, PermissionDenied) as exc:
                    response = error_page(request, 403, getattr(exc, "message", "") or "")
            _audit(request, response, kwargs, object_type, denied_id_kwarg)
            return response

        wrapper.clinic_page = True
        return require_http_methods(allowed_methods)(wrapper)

    return decorator


def _not_found(request, kwargs, *, break_glass: bool):
    context = {}
    if (
        break_glass
        and "patient_id" in kwargs
        and can(request.user, Capability.BREAK_THE_GLASS)
        and not request.htmx
    ):
        context["break_glass_patient_id"] = kwargs["patient_id"]
        context["break_glass_hours"] = settings.BREAK_GLASS_HOURS
    return error_page(request, 404, context=context)


def _audit(request, response, kwargs, object_type: str, denied_id_kwarg: str | None):
    audit: PageAudit = request.audit
    code = response.status_code
    if code in _DENIED:
        requested = kwargs.get(denied_id_kwarg) if denied_id_kwarg else None
        if requested is None and kwargs:
            requested = next(iter(kwargs.values()))
        audit_record(
            action=AuditAction.DENIED,
            request=request,
            object_type=object_type or audit.object_type,
            object_id=requested,
            status_code=code,
        )
        return
    if audit.target is None and not audit.object_type:
        return
    if code in _REFUSED_BUT_SHOWN:
        if audit.target is None:
            return
        action = AuditAction.VIEW
    elif code >= 400:
        return
    elif audit.action is not None:
        action = audit.action
    else:
        action = AuditAction.VIEW if request.method in ("GET", "HEAD") else AuditAction.UPDATE
    detail = audit.detail
    if _is_refresh(request, response):
        refresh = _REFRESH_DETAIL.format(digest=_content_digest(response))
        detail = f"{detail}; {refresh}" if detail else refresh
        if _shown_recently(request, detail):
            return
    audit_record(
        action=action,
        request=request,
        obj=audit.target,
        object_type="" if audit.target is not None else audit.object_type,
        patient=None if audit.target is not None else audit.patient,
        status_code=code,
        detail=detail,
    )


def _is_refresh(request, response) -> bool:
    return (
        is_background_request(request)
        and request.method == "GET"
        and response.status_code == 200
        and not response.streaming
    )


def _content_digest(response) -> str:
    content = _CSRF_INPUT.sub(b"", response.content)
    return hashlib.sha256(content).hexdigest()[:16]


def _shown_recently(request, detail: str) -> bool:
    """Whether this user's last recorded read of this URL showed this very content, lately."""
    since = timezone.now() - datetime.timedelta(minutes=REPEAT_REFRESH_MINUTES)
    last = (
        AuditEvent.objects.filter(user=request.user, path=request.path[:300], at__gte=since)
        .order_by("-at", "-id")
        .values_list("detail", flat=True)
        .first()
    )
    return last == detail
