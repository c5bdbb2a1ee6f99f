"""Errors raised by services when a clinical or access rule refuses a change.

The API turns them into responses in one place (``ehr.api.exceptions``) and the
web UI shows them next to the field they name.
"""

from __future__ import annotations


class DomainError(Exception):
    """A rule refused the request. ``field`` names the input at fault, if any."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, list[str]]:
        return {self.field or "non_field_errors": [self.message]}


class RuleViolation(DomainError):
    """Input that breaks a clinical rule (400)."""


class RecordLocked(DomainError):
    """A write to a signed record or one of its children (409)."""

    status_code = 409

    def as_dict(self):
        return {"detail": self.message}


class ConflictingState(DomainError):
    """An action that the record's current state does not allow (409)."""

    status_code = 409

    def as_dict(self):
        data = {"detail": self.message}
        if self.field:
            data[self.field] = [self.message]
        return data


class NotAllowed(DomainError):
    """The user's role or relation to the record does not allow this (403)."""

    status_code = 403

    def as_dict(self):
        return {"detail": self.message}
