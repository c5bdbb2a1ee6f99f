"""Referring providers (practice manager): list, register, edit, link a portal account."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render

from ehr import selectors as account_selectors
from ehr.errors import DomainError
from ehr.models import AuditAction
from ehr.roles import Capability, can
from frontend.audit import clinic_page
from frontend.errors import add_service_error
from patients import selectors, services
from patients.models import ReferringProvider

_FIELDS = ("name", "npi", "practice", "email", "phone", "fax", "user")


class ReferringProviderForm(forms.Form):
    name = forms.CharField(max_length=200)
    npi = forms.CharField(label="NPI", max_length=10, help_text="10 digits.")
    practice = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=32, required=False)
    fax = forms.CharField(max_length=32, required=False)
    user = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Portal account",
        empty_label="No portal account",
        help_text="The referring-provider account that receives released summaries.",
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        accounts = account_selectors.user_list_for_user(user=actor).filter(is_active=True)
        # Portal accounts are those whose role may receive released summaries.
        self.fields["user"].queryset = accounts.filter(
            pk__in=[u.pk for u in accounts if can(u, Capability.VIEW_RELEASED_SUMMARIES)]
        )


def _provider_or_404(request, provider_id) -> ReferringProvider:
    try:
        return selectors.referring_provider_list_for_user(user=request.user).get(
            pk=int(provider_id)
        )
    except (ValueError, ReferringProvider.DoesNotExist):
        raise Http404("No such referring provider.") from None


@clinic_page(Capability.MANAGE_REFERRING_PROVIDERS)
def provider_list(request):
    providers = selectors.referring_provider_list_for_user(user=request.user).select_related("user")
    request.audit.listing(ReferringProvider)
    return render(request, "frontend/admin/provider_list.html", {"providers": providers})


@clinic_page(Capability.MANAGE_REFERRING_PROVIDERS, methods=("GET", "HEAD", "POST"))
def provider_create(request):
    form = ReferringProviderForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.referring_provider_create(actor=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            request.audit.record(provider, AuditAction.CREATE)
            messages.success(request, f"{provider.name} added.")
            return redirect("frontend:provider_list")
    return render(
        request,
        "frontend/admin/provider_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@clinic_page(
    Capability.MANAGE_REFERRING_PROVIDERS,
    methods=("GET", "HEAD", "POST"),
    object_type="referringprovider",
)
def provider_edit(request, provider_id):
    provider = _provider_or_404(request, provider_id)
    request.audit.record(provider)
    form = ReferringProviderForm(
        request.POST or None,
        actor=request.user,
        initial={f: getattr(provider, f) for f in _FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        before = provider.user_id
        try:
            provider = services.referring_provider_update(
                actor=request.user, provider=provider, **form.cleaned_data
            )
        except (DomainError, ValidationError) as exc:
            add_service_error(form, exc)
        else:
            linked = form.cleaned_data["user"]
            detail = f"portal account {linked.username}" if linked else "no portal account"
            # The portal account receives the provider's released summaries.
            changed = provider.user_id != before
            action = AuditAction.PERMISSION_CHANGE if changed else AuditAction.UPDATE
            request.audit.record(provider, action, detail=detail)
            messages.success(request, f"{provider.name} saved.")
            return redirect("frontend:provider_list")
    return render(
        request,
        "frontend/admin/provider_form.html",
        {"form": form, "provider": provider},
        status=400 if form.errors else 200,
    )
