from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django_otp import devices_for_user, match_token
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ehr import selectors, services
from ehr.api.base import AuditedAPIMixin, ClinicViewSet, ReadOnlyClinicViewSet
from ehr.api.serializers import (
    AuditEventSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
)
from ehr.audit import audit_record
from ehr.authentication import second_factor_missing
from ehr.filters import AuditEventFilter, UserFilter
from ehr.lockout import lockout_message
from ehr.models import AuditAction
from ehr.roles import Capability


class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    ClinicViewSet,
):
    """Staff and portal accounts (admin only). Accounts are deactivated, never deleted."""

    serializer_class = UserSerializer
    filterset_class = UserFilter
    ordering_fields = ["username", "last_name", "role"]
    required_capabilities = {
        "list": Capability.MANAGE_ACCOUNTS,
        "retrieve": Capability.MANAGE_ACCOUNTS,
        "create": Capability.MANAGE_ACCOUNTS,
        "update": Capability.MANAGE_ACCOUNTS,
    }

    def scoped_queryset(self):
        return selectors.user_list_for_user(user=self.request.user).order_by("id")

    def perform_create(self, serializer):
        user = services.user_create(**serializer.validated_data)
        serializer.instance = user
        self.audit_as(
            user, AuditAction.PERMISSION_CHANGE, detail=f"account created with role {user.role}"
        )

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        password = data.pop("password", None)
        access_changed = services.user_update(
            actor=self.request.user, user=serializer.instance, password=password, **data
        )
        serializer.instance.refresh_from_db()
        if access_changed:
            user = serializer.instance
            self.audit_as(
                user,
                AuditAction.PERMISSION_CHANGE,
                detail=f"role {user.role}, {'active' if user.is_active else 'deactivated'}",
            )
        else:
            self.audit_as(serializer.instance)


class AuditEventViewSet(ReadOnlyClinicViewSet):
    """The audit trail (admin only, read-only)."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering_fields = ["at"]
    required_capabilities = {
        "list": Capability.READ_AUDIT_LOG,
        "retrieve": Capability.READ_AUDIT_LOG,
    }

    def scoped_queryset(self):
        return selectors.audit_event_list_for_user(user=self.request.user)


class TokenView(AuditedAPIMixin, APIView):
    """Exchange username, password (and a one-time code where enrolled) for an API token."""

    permission_classes = [AllowAny]
    authentication_classes = []
    # Sign-ins are recorded as login / login_failed below and by ehr.signals.
    audit_exempt = True

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description="Missing fields or a wrong one-time code"),
            401: OpenApiResponse(description="Wrong username or password"),
            403: OpenApiResponse(description="A second factor must be enrolled first"),
            415: OpenApiResponse(description="A body that is not JSON, a form or multipart"),
            429: OpenApiResponse(description="Locked out after repeated failed sign-ins"),
        },
        auth=[],
    )
    def post(self, request):
        form = TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        username = form.validated_data["username"]
        django_request = request._request
        user = authenticate(
            request=django_request, username=username, password=form.validated_data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            return Response({"detail": lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        if user is None:
            return Response(
                {"detail": "Unable to sign in with the username and password given."},
                status=status.HTTP_401_UNAUTHORIZED,
            )
        if second_factor_missing(user):
            audit_record(
                action=AuditAction.LOGIN_FAILED,
                request=django_request,
                user=user,
                detail="second factor not enrolled",
            )
            return Response(
                {
                    "detail": "This clinic requires a second factor. Enrol an authenticator app "
                    "in the web app first."
                },
                status=status.HTTP_403_FORBIDDEN,
            )
        if any(True for _ in devices_for_user(user, confirmed=True)):
            code = form.validated_data.get("otp") or ""
            if not code:
                return Response(
                    {"otp": ["This account has a second factor: give the one-time code."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            if match_token(user, code) is None:
                user_login_failed.send(
                    sender=__name__, credentials={"username": username}, request=django_request
                )
                return Response(
                    {"otp": ["The one-time code is not valid."]}, status=status.HTTP_400_BAD_REQUEST
                )
        token = services.api_token_issue(user=user)
        audit_record(
            action=AuditAction.LOGIN, request=django_request, user=user, detail="api token"
        )
        return Response({"token": token.key})
