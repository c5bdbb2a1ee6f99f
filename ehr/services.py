"""Writes to accounts. Every change of role or activity is a permission change."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ehr.errors import RuleViolation
from ehr.models import User
from ehr.roles import Role


def _validated_password(password: str, user: User) -> str:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise RuleViolation(" ".join(exc.messages), field="password") from None
    return password


@transaction.atomic
def user_create(
    *,
    username: str,
    role: Role | str,
    password: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_active: bool = True,
) -> User:
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_active=is_active,
    )
    user.set_password(_validated_password(password, user))
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, password: str | None = None, **changes) -> bool:
    """Change an account. Returns whether its role or activity changed.

    An administrator cannot change their own role or deactivate themselves, so a
    clinic is never left without a working admin account by mistake.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == actor.pk:
        if "role" in changes and changes["role"] != user.role:
            raise RuleViolation("You cannot change your own role.", field="role")
        if changes.get("is_active") is False:
            raise RuleViolation("You cannot deactivate your own account.", field="is_active")
    access_changed = any(
        key in changes and changes[key] != getattr(user, key) for key in ("role", "is_active")
    )
    for key, value in changes.items():
        setattr(user, key, value)
    if password:
        user.set_password(_validated_password(password, user))
    user.full_clean(exclude=["password"])
    user.save()
    return access_changed
