"""The referring-provider portal: their patients (demographics only) and released summaries."""

from __future__ import annotations

from django.shortcuts import render

from ehr.roles import Capability
from frontend.audit import clinic_page
from patients import selectors as patient_selectors
from patients.models import Patient


@clinic_page(Capability.VIEW_RELEASED_SUMMARIES)
def portal(request):
    patients = patient_selectors.patient_list_for_user(user=request.user).order_by(
        "last_name", "first_name", "id"
    )
    request.audit.listing(Patient)
    return render(request, "frontend/portal/home.html", {"patients": patients})
