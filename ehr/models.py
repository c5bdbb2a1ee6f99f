from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from ehr.roles import Role


class AccountDeletionRefused(Exception):
    """Accounts are deactivated, never deleted: the audit trail points at them."""


class UserQuerySet(models.QuerySet):
    def delete(self):
        raise AccountDeletionRefused("Accounts are deactivated, never deleted.")

    def active(self):
        return self.filter(is_active=True)


class ClinicUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """A person who signs in: clinic staff or an outside referring provider.

    Every user has exactly one role; ``ehr.roles`` says what it allows.
    """

    role = models.CharField(max_length=32, choices=Role.choices)

    objects = ClinicUserManager()

    REQUIRED_FIELDS = ["email", "role"]

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="ehr_user_role_is_known"
            ),
        ]

    def __str__(self):
        return self.get_full_name() or self.username

    def save(self, *args, **kwargs):
        # A new password ends the account's API tokens however it was set: the app's
        # pages and API, the admin, ``manage.py changepassword``, a shell. (Web sessions
        # end by themselves: their hash of the password no longer matches.) A hash
        # upgrade at sign-in is not a new password: Django clears ``_password`` first.
        new_password = self._password is not None and not self._state.adding
        super().save(*args, **kwargs)
        if new_password:
            from ehr.services import api_tokens_revoke  # ehr.services imports this module

            api_tokens_revoke(user=self)

    def delete(self, *args, **kwargs):
        raise AccountDeletionRefused("Accounts are deactivated, never deleted.")

    @property
    def display_name(self) -> str:
        return str(self)


class AuditAction(models.TextChoices):
    VIEW = "view"
    LIST = "list"
    CREATE = "create"
    UPDATE = "update"
    SIGN = "sign"
    AMEND = "amend"
    DOWNLOAD = "download"
    RELEASE = "release"
    DENIED = "denied"
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    BREAK_GLASS = "break_glass"
    PERMISSION_CHANGE = "permission_change"


class AuditEventImmutable(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditEventImmutable("Audit events cannot be changed.")

    def delete(self):
        raise AuditEventImmutable("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """One thing that happened to patient data or to access: append-only.

    Written only through ``ehr.audit.audit_record``. The model refuses updates
    and deletes; on PostgreSQL a trigger refuses them in the database too.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        "ehr.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The name typed at a failed login, when no user matched.
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient = models.ForeignKey(
        "patients.Patient",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    method = models.CharField(max_length=8, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient", "at"]),
            models.Index(fields=["user", "at"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.user_id} {self.action} {self.object_type}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditEventImmutable("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("Audit events cannot be deleted.")
