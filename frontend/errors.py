"""Showing errors from services where the clinician looks: next to the field, or a banner."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import render

from ehr.errors import DomainError


def add_service_error(form, exc: DomainError | ValidationError) -> None:
    """Attach a service's refusal to ``form``: to the field it names, else above the form."""
    if isinstance(exc, DomainError):
        field = exc.field if exc.field in form.fields else None
        form.add_error(field, exc.message)
        return
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            field = name if name in form.fields else None
            for message in messages:
                form.add_error(field, message)
        return
    for message in exc.messages:
        form.add_error(None, message)


def is_conflict(exc) -> bool:
    """A 409: the record is locked or its state does not allow the action."""
    return isinstance(exc, DomainError) and exc.status_code == 409


def conflict_banner(request, exc: DomainError):
    """A 409 as a banner at the top of the page (htmx: swapped into #page-messages)."""
    response = render(
        request, "frontend/partials/error_banner.html", {"message": exc.message}, status=409
    )
    if request.htmx:
        response["HX-Retarget"] = "#page-messages"
        response["HX-Reswap"] = "innerHTML"
    return response
