"""Base classes every API view builds on.

``AuditedAPIMixin`` writes exactly one audit event for each request a view
answers, from the outcome of the request, so no view has to remember to:

- 401 / 403 / 404 -> ``denied`` (with the id that was asked for);
- other 4xx and 5xx -> nothing was read or changed, no event;
- success -> the action of ``audit_actions[action]`` or, by default,
  ``list`` / ``view`` / ``create`` / ``update``, naming the object the view
  worked on (``audit_target``) and its patient.

Views that produce an object other than through ``get_object`` (a service
call in ``create`` or in an action) hand it over with ``self.audit_as(obj)``.
"""

from __future__ import annotations

from rest_framework import mixins, status, viewsets
from rest_framework.parsers import JSONParser

from ehr.api.permissions import HasCapability
from ehr.api.schema import ClinicAutoSchema
from ehr.audit import audit_record, object_type_of
from ehr.models import AuditAction
from ehr.roles import can

_DENIED = {status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN, status.HTTP_404_NOT_FOUND}


class AuditedAPIMixin:
    audit_exempt = False
    #: DRF action name -> audit action, for actions that are not plain CRUD.
    audit_actions: dict[str, AuditAction] = {}
    audit_target = None
    #: For lists under one patient (``/patients/{id}/alerts/``).
    audit_patient = None
    audit_action_override: AuditAction | None = None
    audit_detail = ""

    def audit_as(self, obj, action: AuditAction | None = None, detail: str = ""):
        """Name the object (and optionally the action) this request's event records."""
        self.audit_target = obj
        if action is not None:
            self.audit_action_override = action
        if detail:
            self.audit_detail = detail
        return obj

    def get_object(self):
        return self.audit_as(super().get_object())

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self.audit_as(serializer.instance)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self.audit_as(serializer.instance)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if not self.audit_exempt and request.method != "OPTIONS":
            self._audit_response(request, response)
        return response

    def _audit_response(self, request, response):
        code = response.status_code
        if code in _DENIED:
            action = AuditAction.DENIED
        elif code >= 400:
            return
        else:
            action = self._success_action(request)
        target = self.audit_target if action != AuditAction.DENIED else None
        audit_record(
            action=action,
            request=request,
            obj=target,
            object_type="" if target is not None else self._audit_object_type(),
            object_id=None if target is not None else self._requested_id(),
            # The view's patient when it knows it (records under one patient), else the
            # target's: naming it costs no query.
            patient=self.audit_patient,
            status_code=code,
            detail=self.audit_detail,
        )

    def _success_action(self, request) -> AuditAction:
        if self.audit_action_override is not None:
            return self.audit_action_override
        action = getattr(self, "action", None)
        if action in self.audit_actions:
            return self.audit_actions[action]
        if request.method in ("GET", "HEAD"):
            return AuditAction.LIST if action == "list" else AuditAction.VIEW
        if action == "create":
            return AuditAction.CREATE
        return AuditAction.UPDATE

    def _requested_id(self):
        lookup = getattr(self, "lookup_url_kwarg", None) or getattr(self, "lookup_field", "pk")
        return self.kwargs.get(lookup) if hasattr(self, "kwargs") else None

    def _audit_object_type(self) -> str:
        explicit = getattr(self, "audit_object_type", "")
        if explicit:
            return explicit
        queryset = getattr(self, "queryset", None)
        if queryset is not None:
            return object_type_of(queryset.model)
        serializer_class = getattr(self, "serializer_class", None)
        meta = getattr(serializer_class, "Meta", None)
        return object_type_of(getattr(meta, "model", None))


class ClinicViewSet(AuditedAPIMixin, viewsets.GenericViewSet):
    """Audited, role-checked viewset; querysets come from selectors.

    A subclass returns what the requesting user may reach from
    ``scoped_queryset()`` (a selector call). While drf-spectacular describes the
    view there is no real request, and the queryset is an empty one of the
    serializer's model, so no selector runs for a user who is not there.
    """

    permission_classes = [HasCapability]
    required_capabilities: dict = {}
    # The API speaks JSON (a form encoding cannot say null, and the web UI has its own pages).
    parser_classes = [JSONParser]
    schema = ClinicAutoSchema()

    @property
    def describing_schema(self) -> bool:
        """Whether drf-spectacular instantiated this view to describe it."""
        return getattr(self, "swagger_fake_view", False)

    def requester_lacks(self, capability) -> bool:
        """Whether the requesting user lacks ``capability``, so is shown less (a narrower
        serializer, fewer filters). Closed by default: any user without it; the schema
        describes the full shape."""
        request = getattr(self, "request", None)
        return (
            request is not None and not self.describing_schema and not can(request.user, capability)
        )

    def get_queryset(self):
        if self.describing_schema:
            return self.get_serializer_class().Meta.model._default_manager.none()
        return self.scoped_queryset()

    def scoped_queryset(self):
        return super().get_queryset()

    def filter_queryset(self, queryset):
        # One record asked for by id with no query string: the list's filters and
        # ordering (all that the filter backends do) cannot change the answer, so their
        # form is not built. Scope is never a filter backend's job: it is the selector's.
        if self.detail and not self.request.query_params:
            return queryset
        return super().filter_queryset(queryset)

    def save_with(self, service, serializer, **records):
        """Write the validated input through ``service`` as the requesting user.

        Calls ``service(actor=user, **records, **validated_data)``, hands the
        result to the serializer for the response and names it for the audit event.
        """
        obj = service(actor=self.request.user, **records, **serializer.validated_data)
        serializer.instance = obj
        return self.audit_as(obj)


class ReadCreateViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ClinicViewSet
):
    pass


class ReadOnlyClinicViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicViewSet):
    pass
