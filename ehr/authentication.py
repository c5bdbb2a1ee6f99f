"""Token authentication for the API: tokens expire, and a required second factor is enforced.

A token is issued at ``POST /api/v1/auth/token/`` (``ehr.services.api_token_issue``)
and refused with 401 once ``API_TOKEN_TTL_HOURS`` have passed since then. Every
change of an account's password, role, activity or second factor deletes its
tokens (``ehr.services.api_tokens_revoke``). With ``OTP_REQUIRED`` on, a staff
account without a confirmed authenticator is refused too, so turning the rule on
takes effect at the next request, not at the next sign-in.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone
from django_otp import devices_for_user
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from ehr.roles import is_staff_member

TOKEN_URL = "/api/v1/auth/token/"


def api_token_lifetime() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.API_TOKEN_TTL_HOURS)


def api_token_expired(token, *, now: datetime.datetime | None = None) -> bool:
    """Whether the token's lifetime (``API_TOKEN_TTL_HOURS`` from its issue) is over."""
    now = now or timezone.now()
    return token.created <= now - api_token_lifetime()


def second_factor_missing(user) -> bool:
    """Whether the clinic requires a second factor this account has not enrolled."""
    if not (settings.OTP_REQUIRED and is_staff_member(user)):
        return False
    return not any(True for _ in devices_for_user(user, confirmed=True))


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, refused when expired or when a required second
    factor is missing (401 with a message saying what to do)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if api_token_expired(token):
            raise AuthenticationFailed(
                f"This API token has expired (tokens last {settings.API_TOKEN_TTL_HOURS} hours). "
                f"Sign in again at {TOKEN_URL} for a new one."
            )
        if second_factor_missing(user):
            raise AuthenticationFailed(
                "This clinic requires a second factor. Enrol an authenticator app in the web "
                f"app, then sign in again at {TOKEN_URL} with the one-time code."
            )
        return user, token
