"""The OpenAPI description of the clinic's endpoints: the refusals every endpoint can give.

Every ``ClinicViewSet`` answers 401 without a valid token and 403 when the role
does not allow the action; with an id in the path, 404 for a record the user may
not see; a list, 400 for a malformed filter and 404 for a page past the end; a
write, 400 with field-level messages and 415 for a body that is not JSON.
``ClinicAutoSchema`` adds these to each operation unless the view documents that
status itself (``@extend_schema``), so views only describe what is particular to
them (a 409, a 202). A decimal (sent
as a string) is described by a pattern that needs at least one digit, as the
field does. An optional query parameter may be sent empty (``?status=``), which
reads as not sent: the schema says so with ``allowEmptyValue``.
"""

from __future__ import annotations

import uritemplate
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

NOT_SIGNED_IN = "Not signed in: no token, or a token that is invalid or revoked"
ROLE_REFUSED = "Your role does not allow this action"
NOT_FOUND = "No such record among those you may see"
NO_SUCH_PAGE = "No such page of results"
INVALID_FILTER = "Invalid filter value"
INVALID_INPUT = "Invalid input: field-level messages"
UNSUPPORTED_BODY = "The body is not JSON (Content-Type: application/json)"


class ClinicAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        whole = getattr(field, "max_whole_digits", None)
        if isinstance(field, serializers.DecimalField) and whole and "pattern" in schema:
            # drf-spectacular's pattern lets every digit be optional, so it admits "" and
            # "-", which the field refuses: a number has at least one digit.
            places = field.decimal_places
            number = rf"\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}}"
            schema["pattern"] = f"^-?(?:{number})$"
        return schema

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                # An empty value (``?status=``) is read as the parameter not given.
                parameter["allowEmptyValue"] = True
        return operation

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in self._refusals():
            responses.setdefault(code, {"description": description})
        return dict(sorted(responses.items()))

    def _refusals(self) -> list[tuple[str, str]]:
        refusals = [("401", NOT_SIGNED_IN), ("403", ROLE_REFUSED)]
        if uritemplate.variables(self.path):
            refusals.append(("404", NOT_FOUND))
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            refusals.append(("400", INVALID_INPUT))
            refusals.append(("415", UNSUPPORTED_BODY))
        if self.method == "GET" and self._is_list_view():
            if self.get_filter_backends():
                refusals.append(("400", INVALID_FILTER))
            if self._get_paginator() is not None:
                refusals.append(("404", NO_SUCH_PAGE))
        return refusals
