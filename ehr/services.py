"""Writes to accounts and their API tokens.

Every change of role or activity is a permission change, and every change of
password, role, activity or second factor ends the account's API tokens
(``api_tokens_revoke``): a token proves who signed in, under what rights, with
which credentials, and none of that may change under it.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from ehr.authentication import api_token_expired
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
    user.save()  # a new password ends the tokens (``User.save``)
    if access_changed:
        api_tokens_revoke(user=user)
    return access_changed


# --- API tokens ------------------------------------------------------------------------


@transaction.atomic
def api_token_issue(*, user: User) -> Token:
    """The account's API token: the current one while it lasts, else a fresh one.

    The caller has checked the credentials (and the second factor).
    """
    # Lock the account: two sign-ins at once must not both replace an expired token.
    User.objects.select_for_update().filter(pk=user.pk).first()
    token = Token.objects.filter(user=user).first()
    if token is not None and not api_token_expired(token):
        return token
    if token is not None:
        token.delete()
    return Token.objects.create(user=user)


def api_tokens_revoke(*, user: User) -> int:
    """End every API token of the account; returns how many there were.

    Called on every change of role, activity or second factor, and by ``User.save``
    for a new password, however it was set.
    """
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
