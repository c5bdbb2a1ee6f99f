"""The TOTP second factor: enrolment of an authenticator app and the login check."""

from __future__ import annotations

import base64

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from ehr.audit import audit_record
from ehr.errors import RuleViolation
from ehr.models import AuditAction
from ehr.roles import is_staff_member
from ehr.services import api_tokens_revoke

DEVICE_NAME = "Authenticator app"


def has_second_factor(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def second_factor_required(user) -> bool:
    """Whether this login must present a one-time code (or enrol one first)."""
    return has_second_factor(user) or (settings.OTP_REQUIRED and is_staff_member(user))


def totp_device_pending(*, user) -> TOTPDevice:
    """The unconfirmed device being enrolled (created on first call, reused after)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user, token: str, request=None) -> TOTPDevice:
    """Confirm the pending device with a code from the app; it replaces any older one."""
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("id")
        .first()
    )
    if device is None:
        raise RuleViolation("Start the enrolment again: no authenticator is pending.", field="code")
    if not device.verify_token((token or "").strip()):
        raise RuleViolation(
            "That code does not match. Check the app shows this account and try the next code.",
            field="code",
        )
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    # Tokens issued before the second factor were obtained without it.
    api_tokens_revoke(user=user)
    audit_record(
        action=AuditAction.PERMISSION_CHANGE,
        request=request,
        user=user,
        obj=user,
        detail="second factor (TOTP) enrolled",
    )
    return device


def qr_code_data_uri(text: str) -> str:
    """An SVG QR code of ``text``, drawn on the server, as a data: URI for an <img>."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
