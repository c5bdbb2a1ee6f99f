from django.conf import settings
from django.urls import reverse

from ehr.roles import Capability, can

# (label, URL name, capabilities: the link shows when the policy grants any of them)
_NAVIGATION = (
    ("Today", "frontend:board", (Capability.VIEW_CLINICAL_RECORDS,)),
    (
        "Patients",
        "frontend:patient_list",
        (Capability.VIEW_CLINICAL_RECORDS, Capability.VIEW_ALL_DEMOGRAPHICS),
    ),
    ("My patients", "frontend:portal", (Capability.VIEW_RELEASED_SUMMARIES,)),
    ("Staff", "frontend:staff_list", (Capability.MANAGE_ACCOUNTS,)),
    (
        "Referring providers",
        "frontend:provider_list",
        (Capability.MANAGE_REFERRING_PROVIDERS,),
    ),
    ("Audit log", "frontend:audit_log", (Capability.READ_AUDIT_LOG,)),
    ("Break the glass", "frontend:break_glass_log", (Capability.READ_AUDIT_LOG,)),
)


def navigation(request):
    """Role-aware navigation: a link appears only when the policy allows its page."""
    context = {
        "clinic_name": settings.CLINIC_NAME,
        "idle_timeout_minutes": settings.IDLE_TIMEOUT_MINUTES,
        "idle_timeout_seconds": settings.IDLE_TIMEOUT_MINUTES * 60,
        "nav_links": [],
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    for label, name, capabilities in _NAVIGATION:
        if any(can(user, capability) for capability in capabilities):
            url = reverse(name)
            context["nav_links"].append(
                {"label": label, "url": url, "current": request.path.startswith(url)}
            )
    return context
