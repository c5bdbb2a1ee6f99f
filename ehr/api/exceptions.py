"""One translation from errors to API responses.

- DRF validation errors: 400 with field-level messages (DRF's own shape).
- Domain errors from services: 400 / 403 / 409 with ``{field: [message]}`` or
  ``{"detail": message}``.
- Django ``ValidationError`` from model validation: 400 with its message dict.
- ``ProtectedError``: 409, never a 500.
- ``IntegrityError`` that got past validation (two requests racing for the same
  unique value): 409. Services run in transactions, so nothing was written.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ehr.errors import DomainError


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            data = {
                ("non_field_errors" if key == "__all__" else key): value
                for key, value in exc.message_dict.items()
            }
        else:
            data = {"non_field_errors": exc.messages}
        return Response(data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ProtectedError):
        return Response(
            {"detail": "This record is referenced by other records and cannot be removed."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, IntegrityError):
        return Response(
            {
                "detail": "The change conflicts with a record saved at the same moment "
                "(for example a duplicate). Nothing was saved; check and try again."
            },
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)
