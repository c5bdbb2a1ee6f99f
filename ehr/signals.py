"""Authentication events go to the audit trail whichever way the user signs in."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from ehr.audit import audit_record
from ehr.models import AuditAction


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN, request=request, user=user)


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        # Sign-outs the user did not ask for (idle, session limit) say why.
        reason = getattr(request, "logout_reason", "") if request is not None else ""
        audit_record(action=AuditAction.LOGOUT, request=request, user=user, detail=reason)


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))
    user = get_user_model().objects.filter(username=username).first()
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        request=request,
        user=user,
        username=username,
        detail="locked out" if getattr(request, "axes_locked_out", False) else "",
    )
