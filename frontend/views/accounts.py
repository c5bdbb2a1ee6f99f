"""Practice manager pages: staff accounts and roles, the audit log, break-the-glass events."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from ehr import selectors as account_selectors
from ehr import services as account_services
from ehr.errors import DomainError
from ehr.filters import AuditEventFilter, UserFilter
from ehr.models import AuditAction, AuditEvent, User
from ehr.roles import Capability
from frontend.audit import clinic_page
from frontend.errors import add_service_error
from frontend.forms import AuditFilterForm, StaffCreateForm, StaffUpdateForm
from patients import selectors as patient_selectors
from patients.models import BreakGlassAccess

PAGE_SIZE = 50


def _account_or_404(request, user_id) -> User:
    try:
        return account_selectors.user_list_for_user(user=request.user).get(pk=int(user_id))
    except (ValueError, User.DoesNotExist):
        raise Http404("No such account.") from None


@clinic_page(Capability.MANAGE_ACCOUNTS)
def staff_list(request):
    accounts = account_selectors.user_list_for_user(user=request.user)
    query = request.GET.get("q", "").strip()
    if query:
        accounts = UserFilter({"search": query}, queryset=accounts).qs
    accounts = accounts.order_by("-is_active", "last_name", "first_name", "username")
    request.audit.listing(User)
    return render(request, "frontend/admin/staff_list.html", {"accounts": accounts, "q": query})


@clinic_page(Capability.MANAGE_ACCOUNTS, methods=("GET", "HEAD", "POST"))
def staff_create(request):
    form = StaffCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_services.user_create(**form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(
                account,
                AuditAction.PERMISSION_CHANGE,
                detail=f"account created with role {account.role}",
            )
            messages.success(request, f"Account {account.username} created.")
            return redirect("frontend:staff_list")
    status = 400 if form.errors else 200
    return render(request, "frontend/admin/staff_form.html", {"form": form}, status=status)


@clinic_page(Capability.MANAGE_ACCOUNTS, methods=("GET", "HEAD", "POST"), object_type="user")
def staff_edit(request, user_id):
    account = _account_or_404(request, user_id)
    initial = {f: getattr(account, f) for f in ("first_name", "last_name", "email", "role")}
    form = StaffUpdateForm(request.POST if request.method == "POST" else None, initial=initial)
    request.audit.record(account)
    if request.method == "POST" and form.is_valid():
        changes = dict(form.cleaned_data)
        password = changes.pop("password") or None
        try:
            access_changed = account_services.user_update(
                actor=request.user, user=account, password=password, **changes
            )
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            account.refresh_from_db()
            details = [f"role {account.role}"] if access_changed else []
            if password:
                details.append("password reset")
                if account.pk == request.user.pk:
                    # The manager's own session stays; their other sessions end.
                    update_session_auth_hash(request, account)
            if details:
                request.audit.record(
                    account, AuditAction.PERMISSION_CHANGE, detail="; ".join(details)
                )
            messages.success(request, f"Account {account.username} saved.")
            return redirect("frontend:staff_list")
    status = 400 if form.errors else 200
    return render(
        request,
        "frontend/admin/staff_form.html",
        {"form": form, "account": account},
        status=status,
    )


@clinic_page(Capability.MANAGE_ACCOUNTS, methods=("POST",), object_type="user")
def staff_set_active(request, user_id):
    """Deactivate or reactivate an account (accounts are never deleted)."""
    account = _account_or_404(request, user_id)
    active = request.POST.get("active") == "1"
    request.audit.record(account)
    try:
        account_services.user_update(actor=request.user, user=account, is_active=active)
    except (DomainError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
    else:
        state = "reactivated" if active else "deactivated"
        request.audit.record(account, AuditAction.PERMISSION_CHANGE, detail=f"account {state}")
        messages.success(request, f"Account {account.username} {state}.")
    return redirect("frontend:staff_list")


def _audit_events(request, form: AuditFilterForm, *, only_action: str = ""):
    """The audit log filtered the same way as the API's ``/audit-events/``."""
    events = account_selectors.audit_event_list_for_user(user=request.user)
    data = {}
    if form.is_valid():
        cleaned = form.cleaned_data
        if cleaned["user"]:
            data["user"] = cleaned["user"].pk
        if cleaned["patient"]:
            found = (
                patient_selectors.patient_list_for_user(user=request.user)
                .filter(mrn__iexact=cleaned["patient"].strip())
                .values_list("pk", flat=True)
                .first()
            )
            if found is None:
                form.add_error("patient", "No patient has this MRN.")
                return events.none()
            data["patient"] = found
        if cleaned["action"]:
            data["action"] = cleaned["action"]
        for bound in ("since", "until"):
            if cleaned[bound]:
                data[bound] = cleaned[bound].isoformat()
    elif form.is_bound:
        return events.none()
    if only_action:
        data["action"] = only_action
    return AuditEventFilter(data, queryset=events).qs


@clinic_page(Capability.READ_AUDIT_LOG)
def audit_log(request):
    users = account_selectors.user_list_for_user(user=request.user).order_by("username")
    form = AuditFilterForm(request.GET or None, users=users)
    events = _audit_events(request, form)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    request.audit.listing(AuditEvent)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "frontend/admin/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@clinic_page(Capability.READ_AUDIT_LOG)
def break_glass_log(request):
    """Every break-the-glass opening, with the reason given, for the practice manager's review."""
    grants = patient_selectors.break_glass_list_for_user(user=request.user).order_by(
        "-granted_at", "-id"
    )
    clinician = request.GET.get("user", "")
    if clinician.isdigit():
        grants = grants.filter(user_id=int(clinician))
    page = Paginator(grants, PAGE_SIZE).get_page(request.GET.get("page"))
    request.audit.listing(BreakGlassAccess)
    return render(
        request,
        "frontend/admin/break_glass_log.html",
        {
            "page": page,
            "now": timezone.now(),
            "query": f"user={clinician}" if clinician.isdigit() else "",
        },
    )
