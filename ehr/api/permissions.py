"""Role checks for API views, read from the policy in ``ehr.roles``.

A view declares which capability each action needs::

    required_capabilities = {"list": Capability.VIEW_CLINICAL_RECORDS, "create": Capability.CHART}

An action missing from the map is refused: a new endpoint is closed until
someone states who may use it. Which objects a permitted user reaches is the
job of the selectors, not of these classes.
"""

from rest_framework.permissions import BasePermission

from ehr.roles import Capability, can

# Actions that share a capability with another unless the view says otherwise.
_ACTION_ALIASES = {"partial_update": "update", "metadata": "list"}


class IsActiveStaffOrPortalUser(BasePermission):
    """Default for every API view: a signed-in, active account."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active)


class HasCapability(IsActiveStaffOrPortalUser):
    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not _has_handler(view, request):
            return True  # DRF answers 405 Method Not Allowed
        capability = required_capability(view, request)
        return capability is not None and can(request.user, capability)


def _has_handler(view, request) -> bool:
    method = request.method.lower()
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        return method in action_map
    return hasattr(view, method)


def required_capability(view, request) -> Capability | None:
    mapping = getattr(view, "required_capabilities", {})
    action = getattr(view, "action", None) or request.method.lower()
    if action in mapping:
        return mapping[action]
    return mapping.get(_ACTION_ALIASES.get(action, ""))
