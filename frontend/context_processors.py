from django.conf import settings
from django.urls import reverse

from ehr.roles import Capability, can


def navigation(request):
    """Role-aware navigation: a link appears only when the policy allows its page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_links": [], "clinic_name": settings.CLINIC_NAME}
    candidates = [
        ("Today", "frontend:home", Capability.VIEW_CLINICAL_RECORDS),
        ("Patients", "frontend:home", Capability.VIEW_PATIENTS),
        ("Staff", "frontend:home", Capability.MANAGE_ACCOUNTS),
        ("Audit log", "frontend:home", Capability.READ_AUDIT_LOG),
    ]
    links = [(label, reverse(name)) for label, name, cap in candidates if can(user, cap)]
    return {
        "nav_links": links,
        "clinic_name": settings.CLINIC_NAME,
        "idle_timeout_minutes": settings.IDLE_TIMEOUT_MINUTES,
    }
