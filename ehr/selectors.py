"""Reads of accounts and of the audit trail (admin-only by the role policy)."""

from django.db.models import QuerySet

from ehr.models import AuditEvent, User
from ehr.roles import Capability, Role, can


def user_list_for_user(*, user) -> QuerySet[User]:
    if not can(user, Capability.MANAGE_ACCOUNTS):
        return User.objects.none()
    return User.objects.all()


def clinician_list(*, active_only: bool = True) -> QuerySet[User]:
    """Users who may join a care team."""
    users = User.objects.filter(role__in=[Role.PRESCRIBER, Role.NURSE])
    return users.filter(is_active=True) if active_only else users


def audit_event_list_for_user(*, user) -> QuerySet[AuditEvent]:
    if not can(user, Capability.READ_AUDIT_LOG):
        return AuditEvent.objects.none()
    return AuditEvent.objects.select_related("user", "patient")
